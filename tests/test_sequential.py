"""Sequential statistics checked against published numbers and independent implementations.

Sources of outside numbers (each test names its own):

- Agresti (2007), *An Introduction to Categorical Data Analysis*, 2nd ed., p. 39, Table 2.5
  (party identification by gender): adjusted (standardized Pearson) residuals 4.50, 0.70,
  -5.32 / -4.50, -0.70, 5.32. The same data are the example of R's ``chisq.test`` help page
  ("From Agresti(2007) p.39"); the rdrr.io page of the R package chisq.posthoc.test prints
  them to 7 digits as its example output: ``4.502054 0.6994517 -5.315946``.
- Moore & Bentley-Condit (2010), "A study of permutation tests in the context of a problem in
  primatology", *Journal of Data Science* 8, 21-41; their handout "Using Permutation Tests to
  Study Infant Handling by Female Baboons", Table 2: a 3 x 3 table of counts (A) and its
  adjusted residuals (C).
- Bakeman & Quera (2011), *Sequential Analysis and Observational Methods for the Behavioral
  Sciences*, p. 159: a 75-event sequence of five codes (Chat, Write, Read, Ask, Attentive = 1..5),
  as transcribed in the example of ``sequential()`` in the R package LagSequential 0.1.1
  (Draper & O'Connor; O'Connor 1999, *Behavior Research Methods* 31, 718-726). The reference
  statistics below were printed by that function (an independent implementation of Bakeman &
  Quera's formulas, with iterative proportional fitting and Christensen's hat-matrix residuals
  when codes cannot repeat), run with R 4.2.2. The book's own tables for this sequence could
  not be retrieved, so the numbers are LagSequential's, not the book's.
- Griffin & Gottman (1990), in Patterson (Ed.), *Family Social Interaction*, p. 137: a 6 x 6
  husband/wife transition matrix, as given in the same LagSequential help page; statistics from
  ``sequential(freqs, adjacent = 1)``.
- Fienberg (1980), *The Analysis of Cross-Classified Categorical Data*, Table 8-2 (Ploog's
  squirrel monkeys: active x passive genital display; a monkey cannot display to itself, so the
  diagonal is structurally zero), as given in SAS/STAT's PROC CATMOD Example 5. The published
  fitted values were not retrievable; the quasi-independence fit is checked against
  statsmodels' Poisson GLM and a direct likelihood maximisation with scipy.
- Yule's Q and the odds ratio: ``Q = (OR - 1) / (OR + 1)`` (Yule 1912; e.g. Lipsitz &
  Fitzmaurice 1994, *Biometrics* 50, 847-852), checked against scipy's sample odds ratio.

No published worked example of GSEQ's time-window tallies with counts could be retrieved; the
time-window rule is checked on hand-derived unit listings and against a brute-force
re-implementation of the documented rule.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.stats.contingency import expected_freq
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio

from workbench import AnnotationTable
from workbench.analysis.sequential import (
    TABLE_COLUMNS,
    LagResult,
    WindowResult,
    adjusted_residuals,
    event_sequences,
    expected_counts,
    lag_table,
    lag_tables,
    odds_ratio,
    time_window_table,
    transition_counts,
    transition_statistics,
    yules_q,
)

# Bakeman & Quera (2011, p. 159), codes 1..5 = Chat, Write, Read, Ask, Attentive.
BQ2011 = [
    2, 1, 4, 3, 3, 4, 3, 4, 2, 1, 4, 4, 5, 4, 1, 3, 4, 5, 3, 2, 2, 1, 4, 1, 2,
    5, 2, 1, 2, 3, 3, 1, 4, 4, 1, 4, 1, 3, 3, 3, 1, 5, 2, 1, 1, 3, 1, 4, 1, 2,
    3, 3, 4, 5, 5, 2, 3, 3, 5, 2, 5, 4, 4, 2, 3, 1, 5, 5, 2, 2, 1, 3, 3, 3, 3,
]  # fmt: skip
BQ_CODES = [str(c) for c in BQ2011]
LABELS = ["1", "2", "3", "4", "5"]


def _grid_of(table: pd.DataFrame, column: str, labels: list[str]) -> np.ndarray:
    return table.pivot(index="given", columns="target", values=column).loc[labels, labels].to_numpy(dtype=float)


def _grid(table: pd.DataFrame, column: str) -> np.ndarray:
    return _grid_of(table, column, LABELS)


# -- published adjusted residuals ------------------------------------------------------------


def test_adjusted_residuals_match_agresti_party_identification() -> None:
    """Agresti (2007) p. 39, Table 2.5: 2 x 3 table, published standardized residuals.

    Printed to 7 digits by the chisq.posthoc.test example on rdrr.io (4.502054, 0.6994517,
    -5.315946); the book gives 4.50, 0.70, -5.32.
    """
    m = [[762, 327, 468], [484, 239, 477]]
    z = adjusted_residuals(m)
    published = np.array([4.502054, 0.6994517, -5.315946])
    np.testing.assert_allclose(z[0], published, atol=5e-7)
    np.testing.assert_allclose(z[1], -published, atol=5e-7)
    # expected counts: independence, as scipy computes them
    np.testing.assert_allclose(expected_counts(m), expected_freq(np.array(m)), rtol=1e-12)


def test_adjusted_residuals_match_moore_bentley_condit_baboons() -> None:
    """Moore & Bentley-Condit (2010), Table 2: counts (A) and adjusted residuals (C), 2 decimals."""
    counts = [[5, 5, 3], [97, 83, 95], [68, 138, 184]]
    published = [[1.12, 0.40, -1.37], [5.06, -1.44, -3.08], [-5.34, 1.32, 3.43]]
    np.testing.assert_allclose(adjusted_residuals(counts), published, atol=0.005)


# -- Yule's Q and the odds ratio ----------------------------------------------------------------


def test_yules_q_is_the_published_transform_of_the_odds_ratio(rng: np.random.Generator) -> None:
    """Q = (OR - 1) / (OR + 1); OR checked against scipy's sample odds ratio."""
    for _ in range(200):
        a, b, c, d = (int(v) for v in rng.integers(1, 60, size=4))
        orat = odds_ratio(a, b, c, d)
        assert orat == pytest.approx(scipy_odds_ratio([[a, b], [c, d]], kind="sample").statistic, rel=1e-12)
        assert yules_q(a, b, c, d) == pytest.approx((orat - 1) / (orat + 1), rel=1e-12, abs=1e-15)
    # edge cases: one empty off-diagonal product -> Q = +-1, OR = inf or 0; both empty -> NaN
    assert yules_q(3, 0, 2, 5) == 1.0 and odds_ratio(3, 0, 2, 5) == math.inf
    assert yules_q(0, 3, 2, 5) == -1.0 and odds_ratio(0, 3, 2, 5) == 0.0
    assert math.isnan(yules_q(0, 3, 0, 5)) and math.isnan(odds_ratio(0, 3, 0, 5))


