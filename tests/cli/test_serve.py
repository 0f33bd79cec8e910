"""`serve` listens on loopback by default; the network needs sign-in or an explicit, warned opt-out."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from mira_core.cli.exposure import auth_configured, exposure_problem, is_loopback
from mira_core.scoring.settings import SECRETS_FILE


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("127.8.0.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("curator.example.org", False),
])
def test_loopback_addresses(address, loopback):
    assert is_loopback(address) is loopback


def test_exposure_rules():
    assert exposure_problem("127.0.0.1", signed_in=False, allow_no_auth=False) == (None, None)
    assert exposure_problem("0.0.0.0", signed_in=True, allow_no_auth=False) == (None, None)
    refusal, warning = exposure_problem("0.0.0.0", signed_in=False, allow_no_auth=False)
    assert warning is None and refusal and "[auth]" in refusal and "secrets.toml" in refusal
    refusal, warning = exposure_problem("0.0.0.0", signed_in=False, allow_no_auth=True)
    assert refusal is None and warning and warning.startswith("WARNING") and "--no-auth-on-network" in warning


def test_auth_is_configured_only_by_a_complete_auth_table(tmp_path):
    f = tmp_path / "secrets.toml"
    assert not auth_configured(f)
    f.write_text('[scorer]\napi_key = "k"\n')
    assert not auth_configured(f)
    f.write_text('[auth]\n')
    assert not auth_configured(f)  # an empty table configures nothing
    f.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n')
    assert auth_configured(f)  # incomplete, but the app's gate already keeps everyone out (fails closed)
    f.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\ncookie_secret = "s"\n')
    assert auth_configured(f)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(*extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mira_core.cli", "serve", *extra], env={**os.environ},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def no_sign_in():
    if auth_configured(SECRETS_FILE):
        pytest.skip(f"{SECRETS_FILE} configures sign-in on this machine")


def test_the_network_without_sign_in_is_refused(no_sign_in):
    proc = _serve("--address", "0.0.0.0", "--port", str(_free_port()))
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "refusing to serve on 0.0.0.0 without sign-in" in err and "[auth]" in err


def test_no_auth_on_network_starts_and_warns(no_sign_in):
    port = _free_port()
    proc = _serve("--address", "0.0.0.0", "--port", str(port), "--no-auth-on-network")
    try:
        deadline, healthy = time.monotonic() + 60, False
        while time.monotonic() < deadline and proc.poll() is None and not healthy:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
                    healthy = resp.status == 200
            except OSError:
                time.sleep(0.5)
        assert healthy, "the app did not start"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "WARNING: serving on 0.0.0.0 with no sign-in" in err
