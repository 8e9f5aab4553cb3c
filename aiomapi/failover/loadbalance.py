"""Which peer of a dhcpd failover pair answers a client: load balancing as dhcpd 4.4.3 does it.

Theory of operation
-------------------
A failover pair splits its clients with RFC 3074's hash. The primary's ``split N`` (or
``hba``) statement fixes a 256-bit *hash bucket assignment* (HBA, 32 bytes); the secondary
receives it when the pair connects. For each DHCPDISCOVER (and BOOTP request) each peer
computes the client's bucket on its own and answers only if the bucket is its own:

* the key is the client identifier (option 61), every byte of it, type byte included, when the
  client sends one; otherwise the hardware address from ``chaddr`` (``hlen`` octets, without
  the hardware type);
* the bucket is a Pearson hash: start from the key's length, then for each key byte, from the
  *last* to the first, replace the running value by the table entry at (value XOR byte);
* bucket ``b`` belongs to the primary when bit ``b % 8`` (least significant first) of HBA
  byte ``b // 8`` is set, to the secondary when it is clear. ``split N`` sets buckets
  0..N-1, so ``split 128`` is sixteen ``ff`` bytes then sixteen ``00`` bytes.

Two things switch the hash off, each peer deciding for itself: ``load balance max seconds``
of 0 (not configured), and a client whose ``secs`` field is greater than that maximum (it
has waited too long, so whoever hears it answers). Then both peers answer.

The hash applies only while a peer's local state is ``normal``. In
communications-interrupted neither peer hashes: each answers from the addresses it holds
(the primary its free leases, the secondary its backup leases), so a client may get two
offers. A peer in partner-down answers every client. A peer in startup, recover,
potential-conflict or any other state answers no client at all.

Everything here is pure: the caller supplies the HBA, the limits and the states (see
:func:`aiomapi.failover.explain_who_serves` for reading them from a live pair). The rules are
checked against a real dhcpd 4.4.3 pair by ``tests/dhcpd/test_loadbalance_dhcpd.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from aiomapi import FailoverState, MacAddress

__all__ = [
    "HBA_LEN",
    "MAX_CHADDR_LEN",
    "ClientIdLike",
    "Decision",
    "MacLike",
    "MessageType",
    "Role",
    "Service",
    "Serving",
    "StateLike",
    "bucket_owner",
    "client_key",
    "hba_from_split",
    "load_balance_hash",
    "parse_client_id",
    "service_of",
    "who_serves",
]

Role: TypeAlias = Literal["primary", "secondary"]
Serving: TypeAlias = Literal["primary", "secondary", "both", "none"]
MessageType: TypeAlias = Literal["DHCPDISCOVER", "BOOTP", "DHCPREQUEST"]
MacLike: TypeAlias = MacAddress | str | bytes
ClientIdLike: TypeAlias = bytes | str
StateLike: TypeAlias = FailoverState | int | None

#: The HBA is one bit per bucket: 256 buckets, 32 bytes.
HBA_LEN: Final = 32
#: ``chaddr`` is a 16-byte field of the BOOTP header, so a hardware address key is at most
#: 16 octets even where dhcpd stores longer addresses elsewhere.
MAX_CHADDR_LEN: Final = 16

# RFC 3074's fixed permutation of 0..255, row by row (16 entries per line), which dhcpd
# uses too; tests/dhcpd/test_loadbalance_dhcpd.py checks keys of all 256 buckets against a real
# pair.
_MIX: Final = bytes.fromhex(
    "fbaf77d7510e4fbf6731b58fba9d00e8"
    "1f20373c983a11edae46a090dc5a39df"
    "3b03128c6fa6cbc486f37c5fdeb3c541"
    "b430240f6b2ee982a51e7ba1d1176110"
    "285bdb3d640ad26dfa7f168a1d6cf443"
    "cf09b2cc4a627ef9a774224dc1c87905"
    "14714723800db65e19e2e3c74b1b29f5"
    "e6e02be1b11a9b96d48eda73f1495869"
    "27723effc0c991d6a89edd949a7a0c54"
    "52a32c8be4eccdf2d90bbb929f4056ef"
    "c32a6ac67670b8ac5702ad75b0e5f7fd"
    "89b963a466932d42e7348dd3c2cef6ee"
    "386e4ef83ff0bd5d5c3335b713ab4832"
    "2168654508fc53784c875536ca7dbcd5"
    "60eb88d0a281be849c262f0107fe1804"
    "d88359151c8525999550aa4406a9ea97"
)

#: What a local failover state means for answering clients (dhcpd's "service state").
Service: TypeAlias = Literal["cooperating", "own-pool", "partner-down", "silent"]
_SERVICE: Final[dict[FailoverState, Service]] = {
    FailoverState.NORMAL: "cooperating",
    FailoverState.COMMUNICATIONS_INTERRUPTED: "own-pool",
    FailoverState.PARTNER_DOWN: "partner-down",
}


def load_balance_hash(key: bytes) -> int:
    """The RFC 3074 bucket (0..255) of a load-balancing key, as dhcpd computes it.

    The running value starts as the key's length (modulo 256) and takes the key's bytes
    from the last one to the first; an empty key is bucket 0.
    """
    h = len(key) & 0xFF
    for byte in reversed(key):
        h = _MIX[h ^ byte]
    return h


def parse_client_id(value: ClientIdLike) -> bytes:
    """The bytes of a client identifier given as bytes, colon/dash hex, or text.

    ``"01:aa:bb:cc:dd:ee:ff"`` is seven octets (type 1, then a MAC); a string that is not
    hex octets joined by ``:`` or ``-`` is taken as UTF-8 text.

    Raises:
        ValueError: the identifier is empty.
        TypeError: neither bytes nor str.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[0-9a-fA-F]{1,2}([:-][0-9a-fA-F]{1,2})+", text):
            raw = bytes(int(part, 16) for part in re.split(r"[:-]", text))
        else:
            raw = value.encode()
    else:
        raise TypeError(f"a client identifier is bytes or str, not {type(value).__name__}")
    if not raw:
        raise ValueError("a client identifier has at least one byte")
    return raw


