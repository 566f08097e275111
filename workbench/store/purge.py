"""Purging a case completely when consent is withdrawn or its retention date passes, and proving it.

:func:`purge_case` works in this order, and every step can be run again:

1. *wait for readers* (SQLite): a reader holding an old snapshot keeps SQLite from forgetting
   deleted bytes. The purge writes one audit line ("purge started", case *id* only), then waits
   up to ``wait_s`` (default 30 s) for every reader to move on. If one does not, it stops with a
   :class:`~workbench.errors.DatabaseInUseError` that names who holds the database (best effort:
   the processes that have the file open, e.g. a Jupyter kernel or a ``workbench`` command) and
   says what to do. Nothing was removed.
2. *mark the purge pending*: ``<folder>/purge-pending.json`` records, without any name, the case
   id and what the steps after the row deletion need (its recordings' ids, media and still
   paths, the checksums of its films). A purge that is interrupted anywhere after this point
   completes when run again, also once the case's rows are gone (:func:`finish_purges`,
   ``workbench purge PROJECT``).
3. *the files*: copied media of its recordings (unless a recording of another case uses the
   same file: kept and named), stills and their sidecars, the case's folders of derived
   files (``<kind>/case-<id>/`` for ``thumbnails``, ``clips``, ``cache``, ``reports``; see
   :meth:`~workbench.project.Project.case_folder`), other files in those folders named after
   its recordings (``rec<id>-...``), the media route's registrations of removed files, the
   batch results of its films and of its coding (:func:`workbench.store.results.forget_results`; a
   film another case uses keeps its results), and the reports across cases that include the
   case (research reports under ``reports/``: removed; the purge report says how to build
   each again without the case).
4. *the rows*, in one transaction: the case, its consent record, participants, sessions,
   recordings, annotations, moments, stills, comments, goals, ratings, measures (foreign-key
   cascade) and the case's entries of the audit log; one new audit entry records that case
   *id* N was purged (no name, no pseudonym).
5. *the deleted bytes*: SQLite keeps deleted content in free pages and in its write-ahead
   log; the purge deletes with ``PRAGMA secure_delete``, checkpoints the WAL, ``VACUUM``\\ s
   and truncates the WAL (a reader that arrived meanwhile: the bounded wait again).
   PostgreSQL: ``VACUUM FULL`` rewrites every table, waiting at most ``wait_s`` for its locks
   (the server's own WAL and base backups are its administrator's to rotate; the report says so);
6. optionally (``purge_backups=True``) the case inside every SQLite backup the workbench
   made since the case was created (a backup folder is a project folder).

Then it *verifies* (:func:`scan_for_case`): every row referring to the case; every text column
of the database; for SQLite the raw bytes of the database file and its WAL; and every file of
the project folder (names and contents), for the case's pseudonym, its real name and *each part
of it* (any protected name: see :func:`_protected_names`), its helping question and the
checksums of films no other case uses. Text is searched for whole words, case-insensitively,
after Unicode normalisation; binary files and the raw database for markers of 6 bytes or more
anywhere, shorter ones as a whole word inside text. It lists the backups the workbench made
that still hold the case so that the user can act. Only then is the pending mark removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import glob
import json
import logging
import os
import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workbench.errors import DatabaseInUseError, NotFoundError, WorkbenchError
from workbench.model import Case
from workbench.store import schema as t
from workbench.store.backup import MANIFEST, SQLITE_FILE, list_backups, read_manifest
from workbench.store.cases import CaseRepository
from workbench.store.consent import ConsentRepository
from workbench.store.engine import BUSY_TIMEOUT_MS
from workbench.store.kernel import DERIVED_KINDS, HasKernel, Kernel, as_kernel, now, open_kernel, utc
from workbench.store.results import forget_results
from workbench.store.values import date as as_date
from workbench.util import atomic_write_bytes, sha256_file

__all__ = [
    "DEFAULT_WAIT_S",
    "DERIVED_KINDS",
    "PENDING_FILE",
    "PurgeReport",
    "RetentionItem",
    "finish_purges",
    "pending_purges",
    "purge_case",
    "retention",
    "scan_for_case",
]

log = logging.getLogger(__name__)

#: How long a purge waits for other programs to stop reading the database (seconds).
DEFAULT_WAIT_S = 30.0
#: The record of purges under way, in the project folder (case ids, paths and checksums; no name).
PENDING_FILE = "purge-pending.json"
#: Markers shorter than this (in UTF-8 bytes) are searched in raw (binary) bytes only as a whole word
#: inside text: anywhere, they would match by chance.
MIN_RAW_MARKER = 6
_CASE_TABLES = ("participants", "sessions", "goals", "measures", "consents", "audit_log")
_RECORDING_TABLES = ("annotations", "moments", "stills", "comments")
_DB_SUFFIXES = ("", "-wal", "-shm", "-journal")
_READ = 1 << 20
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))  # soft hyphen, zero-width
_NAME_PARTS = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")  # "O'Neil" stays one part; hyphens split
_TRY_MS = 200  # one checkpoint try waits this long for readers


@dataclasses.dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a purge removed, and what the verification scan found.

    Attributes
    ----------
    leftovers : tuple of str
        Every trace of the case the scan found (empty: verified clean). Names are never
        repeated here: a trace says which marker it is ("a part of the real name").
    backups : tuple of str
        Backups made by the workbench that still hold the case (the user must act).
    rebuild : tuple of str
        Reports across cases that included the case and were removed, each with the command
        that builds it again without the case.
    resumed : bool
        True when this purge finished one that had been interrupted after the case's rows
        were deleted (its names were gone: the scan searched for its films' checksums,
        its rows and its files).
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
    rebuild: tuple[str, ...] = ()
    resumed: bool = False

    @property
    def clean(self) -> bool:
        """True when the scan found nothing of the case in the project (backups are listed apart)."""
        return not self.leftovers

    def lines(self) -> list[str]:
        """The report as printable lines (what ``workbench purge`` prints)."""
        if self.resumed:
            out = [f"Finished the interrupted purge of case id {self.case_id} (its rows were already removed)."]
        else:
            out = [f"Purged case {self.pseudonym!r} (id {self.case_id})."]
        rows = ", ".join(f"{k} {v}" for k, v in self.rows.items() if v)
        out.append(f"rows removed   {sum(self.rows.values())} ({rows or 'none'})")
        out.append(f"files removed  {len(self.files_removed)}")
        out += [f"  {f}" for f in self.files_removed]
        out += [f"kept (shared with another case): {f}" for f in self.kept_shared]
        out += [f"not removed (the user's own file, outside the project): {f}" for f in self.external]
        out += [f"report removed (it included the case); build it again: {r}" for r in self.rebuild]
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
class _Marker:
    """A word or phrase of the case to search for; ``what`` names it in reports instead of the text."""

    text: str
    what: str


@dataclasses.dataclass(frozen=True, slots=True)
class _Facts:
    case_id: int
    pseudonym: str
    created_at: dt.datetime | None
    recording_ids: tuple[int, ...]
    markers: tuple[_Marker, ...]
    own_media: tuple[str, ...]  # relative paths no other case uses
    shared_media: tuple[str, ...]
    external: tuple[str, ...]
    stills: tuple[str, ...]
    sha256s: tuple[str, ...]  # of films no other case uses
    resumed: bool = False
    shared_names: int = 0  # names or parts of names another case also has (not searched)

    @property
    def sha_prefixes(self) -> tuple[str, ...]:
        return tuple(sh[:16] for sh in self.sha256s)

    def record(self) -> dict[str, Any]:
        """What the pending mark keeps: ids, paths inside the project and checksums; never a name."""
        return {
            "case_id": self.case_id,
            "started_at": now().isoformat(),
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "recording_ids": list(self.recording_ids),
            "own_media": list(self.own_media),
            "shared_media": list(self.shared_media),
            "stills": list(self.stills),
            "sha256s": list(self.sha256s),
        }

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> _Facts:
        """The facts of a case whose rows are gone, from its pending mark (no names: checksums only)."""
        shas = tuple(str(s) for s in rec.get("sha256s", []))
        created = rec.get("created_at")
        return cls(
            case_id=int(rec["case_id"]),
            pseudonym="",
            created_at=utc(dt.datetime.fromisoformat(created)) if created else None,
            recording_ids=tuple(int(r) for r in rec.get("recording_ids", [])),
            markers=tuple(_Marker(sh, "the checksum of its film") for sh in shas),
            own_media=tuple(rec.get("own_media", [])),
            shared_media=tuple(rec.get("shared_media", [])),
            external=(),
            stills=tuple(rec.get("stills", [])),
            sha256s=shas,
            resumed=True,
        )


def _normalise(text: str) -> str:
    """NFKC, without soft hyphens and zero-width characters (how names hide in text)."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def _name_markers(name: str | None, what: str) -> list[_Marker]:
    """A name and each of its parts of two letters or more ("Anne-Marie O'Neil": "Anne", "Marie", "O'Neil")."""
    if not name or not name.strip():
        return []
    full = _normalise(name).strip()
    parts = [p for p in _NAME_PARTS.findall(full) if len(p) >= 2]
    out = [_Marker(full, what)]
    out += [_Marker(p, f"a part of {what}") for p in parts if p.casefold() != full.casefold()]
    return out