# -- Bakeman & Quera (2011) p. 159 sequence vs LagSequential -----------------------------------

# sequential(data_BQ2011, labels = 1:5): lag 1, consecutive codes may repeat
BQ_LAG1_COUNTS = [[1, 3, 4, 6, 2], [6, 2, 4, 0, 2], [4, 1, 9, 4, 1], [5, 2, 2, 3, 3], [0, 5, 1, 2, 2]]
BQ_LAG1_EXPECTED = [
    [3.459459459, 2.810810811, 4.324324324, 3.243243243, 2.162162162],
    [3.027027027, 2.459459459, 3.783783784, 2.837837838, 1.891891892],
    [4.108108108, 3.337837838, 5.135135135, 3.851351351, 2.567567568],
    [3.243243243, 2.635135135, 4.054054054, 3.040540541, 2.027027027],
    [2.162162162, 1.756756757, 2.702702703, 2.027027027, 1.351351351],
]
BQ_LAG1_ADJRES = [
    [-1.68709396401, 0.1403890754, -0.2062249636, 1.93642376455, -0.13394704306],
    [2.14350701694, -0.3583591850, 0.1445054816, -2.09519223664, 0.09385906354],
    [-0.06988334967, -1.6348097686, 2.3158576988, 0.09839629921, -1.22018509852],
    [1.23399553623, -0.4826201928, -1.3374450099, -0.02916042463, 0.82297517313],
    [-1.78596057415, 2.8980142786, -1.3037206373, -0.02286042148, 0.64517439503],
]
BQ_LAG1_YULESQ = [
    [-0.67910447761, 0.05109489051, -0.06666666667, 0.531250000000, -0.05660377358],
    [0.57894736842, -0.14782608696, 0.04761904762, -1.000000000000, 0.04000000000],
    [-0.02272727273, -0.66795366795, 0.56521739130, 0.032258064516, -0.55769230769],
    [0.37142857143, -0.19665271967, -0.48101265823, -0.010526315789, 0.30000000000],
    [-1.00000000000, 0.75000000000, -0.58333333333, -0.009708737864, 0.27272727273],
]
BQ_LAG1_PROBS_ROW1 = [0.0625, 0.1875, 0.25, 0.375, 0.125]


