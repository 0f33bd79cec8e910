"""Scorer endpoint settings: defaults from the model card, a TOML file, then `MIRA_SCORER_*` env overrides.

The API key is read only from the environment (`MIRA_SCORER_API_KEY`) or `.streamlit/secrets.toml`
(`[scorer] api_key = ...` or a top-level `MIRA_SCORER_API_KEY`). It is never written to the config file,
the database or logs: `public_dict()` leaves it out and `repr()` hides it.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from mira_core.errors import ConfigError
from mira_core.settings import PROJECT_ROOT

DEFAULT_CONFIG = PROJECT_ROOT / "scorer.toml"
SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"


class ScorerSettings(BaseModel):
    """How to reach and drive the student scorer (vLLM, OpenAI-compatible)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    base_url: str = Field(default="http://127.0.0.1:8000/v1", description="OpenAI-compatible base URL (with /v1).")
    replicas: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Base URLs of further vLLM replicas serving the same model (comma or newline separated in "
                    "MIRA_SCORER_REPLICAS); each request goes to the endpoint with the fewest in flight.")
    model: str = Field(default="whw06/MIRA-Agent-Group4", description="Served model name.")
    api_key: str = Field(default="", repr=False, exclude=True, description="From env or secrets only.")
    temperature: float = Field(default=0.7, ge=0, le=2, description="Sampling temperature (model card: 0.7).")
    top_p: float = Field(default=0.95, gt=0, le=1, description="Nucleus sampling (model card: 0.95).")
    max_tokens: int = Field(default=2048, gt=0, description="Completion budget (model card: 2048).")
    max_model_len: int = Field(default=65536, gt=0, description="vLLM --max-model-len; prompt + completion fit.")
    concurrency: int = Field(default=64, gt=0, le=4096, description="Requests in flight at once, per endpoint.")
    request_timeout: float = Field(default=600.0, gt=0, description="Seconds before one request is abandoned.")
    max_retries: int = Field(default=5, ge=0, description="Retries of one request on 429/5xx/connection errors.")
    backoff_base: float = Field(default=0.5, ge=0, description="First backoff in seconds (doubles, full jitter).")
    backoff_max: float = Field(default=30.0, ge=0, description="Longest backoff between retries of one request.")
    retry_after_max: float = Field(
        default=300.0, ge=0, description="Longest wait a server's Retry-After is honoured for (longer ones are cut).")
    down_after: int = Field(
        default=8, gt=0, description="Connection failures in a row after which the endpoint counts as down."
    )
    pause_seconds: float = Field(default=30.0, ge=0, description="How long a job waits after the endpoint went down.")
    pause_max: float = Field(
        default=120.0, ge=0, description="Longest wait between probes of a down endpoint (doubling from pause_seconds).")
    probe_timeout: float = Field(
        default=5.0, gt=0, description="Seconds a probe of /v1/models may take before the endpoint counts as down.")
    max_item_attempts: int = Field(default=3, gt=0, description="Rounds of retries before an item is failed.")

    @field_validator("base_url")
    @classmethod
    def _http_url_with_host(cls, value: str) -> str:
        """A Base URL must say how (http/https) and where (a host): 'not a url' is refused here, not at a job."""
        return checked_url(value)

    @field_validator("replicas", mode="before")
    @classmethod
    def _url_list(cls, value: object) -> object:
        """A list, a JSON list, or text with one URL per line or comma (env var, form); each one checked."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [u for u in re.split(r"[\s,]+", text) if u]
        if isinstance(value, list):
            return [checked_url(str(u)) for u in value]
        return value

    @property
    def endpoints(self) -> list[str]:
        """Every Base URL requests may go to: `base_url` first, then the replicas (repeats left out)."""
        out: list[str] = []
        for url in [self.base_url, *self.replicas]:
            if url.rstrip("/") not in {u.rstrip("/") for u in out}:
                out.append(url)
        return out

    def public_dict(self) -> dict[str, object]:
        """Everything but the API key (what jobs store and pages show)."""
        return self.model_dump()

    @property
    def server_root(self) -> str:
        """The base URL without `/v1` (vLLM serves `/tokenize` there)."""
        return server_root(self.base_url)


def server_root(base_url: str) -> str:
    """A Base URL without `/v1` (vLLM serves `/tokenize` there)."""
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def checked_url(value: str) -> str:
    """An http(s) URL with a host, stripped; a ValueError saying what is expected otherwise."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL with a host, such as "
                         f"http://127.0.0.1:8000/v1 (got {value!r})")
    return value