def _protected_names(conn: sa.Connection, of_case: Callable[[Any], Any]) -> list[tuple[str | None, str]]:
    """Every protected name of the cases ``of_case(case id column)`` selects, as ``(name, what it is)``.

    One line per kind of name: the cases' real names, and participants' real names where the
    schema has them. Each is searched whole and in parts.
    """
    names: list[tuple[str | None, str]] = [
        (n, "the real name")
        for n in conn.execute(sa.select(t.cases.c.real_name).where(of_case(t.cases.c.id))).scalars()
    ]
    if "real_name" in t.participants.c:  # protected participants' names (schema revision 0003 on)
        q = sa.select(t.participants.c.real_name).where(of_case(t.participants.c.case_id))
        names += [(n, "a participant's real name") for n in conn.execute(q).scalars()]
    return names


def _facts(kernel: Kernel, case: Case | int | str) -> _Facts:
    r, s = t.recordings, t.sessions
    with kernel.read() as conn:
        cid = kernel.case_id(conn, case)
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
        names = _protected_names(conn, lambda col: col == cid)
        others_names = {m.text.casefold() for n, w in _protected_names(conn, lambda col: col != cid)
                        for m in _name_markers(n, w)}  # fmt: skip
        q = sa.select(t.cases.c.helping_question).where(t.cases.c.id != cid, t.cases.c.helping_question.is_not(None))
        others_names |= {_normalise(h).strip().casefold() for h in conn.execute(q).scalars()}
    own = sorted({x.path for x in recs if not Path(x.path).is_absolute() and x.path not in others})
    shared = sorted({x.path for x in recs if not Path(x.path).is_absolute() and x.path in others})
    external = sorted({x.path for x in recs if Path(x.path).is_absolute()})
    shared_names = 0
    shas = sorted({x.sha256 for x in recs if x.sha256 and x.sha256 not in other_shas})
    markers = [_Marker(_normalise(c.pseudonym).strip(), "the pseudonym")]
    for name, what in names:  # a name (part) another case also has stays with that case: not searched
        found = _name_markers(name, what)
        markers += [m for m in found if m.text.casefold() not in others_names]
        shared_names += sum(m.text.casefold() in others_names for m in found)
    question = _normalise(c.helping_question or "").strip()
    if question and question.casefold() not in others_names:
        markers.append(_Marker(question, "the helping question"))
    shared_names += bool(question) and question.casefold() in others_names
    markers += [_Marker(sh, "the checksum of its film") for sh in shas]
    unique = {m.text.casefold(): m for m in reversed(markers) if m.text}  # the first kind of a text wins
    return _Facts(
        case_id=cid,
        pseudonym=c.pseudonym,
        created_at=utc(c.created_at),
        recording_ids=tuple(rids),
        markers=tuple(reversed(unique.values())),
        own_media=tuple(own),
        shared_media=tuple(shared),
        external=tuple(external),
        stills=tuple(stills),
        sha256s=tuple(shas),
        shared_names=shared_names,
    )