def test_bakeman_quera_sequence_lag1_matches_lagsequential() -> None:
    """B&Q (2011) p. 159 sequence, lag 1, repeats allowed: every cell vs LagSequential 0.1.1."""
    t = lag_tables(BQ_CODES)
    assert list(t.columns) == list(TABLE_COLUMNS)
    assert (t["n"] == 74).all()  # 75 events, 74 lag-1 pairs
    np.testing.assert_array_equal(_grid(t, "a"), BQ_LAG1_COUNTS)
    np.testing.assert_allclose(_grid(t, "expected"), BQ_LAG1_EXPECTED, atol=1e-8)
    np.testing.assert_allclose(_grid(t, "adjusted_residual"), BQ_LAG1_ADJRES, atol=1e-9)
    np.testing.assert_allclose(_grid(t, "yules_q"), BQ_LAG1_YULESQ, atol=1e-9)
    np.testing.assert_allclose(_grid(t, "p")[0], BQ_LAG1_PROBS_ROW1, atol=1e-12)
    assert not t["structural_zero"].any()


def test_bakeman_quera_lag_table_read_then_ask() -> None:
    """One 2 x 2 (Read=3 -> Ask=4) from the same sequence: cells follow from the K x K table."""
    r = lag_table(BQ_CODES, "3", "4")
    assert isinstance(r, LagResult)
    # row Read: 4+1+9+4+1 = 19; column Ask: 6+0+4+3+2 = 15
    assert (r.a, r.b, r.c, r.d, r.n) == (4, 15, 11, 44, 74)
    assert r.transitional_probability == pytest.approx(4 / 19)
    assert r.expected == pytest.approx(3.851351351, abs=1e-8)
    assert r.adjusted_residual == pytest.approx(0.09839629921, abs=1e-9)
    assert r.yules_q == pytest.approx(0.032258064516, abs=1e-9)
    assert r.params["lag"] == 1 and r.params["n_events"] == 75 and not r.structural_zero
    np.testing.assert_array_equal(r.table, [[4, 15], [11, 44]])


def test_bakeman_quera_sequence_lag2_matches_lagsequential() -> None:
    """Lag 2 (73 pairs): counts and a few statistics vs ``sequential(..., lag = 2)``."""
    t = lag_tables(BQ_CODES, lag=2)
    np.testing.assert_array_equal(
        _grid(t, "a"), [[4, 1, 6, 3, 2], [4, 2, 4, 4, 0], [2, 3, 4, 4, 5], [2, 3, 5, 3, 2], [3, 4, 1, 1, 1]]
    )
    assert (t["n"] == 73).all()
    z, q = _grid(t, "adjusted_residual"), _grid(t, "yules_q")
    assert z[2, 4] == pytest.approx(2.00145249485, abs=1e-9)
    assert z[4, 1] == pytest.approx(1.9745078675, abs=1e-9)
    assert q[0, 1] == pytest.approx(-0.6, abs=1e-12)
    assert q[4, 2] == pytest.approx(-0.59069767442, abs=1e-9)


# The same sequence with runs merged (58 events), sequential(bqc, adjacent = FALSE):
BQ_NOREP_COUNTS = [[0, 3, 4, 6, 2], [6, 0, 4, 0, 2], [4, 1, 0, 4, 1], [5, 2, 2, 0, 3], [0, 5, 1, 2, 0]]
BQ_NOREP_EXPECTED = [
    [0.0, 4.035738197, 3.862201756, 4.429336817, 2.672679202],
    [4.327687259, 0.0, 2.702616265, 3.099474984, 1.870235357],
    [3.570275804, 2.329798237, 0.0, 2.557019461, 1.542915568],
    [4.429350851, 2.890391211, 2.766104605, 0.0, 1.914169873],
    [2.672686086, 1.744072355, 1.669077374, 1.914168739, 0.0],
]
BQ_NOREP_ADJRES = [
    [math.nan, -0.7693904796, 0.1026107870, 1.13693143249, -0.5623781778],
    [1.2116446324, math.nan, 1.0468402781, -2.41342167144, 0.1190269095],
    [0.3295813192, -1.1341398160, math.nan, 1.19503676022, -0.5327640832],
    [0.4130664937, -0.7110180556, -0.6158079939, math.nan, 0.9905683800],
    [-2.2344367503, 3.0645989091, -0.6368902649, 0.07830115125, math.nan],
]
BQ_NOREP_YULESQ = [
    [math.nan, 0.0303030303, 0.2903225806, 0.6000000000, -0.0400000000],
    [0.6000000000, math.nan, 0.4615384615, -1.0000000000, 0.1304347826],
    [0.3714285714, -0.4173228346, math.nan, 0.5294117647, -0.2233009709],
    [0.4285714286, -0.1111111111, -0.1111111111, math.nan, 0.4545454545],
    [-1.0000000000, 0.8454935622, -0.2844036697, 0.1304347826, math.nan],
]


