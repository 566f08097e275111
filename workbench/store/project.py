"""A workbench project: the database (SQLAlchemy Core) and the folder of files beside it.

A project is a folder with ``workbench.db`` (SQLite) and the files the store
writes (``media/`` for copied videos, ``stills/`` for exported frames), or a
database URL (PostgreSQL for a team) with an optional ``folder`` for those
files. :func:`open_project` opens either, migrating older databases to the
newest schema with Alembic, and returns a :class:`Project`.

Every edit is one transaction, committed when the method returns. Editable rows
carry a ``version`` (1 on insert, bumped by each update): pass the version you
edited as ``expected_version`` and an edit made meanwhile by someone else is
refused with :class:`~workbench.errors.ConflictError` instead of overwritten.
An edit without ``expected_version`` is an explicit "last writer wins", the
same on SQLite and PostgreSQL: it is applied atomically to the row as it is
when the edit runs, bumps the version, and the audit log records it (with
``expected_version`` null), so no write is lost from the record unseen.

A SQLite project whose database file is deleted or replaced while it is open
refuses the next transaction with :class:`~workbench.errors.DatabaseGoneError`;
one on a read-only folder or disk is opened read-only and refuses every edit
with :class:`~workbench.errors.ReadOnlyProjectError`.

Examples
--------
>>> from workbench.store import open_project
>>> with open_project(":memory:") as project:
...     case = project.add_case("Family A")
...     goal = project.add_goal(case, "More turn taking at dinner", 0, 10)
...     project.rate_goal(goal, "2026-01-15", 4).value
4.0
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import difflib
import getpass
import json
import logging
import math
import numbers
import os
import re
import shlex
import shutil
import sqlite3
import tempfile
import uuid
import warnings
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.pool import StaticPool

from workbench.annotations import COLUMNS as ANNOTATION_COLUMNS
from workbench.annotations import AnnotationTable, format_span
from workbench.errors import (
    AnnotationError,
    ConflictError,
    DatabaseGoneError,
    DuplicateImportError,
    MediaError,
    NotFoundError,
    ReadOnlyProjectError,
    SchemaVersionError,
    StoreError,
)
from workbench.model import (
    AgeBand,
    Case,
    Comment,
    CommentStatus,
    Consent,
    Goal,
    GoalRating,
    Measure,
    Moment,
    Participant,
    Recording,
    Role,
    Session,
    SessionKind,
    Still,
    parse_consent_purpose,
    parse_enum,
)
from workbench.scheme import CodingScheme, default_scheme, scheme_from_dict
from workbench.store import schema as t

__all__ = ["DB_FILENAME", "ImportReport", "Project", "alembic_config", "open_project"]

logger = logging.getLogger(__name__)

#: Name of the SQLite database inside a project folder.
DB_FILENAME = "workbench.db"
#: How long a SQLite connection waits for another writer before giving up (ms).
BUSY_TIMEOUT_MS = 10_000
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK = 0x5647_5742  # "VGWB": serialises concurrent migrations on PostgreSQL
_WRITE = "workbench_write"
_ANNOTATION_EDITABLE = ("actor", "code", "onset_ms", "offset_ms", "coder", "note")
_ANNOTATION_STORE_COLUMNS = ("version", "created_at", "updated_at", "extra")
_INPUT_ROW = "__workbench_input_row__"  # carries a row's input position through validation and sorting
_PG_ANNOTATION_LOCK = 0x5647  # with a recording id: serialises the annotation checks of one recording
_IMPORT_MODES = ("new", "replace", "append")
#: Columns never copied into the audit log: protected, bulky or bookkeeping.
_NOT_AUDITED = frozenset({"frame_times", "real_name", "original_name", "word", "content", "created_at", "updated_at",
                          "version"})
#: Protected columns: an update says "(protected)" in the audit log, never the value.
_PROTECTED = frozenset({"real_name", "original_name", "word"})


# -- engine and migrations --------------------------------------------------------------


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Any:
    """Build the Alembic configuration of the store in code (no ``alembic.ini``).

    Parameters
    ----------
    connection : Connection, optional
        An open connection the migration commands should run on (inside its
        transaction). Preferred: it keeps the store's engine settings.
    url : str, optional
        A database URL, used when no connection is given.

    Returns
    -------
    alembic.config.Config
        Ready for ``alembic.command.upgrade(config, "head")`` and friends.
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own transaction handling
    # begins late and commits before DDL), then switch on what a small safe database needs.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # an in-memory database answers 'memory'
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def _sqlite_on_connect_read_only(dbapi_connection: Any, _record: Any) -> None:
    # A read-only connection must not ask for WAL mode (that writes the header); the rest reads only.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _sqlite_on_begin(conn: Connection) -> None:
    # Writers take the write lock at BEGIN, so two writers queue (busy_timeout) instead of one
    # failing at its first write with "database is locked".
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


