"""A purge leaves nothing even when something is in the way: batch results, reports across cases, an
open reader in another process, an interruption at any step, a project restored from a backup.

Every test searches the project folder itself, byte by byte (not with the purge's scanner), for the
purged case's real name and each part of it, its helping question, its film's checksum and, outside
the database, its pseudonym. The same search finds them before the purge, so the tests can fail.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.test_backup import fill
from workbench.batch import run_batch
from workbench.cli import main
from workbench.errors import DatabaseInUseError, NotFoundError
from workbench.media.synth import write_numbered_video
from workbench.project import Project, open_project
from workbench.store import purge, restore_backup

PSEUDONYM = "Quokka Zebedee"
REAL_NAME = "Ines Xandervelt"  # a short part (4 letters): searched as a whole word in raw bytes
QUESTION = "Bedtime with Tobiasz"
SQLITE = pytest.mark.parametrize("_project_target", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def other_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second film (2.0 s, 25 fps, 160x120 H.264) for the case that stays."""
    path = tmp_path_factory.mktemp("other-video") / "other.mp4"
    return Path(write_numbered_video(path, seconds=2.0, fps=25, size=(160, 120), codec="h264", audio=False))


@pytest.fixture(autouse=True)
def _registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_MEDIA_REGISTRY", str(tmp_path / "registry"))


def _research_report(folder: Path, stem: str, cases: str, text: str) -> None:
    """A research report across cases as ``workbench report --kind research`` writes it (page + sidecar)."""
    (folder / "reports").mkdir(exist_ok=True)
    (folder / "reports" / f"{stem}.html").write_text(f"<html><body>{text}</body></html>", encoding="utf-8")
    (folder / "reports" / f"{stem}.pdf").write_bytes(b"%PDF-1.7 compressed pages")
    meta = {"report": "research", "case": cases, "parameters": {"case": cases, "session": ""},
            "generated_at": "2999-01-01T00:00:00+00:00", "files": {"html": {}, "pdf": {}}}  # fmt: skip
    (folder / "reports" / f"{stem}.json").write_text(json.dumps(meta), encoding="utf-8")


def _populate(project: Project, video: Path, other: Path) -> dict[str, Any]:
    """Two cases with batch results and research reports; the doomed one's facts for the search."""
    keep, _ = fill(project, other, pseudonym="Family Keep", marker="keepme")
    case, rec = fill(project, video, pseudonym=PSEUDONYM, marker="Xylophonic")
    project.update_case(case, real_name=REAL_NAME, helping_question=QUESTION)
    assert run_batch(project, ["probe", "thumbnails", "contingency"], scheduler="sync", progress=False).ok
    folder = project.folder
    assert folder is not None
    _research_report(folder, "research-all-cases", "", f"<td>{PSEUDONYM}</td><td>Family Keep</td>")
    _research_report(folder, "research-Family-Keep", "Family Keep", "<td>Family Keep</td>")
    (project.case_folder(case, "clips") / "moment-1.webm").write_bytes(b"\x1a\x45\xdf\xa3 a clip")
    (project.case_folder(case, "cache") / "energy.npy").write_bytes(b"\x93NUMPY cached")
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    return {"case": case, "rec": rec, "keep": keep, "sha": sha, "folder": folder}


def _traces(folder: Path, sha: str) -> list[str]:
    """The purged case in the folder's files and file names: an independent, plain byte search.

    Needles of 6 bytes or more anywhere (also inside other words: SQLite stores columns side by side),
    shorter ones as whole words; the pseudonym outside the database only.
    """
    needles = [REAL_NAME, *REAL_NAME.split(), QUESTION, "Xylophonic", sha, PSEUDONYM]
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes() + b"\n" + path.relative_to(folder).as_posix().encode()
        for needle in needles:
            if needle == PSEUDONYM and path.name.startswith("workbench.db"):
                continue
            raw = re.escape(needle.encode())
            pattern = raw if len(needle) >= 6 else rb"(?<![A-Za-z0-9])" + raw + rb"(?![A-Za-z0-9])"
            if re.search(pattern, data, re.IGNORECASE):
                found.append(f"{path.relative_to(folder)}: {needle}")
    return found


def _results_of(folder: Path, sha: str) -> list[str]:
    files = [p for p in (folder / "results").rglob("*") if p.is_file()]
    return [p.name for p in files if sha in p.read_bytes().decode("latin-1") + p.name]


