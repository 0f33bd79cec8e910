"""The scorer client: the real `openai.AsyncOpenAI` over HTTP, our own retries, outcomes as data.

The openai client's own retries are off (`max_retries=0`) so every rule here is ours and testable:
- connection errors, timeouts and 5xx are retried with exponential backoff and full jitter;
- a 429 waits for the server's Retry-After (honoured up to `retry_after_max`), does not use up the request's
  retries, and halves the requests allowed in flight (`AdaptiveLimit`), which grow back one by one as
  answers come; sustained 429s slow the endpoint down instead of failing items;
- a 400 whose message speaks of the context length is `too_long`, never retried as is (vLLM's wording changes
  between versions, so we match a pattern, not a sentence); the token count it reports is read
  (`context_report`) so the worker can shorten the prompt and send it once more (`too_long_retry`);
- `finish_reason == "length"` (`truncated`) or an empty message is `incomplete`: kept for inspection, never a
  score;
- after `down_after` connection/5xx/timeout failures in a row (across all requests) the endpoint counts as
  down and calls return `endpoint_down` at once (unsent, labelled `endpoint_down`), so the job pauses instead
  of failing every item. Probes of `/v1/models` have their own short `probe_timeout`.

Error kinds say what happened: `endpoint_down`, `timeout`, `http_5xx`, `http_429`, `connection`, `too_long`,
`truncated`, `empty`, `bad_request`, `http_NNN` (other 4xx).

Without an API key no `Authorization` header is sent at all (not even a placeholder): the worker withholds
the key from a Base URL nobody trusted (`endpoint_trust`), and such an endpoint must not see one.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

import openai
from openai.types.chat import ChatCompletion

from mira_core.scoring.endpoints import Endpoint, EndpointPool, ModelInfo, chosen_model
from mira_core.scoring.request import chat_request
from mira_core.scoring.settings import ScorerSettings
from mira_core.scoring.simulator import SIM_HEADER, is_simulated

CallStatus = Literal["ok", "incomplete", "too_long", "failed", "endpoint_down"]
_CONTEXT = re.compile(r"context length|context window|maximum context|input tokens|too long|max_model_len",
                      re.IGNORECASE)
# The prompt's token count in every wording vLLM has used for a context-length 400, most specific first:
# "... However, you requested N tokens (M in the messages, C in the completion)" (older servers),
# "your prompt contains [at least ]M input tokens" (the current renderer, which stops counting at the limit),
# "your request has M input tokens", "The decoder prompt (length M) is longer than ..." (V1 engine), and
# OpenAI's "your messages resulted in M tokens".
_REPORTED_PROMPT = (
    re.compile(r"\((?P<n>\d+) in the messages", re.IGNORECASE),
    re.compile(r"prompt contains (?P<least>at least )?(?P<n>\d+) input tokens", re.IGNORECASE),
    re.compile(r"request has (?P<n>\d+) input tokens", re.IGNORECASE),
    re.compile(r"prompt \(length (?P<n>\d+)\)", re.IGNORECASE),
    re.compile(r"messages resulted in (?P<n>\d+) tokens", re.IGNORECASE),
)
_REPORTED_MAX = re.compile(r"maximum (?:context length is|model length of) (?P<n>\d+)", re.IGNORECASE)


@dataclass
class CallResult:
    """What one scoring call ended with (after retries)."""

    status: CallStatus
    text: str | None = None
    """The raw output (also for `incomplete`)."""
    finish_reason: str | None = None
    model: str | None = None
    """Model name as the endpoint reported it (the simulator's ends in -SIMULATED)."""
    simulated: bool = False
    attempts: int = 0
    error_kind: str | None = None
    """endpoint_down, timeout, http_5xx, http_429, connection, too_long, truncated, empty, bad_request, http_NNN."""
    error: str | None = None
    prompt_tokens: int | None = None
    """The endpoint's count of the prompt, from the response's `usage` (None when it gave none)."""
    context: ContextReport | None = None
    """For `too_long`: what the endpoint's message says about the prompt's length."""


class ContextReport(NamedTuple):
    """What a context-length 400 says: the prompt's tokens (a lower bound when `at_least`) and the limit."""

    prompt_tokens: int
    at_least: bool
    max_model_len: int | None


def context_report(message: str) -> ContextReport | None:
    """The prompt token count a context-length message reports, or None when it gives none."""
    for pattern in _REPORTED_PROMPT:
        m = pattern.search(message)
        if m:
            limit = _REPORTED_MAX.search(message)
            return ContextReport(int(m.group("n")), bool(m.groupdict().get("least")),
                                 int(limit.group("n")) if limit else None)
    return None


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**attempt))."""
    return rng.uniform(0, min(cap, base * (2**attempt)))


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number; HTTP dates are rare from model servers and ignored)."""
    if not value:
        return None
    try:
        secs = float(value)
    except ValueError:
        return None
    return secs if secs >= 0 and secs == secs else None


