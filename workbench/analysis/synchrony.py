"""Nonverbal synchrony from motion energy, computed exactly as the R package rMEA does.

rMEA (Kleinbub & Ramseyer, 2020, *Psychotherapy Research*; CRAN 1.2.2, GPL-3) reads motion-energy
series of two people (the output of Ramseyer's MEA software, or of
:func:`workbench.media.motion_energy`), filters them and measures their synchrony as windowed,
lagged cross-correlation. This module gives the same numbers on the same data (checked against
reference values computed in R, see ``tests/fixtures/rmea_reference/``), with Pythonic names:

==========================================  =============================================================
here                                        rMEA
==========================================  =============================================================
:class:`MEA` (``s1``, ``s2``, ...)          ``MEA`` object (``mea$MEA``, attributes ``sampRate``, ``id``,
                                            ``session``, ``group``, ``filter``, ``s1Name``, ``s2Name``,
                                            ``uid``)
:func:`read_mea` / :func:`read_mea_folder`  ``readMEA(path, s1Col, s2Col, sampRate, s1Name, s2Name,
                                            idOrder, idSep, skip, ...)`` (columns 0-based here)
:meth:`MEA.percent_moving`                  the ``s1_%`` / ``s2_%`` columns of readMEA's report
:func:`mea_from_motion_energy`              (no equivalent: from our video motion energy to an ``MEA``)
:func:`smooth`                              ``MEAsmooth(mea, moving.average.win)``
:func:`scale`                               ``MEAscale(mea, scale, center, removeNA)``
:func:`ccf`                                 ``MEAccf(mea, lagSec, winSec, incSec, r2Z, ABS)$ccf``
:func:`ccf_summary`                         ``$ccfRes``: ``all_lags``, ``s1_lead``, ``s2_lead``,
                                            ``lag_zero``, ``s1_lead_0``, ``s2_lead_0``, ``bestLag``
                                            (here ``best_lag``)
:func:`grand_average`                       ``$ccfRes$grandAver``
:func:`shuffle`                             ``set.seed(seed); shuffle(mea, size, keepRoles)``
==========================================  =============================================================

rMEA's conventions, kept here:

- ``ccf``: windows of ``window_s`` seconds advanced by ``increment_s``; each window reads
  ``window + lag`` samples, so there are ``ceil((n - window - lag + 1) / increment)`` windows (all in
  samples). Lags run from ``-lag`` to ``+lag`` samples. At a positive lag ``k`` the second series is
  shifted: ``s1[t]`` is paired with ``s2[t + k]``, so **high values at positive lags mean that the
  second person follows the first** (``s1`` leads, hence rMEA's name ``s1_lead`` for the mean over
  positive lags). A correlation is missing (NaN) when fewer than 2 sample pairs differ, and a whole
  window is missing when more than half of either person's samples in it are missing; otherwise
  Pearson's r over the complete pairs, then Fisher's z (``atanh``, bounded to +-10) and the absolute
  value if asked.
- ``smooth`` is rMEA's moving average after SAS ``proc expand``, quirks included: the sum over the
  window is divided by the nominal window length even where the window is cut short at the start,
  windows running past the end (or over a missing value) give 0, and missing samples stay missing.
- ``shuffle`` pairs every series with every other series of a different dyad (both roles, unless
  ``keep_roles``), in rMEA's order, and draws ``size`` of them with R's own random number generator
  (Mersenne-Twister, rejection sampling), so a seed picks the same pseudo-dyads as ``set.seed(seed)``
  does in R.

Examples
--------
>>> from workbench.analysis.synchrony import read_mea, smooth, scale, ccf, ccf_summary
>>> mea = read_mea("200_01.txt", sampling_rate=25, names=("patient", "therapist"))  # doctest: +SKIP
>>> table = ccf(scale(smooth(mea)), lag_s=5, window_s=60, increment_s=30)  # doctest: +SKIP
>>> table.shape  # 18 windows, lags -5 s ... +5 s in steps of 1/25 s  # doctest: +SKIP
(18, 251)
>>> ccf_summary(table)[["lag_zero", "s1_lead", "s2_lead"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from workbench.errors import FormatError
from workbench.io.limits import input_limits, read_bytes

__all__ = [
    "MEA",
    "MEAOutlierWarning",
    "ccf",
    "ccf_summary",
    "grand_average",
    "mea_from_motion_energy",
    "read_mea",
    "read_mea_folder",
    "scale",
    "shuffle",
    "smooth",
]

_FLT_EPSILON = float(np.finfo(np.float32).eps)  # R's seq (':') adds FLT_EPSILON before truncating
_FISHER_BOUND = 10.0  # rMEA's fisher.r2z bounds z to +-10
#: Largest motion energy a file may hold. A value counts the pixels that changed in a region of one
#: frame (Ramseyer's MEA: at most 33 million, an 8K frame) or, in implementations that sum grey-level
#: differences, at most 255 times that (8.5e9); anything larger is not motion energy (and 1e308 would
#: overflow the sums of squares of a correlation).
MEA_MAX_VALUE = 1e10
_MEA_WHAT = "an MEA text file (motion energy, one row per video frame)"
#: Lines an MEA file may hold by default: 5 million, over 23 hours at 60 frames per second.
_MEA_MAX_LINES = 5_000_000
_SUMMARY_COLUMNS = ("all_lags", "s1_lead", "s2_lead", "lag_zero", "s1_lead_0", "s2_lead_0", "best_lag")


class MEAOutlierWarning(UserWarning):
    """rMEA's check on reading: some motion-energy values exceed 10 standard deviations."""


