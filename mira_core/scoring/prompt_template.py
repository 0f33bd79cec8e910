"""The prompt's wording as a Jinja2 template file (`anchors/group_D_prompt.j2` unless `MIRA_PROMPT_TEMPLATE`).

The file holds two blocks, `system` and `user`; each message is its block's text without the block's final
newline. Variables (see the default file's header for the full list): `anchors` (slot, name), `calibration`
(slot, name, score, score_text, excerpt, rationale, id, author) and, in `user`, `record`: the record as the
code renders it (header fields, issue, trajectory, patch, outcome), after the shortening rule. The record is
rendered in code because the budget rule cuts it; everything else a team might need to match another prompt
builder byte for byte is in the template.

The environment is sandboxed (a template cannot reach Python internals or change values), undefined names
are errors (a typo must not silently drop text from every prompt), and autoescape is off: it is a prompt, not
HTML, so `<score>` and `&` stay as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mira_core.errors import ConfigError
from mira_core.scoring.rubric import CalibrationRef, Rubric

BLOCKS = ("system", "user")

EMPTY_RECORD: dict[str, object] = {
    "source": "", "repo": "", "instance_id": "", "n_steps": 0, "issue": "", "trajectory": "", "patch": "",
    "outcome": "", "exit_status": "", "tests": "",
}
"""The `record` variable with nothing in it: what the prompt version renders (the record is not hashed)."""


def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True,
                                         lstrip_blocks=True, keep_trailing_newline=True)


@dataclass(frozen=True)
class PromptTemplate:
    """A loaded prompt template: its file, its text (hashed into the prompt version) and the compiled form."""

    path: Path
    source: str
    template: jinja2.Template

    def render(self, block: str, variables: Mapping[str, object]) -> str:
        """One message: block `block` rendered with `variables`, without its final newline.

        Raises ConfigError naming the file when the template uses a name it was not given.
        """
        ctx = self.template.new_context(dict(variables))
        try:
            text = "".join(self.template.blocks[block](ctx))
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"{self.path}: block {block!r}: {exc.message} (variables: "
                              f"{', '.join(sorted(variables))}); fix the prompt template") from exc
        except jinja2.TemplateError as exc:
            raise ConfigError(f"{self.path}: block {block!r}: {exc}; fix the prompt template") from exc
        return text[:-1] if text.endswith("\n") else text


def parse_template(source: str, path: Path) -> PromptTemplate:
    """Compile template text; a syntax error or a missing block is a ConfigError naming `path:line`."""
    try:
        template = _environment().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: {exc.message}; fix the prompt template") from exc
    missing = [b for b in BLOCKS if b not in template.blocks]
    if missing:
        raise ConfigError(f"{path}: no {' or '.join(repr(b) for b in missing)} block: the prompt template needs "
                          "{% block system %}...{% endblock %} and {% block user %}...{% endblock %}")
    return PromptTemplate(path=path, source=source, template=template)


def load_template(path: Path) -> PromptTemplate:
    """The template at `path` (compiled once per path and content; a ConfigError says what is wrong)."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the prompt template ({exc}); check MIRA_PROMPT_TEMPLATE") from exc
    return _parsed(source, str(path))


@lru_cache(maxsize=8)
def _parsed(source: str, path: str) -> PromptTemplate:
    return parse_template(source, Path(path))


def anchor_variables(rubric: Rubric) -> list[dict[str, str]]:
    """The `anchors` variable: slot and name of each anchor, in slot order."""
    return [{"slot": a.slot, "name": a.name} for a in rubric.anchors]


def calibration_variables(rubric: Rubric, calibration: Sequence[CalibrationRef]) -> list[dict[str, Any]]:
    """The `calibration` variable: each reference with its anchor's name and its score written as `9` / `7.5`."""
    return [{"slot": ref.slot, "name": rubric.name_of(ref.slot), "score": ref.score, "score_text": f"{ref.score:g}",
             "excerpt": ref.excerpt, "rationale": ref.rationale, "id": ref.id, "author": ref.author}
            for ref in calibration]