def test_codes_that_cannot_repeat_use_ipf_and_match_lagsequential() -> None:
    """Runs merged, diagonal structural zeros, IPF expected counts and hat-matrix residuals.

    LagSequential stops its IPF once the row margins are within 1e-4, so its expected counts
    and residuals agree with the exact fit to about 1e-4.
    """
    t = lag_tables(BQ_CODES, omit_repeats=True)
    params = t.attrs["params"]
    assert params["merged_repeats"] == 17 and params["n_events"] == 58 and params["n_pairs"] == 57
    assert params["model"] == "quasi-independence (IPF)" and params["ipf_converged"]
    assert params["structural_zeros"] == [[c, c] for c in LABELS]
    np.testing.assert_array_equal(_grid(t, "a"), BQ_NOREP_COUNTS)
    np.testing.assert_allclose(_grid(t, "expected"), BQ_NOREP_EXPECTED, atol=2e-4)
    np.testing.assert_allclose(_grid(t, "adjusted_residual"), BQ_NOREP_ADJRES, atol=2e-4)
    np.testing.assert_allclose(_grid(t, "yules_q"), BQ_NOREP_YULESQ, atol=1e-9)
    diag = t[t["given"] == t["target"]]
    assert diag["structural_zero"].all() and (diag["expected"] == 0).all()
    assert diag["adjusted_residual"].isna().all() and diag["odds_ratio"].isna().all()
    # the fit reproduces the observed margins exactly (what IPF is for)
    e, x = _grid(t, "expected"), _grid(t, "a")
    np.testing.assert_allclose(e.sum(axis=1), x.sum(axis=1), atol=1e-8)
    np.testing.assert_allclose(e.sum(axis=0), x.sum(axis=0), atol=1e-8)
    # and the one-cell API reports the same cell
    r = lag_table(BQ_CODES, "5", "2", omit_repeats=True)
    assert (r.a, r.expected, r.adjusted_residual) == pytest.approx((5, 1.744072355, 3.0645989091), abs=2e-4)
    assert r.params["model"] == "quasi-independence (IPF)"


GRIFFIN_GOTTMAN = [
    [0, 0, 0, 0, 2, 2],
    [0, 10, 5, 5, 60, 20],
    [0, 9, 2, 1, 3, 0],
    [0, 3, 0, 1, 5, 0],
    [3, 54, 6, 2, 24, 8],
    [1, 24, 2, 1, 3, 12],
]


def test_griffin_gottman_transition_matrix_matches_lagsequential() -> None:
    """Griffin & Gottman (1990, p. 137) counts; statistics from ``sequential(freqs, adjacent = 1)``."""
    codes = ["H+", "Ho", "H-", "W+", "Wo", "W-"]
    counts = pd.DataFrame(GRIFFIN_GOTTMAN, index=codes, columns=codes)
    t = transition_statistics(counts, lag=1).set_index(["given", "target"])
    assert (t["n"] == 268).all()
    cells = {
        ("Ho", "Ho"): (37.313432836, -7.1329502726, -0.82432432432),
        ("Ho", "Wo"): (36.194029851, 6.2567602325, 0.6830835118),
        ("Wo", "Ho"): (36.194029851, 4.6798212899, 0.54674610449),
        ("W-", "Wo"): (15.563432836, -4.3511204340, -0.8107392247),
        ("W-", "W-"): (6.7388059701, 2.408696924, 0.4311926606),
        ("H+", "H+"): (0.05970149254, -0.2480409931, -1.0),
    }
    for key, (e, z, q) in cells.items():
        assert t.loc[key, "expected"] == pytest.approx(e, abs=1e-8), key
        assert t.loc[key, "adjusted_residual"] == pytest.approx(z, abs=1e-8), key
        assert t.loc[key, "yules_q"] == pytest.approx(q, abs=1e-9), key
    assert t.loc[("Wo", "Ho"), "p"] == pytest.approx(0.5567010309, abs=1e-9)


# -- structural zeros vs independent fits ------------------------------------------------------

# Fienberg (1980) Table 8-2 via SAS CATMOD Example 5: rows active r, s, u, v, w (t never active,
# dropped as SAS does), columns passive r, s, t, u, v, w.
MONKEY_ACTIVE = list("rsuvw")
MONKEY_PASSIVE = list("rstuvw")
MONKEYS = np.array(
    [[0, 1, 5, 8, 9, 0], [29, 0, 14, 46, 4, 0], [2, 3, 1, 0, 38, 2], [0, 0, 0, 0, 0, 1], [9, 25, 4, 6, 13, 0]],
    dtype=float,
)
MONKEY_SZ = np.array([[a == p for p in MONKEY_PASSIVE] for a in MONKEY_ACTIVE])


