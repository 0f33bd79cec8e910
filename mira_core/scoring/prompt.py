"""The scorer prompt: a fixed system message and a per-record user message.

The system message holds the rubric, then the calibration references; the user message holds the record
rendered compactly and faithfully, then the card's `[A1]..[A15]` answer template.

The system message is identical for every record, so vLLM's prefix cache reuses it. `prompt_version` is a
hash of everything that is not the record (templates, anchor names, calibration), stored with every
score so a change of prompt is visible. A record over the token budget is shortened by the rule in
`budget` and the returned prompt always fits: it is only returned after being counted.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from pydantic import BaseModel, Field

from mira_core.errors import ConfigError
from mira_core.records import Record, Step, StepKind
from mira_core.scoring.budget import RecordText, StepText, estimate_tokens, shorten_record_text
from mira_core.scoring.rubric import CalibrationRef, Rubric

# Bump when the way a record is rendered changes (the rendering code is not part of the hash otherwise).
RENDER_VERSION = "record-render-1"
# Tokens the chat template adds around the two messages (role markers, an empty think block).
CHAT_TEMPLATE_MARGIN = 64
_MAX_SHORTEN_ROUNDS = 6  # counts of shortened texts (each may be a /tokenize round trip)

SYSTEM_INTRO = (
    "You are MIRA-Agent-Group4, a scorer of software-engineering repository-repair agent trajectories "
    "(issue -> patch, with test-driven verification and minimal-diff style).\n"
    "Score the trajectory in the user message on every anchor dimension below, from 0 to 10, and justify "
    "each score in one sentence. Then give an overall score from 0 to 100, a training recommendation "
    "(keep, downsample or drop), a short domain tag and a one-sentence brief.\n"
    "Text marked `[... N tokens of ... elided by MIRA Curator ...]` was removed to fit the context; do not "
    "penalise the agent for it."
)

ANSWER_INTRO = "Answer with exactly these lines, one per anchor dimension, then the four summary lines:"
SUMMARY_TEMPLATE = (
    "overall: <0-100>\n"
    "training_recommendation: <keep | downsample | drop>\n"
    "domain_tag: <short tag>\n"
    "brief: <one-sentence summary>"
)


class Prompt(BaseModel):
    """The two messages for one record and what was done to fit them."""

    system: str
    user: str
    prompt_version: str = Field(description="Hash of templates + anchors + calibration (12 hex chars).")
    shortened: bool = Field(description="The record was shortened to fit the budget.")
    elided_tokens: int = Field(description="Tokens the elision markers stand for (0 when not shortened).")
    prompt_tokens: int = Field(description="Counted tokens of system + user (chat-template tokens excluded).")


def render_system(rubric: Rubric, calibration: Sequence[CalibrationRef]) -> str:
    """The system message: instructions, the anchor list, then the calibration references."""
    lines = [SYSTEM_INTRO, "", "Anchor dimensions:"]
    lines += [f"[{a.slot}] {a.name}" for a in rubric.anchors]
    if calibration:
        lines += ["", "Calibration references (canonical examples with their anchored scores):"]
        for i, ref in enumerate(calibration, start=1):
            score = f"{ref.score:g}"
            lines.append(f"{i}. [{ref.slot}] {rubric.name_of(ref.slot)}: {score}/10")
            lines.append(f"   Example: {ref.excerpt}")
            if ref.rationale:
                lines.append(f"   Why: {ref.rationale}")
    return "\n".join(lines)


def render_answer_template(rubric: Rubric) -> str:
    """The card's answer template: one `[Ai] <name>: <score>/10 — <justification>` line per slot."""
    lines = [f"[{a.slot}] {a.name}: <score>/10 — <justification>" for a in rubric.anchors]
    return "\n".join([ANSWER_INTRO, *lines, SUMMARY_TEMPLATE])


def prompt_version(rubric: Rubric, calibration: Sequence[CalibrationRef]) -> str:
    """12 hex chars of sha256 over the system message, the answer template and RENDER_VERSION."""
    h = hashlib.sha256()
    for part in (RENDER_VERSION, render_system(rubric, calibration), render_answer_template(rubric)):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:12]


def _arg_lines(args: Mapping[str, object]) -> list[str]:
    out = []
    for key, value in args.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        out.append(f"  {key}:\n{text}" if "\n" in text else f"  {key}: {text}")
    return out


def _step_text(number: int, step: Step) -> StepText:
    bits = [f"[step {number}] {step.kind.value} ({step.role})"]
    if step.tool_name:
        bits.append(f"tool: {step.tool_name}")
    if step.exit_code is not None:
        bits.append(f"exit_code: {step.exit_code}")
    if step.error:
        bits.append("error")
    head = "\n".join([" · ".join(bits), *(_arg_lines(step.tool_args) if step.tool_args else [])])
    return StepText(head=head, body=step.content, is_observation=step.kind == StepKind.observation)


def record_text(record: Record) -> RecordText:
    """The cuttable parts of a record: issue, steps, patch (rendered, nothing dropped)."""
    steps = tuple(_step_text(i, s) for i, s in enumerate(record.steps, start=1))
    return RecordText(issue=record.issue, steps=steps, patch=record.patch)


def _header(record: Record) -> str:
    lines = ["Score this software-engineering repair trajectory.", "", "## Record", f"source: {record.source}"]
    if record.repo:
        lines.append(f"repo: {record.repo}")
    if record.instance_id:
        lines.append(f"instance: {record.instance_id}")
    lines.append(f"steps: {len(record.steps)}")
    return "\n".join(lines)


