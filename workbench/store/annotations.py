"""Annotations: the repository of coded events, and of the project's coding scheme.

One annotation says who (``actor``) did what (``code``) from ``onset_ms`` to ``offset_ms`` in a
recording, coded by whom. Reads give an :class:`~workbench.annotations.AnnotationTable`
(:meth:`AnnotationRepository.annotations`) or one :class:`~workbench.model.Annotation` record;
every edit returns the record as stored. Each row is checked by :class:`AnnotationTable`; what
needs the database (times within the recording, the case's participants, mutually exclusive
state events, repeated imports) by :mod:`workbench.store.annotation_rules`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Row

from workbench.annotations import COLUMNS as ANNOTATION_COLUMNS
from workbench.annotations import AnnotationTable, format_span, rows_of
from workbench.errors import AnnotationError, StoreError
from workbench.model import Annotation, Recording
from workbench.scheme import CodingScheme, scheme_from_dict
from workbench.store import annotation_rules as rules
from workbench.store import schema as t
from workbench.store import values as checks
from workbench.store.engine import store_scheme
from workbench.store.kernel import Kernel, jsonable, now, snapshot, utc

__all__ = ["AnnotationRepository", "ImportReport"]

_EDITABLE = ("actor", "code", "onset_ms", "offset_ms", "coder", "note")
_STORE_COLUMNS = ("version", "created_at", "updated_at", "extra")
_INPUT_ROW = "__workbench_input_row__"  # carries a row's input position through validation and sorting
_IMPORT_MODES = ("new", "replace", "append")


@dataclasses.dataclass(frozen=True)
class ImportReport:
    """What :meth:`Project.import_annotations <workbench.project.Project.import_annotations>` did.

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


