"""The scorer prompt: a fixed system message and a per-record user message, from a Jinja2 template file.

The wording lives in the template (`prompt_template`, default `anchors/group_D_prompt.j2`): the system message
holds the rubric, then the calibration references; the user message holds the record (rendered in code by
`record_render`, compactly and faithfully), then the card's `[A1]..[A15]` answer template.

The system message is identical for every record, so vLLM's prefix cache reuses it. `prompt_version` is a
hash of everything that is not the record (template text, anchor names, calibration), stored with every
score so a change of prompt is visible. A record over the token budget is shortened by the rule in
`budget` and the returned prompt always fits: it is only returned after being counted, or when it could
not exceed the budget even at one byte per token (no tokenizer gives fewer bytes per token).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from pydantic import BaseModel, Field

from mira_core.errors import ConfigError
from mira_core.records import Record
from mira_core.scoring.budget import RecordText, estimate_tokens, shorten_record_text, worst_case_tokens
from mira_core.scoring.prompt_template import (
    EMPTY_RECORD,
    PromptTemplate,
    anchor_variables,
    calibration_variables,
    load_template,
)
from mira_core.scoring.record_render import record_text, record_variables
from mira_core.scoring.rubric import CalibrationRef, Rubric
from mira_core.settings import DEFAULT_PROMPT_TEMPLATE

# Bump when the way a record is rendered changes (the rendering code is not part of the hash otherwise).
RENDER_VERSION = "record-render-1"
# Tokens the chat template adds around the two messages (role markers, an empty think block).
CHAT_TEMPLATE_MARGIN = 64
_MAX_SHORTEN_ROUNDS = 6  # counts of shortened texts (each may be a /tokenize round trip)
REFIT_SAFETY = 1.03
"""After a context-length refusal, the estimate is scaled by (endpoint's count / estimate) times this."""


class Prompt(BaseModel):
    """The two messages for one record and what was done to fit them."""

    system: str
    user: str
    prompt_version: str = Field(description="Hash of template + anchors + calibration (12 hex chars).")
    shortened: bool = Field(description="The record was shortened to fit the budget.")
    elided_tokens: int = Field(description="Tokens the elision markers stand for (0 when not shortened).")
    prompt_tokens: int = Field(description="Our count of system + user (chat-template tokens excluded): the "
                                           "endpoint's tokenizer near the budget, else the estimate.")
    fixed_tokens: int = Field(default=0, description="Tokens of the prompt that are not the record: the system "
                                                     "message and the user message of an empty record.")

    def record_tokens(self, usage_prompt_tokens: int | None) -> int | None:
        """The record's own tokens as the scorer measured them; None without the endpoint's usage count.

        The usage count less the fixed part, plus what the elision markers stand for when shortened (the
        chat template's few role markers stay in: it errs a little high, like the estimate).
        """
        if usage_prompt_tokens is None:
            return None
        return max(0, usage_prompt_tokens - self.fixed_tokens) + self.elided_tokens


def _fixed_variables(rubric: Rubric, calibration: Sequence[CalibrationRef]) -> dict[str, object]:
    return {"anchors": anchor_variables(rubric), "calibration": calibration_variables(rubric, calibration)}


def default_template() -> PromptTemplate:
    """MIRA Curator's own template, `anchors/group_D_prompt.j2` (the default of `Settings.prompt_template`)."""
    return load_template(DEFAULT_PROMPT_TEMPLATE)


def render_system(rubric: Rubric, calibration: Sequence[CalibrationRef], template: PromptTemplate | None = None) -> str:
    """The system message: the template's `system` block with the anchors and calibration references."""
    return (template or default_template()).render("system", _fixed_variables(rubric, calibration))


def prompt_version(rubric: Rubric, calibration: Sequence[CalibrationRef], template: PromptTemplate | None = None) -> str:
    """12 hex chars of sha256 over RENDER_VERSION, the template text and the messages of an empty record.

    The empty record's user message brings in the answer template and whatever else the template adds; the
    record itself is not hashed.
    """
    template = template or default_template()
    fixed = _fixed_variables(rubric, calibration)
    parts = (RENDER_VERSION, template.source, template.render("system", fixed),
             template.render("user", {**fixed, "record": EMPTY_RECORD}))
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class _UserRenderer:
    """Renders one record's user message from its (possibly shortened) parts."""

    record: Record
    template: PromptTemplate
    fixed: dict[str, object]

    def __call__(self, rt: RecordText) -> str:
        return self.template.render("user", {**self.fixed, "record": record_variables(self.record, rt)})


class _Fixed(NamedTuple):
    """What one builder renders once: the template, its variables, the system message, its count, the version."""

    template: PromptTemplate
    variables: dict[str, object]
    system: str
    system_tokens: int
    version: str
    fixed_tokens: int
    """System tokens plus those of an empty record's user message: what a usage count holds besides the record."""


def _scaled(count: Callable[[str], int], scale: float) -> Callable[[str], int]:
    return lambda text: math.ceil(count(text) * scale)


@dataclass(frozen=True)
class PromptBuilder:
    """Prompts for one job run: everything but the record fixed (template, anchors, budget, tokenizer)."""

    rubric: Rubric
    calibration: list[CalibrationRef]
    max_model_len: int = 65536
    max_tokens: int = 2048
    count_tokens: Callable[[str], int] | None = None
    """The endpoint's tokenizer when it has one (else `budget.estimate_tokens`)."""
    template: PromptTemplate | None = None
    """The prompt template (None: MIRA Curator's own)."""

    @cached_property
    def names(self) -> dict[str, str]:
        """{slot: dimension name} of the rubric: what the parser checks each answer line's name against."""
        return {a.slot: a.name for a in self.rubric.anchors}

    @cached_property
    def fixed(self) -> _Fixed:
        """The parts that are the same for every record (rendered and counted once)."""
        template = self.template or default_template()
        variables = _fixed_variables(self.rubric, self.calibration)
        system = template.render("system", variables)
        count = self.count_tokens or estimate_tokens
        system_tokens = count(system)
        empty_user = template.render("user", {**variables, "record": EMPTY_RECORD})
        return _Fixed(template, variables, system, system_tokens,
                      prompt_version(self.rubric, self.calibration, template), system_tokens + count(empty_user))

    def build(self, record: Record) -> Prompt:
        """The prompt for `record`, fitted to max_model_len − max_tokens − system − CHAT_TEMPLATE_MARGIN.

        Raises ConfigError when even the fully shortened record cannot fit (a budget too small for the template).
        """
        return self._build(record, self.count_tokens or estimate_tokens, self.fixed.system_tokens,
                           self.max_model_len, trust_worst_case=True)

    def refit(self, record: Record, sent: Prompt, reported_tokens: int, *, at_least: bool = False,
              reported_max_len: int | None = None) -> Prompt | None:
        """The prompt again, after the endpoint refused `sent` as `reported_tokens` long; None if it would not change.

        The user message is counted by the estimate scaled to what the endpoint found in `sent` (its count
        less our system count, over the estimate of `sent.user`, times REFIT_SAFETY), so no round trip is
        needed; when the endpoint gave only a lower bound (`at_least`), at one token per byte, an upper bound.
        Raises ConfigError when nothing fits.
        """
        sys_tokens = self.fixed.system_tokens
        if at_least:
            count: Callable[[str], int] = worst_case_tokens
        else:
            scale = REFIT_SAFETY * max(1, reported_tokens - sys_tokens) / estimate_tokens(sent.user)
            count = _scaled(estimate_tokens, scale)
        mml = min(self.max_model_len, reported_max_len or self.max_model_len)
        again = self._build(record, count, sys_tokens, mml, trust_worst_case=False)
        return None if again.user == sent.user else again

    def _build(self, record: Record, count: Callable[[str], int], sys_tokens: int, max_model_len: int,
               *, trust_worst_case: bool) -> Prompt:
        fixed = self.fixed
        budget = max_model_len - self.max_tokens - sys_tokens - CHAT_TEMPLATE_MARGIN
        render = _UserRenderer(record, fixed.template, fixed.variables)
        original = record_text(record)
        user = render(original)
        if trust_worst_case and worst_case_tokens(user) <= budget:  # fits even at 1 byte/token: no round trip
            return Prompt(system=fixed.system, user=user, prompt_version=fixed.version, shortened=False,
                          elided_tokens=0, prompt_tokens=sys_tokens + estimate_tokens(user),
                          fixed_tokens=fixed.fixed_tokens)
        user_tokens = count(user)
        if user_tokens <= budget:
            return Prompt(system=fixed.system, user=user, prompt_version=fixed.version, shortened=False,
                          elided_tokens=0, prompt_tokens=sys_tokens + user_tokens, fixed_tokens=fixed.fixed_tokens)
        fitted = _fit(render, original, count, budget, user, user_tokens)
        if fitted is None:
            raise ConfigError(
                f"record {record.record_id}: the prompt cannot fit max_model_len={max_model_len} with "
                f"max_tokens={self.max_tokens} ({sys_tokens} tokens of system prompt): raise --max-model-len or "
                "lower max_tokens"
            )
        return Prompt(system=fixed.system, user=fitted.user, prompt_version=fixed.version, shortened=True,
                      elided_tokens=fitted.elided, prompt_tokens=sys_tokens + fitted.tokens,
                      fixed_tokens=fixed.fixed_tokens)


def build_prompt(record: Record, rubric: Rubric, calibration: list[CalibrationRef], *, max_model_len: int = 65536,
                 max_tokens: int = 2048, count_tokens: Callable[[str], int] | None = None,
                 template: PromptTemplate | None = None) -> Prompt:
    """The prompt for one record (`PromptBuilder.build`; a job run keeps one builder for all its records)."""
    return PromptBuilder(rubric, calibration, max_model_len, max_tokens, count_tokens, template).build(record)


class _Fitted(NamedTuple):
    """A shortened user message that was counted."""

    user: str
    tokens: int
    elided: int


def _shortened(render: Callable[[RecordText], str], original: RecordText, count: Callable[[str], int],
               tpc: float, reduce: int) -> _Fitted:
    short = shorten_record_text(original, reduce, tpc)
    user = render(short.text)
    return _Fitted(user, count(user), short.elided_tokens)


def _fit(render: Callable[[RecordText], str], original: RecordText, count: Callable[[str], int], budget: int,
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
        tried = _shortened(render, original, count, tpc, reduce)
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
        last = _shortened(render, original, count, tpc, most)
        best = last if last.tokens <= budget else None
    return best
