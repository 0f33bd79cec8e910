"""The repositories synthetic issues are filed against (real project names, invented issues)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Repo:
    """A repository: `owner/name`, its import package, source sub-folders and a version string."""

    owner: str
    name: str
    package: str
    subdirs: tuple[str, ...]
    version: str
    python: str = "3.9"

    @property
    def full_name(self) -> str:
        """`owner/name`."""
        return f"{self.owner}/{self.name}"

    def instance_id(self, number: int) -> str:
        """A SWE-bench style id: `owner__name-NUMBER`."""
        return f"{self.owner}__{self.name}-{number}"


REPOS: tuple[Repo, ...] = (
    Repo("django", "django", "django", ("db/models", "forms", "utils", "core/management", "contrib/admin"), "4.2"),
    Repo("sympy", "sympy", "sympy", ("core", "simplify", "printing", "solvers", "matrices"), "1.12"),
    Repo("astropy", "astropy", "astropy", ("units", "io/fits", "table", "coordinates", "modeling"), "5.2"),
    Repo("pandas-dev", "pandas", "pandas", ("core/frame", "core/groupby", "io/parsers", "core/arrays"), "2.1", "3.10"),
    Repo("pydata", "xarray", "xarray", ("core", "backends", "plot", "coding"), "2023.07"),
    Repo("scikit-learn", "scikit-learn", "sklearn", ("linear_model", "preprocessing", "utils", "metrics"), "1.3"),
    Repo("pytest-dev", "pytest", "_pytest", ("assertion", "config", "mark", "python_api"), "7.4"),
    Repo("sphinx-doc", "sphinx", "sphinx", ("ext/autodoc", "builders", "domains", "util"), "7.1"),
    Repo("psf", "requests", "requests", ("adapters", "sessions", "models", "utils"), "2.31"),
    Repo("pylint-dev", "pylint", "pylint", ("checkers", "lint", "config", "reporters"), "3.0"),
    Repo("getmoto", "moto", "moto", ("s3", "dynamodb", "ec2", "core", "iam"), "4.2", "3.11"),
    Repo("python", "mypy", "mypy", ("plugins", "semanal", "checker", "types"), "1.6", "3.11"),
    Repo("dask", "dask", "dask", ("array", "dataframe", "bag", "base"), "2023.8", "3.10"),
    Repo("Project-MONAI", "MONAI", "monai", ("transforms", "networks", "data", "metrics"), "1.2", "3.10"),
    Repo("iterative", "dvc", "dvc", ("repo", "output", "fs", "commands"), "3.15", "3.10"),
    Repo("pydantic", "pydantic", "pydantic", ("main", "fields", "_internal", "json_schema"), "2.4", "3.11"),
    Repo("marshmallow-code", "marshmallow", "marshmallow", ("fields", "schema", "validate"), "3.20"),
    Repo("tomerfiliba", "plumbum", "plumbum", ("cli", "commands", "machines", "path"), "1.8"),
)

MODULE_WORDS = ["base", "core", "utils", "api", "common", "helpers", "io", "parsers", "formats", "types", "checks", "ops", "methods", "accessor", "registry", "config", "cache", "indexing", "reshape", "convert", "compat", "validation", "serialize", "loader", "writer", "reader"]


def pick_repo(rng: random.Random) -> Repo:
    """A repository, with popular projects a bit more likely (as in SWE-bench)."""
    weights = [3, 2, 2, 3, 2, 2, 1, 1, 1, 1, 2, 2, 2, 1, 1, 2, 1, 1]
    return rng.choices(REPOS, weights=weights)[0]


def module_path(rng: random.Random, repo: Repo) -> str:
    """A source file path inside `repo`, e.g. `pandas/core/groupby/ops.py`."""
    return f"{repo.package}/{rng.choice(repo.subdirs)}/{rng.choice(MODULE_WORDS)}.py"


def test_path(src: str) -> str:
    """The test module that covers `src`."""
    parts = src.split("/")
    return "/".join([parts[0], "tests", *parts[1:-1], "test_" + parts[-1]])
