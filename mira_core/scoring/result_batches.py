"""Results written in batches: one write transaction for the results that arrived while the last one committed.

With 64+ requests in flight a transaction per result spent about as much CPU on BEGIN/COMMIT and the write
lock as on the rows themselves. Each result still waits for its own commit (a run counts an item finished
only once it is stored), so a kill loses at most the calls in flight, as before. When a batch fails, its
results are retried one transaction each, so one bad result does not throw away the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

logger = logging.getLogger(__name__)


class ResultBatches(Generic[T, R]):
    """Queue results; a single writer stores everything queued in one call of `write_many` (in a thread)."""

    def __init__(self, write_many: Callable[[list[T]], list[R]], write_one: Callable[[T], R], *, most: int = 64):
        """`write_many` stores a batch in one transaction; `write_one` is the fallback when that batch fails."""
        self._write_many, self._write_one, self._most = write_many, write_one, most
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, item: T) -> R:
        """Store `item` with whatever else is waiting; returns its own outcome once committed."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await done

    async def flush(self) -> None:
        """Return once everything queued so far is stored (or has failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._most], self._queue[self._most:]
            items = [item for item, _ in batch]
            try:
                outcomes = await asyncio.to_thread(self._write_many, items)
            except Exception as exc:  # one bad result must not cost the batch: each again on its own
                logger.warning("a batch of %d results failed (%s: %s); storing them one by one",
                               len(items), type(exc).__name__, exc)
                await self._one_by_one(batch)
                continue
            for (_, fut), outcome in zip(batch, outcomes, strict=True):
                if not fut.done():
                    fut.set_result(outcome)

    async def _one_by_one(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        for item, fut in batch:
            try:
                outcome = await asyncio.to_thread(self._write_one, item)
            except Exception as exc:
                if not fut.done():
                    fut.set_exception(exc)
                continue
            if not fut.done():
                fut.set_result(outcome)