def _outcome(record: Record) -> str:
    lines = ["## Outcome", f"outcome: {record.outcome.value}"]
    if record.exit_status:
        lines.append(f"exit_status: {record.exit_status}")
    rep = record.report
    if rep is not None:
        counts = {k: v for k, v in rep.model_dump(exclude={"report_file"}).items() if v is not None}
        if counts:
            lines.append("tests: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return "\n".join(lines)


def render_user(record: Record, rt: RecordText, answer_template: str) -> str:
    """The user message for (possibly shortened) record parts."""
    parts = [_header(record), "", "## Issue", rt.issue or "(empty)", "", "## Trajectory"]
    if not rt.steps:
        parts.append("(no steps)")
    for i, step in enumerate(rt.steps):
        if i in rt.gaps:
            parts.append(rt.gaps[i])
        parts.append(f"{step.head}\n{step.body}" if step.body else step.head)
    parts += ["", "## Final patch", rt.patch or "(no patch)", "", _outcome(record), "", "## Answer", answer_template]
    return "\n".join(parts)


def build_prompt(record: Record, rubric: Rubric, calibration: list[CalibrationRef], *, max_model_len: int = 65536,
                 max_tokens: int = 2048, count_tokens: Callable[[str], int] | None = None) -> Prompt:
    """The prompt for one record, fitted to max_model_len − max_tokens − system − CHAT_TEMPLATE_MARGIN.

    `count_tokens` is the endpoint's tokenizer when it has one (else `budget.estimate_tokens`). Raises
    ConfigError when even the fully shortened record cannot fit (a budget too small for the template).
    """
    count = count_tokens or estimate_tokens
    system = render_system(rubric, calibration)
    template = render_answer_template(rubric)
    version = prompt_version(rubric, calibration)
    sys_tokens = count(system)
    budget = max_model_len - max_tokens - sys_tokens - CHAT_TEMPLATE_MARGIN
    original = record_text(record)
    user = render_user(record, original, template)
    user_tokens = count(user)
    if user_tokens <= budget:
        return Prompt(system=system, user=user, prompt_version=version, shortened=False, elided_tokens=0,
                      prompt_tokens=sys_tokens + user_tokens)
    fitted = _fit(record, original, template, count, budget, user, user_tokens)
    if fitted is None:
        raise ConfigError(
            f"record {record.record_id}: the prompt cannot fit max_model_len={max_model_len} with "
            f"max_tokens={max_tokens} ({sys_tokens} tokens of system prompt): raise --max-model-len or lower "
            "max_tokens"
        )
    return Prompt(system=system, user=fitted.user, prompt_version=version, shortened=True,
                  elided_tokens=fitted.elided, prompt_tokens=sys_tokens + fitted.tokens)


@dataclass(frozen=True)
class PromptBuilder:
    """`build_prompt` with everything but the record fixed: what one job run scores with."""

    rubric: Rubric
    calibration: list[CalibrationRef]
    max_model_len: int
    max_tokens: int
    count_tokens: Callable[[str], int] | None = None
    """The endpoint's tokenizer when it has one (else `budget.estimate_tokens`)."""

    def build(self, record: Record) -> Prompt:
        """The prompt for `record` (raises ConfigError when it cannot fit, as `build_prompt`)."""
        return build_prompt(record, self.rubric, self.calibration, max_model_len=self.max_model_len,
                            max_tokens=self.max_tokens, count_tokens=self.count_tokens)


class _Fitted(NamedTuple):
    """A shortened user message that was counted."""

    user: str
    tokens: int
    elided: int


def _shortened(record: Record, original: RecordText, template: str, count: Callable[[str], int], tpc: float,
               reduce: int) -> _Fitted:
    short = shorten_record_text(original, reduce, tpc)
    user = render_user(record, short.text, template)
    return _Fitted(user, count(user), short.elided_tokens)


def _fit(record: Record, original: RecordText, template: str, count: Callable[[str], int], budget: int,
         user: str, user_tokens: int) -> _Fitted | None:
    """The least shortened user message found that fits `budget`, or None if nothing fits.

    Searches the reduction (chars `shorten_record_text` removes) in a bracket: `lo` is known not to fit
    (at first 0, the full record), `hi` is the smallest reduction known to fit (at first `most`, everything
    the rule may remove, not yet counted). The first try is the reduction the full text's tokens per char
    ask for, aiming 1% under the budget. From there, steps of a quarter of the budget, doubling and never
    past the middle, look for the other end of the bracket (the count jumps where whole steps go, so no
    interpolation is trusted); once both ends are measured it is plain bisection. It stops when a fitting
    text is within ~3% of the budget or the bracket is under 64 chars, after at most _MAX_SHORTEN_ROUNDS
    counts, then tries `most` if nothing fitted.
    """
    tpc = user_tokens / max(1, len(user))
    most = len(user) + 1
    close_enough = budget - max(16, budget // 32)
    step = max(64, math.ceil(budget / tpc / 4))
    lo, hi, best = 0, most, None
    reduce = min(most - 1, math.ceil((user_tokens - budget + max(8, budget // 100)) / tpc) + 64)
    for _ in range(_MAX_SHORTEN_ROUNDS):
        tried = _shortened(record, original, template, count, tpc, reduce)
        if tried.tokens <= budget:
            hi, best = reduce, tried
            if tried.tokens >= close_enough:
                break
        else:
            lo = reduce
        if hi - lo <= 64:
            break
        middle = (lo + hi) // 2
        if best is None:  # nothing fits yet: step up from the longest text known not to fit
            reduce = min(lo + step, middle)
        elif lo == 0:  # nothing measured below the fitting text yet: step down from it
            reduce = max(hi - step, middle)
        else:
            reduce = middle
        step *= 2
    if best is None:
        last = _shortened(record, original, template, count, tpc, most)
        best = last if last.tokens <= budget else None
    return best
