"""The pair as a whole (both servers' files), and the file against the running server.

Theory of operation
-------------------
:func:`pair_findings` lays the two declarations of each failover peer side by side. What dhcpd
4.4.3 does when they disagree, measured on a real pair (tests/dhcpd/test_config_check_dhcpd.py):

* a peer name only one side declares: the partner refuses the connection ("unknown failover
  relationship name") and the peers never talk;
* an ``address`` that is not the partner's ``peer address``: a server accepts a connection
  only from its ``peer address`` ("listener: no matching state") and the peers never talk;
* a ``port`` that is not the partner's ``peer port``: only one of the two can open the link.
  One link is all a pair needs, so it still works, as long as the other direction does;
* settings each server keeps for itself (``max-response-delay``, ``max-unacked-updates``,
  ``load balance max seconds``) may differ; each server applies its own.

Both must also serve the same addresses under the peer, or those addresses are not shared
(compared as address sets, so the same addresses split into ranges differently still agree),
and an OMAPI tool that manages both servers with one key needs the same ``omapi-key``
algorithm on both.

:func:`live_findings` reads each peer's ``failover-state`` over OMAPI and compares it with the
values the file gives (:func:`~aiomapi.config.check_peers.effective`): a difference means the
server has not loaded the file as it is now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiomapi import Client, FailoverHierarchy, FailoverPeer, NotFound
from aiomapi.ranges import AddressSet

from .check_peers import DEFAULT_PORT, Effective, effective
from .check_report import Finding, Severity
from .model import Config, FailoverPeerConfig, Location, Range

__all__ = ["Side", "live_findings", "pair_findings"]

# An address set as large as IPv4 itself: comparing plans never needs a limit.
_NO_LIMIT: Final = 1 << 32


@dataclass(frozen=True, slots=True)
class Side:
    """One server's file, as far as it reads: its name, its peers and its address plan."""

    file: str
    peers: dict[str, FailoverPeerConfig]
    config: Config | None


def pair_findings(a: Side, b: Side) -> list[Finding]:
    """What the two files of a pair disagree on (module docstring)."""
    found: list[Finding] = []
    for this, other in ((a, b), (b, a)):
        for name, peer in this.peers.items():
            if name not in other.peers:
                found.append(_missing_peer(peer, this, other))
    for name in sorted(a.peers.keys() & b.peers.keys()):
        p, q = a.peers[name], b.peers[name]
        found += _roles(p, q, b.file)
        found += _addresses(p, q, b.file) + _addresses(q, p, a.file)
        found += _ports(p, q, a.file, b.file)
        found += _own_settings(p, q, b.file)
        if a.config is not None and b.config is not None:
            found += _ranges(name, a.config, b.config) + _ranges(name, b.config, a.config)
    if a.config is not None and b.config is not None:
        found += _omapi_keys(a.config, b.config)
    return found


def _at(peer: FailoverPeerConfig, *keywords: str) -> Location | None:
    for keyword in keywords:
        st = peer.statement(keyword)
        if st is not None:
            return st.location
    return peer.location


def _missing_peer(peer: FailoverPeerConfig, this: Side, other: Side) -> Finding:
    others = ", ".join(repr(n) for n in other.peers) or "none"
    return Finding(
        Severity.ERROR,
        "pair-peer-name",
        f"failover peer {peer.name!r} is not declared in {other.file} (its peers: {others})",
        "the partner refuses the connection ('Failover CONNECT from NAME: unknown failover "
        "relationship name') and the two never talk: each stays in communications-interrupted "
        "or startup",
        "give the peer the same name in both files",
        peer.location,
    )


def _roles(p: FailoverPeerConfig, q: FailoverPeerConfig, other: str) -> list[Finding]:
    mine, theirs = effective(p).hierarchy, effective(q).hierarchy
    if mine is not theirs:
        return []
    role = mine.name.lower()
    return [
        Finding(
            Severity.ERROR,
            "pair-roles",
            f"failover peer {p.name!r} is {role} here and in {other} too",
            "the peers never settle: the link comes up and drops again and again "
            "('dhcp_failover_put_message: something went wrong.', 'peer NAME: disconnected'), "
            "both going back and forth between normal and communications-interrupted",
            "make one server 'primary;' (with split and mclt) and the other 'secondary;'",
            _at(p, "primary", "secondary"),
        )
    ]


