"""Teams: the people allowed in with their roles, and the activity log every change writes to."""

from mira_core.team.activity import Change, list_changes, record_change
from mira_core.team.users import add_user, cli_operator, list_people, remove_user, resolve_person, set_role

__all__ = [
    "Change",
    "add_user",
    "cli_operator",
    "list_changes",
    "list_people",
    "record_change",
    "remove_user",
    "resolve_person",
    "set_role",
]
