"""Opening a project's database: SQLite files (also read-only ones), PostgreSQL, migrations.

:func:`open_database` turns what a user names (a project folder, a ``.db`` file, a database
URL, ``":memory:"``) into a SQLAlchemy engine with the store's settings, at the newest schema
revision (Alembic migrates an older database on opening), with a coding scheme stored. The
:class:`~workbench.store.kernel.Kernel` runs every transaction on it.

SQLite: WAL mode, foreign keys, ``synchronous=FULL``, a busy timeout, and writers that take
the write lock at ``BEGIN IMMEDIATE``. :class:`SqliteFile` notices a database file deleted or
replaced while it is open, and opens a file that cannot be written read-only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import sqlite3
import tempfile
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from workbench.errors import DatabaseGoneError, NotFoundError, ReadOnlyProjectError, SchemaVersionError, StoreError
from workbench.scheme import CodingScheme, default_scheme
from workbench.store import schema as t

__all__ = [
    "BUSY_TIMEOUT_MS",
    "DB_FILENAME",
    "WRITE",
    "Database",
    "SqliteFile",
    "alembic_config",
    "open_database",
    "read_only_error",
    "store_scheme",
]

logger = logging.getLogger(__name__)

#: Name of the SQLite database inside a project folder.
DB_FILENAME = "workbench.db"
#: How long a SQLite connection waits for another writer before giving up (ms).
BUSY_TIMEOUT_MS = 10_000
#: The execution option that marks a connection as a writer (``BEGIN IMMEDIATE`` on SQLite).
WRITE = "workbench_write"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK = 0x5647_5742  # "VGWB": serialises concurrent migrations on PostgreSQL
#: What a project folder holds besides its database: if any of it is there without the
#: database, the database was lost, and a new empty one must not be made beside it.
_PROJECT_TRACES = ("media", "stills", "backups", "results", "reports", "thumbnails", "clips", "cache")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


# -- SQLite connections ---------------------------------------------------------------------


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
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


class SqliteFile:
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
        if self.read_only and conn.get_execution_options().get(WRITE):
            raise read_only_error(str(self.path.parent))
        _sqlite_on_begin(conn)


def read_only_error(where: str) -> ReadOnlyProjectError:
    """The error every edit of a read-only project raises (``where``: its folder or URL)."""
    return ReadOnlyProjectError(
        f"The project {where} is open read-only (its folder or database file cannot be written by this user, "
        "or it is on a read-only disk), so this change was refused and nothing was stored. Copy the project "
        "folder somewhere writable (or ask for write access) to edit it.",
        where,
    )


def _make_engine(url: sa.URL, sqlite_file: SqliteFile | None = None) -> Engine:
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


# -- opening ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Database:
    """An open project database, prepared: its engine and where its files go.

    ``tempdir`` is the temporary folder of a ``":memory:"`` project (removed on close);
    ``sqlite_file`` the watched file of a SQLite project on disk.
    """

    engine: Engine
    folder: Path | None
    tempdir: tempfile.TemporaryDirectory[str] | None = None
    sqlite_file: SqliteFile | None = None


def open_database(
    path_or_url: str | os.PathLike[str] | sa.URL,
    create: bool = False,
    *,
    folder: str | os.PathLike[str] | None = None,
    scheme: CodingScheme | None = None,
) -> Database:
    """Open (or create) a project's database and bring it to the newest schema revision.

    The parameters are :func:`workbench.open_project`'s (which documents them); ``coder``
    is not needed here.

    Raises
    ------
    NotFoundError
        If the project does not exist and ``create`` is false.
    SchemaVersionError
        If the database was written by a newer workbench (unknown schema revision).
    StoreError
        If the database cannot be reached or is not a workbench database.
    """
    tempdir: tempfile.TemporaryDirectory[str] | None = None
    files: Path | None = Path(folder).expanduser() if folder is not None else None
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

    sqlite_file: SqliteFile | None = None
    if _is_memory_sqlite(url):
        create = True
        if files is None:
            tempdir = tempfile.TemporaryDirectory(prefix="workbench-")
            files = Path(tempdir.name)
    elif url.get_backend_name() == "sqlite":
        db_file = Path(url.database or "").expanduser().absolute()
        sqlite_file = SqliteFile(db_file)
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
    return Database(engine, files, tempdir, sqlite_file)


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
            conn.execution_options(**{WRITE: not read_only})
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
                    store_scheme(conn, scheme or default_scheme())
                elif scheme is not None and scheme.to_dict() != _active_scheme_content(conn):
                    warnings.warn(
                        f"The project {where} already has a coding scheme ({active.id!r}); the scheme "
                        f"{scheme.id!r} passed to open_project was ignored. Use project.set_scheme() to change it.",
                        stacklevel=5,  # the caller of open_project (via open_kernel and open_database)
                    )
    except sa_exc.DBAPIError as exc:
        raise StoreError(f"Cannot open the project database {where}: {exc.orig}") from exc


def _active_scheme_content(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(sa.select(t.schemes.c.content).where(t.schemes.c.active)).first()
    return None if row is None else row.content


def store_scheme(conn: Connection, scheme: CodingScheme) -> None:
    """Store ``scheme`` and make it the active one (inside the caller's transaction)."""
    content = scheme.to_dict()
    conn.execute(sa.update(t.schemes).values(active=False))
    exists = conn.execute(sa.select(t.schemes.c.id).where(t.schemes.c.id == scheme.id)).first()
    values = {"version": str(scheme.version), "content": content, "active": True, "updated_at": _now()}
    if exists:
        conn.execute(sa.update(t.schemes).where(t.schemes.c.id == scheme.id).values(**values))
    else:
        conn.execute(sa.insert(t.schemes).values(id=scheme.id, **values))