def _text_pattern(marker: str) -> re.Pattern[str]:
    """The marker as a whole word, case-insensitive (for text that was normalised)."""
    return re.compile(r"(?<![^\W_])" + re.escape(marker) + r"(?![^\W_])", re.IGNORECASE)


def _raw_pattern(marker: str) -> re.Pattern[bytes]:
    """The marker in raw bytes: anywhere when it is long enough not to match by chance, else a whole word in text."""
    raw = re.escape(marker.encode("utf-8"))
    if len(marker.encode("utf-8")) >= MIN_RAW_MARKER:
        return re.compile(raw, re.IGNORECASE)
    return re.compile(rb"(?<=[\x20-\x7e]{3})(?<![0-9A-Za-z])" + raw + rb"(?![0-9A-Za-z])(?=[\x20-\x7e]{3})", re.I)


def _count(conn: sa.Connection, table: sa.Table, where: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar() or 0)


# -- the pending mark -----------------------------------------------------------------------------


def _pending_path(kernel: Kernel) -> Path | None:
    return None if kernel.folder is None else kernel.folder / PENDING_FILE


def _read_pending(kernel: Kernel) -> dict[int, dict[str, Any]]:
    path = _pending_path(kernel)
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {int(k): v for k, v in data["purges"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WorkbenchError(
            f"Expected the record of purges under way at {path} to be readable JSON, but: {exc}. "
            "Do not delete it: a purge was interrupted. Restore it from a copy, or purge the case again by its id."
        ) from exc


def _write_pending(kernel: Kernel, purges: dict[int, dict[str, Any]]) -> None:
    path = _pending_path(kernel)
    if path is None:
        return
    if not purges:
        path.unlink(missing_ok=True)
        return
    text = json.dumps({"format": 1, "purges": {str(k): v for k, v in sorted(purges.items())}}, indent=1)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))
    with contextlib.suppress(OSError):
        path.chmod(0o600)