def client_key(*, mac: MacLike | None = None, client_id: ClientIdLike | None = None) -> bytes:
    """The bytes dhcpd hashes for a client.

    Args:
        mac: the client's hardware address (``chaddr``), without the hardware type.
        client_id: the whole client-identifier option (type byte included); when given it
            is the key and ``mac`` plays no part.

    Raises:
        TypeError: neither is given.
        ValueError: a malformed value, or a hardware address longer than ``chaddr``.
    """
    if client_id is not None:
        return parse_client_id(client_id)
    if mac is None:
        raise TypeError("give mac or client_id")
    octets = MacAddress(mac).packed
    if len(octets) > MAX_CHADDR_LEN:
        raise ValueError(f"chaddr holds at most {MAX_CHADDR_LEN} octets, got {len(octets)}")
    return octets


def _check_hba(hba: bytes) -> bytes:
    if len(hba) != HBA_LEN:
        raise ValueError(f"a hash bucket assignment is {HBA_LEN} bytes, got {len(hba)}")
    return bytes(hba)


def bucket_owner(hba: bytes, bucket: int) -> Role:
    """Which peer owns ``bucket`` under ``hba``: its bit set means the primary.

    Raises:
        ValueError: ``hba`` is not 32 bytes or ``bucket`` not 0..255.
    """
    _check_hba(hba)
    if not 0 <= bucket <= 0xFF:
        raise ValueError(f"a bucket is 0..255, got {bucket}")
    return "primary" if hba[bucket >> 3] >> (bucket & 7) & 1 else "secondary"


def hba_from_split(split: int) -> bytes:
    """The HBA dhcpd builds from ``split N``: buckets 0..N-1 to the primary.

    Raises:
        ValueError: ``split`` is not 0..256.
    """
    if not 0 <= split <= 256:
        raise ValueError(f"split is 0..256, got {split}")
    hba = bytearray(HBA_LEN)
    for bucket in range(split):
        hba[bucket >> 3] |= 1 << (bucket & 7)
    return bytes(hba)


def service_of(state: FailoverState | int) -> Service:
    """How a peer in local failover ``state`` treats clients.

    ``cooperating`` (normal: load-balanced), ``own-pool`` (communications-interrupted: from
    its own addresses, no hashing), ``partner-down`` (every client), ``silent`` (no client).

    Raises:
        ValueError: ``state`` is not a failover state.
    """
    return _SERVICE.get(FailoverState(state), "silent")


@dataclass(frozen=True, slots=True)
class Decision:
    """Who answers one client message, and why.

    Attributes:
        key: the bytes hashed.
        key_source: ``"client-id"`` or ``"mac"``.
        bucket: the key's bucket, 0..255.
        hba_byte, hba_bit: where the bucket sits in the HBA (byte ``bucket // 8``, bit
            ``bucket % 8`` counted from the least significant).
        bucket_owner: the peer the HBA gives the bucket to (None without an HBA).
        serving: ``"primary"``, ``"secondary"``, ``"both"`` or ``"none"``.
        reasons: the steps of the decision in plain words.
    """

    key: bytes
    key_source: Literal["client-id", "mac"]
    bucket: int
    hba_byte: int
    hba_bit: int
    bucket_owner: Role | None
    serving: Serving
    reasons: tuple[str, ...]


def _state_name(state: FailoverState | int) -> str:
    return FailoverState(state).dhcpd_name


