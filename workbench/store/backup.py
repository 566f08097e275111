"""Backups of a project while it is in use, and their restore.

A backup is a folder::

    OUT/
      manifest.json      what is in it: kind, schema revision, who made it and when, checksums
      workbench.db       SQLite: a copy made with SQLite's online backup API
      database.dump      PostgreSQL: pg_dump's custom format, of the project's schema
      media/ stills/     the files the copied database refers to (copied into the project)

- *Consistent while in use.* SQLite's backup API copies the database inside one read
  transaction (WAL mode lets other coders keep writing meanwhile); ``pg_dump`` runs on a
  snapshot exported from a repeatable-read transaction, and the file list is read in that
  same snapshot. The files copied are those the copied database refers to: stills are
  written before their row, media copies are never changed, so every referenced file is
  there (one deleted meanwhile is listed as missing in the manifest, with a warning).
- *Never half made.* The backup is written into ``OUT.part-<random>`` and renamed to
  ``OUT`` when complete and checked (SQLite ``integrity_check``; checksums of every file).
- *Recorded.* The project's ``backups`` table lists every backup the workbench made, so
  that a purge can name the ones still holding a case. A restore keeps that list: the
  restored project lists the backup it came from, the backups its copy listed, and (with
  ``force``) those of the project it replaced. A SQLite backup folder is itself a
  project folder: it opens with :func:`workbench.open_project` (read it, or purge a
  case inside it).
- *Private.* Folders are created with mode 0700, files 0600.

:func:`restore_backup` checks every checksum before touching the target, then brings the
backup back into a project folder (SQLite) or a PostgreSQL database (``pg_restore``), and
opens it once (migrating an older backup to the current schema).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import glob
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workbench.errors import StoreError
from workbench.store import schema as t
from workbench.store.engine import DB_FILENAME
from workbench.store.kernel import HasKernel, Kernel, as_kernel, now, open_kernel, utc
from workbench.util import sha256_file

__all__ = ["BackupEntry", "BackupInfo", "backup_project", "find_pg_tool", "list_backups", "restore_backup"]

logger = logging.getLogger(__name__)


MANIFEST = "manifest.json"
FORMAT = "vig-workbench-backup"
FORMAT_VERSION = 1
SQLITE_FILE = DB_FILENAME
PG_FILE = "database.dump"


@dataclasses.dataclass(frozen=True, slots=True)
class BackupInfo:
    """A backup just made (or read back from its manifest)."""

    path: Path
    kind: str  # "sqlite" or "pg_dump"
    made_at: dt.datetime
    made_by: str
    schema_revision: str
    files: int
    bytes: int
    missing: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class BackupEntry:
    """A backup listed in the project's ``backups`` table."""

    id: int
    path: Path
    kind: str
    made_at: dt.datetime
    made_by: str
    bytes: int

    @property
    def exists(self) -> bool:
        """Whether the backup folder is still there."""
        return self.path.exists()


# -- helpers ------------------------------------------------------------------------------------


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with suppress(OSError):
        path.chmod(0o700)


def _copy_private(src: Path, dest: Path) -> None:
    _private_dir(dest.parent)
    shutil.copyfile(src, dest)
    with suppress(OSError):
        dest.chmod(0o600)


def _referenced_files(rows: Iterable[str | None]) -> list[str]:
    """Relative paths of the project's own files (absolute ones are the user's, outside the project)."""
    out: list[str] = []
    for stored in rows:
        if not stored or Path(stored).is_absolute():
            continue
        out.append(stored)
        if stored.startswith("stills/") and stored.endswith(".png"):
            out.append(stored[: -len(".png")] + ".json")  # the still's sidecar
    return sorted(set(out))


def _safe_relative(stored: str, where: str) -> Path:
    p = Path(stored)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise StoreError(f"Expected paths inside the backup in {where}, but got {stored!r}.")
    return p


