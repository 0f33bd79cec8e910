"""Small exception classes raised by the core; the CLI and pages turn them into messages."""


class MiraError(Exception):
    """Base class: the message is meant for a curator and says what to do."""


class ConfigError(MiraError):
    """A setting or configuration file is invalid."""


class NotFoundError(MiraError):
    """A record, run, mask or policy that was asked for does not exist."""


class ImportRejected(MiraError):
    """One input record could not be imported; carries where and why."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class ConflictError(MiraError):
    """A save was refused because someone else changed the row first."""


class StorageError(MiraError):
    """The database refused an operation or could not be reached; `reason` is the driver's first line."""

    def __init__(self, reason: str):
        super().__init__(
            f"database error: {reason} (check that the database is reachable and migrated with "
            "`mira-curator migrate`, then retry)"
        )
        self.reason = reason
