"""Synchrony (workbench.analysis.synchrony) against rMEA on rMEA's own sample data.

The reference numbers in tests/fixtures/rmea_reference/ were computed in R 4.2.2 by reference.R
beside them (rMEA's computations in base R; see the README there). rMEA's README (its example run on
the same 20 files) supplies a second, printed set of outside numbers: the share of samples with
movement per person, the outlier warnings and the number of possible pseudo-dyads.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.analysis.synchrony import (
    MEA,
    MEAOutlierWarning,
    ccf,
    ccf_summary,
    grand_average,
    mea_from_motion_energy,
    read_mea,
    read_mea_folder,
    scale,
    shuffle,
    smooth,
)
from workbench.errors import FormatError

REFERENCE = Path(__file__).resolve().parent / "fixtures" / "rmea_reference"
RATE = 25
TOL = 1e-10
SUMMARY = ["all_lags", "s1_lead", "s2_lead", "lag_zero", "s1_lead_0", "s2_lead_0", "best_lag"]

# rMEA's README, "STEP 3 | ReadMEA report": Patient_% and Therapist_% (rounded to 0.1) per file
README_PERCENT = {
    "200": (50.1, 59.5), "201": (50.2, 74.7), "202": (44.6, 47.1), "203": (97.4, 73.1), "204": (66.4, 55.7),
    "205": (84.3, 69.9), "206": (30.3, 34.4), "207": (52.5, 42.3), "208": (76.6, 44.2), "209": (72.4, 63.1),
    "100": (85.0, 97.2), "101": (84.2, 88.0), "102": (90.9, 95.1), "103": (72.5, 90.7), "104": (72.5, 73.9),
    "105": (69.2, 83.5), "106": (76.7, 66.1), "107": (95.4, 79.5), "108": (80.1, 96.5), "109": (85.0, 87.3),
}  # fmt: skip
# rMEA's README: "Warning: 0.07% of the data was higher than 10 standard deviations in dyad: 200, ..."
README_OUTLIERS = {
    "200": 0.07, "201": 0.03, "202": 0.03, "204": 0.04, "205": 0.01, "206": 0.05, "208": 0.01,
    "100": 0.03, "101": 0.01, "104": 0.09, "105": 0.02, "106": 0.1,
}  # fmt: skip


def reference(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / name, na_values=["NA"], dtype={"id": str})


def assert_close(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    assert ours.shape == theirs.shape, what
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=f"{what}: missing values differ")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL, equal_nan=True, err_msg=what)


@pytest.fixture(scope="module")
def rmea_dir(real_data: Path) -> Path:
    return real_data / "rMEA"


@pytest.fixture(scope="module")
def dyads(rmea_dir: Path) -> list[MEA]:
    """All 20 sample dyads, normal (200-209) then dropout (100-109), as rMEA's README combines them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MEAOutlierWarning)
        normal = read_mea_folder(rmea_dir / "normal", RATE, ("Patient", "Therapist"), group="normal")
        dropout = read_mea_folder(rmea_dir / "dropout", RATE, ("Patient", "Therapist"), group="dropout")
    return normal + dropout


@pytest.fixture(scope="module")
def d200(dyads: list[MEA]) -> MEA:
    return dyads[0]


# ---------------------------------------------------------------------------------------------------------
# reading


def test_read_matches_rmea_report_and_readme(dyads: list[MEA]) -> None:
    report = reference("read_report.csv")
    assert [m.uid for m in dyads] == report["uid"].tolist()
    for mea, row in zip(dyads, report.itertuples(), strict=True):
        assert len(mea) == row.rows == 15000
        s1, s2 = mea.percent_moving()
        assert s1 == pytest.approx(row.s1_percent, abs=1e-12)
        assert s2 == pytest.approx(row.s2_percent, abs=1e-12)
        assert (round(s1, 1), round(s2, 1)) == README_PERCENT[mea.id]
    assert dyads[0].names == ("Patient", "Therapist")
    assert dyads[0].session == 1 and dyads[0].id == "200" and dyads[0].filter == "raw"
    assert (
        repr(dyads[0]) == "<MEA | normal_200_1: Patient & Therapist, 15000 samples at 25 Hz (600.0 s), raw>"
    )