def _frozen(values: np.ndarray) -> np.ndarray:
    array = np.array(values, dtype=np.float64)  # a copy: the record owns its data
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class MEA:
    """The motion-energy series of one dyad (rMEA's ``MEA`` object), immutable.

    Attributes
    ----------
    s1, s2 : numpy.ndarray
        float64 motion energy of the first and second person, one value per sample (NaN: missing).
        Read-only; both the same length.
    sampling_rate : float
        Samples per second (rMEA's ``sampRate``; normally the video's frame rate).
    names : tuple of str
        Labels of the two people (``s1Name``, ``s2Name``), e.g. ``("patient", "therapist")``.
    id : str
        Dyad identifier.
    session : int or str
        Session number (rMEA keeps the digits of the session part of the file name: "01" -> 1).
    group : str
        Group label (rMEA's default "all").
    filter : str
        What was done to the data, in rMEA's notation: ``"raw --> smooth --> rescaled (sd)"``.
    source : str
        File the data were read from ("" when built in memory).
    uid : str
        Unique label; by default ``f"{group}_{id}_{session}"`` as in rMEA.
    """

    s1: np.ndarray
    s2: np.ndarray
    sampling_rate: float
    names: tuple[str, str] = ("s1", "s2")
    id: str = ""
    session: int | str = 1
    group: str = "all"
    filter: str = "raw"
    source: str = ""
    uid: str = field(default="")

    def __post_init__(self) -> None:
        s1, s2 = _frozen(self.s1), _frozen(self.s2)
        if s1.ndim != 1 or s2.ndim != 1 or s1.size != s2.size:
            raise ValueError(
                f"Expected 's1' and 's2' to be 1-D series of the same length, but got shapes {s1.shape} "
                f"and {s2.shape}."
            )
        rate = float(self.sampling_rate)
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"Expected a positive 'sampling_rate', but got {self.sampling_rate!r}.")
        names = tuple(str(n) for n in self.names)
        if len(names) != 2:
            raise ValueError(f"Expected 'names' to hold two labels, but got {self.names!r}.")
        object.__setattr__(self, "s1", s1)
        object.__setattr__(self, "s2", s2)
        object.__setattr__(self, "sampling_rate", rate)
        object.__setattr__(self, "names", names)
        if not self.uid:
            object.__setattr__(self, "uid", f"{self.group}_{self.id}_{self.session}")

    def __len__(self) -> int:
        return int(self.s1.size)

    def __repr__(self) -> str:
        seconds = len(self) / self.sampling_rate
        return (
            f"<MEA | {self.uid}: {self.names[0]} & {self.names[1]}, {len(self)} samples at "
            f"{self.sampling_rate:g} Hz ({seconds:.1f} s), {self.filter}>"
        )

    @property
    def times_ms(self) -> np.ndarray:
        """int64 time of every sample in ms from the start (sample ``i`` at ``i / sampling_rate`` s)."""
        return np.round(np.arange(len(self)) * (1000.0 / self.sampling_rate)).astype(np.int64)

    @property
    def data(self) -> pd.DataFrame:
        """The two series as a DataFrame indexed by ``time_ms``, one column per person (``names``)."""
        index = pd.Index(self.times_ms, name="time_ms")
        return pd.DataFrame({self.names[0]: self.s1, self.names[1]: self.s2}, index=index)

    def percent_moving(self) -> tuple[float, float]:
        """Percent of samples with motion energy above 0, per person (readMEA's ``s1_%``, ``s2_%``).

        As in rMEA, missing samples count as moving (R's ``length(x[x > 0])`` keeps NAs).

        Returns
        -------
        tuple of float
            (percent for s1, percent for s2), unrounded (rMEA prints them rounded to 0.1).
        """
        n = len(self)
        if n == 0:
            return (math.nan, math.nan)
        return tuple(  # type: ignore[return-value]
            100.0 * float(np.count_nonzero((x > 0) | np.isnan(x))) / n for x in (self.s1, self.s2)
        )


# ---------------------------------------------------------------------------------------------------------
# reading


def _columns_of(spec: int | str | Sequence[int | str], what: str) -> list[int | str]:
    if isinstance(spec, (int, str, np.integer)):
        return [spec]  # type: ignore[list-item]
    items = list(spec)
    if not items or not all(isinstance(c, (int, str, np.integer)) for c in items):
        raise ValueError(
            f"Expected {what!r} to be a column index or name, or a list of them, but got {spec!r}."
        )
    return items


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return token.upper() in {"NA", "NAN", ""}
    return True


