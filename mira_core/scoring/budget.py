"""Token estimate and the rule that shortens a record that does not fit the scorer's context.

The budget (see `prompt.build_prompt`): max_model_len − max_tokens − system prompt − a chat-template margin.
When the rendered record is over it, `shorten_record_text` removes text in this order, always replacing
what it removes with a visible marker `[... N tokens of <what> elided by MIRA Curator ...]`:

1. Observations of the *middle* steps (every step but the first and the last), longest first: all of
   them are cut to a common length (water-filling), keeping the head and tail of each around the marker,
   down to the marker alone.
2. The other texts of the middle steps (thoughts, actions, messages), the same way; the step lines
   (`[step N] kind`, tool, arguments) stay.
3. Whole middle steps, from the middle of the trajectory outward, as one marker for the removed run
   (the step numbers that remain show the gap).
4. Last resort: the issue, the final patch, and the first and last steps, longest first, keeping the
   head and tail of each (and always the `[step N] kind` line of those two steps).

The issue, the first and last steps and the final patch are therefore kept whole unless nothing else
is left to remove.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

# Bytes of UTF-8 per token assumed by the estimate. Byte-level BPE tokenizers (Qwen's included) average
# ~4 chars/token on English and ~3.5 on code; dense identifiers or hashes approach ~3, CJK ~1 token per
# 3-byte char. 2.7 bytes/token over-counts ordinary text by ~30% and is about right for dense identifiers;
# Qwen tokenizers split digits one per token, so numbers, hashes and timing logs run near 1 byte/token.
ESTIMATE_BYTES_PER_TOKEN = 2.7
ESTIMATE_SLACK_TOKENS = 4

ELISION_MARKER = "[... {n} tokens of {what} elided by MIRA Curator ...]"
_MARKER_CHARS = len(ELISION_MARKER) + 16  # what a marker adds back, for planning the cut


def estimate_tokens(text: str) -> int:
    """Tokens in `text`, erring high: ceil(UTF-8 bytes / 2.7) + 4.

    Used when the endpoint has no `/tokenize` and for prompts that fit even at one token per byte
    (`worst_case_tokens`); on ordinary prose and code it over-counts by ~30% (see ESTIMATE_BYTES_PER_TOKEN),
    on digit-dense text it under-counts, which is why it never decides alone near the budget.
    """
    nbytes = len(text.encode("utf-8", "surrogatepass"))
    return math.ceil(nbytes / ESTIMATE_BYTES_PER_TOKEN) + ESTIMATE_SLACK_TOKENS


def worst_case_tokens(text: str) -> int:
    """Tokens in `text` at most: one per UTF-8 byte, + 4.

    Byte-level BPE tokens are at least one byte each; digit-by-digit tokenizers (Qwen's) come close on
    numbers, hashes and timing logs, where the 2.7-byte estimate counts less than half the real tokens.
    A text whose worst case fits the budget needs no `/tokenize` round trip.
    """
    return len(text.encode("utf-8", "surrogatepass")) + ESTIMATE_SLACK_TOKENS


@dataclass(frozen=True)
class StepText:
    """One rendered step: `head` (number, kind, tool, args) and `body` (its content)."""

    head: str
    body: str
    is_observation: bool


@dataclass(frozen=True)
class RecordText:
    """The parts of a rendered record that the shortening rule may cut.

    `gaps[i]` is a marker that goes before `steps[i]`: it stands for a run of removed steps.
    """

    issue: str
    steps: tuple[StepText, ...]
    patch: str
    gaps: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Shortened:
    """A shortened record and the tokens (estimated at the measured tokens/char) its markers stand for."""

    text: RecordText
    elided_tokens: int


def _marker(removed_chars: int, what: str, tokens_per_char: float) -> tuple[str, int]:
    n = max(1, math.ceil(removed_chars * tokens_per_char))
    return ELISION_MARKER.format(n=n, what=what), n


def cut_middle(text: str, keep_chars: int, what: str, tokens_per_char: float) -> tuple[str, int]:
    """`text` with all but its first and last `keep_chars // 2` chars replaced by a marker.

    Returns (text, elided tokens); unchanged (0) when it is not longer than keep_chars + a marker.
    """
    if len(text) <= keep_chars + _MARKER_CHARS:
        return text, 0
    half = max(0, keep_chars) // 2
    marker, n = _marker(len(text) - 2 * half, what, tokens_per_char)
    if half == 0:
        return marker, n
    return f"{text[:half]}\n{marker}\n{text[-half:]}", n


def water_level(lengths: list[int], reduce_chars: int) -> int | None:
    """The largest common cap c whose cuts save at least `reduce_chars`.

    Each cut costs a marker. None when even cutting everything to the marker is not enough.
    """
    def saving(cap: int) -> int:
        return sum(n - cap - _MARKER_CHARS for n in lengths if n > cap + _MARKER_CHARS)

    if saving(0) < reduce_chars:
        return None
    lo, hi = 0, max(lengths, default=0)
    while lo < hi:  # saving() decreases with the cap: find the largest cap that still saves enough
        mid = (lo + hi + 1) // 2
        if saving(mid) >= reduce_chars:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _step_len(s: StepText) -> int:
    return len(s.head) + len(s.body) + 2


def _cut_middle_bodies(rt: RecordText, reduce: int, tpc: float, observations: bool) -> tuple[RecordText, int, int]:
    """Phases 1 and 2: bodies of middle observations (or of the other middle steps) to a common cap.

    Returns (text, elided tokens, chars still to remove).
    """
    middle = [i for i in range(1, len(rt.steps) - 1) if rt.steps[i].is_observation == observations]
    lengths = [len(rt.steps[i].body) for i in middle]
    cap = water_level(lengths, reduce)
    what = "observation" if observations else "step text"
    steps, elided, saved = list(rt.steps), 0, 0
    for i in middle:
        body, n = cut_middle(steps[i].body, cap or 0, what, tpc)
        saved += len(steps[i].body) - len(body)
        steps[i], elided = replace(steps[i], body=body), elided + n
    return replace(rt, steps=tuple(steps)), elided, reduce - saved


def _drop_middle_steps(rt: RecordText, reduce: int, tpc: float) -> tuple[RecordText, int, int]:
    """Phase 3: whole middle steps from the centre outward, one marker for the removed run."""
    n = len(rt.steps)
    order = sorted(range(1, n - 1), key=lambda i: (abs(i - (n - 1) / 2), i))
    removed: set[int] = set()
    saved = 0
    for i in order:
        if saved >= reduce + _MARKER_CHARS:
            break
        removed.add(i)
        saved += _step_len(rt.steps[i])
    if not removed:
        return rt, 0, reduce
    first = min(removed)
    chars = sum(_step_len(rt.steps[i]) for i in removed)
    marker, elided = _marker(chars, f"{len(removed)} middle steps", tpc)
    kept = tuple(s for i, s in enumerate(rt.steps) if i not in removed)
    return replace(rt, steps=kept, gaps={first: marker}), elided, reduce - saved + len(marker)


def _cut_ends(rt: RecordText, reduce: int, tpc: float) -> tuple[RecordText, int]:
    """Phase 4: issue, patch, first and last steps to a common cap (head and tail kept)."""
    steps = list(rt.steps)
    ends = sorted({0, len(steps) - 1}) if steps else []
    titled = [f"{steps[i].head}\n{steps[i].body}".partition("\n") for i in ends]  # the `[step N]` line stays
    texts = [rt.issue, rt.patch] + [rest for _, _, rest in titled]
    cap = water_level([len(t) for t in texts], reduce) or 0
    whats = ["issue text", "patch"] + ["step text"] * len(ends)
    cut = [cut_middle(t, cap, w, tpc) for t, w in zip(texts, whats, strict=True)]
    for k, i in enumerate(ends):
        if cut[2 + k][1]:  # changed: the step becomes its title line and the cut text
            steps[i] = StepText(head=f"{titled[k][0]}\n{cut[2 + k][0]}", body="",
                                is_observation=steps[i].is_observation)
    return replace(rt, issue=cut[0][0], patch=cut[1][0], steps=tuple(steps)), sum(n for _, n in cut)


def shorten_record_text(rt: RecordText, reduce_chars: int, tokens_per_char: float) -> Shortened:
    """Remove at least `reduce_chars` characters from `rt` by the documented rule (module docstring).

    Pure and applied to the original each time, so a caller can retry with a larger reduction.
    """
    if reduce_chars <= 0:
        return Shortened(rt, 0)
    out, elided, left = _cut_middle_bodies(rt, reduce_chars, tokens_per_char, observations=True)
    if left > 0:
        out, more, left = _cut_middle_bodies(out, left, tokens_per_char, observations=False)
        elided += more
    if left > 0:
        out, more, left = _drop_middle_steps(out, left, tokens_per_char)
        elided += more
    if left > 0:
        out, more = _cut_ends(out, left, tokens_per_char)
        elided += more
    return Shortened(out, elided)