def test_outlier_warnings_as_in_rmea_readme(rmea_dir: Path) -> None:
    report = reference("read_report.csv").set_index("file")
    for path in sorted((rmea_dir / "normal").glob("*.txt")) + sorted((rmea_dir / "dropout").glob("*.txt")):
        dyad = path.stem.split("_")[0]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            read_mea(path, RATE)
        messages = [str(w.message) for w in caught if issubclass(w.category, MEAOutlierWarning)]
        if dyad in README_OUTLIERS:
            assert len(messages) == 1, path.name
            share = float(re.search(r"but ([\d.]+)% of the data", messages[0]).group(1))  # type: ignore[union-attr]
            assert share == README_OUTLIERS[dyad] == report.loc[path.name, "over_10sd_percent"]
            assert path.name in messages[0]
        else:
            assert messages == [], path.name


def test_read_options_and_errors(tmp_path: Path, rmea_dir: Path) -> None:
    # no header, commas, three columns: person 1 is columns 0 + 2 summed (two regions), as rMEA sums them
    plain = tmp_path / "7_s03.csv"
    plain.write_text("1,10,2\n3,20,4\n5,30,NA\n", encoding="utf-8")
    mea = read_mea(plain, 10, s1_col=[0, 2], s2_col=1)
    np.testing.assert_array_equal(mea.s1, [3, 7, np.nan])
    np.testing.assert_array_equal(mea.s2, [10, 20, 30])
    assert (mea.id, mea.session) == ("7", 3)
    assert mea.data.index.tolist() == [0, 100, 200]
    # by header name
    with pytest.warns(MEAOutlierWarning, match="0.07%"):
        named = read_mea(rmea_dir / "normal" / "200_01.txt", RATE, s1_col="th", s2_col="pat", id_order=None)
    assert named.id == "200_01"
    bad = tmp_path / "1_01.txt"
    bad.write_text('"a" "b"\n1 2\n3 x\n', encoding="utf-8")
    with pytest.raises(FormatError, match=r"column 1 .*1_01.txt.*data row 2 holds 'x'"):
        read_mea(bad, RATE)
    with pytest.raises(FormatError, match="column index 5"):
        read_mea(plain, RATE, s1_col=5)
    with pytest.raises(FormatError, match="separated by '_'"):
        read_mea(plain.rename(tmp_path / "nosep.csv"), RATE, s1_col=[0, 2])
    with pytest.raises(FormatError, match="does not exist"):
        read_mea(tmp_path / "missing.txt", RATE)


# ---------------------------------------------------------------------------------------------------------
# filters


def test_smooth_and_scale_match_rmea(d200: MEA) -> None:
    smoothed = smooth(d200)
    scaled = scale(smoothed)
    assert scaled.filter == "raw --> smooth --> rescaled (sd)"
    ref = reference("smooth_scale_200_01.csv")
    at = ref["position"].to_numpy() - 1
    assert_close(smoothed.s1[at], ref["smooth_s1"], "MEAsmooth s1")
    assert_close(smoothed.s2[at], ref["smooth_s2"], "MEAsmooth s2")
    assert_close(scaled.s1[at], ref["scaled_s1"], "MEAscale s1")
    assert_close(scaled.s2[at], ref["scaled_s2"], "MEAscale s2")
    factors = reference("scale_factors_200_01.csv")
    assert_close(smoothed.s1.sum(), factors["sum_of_smoothed"][0], "sum s1")
    assert_close(np.std(smoothed.s2, ddof=1), factors["sd_of_smoothed"][1], "sd s2")
    # rMEA's quirks, visible in R's output: the last samples become 0 (the window runs past the end)
    assert np.all(ref["smooth_s1"].to_numpy()[-5:] == 0) and np.all(smoothed.s1[-5:] == 0)