@SQLITE
def test_purge_removes_results_reports_clips_and_caches(project: Project, store_video: Path, other_video: Path) -> None:
    facts = _populate(project, store_video, other_video)
    folder = facts["folder"]
    keep_results = sorted(p.name for p in (folder / "results").rglob("*.*") if facts["sha"][:16] not in p.name)
    before = _traces(folder, facts["sha"])
    assert any("results/" in x for x in before) and any("research-all-cases" in x for x in before)

    report = project.purge_case(PSEUDONYM)

    assert report.clean, report.lines()
    assert _traces(folder, facts["sha"]) == []
    assert _results_of(folder, facts["sha"]) == []
    assert sorted(p.name for p in (folder / "results").rglob("*.*")) == keep_results  # the other case's stay
    assert not (folder / "reports" / "research-all-cases.html").exists()
    assert (folder / "reports" / "research-Family-Keep.html").is_file()  # did not include the case
    assert report.rebuild == ("workbench report PROJECT --kind research --to html,pdf",)
    assert "build it again: workbench report PROJECT --kind research" in "\n".join(report.lines())
    assert not (folder / purge.PENDING_FILE).exists()


@SQLITE
def test_a_shared_film_keeps_its_results_but_not_the_cases_coding(project: Project, store_video: Path) -> None:
    _, keep_rec = fill(project, store_video, pseudonym="Family Keep")
    case, rec = fill(project, store_video, pseudonym=PSEUDONYM, marker="Xylophonic")
    assert run_batch(project, ["probe", "contingency"], scheduler="sync", progress=False).ok
    folder = project.folder
    assert folder is not None
    index = json.loads((folder / "results" / "probe" / "index.json").read_text())
    assert [e["recording_ids"] for e in index["results"].values()] == [[keep_rec.id, rec.id]]
    report = project.purge_case(case)
    assert report.clean, report.lines()
    index = json.loads((folder / "results" / "probe" / "index.json").read_text())
    assert [e["recording_ids"] for e in index["results"].values()] == [[keep_rec.id]]  # the film's result stays
    coding = json.loads((folder / "results" / "contingency" / "index.json").read_text())["results"]
    assert [e["recording_ids"] for e in coding.values()] == [[keep_rec.id]]  # the case's coding is gone
    assert len(list((folder / "results" / "contingency").glob("*.parquet"))) == 1


@SQLITE
def test_the_scan_finds_a_short_name_part_and_never_prints_a_name(
    project: Project, store_video: Path, other_video: Path
) -> None:
    facts = _populate(project, store_video, other_video)
    folder = facts["folder"]
    (folder / "notes").mkdir()
    (folder / "notes" / "visit.txt").write_text("Met INES at school; the film was", encoding="utf-8")
    (folder / "notes" / "blob.bin").write_bytes(b"\x00\x01" + f"{facts['sha']}".encode() + b"\x00")
    report = project.purge_case(PSEUDONYM)
    assert not report.clean
    assert any("notes/visit.txt: holds a part of the real name once" in x for x in report.leftovers)
    assert any("notes/blob.bin: holds the checksum of its film once" in x for x in report.leftovers)
    printed = "\n".join(report.lines()).casefold()
    assert all(n.casefold() not in printed for n in (*REAL_NAME.split(), QUESTION))  # names never printed


# -- an open reader -------------------------------------------------------------------------------

