"""The command line, end to end: the demo, help texts, clear errors, import/export."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import build_parser, main

SUBCOMMANDS = [
    "demo",
    "init",
    "info",
    "lab",
    "voila",
    "probe",
    "scheme",
    "import",
    "export",
    "batch",
    "backup",
    "restore",
    "purge",
    "retention",
    "report",
    "pack",
    "protect",
]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: workbench {command}")
    parser_help = build_parser().format_help()
    assert command in parser_help


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("cli") / "demo"
    result = _run("demo", str(folder), "--no-browser")
    return folder, result


def test_demo_builds_headless_and_reports_what_it_built(demo_project) -> None:
    folder, result = demo_project
    assert result.returncode == 0, result.stderr
    assert (folder / "workbench.db").is_file()
    out = result.stdout
    for pseudonym in ("Aster", "Birch", "Cedar"):
        assert f"case     {pseudonym}: 4 sessions, 2 recordings" in out
    assert "supervisor" in out and "trainee" in out
    # made-up real names stay in the store
    assert "Thistlewood" not in out and "Oakhollow" not in out


def test_demo_exports_its_report(demo_project) -> None:
    """The main job ends with the supervision report on disk: HTML always, PDF where Chromium is."""
    import lxml.html

    import workbench
    from workbench.report.pdf import find_chromium

    folder, result = demo_project
    assert result.returncode == 0, result.stderr
    with workbench.open_project(folder) as project:  # the case's own folder: what a purge of Aster empties
        page = project.case_folder("Aster", "reports") / "supervision-Aster-demo.html"
    assert f"Exported the demo's supervision report: {page}" in result.stdout
    doc = lxml.html.parse(str(page)).getroot()
    text = doc.text_content()
    assert "Aster" in text and "Thistlewood" not in text  # the pseudonym, never the made-up real name
    # the helping question names the child: the export replaced it, and said how many it replaced
    assert "How can I get [child] to listen to me?" in text and "Sam" not in text.split()
    assert "De-identified: 1 protected name(s) replaced" in result.stdout
    assert doc.xpath("//svg") or doc.xpath("//img"), "the report has its figures"
    try:
        find_chromium()
    except Exception:
        return  # no Chromium here: HTML only, and the message said so
    pdf = page.with_suffix(".pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    # run again: the exported report is kept, not rebuilt
    again = _run("demo", str(folder), "--no-browser")
    assert again.returncode == 0 and "The demo report is already exported" in again.stdout


def test_demo_project_content(demo_project) -> None:
    import workbench
    from workbench.demo import DEMO_CASES, interaction_script, supervisor_coding
    from workbench.media import probe

    folder, _ = demo_project
    with workbench.open_project(folder) as project:
        recs = project.recordings()
        assert len(recs) == 6 and len({r.sha256 for r in recs}) == 6  # a film of its own for each case and phase
        info = probe(project.media_path(recs[0]))
        assert info.codec == "h264" and info.has_audio and (info.width, info.height) == (640, 360)
        assert 59_000 <= info.duration_ms <= 61_000 and info.frame_count == 1500
        # the supervisor codes what the film shows: the script it was drawn from, act for act
        cols = ["actor", "code", "onset_ms", "offset_ms"]
        for rec, (case, phase) in zip(recs, [(c.pseudonym, p) for c in DEMO_CASES for p in ("pre", "post")],
                                      strict=True):
            assert rec.label == f"{case} {phase}"
            got = project.annotations(rec, coder="supervisor").to_dataframe()[cols]
            want = supervisor_coding(interaction_script(case, phase, seed=7)).to_dataframe()[cols]
            assert got.values.tolist() == want.values.tolist()
            trainee = project.annotations(rec, coder="trainee").to_dataframe()[cols]
            assert len(trainee) > 0.7 * len(want) and trainee.values.tolist() != want.values.tolist()
        first = recs[0]
        assert project.moments(first) and project.stills(first)
        # the supervisor's comments: one agreeing, one at each initiative missed or overridden in the film
        acts = interaction_script("Aster", "pre", seed=7)
        flagged = sum(a.meant == "discordant" or (a.meant == "missed" and a.actor == "child") for a in acts)
        assert len(project.comments(first)) == 1 + flagged and flagged >= 2
        scores = {(s.instrument, s.scale) for c in DEMO_CASES for s in c.scores} | {("goal rating", "0-10")}
        assert len(project.measures()) == 2 * len(DEMO_CASES) * len(scores)
        assert {c.pseudonym for c in project.cases()} == {"Aster", "Birch", "Cedar"}


def test_rerunning_the_demo_reuses_the_project(demo_project) -> None:
    folder, _ = demo_project
    again = _run("demo", str(folder), "--no-browser")
    assert again.returncode == 0 and "already built" in again.stdout


def test_export_import_round_trip(demo_project, tmp_path: Path) -> None:
    import workbench

    folder, _ = demo_project
    out = tmp_path / "coding.eaf"
    assert _run("export", str(folder), "--recording", "1", "--coder", "trainee", "--out", str(out)).returncode == 0
    fresh = tmp_path / "fresh"
    assert _run("init", str(fresh)).returncode == 0
    with workbench.open_project(folder) as source:
        video = source.media_path(source.recording(1))
        expected = source.annotations(1, coder="trainee").to_dataframe()
    with workbench.open_project(fresh) as project:
        case = project.add_case("Dune")
        rec = project.add_recording(project.add_session(case, "filming", "2026-01-01"), video)
    result = _run("import", str(fresh), str(out), "--recording", str(rec.id), "--coder", "trainee")
    assert result.returncode == 0, result.stderr
    with workbench.open_project(fresh) as project:
        got = project.annotations(rec).to_dataframe()
    cols = ["actor", "code", "onset_ms", "offset_ms"]
    assert got[cols].values.tolist() == expected[cols].values.tolist()


def test_init_says_what_to_do_next(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "new project"
    assert main(["init", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"Created project {folder}" in out and "Next: add a case and register a film" in out
    # the Python it shows runs as printed, from the project's own path
    code = "\n".join(line[4:] for line in out.splitlines() if line.startswith("    "))
    assert f'workbench.open_project("{folder}")' in code and "add_recording" in code
    assert f"workbench info {folder}" in out and f"workbench lab {folder}" in out


def test_info_lists_every_session_with_its_recordings(demo_project) -> None:
    import workbench

    folder, _ = demo_project
    result = _run("info", str(folder))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    with workbench.open_project(folder) as project:
        for session in project.sessions():
            line = next(i for i, text in enumerate(lines) if text.startswith(f"  session {session.id} "))
            for part in (session.kind.value, session.date.isoformat(), f"cycle {session.cycle}", repr(session.label)):
                assert part in lines[line], (part, lines[line])
            for k, rec in enumerate(project.recordings(session=session), start=1):  # its recordings, just below
                assert lines[line + k].startswith(f"    recording {rec.id} {rec.label!r}: ")


def test_errors_are_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = _run("info", str(missing))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and str(missing) in result.stderr
    text = tmp_path / "notes.mp4"
    text.write_text("not a video", encoding="utf-8")
    result = _run("probe", str(text))
    assert result.returncode == 2 and "notes.mp4" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("euid", [0, 1000])
def test_lab_and_voila_start_as_root_too(euid: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jupyter refuses root without --allow-root; containers and CI run the demo as root."""
    import workbench.cli as cli

    calls: list[list[str]] = []
    monkeypatch.setattr(cli.os, "geteuid", lambda: euid, raising=False)
    monkeypatch.setattr(cli.subprocess, "call", lambda cmd, env=None: calls.append(cmd) or 0)
    assert main(["lab", str(tmp_path), "--no-browser"]) == 0
    assert main(["voila", str(tmp_path), "--no-browser"]) == 0
    assert [("--allow-root" in cmd) for cmd in calls] == [euid == 0, euid == 0]


