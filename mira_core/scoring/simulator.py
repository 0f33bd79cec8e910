"""A SIMULATED scorer: an OpenAI-compatible HTTP server that answers like MIRA-Agent-Group4 without a model.

It lets the demo score and lets tests drive the real client over real HTTP. Scores are derived
deterministically from features of the record in the prompt (a hash, error mentions, patch size, length),
so the same prompt always gets the same scores. Everything it says is labelled SIMULATED: the model id,
the `domain_tag`, the `brief`, and an `X-MIRA-Simulated` response header.

Faults are drawn per (seed, prompt, attempt number of that prompt), so a retry of a failed request gets
a fresh draw and runs are reproducible whatever the arrival order.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Literal

from mira_core.dimensions import SLOTS, Dimension

if TYPE_CHECKING:
    from mira_core.scoring.rubric import Rubric

SIMULATED_SUFFIX = "-SIMULATED"
SIM_HEADER = "X-MIRA-Simulated"
DEFAULT_MODEL = "whw06/MIRA-Agent-Group4"
_SLOT_LINE = re.compile(r"^\[A(\d{1,2})\]\s*([^:\n]+?)\s*:", re.MULTILINE | re.ASCII)
_ERROR_WORDS = re.compile(r"\b(?:error|traceback|exception|failed)\b", re.IGNORECASE | re.ASCII)
FALLBACK_NAMES = (
    "Plan Quality / Reasoning Transparency (Goal Achievement)", "Output Style/Communication", "Goal Achievement",
    "Plan Quality / Reasoning Transparency", "Test Coverage & Verification Rigor", "Multi-turn Coherence",
    "Error Recovery", "Tool Argument Correctness", "Action Efficiency", "User Intent Comprehension",
    "Safety & scope", "Observation handling", "Code Change Minimality", "Tool Selection",
    "Tool Selection (Safety & Scope)",
)


def is_simulated(judge: str | None) -> bool:
    """True when a stored judge name comes from this simulator."""
    return bool(judge) and str(judge).endswith(SIMULATED_SUFFIX)


def count_tokens(text: str) -> int:
    """The simulator's tokenizer: one token per 4 characters, rounded up (cheaper than any estimate)."""
    return (len(text) + 3) // 4


def count_tokens_digits(text: str) -> int:
    """The `--digit-tokens` tokenizer: every ASCII digit one token (as Qwen's), the rest 4 characters a token.

    Digit-dense records (arrays, hashes, timing logs) then run near one token per byte, as on the real model.
    """
    digits = sum(text.count(d) for d in "0123456789")
    return digits + (len(text) - digits + 3) // 4


@dataclass
class SimulatorConfig:
    """Knobs of the simulated endpoint (CLI flags of `mira-curator simulate-scorer`)."""

    latency: float = 0.5
    """Seconds each completion takes once it holds a server slot."""
    concurrency: int = 64
    """Requests served at once; more wait in a queue (like vLLM's batch)."""
    max_model_len: int = 65536
    """Reported by /v1/models and /tokenize."""
    reject_above: int | None = None
    """Prompt + max_tokens above this gets vLLM's context-length 400 (default: max_model_len)."""
    rate_429: float = 0.0
    retry_after: float = 1.0
    """Retry-After seconds sent with a 429."""
    rate_500: float = 0.0
    rate_drop: float = 0.0
    """Share of requests whose connection is closed without an answer."""
    rate_truncated: float = 0.0
    """Share of answers cut in half with finish_reason "length"."""
    rate_malformed: float = 0.0
    """Share of answers with one broken slot line."""
    digit_tokens: bool = False
    """Count each digit as one token (`count_tokens_digits`), in /tokenize and in the length check."""
    tokenize: bool = True
    """Serve /tokenize (False: 404, as an OpenAI-compatible server without it)."""
    seed: int = 0
    model: str = DEFAULT_MODEL


@dataclass
class SimulatorStats:
    """What the server did, for tests and the bench (thread-safe through `lock`)."""

    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    active: int = 0
    peak: int = 0
    """Most completions ever in progress at once (never above the concurrency knob)."""

    def enter(self) -> None:
        """A completion took a server slot."""
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)

    def leave(self) -> None:
        """A completion gave its slot back."""
        with self.lock:
            self.active -= 1

    def add(self, kind: str) -> None:
        """Count one event."""
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(h.digest(), "big") / 2**64


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _slot_names(user: str) -> list[tuple[str, str]]:
    found = [(f"A{m.group(1)}", m.group(2).strip()) for m in _SLOT_LINE.finditer(user)]
    seen: dict[str, str] = {}
    for slot, name in found:
        seen.setdefault(slot, name)
    if len(seen) >= 15:
        return list(seen.items())[:15]
    return list(zip(SLOTS, FALLBACK_NAMES, strict=True))


