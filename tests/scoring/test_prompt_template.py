"""The prompt is a template file: the default one renders exactly the messages the code-built prompt did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mira_core.scoring.prompt import build_prompt
from tests.scoring.prompt_cases import CALIBRATION, CASES, RUBRIC

EXPECTED = json.loads((Path(__file__).parent / "data" / "prompt_expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_default_template_renders_todays_prompt_byte_for_byte(name):
    record, with_calibration, kwargs = CASES[name]
    p = build_prompt(record, RUBRIC, CALIBRATION if with_calibration else [], **kwargs)
    want = EXPECTED[name]
    assert p.system.encode("utf-8") == want["system"].encode("utf-8")
    assert p.user.encode("utf-8") == want["user"].encode("utf-8")
    assert (p.shortened, p.elided_tokens) == (want["shortened"], want["elided_tokens"])
