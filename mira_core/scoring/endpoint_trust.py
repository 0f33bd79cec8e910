"""Where the scorer's API key may go: the Base URL an admin or the operator set, or one an admin confirmed.

Any curator may start a job, and a job keeps the settings it was started with; through the core API those
can hold any Base URL. The key belongs to the operator, so the worker sends it only when the job's Base URL
is the trusted one (`load_scorer_settings().base_url`: the admin-saved config file, or the operator's
`MIRA_SCORER_BASE_URL`), or when an admin confirmed that URL for that job (`confirm_job_endpoint`, recorded
as `job.confirm_endpoint` and kept in the job's settings JSON under `endpoint_confirmed`). Anything else is
called without an `Authorization` header, and the job's last event says so and how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

from mira_core.errors import NotFoundError
from mira_core.identity import Actor, Role, require
from mira_core.scoring.client import ModelInfo, probe_endpoint
from mira_core.scoring.settings import ScorerSettings
from mira_core.storage import Engine, jobs_repo, write_tx
from mira_core.team import record_change

CONFIRMED_KEY = "endpoint_confirmed"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _canonical(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def same_endpoint(a: str, b: str) -> bool:
    """Whether two Base URLs name one endpoint: scheme, host and port (default filled in) and path alike.

    Scheme and host compare without case and a trailing slash is ignored; userinfo, query and fragment are
    not part of the comparison, so `http://evil@host/v1` is not smuggled past it as `host` (its host is `host`,
    which is what a request goes to).
    """
    return bool(a.strip() and b.strip()) and _canonical(a) == _canonical(b)


class EndpointTrust(NamedTuple):
    """Whether a job's Base URLs may receive the key, and why (for the job's events and the page)."""

    trusted: bool
    """Every endpoint of the job may receive the key."""
    base_url: str
    confirmed_by: str | None
    """The admin who confirmed this job's endpoints (None when they were not confirmed)."""
    withheld: tuple[str, ...] = ()
    """The job's endpoints that get no key."""


def job_endpoints(data: dict) -> list[str]:
    """The Base URLs a job's stored settings send to: `base_url`, then its replicas."""
    urls = [str(data.get("base_url", ""))] + [str(u) for u in data.get("replicas") or []]
    return [u for i, u in enumerate(urls) if u and not any(same_endpoint(u, v) for v in urls[:i])]


def job_endpoint_trust(settings_json: str, trusted: str | Sequence[str]) -> EndpointTrust:
    """Pure: a job's stored settings against the trusted Base URLs (the saved `base_url` and replicas).

    An admin's confirmation counts for the URLs confirmed with it only.
    """
    data = json.loads(settings_json or "{}")
    trusted_urls = [trusted] if isinstance(trusted, str) else list(trusted)
    urls = job_endpoints(data)
    confirmed = data.get(CONFIRMED_KEY) or {}
    confirmed_urls = [str(u) for u in confirmed.get("urls") or [confirmed.get("base_url", "")]]
    by = str(confirmed.get("by")) if confirmed else None
    withheld = tuple(u for u in urls if not any(same_endpoint(u, t) for t in trusted_urls)
                     and not any(same_endpoint(u, c) for c in confirmed_urls))
    confirmed_by = by if urls and any(same_endpoint(urls[0], c) for c in confirmed_urls) else None
    return EndpointTrust(not withheld, urls[0] if urls else "", confirmed_by, withheld)


def endpoint_keys(trust: EndpointTrust, urls: Sequence[str], key: str) -> dict[str, str]:
    """The key to send to each Base URL: none to the withheld ones."""
    return {u: "" if any(same_endpoint(u, w) for w in trust.withheld) else key for u in urls}


def keyed_settings(settings: ScorerSettings, settings_json: str, trusted: str | Sequence[str],
                   key: str) -> tuple[ScorerSettings, dict[str, str], EndpointTrust]:
    """A job's settings keyed for its `base_url` (`/tokenize` goes there), the key per endpoint, and why.

    The one rule the worker and Ray runs apply.
    """
    trust = job_endpoint_trust(settings_json, trusted)
    keys = endpoint_keys(trust, settings.endpoints, key)
    return settings.model_copy(update={"api_key": keys.get(settings.base_url, "")}), keys, trust


class ConnectionCheck(NamedTuple):
    """What "Test connection" found: the served model (None: no answer) and whether the key went along."""

    info: ModelInfo | None
    key_sent: bool


def check_connection(settings: ScorerSettings, trusted_url: str, *, timeout: float = 5.0) -> ConnectionCheck:
    """Ask `settings.base_url` for `/v1/models`; the key goes along only when that is the trusted Base URL.

    So an admin can try a new URL before saving it without handing the key to it.
    """
    key_sent = bool(settings.api_key) and same_endpoint(settings.base_url, trusted_url)
    probe = settings if key_sent else settings.model_copy(update={"api_key": ""})
    return ConnectionCheck(probe_endpoint(probe, timeout=timeout), key_sent)


def withheld_note(base_url: str | Sequence[str], trusted_url: str | Sequence[str]) -> str:
    """What a job's event says when its requests go without the key."""
    urls = ", ".join([base_url] if isinstance(base_url, str) else base_url)
    trusted = ", ".join([trusted_url] if isinstance(trusted_url, str) else trusted_url)
    return (f"API key not sent to {urls}: not among the Base URLs set by an admin ({trusted}); "
            "an admin must confirm the job's endpoints before they get the key")


def confirm_job_endpoint(engine: Engine, job_id: str, *, actor: Actor) -> bool:
    """Let the worker send the API key to this job's Base URL (admin); recorded as `job.confirm_endpoint`.

    Returns False (and records nothing) when the URL was already confirmed. A job paused because its
    endpoint refused the keyless call retries on its own after `pause_seconds`.
    """
    require(actor, Role.admin, "confirming a job's scorer endpoint")
    with write_tx(engine) as conn:
        row = jobs_repo.get_job(conn, job_id)
        if row is None:
            raise NotFoundError(f"job {job_id} not found: `mira-curator jobs` lists the jobs")
        data = json.loads(str(row["settings_json"]))
        url = str(data.get("base_url", ""))
        if not job_endpoint_trust(json.dumps(data), []).withheld:
            return False
        data[CONFIRMED_KEY] = {"base_url": url, "urls": job_endpoints(data), "by": actor.user_id}
        jobs_repo.set_job_settings(conn, job_id, json.dumps(data))
        record_change(conn, actor, "job.confirm_endpoint", target_kind="job", target_id=job_id, base_url=url,
                      started_by=row["created_by"])
    return True
