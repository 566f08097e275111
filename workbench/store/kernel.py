"""The store's kernel: transactions, the audit log, ids and cases, the project folder.

Every repository (cases, recordings, annotations, ...), the backup and the purge build on one
:class:`Kernel`: the open database (see :mod:`workbench.store.engine`) and the folder beside it.

- *Transactions*: :meth:`Kernel.write` is one write transaction, committed when the block ends
  (on SQLite it takes the write lock at ``BEGIN``; a read-only project refuses it);
  :meth:`Kernel.read` reads. Database errors come out as :class:`~workbench.errors.StoreError`
  with a message a person can act on.
- *Versions*: :meth:`Kernel.update` and :meth:`Kernel.delete` refuse an edit made from a stale
  ``expected_version`` with :class:`~workbench.errors.ConflictError`; without one, the edit is
  "last writer wins", applied to the row as it is, and audited like any other.
- *Audit*: every edit writes who did what to which row into ``audit_log``, inside the edit's own
  transaction, with the row's case, so that a purge finds the case's entries. Protected and
  bulky columns never reach it.
- *Cases*: :meth:`Kernel.case_id` is the one rule that turns what a user names into a case.
"""

from __future__ import annotations

import datetime as dt
import difflib
import getpass
import logging
import numbers
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, Protocol

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, Row

from workbench.errors import ConflictError, NotFoundError, StoreError
from workbench.model import Case
from workbench.scheme import CodingScheme
from workbench.store import schema as t
from workbench.store.engine import BUSY_TIMEOUT_MS, WRITE, Database, open_database, read_only_error
from workbench.util import jsonable as util_jsonable

__all__ = [
    "CONFIG_FILENAME",
    "DERIVED_KINDS",
    "Kernel",
    "as_kernel",
    "jsonable",
    "now",
    "open_kernel",
    "snapshot",
    "unlink_still",
    "utc",
]

logger = logging.getLogger(__name__)

#: A project folder's own settings (TOML): ``coder = "anna"`` names who edits on this machine.
CONFIG_FILENAME = "workbench.toml"
#: Folders of derived files, each with one ``case-<id>/`` folder per case (see :meth:`Kernel.case_folder`).
DERIVED_KINDS: tuple[str, ...] = ("thumbnails", "clips", "cache", "reports")
#: Columns never copied into the audit log: protected, bulky or bookkeeping.
NOT_AUDITED = frozenset(
    {"frame_times", "real_name", "original_name", "word", "content", "created_at", "updated_at", "version"}
)
#: Protected columns: an update says "(protected)" in the audit log, never the value.
PROTECTED = frozenset({"real_name", "original_name", "word"})
_DIGITS = re.compile(r"[0-9]+")
_INTEGRITY_HINTS = (
    (re.compile(r"pseudonym", re.I), "Expected a pseudonym that no other case has, but it is already taken."),
    (
        re.compile(r"participants.*label|case_id_label", re.I),
        "Expected a participant label that is new in this case, but it is already taken.",
    ),
    (
        re.compile(r"foreign key|violates foreign key", re.I),
        "Expected references to existing rows, but one of them is gone (deleted meanwhile?).",
    ),
)


