"""Pre/post outcomes across cases, checked against published examples and an independent R run.

Sources of the expected numbers:

- **Lakens (2013)**, *Frontiers in Psychology* 4:863, Table 1: ten people rate two movies
  (movie 1: 9 7 8 9 8 9 9 10 9 9, M = 8.7, SD = 0.82; movie 2: 9 6 7 8 7 9 8 8 8 7, M = 7.7,
  SD = 0.95). Reported for the paired analysis: t(9) = 4.74, p = .001, d_z = 1.50,
  d_av = 1.13, and Hedges' g = 1.08 from his formula 4 (``1 - 3 / (4 (n1 + n2) - 9)``, here
  n1 = n2 = 10). The same data and numbers are the test fixtures of the R package ``apa``
  (dgromer/apa, tests/testthat/test-cohens-d.R and test-t-apa.R: "t(9) = 4.74, p = .001,
  d = 1.50", between-groups d 1.13 and Hedges' g 1.08).
- **R 4.2.2** (``t.test(movie1, movie2, paired = TRUE)``; noncentral-t limits by
  ``uniroot(function(ncp) pt(t, 9, ncp) - 0.975 / 0.025, c(-20, 20))``, R's own ``pnt``
  algorithm, independent of SciPy's): mean difference 95% CI [0.5230954, 1.4769046],
  p = 0.001053871, d_z noncentrality limits [1.7725013755, 7.6003325618] -> d_z CI
  [0.5605141502, 2.4034361870].
- **Jacobson & Truax (1991)**, *J Consult Clin Psychol* 59:12-19, Table 2: pre/post Dyadic
  Adjustment Scale (DAS) and Global Distress Scale (GDS) scores of 30 couples, as
  transcribed by two independent R packages (AWKruijt/JT-RCI ``data/J&T 1991 table2 DAS
  data.csv``, and the ``jt.data`` set whose example calls ``jt.rci(rxx = 0.96, sd_ref = 17.8)``
  for the DAS, citing Spanier 1976, and ``rxx = 0.75`` with the sample SD for the GDS).
  Their hypothetical scale (dysfunctional 40 +- 7.5, functional 60 +- 7.5) gives cutoffs
  a = 55, b = 45, c = 50 (the ``clinicalsignificance`` package's test-calc_cutoff.R uses it).
  Classifications were recomputed in R (``rc <- (post - pre) / sqrt(2 * (s1 * sqrt(1 - r))^2)``):
  DAS 19 improved / 1 deteriorated / 10 unchanged; GDS (sample SD 5.916080, S_diff 4.183300)
  14 improved / 0 deteriorated / 12 unchanged / 4 without a post score.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from workbench import AnnotationTable, default_scheme
from workbench.analysis.contingency import contingencies
from workbench.analysis.outcomes import (
    DIRECTIONS,
    contingency_by_phase,
    effect_sizes,
    goal_trajectories,
    hedges_j,
    jt_cutoff,
    pre_post,
)
from workbench.charts import contingency_outcomes_chart, effect_size_chart, goal_chart, pre_post_chart
from workbench.model import Case, Goal, GoalRating

MOVIE_1 = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]
MOVIE_2 = [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]

DAS_PRE = [90.5, 74.0, 97.0, 73.5, 61.0, 66.5, 68.5, 86.5, 88.5, 68.5, 98.0, 80.5, 89.5, 91.5, 83.5, 60.5, 83.0,
           88.0, 98.5, 78.5, 99.5, 79.5, 84.5, 92.5, 93.0, 85.0, 64.0, 61.0, 80.0, 82.5]
DAS_POST = [97.0, 124.0, 97.5, 88.0, 96.5, 62.5, 112.5, 103.5, 90.0, 82.5, 105.0, 99.5, 112.5, 101.0, 99.5, 79.5,
            88.0, 100.5, 119.0, 116.0, 116.0, 129.0, 113.0, 118.0, 92.0, 114.0, 68.0, 52.0, 60.5, 104.5]
GDS_PRE = [68.0, 74.5, 58.5, 73.5, 78.5, 76.0, 76.5, 63.0, 70.0, 75.0, 63.5, 73.5, 71.5, 63.5, 57.0, 75.0, 63.0,
           75.0, 71.5, 68.0, 75.5, 67.5, 62.5, 69.5, 61.0, 67.0, 75.5, 75.5, 69.5, 66.5]
GDS_POST = [62.5, 56.0, 58.0, 71.0, 60.5, 77.0, 58.5, 52.0, 65.5, 73.0, 64.0, 55.5, 53.0, 55.0, 50.0, 78.0, 65.5,
            62.0, 60.5, 51.0, 50.0, 44.0, 55.5, 56.0, 60.5, 47.5, None, None, None, None]


def _measures(instrument: str, pre: list[float], post: list[float | None], scale: str = "") -> pd.DataFrame:
    """A tidy measures frame (as Project.measures_frame() gives) for cases c01, c02, ...; None = no score."""
    rows = []
    for i, (a, b) in enumerate(zip(pre, post, strict=True), start=1):
        rows.append({"case": f"c{i:02d}", "case_id": i, "instrument": instrument, "scale": scale,
                     "time_point": "pre", "value": a})
        if b is not None:
            rows.append({"case": f"c{i:02d}", "case_id": i, "instrument": instrument, "scale": scale,
                         "time_point": "post", "value": b})
    return pd.DataFrame(rows)


@pytest.fixture
def movies() -> pd.DataFrame:
    """Lakens' Table 1: movie 2 as the "pre" score and movie 1 as "post" (so the change is +1)."""
    return _measures("rating", MOVIE_2, MOVIE_1)