@contextmanager
def _part_folder(out: Path) -> Iterator[Path]:
    """A private work folder beside ``out``, renamed to ``out`` on success, removed on failure."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StoreError(f"Expected a new or empty folder for the backup, but {out} already holds files.")
    _private_dir(out.parent)
    part = out.with_name(f".{out.name}.part-{uuid.uuid4().hex[:8]}")
    _private_dir(part)
    try:
        yield part
        if out.exists():
            out.rmdir()
        os.replace(part, out)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise


# -- PostgreSQL tools -----------------------------------------------------------------------------


def _tool_version(path: Path) -> int:
    try:
        text = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    m = re.search(r"(\d+)(?:\.(\d+))?", text)
    return int(m.group(1)) if m else 0


def find_pg_tool(name: str, server_major: int | None = None) -> Path:
    """Find ``pg_dump`` or ``pg_restore``: ``$WORKBENCH_PG_BINDIR``, then ``PATH``, then PostgreSQL's folders.

    Parameters
    ----------
    name : {"pg_dump", "pg_restore"}
        The tool.
    server_major : int, optional
        The server's major version: a tool at least this new is preferred (``pg_dump``
        refuses servers newer than itself).

    Raises
    ------
    StoreError
        If the tool is not installed, saying how to install or point to it.
    """
    candidates: list[Path] = []
    env = os.environ.get("WORKBENCH_PG_BINDIR", "").strip()
    if env:
        candidates.append(Path(env) / name)
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/postgresql@*/bin"):
        candidates += sorted(Path(p) / name for p in _glob(pattern))
    candidates += [
        Path("/usr/local/pgsql/bin") / name,
        Path("/Applications/Postgres.app/Contents/Versions/latest/bin") / name,
    ]
    found = [c for c in dict.fromkeys(candidates) if c.is_file() and os.access(c, os.X_OK)]
    if not found:
        raise StoreError(
            f"Expected the PostgreSQL client tool {name} to back up or restore a PostgreSQL project, but it is "
            "not installed (install the PostgreSQL client, e.g. `apt-get install postgresql-client`, or set "
            "WORKBENCH_PG_BINDIR to the folder holding it)."
        )
    if server_major is None:
        return found[0]
    versions = [(c, _tool_version(c)) for c in found]
    fitting = [c for c, v in versions if v >= server_major]
    if fitting:
        return fitting[0]
    best = max(versions, key=lambda cv: cv[1])
    raise StoreError(
        f"Expected {name} of PostgreSQL {server_major} or newer (the server's version), but the newest found is "
        f"{best[1]} ({best[0]}). Install a newer PostgreSQL client or set WORKBENCH_PG_BINDIR."
    )


def _conninfo(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for ``url`` (password passed in the environment, never on the command line)."""

    def quote(v: str) -> str:
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"

    parts = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    for key, value in url.query.items():
        parts[key] = value if isinstance(value, str) else value[-1]
    text = " ".join(f"{k}={quote(str(v))}" for k, v in parts.items() if v not in (None, ""))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return text, env


def _run(cmd: list[str], env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.SubprocessError) as exc:
        raise StoreError(f"Expected {what} to run, but it could not be started: {exc}.") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise StoreError(f"Expected {what} to succeed, but it failed (exit {done.returncode}): {' '.join(detail[:6])}")
    return done.stdout


