"""Agreement between coders of the same recording (trainee vs supervisor, or any two or more).

Two families of measures, as observational research reports them (Bakeman, Quera & Gnisci,
2009, recommend reporting one of each):

Time-unit agreement (:func:`cohen_kappa`, :func:`krippendorff_alpha`, :func:`unit_categories`)
    The recording is cut into units of ``unit_ms``; in each unit each coder's coding of one
    actor is one *category*; kappa or alpha is computed over all (unit, actor) pairs.

    ``convention="workbench"`` (the default) defines a unit and its category so:

    - Units are the half-open intervals ``[start + k * unit_ms, start + (k + 1) * unit_ms)``.
      ``start`` is ``span_ms[0]``, or by default the start of the unit (on the grid from 0 ms)
      that holds the earliest event of either coding; units continue until the latest end
      (``span_ms[1]`` if given; the last unit may be shorter).
    - A state event counts in every unit it overlaps by at least 1 ms (its offset is
      exclusive: a state ``[1000, 2000)`` is in unit 1 only); a point event counts in the
      unit that holds its onset.
    - The category of (unit, actor) is the *set* of codes the coder has active for that actor
      in the unit, qualified by the actor: ``"parent: having-fun+receiving-words"``. Two
      overlapping codes are one combined category, so agreeing on one code of a combination
      and not the other is a disagreement (restrict ``codes`` to one mutually exclusive group
      to judge it alone). A unit in which a coder coded nothing for the actor is
      ``"(no behaviour)"`` (one category shared by all actors).

    ``convention="boris"`` reproduces BORIS's time-unit kappa (``boris/irr.py``,
    ``cohen_kappa``, citing Bakeman & Quera, *Sequential Analysis and Observational Methods
    for the Behavioral Sciences*, p. 77) on tables read with
    :func:`workbench.io.read_boris`:

    - Units are instants ``t = first + k * unit_ms``, from the earliest onset of either coding
      (selected actors and codes) while ``t <= last``, the latest offset (a point's offset is
      its onset). BORIS steps in exact decimal seconds but compares ``t`` with the latest
      offset as a binary float, so when they are equal the last instant is dropped if that
      float is below the decimal value; we do the same.
    - A state event counts at ``t`` when ``onset <= t <= offset`` (both ends included); a point
      event when ``|onset - t| <= unit_ms / 2``, compared in binary floating-point seconds as
      BORIS's SQLite query does (at exactly half a unit this can differ from exact arithmetic).
    - The category of (t, actor) is the *multiset* of codes active for the actor (a code
      counted twice when two of its events are active), qualified by the actor; nothing
      active is one shared ``"(no behaviour)"`` category. Modifiers are ignored (BORIS's
      ``include_modifiers=False``).
    - Times are whole milliseconds (as :func:`~workbench.io.read_boris` rounds them); a BORIS
      state whose start and stop coincide is a point event in an ``AnnotationTable`` and is
      counted as one.
    - BORIS refuses a coding with no events of the selected subjects and behaviours (it
      returns ``-100``): we raise :class:`ValueError`. BORIS rounds K to 3 decimals for
      display; we return it unrounded.

    In both conventions, when both coders used one single category everywhere (so chance
    agreement is 1 and kappa is 0/0), the result is 1.0, as BORIS reports it.

Event agreement (:func:`match_events`, :func:`event_kappa`, :func:`per_code_agreement`)
    Each coder's events of one actor are paired one-to-one with the other coder's events of
    the same actor whose onsets lie within a tolerance. Among all pairings the one chosen has
    the most pairs, then the most same-code pairs, then the smallest total onset difference
    (an optimal assignment, :func:`scipy.optimize.linear_sum_assignment`, solved separately
    for each run of events whose onsets chain within the tolerance). A pair with the same code
    agrees; a pair with different codes is a code disagreement; an event with no partner is
    paired with the category ``"(none)"`` (so the (none, none) cell is empty by construction).
    Event kappa is Cohen's formula over these pairs: an event-based kappa of the kind
    Bakeman, Quera & Gnisci (2009) compare for The Observer, INTERACT and GSEQ, which tally an
    event one observer coded and the other did not against a "nil" code and then apply the
    usual kappa formula. ELAN's modified kappa (Holle & Rein)
    matches events by *overlap* instead and fills the empty cell by iterative proportional
    fitting (its ``kappa_ipf``), so it gives other values; its ``kappa (excl.)`` corresponds to
    ``event_kappa(..., include_unmatched=False)``.

References
----------
Bakeman, R., Quera, V. & Gnisci, A. (2009). Observer agreement for timed-event sequential
data: A comparison of time-based and event-based algorithms. *Behavior Research Methods*,
41(1), 137-147. doi:10.3758/BRM.41.1.137

Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational and
Psychological Measurement*, 20(1), 37-46.

Krippendorff, K. (2011). *Computing Krippendorff's alpha-reliability*. Annenberg School for
Communication, University of Pennsylvania. https://repository.upenn.edu/asc_papers/43

Examples
--------
>>> from workbench import AnnotationTable
>>> a = AnnotationTable([{"actor": "parent", "code": "waiting", "onset_ms": 0, "offset_ms": 3000},
...                      {"actor": "parent", "code": "having-fun", "onset_ms": 5000, "offset_ms": 8000}])
>>> b = AnnotationTable([{"actor": "parent", "code": "waiting", "onset_ms": 0, "offset_ms": 3000},
...                      {"actor": "parent", "code": "waiting", "onset_ms": 5000, "offset_ms": 8000}])
>>> round(cohen_kappa(a, b), 3)
0.429
>>> confusion_matrix(a, b).loc["parent: having-fun"].to_dict()
{'parent: having-fun': 0, 'parent: waiting': 3, '(no behaviour)': 0}
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from workbench.annotations import AnnotationTable

logger = logging.getLogger(__name__)

__all__ = [
    "NO_BEHAVIOUR",
    "UNMATCHED",
    "AgreementReport",
    "agreement_report",
    "cohen_kappa",
    "confusion_matrix",
    "event_kappa",
    "krippendorff_alpha",
    "match_events",
    "per_code_agreement",
    "unit_categories",
]

#: Category of a time unit in which a coder coded nothing for the actor.
NO_BEHAVIOUR = "(no behaviour)"
#: Category paired with an event the other coder has no partner for.
UNMATCHED = "(none)"

Convention = Literal["workbench", "boris"]
_CONVENTIONS = ("workbench", "boris")
_LEVELS = ("nominal", "ordinal", "interval", "ratio")
_PACKAGE_CELLS = 20_000_000  # units x values^2 above which nominal alpha uses the closed form
_MATCH_COLUMNS = ["actor", "id_a", "id_b", "code_a", "code_b", "onset_a_ms", "onset_b_ms", "status"]


# -- event alignment ----------------------------------------------------------------------------


def _runs(onsets: np.ndarray, tolerance_ms: int) -> np.ndarray:
    """Run number of each onset (sorted input): a new run starts after a gap > tolerance."""
    if len(onsets) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([[0], np.cumsum(np.diff(onsets) > tolerance_ms)])


def _assign(on_a: np.ndarray, code_a: np.ndarray, on_b: np.ndarray, code_b: np.ndarray,
            tolerance_ms: int) -> list[tuple[int, int]]:
    """Optimal pairs (indices into a and b) for one block of events."""
    diff = np.abs(on_a[:, None] - on_b[None, :]).astype(float)
    # lexicographic: as many pairs as possible, then as many same-code pairs, then the
    # smallest total onset difference; partners beyond the tolerance are not allowed
    same = code_a[:, None] == code_b[None, :]
    step = float(tolerance_ms + 1)
    n_max = min(len(on_a), len(on_b)) + 1
    cost = diff + np.where(same, 0.0, step * n_max) - step * n_max * n_max
    allowed = diff <= tolerance_ms
    cost[~allowed] = 0.0
    ri, ci = linear_sum_assignment(cost)
    return [(int(i), int(j)) for i, j in zip(ri, ci, strict=True) if allowed[i, j]]


def match_events(
    table_a: AnnotationTable,
    table_b: AnnotationTable,
    *,
    tolerance_ms: int = 1000,
) -> pd.DataFrame:
    """Pair the events of two codings of one recording.

    Parameters
    ----------
    table_a, table_b : AnnotationTable
        The two codings (e.g. trainee and supervisor).
    tolerance_ms : int
        Largest onset difference for two events to be paired.

    Returns
    -------
    DataFrame
        One row per pair or unmatched event: ``actor, id_a, id_b, code_a, code_b,
        onset_a_ms, onset_b_ms, status`` where status is ``"agree"``, ``"code"`` (paired,
        different codes), ``"only_a"`` or ``"only_b"``; the missing partner's code is
        ``"(none)"``. ``attrs["params"]`` records the tolerance.

    Notes
    -----
    Pairs never cross a gap between onsets larger than the tolerance, so the assignment is
    solved for each run of onsets (of both codings together) that chain within the
    tolerance: the same optimum as one assignment over all events, at a fraction of the cost
    for long recordings.
    """
    if tolerance_ms < 0:
        raise ValueError(f"Expected tolerance_ms >= 0, but got {tolerance_ms}.")
    a, b = table_a.to_dataframe(), table_b.to_dataframe()
    parts: list[pd.DataFrame] = []
    for actor in sorted(set(a["actor"]) | set(b["actor"])):
        ea = a[a["actor"] == actor].sort_values("onset_ms", kind="mergesort").reset_index(drop=True)
        eb = b[b["actor"] == actor].sort_values("onset_ms", kind="mergesort").reset_index(drop=True)
        on_a, on_b = ea["onset_ms"].to_numpy(np.int64), eb["onset_ms"].to_numpy(np.int64)
        code_a, code_b = ea["code"].to_numpy(object), eb["code"].to_numpy(object)
        # runs over the merged onsets; each run is solved on its own
        merged = np.concatenate([on_a, on_b])
        order = np.argsort(merged, kind="mergesort")
        run_sorted = _runs(merged[order], int(tolerance_ms))
        run = np.empty(len(merged), dtype=np.int64)
        run[order] = run_sorted
        run_a, run_b = run[: len(on_a)], run[len(on_a):]
        ia: list[int] = []
        ib: list[int] = []
        for r in np.intersect1d(run_a, run_b):
            sa, sb = np.flatnonzero(run_a == r), np.flatnonzero(run_b == r)
            for i, j in _assign(on_a[sa], code_a[sa], on_b[sb], code_b[sb], int(tolerance_ms)):
                ia.append(int(sa[i]))
                ib.append(int(sb[j]))
        pa, pb = np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)
        only_a = np.setdiff1d(np.arange(len(ea)), pa)
        only_b = np.setdiff1d(np.arange(len(eb)), pb)
        paired_codes_a, paired_codes_b = code_a[pa], code_b[pb]
        parts.append(pd.DataFrame({
            "actor": actor,
            "id_a": ea["id"].to_numpy(object)[pa], "id_b": eb["id"].to_numpy(object)[pb],
            "code_a": paired_codes_a, "code_b": paired_codes_b,
            "onset_a_ms": on_a[pa].astype(object), "onset_b_ms": on_b[pb].astype(object),
            "status": np.where(paired_codes_a == paired_codes_b, "agree", "code"),
        }, columns=_MATCH_COLUMNS))
        parts.append(pd.DataFrame({
            "actor": actor, "id_a": ea["id"].to_numpy(object)[only_a], "id_b": None,
            "code_a": code_a[only_a], "code_b": UNMATCHED,
            "onset_a_ms": on_a[only_a].astype(object), "onset_b_ms": None, "status": "only_a",
        }, columns=_MATCH_COLUMNS))
        parts.append(pd.DataFrame({
            "actor": actor, "id_a": None, "id_b": eb["id"].to_numpy(object)[only_b],
            "code_a": UNMATCHED, "code_b": code_b[only_b],
            "onset_a_ms": None, "onset_b_ms": on_b[only_b].astype(object), "status": "only_b",
        }, columns=_MATCH_COLUMNS))
    parts = [p for p in parts if len(p)]
    if parts:
        joined = pd.concat(parts, ignore_index=True)
        # columns from plain lists, so pandas infers their dtypes as it does for rows of dicts
        out = pd.DataFrame({col: joined[col].tolist() for col in _MATCH_COLUMNS}, columns=_MATCH_COLUMNS)
    else:
        out = pd.DataFrame([], columns=_MATCH_COLUMNS)
    for col in ("id_a", "id_b", "onset_a_ms", "onset_b_ms"):
        out[col] = pd.array([None if pd.isna(v) else int(v) for v in out[col]], dtype="Int64")
    out = out.sort_values(["actor", "onset_a_ms", "onset_b_ms"], na_position="last", kind="mergesort")
    out = out.reset_index(drop=True)
    out.attrs["params"] = {"tolerance_ms": int(tolerance_ms)}
    return out


def per_code_agreement(matched: pd.DataFrame) -> pd.DataFrame:
    """Per code: how many events either coder gave it, and the share both agreed on.

    Parameters
    ----------
    matched : DataFrame
        The result of :func:`match_events`.

    Returns
    -------
    DataFrame
        ``code, n_a, n_b, agreed, agreement`` where agreement is
        ``2 * agreed / (n_a + n_b)`` (the proportion of the code's events that
        have an agreeing partner), sorted by code.
    """
    codes = sorted((set(matched["code_a"]) | set(matched["code_b"])) - {UNMATCHED})
    n_a = matched["code_a"].value_counts().reindex(codes, fill_value=0)
    n_b = matched["code_b"].value_counts().reindex(codes, fill_value=0)
    agreed = matched.loc[matched["status"] == "agree", "code_a"].value_counts().reindex(codes, fill_value=0)
    total = (n_a + n_b).to_numpy()
    share = np.where(total > 0, 2 * agreed.to_numpy() / np.maximum(total, 1), np.nan)
    return pd.DataFrame(
        {
            "code": pd.Series(codes, dtype=object),
            "n_a": n_a.to_numpy(dtype=int),
            "n_b": n_b.to_numpy(dtype=int),
            "agreed": agreed.to_numpy(dtype=int),
            "agreement": share.astype(float),
        },
        columns=["code", "n_a", "n_b", "agreed", "agreement"],
    )


# -- selection and checks -----------------------------------------------------------------------


def _as_list(value: str | Sequence[str] | None, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    try:
        out = [str(v) for v in value]
    except TypeError:
        raise TypeError(f"Expected '{name}' to be a string or a sequence of strings, but got "
                        f"{type(value).__name__}.") from None
    return out


def _check_unit(unit_ms: Any) -> int:
    if isinstance(unit_ms, bool) or not isinstance(unit_ms, int | np.integer) or unit_ms <= 0:
        raise ValueError(f"Expected unit_ms to be a positive integer number of milliseconds, but got {unit_ms!r}.")
    return int(unit_ms)


def _check_convention(convention: str) -> None:
    if convention not in _CONVENTIONS:
        raise ValueError(
            "Invalid value for the 'convention' parameter. Allowed values are 'workbench' and 'boris', "
            f"but got {convention!r} instead."
        )


def _select(
    tables: Sequence[AnnotationTable],
    actor: str | Sequence[str] | None,
    codes: str | Sequence[str] | None,
) -> tuple[list[pd.DataFrame], list[str], list[str]]:
    """The tables' rows of the selected actors and codes, the actors and the codes present."""
    for i, t in enumerate(tables):
        if not isinstance(t, AnnotationTable):
            raise TypeError(f"Expected coding #{i + 1} to be an AnnotationTable, but got {type(t).__name__}.")
    frames = [t.to_dataframe() for t in tables]
    recordings = sorted({int(r) for f in frames for r in f["recording_id"].dropna()})
    if len(recordings) > 1:
        raise ValueError(f"Expected codings of one recording, but got recording ids {recordings}.")
    actors = _as_list(actor, "actor")
    wanted = _as_list(codes, "codes")
    kept = []
    for f in frames:
        mask = pd.Series(True, index=f.index)
        if actors is not None:
            mask &= f["actor"].isin(actors)
        if wanted is not None:
            mask &= f["code"].isin(wanted)
        kept.append(f[mask].reset_index(drop=True))
    if actors is None:
        actors = sorted({str(a) for f in kept for a in f["actor"].unique()})
    else:
        actors = list(dict.fromkeys(actors))
    present = sorted({str(c) for f in kept for c in f["code"].unique()})
    return kept, actors, present


