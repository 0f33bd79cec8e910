"""Parse the scorer's text answer into per-slot (score, rationale) and the four summary fields.

Tolerant of what models really emit (markdown emphasis, bullets, `—`/`–`/`-`/`:` separators, decimals,
CRLF, capitalisation, a `<think>` block, a reason after the recommendation, scores without `/10`), strict
where it matters: a number outside its range, NaN/inf, non-ASCII digits, `8_5`, `1e1` or a recommendation
outside keep/downsample/drop makes that field invalid (None) with a problem; nothing is guessed.

Only a line that *starts* with `[Ai]` (after bullets/emphasis) is a slot line, and only a line that starts
with a summary key is a summary line: a rationale quoting `[A3] ...: 9/10` can never change a score.
The name on a slot line is checked against its slot (`name_problem`). `parse_scorer_output` never raises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, NamedTuple

from pydantic import BaseModel, Field

from mira_core.dimensions import SLOTS, slot_names

if TYPE_CHECKING:
    from mira_core.scoring.rubric import Rubric

RECOMMENDATIONS = ("keep", "downsample", "drop")
SUMMARY_FIELDS = ("overall", "training_recommendation", "domain_tag", "brief")

Recommendation = Literal["keep", "downsample", "drop"]


class Problem(BaseModel):
    """Why a field is missing or invalid.

    kind: missing, duplicate, out_of_range, not_a_number, unknown_slot, wrong_name, unexpected_name,
    invalid_overall, invalid_recommendation, missing_field, empty_field, duplicate_field, unclosed_think,
    parser_error.
    """

    slot: str | None = Field(description="The slot concerned; None for summary fields and whole-output issues.")
    kind: str
    detail: str


class DimScore(BaseModel):
    """One slot's score (None when invalid) and rationale."""

    score: float | None
    rationale: str


class ParsedScore(BaseModel):
    """Everything read from one output; invalid fields are None and listed in `problems`."""

    dimensions: dict[str, DimScore] = Field(default_factory=dict, description="Slots found, in slot order.")
    overall: int | None = None
    training_recommendation: Recommendation | None = None
    domain_tag: str | None = None
    brief: str | None = None
    complete: bool = Field(
        default=False,
        description="Every expected slot has a valid score, no slot is duplicated, all summary fields valid.",
    )
    problems: list[Problem] = Field(default_factory=list)