@pytest.fixture
def couples() -> pd.DataFrame:
    """Jacobson & Truax's Table 2: DAS (higher is better) and GDS (lower is better) of 30 couples."""
    return pd.concat([_measures("DAS", DAS_PRE, DAS_POST), _measures("GDS", GDS_PRE, GDS_POST)], ignore_index=True)


# -- effect sizes: Lakens (2013) ----------------------------------------------------------------------


def test_effect_sizes_reproduce_lakens_table_1(movies: pd.DataFrame) -> None:
    r = effect_sizes(movies, higher_is_better={"rating"}).iloc[0]
    assert r["n"] == 10 and r["df"] == 9
    assert (round(r["mean_pre"], 1), round(r["sd_pre"], 2)) == (7.7, 0.95)
    assert (round(r["mean_post"], 1), round(r["sd_post"], 2)) == (8.7, 0.82)
    assert round(r["t"], 2) == 4.74
    assert round(r["p"], 3) == 0.001
    assert round(r["d_z"], 2) == 1.50
    assert round(r["d_av"], 2) == 1.13
    assert round(r["g_av"], 2) == 1.08  # Lakens' formula 4 with n1 = n2 = 10 (df 18)
    assert r["favours"] == "improvement" and r["better"] == "higher" and r["better_source"] == "given"


def test_an_unknown_instrument_has_no_direction(movies: pd.DataFrame) -> None:
    """A rating no instrument data knows: the numbers, but neither 'improvement' nor 'deterioration'."""
    with pytest.warns(UserWarning, match=r"not on rating .*higher_is_better"):
        r = effect_sizes(movies).iloc[0]
    assert (r["better"], r["better_source"], r["favours"]) == ("unknown", "", "direction unknown")
    assert round(r["d_z"], 2) == 1.50
    with pytest.warns(UserWarning, match="not on rating"):
        t = pre_post(movies, reliability={"rating": 0.8})
    assert (t["better"] == "unknown").all() and t["improvement"].isna().all()
    assert set(t["direction"]) <= {"reliable, direction unknown", "no reliable change"}
    assert "reliable, direction unknown" in set(t["direction"])
    with pytest.raises(ValueError, match="not both"):
        effect_sizes(movies, lower_is_better=["rating"], higher_is_better=["rating"])