def _addresses(p: FailoverPeerConfig, q: FailoverPeerConfig, q_file: str) -> list[Finding]:
    """``p``'s ``address`` against ``q``'s ``peer address``."""
    if p.address is None or q.peer_address is None:
        return []
    if type(p.address) is not type(q.peer_address) or p.address == q.peer_address:
        return []  # equal, or a name against an address: not comparable here
    st = q.statement("peer address")
    where = f"{q_file}:{st.location.line}" if st is not None else q_file
    return [
        Finding(
            Severity.ERROR,
            "pair-address",
            f"failover peer {p.name!r}: address {p.address} here, but peer address "
            f"{q.peer_address} in {where}",
            "the peers never connect: a server takes a failover connection only from its "
            "'peer address' ('failover: listener: no matching state') and dials the partner "
            "at that address",
            "each side's 'address' must be the other's 'peer address'",
            _at(p, "address"),
        )
    ]


def _ports(p: FailoverPeerConfig, q: FailoverPeerConfig, p_file: str, q_file: str) -> list[Finding]:
    ep, eq = effective(p), effective(q)
    # (the side that listens, its port, the file of the side that dials, the port it dials)
    broken = [
        (peer, listens, dialer, dials)
        for peer, listens, dialer, dials in (
            (p, ep.local_port, q_file, eq.partner_port),
            (q, eq.local_port, p_file, ep.partner_port),
        )
        if listens != dials
    ]
    both = len(broken) == 2
    return [
        Finding(
            Severity.ERROR if both else Severity.WARNING,
            "pair-port",
            f"failover peer {peer.name!r}: this server listens on port {listens} (port), the "
            f"partner in {dialer} dials port {dials} (peer port)",
            "the peers never connect: neither can reach the other"
            if both
            else "the partner cannot open the link; this server still can, and one link is all "
            "a pair needs, so it works as long as this server dials out",
            f"make each side's 'port' the other's 'peer port' (both {DEFAULT_PORT} when left out)",
            _at(peer, "port"),
        )
        for peer, listens, dialer, dials in broken
    ]


def _own_settings(p: FailoverPeerConfig, q: FailoverPeerConfig, other: str) -> list[Finding]:
    ep, eq = effective(p), effective(q)
    found = []
    for keyword, mine, theirs in (
        ("max-response-delay", ep.max_response_delay, eq.max_response_delay),
        ("max-unacked-updates", ep.max_outstanding_updates, eq.max_outstanding_updates),
    ):
        if mine != theirs:
            found.append(
                Finding(
                    Severity.NOTE,
                    "pair-setting-differs",
                    f"failover peer {p.name!r}: {keyword} {mine} here, {theirs} in {other}",
                    "each server uses its own value",
                    "use the same value on both, unless the difference is meant",
                    _at(p, keyword),
                )
            )
    mine_lb, theirs_lb = ep.load_balance_max_secs, eq.load_balance_max_secs
    if mine_lb != theirs_lb and mine_lb and theirs_lb:
        low, high = sorted((mine_lb, theirs_lb))
        found.append(
            Finding(
                Severity.WARNING,
                "pair-load-balance",
                f"failover peer {p.name!r}: load balance max seconds {mine_lb} here, "
                f"{theirs_lb} in {other}",
                f"each server applies its own: a client whose secs field is above {low} but "
                f"not above {high} is answered by one server whatever its hash, and by the "
                "other only for its own hash buckets",
                "use the same value on both",
                _at(p, "load balance max seconds"),
            )
        )
    return found


def _ranges(name: str, mine: Config, theirs: Config) -> list[Finding]:
    other = AddressSet.of(
        ((int(r.low), int(r.high)) for r in _peer_ranges(theirs, name)), limit=_NO_LIMIT
    )
    found = []
    for rng in _peer_ranges(mine, name):
        missing = _uncovered(rng, other)
        if missing:
            found.append(
                Finding(
                    Severity.ERROR,
                    "pair-ranges",
                    f"failover peer {name!r}: {missing} of this range "
                    f"{'is' if len(missing) == 1 else 'are'} in no pool under the peer in "
                    f"{theirs.source}",
                    "the two servers do not share these addresses: this one gives them out "
                    "under failover, the partner has no pool for them",
                    "give both servers the same ranges in the pools under the peer",
                    rng.location,
                )
            )
    return found


def _peer_ranges(config: Config, name: str) -> list[Range]:
    return [r for pool in config.pools if pool.failover_peer == name for r in pool.ranges]


def _uncovered(rng: Range, covered: AddressSet) -> AddressSet:
    gaps = []
    low, high = int(rng.low), int(rng.high)
    for a, b in covered.intervals:
        if b < low or a > high:
            continue
        if a > low:
            gaps.append((low, a - 1))
        low = b + 1
        if low > high:
            break
    if low <= high:
        gaps.append((low, high))
    return AddressSet.of(gaps, limit=_NO_LIMIT)