def _monkey_design() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i, j = np.nonzero(~MONKEY_SZ)
    x = np.zeros((len(i), 1 + 4 + 5))
    x[:, 0] = 1.0
    for k, (r, c) in enumerate(zip(i, j, strict=True)):
        if r:
            x[k, r] = 1.0
        if c:
            x[k, 4 + c] = 1.0
    return i, j, x


def test_quasi_independence_matches_statsmodels_poisson_glm() -> None:
    """Squirrel monkeys: IPF fit and hat-matrix residuals vs a Poisson GLM with row + column effects.

    statsmodels' ``resid_studentized`` for a GLM is the standardized Pearson residual
    ``(y - mu) / sqrt(mu (1 - h))``: the adjusted residual of the quasi-independence model.
    """
    sm = pytest.importorskip("statsmodels.api")
    i, j, x = _monkey_design()
    fit = sm.GLM(MONKEYS[i, j], x, family=sm.families.Poisson()).fit(tol=1e-12)
    e = expected_counts(MONKEYS, structural_zeros=MONKEY_SZ)
    z = adjusted_residuals(MONKEYS, structural_zeros=MONKEY_SZ)
    np.testing.assert_allclose(e[i, j], fit.fittedvalues, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(z[i, j], fit.get_influence().resid_studentized, rtol=1e-6, atol=1e-7)
    assert np.all(e[MONKEY_SZ] == 0) and np.all(np.isnan(z[MONKEY_SZ]))


def test_quasi_independence_matches_direct_likelihood_maximisation() -> None:
    """Squirrel monkeys: IPF vs maximising the Poisson log-likelihood with scipy (no IPF involved)."""
    i, j, x = _monkey_design()
    y = MONKEYS[i, j]

    def nll(beta: np.ndarray) -> tuple[float, np.ndarray]:
        mu = np.exp(x @ beta)
        return float(mu.sum() - y @ (x @ beta)), x.T @ (mu - y)

    beta0 = np.zeros(x.shape[1])
    beta0[0] = math.log(y.mean())
    res = minimize(nll, beta0, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 10_000})
    e = expected_counts(MONKEYS, structural_zeros=MONKEY_SZ)
    np.testing.assert_allclose(e[i, j], np.exp(x @ res.x), rtol=1e-5, atol=1e-6)


def test_hat_matrix_path_without_structural_zeros_equals_closed_formula(rng: np.random.Generator) -> None:
    """The log-linear (IPF + hat matrix) route with no structural zero gives Haberman's closed formula."""
    for _ in range(5):
        counts = rng.integers(0, 30, size=(4, 5))
        none = np.zeros(counts.shape, dtype=bool)
        np.testing.assert_allclose(expected_counts(counts, structural_zeros=none), expected_freq(counts), rtol=1e-9)
        np.testing.assert_allclose(
            adjusted_residuals(counts, structural_zeros=none), adjusted_residuals(counts), rtol=1e-7, atol=1e-9
        )


def test_declared_structural_zeros_beyond_the_diagonal() -> None:
    """A declared impossible transition is a structural zero; a tally in it is an error."""
    t = lag_tables([list("ABCABCAB"), list("ACAB")], structural_zeros=[("B", "A")])  # no B -> A in the data
    row = t[(t.given == "B") & (t.target == "A")].iloc[0]
    assert row["structural_zero"] and row["expected"] == 0 and math.isnan(row["adjusted_residual"])
    e = _grid_of(t, "expected", ["A", "B", "C"])
    x = _grid_of(t, "a", ["A", "B", "C"])
    np.testing.assert_allclose(e.sum(axis=1), x.sum(axis=1), atol=1e-8)
    with pytest.raises(ValueError, match=r"'C' -> 'B'.*declared impossible"):
        lag_tables(list("ABCABACBCA"), structural_zeros=[("C", "B")])  # one C -> B in the data


# -- tallying rules ---------------------------------------------------------------------------------


def test_sessions_are_pooled_without_crossing_boundaries() -> None:
    """[A B], [C D]: B -> C is never tallied; pooled counts are the sum of per-session counts."""
    counts = transition_counts([list("AB"), list("CD")])
    assert counts.loc["A", "B"] == 1 and counts.loc["C", "D"] == 1
    assert counts.loc["B", "C"] == 0 and int(counts.values.sum()) == 2
    sessions = [list("ABBACAB"), list("CABBC"), list("A"), list("BCA")]
    pooled = transition_counts(sessions).to_numpy()
    alone = sum(transition_counts(s, codes_of_interest=list("ABC")).to_numpy() for s in sessions)
    np.testing.assert_array_equal(pooled, alone)
    assert pooled.sum() == sum(len(s) - 1 for s in sessions)
    joined = transition_counts([c for s in sessions for c in s]).to_numpy()
    assert joined.sum() == pooled.sum() + len(sessions) - 1


