"""Consent, retention and purge: a purged case leaves nothing behind, and the purge proves it.

The purged case carries unusual words (its pseudonym, real name, helping question and a marker
in every note, caption, comment and title) and its own film. After the purge, the tests search,
byte by byte and without the workbench's own scanner, every file of the project folder (the
SQLite database, its write-ahead log and shared memory included) for those words and for the
film's checksum; on PostgreSQL a plain-text ``pg_dump`` of the project's schema is searched.
Before the purge the same search finds them, so the tests can fail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.test_backup import fill
from workbench.cli import main
from workbench.errors import ConsentError
from workbench.media.synth import write_numbered_video
from workbench.project import Project, open_project
from workbench.store import restore_backup
from workbench.store.backup import _conninfo, find_pg_tool

PSEUDONYM = "Quokka Zebedee"
MARKERS = ("Quokka Zebedee", "Perpetua", "Marchbanks", "Xylophonic", "Tobiasz")


@pytest.fixture(scope="module")
def other_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second film (2.0 s, 25 fps, 160x120 H.264) for the case that stays."""
    path = tmp_path_factory.mktemp("other-video") / "other.mp4"
    return Path(write_numbered_video(path, seconds=2.0, fps=25, size=(160, 120), codec="h264", audio=False))


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "registry"
    monkeypatch.setenv("WORKBENCH_MEDIA_REGISTRY", str(folder))
    return folder


def _doomed(project: Project, video: Path) -> tuple[Any, Any]:
    """The case to purge: marker words everywhere, its own film, a still, derived files of every kind."""
    case, rec = fill(project, video, pseudonym=PSEUDONYM, marker="Xylophonic")
    project.update_case(case, real_name="Perpetua Marchbanks", helping_question="Bedtime with Tobiasz")
    for kind in ("thumbnails", "clips", "cache", "reports"):
        folder = project.case_folder(case, kind)
        (folder / f"{kind}.bin").write_bytes(b"\x89PNG derived from the film")
    (project.case_folder(case, "reports") / "report.html").write_text(f"<h1>{PSEUDONYM}</h1>", encoding="utf-8")
    (project.folder / "clips" / f"rec{rec.id}-moment-1.webm").write_bytes(b"\x1a\x45\xdf\xa3 a clip")
    return case, rec


def _grep(paths: list[Path], needles: list[bytes]) -> list[str]:
    """Which needles occur in which files (plain byte search, case-insensitive)."""
    hits = []
    for p in paths:
        data = p.read_bytes().lower()
        hits += [f"{p.name}: {n.decode()}" for n in needles if n.lower() in data]
    return hits


