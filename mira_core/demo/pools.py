"""Pre-generated pools of sentences and code blocks that records draw from.

Generating every word of 232K records one `rng.choice` at a time would take longer than importing them;
building a few thousand sentences and functions once per corpus and drawing whole pieces keeps
generation at tens of microseconds per kilobyte while each record still reads differently.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mira_core.demo.text import EXCEPTIONS, NOUNS, class_name, ident, sentence

N_SENTENCES = 4000
N_FUNCTIONS = 1500


def function_lines(rng: random.Random, name: str, indent: str = "") -> list[str]:
    """A plausible Python function (6-30 lines)."""
    args = ", ".join(rng.sample(NOUNS, rng.randint(1, 3)))
    noun = rng.choice(NOUNS)
    lines = [f"{indent}def {name}({args}):", f'{indent}    """{sentence(rng, 5, 11)}"""']
    for _ in range(rng.randint(1, 5)):
        var, other = rng.choice(NOUNS), rng.choice(NOUNS)
        kind = rng.random()
        if kind < 0.3:
            lines += [f"{indent}    if {var} is None:", f"{indent}        {var} = {ident(rng)}({other})"]
        elif kind < 0.5:
            exc = rng.choice(EXCEPTIONS)
            lines += [
                f"{indent}    if not isinstance({var}, {class_name(rng)}):",
                f'{indent}        raise {exc}(f"{sentence(rng, 3, 6)[:-1]}: {{{var}!r}}")',
            ]
        elif kind < 0.7:
            lines += [
                f"{indent}    for {var} in {other}:",
                f"{indent}        {noun}.{ident(rng)}({var})",
            ]
        elif kind < 0.85:
            lines.append(f"{indent}    # {sentence(rng, 4, 12)}")
            lines.append(f"{indent}    {var} = {other}.{ident(rng)}({rng.randint(0, 64)})")
        else:
            lines += [
                f"{indent}    try:",
                f"{indent}        {var} = {ident(rng)}({other}, {noun})",
                f"{indent}    except {rng.choice(EXCEPTIONS)}:",
                f"{indent}        {var} = {rng.choice(['None', '0', '[]', '{}', repr(rng.choice(NOUNS))])}",
            ]
    lines.append(f"{indent}    return {noun if rng.random() < 0.6 else rng.choice(NOUNS)}")
    return lines


@dataclass(frozen=True)
class Pools:
    """Sentences and code blocks shared by all records of one corpus (built from the corpus seed)."""

    sentences: tuple[str, ...]
    functions: tuple[tuple[str, ...], ...]
    names: tuple[str, ...]

    @classmethod
    def build(cls, seed: int) -> Pools:
        """The pools for `seed` (deterministic)."""
        rng = random.Random(f"mira-demo-pools:{seed}")
        names = tuple(ident(rng) for _ in range(N_FUNCTIONS))
        return cls(
            sentences=tuple(sentence(rng) for _ in range(N_SENTENCES)),
            functions=tuple(tuple(function_lines(rng, n)) for n in names),
            names=names,
        )

    def prose(self, rng: random.Random, low: int = 1, high: int = 4) -> str:
        """A few sentences from the pool."""
        return " ".join(rng.choice(self.sentences) for _ in range(rng.randint(low, high)))

    def module_lines(self, rng: random.Random, n_functions: int, focus: list[str]) -> list[str]:
        """The text of a module: imports, pooled functions and the record's own `focus` function."""
        mods = rng.sample(NOUNS, 3)
        lines = [f'"""{rng.choice(self.sentences)}"""', "", "from __future__ import annotations", ""]
        lines += [f"import {m}" for m in mods] + [f"from .{rng.choice(NOUNS)} import {class_name(rng)}", "", ""]
        at = rng.randrange(n_functions + 1)
        for i in range(n_functions + 1):
            block = focus if i == at else list(rng.choice(self.functions))
            lines += [*block, "", ""]
        return lines
