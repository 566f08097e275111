"""The rules the store holds annotations to, beyond what :class:`~workbench.annotations.AnnotationTable` checks.

An :class:`AnnotationTable` checks each row alone (times, required fields, codes of the
scheme). What needs the database is checked here, inside the edit's transaction, with the
recording's lock held (:func:`lock_recording`): times within the recording, actors among the
case's participants (when it has any), and state events of one mutually exclusive group that
overlap for the same actor and coder; an import is also compared with what is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from workbench.errors import DuplicateImportError
from workbench.scheme import CodingScheme
from workbench.store import schema as t
from workbench.store.kernel import Kernel
from workbench.store.recordings import duration as recording_duration

__all__ = [
    "delete_coders_annotations",
    "exclusive_overlaps",
    "lock_recording",
    "other_recordings",
    "problems_of",
    "refuse_duplicates",
]

_PG_ANNOTATION_LOCK = 0x5647  # with a recording id: serialises the annotation checks of one recording


def other_recordings(df: pd.DataFrame, rid: int, labels: list[str]) -> list[str]:
    """Rows of ``df`` that name another recording than ``rid``."""
    others = df["recording_id"].notna() & (df["recording_id"] != rid)
    return [
        f"{labels[i]}, field 'recording_id': Expected {rid} (or nothing), but got {int(v)}."
        for i, v in df.loc[others, "recording_id"].items()
    ]


def refuse_duplicates(conn: Connection, rid: int, rows: list[dict[str, Any]], source: str) -> None:
    """DuplicateImportError if any of ``rows`` is stored already for ``rid`` and its coder."""
    a = t.annotations.c
    coders = sorted({r["coder"] for r in rows})
    stored: dict[str, set[tuple[Any, ...]]] = {c: set() for c in coders}
    counts: Counter[str] = Counter()
    q = sa.select(a.coder, a.actor, a.code, a.onset_ms, a.offset_ms).where(a.recording_id == rid, a.coder.in_(coders))
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


def delete_coders_annotations(
    kernel: Kernel, conn: Connection, rid: int, coders: list[str], case_id: int | None
) -> int:
    """Delete the annotations of ``rid`` by ``coders`` (one audit entry); how many went."""
    a = t.annotations.c
    stmt = sa.delete(t.annotations).where(a.recording_id == rid, a.coder.in_(coders)).returning(a.id)
    gone = conn.execute(stmt).scalars().all()
    if gone:
        details = {"count": len(gone), "ids": sorted(int(i) for i in gone), "coders": coders, "replaced": True}
        kernel.audit(conn, "delete", "annotation", None, case_id, details)
    return len(gone)


def lock_recording(conn: Connection, rid: int) -> None:
    """On PostgreSQL, serialise the annotation checks of one recording (SQLite writers queue anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k, :r)"), {"k": _PG_ANNOTATION_LOCK, "r": rid})


def problems_of(
    scheme: CodingScheme,
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
    duration = recording_duration(conn, rid)
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
        case_id = Kernel.case_of(conn, "annotation", {"recording_id": rid})
    known = set(conn.execute(sa.select(t.participants.c.label).where(t.participants.c.case_id == case_id)).scalars())
    if known:
        for label, r in zip(labels, rows, strict=True):
            if r["actor"] not in known:
                problems.append(
                    f"{label}, field 'actor': Expected a participant of case {case_id} "
                    f"({', '.join(sorted(known))}), but got {r['actor']!r}."
                )
    problems += exclusive_overlaps(scheme, conn, rid, rows, labels, exclude_ids)
    return problems


def exclusive_overlaps(
    scheme: CodingScheme,
    conn: Connection,
    rid: int,
    rows: list[dict[str, Any]],
    labels: list[str],
    exclude_ids: Iterable[int] = (),
) -> list[str]:
    groups = scheme.exclusive_groups
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
