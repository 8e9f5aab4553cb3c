"""Bounded-concurrency bulk operations with per-item results, and the bulk calls' defaults.

``omapi.leases.get_many`` runs on the batch path (:mod:`aiomapi._asyncio.batch`), which
needs no task per item; :func:`map_bounded` is the general tool for anything else (an
operation of several requests, a requester that is not a :class:`~aiomapi.Client`).

:func:`map_bounded` runs one coroutine per item, at most ``concurrency`` at a time, and
yields ``(item, result)`` where ``result`` is the value or the :class:`~aiomapi.OmapiError`
for that item: one missing lease never aborts a batch. Anything that is not an OMAPI error
(a bug, a cancellation) propagates. Items are pulled from the iterable lazily, so a
generator of a million IPs costs memory for ``concurrency`` items only.

Results come as they complete unless ``ordered=True``, which yields them in
input order, holding finished results until their turn. Leaving the ``async for`` early
cancels the lookups still running.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import Final, TypeAlias, TypeVar

from aiomapi.errors import OmapiError

K = TypeVar("K")
V = TypeVar("V")

#: Default number of lookups in flight for a bulk operation. The client's in-flight budget
#: limits what is on the wire; this bounds the tasks waiting for it.
DEFAULT_CONCURRENCY = 256

#: The rate limit of the bulk calls (``omapi.leases.get_many``, ``release_many``,
#: ``expire_many``, :func:`aiomapi.scan.scan_leases` and ``aiomapi leases scan``), in OMAPI
#: requests a second, unless the call gives ``rate=``. dhcpd answers OMAPI and DHCP in one
#: thread, so a bulk run at full speed delays the DHCP service; this keeps dhcpd's own DHCP
#: work first. The figure comes from perfdhcp's DHCP latency and drops measured against the
#: real dhcpd under OMAPI load (docs/benchmarks.md, "DHCP service under OMAPI load"): with
#: the client on dhcpd's own two cores, no run at 1,000-3,000 lookups a second dropped a
#: DHCP exchange and latency stayed near the idle figure, while 5,000 a second dropped up to
#: 8 %; 2,000 keeps a margin of 2.5 below the first rate that hurt. ``rate=None`` runs a
#: bulk call unlimited (a client on another machine can afford more).
DEFAULT_BULK_RATE: Final = 2000.0


async def map_bounded(
    operation: Callable[[K], Awaitable[V]],
    items: Iterable[K],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ordered: bool = False,
) -> AsyncGenerator[tuple[K, V | OmapiError], None]:
    """Apply ``operation`` to every item with bounded concurrency (see module doc).

    ``concurrency`` workers pull items from the one iterator and hand results to the
    consumer through a bounded queue: each wake-up costs O(1), whatever the concurrency.

    Raises:
        ValueError: ``concurrency`` is below 1.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    source = iter(items)
    started = 0
    results: asyncio.Queue[_Result[K, V]] = asyncio.Queue(maxsize=concurrency)

    async def worker() -> None:
        nonlocal started
        try:
            for item in source:
                index, started = started, started + 1
                try:
                    value: V | OmapiError = await operation(item)
                except OmapiError as exc:
                    value = exc
                await results.put((index, item, value))
        except Exception as exc:  # a bug in operation or items: the consumer re-raises it
            await results.put(exc)
        else:
            await results.put(None)

    workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    running = len(workers)
    finished: dict[int, tuple[K, V | OmapiError]] = {}
    next_yield = 0  # index of the next result to yield when ordered
    try:
        while running:
            entry = await results.get()
            if entry is None:
                running -= 1
            elif isinstance(entry, Exception):
                raise entry
            elif not ordered:
                yield entry[1], entry[2]
            else:
                finished[entry[0]] = (entry[1], entry[2])
                while next_yield in finished:
                    yield finished.pop(next_yield)
                    next_yield += 1
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


#: What a worker hands over: (index, item, result), a bug to re-raise, or None when done.
_Result: TypeAlias = tuple[int, K, V | OmapiError] | Exception | None