def now() -> dt.datetime:
    """The time now, in UTC (what the store writes)."""
    return dt.datetime.now(dt.UTC)


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (SQLite keeps no zone; the store writes UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def jsonable(value: Any) -> Any:
    """:func:`workbench.util.jsonable`, except that a datetime is written as ``str()`` writes it.

    ``2026-01-15 10:00:00+00:00``, not ISO's ``2026-01-15T10:00:00+00:00``: how the store has
    always written times into the audit log's details and into annotations' extra columns, so
    that entries written before and after read the same.
    """
    if isinstance(value, dt.datetime):
        return str(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):  # a NumPy scalar (datetime64 too)
        return jsonable(value.item())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return util_jsonable(value)


def snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy of a row for the audit log, without protected or bulky columns."""
    return {str(k): jsonable(v) for k, v in row.items() if k not in NOT_AUDITED}


def unlink_still(png: Path) -> None:
    """Remove a still's PNG and the JSON sidecar written beside it."""
    png.unlink(missing_ok=True)
    png.with_suffix(".json").unlink(missing_ok=True)


class Kernel:
    """An open project's database and folder, and the rules every edit follows.

    Make one with :func:`open_kernel`. Repositories take it; users work with
    :class:`workbench.project.Project`, which holds one as ``project.kernel``.

    Attributes
    ----------
    folder : Path or None
        Where copied media (``media/``), stills (``stills/``) and derived files are kept.
    url : str
        The database URL (password hidden).
    coder : str
        Who is editing: the default coder of new annotations and the name in the audit log.
    """

    def __init__(self, database: Database, *, coder: str) -> None:
        self._engine: Engine | None = database.engine
        self._sqlite_file = database.sqlite_file
        self._tempdir = database.tempdir
        self.folder: Path | None = database.folder
        self.url: str = database.engine.url.render_as_string(hide_password=True)
        self.coder: str = coder

    def close(self) -> None:
        """Close the database connections (and remove the temporary folder of ``":memory:"``)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._engine is None

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (raises :class:`StoreError` once closed)."""
        if self._engine is None:
            raise StoreError("Expected an open project, but this one was closed.")
        return self._engine

    @property
    def dialect(self) -> str:
        """The database kind: ``"sqlite"`` or ``"postgresql"`` (or another SQLAlchemy dialect)."""
        return self.engine.dialect.name

    @property
    def read_only(self) -> bool:
        """Whether the project was opened read-only: every edit is refused."""
        return self._sqlite_file is not None and self._sqlite_file.read_only

    @property
    def where(self) -> str:
        """How messages name the project: its folder, else its URL."""
        return str(self.folder if self.folder is not None else self.url)

    # -- transactions -----------------------------------------------------------------------

    def writable(self) -> None:
        """Raise :class:`ReadOnlyProjectError` on a read-only project (before writing files beside the database)."""
        if self.read_only:
            raise read_only_error(self.where)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction, committed when the block ends (rolled back on any error)."""
        self.writable()
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            try:
                with conn.begin():
                    yield conn
            except sa_exc.DBAPIError as exc:
                raise self.wrap(exc) from exc
        if self._sqlite_file is not None:
            # Deleted during the transaction? Then the commit went to the unlinked file: say so.
            self._sqlite_file.check(committed=True)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection to read with."""
        with self.engine.connect() as conn:
            try:
                yield conn
            except sa_exc.DBAPIError as exc:
                raise self.wrap(exc) from exc

    def wrap(self, exc: sa_exc.DBAPIError) -> StoreError:
        """A database error as a :class:`StoreError` that says what happened and what to do."""
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        if isinstance(exc, sa_exc.IntegrityError):
            for pattern, message in _INTEGRITY_HINTS:
                if pattern.search(detail):
                    return StoreError(f"{message} (database: {detail})")
            return StoreError(f"The database refused the change: {detail}")
        if "readonly database" in detail:
            return read_only_error(self.where)
        if "locked" in detail or "busy" in detail:
            return StoreError(
                f"The project database {self.url} stayed busy for {BUSY_TIMEOUT_MS / 1000:g} s "
                f"(another program is writing); try again. ({detail})"
            )
        return StoreError(f"The project database {self.url} failed: {detail}")

    # -- rows -------------------------------------------------------------------------------

    @staticmethod
    def id_of(value: Any, kind: str, record: type | None = None) -> int:
        """The id of a record (of type ``record``) or an integer id; TypeError for anything else."""
        if record is not None and isinstance(value, record):
            return int(value.id)
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        raise TypeError(f"Expected a {kind} (record or integer id), but got {value!r}.")

    @staticmethod
    def require(conn: Connection, table: sa.Table, row_id: int, kind: str, *, lock: bool = False) -> Row:
        """The row, or NotFoundError. ``lock``: read it for an update (PostgreSQL ``FOR UPDATE``).

        An edit that reads a row, checks it and writes it back must lock it at the read: else,
        on PostgreSQL, another transaction can change it in between, and the write-back either
        fails (a version check) or overwrites the other edit unseen. On SQLite a writer holds the
        whole database from ``BEGIN IMMEDIATE``, so ``FOR UPDATE`` is not needed (nor emitted).
        """
        stmt = sa.select(table).where(table.c.id == row_id)
        if lock:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None:
            raise NotFoundError(f"Expected an existing {kind} id, but got {row_id}.")
        return row

    def get(self, table: sa.Table, row_id: int, kind: str) -> Row:
        """One row by id, read in its own connection (NotFoundError if there is none)."""
        with self.read() as conn:
            return self.require(conn, table, row_id, kind)

    def update(
        self,
        conn: Connection,
        table: sa.Table,
        kind: str,
        row_id: int,
        expected_version: int | None,
        values: Mapping[str, Any],
        *,
        case_id: int | None = None,
    ) -> Row:
        """Update one row (bumping its version), refusing a stale ``expected_version``; audited.

        Returns the row as updated. ``case_id``: the row's case, if the caller has it already.
        """
        stmt = sa.update(table).where(table.c.id == row_id)
        if expected_version is not None:
            stmt = stmt.where(table.c.version == int(expected_version))
        stmt = stmt.values(**values, version=table.c.version + 1).returning(*table.c)
        row = conn.execute(stmt).first()
        if row is None:
            self.refuse(conn, table, kind, row_id, expected_version)
        changed = {
            k: "(protected)" if k in PROTECTED else jsonable(v)
            for k, v in values.items()
            if k not in NOT_AUDITED or k in PROTECTED
        }
        if case_id is None:
            case_id = self.case_of(conn, kind, row._mapping)
        details = {"changed": changed, "version": row.version, "expected_version": expected_version}
        self.audit(conn, "update", kind, row_id, case_id, details)
        return row

    def delete(self, conn: Connection, table: sa.Table, kind: str, row_id: int, expected_version: int | None) -> None:
        """Delete one row, refusing a stale ``expected_version``; audited with the row as it was."""
        before = conn.execute(sa.select(table).where(table.c.id == row_id)).first()
        case_id = None if before is None else self.case_of(conn, kind, before._mapping)
        stmt = sa.delete(table).where(table.c.id == row_id)
        if expected_version is not None:
            stmt = stmt.where(table.c.version == int(expected_version))
        if conn.execute(stmt).rowcount == 0:
            self.refuse(conn, table, kind, row_id, expected_version)
        self.audit(conn, "delete", kind, row_id, case_id, snapshot(before._mapping) if before is not None else None)

    @staticmethod
    def refuse(conn: Connection, table: sa.Table, kind: str, row_id: int, expected: int | None) -> NoReturn:
        """Raise NotFoundError (the row is gone) or ConflictError (it changed since ``expected``)."""
        current = conn.execute(sa.select(table.c.version).where(table.c.id == row_id)).scalar()
        if current is None:
            raise NotFoundError(f"Expected an existing {kind} id, but got {row_id}.")
        raise ConflictError(
            f"{kind} {row_id} was changed by someone else (version {current}, you edited version "
            f"{expected}); reload and edit again."
        )

    # -- audit log --------------------------------------------------------------------------

    def audit(
        self,
        conn: Connection,
        action: str,
        kind: str,
        row_id: int | None,
        case_id: int | None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Record who (``self.coder``) did what to which row, inside the edit's own transaction."""
        conn.execute(
            sa.insert(t.audit_log).values(
                at=now(),
                coder=self.coder,
                action=action,
                kind=kind,
                row_id=row_id,
                case_id=case_id,
                details=None if details is None else jsonable(dict(details)),
            )
        )

    def added(self, conn: Connection, kind: str, row: Row) -> None:
        """Audit the insert of ``row`` (a row returned by ``INSERT ... RETURNING``)."""
        m = row._mapping
        self.audit(conn, "add", kind, m["id"], self.case_of(conn, kind, m), snapshot(m))

    @staticmethod
    def case_of(conn: Connection, kind: str, row: Mapping[str, Any]) -> int | None:
        """The case a row belongs to (for the audit log, so that a purge finds the case's entries)."""
        if kind == "case":
            return int(row["id"])
        if row.get("case_id") is not None:
            return int(row["case_id"])
        if row.get("recording_id") is not None:
            q = (
                sa.select(t.sessions.c.case_id)
                .select_from(t.recordings.join(t.sessions, t.recordings.c.session_id == t.sessions.c.id))
                .where(t.recordings.c.id == row["recording_id"])
            )
        elif row.get("goal_id") is not None:
            q = sa.select(t.goals.c.case_id).where(t.goals.c.id == row["goal_id"])
        elif row.get("session_id") is not None:
            q = sa.select(t.sessions.c.case_id).where(t.sessions.c.id == row["session_id"])
        else:
            return None
        found = conn.execute(q).scalar()
        return None if found is None else int(found)

    # -- cases ------------------------------------------------------------------------------

    def case_id(self, conn: Connection, case: Case | int | str) -> int:
        """The id of the case a user names: the one rule, for every method, report and command.

        A :class:`~workbench.model.Case` or an int is an id. A text is a pseudonym if a case
        has exactly that pseudonym; otherwise a text of digits (``"2"``) is an id. A text of
        digits that is the pseudonym of one case and the id of another is refused, naming both.

        Raises
        ------
        NotFoundError
            If no case matches (near pseudonyms are suggested).
        StoreError
            If a text of digits names two cases.
        """
        if not isinstance(case, str):
            case_id = self.id_of(case, "case", Case)
            self.require(conn, t.cases, case_id, "case")
            return case_id
        c = t.cases.c
        named = conn.execute(sa.select(c.id).where(c.pseudonym == case)).first()
        number = int(case.strip()) if _DIGITS.fullmatch(case.strip()) else None
        other = None
        if number is not None and (named is None or named.id != number):
            other = conn.execute(sa.select(c.id, c.pseudonym).where(c.id == number)).first()
        if named is not None and other is not None:
            raise StoreError(
                f"Expected a case reference that names one case, but {case!r} is the pseudonym of case {named.id} "
                f"and the id of case {other.id} ({other.pseudonym!r}). Name case {named.id} by its id and case "
                f"{other.id} by its pseudonym."
            )
        if named is not None:
            return int(named.id)
        if other is not None:
            return int(other.id)
        if number is not None:
            raise NotFoundError(f"Expected an existing case id or pseudonym, but got {case!r}.")
        known = conn.execute(sa.select(c.pseudonym)).scalars().all()
        near = difflib.get_close_matches(case, known, n=3)
        hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
        raise NotFoundError(f"Expected an existing case pseudonym, but got {case!r}.{hint}")

    @staticmethod
    def pseudonym(conn: Connection, case_id: int) -> str:
        """The pseudonym of an existing case."""
        return str(conn.execute(sa.select(t.cases.c.pseudonym).where(t.cases.c.id == case_id)).scalar_one())

    # -- the project folder -----------------------------------------------------------------

    def file(self, stored: str) -> Path:
        """Where a stored path is: absolute as it is, relative inside the project folder."""
        p = Path(stored)
        if p.is_absolute():
            return p
        if self.folder is None:
            raise StoreError(
                f"Expected a project folder to find {stored!r} in, but this project has none; open it with folder=..."
            )
        return self.folder / p

    def need_folder(self, what: str) -> Path:
        """The project folder, or StoreError naming ``what`` needed it."""
        if self.folder is None:
            raise StoreError(
                f"Expected a project folder to keep {what} in, but this project has none; "
                "open the database with open_project(url, folder=...)."
            )
        return self.folder

    def case_folder(self, case: Case | int | str, kind: str) -> Path:
        """The folder for a case's derived files of one kind (created if missing).

        Everything the workbench derives from a case's films outside ``stills/`` belongs
        here, so that :meth:`purge_case` can find it: ``<folder>/<kind>/case-<id>/``.

        Parameters
        ----------
        case : Case, int or str
            The case.
        kind : {"thumbnails", "clips", "cache", "reports"}
            What the files are.
        """
        if kind not in DERIVED_KINDS:
            raise ValueError(
                f"Invalid value for the 'kind' parameter. Allowed values are "
                f"{', '.join(map(repr, DERIVED_KINDS))}, but got {kind!r} instead."
            )
        folder = self.need_folder(kind)
        with self.read() as conn:
            cid = self.case_id(conn, case)
        path = folder / kind / f"case-{cid}"
        if not path.is_dir():
            self.writable()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def files_of(conn: Connection, where: sa.ColumnElement[bool]) -> list[tuple[str, str]]:
        """Stills and media files of the recordings selected by ``where`` (on recordings/sessions)."""
        rec = t.recordings.join(t.sessions, t.recordings.c.session_id == t.sessions.c.id)
        rec_ids = sa.select(t.recordings.c.id).select_from(rec).where(where)
        stills = conn.execute(sa.select(t.stills.c.image_path).where(t.stills.c.recording_id.in_(rec_ids))).scalars()
        media = conn.execute(sa.select(t.recordings.c.path).select_from(rec).where(where)).scalars()
        return [("still", p) for p in stills] + [("media", p) for p in set(media)]

    def remove_files(self, files: Iterable[tuple[str, str]]) -> None:
        """Remove derived files after their rows were deleted: stills always, media copies if unused."""
        for kind, stored in files:
            if kind == "media":
                if Path(stored).is_absolute():
                    continue  # the user's own file (copy=False): never ours to delete
                with self.read() as conn:
                    used = conn.execute(
                        sa.select(sa.func.count()).select_from(t.recordings).where(t.recordings.c.path == stored)
                    ).scalar()
                if used:
                    continue
            try:
                path = self.file(stored)
                if kind == "still":
                    unlink_still(path)
                else:
                    path.unlink(missing_ok=True)
            except (OSError, StoreError) as exc:
                warnings.warn(
                    f"Could not remove {stored!r} after deleting its row: {exc}. Remove it by hand.",
                    stacklevel=3,  # the caller of delete_*
                )


class HasKernel(Protocol):
    """What holds a kernel: a :class:`~workbench.store.Store` or a :class:`~workbench.project.Project`."""

    @property
    def kernel(self) -> Kernel: ...


def as_kernel(project: Kernel | HasKernel) -> Kernel:
    """The kernel of a project (a :class:`Kernel`, or anything holding one as ``.kernel``)."""
    if isinstance(project, Kernel):
        return project
    kernel = getattr(project, "kernel", None)
    if not isinstance(kernel, Kernel):
        raise TypeError(f"Expected an open project (Project, Store or Kernel), but got {type(project).__name__}.")
    return kernel


# -- opening ------------------------------------------------------------------------------------


def _configured_coder(folder: Path | None) -> str:
    """The ``coder`` of the project folder's ``workbench.toml`` ('' if none)."""
    if folder is None or not (folder / CONFIG_FILENAME).is_file():
        return ""
    import tomllib

    path = folder / CONFIG_FILENAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise StoreError(f"Expected a readable TOML file at {path}, but: {exc}.") from exc
    coder = data.get("coder", "")
    if not isinstance(coder, str):
        raise StoreError(f"Expected 'coder' in {path} to be a string, but got {coder!r}.")
    return coder.strip()


def _default_coder(folder: Path | None = None) -> str:
    env = os.environ.get("WORKBENCH_CODER", "").strip()
    if env:
        return env
    configured = _configured_coder(folder)
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in some containers
        logger.info("No OS user name available; annotations default to coder 'unknown'.")
        return "unknown"


def open_kernel(
    path_or_url: str | os.PathLike[str] | sa.URL,
    create: bool = False,
    *,
    folder: str | os.PathLike[str] | None = None,
    coder: str | None = None,
    scheme: CodingScheme | None = None,
) -> Kernel:
    """Open a project's database and folder as a :class:`Kernel`.

    The parameters and errors are :func:`workbench.open_project`'s, which documents them.
    """
    database = open_database(path_or_url, create, folder=folder, scheme=scheme)
    try:
        who = coder or _default_coder(None if database.tempdir is not None else database.folder)
    except BaseException:
        database.engine.dispose()
        raise
    kernel = Kernel(database, coder=who)
    if kernel.read_only:
        logger.warning(
            "Opened the project %s read-only: its folder or database file cannot be written by this user (or the "
            "disk is read-only). Reading, exports to another folder and backups work; every edit is refused.",
            kernel.where,
        )
    return kernel
