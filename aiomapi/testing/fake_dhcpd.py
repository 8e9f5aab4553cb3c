"""An in-memory dhcpd to test OMAPI clients against: :class:`FakeDhcpd`.

Theory of operation
-------------------
:class:`FakeDhcpd` is an :class:`~aiomapi.server.listener.OmapiServer` serving the object types of
:class:`~aiomapi.testing.dhcpd_model.DhcpdModel`, seeded from Python data
(:class:`~aiomapi.leasefile.LeaseRecord` and friends, e.g. from :func:`synthetic_leases`) or
from a ``dhcpd.leases`` file read with :func:`aiomapi.leasefile.load_leases`. It speaks the
protocol as dhcpd 4.4.3 does — startup, authenticators, signing, status codes and texts,
handles, the OPEN quirks — and refuses the inputs that crash dhcpd (see
:mod:`aiomapi.testing.dhcpd_model` and :mod:`aiomapi._sansio.server` for each case).

Loading follows what dhcpd does when it reads its lease file: a lease without ``tstp`` gets
``tstp = ends``; a lease without a binding state is active if it ends in the future, else
free; a missing next binding state copies the binding state; addresses
of ``pool_range`` without a lease record become free leases with no times. Hardware type
defaults to Ethernet for leases and dhcpd.conf-style hosts; hosts created over OMAPI start
with type 0, as in dhcpd.

The fake reads the clock only through ``clock`` (default :func:`time.time`), so tests can
make leases expire by moving a fake clock.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from ipaddress import IPv4Address
from types import TracebackType
from typing import Self

from aiomapi._sansio.auth import Key
from aiomapi.leasefile import (
    ClassRecord,
    FailoverPeerRecord,
    GroupRecord,
    HostRecord,
    LeaseDatabase,
    LeaseRecord,
    SubclassRecord,
    load_leases,
)
from aiomapi.server.listener import OmapiServer, ServerLimits
from aiomapi.server.objects import Dispatcher
from aiomapi.typed.values import LeaseState, LeaseTime, encode_string, time_to_seconds

from .dhcpd_model import (
    DhcpdModel,
    FakeClass,
    FakeFailoverPeer,
    FakeGroup,
    FakeHost,
    FakeInterface,
    FakeLease,
    FakeSubclass,
)
from .layout import FIRST_LEASE, FREE_ADDRESSES, LAB_ENDS, lab_lease

__all__ = ["LAB_ENDS", "FakeDhcpd", "synthetic_leases"]

#: Seconds between a shutdown request and the closing of existing connections (dhcpd: ~5 s).
SHUTDOWN_GRACE = 1.0


def synthetic_leases(
    n: int, *, first: str | IPv4Address = FIRST_LEASE, now: datetime | None = None
) -> list[LeaseRecord]:
    """``n`` active leases with the layout of the real-dhcpd lab
    (:func:`aiomapi.testing.layout.lab_lease`).

    Lease ``i``: address ``first + i``, hardware ethernet ``02:00:<i as 4 bytes>``,
    ``client-hostname "host<i>"``, state active (next and rewind state free), starts and
    cltt ``now``, ends 2037-12-31 23:59:59 UTC.
    """
    start = IPv4Address(first)
    when = now or datetime.now(UTC)
    return [lab_lease(i, now=when, first=start) for i in range(n)]


class FakeDhcpd:
    """An in-memory dhcpd 4.4.3 speaking OMAPI on ``host:port`` (see the module doc).

    Args:
        key: the ``omapi-key``; ``None`` serves unauthenticated clients.
        known_keys: further keys dhcpd knows but that are not the ``omapi-key``.
        leases: lease records (e.g. :func:`synthetic_leases`).
        leases_file: a ``dhcpd.leases`` to load first (leases, hosts, groups, classes,
            subclasses, failover peer states).
        database: an already parsed lease file, as ``leases_file``.
        hosts, groups, classes, subclasses: dhcpd.conf-style declarations.
        failover_peers: failover peers, as records or :class:`FakeFailoverPeer`.
        pool_range: ``(first, last)`` addresses of the pool; addresses without a lease
            record become free leases, as dhcpd creates them.
        interfaces: names of the interfaces dhcpd serves (the ``interface`` object).
        host, port: where to listen; port 0 (default) picks a free port.
        limits: server resource limits.
        clock: seconds since the epoch (default :func:`time.time`).

    Use ``async with FakeDhcpd(key=key, leases=synthetic_leases(100)) as server:`` and
    connect to ``server.host``/``server.port``. The state is in :attr:`model`.
    """

    def __init__(
        self,
        *,
        key: Key | None = None,
        known_keys: Iterable[Key] = (),
        leases: Iterable[LeaseRecord] = (),
        leases_file: str | os.PathLike[str] | None = None,
        database: LeaseDatabase | None = None,
        hosts: Iterable[HostRecord] = (),
        groups: Iterable[GroupRecord] = (),
        classes: Iterable[ClassRecord] = (),
        subclasses: Iterable[SubclassRecord] = (),
        failover_peers: Iterable[FailoverPeerRecord | FakeFailoverPeer] = (),
        pool_range: tuple[str | IPv4Address, str | IPv4Address] | None = None,
        interfaces: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        limits: ServerLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        limits = limits if limits is not None else ServerLimits()
        self.key = key
        self.dispatcher = Dispatcher(key=key, known_keys=known_keys, max_handles=limits.max_handles)
        self.model = DhcpdModel(self.dispatcher.handles, clock=clock, on_shutdown=self._shutdown)
        for object_type in self.model.object_types():
            self.dispatcher.register(object_type)
        self.server = OmapiServer(self.dispatcher, host=host, port=port, limits=limits)
        self.shutdown_requested = asyncio.Event()
        self._shutdown_task: asyncio.Task[None] | None = None

        if leases_file is not None:
            self.load(load_leases(leases_file))
        if database is not None:
            self.load(database)
        self.add_groups(groups)
        self.add_classes(classes)
        self.add_subclasses(subclasses)
        self.add_hosts(hosts)
        self.add_leases(leases)
        self.add_failover_peers(failover_peers)
        for name in interfaces:
            raw = name.encode()
            self.model.interfaces[raw] = FakeInterface(raw)
        if pool_range is not None:
            self.fill_pool(*pool_range)

    @classmethod
    def like_lab(cls, n_leases: int, *, key: Key | None = None, **kwargs: object) -> FakeDhcpd:
        """The data of a real-dhcpd lab server with ``n_leases`` leases (``dhcpd_lab``).

        :func:`synthetic_leases` plus the free pool addresses after them
        (:data:`~aiomapi.testing.layout.FREE_ADDRESSES`), and the interface ``lease0``.
        """
        kwargs.setdefault("interfaces", ("lease0",))
        last = FIRST_LEASE + n_leases + FREE_ADDRESSES - 1
        return cls(
            key=key,
            leases=synthetic_leases(n_leases),
            pool_range=(FIRST_LEASE, last),
            **kwargs,  # type: ignore[arg-type]
        )

    def __repr__(self) -> str:
        return f"<FakeDhcpd {self.host}:{self.port} leases={len(self.model.leases)}>"

    # ------------------------------------------------------------ running

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> Self:
        """Start listening (``port`` is known afterwards)."""
        await self.server.start()
        return self

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._shutdown_task is not None:
            self._shutdown_task.cancel()
        await self.server.close()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _shutdown(self) -> None:
        """control state=2: refuse new connections now, close the others a moment later."""
        self.shutdown_requested.set()
        self.server.stop_listening()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # the model is being driven without a server (sans-IO tests)
        if self._shutdown_task is None:
            self._shutdown_task = loop.create_task(self._close_later())

    async def _close_later(self) -> None:
        await asyncio.sleep(SHUTDOWN_GRACE)
        await self.server.close_connections()

    # ------------------------------------------------------------ seeding

    def load(self, db: LeaseDatabase) -> None:
        """Add everything a parsed lease file holds."""
        self.add_groups(db.groups.values())
        self.add_classes(db.classes.values())
        self.add_subclasses(db.subclasses.values())
        self.add_hosts(db.hosts.values())
        self.add_leases(db.leases.values())
        self.add_failover_peers(db.failover_peers.values())

    def add_leases(self, records: Iterable[LeaseRecord]) -> None:
        """Add (or replace) leases."""
        model = self.model
        now = model.now()
        for record in records:
            model.add_lease(_lease_from_record(record, now, model))

    def fill_pool(self, first: str | IPv4Address, last: str | IPv4Address) -> None:
        """Create free leases for the addresses in ``first..last`` that have none."""
        model = self.model
        for n in range(int(IPv4Address(first)), int(IPv4Address(last)) + 1):
            ip = n.to_bytes(4, "big")
            if ip not in model.leases:
                model.add_lease(FakeLease(ip, model.pool))

    def add_hosts(self, records: Iterable[HostRecord]) -> None:
        """Add host declarations (deleted ones are skipped)."""
        model = self.model
        for record in records:
            if record.deleted:
                continue
            fixed = b"".join(ip.packed for ip in record.fixed_addresses) or None
            group = model.live_group(record.group.encode()) if record.group else None
            htype = record.hardware_type
            if htype is None:
                htype = 1 if record.hardware_address is not None else 0
            host = FakeHost(
                name=record.name.encode(),
                hardware_type=htype,
                hardware_address=record.hardware_address.packed
                if record.hardware_address is not None
                else None,
                uid=record.client_identifier,
                fixed_address=fixed,
                group=group,
                statements=record.statements.encode() or None,
                dynamic=record.dynamic,
            )
            model.enter_host(host)

    def add_groups(self, records: Iterable[GroupRecord]) -> None:
        """Add named groups (deleted ones are skipped)."""
        for record in records:
            if not record.deleted:
                name = record.name.encode()
                self.model.groups[name] = FakeGroup(
                    name, record.statements.encode(), dynamic=record.dynamic
                )

    def add_classes(self, records: Iterable[ClassRecord]) -> None:
        """Add classes (deleted ones are skipped). A ``match`` statement marks the class as
        matching already; every class belongs to the root group, as in dhcpd.conf."""
        for record in records:
            if record.deleted:
                continue
            name = record.name.encode()
            self.model.classes[name] = FakeClass(
                name,
                in_group=True,
                match=b"hardware" if "match" in record.statements else None,
                lease_limit=record.lease_limit or 0,
                dynamic=record.dynamic,
            )

    def add_subclasses(self, records: Iterable[SubclassRecord]) -> None:
        """Add subclasses of classes already added."""
        for record in records:
            parent = self.model.live_class(record.class_name.encode())
            if parent is None or record.deleted:
                continue
            parent.subclasses[record.hashstring] = FakeSubclass(
                parent, record.hashstring, lease_limit=record.lease_limit or 0
            )

    def add_failover_peers(self, peers: Iterable[FailoverPeerRecord | FakeFailoverPeer]) -> None:
        """Add failover peers; records fill the states, stos and mclt they carry."""
        model = self.model
        for peer in peers:
            if isinstance(peer, FailoverPeerRecord):
                state = FakeFailoverPeer(
                    peer.name.encode(),
                    local_state=int(peer.my_state),
                    partner_state=int(peer.partner_state),
                    local_stos=time_to_seconds(peer.my_stos),
                    partner_stos=time_to_seconds(peer.partner_stos),
                )
                if peer.mclt is not None:
                    state.mclt = peer.mclt
                peer = state
            # A state without a time was entered when dhcpd started.
            peer.local_stos = peer.local_stos or model.now()
            peer.partner_stos = peer.partner_stos or model.now()
            model.failover_peers[peer.name] = peer

    # ------------------------------------------------------------ inspection

    def lease(self, ip: str | IPv4Address) -> FakeLease | None:
        """The lease for an address, or ``None``."""
        return self.model.leases.get(IPv4Address(ip).packed)

    def host_named(self, name: str) -> FakeHost | None:
        """The live host called ``name``, or ``None``."""
        return self.model.live_host(self.model.hosts_by_name, name.encode())


def _seconds(t: LeaseTime) -> int:
    return time_to_seconds(t)


def _lease_from_record(record: LeaseRecord, now: int, model: DhcpdModel) -> FakeLease:
    ends = _seconds(record.ends)
    state = record.binding_state
    if state is None:
        state = LeaseState.ACTIVE if ends > now else LeaseState.FREE
    variables: list[tuple[str, bytes | None]] = []
    for name, value in record.variables:
        if isinstance(value, bytes):
            variables.append((name, value))
        else:  # numbers and booleans go out as int32 (docs/dhcpd-behaviour.md, "Objects")
            variables.append((name, int(value).to_bytes(4, "big")))
    variables.reverse()  # dhcpd prepends each variable it reads to the binding scope
    billing = None
    if record.billing_class is not None:
        billing = model.live_class(record.billing_class.encode())
    lease = FakeLease(
        record.ip_address.packed,
        model.pool,
        state=int(state),
        next_state=int(record.next_binding_state or state),
        starts=_seconds(record.starts),
        ends=ends,
        tstp=_seconds(record.tstp) or ends,
        tsfp=_seconds(record.tsfp),
        atsfp=_seconds(record.atsfp),
        cltt=_seconds(record.cltt),
        hardware_type=record.hardware_type if record.hardware_type is not None else 1,
        hardware_address=record.hardware_address.packed
        if record.hardware_address is not None
        else None,
        uid=record.client_identifier,
        client_hostname=encode_string(record.client_hostname)
        if record.client_hostname is not None
        else None,
        flags=int(record.flags),
        billing_class=billing,
        variables=variables,
    )
    return lease
