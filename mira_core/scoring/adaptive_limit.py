"""How many requests one endpoint gets at once: the configured concurrency, lowered while it answers 429.

Additive increase, multiplicative decrease (as TCP does): a 429 halves the limit, at most once per
`cooldown` seconds so that one burst of 429s from requests sent together counts once; every `limit`
successful answers raise it by one, back up to the ceiling. Calls wait for a free slot instead of piling
more requests on a server that asked for fewer.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType


class AdaptiveLimit:
    """An async context manager admitting at most `limit` holders; `limit` moves between 1 and `ceiling`."""

    def __init__(self, ceiling: int, *, cooldown: float = 1.0):
        """Start at the ceiling (the configured concurrency)."""
        self.ceiling = ceiling
        self.limit = ceiling
        self.cooldown = cooldown
        self.active = 0
        self._credit = 0
        self._last_cut = float("-inf")
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> None:
        """Wait for a free slot."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.active < self.limit)
            self.active += 1

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        """Give the slot back and wake whoever waits."""
        async with self._changed:
            self.active -= 1
            self._changed.notify_all()

    def slow_down(self) -> None:
        """The endpoint said 429: halve the limit (once per cooldown)."""
        now = time.monotonic()
        if now - self._last_cut >= self.cooldown:
            self._last_cut = now
            self.limit = max(1, self.limit // 2)
            self._credit = 0

    def speed_up(self) -> None:
        """An answer came: after `limit` of them, one more slot (waiters are woken when a slot is given back)."""
        if self.limit >= self.ceiling:
            return
        self._credit += 1
        if self._credit >= self.limit:
            self._credit = 0
            self.limit += 1