def test_effect_size_intervals_match_r(movies: pd.DataFrame) -> None:
    r = effect_sizes(movies, higher_is_better={"rating"}).iloc[0]
    assert r["p"] == pytest.approx(0.001053871257, rel=1e-8)
    assert (r["change_ci_low"], r["change_ci_high"]) == pytest.approx((0.5230954, 1.4769046), abs=1e-7)
    assert (r["d_z_ci_low"], r["d_z_ci_high"]) == pytest.approx((0.5605141502, 2.4034361870), abs=1e-6)
    assert r["r_pre_post"] == pytest.approx(0.725542, abs=1e-6)
    level90 = effect_sizes(movies, confidence=0.90, higher_is_better={"rating"}).iloc[0]
    assert r["d_z_ci_low"] < level90["d_z_ci_low"] < level90["d_z"] < level90["d_z_ci_high"] < r["d_z_ci_high"]


def test_effect_sizes_keep_the_sign_of_post_minus_pre(movies: pd.DataFrame) -> None:
    flipped = movies.assign(time_point=movies["time_point"].map({"pre": "post", "post": "pre"}))
    r = effect_sizes(flipped, lower_is_better={"rating"}).iloc[0]
    assert round(r["d_z"], 2) == -1.50 and round(r["t"], 2) == -4.74
    assert (r["d_z_ci_low"], r["d_z_ci_high"]) == pytest.approx((-2.4034361870, -0.5605141502), abs=1e-6)
    assert r["favours"] == "improvement"  # lower is better and the scores went down


def test_hedges_exact_correction() -> None:
    # closed forms of Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)): Gamma(1/2) = sqrt(pi)
    assert hedges_j(2) == pytest.approx(1 / math.sqrt(math.pi))
    assert hedges_j(3) == pytest.approx((math.sqrt(math.pi) / 2) / math.sqrt(1.5))
    assert hedges_j(4) == pytest.approx(1 / (math.sqrt(2) * math.sqrt(math.pi) / 2))
    for df in (6, 9, 18, 60):  # the usual approximation is within 0.001 from df = 6
        assert hedges_j(df) == pytest.approx(1 - 3 / (4 * df - 1), abs=1e-3)
    assert math.isnan(hedges_j(1))


def test_effect_sizes_with_too_few_cases() -> None:
    one = _measures("PSI-SF", [100.0], [90.0])
    r = effect_sizes(one).iloc[0]
    assert r["n"] == 1 and r["mean_change"] == -10
    assert all(math.isnan(r[c]) for c in ("sd_change", "t", "p", "d_z", "d_av", "g_av", "d_z_ci_low"))
    same = _measures("PSI-SF", [100.0, 90.0], [95.0, 85.0])  # every change the same: no SD of change
    r = effect_sizes(same).iloc[0]
    assert r["mean_change"] == -5 and math.isnan(r["d_z"]) and r["d_av"] == pytest.approx(-5 / math.sqrt(50))


# -- reliable change: Jacobson & Truax (1991) ----------------------------------------------------------