def _annotation(r: Row) -> Annotation:
    m = r._mapping
    return Annotation(
        id=m["id"],
        recording_id=m["recording_id"],
        actor=m["actor"],
        code=m["code"],
        onset_ms=m["onset_ms"],  # as stored: AnnotationTable refuses a non-integral time, int() would hide it
        offset_ms=m["offset_ms"],
        coder=m["coder"],
        note=m["note"],
        extras=dict(m["extra"] or {}),
        version=m["version"],
        created_at=utc(m["created_at"]),
        updated_at=utc(m["updated_at"]),
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
    return AnnotationTable.from_trusted(df, scheme)


def _row_dict(r: Row) -> dict[str, Any]:
    """A stored row as AnnotationTable's input: the fixed columns, the extras beside them, the version."""
    m = r._mapping
    out: dict[str, Any] = {c: m[c] for c in ANNOTATION_COLUMNS}  # times as stored: the table names a bad one
    out.update({k: x for k, x in (m["extra"] or {}).items() if k not in out})
    out["version"] = m["version"]
    return out


class AnnotationRepository:
    """Add, import, read, change and delete annotations; keep the project's coding scheme."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._scheme: CodingScheme | None = None

    # -- scheme ---------------------------------------------------------------------------

    @property
    def scheme(self) -> CodingScheme:
        """The project's coding scheme (stored in the database)."""
        if self._scheme is None:
            with self.kernel.read() as conn:
                row = conn.execute(sa.select(t.schemes).where(t.schemes.c.active)).first()
            if row is None:
                raise StoreError(f"Expected a coding scheme in the project {self.kernel.url}, but none is stored.")
            self._scheme = scheme_from_dict(row.content, source=f"scheme {row.id!r} stored in {self.kernel.url}")
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
        with self.kernel.write() as conn:
            used = conn.execute(sa.select(t.annotations.c.code).distinct()).scalars().all()
            missing = sorted(set(used) - set(scheme.code_keys))
            if missing:
                raise StoreError(
                    f"Expected a scheme with every code the stored annotations use, but {scheme.id!r} lacks "
                    f"{', '.join(map(repr, missing))}."
                )
            store_scheme(conn, scheme)
            details = {"scheme": scheme.id, "version": str(scheme.version)}
            self.kernel.audit(conn, "update", "scheme", None, None, details)
        self._scheme = scheme

    def add_annotation(
        self,
        recording: Recording | int,
        actor: str,
        code: str,
        onset_ms: int,
        offset_ms: int | None = None,
        coder: str | None = None,
        note: str = "",
    ) -> Annotation:
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
        Annotation
            The annotation as stored (its ``id``, ``version`` 1, its times).

        Raises
        ------
        AnnotationError
            Naming the field: missing or unknown actor, unknown code, negative or reversed
            times, times beyond the recording's end, a state event overlapping another state
            event of the same mutually exclusive group (same actor and coder).
        """
        rid = Kernel.id_of(recording, "recording", Recording)
        row = {
            "recording_id": rid,
            "actor": actor,
            "code": code,
            "onset_ms": onset_ms,
            "offset_ms": offset_ms,
            "coder": self.kernel.coder if coder is None else coder,
            "note": note,
        }
        source = f"the new annotation for recording {rid}"
        table = AnnotationTable([row], scheme=self.scheme, source=source)
        rows, _ = self._insert_annotations(rid, table.to_dataframe(), ["row 0"], source, whole_rows=True)
        return _annotation(rows[0])

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
        rid = Kernel.id_of(recording, "recording", Recording)
        source = f"the annotations for recording {rid}"
        if isinstance(table, AnnotationTable):
            checked = AnnotationTable(table, scheme=self.scheme, source=source)
            df = checked.to_dataframe()
            positions = list(range(len(df)))
        else:
            rows = [{**r, _INPUT_ROW: i} for i, r in enumerate(rows_of(table))]
            df = AnnotationTable(rows, scheme=self.scheme, source=source).to_dataframe()
            positions = [int(i) for i in df.pop(_INPUT_ROW)] if len(df) else []
        labels = [f"row {p}" for p in positions]
        problems = rules.other_recordings(df, rid, labels)
        if problems:
            raise AnnotationError(problems, source=source)
        rows, _ = self._insert_annotations(rid, df, labels, source)
        return [int(r.id) for r in rows]

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
        rid = Kernel.id_of(recording, "recording", Recording)
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
        problems += rules.other_recordings(df, rid, labels)
        if problems:
            raise AnnotationError(problems, source=what)
        rows, replaced = self._insert_annotations(rid, df, labels, what, mode=mode)
        ids = [int(r.id) for r in rows]
        coders = sorted({c or self.kernel.coder for c in df["coder"]})
        return ImportReport(recording_id=rid, ids=tuple(ids), replaced=replaced, coders=tuple(coders))

    def _insert_annotations(
        self,
        rid: int,
        df: pd.DataFrame,
        labels: list[str],
        source: str,
        mode: str | None = None,
        *,
        whole_rows: bool = False,
    ) -> tuple[list[Row], int]:
        """Check ``df`` (validated rows) against the store and insert it in one transaction.

        ``mode`` (see :meth:`import_annotations`): ``"new"`` refuses rows already stored for their
        coder, ``"replace"`` first deletes the stored rows of the rows' coders; None or ``"append"``
        just adds. Returns the new rows (their ids; every column with ``whole_rows``) and the
        number of stored rows replaced.
        """
        scheme = self.scheme
        extras = [c for c in df.columns if c not in ANNOTATION_COLUMNS and c not in _STORE_COLUMNS]
        stamp = now()
        onsets = df["onset_ms"].to_numpy()
        offsets = df["offset_ms"].to_numpy()
        actors, codes = df["actor"].tolist(), df["code"].tolist()
        coders = [c if c else self.kernel.coder for c in df["coder"].tolist()]
        notes = df["note"].tolist()
        extra_rows = df[extras].to_dict("records") if extras else None
        rows = []
        for i in range(len(df)):
            extra = None
            if extra_rows is not None:
                extra = {k: v for k, v in ((k, jsonable(v)) for k, v in extra_rows[i].items()) if v is not None}
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
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
        if not rows:
            return [], 0
        replaced = 0
        with self.kernel.write() as conn:
            rules.lock_recording(conn, rid)
            case_id = Kernel.case_of(conn, "annotation", {"recording_id": rid})
            if mode == "new":
                rules.refuse_duplicates(conn, rid, rows, source)
            elif mode == "replace":
                replaced = rules.delete_coders_annotations(self.kernel, conn, rid, sorted(set(coders)), case_id)
            problems = rules.problems_of(scheme, conn, rid, rows, labels, case_id=case_id)
            if problems:
                raise AnnotationError(problems, source=source)
            returned = list(t.annotations.c) if whole_rows else [t.annotations.c.id]
            stmt = sa.insert(t.annotations).returning(*returned, sort_by_parameter_order=True)
            inserted = list(conn.execute(stmt, rows))
            ids = [int(r.id) for r in inserted]
            if len(ids) == 1:
                details = {"id": ids[0], **snapshot(rows[0])}
                self.kernel.audit(conn, "add", "annotation", ids[0], case_id, details)
            else:
                details = {"count": len(ids), "first_id": min(ids), "last_id": max(ids), "coders": sorted(set(coders))}
                self.kernel.audit(conn, "add", "annotation", None, case_id, details)
        return inserted, replaced

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
        scheme = self.scheme
        with self.kernel.read() as conn:
            rids = (
                [Kernel.id_of(recording, "recording", Recording)]
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
                unknown = [f"{lb}, field 'code': Expected a code of scheme {scheme.id!r}, but got {r['code']!r}."
                           for lb, r in zip(labels, rows, strict=True) if r["code"] not in scheme]  # fmt: skip
                found = rules.problems_of(scheme, conn, rid, rows, labels, exclude_ids=[r["id"] for r in rows])
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
            q = q.where(t.annotations.c.recording_id == Kernel.id_of(recording, "recording", Recording))
        if coder is not None:
            q = q.where(t.annotations.c.coder == coder)
        with self.kernel.read() as conn:
            result = list(conn.execute(q))
        fast = _annotation_table_fast(result, self.scheme)
        if fast is not None:
            return fast
        rows = [_row_dict(r) for r in result]
        if not rows:
            return AnnotationTable.from_trusted(
                AnnotationTable.empty().to_dataframe().assign(version=pd.array([], dtype=object)), self.scheme
            )
        try:
            return AnnotationTable(rows, scheme=self.scheme, source=self.kernel.url)
        except AnnotationError as exc:  # scheme changed by another client since these rows were stored
            warnings.warn(
                f"Some stored annotations do not fit the project's scheme {self.scheme.id!r} ({exc.problems[0]}); "
                "returning them without the scheme. Fix the codes or set a scheme that has them.",
                stacklevel=2,
            )
            return AnnotationTable(rows, source=self.kernel.url)

    def annotation(self, annotation_id: Annotation | int) -> Annotation:
        """One stored annotation (with its ``version``, ``created_at``, ``updated_at`` and ``extras``)."""
        aid = Kernel.id_of(annotation_id, "annotation", Annotation)
        return _annotation(self.kernel.get(t.annotations, aid, "annotation"))

    def update_annotation(
        self, annotation_id: Annotation | int, *, expected_version: int | None = None, **changes: Any
    ) -> Annotation:
        """Change an annotation's ``actor``, ``code``, ``onset_ms``, ``offset_ms``, ``coder`` or ``note``.

        The changed row is validated again. Moving the onset of a point event
        (``offset_ms == onset_ms``) without giving an offset keeps it a point event.

        Pass the ``version`` you read as ``expected_version`` (the widgets always do):
        an edit made meanwhile by someone else is then refused, never overwritten.
        Without it the edit is "last writer wins": the same on SQLite and PostgreSQL,
        applied to the row as it is now, and recorded in the audit log.

        Returns
        -------
        Annotation
            The annotation as stored now (its new ``version`` included).

        Raises
        ------
        ConflictError
            If ``expected_version`` is given and someone changed the row since.
        NotFoundError
            If the annotation is gone.
        AnnotationError
            If the changed row is invalid (naming the field).
        """
        checks.check_changes(changes, _EDITABLE, "annotation")
        aid = Kernel.id_of(annotation_id, "annotation", Annotation)
        scheme = self.scheme
        with self.kernel.write() as conn:
            cur = Kernel.require(conn, t.annotations, aid, "annotation")
            # The recording's lock first, then the row's (the order every annotation writer takes them);
            # the row read again under its lock is the one this edit changes (its recording never changes).
            rules.lock_recording(conn, cur.recording_id)
            cur = Kernel.require(conn, t.annotations, aid, "annotation", lock=True)
            if expected_version is not None and cur.version != expected_version:
                Kernel.refuse(conn, t.annotations, "annotation", aid, expected_version)
            row = {c: getattr(cur, c) for c in _EDITABLE}
            if "onset_ms" in changes and "offset_ms" not in changes and cur.onset_ms == cur.offset_ms:
                row["offset_ms"] = changes["onset_ms"]
            row.update(changes)
            checked = AnnotationTable([row], scheme=scheme, source=f"annotation {aid}").records()[0]
            as_stored = {**checked, "coder": checked["coder"] or self.kernel.coder}
            case_id = Kernel.case_of(conn, "annotation", {"recording_id": cur.recording_id})
            problems = rules.problems_of(
                scheme, conn, cur.recording_id, [as_stored], [f"annotation {aid}"], exclude_ids=[aid], case_id=case_id
            )
            if problems:
                raise AnnotationError(problems, source=f"annotation {aid}")
            values = {c: checked[c] for c in _EDITABLE if checked[c] != getattr(cur, c)}
            values["updated_at"] = now()
            new = self.kernel.update(conn, t.annotations, "annotation", aid, expected_version, values, case_id=case_id)
        return _annotation(new)

    def delete_annotation(self, annotation_id: Annotation | int, *, expected_version: int | None = None) -> None:
        """Delete an annotation (refused with ConflictError if it changed since ``expected_version``)."""
        aid = Kernel.id_of(annotation_id, "annotation", Annotation)
        with self.kernel.write() as conn:
            self.kernel.delete(conn, t.annotations, "annotation", aid, expected_version)
