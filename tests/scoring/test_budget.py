"""Token estimate and the documented shortening rule: middle observations, other middle texts, middle steps,
then the ends."""

from __future__ import annotations

import math

from mira_core.scoring.budget import (
    _MARKER_CHARS,
    ELISION_MARKER,
    RecordText,
    StepText,
    cut_middle,
    estimate_tokens,
    shorten_record_text,
    water_level,
)


def test_estimate_counts_utf8_bytes_with_margin():
    # 27 ASCII bytes / 2.7 = 10, + 4 slack
    assert estimate_tokens("a" * 27) == 14
    # "é" is 2 bytes, "中" 3, "😀" 4: 9 bytes -> ceil(3.33) + 4
    assert estimate_tokens("é中😀") == 8
    assert estimate_tokens("") == 4


def test_estimate_over_counts_ordinary_english():
    text = "The agent reproduces the failure, edits the parser and runs the tests again. " * 50
    assert estimate_tokens(text) > len(text) / 4 * 1.3  # ~4 chars per real token


def test_estimate_survives_lone_surrogates():
    assert estimate_tokens("x\ud800y") == math.ceil(5 / 2.7) + 4


def test_cut_middle_keeps_head_and_tail_around_a_visible_marker():
    text = "H" * 100 + "m" * 1000 + "T" * 100
    out, n = cut_middle(text, 200, "observation", 0.25)
    head, marker, tail = out.split("\n")
    assert head == "H" * 100 and tail == "T" * 100
    assert marker == ELISION_MARKER.format(n=250, what="observation")  # 1000 removed chars * 0.25
    assert n == 250


def test_cut_middle_leaves_short_text_alone_and_cuts_to_marker_only():
    assert cut_middle("short", 0, "x", 1.0) == ("short", 0)
    out, n = cut_middle("z" * 500, 0, "patch", 0.5)
    assert out == ELISION_MARKER.format(n=250, what="patch") and n == 250


def test_water_level_is_the_largest_cap_that_saves_enough():
    lengths = [5000, 2000, 300]
    cap = water_level(lengths, 3000)
    assert cap is not None

    def saving(c):
        return sum(n - c - _MARKER_CHARS for n in lengths if n > c + _MARKER_CHARS)

    assert saving(cap) >= 3000 > saving(cap + 1)
    # Cutting only the longest: 5000 - cap - marker >= 3000 -> cap = 2000 - marker (the 2000 one is untouched)
    assert cap == 2000 - _MARKER_CHARS
    assert water_level(lengths, 10_000) is None
    assert water_level([], 1) is None


def rt(n_steps: int, obs_len: int = 1000) -> RecordText:
    steps = []
    for i in range(n_steps):
        obs = i % 2 == 1
        steps.append(StepText(head=f"[step {i + 1}]", body=(f"O{i}:" + "o" * obs_len) if obs else f"action {i} " + "a" * 200,
                              is_observation=obs))
    return RecordText(issue="ISSUE " + "i" * 500, steps=tuple(steps), patch="PATCH " + "p" * 500)


def test_nothing_to_remove_is_unchanged():
    r = rt(5)
    assert shorten_record_text(r, 0, 0.3).text == r


def test_phase1_cuts_only_middle_observations_longest_first():
    steps = [StepText("[step 1]", "first obs " + "f" * 3000, True),
             StepText("[step 2]", "long " + "L" * 4000, True),
             StepText("[step 3]", "short " + "s" * 300, True),
             StepText("[step 4]", "last obs " + "l" * 3000, True)]
    r = RecordText(issue="issue", steps=tuple(steps), patch="patch")
    out = shorten_record_text(r, 2000, 0.3)
    new = out.text.steps
    assert new[0] == steps[0] and new[3] == steps[3]  # first and last steps whole
    assert new[2] == steps[2]  # the short one is below the water level
    assert "elided by MIRA Curator" in new[1].body and new[1].body.startswith("long ")
    assert len(steps[1].body) - len(new[1].body) >= 2000
    assert out.elided_tokens > 0 and out.text.issue == "issue" and out.text.patch == "patch"


def test_phase2_cuts_other_middle_texts_before_dropping_steps():
    steps = (StepText("[step 1]", "first", False), StepText("[step 2]", "o" * 300, True),
             StepText("[step 3]", "THOUGHT-HEAD " + "t" * 5000 + " THOUGHT-TAIL", False),
             StepText("[step 4]", "last", False))
    out = shorten_record_text(RecordText(issue="i", steps=steps, patch="p"), 1000, 0.3).text
    assert [s.head for s in out.steps] == ["[step 1]", "[step 2]", "[step 3]", "[step 4]"]
    body = out.steps[2].body
    assert body.startswith("THOUGHT-HEAD") and body.endswith("THOUGHT-TAIL")
    assert "tokens of step text elided by MIRA Curator" in body
    assert "elided" in out.steps[1].body  # observations went first (to the marker: 300 was not enough)


def test_phase3_removes_middle_steps_from_the_centre_outward():
    r = rt(21, obs_len=1000)
    total_middle = sum(len(s.body) for s in r.steps[1:-1])
    out = shorten_record_text(r, total_middle, 0.3)  # more than phases 1-2 can save (markers take room back)
    kept = [s.head for s in out.text.steps]
    assert kept[0] == "[step 1]" and kept[-1] == "[step 21]"
    removed = sorted({s.head for s in r.steps} - set(kept), key=lambda h: int(h.split()[1][:-1]))
    numbers = [int(h.split()[1][:-1]) for h in removed]
    assert 1 < len(numbers) < 19  # some, not all, middle steps
    assert numbers == list(range(numbers[0], numbers[-1] + 1))  # one contiguous run ...
    assert abs((numbers[0] + numbers[-1]) / 2 - 11) <= 1  # ... around the centre
    (gap,) = out.text.gaps.values()
    assert f"{len(numbers)} middle steps elided by MIRA Curator" in gap
    assert out.text.issue == r.issue and out.text.patch == r.patch
    assert out.text.steps[0] == r.steps[0] and out.text.steps[-1] == r.steps[-1]


def test_phase4_cuts_issue_patch_and_ends_keeping_head_and_tail():
    r = RecordText(issue="ISSUE-HEAD " + "i" * 20_000 + " ISSUE-TAIL", steps=(
        StepText("[step 1]", "a" * 100, False), StepText("[step 2]", "b" * 100, True),
        StepText("[step 3]", "c" * 100, False)), patch="diff --git " + "p" * 20_000 + " PATCH-TAIL")
    out = shorten_record_text(r, 30_000, 0.3).text
    assert out.issue.startswith("ISSUE-HEAD") and out.issue.endswith("ISSUE-TAIL")
    assert out.patch.startswith("diff --git") and out.patch.endswith("PATCH-TAIL")
    assert "tokens of issue text elided by MIRA Curator" in out.issue
    assert "tokens of patch elided by MIRA Curator" in out.patch
    assert [s.head for s in out.steps] == ["[step 1]", "[step 3]"]  # the middle step went in phase 3
    assert len(out.issue) + len(out.patch) < 40_100 - 30_000


def test_shorten_is_monotone_in_the_reduction():
    r = rt(30, obs_len=2000)

    def size(x: RecordText) -> int:
        return len(x.issue) + len(x.patch) + sum(len(s.head) + len(s.body) for s in x.steps) + sum(
            len(g) for g in x.gaps.values())

    sizes = [size(shorten_record_text(r, k, 0.3).text) for k in (0, 1000, 5000, 20_000, 40_000, 10**9)]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] - sizes[2] >= 5000