def _omapi_keys(a: Config, b: Config) -> list[Finding]:
    ka, kb = a.key(), b.key()
    if ka is None and kb is None:
        return []
    if ka is not None and kb is not None and ka.algorithm == kb.algorithm:
        return []
    this = "no omapi-key" if ka is None else f"omapi-key algorithm {ka.algorithm}"
    that = "no omapi-key" if kb is None else f"omapi-key algorithm {kb.algorithm}"
    st = a.omapi_key_statement or b.omapi_key_statement
    return [
        Finding(
            Severity.WARNING,
            "pair-omapi-key",
            f"{this} here, {that} in {b.source}",
            "each server checks OMAPI requests against its own key (a server without "
            "omapi-key takes unsigned ones): a tool holding one key reaches only one of them",
            "use the same omapi-key algorithm (and key) on both servers",
            st.location if st is not None else None,
        )
    ]


# ----------------------------------------------------------------- the running server


_LIVE_FIELDS: Final = (
    # (Effective / FailoverPeer attribute, the file's statement, how to say it)
    ("hierarchy", ("primary", "secondary"), "role"),
    ("mclt", ("mclt",), "mclt"),
    ("max_response_delay", ("max-response-delay",), "max-response-delay"),
    ("max_outstanding_updates", ("max-unacked-updates",), "max-unacked-updates"),
    ("load_balance_max_secs", ("load balance max seconds",), "load balance max seconds"),
    ("local_port", ("port",), "port"),
    ("partner_port", ("peer port",), "peer port"),
)


async def live_findings(
    peers: dict[str, FailoverPeerConfig],
    partner: dict[str, FailoverPeerConfig],
    client: Client,
) -> list[Finding]:
    """Each peer of the file against the running server's ``failover-state`` (module
    docstring); ``partner``, the other side's peers if known, gives a secondary's ``mclt``
    and hash buckets.

    Raises:
        OmapiError, OSError: the server cannot be asked.
    """
    found: list[Finding] = []
    server = f"{client.host}:{client.port}"
    for name, peer in peers.items():
        try:
            live = await client.failover.get(name)
        except NotFound:
            found.append(
                Finding(
                    Severity.WARNING,
                    "live-peer-missing",
                    f"the server at {server} has no failover peer {name!r}",
                    "runs with the configuration it read when it started: the file has "
                    "changed since, or it is not this server's file",
                    "restart dhcpd to load the file (once dhcpd -t accepts it)",
                    peer.location,
                )
            )
            continue
        want = effective(peer, partner.get(name))
        found += _live_differences(peer, want, live, server)
    return found


def _live_differences(
    peer: FailoverPeerConfig, want: Effective, live: FailoverPeer, server: str
) -> list[Finding]:
    found = []
    for attr, keywords, label in _LIVE_FIELDS:
        expected = getattr(want, attr)
        actual = getattr(live, attr)
        if expected is None:
            continue
        if attr == "hierarchy":
            expected = _role(expected)
            actual = _role(actual)
        if expected != actual:
            found.append(_drift(peer, label, keywords, expected, actual, server))
    hba = live.load_balance_hba
    if want.hba is not None and hba is not None and hba != want.hba:
        expected, actual = _buckets(want.hba), _buckets(hba)
        found.append(_drift(peer, "hash buckets", ("split", "hba"), expected, actual, server))
    return found


def _buckets(hba: bytes) -> str:
    """``split N`` when the buckets are what ``split N`` makes, else ``hba`` in hex."""
    n = sum(bin(b).count("1") for b in hba)
    split = bytearray(32)
    for i in range(n):
        split[i >> 3] |= 1 << (i & 7)
    return f"split {n}" if bytes(split) == hba else f"hba {hba.hex(':')}"


def _role(value: int) -> str:
    try:
        return FailoverHierarchy(value).name.lower()
    except ValueError:
        return str(value)


def _drift(
    peer: FailoverPeerConfig,
    label: str,
    keywords: tuple[str, ...],
    expected: object,
    actual: object,
    server: str,
) -> Finding:
    written = any(peer.statement(k) is not None for k in keywords)
    said = f"the file says {expected}" if written else f"the file leaves it out ({expected})"
    return Finding(
        Severity.WARNING,
        "live-differs",
        f"failover peer {peer.name!r}: {label}: {said}, the server at {server} runs with {actual}",
        "runs with the configuration it read when it started: the file has changed since",
        "restart dhcpd to load the file (once dhcpd -t accepts it), on both servers if the "
        "change is to the pair",
        _at(peer, *keywords),
    )