class _SqliteFile:
    """The SQLite file of an open project: how it was opened, and which file it was.

    SQLite keeps writing to a database file that was deleted (or replaced) while it is open,
    and acknowledges every write: they land in the unlinked file and are lost when the
    program ends. So the file's identity (device, inode) is taken when the project is opened
    and compared with the path's at the start of every transaction and after every commit
    (one ``os.stat``, a few microseconds); a difference raises :class:`DatabaseGoneError`.
    Connections are opened with ``mode=rw`` once the file exists, so a lost file is never
    silently recreated empty.

    A read-only project (the file or its folder cannot be written, e.g. a read-only disk)
    is opened with ``mode=ro``; where SQLite cannot make the WAL index (``-shm``) beside a
    read-only file, with ``immutable=1``, which is only safe when no ``-wal`` holds changes.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.immutable = False
        self.create = False  # mode=rwc: only while open_project creates the file
        self.identity: tuple[int, int] | None = None
        self.opened_at: dt.datetime | None = None

    def uri(self) -> str:
        """The ``file:`` URI sqlite3 opens (``mode=ro``/``rw``/``rwc``, ``immutable=1`` if needed)."""
        mode = "ro" if self.read_only else ("rwc" if self.create else "rw")
        return f"file:{quote(self.path.as_posix())}?mode={mode}" + ("&immutable=1" if self.immutable else "")

    def connect(self) -> Any:
        """A new sqlite3 connection to the file (the engine's ``creator``)."""
        self.check()
        return sqlite3.connect(self.uri(), uri=True, check_same_thread=False)

    def remember(self) -> None:
        """Take the file's identity now (after opening or creating it)."""
        st = os.stat(self.path)
        self.identity = (st.st_dev, st.st_ino)
        self.opened_at = _now()
        self.create = False

    def check(self, *, committed: bool = False) -> None:
        """Raise :class:`DatabaseGoneError` if the file at the path is no longer the one opened.

        ``committed``: the check follows a commit, which then went to the lost file.
        """
        if self.identity is None:
            return
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            what = "was deleted (or moved away)"
        except OSError as exc:
            what = f"cannot be reached ({exc.strerror})"
        else:
            if (st.st_dev, st.st_ino) == self.identity:
                return
            what = "was replaced by another file (restored from a backup, or copied over?)"
        since = f" at {self.opened_at:%Y-%m-%d %H:%M:%S} UTC" if self.opened_at is not None else ""
        outcome = (
            "the change just made went to the lost file and is not in the project"
            if committed
            else "this was refused and nothing was stored"
        )
        raise DatabaseGoneError(
            f"The project database {self.path} {what} after this program opened it{since}. Nothing more can be "
            f"saved to it: {outcome}. Close every program that has the project open; if the "
            f"file is lost, bring the project back from a backup with `workbench restore BACKUP {self.path.parent}` "
            "(see `workbench backup`), or move the file back; then open the project again.",
            str(self.path),
        )

    def on_begin(self, conn: Connection) -> None:
        """The engine's ``begin`` event: refuse a lost file or a write to a read-only one, then BEGIN."""
        self.check()
        if self.read_only and conn.get_execution_options().get(_WRITE):
            raise _read_only_error(str(self.path.parent))
        _sqlite_on_begin(conn)


def _read_only_error(where: str) -> ReadOnlyProjectError:
    return ReadOnlyProjectError(
        f"The project {where} is open read-only (its folder or database file cannot be written by this user, "
        "or it is on a read-only disk), so this change was refused and nothing was stored. Copy the project "
        "folder somewhere writable (or ask for write access) to edit it.",
        where,
    )


def _make_engine(url: sa.URL, sqlite_file: _SqliteFile | None = None) -> Engine:
    if url.get_backend_name() == "sqlite":
        if _is_memory_sqlite(url):
            engine = sa.create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
        elif sqlite_file is not None:
            engine = sa.create_engine(url, creator=sqlite_file.connect)
        else:
            engine = sa.create_engine(url)
        read_only = sqlite_file is not None and sqlite_file.read_only
        event.listen(engine, "connect", _sqlite_on_connect_read_only if read_only else _sqlite_on_connect)
        event.listen(engine, "begin", sqlite_file.on_begin if sqlite_file is not None else _sqlite_on_begin)
        return engine
    try:
        # Smaller multi-row INSERT pages: psycopg re-parses long statements on every call (measured:
        # 10 000 annotations 1.8 s with the default 1000 rows per statement, 1.1 s with 100).
        return sa.create_engine(url, pool_pre_ping=True, insertmanyvalues_page_size=100)
    except (ImportError, sa_exc.NoSuchModuleError, sa_exc.ArgumentError) as exc:
        hint = " Install it with: pip install 'vig-workbench[postgres]'." if "postgres" in url.drivername else ""
        raise StoreError(
            f"Expected a database URL whose driver is installed, but {url.drivername!r} failed: {exc}.{hint}"
        ) from exc


def _is_memory_sqlite(url: sa.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


# -- small validators -------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite keeps no zone; the store writes UTC
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _ms(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"Expected {name} in integer milliseconds, but got {value!r}.")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(float(value)) and float(value) == int(value):
        return int(value)
    raise ValueError(f"Expected {name} in integer milliseconds, but got {value!r}.")


def _text(value: Any, name: str, *, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise TypeError(f"Expected {name} to be a string, but got {type(value).__name__}.")
    if required and not value.strip():
        raise ValueError(f"Expected a non-empty {name}, but got {value!r}.")
    return value


def _numbered(name: str, taken: set[str]) -> str:
    """``name``, or ``"name (2)"``, ``"name (3)"``, ... if it is taken."""
    n = 1
    found = name
    while found in taken:
        n += 1
        found = f"{name} ({n})"
    return found


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"Expected {name} to be a finite number, but got {value!r}.")
    return float(value)


def _date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"Expected {name} to be a date (datetime.date or 'YYYY-MM-DD'), but got {value!r}.")


def _optional_date(value: Any, name: str) -> dt.date | None:
    return None if value is None else _date(value, name)


def consent_hint(
    case: str,
    purpose: str,
    current: Consent | None,
    *,
    viewer: str | None = None,
    renew: bool = False,
    project: str = "PROJECT",
) -> str:
    """How to record consent for ``purpose`` of ``case``: the command line and, in brackets, the API call.

    With a ``current`` record, the command keeps what it allows and adds ``purpose`` (and ``viewer``);
    with ``renew``, it asks for a new retention date. ``project`` is what the command names the project.
    """
    purposes = [*current.purposes] if current else []
    purposes = list(dict.fromkeys([*purposes, purpose]))
    viewers = list(dict.fromkeys([*(current.viewers if current else ()), *([viewer] if viewer else [])]))
    until = "YYYY-MM-DD" if current is None or renew or current.until is None else current.until.isoformat()
    given_by = current.given_by if current is not None and current.given_by else "ROLE"
    flags = " ".join(f"--purpose {shlex.quote(p)}" for p in purposes)
    flags += " " + (" ".join(f"--viewer {shlex.quote(v)}" for v in viewers) if viewers else "--viewer ROLE")
    open_ended = current is not None and current.until is None and not renew
    flags += " --open-ended" if open_ended else f" --until {until}"
    flags += f" --given-by {shlex.quote(given_by)}"
    api_until = "None" if open_ended else repr(until)
    api = (f"project.set_consent({case!r}, purposes={purposes!r}, viewers={viewers or ['ROLE']!r}, "
           f"until={api_until}, given_by={given_by!r}"
           + (f", expected_version={current.version})" if current is not None else ")"))
    return f"workbench consent set {project} {shlex.quote(case)} {flags} (in Python: {api})"


def _check_changes(changes: Mapping[str, Any], allowed: Iterable[str], kind: str) -> None:
    allowed = tuple(allowed)
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise TypeError(f"Expected changes to a {kind}'s {', '.join(allowed)}, but got {', '.join(unknown)}.")


def _jsonable(value: Any) -> Any:
    """A JSON-safe copy of an extra annotation value (None for missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def _snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy of a row for the audit log, without protected or bulky columns."""
    return {str(k): _jsonable(v) for k, v in row.items() if k not in _NOT_AUDITED}


def _protected_name(value: Any) -> str | None:
    """A protected real name as stored: None (or blank) for none, else the text, trimmed."""
    if value is None:
        return None
    text = _text(value, "real_name", required=False).strip()
    return text or None


def _unlink_still(png: Path) -> None:
    """Remove a still's PNG and the JSON sidecar :func:`workbench.media.write_still` writes beside it."""
    png.unlink(missing_ok=True)
    png.with_suffix(".json").unlink(missing_ok=True)


def _pack_times(times: Any) -> bytes:
    """Frame times (ms) -> zlib of their little-endian int64 differences (constant steps pack tiny)."""
    a = np.asarray(times, dtype=np.int64).ravel()
    steps = np.diff(a, prepend=np.int64(0)) if a.size else a
    return zlib.compress(steps.astype("<i8").tobytes(), 6)


def _unpack_times(blob: bytes) -> np.ndarray:
    steps = np.frombuffer(zlib.decompress(bytes(blob)), dtype="<i8")
    return np.cumsum(steps, dtype=np.int64)


# -- rows -> records --------------------------------------------------------------------


def _case(r: Row) -> Case:
    return Case(
        id=r.id,
        pseudonym=r.pseudonym,
        real_name=r.real_name,
        helping_question=r.helping_question,
        guider=r.guider,
        created_at=_utc(r.created_at),
        version=r.version,
    )


def _participant(r: Row) -> Participant:
    return Participant(
        id=r.id,
        case_id=r.case_id,
        label=r.label,
        role=Role(r.role),
        age_band=AgeBand(r.age_band),
        version=r.version,
        real_name=r.real_name,
    )


def _session(r: Row) -> Session:
    return Session(
        id=r.id,
        case_id=r.case_id,
        kind=SessionKind(r.kind),
        date=r.date,
        cycle=r.cycle,
        label=r.label,
        version=r.version,
    )


def _recording(r: Row) -> Recording:
    return Recording(
        id=r.id,
        session_id=r.session_id,
        path=r.path,
        sha256=r.sha256,
        duration_ms=int(r.duration_ms),
        frame_count=r.frame_count,
        fps=float(r.fps),
        width=r.width,
        height=r.height,
        rotation=r.rotation,
        codec=r.codec,
        label=r.label,
        version=r.version,
    )


def _moment(r: Row) -> Moment:
    return Moment(
        id=r.id,
        recording_id=r.recording_id,
        onset_ms=int(r.onset_ms),
        offset_ms=int(r.offset_ms),
        title=r.title,
        reason=r.reason,
        reflection=r.reflection,
        version=r.version,
    )


def _still(r: Row) -> Still:
    return Still(
        id=r.id,
        recording_id=r.recording_id,
        time_ms=int(r.time_ms),
        image_path=r.image_path,
        caption=r.caption,
        moment_id=r.moment_id,
        version=r.version,
    )


def _comment(r: Row) -> Comment:
    return Comment(
        id=r.id,
        recording_id=r.recording_id,
        time_ms=int(r.time_ms),
        author=r.author,
        text=r.text,
        status=CommentStatus(r.status),
        created_at=_utc(r.created_at),
        version=r.version,
    )


def _rating(r: Row) -> GoalRating:
    return GoalRating(id=r.id, goal_id=r.goal_id, date=r.date, value=float(r.value), session_id=r.session_id)


def _measure(r: Row) -> Measure:
    return Measure(
        id=r.id,
        case_id=r.case_id,
        instrument=r.instrument,
        scale=r.scale,
        time_point=r.time_point,
        value=float(r.value),
        date=r.date,
        version=r.version,
    )


def _annotation_table_fast(result: Sequence[Row], scheme: CodingScheme) -> AnnotationTable | None:
    """Stored rows as an :class:`AnnotationTable`, built column by column, or None to take the checked path.

    The database's constraints hold most of what the table checks row by row (integer times, onset >= 0,
    offset >= onset); the rest - actor and code present and trimmed, every code in the scheme - is checked
    here on whole columns. Rows with extra columns, or anything that fails a check, go the row-by-row way
    (:class:`AnnotationTable`'s own validation, and its messages), so both give the same table.
    """
    if not result:
        return None
    rows = [r._mapping for r in result]
    if any(m["extra"] for m in rows):
        return None
    onset = np.asarray([m["onset_ms"] for m in rows])
    offset = np.asarray([m["offset_ms"] for m in rows])
    if onset.dtype.kind != "i" or offset.dtype.kind != "i":  # e.g. a REAL another program put in SQLite
        return None
    # object Series, as AnnotationTable builds them (pandas >= 3 would make an object array of text "str")
    df = pd.DataFrame(
        {
            "id": pd.array([m["id"] for m in rows], dtype="Int64"),
            "recording_id": pd.array([m["recording_id"] for m in rows], dtype="Int64"),
            "actor": pd.Series([m["actor"] for m in rows], dtype=object),
            "code": pd.Series([m["code"] for m in rows], dtype=object),
            "onset_ms": onset.astype(np.int64),
            "offset_ms": offset.astype(np.int64),
            "coder": pd.Series([m["coder"] for m in rows], dtype=object),
            "note": pd.Series([m["note"] for m in rows], dtype=object),
            "version": pd.Series([m["version"] for m in rows], dtype=object),
        }
    )
    for column in ("actor", "code"):
        values = set(df[column])
        if any(not isinstance(v, str) or not v or v != v.strip() for v in values):
            return None
    if any(code not in scheme for code in set(df["code"])):
        return None
    if any(not isinstance(v, str) for v in set(df["coder"]) | set(df["note"])):
        return None
    return AnnotationTable._from_valid(df, scheme)


def _annotation_dict(r: Row) -> dict[str, Any]:
    m = dict(r._mapping)
    extra = m.pop("extra", None) or {}
    out: dict[str, Any] = {
        "id": m["id"],
        "recording_id": m["recording_id"],
        "actor": m["actor"],
        "code": m["code"],
        "onset_ms": m["onset_ms"],  # as stored: AnnotationTable refuses a non-integral time, int() would hide it
        "offset_ms": m["offset_ms"],
        "coder": m["coder"],
        "note": m["note"],
    }
    out.update({k: v for k, v in extra.items() if k not in out})
    out["version"] = m["version"]
    out["created_at"] = _utc(m["created_at"])
    out["updated_at"] = _utc(m["updated_at"])
    return out


# -- opening ----------------------------------------------------------------------------


#: A project folder's own settings (TOML): ``coder = "anna"`` names who edits on this machine.
CONFIG_FILENAME = "workbench.toml"


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


def open_project(
    path_or_url: str | os.PathLike[str] | sa.URL,
    create: bool = False,
    *,
    folder: str | os.PathLike[str] | None = None,
    coder: str | None = None,
    scheme: CodingScheme | None = None,
) -> Project:
    """Open a project folder or a database URL (or create it with ``create=True``).

    Parameters
    ----------
    path_or_url : str, path or sqlalchemy.URL
        - a folder: the project folder (``workbench.db`` inside, plus ``media/``
          and ``stills/``); the path of a ``.db`` file opens its folder;
        - a URL (``postgresql+psycopg://user@host/db``, ``sqlite:///file.db``, any
          SQLAlchemy URL): the database; files go into ``folder``;
        - ``":memory:"``: a new in-memory SQLite database with a temporary folder
          that is removed on :meth:`Project.close` (for tests and trials).
    create : bool
        Create the project (folder and/or tables) if it does not exist. Opening
        an existing project with ``create=True`` just opens it.
    folder : str or path, optional
        For a URL: the folder for copied media and stills (shared by the team).
    coder : str, optional
        Who is editing: the default coder of new annotations and the name in the
        audit log. Else the ``WORKBENCH_CODER`` environment variable; else ``coder``
        in the project folder's ``workbench.toml``; else the operating-system user name.
    scheme : CodingScheme, optional
        The coding scheme stored in a new project (default:
        :func:`workbench.scheme.default_scheme`). Ignored, with a warning, for an
        existing project with another scheme: use :meth:`Project.set_scheme`.

    Returns
    -------
    Project
        Use it as a context manager, or call :meth:`Project.close`.

    Raises
    ------
    NotFoundError
        If the project does not exist and ``create`` is false.
    SchemaVersionError
        If the database was written by a newer workbench (unknown schema revision).
    StoreError
        If the database cannot be reached or is not a workbench database.

    Examples
    --------
    >>> import workbench
    >>> with workbench.open_project(":memory:", coder="anna") as project:
    ...     project.coder
    'anna'
    """
    tempdir: tempfile.TemporaryDirectory[str] | None = None
    files: Path | None = Path(folder).expanduser() if folder is not None else None
    where: str
    if isinstance(path_or_url, str) and path_or_url == ":memory:":
        url = sa.make_url("sqlite://")
    elif isinstance(path_or_url, sa.URL) or (isinstance(path_or_url, str) and "://" in path_or_url):
        try:
            url = sa.make_url(path_or_url)
        except sa_exc.ArgumentError as exc:
            raise ValueError(
                f"Expected a database URL like 'postgresql+psycopg://host/db', but got {path_or_url!r}."
            ) from exc
    else:
        if folder is not None:
            raise ValueError("Expected 'folder' only with a database URL; a project folder keeps its own files.")
        root = Path(path_or_url).expanduser().resolve()
        if root.is_file():
            if root.suffix != ".db":
                raise NotFoundError(f"Expected a project folder, but {root} is a file.")
            root, db = root.parent, root
        else:
            db = root / DB_FILENAME
        if not db.exists():
            if not create:
                raise NotFoundError(
                    f"Expected a VIG Workbench project at {root}, but {db.name} is not there. "
                    f"Use open_project({str(root)!r}, create=True) or `workbench init {root}` to create one."
                )
            root.mkdir(parents=True, exist_ok=True)
        files = root
        url = sa.URL.create("sqlite", database=str(db))

    sqlite_file: _SqliteFile | None = None
    if _is_memory_sqlite(url):
        create = True
        if files is None:
            tempdir = tempfile.TemporaryDirectory(prefix="workbench-")
            files = Path(tempdir.name)
    elif url.get_backend_name() == "sqlite":
        db_file = Path(url.database or "").expanduser().absolute()
        sqlite_file = _SqliteFile(db_file)
        if not db_file.exists():
            if not create:
                raise NotFoundError(
                    f"Expected a VIG Workbench database at {db_file}, but the file does not exist. "
                    "Use create=True or `workbench init` to create one."
                )
            _refuse_orphaned_files(db_file)
            db_file.parent.mkdir(parents=True, exist_ok=True)
            sqlite_file.create = True
        elif not (os.access(db_file, os.W_OK) and os.access(db_file.parent, os.W_OK)):
            sqlite_file.read_only = True
            sqlite_file.immutable = _needs_immutable(db_file)
    where = url.render_as_string(hide_password=True)
    read_only = sqlite_file is not None and sqlite_file.read_only
    if files is not None and create and not read_only:
        for sub in ("media", "stills"):
            (files / sub).mkdir(parents=True, exist_ok=True)

    engine = _make_engine(url, sqlite_file)
    try:
        _prepare_database(engine, create=create, where=where, scheme=scheme, read_only=read_only)
        if sqlite_file is not None:
            sqlite_file.remember()
    except BaseException:
        engine.dispose()
        if tempdir is not None:
            tempdir.cleanup()
        raise
    try:
        who = coder or _default_coder(None if tempdir is not None else files)
    except BaseException:
        engine.dispose()
        raise
    if sqlite_file is not None and sqlite_file.read_only:
        logger.warning(
            "Opened the project %s read-only: its folder or database file cannot be written by this user (or the "
            "disk is read-only). Reading, exports to another folder and backups work; every edit is refused.",
            files if files is not None else where,
        )
    return Project(engine, folder=files, coder=who, tempdir=tempdir, sqlite_file=sqlite_file)


#: What a project folder holds besides its database: if any of it is there without the
#: database, the database was lost, and a new empty one must not be made beside it.
_PROJECT_TRACES = ("media", "stills", "backups", "results", "reports", "thumbnails", "clips", "cache")


def _refuse_orphaned_files(db_file: Path) -> None:
    """Refuse to create ``db_file`` in a folder that holds a project's files but lost its database."""
    folder = db_file.parent
    found = [f"{name}/" for name in _PROJECT_TRACES if (folder / name).is_dir() and any((folder / name).iterdir())]
    found += [p.name for p in (folder / f"{db_file.name}-wal", folder / f"{db_file.name}-shm") if p.exists()]
    if found:
        raise StoreError(
            f"Expected a new project folder, but {folder} holds a project's files ({', '.join(found)}) without "
            f"its database {db_file.name}: the database was deleted or moved. Creating an empty one here would "
            f"hide what is left. Bring the project back from a backup with `workbench restore BACKUP {folder}`, "
            f"or move the database back; to start afresh, create the project in another folder."
        )


def _needs_immutable(db_file: Path) -> bool:
    """Whether a read-only open of ``db_file`` needs ``immutable=1``: SQLite cannot reach a WAL index.

    ``mode=ro`` works when the ``-shm`` file can be created or already exists; a database
    closed cleanly on a read-only disk has neither ``-wal`` nor ``-shm``, and then only
    ``immutable=1`` opens it (safe: no ``-wal`` holds changes that reading would miss).
    """
    wal = db_file.with_name(db_file.name + "-wal")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{quote(db_file.as_posix())}?mode=ro", uri=True)) as probe:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return False
    except sqlite3.Error as exc:
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(
                f"Cannot open the read-only project database {db_file}: it has unsaved changes in {wal.name} "
                f"that SQLite cannot read without writing beside it ({exc}). Copy the project folder somewhere "
                "writable and open the copy."
            ) from exc
        return True


def _prepare_database(
    engine: Engine, *, create: bool, where: str, scheme: CodingScheme | None, read_only: bool = False
) -> None:
    """Check the schema revision, migrate to head, make sure a scheme is stored (one transaction).

    A ``read_only`` database is only checked: it must be at the newest revision already.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_WRITE: not read_only})
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                tables = set(sa.inspect(conn).get_table_names())
                current = MigrationContext.configure(conn).get_current_heads()
                if "alembic_version" not in tables:
                    if tables:
                        shown = ", ".join(sorted(tables)[:5])
                        raise StoreError(
                            f"Expected a VIG Workbench database at {where}, but it holds other tables "
                            f"({shown}) and no workbench schema revision; refusing to change it."
                        )
                    if not create:
                        raise NotFoundError(
                            f"Expected a VIG Workbench database at {where}, but it has no workbench tables. "
                            "Use create=True or `workbench init` to create one."
                        )
                known = {r.revision for r in script.walk_revisions()}  # exact ids: no prefix matching
                for rev in current:
                    if rev not in known:
                        raise SchemaVersionError(
                            f"The project {where} was written by a newer VIG Workbench (schema revision "
                            f"{rev}); this one knows up to {head}. Upgrade the workbench."
                        )
                if tuple(current) != (head,) and read_only:
                    raise StoreError(
                        f"The read-only project {where} is at schema revision {', '.join(current) or 'none'}, older "
                        f"than this workbench's {head}, and cannot be upgraded where it is. Copy the project "
                        "folder somewhere writable and open the copy (it is upgraded on opening)."
                    )
                if tuple(current) != (head,):
                    command.upgrade(alembic_config(connection=conn), "head")
                    if "alembic_version" in tables:
                        logger.info(
                            "Migrated the project database %s from schema revision %s to %s.",
                            where,
                            ", ".join(current) or "base",
                            head,
                        )
                    else:
                        logger.info("Created the project database %s at schema revision %s.", where, head)
                active = conn.execute(sa.select(t.schemes.c.id).where(t.schemes.c.active)).first()
                if read_only:
                    pass  # nothing can be stored; a missing scheme is reported when it is asked for
                elif active is None:
                    _store_scheme(conn, scheme or default_scheme())
                elif scheme is not None and scheme.to_dict() != _active_scheme_content(conn):
                    warnings.warn(
                        f"The project {where} already has a coding scheme ({active.id!r}); the scheme "
                        f"{scheme.id!r} passed to open_project was ignored. Use project.set_scheme() to change it.",
                        stacklevel=3,
                    )
    except sa_exc.DBAPIError as exc:
        raise StoreError(f"Cannot open the project database {where}: {exc.orig}") from exc


def _active_scheme_content(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(sa.select(t.schemes.c.content).where(t.schemes.c.active)).first()
    return None if row is None else row.content


def _store_scheme(conn: Connection, scheme: CodingScheme) -> None:
    content = scheme.to_dict()
    conn.execute(sa.update(t.schemes).values(active=False))
    exists = conn.execute(sa.select(t.schemes.c.id).where(t.schemes.c.id == scheme.id)).first()
    values = {"version": str(scheme.version), "content": content, "active": True, "updated_at": _now()}
    if exists:
        conn.execute(sa.update(t.schemes).where(t.schemes.c.id == scheme.id).values(**values))
    else:
        conn.execute(sa.insert(t.schemes).values(id=scheme.id, **values))


# -- the project --------------------------------------------------------------------------


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


@dataclasses.dataclass(frozen=True)
class ImportReport:
    """What :meth:`Project.import_annotations` did.

    Attributes
    ----------
    recording_id : int
        The recording imported into.
    ids : tuple of int
        The new annotations' ids.
    replaced : int
        How many stored annotations of the same coders were deleted (``mode="replace"``).
    coders : tuple of str
        The coders of the imported rows.
    """

    recording_id: int
    ids: tuple[int, ...]
    replaced: int
    coders: tuple[str, ...]


class Project:
    """An open workbench project: its database and its folder of files.

    Create one with :func:`open_project`. Every ``add_*``, ``update_*`` and
    ``delete_*`` call is one transaction, committed when it returns.

    Attributes
    ----------
    folder : Path or None
        Where copied media (``media/``) and stills (``stills/``) are kept.
    url : str
        The database URL (password hidden).
    coder : str
        Default coder name for new annotations.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        folder: Path | None,
        coder: str,
        tempdir: tempfile.TemporaryDirectory[str] | None = None,
        sqlite_file: _SqliteFile | None = None,
    ) -> None:
        self._engine: Engine | None = engine
        self._sqlite_file = sqlite_file
        self.folder: Path | None = folder
        self.url: str = engine.url.render_as_string(hide_password=True)
        self.coder: str = coder
        self._tempdir = tempdir
        self._scheme: CodingScheme | None = None

    # -- life cycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the database connections (and remove the temporary folder of ``":memory:"``)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._engine is None else self.dialect
        where = self.folder if self.folder is not None and not self.url.startswith("sqlite") else self.url
        return f"<Project {where} | {state}>"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for advanced use and tests; edits should go through methods)."""
        if self._engine is None:
            raise StoreError("Expected an open project, but this one was closed.")
        return self._engine

    @property
    def dialect(self) -> str:
        """The database kind: ``"sqlite"`` or ``"postgresql"`` (or another SQLAlchemy dialect)."""
        return self.engine.dialect.name

    @property
    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at."""
        from alembic.runtime.migration import MigrationContext

        with self._read() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @property
    def read_only(self) -> bool:
        """Whether the project was opened read-only (its folder, file or disk is not writable): edits are refused."""
        return self._sqlite_file is not None and self._sqlite_file.read_only

    def _writable(self) -> None:
        """Raise :class:`ReadOnlyProjectError` on a read-only project (before writing files beside the database)."""
        if self.read_only:
            raise _read_only_error(str(self.folder if self.folder is not None else self.url))

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        self._writable()
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            try:
                with conn.begin():
                    yield conn
            except sa_exc.DBAPIError as exc:
                raise self._wrap(exc) from exc
        if self._sqlite_file is not None:
            # Deleted during the transaction? Then the commit went to the unlinked file: say so.
            self._sqlite_file.check(committed=True)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            try:
                yield conn
            except sa_exc.DBAPIError as exc:
                raise self._wrap(exc) from exc

    def _wrap(self, exc: sa_exc.DBAPIError) -> StoreError:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        if isinstance(exc, sa_exc.IntegrityError):
            for pattern, message in _INTEGRITY_HINTS:
                if pattern.search(detail):
                    return StoreError(f"{message} (database: {detail})")
            return StoreError(f"The database refused the change: {detail}")
        if "readonly database" in detail:
            return _read_only_error(str(self.folder if self.folder is not None else self.url))
        if "locked" in detail or "busy" in detail:
            return StoreError(
                f"The project database {self.url} stayed busy for {BUSY_TIMEOUT_MS / 1000:g} s "
                f"(another program is writing); try again. ({detail})"
            )
        return StoreError(f"The project database {self.url} failed: {detail}")

    # -- shared helpers -------------------------------------------------------------------

    @staticmethod
    def _id(value: Any, kind: str, record: type | None = None) -> int:
        if record is not None and isinstance(value, record):
            return int(value.id)
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        raise TypeError(f"Expected a {kind} (record or integer id), but got {value!r}.")

    @staticmethod
    def _require(conn: Connection, table: sa.Table, row_id: int, kind: str, *, lock: bool = False) -> Row:
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

    def _get(self, table: sa.Table, row_id: int, kind: str) -> Row:
        with self._read() as conn:
            return self._require(conn, table, row_id, kind)

    def _update(
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
        stmt = sa.update(table).where(table.c.id == row_id)
        if expected_version is not None:
            stmt = stmt.where(table.c.version == int(expected_version))
        stmt = stmt.values(**values, version=table.c.version + 1).returning(*table.c)
        row = conn.execute(stmt).first()
        if row is None:
            Project._refuse(conn, table, kind, row_id, expected_version)
        changed = {
            k: "(protected)" if k in _PROTECTED else _jsonable(v)
            for k, v in values.items()
            if k not in _NOT_AUDITED or k in _PROTECTED
        }
        if case_id is None:
            case_id = self._case_of(conn, kind, row._mapping)
        details = {"changed": changed, "version": row.version, "expected_version": expected_version}
        self._audit(conn, "update", kind, row_id, case_id, details)
        return row

    def _delete(self, conn: Connection, table: sa.Table, kind: str, row_id: int, expected_version: int | None) -> None:
        before = conn.execute(sa.select(table).where(table.c.id == row_id)).first()
        case_id = None if before is None else self._case_of(conn, kind, before._mapping)
        stmt = sa.delete(table).where(table.c.id == row_id)
        if expected_version is not None:
            stmt = stmt.where(table.c.version == int(expected_version))
        if conn.execute(stmt).rowcount == 0:
            Project._refuse(conn, table, kind, row_id, expected_version)
        self._audit(conn, "delete", kind, row_id, case_id, _snapshot(before._mapping) if before is not None else None)

    # -- audit log ------------------------------------------------------------------------

    def _audit(
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
                at=_now(),
                coder=self.coder,
                action=action,
                kind=kind,
                row_id=row_id,
                case_id=case_id,
                details=None if details is None else _jsonable(dict(details)),
            )
        )

    def _added(self, conn: Connection, kind: str, row: Row) -> None:
        """Audit the insert of ``row`` (a row returned by ``INSERT ... RETURNING``)."""
        m = row._mapping
        self._audit(conn, "add", kind, m["id"], self._case_of(conn, kind, m), _snapshot(m))

    @staticmethod
    def _case_of(conn: Connection, kind: str, row: Mapping[str, Any]) -> int | None:
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

    @staticmethod
    def _refuse(conn: Connection, table: sa.Table, kind: str, row_id: int, expected: int | None) -> NoReturn:
        current = conn.execute(sa.select(table.c.version).where(table.c.id == row_id)).scalar()
        if current is None:
            raise NotFoundError(f"Expected an existing {kind} id, but got {row_id}.")
        raise ConflictError(
            f"{kind} {row_id} was changed by someone else (version {current}, you edited version "
            f"{expected}); reload and edit again."
        )

    def _case_id(self, conn: Connection, case: Case | int | str) -> int:
        if isinstance(case, str):
            row = conn.execute(sa.select(t.cases.c.id).where(t.cases.c.pseudonym == case)).first()
            if row is None:
                known = conn.execute(sa.select(t.cases.c.pseudonym)).scalars().all()
                near = difflib.get_close_matches(case, known, n=3)
                hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
                raise NotFoundError(f"Expected an existing case pseudonym, but got {case!r}.{hint}")
            return int(row.id)
        case_id = self._id(case, "case", Case)
        self._require(conn, t.cases, case_id, "case")
        return case_id

    def _file(self, stored: str) -> Path:
        p = Path(stored)
        if p.is_absolute():
            return p
        if self.folder is None:
            raise StoreError(
                f"Expected a project folder to find {stored!r} in, but this project has none; open it with folder=..."
            )
        return self.folder / p

    def _need_folder(self, what: str) -> Path:
        if self.folder is None:
            raise StoreError(
                f"Expected a project folder to keep {what} in, but this project has none; "
                "open the database with open_project(url, folder=...)."
            )
        return self.folder

    def _remove_files(self, files: Iterable[tuple[str, str]]) -> None:
        """Remove derived files after their rows were deleted: stills always, media copies if unused."""
        for kind, stored in files:
            if kind == "media":
                if Path(stored).is_absolute():
                    continue  # the user's own file (copy=False): never ours to delete
                with self._read() as conn:
                    used = conn.execute(
                        sa.select(sa.func.count()).select_from(t.recordings).where(t.recordings.c.path == stored)
                    ).scalar()
                if used:
                    continue
            try:
                path = self._file(stored)
                if kind == "still":
                    _unlink_still(path)
                else:
                    path.unlink(missing_ok=True)
            except (OSError, StoreError) as exc:
                warnings.warn(
                    f"Could not remove {stored!r} after deleting its row: {exc}. Remove it by hand.",
                    stacklevel=3,
                )

    @staticmethod
    def _files_of(conn: Connection, where: sa.ColumnElement[bool]) -> list[tuple[str, str]]:
        """Stills and media files of the recordings selected by ``where`` (on recordings/sessions)."""
        rec = t.recordings.join(t.sessions, t.recordings.c.session_id == t.sessions.c.id)
        rec_ids = sa.select(t.recordings.c.id).select_from(rec).where(where)
        stills = conn.execute(sa.select(t.stills.c.image_path).where(t.stills.c.recording_id.in_(rec_ids))).scalars()
        media = conn.execute(sa.select(t.recordings.c.path).select_from(rec).where(where)).scalars()
        return [("still", p) for p in stills] + [("media", p) for p in set(media)]

    # -- scheme ---------------------------------------------------------------------------

    @property
    def scheme(self) -> CodingScheme:
        """The project's coding scheme (stored in the database)."""
        if self._scheme is None:
            with self._read() as conn:
                row = conn.execute(sa.select(t.schemes).where(t.schemes.c.active)).first()
            if row is None:
                raise StoreError(f"Expected a coding scheme in the project {self.url}, but none is stored.")
            self._scheme = scheme_from_dict(row.content, source=f"scheme {row.id!r} stored in {self.url}")
        return self._scheme

    def set_scheme(self, scheme: CodingScheme) -> None:
        """Make ``scheme`` the project's coding scheme.

        Raises
        ------
        StoreError
            If stored annotations use codes the new scheme does not have (they are listed).
        """
        if not isinstance(scheme, CodingScheme):
            raise TypeError(f"Expected a CodingScheme, but got {type(scheme).__name__}.")
        with self._write() as conn:
            used = conn.execute(sa.select(t.annotations.c.code).distinct()).scalars().all()
            missing = sorted(set(used) - set(scheme.code_keys))
            if missing:
                raise StoreError(
                    f"Expected a scheme with every code the stored annotations use, but {scheme.id!r} lacks "
                    f"{', '.join(map(repr, missing))}."
                )
            _store_scheme(conn, scheme)
            self._audit(conn, "update", "scheme", None, None, {"scheme": scheme.id, "version": str(scheme.version)})
        self._scheme = scheme

    # -- cases ----------------------------------------------------------------------------

    def add_case(
        self, pseudonym: str, real_name: str | None = None, *, helping_question: str = "", guider: str = ""
    ) -> Case:
        """Add a case.

        Parameters
        ----------
        pseudonym : str
            Unique, non-empty name used everywhere outside the store.
        real_name : str, optional
            Protected: stored for the guider's own records, never exported.
        helping_question, guider : str
            The family's helping question; the guider's name.

        Raises
        ------
        StoreError
            If another case has the same pseudonym.
        """
        pseudonym = _text(pseudonym, "pseudonym").strip()
        values = {
            "pseudonym": pseudonym,
            "real_name": None if real_name is None else _text(real_name, "real_name", required=False),
            "helping_question": _text(helping_question, "helping_question", required=False),
            "guider": _text(guider, "guider", required=False),
        }
        with self._write() as conn:
            self._pseudonym_free(conn, pseudonym)
            row = conn.execute(sa.insert(t.cases).values(**values, created_at=_now()).returning(*t.cases.c)).one()
            self._added(conn, "case", row)
        return _case(row)

    @staticmethod
    def _pseudonym_free(conn: Connection, pseudonym: str, except_id: int | None = None) -> None:
        row = conn.execute(sa.select(t.cases.c.id).where(t.cases.c.pseudonym == pseudonym)).first()
        if row is not None and row.id != except_id:
            raise StoreError(
                f"Expected a pseudonym that no other case has, but case {row.id} is already called {pseudonym!r}."
            )

    def cases(self) -> list[Case]:
        """All cases, by id."""
        with self._read() as conn:
            return [_case(r) for r in conn.execute(sa.select(t.cases).order_by(t.cases.c.id))]

    def case(self, id_or_pseudonym: Case | int | str) -> Case:
        """One case, by id or pseudonym.

        Raises
        ------
        NotFoundError
            If there is no such case (near pseudonyms are suggested).
        """
        with self._read() as conn:
            return _case(self._require(conn, t.cases, self._case_id(conn, id_or_pseudonym), "case"))

    def update_case(self, case_id: Case | int, *, expected_version: int | None = None, **changes: Any) -> Case:
        """Change a case's ``pseudonym``, ``real_name``, ``helping_question`` or ``guider``.

        Raises
        ------
        ConflictError
            If ``expected_version`` is given and the case changed since.
        NotFoundError
            If the case is gone.
        """
        _check_changes(changes, ("pseudonym", "real_name", "helping_question", "guider"), "case")
        cid = self._id(case_id, "case", Case)
        values = dict(changes)
        if "pseudonym" in values:
            values["pseudonym"] = _text(values["pseudonym"], "pseudonym").strip()
        for key in ("helping_question", "guider"):
            if key in values:
                values[key] = _text(values[key], key, required=False)
        if values.get("real_name") is not None:
            values["real_name"] = _text(values["real_name"], "real_name", required=False)
        with self._write() as conn:
            if "pseudonym" in values:
                self._pseudonym_free(conn, values["pseudonym"], except_id=cid)
            row = self._update(conn, t.cases, "case", cid, expected_version, values)
        return _case(row)

    def delete_case(self, case_id: Case | int, *, expected_version: int | None = None) -> None:
        """Delete a case with everything in it: rows (cascade), stills and copied media files."""
        cid = self._id(case_id, "case", Case)
        with self._write() as conn:
            files = self._files_of(conn, t.sessions.c.case_id == cid)
            self._delete(conn, t.cases, "case", cid, expected_version)
        self._remove_files(files)

    # -- participants ---------------------------------------------------------------------

    def add_participant(
        self,
        case: Case | int | str,
        label: str,
        role: Role | str,
        age_band: AgeBand | str = "unknown",
        *,
        real_name: str | None = None,
    ) -> Participant:
        """Add a participant (an actor of the annotations) to a case.

        Parameters
        ----------
        case : Case, int or str
            The case (record, id or pseudonym).
        label : str
            Pseudonymous actor label, unique within the case (e.g. ``"mother"``).
        role : Role or str
            One of :class:`~workbench.model.Role`.
        age_band : AgeBand or str
            One of :class:`~workbench.model.AgeBand`.
        real_name : str, optional
            Protected: stored, never exported nor written to the audit log; every export is
            checked against each part of it (a child's first name alone included).
        """
        values = {
            "label": _text(label, "label").strip(),
            "role": parse_enum(Role, role, "role").value,
            "age_band": parse_enum(AgeBand, age_band, "age_band").value,
            "real_name": _protected_name(real_name),
        }
        with self._write() as conn:
            cid = self._case_id(conn, case)
            row = conn.execute(
                sa.insert(t.participants).values(case_id=cid, **values).returning(*t.participants.c)
            ).one()
            self._added(conn, "participant", row)
        return _participant(row)

    def participants(self, case: Case | int | str | None = None) -> list[Participant]:
        """Participants of one case (or of all cases), by id."""
        with self._read() as conn:
            q = sa.select(t.participants).order_by(t.participants.c.id)
            if case is not None:
                q = q.where(t.participants.c.case_id == self._case_id(conn, case))
            return [_participant(r) for r in conn.execute(q)]

    def participant(self, participant_id: int) -> Participant:
        """One participant by id."""
        return _participant(self._get(t.participants, self._id(participant_id, "participant"), "participant"))

    def update_participant(
        self, participant_id: Participant | int, *, expected_version: int | None = None, **changes: Any
    ) -> Participant:
        """Change a participant's ``label``, ``role``, ``age_band`` or protected ``real_name`` (None clears it)."""
        _check_changes(changes, ("label", "role", "age_band", "real_name"), "participant")
        values = dict(changes)
        if "real_name" in values:
            values["real_name"] = _protected_name(values["real_name"])
        if "label" in values:
            values["label"] = _text(values["label"], "label").strip()
        if "role" in values:
            values["role"] = parse_enum(Role, values["role"], "role").value
        if "age_band" in values:
            values["age_band"] = parse_enum(AgeBand, values["age_band"], "age_band").value
        pid = self._id(participant_id, "participant", Participant)
        with self._write() as conn:
            row = self._update(conn, t.participants, "participant", pid, expected_version, values)
        return _participant(row)

    def delete_participant(self, participant_id: Participant | int, *, expected_version: int | None = None) -> None:
        """Delete a participant (their annotations stay: actors are labels)."""
        pid = self._id(participant_id, "participant", Participant)
        with self._write() as conn:
            self._delete(conn, t.participants, "participant", pid, expected_version)

    # -- sessions -------------------------------------------------------------------------

    def add_session(
        self,
        case: Case | int | str,
        kind: SessionKind | str,
        date: dt.date | str,
        cycle: int = 1,
        label: str | None = None,
    ) -> Session:
        """Add a session (filming, shared review or supervision) to a case.

        Parameters
        ----------
        case : Case, int or str
            The case (record, id or pseudonym).
        kind : SessionKind or str
            ``"filming"``, ``"shared review"`` or ``"supervision"``.
        date : datetime.date or str
            The date (``"YYYY-MM-DD"`` accepted).
        cycle : int
            The VIG cycle (film -> micro-analysis -> shared review) this belongs to.
        label : str, optional
            How reports and ``workbench info`` name the session, and one way to pick it
            (``workbench report --session LABEL``). Default: ``"<kind> <date>"``
            (``"filming 2026-03-02"``), numbered if the case has one of that name already.
        """
        values = {
            "kind": parse_enum(SessionKind, kind, "kind").value,
            "date": _date(date, "date"),
            "cycle": self._cycle(cycle),
            "label": _text(label or "", "label", required=False),
        }
        with self._write() as conn:
            cid = self._case_id(conn, case)
            if not values["label"].strip():
                taken = conn.execute(sa.select(t.sessions.c.label).where(t.sessions.c.case_id == cid)).scalars()
                values["label"] = _numbered(f"{values['kind']} {values['date'].isoformat()}", set(taken))
            row = conn.execute(sa.insert(t.sessions).values(case_id=cid, **values).returning(*t.sessions.c)).one()
            self._added(conn, "session", row)
        return _session(row)

    @staticmethod
    def _cycle(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"Expected cycle to be an integer >= 1, but got {value!r}.")
        return int(value)

    def sessions(self, case: Case | int | str | None = None) -> list[Session]:
        """Sessions of one case (or all), by date then id."""
        with self._read() as conn:
            q = sa.select(t.sessions).order_by(t.sessions.c.date, t.sessions.c.id)
            if case is not None:
                q = q.where(t.sessions.c.case_id == self._case_id(conn, case))
            return [_session(r) for r in conn.execute(q)]

    def session(self, session_id: Session | int) -> Session:
        """One session by id."""
        return _session(self._get(t.sessions, self._id(session_id, "session", Session), "session"))

    def update_session(
        self, session_id: Session | int, *, expected_version: int | None = None, **changes: Any
    ) -> Session:
        """Change a session's ``kind``, ``date``, ``cycle`` or ``label``."""
        _check_changes(changes, ("kind", "date", "cycle", "label"), "session")
        values = dict(changes)
        if "kind" in values:
            values["kind"] = parse_enum(SessionKind, values["kind"], "kind").value
        if "date" in values:
            values["date"] = _date(values["date"], "date")
        if "cycle" in values:
            values["cycle"] = self._cycle(values["cycle"])
        if "label" in values:
            values["label"] = _text(values["label"], "label", required=False)
        sid = self._id(session_id, "session", Session)
        with self._write() as conn:
            row = self._update(conn, t.sessions, "session", sid, expected_version, values)
        return _session(row)

    def delete_session(self, session_id: Session | int, *, expected_version: int | None = None) -> None:
        """Delete a session with its recordings, their rows, stills and copied media."""
        sid = self._id(session_id, "session", Session)
        with self._write() as conn:
            files = self._files_of(conn, t.sessions.c.id == sid)
            self._delete(conn, t.sessions, "session", sid, expected_version)
        self._remove_files(files)

    # -- recordings -----------------------------------------------------------------------

    def add_recording(
        self, session: Session | int, video_path: str | os.PathLike[str], *, copy: bool = True,
        label: str | None = None,
    ) -> Recording:
        """Register a video in a session: probe it, optionally copy it into ``<folder>/media/``.

        Parameters
        ----------
        session : Session or int
            The session the video was filmed in.
        video_path : str or path
            The video file.
        copy : bool
            Copy the file into the project (stored relative to the folder, named by
            its checksum so no original file name leaks); else store its absolute path.
        label : str, optional
            How reports and the review name the recording. Default: ``"<session label>,
            film N"`` (``"filming 2026-03-02, film 1"``), never the file's name: file names
            of family films often carry real names, which must not reach an export.

        Raises
        ------
        MediaError
            If the file is missing or not a readable video: an image (even one named ``.mp4``),
            a single frame, or a frame rate outside 1 to 1000 fps (nominal, over the duration, or
            between frames; see :func:`workbench.media.check_recording`). Nothing is stored.
        NotFoundError
            If the session does not exist.
        """
        from workbench import media

        sid = self._id(session, "session", Session)
        self._writable()
        self._get(t.sessions, sid, "session")  # fail before the (slow) probe
        src = Path(video_path).expanduser()
        if not src.is_file():
            raise MediaError(f"Expected a video file, but {src} does not exist or is not a file.")
        folder = self._need_folder("copied media") if copy else None
        info = media.probe(src)
        media.check_recording(info)  # before anything is copied or stored
        created: Path | None = None
        if folder is not None:
            media_dir = folder / "media"
            dest = media_dir / f"rec-{info.sha256[:16]}{src.suffix.lower()}"
            if not dest.exists():
                part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
                try:
                    media_dir.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, part)
                    os.replace(part, dest)
                except OSError as exc:
                    part.unlink(missing_ok=True)
                    raise StoreError(f"Could not copy {src} into {media_dir}: {exc}") from exc
                created = dest
            stored = dest.relative_to(folder).as_posix()
        else:
            stored = str(src.resolve())
        values = {
            "session_id": sid,
            "path": stored,
            "sha256": str(info.sha256),
            "duration_ms": int(info.duration_ms),
            "frame_count": int(info.frame_count),
            "fps": float(info.fps),
            "width": int(info.width),
            "height": int(info.height),
            "rotation": int(getattr(info, "rotation", 0) or 0),
            "codec": str(getattr(info, "codec", "") or ""),
            "label": _text(label or "", "label", required=False),
            "original_name": src.name if copy else None,  # protected: exports are checked against it
            "frame_times": _pack_times(info.frame_times_ms),
            "created_at": _now(),
        }
        try:
            with self._write() as conn:
                self._require(conn, t.sessions, sid, "session")
                if not values["label"].strip():
                    values["label"] = self._film_label(conn, sid)
                row = conn.execute(sa.insert(t.recordings).values(**values).returning(*t.recordings.c)).one()
                self._added(conn, "recording", row)
        except BaseException:
            if created is not None:
                created.unlink(missing_ok=True)
            raise
        return _recording(row)

    @staticmethod
    def _film_label(conn: Connection, session_id: int) -> str:
        """``"<session label>, film N"``: the next number in the session, unused by its recordings."""
        session = conn.execute(sa.select(t.sessions).where(t.sessions.c.id == session_id)).one()
        name = session.label or f"{session.kind} {session.date.isoformat()}"
        taken = set(conn.execute(sa.select(t.recordings.c.label).where(t.recordings.c.session_id == session_id))
                    .scalars())
        n = len(taken) + 1
        while f"{name}, film {n}" in taken:
            n += 1
        return f"{name}, film {n}"

    def recordings(self, session: Session | int | None = None, case: Case | int | str | None = None) -> list[Recording]:
        """Recordings of a session, of a case, or all, by id."""
        with self._read() as conn:
            q = sa.select(t.recordings).order_by(t.recordings.c.id)
            if session is not None:
                q = q.where(t.recordings.c.session_id == self._id(session, "session", Session))
            if case is not None:
                cid = self._case_id(conn, case)
                q = q.join(t.sessions, t.recordings.c.session_id == t.sessions.c.id).where(t.sessions.c.case_id == cid)
            return [_recording(r) for r in conn.execute(q)]

    def recording(self, recording_id: Recording | int) -> Recording:
        """One recording by id."""
        return _recording(self._get(t.recordings, self._id(recording_id, "recording", Recording), "recording"))

    def update_recording(
        self, recording_id: Recording | int, *, expected_version: int | None = None, **changes: Any
    ) -> Recording:
        """Change a recording's ``label``."""
        _check_changes(changes, ("label",), "recording")
        values = {k: _text(v, k, required=False) for k, v in changes.items()}
        rid = self._id(recording_id, "recording", Recording)
        with self._write() as conn:
            row = self._update(conn, t.recordings, "recording", rid, expected_version, values)
        return _recording(row)

    def delete_recording(self, recording_id: Recording | int, *, expected_version: int | None = None) -> None:
        """Delete a recording with its annotations, moments, stills (files too) and its media copy."""
        rid = self._id(recording_id, "recording", Recording)
        with self._write() as conn:
            files = self._files_of(conn, t.recordings.c.id == rid)
            self._delete(conn, t.recordings, "recording", rid, expected_version)
        self._remove_files(files)

    def frame_times(self, recording: Recording | int) -> np.ndarray:
        """The recording's real frame timestamps (int64 ms), as probed."""
        rid = self._id(recording, "recording", Recording)
        with self._read() as conn:
            blob = conn.execute(sa.select(t.recordings.c.frame_times).where(t.recordings.c.id == rid)).scalar()
        if blob is None:
            raise NotFoundError(f"Expected an existing recording id, but got {rid}.")
        return _unpack_times(blob)

    def media_path(self, recording: Recording | int) -> Path:
        """Where the recording's video file is (absolute path)."""
        rec = recording if isinstance(recording, Recording) else self.recording(recording)
        return self._file(rec.path)

    def _duration(self, conn: Connection, recording_id: int) -> int:
        row = conn.execute(sa.select(t.recordings.c.duration_ms).where(t.recordings.c.id == recording_id)).first()
        if row is None:
            raise NotFoundError(f"Expected an existing recording id, but got {recording_id}.")
        return int(row.duration_ms)

    @staticmethod
    def _span(onset: Any, offset: Any, duration: int, recording_id: int) -> tuple[int, int]:
        on, off = _ms(onset, "onset_ms"), _ms(offset, "offset_ms")
        if on < 0 or on > duration:
            raise ValueError(f"Expected onset_ms within recording {recording_id} (0..{duration} ms), but got {on}.")
        if off < on or off > duration:
            raise ValueError(
                f"Expected offset_ms between onset ({on} ms) and the end of recording {recording_id} "
                f"({duration} ms), but got {off}."
            )
        return on, off

    @staticmethod
    def _time(value: Any, duration: int, recording_id: int, name: str = "time_ms") -> int:
        ms = _ms(value, name)
        if ms < 0 or ms > duration:
            raise ValueError(f"Expected {name} within recording {recording_id} (0..{duration} ms), but got {ms}.")
        return ms

    # -- annotations ----------------------------------------------------------------------

    def add_annotation(
        self,
        recording: Recording | int,
        actor: str,
        code: str,
        onset_ms: int,
        offset_ms: int | None = None,
        coder: str | None = None,
        note: str = "",
    ) -> int:
        """Add one annotation; it is committed when this returns.

        Parameters
        ----------
        recording : Recording or int
            The recording it belongs to.
        actor, code : str
            Who did what; ``code`` must be in the project's scheme, ``actor`` one of the
            case's participants (when the case has any registered).
        onset_ms, offset_ms : int
            Integer milliseconds within the recording; no offset makes a point event.
        coder : str, optional
            Default: the project's coder.
        note : str
            Free note.

        Returns
        -------
        int
            The new annotation's id.

        Raises
        ------
        AnnotationError
            Naming the field: missing or unknown actor, unknown code, negative or reversed
            times, times beyond the recording's end, a state event overlapping another state
            event of the same mutually exclusive group (same actor and coder).
        """
        rid = self._id(recording, "recording", Recording)
        row = {
            "recording_id": rid,
            "actor": actor,
            "code": code,
            "onset_ms": onset_ms,
            "offset_ms": offset_ms,
            "coder": self.coder if coder is None else coder,
            "note": note,
        }
        source = f"the new annotation for recording {rid}"
        table = AnnotationTable([row], scheme=self.scheme, source=source)
        return self._insert_annotations(rid, table.to_dataframe(), ["row 0"], source)[0][0]

    def add_annotations(self, recording: Recording | int, table: AnnotationTable | Any) -> list[int]:
        """Add many annotations at once: all of them or, if any is invalid, none.

        Rows without a coder get the project's coder; extra columns (e.g. BORIS
        modifiers) are kept and come back from :meth:`annotations`. Nothing is compared with
        what is stored: the same rows added twice are stored twice. To bring in a coding
        read from a file, use :meth:`import_annotations`, which refuses a second import.

        Parameters
        ----------
        recording : Recording or int
            The recording they belong to (rows naming another recording are refused).
        table : AnnotationTable, DataFrame or rows
            The annotations (validated against the project's scheme, the case's
            participants and the recording's duration; see :meth:`add_annotation`).

        Returns
        -------
        list of int
            The new ids, in the order of the validated table's rows.

        Raises
        ------
        AnnotationError
            Naming every bad row (its position in ``table``) and field; nothing is stored then.
        """
        rid = self._id(recording, "recording", Recording)
        source = f"the annotations for recording {rid}"
        if isinstance(table, AnnotationTable):
            checked = AnnotationTable(table, scheme=self.scheme, source=source)
            df = checked.to_dataframe()
            positions = list(range(len(df)))
        else:
            from workbench.annotations import _records

            rows = [{**r, _INPUT_ROW: i} for i, r in enumerate(_records(table))]
            df = AnnotationTable(rows, scheme=self.scheme, source=source).to_dataframe()
            positions = [int(i) for i in df.pop(_INPUT_ROW)] if len(df) else []
        labels = [f"row {p}" for p in positions]
        problems = self._other_recordings(df, rid, labels)
        if problems:
            raise AnnotationError(problems, source=source)
        return self._insert_annotations(rid, df, labels, source)[0]

    def import_annotations(
        self,
        recording: Recording | int,
        table: AnnotationTable | Any,
        *,
        coder: str | None = None,
        mode: str = "new",
        source: str | None = None,
    ) -> ImportReport:
        """Import a coding (rows read from a file) into a recording: all of it or nothing, and once.

        Like :meth:`add_annotations`, but a second import of the same rows is refused, and
        every problem names where a person finds the row: the file (``source``), the tier
        (ELAN's ``tier`` column) or else the actor, and the time (``hh:mm:ss.mmm``).

        Parameters
        ----------
        recording : Recording or int
            The recording imported into (rows naming another recording are refused).
        table : AnnotationTable, DataFrame or rows
            The rows, e.g. from :func:`workbench.io.read_eaf` or :func:`workbench.io.read_table`;
            validated against the project's scheme, the case's participants and the
            recording's duration.
        coder : str, optional
            The coder of every row. Default: each row's own coder, the project's coder for
            rows without one.
        mode : {"new", "replace", "append"}
            ``"new"`` (default): refused with :class:`~workbench.errors.DuplicateImportError`
            when any row is already stored for the recording and the row's coder (the same
            actor, code, onset and offset), whether all rows or some; the message says how
            many. ``"replace"``: the stored annotations of the recording by the coders of
            the rows are deleted and the rows added, in one transaction (audited as one
            delete and one add); rows of other coders stay. ``"append"``: the rows are added
            whatever is stored, as :meth:`add_annotations` does.
        source : str, optional
            Where the rows came from (a file name), named in every message.

        Returns
        -------
        ImportReport
            The new ids, how many stored rows were replaced, and the coders imported.
            An empty table changes nothing (also with ``mode="replace"``).

        Raises
        ------
        AnnotationError
            Naming file, tier or actor, time and field of every bad row; nothing is stored then.
        DuplicateImportError
            With ``mode="new"``, when rows are already stored; nothing is stored then.
        ValueError
            For an unknown ``mode`` or an empty ``coder``.

        Examples
        --------
        >>> table = read_eaf("visit-1.eaf", scheme=project.scheme)  # doctest: +SKIP
        >>> project.import_annotations(rec, table, coder="trainee", source="visit-1.eaf")  # doctest: +SKIP
        ImportReport(recording_id=3, ids=(1, ..., 98), replaced=0, coders=('trainee',))
        """
        if mode not in _IMPORT_MODES:
            raise ValueError(
                "Invalid value for the 'mode' parameter. Allowed values are 'new', 'replace' and 'append', "
                f"but got {mode!r} instead."
            )
        if coder is not None and (not isinstance(coder, str) or not coder.strip()):
            raise ValueError(f"Expected 'coder' to be a name (or None for the rows' own coders), but got {coder!r}.")
        rid = self._id(recording, "recording", Recording)
        what = source or f"the annotations for recording {rid}"
        # structure first (times, required fields), then codes and the store's rules, each named as found
        df = (table if isinstance(table, AnnotationTable) else AnnotationTable(table, source=what)).to_dataframe()
        if coder is not None:
            df["coder"] = coder.strip()
        tiers = df["tier"].tolist() if "tier" in df.columns else [None] * len(df)
        labels = [
            ", ".join(
                [
                    *([source] if source else []),
                    f"tier {tier!r}" if isinstance(tier, str) and tier else f"actor {actor!r}",
                    format_span(onset, offset),
                ]
            )
            for tier, actor, onset, offset in zip(tiers, df["actor"], df["onset_ms"], df["offset_ms"], strict=True)
        ]
        scheme = self.scheme
        problems = [
            f"{label}, field 'code': Expected a code of scheme {scheme.id!r}, but got {code!r}."
            for label, code in zip(labels, df["code"], strict=True)
            if code not in scheme
        ]
        problems += self._other_recordings(df, rid, labels)
        if problems:
            raise AnnotationError(problems, source=what)
        ids, replaced = self._insert_annotations(rid, df, labels, what, mode=mode)
        coders = sorted({c or self.coder for c in df["coder"]})
        return ImportReport(recording_id=rid, ids=tuple(ids), replaced=replaced, coders=tuple(coders))

    @staticmethod
    def _other_recordings(df: pd.DataFrame, rid: int, labels: list[str]) -> list[str]:
        """Rows of ``df`` that name another recording than ``rid``."""
        others = df["recording_id"].notna() & (df["recording_id"] != rid)
        return [
            f"{labels[i]}, field 'recording_id': Expected {rid} (or nothing), but got {int(v)}."
            for i, v in df.loc[others, "recording_id"].items()
        ]

    def _insert_annotations(
        self, rid: int, df: pd.DataFrame, labels: list[str], source: str, mode: str | None = None
    ) -> tuple[list[int], int]:
        """Check ``df`` (validated rows) against the store and insert it in one transaction.

        ``mode`` (see :meth:`import_annotations`): ``"new"`` refuses rows already stored for their
        coder, ``"replace"`` first deletes the stored rows of the rows' coders; None or ``"append"``
        just adds. Returns the new ids and the number of stored rows replaced.
        """
        extras = [c for c in df.columns if c not in ANNOTATION_COLUMNS and c not in _ANNOTATION_STORE_COLUMNS]
        now = _now()
        onsets = df["onset_ms"].to_numpy()
        offsets = df["offset_ms"].to_numpy()
        actors, codes = df["actor"].tolist(), df["code"].tolist()
        coders = [c if c else self.coder for c in df["coder"].tolist()]
        notes = df["note"].tolist()
        extra_rows = df[extras].to_dict("records") if extras else None
        rows = []
        for i in range(len(df)):
            extra = None
            if extra_rows is not None:
                extra = {k: v for k, v in ((k, _jsonable(v)) for k, v in extra_rows[i].items()) if v is not None}
            rows.append(
                {
                    "recording_id": rid,
                    "actor": actors[i],
                    "code": codes[i],
                    "onset_ms": int(onsets[i]),
                    "offset_ms": int(offsets[i]),
                    "coder": coders[i],
                    "note": notes[i],
                    "extra": extra or None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        if not rows:
            return [], 0
        replaced = 0
        with self._write() as conn:
            self._lock_recording(conn, rid)
            case_id = self._case_of(conn, "annotation", {"recording_id": rid})
            if mode == "new":
                self._refuse_duplicates(conn, rid, rows, source)
            elif mode == "replace":
                replaced = self._delete_coders_annotations(conn, rid, sorted(set(coders)), case_id)
            problems = self._annotation_problems(conn, rid, rows, labels, case_id=case_id)
            if problems:
                raise AnnotationError(problems, source=source)
            stmt = sa.insert(t.annotations).returning(t.annotations.c.id, sort_by_parameter_order=True)
            ids = [int(i) for i in conn.execute(stmt, rows).scalars().all()]
            if len(ids) == 1:
                details = {"id": ids[0], **_snapshot(rows[0])}
                self._audit(conn, "add", "annotation", ids[0], case_id, details)
            else:
                details = {"count": len(ids), "first_id": min(ids), "last_id": max(ids), "coders": sorted(set(coders))}
                self._audit(conn, "add", "annotation", None, case_id, details)
        return ids, replaced

    @staticmethod
    def _refuse_duplicates(conn: Connection, rid: int, rows: list[dict[str, Any]], source: str) -> None:
        """DuplicateImportError if any of ``rows`` is stored already for ``rid`` and its coder."""
        a = t.annotations.c
        coders = sorted({r["coder"] for r in rows})
        stored: dict[str, set[tuple[Any, ...]]] = {c: set() for c in coders}
        counts: Counter[str] = Counter()
        q = sa.select(a.coder, a.actor, a.code, a.onset_ms, a.offset_ms).where(
            a.recording_id == rid, a.coder.in_(coders)
        )
        for r in conn.execute(q):
            stored[r.coder].add((r.actor, r.code, int(r.onset_ms), int(r.offset_ms)))
            counts[r.coder] += 1
        incoming = Counter(r["coder"] for r in rows)
        already = Counter(
            r["coder"] for r in rows if (r["actor"], r["code"], r["onset_ms"], r["offset_ms"]) in stored[r["coder"]]
        )
        if not already:
            return
        found = "; ".join(
            f"{n} of the {incoming[c]} rows by coder {c!r} (recording {rid} has {counts[c]} annotations by {c!r})"
            for c, n in sorted(already.items())
        )
        raise DuplicateImportError(
            f"{source}: Expected rows that recording {rid} does not have yet, but {found} are stored there "
            "already (the same actor, code, onset and offset). Nothing was imported. To replace the "
            f"recording's annotations by {' and '.join(map(repr, sorted(already)))} with these rows, import "
            "with mode='replace' (command line: --replace); to add them anyway, mode='append' (--append).",
            recording_id=rid,
            already=dict(already),
        )

    def _delete_coders_annotations(self, conn: Connection, rid: int, coders: list[str], case_id: int | None) -> int:
        """Delete the annotations of ``rid`` by ``coders`` (one audit entry); how many went."""
        a = t.annotations.c
        stmt = sa.delete(t.annotations).where(a.recording_id == rid, a.coder.in_(coders)).returning(a.id)
        gone = conn.execute(stmt).scalars().all()
        if gone:
            details = {"count": len(gone), "ids": sorted(int(i) for i in gone), "coders": coders, "replaced": True}
            self._audit(conn, "delete", "annotation", None, case_id, details)
        return len(gone)

    def _lock_recording(self, conn: Connection, rid: int) -> None:
        """On PostgreSQL, serialise the annotation checks of one recording (SQLite writers queue anyway)."""
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k, :r)"), {"k": _PG_ANNOTATION_LOCK, "r": rid})

    def _annotation_problems(
        self,
        conn: Connection,
        rid: int,
        rows: list[dict[str, Any]],
        labels: list[str],
        exclude_ids: Iterable[int] = (),
        case_id: int | None = None,
    ) -> list[str]:
        """What the store refuses in validated rows: times beyond the recording's end, actors who
        are not participants of the case (when it has any), overlapping state events of one
        mutually exclusive group (same actor and coder, against each other and the stored rows).
        ``case_id`` is the recording's case, if the caller has it already."""
        duration = self._duration(conn, rid)
        problems: list[str] = []
        for label, r in zip(labels, rows, strict=True):
            for name in ("onset_ms", "offset_ms"):
                if int(r[name]) > duration:
                    problems.append(
                        f"{label}, field {name!r}: Expected a time within recording {rid} (0..{duration} ms), "
                        f"but got {int(r[name])}."
                    )
                    break
        if case_id is None:
            case_id = self._case_of(conn, "annotation", {"recording_id": rid})
        known = set(
            conn.execute(sa.select(t.participants.c.label).where(t.participants.c.case_id == case_id)).scalars()
        )
        if known:
            for label, r in zip(labels, rows, strict=True):
                if r["actor"] not in known:
                    problems.append(
                        f"{label}, field 'actor': Expected a participant of case {case_id} "
                        f"({', '.join(sorted(known))}), but got {r['actor']!r}."
                    )
        problems += self._exclusive_overlaps(conn, rid, rows, labels, exclude_ids)
        return problems

    def _exclusive_overlaps(
        self,
        conn: Connection,
        rid: int,
        rows: list[dict[str, Any]],
        labels: list[str],
        exclude_ids: Iterable[int] = (),
    ) -> list[str]:
        groups = self.scheme.exclusive_groups
        group_of = {code: gi for gi, group in enumerate(groups) for code in group}
        new = [
            (label, r["actor"], r["coder"], r["code"], int(r["onset_ms"]), int(r["offset_ms"]), True)
            for label, r in zip(labels, rows, strict=True)
            if r["code"] in group_of and int(r["offset_ms"]) > int(r["onset_ms"])
        ]
        if not new:
            return []
        a = t.annotations.c
        q = sa.select(a.id, a.actor, a.coder, a.code, a.onset_ms, a.offset_ms).where(
            a.recording_id == rid,
            a.code.in_(sorted(group_of)),
            a.offset_ms > a.onset_ms,
            a.actor.in_(sorted({n[1] for n in new})),
        )
        excluded = [int(i) for i in exclude_ids]
        if excluded:
            q = q.where(a.id.not_in(excluded))
        stored = [
            (f"stored annotation {r.id}", r.actor, r.coder, r.code, int(r.onset_ms), int(r.offset_ms), False)
            for r in conn.execute(q)
        ]
        buckets: dict[tuple[str, str, int], list[tuple[Any, ...]]] = {}
        for item in new + stored:
            buckets.setdefault((item[1], item[2], group_of[item[3]]), []).append(item)
        problems = []
        for (actor, coder, gi), items in buckets.items():
            items.sort(key=lambda it: (it[4], it[5]))
            reach: tuple[Any, ...] | None = None  # the item reaching furthest so far
            for item in items:
                if reach is not None and item[4] < reach[5] and (item[6] or reach[6]):
                    mine, other = (item, reach) if item[6] else (reach, item)
                    problems.append(
                        f"{mine[0]}, field 'onset_ms': Expected state events of the mutually exclusive group "
                        f"({', '.join(sorted(groups[gi]))}) not to overlap for actor {actor!r} (coder {coder!r}), "
                        f"but {mine[3]} {mine[4]}..{mine[5]} ms overlaps {other[0]} "
                        f"({other[3]} {other[4]}..{other[5]} ms)."
                    )
                if reach is None or item[5] > reach[5]:
                    reach = item
        return problems

    def annotation_problems(self, recording: Recording | int | None = None) -> list[str]:
        """Stored annotations the store would refuse today (flags, not errors), each naming the row.

        Rows stored before the scheme gained a mutually exclusive group, before a
        participant list was registered, or written by another tool straight into the
        database can break the rules :meth:`add_annotation` enforces; this lists them.

        Returns
        -------
        list of str
            One message per problem, naming the annotation id and field; empty when all is well.
        """
        a = t.annotations.c
        with self._read() as conn:
            rids = (
                [self._id(recording, "recording", Recording)]
                if recording is not None
                else conn.execute(sa.select(t.recordings.c.id).order_by(t.recordings.c.id)).scalars().all()
            )
            problems: list[str] = []
            for rid in rids:
                stored = conn.execute(
                    sa.select(a.id, a.actor, a.code, a.onset_ms, a.offset_ms, a.coder)
                    .where(a.recording_id == rid)
                    .order_by(a.onset_ms, a.id)
                ).all()
                rows = [dict(r._mapping) for r in stored]
                labels = [f"annotation {r['id']}" for r in rows]
                unknown = [f"{lb}, field 'code': Expected a code of scheme {self.scheme.id!r}, but got {r['code']!r}."
                           for lb, r in zip(labels, rows, strict=True) if r["code"] not in self.scheme]  # fmt: skip
                found = self._annotation_problems(conn, rid, rows, labels, exclude_ids=[r["id"] for r in rows])
                # pairs of stored rows: excluded from the query above, compared among themselves here
                problems += unknown + list(dict.fromkeys(found))
        return problems

    def annotations(self, recording: Recording | int | None = None, coder: str | None = None) -> AnnotationTable:
        """Stored annotations (of one recording and/or coder), with an extra ``version`` column.

        Returns
        -------
        AnnotationTable
            Bound to the project's scheme; extra columns stored with the rows come back.
        """
        q = sa.select(t.annotations).order_by(t.annotations.c.recording_id, t.annotations.c.onset_ms)
        if recording is not None:
            q = q.where(t.annotations.c.recording_id == self._id(recording, "recording", Recording))
        if coder is not None:
            q = q.where(t.annotations.c.coder == coder)
        with self._read() as conn:
            result = list(conn.execute(q))
        fast = _annotation_table_fast(result, self.scheme)
        if fast is not None:
            return fast
        rows = [_annotation_dict(r) for r in result]
        for r in rows:
            del r["created_at"], r["updated_at"]
        if not rows:
            return AnnotationTable._from_valid(
                AnnotationTable.empty().to_dataframe().assign(version=pd.array([], dtype=object)), self.scheme
            )
        try:
            return AnnotationTable(rows, scheme=self.scheme, source=self.url)
        except AnnotationError as exc:  # scheme changed by another client since these rows were stored
            warnings.warn(
                f"Some stored annotations do not fit the project's scheme {self.scheme.id!r} ({exc.problems[0]}); "
                "returning them without the scheme. Fix the codes or set a scheme that has them.",
                stacklevel=2,
            )
            return AnnotationTable(rows, source=self.url)

    def annotation(self, annotation_id: int) -> dict[str, Any]:
        """One stored annotation as a dict (with ``version``, ``created_at``, ``updated_at`` and extras)."""
        return _annotation_dict(self._get(t.annotations, self._id(annotation_id, "annotation"), "annotation"))

    def update_annotation(self, annotation_id: int, *, expected_version: int | None = None, **changes: Any) -> int:
        """Change an annotation's ``actor``, ``code``, ``onset_ms``, ``offset_ms``, ``coder`` or ``note``.

        The changed row is validated again. Moving the onset of a point event
        (``offset_ms == onset_ms``) without giving an offset keeps it a point event.

        Pass the ``version`` you read as ``expected_version`` (the widgets always do):
        an edit made meanwhile by someone else is then refused, never overwritten.
        Without it the edit is "last writer wins": the same on SQLite and PostgreSQL,
        applied to the row as it is now, and recorded in the audit log.

        Returns
        -------
        int
            The annotation's new version.

        Raises
        ------
        ConflictError
            If ``expected_version`` is given and someone changed the row since.
        NotFoundError
            If the annotation is gone.
        AnnotationError
            If the changed row is invalid (naming the field).
        """
        _check_changes(changes, _ANNOTATION_EDITABLE, "annotation")
        aid = self._id(annotation_id, "annotation")
        scheme = self.scheme
        with self._write() as conn:
            cur = self._require(conn, t.annotations, aid, "annotation")
            # The recording's lock first, then the row's (the order every annotation writer takes them);
            # the row read again under its lock is the one this edit changes (its recording never changes).
            self._lock_recording(conn, cur.recording_id)
            cur = self._require(conn, t.annotations, aid, "annotation", lock=True)
            if expected_version is not None and cur.version != expected_version:
                self._refuse(conn, t.annotations, "annotation", aid, expected_version)
            row = {c: getattr(cur, c) for c in _ANNOTATION_EDITABLE}
            if "onset_ms" in changes and "offset_ms" not in changes and cur.onset_ms == cur.offset_ms:
                row["offset_ms"] = changes["onset_ms"]
            row.update(changes)
            checked = AnnotationTable([row], scheme=scheme, source=f"annotation {aid}").records()[0]
            as_stored = {**checked, "coder": checked["coder"] or self.coder}
            case_id = self._case_of(conn, "annotation", {"recording_id": cur.recording_id})
            problems = self._annotation_problems(
                conn, cur.recording_id, [as_stored], [f"annotation {aid}"], exclude_ids=[aid], case_id=case_id
            )
            if problems:
                raise AnnotationError(problems, source=f"annotation {aid}")
            values = {c: checked[c] for c in _ANNOTATION_EDITABLE if checked[c] != getattr(cur, c)}
            values["updated_at"] = _now()
            new = self._update(conn, t.annotations, "annotation", aid, expected_version, values, case_id=case_id)
        return int(new.version)

    def delete_annotation(self, annotation_id: int, *, expected_version: int | None = None) -> None:
        """Delete an annotation (refused with ConflictError if it changed since ``expected_version``)."""
        aid = self._id(annotation_id, "annotation")
        with self._write() as conn:
            self._delete(conn, t.annotations, "annotation", aid, expected_version)

    # -- moments --------------------------------------------------------------------------

    def add_moment(
        self,
        recording: Recording | int,
        onset_ms: int,
        offset_ms: int,
        title: str,
        reason: str = "",
        reflection: str = "",
    ) -> Moment:
        """Mark a moment ("better than usual") of a recording.

        Raises
        ------
        ValueError
            If the span is not inside the recording or the title is empty.
        """
        rid = self._id(recording, "recording", Recording)
        title = _text(title, "title")
        reason, reflection = _text(reason, "reason", required=False), _text(reflection, "reflection", required=False)
        with self._write() as conn:
            on, off = self._span(onset_ms, offset_ms, self._duration(conn, rid), rid)
            row = conn.execute(
                sa.insert(t.moments)
                .values(recording_id=rid, onset_ms=on, offset_ms=off, title=title, reason=reason, reflection=reflection)
                .returning(*t.moments.c)
            ).one()
            self._added(conn, "moment", row)
        return _moment(row)

    def moments(self, recording: Recording | int | None = None) -> list[Moment]:
        """Moments of a recording (or all), by recording and onset."""
        q = sa.select(t.moments).order_by(t.moments.c.recording_id, t.moments.c.onset_ms, t.moments.c.id)
        if recording is not None:
            q = q.where(t.moments.c.recording_id == self._id(recording, "recording", Recording))
        with self._read() as conn:
            return [_moment(r) for r in conn.execute(q)]

    def moment(self, moment_id: Moment | int) -> Moment:
        """One moment by id."""
        return _moment(self._get(t.moments, self._id(moment_id, "moment", Moment), "moment"))

    def update_moment(self, moment_id: Moment | int, *, expected_version: int | None = None, **changes: Any) -> Moment:
        """Change a moment's ``onset_ms``, ``offset_ms``, ``title``, ``reason`` or ``reflection``."""
        _check_changes(changes, ("onset_ms", "offset_ms", "title", "reason", "reflection"), "moment")
        mid = self._id(moment_id, "moment", Moment)
        values = dict(changes)
        if "title" in values:
            values["title"] = _text(values["title"], "title")
        for key in ("reason", "reflection"):
            if key in values:
                values[key] = _text(values[key], key, required=False)
        with self._write() as conn:
            cur = self._require(conn, t.moments, mid, "moment", lock=True)
            if "onset_ms" in values or "offset_ms" in values:
                values["onset_ms"], values["offset_ms"] = self._span(
                    values.get("onset_ms", cur.onset_ms),
                    values.get("offset_ms", cur.offset_ms),
                    self._duration(conn, cur.recording_id),
                    cur.recording_id,
                )
            row = self._update(conn, t.moments, "moment", mid, expected_version, values)
        return _moment(row)

    def delete_moment(self, moment_id: Moment | int, *, expected_version: int | None = None) -> None:
        """Delete a moment (its stills stay, no longer linked to it)."""
        mid = self._id(moment_id, "moment", Moment)
        with self._write() as conn:
            self._delete(conn, t.moments, "moment", mid, expected_version)

    # -- stills ---------------------------------------------------------------------------

    def add_still(
        self, recording: Recording | int, time_ms: int, caption: str = "", moment: Moment | int | None = None
    ) -> Still:
        """Save the exact frame at ``time_ms`` as a PNG in ``<folder>/stills/`` and store it.

        :func:`workbench.media.write_still` writes the PNG and a JSON sidecar beside it
        (source checksum, frame index and time, caption). If writing the image fails nothing
        is stored; if storing fails the image is removed.

        Raises
        ------
        MediaError
            If the frame cannot be read or written.
        ValueError
            If ``time_ms`` is outside the recording or the moment is of another recording.
        """
        from workbench import media

        self._writable()
        rec = self.recording(recording) if not isinstance(recording, Recording) else recording
        caption = _text(caption, "caption", required=False)
        ms = self._time(time_ms, rec.duration_ms, rec.id)
        mid = None if moment is None else self._id(moment, "moment", Moment)
        if mid is not None and self.moment(mid).recording_id != rec.id:
            raise ValueError(f"Expected a moment of recording {rec.id}, but moment {mid} is of another recording.")
        folder = self._need_folder("stills")
        stills_dir = folder / "stills"
        out = stills_dir / f"rec{rec.id}-{ms:09d}ms-{uuid.uuid4().hex[:8]}.png"
        video = self.media_path(rec)
        try:
            # Probe without hashing the whole video again: the sidecar names the registered checksum.
            info = dataclasses.replace(media.probe(video, checksum=False), sha256=rec.sha256)
            media.write_still(video, ms, out, caption=caption, info=info)
        except BaseException:
            _unlink_still(out)
            raise
        if not out.is_file():
            _unlink_still(out)
            raise MediaError(f"Expected a still image at {out}, but writing the frame at {ms} ms produced none.")
        try:
            with self._write() as conn:
                self._require(conn, t.recordings, rec.id, "recording")
                if mid is not None:
                    self._require(conn, t.moments, mid, "moment")
                row = conn.execute(
                    sa.insert(t.stills)
                    .values(
                        recording_id=rec.id,
                        time_ms=ms,
                        image_path=out.relative_to(folder).as_posix(),
                        caption=caption,
                        moment_id=mid,
                    )
                    .returning(*t.stills.c)
                ).one()
                self._added(conn, "still", row)
        except BaseException:
            _unlink_still(out)
            raise
        return _still(row)

    def stills(self, recording: Recording | int | None = None, moment: Moment | int | None = None) -> list[Still]:
        """Stills of a recording and/or a moment (or all), by recording and time."""
        q = sa.select(t.stills).order_by(t.stills.c.recording_id, t.stills.c.time_ms, t.stills.c.id)
        if recording is not None:
            q = q.where(t.stills.c.recording_id == self._id(recording, "recording", Recording))
        if moment is not None:
            q = q.where(t.stills.c.moment_id == self._id(moment, "moment", Moment))
        with self._read() as conn:
            return [_still(r) for r in conn.execute(q)]

    def still(self, still_id: Still | int) -> Still:
        """One still by id."""
        return _still(self._get(t.stills, self._id(still_id, "still", Still), "still"))

    def still_path(self, still: Still | int) -> Path:
        """Where the still's image file is (absolute path)."""
        s = still if isinstance(still, Still) else self.still(still)
        return self._file(s.image_path)

    def delete_still(self, still_id: Still | int, *, expected_version: int | None = None) -> None:
        """Delete a still and its image file."""
        sid = self._id(still_id, "still", Still)
        with self._write() as conn:
            path = self._require(conn, t.stills, sid, "still").image_path
            self._delete(conn, t.stills, "still", sid, expected_version)
        self._remove_files([("still", path)])

    # -- comments -------------------------------------------------------------------------

    def add_comment(
        self,
        recording: Recording | int,
        time_ms: int,
        author: str,
        text: str,
        status: CommentStatus | str = "discuss",
    ) -> Comment:
        """Comment at a time of a recording (a supervisor's agree / discuss / revise)."""
        rid = self._id(recording, "recording", Recording)
        values = {
            "author": _text(author, "author").strip(),
            "text": _text(text, "text"),
            "status": parse_enum(CommentStatus, status, "status").value,
        }
        with self._write() as conn:
            ms = self._time(time_ms, self._duration(conn, rid), rid)
            row = conn.execute(
                sa.insert(t.comments)
                .values(recording_id=rid, time_ms=ms, created_at=_now(), **values)
                .returning(*t.comments.c)
            ).one()
            self._added(conn, "comment", row)
        return _comment(row)

    def comments(self, recording: Recording | int | None = None) -> list[Comment]:
        """Comments of a recording (or all), by recording and time."""
        q = sa.select(t.comments).order_by(t.comments.c.recording_id, t.comments.c.time_ms, t.comments.c.id)
        if recording is not None:
            q = q.where(t.comments.c.recording_id == self._id(recording, "recording", Recording))
        with self._read() as conn:
            return [_comment(r) for r in conn.execute(q)]

    def comment(self, comment_id: Comment | int) -> Comment:
        """One comment by id."""
        return _comment(self._get(t.comments, self._id(comment_id, "comment", Comment), "comment"))

    def update_comment(
        self, comment_id: Comment | int, *, expected_version: int | None = None, **changes: Any
    ) -> Comment:
        """Change a comment's ``time_ms``, ``author``, ``text`` or ``status``."""
        _check_changes(changes, ("time_ms", "author", "text", "status"), "comment")
        cid = self._id(comment_id, "comment", Comment)
        values = dict(changes)
        if "author" in values:
            values["author"] = _text(values["author"], "author").strip()
        if "text" in values:
            values["text"] = _text(values["text"], "text")
        if "status" in values:
            values["status"] = parse_enum(CommentStatus, values["status"], "status").value
        with self._write() as conn:
            if "time_ms" in values:
                cur = self._require(conn, t.comments, cid, "comment", lock=True)
                values["time_ms"] = self._time(
                    values["time_ms"], self._duration(conn, cur.recording_id), cur.recording_id
                )
            row = self._update(conn, t.comments, "comment", cid, expected_version, values)
        return _comment(row)

    def delete_comment(self, comment_id: Comment | int, *, expected_version: int | None = None) -> None:
        """Delete a comment."""
        cid = self._id(comment_id, "comment", Comment)
        with self._write() as conn:
            self._delete(conn, t.comments, "comment", cid, expected_version)

    # -- goals ----------------------------------------------------------------------------

    @staticmethod
    def _scale(scale_min: Any, scale_max: Any) -> tuple[float, float]:
        lo, hi = _number(scale_min, "scale_min"), _number(scale_max, "scale_max")
        if hi <= lo:
            raise ValueError(f"Expected scale_max > scale_min ({lo:g}), but got {hi:g}.")
        return lo, hi

    def add_goal(self, case: Case | int | str, text: str, scale_min: float = 0, scale_max: float = 10) -> Goal:
        """Add a goal (a working point) to a case, rated from ``scale_min`` to ``scale_max``."""
        text = _text(text, "text")
        lo, hi = self._scale(scale_min, scale_max)
        with self._write() as conn:
            cid = self._case_id(conn, case)
            row = conn.execute(
                sa.insert(t.goals).values(case_id=cid, text=text, scale_min=lo, scale_max=hi).returning(*t.goals.c)
            ).one()
            self._added(conn, "goal", row)
        return self._goal(row, ())

    @staticmethod
    def _goal(r: Row, ratings: Iterable[GoalRating]) -> Goal:
        return Goal(
            id=r.id,
            case_id=r.case_id,
            text=r.text,
            scale_min=float(r.scale_min),
            scale_max=float(r.scale_max),
            ratings=tuple(ratings),
            version=r.version,
        )

    def rate_goal(
        self, goal: Goal | int, date: dt.date | str, value: float, session: Session | int | None = None
    ) -> GoalRating:
        """Rate a goal on its scale at a date (optionally in a session of the same case).

        Raises
        ------
        ValueError
            If ``value`` is outside the goal's scale, or the session is of another case.
        """
        gid = self._id(goal, "goal", Goal)
        day = _date(date, "date")
        v = _number(value, "value")
        sid = None if session is None else self._id(session, "session", Session)
        with self._write() as conn:
            g = self._require(conn, t.goals, gid, "goal")
            if not g.scale_min <= v <= g.scale_max:
                raise ValueError(
                    f"Expected a rating of goal {gid} between {g.scale_min:g} and {g.scale_max:g}, but got {v:g}."
                )
            if sid is not None and self._require(conn, t.sessions, sid, "session").case_id != g.case_id:
                raise ValueError(f"Expected a session of case {g.case_id}, but session {sid} is of another case.")
            row = conn.execute(
                sa.insert(t.goal_ratings)
                .values(goal_id=gid, date=day, value=v, session_id=sid)
                .returning(*t.goal_ratings.c)
            ).one()
            self._added(conn, "goal rating", row)
        return _rating(row)

    def goals(self, case: Case | int | str | None = None) -> list[Goal]:
        """Goals of a case (or all), by id, each with its ratings by date."""
        with self._read() as conn:
            q = sa.select(t.goals).order_by(t.goals.c.id)
            if case is not None:
                q = q.where(t.goals.c.case_id == self._case_id(conn, case))
            goals = conn.execute(q).all()
            ratings: dict[int, list[GoalRating]] = {g.id: [] for g in goals}
            if goals:
                rq = (
                    sa.select(t.goal_ratings)
                    .where(t.goal_ratings.c.goal_id.in_(list(ratings)))
                    .order_by(t.goal_ratings.c.date, t.goal_ratings.c.id)
                )
                for r in conn.execute(rq):
                    ratings[r.goal_id].append(_rating(r))
        return [self._goal(g, ratings[g.id]) for g in goals]

    def goal(self, goal_id: Goal | int) -> Goal:
        """One goal by id, with its ratings by date."""
        gid = self._id(goal_id, "goal", Goal)
        with self._read() as conn:
            g = self._require(conn, t.goals, gid, "goal")
            rs = conn.execute(
                sa.select(t.goal_ratings)
                .where(t.goal_ratings.c.goal_id == gid)
                .order_by(t.goal_ratings.c.date, t.goal_ratings.c.id)
            )
            return self._goal(g, [_rating(r) for r in rs])

    def update_goal(self, goal_id: Goal | int, *, expected_version: int | None = None, **changes: Any) -> Goal:
        """Change a goal's ``text``, ``scale_min`` or ``scale_max`` (existing ratings must still fit)."""
        _check_changes(changes, ("text", "scale_min", "scale_max"), "goal")
        gid = self._id(goal_id, "goal", Goal)
        values = dict(changes)
        if "text" in values:
            values["text"] = _text(values["text"], "text")
        with self._write() as conn:
            cur = self._require(conn, t.goals, gid, "goal", lock=True)
            if "scale_min" in values or "scale_max" in values:
                lo, hi = self._scale(values.get("scale_min", cur.scale_min), values.get("scale_max", cur.scale_max))
                values["scale_min"], values["scale_max"] = lo, hi
                outside = (
                    conn.execute(
                        sa.select(t.goal_ratings.c.value)
                        .where(t.goal_ratings.c.goal_id == gid)
                        .where((t.goal_ratings.c.value < lo) | (t.goal_ratings.c.value > hi))
                    )
                    .scalars()
                    .all()
                )
                if outside:
                    raise ValueError(
                        f"Expected a scale holding every rating of goal {gid}, but {lo:g}..{hi:g} leaves out "
                        f"{', '.join(f'{v:g}' for v in outside)}."
                    )
            self._update(conn, t.goals, "goal", gid, expected_version, values)
        return self.goal(gid)

    def delete_goal(self, goal_id: Goal | int, *, expected_version: int | None = None) -> None:
        """Delete a goal with its ratings."""
        gid = self._id(goal_id, "goal", Goal)
        with self._write() as conn:
            self._delete(conn, t.goals, "goal", gid, expected_version)

    def delete_rating(self, rating_id: GoalRating | int) -> None:
        """Delete one goal rating."""
        rid = self._id(rating_id, "goal rating", GoalRating)
        with self._write() as conn:
            before = conn.execute(sa.select(t.goal_ratings).where(t.goal_ratings.c.id == rid)).first()
            gone = (
                before is None
                or conn.execute(sa.delete(t.goal_ratings).where(t.goal_ratings.c.id == rid)).rowcount == 0
            )
            if gone:
                raise NotFoundError(f"Expected an existing goal rating id, but got {rid}.")
            self._audit(
                conn, "delete", "goal rating", rid, self._case_of(conn, "goal rating", before._mapping),
                _snapshot(before._mapping),
            )  # fmt: skip

    # -- measures -------------------------------------------------------------------------

    def add_measure(
        self,
        case: Case | int | str,
        instrument: str,
        scale: str,
        time_point: str,
        value: float,
        date: dt.date | str | None = None,
    ) -> Measure:
        """Add an outcome measure: ``instrument``'s ``scale`` score at ``time_point`` (e.g. ``"pre"``)."""
        values = {
            "instrument": _text(instrument, "instrument").strip(),
            "scale": _text(scale, "scale").strip(),
            "time_point": _text(time_point, "time_point").strip(),
            "value": _number(value, "value"),
            "date": _optional_date(date, "date"),
        }
        with self._write() as conn:
            cid = self._case_id(conn, case)
            row = conn.execute(sa.insert(t.measures).values(case_id=cid, **values).returning(*t.measures.c)).one()
            self._added(conn, "measure", row)
        return _measure(row)

    def measures(self, case: Case | int | str | None = None) -> list[Measure]:
        """Measures of a case (or all), by id."""
        with self._read() as conn:
            q = sa.select(t.measures).order_by(t.measures.c.id)
            if case is not None:
                q = q.where(t.measures.c.case_id == self._case_id(conn, case))
            return [_measure(r) for r in conn.execute(q)]

    def measure(self, measure_id: Measure | int) -> Measure:
        """One measure by id."""
        return _measure(self._get(t.measures, self._id(measure_id, "measure", Measure), "measure"))

    def update_measure(
        self, measure_id: Measure | int, *, expected_version: int | None = None, **changes: Any
    ) -> Measure:
        """Change a measure's ``instrument``, ``scale``, ``time_point``, ``value`` or ``date``."""
        _check_changes(changes, ("instrument", "scale", "time_point", "value", "date"), "measure")
        values = dict(changes)
        for key in ("instrument", "scale", "time_point"):
            if key in values:
                values[key] = _text(values[key], key).strip()
        if "value" in values:
            values["value"] = _number(values["value"], "value")
        if "date" in values:
            values["date"] = _optional_date(values["date"], "date")
        mid = self._id(measure_id, "measure", Measure)
        with self._write() as conn:
            row = self._update(conn, t.measures, "measure", mid, expected_version, values)
        return _measure(row)

    def delete_measure(self, measure_id: Measure | int, *, expected_version: int | None = None) -> None:
        """Delete a measure."""
        mid = self._id(measure_id, "measure", Measure)
        with self._write() as conn:
            self._delete(conn, t.measures, "measure", mid, expected_version)

    def measures_frame(self) -> pd.DataFrame:
        """All measures as a tidy DataFrame, one row per score, with the case's pseudonym (never its real name).

        Returns
        -------
        DataFrame
            Columns ``id, case_id, case, instrument, scale, time_point, value, date``
            (``date`` as datetime64, NaT when unknown).
        """
        m, c = t.measures, t.cases
        q = (
            sa.select(
                m.c.id,
                m.c.case_id,
                c.c.pseudonym.label("case"),
                m.c.instrument,
                m.c.scale,
                m.c.time_point,
                m.c.value,
                m.c.date,
            )
            .join(c, m.c.case_id == c.c.id)
            .order_by(c.c.pseudonym, m.c.instrument, m.c.scale, m.c.id)
        )
        with self._read() as conn:
            rows = conn.execute(q).all()
        columns = ["id", "case_id", "case", "instrument", "scale", "time_point", "value", "date"]
        df = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        df = df.astype({"id": "int64", "case_id": "int64", "value": "float64"})
        df["date"] = pd.to_datetime(df["date"])
        return df

    # -- the "never export" word list ------------------------------------------------------

    def add_protected_word(self, word: str) -> int:
        """Add a term to the project's "never export" list (a school's name, a street, a town).

        Every export is checked against the list as a whole phrase, case-insensitively, however
        the words are joined (``"Oak Lane"``, ``"oak-lane"``). The term is protected itself:
        the audit log records that a term was added, never which.

        Parameters
        ----------
        word : str
            The term (two characters or more).

        Returns
        -------
        int
            The term's id (the id it already had, if the list holds it already, compared as
            exports compare it).
        """
        from workbench.deidentify import MIN_PART, fold

        text = " ".join(_text(word, "word").split())
        if len(fold(text)) < MIN_PART:
            raise ValueError(f"Expected a protected word of {MIN_PART} characters or more, but got {len(text)}.")
        with self._write() as conn:
            for row in conn.execute(sa.select(t.protected_words.c.id, t.protected_words.c.word)):
                if fold(row.word) == fold(text):
                    return int(row.id)
            new_id = conn.execute(
                sa.insert(t.protected_words).values(word=text, added_at=_now(), added_by=self.coder)
                .returning(t.protected_words.c.id)
            ).scalar_one()
            self._audit(conn, "add", "protected word", int(new_id), None, None)
        return int(new_id)

    def protected_words(self) -> list[str]:
        """The project's "never export" list, in the order the terms were added."""
        with self._read() as conn:
            q = sa.select(t.protected_words.c.word).order_by(t.protected_words.c.id)
            return [str(w) for w in conn.execute(q).scalars()]

    def remove_protected_word(self, word: str) -> None:
        """Take a term off the "never export" list (compared as exports compare it).

        Raises
        ------
        NotFoundError
            If the list does not hold it (the message does not repeat it).
        """
        from workbench.deidentify import fold

        wanted = fold(" ".join(_text(word, "word").split()))
        with self._write() as conn:
            rows = conn.execute(sa.select(t.protected_words.c.id, t.protected_words.c.word)).all()
            ids = [int(r.id) for r in rows if fold(r.word) == wanted]
            if not ids:
                raise NotFoundError(f"Expected a term of the protected word list, but the list ({len(rows)} terms) "
                                    "does not hold it.")
            conn.execute(sa.delete(t.protected_words).where(t.protected_words.c.id.in_(ids)))
            for i in ids:
                self._audit(conn, "delete", "protected word", i, None, None)

    # -- consent ----------------------------------------------------------------------------

    @staticmethod
    def _words(values: Any, name: str) -> list[str]:
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, Iterable):
            raise TypeError(f"Expected {name} to be a list of strings, but got {type(values).__name__}.")
        out = [_text(v, name).strip() for v in values]
        if not out:
            raise ValueError(f"Expected at least one of {name}, but got none.")
        return list(dict.fromkeys(out))

    @staticmethod
    def _consent(r: Row) -> Consent:
        # records made before the vocabulary was fixed: known spellings read as their purpose, others kept
        purposes = tuple(dict.fromkeys(parse_consent_purpose(p, strict=False) for p in r.purposes))
        return Consent(
            id=r.id,
            case_id=r.case_id,
            viewers=tuple(r.viewers),
            purposes=purposes,
            until=r.until,
            given_by=r.given_by,
            note=r.note,
            recorded_at=_utc(r.recorded_at),
            recorded_by=r.recorded_by,
            version=r.version,
        )

    def set_consent(
        self,
        case: Case | int | str,
        *,
        viewers: Iterable[str],
        purposes: Iterable[str],
        until: dt.date | str | None,
        given_by: str = "",
        note: str = "",
        expected_version: int | None = None,
    ) -> Consent:
        """Record (or replace) a case's consent: who may see the films, for which purposes, until when.

        Parameters
        ----------
        case : Case, int or str
            The case (record, id or pseudonym).
        viewers : list of str
            Who may see the films (roles or names), e.g. ``["guider", "supervisor"]``.
        purposes : list of str
            For what: among :data:`~workbench.model.CONSENT_PURPOSES` (``"supervision"``,
            ``"accreditation"``, ``"research"``, ``"shared review"``, ``"training"``); case, hyphens
            and underscores are ignored.
        until : date, 'YYYY-MM-DD' or None
            The retention date: after it :meth:`retention` lists the case for purging.
            None: until consent is withdrawn.
        given_by, note : str
            Who gave consent (a role, not a real name); a free note.
        expected_version : int, optional
            When replacing a record: the version you read (else ConflictError).

        Returns
        -------
        Consent

        Raises
        ------
        ValueError
            For an unknown purpose (the message lists the known ones) or no purpose at all.
        """
        values = {
            "viewers": self._words(viewers, "viewers"),
            "purposes": list(dict.fromkeys(parse_consent_purpose(p) for p in self._words(purposes, "purposes"))),
            "until": _optional_date(until, "until"),
            "given_by": _text(given_by, "given_by", required=False),
            "note": _text(note, "note", required=False),
            "recorded_at": _now(),
            "recorded_by": self.coder,
        }
        with self._write() as conn:
            cid = self._case_id(conn, case)
            current = conn.execute(sa.select(t.consents).where(t.consents.c.case_id == cid)).first()
            if current is None:
                row = conn.execute(sa.insert(t.consents).values(case_id=cid, **values).returning(*t.consents.c)).one()
                self._added(conn, "consent", row)
            else:
                row = self._update(conn, t.consents, "consent", current.id, expected_version, values)
        return self._consent(row)

    def withdraw_consent(self, case: Case | int | str, *, expected_version: int | None = None) -> Consent:
        """Remove a case's consent record: from now on every export of the case is refused.

        The case's films and everything derived from them stay until the case is purged
        (:meth:`purge_case`, ``workbench purge``): a withdrawal of consent calls for that.
        To withdraw only some purposes, record the consent again without them (:meth:`set_consent`).

        Returns
        -------
        Consent
            The record that was removed (the audit log keeps it too).

        Raises
        ------
        NotFoundError
            If the case has no consent record.
        """
        with self._write() as conn:
            cid = self._case_id(conn, case)
            current = conn.execute(sa.select(t.consents).where(t.consents.c.case_id == cid)).first()
            if current is None:
                raise NotFoundError(f"Expected a consent record of case {self._pseudonym(conn, cid)} to withdraw, "
                                    "but none was recorded.")
            self._delete(conn, t.consents, "consent", current.id, expected_version)
        return self._consent(current)

    def consent(self, case: Case | int | str) -> Consent | None:
        """The case's consent record, or None if none was recorded."""
        with self._read() as conn:
            cid = self._case_id(conn, case)
            row = conn.execute(sa.select(t.consents).where(t.consents.c.case_id == cid)).first()
        return None if row is None else self._consent(row)

    def consents(self) -> list[Consent]:
        """Every consent record, by case id."""
        with self._read() as conn:
            return [self._consent(r) for r in conn.execute(sa.select(t.consents).order_by(t.consents.c.case_id))]

    @staticmethod
    def _pseudonym(conn: Connection, case_id: int) -> str:
        return str(conn.execute(sa.select(t.cases.c.pseudonym).where(t.cases.c.id == case_id)).scalar_one())

    def check_consent(
        self,
        case: Case | int | str,
        purpose: str,
        *,
        viewer: str | None = None,
        on: dt.date | str | None = None,
        use: str | None = None,
    ) -> Consent:
        """Make sure the case's films may be used for ``purpose`` (and seen by ``viewer``) on a date.

        Every export calls this before it writes anything: reports (``"supervision"``; the research
        comparison ``"research"``, per case), accreditation packs (``"accreditation"``), films and
        handouts (``"shared review"`` or ``"training"``).

        Parameters
        ----------
        case : Case, int or str
            The case (record, id or pseudonym).
        purpose : str
            One of :data:`~workbench.model.CONSENT_PURPOSES`.
        viewer : str, optional
            Also require this viewer (role or name) among who may see the films.
        on : date or 'YYYY-MM-DD', optional
            The day of the use (default: today).
        use : str, optional
            What is being made, for the message (e.g. ``"the supervision report"``).

        Returns
        -------
        Consent
            The record that allows it.

        Raises
        ------
        ConsentError
            If there is no consent record, the purpose or viewer is not in it, or its retention date
            has passed. The message names the case (pseudonym), the use, what the record allows and
            how to record consent (``workbench consent set ...`` and :meth:`set_consent`).
        ValueError
            For a purpose outside the vocabulary.
        """
        from workbench.errors import ConsentError

        purpose = parse_consent_purpose(purpose)
        day = _date(on, "on") if on is not None else dt.date.today()
        with self._read() as conn:
            cid = self._case_id(conn, case)
            name = self._pseudonym(conn, cid)
            row = conn.execute(sa.select(t.consents).where(t.consents.c.case_id == cid)).first()
        found = None if row is None else self._consent(row)
        what = f"{purpose!r}" + (f" ({use})" if use else "")
        given = "Once the family has given it, record it with: "
        ended = found is not None and found.until is not None and found.until < day

        def refuse(reason: str, message: str) -> NoReturn:
            raise ConsentError(message, case=name, purpose=purpose, reason=reason)

        if found is None:
            refuse("no consent record", f"Expected a consent record of case {name} allowing {what}, but none was "
                   f"recorded. {given}{consent_hint(name, purpose, None)}.")
        if purpose not in found.purposes:
            hint = consent_hint(name, purpose, found, renew=ended)
            refuse(f"its consent does not cover {purpose} (it covers {', '.join(found.purposes)})",
                   f"Expected consent for {what} from case {name}, but it covers only {', '.join(found.purposes)}. "
                   f"{given}{hint}.")
        if viewer is not None and viewer.strip() not in found.viewers:
            hint = consent_hint(name, purpose, found, viewer=viewer.strip(), renew=ended)
            refuse(f"{viewer.strip()!r} is not among who may see its films",
                   f"Expected {viewer!r} among who may see the films of case {name}, but got "
                   f"{', '.join(found.viewers)}. {given}{hint}.")
        if found.until is not None and ended:
            refuse(f"its consent ended on {found.until.isoformat()}",
                   f"Expected consent of case {name} for {what} valid on {day.isoformat()}, but it ended on "
                   f"{found.until.isoformat()} (it covered {', '.join(found.purposes)}). If the family renewed it, "
                   f"record it with: {consent_hint(name, purpose, found, renew=True)}. Otherwise remove the case "
                   f"and everything derived from its films: workbench purge PROJECT --case {shlex.quote(name)}.")
        return found

    # -- audit log --------------------------------------------------------------------------

    def audit_log(
        self, case: Case | int | str | None = None, *, since: dt.datetime | dt.date | str | None = None
    ) -> pd.DataFrame:
        """Who changed what and when: one row per edit, oldest first.

        Parameters
        ----------
        case : Case, int or str, optional
            Only the entries of this case.
        since : datetime, date or 'YYYY-MM-DD', optional
            Only entries at or after this time (UTC).

        Returns
        -------
        DataFrame
            Columns ``id, at, coder, action, kind, row_id, case_id, case, details``: ``action``
            is ``add``, ``update``, ``delete``, ``purge``, ``backup`` or ``restore``; ``kind`` the
            record kind; ``case`` the case's pseudonym (never its real name; empty when the case
            is gone); ``details`` a dict (the row as added or deleted, or the changed fields).
        """
        a, c = t.audit_log, t.cases
        q = (
            sa.select(a, c.c.pseudonym.label("case"))
            .select_from(a.outerjoin(c, a.c.case_id == c.c.id))
            .order_by(a.c.at, a.c.id)
        )
        with self._read() as conn:
            if case is not None:
                q = q.where(a.c.case_id == self._case_id(conn, case))
            if since is not None:
                when = (
                    since if isinstance(since, dt.datetime) else dt.datetime.combine(_date(since, "since"), dt.time())
                )
                q = q.where(a.c.at >= _utc(when))
            rows = conn.execute(q).all()
        columns = ["id", "at", "coder", "action", "kind", "row_id", "case_id", "case", "details"]
        df = pd.DataFrame(
            [
                (r.id, _utc(r.at), r.coder, r.action, r.kind, r.row_id, r.case_id, r.case or "", r.details or {})
                for r in rows
            ],
            columns=columns,
        )
        df["at"] = pd.to_datetime(df["at"], utc=True)
        return df.astype({"id": "int64", "row_id": "Int64", "case_id": "Int64"})

    # -- derived files, backups, purge, retention ---------------------------------------------

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
        from workbench.store.purge import DERIVED_KINDS

        if kind not in DERIVED_KINDS:
            raise ValueError(
                f"Invalid value for the 'kind' parameter. Allowed values are "
                f"{', '.join(map(repr, DERIVED_KINDS))}, but got {kind!r} instead."
            )
        folder = self._need_folder(kind)
        with self._read() as conn:
            cid = self._case_id(conn, case)
        path = folder / kind / f"case-{cid}"
        if not path.is_dir():
            self._writable()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def backup(self, out: str | os.PathLike[str]) -> Any:
        """Make a consistent copy of the project while it is in use (see :func:`workbench.store.backup_project`)."""
        from workbench.store.backup import backup_project

        return backup_project(self, out)

    def backups(self) -> list[Any]:
        """The backups this workbench made of the project (newest last), as :class:`~workbench.store.BackupEntry`."""
        from workbench.store.backup import list_backups

        return list_backups(self)

    def purge_case(self, case: Case | int | str, *, purge_backups: bool = False, wait_s: float = 30.0) -> Any:
        """Remove a case completely and verify it (see :func:`workbench.store.purge_case`)."""
        from workbench.store.purge import purge_case

        return purge_case(self, case, purge_backups=purge_backups, wait_s=wait_s)

    def pending_purges(self) -> list[int]:
        """Ids of cases whose purge was interrupted (see :func:`workbench.store.pending_purges`)."""
        from workbench.store.purge import pending_purges

        return pending_purges(self)

    def finish_purges(self, *, wait_s: float = 30.0) -> list[Any]:
        """Finish every interrupted purge (see :func:`workbench.store.finish_purges`)."""
        from workbench.store.purge import finish_purges

        return finish_purges(self, wait_s=wait_s)

    def retention(self, today: dt.date | str | None = None) -> list[Any]:
        """Cases past their retention date or without consent (see :func:`workbench.store.retention`)."""
        from workbench.store.purge import retention

        return retention(self, today)
