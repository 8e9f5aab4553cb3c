"""dhcpd's own pool counters, read over OMAPI: :func:`read_pools`.

Theory of operation
-------------------
dhcpd has no pool lookup. A lease's reply carries the handle of the pool the lease belongs
to, and a REFRESH of that handle returns the pool's ``lease-count``, ``free-leases`` and
``backup-leases``. So each pool of the address plan is reached through one of its
addresses: the first address of its first range, and if dhcpd has no lease there (the
configuration changed since dhcpd started) the next candidates of
:meth:`~aiomapi.monitor.layout.PlanPool.lookup_addresses`. That is two requests per pool,
made one after the other: the load on dhcpd is bounded by the number of pools, whatever
their size.

Handles are not kept between reads: dhcpd numbers objects afresh when it restarts, so an
old handle could name another object of the restarted server.

A pool that cannot be reached (no lease at any candidate address, or the handle does not
name a pool) is reported with the reason; a failure of the connection itself is raised,
since then nothing else of that server can be read either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiomapi import Client, HandshakeError, LocalProtocolError, NotFound, ServerError

from .layout import PlanPool
from .usage import LiveCounts

__all__ = ["PoolRead", "read_pool", "read_pools"]


@dataclass(frozen=True, slots=True)
class PoolRead:
    """One pool's counters as read, or why they were not.

    Attributes:
        pool: the pool's name in the plan.
        counts: the counters, or ``None``.
        handle: dhcpd's handle of the pool object.
        error: why there are no counters.
    """

    pool: str
    counts: LiveCounts | None = None
    handle: int | None = None
    error: str | None = None


async def read_pool(client: Client, pool: PlanPool) -> PoolRead:
    """Read one pool's counters through a lease of its ranges.

    Raises:
        aiomapi.NetworkError, aiomapi.TimeoutError, aiomapi.HandshakeError: the server
            cannot be reached; :class:`aiomapi.AuthenticationError` and the like: as
            :class:`aiomapi.Client` raises them for the connection.
    """
    tried: list[str] = []
    for ip in pool.lookup_addresses():
        try:
            lease = await client.leases.get(ip=ip)
        except NotFound:
            tried.append(str(ip))
            continue
        if lease.pool is None:
            tried.append(f"{ip} (no pool handle)")
            continue
        try:
            counters = await client.pools.get(lease.pool)
        except (NotFound, LocalProtocolError) as exc:
            return PoolRead(pool.name, handle=lease.pool, error=f"pool handle {lease.pool}: {exc}")
        counts = LiveCounts(counters.lease_count, counters.free_leases, counters.backup_leases)
        return PoolRead(pool.name, counts, lease.pool)
    return PoolRead(
        pool.name,
        error="dhcpd has no lease at "
        + ", ".join(tried)
        + " (is the configuration newer than the running server?)",
    )


async def read_pools(client: Client, pools: Iterable[PlanPool]) -> tuple[PoolRead, ...]:
    """Read every pool's counters, one pool after the other (see the module's docstring).

    A failure status for one pool's request is recorded for that pool.

    Raises:
        As :func:`read_pool`, for a failure of the connection.
    """
    out: list[PoolRead] = []
    for pool in pools:
        try:
            out.append(await read_pool(client, pool))
        except HandshakeError:
            raise
        except ServerError as exc:
            out.append(PoolRead(pool.name, error=f"{type(exc).__name__}: {exc}"))
    return tuple(out)
