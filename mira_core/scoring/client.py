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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import openai
from openai.types.chat import ChatCompletion

from mira_core.scoring.adaptive_limit import AdaptiveLimit
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


@dataclass
class ModelInfo:
    """What `/v1/models` says about the served model."""

    id: str
    max_model_len: int | None
    simulated: bool


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
    """Bounded-concurrency scoring calls. One instance per job run; `await aclose()` when done."""

    def __init__(self, settings: ScorerSettings, *, rng: random.Random | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.settings = settings
        self.client = openai.AsyncOpenAI(
            base_url=settings.base_url, api_key=settings.api_key or "EMPTY",
            max_retries=0, timeout=settings.request_timeout,
        )
        # The placeholder key above only satisfies the constructor; the header itself is left out per request.
        self.headers: dict[str, str | openai.Omit] = {} if settings.api_key else {"Authorization": openai.Omit()}
        self.slots = AdaptiveLimit(settings.concurrency)
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.down_streak = 0
        self.holding = False
        """The job yields its slots (to a smaller or another bulk job): calls not yet sent go back unsent."""

    def hold(self) -> None:
        """Send nothing more: calls waiting for a slot return `yielded` (their items go back, no attempt used)."""
        self.holding = True

    @property
    def limit(self) -> int:
        """Requests allowed in flight now (lowered by 429s, never above `concurrency`)."""
        return self.slots.limit

    @property
    def down(self) -> bool:
        """The endpoint failed `down_after` times in a row (reset by any HTTP answer)."""
        return self.down_streak >= self.settings.down_after

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.client.close()

    async def probe(self) -> ModelInfo | None:
        """Ask `/v1/models`; None when the endpoint does not answer. An answer clears the down state."""
        try:
            page = await self.client.models.list(extra_headers=self.headers, timeout=self.settings.probe_timeout)
        except openai.APIError:
            return None
        self.down_streak = 0
        models = list(page.data)
        chosen = next((m for m in models if m.id.startswith(self.settings.model)), models[0] if models else None)
        if chosen is None:
            return None
        mml = getattr(chosen, "max_model_len", None)
        return ModelInfo(id=chosen.id, max_model_len=int(mml) if mml else None, simulated=is_simulated(chosen.id))

    async def complete(self, system: str, user: str) -> CallResult:
        """One scoring request with retries; never raises for endpoint problems."""
        s = self.settings
        kind, error, attempt, tries = None, None, 0, 0
        while attempt <= s.max_retries:
            tries += 1
            try:
                async with self.slots:
                    if self.holding:
                        return CallResult("failed", attempts=tries - 1, error_kind="yielded",
                                          error="not sent: the job yielded its slots")
                    if self.down:  # checked after the wait for a slot: it may have gone down meanwhile
                        return CallResult("endpoint_down", attempts=tries - 1, error_kind=kind or "endpoint_down",
                                          error=error or "not sent: the endpoint counts as down")
                    raw = await self.client.chat.completions.with_raw_response.create(
                        **chat_request(s, system, user), extra_headers=self.headers)
                    resp = raw.parse()
            except (openai.APIStatusError, openai.APIConnectionError) as exc:
                outcome = classify_error(exc, tries, s.request_timeout)
            else:
                self.down_streak = 0
                self.slots.speed_up()
                return call_result(resp, simulated=raw.headers.get(SIM_HEADER) == "1", attempts=tries)
            if isinstance(outcome, CallResult):
                self.down_streak = 0
                return outcome
            self.down_streak = self.down_streak + 1 if outcome.endpoint_fault else 0
            kind, error = outcome.kind, outcome.error
            if self.down:
                return CallResult("endpoint_down", attempts=tries, error_kind=kind, error=error)
            if kind == "http_429":
                self.slots.slow_down()
            if tries > 4 * (s.max_retries + 1):  # 429s do not use up retries, but a call does not loop forever
                break
            attempt += kind != "http_429"
            if attempt <= s.max_retries:
                await self.sleep(self._delay((tries if kind == "http_429" else attempt) - 1, outcome.wait))
        return CallResult("failed", attempts=tries, error_kind=kind, error=error)

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
    chosen = next((m for m in models if str(m.get("id", "")).startswith(settings.model)), models[0] if models else None)
    if chosen is None:
        return None
    mml = chosen.get("max_model_len")
    return ModelInfo(id=str(chosen.get("id")), max_model_len=int(mml) if isinstance(mml, int) else None,
                     simulated=is_simulated(str(chosen.get("id"))))
