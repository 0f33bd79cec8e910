"""Which data version a page that keeps its arrays in memory opens at, when the data keeps changing.

Retention (and any page that pins a data version) loads every record's scores for one version. While a
scoring job runs, or curators tag, the version changes every second or so; if each new view loaded the
newest version, every curator opening the page would pay the full load (seconds at 232K records, and ten
such loads at once starve everyone). So a new view opens at the newest version already in memory when that
was loaded (or started loading) at most `max_age_s` ago, shows that the data changed since, and loads the newest on Reload.
"""

from __future__ import annotations

import threading
import time


class RecentVersions:
    """Data versions whose arrays were (or are being) loaded in this process, with when (thread-safe)."""

    def __init__(self, keep: int = 16):
        self._loaded: dict[str, float] = {}
        self._keep = keep
        self._lock = threading.Lock()

    def loading(self, version: str, at: float | None = None) -> None:
        """Note that `version`'s arrays are being loaded now (or at monotonic time `at`).

        Noted at the start, so a session that opens during a load of several seconds joins it (the cache
        makes it wait for the same key) instead of starting a load of a newer version beside it.
        """
        with self._lock:
            self._loaded[version] = time.monotonic() if at is None else at
            for old in sorted(self._loaded, key=self._loaded.__getitem__)[:-self._keep]:
                del self._loaded[old]

    def pin(self, current: str, *, max_age_s: float, now: float | None = None) -> str:
        """The version a new view opens at: the newest loaded within `max_age_s`, else `current`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            fresh = [(at, v) for v, at in self._loaded.items() if now - at <= max_age_s]
        return max(fresh)[1] if fresh else current
