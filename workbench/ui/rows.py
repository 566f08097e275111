"""What the review's widgets show, built from annotations, moments and comments (pure: no widgets, no store).

One annotation takes three shapes on its way to the browser, each built here and nowhere else:

- its **table row** (:func:`table_row`): what ``widgets/table.js`` shows and sends back with an edit;
- its **bar** (:func:`bar_rows`): a row of the timeline's ``bars`` dataset, built by the chart vocabulary of
  :mod:`workbench.charts` (:func:`~workbench.charts.timeline_frame`, :func:`~workbench.charts.timeline_datasets`);
- the **links** of the initiatives (:func:`link_rows`): rows of the ``links`` and ``missed`` datasets, from
  :func:`~workbench.charts.contingency_links`, each with a ``key`` the chart widget replaces it by.

Codes are named through the scheme (``label_of``, ``principle_of``, ``colour_of``), never looked up here.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pandas as pd

from workbench.annotations import AnnotationTable
from workbench.charts import contingency_links, notes_datasets, timeline_datasets, timeline_frame
from workbench.scheme import CodingScheme

__all__ = [
    "ANNOTATION_FIELDS",
    "AnnotationLike",
    "StoredAnnotation",
    "annotation_fields",
    "bar_rows",
    "link_rows",
    "notes_rows",
    "records",
    "stored_annotations",
    "table_row",
]

#: The fields of an annotation the review shows and edits (with its ``id`` and ``version``).
ANNOTATION_FIELDS = ("id", "recording_id", "actor", "code", "onset_ms", "offset_ms", "coder", "note")

Lanes = Literal["actor", "actor+coder"]


class AnnotationLike(Protocol):
    """A stored annotation as the review reads it: the store's record, or :class:`StoredAnnotation`."""

    @property
    def id(self) -> int: ...
    @property
    def recording_id(self) -> int: ...
    @property
    def actor(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def onset_ms(self) -> int: ...
    @property
    def offset_ms(self) -> int: ...
    @property
    def coder(self) -> str: ...
    @property
    def note(self) -> str: ...
    @property
    def version(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StoredAnnotation:
    """One stored annotation with its version (the fields of :class:`AnnotationLike`)."""

    id: int
    recording_id: int
    actor: str
    code: str
    onset_ms: int
    offset_ms: int
    coder: str
    note: str
    version: int

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> StoredAnnotation:
        """From a mapping with the fields (a store row as a dict, a table's record)."""
        return cls(
            id=int(row["id"]),
            recording_id=int(row["recording_id"]),
            actor=str(row["actor"]),
            code=str(row["code"]),
            onset_ms=int(row["onset_ms"]),
            offset_ms=int(row["offset_ms"]),
            coder=str(row["coder"] or ""),
            note=str(row["note"] or ""),
            version=int(row["version"]),
        )


def annotation_fields(a: AnnotationLike) -> dict[str, Any]:
    """The fields of :data:`ANNOTATION_FIELDS` of ``a``, as a dict (a row for an :class:`AnnotationTable`)."""
    return {f: getattr(a, f) for f in ANNOTATION_FIELDS}


def stored_annotations(table: AnnotationTable) -> list[StoredAnnotation]:
    """The rows of a table the store returned (it has a ``version`` column), in the table's order.

    Raises
    ------
    ValueError
        If a row has no id or no version (it was not read from the store).
    """
    df = table.to_dataframe()
    if "version" not in df:
        df["version"] = None
    out = []
    for r in df[[*ANNOTATION_FIELDS, "version"]].itertuples(index=False):
        if pd.isna(r.id) or pd.isna(r.version):
            raise ValueError(f"Expected stored annotations (with an id and a version), but got {r}.")
        out.append(StoredAnnotation.of(r._asdict()))
    return out


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-ready dicts (numpy scalars as Python ones, NaN as None)."""
    if frame.empty:
        return []
    return json.loads(frame.to_json(orient="records", date_format="iso"))


# -- the table ---------------------------------------------------------------------------------------


def table_row(a: AnnotationLike, scheme: CodingScheme, disagree: bool) -> dict[str, Any]:
    """One row of the table widget: what ``widgets/table.js`` shows, and sends back (id, version) with an edit."""
    return {
        "id": int(a.id),
        "version": int(a.version),
        "actor": a.actor,
        "code": a.code,
        "label": scheme.label_of(a.code),
        "category": scheme.principle_of(a.code),
        "colour": scheme.colour_of(a.code),
        "onset_ms": int(a.onset_ms),
        "offset_ms": int(a.offset_ms),
        "coder": a.coder,
        "note": a.note,
        "disagree": bool(disagree),
    }


# -- the timeline --------------------------------------------------------------------------------------


def bar_rows(
    annotations: AnnotationTable | Sequence[AnnotationLike],
    scheme: CodingScheme,
    *,
    lanes: Lanes,
    disagree: Collection[int] = (),
) -> dict[int, dict[str, Any]]:
    """The timeline's ``bars`` rows of ``annotations``, by id (one pandas pass, whatever their number).

    Parameters
    ----------
    annotations : AnnotationTable or sequence of AnnotationLike
        What to draw (a table as the store returned it, or the few annotations an edit changed).
    scheme : CodingScheme
        Names and colours the codes (codes outside it are drawn grey).
    lanes : {"actor", "actor+coder"}
        One lane per actor, or per actor and coder (supervision).
    disagree : collection of int
        Ids of the annotations drawn with the disagreement outline.
    """
    table = annotations if isinstance(annotations, AnnotationTable) else _table(annotations)
    if not len(table):
        return {}
    frame = timeline_frame(table, scheme, lanes=lanes)
    frame["disagree"] = frame["id"].isin(list(disagree))
    rows = records(timeline_datasets(frame, contingency_links(pd.DataFrame(), frame))["bars"])
    for row in rows:  # a tooltip shows no "note" line for a row without one
        if not row.get("note"):
            row.pop("note", None)
    return {int(r["id"]): r for r in rows}


def link_rows(
    found: pd.DataFrame, lanes: Mapping[int, str], onsets: Mapping[int, int], scheme: CodingScheme
) -> dict[str, dict[str, dict[str, Any]]]:
    """The ``links`` and ``missed`` rows of contingencies, by key (``"<initiative id>/<n>"``).

    Parameters
    ----------
    found : DataFrame
        Rows of :func:`workbench.analysis.contingency.contingencies` (of one coder).
    lanes, onsets : mapping of id to lane, to onset (ms)
        Where each annotation the links may join is drawn.
    scheme : CodingScheme
        The review's scheme.

    Returns
    -------
    dict
        ``{"links": {key: row}, "missed": {key: row}}``: each row with its dataset's columns and its ``key``
        (an initiative's rows are numbered from 0 across both datasets).
    """
    out: dict[str, dict[str, dict[str, Any]]] = {"links": {}, "missed": {}}
    if found.empty:
        return out
    ids = list(lanes)
    frame = pd.DataFrame({"id": ids, "lane": [lanes[i] for i in ids], "onset_ms": [onsets[i] for i in ids]})
    links = contingency_links(found, frame)
    data = timeline_datasets(_no_bars(scheme), links)
    counts: dict[int, int] = {}
    for name in ("links", "missed"):
        part = data[name]
        initiative = links.loc[part.index, "initiative_id"].tolist()
        for ini, row in zip(initiative, records(part.reset_index(drop=True)), strict=True):
            n = counts[int(ini)] = counts.get(int(ini), -1) + 1
            key = f"{int(ini)}/{n}"
            out[name][key] = {**row, "key": key}
    return out


_NO_BARS: dict[tuple[str, str], pd.DataFrame] = {}


def _no_bars(scheme: CodingScheme) -> pd.DataFrame:
    """A timeline frame without rows (for :func:`~workbench.charts.timeline_datasets` of links alone), made once."""
    key = (scheme.id, scheme.version)
    if key not in _NO_BARS:
        _NO_BARS[key] = timeline_frame(AnnotationTable.empty(), scheme).assign(disagree=False)
    return _NO_BARS[key]


def _table(annotations: Iterable[AnnotationLike]) -> AnnotationTable:
    """A table of stored annotations, without the scheme (codes outside it are still drawn, grey)."""
    return AnnotationTable([annotation_fields(a) for a in annotations])


# -- the notes -----------------------------------------------------------------------------------------


def notes_rows(moments: Iterable[Any], comments: Iterable[Any]) -> tuple[dict[str, list[dict[str, Any]]], ...]:
    """The notes panel's lists and the timeline's ``moments`` and ``comments`` rows, of moment and comment records.

    Returns
    -------
    (dict, dict)
        ``{"moments": [...], "comments": [...]}`` for the notes panel, and the same names for the timeline.
    """
    moment_frame = pd.DataFrame(
        [{"id": m.id, "version": m.version, "onset_ms": m.onset_ms, "offset_ms": m.offset_ms, "title": m.title,
          "reason": m.reason} for m in moments],
        columns=["id", "version", "onset_ms", "offset_ms", "title", "reason"],
    )  # fmt: skip
    comment_frame = pd.DataFrame(
        [{"id": c.id, "time_ms": c.time_ms, "author": c.author, "status": str(c.status), "text": c.text}
         for c in comments],
        columns=["id", "time_ms", "author", "status", "text"],
    )  # fmt: skip
    panel = {"moments": records(moment_frame), "comments": records(comment_frame)}
    timeline = {name: records(df) for name, df in notes_datasets(moment_frame, comment_frame).items()}
    return panel, timeline