def test_reliable_change_of_jacobson_truax_couples(couples: pd.DataFrame) -> None:
    table = pre_post(couples, reliability={"DAS": 0.96, "GDS": 0.75}, sd_pre={"DAS": 17.8},
                     lower_is_better={"GDS"}, higher_is_better={"DAS"})
    das = table[table["instrument"] == "DAS"]
    assert das["s_diff"].iloc[0] == pytest.approx(5.034600, abs=1e-6)
    assert das["rc_threshold"].iloc[0] == pytest.approx(9.868, abs=1e-3)  # raw points of reliable change
    assert (das["sd_source"] == "given").all()
    assert das["direction"].value_counts().to_dict() == {
        "improved": 19, "no reliable change": 10, "deteriorated": 1, "reliable, direction unknown": 0,
        "not assessed": 0, "incomplete": 0}
    assert das.set_index("case").loc["c29", "direction"] == "deteriorated"  # 80 -> 60.5
    gds = table[table["instrument"] == "GDS"]
    assert gds["sd_pre"].iloc[0] == pytest.approx(5.916080, abs=1e-6) and (gds["sd_source"] == "sample").all()
    assert gds["s_diff"].iloc[0] == pytest.approx(4.183300, abs=1e-6)
    assert gds.set_index("case").loc["c01", "rci"] == pytest.approx(-1.314751, abs=1e-6)
    counts = gds["direction"].value_counts().to_dict()
    assert counts == {"improved": 14, "no reliable change": 12, "incomplete": 4, "deteriorated": 0,
                      "reliable, direction unknown": 0, "not assessed": 0}
    assert (gds["better"] == "lower").all() and (gds["improvement"].dropna() == -gds["change"].dropna()).all()
    assert gds["reliable"].isna().sum() == 4
    assert list(table.columns[:3]) == ["case", "case_id", "instrument"]


def test_jacobson_truax_cutoffs_and_recovery() -> None:
    kw = {"m_dysfunctional": 40, "sd_dysfunctional": 7.5, "m_functional": 60, "sd_functional": 7.5}
    assert [jt_cutoff(c, **kw) for c in "abc"] == [55.0, 45.0, 50.0]
    assert [jt_cutoff(c, **kw, lower_is_better=True) for c in "ab"] == [25.0, 75.0]
    assert jt_cutoff("c", m_dysfunctional=40, sd_dysfunctional=5, m_functional=60, sd_functional=15) == 45.0
    with pytest.raises(ValueError, match="m_functional"):
        jt_cutoff("b", m_dysfunctional=40, sd_dysfunctional=7.5)
    with pytest.raises(ValueError, match="Allowed values"):
        jt_cutoff("d", **kw)  # type: ignore[arg-type]
    # four clients on that scale (s1 = 7.5, r = .80: S_diff = 4.743, 9.30 points needed)
    m = _measures("scale", [40, 40, 48, 45], [58, 47, 52, 30])
    t = pre_post(m, reliability={"scale": 0.8}, sd_pre={"scale": 7.5}, cutoffs={"scale": 50.0},
                 higher_is_better=["scale"]).set_index("case")
    assert t["s_diff"].iloc[0] == pytest.approx(7.5 * math.sqrt(0.2) * math.sqrt(2))
    assert t["jt_category"].tolist() == ["recovered", "unchanged", "unchanged", "deteriorated"]
    assert t["clinically_significant"].tolist() == [True, False, False, False]
    assert t.loc["c03", "functional_post"] and not t.loc["c03", "functional_pre"]  # crossed, but not reliably


def test_pre_post_example_and_unmatched_keys() -> None:
    m = pd.DataFrame({"case": ["A", "A"], "instrument": ["PSI-SF"] * 2, "time_point": ["pre", "post"],
                      "value": [112.0, 88.0]})
    row = pre_post(m, reliability={("PSI-SF", ""): 0.84, "PSI-SF": 0.5}, sd_pre={"PSI-SF": 20.0},
                   lower_is_better={"PSI-SF"}).iloc[0]
    assert row["reliability"] == 0.84  # the (instrument, scale) key wins
    assert row["rci"] == pytest.approx(-24 / (20 * 0.4 * math.sqrt(2)))
    assert row["direction"] == "improved" and row["improvement"] == 24
    with pytest.warns(UserWarning, match="'PSI'"):
        pre_post(m, reliability={"PSI-SF": 0.84, "PSI": 0.9}, sd_pre={"PSI-SF": 20.0})
    one = pre_post(m, reliability={"PSI-SF": 0.84}, sd_pre={"PSI-SF": 20.0}, lower_is_better="PSI-SF")
    assert one["better"].iloc[0] == "lower"  # one name, not its letters
    psi = m.assign(instrument="PSI")  # not an instrument the shipped data knows
    with pytest.warns(UserWarning, match="'PSI-SF'"), pytest.warns(UserWarning, match="not on PSI"):
        other = pre_post(psi, reliability={"PSI": 0.84}, sd_pre={"PSI": 20.0}, lower_is_better="PSI-SF")
    assert other["better"].iloc[0] == "unknown" and other["direction"].iloc[0] == "reliable, direction unknown"


