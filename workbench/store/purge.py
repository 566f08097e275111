"""Purging a case completely when consent is withdrawn or its retention date passes, and proving it.

:func:`purge_case` removes, in this order:

1. the case's rows, in one transaction: the case, its consent record, participants,
   sessions, recordings, annotations, moments, stills, comments, goals, ratings, measures
   (foreign-key cascade) and the case's entries of the audit log; one new audit entry
   records that case *id* N was purged (no name, no pseudonym);
2. the files: copied media of its recordings (unless a recording of another case uses the
   same file: kept and named), stills and their sidecars, the case's folders of derived
   files (``<kind>/case-<id>/`` for ``thumbnails``, ``clips``, ``cache``, ``reports``; see
   :meth:`~workbench.store.Project.case_folder`), other files in those folders named after
   its recordings (``rec<id>-...``), and the media route's registrations of removed files;
3. the deleted bytes: SQLite keeps deleted content in free pages and in its write-ahead
   log; the purge deletes with ``PRAGMA secure_delete``, checkpoints the WAL, ``VACUUM``\\ s
   and truncates the WAL. PostgreSQL: ``VACUUM FULL`` rewrites every table (the server's own
   WAL and base backups are its administrator's to rotate; the report says so);
4. optionally (``purge_backups=True``) the case inside every SQLite backup the workbench
   made since the case was created (a backup folder is a project folder).

Then it *verifies*: a scan of the database (every row referring to the case; every text
column for the case's pseudonym, real name, helping question and its films' checksums; for
SQLite also the raw bytes of the database file and its WAL) and of the project folder
(file names and contents), and lists the backups the workbench made that still hold the
case so that the user can act. Markers shorter than 6 characters are not searched in raw
bytes (they would match by chance); the report says which.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from workbench.errors import WorkbenchError
from workbench.store import schema as t
from workbench.store.project import _now, _utc

if TYPE_CHECKING:
    from workbench.model import Case
    from workbench.store.project import Project

__all__ = ["DERIVED_KINDS", "PurgeReport", "RetentionItem", "purge_case", "retention", "scan_for_case"]

log = logging.getLogger(__name__)

#: Folders of derived files, each with one ``case-<id>/`` folder per case.
DERIVED_KINDS: tuple[str, ...] = ("thumbnails", "clips", "cache", "reports")
#: Markers shorter than this are not searched in raw (binary) bytes: they would match by chance.
MIN_RAW_MARKER = 6
_CASE_TABLES = ("participants", "sessions", "goals", "measures", "consents", "audit_log")
_RECORDING_TABLES = ("annotations", "moments", "stills", "comments")
_DB_SUFFIXES = ("", "-wal", "-shm", "-journal")
_READ = 1 << 20


@dataclasses.dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a purge removed, and what the verification scan found.

    Attributes
    ----------
    leftovers : tuple of str
        Every trace of the case the scan found (empty: verified clean).
    backups : tuple of str
        Backups made by the workbench that still hold the case (the user must act).
    """

    case_id: int
    pseudonym: str
    rows: dict[str, int]
    files_removed: tuple[str, ...]
    kept_shared: tuple[str, ...]
    external: tuple[str, ...]
    leftovers: tuple[str, ...]
    backups: tuple[str, ...]
    backups_purged: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def clean(self) -> bool:
        """True when the scan found nothing of the case in the project (backups are listed apart)."""
        return not self.leftovers

    def lines(self) -> list[str]:
        """The report as printable lines (what ``workbench purge`` prints)."""
        out = [f"Purged case {self.pseudonym!r} (id {self.case_id})."]
        rows = ", ".join(f"{k} {v}" for k, v in self.rows.items() if v)
        out.append(f"rows removed   {sum(self.rows.values())} ({rows or 'none'})")
        out.append(f"files removed  {len(self.files_removed)}")
        out += [f"  {f}" for f in self.files_removed]
        out += [f"kept (shared with another case): {f}" for f in self.kept_shared]
        out += [f"not removed (the user's own file, outside the project): {f}" for f in self.external]
        out += [f"backup purged: {b}" for b in self.backups_purged]
        out.append("verification   " + ("clean: nothing of the case was found" if self.clean else "FOUND TRACES:"))
        out += [f"  {x}" for x in self.leftovers]
        if self.backups:
            out.append("backups made by the workbench that still hold the case (delete or purge them):")
            out += [f"  {b}" for b in self.backups]
        out += [f"note: {n}" for n in self.notes]
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class RetentionItem:
    """A case whose retention date has passed, or that has no consent record."""

    case_id: int
    pseudonym: str
    until: dt.date | None
    reason: str
    recordings: int
    backups: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class _Facts:
    case_id: int
    pseudonym: str
    created_at: dt.datetime | None
    recording_ids: tuple[int, ...]
    markers: tuple[str, ...]
    own_media: tuple[str, ...]  # relative paths no other case uses
    shared_media: tuple[str, ...]
    external: tuple[str, ...]
    stills: tuple[str, ...]
    sha_prefixes: tuple[str, ...]


