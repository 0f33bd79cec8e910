"""The scorer's endpoints: one per vLLM replica, each with its own concurrency, health and backoff.

A request goes to the endpoint with the fewest requests in flight (ties: the one sent to least), among those
that are up and have a free slot under their own `AdaptiveLimit`. After `down_after` connection, timeout or
5xx failures in a row an endpoint counts as down: nothing is sent to it, and `/v1/models` is probed again
after `pause_seconds`, doubling up to `pause_max` (probes have their own short `probe_timeout`). One endpoint
down lowers capacity; only when every endpoint is down do calls come back `endpoint_down` (the worker then
pauses the job and probes it as a whole).

The pool runs on the worker's event loop. `status()` is a snapshot as plain values, which the worker hands to
its heartbeat thread so the Scoring page can show each endpoint's state, in-flight count and throughput.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Literal

import openai
from pydantic import BaseModel, TypeAdapter

from mira_core.scoring.adaptive_limit import AdaptiveLimit
from mira_core.scoring.settings import ScorerSettings
from mira_core.scoring.simulator import is_simulated

RATE_WINDOW = 60.0
"""Seconds over which an endpoint's throughput is measured."""

EndpointState = Literal["up", "slowed", "down", "probing"]


class ModelInfo(BaseModel):
    """What `/v1/models` says about the served model."""

    id: str
    max_model_len: int | None
    simulated: bool


class EndpointStatus(BaseModel):
    """One endpoint as one worker sees it (stored with the worker's heartbeat, shown on the Scoring page)."""

    url: str
    state: EndpointState
    in_flight: int
    limit: int
    """Requests allowed in flight now (lowered by 429s); `ceiling` is the configured concurrency."""
    ceiling: int
    answered: int
    """Completions received."""
    errors: int
    """Tries that got no completion (connection errors, timeouts, 5xx, 429, other 4xx)."""
    rate: float
    """Answers per second over the last minute (or since the run started, if shorter)."""
    retry_in: float | None = None
    """For a down endpoint: seconds until its next probe."""
    last_error: str | None = None
    key_withheld: bool = False
    """The operator has an API key, but this Base URL is not trusted with it (`endpoint_trust`)."""


def chosen_model(models: list[dict[str, object]], wanted: str) -> ModelInfo | None:
    """The served model from a `/v1/models` list: the one named like `wanted`, else the first; None if empty."""
    chosen = next((m for m in models if str(m.get("id", "")).startswith(wanted)), models[0] if models else None)
    if chosen is None:
        return None
    mml = chosen.get("max_model_len")
    return ModelInfo(id=str(chosen.get("id")), max_model_len=int(mml) if isinstance(mml, int) else None,
                     simulated=is_simulated(str(chosen.get("id"))))