def test_directions_come_from_the_instruments() -> None:
    """Directions from the shipped instrument data (each checked against its manual): a fall in parenting
    stress (PSI-SF) is an improvement, and so is a rise on the SDQ's prosocial scale, while a fall in its
    total difficulties is too; a bare "SDQ" (scales going both ways) has no direction."""
    m = pd.concat([
        _measures("PSI-SF", [112.0, 97.0, 120.0], [88.0, 90.0, 101.0], scale="total (36-180)"),
        _measures("sdq", [18.0, 14.0, 21.0], [12.0, 13.0, 15.0], scale="Total difficulties"),
        _measures("SDQ", [6.0, 7.0, 5.0], [8.0, 8.0, 7.0], scale="prosocial"),
        _measures("goal rating", [3.0, 4.0, 2.0], [7.0, 6.0, 6.0], scale="0-10"),
    ], ignore_index=True)
    es = effect_sizes(m).set_index("instrument")
    assert es["better"].to_dict() == {"PSI-SF": "lower", "sdq": "lower", "SDQ": "higher", "goal rating": "higher"}
    assert set(es["favours"]) == {"improvement"} and set(es["better_source"]) == {"instrument"}
    with pytest.warns(UserWarning, match=r"reliability .* none for"):
        pp = pre_post(m)
    assert (pp["improvement"] > 0).all()
    bare = _measures("SDQ", [18.0, 14.0], [12.0, 13.0])
    with pytest.warns(UserWarning, match="not on SDQ"):
        assert effect_sizes(bare)["favours"].iloc[0] == "direction unknown"
    # a declared direction overrides the instrument's (research use)
    assert effect_sizes(m, higher_is_better=["PSI-SF"]).set_index("instrument").loc["PSI-SF", "favours"] == \
        "deterioration"