def test_scale_options(d200: MEA) -> None:
    by_number = scale(d200, 2.0)
    np.testing.assert_array_equal(by_number.s1, d200.s1 / 2)
    assert by_number.filter == "raw --> rescaled (2)"
    centred = scale(d200, np.max, center=True)
    assert centred.filter == "raw --> rescaled (max)"
    assert abs(np.mean(centred.s2)) < 1e-12
    np.testing.assert_allclose(centred.s1, (d200.s1 - d200.s1.mean()) / d200.s1.max())
    with pytest.raises(ValueError, match="'scale' parameter"):
        scale(d200, "mad")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# cross-correlation


def test_ccf_table_matches_rmea(d200: MEA) -> None:
    table = ccf(d200, lag_s=5, window_s=60, increment_s=30)
    ref = reference("ccf_200_01_raw_lag5_win60_inc30.csv").drop(columns="window")
    # rMEA's window count: ceiling((15000 - 1500 - 125 + 1) / 750) = 18 windows of 60 s, every 30 s
    assert table.shape == ref.shape == (18, 251)
    assert table.index.tolist() == [30_000 * w for w in range(18)]
    assert table.attrs["end_ms"][-1] == 17 * 30_000 + 60_000
    assert np.allclose(table.columns.to_numpy(), [float(c.removeprefix("lag")) for c in ref.columns])
    assert_close(table.to_numpy(), ref.to_numpy(), "MEAccf 200_01")
    assert (table.to_numpy() >= 0).all()  # ABS


def test_summaries_match_rmea_readme_pipeline(dyads: list[MEA]) -> None:
    # README: MEAsmooth -> MEAscale -> MEAccf(lagSec = 5, winSec = 30, incSec = 10, ABS = F)
    ref = reference("ccfres_readme_pipeline.csv")
    grand = reference("grand_averages.csv").set_index("uid")
    by_uid = {m.uid: m for m in dyads}
    for uid in grand.index:
        table = ccf(scale(smooth(by_uid[uid])), 5, 30, 10, absolute=False)
        assert grand_average(table) == pytest.approx(grand.loc[uid, "readme_pipeline"], abs=TOL)
        raw = ccf(by_uid[uid], 5, 60, 30)
        assert grand_average(raw) == pytest.approx(grand.loc[uid, "raw_lag5_win60_inc30"], abs=TOL)
        rows = ref[ref["uid"] == uid]
        if len(rows):
            summary = ccf_summary(table)
            assert list(summary.columns) == SUMMARY
            assert len(summary) == len(rows) == math.ceil((15000 - 750 - 125 + 1) / 250) == 57
            for column in SUMMARY:
                assert_close(summary[column].to_numpy(), rows[column].to_numpy(), f"{uid} {column}")


@pytest.mark.parametrize(
    ("name", "lag", "window", "increment", "fisher_z", "absolute"),
    [
        ("ccfres_200_01_lag0_win30_inc30_r.csv", 0, 30, 30, False, False),
        ("ccfres_200_01_lag1_win10_inc5_z.csv", 1, 10, 5, True, False),
    ],
)
def test_other_settings_match_rmea(
    d200: MEA, name: str, lag: int, window: int, increment: int, fisher_z: bool, absolute: bool
) -> None:
    ref = reference(name).drop(columns="window")
    summary = ccf_summary(ccf(d200, lag, window, increment, fisher_z=fisher_z, absolute=absolute))
    assert list(summary.columns) == list(ref.columns)  # lag 0: no lead columns, as in rMEA
    for column in ref.columns:
        assert_close(summary[column].to_numpy(), ref[column].to_numpy(), f"{name} {column}")