def test_importing_the_same_coding_twice_adds_no_rows(
    project_recording, _project_target, eaf_parent_child: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The second import of a file is refused and changes nothing; --replace and --append say what else to do."""
    project, rec = project_recording
    if project.dialect != "sqlite":
        pytest.skip("the command line opens project folders")

    def stored() -> list[tuple]:
        with project.engine.connect() as conn:  # plain SQL, not the store's readers
            rows = conn.exec_driver_sql("SELECT coder, actor, code, onset_ms, offset_ms FROM annotations").all()
        return sorted(tuple(r) for r in rows)

    argv = ["import", _project_target[0], str(eaf_parent_child), "--recording", str(rec.id), "--coder", "trainee"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out == f"Imported 3 annotations from parent-child.eaf into recording {rec.id} (trainee).\n"
    first = stored()
    assert first == [
        ("trainee", "Child", "initiative-nonverbal", 100, 300),
        ("trainee", "Parent", "returning-eye-contact", 600, 900),
        ("trainee", "Parent", "waiting", 0, 500),
    ]

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"workbench import: error: {eaf_parent_child}: Expected rows that recording {rec.id}")
    assert "3 of the 3 rows by coder 'trainee'" in err and "--replace" in err and "--append" in err
    assert stored() == first

    assert main([*argv, "--replace"]) == 0
    assert capsys.readouterr().out == (
        f"Replaced 3 annotations of recording {rec.id} by trainee with 3 from parent-child.eaf.\n"
    )
    assert stored() == first
    assert main([*argv, "--append"]) == 0
    assert stored() == sorted(first * 2)
    with pytest.raises(SystemExit) as info:
        main([*argv, "--replace", "--append"])
    assert info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_import_errors_name_file_tier_and_time(
    project_recording, _project_target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fixtures.elan import write_pympi_eaf

    project, rec = project_recording
    if project.dialect != "sqlite":
        pytest.skip("the command line opens project folders")
    eaf = write_pympi_eaf(
        tmp_path / "visit.eaf",
        [("Parent", "P01", None, [(100, 400, "waiting"), (1200, 1300, "waving")]), ("Child", "C01", None, [])],
    )
    assert main(["import", _project_target[0], str(eaf), "--recording", str(rec.id)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"workbench import: error: Invalid annotations in {eaf}: 1 problem(s):\n"
        f"  - {eaf}, tier 'Parent', 00:00:01.200-00:00:01.300: Expected a code of scheme 'vig-principles', "
        "but got 'waving'.\n"
    )
