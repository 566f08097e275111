"""AnnotationTable: immutable, validated, sorted annotations in integer milliseconds.

Every annotation is one row: who (``actor``) did what (``code``) from ``onset_ms``
to ``offset_ms`` in which recording, coded by whom (``coder``), with a free
``note``. A point event has ``offset_ms == onset_ms``. Extra columns (for
example BORIS modifiers) are kept as they are.

Tables are values: every method returns a new table, nothing mutates one in
place. That keeps undo, trainee-vs-supervisor comparison and caching simple.

Examples
--------
>>> from workbench import AnnotationTable
>>> t = AnnotationTable([
...     {"actor": "child", "code": "initiative-nonverbal", "onset_ms": 1200},
...     {"actor": "parent", "code": "returning-eye-contact", "onset_ms": 1500, "offset_ms": 2400},
... ])
>>> t
<AnnotationTable | 2 annotations, 2 actors: initiative-nonverbal (1), returning-eye-contact (1)>
>>> t.filter(actor="parent").to_dataframe()["offset_ms"].tolist()
[2400]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.errors import AnnotationError

if TYPE_CHECKING:
    from workbench.scheme import CodingScheme

__all__ = ["COLUMNS", "AnnotationTable", "format_ms", "format_span", "rows_of"]

#: The fixed columns, in order; extras follow them.
COLUMNS: tuple[str, ...] = (
    "id",
    "recording_id",
    "actor",
    "code",
    "onset_ms",
    "offset_ms",
    "coder",
    "note",
)
_REQUIRED = ("actor", "code", "onset_ms")
_SORT = ["recording_id", "onset_ms", "offset_ms", "actor", "code", "coder", "id"]


_INT64 = (-(2**63), 2**63 - 1)  # the store's and numpy's integer range


def format_ms(ms: float | None, *, hours: bool = True) -> str:
    """A time in ms as ELAN shows it, ``hh:mm:ss.mmm`` (messages a person must act on), or, with
    ``hours=False``, as the review shows it: ``mm:ss.mmm`` under an hour, ``h:mm:ss.mmm`` from an hour on.
    Empty for a missing time.

    Examples
    --------
    >>> format_ms(83_456), format_ms(0), format_ms(4_000_000)
    ('00:01:23.456', '00:00:00.000', '01:06:40.000')
    >>> format_ms(6233, hours=False), format_ms(3_723_004, hours=False), format_ms(None)
    ('00:06.233', '1:02:03.004', '')
    """
    if ms is None or ms != ms:  # None or NaN
        return ""
    sign = "-" if ms < 0 else ""
    seconds, millis = divmod(abs(round(ms)), 1000)
    minutes, seconds = divmod(seconds, 60)
    h, minutes = divmod(minutes, 60)
    if hours:
        return f"{sign}{h:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
    head = f"{h}:{minutes:02d}" if h else f"{minutes:02d}"
    return f"{sign}{head}:{seconds:02d}.{millis:03d}"


def format_span(onset_ms: int, offset_ms: int, *, hours: bool = True) -> str:
    """``format_ms`` of both ends (joined by ``-``, or ``–`` with ``hours=False``), or of one time for a point.

    Examples
    --------
    >>> format_span(3150, 3332), format_span(700, 700), format_span(3150, 3332, hours=False)
    ('00:00:03.150-00:00:03.332', '00:00:00.700', '00:03.150–00:03.332')
    """
    if offset_ms == onset_ms:
        return format_ms(onset_ms, hours=hours)
    joint = "-" if hours else "–"
    return f"{format_ms(onset_ms, hours=hours)}{joint}{format_ms(offset_ms, hours=hours)}"


def _as_int_ms(value: Any) -> int | None:
    """Integer milliseconds from an int or an integral float; None if not representable (or beyond int64)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        v = int(value)
        return v if _INT64[0] <= v <= _INT64[1] else None
    if isinstance(value, numbers.Real):
        f = float(value)
        if math.isfinite(f) and f == int(f) and _INT64[0] <= int(f) <= _INT64[1]:
            return int(f)
    return None


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _as_optional_int(value: Any) -> int | None:
    return None if _is_missing(value) else _as_int_ms(value)


