"""Word pools and sentence/identifier makers for the synthetic demo corpus.

Text is drawn from a fixed vocabulary with a seeded `random.Random`, so the same seed always gives the
same corpus. The vocabulary is large enough that zstd compresses a record about as well as real text.
"""

from __future__ import annotations

import random

NOUNS = ["value", "index", "column", "frame", "series", "array", "dtype", "shape", "axis", "mask", "slice", "offset", "buffer", "cache", "config", "option", "parser", "token", "lexer", "node", "tree", "visitor", "handler", "request", "response", "session", "header", "cookie", "payload", "schema", "field", "model", "record", "query", "filter", "cursor", "engine", "connection", "pool", "timeout", "retry", "backoff", "queue", "worker", "task", "job", "scheduler", "event", "callback", "hook", "plugin", "registry", "loader", "module", "package", "path", "file", "directory", "stream", "encoder", "decoder", "format", "template", "context", "manager", "default", "fallback", "attribute", "property", "method", "function", "argument", "keyword", "parameter", "signature", "decorator", "iterator", "generator", "coroutine", "loop", "thread", "lock", "signal", "metric", "counter", "histogram", "unit", "quantity", "coordinate", "transform", "projection", "kernel", "matrix", "vector", "tensor", "device", "batch", "sample", "label", "target", "score", "loss", "gradient", "layer", "weight", "bias", "window", "period", "timestamp", "timezone", "calendar", "locale", "encoding", "string", "regex", "pattern", "match", "group", "result", "error", "warning", "exception", "message", "logger", "formatter", "level", "tag", "version", "release", "migration", "table", "index", "constraint", "key", "reference", "dimension", "chunk", "partition", "graph", "edge", "vertex", "cluster", "shard", "replica", "snapshot", "checkpoint", "archive"]

VERBS = ["get", "set", "parse", "load", "dump", "read", "write", "build", "make", "resolve", "validate", "convert", "apply", "compute", "merge", "split", "join", "format", "render", "encode", "decode", "normalize", "update", "create", "delete", "register", "find", "check", "ensure", "handle", "wrap", "unwrap", "fetch", "store", "flush", "close", "open", "reset", "clear", "collect", "sort", "group", "align", "cast", "coerce", "infer", "evaluate", "dispatch", "emit", "compile", "reduce", "expand", "iterate", "serialize", "deserialize", "patch", "restore"]

ADJECTIVES = ["empty", "missing", "nested", "optional", "invalid", "stale", "duplicate", "unicode", "negative", "large", "small", "implicit", "explicit", "default", "custom", "sparse", "dense", "naive", "aware", "ordered", "unordered", "mutable", "frozen", "lazy", "eager", "cached", "partial", "multiple", "single", "recursive", "circular", "private", "public", "deprecated", "legacy", "new", "old", "inconsistent", "unexpected"]

EXCEPTIONS = (
    "TypeError", "ValueError", "KeyError", "AttributeError", "IndexError", "AssertionError",
    "RuntimeError", "NotImplementedError", "ZeroDivisionError", "UnicodeDecodeError", "RecursionError",
)


def ident(rng: random.Random) -> str:
    """A snake_case function-like name, e.g. `resolve_stale_offset`."""
    parts = [rng.choice(VERBS)]
    if rng.random() < 0.5:
        parts.append(rng.choice(ADJECTIVES))
    parts.append(rng.choice(NOUNS))
    return "_".join(parts)


def class_name(rng: random.Random) -> str:
    """A CamelCase class name, e.g. `StaleOffsetParser`."""
    words = [rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(NOUNS)][rng.randrange(2):]
    return "".join(w.capitalize() for w in words)


SHORT = (
    "{V} {a} {n} in {f}", "{f} fails for {a} {n} values", "{n} is {a} after {f}", "Do not {v} the {n} twice",
    "{V} the {n} before {f}", "unexpected {a} {n}", "{n} must not be {a}", "Fix {a} {n} handling in {f}",
    "{V} {n} and {n2} together", "{f} returns the wrong {n}", "Support {a} {n} in {c}", "Cache the {n} of {f}",
)
LONG = (
    "When {f} receives {a} {n} values, it returns the {n} instead of the {n2}.",
    "I think the problem is in how {f} handles {a} {n} values.",
    "This worked in the previous release, but now the {n} comes back {a}.",
    "It looks like {f} assumes the {n} is never {a}.",
    "The {n} passed to {f} should be {a}, but here it is {a2}.",
    "Setting {n}={val} on the {c} does not change the {n2}.",
    "We should {v} the {n} before it reaches {f}.",
    "There is already a check for {a} {n} values in {f}, so the fix can reuse it.",
    "With {a} {n} values the {n2} ends up {a2}, which breaks {f}.",
    "Only the {n} branch is affected; the {n2} branch already handles this.",
    "The docstring of {f} says it accepts {a} {n} values, which is not what happens.",
    "A minimal fix is to {v} the {n} early and return.",
    "I would expect {f} to return {val} here.",
    "Other {n} values are fine; only {a} ones trigger the error.",
    "This also affects {c}.{g} since it calls the same code path.",
    "The {n} and the {n2} are out of sync after {f} runs.",
    "Let me check whether {f} is also used by the {n} code.",
    "That confirms the {n} is {a} at this point.",
    "The change is small and keeps the existing behaviour for {a} {n} values.",
    "Running it twice gives a different {n}, which suggests the {n} is cached somewhere.",
    "The {c} keeps a reference to the old {n}, so {f} sees a {a} {n2}.",
    "Nothing in the tests covers the {a} {n} case, which explains why this slipped through.",
    "If the {n} is {a}, {f} should fall back to the default {n2}.",
    "The traceback shows the error is raised inside {f}, not in the caller.",
    "So the fix belongs in {f}: it has to {v} the {n} when it is {a}.",
    "After the change the {n} is computed once and reused by {g}.",
    "The same pattern appears in {g}; it is probably worth fixing both.",
    "According to the documentation, {a} {n} values are allowed here.",
)


def sentence(rng: random.Random, low: int = 7, high: int = 18) -> str:
    """A plausible technical sentence (a short phrase when `high` is small), from templates and the vocabulary."""
    template = rng.choice(SHORT if high <= 12 else LONG)
    verb = rng.choice(VERBS)
    text = template.format(
        V=verb.capitalize(), v=verb, n=rng.choice(NOUNS), n2=rng.choice(NOUNS), a=rng.choice(ADJECTIVES), a2=rng.choice(ADJECTIVES),
        f=f"`{ident(rng)}`", g=f"`{ident(rng)}`", c=class_name(rng),
        val=rng.choice(["None", "0", "True", "False", "[]", repr(rng.choice(NOUNS)), str(rng.randint(2, 512))]),
    )
    if high <= 12:
        return text[0].upper() + text[1:] + "."
    return text[0].upper() + text[1:]


def paragraph(rng: random.Random, low: int = 2, high: int = 5) -> str:
    """A few sentences."""
    return " ".join(sentence(rng) for _ in range(rng.randint(low, high)))


def hexid(rng: random.Random, n: int = 7) -> str:
    """A short lowercase hex string, like an abbreviated commit hash."""
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def call_id(rng: random.Random) -> str:
    """An OpenAI-style tool call id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "call_" + "".join(rng.choice(alphabet) for _ in range(24))