# A slot line: optional list bullet / quote / heading / number, optional emphasis, then `[A<n>]`.
_SLOT_HEAD = re.compile(
    r"[ \t]*(?:(?P<bullet>[-*+>|]|\#{1,6}|\d{1,3}[.)])[ \t]+)?(?P<em>[*_]{0,3})[ \t]*"
    r"\[[ \t]*A(?P<num>[0-9]{1,3})[ \t]*\][*_]{0,3}",
    re.ASCII | re.IGNORECASE,
)
_SUMMARY_HEAD = re.compile(
    r"[ \t]*(?:[-*+>]|\#{1,6})?[ \t]*[*_]{0,3}[ \t]*"
    r"(?P<key>overall(?:[ _]score)?|training[ _-]?recommendation|domain[ _-]?tag|brief)"
    r"[ \t]*[*_]{0,3}[ \t]*[:=][*_]{0,3}[ \t]*(?P<value>.*)",
    re.ASCII | re.IGNORECASE,
)
# Separators between name and score; a hyphen only counts next to whitespace (names may hold `Multi-turn`).
_SEP = re.compile(r"[:—–|]|(?<=\s)-|-(?=\s)")
_TOKEN = re.compile(r"[ \t]*[*_]{0,3}[ \t]*(?P<tok>[^\s/*|—–()\[\]]+)[*_]{0,3}[ \t]*(?P<den>/[ \t]*10(?![0-9.]))?")
_BARE_SCORE = re.compile(r"(?:^|\s)[*_]{0,3}(?P<tok>[^\s/*|—–()\[\]]+)[*_]{0,3}[ \t]*/[ \t]*10(?![0-9.])")
_NUMBERISH = re.compile(r"[+\-]?\.?\d")  # Unicode \d on purpose: a non-ASCII digit is a score, just invalid
_VALID_SCORE = re.compile(r"[0-9]+(?:\.[0-9]+)?[.,;:]?", re.ASCII)  # `7,` ends a sentence; `7,5` is invalid
_NEGATIVE = re.compile(r"-[0-9]+(?:\.[0-9]+)?", re.ASCII)
_LEAD_SEP = re.compile(r"[ \t]*[*_]{0,3}[ \t]*(?:[—–|:]|--?(?=\s|$))?[ \t]*")
_THINK_OPEN = re.compile(r"\s*<think(?:ing)?>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think(?:ing)?>", re.IGNORECASE)
_THINK_CLOSE_LINE = re.compile(r"^[ \t]*</think(?:ing)?>", re.IGNORECASE | re.MULTILINE)
_WORD = re.compile(r"[*_`\"' \t]*(?P<word>[A-Za-z]+)", re.ASCII)
_WORDS = re.compile(r"[a-z]+", re.ASCII)
_REASON_SEP = re.compile(r"\s[-—–(:]|[—–(:]")
_OVERALL = re.compile(
    r"[*_`]*(?P<num>[0-9]{1,6}(?:\.0+)?)[*_`]*(?:[ \t]*/[ \t]*100)?(?=$|[\s,;—–(-]|\.(?![0-9]))", re.ASCII
)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _answer_part(text: str, problems: list[Problem]) -> str:
    """The text after a reasoning block: `<think>…</think>` at the start, or a bare `</think>` line.

    An unclosed block (the model ran out of tokens while thinking) leaves no answer.
    """
    opened = _THINK_OPEN.match(text)
    if opened:
        close = _THINK_CLOSE.search(text, opened.end())
        if close is None:
            problems.append(Problem(slot=None, kind="unclosed_think", detail="<think> block never closed: no answer"))
            return ""
        return text[close.end():]
    close_line = _THINK_CLOSE_LINE.search(text)
    return text[close_line.end():] if close_line else text


def _read_score(tok: str) -> tuple[float | None, str | None, str]:
    """(score, problem kind, detail) for a score token, strict: ASCII digits, 0..10, finite."""
    if _VALID_SCORE.fullmatch(tok):
        value = float(tok.rstrip(".,;:"))
        if math.isfinite(value) and 0 <= value <= 10:
            return value, None, ""
        return None, "out_of_range", f"score {_short(tok)!r} is outside 0..10"
    if _NEGATIVE.fullmatch(tok):
        return None, "out_of_range", f"score {_short(tok)!r} is outside 0..10"
    return None, "not_a_number", f"score {_short(tok)!r} is not a plain number (ASCII digits, optional decimals)"


class _SlotRest(NamedTuple):
    """The text after `[Ai]`: the name written before the score, the score token (None: none) and the rest."""

    name: str
    token: str | None
    tail: str


def _split_slot_rest(rest: str) -> _SlotRest:
    """Name, score token and rationale from the text after `[Ai]` (name, separator, score, rationale)."""
    for sep in _SEP.finditer(rest):
        m = _TOKEN.match(rest, sep.end())
        if m and (m.group("den") or _NUMBERISH.match(m.group("tok")) or m.group("tok").lower().lstrip("+-")
                  in ("nan", "inf", "infinity")):
            return _SlotRest(rest[:sep.start()], m.group("tok"), rest[m.end():])
        if sep.group() == ":":  # `name:` not followed by a score: a number later in the rationale is not taken
            bare = _BARE_SCORE.search(rest, sep.end())
            return _SlotRest(rest[:sep.start()], bare.group("tok") if bare else None,
                             rest[bare.end():] if bare else rest[sep.end():])
    bare = _BARE_SCORE.search(rest)
    if bare:
        return _SlotRest(rest[:bare.start()], bare.group("tok"), rest[bare.end():])
    return _SlotRest("", None, rest)


def _name_key(text: str) -> str:
    """A name as compared: no emphasis or table bars around it, spaces collapsed, case folded."""
    return " ".join(text.replace("*", " ").replace("`", " ").strip(" \t|:—–-_").split()).casefold()