def who_serves(
    hba: bytes | None,
    max_secs: int,
    *,
    mac: MacLike | None = None,
    client_id: ClientIdLike | None = None,
    secs: int = 0,
    primary_state: StateLike = FailoverState.NORMAL,
    secondary_state: StateLike = FailoverState.NORMAL,
    secondary_max_secs: int | None = None,
    message_type: MessageType = "DHCPDISCOVER",
) -> Decision:
    """Which peer of a pair answers a client, as dhcpd 4.4.3 decides it.

    Args:
        hba: the primary's 32-byte hash bucket assignment (the secondary holds a copy once
            connected); None if the pair has none, in which case a cooperating peer answers
            no load-balanced client.
        max_secs: the primary's ``load balance max seconds`` (0 = not set: no balancing).
        mac: the client's hardware address; the key unless ``client_id`` is given.
        client_id: the client-identifier option's bytes (or colon hex, or text).
        secs: the ``secs`` field of the client's message (0..65535).
        primary_state, secondary_state: each peer's *local* failover state; None for a peer
            that is not running (it answers nobody).
        secondary_max_secs: the secondary's own ``load balance max seconds`` when it differs
            (each peer reads its own configuration).
        message_type: only ``DHCPDISCOVER`` and ``BOOTP`` are load-balanced; for
            ``DHCPREQUEST`` the result says which peers are willing to answer at all (which
            one does then depends on the lease and the server identifier, not on the hash).

    Returns:
        The :class:`Decision`.

    Raises:
        TypeError: neither ``mac`` nor ``client_id``.
        ValueError: a malformed key, HBA, ``secs`` or state.
    """
    key = client_key(mac=mac, client_id=client_id)
    source: Literal["client-id", "mac"] = "client-id" if client_id is not None else "mac"
    if not 0 <= secs <= 0xFFFF:
        raise ValueError(f"secs is a 16-bit field, got {secs}")
    if max_secs < 0 or (secondary_max_secs is not None and secondary_max_secs < 0):
        raise ValueError("load balance max seconds cannot be negative")
    if hba is not None:
        hba = _check_hba(hba)
    bucket = load_balance_hash(key)
    owner = bucket_owner(hba, bucket) if hba is not None else None
    what = "client identifier" if source == "client-id" else "hardware address"
    reasons = [
        f"key: the {what} {key.hex(':')}; bucket {bucket} (HBA byte {bucket >> 3}, "
        f"bit {bucket & 7})"
    ]
    if owner is not None:
        reasons.append(f"the HBA gives bucket {bucket} to the {owner}")
    limits: dict[Role, int] = {
        "primary": max_secs,
        "secondary": max_secs if secondary_max_secs is None else secondary_max_secs,
    }
    states: dict[Role, StateLike] = {"primary": primary_state, "secondary": secondary_state}
    answers = []
    for role in ("primary", "secondary"):
        ok, why = _peer_answers(role, states[role], limits[role], hba, owner, secs, message_type)
        reasons.append(why)
        if ok:
            answers.append(role)
    serving: Serving = (
        "both" if len(answers) == 2 else answers[0] if answers else "none"  # type: ignore[assignment]
    )
    return Decision(key, source, bucket, bucket >> 3, bucket & 7, owner, serving, tuple(reasons))


def _peer_answers(
    role: Role,
    state: StateLike,
    max_secs: int,
    hba: bytes | None,
    owner: Role | None,
    secs: int,
    message_type: MessageType,
) -> tuple[bool, str]:
    """Whether the peer ``role`` answers, and the sentence that says why."""
    if state is None:
        return False, f"the {role} is not running: it answers nobody"
    name = _state_name(state)
    service = service_of(state)
    if service == "silent":
        return False, f"the {role} is in {name}: dhcpd answers no client in that state"
    if service == "partner-down":
        return True, f"the {role} is in partner-down: it answers every client"
    if service == "own-pool":
        pool = "free" if role == "primary" else "backup"
        return True, (
            f"the {role} is in communications-interrupted: no load balancing, it answers "
            f"from its own {pool} leases"
        )
    if message_type not in ("DHCPDISCOVER", "BOOTP"):
        return True, (
            f"the {role} is in normal, but a {message_type} is not load-balanced: the lease "
            "and the server identifier decide"
        )
    if max_secs == 0:
        return True, (
            f"the {role} has no load balance max seconds (0): load balancing is off, it "
            "answers every client"
        )
    if secs > max_secs:
        return True, (
            f"secs {secs} > the {role}'s load balance max seconds {max_secs}: it answers "
            "whatever the bucket"
        )
    if owner is None:
        return False, f"the {role} has no HBA: it takes no load-balanced client"
    if owner == role:
        return True, f"the {role} is in normal and owns the bucket: it answers"
    return False, f"the {role} is in normal and leaves the bucket to its partner"