def _server_major(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SHOW server_version_num")).scalar()) // 10000


# -- backup --------------------------------------------------------------------------------------


def backup_project(project: Kernel | HasKernel, out: str | os.PathLike[str]) -> BackupInfo:
    """Make a consistent copy of a project while it is in use.

    Parameters
    ----------
    project : Project, Store or Kernel
        The open project (SQLite file or in-memory, or PostgreSQL).
    out : str or path
        A new (or empty) folder for the backup.

    Returns
    -------
    BackupInfo

    Raises
    ------
    StoreError
        If ``out`` holds files, ``pg_dump`` is missing or fails, or the copy is damaged.

    Examples
    --------
    >>> import workbench                                                   # doctest: +SKIP
    >>> with workbench.open_project("my-project") as project:             # doctest: +SKIP
    ...     project.backup("backups/2026-11-26").files
    12
    """
    kernel = as_kernel(project)
    out = Path(out).expanduser().resolve()
    dialect = kernel.dialect
    if dialect not in ("sqlite", "postgresql"):
        raise StoreError(f"Expected a SQLite or PostgreSQL project to back up, but got {dialect}.")
    made_at = now()
    with _part_folder(out) as part:
        if dialect == "sqlite":
            kind, db_name = "sqlite", SQLITE_FILE
            revision, stored = _sqlite_snapshot(kernel, part / SQLITE_FILE)
        else:
            kind, db_name = "pg_dump", PG_FILE
            revision, stored, schema = _pg_snapshot(kernel, part / PG_FILE)
        files, missing = _copy_files(kernel, stored, part)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "made_at": made_at.isoformat(),
            "made_by": kernel.coder,
            "schema_revision": revision,
            "database": {
                "path": db_name,
                "sha256": sha256_file(part / db_name),
                "bytes": (part / db_name).stat().st_size,
            },
            "files": files,
            "missing": missing,
            "external": sorted({s for s in stored if s and Path(s).is_absolute()}),
        }
        if kind == "pg_dump":
            manifest["pg_schema"] = schema
        (part / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        (part / MANIFEST).chmod(0o600)
    total = manifest["database"]["bytes"] + sum(f["bytes"] for f in files)
    if kernel.read_only:  # the copy is whole; only the project's own list of backups cannot learn of it
        logger.warning(
            "The backup %s is complete, but the read-only project %s cannot record it in its list of backups.",
            out,
            kernel.folder,
        )
    else:
        with kernel.write() as conn:
            conn.execute(
                sa.insert(t.backups).values(
                    path=str(out), kind=kind, made_at=made_at, made_by=kernel.coder, bytes=total
                )
            )
            details = {"path": str(out), "kind": kind, "files": len(files)}
            kernel.audit(conn, "backup", "project", None, None, details)
    if missing:
        warnings.warn(
            f"The backup {out} lacks {len(missing)} file(s) its database refers to (deleted meanwhile?): "
            f"{', '.join(missing[:5])}.",
            stacklevel=3,
        )
    return BackupInfo(out, kind, made_at, kernel.coder, revision, len(files), total, tuple(missing))


def _sqlite_snapshot(project: Kernel, dest: Path) -> tuple[str, list[str]]:
    """Copy the database with SQLite's online backup API (one step: one consistent snapshot)."""
    with project.engine.connect() as conn:
        source = conn.connection.driver_connection
        target = sqlite3.connect(str(dest))
        try:
            try:
                source.backup(target)  # pages=-1: everything in one step, inside one read transaction
            except sqlite3.Error as exc:
                raise StoreError(f"Expected to copy the project database {project.url}, but: {exc}.") from exc
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            check = target.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise StoreError(f"Expected an intact copy of {project.url}, but integrity_check says: {check}.")
            revision = target.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            stored = [r[0] for r in target.execute("SELECT path FROM recordings UNION SELECT image_path FROM stills")]
        finally:
            target.close()
    dest.chmod(0o600)
    return revision, stored


def _pg_snapshot(project: Kernel, dest: Path) -> tuple[str, list[str], str]:
    """``pg_dump`` of the project's schema on a snapshot exported by a repeatable-read transaction."""
    url = project.engine.url
    with project.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar()
            revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            stored = list(conn.execute(sa.select(t.recordings.c.path)).scalars())
            stored += list(conn.execute(sa.select(t.stills.c.image_path)).scalars())
            pg_dump = find_pg_tool("pg_dump", _server_major(conn))
            conninfo, env = _conninfo(url)
            _run(
                [
                    str(pg_dump), f"--dbname={conninfo}", f"--snapshot={snapshot}", f"--schema={schema}",
                    "--format=custom", "--no-owner", "--no-privileges", f"--file={dest}",
                ],
                env,
                "pg_dump",
            )  # fmt: skip
    dest.chmod(0o600)
    return str(revision), stored, str(schema)


def _copy_files(project: Kernel, stored: list[str], part: Path) -> tuple[list[dict[str, Any]], list[str]]:
    files: list[dict[str, Any]] = []
    missing: list[str] = []
    wanted = _referenced_files(stored)
    if wanted and project.folder is None:
        return [], wanted
    for rel in wanted:
        src = project.folder / rel if project.folder is not None else Path(rel)
        if not src.is_file():
            if not rel.endswith(".json"):  # a still without its sidecar is still a still
                missing.append(rel)
            continue
        dest = part / rel
        _copy_private(src, dest)
        files.append({"path": rel, "sha256": sha256_file(dest), "bytes": dest.stat().st_size})
    return files, missing


def _glob(pattern: str) -> list[str]:
    """The folders a pattern names (a seam for tests that hide installed PostgreSQL tools)."""
    return glob.glob(pattern)


def list_backups(project: Kernel | HasKernel) -> list[BackupEntry]:
    """The backups the workbench made of ``project`` (from its ``backups`` table), oldest first."""
    with as_kernel(project).read() as conn:
        rows = conn.execute(sa.select(t.backups).order_by(t.backups.c.made_at, t.backups.c.id)).all()
    out = []
    for r in rows:
        out.append(BackupEntry(r.id, Path(r.path), r.kind, utc(r.made_at), r.made_by, int(r.bytes)))
    return out


# -- restore -------------------------------------------------------------------------------------


def read_manifest(backup: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a backup folder, checked for its format."""
    folder = Path(backup).expanduser()
    path = folder / MANIFEST
    if not path.is_file():
        raise StoreError(f"Expected a workbench backup folder with {MANIFEST} at {folder}, but there is none.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"Expected a readable JSON manifest at {path}, but: {exc}.") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StoreError(f"Expected a {FORMAT} manifest at {path}, but got format {data.get('format')!r}.")
    if int(data.get("format_version", 0)) > FORMAT_VERSION:
        raise StoreError(
            f"Expected a backup format up to {FORMAT_VERSION}, but {path} has {data.get('format_version')}; "
            "upgrade the workbench."
        )
    return data


def _verify(folder: Path, manifest: dict[str, Any]) -> None:
    entries = [manifest["database"], *manifest.get("files", [])]
    bad = []
    for entry in entries:
        p = folder / _safe_relative(entry["path"], str(folder / MANIFEST))
        if not p.is_file():
            bad.append(f"{entry['path']} (missing)")
        elif sha256_file(p) != entry["sha256"]:
            bad.append(f"{entry['path']} (checksum differs)")
    if bad:
        raise StoreError(f"Expected an intact backup at {folder}, but: {', '.join(bad[:10])}. Nothing was restored.")


def restore_backup(
    backup: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    folder: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> str | sa.URL:
    """Bring a backup back: into a project folder (SQLite backups) or a PostgreSQL database.

    Parameters
    ----------
    backup : str or path
        The backup folder (made by :func:`backup_project` / ``workbench backup``).
    target : str or path
        SQLite backup: the project folder to restore into. PostgreSQL backup: the database
        URL (the project's schema is recreated under the same name).
    folder : str or path, optional
        PostgreSQL: the folder for the backup's media and stills.
    force : bool
        Replace a project that is already at ``target`` (close it everywhere first).

    Returns
    -------
    str or sqlalchemy.URL
        What to open the restored project with: its folder, or the database URL (with the
        project's schema on the search path; ``str()`` of it hides the password).

    Raises
    ------
    StoreError
        If the backup is damaged (checked before anything is touched), the target already
        holds a project and ``force`` is false, or ``pg_restore`` is missing or fails.
    """
    src = Path(backup).expanduser().resolve()
    manifest = read_manifest(src)
    _verify(src, manifest)
    kind = manifest["kind"]
    is_url = isinstance(target, str) and "://" in target
    known: list[dict[str, Any]] = []
    if kind == "sqlite":
        if is_url:
            raise StoreError(
                f"Expected a project folder to restore the SQLite backup {src} into, but got a database URL."
            )
        dest = Path(target).expanduser().resolve()
        if (dest / DB_FILENAME).exists() and not force:
            raise StoreError(
                f"Expected a folder without a project to restore into, but {dest} holds one; "
                "pass force=True (--force) to replace it."
            )
        known = _sqlite_backups_list(dest / DB_FILENAME)  # the list of the project replaced (--force)
        _private_dir(dest)
        for entry in manifest.get("files", []):
            rel = _safe_relative(entry["path"], str(src / MANIFEST))
            _copy_private(src / rel, dest / rel)
        for sub in ("media", "stills"):
            (dest / sub).mkdir(exist_ok=True)
        tmp = dest / f".{DB_FILENAME}.restore-{uuid.uuid4().hex[:8]}"
        try:
            _copy_private(src / manifest["database"]["path"], tmp)
            for suffix in ("-wal", "-shm", "-journal"):
                (dest / f"{DB_FILENAME}{suffix}").unlink(missing_ok=True)
            os.replace(tmp, dest / DB_FILENAME)
        finally:
            tmp.unlink(missing_ok=True)
        where: str | sa.URL = str(dest)
        opened = open_kernel(dest)
    elif kind == "pg_dump":
        if not is_url:
            raise StoreError(
                f"Expected a PostgreSQL URL to restore the pg_dump backup {src} into, but got {str(target)!r}."
            )
        url = sa.make_url(str(target))
        schema = str(manifest.get("pg_schema") or "public")
        _pg_restore(src / manifest["database"]["path"], url, schema, force)
        files_dir = Path(folder).expanduser().resolve() if folder is not None else None
        if manifest.get("files") and files_dir is None:
            raise StoreError(
                f"Expected a folder (--folder) for the {len(manifest['files'])} media and still files of {src}, "
                "but got none; the database was restored, the files were not."
            )
        for entry in manifest.get("files", []):
            rel = _safe_relative(entry["path"], str(src / MANIFEST))
            _copy_private(src / rel, files_dir / rel)  # type: ignore[operator]
        if "options" not in url.query and schema != "public":
            url = url.update_query_dict({"options": f"-csearch_path={schema}"})
        where = url
        opened = open_kernel(url, folder=files_dir)
    else:
        raise StoreError(f"Expected a backup of kind 'sqlite' or 'pg_dump', but {src} has {kind!r}.")
    size = int(manifest["database"].get("bytes", 0)) + sum(int(f.get("bytes", 0)) for f in manifest.get("files", []))
    itself = {
        "path": str(src),
        "kind": kind,
        "made_at": utc(dt.datetime.fromisoformat(manifest["made_at"])),
        "made_by": str(manifest.get("made_by") or ""),
        "bytes": size,
    }
    with opened, opened.write() as conn:
        listed = set(conn.execute(sa.select(t.backups.c.path)).scalars())
        for row in [*known, itself]:  # so that a purge still names every backup that may hold a case
            if row["path"] not in listed:
                conn.execute(sa.insert(t.backups).values(**row))
                listed.add(row["path"])
        opened.audit(conn, "restore", "project", None, None, {"from": str(src), "made_at": manifest["made_at"]})
    return where


def _sqlite_backups_list(db: Path) -> list[dict[str, Any]]:
    """The backups listed in a SQLite project that a restore is about to replace (none if unreadable)."""
    if not db.is_file():
        return []
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            rows = conn.execute("SELECT path, kind, made_at, made_by, bytes FROM backups").fetchall()
    except sqlite3.Error:
        return []
    out = []
    for path, kind, made_at, made_by, size in rows:
        when = made_at if isinstance(made_at, dt.datetime) else dt.datetime.fromisoformat(str(made_at))
        out.append({"path": path, "kind": kind, "made_at": utc(when), "made_by": made_by or "", "bytes": int(size)})
    return out


def _pg_restore(dump: Path, url: sa.URL, schema: str, force: bool) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema}
            ).scalar()
            tables = conn.execute(
                sa.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"), {"s": schema}
            ).scalar()
            major = _server_major(conn)
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"Cannot open the database {url.render_as_string(hide_password=True)}: {exc.orig}") from exc
    finally:
        engine.dispose()
    if tables and not force:
        raise StoreError(
            f"Expected an empty schema {schema!r} in {url.render_as_string(hide_password=True)} to restore into, "
            f"but it has {tables} tables; pass force=True (--force) to replace them."
        )
    pg_restore = find_pg_tool("pg_restore", major)
    conninfo, env = _conninfo(url.difference_update_query(["options"]))
    cmd = [
        str(pg_restore),
        f"--dbname={conninfo}",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
    ]
    if force and tables:
        cmd += ["--clean", "--if-exists"]
    with tempfile.TemporaryDirectory(prefix="workbench-restore-") as tmp:
        if exists:  # the schema is there (e.g. public): restore its contents, not the schema itself
            toc = _run([str(pg_restore), "--list", str(dump)], env, "pg_restore --list")
            keep = [
                line
                for line in toc.splitlines()
                if not re.search(rf"\bSCHEMA - {re.escape(schema)}\b|COMMENT - SCHEMA {re.escape(schema)}\b", line)
            ]
            listing = Path(tmp) / "toc.list"
            listing.write_text("\n".join(keep) + "\n", encoding="utf-8")
            cmd.append(f"--use-list={listing}")
        cmd.append(str(dump))
        _run(cmd, env, "pg_restore")
