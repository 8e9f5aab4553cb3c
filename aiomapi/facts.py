"""What ISC dhcpd 4.4.3 does, as constants: the one place the rest of aiomapi reads it from.

Theory of operation
-------------------
aiomapi talks to, guards and imitates a server whose behaviour is fixed: dhcpd 4.4.3 is
end-of-life and its quirks will not be fixed. Every number and name the client, the safety
checks (:mod:`aiomapi._sansio.safety`) and the in-memory dhcpd (:mod:`aiomapi.testing`) rely
on lives here, once, so that two copies cannot drift apart.

Each constant says where it is explained (a section of ``docs/dhcpd-behaviour.md``) and which
test checks it against the real server (``file.py::test``: a module of ``tests/dhcpd/``).
``tests/unit/test_facts.py`` checks that the constants agree with each other and with the
enums of :mod:`aiomapi.typed.values`.

This module imports nothing from aiomapi but :mod:`aiomapi.errors`, so every layer may read it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from aiomapi.errors import LocalProtocolError

__all__ = [
    "ALGORITHMS",
    "ALREADY_EXISTS",
    "CANNOT_UPDATE_AUTHENTICATOR",
    "CANT_CREATE",
    "CANT_SELECT_AUTHENTICATOR",
    "CANT_UPDATE",
    "CONNECTION_LIMIT",
    "CONTROL_SHUTDOWN",
    "CONTROL_STATE_WHILE_RUNNING",
    "DIGEST_SIZES",
    "FAILOVER_IGNORED_ATTRIBUTES",
    "FAILOVER_STATE_NAMES",
    "HEADER_SIZE",
    "HTYPE_ETHER",
    "INPUT_ABORT_OFFSETS",
    "INT32_SIZE",
    "INVALID_FLAG",
    "LEASE_FLAG_BITS",
    "LEASE_IGNORED_ATTRIBUTES",
    "LEASE_READ_ONLY_ATTRIBUTES",
    "LEASE_STATE_NAMES",
    "LISTEN_BACKLOG",
    "LOOKUP_FAILED",
    "MAX_DIGEST",
    "MAX_FD_VALUE",
    "MAX_HARDWARE_ADDRESS_LEN",
    "MAX_STATUS_TEXT",
    "MAX_TIME",
    "NOTIFY_NOT_IMPLEMENTED",
    "NO_AUTHENTICATOR",
    "NO_MATCH",
    "NO_MATCHING_HANDLE",
    "NO_REMOVE_METHOD",
    "NULL_CRASHES",
    "NULL_SURVIVED",
    "OMAPI_BUF_SIZE",
    "OMAPI_HOST_HARDWARE_TYPE",
    "OUTPUT_ABORT_OFFSETS",
    "PROTOCOL_VERSION",
    "RESERVED_MESSAGE_NAMES",
    "RING_CAPACITY",
    "SENT_LEASE_FLAGS",
    "SETTABLE_LEASE_FLAGS",
    "SETTABLE_LEASE_STATES",
    "SIG_ALG_SUFFIX",
    "STATUS_TEXTS",
    "TYPE_REQUIRED",
    "UNSEARCHABLE",
    "UNSEARCHABLE_TYPES",
    "VALID_FAILOVER_STATES",
    "decode_int32",
    "encode_int32",
]

# ================================================================ Wire format

#: The protocol version in the startup message each side sends first.
#: docs/dhcpd-behaviour.md, "Wire format"; test_facts_dhcpd.py::test_startup_message_comes_first
PROTOCOL_VERSION: Final = 100
#: The header size in dhcpd's startup message and of every message it sends.
#: docs/dhcpd-behaviour.md, "Wire format"; test_facts_dhcpd.py::test_startup_message_comes_first
HEADER_SIZE: Final = 24
#: An integer value is exactly this many bytes, unsigned big-endian; other lengths INVALIDARG.
#: docs/dhcpd-behaviour.md, "Wire format"; test_behaviour.py::test_lease_update_value_lengths
INT32_SIZE: Final = 4
#: The lease time that means "never" (dhcpd's MAX_TIME); 0 means "not set".
#: docs/dhcpd-behaviour.md, "Wire format"; test_facts_dhcpd.py::test_never_is_0x7fffffff
MAX_TIME: Final = 0x7FFFFFFF


def encode_int32(n: int) -> bytes:
    """``n`` as the 4-byte unsigned big-endian value dhcpd reads for an integer.

    docs/dhcpd-behaviour.md, "Wire format".

    Raises:
        TypeError: ``n`` is not an int.
        LocalProtocolError: ``n`` is outside 0..2**32-1.
    """
    if not isinstance(n, int):
        raise TypeError(f"expected an int, got {type(n).__name__}")
    if not 0 <= n <= 0xFFFFFFFF:
        raise LocalProtocolError(f"{n} does not fit an unsigned 32-bit integer")
    return int(n).to_bytes(INT32_SIZE, "big")


def decode_int32(raw: bytes) -> int:
    """An integer value as dhcpd sends it: exactly 4 bytes, unsigned big-endian.

    docs/dhcpd-behaviour.md, "Wire format".

    Raises:
        ValueError: ``raw`` is not exactly 4 bytes.
    """
    if len(raw) != INT32_SIZE:
        raise ValueError(f"an int32 value is 4 bytes, got {len(raw)}")
    return int.from_bytes(raw, "big")


# ================================================================ Authentication

#: Appended to an algorithm name that has no dot, in the ``algorithm`` of an authenticator.
#: Compared without regard to case, the final dot included.
#: docs/dhcpd-behaviour.md, "Authentication";
#: test_facts_dhcpd.py::test_algorithm_suffix_and_digest_sizes
SIG_ALG_SUFFIX: Final = ".SIG-ALG.REG.INT."
#: The HMAC algorithms dhcpd accepts for an ``omapi-key``, and the bytes of their signature
#: (always the whole digest). docs/dhcpd-behaviour.md, "Authentication";
#: test_facts_dhcpd.py::test_algorithm_suffix_and_digest_sizes
DIGEST_SIZES: Final = MappingProxyType(
    {
        "hmac-md5": 16,
        "hmac-sha1": 20,
        "hmac-sha224": 28,
        "hmac-sha256": 32,
        "hmac-sha384": 48,
        "hmac-sha512": 64,
    }
)
#: The same algorithms, weakest first. docs/dhcpd-behaviour.md, "Authentication".
ALGORITHMS: Final[tuple[str, ...]] = tuple(DIGEST_SIZES)
#: The longest signature dhcpd puts on a message (HMAC-SHA512).
#: docs/dhcpd-behaviour.md, "Authentication".
MAX_DIGEST: Final = max(DIGEST_SIZES.values())

# ================================================================ Messages and replies
# The texts of STATUS replies, byte for byte. docs/dhcpd-behaviour.md, "Messages and replies";
# every one is produced on the real server by test_facts_dhcpd.py::test_status_texts.

NO_AUTHENTICATOR: Final = "No authenticator on message"
#: ``INVALID_FLAG.format("create")``; also ``update`` and ``exclusive``.
INVALID_FLAG: Final = "invalid {} flag value"
TYPE_REQUIRED: Final = "type required on create"
UNSEARCHABLE: Final = "unsearchable object type"
LOOKUP_FAILED: Final = "object lookup failed"
NO_MATCH: Final = "no object matches specification"
ALREADY_EXISTS: Final = "specified object already exists"
CANT_CREATE: Final = "can't create new object"
CANT_UPDATE: Final = "can't update object"
CANT_SELECT_AUTHENTICATOR: Final = "can't select authenticator"
NO_MATCHING_HANDLE: Final = "no matching handle"
CANNOT_UPDATE_AUTHENTICATOR: Final = "cannot update authenticator"
NOTIFY_NOT_IMPLEMENTED: Final = "notify not implemented yet"
NO_REMOVE_METHOD: Final = "no remove method for object"

#: Every text a STATUS reply of dhcpd can carry (the flag text once per flag).
#: docs/dhcpd-behaviour.md, "Messages and replies"; test_facts_dhcpd.py::test_status_texts
STATUS_TEXTS: Final = frozenset(
    {
        NO_AUTHENTICATOR,
        *(INVALID_FLAG.format(flag) for flag in ("create", "update", "exclusive")),
        TYPE_REQUIRED,
        UNSEARCHABLE,
        LOOKUP_FAILED,
        NO_MATCH,
        ALREADY_EXISTS,
        CANT_CREATE,
        CANT_UPDATE,
        CANT_SELECT_AUTHENTICATOR,
        NO_MATCHING_HANDLE,
        CANNOT_UPDATE_AUTHENTICATOR,
        NOTIFY_NOT_IMPLEMENTED,
        NO_REMOVE_METHOD,
    }
)
#: A bound on the text of any STATUS reply, for reply-size budgets: the longest texts are 31
#: bytes; 64 leaves room.
#: docs/dhcpd-behaviour.md, "Messages and replies"; tests/unit/test_facts.py
MAX_STATUS_TEXT: Final = 64

# ================================================================ Objects

#: Longest hardware address dhcpd keeps (HARDWARE_ADDR_LEN): in its lease file, on a lease
#: lookup, on a host. docs/dhcpd-behaviour.md, "Objects" (details in docs/dhcpd-facts.md);
#: test_behaviour.py::test_hardware_addresses_up_to_20_octets
MAX_HARDWARE_ADDRESS_LEN: Final = 20
#: The ``hardware-type`` a lookup by hardware address assumes when none is sent (Ethernet).
#: docs/dhcpd-behaviour.md, "Objects"; test_client_dhcpd.py::test_lease_lookup_by_mac_value_type
HTYPE_ETHER: Final = 1
#: The hardware type of a host created over OMAPI without a ``hardware-type``.
#: docs/dhcpd-behaviour.md, "Objects";
#: test_typed_dhcpd.py::test_host_hardware_type_is_part_of_the_match
OMAPI_HOST_HARDWARE_TYPE: Final = 0

#: Lease binding states (``binding_state_t``) by number, as dhcpd names them.
#: docs/dhcpd-behaviour.md, "Objects"; test_typed_dhcpd.py::test_every_lease_state_can_be_set
LEASE_STATE_NAMES: Final = MappingProxyType(
    {
        1: "free",
        2: "active",
        3: "expired",
        4: "released",
        5: "abandoned",
        6: "reset",
        7: "backup",
    }
)
#: The lease ``state`` values an UPDATE accepts; anything else is INVALIDARG.
#: docs/dhcpd-behaviour.md, "Objects"; test_facts_dhcpd.py::test_lease_states_one_to_seven
SETTABLE_LEASE_STATES: Final = frozenset(LEASE_STATE_NAMES)

#: The lease ``flags`` bits a client ever sees, by dhcpd's macro name.
#: docs/dhcpd-behaviour.md, "Objects"; test_facts_dhcpd.py::test_only_four_lease_flags_can_be_set
LEASE_FLAG_BITS: Final = MappingProxyType(
    {
        "BOOTP_LEASE": 2,
        "RESERVED_LEASE": 4,
        "MS_NULL_TERMINATION": 8,
        "UNICAST_BROADCAST_HACK": 64,
    }
)
#: The bits an UPDATE of ``flags`` can change (the others of the value are dropped).
#: docs/dhcpd-behaviour.md, "Objects"; test_facts_dhcpd.py::test_only_four_lease_flags_can_be_set
SETTABLE_LEASE_FLAGS: Final = 2 | 4 | 8 | 64
#: The bits dhcpd sends in a lease's 1-byte ``flags`` (its internal bits are masked out).
#: docs/dhcpd-behaviour.md, "Objects"; test_facts_dhcpd.py::test_only_four_lease_flags_can_be_set
SENT_LEASE_FLAGS: Final = SETTABLE_LEASE_FLAGS
#: Lease attributes an UPDATE accepts (status 0) and ignores.
#: docs/dhcpd-behaviour.md, "Objects";
#: test_facts_dhcpd.py::test_lease_attributes_ignored_or_refused
LEASE_IGNORED_ATTRIBUTES: Final = frozenset(
    {
        "client-hostname",
        "hostname",
        "hardware-address",
        "hardware-type",
        "dhcp-client-identifier",
        "host",
        "billing-class",
    }
)
#: Lease attributes an UPDATE refuses with NOPERM.
#: docs/dhcpd-behaviour.md, "Objects";
#: test_facts_dhcpd.py::test_lease_attributes_ignored_or_refused
LEASE_READ_ONLY_ATTRIBUTES: Final = frozenset({"ip-address", "starts", "pool"})

#: Types dhcpd registers without a lookup: an OPEN of them is 27 "unsearchable object type".
#: docs/dhcpd-behaviour.md, "Objects"; test_facts_dhcpd.py::test_unsearchable_types
UNSEARCHABLE_TYPES: Final = (
    "connection",
    "listener",
    "io",
    "generic",
    "protocol",
    "protocol-listener",
    "message",
    "waiter",
    "failover-link",
    "failover-listener",
)

#: The control ``state`` a client sets to shut the server down; any other value INVALIDARG.
#: docs/dhcpd-behaviour.md, "Objects"; test_typed_dhcpd.py::test_shutdown
CONTROL_SHUTDOWN: Final = 2
#: What the control ``state`` reads while the server runs (dhcpd never manages to set 1).
#: docs/dhcpd-behaviour.md, "Objects";
#: test_typed_dhcpd.py::test_control_reads_startup_while_running
CONTROL_STATE_WHILE_RUNNING: Final = 0

# ================================================================ Failover

#: Failover states (``enum failover_state``) by number, as dhcpd logs them and writes them to
#: its lease file. docs/dhcpd-behaviour.md, "Failover";
#: test_facts_dhcpd.py::test_every_failover_state_can_be_set_and_is_named
FAILOVER_STATE_NAMES: Final = MappingProxyType(
    {
        0: "unknown-state",
        1: "startup",
        2: "normal",
        3: "communications-interrupted",
        4: "partner-down",
        5: "potential-conflict",
        6: "recover",
        7: "paused",
        8: "shutdown",
        9: "recover-done",
        10: "resolution-interrupted",
        11: "conflict-done",
        254: "recover-wait",
    }
)
#: The ``local-state`` values dhcpd survives; any other number makes it exit.
#: docs/dhcpd-behaviour.md, "Failover" and "Requests that crash dhcpd";
#: test_facts_dhcpd.py::test_every_failover_state_can_be_set_and_is_named,
#: test_facts_dhcpd.py::test_failover_state_outside_the_enum_kills_dhcpd
VALID_FAILOVER_STATES: Final = frozenset(FAILOVER_STATE_NAMES)
#: ``failover-state`` attributes an UPDATE accepts (status 0) and ignores; only
#: ``local-state`` takes effect, other names are NOTFOUND.
#: docs/dhcpd-behaviour.md, "Failover"; test_facts_dhcpd.py::test_failover_ignored_attributes
FAILOVER_IGNORED_ATTRIBUTES: Final = frozenset(
    {
        "name",
        "partner-address",
        "local-address",
        "partner-port",
        "local-port",
        "max-outstanding-updates",
        "mclt",
        "load-balance-max-secs",
        "load-balance-hba",
        "partner-state",
        "partner-stos",
        "local-stos",
        "hierarchy",
        "last-packet-sent",
        "last-timestamp-received",
        "skew",
        "max-response-delay",
        "cur-unacked-updates",
    }
)

# ================================================================ Server behaviour and limits

#: Size of one ring of dhcpd's connection buffers (OMAPI_BUF_SIZE).
#: docs/dhcpd-behaviour.md, "Server behaviour and limits";
#: test_client_dhcpd.py::test_without_the_budget_one_batch_crashes_dhcpd
OMAPI_BUF_SIZE: Final = 4048
#: Bytes a fresh ring holds: the stream offset where the first discontinuity lies.
#: docs/dhcpd-behaviour.md, "Server behaviour and limits";
#: test_pipelining_dhcpd.py::test_replies_placed_exactly_on_the_abort_window
RING_CAPACITY: Final = OMAPI_BUF_SIZE - 1
#: Offsets of a fresh, undrained output buffer where a signed reply that starts there aborts
#: dhcpd (its ``authlen`` straddles the ring boundary).
#: docs/dhcpd-behaviour.md, "Requests that crash dhcpd";
#: test_client_dhcpd.py::test_without_the_budget_one_batch_crashes_dhcpd,
#: test_pipelining_dhcpd.py::test_replies_placed_exactly_on_the_abort_window
OUTPUT_ABORT_OFFSETS: Final = (4040, 4041, 4042)
#: The same for a signed request in an input buffer that wrapped (read from before it filled).
#: docs/dhcpd-behaviour.md, "Requests that crash dhcpd";
#: test_facts_dhcpd.py::test_input_abort_window
INPUT_ABORT_OFFSETS: Final = (4041, 4042, 4043)
#: The backlog of dhcpd's OMAPI listening socket: further connection attempts wait for a SYN
#: retry. docs/dhcpd-behaviour.md, "Server behaviour and limits";
#: test_facts_dhcpd.py::test_listen_backlog_is_one
LISTEN_BACKLOG: Final = 1
#: dhcpd closes an accepted OMAPI socket whose file descriptor is above this number.
#: docs/dhcpd-behaviour.md, "Server behaviour and limits";
#: test_facts_dhcpd.py::test_about_190_connections
MAX_FD_VALUE: Final = 200
#: About how many OMAPI connections one dhcpd serves at once (MAX_FD_VALUE less the
#: descriptors it holds already). docs/dhcpd-behaviour.md, "Server behaviour and limits";
#: test_facts_dhcpd.py::test_about_190_connections
CONNECTION_LIMIT: Final = 190

# ================================================================ Requests that crash dhcpd

#: Message-value names the message object keeps for itself: a value under one of them makes
#: dhcpd drop the connection, an empty one (all but ``authenticator``) makes it segfault
#: before it checks any signature. docs/dhcpd-behaviour.md, "Requests that crash dhcpd";
#: test_facts_dhcpd.py::test_null_reserved_message_value_kills_dhcpd
RESERVED_MESSAGE_NAMES: Final = frozenset(
    {"authenticator", "object", "notify-object", "authid", "op", "handle", "id", "rid"}
)
#: Object type → attributes whose null (zero-length) value makes dhcpd segfault. Group
#: ``name``/``statements`` and class ``name`` only while they are unset (on a create; set,
#: they answer EXISTS); the others whenever they are written.
#: docs/dhcpd-behaviour.md, "Requests that crash dhcpd";
#: test_facts_dhcpd.py::test_null_attribute_kills_dhcpd,
#: test_facts_dhcpd.py::test_null_local_state_kills_dhcpd
NULL_CRASHES: Final = MappingProxyType(
    {
        "lease": frozenset({"state", "ends", "flags"}),
        "control": frozenset({"state"}),
        "failover-state": frozenset({"local-state"}),
        "group": frozenset({"name", "statements"}),
        "class": frozenset({"name", "match", "group"}),
        "subclass": frozenset({"name", "hashstring", "match", "group"}),
    }
)
#: Null values dhcpd survives although they were once thought to crash it: class and
#: subclass ``option`` (dhcpd answers INVALIDARG, as for any ``option``).
#: docs/dhcpd-behaviour.md, "Requests that crash dhcpd";
#: test_facts_dhcpd.py::test_null_option_is_only_invalidarg
NULL_SURVIVED: Final = MappingProxyType(
    {"class": frozenset({"option"}), "subclass": frozenset({"option"})}
)