def name_problem(slot: str, written: str, names: Mapping[str, str]) -> tuple[str, str] | None:
    """(kind, detail) when the name written on a slot line does not fit the slot, else None.

    `wrong_name`: it is another slot's name (`[A14] Error Recovery` when A14 is Tool Selection): the line
    answers another dimension, so its score is not taken for this slot. `unexpected_name`: neither this
    slot's name, a leading part of it (`[A4] Plan Quality`), nor another's: reported, the score kept.
    No name at all (`[A4]: 7/10`) is fine.
    """
    key, expected = _name_key(written), names.get(slot)
    if not key or expected is None or key == _name_key(expected):
        return None
    other = next((s for s, n in names.items() if s != slot and _name_key(n) == key), None)
    if other is not None:
        return "wrong_name", f"[{slot}] is {expected!r}, the line names {other} ({names[other]!r})"
    full = _name_key(expected)
    if full.startswith(key) and (len(full) == len(key) or not full[len(key)].isalnum()):
        return None
    return "unexpected_name", f"[{slot}] is {expected!r}, the line says {_short(written.strip(), 60)!r}"


def _as_recommendation(word: str) -> Recommendation:
    """`word`, known to be one of RECOMMENDATIONS, as the Literal type."""
    if word == "keep":
        return "keep"
    return "downsample" if word == "downsample" else "drop"


def _rationale(tail: str, em: str, table_row: bool) -> str:
    lead = _LEAD_SEP.match(tail)  # every part is optional, so it always matches (possibly empty)
    text = tail[lead.end() if lead else 0:].strip()
    if em and text.endswith(em) and text.count(em) % 2 == 1:
        text = text[: -len(em)].rstrip()
    if table_row and text.endswith("|"):  # `| [A1] | name | 7/10 | rationale |`
        text = text[:-1].rstrip()
    return text


def _parse_slot_line(m: re.Match[str], line: str, slots: Sequence[str], names: Mapping[str, str],
                     out: ParsedScore, seen: dict[str, int], no: int) -> None:
    num = m.group("num")
    slot = f"A{num}"
    if num.startswith("0") or slot not in slots:
        out.problems.append(Problem(slot=None, kind="unknown_slot", detail=f"line {no}: [{_short(slot)}] is not a slot"))
        return
    if slot in seen:
        out.problems.append(Problem(slot=slot, kind="duplicate",
                                    detail=f"line {no}: {slot} appears again (first at line {seen[slot]}); first kept"))
        return
    seen[slot] = no
    written_name, tok, tail = _split_slot_rest(line[m.end():])
    rationale = _rationale(tail, m.group("em"), m.group("bullet") == "|")
    if tok is None:
        out.dimensions[slot] = DimScore(score=None, rationale=rationale)
        out.problems.append(Problem(slot=slot, kind="not_a_number", detail=f"line {no}: no score found"))
        return
    score, kind, detail = _read_score(tok)
    named = name_problem(slot, written_name, names)
    if named:
        out.problems.append(Problem(slot=slot, kind=named[0], detail=f"line {no}: {named[1]}"))
        if named[0] == "wrong_name":
            score = None
    out.dimensions[slot] = DimScore(score=score, rationale=rationale)
    if kind:
        out.problems.append(Problem(slot=slot, kind=kind, detail=f"line {no}: {detail}"))


def _summary_key(raw: str) -> str:
    k = raw.lower()
    if k.startswith("overall"):
        return "overall"
    if k.startswith("training"):
        return "training_recommendation"
    if k.startswith("domain"):
        return "domain_tag"
    return "brief"


def _parse_summary(key: str, value: str, out: ParsedScore, no: int) -> None:
    value = value.strip()
    if key == "overall":
        m = _OVERALL.match(value)
        n = int(m.group("num").split(".")[0]) if m else None
        if n is not None and 0 <= n <= 100:
            out.overall = n
        else:
            out.problems.append(Problem(slot=None, kind="invalid_overall",
                                        detail=f"line {no}: overall {_short(value)!r} is not an integer 0..100"))
    elif key == "training_recommendation":
        w = _WORD.match(value)
        word = w.group("word").lower() if w else ""
        head = _REASON_SEP.split(value, maxsplit=1)[0].lower()  # before the reason: `keep or drop` is ambiguous
        if word in RECOMMENDATIONS and len({x for x in _WORDS.findall(head) if x in RECOMMENDATIONS}) == 1:
            out.training_recommendation = _as_recommendation(word)
        else:
            out.problems.append(Problem(slot=None, kind="invalid_recommendation",
                                        detail=f"line {no}: {_short(value)!r} is not keep, downsample or drop"))
    else:
        text = value.strip("*_` \t")
        if text:
            setattr(out, key, text)
        else:
            out.problems.append(Problem(slot=None, kind="empty_field", detail=f"line {no}: {key} is empty"))