def test_lag_two_and_negative_lags_hand_counted() -> None:
    """A B C A B: lag 2 pairs are AC, BA, CB; lag -1 is the transpose of lag 1."""
    seq = list("ABCAB")
    lag2 = transition_counts(seq, lag=2)
    assert {(g, t) for g in "ABC" for t in "ABC" if lag2.loc[g, t]} == {("A", "C"), ("B", "A"), ("C", "B")}
    r = lag_table(seq, "A", "C", lag=2)
    assert (r.a, r.b, r.c, r.d, r.n) == (1, 0, 0, 2, 3)
    back = transition_counts(seq, lag=-1).to_numpy()
    np.testing.assert_array_equal(back, transition_counts(seq, lag=1).to_numpy().T)
    assert lag_table(seq, "B", "A", lag=-1).a == 2  # each B is preceded by an A


def test_omit_repeats_merges_runs_and_only_lag_one_has_structural_zeros() -> None:
    t1 = lag_tables([list("AABBBA"), list("BBA")], omit_repeats=True)
    p = t1.attrs["params"]
    assert p["merged_repeats"] == 4 and p["n_events"] == 5 and p["n_pairs"] == 3
    assert t1["structural_zero"].sum() == 2
    # a run never spans two sessions: the B ending one session and the B starting the next stay apart
    across = lag_tables([list("AB"), list("BA")], omit_repeats=True).attrs["params"]
    assert across["merged_repeats"] == 0 and across["n_pairs"] == 2
    # lag 2 in A B A B C B A: pairs AA, BB, AC, BB, CA; a code may recur two events later
    t2 = lag_tables(list("ABABCBA"), lag=2, omit_repeats=True)
    assert not t2["structural_zero"].any() and t2.attrs["params"]["model"] == "independence"
    assert t2.loc[(t2.given == "B") & (t2.target == "B"), "a"].item() == 2