def test_pre_post_refuses_and_warns() -> None:
    m = _measures("PSI-SF", [100.0, 90.0], [80.0, 85.0], scale="total")
    with pytest.warns(UserWarning, match=r"none for PSI-SF · total"):
        t = pre_post(m)
    assert set(t["direction"]) == {"not assessed"} and t["reliable"].isna().all()
    with pytest.warns(UserWarning, match="two or more pre scores"):
        pre_post(m.iloc[:2], reliability={"PSI-SF": 0.8})
    with pytest.raises(ValueError, match=r"reliability in \[0, 1\)"):
        pre_post(m, reliability={"PSI-SF": 1.0})
    with pytest.raises(ValueError, match="positive sd_pre"):
        pre_post(m, reliability={"PSI-SF": 0.8}, sd_pre={"PSI-SF": 0})
    with pytest.raises(ValueError, match="time point 'follow-up'"):
        pre_post(m, post="follow-up", reliability={"PSI-SF": 0.8})
    twice = pd.concat([m, m.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"one 'pre' score per case.*'c01' has 2"):
        pre_post(twice, reliability={"PSI-SF": 0.8})
    with pytest.raises(ValueError, match="lacks time_point"):
        pre_post(m.drop(columns="time_point"))
    assert DIRECTIONS[0] == "improved"


# -- goals -------------------------------------------------------------------------------------------------


def test_goal_trajectories() -> None:
    ratings = (GoalRating(2, 1, dt.date(2026, 3, 16), 6.0), GoalRating(1, 1, dt.date(2026, 3, 2), 3.0))
    goals = [Goal(1, 7, "Notice initiatives", 0, 10, ratings), Goal(2, 8, "Play", 1, 5, (
        GoalRating(3, 2, dt.date(2026, 4, 1), 5.0),))]
    t = goal_trajectories(goals, [Case(7, "Aster", real_name="Secret Name"), Case(8, "Birch")])
    assert t[["case", "goal_id", "days", "value", "percent"]].values.tolist() == [
        ["Aster", 1, 0, 3.0, 30.0], ["Aster", 1, 14, 6.0, 60.0], ["Birch", 2, 0, 5.0, 100.0]]
    assert str(t["date"].dtype).startswith("datetime64")
    assert "Secret Name" not in t.to_csv()
    assert goal_trajectories(goals)["case"].tolist() == ["7", "7", "8"]
    with pytest.raises(TypeError, match="Goal records"):
        goal_trajectories(["not a goal"])  # type: ignore[list-item]


# -- contingencies by phase ----------------------------------------------------------------------------------


def _coding(*cycles: str, coder: str = "supervisor") -> AnnotationTable:
    """Child initiatives every 10 s: ``"attuned"`` gets a look (reception) and an answer, ``"missed"`` nothing."""
    rows = []
    for i, kind in enumerate(cycles):
        t = 1000 + 10_000 * i
        rows.append({"actor": "child", "code": "initiative-nonverbal", "onset_ms": t, "coder": coder})
        if kind == "attuned":
            rows.append({"actor": "parent", "code": "returning-eye-contact", "onset_ms": t + 500,
                         "offset_ms": t + 1500, "coder": coder})
            rows.append({"actor": "parent", "code": "receiving-responding", "onset_ms": t + 1600,
                         "offset_ms": t + 2500, "coder": coder})
    return AnnotationTable(rows)


def test_contingency_by_phase() -> None:
    scheme = default_scheme()
    pre = _coding("attuned", "missed", "missed", "attuned")
    post = _coding("attuned", "attuned", "attuned")
    out = contingency_by_phase([("Aster", "pre", pre, 60_000), ("Aster", "post", post, 30_000),
                                ("Birch", "post", _coding(), None)], scheme)
    child = out[out["pair"] == "child → parent"].set_index(["case", "phase"])
    assert child.loc[("Aster", "pre"), ["initiatives", "attuned", "missed"]].tolist() == [4, 2, 2]
    assert child.loc[("Aster", "pre"), "p_missed"] == 0.5
    assert child.loc[("Aster", "pre"), "attuned_per_min"] == 2.0  # 2 in 60 s
    assert child.loc[("Aster", "post"), "attuned_per_min"] == 6.0  # 3 in 30 s
    assert child.loc[("Aster", "post"), "longest_attuned_chain"] == 3
    # the same numbers as the contingency module gives for one coding
    direct = contingencies(pre, scheme)
    assert (direct["outcome"] == "missed").sum() == 2
    empty = out[out["case"] == "Birch"]
    assert len(empty) == 1 and empty["initiatives"].iloc[0] == 0 and pd.isna(empty["pair"].iloc[0])
    assert list(out["phase"].cat.categories) == ["pre", "post"]
    assert out.attrs["params"]["window_ms"] == [0, 3000]


def test_contingency_by_phase_refuses_mixed_coders_and_bad_items() -> None:
    scheme = default_scheme()
    mixed = AnnotationTable.concat([_coding("attuned"), _coding("missed", coder="trainee")])
    with pytest.raises(ValueError, match="coders supervisor, trainee"):
        contingency_by_phase([("Aster", "pre", mixed, 60_000)], scheme)
    with pytest.raises(TypeError, match="item 0"):
        contingency_by_phase([("Aster", "pre", _coding("attuned"))], scheme)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="AnnotationTable"):
        contingency_by_phase([("Aster", "pre", pd.DataFrame(), 1000)], scheme)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="duration_ms"):
        contingency_by_phase([("Aster", "pre", _coding("attuned"), 0)], scheme)


# -- charts --------------------------------------------------------------------------------------------------


def _layer_data(spec: dict) -> list[dict]:
    datasets = spec["datasets"]
    return next(iter(datasets.values())) if len(datasets) == 1 else [r for v in datasets.values() for r in v]