class Endpoint:
    """One Base URL: its HTTP client, its slots, its failure streak and its down state."""

    def __init__(self, url: str, settings: ScorerSettings, key: str, clock: Callable[[], float],
                 *, key_withheld: bool = False):
        self.url = url
        self.settings = settings
        self.key_withheld = key_withheld
        self.client = openai.AsyncOpenAI(base_url=url, api_key=key or "EMPTY", max_retries=0,
                                         timeout=settings.request_timeout)
        # The placeholder key above only satisfies the constructor; the header itself is left out per request.
        self.headers: dict[str, str | openai.Omit] = {} if key else {"Authorization": openai.Omit()}
        self.slots = AdaptiveLimit(settings.concurrency)
        self.clock = clock
        self.started = clock()
        self.streak = 0
        self.downs = 0
        self.down_until: float | None = None
        self.probing = False
        self.sent = self.answered = self.errors = 0
        self.recent: deque[float] = deque()
        self.last_error: str | None = None

    @property
    def down(self) -> bool:
        """Nothing is sent here until a probe answers."""
        return self.down_until is not None

    def mark_down(self, why: str | None) -> None:
        """Count as down; the next probe comes after `pause_seconds`, doubling with each down in a row."""
        s = self.settings
        self.downs += 1
        self.down_until = self.clock() + min(s.pause_max, s.pause_seconds * 2 ** min(self.downs - 1, 30))
        self.streak = 0
        self.last_error = why or self.last_error

    def mark_up(self) -> None:
        """A probe or an answer came back: send here again."""
        self.down_until, self.downs, self.streak = None, 0, 0

    def answer(self) -> None:
        """An HTTP answer came (any status the endpoint chose to give): it is alive."""
        self.streak = 0
        if self.down and not self.probing:  # an answer to a call sent before it went down
            self.mark_up()
        now = self.clock()
        self.recent.append(now)
        while self.recent and self.recent[0] < now - RATE_WINDOW:
            self.recent.popleft()

    def fault(self, why: str) -> bool:
        """A connection error, timeout or 5xx; True when this one made the endpoint count as down."""
        self.streak += 1
        self.last_error = why
        if self.streak >= self.settings.down_after and not self.down:
            self.mark_down(why)
            return True
        return False

    def status(self) -> EndpointStatus:
        """A snapshot in plain values."""
        now = self.clock()
        while self.recent and self.recent[0] < now - RATE_WINDOW:
            self.recent.popleft()
        span = max(1e-9, min(RATE_WINDOW, now - self.started))
        state: EndpointState = ("probing" if self.probing else "down") if self.down else (
            "slowed" if self.slots.limit < self.slots.ceiling else "up")
        return EndpointStatus(
            url=self.url, state=state, in_flight=self.slots.active, limit=self.slots.limit,
            ceiling=self.slots.ceiling, answered=self.answered, errors=self.errors,
            rate=round(len(self.recent) / span, 3),
            retry_in=None if self.down_until is None else round(max(0.0, self.down_until - now), 1),
            last_error=self.last_error, key_withheld=self.key_withheld)

    async def probe(self) -> ModelInfo | None:
        """Ask `/v1/models` with the probe timeout; None when the endpoint does not answer."""
        try:
            page = await self.client.models.list(extra_headers=self.headers, timeout=self.settings.probe_timeout)
        except openai.APIError as exc:
            self.last_error = f"probe: {type(exc).__name__}: {exc}"
            return None
        return chosen_model([m.model_dump() for m in page.data], self.settings.model)


