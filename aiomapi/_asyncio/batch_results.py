"""The consumer's side of a batch (:mod:`aiomapi._asyncio.batch`): the async generator that
yields its results, and what the typed layer needs of a client to use it (:class:`Batcher`).

The batch's state and every decision about it are :class:`~aiomapi._asyncio.batch.Batch`'s
(compiled with mypyc, docs/speedups.md); this module only suspends and resumes the consumer,
which mypyc cannot compile (it compiles no async generators).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from aiomapi._sansio.client import Request
from aiomapi._sansio.events import Decoded
from aiomapi._sansio.wire import Message
from aiomapi.errors import OmapiError

if TYPE_CHECKING:
    from aiomapi._asyncio.batch import Batch

__all__ = ["Batcher", "Idle", "results"]

K = TypeVar("K")
V = TypeVar("V")


class Idle(enum.Enum):
    """What the consumer does when no result is ready (:meth:`Batch.idle`)."""

    DONE = "every item has its result"
    CONNECT = "nothing in flight and no place in the pool's line: find a connection"
    WAIT = "wait for a result"


async def results(batch: Batch[K, V]) -> AsyncGenerator[tuple[K, V | OmapiError], None]:
    """``(item, result)`` for every item of ``batch``."""
    try:
        batch.begin()
        while True:
            while (entry := batch.next_result()) is not None:
                yield entry
            action = batch.idle()
            if action is Idle.DONE:
                return
            if action is Idle.CONNECT:
                await batch.without_connection()
                continue
            try:
                await batch.sleep()
            finally:
                batch.woke()
    finally:
        batch.close()


@runtime_checkable
class Batcher(Protocol):
    """What the typed layer needs of a client for the batch path (:meth:`aiomapi.Client.batch`)."""

    def batch(
        self,
        encode: Callable[[K], Request],
        items: Iterable[K],
        finish: Callable[[Request, Message | OmapiError | Decoded], V | OmapiError],
        *,
        window: int,
        ordered: bool = False,
        rate: float | None = None,
    ) -> AsyncGenerator[tuple[K, V | OmapiError], None]:
        """``(item, result)`` for every item (see :class:`Batch`)."""
        ...
