"""The state of one fake dhcpd, its indexes and its object types: :class:`DhcpdModel`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiomapi.errors import ResultCode
from aiomapi.facts import UNSEARCHABLE_TYPES
from aiomapi.server.objects import HandleTable, ObjectType, StatusError

from .control import ControlType, FakeControl, FakeInterface, InterfaceType, Unsearchable
from .failover import FailoverStateType, FakeFailoverPeer
from .groups import ClassType, FakeClass, FakeGroup, GroupType, SubclassType
from .hosts import FakeHost, HostType
from .leases import FakeLease, FakePool, FakeSubnet, LeaseType, PoolType, SubnetType, chain_insert

__all__ = ["DhcpdModel"]

ObjT = TypeVar("ObjT")


class DhcpdModel:
    """The state of one fake dhcpd and its OMAPI object types.

    Args:
        handles: the server's handle table (``handle`` lookup keys resolve through it).
        clock: seconds since the epoch, for expiry, ``stos`` and generated names.
        on_shutdown: called after a client set the control ``state`` to 2.
    """

    def __init__(
        self,
        handles: HandleTable,
        *,
        clock: Callable[[], float],
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        self.handles = handles
        self.clock = clock
        self.on_shutdown = on_shutdown
        self.subnet = FakeSubnet()
        self.pool = FakePool(self.subnet)
        self.leases: dict[bytes, FakeLease] = {}
        self.leases_by_uid: dict[bytes, list[FakeLease]] = {}
        self.leases_by_hw: dict[bytes, list[FakeLease]] = {}
        self.hosts_by_name: dict[bytes, FakeHost] = {}
        self.hosts_by_uid: dict[bytes, FakeHost] = {}
        self.hosts_by_hw: dict[bytes, FakeHost] = {}
        self.groups: dict[bytes, FakeGroup] = {}
        self.classes: dict[bytes, FakeClass] = {}
        self.failover_peers: dict[bytes, FakeFailoverPeer] = {}
        self.interfaces: dict[bytes, FakeInterface] = {}
        self.control = FakeControl()
        self._heap = 0

        self.lease_type = LeaseType(self)
        self.host_type = HostType(self)
        self.group_type = GroupType(self)
        self.class_type = ClassType(self)
        self.subclass_type = SubclassType(self)
        self.failover_type = FailoverStateType(self)
        self.control_type = ControlType(self)
        self.pool_type = PoolType()
        self.subnet_type = SubnetType()
        self.interface_type = InterfaceType(self)

    def object_types(self) -> list[ObjectType[Any]]:
        """Every type this dhcpd serves, the unsearchable ones included."""
        types: list[ObjectType[Any]] = [
            self.lease_type,
            self.host_type,
            self.group_type,
            self.class_type,
            self.subclass_type,
            self.failover_type,
            self.control_type,
            self.pool_type,
            self.subnet_type,
            SubnetType("shared-network"),
            self.interface_type,
        ]
        types.extend(Unsearchable(name) for name in UNSEARCHABLE_TYPES)
        return types

    def now(self) -> int:
        return int(self.clock())

    def heap_address(self) -> int:
        """A new made-up heap address, for the values where dhcpd shows one of its own."""
        self._heap += 1
        return 0x55F0C0DE0000 + self._heap * 0x40

    def generated_name(self, prefix: str) -> bytes:
        """A name like dhcpd's ``nh<hex time><hex pointer>`` for unnamed hosts and groups."""
        return f"{prefix}{self.now():x}{self.heap_address():x}".encode()

    # ------------------------------------------------------------ leases

    def add_lease(self, lease: FakeLease) -> None:
        """Enter a lease (replacing one with the same address)."""
        old = self.leases.get(lease.ip)
        if old is not None:
            self._unindex_lease(old)
            lease.pool.leases.remove(old)
        self.leases[lease.ip] = lease
        lease.pool.leases.append(lease)
        if lease.uid is not None:
            chain_insert(self.leases_by_uid.setdefault(lease.uid, []), lease)
        key = lease.hardware_key
        if key is not None:
            chain_insert(self.leases_by_hw.setdefault(key, []), lease)

    def _unindex_lease(self, lease: FakeLease) -> None:
        for index, key in (
            (self.leases_by_uid, lease.uid),
            (self.leases_by_hw, lease.hardware_key),
        ):
            if key is not None and lease in index.get(key, ()):
                index[key].remove(lease)
                if not index[key]:
                    del index[key]

    # ------------------------------------------------------------ hosts

    def enter_host(self, host: FakeHost) -> None:
        """(Re-)index a host under its name, client id and hardware key."""
        self.unindex_host(host)
        host.indexed = (host.name, host.uid, host.hardware_key)
        for index, key in zip(
            (self.hosts_by_name, self.hosts_by_uid, self.hosts_by_hw), host.indexed, strict=True
        ):
            if key is not None:
                index[key] = host

    def unindex_host(self, host: FakeHost) -> None:
        """Drop a host from the indexes it was entered in."""
        for index, key in zip(
            (self.hosts_by_name, self.hosts_by_uid, self.hosts_by_hw), host.indexed, strict=True
        ):
            if key is not None and index.get(key) is host:
                del index[key]
        host.indexed = (None, None, None)

    def live_host(self, index: Mapping[bytes, FakeHost], key: bytes) -> FakeHost | None:
        host = index.get(key)
        return host if host is not None and not host.deleted else None

    def live_group(self, name: bytes) -> FakeGroup | None:
        group = self.groups.get(name)
        return group if group is not None and not group.deleted else None

    def live_class(self, name: bytes) -> FakeClass | None:
        klass = self.classes.get(name)
        return klass if klass is not None and not klass.deleted else None

    # ------------------------------------------------------------ lookups by handle

    def by_handle(self, raw: bytes, kind: type[ObjT]) -> ObjT:
        """The object a ``handle`` key names: INVALIDARG for a bad length or another type."""
        if len(raw) != 4:
            raise StatusError(ResultCode.INVALIDARG)
        entry = self.handles.get(int.from_bytes(raw, "big"))
        if entry is None:
            raise StatusError(ResultCode.NOTFOUND)
        obj = entry[1]
        if not isinstance(obj, kind):
            raise StatusError(ResultCode.INVALIDARG)
        return obj