def test_missing_values_as_in_rmea(d200: MEA) -> None:
    # the reference's pattern: every 97th patient sample missing, therapist samples 3001-4000 (1-based) missing
    s1, s2 = d200.s1.copy(), d200.s2.copy()
    s1[96::97] = np.nan
    s2[3000:4000] = np.nan
    holes = MEA(s1, s2, RATE, names=d200.names, id="200", group="normal")
    ref = reference("ccfres_200_01_missing.csv")
    table = ccf(holes, 5, 60, 30)
    summary = ccf_summary(table)
    for column in SUMMARY:
        assert_close(summary[column].to_numpy(), ref[column].to_numpy(), f"missing {column}")
    assert grand_average(table) == pytest.approx(ref["grand_average"][0], abs=TOL)
    assert table.iloc[3].isna().all()  # window 4 reads 875 missing therapist samples of 1625: all NA
    smoothed = smooth(holes)
    ref_smooth = reference("smooth_200_01_missing.csv")
    at = ref_smooth["position"].to_numpy() - 1
    assert_close(smoothed.s1[at], ref_smooth["smooth_s1"], "smooth with missing s1")
    assert_close(smoothed.s2[at], ref_smooth["smooth_s2"], "smooth with missing s2")


def test_positive_lags_mean_the_second_follows_the_first(rng: np.random.Generator) -> None:
    # s2 repeats s1 ten samples (0.4 s) later, with some noise: the peak is at lag +0.4 s and s1 "leads".
    # (An exact copy would give NA there: rMEA needs at least 2 differing pairs.)
    leader = rng.normal(size=3000)
    follower = np.concatenate([rng.normal(size=10), leader[:-10]]) + 0.3 * rng.normal(size=3000)
    mea = MEA(leader, follower, RATE, names=("parent", "child"))
    table = ccf(mea, lag_s=1, window_s=20, increment_s=10)
    summary = ccf_summary(table)
    assert len(table) == math.ceil((3000 - 500 - 25 + 1) / 250) == 10
    assert (summary["best_lag"] == 0.4).all()
    assert (table[0.4] > 1.2).all()  # Fisher's z of r = 0.96 (1 / sqrt(1 + 0.3**2))
    assert (summary["s1_lead"] > summary["s2_lead"]).all()
    reverse = ccf_summary(ccf(MEA(follower, leader, RATE), 1, 20, 10))
    assert (reverse["best_lag"] == -0.4).all()


def test_ccf_edge_cases() -> None:
    x = np.arange(60, dtype=float) % 7
    y = (np.arange(60, dtype=float) * 3) % 5
    mea = MEA(x, y, 10)
    assert len(ccf(mea, 1, 5, 1)) == 60 - 50 - 10 + 1  # exactly fills: one window per remaining start
    assert len(ccf(MEA(x[:60], y[:60], 10), 1, 5, 0.5)) == 1  # n - win - lag + 1 = 1
    with pytest.raises(ValueError, match="at least window \\+ lag = 60 samples"):
        ccf(MEA(x[:59], y[:59], 10), 1, 5, 1)
    with pytest.raises(ValueError, match="whole number of samples"):
        ccf(mea, 0.25, 5, 1)
    # identical series: every pair equal, so rMEA gives NA (fewer than 2 differing pairs) at lag 0
    same = ccf(MEA(x, x.copy(), 10), 0.5, 3, 1, fisher_z=False)
    assert same[0.0].isna().all() and not same[0.1].isna().all()
    # a motionless person: zero standard deviation, NA
    still = ccf(MEA(x, np.zeros(60), 10), 0.5, 3, 1)
    assert still.isna().all().all()
    assert math.isnan(grand_average(still))
    assert ccf_summary(still)["best_lag"].isna().all()


# ---------------------------------------------------------------------------------------------------------
# pseudo-synchrony