def _filtered(
    table_a: AnnotationTable,
    table_b: AnnotationTable,
    actor: str | Sequence[str] | None,
    codes: str | Sequence[str] | None,
) -> tuple[AnnotationTable, AnnotationTable]:
    """The two tables restricted to the selected actors and codes (after the same checks)."""
    _select([table_a, table_b], actor, codes)
    actors, wanted = _as_list(actor, "actor"), _as_list(codes, "codes")
    return table_a.filter(actor=actors, code=wanted), table_b.filter(actor=actors, code=wanted)


def _indices(frame: pd.DataFrame, actors: list[str], codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    ai = pd.Categorical(frame["actor"], categories=actors).codes.astype(np.int64)
    ci = pd.Categorical(frame["code"], categories=codes).codes.astype(np.int64)
    return ai, ci


# -- time units ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Units:
    """Per coding, the category id of every (actor, unit); plus labels and unit times."""

    ids: list[np.ndarray]  # one array per coding, length n_actors * n_units (actor-major)
    labels: list[str]  # category id -> label
    members: list[tuple[str, ...]]  # category id -> its codes (empty for "(no behaviour)")
    actors: list[str]
    start_ms: np.ndarray  # per unit
    end_ms: np.ndarray  # per unit (== start_ms for BORIS instants)
    empty: int | None  # id of "(no behaviour)", if it occurs


def _workbench_counts(frames: list[pd.DataFrame], actors: list[str], codes: list[str], unit_ms: int,
                      span_ms: tuple[int, int] | None) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    if span_ms is None:
        if not any(len(f) for f in frames):
            raise ValueError("Expected events of the selected actors and codes in at least one coding, "
                             "but got none in any.")
        first = min(int(f["onset_ms"].min()) for f in frames if len(f))
        last = max(int(np.maximum(f["offset_ms"], f["onset_ms"] + (f["offset_ms"] == f["onset_ms"])).max())
                   for f in frames if len(f))
        start, end = (first // unit_ms) * unit_ms, last
    else:
        try:
            start, end = int(span_ms[0]), int(span_ms[1])
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"Expected span_ms as (start_ms, end_ms), but got {span_ms!r}.") from None
        if start < 0 or end <= start:
            raise ValueError(f"Expected span_ms (start_ms, end_ms) with 0 <= start < end, but got {span_ms!r}.")
    n_units = -(-(end - start) // unit_ms)
    counts = []
    for f in frames:
        diff = np.zeros((len(actors), n_units + 1, len(codes)), dtype=np.int32)
        if len(f):
            ai, ci = _indices(f, actors, codes)
            on = f["onset_ms"].to_numpy(np.int64) - start
            off = f["offset_ms"].to_numpy(np.int64) - start
            point = on == off
            k0 = on // unit_ms
            k1 = np.where(point, k0 + 1, -(-off // unit_ms))  # a state's offset is exclusive
            k0, k1 = np.clip(k0, 0, n_units), np.clip(k1, 0, n_units)
            keep = k1 > k0
            np.add.at(diff, (ai[keep], k0[keep], ci[keep]), 1)
            np.add.at(diff, (ai[keep], k1[keep], ci[keep]), -1)
        counts.append(np.cumsum(diff, axis=1)[:, :n_units, :])
    starts = start + unit_ms * np.arange(n_units, dtype=np.int64)
    return counts, starts, np.minimum(starts + unit_ms, end)


def _boris_counts(frames: list[pd.DataFrame], actors: list[str], codes: list[str],
                  unit_ms: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    for i, f in enumerate(frames):
        if not len(f):
            raise ValueError(
                f"Expected coding #{i + 1} to have events of the selected actors and codes (BORIS refuses an "
                "observation without events and returns -100), but it has none."
            )
    first = min(int(f["onset_ms"].min()) for f in frames)
    last = max(int(f["offset_ms"].max()) for f in frames)
    k_last = (last - first) // unit_ms
    # BORIS: `while Decimal(t) <= float(last)`: exact decimal vs binary float
    if first + k_last * unit_ms == last and Fraction(last / 1000) < Fraction(last, 1000):
        k_last -= 1
    n_units = k_last + 1
    times = first + unit_ms * np.arange(n_units, dtype=np.int64)
    half_s = unit_ms / 2000  # BORIS: float(interval / 2), in seconds
    counts = []
    for f in frames:
        diff = np.zeros((len(actors), n_units + 1, len(codes)), dtype=np.int32)
        ai, ci = _indices(f, actors, codes)
        on = f["onset_ms"].to_numpy(np.int64)
        off = f["offset_ms"].to_numpy(np.int64)
        point = on == off
        d_on, d_off = on - first, off - first
        # states: onset <= t <= offset
        s0 = np.clip(-(-d_on // unit_ms), 0, n_units)
        s1 = np.clip(d_off // unit_ms + 1, 0, n_units)
        keep = ~point & (s1 > s0)
        np.add.at(diff, (ai[keep], s0[keep], ci[keep]), 1)
        np.add.at(diff, (ai[keep], s1[keep], ci[keep]), -1)
        # points: |onset - t| <= unit / 2, at most two instants (lo, lo + 1) qualify
        lo = -(-(2 * d_on - unit_ms) // (2 * unit_ms))
        for k in (lo, lo + 1):
            twice = np.abs(2 * (d_on - k * unit_ms))
            inside = twice <= unit_ms
            boundary = twice == unit_ms
            if boundary.any():  # exactly half a unit away: decide as BORIS's float comparison does
                t_s = (first + k * unit_ms) / 1000
                float_ok = np.abs(on / 1000 - t_s) <= half_s
                inside = np.where(boundary, float_ok, inside)
            sel = point & inside & (k >= 0) & (k < n_units)
            np.add.at(diff, (ai[sel], k[sel], ci[sel]), 1)
            np.add.at(diff, (ai[sel], k[sel] + 1, ci[sel]), -1)
        counts.append(np.cumsum(diff, axis=1)[:, :n_units, :])
    return counts, times, times.copy()


def _categorise(counts: list[np.ndarray], actors: list[str], codes: list[str], multiset: bool) -> tuple[
        list[np.ndarray], list[str], list[tuple[str, ...]], int | None]:
    """Category ids of every (coding, actor, unit), with their labels."""
    stacked = np.stack(counts)  # (coding, actor, unit, code)
    n_codings, n_actors, n_units, n_codes = stacked.shape
    if not multiset:
        stacked = (stacked > 0).astype(np.int32)
    flat = stacked.reshape(-1, n_codes)
    empty = ~flat.any(axis=1) if n_codes else np.ones(len(flat), dtype=bool)
    actor_col = np.broadcast_to(np.arange(n_actors)[None, :, None], (n_codings, n_actors, n_units)).reshape(-1)
    if len(flat) == 0:
        return [np.zeros(0, dtype=np.int64) for _ in counts], [], [], None
    # exact row ids without sorting rows: fold one column at a time into a factorized key
    key = pd.factorize(np.where(empty, -1, actor_col))[0].astype(np.int64)
    for c in range(n_codes):
        column = flat[:, c].astype(np.int64)
        key = pd.factorize(key * (int(column.max()) + 1) + column)[0].astype(np.int64)
    _ids, first = np.unique(key, return_index=True)
    inverse = key
    code_names = np.asarray(codes, dtype=object)
    labels = []
    members: list[tuple[str, ...]] = []
    empty_id = None
    for i, row_index in enumerate(first):
        if empty[row_index]:
            labels.append(NO_BEHAVIOUR)
            members.append(())
            empty_id = i
            continue
        names = np.repeat(code_names, flat[row_index])
        members.append(tuple(str(n) for n in names))
        labels.append(f"{actors[actor_col[row_index]]}: {'+'.join(names)}")
    ids = inverse.reshape(n_codings, n_actors * n_units)
    return [ids[i] for i in range(n_codings)], labels, members, empty_id


def _units(
    tables: Sequence[AnnotationTable],
    unit_ms: int,
    actor: str | Sequence[str] | None,
    codes: str | Sequence[str] | None,
    span_ms: tuple[int, int] | None,
    convention: str,
) -> _Units:
    _check_convention(convention)
    unit_ms = _check_unit(unit_ms)
    frames, actors, present = _select(tables, actor, codes)
    if convention == "boris":
        if span_ms is not None:
            raise ValueError("Expected span_ms=None with convention='boris' (BORIS spans first to last event), "
                             f"but got {span_ms!r}.")
        counts, starts, ends = _boris_counts(frames, actors, present, unit_ms)
    else:
        counts, starts, ends = _workbench_counts(frames, actors, present, unit_ms, span_ms)
    ids, labels, members, empty = _categorise(counts, actors, present, multiset=convention == "boris")
    return _Units(ids=ids, labels=labels, members=members, actors=actors, start_ms=starts, end_ms=ends,
                  empty=empty)


def unit_categories(
    table_a: AnnotationTable,
    table_b: AnnotationTable,
    unit_ms: int = 1000,
    *,
    actor: str | Sequence[str] | None = None,
    codes: str | Sequence[str] | None = None,
    span_ms: tuple[int, int] | None = None,
    convention: Convention = "workbench",
) -> pd.DataFrame:
    """Each coder's category in every time unit and actor: what time-unit kappa counts.

    Parameters
    ----------
    table_a, table_b : AnnotationTable
        Two codings of one recording.
    unit_ms : int
        Length of a time unit (BORIS: the step between sampled instants).
    actor : str or sequence of str, optional
        Actors (BORIS subjects) to include; default every actor either coding has. An actor
        neither coder coded still counts, with ``"(no behaviour)"`` in every unit.
    codes : str or sequence of str, optional
        Codes (BORIS behaviours) to include; default all.
    span_ms : (int, int), optional
        ``(start_ms, end_ms)`` of the units (``convention="workbench"`` only); default from
        the unit holding the earliest event to the latest end.
    convention : {"workbench", "boris"}
        How units and categories are defined; see the module documentation.

    Returns
    -------
    DataFrame
        ``actor, start_ms, end_ms, category_a, category_b, agree``, one row per actor and
        unit (for ``"boris"``, ``start_ms == end_ms`` is the sampled instant);
        ``attrs["params"]`` records the parameters.
    """
    units = _units([table_a, table_b], unit_ms, actor, codes, span_ms, convention)
    labels = np.asarray(units.labels, dtype=object)
    n_units = len(units.start_ms)
    ids_a, ids_b = units.ids
    out = pd.DataFrame({
        "actor": np.repeat(np.asarray(units.actors, dtype=object), n_units),
        "start_ms": np.tile(units.start_ms, len(units.actors)),
        "end_ms": np.tile(units.end_ms, len(units.actors)),
        "category_a": labels[ids_a] if len(ids_a) else np.zeros(0, dtype=object),
        "category_b": labels[ids_b] if len(ids_b) else np.zeros(0, dtype=object),
        "agree": ids_a == ids_b,
    })
    out.attrs["params"] = _params(unit_ms=unit_ms, actor=actor, codes=codes, span_ms=span_ms, convention=convention)
    return out


def _params(**kwargs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in kwargs.items():
        if isinstance(v, tuple | list):
            v = list(v)
        out[k] = v
    return out


# -- statistics ---------------------------------------------------------------------------------


def _kappa(ids_a: np.ndarray, ids_b: np.ndarray, what: str) -> float:
    from sklearn.metrics import cohen_kappa_score

    if len(ids_a) == 0:
        raise ValueError(f"Expected at least one {what} to compare, but got none.")
    if len(np.union1d(ids_a, ids_b)) == 1:
        return 1.0  # one category everywhere: chance agreement 1, kappa 0/0; BORIS reports 1
    return float(cohen_kappa_score(ids_a, ids_b))


def cohen_kappa(
    table_a: AnnotationTable,
    table_b: AnnotationTable,
    unit_ms: int = 1000,
    *,
    actor: str | Sequence[str] | None = None,
    codes: str | Sequence[str] | None = None,
    span_ms: tuple[int, int] | None = None,
    convention: Convention = "workbench",
) -> float:
    """Time-unit Cohen's kappa between two codings of one recording.

    Each (unit, actor) is one observation; its category for each coder is defined by
    ``convention`` (see the module documentation: the set of the actor's codes active in
    the unit, or ``"(no behaviour)"``). The statistic is
    :func:`sklearn.metrics.cohen_kappa_score` over those categories.

    Parameters
    ----------
    table_a, table_b : AnnotationTable
        Two codings of one recording (rows with different recording ids are refused).
    unit_ms : int
        Length of a time unit in ms.
    actor : str or sequence of str, optional
        Actors to include (default: every actor either coding has).
    codes : str or sequence of str, optional
        Codes to include (default: all).
    span_ms : (int, int), optional
        ``(start_ms, end_ms)`` to cut into units, e.g. the whole recording
        (``convention="workbench"`` only); default from the earliest event to the latest end.
    convention : {"workbench", "boris"}
        ``"boris"`` reproduces BORIS's time-unit kappa (before its rounding to 3 decimals).

    Returns
    -------
    float
        Kappa; 1.0 when both coders used one single category throughout.

    Raises
    ------
    ValueError
        For a non-positive ``unit_ms``, an unknown convention, codings of different
        recordings, no events at all (or, with ``"boris"``, a coding without events).

    Examples
    --------
    >>> from workbench import AnnotationTable
    >>> a = AnnotationTable([{"actor": "child", "code": "initiative-verbal", "onset_ms": 500}])
    >>> cohen_kappa(a, a)
    1.0
    """
    units = _units([table_a, table_b], unit_ms, actor, codes, span_ms, convention)
    return _kappa(units.ids[0], units.ids[1], "time unit")


def event_kappa(
    table_a: AnnotationTable,
    table_b: AnnotationTable,
    *,
    tolerance_ms: int = 1000,
    actor: str | Sequence[str] | None = None,
    codes: str | Sequence[str] | None = None,
    include_unmatched: bool = True,
) -> float:
    """Event-aligned Cohen's kappa: events paired by :func:`match_events`, kappa over the pairs.

    Each pair's categories are ``"actor: code"``; an event without a partner is paired with
    ``"(none)"`` (a missed event or a false alarm; the (none, none) cell is empty by
    construction), as the event-based kappas of The Observer, INTERACT and GSEQ compared by
    Bakeman, Quera & Gnisci (2009) tally unmatched events against a "nil" code.

    Parameters
    ----------
    table_a, table_b : AnnotationTable
        Two codings of one recording.
    tolerance_ms : int
        Largest onset difference for two events to be paired.
    actor, codes : str or sequence of str, optional
        Only these actors / codes (default: all).
    include_unmatched : bool
        ``False`` computes kappa over the paired events only (ELAN's "kappa (excl.)").

    Returns
    -------
    float
        Kappa; 1.0 when every pair has the same single category.

    Raises
    ------
    ValueError
        If there is no pair to compare.
    """
    ta, tb = _filtered(table_a, table_b, actor, codes)
    matched = match_events(ta, tb, tolerance_ms=tolerance_ms)
    if not include_unmatched:
        matched = matched[matched["status"].isin(["agree", "code"])]
    la, lb = _event_labels(matched)
    return _labels_kappa(la, lb)


def _labels_kappa(la: list[str], lb: list[str]) -> float:
    categories = {c: i for i, c in enumerate(sorted(set(la) | set(lb)))}
    return _kappa(np.array([categories[c] for c in la], dtype=np.int64),
                  np.array([categories[c] for c in lb], dtype=np.int64), "event pair")


def _event_labels(matched: pd.DataFrame) -> tuple[list[str], list[str]]:
    def label(actor: str, code: str) -> str:
        return UNMATCHED if code == UNMATCHED else f"{actor}: {code}"

    la = [label(a, c) for a, c in zip(matched["actor"], matched["code_a"], strict=True)]
    lb = [label(a, c) for a, c in zip(matched["actor"], matched["code_b"], strict=True)]
    return la, lb


def krippendorff_alpha(
    tables: Sequence[AnnotationTable],
    unit_ms: int = 1000,
    level: Literal["nominal", "ordinal", "interval", "ratio"] = "nominal",
    *,
    actor: str | Sequence[str] | None = None,
    codes: str | Sequence[str] | None = None,
    span_ms: tuple[int, int] | None = None,
    empty: Literal["category", "missing"] | None = None,
) -> float:
    """Krippendorff's alpha over time units, for two or more coders.

    Units and categories are those of :func:`cohen_kappa` (``convention="workbench"``):
    each (unit, actor) is one unit of analysis; the value a coder gave it is the
    category of the codes active in it. The statistic is :func:`krippendorff.alpha`.

    Parameters
    ----------
    tables : sequence of AnnotationTable
        Two or more codings of one recording.
    unit_ms : int
        Length of a time unit in ms.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement. Levels other than nominal need numeric codes (e.g. ratings
        ``"1"`` to ``"5"``): the value of a unit is its code as a number, and a unit with
        more than one code for the actor is refused.
    actor, codes : str or sequence of str, optional
        Only these actors / codes (default: all).
    span_ms : (int, int), optional
        ``(start_ms, end_ms)`` to cut into units (default: earliest event to latest end).
    empty : {"category", "missing"}, optional
        What a unit where a coder coded nothing is: the category ``"(no behaviour)"``
        (default for nominal) or a missing value, not coded by that coder (default, and the
        only choice, for the other levels).

    Returns
    -------
    float
        Alpha; 1.0 when every coder gave every unit the same single value.

    Raises
    ------
    ValueError
        Fewer than two codings, an unknown level or ``empty``, non-numeric codes for a
        numeric level, or no unit coded by two or more coders.
    """
    tables = list(tables)
    if len(tables) < 2:
        raise ValueError(f"Expected two or more codings, but got {len(tables)}.")
    if level not in _LEVELS:
        raise ValueError(
            "Invalid value for the 'level' parameter. Allowed values are 'nominal', 'ordinal', 'interval' and "
            f"'ratio', but got {level!r} instead."
        )
    if empty is None:
        empty = "category" if level == "nominal" else "missing"
    if empty not in ("category", "missing"):
        raise ValueError(
            f"Invalid value for the 'empty' parameter. Allowed values are 'category' and 'missing', "
            f"but got {empty!r} instead."
        )
    if level != "nominal" and empty == "category":
        raise ValueError(f"Expected empty='missing' for level {level!r} (a unit without a code has no value on a "
                         "scale), but got empty='category'.")
    units = _units(tables, unit_ms, actor, codes, span_ms, "workbench")
    return _alpha(units, level, empty)


def _alpha(units: _Units, level: str, empty: str) -> float:
    import krippendorff

    data = np.stack(units.ids).astype(float)
    if level == "nominal":
        values = data
    else:
        numbers = np.full(len(units.labels), np.nan)
        for i, (label, member) in enumerate(zip(units.labels, units.members, strict=True)):
            if not member:
                continue
            try:
                if len(member) != 1:
                    raise ValueError
                numbers[i] = float(member[0])
            except ValueError:
                raise ValueError(f"Expected numeric codes for level {level!r} (one code per unit), but got "
                                 f"{label!r}.") from None
        values = numbers[data.astype(np.int64)]
    if empty == "missing" and units.empty is not None:
        values = np.where(data == units.empty, np.nan, values)
    coded = np.isfinite(values)
    pairable = coded.sum(axis=0) >= 2
    if not pairable.any():
        raise ValueError("Expected at least one time unit coded by two or more coders, but got none.")
    values = values[:, pairable]
    n_values = len(np.unique(values[np.isfinite(values)]))
    if n_values == 1:
        return 1.0  # no variation: expected disagreement 0, alpha 0/0
    if level == "nominal" and values.shape[1] * n_values**2 > _PACKAGE_CELLS:
        # the package builds a units x values x values array; many code combinations make it huge
        logger.info("Krippendorff's alpha: %d units x %d categories is too large for the krippendorff package; "
                    "using the closed form for nominal data.", values.shape[1], n_values)
        return _nominal_alpha(values)
    try:
        return float(krippendorff.alpha(reliability_data=values, level_of_measurement=level))
    except ValueError as exc:  # the package's own checks; our data should never reach them
        raise ValueError(f"Expected reliability data Krippendorff's alpha accepts, but: {exc}") from exc


def _nominal_alpha(values: np.ndarray) -> float:
    """Nominal alpha from the coincidence matrix (Krippendorff, 2011): ``1 - (n-1)(n - sum o_cc) / (n^2 - sum n_c^2)``.

    ``values`` is coders x units (NaN = not coded), every unit coded by two or more coders.
    """
    coded = np.isfinite(values)
    unit = np.broadcast_to(np.arange(values.shape[1]), values.shape)[coded]
    value = np.unique(values[coded], return_inverse=True)[1]
    m_u = coded.sum(axis=0).astype(float)  # values per unit
    pairs, n_uc = np.unique(np.column_stack([unit, value]), axis=0, return_counts=True)
    n = m_u.sum()
    o_diagonal = float(np.sum(n_uc * (n_uc - 1) / (m_u[pairs[:, 0]] - 1)))
    n_c = np.bincount(value).astype(float)
    return float(1.0 - (n - 1) * (n - o_diagonal) / (n * n - np.sum(n_c * n_c)))


# -- tables for people --------------------------------------------------------------------------


def _order(labels: set[str]) -> list[str]:
    special = [x for x in (NO_BEHAVIOUR, UNMATCHED) if x in labels]
    return sorted(labels - set(special)) + special


def confusion_matrix(
    table_a: AnnotationTable,
    table_b: AnnotationTable,
    unit_ms: int | None = 1000,
    tolerance_ms: int = 1000,
    *,
    actor: str | Sequence[str] | None = None,
    codes: str | Sequence[str] | None = None,
    span_ms: tuple[int, int] | None = None,
    convention: Convention = "workbench",
) -> pd.DataFrame:
    """Who coded what against whom: counts of coder A's category (rows) by coder B's (columns).

    Parameters
    ----------
    table_a, table_b : AnnotationTable
        Two codings of one recording.
    unit_ms : int or None
        Time units of this length (the table behind :func:`cohen_kappa`); ``None`` for event
        pairs (the table behind :func:`event_kappa`).
    tolerance_ms : int
        Onset tolerance for pairing events (``unit_ms=None`` only).
    actor, codes, span_ms, convention
        As for :func:`cohen_kappa` (``span_ms`` and ``convention`` with time units only).

    Returns
    -------
    DataFrame
        Square table of counts, rows and columns labelled with the same categories
        (``"actor: code"``, then ``"(no behaviour)"`` or ``"(none)"`` last), index named
        ``"a"``, columns ``"b"``; ``attrs["params"]`` records the parameters.
    """
    if unit_ms is None:
        ta, tb = _filtered(table_a, table_b, actor, codes)
        la, lb = _event_labels(match_events(ta, tb, tolerance_ms=tolerance_ms))
        params = _params(unit_ms=None, tolerance_ms=tolerance_ms, actor=actor, codes=codes)
    else:
        units = _units([table_a, table_b], unit_ms, actor, codes, span_ms, convention)
        labels = np.asarray(units.labels, dtype=object)
        la, lb = list(labels[units.ids[0]]), list(labels[units.ids[1]])
        params = _params(unit_ms=unit_ms, actor=actor, codes=codes, span_ms=span_ms, convention=convention)
    return _confusion(la, lb, params)


def _confusion(la: list[str], lb: list[str], params: dict[str, Any]) -> pd.DataFrame:
    order = _order(set(la) | set(lb))
    index = {c: i for i, c in enumerate(order)}
    counts = np.zeros((len(order), len(order)), dtype=np.int64)
    if la:
        np.add.at(counts, (np.array([index[c] for c in la]), np.array([index[c] for c in lb])), 1)
    out = pd.DataFrame(counts, index=pd.Index(order, name="a"), columns=pd.Index(order, name="b"))
    out.attrs["params"] = params
    return out


@dataclass(frozen=True, eq=False)  # eq would compare DataFrames, which have no single truth value
class AgreementReport:
    """Agreement between two codings, as the supervision report and the review widget show it.

    Attributes
    ----------
    kappa : float
        Time-unit Cohen's kappa (:func:`cohen_kappa`).
    event_kappa : float
        Event-aligned kappa (:func:`event_kappa`); NaN when neither coding has events.
    alpha : float
        Time-unit Krippendorff's alpha, nominal (:func:`krippendorff_alpha`).
    n_units : int
        Number of (unit, actor) observations behind ``kappa`` and ``alpha``.
    percent_agreement : float
        Share of those observations with the same category, in percent.
    per_code : DataFrame
        :func:`per_code_agreement` of the event pairs.
    confusion : DataFrame
        Time-unit :func:`confusion_matrix`.
    event_confusion : DataFrame
        Event-pair :func:`confusion_matrix`.
    matched : DataFrame
        :func:`match_events` (where the coders differ, for the timeline).
    params : dict
        ``unit_ms``, ``tolerance_ms``, ``actor``, ``codes``, ``span_ms``.
    """

    kappa: float
    event_kappa: float
    alpha: float
    n_units: int
    percent_agreement: float
    per_code: pd.DataFrame = field(repr=False)
    confusion: pd.DataFrame = field(repr=False)
    event_confusion: pd.DataFrame = field(repr=False)
    matched: pd.DataFrame = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        p = self.params
        return (
            f"<AgreementReport | kappa {self.kappa:.3f} ({p.get('unit_ms')} ms units, {self.n_units} units), "
            f"event kappa {self.event_kappa:.3f} (±{p.get('tolerance_ms')} ms), alpha {self.alpha:.3f}, "
            f"{self.percent_agreement:.1f}% units agree>"
        )

    def summary(self) -> pd.DataFrame:
        """The headline numbers as a one-column table (``measure -> value``) for a report."""
        return pd.DataFrame(
            {"value": [self.kappa, self.event_kappa, self.alpha, self.percent_agreement, float(self.n_units)]},
            index=pd.Index(["time-unit kappa", "event kappa", "Krippendorff's alpha", "% units agreeing",
                            "units"], name="measure"),
        )


def agreement_report(
    table_a: AnnotationTable,
    table_b: AnnotationTable,
    *,
    unit_ms: int = 1000,
    tolerance_ms: int = 1000,
    actor: str | Sequence[str] | None = None,
    codes: str | Sequence[str] | None = None,
    span_ms: tuple[int, int] | None = None,
) -> AgreementReport:
    """Every agreement measure for two codings of one recording, in one frozen result.

    Parameters
    ----------
    table_a, table_b : AnnotationTable
        Two codings of one recording (e.g. trainee, supervisor).
    unit_ms : int
        Time unit for kappa, alpha and the confusion table.
    tolerance_ms : int
        Onset tolerance for pairing events.
    actor, codes : str or sequence of str, optional
        Only these actors / codes (default: all).
    span_ms : (int, int), optional
        ``(start_ms, end_ms)`` of the time units, e.g. the whole recording.

    Returns
    -------
    AgreementReport

    Raises
    ------
    ValueError
        If neither coding has events of the selected actors and codes (and no span is given).
    """
    units = _units([table_a, table_b], unit_ms, actor, codes, span_ms, "workbench")
    labels = np.asarray(units.labels, dtype=object)
    ta, tb = _filtered(table_a, table_b, actor, codes)
    matched = match_events(ta, tb, tolerance_ms=tolerance_ms)
    la, lb = _event_labels(matched)
    return AgreementReport(
        kappa=_kappa(units.ids[0], units.ids[1], "time unit"),
        event_kappa=_labels_kappa(la, lb) if len(matched) else float("nan"),
        alpha=_alpha(units, "nominal", "category"),
        n_units=len(units.ids[0]),
        percent_agreement=100.0 * float(np.mean(units.ids[0] == units.ids[1])),
        per_code=per_code_agreement(matched),
        confusion=_confusion(list(labels[units.ids[0]]), list(labels[units.ids[1]]),
                             _params(unit_ms=unit_ms, actor=actor, codes=codes, span_ms=span_ms,
                                     convention="workbench")),
        event_confusion=_confusion(la, lb, _params(unit_ms=None, tolerance_ms=tolerance_ms, actor=actor,
                                                   codes=codes)),
        matched=matched,
        params=_params(unit_ms=unit_ms, tolerance_ms=tolerance_ms, actor=actor, codes=codes, span_ms=span_ms),
    )