def test_codes_of_interest_filter_rows_but_keep_the_whole_table() -> None:
    full = lag_tables(BQ_CODES).set_index(["given", "target"])
    some = lag_tables(BQ_CODES, codes_of_interest=["1", "2", "9"]).set_index(["given", "target"])
    assert len(some) == 9  # 1, 2 and the absent 9
    pd.testing.assert_series_equal(some.loc[("1", "2")], full.loc[("1", "2")], check_names=False)
    absent = some.loc[("9", "1")]
    assert absent["a"] == 0 and absent["b"] == 0 and math.isnan(absent["p"]) and absent["n"] == 74
    r = lag_table(BQ_CODES, "9", "1")
    assert (r.a, r.b) == (0, 0) and math.isnan(r.adjusted_residual) and r.n == 74


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="non-zero integer"):
        lag_tables(BQ_CODES, lag=0)
    with pytest.raises(ValueError, match="non-zero integer"):
        lag_table(BQ_CODES, "1", "2", lag=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="single string"):
        lag_tables("ABAB")
    with pytest.raises(TypeError, match="either one sequence"):
        lag_tables(["A", ["B", "C"]])
    with pytest.raises(ValueError, match="sequence 1 has a missing code at position 2"):
        lag_tables([["A", "B"], ["A", "B", None]])
    with pytest.raises(ValueError, match="square"):
        transition_statistics(np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        adjusted_residuals([[1, 2], [3, 4]], structural_zeros=[[True, False]])
    with pytest.raises(TypeError, match=r"write \['AB'\]"):
        lag_tables(BQ_CODES, codes_of_interest="AB")


def test_transition_statistics_takes_a_mask_or_pairs() -> None:
    counts = pd.DataFrame([[0, 3, 1], [2, 0, 4], [3, 1, 0]], index=list("ABC"), columns=list("ABC"))
    by_mask = transition_statistics(counts, structural_zeros=[[True, False, False], [False, True, False], [False] * 3])
    by_pairs = transition_statistics(counts, structural_zeros=[("A", "A"), ("B", "B")])
    pd.testing.assert_frame_equal(by_mask, by_pairs)
    assert by_pairs["structural_zero"].sum() == 2 and by_pairs.attrs["params"]["structural_zeros"] == [
        ["A", "A"],
        ["B", "B"],
    ]


def test_event_sequences_order_and_labels() -> None:
    """Onset, then actor, then code within a recording; recordings by id; rows without an id last."""
    t = AnnotationTable(
        [
            {"recording_id": 2, "actor": "child", "code": "x", "onset_ms": 5},
            {"actor": "child", "code": "y", "onset_ms": 1},
            {"recording_id": 1, "actor": "parent", "code": "z", "onset_ms": 9},
            {"recording_id": 1, "actor": "child", "code": "w", "onset_ms": 9},
            {"recording_id": 1, "actor": "child", "code": "v", "onset_ms": 2, "offset_ms": 50},
        ]
    )
    assert event_sequences(t) == [["v", "w", "z"], ["x"], ["y"]]
    assert event_sequences(t, actors=["parent"], with_actor=True) == [["parent:z"]]


def test_result_is_frozen_and_records_parameters() -> None:
    r = lag_table([list("ABAB"), list("BA")], "A", "B")
    with pytest.raises(AttributeError):
        r.a = 5  # type: ignore[misc]
    assert r.params["n_sequences"] == 2 and r.params["given"] == "A" and r.params["omit_repeats"] is False
    assert r.to_dict()["a"] == r.a


# -- from annotations: real BORIS data -----------------------------------------------------------


def _boris_recordings(real_data: Path) -> AnnotationTable:
    """Every non-empty observation of BORIS's test.boris as one recording (ids 1, 2, ...)."""
    from workbench.io.boris import read_boris

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the project has one unpaired observation, left out with a warning
        project = read_boris(real_data / "BORIS" / "test.boris", unpaired="skip")
    frames = [
        t.to_dataframe().assign(recording_id=k, id=None)
        for k, (_, t) in enumerate(sorted(project.observations.items()), start=1)
        if len(t)
    ]
    return AnnotationTable(pd.concat(frames, ignore_index=True))


def test_event_sequences_from_boris_observations_match_a_pandas_tally(real_data: Path) -> None:
    """BORIS test.boris (real coding): lag-1 counts per observation, pooled, vs a pandas shift/crosstab."""
    table = _boris_recordings(real_data)
    seqs = event_sequences(table, with_actor=True)
    df = table.to_dataframe().sort_values(["recording_id", "onset_ms", "actor", "code"], kind="mergesort")
    df["label"] = df["actor"] + ":" + df["code"]
    df["next"] = df.groupby("recording_id")["label"].shift(-1)
    pairs = df.dropna(subset=["next"])
    expected = pd.crosstab(pairs["label"], pairs["next"])
    counts = transition_counts(seqs)
    assert len(seqs) == table.to_dataframe()["recording_id"].nunique()
    for g in expected.index:
        for t in expected.columns:
            assert counts.loc[g, t] == expected.loc[g, t], (g, t)
    assert int(counts.to_numpy().sum()) == len(pairs)


# -- time windows ----------------------------------------------------------------------------------


def _timed(rows: list[tuple[int, str, str, int, int | None]]) -> AnnotationTable:
    return AnnotationTable(
        [{"recording_id": r, "actor": a, "code": c, "onset_ms": on, "offset_ms": off} for r, a, c, on, off in rows]
    )


def test_time_window_hand_counted() -> None:
    """1 s units, window (0, 3000): a G onset in unit u opens units u, u+1, u+2.

    Recording 1, end 12 000 ms -> units 0..11:
      G at 1 200 (unit 1) -> units 1, 2, 3; G at 2 900 (unit 2) -> units 2, 3, 4 (overlap: one window);
      G at 10 500 (unit 10) -> units 10, 11 (cut at the end).  Window units: 1, 2, 3, 4, 10, 11.
      T onsets at 2 100 (unit 2), 4 999 (unit 4), 7 000 (unit 7, a state to 12 000), 11 000 (unit 11).
      a = {2, 4, 11} = 3, b = {1, 3, 10} = 3, c = {7} = 1, d = {0, 5, 6, 8, 9} = 5.
    Recording 2, end 5 001 (a point at 5 000) -> units 0..5; T at 0 and 5 000, no G:
      c = 2, d = 4.
    """
    t = _timed(
        [
            (1, "child", "G", 1200, None),
            (1, "child", "G", 2900, 3500),
            (1, "child", "G", 10500, None),
            (1, "parent", "T", 2100, None),
            (1, "parent", "T", 4999, None),
            (1, "parent", "T", 7000, 12000),
            (1, "parent", "T", 11000, None),
            (2, "parent", "T", 0, None),
            (2, "parent", "T", 5000, None),
        ]
    )
    r = time_window_table(t, "G", "T")
    assert isinstance(r, WindowResult)
    assert (r.a, r.b, r.c, r.d, r.n) == (3, 3, 3, 9, 18)
    assert r.params["units_per_recording"] == {"1": 12, "2": 6}
    assert r.transitional_probability == pytest.approx(0.5)
    assert r.yules_q == pytest.approx((3 * 9 - 3 * 3) / (3 * 9 + 3 * 3))
    assert r.expected == pytest.approx(6 * 6 / 18)
    # a window starting one unit after the onset unit ("strictly later")
    later = time_window_table(t, "G", "T", window_ms=(1000, 4000))
    # windows: G@1 -> 2,3,4; G@2 -> 3,4,5; G@10 -> 11. a = {2, 4, 11}, b = {3, 5}
    assert (later.a, later.b) == (3, 2)
    # looking back: T onsets in the 2 s before (and the unit of) each G onset
    back = time_window_table(t, "G", "T", window_ms=(-2000, 1000))
    # G@1 -> 0,1; G@2 -> 0,1,2; G@10 -> 8,9,10 -> window {0,1,2,8,9,10}; T in 2 -> a = 1
    assert (back.a, back.b) == (1, 5)


def test_time_window_actor_filter_and_duration() -> None:
    t = _timed(
        [
            (1, "child", "G", 0, None),
            (1, "parent", "G", 5000, None),
            (1, "parent", "T", 1000, None),
            (1, "child", "T", 6000, None),
        ]
    )
    both = time_window_table(t, "G", "T")
    assert (both.a, both.c) == (2, 0)
    child_g = time_window_table(t, "G", "T", given_actor="child", target_actor="parent")
    assert (child_g.a, child_g.b, child_g.c) == (1, 2, 0)
    longer = time_window_table(t, "G", "T", duration_ms={1: 20_000})
    # 20 units instead of 7; G@5000's window now reaches unit 7 instead of being cut after unit 6
    assert longer.n == 20 and longer.b == both.b + 1 and longer.d == both.d + 12
    with pytest.raises(ValueError, match="duration_ms >= the end"):
        time_window_table(t, "G", "T", duration_ms=3000)
    with pytest.raises(ValueError, match="multiples of unit_ms"):
        time_window_table(t, "G", "T", window_ms=(0, 2500))
    with pytest.raises(ValueError, match="start < end"):
        time_window_table(t, "G", "T", window_ms=(3000, 0))
    with pytest.raises(ValueError, match="positive integer"):
        time_window_table(t, "G", "T", unit_ms=0)


def _brute_force_window(table: AnnotationTable, g: str, t: str, lo: int, hi: int, unit: int) -> tuple[int, ...]:
    """The documented rule, unit by unit, with plain loops."""
    a = b = c = d = 0
    for _, rec in table.to_dataframe().groupby("recording_id"):
        end = max(max(off, on + 1) for on, off in zip(rec["onset_ms"], rec["offset_ms"], strict=True))
        n_units = math.ceil(end / unit)
        g_units = [on // unit for on in rec.loc[rec["code"] == g, "onset_ms"]]
        t_units = {on // unit for on in rec.loc[rec["code"] == t, "onset_ms"]}
        for k in range(n_units):
            inside = any(u + lo // unit <= k < u + hi // unit for u in g_units)
            hit = k in t_units
            if inside and hit:
                a += 1
            elif inside:
                b += 1
            elif hit:
                c += 1
            else:
                d += 1
    return a, b, c, d


def test_time_window_matches_brute_force_on_random_codings(rng: np.random.Generator) -> None:
    for trial in range(20):
        rows = []
        for rec in (1, 2, 3):
            for _ in range(int(rng.integers(0, 40))):
                on = int(rng.integers(0, 60_000))
                off = on + int(rng.integers(0, 4000)) if rng.random() < 0.5 else None
                rows.append((rec, "p", str(rng.choice(["G", "T", "X"])), on, off))
        if not rows:
            continue
        table = _timed(rows)
        unit = int(rng.choice([250, 500, 1000]))
        lo = unit * int(rng.integers(-3, 3))
        hi = lo + unit * int(rng.integers(1, 8))
        r = time_window_table(table, "G", "T", window_ms=(lo, hi), unit_ms=unit)
        assert (r.a, r.b, r.c, r.d) == _brute_force_window(table, "G", "T", lo, hi, unit), trial


def test_time_window_on_boris_observations(real_data: Path) -> None:
    """Real BORIS coding: behaviour p's onsets within 3 s after s's onsets, vs the brute-force rule."""
    table = _boris_recordings(real_data)
    r = time_window_table(table, "s", "p", window_ms=(0, 3000))
    assert (r.a, r.b, r.c, r.d) == _brute_force_window(table, "s", "p", 0, 3000, 1000)
    assert r.n == sum(r.params["units_per_recording"].values()) and r.a + r.b > 0