def test_shuffle_draws_what_r_draws(dyads: list[MEA]) -> None:
    ref = reference("shuffle_seed42_size50.csv")
    pseudo = shuffle(dyads, 50, seed=42)
    assert [m.uid for m in pseudo] == ref["uid"].tolist()
    assert [m.id for m in pseudo] == ref["id"].tolist()
    assert all(m.group == "random" and m.session == 1 for m in pseudo)
    for mea, expected in zip(pseudo[:12], ref["grand_average_raw_lag5_win60_inc30"][:12], strict=True):
        assert grand_average(ccf(mea, 5, 60, 30)) == pytest.approx(expected, abs=TOL)
    roles = shuffle(dyads, 10, seed=7, keep_roles=True)
    assert [m.uid for m in roles] == reference("shuffle_keeproles_seed7_size10.csv")["uid"].tolist()
    counts = reference("shuffle_counts.csv").set_index("setting")["possible"]
    assert len(shuffle(dyads)) == counts["all"] == 760  # README: "50 / 760 possible combinations"
    assert len(shuffle(dyads, 1000, keep_roles=True)) == counts["keep_roles"] == 380
    assert [m.uid for m in shuffle(dyads, 50, seed=42)] == [m.uid for m in pseudo]  # reproducible


def test_shuffle_pairs_series_of_different_lengths() -> None:
    a = MEA(np.arange(10.0), np.arange(10.0) * 2, RATE, id="a")
    b = MEA(np.arange(6.0), np.array([1, 2, np.nan, 4, 5, 6.0]), RATE, id="b")
    pairs = shuffle([a, b])
    assert [m.uid for m in pairs] == [
        "all_a_1_s1_|_all_b_1_s1",
        "all_a_1_s1_|_all_b_1_s2",
        "all_b_1_s1_|_all_a_1_s2",
        "all_a_1_s2_|_all_b_1_s2",
    ]
    assert len(pairs[0]) == 6 and len(pairs[1]) == 5  # cut to the shorter, the row with a gap dropped
    with pytest.raises(ValueError, match="one sampling rate"):
        shuffle([a, MEA(np.ones(3), np.ones(3), 30)])


# ---------------------------------------------------------------------------------------------------------
# from video motion energy


def test_mea_from_motion_energy() -> None:
    times = pd.Index(np.arange(6) * 40, name="time_ms")
    energy = pd.DataFrame(
        {
            "mum": [np.nan, 0.1, 0.2, 0.0, 0.3, 0.1],
            "baby_a": [np.nan, 0, 1, 2, 3, 4],
            "baby_b": [np.nan, 1, 0, 1, 0, 1],
        },
        index=times,
    )
    mea = mea_from_motion_energy(energy, "mum", ["baby_a", "baby_b"], id="case-3")
    assert mea.sampling_rate == 25
    assert mea.names == ("mum", "baby_a+baby_b")
    np.testing.assert_array_equal(mea.s2, [np.nan, 1, 1, 3, 3, 5])
    assert np.isnan(mea.s1[0]) and mea.uid == "all_case-3_1"
    with pytest.raises(ValueError, match="Expected regions \\['dad'\\]"):
        mea_from_motion_energy(energy, "dad", "mum")


# ---------------------------------------------------------------------------------------------------------
# 3D view (smoke test)


def test_synchrony_landscape_builds(d200: MEA) -> None:
    pytest.importorskip("ipyvolume")
    from workbench.charts_3d import synchrony_landscape

    table = ccf(d200, lag_s=5, window_s=60, increment_s=30)
    table.iloc[2] = np.nan  # a missing window is drawn, not dropped
    figure = synchrony_landscape(table)
    (mesh,) = figure.meshes
    assert np.asarray(mesh.x).size == np.asarray(mesh.z).size == 18 * 251
    x, y, z = (np.asarray(v).reshape(18, 251) for v in (mesh.x, mesh.y, mesh.z))
    np.testing.assert_allclose(x[0], table.columns.to_numpy())  # lag across
    np.testing.assert_allclose(z[:, 0], table.index.to_numpy() / 1000)  # time along, in s
    assert np.isfinite(y).all() and y.max() == pytest.approx(np.nanmax(table.to_numpy()))
    assert np.asarray(mesh.color).shape[-1] == 3
    assert (figure.xlabel, figure.ylabel, figure.zlabel) == ("lag", "sync", "time")  # short: long ones are cut off
    with pytest.raises(ValueError, match="non-empty ccf"):
        synchrony_landscape(table.iloc[:0])
