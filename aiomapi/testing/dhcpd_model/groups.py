"""Groups, classes and subclasses: ``group``, ``class`` and ``subclass``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiomapi.errors import ResultCode
from aiomapi.server.objects import AttributeValue, StatusError, int32

from .base import ModelType
from .statements import statements_parse

__all__ = [
    "ClassType",
    "FakeClass",
    "FakeGroup",
    "FakeSubclass",
    "GroupType",
    "SubclassType",
]


@dataclass(slots=True, eq=False)
class FakeGroup:
    name: bytes | None = None
    statements: bytes | None = None
    dynamic: bool = True
    deleted: bool = False


@dataclass(slots=True, eq=False)
class FakeClass:
    name: bytes | None = None
    #: dhcpd.conf classes belong to the root group; setting ``group`` on them gives EXISTS.
    group: FakeGroup | None = None
    in_group: bool = False
    match: bytes | None = None
    lease_limit: int = 0
    leases_used: int = 0
    subclasses: dict[bytes, FakeSubclass] = field(default_factory=dict)
    dynamic: bool = True
    deleted: bool = False


@dataclass(slots=True, eq=False)
class FakeSubclass:
    parent: FakeClass | None = None
    hashstring: bytes | None = None
    lease_limit: int = 0
    leases_used: int = 0
    deleted: bool = False


class GroupType(ModelType[FakeGroup]):
    """``group`` (docs/dhcpd-behaviour.md, "Objects").

    Lookup: ``handle`` (a live group found by handle is returned without looking further),
    then ``name``; no key → a blank group. Set: ``name`` and ``statements`` once each
    (EXISTS), ``statements`` must parse (BADPARSE); anything else NOTFOUND. ``updated``
    needs statements (INVALIDARG) and names unnamed groups ``ng…``. Deleting a group also
    drops its handle (REFRESH then says "no matching handle"). Difference: a null ``name``
    is INVALIDARG (dhcpd segfaults).
    """

    name = "group"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeGroup | None:
        raw = keys.get("handle")
        if raw is not None:
            group = self.model.by_handle(raw, FakeGroup)
            if group is not None and not group.deleted:
                return group
        raw = keys.get("name")
        if raw is not None:
            return self.model.live_group(raw)
        raise StatusError(ResultCode.NOKEYS)

    def create(self) -> FakeGroup:
        return FakeGroup()

    def set_value(self, obj: FakeGroup, name: str, value: bytes | None) -> None:
        if name == "name":
            if value is None:
                raise StatusError(
                    ResultCode.INVALIDARG
                )  # dhcpd segfaults (docs/dhcpd-behaviour.md, "Requests that crash dhcpd")
            if obj.name is not None or self.model.live_group(value) is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.name = value
        elif name == "statements":
            if value is None:
                raise StatusError(ResultCode.INVALIDARG)
            if obj.statements is not None:
                raise StatusError(ResultCode.EXISTS)
            if not statements_parse(value):
                raise StatusError(ResultCode.BADPARSE)
            obj.statements = value
        else:
            raise StatusError(ResultCode.NOTFOUND)

    def updated(self, obj: FakeGroup) -> None:
        if obj.deleted:
            return
        if obj.statements is None:
            raise StatusError(ResultCode.INVALIDARG)
        if obj.name is None:
            obj.name = self.model.generated_name("ng")
        self.model.groups[obj.name] = obj

    def remove(self, obj: FakeGroup) -> None:
        obj.deleted = True
        self.model.handles.forget(obj)  # dhcpd drops a deleted group's handle (verified)

    def values(self, obj: FakeGroup) -> list[tuple[str, AttributeValue]]:
        return [("name", obj.name)] if obj.name is not None else []


class ClassType(ModelType[FakeClass]):
    """``class`` (docs/dhcpd-behaviour.md, "Objects").

    Lookup by ``name`` only (a ``handle`` key is ignored); no name → a blank class.
    Set: ``name`` once; ``group`` an existing group (NOTFOUND), once (EXISTS); ``match`` only
    ``hardware`` (a prefix of up to 8 characters; else INVALIDARG), once (EXISTS); ``option``
    always INVALIDARG; anything else UNKNOWNATTRIBUTE. ``updated`` needs a name. Deleting
    drops the handle, as for groups (subclasses too).
    """

    name = "class"
    _HARDWARE = b"hardware"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeClass | None:
        raw = keys.get("name")
        if raw is None:
            raise StatusError(ResultCode.NOKEYS)
        return self.model.live_class(raw)

    def create(self) -> FakeClass:
        return FakeClass()

    def set_value(self, obj: FakeClass, name: str, value: bytes | None) -> None:
        if name not in ("name", "group", "match", "option"):
            raise StatusError(ResultCode.UNKNOWNATTRIBUTE)
        if value is None or name == "option":
            raise StatusError(
                ResultCode.INVALIDARG
            )  # null name: dhcpd segfaults (docs/dhcpd-behaviour.md, "Requests that crash dhcpd")
        if name == "name":
            if obj.name is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.name = value
        elif name == "group":
            group = self.model.live_group(value)
            if group is None:
                raise StatusError(ResultCode.NOTFOUND)
            if obj.group is not None or obj.in_group:
                raise StatusError(ResultCode.EXISTS)
            obj.group = group
        else:  # match
            n = min(len(value), len(self._HARDWARE))
            if not value or value[:n] != self._HARDWARE[:n]:
                raise StatusError(ResultCode.INVALIDARG)
            if obj.match is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.match = self._HARDWARE

    def updated(self, obj: FakeClass) -> None:
        if obj.deleted:
            return
        if obj.name is None:
            raise StatusError(ResultCode.INVALIDARG)
        self.model.classes[obj.name] = obj

    def remove(self, obj: FakeClass) -> None:
        obj.deleted = True
        self.model.handles.forget(obj)  # as for groups (verified)

    def values(self, obj: FakeClass) -> list[tuple[str, AttributeValue]]:
        return [("lease-limit", int32(obj.lease_limit)), ("leases-used", int32(obj.leases_used))]


class SubclassType(ModelType[FakeSubclass]):
    """``subclass`` (docs/dhcpd-behaviour.md, "Objects").

    Lookup needs ``name`` (the parent class) and ``hashstring``; with either missing the
    client gets a blank subclass (NOKEYS quirk). Create: ``name`` must name an existing class
    (NOTFOUND), and both must be set (INVALIDARG).
    """

    name = "subclass"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeSubclass | None:
        name, hashstring = keys.get("name"), keys.get("hashstring")
        if name is None or hashstring is None:
            raise StatusError(ResultCode.NOKEYS)
        parent = self.model.live_class(name)
        if parent is None:
            return None
        sub = parent.subclasses.get(hashstring)
        return sub if sub is not None and not sub.deleted else None

    def create(self) -> FakeSubclass:
        return FakeSubclass()

    def set_value(self, obj: FakeSubclass, name: str, value: bytes | None) -> None:
        if name == "name":
            if value is None:
                raise StatusError(
                    ResultCode.INVALIDARG
                )  # dhcpd segfaults (docs/dhcpd-behaviour.md, "Requests that crash dhcpd")
            parent = self.model.live_class(value)
            if parent is None:
                raise StatusError(ResultCode.NOTFOUND)
            obj.parent = parent
        elif name == "hashstring":
            if value is None:
                raise StatusError(ResultCode.INVALIDARG)
            obj.hashstring = value
        else:
            raise StatusError(ResultCode.UNKNOWNATTRIBUTE)

    def updated(self, obj: FakeSubclass) -> None:
        if obj.deleted:
            return
        if obj.parent is None or obj.hashstring is None:
            raise StatusError(ResultCode.INVALIDARG)
        obj.parent.subclasses[obj.hashstring] = obj

    def remove(self, obj: FakeSubclass) -> None:
        obj.deleted = True
        self.model.handles.forget(obj)  # as for groups (verified)
        parent, key = obj.parent, obj.hashstring
        if parent is not None and key is not None and parent.subclasses.get(key) is obj:
            del parent.subclasses[key]

    def values(self, obj: FakeSubclass) -> list[tuple[str, AttributeValue]]:
        return [("lease-limit", int32(obj.lease_limit)), ("leases-used", int32(obj.leases_used))]
