"""Everything the exporter reports, gathered at once: :class:`Monitor` and its :class:`Snapshot`.

Theory of operation
-------------------
A :class:`Monitor` knows the servers (both of a failover pair, or one), the dhcpd.conf and
the lease file. :meth:`Monitor.snapshot` returns a :class:`Snapshot`: a frozen record of
one collection, which :mod:`aiomapi.monitor.metrics` turns into metrics.

Load on dhcpd is bounded three ways:

* one collection at a time: callers that arrive during a collection wait for it and share
  its result (an ``asyncio.Lock``);
* a collection is reused for ``min_interval`` seconds after it finished, however many
  scrapes arrive, so dhcpd sees at most one collection per interval;
* one OMAPI connection per server, and per collection a fixed number of requests: one
  probe (the ``control`` object, timed for the round trip), one ``failover-state`` read
  and two requests per pool (:mod:`aiomapi.monitor.live`).

A collection never raises for what it reads. Each part of it is a *stage*, with its own
outcome: per server ``omapi`` (the probe), ``failover`` and ``pools``; once ``config``
(dhcpd.conf) and ``leasefile``. A server that is down, a key dhcpd refuses, a timeout, a
configuration that no longer reads or a lease file that cannot be read fail their stage,
are counted, logged once when they start failing, and leave the other stages' figures in
place. Each server's part is bounded by ``scrape_timeout``. After a connection failure or
a timeout the server's client is closed and made anew at the next collection, so that a
connection left hanging by a server that vanished is not reused.

The files are watched by their ``stat`` (modification time, size, inode): dhcpd.conf and
the files it includes are read again when one changes; if the new text does not read,
the last plan that read is kept (dhcpd itself reads its configuration only when it
starts) and ``config`` fails. The lease file is read in a worker thread, at most once per
``leases_interval`` seconds and only when it changed: parsing a large file takes seconds
(about 4 s for 50,000 leases), and dhcpd appends to it all the time. A collection does not
wait for it, except for the first reading, within ``scrape_timeout``; metrics carry the
time of the reading they come from.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final

from aiomapi import Client, FailoverHierarchy, Key, NotFound, OmapiError
from aiomapi.config import Config, ConfigError, load_config
from aiomapi.failover import FailoverPair, PairStatus, PeerStatus
from aiomapi.failover.pair import Side
from aiomapi.leasefile import LeaseDatabase, load_leases

from .layout import Plan, plan_of
from .live import PoolRead, read_pools
from .usage import FileUsage, count_file

__all__ = [
    "GLOBAL_STAGES",
    "SERVER_STAGES",
    "LeaseFileReading",
    "Monitor",
    "ServerReading",
    "ServerSpec",
    "Snapshot",
]

log = logging.getLogger("aiomapi.monitor")

#: The stages of each server's part of a collection.
SERVER_STAGES: Final = ("omapi", "failover", "pools")
#: The stages done once per collection.
GLOBAL_STAGES: Final = ("config", "leasefile")


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """A server to read.

    Attributes:
        label: its name in metrics: ``primary``/``secondary`` for a pair's servers.
        host, port: where it answers OMAPI.
    """

    label: str
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServerReading:
    """One server's part of a collection.

    Attributes:
        label, address: as in :class:`ServerSpec`.
        up: the probe was answered (connection, authentication and one request).
        round_trip: the probe's seconds.
        error: why the probe failed.
        pools: every pool's counters (or reason).
        pools_error: why the pools could not be read at all (``None``: read, or not tried).
        failover: its failover-state, or why it was not read (``None``: no failover peer).
    """

    label: str
    address: str
    up: bool
    round_trip: float | None = None
    error: str | None = None
    pools: tuple[PoolRead, ...] = ()
    pools_error: str | None = None
    failover: PeerStatus | None = None

    def stage_ok(self, stage: str) -> bool | None:
        """Whether ``stage`` worked; ``None`` when it does not apply."""
        if stage == "omapi":
            return self.up
        if stage == "pools":
            if not self.up:
                return False
            return self.pools_error is None and all(p.error is None for p in self.pools)
        if stage == "failover":
            return None if self.failover is None else self.failover.reachable
        raise ValueError(f"unknown stage {stage!r}")


@dataclass(frozen=True, slots=True)
class LeaseFileReading:
    """The lease file's counts as last read.

    Attributes:
        path: the file.
        usage: the counts, or ``None`` if it has not been read (yet, or since it failed).
        error: why the last reading failed.
        read_at: when the counts were made (seconds since the epoch).
        modified: the file's modification time now, or ``None`` if it cannot be stat'ed.
    """

    path: str
    usage: FileUsage | None
    error: str | None
    read_at: float | None
    modified: float | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One collection.

    Attributes:
        taken_at: when it began (seconds since the epoch).
        duration: how long it took (seconds).
        servers: each server's part, in the order given.
        peer: the failover peer name, or ``None``.
        pair: the pair's status (two servers and a peer), or ``None``.
        pair_error: why there is no pair status although there is a pair.
        plan: the address plan in use (the last that read), or ``None``.
        config_path: dhcpd.conf, or ``None`` if none was given.
        config_error: why dhcpd.conf did not read this time.
        leasefile: the lease file's counts, or ``None`` if no lease file was given.
    """

    taken_at: float
    duration: float
    servers: tuple[ServerReading, ...]
    peer: str | None = None
    pair: PairStatus | None = None
    pair_error: str | None = None
    plan: Plan | None = None
    config_path: str | None = None
    config_error: str | None = None
    leasefile: LeaseFileReading | None = None

    def stages(self) -> list[tuple[str, str, bool]]:
        """``(server, stage, ok)`` for each stage that applies; global stages have server
        ``""``."""
        out: list[tuple[str, str, bool]] = []
        for s in self.servers:
            for stage in SERVER_STAGES:
                ok = s.stage_ok(stage)
                if stage == "pools" and self.plan is None:
                    ok = None
                if ok is not None:
                    out.append((s.label, stage, ok))
        if self.config_path is not None:
            out.append(("", "config", self.config_error is None and self.plan is not None))
        if self.leasefile is not None:
            lf = self.leasefile
            out.append(("", "leasefile", lf.error is None and lf.usage is not None))
        return out


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _stat_key(path: str | os.PathLike[str]) -> tuple[object, ...]:
    try:
        st = os.stat(path)
    except OSError as exc:
        return (os.fspath(path), type(exc).__name__)
    return (os.fspath(path), st.st_mtime_ns, st.st_size, st.st_ino)


