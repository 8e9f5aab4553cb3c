"""Host declarations: ``host``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiomapi.errors import ResultCode
from aiomapi.facts import MAX_HARDWARE_ADDRESS_LEN, OMAPI_HOST_HARDWARE_TYPE
from aiomapi.server.objects import AttributeValue, StatusError, int32

from .base import ModelType, hardware_key, hardware_type_key, int32_value
from .statements import statements_parse

if TYPE_CHECKING:
    from .groups import FakeGroup

__all__ = ["FakeHost", "HostType"]


@dataclass(slots=True, eq=False)
class FakeHost:
    """One host declaration. A host made over OMAPI starts with hardware type 0
    (docs/dhcpd-behaviour.md, "Objects")."""

    name: bytes | None = None
    hardware_type: int = OMAPI_HOST_HARDWARE_TYPE
    hardware_address: bytes | None = None
    uid: bytes | None = None
    fixed_address: bytes | None = None
    group: FakeGroup | None = None
    statements: bytes | None = None
    dynamic: bool = True
    deleted: bool = False
    #: The (name, client id, hardware key) it is indexed under.
    indexed: tuple[bytes | None, bytes | None, bytes | None] = (None, None, None)

    @property
    def hardware_key(self) -> bytes | None:
        """The hardware hash key: type byte + address, as dhcpd's ``hbuf``."""
        return hardware_key(self.hardware_type, self.hardware_address)


class HostType(ModelType[FakeHost]):
    """``host`` (docs/dhcpd-behaviour.md, "Objects").

    Lookup keys in order: ``handle``, ``dhcp-client-identifier``, ``hardware-address``
    (+ ``hardware-type``, part of the match), ``ip-address`` (through the lease with that
    address and its hardware address; the fixed address is not searched), ``name``.
    Deleted hosts are not found; no key → a blank, unentered host (NOKEYS quirk).

    Settable: ``name``, ``hardware-address``, ``dhcp-client-identifier`` and ``statements``
    once each (EXISTS after), ``hardware-type``, ``ip-address`` (null clears), ``group``
    (an existing group, else NOTFOUND), ``known`` (ignored); anything else UNKNOWNATTRIBUTE.
    ``updated`` needs a hardware address or client id (INVALIDARG), names unnamed hosts and
    enters them. Deleting marks the host deleted (REFRESH still shows it; delete again is 0).
    A hardware address over :data:`~aiomapi.typed.values.MAX_HARDWARE_ADDRESS_LEN` octets is
    INVALIDARG, as in dhcpd.
    """

    name = "host"

    def lookup(self, keys: Mapping[str, bytes]) -> FakeHost | None:
        model = self.model
        found: FakeHost | None = None
        raw = keys.get("handle")
        if raw is not None:
            found = model.by_handle(raw, FakeHost)
            if found is not None and found.deleted:
                found = None
        raw = keys.get("dhcp-client-identifier")
        if raw is not None:
            found = _match(found, model.hosts_by_uid.get(raw))
            if found is None:
                return None
        raw = keys.get("hardware-address")
        if raw is not None:
            htype = hardware_type_key(keys)
            found = _match(found, model.hosts_by_hw.get(bytes([htype]) + raw))
            if found is None:
                return None
        raw = keys.get("ip-address")
        if raw is not None:
            lease = model.leases.get(raw)
            if lease is None and found is None:
                return None
            if lease is not None:
                key = lease.hardware_key
                host = model.hosts_by_hw.get(key) if key is not None else None
                if host is not None and found is not None and host is not found:
                    raise StatusError(ResultCode.KEYCONFLICT)
                if host is None or host.deleted:
                    if found is None:
                        return None
                elif found is None:
                    found = host
        raw = keys.get("name")
        if raw is not None:
            found = _match(found, model.hosts_by_name.get(raw))
            if found is None:
                return None
        if found is None:
            raise StatusError(ResultCode.NOKEYS)
        return found

    def create(self) -> FakeHost:
        return FakeHost()

    def set_value(self, obj: FakeHost, name: str, value: bytes | None) -> None:
        model = self.model
        if name == "known":
            return
        if name == "ip-address":
            obj.fixed_address = value
            return
        if name not in (
            "name",
            "group",
            "hardware-address",
            "hardware-type",
            "dhcp-client-identifier",
            "statements",
        ):
            raise StatusError(ResultCode.UNKNOWNATTRIBUTE)
        if value is None:
            raise StatusError(ResultCode.INVALIDARG)
        if name == "name":
            if obj.name is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.name = value  # uniqueness is checked when the host is entered
        elif name == "group":
            group = model.live_group(value)
            if group is None:
                raise StatusError(ResultCode.NOTFOUND)
            obj.group = group
        elif name == "hardware-address":
            if obj.hardware_address is not None:
                raise StatusError(ResultCode.EXISTS)
            if len(value) > MAX_HARDWARE_ADDRESS_LEN:
                raise StatusError(ResultCode.INVALIDARG)
            obj.hardware_address = value
        elif name == "hardware-type":
            obj.hardware_type = int32_value(value)
        elif name == "dhcp-client-identifier":
            if obj.uid is not None:
                raise StatusError(ResultCode.EXISTS)
            obj.uid = value
        else:  # statements
            if obj.statements is not None:
                raise StatusError(ResultCode.EXISTS)
            if not statements_parse(value):
                raise StatusError(ResultCode.BADPARSE)
            obj.statements = value

    def updated(self, obj: FakeHost) -> None:
        if obj.deleted:
            return
        model = self.model
        if obj.hardware_address is None and obj.uid is None:
            raise StatusError(ResultCode.INVALIDARG)
        if obj.name is None:
            obj.name = model.generated_name("nh")
        other = model.live_host(model.hosts_by_name, obj.name)
        if other is not None and other is not obj:
            raise StatusError(ResultCode.EXISTS)
        model.enter_host(obj)

    def remove(self, obj: FakeHost) -> None:
        obj.deleted = True

    def values(self, obj: FakeHost) -> list[tuple[str, AttributeValue]]:
        out: list[tuple[str, AttributeValue]] = []
        if obj.fixed_address is not None:
            out.append(("ip-address", obj.fixed_address))
        if obj.uid is not None:
            out.append(("dhcp-client-identifier", obj.uid))
        if obj.name is not None:
            out.append(("name", obj.name))
        if obj.hardware_address is not None:
            out.append(("hardware-address", obj.hardware_address))
            out.append(("hardware-type", int32(obj.hardware_type)))
        return out


def _match(found: FakeHost | None, host: FakeHost | None) -> FakeHost | None:
    """One step of dhcpd's host lookup: a different host → KEYCONFLICT, none → ``None``."""
    if found is not None and host is not found:
        raise StatusError(ResultCode.KEYCONFLICT)
    if host is None or host.deleted:
        return None
    return host