class EndpointPool:
    """The endpoints of one job run, and the one wait every call goes through to get a slot on one of them."""

    def __init__(self, settings: ScorerSettings, keys: Mapping[str, str] | None = None,
                 *, clock: Callable[[], float] = time.monotonic):
        """`keys`: the API key per Base URL (a missing URL gets none); None sends `settings.api_key` to every one."""
        self.settings = settings
        self.endpoints = [Endpoint(url, settings, settings.api_key if keys is None else keys.get(url, ""), clock,
                                   key_withheld=keys is not None and not keys.get(url))
                          for url in settings.endpoints]
        self.clock = clock
        self._changed = asyncio.Condition()
        self._probes: set[asyncio.Task[None]] = set()
        self.model_id: str | None = None
        """The model the endpoints serve (set by `probe_all`); a replica serving another one stays down."""

    @property
    def all_down(self) -> bool:
        """No endpoint may be sent to (the job pauses)."""
        return all(ep.down for ep in self.endpoints)

    @property
    def limit(self) -> int:
        """Requests allowed in flight now over the endpoints that are up."""
        return sum(ep.slots.limit for ep in self.endpoints if not ep.down)

    @property
    def ceiling(self) -> int:
        """Requests in flight with every endpoint up and none slowed."""
        return sum(ep.slots.ceiling for ep in self.endpoints)

    def status(self) -> list[EndpointStatus]:
        """Every endpoint's snapshot, in configured order."""
        return [ep.status() for ep in self.endpoints]

    async def acquire(self) -> Endpoint | None:
        """A slot on the least busy endpoint that is up; None as soon as every endpoint is down."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.all_down or self._ready() is not None)
            chosen = self._ready()
            if chosen is None:
                return None
            chosen.slots.active += 1
            chosen.sent += 1
            return chosen

    async def release(self, ep: Endpoint) -> None:
        """Give the slot back and wake whoever waits (also after a state change of `ep`)."""
        async with self._changed:
            ep.slots.active -= 1
            self._changed.notify_all()

    def _ready(self) -> Endpoint | None:
        """Fewest in flight, then fewest sent, among endpoints up with a free slot; starts due probes."""
        now = self.clock()
        for ep in self.endpoints:
            if ep.down and not ep.probing and ep.down_until is not None and now >= ep.down_until:
                ep.probing = True
                task = asyncio.get_running_loop().create_task(self._reprobe(ep))
                self._probes.add(task)
                task.add_done_callback(self._probes.discard)
        ready = [ep for ep in self.endpoints if not ep.down and ep.slots.free]
        return min(ready, key=lambda ep: (ep.slots.active, ep.sent)) if ready else None

    async def _reprobe(self, ep: Endpoint) -> None:
        """Probe a down endpoint; back up on an answer, else down again with a longer wait."""
        try:
            info = await ep.probe()
        finally:
            ep.probing = False
        async with self._changed:
            if info is None:
                ep.mark_down(ep.last_error)
            elif self.model_id is not None and info.id != self.model_id:
                ep.mark_down(f"serves {info.id}, not {self.model_id}")
            else:
                ep.mark_up()
            self._changed.notify_all()

    async def probe_all(self) -> ModelInfo | None:
        """Probe every endpoint at once; those that do not answer (or serve another model) count as down.

        Returns the first answering endpoint's model, its `max_model_len` the smallest any endpoint reported,
        or None when no endpoint answered.
        """
        infos = await asyncio.gather(*(ep.probe() for ep in self.endpoints))
        first = next((i for i in infos if i is not None), None)
        self.model_id = first.id if first is not None else self.model_id
        lens = [i.max_model_len for i in infos if i is not None and i.max_model_len and i.id == self.model_id]
        async with self._changed:
            for ep, info in zip(self.endpoints, infos, strict=True):
                if info is None:
                    ep.mark_down(ep.last_error or "did not answer /v1/models")
                elif info.id != self.model_id:
                    ep.mark_down(f"serves {info.id}, not {self.model_id}")
                else:
                    ep.mark_up()
            self._changed.notify_all()
        if first is None:
            return None
        return first.model_copy(update={"max_model_len": min(lens) if lens else None})

    async def notify(self) -> None:
        """Wake waiters after an endpoint changed state outside `release` (e.g. went down)."""
        async with self._changed:
            self._changed.notify_all()

    async def aclose(self) -> None:
        """Stop probes and close every endpoint's HTTP connections."""
        for task in list(self._probes):
            task.cancel()
        await asyncio.gather(*self._probes, return_exceptions=True)
        for ep in self.endpoints:
            await ep.client.close()


_STATE_ORDER: dict[EndpointState, int] = {"up": 0, "slowed": 1, "probing": 2, "down": 3}


def combine_statuses(per_worker: list[list[EndpointStatus]]) -> list[EndpointStatus]:
    """Several workers' views of the endpoints as one row per Base URL (pure, first-seen order).

    Counts and rates add up; the state is the best any worker sees (an endpoint one worker reaches is up,
    and the others will find it again at their next probe); the next probe is the soonest.
    """
    out: dict[str, EndpointStatus] = {}
    for statuses in per_worker:
        for s in statuses:
            seen = out.get(s.url)
            if seen is None:
                out[s.url] = s.model_copy()
                continue
            best = min(seen.state, s.state, key=_STATE_ORDER.__getitem__)
            waits = [w for w in (seen.retry_in, s.retry_in) if w is not None]
            out[s.url] = seen.model_copy(update={
                "state": best, "in_flight": seen.in_flight + s.in_flight, "limit": seen.limit + s.limit,
                "ceiling": seen.ceiling + s.ceiling, "answered": seen.answered + s.answered,
                "errors": seen.errors + s.errors, "rate": round(seen.rate + s.rate, 3),
                "retry_in": min(waits) if waits else None, "last_error": seen.last_error or s.last_error,
                "key_withheld": seen.key_withheld or s.key_withheld})
    return list(out.values())


def parse_statuses(text: str | None) -> list[EndpointStatus]:
    """A worker row's stored statuses; [] for none or for text that is not a valid list (an older worker)."""
    if not text:
        return []
    try:
        return _STATUS_LIST.validate_json(text)
    except ValueError:
        return []


_STATUS_LIST = TypeAdapter(list[EndpointStatus])