def _rubric(names: list[tuple[str, str]]) -> Rubric:
    from mira_core.scoring.rubric import Rubric

    try:
        return Rubric(anchors=[Dimension(slot=slot, name=name, cluster_size=0) for slot, name in names])
    except ValueError:  # names that the rubric model refuses: use the card's
        return Rubric(anchors=[Dimension(slot=s, name=n, cluster_size=0) for s, n in zip(SLOTS, FALLBACK_NAMES, strict=True)])


def simulated_answer(user: str, seed: int = 0) -> str:
    """The scorer-format answer for a prompt (rendered by `render_scorer_output`): same prompt, same answer."""
    from mira_core.scoring.parse import DimScore, ParsedScore, render_scorer_output

    key = _digest(user)
    errors = len(_ERROR_WORDS.findall(user))
    patch_lines = sum(1 for ln in user.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---"))
    has_patch = "diff --git" in user
    size = len(user)
    names = _slot_names(user)
    dims = {}
    for slot, _name in names:
        base = 4 + 5 * _unit(seed, "score", slot, key)
        if slot in ("A3", "A5"):
            base += 1.5 if has_patch else -2
        if slot in ("A7", "A12"):
            base -= min(3.0, errors / 6)
        if slot == "A13":
            base -= min(3.0, patch_lines / 150)
        if slot == "A9":
            base -= min(2.0, size / 100_000)
        dims[slot] = DimScore(score=float(max(0, min(10, round(base)))), rationale=(
            f"SIMULATED: {errors} error mentions, {patch_lines} patch lines, {size} prompt chars."))
    overall = round(sum(d.score or 0 for d in dims.values()) / 15 * 10)
    rec: Literal["keep", "downsample", "drop"] = "keep" if overall >= 65 else "downsample" if overall >= 45 else "drop"
    parsed = ParsedScore(dimensions=dims, overall=overall, training_recommendation=rec, domain_tag="SIMULATED",
                         brief="SIMULATED score from prompt features (no model was called).", complete=True)
    return render_scorer_output(parsed, _rubric(names))


def _malform(text: str, draw: float) -> str:
    lines = text.split("\n")
    i = int(draw * 15) % 15
    kind = int(draw * 1000) % 3
    if kind == 0:
        lines[i] = re.sub(r": \d+/10", ": 12/10", lines[i], count=1)  # out of range
    elif kind == 1:
        lines[i] = re.sub(r": \d+/10", ": seven/10", lines[i], count=1)  # unreadable score
    else:
        del lines[i]  # missing slot
    return "\n".join(lines)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # headers and body leave in one segment (flushed after each request)
    server: SimulatorServer

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle + the client's delayed ACK add ~40 ms to every keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(self, status: int, body: Mapping[str, object], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header(SIM_HEADER, "1")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"object": "error", "message": message, "type": kind, "param": None, "code": status},
                   headers)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def do_GET(self) -> None:
        cfg = self.server.config
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send(200, {"object": "list", "data": [{
                "id": self.server.model_id, "object": "model", "owned_by": "mira-simulator",
                "root": cfg.model, "max_model_len": cfg.max_model_len, "simulated": True}]})
        elif self.path.rstrip("/") in ("/health", "/v1/health"):
            self._send(200, {"status": "ok", "simulated": True})
        else:
            self._error(404, f"no route {self.path}", "NotFoundError")

    def do_POST(self) -> None:
        body = self._body()
        path = self.path.rstrip("/")
        if path == "/tokenize":
            self._tokenize(body)
        elif path in ("/v1/chat/completions", "/chat/completions"):
            self._chat(body)
        else:
            self._error(404, f"no route {self.path}", "NotFoundError")

    def _tokenize(self, body: dict) -> None:
        if not self.server.config.tokenize:
            self._error(404, "no route /tokenize (SIMULATED server without a tokenizer endpoint)", "NotFoundError")
            return
        prompt = body.get("prompt")
        text = prompt if isinstance(prompt, str) else _messages_text(body.get("messages"))
        n = self.server.count_tokens(text)
        self.server.stats.add("tokenize")
        self._send(200, {"count": n, "max_model_len": self.server.config.max_model_len, "tokens": list(range(n))})

    def _inject_fault(self, draw: float) -> bool:
        """Drop the connection, answer 429 or 500 as the configured rates say; True when it did."""
        srv, cfg = self.server, self.server.config
        edges = [cfg.rate_drop, cfg.rate_429, cfg.rate_500]
        if draw < edges[0]:
            srv.stats.add("drop")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if draw < edges[0] + edges[1]:
            srv.stats.add("429")
            self._error(429, "SIMULATED rate limit", "RateLimitError", {"Retry-After": f"{cfg.retry_after:g}"})
            return True
        if draw < sum(edges):
            srv.stats.add("500")
            self._error(500, "SIMULATED internal server error", "InternalServerError")
            return True
        return False

    def _chat(self, body: dict) -> None:
        srv, cfg = self.server, self.server.config
        messages = body.get("messages") or []
        user = next((str(m.get("content") or "") for m in reversed(messages)
                     if isinstance(m, dict) and m.get("role") == "user"), "")
        prompt_tokens = srv.count_tokens(_messages_text(messages))
        max_tokens = int(body.get("max_tokens") or 0)
        key = _digest(user)
        attempt = srv.next_attempt(key)
        draw = _unit(cfg.seed, "fault", attempt, key)
        limit = cfg.reject_above if cfg.reject_above is not None else cfg.max_model_len
        if prompt_tokens + max_tokens > limit:
            srv.stats.add("too_long")
            self._error(400, f"This model's maximum context length is {limit} tokens. However, you requested "
                        f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the messages, {max_tokens} in "
                        f"the completion). Your request has {prompt_tokens} input tokens. Please reduce the "
                        "length of the messages or completion.", "BadRequestError")
            return
        if self._inject_fault(draw):
            return
        with srv.slots:
            srv.stats.enter()
            try:
                time.sleep(cfg.latency)
            finally:
                srv.stats.leave()
        text = simulated_answer(user, cfg.seed)
        finish = "stop"
        shape = _unit(cfg.seed, "shape", attempt, key)
        if shape < cfg.rate_truncated:
            text, finish = text[: len(text) // 2], "length"
            srv.stats.add("truncated")
        elif shape < cfg.rate_truncated + cfg.rate_malformed:
            text = _malform(text, _unit(cfg.seed, "malform", key))
            srv.stats.add("malformed")
        srv.stats.add("ok")
        completion_tokens = srv.count_tokens(text)
        self._send(200, {
            "id": f"chatcmpl-sim-{attempt}-{key[:12]}",
            "object": "chat.completion", "created": int(time.time()), "model": srv.model_id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })


def _messages_text(messages: object) -> str:
    if not isinstance(messages, list):
        return ""
    return "\n".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))


