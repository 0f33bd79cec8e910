"""Who acts: the three roles, the acting person, and the one role check every write in the core makes.

A person is identified by the sign-in provider's verified email (or its `sub` where there is no email),
or, for the command line, by `--as EMAIL` or the local user name. The check lives here, on the ground
floor, so storage-facing workflows and views can all call it; hiding a button on a page is extra.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mira_core.errors import MiraError


class Role(StrEnum):
    """What a person may do, each role including the ones before it."""

    viewer = "viewer"
    """Reads everything, changes nothing."""
    curator = "curator"
    """Annotations, tags, overrides, spot-check answers, scoring jobs, policies and exports."""
    admin = "admin"
    """Everything, plus mask activation, endpoint settings, user management, cancelling others' jobs."""

    @property
    def rank(self) -> int:
        """0 for viewer, 1 for curator, 2 for admin."""
        return list(Role).index(self)


Via = Literal["web", "cli"]
MAX_ID_CHARS = 100
"""The longest person id: the `created_by` / `updated_by` / `reviewer` columns that name people hold 100."""


class PermissionDenied(MiraError):
    """The acting person's role does not allow the operation."""


class Actor(BaseModel):
    """The person a change is made by, as recorded on every write."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, description="Verified email, or the provider's `sub`.")
    role: Role = Field(description="The role stored for this person (the CLI operator acts as admin).")
    via: Via = Field(default="web", description="Signed in to the app, or the operator's command line.")

    @field_validator("user_id")
    @classmethod
    def _trimmed(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("a person needs an id (email or sub)")
        return v

    @property
    def label(self) -> str:
        """How the person is named in histories and conflict messages (`ann@x.org`, `ops (cli)`)."""
        return self.user_id if self.via == "web" else f"{self.user_id} (cli)"

    def can(self, role: Role) -> bool:
        """Whether this person's role includes `role`."""
        return self.role.rank >= role.rank


def require(actor: Actor, role: Role, action: str) -> None:
    """Raise PermissionDenied naming the role `action` needs unless `actor` has it."""
    if not actor.can(role):
        raise PermissionDenied(
            f"{action} needs the {role.value} role; {actor.user_id} is a {actor.role.value} "
            "(ask an admin: `mira-curator users set-role`)"
        )


def normalize_user_id(value: str) -> str:
    """The stored form of a person's id: trimmed, and lower-cased when it is an email.

    Raises MiraError for an id longer than MAX_ID_CHARS (it could not be stored beside the changes it makes).
    """
    value = value.strip()
    if len(value) > MAX_ID_CHARS:
        raise MiraError(f"person id {value[:40]!r}... is {len(value)} characters long; at most {MAX_ID_CHARS} are kept")
    return value.lower() if "@" in value else value
