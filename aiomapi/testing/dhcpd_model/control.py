"""The server's own objects: ``control``, ``interface`` and the types without a lookup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiomapi.errors import ResultCode
from aiomapi.facts import CONTROL_SHUTDOWN
from aiomapi.server.objects import AttributeValue, ObjectType, StatusError, int32

from .base import ModelType, int32_value

__all__ = ["ControlType", "FakeControl", "FakeInterface", "InterfaceType", "Unsearchable"]


@dataclass(slots=True, eq=False)
class FakeControl:
    """The control object. It reads 0 while running (docs/dhcpd-behaviour.md, "Objects")
    and 4 once a shutdown was asked for."""

    state: int = 0


@dataclass(slots=True, eq=False)
class FakeInterface:
    name: bytes | None = None
    up: bool = True


class ControlType(ModelType[FakeControl]):
    """``control`` (docs/dhcpd-behaviour.md, "Objects"): always found; ``state = 2`` shuts
    the fake down (status 0 first, then ``on_shutdown``; dhcpd itself answers nothing);
    other values INVALIDARG (a null one too: dhcpd segfaults); other names NOTFOUND; delete
    NOPERM."""

    name = "control"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeControl:
        return self.model.control

    def set_value(self, obj: FakeControl, name: str, value: bytes | None) -> None:
        if name != "state":
            raise StatusError(ResultCode.NOTFOUND)
        if int32_value(value) != CONTROL_SHUTDOWN:
            raise StatusError(ResultCode.INVALIDARG)
        # dhcpd's source then stores the value's length (4); no client of the real server
        # sees it, because dhcpd answers nothing once a shutdown was asked for.
        obj.state = 4
        if self.model.on_shutdown is not None:
            self.model.on_shutdown()

    def remove(self, obj: FakeControl) -> None:
        raise StatusError(ResultCode.NOPERM)

    def values(self, obj: FakeControl) -> list[tuple[str, AttributeValue]]:
        return [("state", int32(obj.state))]


class InterfaceType(ModelType[FakeInterface]):
    """``interface`` (docs/dhcpd-behaviour.md, "Objects"): lookup by ``handle`` or
    ``name``; no key → a blank interface; ``state`` is ``up``/``down``; delete takes it
    down."""

    name = "interface"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeInterface | None:
        found: FakeInterface | None = None
        raw = keys.get("handle")
        if raw is not None:
            found = self.model.by_handle(raw, FakeInterface)
        raw = keys.get("name")
        if raw is not None:
            iface = self.model.interfaces.get(raw)
            if found is not None and iface is not found:
                raise StatusError(ResultCode.KEYCONFLICT)
            return iface
        if found is None:
            raise StatusError(ResultCode.NOKEYS)
        return found

    def create(self) -> FakeInterface:
        return FakeInterface()

    def set_value(self, obj: FakeInterface, name: str, value: bytes | None) -> None:
        raise StatusError(ResultCode.NOTFOUND)

    def remove(self, obj: FakeInterface) -> None:
        obj.up = False

    def values(self, obj: FakeInterface) -> list[tuple[str, AttributeValue]]:
        return [("state", b"up" if obj.up else b"down")]


class Unsearchable(ObjectType[object]):
    searchable = False

    def __init__(self, name: str) -> None:
        self.name = name