class SimulatorServer(ThreadingHTTPServer):
    """The HTTP server; `serve_forever()` in a thread for tests, or `run_simulator()` from the CLI."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, host: str = "127.0.0.1", port: int = 0, config: SimulatorConfig | None = None):
        super().__init__((host, port), _Handler)
        self.config = config or SimulatorConfig()
        self.stats = SimulatorStats()
        self.slots = threading.BoundedSemaphore(self.config.concurrency)
        self.model_id = self.config.model + SIMULATED_SUFFIX
        self.count_tokens = count_tokens_digits if self.config.digit_tokens else count_tokens
        self._attempts: dict[str, int] = {}
        self._attempts_lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of this server."""
        return f"http://127.0.0.1:{self.port}/v1"

    def crash(self) -> None:
        """Stop as a dead endpoint does: no new connections, and the open keep-alive ones are cut."""
        self.shutdown()
        self.server_close()
        with self.connections_lock:
            open_ = list(self.connections)
        for conn in open_:
            with contextlib.suppress(OSError):  # already closed by its client
                conn.shutdown(socket.SHUT_RDWR)

    def requests_per_prompt(self) -> dict[str, int]:
        """How many chat requests each distinct prompt got (tests count items sent twice with it)."""
        with self._attempts_lock:
            return dict(self._attempts)

    def next_attempt(self, key: str) -> int:
        """How many times the prompt with digest `key` was seen before (retries get fresh fault draws)."""
        with self._attempts_lock:
            n = self._attempts.get(key, 0)
            self._attempts[key] = n + 1
        return n


def start_in_thread(config: SimulatorConfig | None = None, port: int = 0) -> tuple[SimulatorServer, threading.Thread]:
    """Start a simulator on a free port in a daemon thread; call `server.shutdown()` to stop it."""
    server = SimulatorServer(port=port, config=config)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread
