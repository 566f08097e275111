"""Sequential statistics as GSEQ computes them: lag tables and time-window tables.

Two kinds of question are answered here, both with a 2 x 2 table of tallies and the
statistics Bakeman & Quera's GSEQ reports for it (Bakeman & Quera, *Sequential Analysis and
Observational Methods for the Behavioral Sciences*, 2011, on contingency-table statistics and
time-window and log-linear sequential analysis; Bakeman & Gottman, *Observing Interaction*,
2nd ed., 1997):

1. **Event lags** (:func:`lag_table`, :func:`lag_tables`): in sequences of coded events, how
   often is the *given* code followed, ``lag`` events later, by the *target* code?
2. **Time windows** (:func:`time_window_table`): in timed annotations, does the *target* start
   within a window of time after the *given* code starts?

Lag tallies
-----------
``codes`` is one sequence of codes in event order, or a list of such sequences (sessions,
recordings). For every position ``i`` of a sequence whose position ``i + lag`` exists *in the
same sequence*, the pair ``(codes[i], codes[i + lag])`` is tallied in a K x K table (rows:
given, columns: target; K = every code seen, plus any ``codes_of_interest``). Sequences are
pooled by adding their tables, so a pair never crosses from one sequence into the next, and
``N`` (``n``) is the number of pairs, ``sum(len(seq) - |lag|)``. A negative lag looks back:
``lag=-1`` pairs each event (given) with the one before it (target).

For one given ``G`` and target ``T`` the K x K table collapses to 2 x 2::

                 T     not T
    G            a       b        a = x[G, T], b = row total of G - a
    not G        c       d        c = column total of T - a, d = N - a - b - c

and the statistics are

* transitional probability ``p = a / (a + b)`` (``NaN`` when G never has a successor);
* ``expected``: the expected count of cell ``(G, T)`` (below);
* ``adjusted_residual``: ``(a - expected) / sqrt(var)``, Haberman's (1973) adjusted
  (standardized Pearson) residual, approximately standard normal when G and T are unrelated;
* Yule's Q ``(ad - bc) / (ad + bc)`` and the odds ratio ``ad / bc`` of the observed 2 x 2
  table (``Q = (OR - 1) / (OR + 1)``; ``NaN`` when ``ad + bc == 0``; the odds ratio is ``inf``
  when only ``bc`` is 0). No 0.5 is added to empty cells.

Expected counts and structural zeros
------------------------------------
*Repeats allowed* (the default): the expected count is that of independence of the K x K
table, ``e = row total * column total / N``, and the variance in the adjusted residual is
``e (1 - row/N) (1 - col/N)``, exactly as for any two-way table.

*Repeats impossible* (``omit_repeats=True``): in event data where a code cannot follow itself
(an event ends when the code changes), the diagonal cells of the lag-1 table (also lag -1) are
*structural zeros*: they are empty by design, not by chance. Runs of one code inside a sequence
are first merged into one event (``A A B`` becomes ``A B``; the number merged is in
``params["merged_repeats"]``), then the table is tallied as above. The expected counts are
then those of *quasi-independence*: the maximum-likelihood fit of the log-linear model
``log m_ij = u + r_i + c_j`` to the cells that are not structural zeros, found by iterative
proportional fitting (alternately scaling rows and columns of a table with ones in the allowed
cells and zeros in the structural ones until its margins equal the observed margins; Bakeman &
Quera 1995, *Psychological Bulletin* 118, 272-284). The adjusted residual uses that model's
exact variance ``m_ij (1 - h_ij)``, where ``h`` is the diagonal of the model's hat matrix
``X (X'WX)^-1 X'W`` (``W = diag(m)``; Haberman 1979, Christensen 1997 p. 357; the procedure
Bakeman & Quera 1995 recommend). Without structural zeros this is the same number as the
closed formula above. Structural-zero cells get ``expected = 0`` and ``NaN`` residual, Q and
odds ratio. At ``|lag| >= 2`` a code may recur (``A B A``), so ``omit_repeats`` only merges
runs and no cell is structurally zero. Other impossible transitions can be declared with
``structural_zeros`` (pairs ``(given, target)``); a tally in such a cell is an error.

Yule's Q and the odds ratio are always those of the *observed* 2 x 2 table, also when the
K x K table has structural zeros (as O'Connor's programs and the R package LagSequential
report them); with structural zeros they are not chance-corrected, so read them with the
adjusted residual.

Time-window tallies
-------------------
:func:`time_window_table` tallies *time units*, as GSEQ does for timed-event data with a
window (Bakeman & Quera 2011; Yoder & Tapp 2004, *J. Behavioral Education* 13, 227-246).
Each recording is cut into units ``[k * unit_ms, (k + 1) * unit_ms)`` from 0 up to its end
(the latest offset; a point event at ``t`` reaches ``t + 1``; or ``duration_ms``), the last
unit possibly partial. A given onset at ``t`` lies in unit
``u = t // unit_ms`` and opens a window over units ``u + start/unit_ms`` to
``u + end/unit_ms - 1`` for ``window_ms = (start, end)``, cut at the recording's first and last
unit; overlapping windows are one window. A unit *has a target onset* when some target
annotation starts in it. Each unit is tallied once::

                      target onset in unit    no target onset
    unit in a window          a                     b
    unit outside              c                     d

so ``n`` is the number of units and the default ``window_ms=(0, 3000)`` with 1 s units asks
"did T start within the second in which G started or the two after it?". Recordings are
pooled by adding their tables. Time units are not independent draws, so the adjusted
residual is descriptive here; Yule's Q is the index Bakeman & Quera recommend.

Checked against
---------------
GSEQ itself (Windows only) was not available. ``tests/test_sequential.py`` checks the
adjusted residuals against published tables (Agresti 2007, Table 2.5; Moore & Bentley-Condit
2010, Table 2), the lag statistics against the R package LagSequential (O'Connor's
implementation of Bakeman & Quera's formulas) on the event sequence printed in Bakeman &
Quera (2011, p. 159) and on Griffin & Gottman's (1990) transition matrix, and the
quasi-independence fit against statsmodels' Poisson GLM and a direct likelihood maximisation.

Examples
--------
>>> res = lag_table(list("ABABCAB"), "A", "B")
>>> (res.a, res.b, res.c, res.d, res.n)
(3, 0, 0, 3, 6)
>>> res.transitional_probability, res.yules_q
(1.0, 1.0)
>>> lag_tables([list("AB"), list("BA")])[["given", "target", "a"]].values.tolist()
[['A', 'A', 0], ['A', 'B', 1], ['B', 'A', 1], ['B', 'B', 0]]
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.annotations import AnnotationTable

__all__ = [
    "LagResult",
    "WindowResult",
    "adjusted_residuals",
    "event_sequences",
    "expected_counts",
    "lag_table",
    "lag_tables",
    "odds_ratio",
    "time_window_table",
    "transition_counts",
    "transition_statistics",
    "yules_q",
]

#: Columns of :func:`lag_tables` and :func:`transition_statistics`, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "given",
    "target",
    "lag",
    "a",
    "b",
    "c",
    "d",
    "n",
    "p",
    "expected",
    "adjusted_residual",
    "yules_q",
    "odds_ratio",
    "structural_zero",
)

_IPF_TOL = 1e-10
_IPF_MAX_ITER = 10_000


# -- results -----------------------------------------------------------------------------


class _TwoByTwoMixin:
    """Shared read-only helpers of the 2 x 2 results."""

    a: int
    b: int
    c: int
    d: int

    @property
    def table(self) -> np.ndarray:
        """The observed 2 x 2 table ``[[a, b], [c, d]]``."""
        return np.array([[self.a, self.b], [self.c, self.d]], dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (``params`` copied)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}  # type: ignore[attr-defined]
        out["params"] = dict(out["params"])
        return out


@dataclass(frozen=True)
class LagResult(_TwoByTwoMixin):
    """Lag-``k`` 2 x 2 table of one given and one target code, with GSEQ's statistics.

    Attributes
    ----------
    given, target : str
        The codes.
    lag : int
        Events from given to target (negative: target precedes given).
    a, b, c, d : int
        Given then target; given then not target; not given then target; neither.
    n : int
        Number of tallied pairs, ``a + b + c + d``.
    transitional_probability : float
        ``a / (a + b)``.
    expected : float
        Expected count of cell ``a`` (independence, or quasi-independence by IPF when the
        table has structural zeros).
    adjusted_residual : float
        ``(a - expected) / sqrt(variance)``.
    yules_q, odds_ratio : float
        Of the observed 2 x 2 table.
    structural_zero : bool
        Whether the cell is impossible by design (then ``expected == 0`` and the
        statistics are ``NaN``).
    params : dict
        How the table was made (lag, omit_repeats, number of sequences and events, merged
        repeats, structural zeros, expected-count model, IPF iterations).
    """

    given: str
    target: str
    lag: int
    a: int
    b: int
    c: int
    d: int
    n: int
    transitional_probability: float
    expected: float
    adjusted_residual: float
    yules_q: float
    odds_ratio: float
    structural_zero: bool = False
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class WindowResult(_TwoByTwoMixin):
    """Time-unit 2 x 2 table of a time-window analysis (see the module docstring).

    Attributes
    ----------
    given, target : str
        The codes.
    window_ms : (int, int)
        Window relative to each given onset, in ms (multiples of ``unit_ms``).
    unit_ms : int
        Width of a time unit.
    a, b, c, d : int
        Units in a window with / without a target onset; units outside with / without.
    n : int
        Number of units.
    transitional_probability : float
        ``a / (a + b)``: share of window units in which the target starts.
    expected, adjusted_residual : float
        For cell ``a`` under independence of the 2 x 2 table.
    yules_q, odds_ratio : float
        Of the 2 x 2 table.
    params : dict
        Window, unit, actors, recordings, units per recording, given onsets.
    """

    given: str
    target: str
    window_ms: tuple[int, int]
    unit_ms: int
    a: int
    b: int
    c: int
    d: int
    n: int
    transitional_probability: float
    expected: float
    adjusted_residual: float
    yules_q: float
    odds_ratio: float
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


# -- 2 x 2 indices ---------------------------------------------------------------------


def yules_q(a: float, b: float, c: float, d: float) -> float:
    """Yule's Q of the 2 x 2 table ``[[a, b], [c, d]]``: ``(ad - bc) / (ad + bc)``.

    Equal to ``(OR - 1) / (OR + 1)`` for the odds ratio ``OR = ad / bc``; ``NaN`` when
    ``ad + bc == 0``.

    Examples
    --------
    >>> yules_q(10, 5, 5, 10)
    0.6
    """
    ad, bc = float(a) * float(d), float(b) * float(c)
    return (ad - bc) / (ad + bc) if ad + bc > 0 else math.nan


def odds_ratio(a: float, b: float, c: float, d: float) -> float:
    """Odds ratio ``ad / bc`` of the 2 x 2 table ``[[a, b], [c, d]]``.

    ``inf`` when ``bc == 0 < ad``, ``NaN`` when both products are 0. No 0.5 is added.

    Examples
    --------
    >>> odds_ratio(10, 5, 5, 10)
    4.0
    """
    ad, bc = float(a) * float(d), float(b) * float(c)
    if bc > 0:
        return ad / bc
    return math.inf if ad > 0 else math.nan


# -- two-way tables: expected counts and adjusted residuals ----------------------------


def _as_count_matrix(observed: Any, what: str = "observed") -> np.ndarray:
    x = np.asarray(observed, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"Expected {what} to be a two-way table, but got an array of shape {x.shape}.")
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError(f"Expected {what} to hold counts >= 0, but it has negative or missing values.")
    return x


def _as_mask(structural_zeros: Any, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.asarray(structural_zeros, dtype=bool)
    if mask.shape != shape:
        raise ValueError(
            f"Expected structural_zeros to be a boolean mask of shape {shape}, but got shape {mask.shape}."
        )
    return mask


def _ipf(observed: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, int, bool]:
    """Quasi-independence fit by iterative proportional fitting: (expected, iterations, converged)."""
    rows, cols = observed.sum(axis=1), observed.sum(axis=0)
    total = observed.sum()
    m = allowed.astype(float)
    tol = _IPF_TOL * max(1.0, total)
    converged = False
    iterations = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        for iterations in range(1, _IPF_MAX_ITER + 1):  # noqa: B007 (reported after the loop)
            rs = m.sum(axis=1)
            m *= np.where(rs > 0, rows / rs, 0.0)[:, None]
            cs = m.sum(axis=0)
            m *= np.where(cs > 0, cols / cs, 0.0)[None, :]
            gap = max(np.abs(m.sum(axis=1) - rows).max(initial=0.0), np.abs(m.sum(axis=0) - cols).max(initial=0.0))
            if gap <= tol:
                converged = True
                break
    return m, iterations, converged


def _independence(observed: np.ndarray) -> np.ndarray:
    total = observed.sum()
    if total <= 0:
        return np.zeros_like(observed)
    return np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total


def _fit(observed: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Expected counts and adjusted residuals of a two-way table; info on the fit."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if mask is None:
            e = _independence(observed)
            total = observed.sum()
            if total <= 0:
                return e, np.full_like(observed, np.nan), {"model": "independence"}
            pr = observed.sum(axis=1) / total
            pc = observed.sum(axis=0) / total
            var = e * np.outer(1.0 - pr, 1.0 - pc)
            z = np.where(var > 0, (observed - e) / np.sqrt(var), np.nan)
            return e, z, {"model": "independence"}

        if np.any(observed[mask] > 0):
            i, j = np.argwhere(mask & (observed > 0))[0]
            raise ValueError(
                f"Expected no tallies in structural-zero cells, but cell ({i}, {j}) holds {observed[i, j]:g}."
            )
        allowed = ~mask
        e, iterations, converged = _ipf(observed, allowed)
        if not converged:
            warnings.warn(
                f"Iterative proportional fitting did not converge in {_IPF_MAX_ITER} iterations; the "
                "expected counts are approximate (sampling zeros may leave the quasi-independence "
                "model without a maximum-likelihood fit). Pool more data or merge rare codes.",
                RuntimeWarning,
                stacklevel=3,
            )
        z = np.full_like(observed, np.nan)
        rows, cols = observed.sum(axis=1), observed.sum(axis=0)
        live_r, live_c = np.flatnonzero(rows > 0), np.flatnonzero(cols > 0)
        cells = [(i, j) for i in live_r for j in live_c if allowed[i, j]]
        if cells:
            # design of the log-linear model on the allowed cells: intercept, rows, columns
            ri = {r: k for k, r in enumerate(live_r[1:])}
            ci = {c: k for k, c in enumerate(live_c[1:])}
            p = 1 + len(ri) + len(ci)
            x = np.zeros((len(cells), p))
            x[:, 0] = 1.0
            for k, (i, j) in enumerate(cells):
                if i in ri:
                    x[k, 1 + ri[i]] = 1.0
                if j in ci:
                    x[k, 1 + len(ri) + ci[j]] = 1.0
            idx = tuple(np.array(cells).T)
            w = e[idx]
            xtwx = x.T @ (w[:, None] * x)
            # pseudo-inverse: equal to the inverse when the allowed cells connect all codes, and
            # still the projection's diagonal when they do not (then some effects are aliased)
            inv = np.linalg.pinv(xtwx, hermitian=True)
            h = w * np.einsum("ij,jk,ik->i", x, inv, x)
            var = w * (1.0 - h)
            z[idx] = np.where(var > 1e-12 * max(1.0, observed.sum()), (observed[idx] - w) / np.sqrt(var), np.nan)
        return e, z, {"model": "quasi-independence (IPF)", "ipf_iterations": iterations, "ipf_converged": converged}


def expected_counts(observed: Any, *, structural_zeros: Any = None) -> np.ndarray:
    """Expected counts of a two-way table: independence, or quasi-independence by IPF.

    Parameters
    ----------
    observed : array-like, shape (R, C)
        Counts.
    structural_zeros : array-like of bool, shape (R, C), optional
        Cells that are empty by design. When given (even all ``False``), the counts are the
        maximum-likelihood fit of quasi-independence found by iterative proportional
        fitting; structural-zero cells get 0. Without it, ``row * col / N``.

    Returns
    -------
    ndarray of float, shape (R, C)

    Examples
    --------
    >>> expected_counts([[10, 20], [30, 40]]).tolist()
    [[12.0, 18.0], [28.0, 42.0]]
    """
    x = _as_count_matrix(observed)
    mask = None if structural_zeros is None else _as_mask(structural_zeros, x.shape)
    return _fit(x, mask)[0]


def adjusted_residuals(observed: Any, *, structural_zeros: Any = None) -> np.ndarray:
    """Haberman's adjusted residuals of a two-way table.

    Without structural zeros ``(x - e) / sqrt(e (1 - row/N) (1 - col/N))`` with
    ``e = row * col / N``. With them, ``(x - m) / sqrt(m (1 - h))`` for the quasi-independence
    fit ``m`` (see :func:`expected_counts`) and the diagonal ``h`` of its hat matrix; ``NaN``
    for structural zeros and for cells whose variance is 0.

    Parameters
    ----------
    observed : array-like, shape (R, C)
        Counts.
    structural_zeros : array-like of bool, shape (R, C), optional
        Cells that are empty by design.

    Returns
    -------
    ndarray of float, shape (R, C)

    Examples
    --------
    >>> adjusted_residuals([[10, 20], [30, 40]]).round(3).tolist()
    [[-0.891, 0.891], [0.891, -0.891]]
    """
    x = _as_count_matrix(observed)
    mask = None if structural_zeros is None else _as_mask(structural_zeros, x.shape)
    return _fit(x, mask)[1]


# -- sequences -----------------------------------------------------------------------------


def _is_sequence_of_codes(obj: Any) -> bool:
    return isinstance(obj, (Sequence, np.ndarray, pd.Series, pd.Index)) and not isinstance(obj, (str, bytes))


def _as_sequences(codes: Any) -> list[Sequence[Any]]:
    """One sequence or a list of sequences -> list of sequences."""
    if isinstance(codes, (str, bytes)):
        raise TypeError(
            "Expected codes to be a sequence of code strings or a list of such sequences, "
            f"but got a single string {codes[:30]!r}."
        )
    if isinstance(codes, (pd.Series, pd.Index, np.ndarray)):
        return [list(codes)]
    if not isinstance(codes, Iterable):
        raise TypeError(f"Expected codes to be a sequence of code strings, but got {type(codes).__name__}.")
    items = codes if isinstance(codes, Sequence) else list(codes)
    if len(items) == 0:
        return []
    nested = [_is_sequence_of_codes(s) for s in items]
    if all(nested):
        return list(items)
    if any(nested):
        k = nested.index(not nested[0])
        raise TypeError(
            "Expected codes to be either one sequence of code strings or a list of sequences, "
            f"but item 0 is a {type(items[0]).__name__} and item {k} is a {type(items[k]).__name__}."
        )
    return [items]


@dataclass(frozen=True)
class _Encoded:
    labels: list[str]
    flat: np.ndarray  # int codes, all sequences concatenated
    seq_id: np.ndarray  # sequence index per element
    n_sequences: int
    n_events: int
    merged: int


def _encode(codes: Any, extra: Iterable[str] = (), *, omit_repeats: bool = False) -> _Encoded:
    seqs = _as_sequences(codes)
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    total = int(lengths.sum())
    values = np.fromiter(itertools.chain.from_iterable(seqs), dtype=object, count=total)
    flat, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    if total and flat.min() < 0:
        pos = int(np.flatnonzero(flat < 0)[0])
        s = int(np.searchsorted(np.cumsum(lengths), pos, side="right"))
        where = pos - int(lengths[:s].sum())
        raise ValueError(
            f"Expected every code to be a string, but sequence {s} has a missing code at position {where}."
        )
    labels_seen = [str(u) for u in uniques]
    extra_list = [str(c) for c in extra if str(c) not in set(labels_seen)]
    labels = sorted(set(labels_seen) | set(extra_list))
    remap = np.array([labels.index(lab) for lab in labels_seen], dtype=np.int64)
    flat = remap[flat] if total else np.zeros(0, dtype=np.int64)
    seq_id = np.repeat(np.arange(len(seqs), dtype=np.int64), lengths)
    merged = 0
    if omit_repeats and total > 1:
        keep = np.ones(total, dtype=bool)
        keep[1:] = (flat[1:] != flat[:-1]) | (seq_id[1:] != seq_id[:-1])
        merged = int(total - keep.sum())
        flat, seq_id = flat[keep], seq_id[keep]
    return _Encoded(labels, flat, seq_id, len(seqs), int(flat.size), merged)


def _check_codes_of_interest(codes_of_interest: Any) -> list[str] | None:
    if codes_of_interest is None:
        return None
    if isinstance(codes_of_interest, (str, bytes)):
        raise TypeError(
            f"Expected codes_of_interest to be a collection of codes, but got the string {codes_of_interest!r} "
            f"(write [{codes_of_interest!r}] for one code)."
        )
    return [str(c) for c in codes_of_interest]


def _check_lag(lag: Any) -> int:
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or int(lag) == 0:
        raise ValueError(f"Expected lag to be a non-zero integer, but got {lag!r}.")
    return int(lag)


def _tally(enc: _Encoded, lag: int) -> np.ndarray:
    k = len(enc.labels)
    s = abs(lag)
    if enc.n_events <= s or k == 0:
        return np.zeros((k, k), dtype=np.int64)
    same = enc.seq_id[:-s] == enc.seq_id[s:]
    early, late = enc.flat[:-s][same], enc.flat[s:][same]
    given, target = (early, late) if lag > 0 else (late, early)
    return np.bincount(given * k + target, minlength=k * k).reshape(k, k)


def _structural_mask(
    labels: Sequence[str], *, diagonal: bool, pairs: Collection[tuple[str, str]] | None
) -> np.ndarray | None:
    """Boolean mask of structural zeros (``None`` when there are none to declare)."""
    if not diagonal and pairs is None:
        return None
    k = len(labels)
    mask = np.zeros((k, k), dtype=bool)
    if diagonal:
        np.fill_diagonal(mask, True)
    pos = {lab: i for i, lab in enumerate(labels)}
    for pair in pairs or ():
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(f"Expected structural_zeros to hold (given, target) pairs, but got {pair!r}.")
        g, t = str(pair[0]), str(pair[1])
        if g in pos and t in pos:
            mask[pos[g], pos[t]] = True
    return mask


def transition_counts(
    codes: Any,
    lag: int = 1,
    *,
    omit_repeats: bool = False,
    codes_of_interest: Collection[str] | None = None,
) -> pd.DataFrame:
    """The K x K table of lag-``lag`` tallies (rows: given, columns: target).

    Parameters
    ----------
    codes : sequence of str, or list of sequences of str
        Codes in event order; several sequences are tallied separately and added.
    lag : int
        Non-zero; negative lags look back.
    omit_repeats : bool
        Merge runs of one code into one event first.
    codes_of_interest : collection of str, optional
        Codes to include even when they do not occur (as zero rows and columns).

    Returns
    -------
    DataFrame
        Integer counts, index and columns the codes (sorted), named ``given`` and
        ``target``; ``attrs["params"]`` records how it was made.

    Examples
    --------
    >>> transition_counts(list("AAB")).values.tolist()
    [[1, 1], [0, 0]]
    """
    lag = _check_lag(lag)
    wanted = _check_codes_of_interest(codes_of_interest)
    enc = _encode(codes, wanted or (), omit_repeats=omit_repeats)
    counts = _tally(enc, lag)
    out = pd.DataFrame(
        counts,
        index=pd.Index(enc.labels, name="given"),
        columns=pd.Index(enc.labels, name="target"),
    )
    out.attrs["params"] = _params(enc, lag, omit_repeats, counts)
    return out


def _params(enc: _Encoded, lag: int, omit_repeats: bool, counts: np.ndarray) -> dict[str, Any]:
    return {
        "lag": lag,
        "omit_repeats": bool(omit_repeats),
        "n_sequences": enc.n_sequences,
        "n_events": enc.n_events,
        "merged_repeats": enc.merged,
        "n_pairs": int(counts.sum()),
    }


def _statistics(counts: np.ndarray, labels: Sequence[str], mask: np.ndarray | None, lag: Any) -> pd.DataFrame:
    x = counts.astype(float)
    e, z, info = _fit(x, mask)
    k = len(labels)
    rows, cols, n = counts.sum(axis=1), counts.sum(axis=0), int(counts.sum())
    a = counts.ravel()
    b = np.repeat(rows, k) - a
    c = np.tile(cols, k) - a
    d = n - a - b - c
    af, bf, cf, df_ = (v.astype(float) for v in (a, b, c, d))
    ad, bc = af * df_, bf * cf
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(af + bf > 0, af / (af + bf), np.nan)
        q = np.where(ad + bc > 0, (ad - bc) / (ad + bc), np.nan)
        orat = np.where(bc > 0, ad / bc, np.where(ad > 0, np.inf, np.nan))
    sz = np.zeros(k * k, dtype=bool) if mask is None else mask.ravel()
    q = np.where(sz, np.nan, q)
    orat = np.where(sz, np.nan, orat)
    out = pd.DataFrame(
        {
            "given": np.repeat(np.asarray(labels, dtype=object), k),
            "target": np.tile(np.asarray(labels, dtype=object), k),
            "lag": lag,
            "a": a.astype(np.int64),
            "b": b.astype(np.int64),
            "c": c.astype(np.int64),
            "d": d.astype(np.int64),
            "n": n,
            "p": p,
            "expected": e.ravel(),
            "adjusted_residual": z.ravel(),
            "yules_q": q,
            "odds_ratio": orat,
            "structural_zero": sz,
        },
        columns=list(TABLE_COLUMNS),
    )
    out.attrs["fit"] = info
    return out


def transition_statistics(
    counts: pd.DataFrame | Any,
    *,
    structural_zeros: Collection[tuple[str, str]] | Any = None,
    lag: int | None = None,
) -> pd.DataFrame:
    """GSEQ's cell statistics for every cell of a square table of tallies.

    Use this for tables tallied elsewhere (a published transition matrix, pooled counts);
    :func:`lag_tables` tallies sequences and calls it.

    Parameters
    ----------
    counts : DataFrame or array-like, shape (K, K)
        Rows given, columns target. A DataFrame's index and columns must be the same codes
        in the same order; an array gets codes ``"0" ... "K-1"``.
    structural_zeros : collection of (given, target), or boolean mask (K, K), optional
        Cells empty by design; expected counts then come from IPF (see the module docstring).
    lag : int, optional
        Written into the ``lag`` column.

    Returns
    -------
    DataFrame
        One row per (given, target) with columns ``given, target, lag, a, b, c, d, n, p,
        expected, adjusted_residual, yules_q, odds_ratio, structural_zero``.

    Examples
    --------
    >>> t = transition_statistics(pd.DataFrame([[0, 3], [2, 0]], index=["A", "B"], columns=["A", "B"]))
    >>> t.loc[1, "given"], t.loc[1, "target"], int(t.loc[1, "a"]), float(t.loc[1, "p"])
    ('A', 'B', 3, 1.0)
    """
    if isinstance(counts, pd.DataFrame):
        labels = [str(v) for v in counts.index]
        if [str(v) for v in counts.columns] != labels:
            raise ValueError(
                "Expected the table's columns to be the same codes as its index, in the same order, "
                f"but got index {labels[:8]} and columns {[str(v) for v in counts.columns][:8]}."
            )
        x = _as_count_matrix(counts.to_numpy(), "counts")
    else:
        x = _as_count_matrix(counts, "counts")
        labels = [str(i) for i in range(x.shape[0])]
    if x.shape[0] != x.shape[1]:
        raise ValueError(f"Expected a square table of tallies, but got shape {x.shape}.")
    if np.any(x != np.round(x)):
        raise ValueError("Expected integer counts, but the table has fractional values.")
    mask: np.ndarray | None
    if structural_zeros is None:
        mask = None
    elif np.asarray(structural_zeros).dtype == bool:
        mask = _as_mask(structural_zeros, x.shape)
    else:
        mask = _structural_mask(labels, diagonal=False, pairs=list(structural_zeros))
    out = _statistics(x.astype(np.int64), labels, mask, lag if lag is not None else pd.NA)
    out.attrs["params"] = {"lag": lag, "structural_zeros": _pairs(labels, mask), **out.attrs.pop("fit")}
    return out


def _pairs(labels: Sequence[str], mask: np.ndarray | None) -> list[list[str]]:
    if mask is None:
        return []
    return [[labels[i], labels[j]] for i, j in np.argwhere(mask)]


def lag_tables(
    codes: Any,
    lag: int = 1,
    *,
    codes_of_interest: Collection[str] | None = None,
    omit_repeats: bool = False,
    structural_zeros: Collection[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Every given x target lag table: GSEQ's full table output, tidy.

    Parameters
    ----------
    codes : sequence of str, or list of sequences of str
        Codes in event order; a list of sequences (sessions) is pooled without pairing
        across sequence boundaries.
    lag : int
        Events from given to target; negative looks back.
    codes_of_interest : collection of str, optional
        Report only pairs of these codes (the table, and so ``n`` and the margins, still
        holds every code). Codes that never occur get zero rows.
    omit_repeats : bool
        A code cannot follow itself: merge runs, and at ``|lag| == 1`` treat the diagonal as
        structural zeros with IPF expected counts.
    structural_zeros : collection of (given, target), optional
        Further transitions that are impossible by design.

    Returns
    -------
    DataFrame
        One row per (given, target), columns ``given, target, lag, a, b, c, d, n, p,
        expected, adjusted_residual, yules_q, odds_ratio, structural_zero``;
        ``attrs["params"]`` records the parameters and the fit.

    Raises
    ------
    ValueError
        For a zero or non-integer lag, missing codes, or tallies in a structural-zero cell.

    Examples
    --------
    >>> t = lag_tables(list("ABCABCAB"), omit_repeats=True)
    >>> row = t[(t.given == "A") & (t.target == "B")].iloc[0]
    >>> int(row.a), float(row.p), round(float(row.expected), 2), round(float(row.adjusted_residual), 2)
    (3, 1.0, 1.87, 2.64)
    """
    lag = _check_lag(lag)
    wanted = _check_codes_of_interest(codes_of_interest)
    enc = _encode(codes, wanted or (), omit_repeats=omit_repeats)
    counts = _tally(enc, lag)
    mask = _structural_mask(
        enc.labels,
        diagonal=omit_repeats and abs(lag) == 1,
        pairs=None if structural_zeros is None else list(structural_zeros),
    )
    if mask is not None and np.any(counts[mask] > 0):
        i, j = np.argwhere(mask & (counts > 0))[0]
        raise ValueError(
            f"Expected no {enc.labels[i]!r} -> {enc.labels[j]!r} transitions (declared impossible), "
            f"but got {counts[i, j]}."
        )
    out = _statistics(counts, enc.labels, mask, lag)
    fit = out.attrs.pop("fit")
    if wanted is not None:
        out = out[out["given"].isin(wanted) & out["target"].isin(wanted)].reset_index(drop=True)
    out.attrs["params"] = {
        **_params(enc, lag, omit_repeats, counts),
        "codes_of_interest": None if wanted is None else sorted(set(wanted)),
        "structural_zeros": _pairs(enc.labels, mask),
        **fit,
    }
    return out


def lag_table(
    codes: Any,
    given: str,
    target: str,
    lag: int = 1,
    *,
    omit_repeats: bool = False,
    structural_zeros: Collection[tuple[str, str]] | None = None,
) -> LagResult:
    """The lag-``lag`` 2 x 2 table of one given and one target code, with its statistics.

    Parameters
    ----------
    codes : sequence of str, or list of sequences of str
        Codes in event order (see :func:`lag_tables`).
    given, target : str
        The codes to relate (they need not occur; then counts are 0 and statistics ``NaN``).
    lag : int
        Events from given to target; negative looks back.
    omit_repeats : bool
        A code cannot follow itself (see the module docstring).
    structural_zeros : collection of (given, target), optional
        Further transitions that are impossible by design.

    Returns
    -------
    LagResult

    Examples
    --------
    >>> r = lag_table([list("ABAB"), list("BBA")], "B", "A")
    >>> (r.a, r.b, r.c, r.d, r.n)
    (2, 1, 0, 2, 5)
    """
    table = lag_tables(
        codes, lag, codes_of_interest=[given, target], omit_repeats=omit_repeats, structural_zeros=structural_zeros
    )
    row = table[(table["given"] == str(given)) & (table["target"] == str(target))].iloc[0]
    params = dict(table.attrs["params"], given=str(given), target=str(target))
    return LagResult(
        given=str(given),
        target=str(target),
        lag=int(row["lag"]),
        a=int(row["a"]),
        b=int(row["b"]),
        c=int(row["c"]),
        d=int(row["d"]),
        n=int(row["n"]),
        transitional_probability=float(row["p"]),
        expected=float(row["expected"]),
        adjusted_residual=float(row["adjusted_residual"]),
        yules_q=float(row["yules_q"]),
        odds_ratio=float(row["odds_ratio"]),
        structural_zero=bool(row["structural_zero"]),
        params=params,
    )


# -- from annotations ------------------------------------------------------------------------


def event_sequences(
    table: AnnotationTable,
    *,
    actors: Collection[str] | None = None,
    with_actor: bool = False,
) -> list[list[str]]:
    """One event sequence of codes per recording, ordered by onset (then actor, then code).

    The order is the one :func:`workbench.io.sdis.write_sdis` writes for GSEQ's event data.

    Parameters
    ----------
    table : AnnotationTable
        Annotations of one or more recordings.
    actors : collection of str, optional
        Keep only these actors' annotations.
    with_actor : bool
        Label events ``"actor:code"`` instead of ``"code"`` (when actors share codes).

    Returns
    -------
    list of list of str
        Recordings in ``recording_id`` order; rows without one form one last sequence.

    Examples
    --------
    >>> t = AnnotationTable([{"actor": "p", "code": "b", "onset_ms": 5}, {"actor": "c", "code": "a", "onset_ms": 1}])
    >>> event_sequences(t, with_actor=True)
    [['c:a', 'p:b']]
    """
    df = table.to_dataframe()
    if actors is not None:
        df = df[df["actor"].isin(list(actors))]
    df = df.sort_values(["recording_id", "onset_ms", "actor", "code"], kind="mergesort", na_position="first")
    labels = (df["actor"] + ":" + df["code"]) if with_actor else df["code"]
    return [list(lab) for _, lab in labels.groupby(df["recording_id"], dropna=False, sort=True)]