def pending_purges(project: Kernel | HasKernel) -> list[int]:
    """The ids of cases whose purge was interrupted (finish them with :func:`finish_purges`)."""
    return sorted(_read_pending(as_kernel(project)))


def finish_purges(project: Kernel | HasKernel, *, wait_s: float = DEFAULT_WAIT_S) -> list[PurgeReport]:
    """Finish every interrupted purge of the project (see :func:`purge_case`); one report each."""
    kernel = as_kernel(project)
    return [purge_case(kernel, cid, purge_backups=bool(rec.get("purge_backups")), wait_s=wait_s)
            for cid, rec in sorted(_read_pending(kernel).items())]  # fmt: skip


# -- who holds the database -----------------------------------------------------------------------


def _describe_process(proc: Any) -> str:
    """What a process is, from its program and first arguments (never its whole command line: paths hold names)."""
    args = proc.cmdline()
    head = [Path(x).name for x in args[:3]]
    module = args[args.index("-m") + 1] if "-m" in args[:3] and args.index("-m") + 1 < len(args) else ""
    if "ipykernel_launcher" in head or module.startswith("ipykernel"):
        kind = "a Jupyter kernel (a notebook)"
    elif "voila" in head or module == "voila":
        kind = "a Voila app"
    elif any(h.startswith("jupyter") for h in head) or module.startswith("jupyter"):
        kind = "a Jupyter server"
    elif "workbench" in head or module == "workbench":
        kind = "a workbench command"
    else:
        kind = "a program"
    started = dt.datetime.fromtimestamp(proc.create_time()).strftime("%Y-%m-%d %H:%M")
    return f"{kind}: process {proc.pid} ({proc.name()}, started {started})"


def database_holders(path: str | os.PathLike[str]) -> list[str]:
    """Other processes that have the SQLite database ``path`` (or its WAL) open, best effort.

    Uses psutil (what it can see: processes of the same user, on most systems); an empty list
    when nothing could be found out.
    """
    try:
        import psutil
    except ImportError:
        return []
    db = Path(path).resolve()
    wanted = {str(db.with_name(db.name + suffix)) for suffix in _DB_SUFFIXES}
    found: list[str] = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            if any(f.path in wanted for f in proc.open_files()):
                found.append(_describe_process(proc))
        except (psutil.Error, OSError):
            continue
    return found


def _in_use(kernel: Kernel, waited: float, *, rows_gone: bool) -> DatabaseInUseError:
    db = Path(kernel.engine.url.database or "")
    holders = database_holders(db) if kernel.dialect == "sqlite" else _pg_holders(kernel)
    who = "; ".join(holders) if holders else (
        "no other process was found holding it (another connection in this same Python process, or a program "
        "of another user?)"
    )  # fmt: skip
    if rows_gone:
        state = (
            "The case's rows were removed, but the database keeps their bytes while another program reads "
            "an older state of it. The purge is marked pending"
        )
    else:
        state = "Nothing was removed"
    return DatabaseInUseError(
        f"The project database {db if kernel.dialect == 'sqlite' else kernel.url} is in use by another program "
        f"(it held a read transaction for the {waited:.0f} s the purge waited): {who}. {state}. Close the "
        "notebook (shut down its kernel) or stop the app or command that has the project open, then run the purge "
        "again (`workbench purge PROJECT --case CASE`, or `workbench purge PROJECT` to finish pending purges).",
        tuple(holders),
    )


def _pg_holders(kernel: Kernel) -> list[str]:
    try:
        with kernel.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT pid, application_name, usename, state, client_addr FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'"
                )
            ).all()
    except sa.exc.DBAPIError:
        return []
    return [f"server process {r.pid} ({r.application_name or 'a client'}, user {r.usename}, {r.state}, "
            f"from {r.client_addr or 'this machine'})" for r in rows]  # fmt: skip


@contextlib.contextmanager
def _raw_sqlite(kernel: Kernel, busy_ms: int) -> Iterator[Any]:
    """A sqlite3 connection in autocommit with its busy timeout set to ``busy_ms`` (restored after)."""
    with kernel.engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        try:
            yield raw
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _checkpoint(raw: Any, wait_s: float) -> bool:
    """``wal_checkpoint(TRUNCATE)``, tried until it succeeds or ``wait_s`` have passed (readers hold snapshots)."""
    if raw.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return True
    deadline = time.monotonic() + max(0.0, wait_s)
    while True:
        busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy is not None and busy[0] == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _sqlite_file(kernel: Kernel) -> bool:
    return kernel.dialect == "sqlite" and kernel.engine.url.database not in (None, "", ":memory:")


