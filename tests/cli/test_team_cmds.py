"""`mira-curator users ...` and `activity`: the operator's tool, recorded under `--as`."""

import json

from mira_core.cli import main


def test_users_commands_and_activity(capsys, monkeypatch):
    monkeypatch.setenv("MIRA_CURATOR", "local-op")  # the name used when --as is not given
    assert main(["--as", "ops@example.org", "users", "add", "ann@example.org", "--role", "admin"]) == 0
    assert main(["users", "add", "bob@example.org", "--role", "viewer"]) == 0
    assert main(["users", "set-role", "bob@example.org", "curator"]) == 0
    assert main(["users", "remove", "ann@example.org"]) == 1  # the last admin stays
    assert "last admin" in capsys.readouterr().err
    assert main(["users", "list", "--json"]) == 0
    people = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(p["user_id"], p["role"]) for p in people] == [("ann@example.org", "admin"), ("bob@example.org", "curator")]
    assert main(["activity", "--json", "--kind", "user.add"]) == 0
    changes = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(c["actor"], c["via"], c["target_id"]) for c in changes] == [
        ("local-op", "cli", "bob@example.org"), ("ops@example.org", "cli", "ann@example.org")]