def rows_of(data: Any) -> list[dict[str, Any]]:
    """The rows of anything :class:`AnnotationTable` accepts, as dicts, in the order given (not validated).

    Parameters
    ----------
    data : DataFrame, mapping of columns, iterable of row mappings, AnnotationTable or None
        The input.

    Returns
    -------
    list of dict
        One dict per row, with the input's own keys.

    Raises
    ------
    TypeError
        If ``data`` is none of these, or a row is not a mapping.
    """
    if data is None:
        return []
    if isinstance(data, AnnotationTable):
        return data.to_dataframe().to_dict("records")
    if isinstance(data, pd.DataFrame):
        return data.to_dict("records")
    if isinstance(data, Mapping):
        return pd.DataFrame(dict(data)).to_dict("records")
    if isinstance(data, Iterable):
        rows = list(data)
        for i, r in enumerate(rows):
            if not isinstance(r, Mapping):
                raise TypeError(f"Expected row {i} to be a mapping, but got {type(r).__name__}.")
        return [dict(r) for r in rows]
    raise TypeError(
        f"Expected a DataFrame, a mapping of columns or an iterable of rows, but got {type(data).__name__}."
    )


class AnnotationTable:
    """Immutable, validated, sorted table of annotations.

    Parameters
    ----------
    data : DataFrame, mapping of columns, iterable of row mappings, or AnnotationTable
        Rows with at least ``actor``, ``code`` and ``onset_ms``. Missing
        ``offset_ms`` makes a point event; ``id`` and ``recording_id`` may be
        missing (rows not stored yet); ``coder`` and ``note`` default to ``""``.
    scheme : CodingScheme, optional
        If given, every code must be in it.
    actors : collection of str, optional
        If given, every actor must be one of them.
    source : str, optional
        File or object the rows came from, named in error messages.

    Raises
    ------
    AnnotationError
        Listing every invalid row and field: negative time, offset before
        onset, missing actor or code, unknown actor, code not in the scheme.
    """

    __slots__ = ("_df", "_scheme")
    _df: pd.DataFrame
    _scheme: CodingScheme | None

    def __init__(
        self,
        data: Any = None,
        *,
        scheme: CodingScheme | None = None,
        actors: Collection[str] | None = None,
        source: str | None = None,
    ) -> None:
        rows = rows_of(data)
        problems: list[str] = []
        clean: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        extras: list[str] = []
        for r in rows:
            for k in r:
                if k not in clean and k not in extras:
                    extras.append(str(k))
        extra_values: dict[str, list[Any]] = {k: [] for k in extras}
        allowed_actors = set(actors) if actors is not None else None

        for i, r in enumerate(rows):
            rid = r.get("id")
            label = f"row {i}" + (f" (id {rid})" if not _is_missing(rid) else "")
            for col in _REQUIRED:
                if col not in r or _is_missing(r[col]) or (isinstance(r[col], str) and not r[col].strip()):
                    problems.append(f"{label}, field '{col}': Expected a value, but it is missing.")
            onset = _as_int_ms(r.get("onset_ms")) if not _is_missing(r.get("onset_ms")) else None
            if onset is None and not _is_missing(r.get("onset_ms")):
                problems.append(
                    f"{label}, field 'onset_ms': Expected integer milliseconds, but got {r.get('onset_ms')!r}."
                )
            raw_off = r.get("offset_ms")
            if _is_missing(raw_off):
                offset = onset
            else:
                offset = _as_int_ms(raw_off)
                if offset is None:
                    problems.append(f"{label}, field 'offset_ms': Expected integer milliseconds, but got {raw_off!r}.")
            if onset is not None and onset < 0:
                problems.append(f"{label}, field 'onset_ms': Expected a time >= 0 ms, but got {onset}.")
            if onset is not None and offset is not None and offset < onset:
                problems.append(
                    f"{label}, field 'offset_ms': Expected offset >= onset ({onset} ms), but got {offset} ms."
                )
            for col in ("id", "recording_id"):
                v = r.get(col)
                if not _is_missing(v) and _as_int_ms(v) is None:
                    problems.append(f"{label}, field '{col}': Expected an integer, but got {v!r}.")
            actor = r.get("actor")
            actor = None if _is_missing(actor) else str(actor).strip()
            if actor and allowed_actors is not None and actor not in allowed_actors:
                problems.append(f"{label}, field 'actor': Expected one of {sorted(allowed_actors)}, but got {actor!r}.")
            code = r.get("code")
            code = None if _is_missing(code) else str(code).strip()
            if code and scheme is not None and code not in scheme:
                problems.append(f"{label}, field 'code': Expected a code of scheme {scheme.id!r}, but got {code!r}.")
            clean["id"].append(_as_optional_int(rid))
            clean["recording_id"].append(_as_optional_int(r.get("recording_id")))
            clean["actor"].append(actor or "")
            clean["code"].append(code or "")
            clean["onset_ms"].append(onset if onset is not None else 0)
            clean["offset_ms"].append(offset if offset is not None else 0)
            coder = r.get("coder")
            clean["coder"].append("" if _is_missing(coder) else str(coder))
            note = r.get("note")
            clean["note"].append("" if _is_missing(note) else str(note))
            for k in extras:
                extra_values[k].append(r.get(k))

        if problems:
            raise AnnotationError(problems, source=source)

        # Text columns as object Series: pandas >= 3 turns an object *array* of strings given to the
        # DataFrame constructor into its "str" dtype, a second copy of every note (a 250 MiB file of notes
        # then peaks above 1 GiB); a Series keeps the dtype it was given and shares the strings.
        df = pd.DataFrame(
            {
                "id": pd.array(clean["id"], dtype="Int64"),
                "recording_id": pd.array(clean["recording_id"], dtype="Int64"),
                "actor": pd.Series(clean["actor"], dtype=object),
                "code": pd.Series(clean["code"], dtype=object),
                "onset_ms": np.asarray(clean["onset_ms"], dtype=np.int64),
                "offset_ms": np.asarray(clean["offset_ms"], dtype=np.int64),
                "coder": pd.Series(clean["coder"], dtype=object),
                "note": pd.Series(clean["note"], dtype=object),
            }
        )
        for k in extras:
            df[k] = pd.Series(extra_values[k], dtype=object)
        df = df.sort_values(_SORT, kind="mergesort", na_position="first").reset_index(drop=True)
        object.__setattr__(self, "_df", df)
        object.__setattr__(self, "_scheme", scheme)

    # -- construction ------------------------------------------------------------------

    @classmethod
    def empty(cls, scheme: CodingScheme | None = None) -> AnnotationTable:
        """A table with no rows."""
        return cls([], scheme=scheme)

    @classmethod
    def concat(cls, tables: Iterable[AnnotationTable]) -> AnnotationTable:
        """One table with the rows of all ``tables`` (the first table's scheme is kept)."""
        tables = list(tables)
        if not tables:
            return cls.empty()
        frames = [t._df for t in tables if len(t)]
        df = pd.concat(frames, ignore_index=True) if frames else tables[0]._df
        return cls.from_trusted(df, tables[0]._scheme)

    @classmethod
    def from_trusted(cls, frame: pd.DataFrame, scheme: CodingScheme | None = None) -> AnnotationTable:
        """Wrap rows that are valid already, without checking them row by row (only sorting them).

        For rows whose validity the caller vouches for: this class's own output, or the store's
        rows, which the database's constraints and a check of whole columns hold to the same
        rules (the store builds a table of thousands of rows this way in milliseconds). Anything
        else, above all what a person or a file gave, goes through the constructor, which checks
        every row and names each problem.

        Parameters
        ----------
        frame : DataFrame
            The fixed columns (:data:`COLUMNS`) with their dtypes as :meth:`to_dataframe` gives
            them, then any extra columns.
        scheme : CodingScheme, optional
            The scheme the codes are known to be in.
        """
        new = object.__new__(cls)
        df = frame.sort_values(_SORT, kind="mergesort", na_position="first").reset_index(drop=True)
        object.__setattr__(new, "_df", df)
        object.__setattr__(new, "_scheme", scheme)
        return new

    # -- immutability ------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"Cannot set attribute {name!r}; AnnotationTable is immutable. "
            "Use 'with_rows()', 'drop_ids()' or 'replace()' to get a new table."
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError("AnnotationTable is immutable.")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # pickled as its (already valid) rows and scheme, e.g. to send it to Dask workers
        return (_restore, (self._df, self._scheme))

    # -- access ------------------------------------------------------------------------

    def to_dataframe(self) -> pd.DataFrame:
        """A copy of the rows as a DataFrame (fixed columns first, then extras)."""
        return self._df.copy()

    def records(self) -> list[dict[str, Any]]:
        """The rows as a list of dicts (``None`` for missing ids)."""
        df = self._df.astype({"id": object, "recording_id": object})
        df = df.where(df.notna(), None)
        return df.to_dict("records")

    def __len__(self) -> int:
        return len(self._df)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AnnotationTable):
            return NotImplemented
        return self._df.equals(other._df)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n = len(self._df)
        if n == 0:
            return "<AnnotationTable | 0 annotations>"
        counts = self._df["code"].value_counts()
        shown = ", ".join(f"{code} ({count})" for code, count in counts.head(5).items())
        more = f", ... {len(counts) - 5} more codes" if len(counts) > 5 else ""
        actors = self._df["actor"].nunique()
        return f"<AnnotationTable | {n} annotations, {actors} actors: {shown}{more}>"

    @property
    def scheme(self) -> CodingScheme | None:
        """The scheme the codes were validated against, if any."""
        return self._scheme

    @property
    def actors(self) -> tuple[str, ...]:
        """Distinct actors, sorted."""
        return tuple(sorted(self._df["actor"].unique()))

    @property
    def codes(self) -> tuple[str, ...]:
        """Distinct codes, sorted."""
        return tuple(sorted(self._df["code"].unique()))

    @property
    def coders(self) -> tuple[str, ...]:
        """Distinct coders, sorted."""
        return tuple(sorted(self._df["coder"].unique()))

    @property
    def ids(self) -> tuple[int, ...]:
        """Stored ids of the rows that have one, in table order."""
        return tuple(int(v) for v in self._df["id"].dropna())

    @property
    def is_point(self) -> np.ndarray:
        """Boolean array: which rows are point events."""
        return (self._df["onset_ms"] == self._df["offset_ms"]).to_numpy()

    @property
    def end_ms(self) -> int:
        """Latest offset in the table (0 for an empty table)."""
        return int(self._df["offset_ms"].max()) if len(self._df) else 0

    # -- new tables from this one ------------------------------------------------------

    def filter(
        self,
        *,
        actor: str | Sequence[str] | None = None,
        code: str | Sequence[str] | None = None,
        coder: str | Sequence[str] | None = None,
        recording_id: int | Sequence[int] | None = None,
    ) -> AnnotationTable:
        """Rows matching every given criterion (a value or a list of allowed values)."""
        mask = pd.Series(True, index=self._df.index)
        for col, want in (("actor", actor), ("code", code), ("coder", coder), ("recording_id", recording_id)):
            if want is None:
                continue
            values = [want] if isinstance(want, str | int) else list(want)
            mask &= self._df[col].isin(values)
        return AnnotationTable.from_trusted(self._df[mask], self._scheme)

    def between(self, start_ms: int, end_ms: int) -> AnnotationTable:
        """Rows that overlap ``[start_ms, end_ms]`` (point events inside it included)."""
        df = self._df
        mask = (df["offset_ms"] >= start_ms) & (df["onset_ms"] <= end_ms)
        return AnnotationTable.from_trusted(df[mask], self._scheme)

    def at(self, time_ms: int) -> AnnotationTable:
        """Rows active at ``time_ms`` (states covering it, points exactly at it)."""
        return self.between(time_ms, time_ms)

    def points(self) -> AnnotationTable:
        """Only the point events."""
        return AnnotationTable.from_trusted(self._df[self.is_point], self._scheme)

    def states(self) -> AnnotationTable:
        """Only the state events (offset after onset)."""
        return AnnotationTable.from_trusted(self._df[~self.is_point], self._scheme)

    def with_rows(self, rows: Any) -> AnnotationTable:
        """A new table with ``rows`` (validated like the constructor's input) added."""
        added = AnnotationTable(rows, scheme=self._scheme)
        return AnnotationTable.concat([self, added])

    def drop_ids(self, ids: Iterable[int]) -> AnnotationTable:
        """A new table without the rows whose id is in ``ids``."""
        drop = set(ids)
        return AnnotationTable.from_trusted(self._df[~self._df["id"].isin(drop)], self._scheme)

    def replace(self, row_id: int, **changes: Any) -> AnnotationTable:
        """A new table where the row with id ``row_id`` has ``changes`` applied (re-validated)."""
        recs = self.records()
        hits = [r for r in recs if r["id"] == row_id]
        if not hits:
            raise KeyError(f"Expected an annotation id in this table, but got {row_id}.")
        for r in hits:
            r.update(changes)
        return AnnotationTable(recs, scheme=self._scheme)

    def shifted(self, delta_ms: int) -> AnnotationTable:
        """A new table with every time moved by ``delta_ms`` (the result must stay >= 0)."""
        df = self._df.copy()
        df["onset_ms"] += int(delta_ms)
        df["offset_ms"] += int(delta_ms)
        return AnnotationTable(df, scheme=self._scheme)

    def validate(self, scheme: CodingScheme | None = None, actors: Collection[str] | None = None) -> AnnotationTable:
        """Check the rows against a scheme and/or an actor list; return the table bound to ``scheme``."""
        return AnnotationTable(self._df, scheme=scheme or self._scheme, actors=actors)


def _restore(df: pd.DataFrame, scheme: CodingScheme | None) -> AnnotationTable:
    """Unpickle an :class:`AnnotationTable` (its rows were valid when it was pickled)."""
    return AnnotationTable.from_trusted(df, scheme)