def _wait_for_readers(kernel: Kernel, cid: int, wait_s: float) -> None:
    """Stop before anything is removed if another program keeps reading an old state of the database."""
    if not _sqlite_file(kernel):
        return
    with kernel.write() as conn:  # a new state, so that every reader of an older one is seen
        kernel.audit(conn, "purge-start", "case", cid, None, None)
    t0 = time.monotonic()
    with _raw_sqlite(kernel, _TRY_MS) as raw:
        if not _checkpoint(raw, wait_s):
            raise _in_use(kernel, time.monotonic() - t0, rows_gone=False)


# -- purge ----------------------------------------------------------------------------------------


def purge_case(
    project: Kernel | HasKernel,
    case: Case | int | str,
    *,
    purge_backups: bool = False,
    wait_s: float = DEFAULT_WAIT_S,
) -> PurgeReport:
    """Remove a case completely (rows, files, deleted bytes) and verify that nothing is left.

    Parameters
    ----------
    project : Project, Store or Kernel
        The open project. Other sessions may stay open; a program that keeps reading (a
        transaction left open in a notebook) is waited for, at most ``wait_s``.
    case : Case, int or str
        The case (record, id or pseudonym: :meth:`Project.case <workbench.project.Project.case>`'s
        rule). The id of a case whose purge was interrupted after its rows were removed finishes
        that purge (see :func:`pending_purges`).
    purge_backups : bool
        Also purge the case inside every SQLite backup the workbench made since the case
        was created. PostgreSQL dumps cannot be edited: they are listed.
    wait_s : float
        Seconds to wait for other programs to stop reading the database, at each point where
        the purge needs that (before it removes anything; after the rows are deleted).

    Returns
    -------
    PurgeReport
        ``report.clean`` is True when the scan found nothing; ``report.lines()`` prints it.

    Raises
    ------
    DatabaseInUseError
        If another program kept reading for ``wait_s``: says who (best effort) and what to do.
        Run the purge again afterwards: it finishes what is left.
    NotFoundError
        If there is no such case and no interrupted purge of it.

    Examples
    --------
    >>> report = project.purge_case("Family A")  # doctest: +SKIP
    >>> report.clean, report.backups  # doctest: +SKIP
    (True, ())
    """
    kernel = as_kernel(project)
    pending = _read_pending(kernel)
    try:
        facts = _facts(kernel, case)
    except NotFoundError as exc:
        cid = _pending_id(case)
        if cid is None or cid not in pending:
            if pending:
                ids = ", ".join(map(str, sorted(pending)))
                raise NotFoundError(
                    f"{exc} An interrupted purge of case id {ids} is pending: `workbench purge PROJECT` (or "
                    "project.finish_purges()) finishes it."
                ) from exc
            raise
        facts = _Facts.from_record(pending[cid])
        purge_backups = purge_backups or bool(pending[cid].get("purge_backups"))
    cid = facts.case_id
    if not facts.resumed:
        _wait_for_readers(kernel, cid, wait_s)
        pending[cid] = {**facts.record(), "purge_backups": purge_backups}
        _write_pending(kernel, pending)

    removed = _remove_files(kernel, facts)
    removed += _forget_results(kernel, facts)
    rebuild: list[str] = []
    if not facts.resumed:  # reports across cases are found by the case's names, which a resumed purge lacks
        more, rebuild = _remove_reports_across_cases(kernel, facts)
        removed += more
    rows = {} if facts.resumed else _delete_rows(kernel, facts)
    notes = _compact(kernel, wait_s)
    backups_purged: list[str] = []
    if purge_backups:
        backups_purged, more_notes = _purge_backups(kernel, facts)
        notes += more_notes
    leftovers, scan_notes = scan_for_case(kernel, facts)
    report = PurgeReport(
        case_id=cid,
        pseudonym=facts.pseudonym,
        rows=rows,
        files_removed=tuple(removed),
        kept_shared=facts.shared_media,
        external=facts.external,
        leftovers=tuple(leftovers),
        backups=tuple(_backups_holding(kernel, facts)),
        backups_purged=tuple(backups_purged),
        notes=tuple(notes + scan_notes),
        rebuild=tuple(rebuild),
        resumed=facts.resumed,
    )
    pending = _read_pending(kernel)
    pending.pop(cid, None)
    _write_pending(kernel, pending)
    return report


def _pending_id(case: Case | int | str) -> int | None:
    """The id a case reference names when its case is gone: a record's, an int, or a text of digits."""
    if isinstance(case, str):
        return int(case.strip()) if case.strip().isascii() and case.strip().isdigit() else None
    return Kernel.id_of(case, "case", Case)