def _facts(project: Project, case: Case | int | str) -> _Facts:
    r, s = t.recordings, t.sessions
    with project._read() as conn:
        cid = project._case_id(conn, case)
        c = conn.execute(sa.select(t.cases).where(t.cases.c.id == cid)).one()
        recs = conn.execute(
            sa.select(r.c.id, r.c.path, r.c.sha256)
            .select_from(r.join(s, r.c.session_id == s.c.id))
            .where(s.c.case_id == cid)
        ).all()
        rids = [x.id for x in recs]
        others = set(
            conn.execute(
                sa.select(r.c.path).select_from(r.join(s, r.c.session_id == s.c.id)).where(s.c.case_id != cid)
            ).scalars()
        )
        other_shas = set(
            conn.execute(
                sa.select(r.c.sha256).select_from(r.join(s, r.c.session_id == s.c.id)).where(s.c.case_id != cid)
            ).scalars()
        )
        stills = (
            list(conn.execute(sa.select(t.stills.c.image_path).where(t.stills.c.recording_id.in_(rids))).scalars())
            if rids
            else []
        )
    own = sorted({x.path for x in recs if not Path(x.path).is_absolute() and x.path not in others})
    shared = sorted({x.path for x in recs if not Path(x.path).is_absolute() and x.path in others})
    external = sorted({x.path for x in recs if Path(x.path).is_absolute()})
    shas = sorted({x.sha256 for x in recs if x.sha256 and x.sha256 not in other_shas})
    markers = [c.pseudonym, c.real_name or "", c.helping_question or "", *shas]
    markers = [m.strip() for m in markers if m and m.strip()]
    return _Facts(
        case_id=cid,
        pseudonym=c.pseudonym,
        created_at=_utc(c.created_at),
        recording_ids=tuple(rids),
        markers=tuple(dict.fromkeys(markers)),
        own_media=tuple(own),
        shared_media=tuple(shared),
        external=tuple(external),
        stills=tuple(stills),
        sha_prefixes=tuple(sh[:16] for sh in shas),
    )


def _marker_pattern(marker: str) -> re.Pattern[str]:
    return re.compile(r"(?<![0-9A-Za-z])" + re.escape(marker) + r"(?![0-9A-Za-z])", re.IGNORECASE)


def _bytes_pattern(marker: str) -> re.Pattern[bytes]:
    return re.compile(rb"(?<![0-9A-Za-z])" + re.escape(marker.encode("utf-8")) + rb"(?![0-9A-Za-z])", re.IGNORECASE)


def _count(conn: sa.Connection, table: sa.Table, where: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar() or 0)


# -- purge ----------------------------------------------------------------------------------------