def _check_window(window_ms: tuple[int, int], unit_ms: int) -> tuple[int, int, int]:
    if isinstance(unit_ms, bool) or not isinstance(unit_ms, (int, np.integer)) or unit_ms <= 0:
        raise ValueError(f"Expected unit_ms to be a positive integer number of ms, but got {unit_ms!r}.")
    try:
        lo, hi = window_ms
    except (TypeError, ValueError):
        raise ValueError(f"Expected window_ms to be a pair (start_ms, end_ms), but got {window_ms!r}.") from None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (lo, hi)) or lo >= hi:
        raise ValueError(f"Expected window_ms (start_ms, end_ms) of integers with start < end, but got {window_ms!r}.")
    if lo % unit_ms or hi % unit_ms:
        raise ValueError(
            f"Expected window_ms bounds that are multiples of unit_ms ({unit_ms} ms), but got {window_ms!r}."
        )
    return int(lo), int(hi), int(unit_ms)


def _units_of(rec: pd.DataFrame, unit: int, duration: int | None, rec_id: Any) -> int:
    end = int(np.maximum(rec["offset_ms"].to_numpy(), rec["onset_ms"].to_numpy() + 1).max()) if len(rec) else 0
    if duration is not None:
        if duration < end:
            raise ValueError(
                f"Expected duration_ms >= the end of the last annotation ({end} ms) for recording {rec_id}, "
                f"but got {duration}."
            )
        end = int(duration)
    return -(-end // unit)


def time_window_table(
    table: AnnotationTable,
    given: str,
    target: str,
    *,
    window_ms: tuple[int, int] = (0, 3000),
    unit_ms: int = 1000,
    given_actor: str | None = None,
    target_actor: str | None = None,
    duration_ms: int | Mapping[Any, int] | None = None,
) -> WindowResult:
    """Did the target start within a window after the given started? A 2 x 2 of time units.

    The counting rule is in the module docstring: units are ``unit_ms`` wide from 0; a given
    onset in unit ``u`` opens units ``u + start/unit_ms`` .. ``u + end/unit_ms - 1``; a unit
    counts as a target unit when a target annotation starts in it; every unit of every
    recording is tallied once.

    Parameters
    ----------
    table : AnnotationTable
        Timed annotations of one or more recordings (recordings are never mixed).
    given, target : str
        Codes.
    window_ms : (int, int)
        Window relative to the given onset, ``[start, end)`` in ms, multiples of ``unit_ms``;
        may start before 0 (look back).
    unit_ms : int
        Width of a time unit (GSEQ's time unit), ms.
    given_actor, target_actor : str, optional
        Count only this actor's given / target annotations.
    duration_ms : int or mapping of recording_id to int, optional
        Length of the recording(s); default: up to the end of the last annotation.

    Returns
    -------
    WindowResult

    Raises
    ------
    ValueError
        For a window or unit that breaks the rules above, or a duration shorter than the
        annotations.

    Examples
    --------
    >>> t = AnnotationTable([
    ...     {"actor": "child", "code": "G", "onset_ms": 1200},
    ...     {"actor": "parent", "code": "T", "onset_ms": 2500},
    ...     {"actor": "parent", "code": "T", "onset_ms": 7100, "offset_ms": 8000},
    ... ])
    >>> r = time_window_table(t, "G", "T")
    >>> (r.a, r.b, r.c, r.d)
    (1, 2, 1, 4)
    """
    lo, hi, unit = _check_window(window_ms, unit_ms)
    lo_u, hi_u = lo // unit, hi // unit
    df = table.to_dataframe()
    a = b = c = d = 0
    units_per_recording: dict[str, int] = {}
    n_given = n_target = 0
    for rec_id, rec in df.groupby("recording_id", dropna=False, sort=True):
        key = None if pd.isna(rec_id) else int(rec_id)
        dur = duration_ms.get(key) if isinstance(duration_ms, Mapping) else duration_ms
        k = _units_of(rec, unit, None if dur is None else int(dur), key)
        if k == 0:
            continue
        g = rec[rec["code"] == given]
        if given_actor is not None:
            g = g[g["actor"] == given_actor]
        t = rec[rec["code"] == target]
        if target_actor is not None:
            t = t[t["actor"] == target_actor]
        g_units = g["onset_ms"].to_numpy() // unit
        starts = np.clip(g_units + lo_u, 0, k)
        ends = np.clip(g_units + hi_u, 0, k)
        diff = np.zeros(k + 1, dtype=np.int64)
        np.add.at(diff, starts, 1)
        np.add.at(diff, ends, -1)
        in_window = np.cumsum(diff[:-1]) > 0
        has_target = np.zeros(k, dtype=bool)
        has_target[t["onset_ms"].to_numpy() // unit] = True
        a += int(np.sum(in_window & has_target))
        b += int(np.sum(in_window & ~has_target))
        c += int(np.sum(~in_window & has_target))
        d += int(np.sum(~in_window & ~has_target))
        units_per_recording[str(key)] = k
        n_given += len(g)
        n_target += len(t)
    n = a + b + c + d
    obs = np.array([[a, b], [c, d]], dtype=float)
    e, z, _ = _fit(obs, None)
    return WindowResult(
        given=str(given),
        target=str(target),
        window_ms=(lo, hi),
        unit_ms=unit,
        a=a,
        b=b,
        c=c,
        d=d,
        n=n,
        transitional_probability=a / (a + b) if a + b else math.nan,
        expected=float(e[0, 0]),
        adjusted_residual=float(z[0, 0]),
        yules_q=yules_q(a, b, c, d),
        odds_ratio=odds_ratio(a, b, c, d),
        params={
            "window_ms": [lo, hi],
            "unit_ms": unit,
            "given_actor": given_actor,
            "target_actor": target_actor,
            "units_per_recording": units_per_recording,
            "given_onsets": n_given,
            "target_onsets": n_target,
            "duration_ms": dict(duration_ms) if isinstance(duration_ms, Mapping) else duration_ms,
        },
    )