READER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN")
conn.execute("SELECT count(*) FROM cases").fetchone()
print("reading", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


def _reader(db: Path) -> subprocess.Popen[str]:
    """Another process holding a read transaction on ``db`` until a line arrives on its stdin."""
    proc = subprocess.Popen([sys.executable, "-c", READER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "reading"
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("done\n")
    proc.stdin.flush()
    proc.wait(timeout=30)


@SQLITE
def test_an_open_reader_stops_the_purge_in_bounded_time_and_is_named(
    project: Project, store_video: Path, other_video: Path
) -> None:
    facts = _populate(project, store_video, other_video)
    folder = facts["folder"]
    proc = _reader(folder / "workbench.db")
    try:
        t0 = time.monotonic()
        with pytest.raises(DatabaseInUseError) as err:
            project.purge_case(PSEUDONYM, wait_s=2)
        waited = time.monotonic() - t0
    finally:
        _stop(proc)
    message = str(err.value)
    assert 2 <= waited < 10, waited
    assert "in use by another program" in message and f"process {proc.pid} (python" in message
    assert "Nothing was removed" in message and "run the purge again" in message
    assert any(str(proc.pid) in h for h in err.value.holders)
    assert project.case(PSEUDONYM).real_name == REAL_NAME  # nothing was removed
    assert project.pending_purges() == []

    report = project.purge_case(PSEUDONYM, wait_s=2)  # the reader is gone: it completes
    assert report.clean, report.lines()
    assert _traces(folder, facts["sha"]) == []


@SQLITE
def test_a_reader_arriving_after_the_rows_went_is_waited_for_and_the_purge_finishes_later(
    project: Project, store_video: Path, other_video: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    facts = _populate(project, store_video, other_video)
    folder = facts["folder"]
    readers: list[subprocess.Popen[str]] = []
    delete_rows = purge._delete_rows

    def rows_then_a_reader(project: Project, f: Any) -> dict[str, int]:
        readers.append(_reader(folder / "workbench.db"))  # reads the state with the case in it
        return delete_rows(project, f)

    monkeypatch.setattr(purge, "_delete_rows", rows_then_a_reader)
    try:
        with pytest.raises(DatabaseInUseError, match=r"rows were removed.*marked pending"):
            project.purge_case(PSEUDONYM, wait_s=1)
    finally:
        for proc in readers:
            _stop(proc)
    monkeypatch.undo()
    assert project.pending_purges() == [facts["case"].id]
    with pytest.raises(NotFoundError, match="interrupted purge of case id"):
        project.purge_case(PSEUDONYM)
    project.close()

    assert main(["purge", str(folder), "--case", PSEUDONYM, "--yes", "--wait", "2"]) == 0  # what the user reruns
    out = capsys.readouterr().out
    assert f"Finished the interrupted purge of case id {facts['case'].id}" in out and "verification   clean" in out
    assert _traces(folder, facts["sha"]) == []
    assert not (folder / purge.PENDING_FILE).exists()


# -- interrupted at each step ---------------------------------------------------------------------

STEPS = ["_write_pending", "_remove_files", "_forget_results", "_remove_reports_across_cases", "_delete_rows",
         "_compact", "scan_for_case"]  # fmt: skip


@SQLITE
@pytest.mark.parametrize("step", STEPS)
def test_an_interrupted_purge_completes_when_run_again(
    project: Project, store_video: Path, other_video: Path, step: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    facts = _populate(project, store_video, other_video)
    folder = facts["folder"]
    assert _traces(folder, facts["sha"])

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt(f"killed in {step}")

    monkeypatch.setattr(purge, step, killed)
    with pytest.raises(KeyboardInterrupt):
        project.purge_case(PSEUDONYM)
    monkeypatch.undo()
    rows_gone = STEPS.index(step) > STEPS.index("_delete_rows")
    assert project.pending_purges() == ([facts["case"].id] if step != "_write_pending" else [])
    pending = (folder / purge.PENDING_FILE).read_text() if step != "_write_pending" else ""
    assert all(n.casefold() not in pending.casefold() for n in (*REAL_NAME.split(), PSEUDONYM, QUESTION))
    project.close()

    assert main(["purge", str(folder), "--case", PSEUDONYM, "--yes"]) == 0
    out = capsys.readouterr().out
    assert ("Finished the interrupted purge" in out) == rows_gone and "verification   clean" in out
    assert _traces(folder, facts["sha"]) == []
    assert not (folder / purge.PENDING_FILE).exists()
    with open_project(folder) as again:
        assert [c.pseudonym for c in again.cases()] == ["Family Keep"]
    assert main(["purge", str(folder)]) == 0 and "No purge is pending" in capsys.readouterr().out


# -- restored projects ----------------------------------------------------------------------------


@SQLITE
def test_a_restored_project_still_names_the_backups_that_hold_the_case(
    project: Project, store_video: Path, other_video: Path, tmp_path: Path
) -> None:
    fill(project, other_video, pseudonym="Family Keep")
    fill(project, store_video, pseudonym=PSEUDONYM)
    b1 = project.backup(tmp_path / "b1")
    b2 = project.backup(tmp_path / "b2")
    restored = Path(restore_backup(b2.path, tmp_path / "restored"))
    with open_project(restored) as again:
        assert [str(b.path) for b in again.backups()] == [str(b1.path), str(b2.path)]
        report = again.purge_case(PSEUDONYM)
    assert report.clean, report.leftovers
    assert [b.split(" ")[0] for b in report.backups] == [str(b1.path), str(b2.path)]

    other = open_project(tmp_path / "other", create=True)  # restoring over a project keeps its list too
    b3 = other.backup(tmp_path / "b3")
    other.close()
    restore_backup(b1.path, tmp_path / "other", force=True)
    with open_project(tmp_path / "other") as again:
        assert sorted(str(b.path) for b in again.backups()) == sorted([str(b1.path), str(b3.path)])