class _ScorerEnvironment(BaseSettings, ScorerSettings):
    """`ScorerSettings` as loaded: `MIRA_SCORER_<FIELD>` variables win over the config file's values."""

    model_config = SettingsConfigDict(env_prefix="MIRA_SCORER_", env_ignore_empty=True, extra="forbid",
                                      validate_assignment=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then the file's values (passed as init arguments)."""
        return env_settings, init_settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}); fix or delete the file") from exc


def config_path() -> Path:
    """The scorer config file: `MIRA_SCORER_CONFIG` or `scorer.toml` at the project root."""
    return Path(os.environ.get("MIRA_SCORER_CONFIG") or DEFAULT_CONFIG)


def api_key_source(secrets_file: Path | None = None) -> tuple[str, str]:
    """(key, where it came from) — the page says where, never what."""
    if os.environ.get("MIRA_SCORER_API_KEY"):
        return os.environ["MIRA_SCORER_API_KEY"], "environment variable MIRA_SCORER_API_KEY"
    path = secrets_file or SECRETS_FILE
    if path.is_file():
        data = _read_toml(path)
        key = (data.get("scorer") or {}).get("api_key") or data.get("MIRA_SCORER_API_KEY")
        if key:
            return str(key), f"{path} ([scorer] api_key)"
    return "", "not set (vLLM without --api-key needs none; set MIRA_SCORER_API_KEY or .streamlit/secrets.toml)"


def load_scorer_settings(path: Path | None = None, *, secrets_file: Path | None = None) -> ScorerSettings:
    """Defaults, then the config file (if present), then `MIRA_SCORER_<FIELD>` env vars, then the key."""
    path = path or config_path()
    values: dict[str, Any] = {}
    if path.is_file():
        data = _read_toml(path)
        values.update(data.get("scorer", data))
    values.pop("api_key", None)  # never taken from the plain config file
    try:
        loaded = _ScorerEnvironment(**values)
        settings = ScorerSettings.model_validate(loaded.model_dump())
    except ValidationError as exc:
        raise ConfigError(f"{setting_problem(exc)} (check {path} and MIRA_SCORER_* variables)") from exc
    settings.api_key = api_key_source(secrets_file)[0]
    return settings


def setting_problem(exc: ValidationError) -> str:
    """The first problem of a settings validation as one line naming the field: 'scorer setting base_url: ...'."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    msg = str(first["msg"]).removeprefix("Value error, ")
    return f"scorer setting {where}: {msg}"


def checked_settings(values: Mapping[str, object]) -> ScorerSettings:
    """`ScorerSettings` from form or CLI values; a bad value is a ConfigError naming the field (no API key)."""
    try:
        return ScorerSettings.model_validate(dict(values))
    except ValidationError as exc:
        raise ConfigError(setting_problem(exc)) from exc


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Which saved fields a `MIRA_SCORER_<FIELD>` variable overrides: {field: variable name}.

    Pure over `environ` (default `os.environ`). Names match case-insensitively and empty values are ignored,
    as the loader does; the API key is not a saved field, so `MIRA_SCORER_API_KEY` is not listed.
    """
    environ = os.environ if environ is None else environ
    present = {name.upper(): name for name, value in environ.items() if value != ""}
    out: dict[str, str] = {}
    for field in ScorerSettings.model_fields:
        var = f"MIRA_SCORER_{field.upper()}"
        if field != "api_key" and var in present:
            out[field] = present[var]
    return out


def saved_config_values(path: Path | None = None) -> dict[str, object]:
    """What the config file holds, over the defaults, as written (no environment overrides, no key).

    The "before" of a settings change: values are not validated, so a file with a bad value can still be
    compared with (and replaced by) good ones.
    """
    path = path or config_path()
    values: dict[str, object] = ScorerSettings().public_dict()
    if path.is_file():
        data = _read_toml(path)
        values.update({k: v for k, v in data.get("scorer", data).items() if k in values})
    return values


def write_scorer_config(settings: ScorerSettings, path: Path | None = None) -> Path:
    """Write the settings (without the API key) as `[scorer]` TOML; returns the path written.

    No role check here: `mira_core.scoring.save_scorer_settings` is the admin's checked and recorded save.
    """
    path = path or config_path()
    lines = ["# MIRA Curator scorer settings (the API key never goes here: use MIRA_SCORER_API_KEY).", "[scorer]"]
    for key, value in settings.public_dict().items():
        lines.append(f"{key} = {json.dumps(value)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
