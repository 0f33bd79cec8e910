"""Word pools and sentence/identifier makers for the synthetic demo corpus.

Text is drawn from a fixed vocabulary with a seeded `random.Random`, so the same seed always gives the
same corpus. The vocabulary is large enough that zstd compresses a record about as well as real text.
"""

from __future__ import annotations

import random

NOUNS = (
    "value index column frame series array dtype shape axis mask slice offset buffer cache config option "
    "parser token lexer node tree visitor handler request response session header cookie payload schema "
    "field model record query filter cursor engine connection pool timeout retry backoff queue worker task "
    "job scheduler event callback hook plugin registry loader module package path file directory stream "
    "encoder decoder format template context manager default fallback attribute property method function "
    "argument keyword parameter signature decorator iterator generator coroutine loop thread lock signal "
    "metric counter histogram unit quantity coordinate transform projection kernel matrix vector tensor "
    "device batch sample label target score loss gradient layer weight bias window period timestamp "
    "timezone calendar locale encoding string regex pattern match group result error warning exception "
    "message logger formatter level tag version release migration table index constraint key reference "
    "dimension chunk partition graph edge vertex cluster shard replica snapshot checkpoint archive"
).split()

VERBS = (
    "get set parse load dump read write build make resolve validate convert apply compute merge split "
    "join format render encode decode normalize update create delete register find check ensure handle "
    "wrap unwrap fetch store flush close open reset clear collect sort group align cast coerce infer "
    "evaluate dispatch emit compile reduce expand iterate serialize deserialize patch restore"
).split()

ADJECTIVES = (
    "empty missing nested optional invalid stale duplicate unicode negative large small implicit explicit "
    "default custom sparse dense naive aware ordered unordered mutable frozen lazy eager cached partial "
    "multiple single recursive circular private public deprecated legacy new old inconsistent unexpected"
).split()

FILLER = (
    "the a this that when if because so then also only still just now instead however which where while "
    "after before during without with from into onto for of in on at by to as is was are were be been "
    "should would could might must does did not no it its we I you they our their there here"
).split()

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


def sentence(rng: random.Random, low: int = 7, high: int = 18) -> str:
    """A plausible-looking technical sentence."""
    n = rng.randint(low, high)
    words = []
    for _ in range(n):
        r = rng.random()
        pool = FILLER if r < 0.45 else NOUNS if r < 0.75 else VERBS if r < 0.88 else ADJECTIVES
        words.append(rng.choice(pool))
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), f"`{ident(rng)}`")
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice("...?.")[0]


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