class ScorerClient:
    """Bounded-concurrency scoring calls over one or more endpoints. One instance per job run; `await aclose()`."""

    def __init__(self, settings: ScorerSettings, *, rng: random.Random | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, keys: Mapping[str, str] | None = None):
        """`keys`: the API key per Base URL (see `EndpointPool`); None sends `settings.api_key` everywhere."""
        self.settings = settings
        self.pool = EndpointPool(settings, keys)
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.holding = False
        """The job yields its slots (to a smaller or another bulk job): calls not yet sent go back unsent."""

    def hold(self) -> None:
        """Send nothing more: calls waiting for a slot return `yielded` (their items go back, no attempt used)."""
        self.holding = True

    @property
    def limit(self) -> int:
        """Requests allowed in flight now over the endpoints that are up (lowered by 429s)."""
        return self.pool.limit

    @property
    def ceiling(self) -> int:
        """Requests in flight with every endpoint up: `concurrency` per endpoint."""
        return self.pool.ceiling

    @property
    def down(self) -> bool:
        """Every endpoint counts as down (one down endpoint only lowers capacity)."""
        return self.pool.all_down

    async def aclose(self) -> None:
        """Stop probes and close the HTTP connections."""
        await self.pool.aclose()

    async def probe(self) -> ModelInfo | None:
        """Ask every endpoint's `/v1/models`; None when none answers. Endpoints that answer count as up."""
        return await self.pool.probe_all()

    async def complete(self, system: str, user: str) -> CallResult:
        """One scoring request with retries, each try on the least busy endpoint; never raises for endpoint problems."""
        s = self.settings
        kind, error, attempt, tries = None, None, 0, 0
        while attempt <= s.max_retries:
            tries += 1
            ep = await self.pool.acquire()
            if ep is None:  # every endpoint is down (checked after the wait for a slot)
                return CallResult("endpoint_down", attempts=tries - 1, error_kind=kind or "endpoint_down",
                                  error=error or "not sent: every endpoint counts as down")
            try:
                if self.holding:
                    return CallResult("failed", attempts=tries - 1, error_kind="yielded",
                                      error="not sent: the job yielded its slots")
                outcome = await self._send(ep, system, user, tries)
            finally:
                await self.pool.release(ep)
            if isinstance(outcome, CallResult):
                return outcome
            kind, error = outcome.kind, outcome.error
            if self.down:
                return CallResult("endpoint_down", attempts=tries, error_kind=kind, error=error)
            if tries > 4 * (s.max_retries + 1):  # 429s do not use up retries, but a call does not loop forever
                break
            attempt += kind != "http_429"
            if attempt <= s.max_retries:
                await self.sleep(self._delay((tries if kind == "http_429" else attempt) - 1, outcome.wait))
        return CallResult("failed", attempts=tries, error_kind=kind, error=error)

    async def _send(self, ep: Endpoint, system: str, user: str, tries: int) -> CallResult | RetryableError:
        """One try on one endpoint; its health and limit follow what happened."""
        try:
            raw = await ep.client.chat.completions.with_raw_response.create(
                **chat_request(self.settings, system, user), extra_headers=ep.headers)
            resp = raw.parse()
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            outcome = classify_error(exc, tries, self.settings.request_timeout)
        else:
            ep.answer()
            ep.answered += 1
            ep.slots.speed_up()
            return call_result(resp, simulated=raw.headers.get(SIM_HEADER) == "1", attempts=tries)
        ep.errors += 1
        if isinstance(outcome, CallResult) or not outcome.endpoint_fault:
            ep.answer()  # it answered, with something a retry will not fix or with a 429
            if isinstance(outcome, RetryableError):
                ep.slots.slow_down()
        elif ep.fault(outcome.error):
            await self.pool.notify()  # calls waiting for a slot look again (maybe every endpoint is down now)
        return outcome

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Backoff before the next try; a server's Retry-After (up to `retry_after_max`) comes first, plus jitter."""
        s = self.settings
        delay = backoff_delay(attempt, s.backoff_base, s.backoff_max, self.rng)
        return delay if retry_after is None else min(s.retry_after_max, retry_after) + delay * 0.1


class RetryableError(NamedTuple):
    """An endpoint error worth retrying; `endpoint_fault` counts toward calling the endpoint down."""

    kind: str
    error: str
    wait: float | None
    endpoint_fault: bool


