"""Outcomes across cases: pre/post change, reliable change, effect sizes, goals, contingencies by phase.

Pure functions of tidy tables; nothing here opens a project. The usual inputs come
from the store: ``Project.measures_frame()`` (one row per score: ``case``,
``instrument``, ``scale``, ``time_point``, ``value``, ...), ``Project.goals()`` and the
annotations of each case's filmings.

Reliable change (Jacobson & Truax, 1991)
----------------------------------------
For one person and one instrument with scores ``x1`` (pre) and ``x2`` (post)::

    SE     = s1 * sqrt(1 - r_xx)       standard error of measurement
    S_diff = sqrt(2 * SE**2)           standard error of the difference of two scores
    RC     = (x2 - x1) / S_diff        reliable when |RC| > 1.96 (p < .05, two-sided)

``s1`` is the standard deviation of the pre scores: a normative or published value when
given (``sd_pre``), else the sample's own pre-score SD (``ddof=1``) across cases;
``r_xx`` is the instrument's test-retest reliability. Which way is *better* comes from the
instrument (:mod:`workbench.instruments`: the shipped instruments, checked against their manuals);
``lower_is_better`` / ``higher_is_better`` declare or override it. An instrument with no known
direction is reported as such: its change is neither an improvement nor a deterioration. Clinically
significant change (Jacobson & Truax's
"recovered") additionally asks that the person moves from the dysfunctional to the
functional side of a cutoff score (:func:`jt_cutoff` gives their criteria a, b and c).

Effect sizes for paired (pre/post) data (Lakens, 2013)
------------------------------------------------------
With ``n`` cases having both scores, change ``D = post - pre``::

    d_z  = mean(D) / sd(D)                                  (t = d_z * sqrt(n))
    d_av = mean(D) / ((sd(pre) + sd(post)) / 2)

Hedges' small-sample correction multiplies by the *exact* factor
``J(df) = Gamma(df/2) / (sqrt(df/2) * Gamma((df-1)/2))`` (Hedges, 1981), not the
approximation ``1 - 3/(4 df - 1)`` (which differs from it by less than 0.001 from
``df = 6``): ``g_z = J(n-1) d_z`` and ``g_av = J(2(n-1)) d_av`` (the degrees of freedom of
two groups of ``n``, as in Lakens' (2013) formula 4 with ``n1 = n2 = n``). The confidence
interval of ``d_z`` inverts the noncentral t distribution (``scipy.stats.nct``): the
limits are the noncentrality parameters under which the observed ``t`` sits at the
upper and lower ``alpha/2`` quantiles, divided by ``sqrt(n)`` (Cumming & Finch, 2001;
the method of MBESS's ``conf.limits.nct``). The p value is the paired t-test's
(``scipy.stats.ttest_rel``).

References
----------
Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach to
defining meaningful change in psychotherapy research. *Journal of Consulting and
Clinical Psychology*, 59(1), 12-19.

Lakens, D. (2013). Calculating and reporting effect sizes to facilitate cumulative
science: a practical primer for t-tests and ANOVAs. *Frontiers in Psychology*, 4, 863.

Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and
related estimators. *Journal of Educational Statistics*, 6(2), 107-128.

Cumming, G., & Finch, S. (2001). A primer on the understanding, use, and calculation of
confidence intervals that are based on central and noncentral distributions.
*Educational and Psychological Measurement*, 61(4), 532-574.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import warnings
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from workbench.analysis.contingency import OUTCOMES, contingencies, contingency_summary
from workbench.annotations import AnnotationTable
from workbench.instruments import Instruments, default_instruments
from workbench.model import Case, Goal
from workbench.scheme import CodingScheme

__all__ = [
    "DIRECTIONS",
    "UNKNOWN",
    "contingency_by_phase",
    "effect_sizes",
    "goal_trajectories",
    "hedges_j",
    "jt_cutoff",
    "pre_post",
]

#: An instrument, or one scale of an instrument, as a key of the per-instrument options.
Key = str | tuple[str, str]

#: What :func:`pre_post` says about each person's change, in this order ("reliable, direction unknown"
#: when the change is reliable but which way is better on the instrument is not known).
DIRECTIONS: tuple[str, ...] = ("improved", "no reliable change", "deteriorated", "reliable, direction unknown",
                               "not assessed", "incomplete")
#: The ``better`` of an instrument whose direction is not known.
UNKNOWN = "unknown"

_MEASURE_COLUMNS = ("case", "instrument", "time_point", "value")


# -- small helpers --------------------------------------------------------------------------------


def _check_measures(measures: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(measures, pd.DataFrame):
        raise TypeError(f"Expected a DataFrame of measures (Project.measures_frame()), but got "
                        f"{type(measures).__name__}.")
    missing = [c for c in _MEASURE_COLUMNS if c not in measures.columns]
    if missing:
        raise ValueError(f"Expected a measures frame with columns {', '.join(_MEASURE_COLUMNS)} (and optionally "
                         f"scale, case_id), but it lacks {', '.join(missing)}.")
    df = measures.copy()
    if "scale" not in df.columns:
        df["scale"] = ""
    df["scale"] = df["scale"].fillna("").astype(str)
    df["instrument"] = df["instrument"].astype(str)
    df["case"] = df["case"].astype(str)
    df["time_point"] = df["time_point"].astype(str)
    try:
        df["value"] = pd.to_numeric(df["value"]).astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Expected numeric measure values, but: {exc}") from None
    return df


def _label(instrument: str, scale: str) -> str:
    return f"{instrument} · {scale}" if scale else instrument


def _lookup(mapping: Mapping[Any, Any] | None, instrument: str, scale: str) -> Any:
    """A per-instrument option: the (instrument, scale) key wins over the instrument key."""
    if not mapping:
        return None
    if (instrument, scale) in mapping:
        return mapping[(instrument, scale)]
    return mapping.get(instrument)


def _keys(keys: Collection[Key]) -> Collection[Key]:
    """A lone instrument name (a str is itself a collection of letters) as a set of one."""
    return {keys} if isinstance(keys, str) else keys


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _in(keys: Collection[Any], instrument: str, scale: str) -> bool:
    return (instrument, scale) in keys or instrument in keys


def _warn_unused(name: str, keys: Iterable[Any], present: set[tuple[str, str]]) -> None:
    if not present:  # no measures at all: nothing to name
        return
    instruments = {i for i, _ in present}
    unused = [k for k in keys if not (k in instruments or (isinstance(k, tuple) and tuple(k) in present))]
    if unused:
        have = ", ".join(sorted(_label(i, s) for i, s in present)) or "none"
        warnings.warn(
            f"Expected the keys of {name} to name instruments in the measures ({have}), but these name none: "
            f"{', '.join(repr(k) for k in unused)}; they are ignored.",
            stacklevel=3,
        )


def _directions(
    present: set[tuple[str, str]],
    lower_is_better: Collection[Key],
    higher_is_better: Collection[Key],
    instruments: Instruments | None,
) -> dict[tuple[str, str], tuple[str, str]]:
    """(better, where it comes from) per (instrument, scale): the parameters, else the instruments' data.

    ``better`` is "higher", "lower" or :data:`UNKNOWN`; the source "given", "instrument" or "".
    """
    both = [k for k in lower_is_better if k in set(higher_is_better)]
    if both:
        raise ValueError(f"Expected an instrument in lower_is_better or in higher_is_better, not both, but got "
                         f"{', '.join(map(repr, both))} in both.")
    known = default_instruments() if instruments is None else instruments
    out: dict[tuple[str, str], tuple[str, str]] = {}
    unknown: list[str] = []
    for instrument, scale in sorted(present):
        if _in(lower_is_better, instrument, scale):
            out[(instrument, scale)] = ("lower", "given")
        elif _in(higher_is_better, instrument, scale):
            out[(instrument, scale)] = ("higher", "given")
        elif (better := known.better(instrument, scale)) is not None:
            out[(instrument, scale)] = (better, "instrument")
        else:
            out[(instrument, scale)] = (UNKNOWN, "")
            unknown.append(_label(instrument, scale))
    if unknown:
        warnings.warn(
            f"Expected to know which way is better on every instrument, but not on {', '.join(unknown)} (not among "
            "the known instruments, or a scale without a direction); its change is reported without 'improved' or "
            "'deteriorated'. Declare it with lower_is_better=[...] or higher_is_better=[...].",
            stacklevel=3,
        )
    return out


def _instrument_value(instruments: Instruments | None, attr: str, instrument: str, scale: str) -> float | None:
    """A scale's ``reliability`` or ``normative_sd`` from the instruments' data, if it gives one."""
    found = (default_instruments() if instruments is None else instruments).scale(instrument, scale)
    return None if found is None else getattr(found, attr)


def _wide(df: pd.DataFrame, pre: str, post: str) -> pd.DataFrame:
    """One row per case, instrument and scale with its ``pre`` and ``post`` score."""
    df = df[df["time_point"].isin([pre, post])]
    keys = ["case", "instrument", "scale", "time_point"]
    dup = df[df.duplicated(keys, keep=False)]
    if len(dup):
        r = dup.iloc[0]
        n = int(((dup["case"] == r["case"]) & (dup["instrument"] == r["instrument"])
                 & (dup["scale"] == r["scale"]) & (dup["time_point"] == r["time_point"])).sum())
        raise ValueError(
            f"Expected one {r['time_point']!r} score per case and instrument, but case {r['case']!r} has {n} for "
            f"{_label(r['instrument'], r['scale'])}; delete or relabel the extra measures."
        )
    index = ["case", "instrument", "scale"]
    if "case_id" in df.columns:
        ids = df.groupby("case", sort=False)["case_id"].first()
    wide = df.pivot(index=index, columns="time_point", values="value")
    wide = wide.reindex(columns=[pre, post]).rename(columns={pre: "pre", post: "post"})
    wide.columns.name = None
    wide = wide.reset_index()
    if "case_id" in df.columns:
        wide.insert(1, "case_id", wide["case"].map(ids).astype("Int64"))
    return wide.sort_values(["instrument", "scale", "case"], kind="mergesort").reset_index(drop=True)


def _check_time_points(df: pd.DataFrame, pre: str, post: str) -> None:
    if pre == post:
        raise ValueError(f"Expected different pre and post time points, but both are {pre!r}.")
    seen = set(df["time_point"])
    for name, tp in (("pre", pre), ("post", post)):
        if tp not in seen and len(df):
            raise ValueError(f"Expected {name} time point {tp!r} in the measures, but the time points are "
                             f"{', '.join(sorted(map(repr, seen)))}.")


def hedges_j(df: float) -> float:
    """Hedges' exact small-sample correction factor ``J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2))``.

    Parameters
    ----------
    df : float
        Degrees of freedom of the standardiser (> 1).

    Returns
    -------
    float
        The factor (< 1; tends to 1 as ``df`` grows); NaN for ``df <= 1``.

    Examples
    --------
    >>> round(hedges_j(18), 4), round(1 - 3 / (4 * 18 - 1), 4)
    (0.9576, 0.9577)
    """
    if not df > 1:
        return float("nan")
    return float(math.exp(special.gammaln(df / 2) - 0.5 * math.log(df / 2) - special.gammaln((df - 1) / 2)))


def _nct_ci(t: float, df: float, confidence: float) -> tuple[float, float]:
    """Noncentrality parameters (lower, upper) that put ``t`` at the upper / lower ``alpha/2`` quantile."""
    if not (math.isfinite(t) and df > 0):
        return float("nan"), float("nan")
    alpha = 1.0 - confidence

    def solve(target: float) -> float:
        def f(ncp: float) -> float:
            return float(stats.nct.cdf(t, df, ncp)) - target  # decreasing in ncp

        step = 1.0 + abs(t)
        lo, hi = t - step, t + step
        for _ in range(60):
            if f(lo) > 0:
                break
            lo -= step
            step *= 2
        step = 1.0 + abs(t)
        for _ in range(60):
            if f(hi) < 0:
                break
            hi += step
            step *= 2
        return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500))

    return solve(1.0 - alpha / 2), solve(alpha / 2)


# -- reliable change --------------------------------------------------------------------------------


def jt_cutoff(
    criterion: Literal["a", "b", "c"],
    *,
    m_dysfunctional: float | None = None,
    sd_dysfunctional: float | None = None,
    m_functional: float | None = None,
    sd_functional: float | None = None,
    lower_is_better: bool = False,
) -> float:
    """A cutoff score for clinically significant change (Jacobson & Truax, 1991).

    Parameters
    ----------
    criterion : {"a", "b", "c"}
        ``"a"``: two standard deviations beyond the dysfunctional mean, in the direction of
        functioning; ``"b"``: within two standard deviations of the functional mean;
        ``"c"``: the point between the two means weighted by their SDs,
        ``(sd_f * m_d + sd_d * m_f) / (sd_d + sd_f)`` (more likely functional than not).
    m_dysfunctional, sd_dysfunctional : float
        Mean and SD of the dysfunctional (clinical, pre-treatment) population (a and c).
    m_functional, sd_functional : float
        Mean and SD of the functional (normative) population (b and c).
    lower_is_better : bool
        Whether lower scores mean better functioning (symptoms, stress).

    Returns
    -------
    float
        The cutoff; pass it to :func:`pre_post` as ``cutoffs={instrument: value}``.

    Examples
    --------
    Jacobson & Truax's (1991) hypothetical scale (dysfunctional 40 +- 7.5, functional 60 +- 7.5):

    >>> [jt_cutoff(c, m_dysfunctional=40, sd_dysfunctional=7.5, m_functional=60, sd_functional=7.5)
    ...  for c in "abc"]
    [55.0, 45.0, 50.0]
    """
    sign = -1.0 if lower_is_better else 1.0

    def need(**values: float | None) -> list[float]:
        missing = [k for k, v in values.items() if v is None]
        if missing:
            raise ValueError(f"Expected {', '.join(missing)} for criterion {criterion!r}, but got none.")
        out = [float(v) for v in values.values() if v is not None]
        if any(not math.isfinite(v) for v in out):
            raise ValueError(f"Expected finite means and SDs for criterion {criterion!r}, but got {values}.")
        return out

    if criterion == "a":
        m, s = need(m_dysfunctional=m_dysfunctional, sd_dysfunctional=sd_dysfunctional)
        return m + sign * 2 * s
    if criterion == "b":
        m, s = need(m_functional=m_functional, sd_functional=sd_functional)
        return m - sign * 2 * s
    if criterion == "c":
        md, sd_, mf, sf = need(m_dysfunctional=m_dysfunctional, sd_dysfunctional=sd_dysfunctional,
                               m_functional=m_functional, sd_functional=sd_functional)
        if sd_ + sf <= 0:
            raise ValueError(f"Expected positive SDs for criterion 'c', but got {sd_:g} and {sf:g}.")
        return (sf * md + sd_ * mf) / (sd_ + sf)
    raise ValueError(f"Invalid value for the 'criterion' parameter. Allowed values are 'a', 'b' and 'c', "
                     f"but got {criterion!r} instead.")


def pre_post(
    measures: pd.DataFrame,
    *,
    pre: str = "pre",
    post: str = "post",
    reliability: Mapping[Key, float] | None = None,
    sd_pre: Mapping[Key, float] | None = None,
    lower_is_better: Collection[Key] = (),
    higher_is_better: Collection[Key] = (),
    cutoffs: Mapping[Key, float] | None = None,
    critical: float = 1.96,
    instruments: Instruments | None = None,
) -> pd.DataFrame:
    """Each case's pre and post score per instrument, with Jacobson & Truax's reliable change index.

    Parameters
    ----------
    measures : DataFrame
        Tidy scores, as from ``Project.measures_frame()``: columns ``case``,
        ``instrument``, ``time_point``, ``value`` (and optionally ``scale``, ``case_id``).
        Each case may have one ``pre`` and one ``post`` score per instrument and scale.
    pre, post : str
        The time points to compare (e.g. ``post="follow-up"``).
    reliability : mapping, optional
        Test-retest reliability ``r_xx`` (0 <= r < 1) per instrument name, or per
        ``(instrument, scale)`` (which wins); else the instrument's own, where its data
        gives one (:mod:`workbench.instruments`). Instruments without one get no RCI
        (``direction`` ``"not assessed"``) and a warning.
    sd_pre : mapping, optional
        The SD ``s1`` of pre scores per instrument (a normative or published value); else
        the instrument's normative SD where its data gives one; else the SD of this sample's
        pre scores across cases (``sd_source``: "given", "instrument" or "sample").
    lower_is_better, higher_is_better : collection of str or (str, str)
        Instruments (or instrument scales) on which a decrease (an increase) is an
        improvement. Without them, the direction comes from the instrument
        (``instruments``); an instrument whose direction is not known gets ``better``
        ``"unknown"``, no ``improvement`` and a warning.
    cutoffs : mapping, optional
        A cutoff score per instrument (see :func:`jt_cutoff`) for clinically significant
        change: adds ``cutoff``, ``functional_pre``, ``functional_post``,
        ``clinically_significant`` and Jacobson & Truax's ``jt_category``
        (recovered / improved / unchanged / deteriorated).
    critical : float
        ``|RC|`` above this is reliable (1.96: p < .05 two-sided).
    instruments : Instruments, optional
        Where directions, reliabilities and normative SDs of known instruments come from
        (default: the shipped ones, :func:`workbench.instruments.default_instruments`).

    Returns
    -------
    DataFrame
        One row per case, instrument and scale: ``case, [case_id,] instrument, scale,
        label, pre, post, change`` (post - pre), ``better`` ("higher", "lower" or
        "unknown"), ``better_source`` ("given", "instrument" or ""), ``improvement``
        (change signed so that positive is better; NaN when the direction is unknown),
        ``sd_pre``, ``sd_source``, ``reliability``, ``reliability_source``,
        ``se_measurement``, ``s_diff``, ``rc_threshold``
        (the smallest raw change that is reliable, ``critical * s_diff``), ``rci``,
        ``reliable`` and ``direction`` (one of :data:`DIRECTIONS`); ``attrs["params"]``
        records the parameters.

    Raises
    ------
    ValueError
        For missing columns, unknown time points, a case with two scores at one time
        point, or a reliability outside [0, 1) or a non-positive SD.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"case": ["A", "A"], "instrument": ["PSI-SF"] * 2, "time_point": ["pre", "post"],
    ...                   "value": [112.0, 88.0]})
    >>> row = pre_post(m, reliability={"PSI-SF": 0.84}, sd_pre={"PSI-SF": 20.0}).iloc[0]
    >>> row.better, row.better_source, round(float(row.rci), 2), row.direction
    ('lower', 'instrument', -2.12, 'improved')
    """
    if not (_real(critical) and critical > 0):
        raise ValueError(f"Expected a positive critical value, but got {critical!r}.")
    lower_is_better, higher_is_better = _keys(lower_is_better), _keys(higher_is_better)
    df = _check_measures(measures)
    _check_time_points(df, pre, post)
    present = set(zip(df["instrument"], df["scale"], strict=True))
    for name, option in (("reliability", reliability), ("sd_pre", sd_pre), ("lower_is_better", lower_is_better),
                         ("higher_is_better", higher_is_better), ("cutoffs", cutoffs)):
        if option:
            _warn_unused(name, option, present)
    directions = _directions(present, lower_is_better, higher_is_better, instruments)
    wide = _wide(df, pre, post)

    rows: list[dict[str, Any]] = []
    no_reliability: list[str] = []
    for (instrument, scale), g in wide.groupby(["instrument", "scale"], sort=False):
        better, better_source = directions[(instrument, scale)]
        r = _lookup(reliability, instrument, scale)
        r_source = "given"
        if r is None and (r := _instrument_value(instruments, "reliability", instrument, scale)) is not None:
            r_source = "instrument"
        if r is not None and not (_real(r) and 0 <= r < 1):
            raise ValueError(f"Expected a reliability in [0, 1) for {_label(instrument, scale)}, but got {r!r}.")
        s1 = _lookup(sd_pre, instrument, scale)
        source = "given"
        if s1 is None and (s1 := _instrument_value(instruments, "normative_sd", instrument, scale)) is not None:
            source = "instrument"
        if s1 is None:
            pre_scores = g["pre"].dropna()
            s1 = float(pre_scores.std(ddof=1)) if len(pre_scores) >= 2 else float("nan")
            source = "sample"
        elif not (_real(s1) and s1 > 0):
            raise ValueError(f"Expected a positive sd_pre for {_label(instrument, scale)}, but got {s1!r}.")
        if r is None:
            no_reliability.append(_label(instrument, scale))
        elif not math.isfinite(s1):
            warnings.warn(
                f"Expected two or more pre scores of {_label(instrument, scale)} to estimate its SD, but got "
                f"{int(g['pre'].notna().sum())}; its reliable change is 'not assessed'. Pass sd_pre={{instrument: s1}} "
                f"(a normative SD).",
                stacklevel=2,
            )
        se = s1 * math.sqrt(1 - r) if r is not None else float("nan")
        s_diff = math.sqrt(2 * se**2) if r is not None else float("nan")
        cutoff = _lookup(cutoffs, instrument, scale)
        for row in g.itertuples(index=False):
            change = row.post - row.pre
            improvement = {"lower": -change, "higher": change}.get(better, float("nan"))
            rci = change / s_diff if s_diff > 0 else float("nan")
            complete = not (math.isnan(row.pre) or math.isnan(row.post))
            reliable = bool(abs(rci) > critical) if math.isfinite(rci) else False
            if not complete:
                direction = "incomplete"
            elif not math.isfinite(rci):
                direction = "not assessed"
            elif reliable and better == UNKNOWN:
                direction = "reliable, direction unknown"
            elif reliable:
                direction = "improved" if improvement > 0 else "deteriorated"
            else:
                direction = "no reliable change"
            out: dict[str, Any] = {"case": row.case}
            if "case_id" in wide.columns:
                out["case_id"] = row.case_id
            out.update(
                instrument=instrument, scale=scale, label=_label(instrument, scale), pre=row.pre, post=row.post,
                change=change, better=better, better_source=better_source, improvement=improvement, sd_pre=s1,
                sd_source=source, reliability=float("nan") if r is None else float(r),
                reliability_source="" if r is None else r_source, se_measurement=se,
                s_diff=s_diff, rc_threshold=critical * s_diff, rci=rci,
                reliable=reliable if complete and math.isfinite(rci) else pd.NA, direction=direction,
            )
            if cutoffs is not None:
                out.update(_clinical(cutoff, row.pre, row.post, better, direction))
            rows.append(out)
    if no_reliability:
        warnings.warn(
            f"Expected a reliability for every instrument, but got none for {', '.join(no_reliability)}; "
            f"their reliable change is 'not assessed'. Pass reliability={{instrument: r_xx}}.",
            stacklevel=2,
        )
    out_df = pd.DataFrame(rows, columns=_pre_post_columns("case_id" in wide.columns, cutoffs is not None))
    out_df["reliable"] = out_df["reliable"].astype("boolean")
    out_df["direction"] = pd.Categorical(out_df["direction"], categories=list(DIRECTIONS))
    out_df.attrs["params"] = {
        "pre": pre, "post": post, "critical": critical,
        "reliability": {str(k): v for k, v in (reliability or {}).items()},
        "sd_pre": {str(k): v for k, v in (sd_pre or {}).items()},
        "lower_is_better": sorted(str(k) for k in lower_is_better),
        "higher_is_better": sorted(str(k) for k in higher_is_better),
        "instruments": (default_instruments() if instruments is None else instruments).source,
        "cutoffs": None if cutoffs is None else {str(k): v for k, v in cutoffs.items()},
        "method": "Jacobson & Truax (1991): RC = (x2 - x1) / sqrt(2 (s1 sqrt(1 - r_xx))^2)",
    }
    return out_df


def _pre_post_columns(with_id: bool, with_cutoffs: bool) -> list[str]:
    cols = ["case"] + (["case_id"] if with_id else []) + [
        "instrument", "scale", "label", "pre", "post", "change", "better", "better_source", "improvement", "sd_pre",
        "sd_source", "reliability", "reliability_source", "se_measurement", "s_diff", "rc_threshold", "rci",
        "reliable", "direction",
    ]
    if with_cutoffs:
        cols += ["cutoff", "functional_pre", "functional_post", "clinically_significant", "jt_category"]
    return cols


def _clinical(cutoff: float | None, pre: float, post: float, better: str, direction: str) -> dict[str, Any]:
    if cutoff is None or better == UNKNOWN or math.isnan(pre) or math.isnan(post):
        return {"cutoff": float("nan") if cutoff is None else float(cutoff), "functional_pre": pd.NA,
                "functional_post": pd.NA, "clinically_significant": pd.NA, "jt_category": pd.NA}

    def functional(x: float) -> bool:
        return x < cutoff if better == "lower" else x > cutoff

    sig = direction == "improved" and not functional(pre) and functional(post)
    if direction == "deteriorated":
        category = "deteriorated"
    elif sig:
        category = "recovered"
    elif direction == "improved":
        category = "improved"
    elif direction == "no reliable change":
        category = "unchanged"
    else:
        category = pd.NA
    return {"cutoff": float(cutoff), "functional_pre": functional(pre), "functional_post": functional(post),
            "clinically_significant": sig if direction != "not assessed" else pd.NA, "jt_category": category}


# -- effect sizes -------------------------------------------------------------------------------------


def effect_sizes(
    measures: pd.DataFrame,
    *,
    pre: str = "pre",
    post: str = "post",
    lower_is_better: Collection[Key] = (),
    higher_is_better: Collection[Key] = (),
    confidence: float = 0.95,
    instruments: Instruments | None = None,
) -> pd.DataFrame:
    """Paired effect sizes per instrument across cases: d_z, d_av, Hedges' g, CIs and the paired t-test.

    Parameters
    ----------
    measures : DataFrame
        Tidy scores as for :func:`pre_post`; only cases with both scores count.
    pre, post : str
        The time points to compare; change is ``post - pre``.
    lower_is_better, higher_is_better : collection of str or (str, str)
        Instruments on which a decrease (an increase) is an improvement; without them the
        direction comes from the instrument, as in :func:`pre_post`. They set ``better`` and
        ``favours``; the numbers keep the sign of ``post - pre``.
    confidence : float
        Level of the confidence intervals.
    instruments : Instruments, optional
        Where the directions of known instruments come from (default: the shipped ones).

    Returns
    -------
    DataFrame
        One row per instrument and scale: ``instrument, scale, label, n, mean_pre, sd_pre,
        mean_post, sd_post, r_pre_post, mean_change, sd_change, change_ci_low,
        change_ci_high`` (t interval of the mean change), ``t, df, p`` (paired t-test),
        ``d_z, d_z_ci_low, d_z_ci_high`` (noncentral-t interval), ``g_z`` (``J(n-1) d_z``),
        ``d_av, g_av`` (``J(2(n-1)) d_av``), ``better`` ("higher", "lower" or "unknown"),
        ``better_source`` and ``favours`` ("improvement", "deterioration", "no change" or
        "direction unknown"). Statistics that need two cases or a non-zero SD are NaN.
        ``attrs["params"]`` records the methods.

    Examples
    --------
    Lakens' (2013) movie ratings, the second movie as "pre":

    >>> import pandas as pd
    >>> first, second = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9], [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]
    >>> m = pd.DataFrame({"case": [str(i) for i in range(10)] * 2, "instrument": "rating",
    ...                   "time_point": ["pre"] * 10 + ["post"] * 10, "value": second + first})
    >>> r = effect_sizes(m, higher_is_better=["rating"]).iloc[0]
    >>> round(float(r.t), 2), round(float(r.d_z), 2), round(float(r.d_av), 2), round(float(r.g_av), 2)
    (4.74, 1.5, 1.13, 1.08)
    """
    if not (_real(confidence) and 0 < confidence < 1):
        raise ValueError(f"Expected a confidence level between 0 and 1, but got {confidence!r}.")
    lower_is_better, higher_is_better = _keys(lower_is_better), _keys(higher_is_better)
    df = _check_measures(measures)
    _check_time_points(df, pre, post)
    present = set(zip(df["instrument"], df["scale"], strict=True))
    for name, option in (("lower_is_better", lower_is_better), ("higher_is_better", higher_is_better)):
        if option:
            _warn_unused(name, option, present)
    directions = _directions(present, lower_is_better, higher_is_better, instruments)
    wide = _wide(df, pre, post)
    rows = []
    for (instrument, scale), g in wide.groupby(["instrument", "scale"], sort=False):
        both = g.dropna(subset=["pre", "post"])
        x1, x2 = both["pre"].to_numpy(float), both["post"].to_numpy(float)
        better, better_source = directions[(instrument, scale)]
        rows.append({"instrument": instrument, "scale": scale, "label": _label(instrument, scale),
                     **_paired(x1, x2, confidence), "better": better, "better_source": better_source})
    columns = ["instrument", "scale", "label", "n", "mean_pre", "sd_pre", "mean_post", "sd_post", "r_pre_post",
               "mean_change", "sd_change", "change_ci_low", "change_ci_high", "t", "df", "p", "d_z", "d_z_ci_low",
               "d_z_ci_high", "g_z", "d_av", "g_av", "better", "better_source", "favours"]
    out = pd.DataFrame(rows, columns=columns)
    if len(out):
        sign = out["better"].map({"lower": -1.0, "higher": 1.0}).to_numpy(float) * np.sign(
            out["mean_change"].to_numpy(float))
        out["favours"] = np.select([out["better"] == UNKNOWN, sign > 0, sign < 0],
                                   ["direction unknown", "improvement", "deterioration"], "no change")
    out["n"] = out["n"].astype("int64")
    out.attrs["params"] = {
        "pre": pre, "post": post, "confidence": confidence, "lower_is_better": sorted(str(k) for k in lower_is_better),
        "higher_is_better": sorted(str(k) for k in higher_is_better),
        "instruments": (default_instruments() if instruments is None else instruments).source,
        "hedges_correction": "exact J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)); g_z df = n-1, g_av df = 2(n-1)",
        "d_z_ci": "noncentral t inversion (scipy.stats.nct), limits / sqrt(n)",
        "test": "paired t-test (scipy.stats.ttest_rel), two-sided",
    }
    return out


def _paired(x1: np.ndarray, x2: np.ndarray, confidence: float) -> dict[str, float]:
    n = len(x1)
    nan = float("nan")
    out: dict[str, Any] = dict.fromkeys(
        ["mean_pre", "sd_pre", "mean_post", "sd_post", "r_pre_post", "mean_change", "sd_change", "change_ci_low",
         "change_ci_high", "t", "df", "p", "d_z", "d_z_ci_low", "d_z_ci_high", "g_z", "d_av", "g_av"], nan)
    out["n"] = n
    if n == 0:
        return out
    d = x2 - x1
    out.update(mean_pre=float(x1.mean()), mean_post=float(x2.mean()), mean_change=float(d.mean()))
    if n < 2:
        return out
    sd1, sd2, sdd = float(x1.std(ddof=1)), float(x2.std(ddof=1)), float(d.std(ddof=1))
    out.update(sd_pre=sd1, sd_post=sd2, sd_change=sdd, df=float(n - 1))
    if sd1 > 0 and sd2 > 0:
        out["r_pre_post"] = float(np.corrcoef(x1, x2)[0, 1])
    mean = out["mean_change"]
    q = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    if sdd > 0:
        se = sdd / math.sqrt(n)
        t = mean / se
        out.update(change_ci_low=mean - q * se, change_ci_high=mean + q * se, t=t,
                   p=float(stats.ttest_rel(x2, x1).pvalue), d_z=mean / sdd, g_z=hedges_j(n - 1) * mean / sdd)
        lo, hi = _nct_ci(t, n - 1, confidence)
        out.update(d_z_ci_low=lo / math.sqrt(n), d_z_ci_high=hi / math.sqrt(n))
    else:
        out.update(change_ci_low=mean, change_ci_high=mean)
    if sd1 + sd2 > 0:
        d_av = mean / ((sd1 + sd2) / 2)
        out.update(d_av=d_av, g_av=hedges_j(2 * (n - 1)) * d_av)
    return out


# -- goals ---------------------------------------------------------------------------------------------


def goal_trajectories(
    goals: Iterable[Goal],
    cases: Mapping[int, str] | Iterable[Case] | None = None,
) -> pd.DataFrame:
    """Goal ratings over time, tidy: one row per rating.

    Parameters
    ----------
    goals : iterable of Goal
        As from ``Project.goals()`` (each with its ratings).
    cases : mapping of case id to pseudonym, or iterable of Case, optional
        Names the ``case`` column (default: the case id as text). Only pseudonyms are used.

    Returns
    -------
    DataFrame
        Columns ``case, case_id, goal_id, goal, date`` (datetime64), ``value, days``
        (since the goal's first rating), ``scale_min, scale_max`` and ``percent`` (the
        value as a percentage of the goal's scale), sorted by case, goal and date.

    Examples
    --------
    >>> import datetime as dt
    >>> from workbench.model import Goal, GoalRating
    >>> g = Goal(1, 7, "Turn taking", 0, 10, (GoalRating(1, 1, dt.date(2026, 1, 1), 3),
    ...                                       GoalRating(2, 1, dt.date(2026, 1, 15), 6)))
    >>> goal_trajectories([g], {7: "Aster"})[["case", "days", "value", "percent"]].values.tolist()
    [['Aster', 0, 3.0, 30.0], ['Aster', 14, 6.0, 60.0]]
    """
    names: dict[int, str] = {}
    if cases is not None:
        if isinstance(cases, Mapping):
            names = {int(k): str(v) for k, v in cases.items()}
        else:
            for c in cases:
                if not isinstance(c, Case):
                    raise TypeError(f"Expected Case records or a mapping of case id to pseudonym, but got "
                                    f"{type(c).__name__}.")
                names[c.id] = c.pseudonym
    rows = []
    for goal in goals:
        if not isinstance(goal, Goal):
            raise TypeError(f"Expected Goal records (Project.goals()), but got {type(goal).__name__}.")
        ratings = sorted(goal.ratings, key=lambda r: (r.date, r.id))
        first = ratings[0].date if ratings else None
        span = goal.scale_max - goal.scale_min
        for rating in ratings:
            day = rating.date.date() if isinstance(rating.date, dt.datetime) else rating.date
            rows.append({
                "case": names.get(goal.case_id, str(goal.case_id)), "case_id": goal.case_id, "goal_id": goal.id,
                "goal": goal.text, "date": pd.Timestamp(day), "value": float(rating.value),
                "days": (rating.date - first).days if first is not None else 0,
                "scale_min": goal.scale_min, "scale_max": goal.scale_max,
                "percent": 100.0 * (rating.value - goal.scale_min) / span if span > 0 else float("nan"),
            })
    columns = ["case", "case_id", "goal_id", "goal", "date", "value", "days", "scale_min", "scale_max", "percent"]
    out = pd.DataFrame(rows, columns=columns)
    out["date"] = pd.to_datetime(out["date"])
    out = out.astype({"case_id": "int64", "goal_id": "int64", "days": "int64", "value": "float64"})
    return out.sort_values(["case", "goal_id", "date"], kind="mergesort").reset_index(drop=True)


# -- contingencies by phase --------------------------------------------------------------------------------


def contingency_by_phase(
    recordings: Iterable[tuple[str, str, AnnotationTable, int | None]],
    scheme: CodingScheme,
    *,
    window_ms: tuple[int, int] = (0, 3000),
) -> pd.DataFrame:
    """Attunement contingencies of many cases and phases (e.g. pre / post) in one tidy table.

    Each item is one coding (one coder) of a case in a phase; it is classified with
    :func:`~workbench.analysis.contingency.contingencies` and summarised with
    :func:`~workbench.analysis.contingency.contingency_summary`.

    Parameters
    ----------
    recordings : iterable of (case, phase, AnnotationTable, duration_ms)
        ``case`` a pseudonym, ``phase`` a label such as ``"pre"`` or ``"cycle 3"``, the
        annotations of one coder, and the recording length in ms (for rates per minute;
        ``None`` to use the span of the initiatives).
    scheme : CodingScheme
        Gives each code's contact kind.
    window_ms : (int, int)
        The answer window after each initiative.

    Returns
    -------
    DataFrame
        One row per case, phase, recording and actor pair: ``case, phase`` (categorical, in
        order of first appearance), ``recording_id, actor, partner, pair`` ("child ->
        parent"), ``initiatives``, a count and ``p_`` proportion per outcome
        (attuned, received, discordant, missed), ``attuned_per_min``, reception latency
        median and IQR, ``longest_attuned_chain`` and ``duration_ms``. A coding without
        initiatives gives one row with zero counts. ``attrs["params"]`` records the window
        and the scheme.

    Raises
    ------
    TypeError
        If an item is not a (str, str, AnnotationTable, int or None) tuple.
    ValueError
        If a coding mixes coders.
    """
    frames = []
    phases: list[str] = []
    for i, item in enumerate(recordings):
        if not (isinstance(item, tuple | list) and len(item) == 4):
            raise TypeError(f"Expected (case, phase, AnnotationTable, duration_ms) tuples, but item {i} is {item!r}.")
        case, phase, table, duration = item
        if not isinstance(table, AnnotationTable):
            raise TypeError(f"Expected an AnnotationTable in item {i} ({case}, {phase}), but got "
                            f"{type(table).__name__}.")
        if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | np.integer)
                                     or duration <= 0):
            raise ValueError(f"Expected duration_ms to be a positive integer or None in item {i} ({case}, {phase}), "
                             f"but got {duration!r}.")
        coders = sorted(set(table.coders))
        if len(coders) > 1:
            raise ValueError(f"Expected the coding of one coder in item {i} ({case}, {phase}), but it has coders "
                             f"{', '.join(coders)}; filter it with table.filter(coder=...).")
        found = contingencies(table, scheme, window_ms=window_ms)
        summary = contingency_summary(found, duration_ms=None if duration is None else int(duration))
        if summary.empty:
            summary = pd.DataFrame([{"recording_id": pd.NA, "actor": pd.NA, "partner": pd.NA, "initiatives": 0,
                                     **{o: 0 for o in OUTCOMES}, **{f"p_{o}": np.nan for o in OUTCOMES}}])
        summary.insert(0, "phase", str(phase))
        summary.insert(0, "case", str(case))
        summary["duration_ms"] = pd.NA if duration is None else int(duration)
        frames.append(summary)
        if str(phase) not in phases:
            phases.append(str(phase))
    columns = ["case", "phase", "recording_id", "actor", "partner", "pair", "initiatives",
               *[c for o in OUTCOMES for c in (o, f"p_{o}")], "attuned_per_min", "reception_latency_median_ms",
               "reception_latency_iqr_ms", "longest_attuned_chain", "duration_ms"]
    if frames:
        out = pd.concat([f.dropna(axis=1, how="all") if len(f) else f for f in frames], ignore_index=True)
    else:
        out = pd.DataFrame(columns=columns)
    out = out.reindex(columns=columns)
    out["pair"] = [f"{a} → {p}" if isinstance(a, str) and isinstance(p, str) else pd.NA
                   for a, p in zip(out["actor"], out["partner"], strict=True)]
    for col in ("initiatives", *OUTCOMES):
        out[col] = out[col].fillna(0).astype("int64")
    out["recording_id"] = pd.array(out["recording_id"].tolist(), dtype="Int64")
    out["duration_ms"] = pd.array(out["duration_ms"].tolist(), dtype="Int64")
    out["phase"] = pd.Categorical(out["phase"], categories=phases)
    out.attrs["params"] = {"window_ms": [int(window_ms[0]), int(window_ms[1])], "scheme": scheme.id,
                           "scheme_version": scheme.version}
    return out