def test_pre_post_chart(couples: pd.DataFrame) -> None:
    table = pre_post(couples, reliability={"DAS": 0.96, "GDS": 0.75}, sd_pre={"DAS": 17.8},
                     lower_is_better={"GDS"}, higher_is_better={"DAS"}, post="post")
    spec = pre_post_chart(table).to_dict()
    assert spec["facet"]["column"]["field"] == "panel"
    assert spec["resolve"]["scale"]["y"] == "independent"
    rows = _layer_data(spec)
    assert len(rows) == 30 * 2 + 26 * 2 + 4  # the 4 couples without a GDS post score keep their pre point
    assert {r["panel"] for r in rows} == {"DAS (higher is better)", "GDS (lower is better)"}
    colour = spec["spec"]["layer"][0]["encoding"]["color"]["scale"]
    assert colour["domain"][:3] == ["improved", "no reliable change", "deteriorated"]
    assert colour["range"][0] == "#2ca02c" and colour["range"][2] == "#d62728"


def test_pre_post_chart_names_do_not_overlap() -> None:
    """Two cases that end on the same goal rating ("Birch" and "Cedar" at 6) get names far enough apart."""
    m = _measures("goal rating", [3.0, 4.0, 2.0], [7.0, 6.0, 6.0], scale="0-10")
    height = 240
    spec = pre_post_chart(pre_post(m, reliability={"goal rating": 0.7}), height=height).to_dict()
    names = {r["case"]: r["label_y"] for r in _layer_data(spec) if r.get("time") == "post"}
    assert names["c01"] == 7.0  # alone: at its score
    span = 7.0 - 2.0  # the panel's scores: 12 px of its height at least between two names
    assert abs(names["c02"] - names["c03"]) * height / span >= 12
    assert (names["c02"] + names["c03"]) / 2 == pytest.approx(6.0)  # centred on the shared score
    text = spec["spec"]["layer"][2]
    assert text["mark"]["type"] == "text" and text["encoding"]["y"]["field"] == "label_y"


def test_effect_size_chart(movies: pd.DataFrame) -> None:
    spec = effect_size_chart(effect_sizes(movies, higher_is_better={"rating"})).to_dict()
    rows = _layer_data(spec)
    points = {r["measure"]: r["value"] for r in rows if "measure" in r and "value" in r}
    assert points["d_z"] == pytest.approx(1.5) and round(points["g_av"], 2) == 1.08
    bars = [r for r in rows if "low" in r]
    assert bars[0]["low"] == pytest.approx(0.5605, abs=1e-4) and bars[0]["high"] == pytest.approx(2.4034, abs=1e-4)
    assert spec["layer"][0]["mark"]["type"] == "rule"  # the zero line


def test_contingency_and_goal_charts() -> None:
    scheme = default_scheme()
    out = contingency_by_phase([("Aster", "pre", _coding("attuned", "missed"), 20_000),
                                ("Aster", "post", _coding("attuned"), 20_000)], scheme)
    spec = contingency_outcomes_chart(out, normalize=True).to_dict()
    enc = spec["encoding"]
    assert enc["y"]["stack"] == "normalize" and enc["x"]["sort"] == ["pre", "post"]
    assert enc["color"]["scale"]["domain"] == ["attuned", "received", "discordant", "missed"]
    rows = _layer_data(spec)
    missed = [r["initiatives"] for r in rows if r["outcome"] == "missed" and r["phase"] == "pre"]
    assert missed == [1]
    assert contingency_outcomes_chart(out).to_dict()["encoding"]["y"]["stack"] == "zero"
    goals = [Goal(1, 7, "Notice initiatives", 0, 10, (GoalRating(1, 1, dt.date(2026, 3, 2), 3.0),))]
    gspec = goal_chart(goal_trajectories(goals, {7: "Aster"})).to_dict()
    assert gspec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [0.0, 10.0]
    with pytest.raises(ValueError, match="lacks"):
        goal_chart(pd.DataFrame({"case": []}))