def purge_case(project: Project, case: Case | int | str, *, purge_backups: bool = False) -> PurgeReport:
    """Remove a case completely (rows, files, deleted bytes) and verify that nothing is left.

    Parameters
    ----------
    project : Project
        The open project. Other sessions may stay open, but a SQLite reader holding an old
        snapshot keeps the write-ahead log from being emptied (the scan then reports it).
    case : Case, int or str
        The case (record, id or pseudonym).
    purge_backups : bool
        Also purge the case inside every SQLite backup the workbench made since the case
        was created. PostgreSQL dumps cannot be edited: they are listed.

    Returns
    -------
    PurgeReport
        ``report.clean`` is True when the scan found nothing; ``report.lines()`` prints it.

    Examples
    --------
    >>> report = project.purge_case("Family A")  # doctest: +SKIP
    >>> report.clean, report.backups  # doctest: +SKIP
    (True, ())
    """
    facts = _facts(project, case)
    cid, rids = facts.case_id, list(facts.recording_ids)
    rows: dict[str, int] = {}
    with project.engine.connect() as conn:
        if project.dialect == "sqlite":  # zero deleted content in the pages it frees (outside SQLAlchemy's BEGIN)
            conn.connection.driver_connection.execute("PRAGMA secure_delete=ON")
        conn.execution_options(workbench_write=True)
        try:
            with conn.begin():
                rows["cases"] = 1
                for name in _CASE_TABLES:
                    table = t.metadata.tables[name]
                    rows[name] = _count(conn, table, table.c.case_id == cid)
                if rids:
                    rows["recordings"] = len(rids)
                    for name in _RECORDING_TABLES:
                        table = t.metadata.tables[name]
                        rows[name] = _count(conn, table, table.c.recording_id.in_(rids))
                goal_ids = sa.select(t.goals.c.id).where(t.goals.c.case_id == cid)
                rows["goal_ratings"] = _count(conn, t.goal_ratings, t.goal_ratings.c.goal_id.in_(goal_ids))
                conn.execute(sa.delete(t.audit_log).where(t.audit_log.c.case_id == cid))
                if conn.execute(sa.delete(t.cases).where(t.cases.c.id == cid)).rowcount != 1:
                    raise WorkbenchError(f"Expected to delete case {cid}, but it was gone (purged meanwhile?).")
                project._audit(conn, "purge", "case", cid, None, {"rows": sum(rows.values()), "recordings": len(rids)})
        except sa.exc.DBAPIError as exc:
            raise project._wrap(exc) from exc
        finally:
            if project.dialect == "sqlite":
                conn.connection.driver_connection.execute("PRAGMA secure_delete=OFF")

    removed = _remove_files(project, facts)
    notes = _compact(project)
    backups_purged: list[str] = []
    if purge_backups:
        backups_purged, more_notes = _purge_backups(project, facts)
        notes += more_notes
    leftovers, scan_notes = scan_for_case(project, facts)
    return PurgeReport(
        case_id=cid,
        pseudonym=facts.pseudonym,
        rows={k: v for k, v in rows.items()},
        files_removed=tuple(removed),
        kept_shared=facts.shared_media,
        external=facts.external,
        leftovers=tuple(leftovers),
        backups=tuple(_backups_holding(project, facts)),
        backups_purged=tuple(backups_purged),
        notes=tuple(notes + scan_notes),
    )