def _delete_rows(kernel: Kernel, facts: _Facts) -> dict[str, int]:
    """Delete the case's rows in one transaction (zeroing the pages they free); counts per table."""
    cid, rids = facts.case_id, list(facts.recording_ids)
    rows: dict[str, int] = {}
    with kernel.engine.connect() as conn:
        if kernel.dialect == "sqlite":  # zero deleted content in the pages it frees (outside SQLAlchemy's BEGIN)
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
                kernel.audit(conn, "purge", "case", cid, None, {"rows": sum(rows.values()), "recordings": len(rids)})
        except sa.exc.DBAPIError as exc:
            raise kernel.wrap(exc) from exc
        finally:
            if kernel.dialect == "sqlite":
                conn.connection.driver_connection.execute("PRAGMA secure_delete=OFF")
    return rows


def _remove_files(kernel: Kernel, facts: _Facts) -> list[str]:
    folder = kernel.folder
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


def _forget_results(kernel: Kernel, facts: _Facts) -> list[str]:
    """The batch's results of the case's films and coding (a film another case uses keeps its own)."""
    if kernel.folder is None:
        return []
    gone = forget_results(kernel.folder, facts.sha256s, facts.recording_ids)
    return [p.relative_to(kernel.folder).as_posix() for p in gone]


def _remove_reports_across_cases(kernel: Kernel, facts: _Facts) -> tuple[list[str], list[str]]:
    """Remove the reports outside the case folders that include the case; the commands that build them again.

    A report is found by its sidecar (a research report over all cases, or one whose case list
    names this case) or by its content (a name of the case in a text file); its files of the same
    stem (HTML, PDF, sidecar) go together.
    """
    if kernel.folder is None or not (kernel.folder / "reports").is_dir():
        return [], []
    folder = kernel.folder
    base = folder / "reports"
    names = [(m, _text_pattern(m.text)) for m in facts.markers if m.what != "the checksum of its film"]
    stems: dict[Path, str] = {}
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        if any(re.fullmatch(r"case-\d+", part) for part in path.relative_to(base).parts[:-1]):
            continue  # a case's own folder: its case's purge removes it
        stem = path.with_suffix("")
        if path.suffix == ".json":
            meta = _json_or_none(path)
            if isinstance(meta, dict) and meta.get("report") == "research" and _includes(meta, facts):
                stems[stem] = _rebuild_command(meta, facts, path)
                continue
        if stem not in stems and _text_file_mentions(path, names):
            stems.setdefault(stem, f"workbench report PROJECT ... (the report {path.name} named the case)")
    removed: list[str] = []
    for stem in stems:
        for path in sorted(stem.parent.glob(glob.escape(stem.name) + ".*")):
            if path.with_suffix("") == stem and path.is_file():
                path.unlink()
                removed.append(path.relative_to(folder).as_posix())
    return removed, [f"{cmd}" for cmd in stems.values()]


