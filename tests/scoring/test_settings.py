"""Scorer settings: model-card defaults, file then env overrides, the API key only from env or secrets."""

import pytest

from mira_core.errors import ConfigError
from mira_core.scoring.settings import (
    ScorerSettings,
    api_key_source,
    checked_settings,
    env_overrides,
    load_scorer_settings,
    write_scorer_config,
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in [*list(ScorerSettings.model_fields), "config"]:
        monkeypatch.delenv(f"MIRA_SCORER_{name.upper()}", raising=False)


def test_defaults_follow_the_model_card(tmp_path):
    s = load_scorer_settings(tmp_path / "none.toml", secrets_file=tmp_path / "none")
    assert (s.base_url, s.model, s.temperature, s.top_p, s.max_tokens, s.max_model_len) == (
        "http://127.0.0.1:8000/v1", "whw06/MIRA-Agent-Group4", 0.7, 0.95, 2048, 65536)
    assert s.server_root == "http://127.0.0.1:8000" and s.api_key == ""


def test_file_then_env_override_and_the_key_never_comes_from_the_file(tmp_path, monkeypatch):
    cfg = tmp_path / "scorer.toml"
    cfg.write_text('[scorer]\nconcurrency = 16\nmodel = "m1"\napi_key = "from-file"\n')
    monkeypatch.setenv("MIRA_SCORER_MODEL", "m2")
    s = load_scorer_settings(cfg, secrets_file=tmp_path / "none")
    assert (s.concurrency, s.model, s.api_key) == (16, "m2", "")


def test_key_from_secrets_or_env_and_never_saved_or_shown(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[scorer]\napi_key = "sk-secret"\n')
    s = load_scorer_settings(tmp_path / "none.toml", secrets_file=secrets)
    assert s.api_key == "sk-secret" and "sk-secret" not in repr(s) and "api_key" not in s.public_dict()
    assert str(secrets) in api_key_source(secrets)[1]
    monkeypatch.setenv("MIRA_SCORER_API_KEY", "sk-env")
    assert api_key_source(secrets) == ("sk-env", "environment variable MIRA_SCORER_API_KEY")
    path = write_scorer_config(s, tmp_path / "out.toml")
    text = path.read_text()
    assert "sk-secret" not in text
    assert load_scorer_settings(path, secrets_file=tmp_path / "none").public_dict() == s.public_dict()


def test_bad_values_name_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("MIRA_SCORER_CONCURRENCY", "zero")
    with pytest.raises(ConfigError, match="scorer setting concurrency"):
        load_scorer_settings(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[scorer\n")
    monkeypatch.delenv("MIRA_SCORER_CONCURRENCY")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_scorer_settings(bad)


@pytest.mark.parametrize("url", ["not a url", "127.0.0.1:8000/v1", "ftp://host/v1", "http:///v1", "http://h:x/v1"])
def test_a_base_url_needs_an_http_scheme_and_a_host(url):
    with pytest.raises(ConfigError, match=r"scorer setting base_url: must be an http:// or https:// URL"):
        checked_settings({"base_url": url})
    with pytest.raises(ValueError, match="base_url"):
        ScorerSettings(base_url=url)


def test_numbers_out_of_range_name_the_field():
    with pytest.raises(ConfigError, match="scorer setting concurrency: Input should be less than or equal to 4096"):
        checked_settings({"concurrency": 10_000})
    assert checked_settings({"base_url": " https://vllm.internal:8443/v1 "}).base_url == "https://vllm.internal:8443/v1"


def test_env_overrides_name_the_variable_of_each_overridden_field():
    environ = {"MIRA_SCORER_BASE_URL": "http://x/v1", "mira_scorer_concurrency": "8", "MIRA_SCORER_MODEL": "",
               "MIRA_SCORER_API_KEY": "sk", "MIRA_SCORER_CONFIG": "/tmp/s.toml", "OTHER": "1"}
    assert env_overrides(environ) == {"base_url": "MIRA_SCORER_BASE_URL", "concurrency": "mira_scorer_concurrency"}
    assert env_overrides({}) == {}


def test_a_bad_base_url_in_the_file_is_refused_naming_the_field(tmp_path):
    cfg = tmp_path / "scorer.toml"
    cfg.write_text('[scorer]\nbase_url = "not a url"\n')
    with pytest.raises(ConfigError, match=r"scorer setting base_url: .*got 'not a url'.*check "):
        load_scorer_settings(cfg)