def _parse(text: str, slots: Sequence[str], names: Mapping[str, str]) -> ParsedScore:
    out = ParsedScore()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    answer = _answer_part(text, out.problems)
    first_line = text.count("\n", 0, len(text) - len(answer)) + 1  # line numbers refer to the whole output
    seen: dict[str, int] = {}
    summary_seen: dict[str, int] = {}
    for no, line in enumerate(answer.split("\n"), start=first_line):
        m = _SLOT_HEAD.match(line)
        if m:
            _parse_slot_line(m, line, slots, names, out, seen, no)
            continue
        s = _SUMMARY_HEAD.match(line)
        if s:
            key = _summary_key(s.group("key"))
            if key in summary_seen:
                out.problems.append(Problem(slot=None, kind="duplicate_field",
                                            detail=f"line {no}: {key} appears again (first at line "
                                                   f"{summary_seen[key]}); first kept"))
                continue
            summary_seen[key] = no
            _parse_summary(key, s.group("value"), out, no)
    out.dimensions = {s: out.dimensions[s] for s in slots if s in out.dimensions}
    for slot in slots:
        if slot not in seen:
            out.problems.append(Problem(slot=slot, kind="missing", detail=f"no line starting with [{slot}]"))
    for key in SUMMARY_FIELDS:
        if key not in summary_seen:
            out.problems.append(Problem(slot=None, kind="missing_field", detail=f"no line starting with {key}:"))
    out.complete = (
        all(s in out.dimensions and out.dimensions[s].score is not None for s in slots)
        and not any(p.kind == "duplicate" for p in out.problems)
        and all(getattr(out, k) is not None for k in SUMMARY_FIELDS)
    )
    return out


def parse_scorer_output(text: str, slots: Sequence[str] = SLOTS, names: Mapping[str, str] | None = None) -> ParsedScore:
    """Parse one raw output. Never raises: an unexpected failure becomes a `parser_error` problem.

    `names` ({slot: name}, default: the project's anchors file) are what slot lines' names are checked against.
    """
    if not isinstance(text, str):
        text = ""
    try:
        return _parse(text, tuple(slots), slot_names() if names is None else names)
    except Exception as exc:
        return ParsedScore(problems=[Problem(slot=None, kind="parser_error", detail=f"{type(exc).__name__}: {exc}")])


def format_score(score: float) -> str:
    """A score as the scorer writes it: `7`, `7.5`; never an exponent, and parses back to the same float."""
    if score.is_integer():
        return str(int(score))
    return format(Decimal(repr(score)), "f")


def _one_line(text: str) -> str:
    return " ".join(text.replace("\r", "\n").split("\n")).strip()


def render_scorer_output(parsed: ParsedScore, rubric: Rubric) -> str:
    """The card's text format for a parse (round-trip tests, the simulator).

    Missing fields are left out; an invalid score is written as `invalid/10` so it parses back as invalid.
    Newlines in text become spaces.
    """
    lines = []
    for slot in rubric.slots():
        dim = parsed.dimensions.get(slot)
        if dim is None:
            continue
        score = "invalid" if dim.score is None else format_score(dim.score)
        lines.append(f"[{slot}] {rubric.name_of(slot)}: {score}/10 — {_one_line(dim.rationale)}")
    if parsed.overall is not None:
        lines.append(f"overall: {parsed.overall}")
    if parsed.training_recommendation is not None:
        lines.append(f"training_recommendation: {parsed.training_recommendation}")
    if parsed.domain_tag is not None:
        lines.append(f"domain_tag: {_one_line(parsed.domain_tag)}")
    if parsed.brief is not None:
        lines.append(f"brief: {_one_line(parsed.brief)}")
    return "\n".join(lines)
