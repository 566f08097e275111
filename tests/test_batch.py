"""Batch jobs on Dask (workbench.batch): a real local cluster, the synchronous scheduler, reruns,
changed parameters, edited coding, a corrupt recording, custom tasks and the command line.

The project (built once per module, copied for each test) holds three generated "numbered" films
(:func:`workbench.media.synth.write_numbered_video`: frame *i* shows and encodes *i*; H.264 in MP4,
320x240, 25 fps, so frame *i* is at exactly 40 *i* ms):

========  ===========  ======  ======  =====  ==============================================
id        label        length  frames  audio  annotations (coder: rows)
========  ===========  ======  ======  =====  ==============================================
1         home visit   2.0 s   50      yes    anna: child initiative at 200 ms, parent
                                              reception at 600, response at 900 -> attuned;
                                              ben: child initiative at 200, parent
                                              discordant at 700 -> discordant
2         dinner       3.0 s   75      no     anna: child initiative at 100, parent initiative
                                              at 2500, nothing answers -> two missed
3         play         2.4 s   60      no     none
========  ===========  ======  ======  =====  ==============================================

Recordings 1 and 2 are in case "Family A" (filming, 2026-01-15), recording 3 in "Family B".
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench.batch as batch
from workbench.batch import (
    TASKS,
    BatchProject,
    BatchReport,
    Task,
    load_result,
    load_results,
    prune_results,
    register_task,
    run_batch,
)
from workbench.cli import main
from workbench.errors import NotFoundError, StoreError, WorkbenchError
from workbench.media import decode_frame_number, motion_energy
from workbench.media.synth import write_numbered_video
from workbench.project import open_project

FPS = 25
FILMS = {  # label -> (seconds, audio)
    "home visit": (2.0, True),
    "dinner": (3.0, False),
    "play": (2.4, False),
}
FRAMES = {1: 50, 2: 75, 3: 60}
DURATION_MS = {1: 2000, 2: 3000, 3: 2400}
MEDIA_TASKS = ("probe", "thumbnails", "motion_energy")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project described in the module docstring, closed (copy it before use)."""
    base = tmp_path_factory.mktemp("batch")
    films = base / "films"
    films.mkdir()
    folder = base / "project"
    with open_project(folder, create=True, coder="anna") as project:
        a = project.add_case("Family A", real_name="Jane Example")
        b = project.add_case("Family B")
        sessions = [
            project.add_session(a, "filming", "2026-01-15"),
            project.add_session(b, "filming", "2026-02-01"),
        ]
        for i, (label, (seconds, audio)) in enumerate(FILMS.items()):
            path = write_numbered_video(films / f"film{i}.mp4", seconds=seconds, fps=FPS, audio=audio)
            project.add_recording(sessions[0] if i < 2 else sessions[1], path, label=label)
        project.add_annotation(1, "child", "initiative-verbal", 200)
        project.add_annotation(1, "parent", "returning-eye-contact", 600, 800)
        project.add_annotation(1, "parent", "receiving-responding", 900, 1500)
        project.add_annotation(1, "child", "initiative-verbal", 200, coder="ben")
        project.add_annotation(1, "parent", "discordant-overriding", 700, 1000, coder="ben")
        project.add_annotation(2, "child", "initiative-nonverbal", 100)
        project.add_annotation(2, "parent", "naming-positively", 2500)
    return folder