def _json_or_none(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _includes(meta: dict[str, Any], facts: _Facts) -> bool:
    """Whether a research report's sidecar says it covered the case (all cases, or the case by name or id)."""
    params = meta.get("parameters") if isinstance(meta.get("parameters"), dict) else {}
    cases = str(params.get("case") or "").strip()
    if not cases:
        when = meta.get("generated_at")
        try:
            made = utc(dt.datetime.fromisoformat(str(when)))
        except ValueError:
            return True
        return facts.created_at is None or made is None or made >= facts.created_at
    wanted = {facts.pseudonym.casefold(), str(facts.case_id)}
    return any(c.strip().casefold() in wanted for c in cases.split(","))


def _rebuild_command(meta: dict[str, Any], facts: _Facts, sidecar: Path) -> str:
    params = meta.get("parameters") if isinstance(meta.get("parameters"), dict) else {}
    cases = [c.strip() for c in str(params.get("case") or "").split(",") if c.strip()]
    rest = [c for c in cases if c.casefold() not in {facts.pseudonym.casefold(), str(facts.case_id)}]
    if cases and not rest:
        return f"(the report {sidecar.with_suffix('').name} covered only this case: nothing to build again)"
    formats = sorted((meta.get("files") or {}).keys()) or ["html"]
    cmd = "workbench report PROJECT --kind research"
    if rest:
        cmd += f" --case {','.join(rest)!r}" if " " in ",".join(rest) else f" --case {','.join(rest)}"
    if formats != ["html"]:
        cmd += f" --to {','.join(formats)}"
    return cmd


def _text_file_mentions(path: Path, patterns: list[tuple[_Marker, re.Pattern[str]]]) -> bool:
    if not patterns or path.suffix.lower() not in (".html", ".htm", ".json", ".md", ".txt", ".csv", ".tsv"):
        return False
    try:
        text = _normalise(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return False
    return any(p.search(text) for _, p in patterns)


def _compact(kernel: Kernel, wait_s: float = DEFAULT_WAIT_S) -> list[str]:
    """Make the database forget deleted bytes: SQLite checkpoint + VACUUM + empty WAL; PostgreSQL VACUUM FULL.

    Raises
    ------
    DatabaseInUseError
        If another program keeps reading an older state of the database (or holds a lock) for ``wait_s``.
    """
    notes: list[str] = []
    if kernel.dialect == "sqlite":
        t0 = time.monotonic()
        with _raw_sqlite(kernel, _TRY_MS) as raw:  # autocommit: VACUUM cannot run inside a transaction
            done = _checkpoint(raw, wait_s)
            if done:
                raw.execute(f"PRAGMA busy_timeout={int(max(0.0, wait_s - (time.monotonic() - t0)) * 1000)}")
                try:
                    raw.execute("VACUUM")
                except Exception as exc:  # sqlite3.OperationalError: database is locked (a writer)
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    done = False
                raw.execute(f"PRAGMA busy_timeout={_TRY_MS}")
                done = done and _checkpoint(raw, max(0.0, wait_s - (time.monotonic() - t0)))
        if not done:
            raise _in_use(kernel, time.monotonic() - t0, rows_gone=True)
    elif kernel.dialect == "postgresql":
        with kernel.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql(f"SET lock_timeout = {int(max(wait_s, 0.001) * 1000)}")
            t0 = time.monotonic()
            try:
                for table in t.metadata.sorted_tables:
                    conn.exec_driver_sql(f'VACUUM FULL "{table.name}"')
            except sa.exc.OperationalError as exc:
                if "lock timeout" not in str(exc.orig):
                    raise kernel.wrap(exc) from exc
                raise _in_use(kernel, time.monotonic() - t0, rows_gone=True) from exc
            finally:
                conn.exec_driver_sql("RESET lock_timeout")
        notes.append(
            "PostgreSQL: the tables were rewritten (VACUUM FULL); the server's write-ahead log, WAL archives and "
            "base backups may still hold the deleted rows until they are recycled: ask the database administrator."
        )
    return notes


def _purge_backups(kernel: Kernel, facts: _Facts) -> tuple[list[str], list[str]]:
    purged: list[str] = []
    notes: list[str] = []
    for entry in list_backups(kernel):
        if not entry.exists or (facts.created_at is not None and entry.made_at < facts.created_at):
            continue
        if entry.kind != "sqlite":
            notes.append(f"{entry.path}: a pg_dump backup cannot be edited; delete it or make a new one.")
            continue
        try:
            manifest = read_manifest(entry.path)
            with open_kernel(entry.path) as copy:
                with copy.read() as conn:
                    if not _count(conn, t.cases, t.cases.c.id == facts.case_id):
                        continue
                inner_facts = _facts(copy, facts.case_id)
                gone = {*inner_facts.own_media, *inner_facts.stills}
                gone |= {p[: -len(".png")] + ".json" for p in inner_facts.stills if p.endswith(".png")}
                manifest["files"] = [f for f in manifest.get("files", []) if f["path"] not in gone]
                manifest["purged"] = [*manifest.get("purged", []), {"case_id": facts.case_id, "at": now().isoformat()}]
                (entry.path / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
                inner = purge_case(copy, facts.case_id)
            db = entry.path / manifest["database"]["path"]
            manifest["database"].update(sha256=sha256_file(db), bytes=db.stat().st_size)
            (entry.path / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            purged.append(str(entry.path))
            if not inner.clean:
                notes.append(f"{entry.path}: traces remain after purging the backup: {'; '.join(inner.leftovers)}")
        except WorkbenchError as exc:
            notes.append(f"{entry.path}: could not purge the case in this backup: {exc}")
    return purged, notes


def _backups_holding(kernel: Kernel, facts: _Facts) -> list[str]:
    """Backups the workbench made after the case was created that are still there and hold it."""
    out = []
    for entry in list_backups(kernel):
        if not entry.exists or (facts.created_at is not None and entry.made_at < facts.created_at):
            continue
        if entry.kind == "sqlite":
            db = entry.path / SQLITE_FILE
            try:
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


def scan_for_case(project: Kernel | HasKernel, facts: _Facts) -> tuple[list[str], list[str]]:
    """Search the database and the project folder for anything of a (purged) case.

    Returns
    -------
    (list of str, list of str)
        The traces found (each naming where, and which marker: never the name itself), and
        notes on what could not be searched.
    """
    kernel = as_kernel(project)
    found: list[str] = []
    notes: list[str] = []
    cid, rids = facts.case_id, list(facts.recording_ids)
    patterns = [(m, _text_pattern(m.text)) for m in facts.markers]
    with kernel.read() as conn:
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
                    text = _normalise(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
                    for marker, pattern in patterns:
                        if pattern.search(text):
                            found.append(f"database: {table.name}.{col.name} of row {row[0]} holds {marker.what}")
    if _sqlite_file(kernel):
        db = Path(kernel.engine.url.database or "")
        raw = [(m, _raw_pattern(m.text)) for m in facts.markers]
        for suffix in _DB_SUFFIXES:
            path = db.with_name(db.name + suffix)
            for line in _hits(path.name, _search_file(path, raw)):
                found.append(f"database file {line} (deleted bytes still there)")
    if facts.shared_names:
        notes.append(
            f"{facts.shared_names} of the case's names, parts of names or its helping question also belong to "
            "another case of the project: they stay with that case and were not searched."
        )
    if facts.resumed:
        notes.append(
            "this purge finished one that was interrupted after the case's rows were removed: the case's names "
            "were gone with them (the record of the purge holds none), so the scan searched for its rows, its "
            "files and its films' checksums; the database's deleted bytes were cleared all the same."
        )
    if kernel.folder is not None and kernel.folder.is_dir():
        found += _scan_folder(kernel, facts)
    return list(dict.fromkeys(found)), notes


def _search_file(path: Path, patterns: Iterable[tuple[_Marker, re.Pattern[bytes]]]) -> list[tuple[_Marker, int]]:
    """Every match of the patterns in a file, read in chunks that overlap by the longest marker."""
    patterns = list(patterns)
    if not patterns or not path.is_file():
        return []
    hits: list[tuple[_Marker, int]] = []
    overlap = max(len(m.text.encode("utf-8")) for m, _ in patterns) + 8
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


def _hits(where: str, hits: list[tuple[_Marker, int]]) -> list[str]:
    """One line per marker kind found in a file: how often, and where first."""
    by_kind: dict[str, list[int]] = {}
    for marker, offset in hits:
        by_kind.setdefault(marker.what, []).append(offset)
    return [
        f"{where}: holds {what} {'once' if len(at) == 1 else f'{len(at)} times'} (first at offset {min(at)})"
        for what, at in by_kind.items()
    ]


def _scan_folder(kernel: Kernel, facts: _Facts) -> list[str]:
    folder = kernel.folder
    assert folder is not None
    with kernel.read() as conn:
        in_use = {str(p) for p in conn.execute(sa.select(t.recordings.c.path)).scalars()}
    db_files = {f"{kernel.engine.url.database}{s}" for s in _DB_SUFFIXES} if kernel.dialect == "sqlite" else set()
    text_patterns = [(m, _text_pattern(m.text)) for m in facts.markers]
    raw_patterns = [(m, _raw_pattern(m.text)) for m in facts.markers]
    found: list[str] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        if str(path) in db_files or rel in in_use or rel == PENDING_FILE or rel.startswith(".hypothesis/"):
            continue
        parts = rel.split("/")
        named = [m.what for m, p in text_patterns if p.search(_normalise(rel))]
        if any(p == f"case-{facts.case_id}" for p in parts[:-1]) or _names_recording(path.name, facts) or named:
            found.append(f"folder: {rel} (named after {named[0] if named else 'the case or its recordings'})")
            continue
        if rel in facts.shared_media:
            continue
        with path.open("rb") as fh:
            head = fh.read(8192)
        if b"\x00" in head:
            found += _hits(f"folder: {rel}", _search_file(path, raw_patterns))
        else:
            text = _normalise(path.read_text(encoding="utf-8", errors="replace"))
            hits = [(m, x.start()) for m, p in text_patterns for x in p.finditer(text)]
            found += _hits(f"folder: {rel}", hits)
    return found


# -- retention ------------------------------------------------------------------------------------


def retention(project: Kernel | HasKernel, today: dt.date | str | None = None) -> list[RetentionItem]:
    """Cases whose consent's retention date has passed, and cases without a consent record.

    Parameters
    ----------
    project : Project, Store or Kernel
        The open project.
    today : date or 'YYYY-MM-DD', optional
        The day to judge by (default: today).

    Returns
    -------
    list of RetentionItem
        Expired cases first (oldest date first), then cases without consent; each with its
        number of recordings and the backups the workbench made that hold it.
    """
    kernel = as_kernel(project)
    day = dt.date.today() if today is None else as_date(today, "today")
    consents = {c.case_id: c for c in ConsentRepository(kernel).consents()}
    expired: list[RetentionItem] = []
    missing: list[RetentionItem] = []
    for case in CaseRepository(kernel).cases():
        consent = consents.get(case.id)
        if consent is not None and (consent.until is None or consent.until >= day):
            continue
        facts = _facts(kernel, case.id)
        backups = tuple(_backups_holding(kernel, facts))
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
