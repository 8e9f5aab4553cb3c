"""What every object type of the model shares: its base class and value checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from aiomapi.errors import ResultCode
from aiomapi.facts import HTYPE_ETHER, decode_int32
from aiomapi.server.objects import ObjectType, StatusError

if TYPE_CHECKING:
    from .model import DhcpdModel

__all__ = ["ModelType", "ObjT", "hardware_key", "hardware_type_key", "int32_value"]

ObjT = TypeVar("ObjT")


class ModelType(ObjectType[ObjT]):
    """An object type of :class:`~aiomapi.testing.dhcpd_model.DhcpdModel`."""

    def __init__(self, model: DhcpdModel) -> None:
        self.model = model


def int32_value(value: bytes | None) -> int:
    """A value that must be a 4-byte integer (``omapi_get_int_value``), else INVALIDARG."""
    if value is None:
        raise StatusError(ResultCode.INVALIDARG)
    try:
        return decode_int32(value)
    except ValueError:
        raise StatusError(ResultCode.INVALIDARG) from None


def hardware_type_key(keys: Mapping[str, bytes]) -> int:
    """The ``hardware-type`` lookup key: int32 with three zero high bytes, default 1."""
    raw = keys.get("hardware-type")
    if raw is None:
        return HTYPE_ETHER
    if len(raw) != 4 or raw[:3] != b"\x00\x00\x00":
        raise StatusError(ResultCode.INVALIDARG)
    return raw[3]


def hardware_key(hardware_type: int, hardware_address: bytes | None) -> bytes | None:
    """dhcpd's hardware hash key (``hbuf``): the type byte, then the address."""
    if hardware_address is None:
        return None
    return bytes([hardware_type & 0xFF]) + hardware_address
