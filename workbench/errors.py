"""The workbench's own exceptions.

Every error that a user can cause with a file, a project or a stored row is a
:class:`WorkbenchError`; its message names the file, the row or the field and
says what was expected and what came ("Expected X, but got Y."). Bad arguments
to a function are plain :class:`ValueError` / :class:`TypeError`, as usual in
Python.
"""

from __future__ import annotations

__all__ = [
    "AnnotationError",
    "ConflictError",
    "ConsentError",
    "DatabaseGoneError",
    "DatabaseInUseError",
    "DuplicateImportError",
    "FormatError",
    "InstrumentError",
    "MediaError",
    "NotFoundError",
    "ReadOnlyProjectError",
    "SchemaVersionError",
    "SchemeError",
    "StoreError",
    "WorkbenchError",
]


class WorkbenchError(Exception):
    """Base class of every error the workbench raises about data, files or the store."""


class SchemeError(WorkbenchError):
    """A coding-scheme file or definition is invalid; the message lists every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid coding scheme {source}: {len(self.problems)} problem(s):\n{lines}")


class InstrumentError(WorkbenchError):
    """An outcome-instrument file or definition is invalid; the message lists every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid instruments {source}: {len(self.problems)} problem(s):\n{lines}")


class AnnotationError(WorkbenchError, ValueError):
    """One or more annotation rows are invalid; the message names each row and field."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        shown = self.problems[:20]
        more = len(self.problems) - len(shown)
        lines = "\n".join(f"  - {p}" for p in shown)
        if more:
            lines += f"\n  ... and {more} more"
        super().__init__(f"Invalid annotations{where}: {len(self.problems)} problem(s):\n{lines}")


class MediaError(WorkbenchError):
    """A media file cannot be read, is truncated, empty or not a video."""


class FormatError(WorkbenchError):
    """An interchange file (EAF, BORIS, CSV, OTX, ...) does not have the expected structure."""


class StoreError(WorkbenchError):
    """The project store cannot do what was asked."""


class NotFoundError(StoreError, LookupError):
    """A row that was asked for is not in the store."""


class ConflictError(StoreError):
    """A row was changed by someone else since it was read; reload and edit again."""


class DatabaseGoneError(StoreError):
    """The project's database file was removed or replaced while the project was open; nothing more is saved.

    Attributes
    ----------
    path : str
        The database file the project opened.
    """

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


class ReadOnlyProjectError(StoreError):
    """The project was opened read-only (read-only folder, disk or file): every edit is refused.

    Attributes
    ----------
    where : str
        The project folder (or database file) that is read-only.
    """

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


class DuplicateImportError(StoreError):
    """An import would store again rows the recording already has for that coder; nothing was stored.

    Attributes
    ----------
    recording_id : int
        The recording imported into.
    already : dict of str to int
        Per coder, how many of the rows to import are already stored (same actor, code, onset and offset).
    """

    def __init__(self, message: str, recording_id: int, already: dict[str, int]) -> None:
        super().__init__(message)
        self.recording_id = recording_id
        self.already = dict(already)


class SchemaVersionError(StoreError):
    """The project's database was written by a newer workbench than this one."""


class DatabaseInUseError(StoreError):
    """Another program holds the project database open in a way that keeps a task from finishing.

    Attributes
    ----------
    holders : tuple of str
        What could be found out about who holds it (process, program), best effort.
    """

    def __init__(self, message: str, holders: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.holders = tuple(holders)


class ConsentError(StoreError):
    """A case's consent record does not allow what was asked (purpose, viewer or date).

    Attributes
    ----------
    case : str
        The case's pseudonym ("" when not known).
    purpose : str
        The use that was refused (a purpose of :data:`~workbench.model.CONSENT_PURPOSES`).
    reason : str
        Why, in a few words without the how-to (e.g. "no consent record"), for a note in a report.
    """

    def __init__(self, message: str, *, case: str = "", purpose: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.case = case
        self.purpose = purpose
        self.reason = reason