class _ConfigWatch:
    """dhcpd.conf (and its includes), read again when one of the files changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.plan: Plan | None = None
        self.config: Config | None = None
        self.error: str | None = None
        self._files: tuple[str, ...] = (path,)
        self._seen: tuple[tuple[object, ...], ...] | None = None

    async def refresh(self) -> None:
        seen = tuple(_stat_key(f) for f in self._files)
        if seen == self._seen:
            return
        try:
            config = await asyncio.to_thread(load_config, self.path)
            plan = plan_of(config)
        except (OSError, ConfigError) as exc:
            if self.error is None:
                log.warning("%s does not read (keeping the last plan that did): %s", self.path, exc)
            self.error = _describe(exc)
            self._seen = seen
            return
        if self.error is not None or self.plan is None:
            log.info("read %s: %d pools", self.path, len(plan.pools))
        self.config, self.plan, self.error = config, plan, None
        self._files = tuple(dict.fromkeys((self.path, *config.files)))
        self._seen = tuple(_stat_key(f) for f in self._files)


class _LeaseWatch:
    """The lease file, parsed in a worker thread when it changed, at most every
    ``interval`` seconds."""

    def __init__(self, path: str, interval: float, clock: Callable[[], float]) -> None:
        self.path = path
        self.interval = interval
        self.clock = clock
        self.usage: FileUsage | None = None
        self.error: str | None = None
        self.read_at: float | None = None
        self._db: LeaseDatabase | None = None
        self._db_key: tuple[object, ...] | None = None
        self._counted_plan: Plan | None = None
        self._started: float | None = None  # monotonic time of the last parse started
        self._task: asyncio.Task[tuple[LeaseDatabase, tuple[object, ...]]] | None = None

    def reading(self) -> LeaseFileReading:
        try:
            modified: float | None = os.stat(self.path).st_mtime
        except OSError:
            modified = None
        return LeaseFileReading(self.path, self.usage, self.error, self.read_at, modified)

    async def refresh(self, plan: Plan | None, wait: float) -> None:
        """Start a parse if due; wait up to ``wait`` seconds for it if there are no
        counts yet; recount the last parse if the plan changed."""
        if plan is None:
            return
        key = _stat_key(self.path)
        due = self._started is None or time.monotonic() - self._started >= self.interval
        if self._task is None and key != self._db_key and due:
            self._started = time.monotonic()
            self._task = asyncio.create_task(asyncio.to_thread(self._parse, key))
            self._task.add_done_callback(self._parsed)
        if self._task is not None and self.usage is None:
            await asyncio.wait({self._task}, timeout=wait)
        if self._db is not None and plan is not self._counted_plan:
            self._count(plan)

    def _parse(self, key: tuple[object, ...]) -> tuple[LeaseDatabase, tuple[object, ...]]:
        return load_leases(self.path), key

    def _parsed(self, task: asyncio.Task[tuple[LeaseDatabase, tuple[object, ...]]]) -> None:
        self._task = None
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            self._db, self._db_key = task.result()
            self._counted_plan = None  # count at the next refresh, against its plan
            if self.error is not None:
                log.info("read %s again", self.path)
            self.error = None
            return
        if not isinstance(exc, OSError | ValueError):  # LeaseFileError is a ValueError
            log.error("reading %s failed", self.path, exc_info=exc)
        elif self.error is None:
            log.warning("cannot read %s: %s", self.path, exc)
        self.error = _describe(exc)
        self._db = self._db_key = None
        self.usage = None

    def _count(self, plan: Plan) -> None:
        assert self._db is not None
        self.usage = count_file(plan, self._db, datetime.now(UTC))
        self.read_at = self.clock()
        self._counted_plan = plan

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()


@dataclass(slots=True)
class _Server:
    spec: ServerSpec
    client: Client | None = None
    #: The stages failing since the last collection (logged once).
    failing: set[str] = field(default_factory=set)
    #: The connection failed or timed out: make a new client next time.
    broken: bool = False


class Monitor:
    """Collects snapshots of some dhcpd servers, their configuration and lease file.

    Args:
        servers: the servers to read: a pair's primary and secondary (labels
            ``primary``/``secondary``), or one server.
        key: the OMAPI key for every server, or ``None``.
        peer: the failover peer name; with two servers the pair's verdict is judged.
        config: dhcpd.conf, for the pools (without it no pool is read).
        leases: the lease file, for the counts by binding state.
        request_timeout: seconds per OMAPI request.
        scrape_timeout: seconds for each server's part of a collection.
        min_interval: seconds a collection is reused for.
        leases_interval: least seconds between two parses of the lease file.
        clock: seconds since the epoch (default :func:`time.time`).

    Use ``async with Monitor(...) as monitor:`` or call :meth:`close`.
    """

    def __init__(
        self,
        servers: Sequence[ServerSpec],
        *,
        key: Key | None = None,
        peer: str | None = None,
        config: str | os.PathLike[str] | None = None,
        leases: str | os.PathLike[str] | None = None,
        request_timeout: float = 3.0,
        scrape_timeout: float = 5.0,
        min_interval: float = 5.0,
        leases_interval: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        labels = [s.label for s in servers]
        if len(set(labels)) != len(labels):
            raise ValueError(f"server labels must differ: {labels}")
        self._servers = [_Server(s) for s in servers]
        self.key = key
        self.peer = peer
        self.request_timeout = request_timeout
        self.scrape_timeout = scrape_timeout
        self.min_interval = min_interval
        self.clock = clock
        self._config = None if config is None else _ConfigWatch(os.fspath(config))
        self._leases = (
            None if leases is None else _LeaseWatch(os.fspath(leases), leases_interval, self.clock)
        )
        self._lock = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()
        self._last: Snapshot | None = None
        self._last_done = 0.0
        #: Collections made.
        self.collections = 0
        #: Snapshots handed out from an earlier collection.
        self.reused = 0
        #: Failed stages, by ``(server, stage)`` (server ``""`` for config and leasefile).
        self.errors: Counter[tuple[str, str]] = Counter()

    @property
    def servers(self) -> tuple[ServerSpec, ...]:
        return tuple(s.spec for s in self._servers)

    @property
    def last(self) -> Snapshot | None:
        """The latest snapshot, or ``None`` before the first collection."""
        return self._last

    async def __aenter__(self) -> Monitor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the clients and stop a lease-file parse that is under way."""
        if self._leases is not None:
            await self._leases.close()
        for server in self._servers:
            await self._drop_client(server)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def snapshot(self) -> Snapshot:
        """The latest snapshot if it is younger than ``min_interval``, else a new one (one
        collection at a time; callers during a collection share its result)."""
        async with self._lock:
            last = self._last
            if last is not None and time.monotonic() - self._last_done < self.min_interval:
                self.reused += 1
                return last
            snap = await self._collect()
            self._last, self._last_done = snap, time.monotonic()
            self.collections += 1
            for server, stage, ok in snap.stages():
                if not ok:
                    self.errors[(server, stage)] += 1
            return snap

    # ------------------------------------------------------------------ collection

    def _client(self, server: _Server) -> Client:
        if server.client is None:
            spec = server.spec
            server.client = Client(
                spec.host, spec.port, key=self.key, timeout=self.request_timeout, connections=1
            )
        return server.client

    async def _drop_client(self, server: _Server) -> None:
        client, server.client = server.client, None
        if client is not None:
            await client.close()

    async def _collect(self) -> Snapshot:
        started, t0 = self.clock(), time.monotonic()
        plan: Plan | None = None
        if self._config is not None:
            await self._config.refresh()
            plan = self._config.plan
        reads = asyncio.gather(*(self._read_server(s, plan) for s in self._servers))
        failover, readings = await asyncio.gather(self._read_failover(), reads)
        if self._leases is not None:  # started after the reads: a parse waits its turn
            await self._leases.refresh(plan, self.scrape_timeout)
        pair, pair_error, peers = failover
        if peers is not None:
            readings = [replace(r, failover=peers.get(r.label)) for r in readings]
        for server, reading in zip(self._servers, readings, strict=True):
            self._note(server, reading)
        return Snapshot(
            taken_at=started,
            duration=time.monotonic() - t0,
            servers=tuple(readings),
            peer=self.peer,
            pair=pair,
            pair_error=pair_error,
            plan=plan,
            config_path=None if self._config is None else self._config.path,
            config_error=None if self._config is None else self._config.error,
            leasefile=None if self._leases is None else self._leases.reading(),
        )

    async def _read_server(self, server: _Server, plan: Plan | None) -> ServerReading:
        spec = server.spec
        client = self._client(server)
        try:
            async with asyncio.timeout(self.scrape_timeout):
                t0 = time.monotonic()
                await client.control.get()
                round_trip = time.monotonic() - t0
        except (OmapiError, OSError, builtins.TimeoutError) as exc:
            server.broken = True
            return ServerReading(spec.label, spec.address, up=False, error=_describe(exc))
        if plan is None:
            return ServerReading(spec.label, spec.address, up=True, round_trip=round_trip)
        try:
            async with asyncio.timeout(self.scrape_timeout):
                pools = await read_pools(client, plan.pools)
        except (OmapiError, OSError, builtins.TimeoutError) as exc:
            server.broken = True
            return ServerReading(
                spec.label, spec.address, True, round_trip, pools_error=_describe(exc)
            )
        return ServerReading(spec.label, spec.address, True, round_trip, pools=pools)

    async def _read_failover(
        self,
    ) -> tuple[PairStatus | None, str | None, dict[str, PeerStatus] | None]:
        """The pair's status (two servers), or the one server's failover-state."""
        if self.peer is None:
            return None, None, None
        if len(self._servers) == 2:
            first, second = self._servers
            pair = FailoverPair(self._client(first), self._client(second), self.peer)
            try:
                async with asyncio.timeout(self.scrape_timeout):
                    status = await pair.status()
            except builtins.TimeoutError:
                text = f"no answer within {self.scrape_timeout:g} s"
                return (
                    None,
                    text,
                    {
                        s.spec.label: PeerStatus(_side(s.spec.label), s.spec.address, error=text)
                        for s in self._servers
                    },
                )
            return (
                status,
                None,
                {first.spec.label: status.primary, second.spec.label: status.secondary},
            )
        one = {s.spec.label: await self._read_one_failover(s) for s in self._servers}
        return None, None, one

    async def _read_one_failover(self, server: _Server) -> PeerStatus:
        assert self.peer is not None
        spec = server.spec
        try:
            async with asyncio.timeout(self.scrape_timeout):
                peer = await self._client(server).failover.get(self.peer)
        except NotFound:
            return PeerStatus("primary", spec.address, error=f"no failover peer {self.peer!r}")
        except (OmapiError, OSError, builtins.TimeoutError) as exc:
            return PeerStatus("primary", spec.address, error=_describe(exc))
        side: Side = "secondary" if peer.hierarchy == FailoverHierarchy.SECONDARY else "primary"
        return PeerStatus(side, spec.address, peer)

    def _note(self, server: _Server, reading: ServerReading) -> None:
        """Log a stage that starts failing or works again; drop a client that failed."""
        for stage in SERVER_STAGES:
            ok = reading.stage_ok(stage)
            if ok is False and stage not in server.failing:
                server.failing.add(stage)
                log.warning(
                    "%s %s: %s failed: %s",
                    reading.label,
                    reading.address,
                    stage,
                    _stage_error(reading, stage),
                )
            elif ok and stage in server.failing:
                server.failing.discard(stage)
                log.info("%s %s: %s works again", reading.label, reading.address, stage)
        if server.broken:
            server.broken = False
            # Closed in the background: a close never holds up the collection.
            client, server.client = server.client, None
            if client is not None:
                task = asyncio.get_running_loop().create_task(client.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)


def _side(label: str) -> Side:
    return "secondary" if label == "secondary" else "primary"


def _stage_error(reading: ServerReading, stage: str) -> str | None:
    if stage == "omapi":
        return reading.error
    if stage == "failover":
        return None if reading.failover is None else reading.failover.error
    if reading.pools_error is not None:
        return reading.pools_error
    if not reading.up:
        return reading.error
    return "; ".join(f"{p.pool}: {p.error}" for p in reading.pools if p.error)
