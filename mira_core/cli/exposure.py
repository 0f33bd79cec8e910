"""Whether `serve` may listen where it was asked to: the network only with sign-in, or by explicit choice.

Without an `[auth]` table in `.streamlit/secrets.toml` anyone who reaches the port can edit annotations,
masks and policies, start jobs and point the scorer at their own host; so a non-loopback address needs
sign-in configured, or `--no-auth-on-network`, which warns on every start.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path

from mira_core.errors import ConfigError
from mira_core.views.session import sign_in_configured

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}

SIGN_IN_HELP = (
    "configure sign-in first: add an [auth] table to .streamlit/secrets.toml with redirect_uri, cookie_secret, "
    "client_id, client_secret and server_metadata_url (README, 'Team deployment'), or serve on 127.0.0.1"
)


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; False for 0.0.0.0, :: and every other address or name."""
    if address.strip().lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_configured(secrets_file: Path) -> bool:
    """Whether `secrets_file` has an `[auth]` table, by the rule the app's sign-in gate uses.

    The gate fails closed (an incomplete table still keeps everyone out), so the same table is enough for
    `serve` to listen on the network.
    """
    if not secrets_file.is_file():
        return False
    try:
        with secrets_file.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{secrets_file}: invalid TOML ({exc}); fix it before serving") from exc
    return sign_in_configured(data.get("auth"))


def exposure_problem(address: str, *, signed_in: bool, allow_no_auth: bool) -> tuple[str | None, str | None]:
    """(refusal, warning) for serving on `address`: at most one of them is set."""
    if is_loopback(address) or signed_in:
        return None, None
    if allow_no_auth:
        return None, (f"WARNING: serving on {address} with no sign-in: anyone who can reach this port can change "
                      "annotations, masks, policies and scorer settings (--no-auth-on-network)")
    return f"refusing to serve on {address} without sign-in: {SIGN_IN_HELP}", None