def _read_table(path: Path, skip: int | None, sep: str | None, max_bytes: int | None) -> pd.DataFrame:
    max_bytes, max_lines = input_limits(max_bytes)
    raw = read_bytes(path, _MEA_WHAT, max_bytes=max_bytes, max_items=max_lines or _MEA_MAX_LINES, items="lines")
    lines = raw[: 1 << 20].decode("utf-8-sig", errors="replace").splitlines(keepends=True)
    head = lines[: 1 + (skip or 0)]
    first = head[-1] if head else ""
    if sep is None:
        sep = "," if "," in first else r"\s+"
    if skip is None:  # a header line of column names (rMEA's sample files have one) is skipped
        tokens = [t.strip().strip("\"'") for t in re.split(sep, first.strip())] if first.strip() else []
        skip = 1 if tokens and not all(_is_number(t) for t in tokens) else 0
        header = tokens if skip else None
    else:
        header = None
    try:
        table = pd.read_csv(
            io.BytesIO(raw),
            sep=sep,
            header=None,
            skiprows=skip,
            engine="c" if sep in {",", r"\s+"} else "python",
            encoding="utf-8-sig",
            encoding_errors="replace",
            # R's missing values (NA, empty) only: "NaN" and "Inf" are refused as values, not skipped
            na_values=["NA", ""],
            keep_default_na=False,
            skip_blank_lines=True,
            compression=None,
        )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FormatError(
            f"Expected a table of motion-energy numbers in {os.fspath(path)!r}, but it could not be parsed "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    if header is not None and len(header) == table.shape[1]:
        table.columns = header
    return table


def _select(table: pd.DataFrame, cols: list[int | str], path: Path, what: str) -> np.ndarray:
    total = np.zeros(len(table), dtype=np.float64)
    for col in cols:
        if isinstance(col, str):
            if col not in table.columns:
                raise FormatError(
                    f"Expected a column {col!r} ({what}) in {os.fspath(path)!r}, but its columns are "
                    f"{[str(c) for c in table.columns]}."
                )
            series = table[col]
        else:
            if not 0 <= int(col) < table.shape[1]:
                raise FormatError(
                    f"Expected column index {col} ({what}, 0-based) in {os.fspath(path)!r}, but it has "
                    f"{table.shape[1]} columns."
                )
            series = table.iloc[:, int(col)]
        try:
            values = pd.to_numeric(series, errors="coerce")
        except OverflowError as exc:  # integers beyond float range
            raise FormatError(
                f"Expected numbers in column {col!r} ({what}) of {os.fspath(path)!r}, but it holds one too large "
                f"for a float ({exc})."
            ) from exc
        bad = values.isna() & series.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise FormatError(
                f"Expected numbers in column {col!r} ({what}) of {os.fspath(path)!r}, but data row {row + 1} "
                f"holds {series.iloc[row]!r}."
            )
        numbers = values.to_numpy(dtype=np.float64)
        wrong = ~np.isnan(numbers) & ~((numbers >= 0) & (numbers <= MEA_MAX_VALUE))
        if wrong.any():
            row = int(np.flatnonzero(wrong)[0])
            cell = series.iloc[row]
            shown = repr(cell) if isinstance(cell, str) else f"{float(cell):g}"
            raise FormatError(
                f"Expected motion energy (a finite number from 0 to {MEA_MAX_VALUE:.0e}) in column {col!r} ({what}) "
                f"of {os.fspath(path)!r}, but data row {row + 1} holds {shown}"
                f"{f' ({int(wrong.sum())} such values in all)' if wrong.sum() > 1 else ''}."
            )
        total = total + numbers  # rMEA sums several columns (ROIs) per person
    return total


def _ids_from_name(
    name: str, id_order: Sequence[str] | None, id_sep: str
) -> tuple[str, int | str, str | None]:
    stem = Path(name).stem
    if not id_order:
        return stem, 1, None
    if not re.search(id_sep, stem):
        raise FormatError(
            f"Expected the file name {name!r} to hold {'/'.join(id_order)} separated by {id_sep!r} "
            f"(id_order, id_sep), but the separator does not occur in it."
        )
    parts = re.split(id_sep, stem)

    def part(key: str) -> str | None:
        positions = [i for i, k in enumerate(id_order) if str(k).lower().startswith(key)]
        values = [parts[i] for i in positions if i < len(parts)]
        return "".join(values) if values else None

    dyad = part("i") or stem
    session_text = part("s")
    session: int | str = 1
    if session_text is not None:
        digits = re.sub(r"[A-Za-z]", "", session_text)
        try:
            number = float(digits)
            session = int(number) if number.is_integer() else session_text
        except ValueError:
            warnings.warn(
                f"Expected a number in the session part {session_text!r} of {name!r}, but found none; "
                "check id_order and id_sep. The text is used as the session.",
                UserWarning,
                stacklevel=3,
            )
            session = session_text
    return dyad, session, part("g")


def _warn_outliers(mea: MEA) -> None:
    values = np.concatenate([mea.s1, mea.s2])
    sd = float(np.std(values, ddof=1)) if values.size > 1 else math.nan
    if not math.isfinite(sd):
        return
    high = np.count_nonzero(values > 10 * sd)
    if high:
        share = round(100.0 * high / values.size, 2)
        warnings.warn(
            f"Expected motion energy below 10 standard deviations (rMEA's check), but {share:g}% of the data "
            f"in {mea.source or mea.uid!r} (dyad {mea.id}, session {mea.session}, group {mea.group}) is "
            "higher. Check the raw data.",
            MEAOutlierWarning,
            stacklevel=3,
        )


def read_mea(
    path: str | os.PathLike[str],
    sampling_rate: float,
    names: tuple[str, str] = ("s1", "s2"),
    *,
    s1_col: int | str | Sequence[int | str] = 0,
    s2_col: int | str | Sequence[int | str] = 1,
    skip: int | None = None,
    sep: str | None = None,
    id_order: Sequence[str] | None = ("id", "session"),
    id_sep: str = "_",
    group: str | None = None,
    max_bytes: int | None = None,
) -> MEA:
    """Read one MEA text file: the motion energy of two people, one row per video frame (rMEA's ``readMEA``).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.txt`` / ``.csv`` file as written by the MEA software: numbers in columns separated by
        spaces (or commas), optionally under one header line.
    sampling_rate : float
        Samples per second, normally the video's frame rate (``sampRate``).
    names : tuple of str
        Labels of the two people (``s1Name``, ``s2Name``).
    s1_col, s2_col : int, str or list of them
        The column(s) of each person, 0-based (rMEA's ``s1Col`` / ``s2Col`` count from 1) or by
        header name. Several columns (several regions of interest for one person) are summed, as in
        rMEA.
    skip : int, optional
        Lines to skip before the data (rMEA's ``skip``). By default one header line is skipped when
        the first line is not numbers.
    sep : str, optional
        Column separator (regular expression); by default commas if the first line has one, else any
        run of white space (R's ``read.table`` default).
    id_order : sequence of str or None
        How to read dyad id, session and group from the file name split at ``id_sep`` (rMEA's
        ``idOrder``; "x" skips a part). ``("id", "session")`` reads ``200_01.txt`` as dyad "200",
        session 1. None: the file name (without suffix) is the id.
    id_sep : str
        Separator of the parts of the file name (regular expression; rMEA's ``idSep``).
    group : str, optional
        Group label; default from the file name when ``id_order`` has "group", else "all".
    max_bytes : int, optional
        Most bytes the file may hold (default 256 MiB, or the environment variable
        ``WORKBENCH_MAX_INPUT_BYTES``). A file may also hold at most 5,000,000 lines (or
        ``WORKBENCH_MAX_INPUT_ITEMS``).

    Returns
    -------
    MEA
        With ``filter == "raw"``.

    Raises
    ------
    workbench.errors.FormatError
        If the file cannot be read, is gzip-compressed or too large, a column is missing or holds
        something other than motion energy (a number from 0 to :data:`MEA_MAX_VALUE`: negative
        values, ``NaN``, ``Inf`` and ``1e308`` are refused; ``NA`` and empty cells are missing
        samples, as in R), or the file name does not fit ``id_order``.

    Warns
    -----
    MEAOutlierWarning
        rMEA's data check: when values higher than 10 standard deviations (of both series together)
        occur, with their share in percent.

    Examples
    --------
    >>> mea = read_mea("normal/200_01.txt", 25, ("patient", "therapist"))  # doctest: +SKIP
    >>> mea  # doctest: +SKIP
    <MEA | all_200_1: patient & therapist, 15000 samples at 25 Hz (600.0 s), raw>
    """
    p = Path(path)
    if not p.is_file():
        raise FormatError(f"Expected an MEA text file, but {os.fspath(p)!r} does not exist or is not a file.")
    table = _read_table(p, skip, sep, max_bytes)
    if table.shape[1] < 2 and not (isinstance(s1_col, str) or isinstance(s2_col, str)):
        raise FormatError(
            f"Expected at least two columns (one per person) in {os.fspath(p)!r}, but found "
            f"{table.shape[1]}; is 'sep' right?"
        )
    s1 = _select(table, _columns_of(s1_col, "s1_col"), p, "s1_col")
    s2 = _select(table, _columns_of(s2_col, "s2_col"), p, "s2_col")
    dyad, session, group_from_name = _ids_from_name(p.name, id_order, id_sep)
    mea = MEA(
        s1,
        s2,
        sampling_rate,
        names=names,
        id=dyad,
        session=session,
        group=group if group is not None else (group_from_name or "all"),
        source=os.fspath(p),
    )
    _warn_outliers(mea)
    return mea


def read_mea_folder(
    folder: str | os.PathLike[str],
    sampling_rate: float,
    names: tuple[str, str] = ("s1", "s2"),
    *,
    pattern: str | None = None,
    **options: object,
) -> list[MEA]:
    """Read every ``.txt`` / ``.csv`` file of a folder with :func:`read_mea` (rMEA's ``readMEA`` on a folder).

    Parameters
    ----------
    folder : str or os.PathLike
        The folder.
    sampling_rate : float
        Samples per second.
    names : tuple of str
        Labels of the two people.
    pattern : str, optional
        Regular expression the file names must contain (rMEA's ``namefilt``).
    **options
        Passed on to :func:`read_mea` (``s1_col``, ``skip``, ``id_order``, ``group``, ...).

    Returns
    -------
    list of MEA
        In file-name order.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FormatError(f"Expected a folder of MEA files, but {os.fspath(root)!r} is not a folder.")
    regex = re.compile((pattern + r".*" if pattern else "") + r"\.(txt|csv)$")
    files = sorted(f for f in root.iterdir() if f.is_file() and regex.search(f.name))
    if not files:
        raise FormatError(f"Expected .txt or .csv MEA files in {os.fspath(root)!r}, but found none.")
    return [read_mea(f, sampling_rate, names, **options) for f in files]  # type: ignore[arg-type]


def mea_from_motion_energy(
    table: pd.DataFrame,
    s1: str | Sequence[str],
    s2: str | Sequence[str],
    *,
    sampling_rate: float | None = None,
    names: tuple[str, str] | None = None,
    id: str = "",
    session: int | str = 1,
    group: str = "all",
) -> MEA:
    """Build an :class:`MEA` from :func:`workbench.media.motion_energy` output (one column per region).

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by frame time in ms, one column per region of interest.
    s1, s2 : str or list of str
        The region(s) of each person; several regions are summed (as rMEA's ``readMEA`` does).
    sampling_rate : float, optional
        Samples per second; by default from the median gap between frame times.
    names : tuple of str, optional
        Labels of the two people; by default the region names.
    id, session, group : optional
        Dyad labels.

    Returns
    -------
    MEA
    """
    cols1 = [s1] if isinstance(s1, str) else list(s1)
    cols2 = [s2] if isinstance(s2, str) else list(s2)
    missing = [c for c in cols1 + cols2 if c not in table.columns]
    if missing:
        raise ValueError(
            f"Expected regions {missing} among the motion-energy columns, but the columns are "
            f"{[str(c) for c in table.columns]}."
        )
    if sampling_rate is None:
        gaps = np.diff(np.asarray(table.index, dtype=np.float64))
        if gaps.size == 0 or not np.all(gaps > 0):
            raise ValueError(
                "Expected increasing frame times in the index to infer 'sampling_rate', but got "
                f"{table.index[:5].tolist()}...; pass sampling_rate."
            )
        step = float(np.median(gaps))
        if np.any(np.abs(gaps - step) > 1.0):
            warnings.warn(
                f"Expected evenly spaced frames (rMEA assumes a constant rate), but the gaps between frame "
                f"times vary from {gaps.min():g} to {gaps.max():g} ms; using {1000 / step:g} Hz.",
                UserWarning,
                stacklevel=2,
            )
        sampling_rate = 1000.0 / step
    # numpy's sum keeps NaN (a missing frame stays missing), as R's apply(x, 1, sum) does in readMEA
    x = table[cols1].to_numpy(dtype=np.float64).sum(axis=1)
    y = table[cols2].to_numpy(dtype=np.float64).sum(axis=1)
    labels = names or ("+".join(map(str, cols1)), "+".join(map(str, cols2)))
    return MEA(x, y, sampling_rate, names=labels, id=id, session=session, group=group)


# ---------------------------------------------------------------------------------------------------------
# filters


def _sas_moving_average(a: np.ndarray, n: float) -> np.ndarray:
    """rMEA's ``sasFiltB``: for sample t (1-based) ``sum(a[(t - h):(t + h)]) / n`` with ``h = (n - 1) / 2``,
    the start clamped to 1, R's rules for ':' with fractional ends, and NA sums (past the end or over a
    missing value) set to 0."""
    size = a.size
    h = (n - 1.0) / 2.0
    t = np.arange(1, size + 1, dtype=np.float64)
    lo = np.maximum(t - h, 1.0)
    hi = t + h
    counts = np.floor(np.abs(hi - lo) + 1.0 + _FLT_EPSILON).astype(np.int64)
    first = np.floor(lo).astype(np.int64) - 1  # 0-based first index; R truncates fractional indices
    longest = int(counts.max()) if size else 0
    padded = np.concatenate([a, np.full(longest, np.nan)])  # indices past the end are NA in R
    out = np.empty(size, dtype=np.float64)
    for count in np.unique(counts):
        chosen = counts == count
        windows = sliding_window_view(padded, int(count))
        out[chosen] = windows[first[chosen]].sum(axis=1)
    out /= n
    out[np.isnan(out)] = 0.0
    return out


def smooth(mea: MEA, window_s: float = 0.5) -> MEA:
    """Moving-average smoothing of both series (rMEA's ``MEAsmooth(mea, moving.average.win)``).

    Each sample becomes the sum of the ``window_s * sampling_rate`` samples around it divided by that
    number (SAS ``proc expand`` style), exactly as rMEA computes it: with a fractional window length
    the window is a little asymmetric, windows cut by the start are still divided by the full length,
    windows reaching past the end or over a missing sample give 0, and missing samples stay missing.

    Parameters
    ----------
    mea : MEA
        The dyad.
    window_s : float
        Window length in seconds (rMEA's default 0.5).

    Returns
    -------
    MEA
        A new record, ``filter`` extended with ``" --> smooth"``.
    """
    n = float(window_s) * mea.sampling_rate
    if not math.isfinite(n) or n < 1:
        raise ValueError(
            f"Expected 'window_s' to span at least one sample ({1 / mea.sampling_rate:g} s), but got {window_s!r}."
        )
    s1 = _sas_moving_average(mea.s1, n)
    s2 = _sas_moving_average(mea.s2, n)
    s1[np.isnan(mea.s1)] = np.nan
    s2[np.isnan(mea.s2)] = np.nan
    return replace(mea, s1=s1, s2=s2, filter=f"{mea.filter} --> smooth")


def _r_sd(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1)) if x.size > 1 else math.nan


def scale(
    mea: MEA,
    scale: Literal["sd"] | float | Callable[[np.ndarray], float] = "sd",
    *,
    center: bool | tuple[float, float] = False,
    remove_na: bool = True,
) -> MEA:
    """Rescale (and optionally centre) each series separately (rMEA's ``MEAscale``).

    Parameters
    ----------
    mea : MEA
        The dyad.
    scale : "sd", float or callable
        Divide each series by its standard deviation (R's ``sd``, n - 1), by a number, or by what a
        function returns for the series.
    center : bool or tuple of float
        Subtract each series' mean (True) or the given (s1, s2) values before dividing (R's
        ``base::scale``).
    remove_na : bool
        Leave missing values out when computing the scaling factor (rMEA's ``removeNA``); with False
        a series with a missing value gets a missing factor, hence all values missing.

    Returns
    -------
    MEA
        A new record, ``filter`` extended with ``" --> rescaled (sd)"`` (or the number / function name).
    """
    if isinstance(scale, str):
        if scale != "sd":
            raise ValueError(
                f"Invalid value for the 'scale' parameter. Allowed values are 'sd', a number or a function, "
                f"but got {scale!r} instead."
            )
        factor_of: Callable[[np.ndarray], float] = _r_sd
        label = "sd"
    elif callable(scale):
        factor_of = scale
        label = getattr(scale, "__name__", "custom")
    else:
        value = float(scale)
        factor_of = lambda _x: value  # noqa: E731
        label = f"{value:g}"
    if isinstance(center, bool):
        centres: tuple[float | None, float | None] = (None, None)
    else:
        if len(center) != 2:
            raise ValueError(
                f"Expected 'center' to be True/False or two numbers (s1, s2), but got {center!r}."
            )
        centres = (float(center[0]), float(center[1]))
    out = []
    for k, x in enumerate((mea.s1, mea.s2)):
        basis = x[~np.isnan(x)] if remove_na else x
        factor = float(factor_of(basis))
        y = x.copy()
        if center is True:
            y = y - float(np.nanmean(x)) if np.any(~np.isnan(x)) else y
        elif centres[k] is not None:
            y = y - centres[k]
        out.append(y / factor)
    return replace(mea, s1=out[0], s2=out[1], filter=f"{mea.filter} --> rescaled ({label})")


# ---------------------------------------------------------------------------------------------------------
# windowed lagged cross-correlation


def _samples(seconds: float, rate: float, what: str, *, minimum: int) -> int:
    value = float(seconds) * rate
    count = round(value)
    if not math.isfinite(value) or abs(value - count) > 1e-9 * max(1.0, abs(value)) or count < minimum:
        raise ValueError(
            f"Expected {what!r} to be a whole number of samples (>= {minimum}) at {rate:g} Hz, "
            f"but got {seconds!r} s = {value:g} samples."
        )
    return int(count)


def _fixed_vs_sliding(fixed: np.ndarray, moving: np.ndarray, win: int, lag: int) -> np.ndarray:
    """Pearson r of ``fixed`` (``win`` samples) with ``moving[k : k + win]`` for k = 0..lag, no missing values.

    Two-pass (centred) sums like R's ``cor``. R's NA cases are made explicit: a constant series (zero
    standard deviation) and fewer than 2 differing sample pairs.
    """
    view = sliding_window_view(moving, win)[: lag + 1]  # no copy: row k is moving[k : k + win]
    centred_fixed = fixed - fixed.mean()
    centred = view - view.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (centred @ centred_fixed) / (
            math.sqrt(float(centred_fixed @ centred_fixed)) * np.sqrt(np.einsum("ij,ij->i", centred, centred))
        )
    # constant segments (exactly, by counting value changes): R's cor gives NA, "the standard deviation is zero"
    changes = np.concatenate([[0], np.cumsum(moving[1:] != moving[:-1])])
    r[changes[win - 1 : win + lag] == changes[: lag + 1]] = np.nan
    if np.all(fixed == fixed[0]):
        r[:] = np.nan
    # rMEA: NA when fewer than 2 pairs differ. Two differences among the first pairs settle it cheaply.
    head = min(win, 16)
    for k in np.flatnonzero(np.count_nonzero(view[:, :head] != fixed[:head], axis=1) < 2):
        if np.count_nonzero(view[k] != fixed) < 2:
            r[k] = np.nan
    return r


def _masked_correlations(xw: np.ndarray, yw: np.ndarray, win: int, lag: int) -> np.ndarray:
    """Pearson r at lags -lag..lag over the complete pairs (R's ``use = "complete.obs"``), for windows with
    missing values."""
    xv = sliding_window_view(xw, win)
    yv = sliding_window_view(yw, win)
    # lag k < 0: x shifted by |k| against y's start; lag k >= 0: y shifted by k against x's start
    x = xv[np.concatenate([np.arange(lag, 0, -1), np.zeros(lag + 1, dtype=np.int64)])]
    y = yv[np.concatenate([np.zeros(lag, dtype=np.int64), np.arange(0, lag + 1)])]
    valid = ~(np.isnan(x) | np.isnan(y))
    n = valid.sum(axis=1)
    differ = np.count_nonzero(valid & (x != y), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        constant = np.zeros(x.shape[0], dtype=bool)
        for values in (x, y):  # constant over the complete pairs: R's cor gives NA (zero standard deviation)
            constant |= np.where(valid, values, -np.inf).max(axis=1) == np.where(valid, values, np.inf).min(
                axis=1
            )
        xc = np.where(valid, x - np.where(valid, x, 0.0).sum(axis=1, keepdims=True) / n[:, None], 0.0)
        yc = np.where(valid, y - np.where(valid, y, 0.0).sum(axis=1, keepdims=True) / n[:, None], 0.0)
        r = np.einsum("ij,ij->i", xc, yc) / (
            np.sqrt(np.einsum("ij,ij->i", xc, xc)) * np.sqrt(np.einsum("ij,ij->i", yc, yc))
        )
    r[constant | (differ < 2)] = np.nan
    return r


def _window_correlations(xw: np.ndarray, yw: np.ndarray, win: int, lag: int) -> np.ndarray:
    """Pearson r at lags -lag..lag for one window of ``win + lag`` samples of each series (NaN: missing)."""
    if np.isnan(xw).any() or np.isnan(yw).any():
        r = _masked_correlations(xw, yw, win, lag)
    else:
        r = np.empty(2 * lag + 1)
        r[lag:] = _fixed_vs_sliding(xw[:win], yw, win, lag)  # lag k >= 0: s1[t] with s2[t + k]
        r[:lag] = _fixed_vs_sliding(yw[:win], xw, win, lag)[1:][::-1]  # lag -k: s1[t + k] with s2[t]
    return np.clip(r, -1.0, 1.0)  # R's cor clamps rounding excursions beyond +-1


def ccf(
    mea: MEA,
    lag_s: float,
    window_s: float,
    increment_s: float,
    fisher_z: bool = True,
    absolute: bool = True,
) -> pd.DataFrame:
    """Windowed, lagged cross-correlation of the two series (rMEA's ``MEAccf``; its ``mea$ccf`` table).

    Parameters
    ----------
    mea : MEA
        The dyad (raw, smoothed or scaled).
    lag_s : float
        Largest lag in seconds, both directions (``lagSec``); must be a whole number of samples.
    window_s : float
        Window length in seconds (``winSec``).
    increment_s : float
        Step between window starts in seconds (``incSec``); smaller than ``window_s`` gives
        overlapping windows.
    fisher_z : bool
        Fisher's r-to-z (``atanh``, bounded to +-10) of every correlation (``r2Z``).
    absolute : bool
        Absolute values, after ``fisher_z`` (``ABS``).

    Returns
    -------
    pandas.DataFrame
        One row per window, indexed by the window's start in ms (``start_ms``), one column per lag in
        seconds (``lag_s``: ``-lag_s ... +lag_s`` in steps of one sample). Positive lags pair ``s1[t]``
        with ``s2[t + lag]``: high values there mean the second person follows the first. NaN where rMEA
        has NA. ``attrs`` holds the parameters, ``end_ms`` of every window, ``names`` and ``uid``.

    Raises
    ------
    ValueError
        If a duration is not a whole number of samples, or the recording is shorter than one window
        plus the lag.

    Examples
    --------
    >>> table = ccf(mea, lag_s=5, window_s=60, increment_s=30)  # doctest: +SKIP
    >>> table.loc[:, 0.0]  # lag zero, one value per window  # doctest: +SKIP
    """
    rate = mea.sampling_rate
    lag = _samples(lag_s, rate, "lag_s", minimum=0)
    win = _samples(window_s, rate, "window_s", minimum=2)
    inc = _samples(increment_s, rate, "increment_s", minimum=1)
    n = len(mea)
    n_win = math.ceil((n - win - lag + 1) / inc)
    if n_win <= 0:
        raise ValueError(
            f"Expected a recording of at least window + lag = {win + lag} samples "
            f"({(win + lag) / rate:g} s), but {mea.uid!r} has {n} samples."
        )
    span = win + lag
    out = np.full((n_win, 2 * lag + 1), np.nan)
    for w in range(n_win):
        start = w * inc
        xw, yw = mea.s1[start : start + span], mea.s2[start : start + span]
        if max(np.count_nonzero(np.isnan(xw)), np.count_nonzero(np.isnan(yw))) > span / 2:
            continue  # rMEA: too many missing samples, the whole window is NA
        out[w] = _window_correlations(xw, yw, win, lag)
    if fisher_z:
        with np.errstate(divide="ignore"):
            out = np.clip(np.arctanh(out), -_FISHER_BOUND, _FISHER_BOUND)
    if absolute:
        out = np.abs(out)
    starts = np.arange(n_win) * inc
    to_ms = 1000.0 / rate
    table = pd.DataFrame(
        out,
        index=pd.Index(np.round(starts * to_ms).astype(np.int64), name="start_ms"),
        columns=pd.Index(np.arange(-lag, lag + 1) / rate, name="lag_s"),
    )
    table.attrs.update(
        {
            "lag_s": lag_s,
            "window_s": window_s,
            "increment_s": increment_s,
            "fisher_z": fisher_z,
            "absolute": absolute,
            "sampling_rate": rate,
            "lag_samples": lag,
            "end_ms": np.round((starts + win) * to_ms).astype(np.int64).tolist(),
            "names": mea.names,
            "uid": mea.uid,
            "filter": mea.filter,
        }
    )
    return table


def _lag_samples(table: pd.DataFrame) -> int:
    lag = table.attrs.get("lag_samples")
    if lag is None:
        lag = (table.shape[1] - 1) // 2
    if table.shape[1] != 2 * int(lag) + 1:
        raise ValueError(
            f"Expected a table from ccf() with 2 * lag + 1 lag columns, but got {table.shape[1]} columns."
        )
    return int(lag)


def _row_means(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: NaN, like R's mean(na.rm = TRUE)
        return np.nanmean(values, axis=1) if values.shape[1] else np.full(values.shape[0], np.nan)


def ccf_summary(table: pd.DataFrame) -> pd.DataFrame:
    """rMEA's per-window summaries of a :func:`ccf` table (``mea$ccfRes``).

    Columns: ``all_lags`` (mean over all lags), ``s1_lead`` (mean over positive lags: the first
    person leads), ``s2_lead`` (mean over negative lags), ``lag_zero``, ``s1_lead_0`` and
    ``s2_lead_0`` (the same leads with lag zero included) and ``best_lag`` (the lag in seconds with the
    highest value; the first one on ties; rMEA's ``bestLag``). Means leave missing values out; a
    window with none gives NaN. With ``lag_s == 0`` the lead columns are left out, as in rMEA.

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`ccf`.

    Returns
    -------
    pandas.DataFrame
        One row per window, same index as ``table``.
    """
    lag = _lag_samples(table)
    values = table.to_numpy(dtype=np.float64)
    lags = np.asarray(table.columns, dtype=np.float64)
    summary: dict[str, np.ndarray] = {"all_lags": _row_means(values)}
    if lag > 0:
        summary["s1_lead"] = _row_means(values[:, lag + 1 :])
        summary["s2_lead"] = _row_means(values[:, :lag])
    summary["lag_zero"] = values[:, lag].copy()
    if lag > 0:
        summary["s1_lead_0"] = _row_means(values[:, lag:])
        summary["s2_lead_0"] = _row_means(values[:, : lag + 1])
    best = np.full(values.shape[0], np.nan)
    has_value = ~np.all(np.isnan(values), axis=1)
    if has_value.any():
        best[has_value] = lags[np.nanargmax(values[has_value], axis=1)]
    summary["best_lag"] = best
    out = pd.DataFrame(summary, index=table.index)
    out.attrs.update(table.attrs)
    return out


def grand_average(table: pd.DataFrame) -> float:
    """Mean of every value of a :func:`ccf` table, missing values left out (rMEA's ``grandAver``)."""
    values = table.to_numpy(dtype=np.float64)
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else math.nan


# ---------------------------------------------------------------------------------------------------------
# pseudo-synchrony


class _RRandom:
    """R's default random numbers: Mersenne-Twister seeded as ``set.seed(seed)`` does, and ``sample()``'s
    rejection sampling (R >= 3.6, ``sample.kind = "Rejection"``)."""

    _N, _M = 624, 397

    def __init__(self, seed: int) -> None:
        s = int(seed) & 0xFFFFFFFF
        for _ in range(50):  # R's initial scrambling of the seed
            s = (69069 * s + 1) & 0xFFFFFFFF
        state = []
        for _ in range(self._N + 1):
            s = (69069 * s + 1) & 0xFFFFFFFF
            state.append(s)
        self._mt = state[1:]  # state[0] is R's position counter, reset to 624 ("regenerate next")
        self._mti = self._N

    def _genrand(self) -> float:
        mt, n, m = self._mt, self._N, self._M
        if self._mti >= n:
            for k in range(n):
                y = (mt[k] & 0x80000000) | (mt[(k + 1) % n] & 0x7FFFFFFF)
                mt[k] = mt[(k + m) % n] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self._mti = 0
        y = mt[self._mti]
        self._mti += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y * 2.3283064365386963e-10

    def unif_rand(self) -> float:
        value = self._genrand()
        half = 0.5 * 2.328306437080797e-10  # R's fixup keeps values inside (0, 1)
        if value <= 0.0:
            return half
        if 1.0 - value <= 0.0:
            return 1.0 - half
        return value

    def _unif_index(self, dn: int) -> int:
        if dn <= 0:
            return 0
        bits = math.ceil(math.log2(dn))
        while True:
            v = 0
            for _ in range(0, bits + 1, 16):
                v = 65536 * v + math.floor(self.unif_rand() * 65536)
            v &= (1 << bits) - 1
            if dn > v:
                return v

    def sample(self, n: int, size: int) -> list[int]:
        """``sample(1:n, size)`` without replacement (1-based values)."""
        pool = list(range(n))
        chosen = []
        for _ in range(size):
            j = self._unif_index(n)
            chosen.append(pool[j] + 1)
            n -= 1
            pool[j] = pool[n]
        return chosen


def shuffle(
    meas: Sequence[MEA],
    size: int | Literal["max"] = "max",
    *,
    seed: int | None = None,
    keep_roles: bool = False,
) -> list[MEA]:
    """Pseudo-dyads: each series paired with series of other dyads, for pseudo-synchrony (rMEA's ``shuffle``).

    All series are listed (every first person, then every second person), every pair of them is
    formed in R's ``combn`` order, the real dyads are removed (and with ``keep_roles`` the pairs of two
    first or two second persons), and ``size`` pairs are drawn without replacement. The longer series
    of a pair is cut to the shorter and rows with a missing value are dropped, as in rMEA.

    Parameters
    ----------
    meas : sequence of MEA
        The real dyads (same sampling rate).
    size : int or "max"
        How many pseudo-dyads; "max" (or a number >= the possible pairs) gives them all, in order.
    seed : int, optional
        Seed of R's generator: ``shuffle(meas, 50, seed=42)`` picks the same pairs as
        ``set.seed(42); shuffle(mea, 50)`` in R. None draws a random seed.
    keep_roles : bool
        Only pair a first person with a second person (rMEA's ``keepRoles``).

    Returns
    -------
    list of MEA
        Pseudo-dyads with ``group="random"``, ids "0001", "0002", ..., session 1 and rMEA's ``uid``
        naming both sources (``"normal_200_1_Pat_|_normal_201_1_The"``).

    Examples
    --------
    >>> pseudo = shuffle(dyads, 50, seed=42)  # doctest: +SKIP
    >>> len(pseudo)  # doctest: +SKIP
    50
    """
    dyads = list(meas)
    if not dyads or not all(isinstance(m, MEA) for m in dyads):
        raise ValueError("Expected a non-empty list of MEA records, but got something else.")
    rates = {m.sampling_rate for m in dyads}
    if len(rates) > 1:
        raise ValueError(f"Expected dyads with one sampling rate, but got rates {sorted(rates)}.")
    n = len(dyads)
    series = [m.s1 for m in dyads] + [m.s2 for m in dyads]
    labels = [f"{m.uid}_{m.names[0][:3]}" for m in dyads] + [f"{m.uid}_{m.names[1][:3]}" for m in dyads]
    pairs = [
        (i, j)
        for i in range(2 * n)
        for j in range(i + 1, 2 * n)
        if j != i + n and (not keep_roles or (i < n) != (j < n))
    ]
    if (isinstance(size, str) and size != "max") or (not isinstance(size, str) and int(size) < 1):
        raise ValueError(f"Expected 'size' to be 'max' or a positive number, but got {size!r}.")
    if size == "max" or len(pairs) <= int(size):
        chosen = pairs
    else:
        if seed is None:
            seed = int(np.random.default_rng().integers(0, 2**31 - 1))
        picks = _RRandom(seed).sample(len(pairs), int(size))
        chosen = [pairs[k - 1] for k in picks]
    first = dyads[0]
    out = []
    for k, (i, j) in enumerate(chosen, start=1):
        a, b = series[i], series[j]
        length = min(a.size, b.size)
        a, b = a[:length], b[:length]
        keep = ~(np.isnan(a) | np.isnan(b))
        out.append(
            MEA(
                a[keep],
                b[keep],
                first.sampling_rate,
                names=first.names,
                id=f"{k:04d}",
                session=1,
                group="random",
                filter=first.filter,
                uid=f"{labels[i]}_|_{labels[j]}",
            )
        )
    return out