@pytest.fixture
def folder(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template project."""
    copy = tmp_path / "project"
    shutil.copytree(template, copy)
    return copy


def _media(folder: Path, recording_id: int) -> Path:
    with open_project(folder) as project:
        return project.media_path(recording_id)


def _files(folder: Path) -> dict[str, float]:
    """Every stored result file (relative path) -> its modification time."""
    root = folder / "results"
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.suffix in (".parquet", ".npz")
    }


# -- a real local cluster ------------------------------------------------------------------


def test_local_cluster_and_sync_scheduler_store_the_same_results(
    folder: Path, template: Path, tmp_path: Path
) -> None:
    # a real LocalCluster: 2 worker processes, 1 thread each
    report = run_batch(folder, progress=False)
    assert isinstance(report, BatchReport)
    assert report.scheduler == "LocalCluster, 2 workers"
    assert (report.done, report.skipped, report.failed) == (12, 0, 0), report.summary()
    workers = {
        json.loads((folder / "results" / t / "index.json").read_text())["results"][k]["worker"]
        for t in MEDIA_TASKS
        for k in json.loads((folder / "results" / t / "index.json").read_text())["results"]
    }
    assert len(workers) >= 1 and all(":" in w for w in workers)

    # the same jobs in this process, on another copy of the project
    other = tmp_path / "other"
    shutil.copytree(template, other)
    sync = run_batch(other, scheduler="sync", progress=False)
    assert (sync.done, sync.failed) == (12, 0)
    assert sorted(_files(folder)) == sorted(_files(other))  # same keys: same sha256s and parameters
    for task in ("probe", "thumbnails", "motion_energy", "contingency"):
        pd.testing.assert_frame_equal(load_results(folder, task), load_results(other, task))


# -- what the tasks compute, checked against the films as written ----------------------------


def test_results_read_back_as_tidy_frames_with_the_films_facts(folder: Path) -> None:
    report = run_batch(folder, [*batch.DEFAULT_TASKS, "sequential"], scheduler="sync", progress=False)
    assert (report.done, report.failed) == (15, 0), report.summary()

    probe = load_results(folder, "probe").set_index("recording_id")
    assert probe.index.tolist() == [1, 2, 3]
    for rid in (1, 2, 3):
        path = _media(folder, rid)
        assert probe.loc[rid, "sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert probe.loc[rid, "file_bytes"] == path.stat().st_size
        assert probe.loc[rid, "frame_count"] == FRAMES[rid]
        assert probe.loc[rid, "duration_ms"] == DURATION_MS[rid]
        assert probe.loc[rid, "min_frame_interval_ms"] == probe.loc[rid, "max_frame_interval_ms"] == 40
    assert probe["has_audio"].tolist() == [True, False, False]
    assert probe["browser_playable"].all()  # H.264 (+ AAC) in MP4

    # thumbnails: 20 per recording; the frame in each is the one shown at its time (frame i at 40 i ms)
    thumbs = load_results(folder, "thumbnails")
    assert thumbs.groupby("recording_id").size().tolist() == [20, 20, 20]
    stored = load_result(folder, "thumbnails", 2)
    assert isinstance(stored, dict)
    strip, times = stored["strip"], stored["times_ms"]
    mine = thumbs[thumbs["recording_id"] == 2]
    assert strip.shape == (72, int(mine["width"].sum()), 3)
    for row in mine.itertuples():
        image = strip[:, row.x : row.x + row.width]
        assert decode_frame_number(image) == row.time_ms // 40 == times[row.thumbnail] // 40

    # motion energy: one row per frame and half; equal to motion_energy run here on the same file
    energy = load_results(folder, "motion_energy")
    assert energy.columns.tolist() == ["recording_id", "time_ms", "region", "energy"]
    assert energy.groupby(["recording_id", "region"]).size().to_dict() == {
        (r, h): FRAMES[r] for r in (1, 2, 3) for h in ("left", "right")
    }
    direct = motion_energy(_media(folder, 2), {"left": (0, 0, 160, 240), "right": (160, 0, 160, 240)})
    mine = energy[energy["recording_id"] == 2].pivot(index="time_ms", columns="region", values="energy")
    np.testing.assert_array_equal(mine[["left", "right"]].to_numpy(), direct.to_numpy())
    wide = load_result(folder, "motion_energy", 2)
    assert wide.attrs["roi_pixels"] == {"left": 160 * 240, "right": 160 * 240}

    # contingency: per coder, the outcomes coded by hand
    found = load_results(folder, "contingency")
    got = sorted(zip(found["recording_id"], found["coder"], found["actor"], found["outcome"], strict=True))
    assert got == [
        (1, "anna", "child", "attuned"),
        (1, "ben", "child", "discordant"),
        (2, "anna", "child", "missed"),
        (2, "anna", "parent", "missed"),
    ]
    attuned = found[found["outcome"] == "attuned"].iloc[0]
    assert (attuned["reception_latency_ms"], attuned["response_latency_ms"]) == (400, 700)

    # sequential: anna's recording-1 sequence is child:initiative, parent:reception, parent:response
    seq = load_results(folder, "sequential")
    row = seq[
        (seq["recording_id"] == 1)
        & (seq["coder"] == "anna")
        & (seq["given"] == "child:initiative-verbal")
        & (seq["target"] == "parent:returning-eye-contact")
    ]
    assert row[["a", "n"]].to_numpy().tolist() == [[1, 2]]


# -- reruns --------------------------------------------------------------------------------


def test_rerun_skips_everything_and_changed_params_recompute(folder: Path) -> None:
    first = run_batch(folder, scheduler="sync", progress=False)
    assert (first.done, first.skipped) == (12, 0)
    before = _files(folder)

    again = run_batch(folder, scheduler="sync", progress=False)
    assert (again.done, again.skipped, again.failed) == (0, 12, 0)
    assert again.scheduler == "nothing to run"
    assert _files(folder) == before  # nothing rewritten

    changed = run_batch(
        folder,
        ["thumbnails", "motion_energy"],
        params={"thumbnails": {"count": 4}},
        scheduler="sync",
        progress=False,
    )
    assert [(j.task, j.status) for j in changed.jobs] == [("thumbnails", "done")] * 3 + [
        ("motion_energy", "skipped")
    ] * 3
    assert set(before) < set(_files(folder))  # the old results are kept beside the new ones
    assert (
        load_results(folder, "thumbnails", params={"count": 4}).groupby("recording_id").size().tolist()
        == [4] * 3
    )
    assert len(load_results(folder, "thumbnails")) == 60  # the defaults' results are still there

    # a parameter of the same value (a tuple instead of a list, 10.0 for 10) is the same key
    same = run_batch(
        folder,
        ["contingency", "motion_energy"],
        params={"contingency": {"window_ms": (0, 3000.0)}, "motion_energy": {"threshold": 10.0}},
        scheduler="sync",
        progress=False,
    )
    assert same.skipped == 6
    forced = run_batch(folder, "probe", scheduler="sync", progress=False, force=True)
    assert forced.done == 3


def test_editing_the_coding_recomputes_only_that_recording(folder: Path) -> None:
    run_batch(folder, "contingency", scheduler="sync", progress=False)
    with open_project(folder, coder="anna") as project:
        project.add_annotation(2, "parent", "looking-interested", 300, 600)  # receives the child's initiative
    report = run_batch(folder, "contingency", scheduler="sync", progress=False)
    assert {j.recording_ids: j.status for j in report.jobs} == {
        (1,): "skipped",
        (2,): "done",
        (3,): "skipped",
    }
    found = load_results(folder, "contingency").set_index(["recording_id", "actor"])
    assert found.loc[(2, "child"), "outcome"] == "received"


def test_recordings_of_one_video_share_media_results(folder: Path) -> None:
    with open_project(folder) as project:
        again = project.add_recording(project.sessions()[1], _media(folder, 1), label="copy")
    report = run_batch(folder, "probe", scheduler="sync", progress=False)
    assert report.done == 3 and len(report.jobs) == 3
    shared = next(j for j in report.jobs if len(j.recording_ids) == 2)
    assert shared.recording_ids == (1, again.id)
    probe = load_results(folder, "probe")
    assert probe["recording_id"].tolist() == [1, 2, 3, again.id]
    assert probe.set_index("recording_id").loc[again.id, "frame_count"] == 50


# -- failures ------------------------------------------------------------------------------


def test_a_corrupt_recording_fails_alone_and_is_named(folder: Path) -> None:
    path = _media(folder, 2)
    original = path.read_bytes()
    path.write_bytes(original[: len(original) // 3])  # truncated: the end of the file is gone
    report = run_batch(folder, scheduler="sync", progress=False)
    assert (report.done, report.failed) == (9, 3), report.summary()
    failed = [j for j in report.jobs if j.status == "failed"]
    assert {j.task for j in failed} == set(MEDIA_TASKS)
    assert all(j.recording_ids == (2,) for j in failed)
    for line in report.errors:
        assert "recording 2 'dinner' (Family A, filming 2026-01-15" in line
        assert "MediaError: Expected" in line and "Traceback" not in line
    assert "Jane Example" not in report.summary()  # never the real name
    assert "failed:" in report.summary()

    with pytest.warns(UserWarning, match=r"recordings 2 have none"):
        probe = load_results(folder, "probe")
    assert probe["recording_id"].tolist() == [1, 3]
    assert probe.attrs["missing"] == [2]
    with pytest.raises(NotFoundError, match="recording 2"):
        load_result(folder, "probe", 2)

    # failures are not stored: once the file is repaired, a rerun does exactly them
    path.write_bytes(original)
    rerun = run_batch(folder, scheduler="sync", progress=False)
    assert (rerun.done, rerun.skipped, rerun.failed) == (3, 9, 0)


def test_a_replaced_or_missing_video_is_reported(folder: Path, tmp_path: Path) -> None:
    write_numbered_video(tmp_path / "other.mp4", seconds=1.0, fps=FPS, audio=False)
    shutil.copyfile(tmp_path / "other.mp4", _media(folder, 1))
    _media(folder, 3).unlink()
    report = run_batch(folder, "probe", scheduler="sync", progress=False)
    assert (report.done, report.failed) == (1, 2)
    errors = dict(zip([j.recording_ids[0] for j in report.jobs if j.error], report.errors, strict=True))
    assert "changed or replaced after it was registered" in errors[1]
    assert "recording 3 'play' (Family B" in errors[3] and "missing" in errors[3]


def _size_or_boom(path: Path, params: dict[str, object]) -> pd.DataFrame:
    from workbench.media import probe

    if probe(path, checksum=False).frame_count > 70:  # only the 3-second film ("dinner", 75 frames)
        raise RuntimeError("boom")
    if params["warn"]:
        import warnings

        warnings.warn("small file", UserWarning, stacklevel=1)
    return pd.DataFrame({"bytes": [path.stat().st_size], "unit": [params["unit"]]})


def _returns_a_list(path: Path, params: dict[str, object]) -> list[int]:
    return [1, 2]


@pytest.fixture
def custom_task() -> Iterator[Task]:
    task = register_task(Task("file-size", _size_or_boom, "media", {"unit": "B", "warn": False}, version=2))
    yield task
    TASKS.pop("file-size", None)


def test_custom_tasks_plug_in_and_their_errors_are_named(folder: Path, custom_task: Task) -> None:
    report = run_batch(folder, "file-size", scheduler="sync", progress=False)
    assert (report.done, report.failed) == (2, 1)
    (error,) = report.errors
    assert error.startswith("file-size: recording 2 'dinner'")
    assert "RuntimeError: boom (raised in test_batch.py:" in error and "Traceback" not in error
    sizes = load_results(folder, "file-size", recordings=[1, 3])
    assert sizes["bytes"].tolist() == [_media(folder, 1).stat().st_size, _media(folder, 3).stat().st_size]

    # warnings raised on a worker come back, naming the recording
    with pytest.warns(UserWarning, match=r"file-size: recording 1 'home visit'.*small file"):
        run_batch(
            folder,
            "file-size",
            params={"file-size": {"warn": True}},
            recordings=[1],
            scheduler="sync",
            progress=False,
        )

    # a task object need not be registered; a wrong return type fails the job, not the batch
    odd = Task("odd", _returns_a_list, "media")
    bad = run_batch(folder, [odd, "probe"], scheduler="sync", progress=False)
    assert (bad.failed, bad.done) == (3, 3)
    assert "Expected task 'odd' to return a DataFrame or a dict of arrays, but got list" in bad.errors[0]

    with pytest.raises(ValueError, match="'file-size' is registered"):
        register_task(Task("file-size", _size_or_boom, "media"))


# -- arguments -----------------------------------------------------------------------------


def test_bad_arguments_are_refused_clearly(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=r"Allowed values are 'probe', 'thumbnails'.* but got 'thumbs'"):
        run_batch(folder, "thumbs", scheduler="sync")
    with pytest.raises(ValueError, match=r"among count, height, but got 'heigth'"):
        run_batch(folder, "thumbnails", params={"thumbnails": {"heigth": 10}}, scheduler="sync")
    with pytest.raises(ValueError, match=r"parameters for 'motion_energy'"):
        run_batch(folder, "probe", params={"motion_energy": {"threshold": 5}}, scheduler="sync")
    with pytest.raises(ValueError, match=r"scheduler address like 'tcp://host:8786', but got 'local'"):
        run_batch(folder, "probe", scheduler="local")
    with pytest.raises(TypeError, match="Expected scheduler None"):
        run_batch(folder, "probe", scheduler=8786)
    with pytest.raises(NotFoundError, match="recording id, but got 9"):
        run_batch(folder, "probe", recordings=[9], scheduler="sync")
    with pytest.raises(TypeError, match="JSON-like"):
        run_batch(
            folder, "motion_energy", params={"motion_energy": {"rois": {"a": object()}}}, scheduler="sync"
        )
    with (
        open_project(f"sqlite:///{folder / 'workbench.db'}") as no_folder,
        pytest.raises(StoreError, match="project folder to keep batch results"),
    ):
        run_batch(no_folder, "probe", scheduler="sync")
    monkeypatch.setattr(batch, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(
        WorkbenchError, match=r"Expected a Dask scheduler at tcp://127.0.0.1:9, but could not"
    ):
        run_batch(folder, "probe", scheduler="tcp://127.0.0.1:9", progress=False)
    assert not (folder / "results" / "probe").exists() or not _files(folder)


# -- keys, and what the batch reads from a project -------------------------------------------


def test_keys_of_stored_results_do_not_change(folder: Path) -> None:
    """A media result's key is ``<video sha256>-<hash of task, version, parameters>``; the hashes are pinned
    here, because a changed key orphans every result already stored in users' projects."""
    report = run_batch(folder, list(MEDIA_TASKS), scheduler="sync", progress=False)
    with open_project(folder) as project:
        shas = {r.id: r.sha256 for r in project.recordings()}
    pinned = {"probe": "430ef8f03eed7c08", "thumbnails": "7ffa54cdcce75a96", "motion_energy": "a2e743baecaaec43"}
    assert [j.key for j in report.jobs] == [f"{shas[j.recording_ids[0]]}-{pinned[j.task]}" for j in report.jobs]
    changed = run_batch(folder, "thumbnails", params={"thumbnails": {"count": 3}}, scheduler="sync", progress=False)
    assert {j.key.split("-")[1] for j in changed.jobs} == {"7a90b92f252e042c"}


def test_an_open_project_is_what_the_batch_reads(folder: Path) -> None:
    with open_project(folder) as project:
        assert isinstance(project, BatchProject)  # the methods the batch calls (runtime check: names only)
        report = run_batch(project, "contingency", recordings=[project.recordings()[0]], scheduler="sync")
    assert (report.done, report.failed) == (1, 0)


# -- progress, pruning, the command line -----------------------------------------------------


def test_progress_bar_counts_jobs(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_batch(folder, "probe", scheduler="sync", progress=True)
    err = capsys.readouterr().err
    assert "workbench batch" in err and "3/3" in err
    run_batch(folder, "probe", scheduler="sync", progress=False)
    assert capsys.readouterr().err == ""


def test_prune_removes_results_of_deleted_recordings(folder: Path) -> None:
    run_batch(folder, ["probe", "contingency"], scheduler="sync", progress=False)
    with open_project(folder) as project:
        gone = project.recording(3).sha256
        project.delete_recording(3)
    removed = prune_results(folder)
    assert sorted(p.parent.name for p in removed) == ["contingency", "probe"]
    assert all(p.name.startswith(gone) and not p.exists() for p in removed)
    assert len(_files(folder)) == 4
    index = json.loads((folder / "results" / "probe" / "index.json").read_text())["results"]
    assert all(e["sha256"] != gone for e in index.values()) and len(index) == 2
    assert prune_results(folder) == []


def test_cli_runs_reruns_and_fails_with_status_1(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["batch", str(folder), "--scheduler", "sync", "--tasks", "probe,thumbnails", "--no-progress"]
    assert main([*args, "--param", "thumbnails.count=3"]) == 0
    out = capsys.readouterr().out
    assert "6 done, 0 skipped, 0 failed" in out and "thumbnails       3 done" in out
    assert main([*args, "--param", "thumbnails.count=3"]) == 0
    assert "0 done, 6 skipped" in capsys.readouterr().out
    assert len(load_results(folder, "thumbnails", params={"count": 3})) == 9

    _media(folder, 3).write_bytes(b"not a video")
    assert main([*args, "--force"]) == 1
    out = capsys.readouterr().out
    assert "2 failed" in out and "probe: recording 3 'play'" in out

    assert main(["batch", str(folder), "--scheduler", "sync", "--param", "thumbnails.count"]) == 2
    assert "Expected --param TASK.NAME=VALUE" in capsys.readouterr().err
    assert main(["batch", str(folder), "--scheduler", "sync", "--tasks", "nope"]) == 2
    assert "but got 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["batch", "--help"])
    assert info.value.code == 0 and "--scheduler" in capsys.readouterr().out
