"""How many requests one endpoint gets at once: the configured concurrency, lowered while it answers 429.

Additive increase, multiplicative decrease (as TCP does): a 429 halves the limit, at most once per
`cooldown` seconds so that one burst of 429s from requests sent together counts once; every `limit`
successful answers raise it by one, back up to the ceiling. Calls wait for a free slot (`endpoints.EndpointPool`
admits them) instead of piling more requests on a server that asked for fewer.
"""

from __future__ import annotations

import time


class AdaptiveLimit:
    """The limit arithmetic and the count of requests in flight; waiting for a slot is the pool's job."""

    def __init__(self, ceiling: int, *, cooldown: float = 1.0):
        """Start at the ceiling (the configured concurrency)."""
        self.ceiling = ceiling
        self.limit = ceiling
        self.cooldown = cooldown
        self.active = 0
        self._credit = 0
        self._last_cut = float("-inf")

    @property
    def free(self) -> bool:
        """Another request may be sent now."""
        return self.active < self.limit

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
