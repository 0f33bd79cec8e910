"""The prompt is a template file: the default one renders exactly the messages the code-built prompt did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mira_core.errors import ConfigError
from mira_core.scoring.prompt import build_prompt, prompt_version
from mira_core.scoring.prompt_template import load_template
from mira_core.settings import DEFAULT_PROMPT_TEMPLATE, Settings
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


def test_the_default_template_is_the_settings_default_and_its_text_is_in_the_version(tmp_path):
    default = load_template(Settings().prompt_template)
    assert default.path == DEFAULT_PROMPT_TEMPLATE and "{% block system %}" in default.source
    v = prompt_version(RUBRIC, CALIBRATION)
    assert prompt_version(RUBRIC, CALIBRATION, default) == v
    # a comment changes no message but is part of the template text: the version changes
    commented = tmp_path / "p.j2"
    commented.write_text("{# a team's note #}\n" + default.source, encoding="utf-8")
    other = load_template(commented)
    record = CASES["rich"][0]
    assert build_prompt(record, RUBRIC, CALIBRATION, template=other).user == build_prompt(record, RUBRIC, CALIBRATION).user
    assert prompt_version(RUBRIC, CALIBRATION, other) != v


TEAM_TEMPLATE = """{% block system %}
Rubric:
{% for a in anchors %}
{{ a.slot }}={{ a.name }}
{% endfor %}
{% for ref in calibration %}
ref {{ ref.id }} {{ "%.1f"|format(ref.score) }} <{{ ref.excerpt[:10] }}> & co
{% endfor %}
{% endblock %}
{% block user %}
<record source="{{ record.source }}">
{{ record.issue }}
{{ record.trajectory }}
</record>
{% for a in anchors %}
[{{ a.slot }}] {{ a.name }}: <score>/10 — <justification>
{% endfor %}
{% endblock %}
"""


def test_a_team_template_from_MIRA_PROMPT_TEMPLATE_renders_its_own_wording(tmp_path, monkeypatch):
    path = tmp_path / "team.j2"
    path.write_text(TEAM_TEMPLATE, encoding="utf-8")
    monkeypatch.setenv("MIRA_PROMPT_TEMPLATE", str(path))
    template = load_template(Settings().prompt_template)
    record = CASES["rich"][0]
    p = build_prompt(record, RUBRIC, CALIBRATION, template=template)
    assert p.system.startswith("Rubric:\nA1=Plan Quality / Reasoning Transparency (Goal Achievement)\nA2=")
    # no autoescape: `<`, `>`, `&` and quotes stay as written
    assert "ref cal-01 9.0 <Agent repr> & co" in p.system and not p.system.endswith("\n")
    assert p.user.startswith('<record source="agent_openhands">\nThe parser crashes on')
    assert "{{ not jinja }}" in p.user and "{% raw %} 100%" in p.user  # record text is data, never template
    assert p.user.endswith("[A15] Tool Selection (Safety & Scope): <score>/10 — <justification>")
    assert p.prompt_version != prompt_version(RUBRIC, CALIBRATION)


@pytest.mark.parametrize(("source", "message"), [
    ("{% block system %}x{% endblock %}\n{% block user %}\n{% for a in anchors %}\n", r"bad\.j2:\d+: .*endfor"),
    ("{% block system %}x{% endblock %}", r"bad\.j2: no 'user' block"),
    ("{% block system %}{{ anchor }}{% endblock %}{% block user %}u{% endblock %}",
     r"bad\.j2: block 'system': 'anchor' is undefined"),
    ("{% block system %}{{ record.issue }}{% endblock %}{% block user %}u{% endblock %}",
     r"bad\.j2: block 'system': 'record' is undefined"),  # the system message is the same for every record
    ("{% block system %}{{ anchors.__class__.__mro__ }}{% endblock %}{% block user %}u{% endblock %}",
     r"bad\.j2: block 'system': .*unsafe"),
])
def test_template_mistakes_are_config_errors_naming_the_file(tmp_path, source, message):
    path = tmp_path / "bad.j2"
    path.write_text(source, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        build_prompt(CASES["rich"][0], RUBRIC, CALIBRATION, template=load_template(path))


def test_a_missing_template_file_says_which_setting(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.j2: cannot read the prompt template .*MIRA_PROMPT_TEMPLATE"):
        load_template(tmp_path / "nope.j2")