def classify_error(exc: openai.APIStatusError | openai.APIConnectionError, attempts: int,
                   timeout: float) -> CallResult | RetryableError:
    """A final result for errors a retry cannot fix (bad request, other 4xx), else what to retry.

    Order matters: BadRequestError and RateLimitError are APIStatusErrors, APITimeoutError is an
    APIConnectionError.
    """
    if isinstance(exc, openai.BadRequestError):
        msg = _message(exc)
        if _CONTEXT.search(msg):
            return CallResult("too_long", attempts=attempts, error_kind="too_long", error=msg,
                              context=context_report(msg))
        return CallResult("failed", attempts=attempts, error_kind="bad_request", error=msg)
    if isinstance(exc, openai.RateLimitError):
        return RetryableError("http_429", _message(exc), retry_after_seconds(exc.response.headers.get("retry-after")),
                              endpoint_fault=False)
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code < 500:
            return CallResult("failed", attempts=attempts, error_kind=f"http_{exc.status_code}", error=_message(exc))
        return RetryableError("http_5xx", f"HTTP {exc.status_code}: {_message(exc)}", None, endpoint_fault=True)
    if isinstance(exc, openai.APITimeoutError):
        return RetryableError("timeout", f"no answer within {timeout:g} s", None, endpoint_fault=True)
    return RetryableError("connection", f"{exc.message} {exc.__cause__ or ''}".strip(), None, endpoint_fault=True)


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if body.get("message"):
            return str(body["message"])
    return str(exc.message)


def call_result(resp: ChatCompletion, *, simulated: bool, attempts: int) -> CallResult:
    """A completion as a CallResult: `incomplete` when cut at max_tokens or empty (also for Ray runs)."""
    choice = resp.choices[0] if resp.choices else None
    text = (choice.message.content if choice and choice.message else None) or ""
    finish = choice.finish_reason if choice else None
    model = resp.model or None
    usage = getattr(resp, "usage", None)
    status: CallStatus = "ok"
    kind, error = None, None
    if finish == "length":
        status, kind, error = "incomplete", "truncated", "output cut at max_tokens"
    elif not text.strip():
        status, kind, error = "incomplete", "empty", "empty output"
    return CallResult(status, text=text, finish_reason=finish, model=model, attempts=attempts,
                      simulated=simulated or is_simulated(model), error_kind=kind, error=error,
                      prompt_tokens=getattr(usage, "prompt_tokens", None))


class TokenCounter:
    """Counts prompt tokens with the endpoint's `/tokenize` (vLLM has it), else `budget.estimate_tokens`.

    Every call asks the endpoint: the prompt builder calls it only for texts that could exceed the budget at
    one token per byte (`budget.worst_case_tokens`), so small prompts cost no round trip.
    """

    def __init__(self, settings: ScorerSettings, *, timeout: float = 30.0):
        self.url = settings.server_root + "/tokenize"
        self.model = settings.model
        self.api_key = settings.api_key
        self.timeout = timeout
        self.available: bool | None = None

    def __call__(self, text: str) -> int:
        """Tokens in `text`."""
        from mira_core.scoring.budget import estimate_tokens

        exact = None if self.available is False else self.remote_count(text)
        return estimate_tokens(text) if exact is None else exact

    def remote_count(self, text: str) -> int | None:
        """The endpoint's count, or None (and stop asking) when it has no /tokenize."""
        data = json.dumps({"model": self.model, "prompt": text, "add_special_tokens": True}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 405):
                self.available = False
            return None
        except (OSError, ValueError):
            return None
        self.available = True
        count = body.get("count") if isinstance(body, dict) else None
        return int(count) if isinstance(count, int) else None


def probe_endpoint(settings: ScorerSettings, *, timeout: float = 2.0) -> ModelInfo | None:
    """`GET /v1/models` without asyncio (for pages): the served model, or None when nothing answers."""
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    req = urllib.request.Request(settings.base_url.rstrip("/") + "/models", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = json.loads(resp.read())
    except (OSError, ValueError):
        return None
    models = [m for m in (body.get("data") if isinstance(body, dict) else None) or [] if isinstance(m, dict)]
    return chosen_model(models, settings.model)


def probe_endpoints(settings: ScorerSettings, *, timeout: float = 2.0,
                    keys: Mapping[str, str] | None = None) -> dict[str, ModelInfo | None]:
    """`probe_endpoint` for every configured endpoint at once: {Base URL: model or None}.

    `keys` as for `ScorerClient` (the key per Base URL); None sends `settings.api_key` to every endpoint, which
    is right only when `settings` is the saved (trusted) configuration.
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(url: str) -> ModelInfo | None:
        key = settings.api_key if keys is None else keys.get(url, "")
        return probe_endpoint(settings.model_copy(update={"base_url": url, "api_key": key}), timeout=timeout)

    urls = settings.endpoints
    with ThreadPoolExecutor(max_workers=min(16, len(urls))) as pool:
        return dict(zip(urls, pool.map(one, urls), strict=True))