def _all_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _pg_text(project: Project) -> str:
    """A plain-text pg_dump of the project's schema: every row the server gives out."""
    with project.engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar()
    conninfo, env = _conninfo(project.engine.url)
    tool = find_pg_tool("pg_dump")
    return subprocess.run(
        [str(tool), f"--dbname={conninfo}", f"--schema={schema}", "--format=plain"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def _rows_of_case(project: Project, case_id: int, rec_id: int) -> dict[str, int]:
    """Rows belonging to the case, counted with plain SQL."""
    q = {
        "cases": f"SELECT count(*) FROM cases WHERE id = {case_id}",
        "consents": f"SELECT count(*) FROM consents WHERE case_id = {case_id}",
        "participants": f"SELECT count(*) FROM participants WHERE case_id = {case_id}",
        "sessions": f"SELECT count(*) FROM sessions WHERE case_id = {case_id}",
        "goals": f"SELECT count(*) FROM goals WHERE case_id = {case_id}",
        "measures": f"SELECT count(*) FROM measures WHERE case_id = {case_id}",
        "audit_log": f"SELECT count(*) FROM audit_log WHERE case_id = {case_id}",
        "recordings": f"SELECT count(*) FROM recordings WHERE id = {rec_id}",
        "annotations": f"SELECT count(*) FROM annotations WHERE recording_id = {rec_id}",
        "moments": f"SELECT count(*) FROM moments WHERE recording_id = {rec_id}",
        "stills": f"SELECT count(*) FROM stills WHERE recording_id = {rec_id}",
        "comments": f"SELECT count(*) FROM comments WHERE recording_id = {rec_id}",
        "goal_ratings": "SELECT count(*) FROM goal_ratings WHERE goal_id IN "
        f"(SELECT id FROM goals WHERE case_id = {case_id})",
    }
    with project.engine.connect() as conn:
        return {k: int(conn.exec_driver_sql(v).scalar()) for k, v in q.items()}


def test_purge_leaves_nothing(
    project: Project, store_video: Path, other_video: Path, registry: Path, tmp_path: Path
) -> None:
    from workbench.ui.server import register_media, resolve_token

    keep, keep_rec = fill(project, other_video, pseudonym="Family Keep", marker="keepme")
    keep_still = project.add_still(keep_rec, 200, caption="stays")
    case, rec = _doomed(project, store_video)
    film_sha = hashlib.sha256(store_video.read_bytes()).hexdigest()
    token = register_media(project.media_path(rec), project.folder)
    keep_token = register_media(project.media_path(keep_rec), project.folder)
    keep_state = {
        "annotations": project.annotations(keep_rec).to_dataframe().to_dict("records"),
        "files": {p: p.read_bytes() for p in (project.media_path(keep_rec), project.still_path(keep_still))},
        "derived": (project.case_folder(keep, "cache") / "x").write_bytes(b"keep") and None,
    }
    expected_rows = _rows_of_case(project, case.id, rec.id)
    needles = [m.encode() for m in MARKERS] + [film_sha.encode()]
    assert _grep(_all_files(project.folder), needles)  # found before: the search can fail
    if project.dialect == "postgresql":
        assert all(m in _pg_text(project) for m in ("Marchbanks", "Xylophonic", film_sha))

    report = project.purge_case(PSEUDONYM)

    assert report.clean, report.lines()
    assert report.rows == expected_rows and report.rows["annotations"] == 41
    assert _rows_of_case(project, case.id, rec.id) == dict.fromkeys(expected_rows, 0)
    files = _all_files(project.folder)  # the database, its log, media, stills, derived files
    assert _grep(files, needles) == []
    if project.dialect == "sqlite":
        assert {p.name for p in files} >= {"workbench.db", "workbench.db-wal"}  # the log was truncated, not lost
        assert (project.folder / "workbench.db-wal").stat().st_size == 0
    else:
        dump = _pg_text(project)
        assert [m for m in (*MARKERS, film_sha) if m.lower() in dump.lower()] == []
        assert any("VACUUM FULL" in n for n in report.notes)
    assert not any((project.folder / kind / f"case-{case.id}").exists() for kind in ("thumbnails", "clips", "cache"))
    assert not list(project.folder.rglob(f"rec{rec.id}-*"))
    assert resolve_token(token) is None and not list(registry.glob(f"{token}.json"))
    # the other case is untouched: rows, film, still, derived files, media registration
    assert project.annotations(keep_rec).to_dataframe().to_dict("records") == keep_state["annotations"]
    assert all(p.read_bytes() == data for p, data in keep_state["files"].items())
    assert (project.case_folder(keep, "cache") / "x").read_bytes() == b"keep"
    assert resolve_token(keep_token) is not None
    log = project.audit_log()
    assert log.iloc[-1][["action", "kind", "row_id"]].tolist() == ["purge", "case", case.id]
    assert PSEUDONYM not in log.to_csv() and "Xylophonic" not in json.dumps(log["details"].tolist())


@pytest.mark.parametrize("_project_target", ["sqlite"], indirect=True)
def test_sqlite_keeps_deleted_bytes_until_the_purge(
    project: Project, store_video: Path, other_video: Path, registry: Path
) -> None:
    keep, _ = fill(project, other_video, pseudonym="Family Keep")
    project.update_case(keep, real_name="Theodora Quillfeather")
    project.update_case(keep, real_name=None)  # the old name is gone from the rows (and never in the audit log)
    assert project.case(keep.id).real_name is None
    assert "Quillfeather" not in project.audit_log().to_csv()
    assert _grep(_all_files(project.folder), [b"Quillfeather"]), "expected SQLite to keep the overwritten bytes"
    _doomed(project, store_video)
    assert project.purge_case(PSEUDONYM).clean
    # the purge's VACUUM and emptied log also drop the bytes the earlier change left behind
    assert _grep(_all_files(project.folder), [b"Quillfeather", b"Marchbanks"]) == []


@pytest.mark.parametrize("_project_target", ["sqlite"], indirect=True)
def test_purge_lists_backups_and_can_purge_them(
    project: Project, store_video: Path, other_video: Path, registry: Path, tmp_path: Path
) -> None:
    early = project.backup(tmp_path / "before-the-case")  # made before the case existed: not listed
    fill(project, other_video, pseudonym="Family Keep")
    _doomed(project, store_video)
    b1 = project.backup(tmp_path / "b1")
    b2 = project.backup(tmp_path / "b2")
    assert _grep(_all_files(b1.path), [b"Marchbanks"])

    report = project.purge_case(PSEUDONYM)  # lists the backups, leaves them alone
    assert report.clean and report.backups_purged == ()
    assert [b.split(" ")[0] for b in report.backups] == [str(b1.path), str(b2.path)]
    assert str(early.path) not in "".join(report.backups)
    assert _grep(_all_files(b1.path), [b"Marchbanks"])


@pytest.mark.parametrize("_project_target", ["sqlite"], indirect=True)
def test_purge_backups_too(
    project: Project, store_video: Path, other_video: Path, registry: Path, tmp_path: Path
) -> None:
    fill(project, other_video, pseudonym="Family Keep")
    _doomed(project, store_video)
    b1 = project.backup(tmp_path / "b1")
    film_sha = hashlib.sha256(store_video.read_bytes()).hexdigest()
    report = project.purge_case(PSEUDONYM, purge_backups=True)
    assert report.clean and report.backups_purged == (str(b1.path),) and report.backups == ()
    assert _grep(_all_files(b1.path), [m.encode() for m in MARKERS] + [film_sha.encode()]) == []
    restored = restore_backup(b1.path, tmp_path / "restored")  # still a valid backup: checksums match
    with open_project(restored) as again:
        assert [c.pseudonym for c in again.cases()] == ["Family Keep"]
        assert len(again.annotations()) == len(project.annotations())


def test_shared_film_is_kept_and_named(project: Project, store_video: Path, registry: Path) -> None:
    fill(project, store_video, pseudonym="Family Keep")
    _doomed(project, store_video)  # the same film, registered in both cases
    report = project.purge_case(PSEUDONYM)
    (rec,) = project.recordings()
    assert report.kept_shared == (rec.path,) and project.media_path(rec).is_file()
    assert report.clean and any("shared with another case" in line for line in report.lines())


@pytest.mark.parametrize("_project_target", ["sqlite"], indirect=True)
def test_purge_on_the_command_line(
    project: Project, _project_target: tuple[str, Path], store_video: Path, registry: Path, capsys: Any
) -> None:
    _doomed(project, store_video)
    project.close()
    assert main(["purge", _project_target[0], "--case", PSEUDONYM, "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"Purged case {PSEUDONYM!r}" in out and "verification   clean" in out
    assert "files removed  9" in out  # film, still + sidecar, 4 derived files, report, clip
    assert main(["purge", _project_target[0], "--case", PSEUDONYM, "--yes"]) == 2
    assert "Expected an existing case pseudonym" in capsys.readouterr().err


# -- consent and retention ------------------------------------------------------------------------


def test_consent_record(project: Project) -> None:
    case = project.add_case("Family A")
    assert project.consent(case) is None
    with pytest.raises(ConsentError, match=r"none was recorded"):
        project.check_consent(case, "supervision")
    c = project.set_consent(
        case, viewers=["guider", "supervisor"], purposes=["Supervision", "accreditation"], until="2027-06-30"
    )
    assert (c.purposes, c.until, c.version, c.recorded_by) == (
        ("supervision", "accreditation"),
        dt.date(2027, 6, 30),
        1,
        "tester",
    )
    assert project.check_consent(case, "accreditation", viewer="supervisor", on="2027-06-30") == c
    with pytest.raises(ConsentError, match="covers only supervision, accreditation"):
        project.check_consent(case, "research", on="2027-01-01")
    with pytest.raises(ConsentError, match="'panel' among who may see"):
        project.check_consent(case, "supervision", viewer="panel", on="2027-01-01")
    with pytest.raises(ConsentError, match="ended on 2027-06-30"):
        project.check_consent(case, "supervision", on="2027-07-01")
    with pytest.raises(ValueError, match="at least one of purposes"):
        project.set_consent(case, viewers=["guider"], purposes=[], until=None)
    c2 = project.set_consent(case, viewers=["guider"], purposes=["research"], until=None, expected_version=1)
    assert (c2.version, c2.until, project.consents()) == (2, None, [c2])
    from workbench.errors import ConflictError

    with pytest.raises(ConflictError):
        project.set_consent(case, viewers=["guider"], purposes=["research"], until=None, expected_version=1)


def test_retention_lists_what_has_passed(
    project: Project, _project_target: tuple[str, Path], tmp_path: Path, capsys: Any
) -> None:
    for name, until in (("Old", "2025-01-31"), ("Older", "2024-05-01"), ("Current", "2027-01-01"), ("Open", None)):
        project.set_consent(project.add_case(name), viewers=["guider"], purposes=["supervision"], until=until)
    project.add_case("Unrecorded")
    today = dt.date(2026, 1, 1)
    items = project.retention(today)
    assert [(i.pseudonym, i.until, i.reason) for i in items] == [
        ("Older", dt.date(2024, 5, 1), "retention date 2024-05-01 passed 610 day(s) ago"),
        ("Old", dt.date(2025, 1, 31), "retention date 2025-01-31 passed 335 day(s) ago"),
        ("Unrecorded", None, "no consent record"),
    ]  # fmt: skip
    if project.dialect == "sqlite":
        project.close()
        assert main(["retention", _project_target[0], "--today", "2026-01-01"]) == 0
        out = capsys.readouterr().out
        assert "case 'Older'" in out and "case 'Current'" not in out and "workbench purge" in out
