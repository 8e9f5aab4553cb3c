"""Typed values for OMAPI attributes: one import for the value modules of the typed layer.

Theory of operation
-------------------
On the wire every OMAPI value is an untyped byte string (docs/dhcpd-behaviour.md, "Wire
format"); dhcpd reads it by the attribute's *name*. The typed layer gives those bytes types,
one module per job:

* :mod:`aiomapi.typed.mac` — :class:`MacAddress` (a hashable value that never compares equal
  to a string) and its decoder;
* :mod:`aiomapi.typed.times` — lease times (:data:`LeaseTime`: an aware UTC
  :class:`~datetime.datetime` or one of the sentinels :data:`NEVER` and :data:`UNSET`);
* :mod:`aiomapi.typed.enums` — IntEnums for the numbers dhcpd sends (:class:`LeaseState`,
  :class:`LeaseFlags`, :class:`FailoverState`, :class:`ControlState`,
  :class:`FailoverHierarchy`) and the checks that make a member of what a caller passes;
* :mod:`aiomapi.typed.coders` — wire coders for single values (``encode_int32``/
  ``decode_int32`` and friends). Decoders raise :class:`ValueError` on malformed input;
  encoders raise :class:`~aiomapi.errors.LocalProtocolError` (also a :class:`ValueError`) for
  values we refuse to send;
* :mod:`aiomapi.typed.attributes` — :data:`ATTRIBUTE_KINDS`, the one table of which attribute
  has which wire type, and :func:`encode_value`, the generic "Python value → wire bytes" rule
  set of the low-level ``omapi.open(object_type, lookup)`` API.

This module re-exports them all, so ``from aiomapi.typed.values import X`` keeps working.
Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from aiomapi.typed.attributes import (
    ATTRIBUTE_KINDS,
    ValueKind,
    ValueLike,
    attribute_kind,
    encode_value,
)
from aiomapi.typed.coders import _parse_ipv4 as _parse_ipv4  # read by the tests
from aiomapi.typed.coders import (
    decode_int32,
    decode_ip,
    decode_ip_list,
    decode_string,
    encode_int32,
    encode_ip,
    encode_string,
)
from aiomapi.typed.enums import (
    SETTABLE_LEASE_FLAGS,
    ControlState,
    FailoverHierarchy,
    FailoverState,
    LeaseFlags,
    LeaseState,
)
from aiomapi.typed.mac import MAX_HARDWARE_ADDRESS_LEN, MacAddress, decode_mac
from aiomapi.typed.times import (
    MAX_TIME,
    NEVER,
    UNSET,
    LeaseTime,
    TimeSentinel,
    decode_time,
    encode_time,
    time_to_seconds,
)

__all__ = [
    "ATTRIBUTE_KINDS",
    "MAX_HARDWARE_ADDRESS_LEN",
    "MAX_TIME",
    "NEVER",
    "SETTABLE_LEASE_FLAGS",
    "UNSET",
    "ControlState",
    "FailoverHierarchy",
    "FailoverState",
    "LeaseFlags",
    "LeaseState",
    "LeaseTime",
    "MacAddress",
    "TimeSentinel",
    "ValueKind",
    "ValueLike",
    "attribute_kind",
    "decode_int32",
    "decode_ip",
    "decode_ip_list",
    "decode_mac",
    "decode_string",
    "decode_time",
    "encode_int32",
    "encode_ip",
    "encode_string",
    "encode_time",
    "encode_value",
    "time_to_seconds",
]
