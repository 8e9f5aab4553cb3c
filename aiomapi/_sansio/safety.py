"""Requests that would crash or kill dhcpd 4.4.3, refused before they are sent.

dhcpd trusts its clients more than it should (docs/dhcpd-behaviour.md, "Requests that crash
dhcpd"; the tables are in :mod:`aiomapi.facts`, each with the test that checks it):

* a message value named ``op``, ``id``, ``object``, ``handle``, ``rid``, ``authid``,
  ``notify-object`` (or ``authenticator``) is taken by the message object itself: a wire value
  makes dhcpd drop the connection, a zero-length one makes it **segfault before
  authentication**;
* a zero-length (null) value for lease ``state``/``ends``/``flags``, control ``state``,
  failover ``local-state``, group/class ``name``, group ``statements``, class and subclass
  ``match`` and ``group``, subclass ``name`` and ``hashstring`` (see :data:`NULL_CRASHES`)
  makes it segfault. A null class or subclass ``option`` is refused too, although dhcpd
  only answers INVALIDARG to it (:data:`aiomapi.facts.NULL_SURVIVED`): the refusal predates
  that measurement and costs nothing, since dhcpd refuses every ``option`` anyway;
* a null value written to a lease binding variable hides it; a second one makes dhcpd
  segfault. Whether a variable was nulled before is server state, so every null written to
  a lease (or to an object whose type is not known) is refused;
* a failover ``local-state`` outside the state enum makes it exit (``log_fatal``);
* a client STATUS message makes it drop the connection.

:func:`check_request` is called by the protocol core for every outgoing request, so no API
level of aiomapi can send these.
"""

from __future__ import annotations

from typing import Final

from aiomapi._sansio.wire import Opcode, Values
from aiomapi.errors import LocalProtocolError
from aiomapi.facts import (
    NULL_CRASHES,
    NULL_SURVIVED,
    RESERVED_MESSAGE_NAMES,
    VALID_FAILOVER_STATES,
)

__all__ = [
    "CLIENT_OPCODES",
    "NULL_CRASHES",
    "REFUSED_NULLS",
    "RESERVED_MESSAGE_NAMES",
    "VALID_FAILOVER_STATES",
    "check_failover_state",
    "check_lease_nulls",
    "check_request",
]

#: Object type → attribute names whose null value is refused.
REFUSED_NULLS: dict[str, frozenset[str]] = {
    object_type: names | NULL_SURVIVED.get(object_type, frozenset())
    for object_type, names in NULL_CRASHES.items()
}
_ANY_REFUSED_NULL = frozenset().union(*REFUSED_NULLS.values())

#: Opcodes a client may send.
CLIENT_OPCODES = frozenset({Opcode.OPEN, Opcode.REFRESH, Opcode.UPDATE, Opcode.DELETE})
# Read for every request, so bound once: compiled with mypyc (docs/speedups.md), ``Opcode.OPEN``
# is a lookup through the enum's metaclass (about 70 ns); a module Final is not.
_OPEN: Final = Opcode.OPEN
_UPDATE: Final = Opcode.UPDATE
_NONE_REFUSED: Final[frozenset[str]] = frozenset()

#: Whether nulls written to a lease are refused (:func:`check_lease_nulls`). Only the tests
#: that show what dhcpd does without this guard (it dies) set it to False, for a moment. It is
#: a variable rather than a function to replace because this module may run compiled
#: (docs/speedups.md), and compiled callers read a module variable at every call but call a
#: module function directly.
GUARD_LEASE_NULLS = True


def check_request(opcode: int, message: Values, obj: Values, object_type: str | None) -> None:
    """Refuse a request that could harm dhcpd.

    Args:
        opcode: the request's opcode.
        message: its message values.
        obj: its object values.
        object_type: the object's type when known (from ``type`` or the object the handle
            belongs to); ``None`` applies the rules of every type.

    Raises:
        LocalProtocolError: the request is refused; the text says why.
    """
    if opcode not in CLIENT_OPCODES:
        raise LocalProtocolError(f"a client must not send opcode {opcode}")
    writes = opcode == _UPDATE
    for name, value in message:
        if name in RESERVED_MESSAGE_NAMES:
            raise LocalProtocolError(
                f"message value {name!r} is reserved by the protocol (dhcpd would drop the "
                "connection, or crash if it were empty)"
            )
        if name == "update" and opcode == _OPEN and value.strip(b"\0"):
            writes = True  # an OPEN with a true ``update`` flag writes what it carries
    refused = REFUSED_NULLS.get(object_type, _NONE_REFUSED) if object_type else _ANY_REFUSED_NULL
    if writes and object_type in ("lease", None) and GUARD_LEASE_NULLS:
        check_lease_nulls(obj, object_type)
    for name, value in obj:
        if not value and name in refused:
            why = "refuses every option" if name == "option" else "crashes on it"
            raise LocalProtocolError(
                f"refusing a null {name!r} on {object_type or 'an object'}: dhcpd 4.4.3 {why}"
            )
        if name == "local-state" and object_type in ("failover-state", None):
            check_failover_state(value)


def check_lease_nulls(obj: Values, object_type: str | None) -> None:
    """Refuse null values written to a lease (or to an object of unknown type)."""
    for name, value in obj:
        if not value:
            raise LocalProtocolError(
                f"refusing a null {name!r} on {object_type or 'an object of unknown type'}: "
                "dhcpd 4.4.3 crashes on a second null of a lease binding variable"
                + ("" if object_type else " (name the object type to clear other attributes)")
            )


def check_failover_state(value: bytes) -> None:
    """Refuse a ``local-state`` value dhcpd cannot survive."""
    state = int.from_bytes(value, "big") if len(value) == 4 else None
    if state not in VALID_FAILOVER_STATES:
        raise LocalProtocolError(
            f"failover local-state must be a 4-byte state 0-11 or 254, got {value.hex(':')}: "
            "dhcpd 4.4.3 exits on anything else"
        )