def _remove_files(project: Project, facts: _Facts) -> list[str]:
    folder = project.folder
    if folder is None:
        return []
    removed: list[str] = []
    targets: list[Path] = [folder / p for p in facts.own_media]
    for still in facts.stills:
        if not Path(still).is_absolute():
            png = folder / still
            targets += [png, png.with_suffix(".json")]
    for kind in DERIVED_KINDS:
        base = folder / kind
        if not base.is_dir():
            continue
        case_dir = base / f"case-{facts.case_id}"
        if case_dir.exists():
            targets += sorted(p for p in case_dir.rglob("*") if p.is_file() or p.is_symlink())
        targets += [p for p in base.rglob("*") if (p.is_file() or p.is_symlink()) and _names_recording(p.name, facts)]
    for path in dict.fromkeys(targets):
        if path.is_file() or path.is_symlink():
            try:
                path.unlink()
                removed.append(path.relative_to(folder).as_posix())
            except OSError as exc:
                log.warning("Could not remove %s while purging case %s: %s", path, facts.case_id, exc)
    for kind in DERIVED_KINDS:
        case_dir = folder / kind / f"case-{facts.case_id}"
        if case_dir.is_dir():
            for sub in sorted((p for p in case_dir.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                _rmdir_quietly(sub)
            _rmdir_quietly(case_dir)
    _unregister_media(folder, facts)
    return removed


def _rmdir_quietly(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        log.info("Left the folder %s (not empty)", path)


def _names_recording(name: str, facts: _Facts) -> bool:
    return any(re.match(rf"rec{rid}(?![0-9])", name) for rid in facts.recording_ids) or any(
        p in name for p in facts.sha_prefixes
    )


def _unregister_media(folder: Path, facts: _Facts) -> None:
    """Remove the media route's registrations of the purged films (the server reads them from this folder)."""
    registry = os.environ.get("WORKBENCH_MEDIA_REGISTRY", "").strip()
    if not registry:
        try:
            from jupyter_core.paths import jupyter_runtime_dir
        except ImportError:
            return
        registry = str(Path(jupyter_runtime_dir()) / "workbench-media")
    gone = {str((folder / p).resolve()) for p in facts.own_media}
    reg = Path(registry)
    if not gone or not reg.is_dir():
        return
    for entry in reg.glob("*.json"):
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("path") in gone:
            entry.unlink(missing_ok=True)


def _compact(project: Project) -> list[str]:
    """Make the database forget deleted bytes: SQLite checkpoint + VACUUM + empty WAL; PostgreSQL VACUUM FULL."""
    notes: list[str] = []
    if project.dialect == "sqlite":
        with project.engine.connect() as conn:
            raw = conn.connection.driver_connection  # autocommit: VACUUM cannot run inside a transaction
            _checkpoint(raw)
            raw.execute("VACUUM")
            if not _checkpoint(raw):
                notes.append(
                    "the write-ahead log could not be emptied: another program holds the project open; close it "
                    "and run the purge again (it is safe to repeat)."
                )
    elif project.dialect == "postgresql":
        with project.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in t.metadata.sorted_tables:
                conn.exec_driver_sql(f'VACUUM FULL "{table.name}"')
        notes.append(
            "PostgreSQL: the tables were rewritten (VACUUM FULL); the server's write-ahead log, WAL archives and "
            "base backups may still hold the deleted rows until they are recycled: ask the database administrator."
        )
    return notes


def _checkpoint(raw: Any) -> bool:
    """``wal_checkpoint(TRUNCATE)`` on a sqlite3 connection, retried for a few seconds while readers hold
    old snapshots."""
    if raw.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return True
    for _ in range(25):
        busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy is not None and busy[0] == 0:
            return True
        time.sleep(0.2)
    return False


def _purge_backups(project: Project, facts: _Facts) -> tuple[list[str], list[str]]:
    from workbench.store.backup import MANIFEST, _sha256, read_manifest
    from workbench.store.project import open_project

    purged: list[str] = []
    notes: list[str] = []
    for entry in project.backups():
        if not entry.exists or (facts.created_at is not None and entry.made_at < facts.created_at):
            continue
        if entry.kind != "sqlite":
            notes.append(f"{entry.path}: a pg_dump backup cannot be edited; delete it or make a new one.")
            continue
        try:
            manifest = read_manifest(entry.path)
            with open_project(entry.path) as copy:
                if not any(c.id == facts.case_id for c in copy.cases()):
                    continue
                inner_facts = _facts(copy, facts.case_id)
                gone = {*inner_facts.own_media, *inner_facts.stills}
                gone |= {p[: -len(".png")] + ".json" for p in inner_facts.stills if p.endswith(".png")}
                manifest["files"] = [f for f in manifest.get("files", []) if f["path"] not in gone]
                manifest["purged"] = [*manifest.get("purged", []), {"case_id": facts.case_id, "at": _now().isoformat()}]
                (entry.path / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
                inner = purge_case(copy, facts.case_id)
            db = entry.path / manifest["database"]["path"]
            manifest["database"].update(sha256=_sha256(db), bytes=db.stat().st_size)
            (entry.path / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            purged.append(str(entry.path))
            if not inner.clean:
                notes.append(f"{entry.path}: traces remain after purging the backup: {'; '.join(inner.leftovers)}")
        except WorkbenchError as exc:
            notes.append(f"{entry.path}: could not purge the case in this backup: {exc}")
    return purged, notes


def _backups_holding(project: Project, facts: _Facts) -> list[str]:
    """Backups the workbench made after the case was created that are still there and hold it."""
    from workbench.store.backup import SQLITE_FILE

    out = []
    for entry in project.backups():
        if not entry.exists or (facts.created_at is not None and entry.made_at < facts.created_at):
            continue
        if entry.kind == "sqlite":
            db = entry.path / SQLITE_FILE
            try:
                import sqlite3

                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as copy:
                    held = copy.execute("SELECT count(*) FROM cases WHERE id = ?", (facts.case_id,)).fetchone()[0]
                copy.close()
            except Exception:  # unreadable: list it, the user must look
                held = 1
            if not held:
                continue
        out.append(f"{entry.path} ({entry.kind}, made {entry.made_at:%Y-%m-%d %H:%M} UTC by {entry.made_by})")
    return out


# -- verification ---------------------------------------------------------------------------------


def scan_for_case(project: Project, facts: _Facts) -> tuple[list[str], list[str]]:
    """Search the database and the project folder for anything of a (purged) case.

    Returns
    -------
    (list of str, list of str)
        The traces found (each naming where), and notes on what could not be searched.
    """
    found: list[str] = []
    notes: list[str] = []
    cid, rids = facts.case_id, list(facts.recording_ids)
    patterns = [(m, _marker_pattern(m)) for m in facts.markers]
    with project._read() as conn:
        if _count(conn, t.cases, t.cases.c.id == cid):
            found.append(f"database: table cases still holds case {cid}")
        for name in _CASE_TABLES:
            table = t.metadata.tables[name]
            n = _count(conn, table, table.c.case_id == cid)
            if n:
                found.append(f"database: {n} row(s) of {name} still refer to case {cid}")
        if rids:
            for name in ("recordings", *_RECORDING_TABLES):
                table = t.metadata.tables[name]
                col = table.c.id if name == "recordings" else table.c.recording_id
                n = _count(conn, table, col.in_(rids))
                if n:
                    found.append(f"database: {n} row(s) of {name} still refer to its recordings")
        for table in t.metadata.sorted_tables:
            cols = [c for c in table.c if isinstance(c.type, sa.String | sa.Text | sa.JSON)]
            if not cols:
                continue
            for row in conn.execute(sa.select(table.c.id, *cols)):
                for col, value in zip(cols, row[1:], strict=True):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    for marker, pattern in patterns:
                        if pattern.search(text):
                            found.append(f"database: {table.name}.{col.name} of row {row[0]} contains {marker!r}")
    if project.dialect == "sqlite" and project.engine.url.database not in (None, "", ":memory:"):
        db = Path(project.engine.url.database or "")
        raw = [(m, _bytes_pattern(m)) for m in facts.markers if len(m.encode("utf-8")) >= MIN_RAW_MARKER]
        for suffix in _DB_SUFFIXES:
            path = db.with_name(db.name + suffix)
            for marker, offset in _search_file(path, raw):
                found.append(f"database file {path.name}: {marker!r} at byte {offset} (deleted bytes still there)")
    short = [m for m in facts.markers if len(m.encode("utf-8")) < MIN_RAW_MARKER]
    if short:
        notes.append(
            f"too short to search in raw bytes without chance matches: {', '.join(map(repr, short))} "
            "(searched in the database's rows and in text files)."
        )
    if project.folder is not None and project.folder.is_dir():
        found += _scan_folder(project, facts)
    return found, notes


def _search_file(path: Path, patterns: Iterable[tuple[str, re.Pattern[bytes]]]) -> list[tuple[str, int]]:
    patterns = list(patterns)
    if not patterns or not path.is_file():
        return []
    hits: list[tuple[str, int]] = []
    overlap = max(len(m.encode("utf-8")) for m, _ in patterns) + 2
    with path.open("rb") as fh:
        base, tail = 0, b""
        while chunk := fh.read(_READ):
            data = tail + chunk
            for marker, pattern in patterns:
                for m in pattern.finditer(data):
                    hits.append((marker, base - len(tail) + m.start()))
            base += len(chunk)
            tail = data[-overlap:]
    return list(dict.fromkeys(hits))


def _scan_folder(project: Project, facts: _Facts) -> list[str]:
    folder = project.folder
    assert folder is not None
    with project._read() as conn:
        in_use = {str(p) for p in conn.execute(sa.select(t.recordings.c.path)).scalars()}
    db_files = {f"{project.engine.url.database}{s}" for s in _DB_SUFFIXES} if project.dialect == "sqlite" else set()
    markers = list(facts.markers)
    text_patterns = [(m, _bytes_pattern(m)) for m in markers]
    raw_patterns = [(m, p) for m, p in text_patterns if len(m.encode("utf-8")) >= MIN_RAW_MARKER]
    found: list[str] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        if str(path) in db_files or rel in in_use or rel.startswith((".hypothesis/",)):
            continue
        parts = rel.split("/")
        if any(p == f"case-{facts.case_id}" for p in parts[:-1]) or _names_recording(path.name, facts):
            found.append(f"folder: {rel} (named after the case or its recordings)")
            continue
        if rel in facts.shared_media:
            continue
        with path.open("rb") as fh:
            head = fh.read(8192)
        patterns = raw_patterns if b"\x00" in head else text_patterns
        for marker, offset in _search_file(path, patterns):
            found.append(f"folder: {rel} contains {marker!r} at byte {offset}")
    return found


# -- retention ------------------------------------------------------------------------------------


def retention(project: Project, today: dt.date | str | None = None) -> list[RetentionItem]:
    """Cases whose consent's retention date has passed, and cases without a consent record.

    Parameters
    ----------
    project : Project
        The open project.
    today : date or 'YYYY-MM-DD', optional
        The day to judge by (default: today).

    Returns
    -------
    list of RetentionItem
        Expired cases first (oldest date first), then cases without consent; each with its
        number of recordings and the backups the workbench made that hold it.
    """
    from workbench.store.project import _date

    day = dt.date.today() if today is None else _date(today, "today")
    consents = {c.case_id: c for c in project.consents()}
    expired: list[RetentionItem] = []
    missing: list[RetentionItem] = []
    for case in project.cases():
        consent = consents.get(case.id)
        if consent is not None and (consent.until is None or consent.until >= day):
            continue
        facts = _facts(project, case.id)
        backups = tuple(_backups_holding(project, facts))
        n = len(facts.recording_ids)
        if consent is None:
            missing.append(RetentionItem(case.id, case.pseudonym, None, "no consent record", n, backups))
        else:
            assert consent.until is not None
            days = (day - consent.until).days
            reason = f"retention date {consent.until.isoformat()} passed {days} day(s) ago"
            expired.append(RetentionItem(case.id, case.pseudonym, consent.until, reason, n, backups))
    expired.sort(key=lambda item: (item.until or day, item.case_id))
    return expired + missing
