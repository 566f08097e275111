"""Backups: a consistent copy while the project is in use, and a restore that brings everything back.

On SQLite (online backup API) and PostgreSQL (``pg_dump`` on an exported snapshot). The round
trip compares every record, every annotation, frame times, the audit log and the bytes of every
media and still file; the in-use test backs up while another process keeps writing pairs of rows
in single transactions, and checks that no backup holds half a pair.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from workbench.cli import main
from workbench.errors import StoreError
from workbench.model import Case, Recording
from workbench.project import Project, open_project
from workbench.store import restore_backup
from workbench.store.backup import find_pg_tool, read_manifest


def fill(project: Project, video: Path, pseudonym: str = "Family A", marker: str = "") -> tuple[Case, Recording]:
    """A case with one of every record kind (texts carry ``marker``), and its recording of ``video``."""
    case = project.add_case(
        pseudonym, f"Jane Example {marker}".strip(), helping_question=f"Calmer mornings {marker}", guider="Sam"
    )
    project.set_consent(
        case, viewers=["guider", "supervisor"], purposes=["supervision", "research"], until="2030-01-01"
    )
    project.add_participant(case, "child", "child", "1-3")
    project.add_participant(case, "parent", "parent", "18+")
    session = project.add_session(case, "filming", "2026-01-15", label=f"pre {marker}")
    rec = project.add_recording(session, video, label=f"dinner {marker}")
    rows = [
        {"actor": "child", "code": "waiting", "onset_ms": 40 * i, "note": f"note {marker} {i}", "modifiers": "toy"}
        for i in range(40)
    ]
    project.add_annotations(rec, rows)
    project.add_annotation(rec, "parent", "receiving-words", 500, 900, coder="supervisor", note=marker)
    moment = project.add_moment(rec, 100, 900, f"Turn taking {marker}", reason="r", reflection=f"You waited {marker}")
    project.add_still(rec, 400, caption=f"You wait {marker}", moment=moment)
    project.add_comment(rec, 300, "supervisor", f"Well seen {marker}", "agree")
    goal = project.add_goal(case, f"Turn taking at dinner {marker}")
    project.rate_goal(goal, "2026-01-20", 6, session=session)
    project.add_measure(case, "SDQ", "total", "pre", 14, "2026-01-10")
    return case, rec


def state(project: Project) -> dict[str, Any]:
    """Everything the store gives back, and the checksums of the files it refers to."""
    names = ["cases", "participants", "sessions", "recordings", "moments", "stills", "comments", "goals"]
    out: dict[str, Any] = {n: getattr(project, n)() for n in [*names, "measures", "consents"]}
    out["annotations"] = project.annotations().to_dataframe().to_dict("records")
    out["frame_times"] = {r.id: project.frame_times(r).tolist() for r in out["recordings"]}
    files = [project.media_path(r) for r in out["recordings"]] + [project.still_path(s) for s in out["stills"]]
    out["files"] = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    log = project.audit_log()
    out["audit"] = log[log["action"] != "restore"].drop(columns=["id"]).to_dict("records")
    return out


def _restore_target(project: Project, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path | None]:
    if project.dialect == "sqlite":
        return str(tmp_path / "restored"), None
    url: sa.URL = request.getfixturevalue("pg_database")
    return url.render_as_string(hide_password=False), tmp_path / "restored-files"


def test_backup_and_restore_round_trip(
    project: Project, store_video: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    fill(project, store_video, marker="alpha")
    fill(project, store_video, pseudonym="Family B", marker="beta")
    before = state(project)
    info = project.backup(tmp_path / "backup")
    manifest = read_manifest(info.path)
    assert info.kind == ("sqlite" if project.dialect == "sqlite" else "pg_dump") == manifest["kind"]
    assert (
        manifest["schema_revision"] == project.schema_revision and info.files == len(manifest["files"]) == 5
    )  # 1 shared film, 2 stills + sidecars
    for entry in [manifest["database"], *manifest["files"]]:  # checksums, computed independently
        assert hashlib.sha256((info.path / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    assert (info.path.stat().st_mode & 0o777) == 0o700
    assert [b.path for b in project.backups()] == [info.path]
    assert project.audit_log()["action"].iloc[-1] == "backup"

    target, folder = _restore_target(project, request, tmp_path)
    where = restore_backup(info.path, target, folder=folder)
    with open_project(where, **({"folder": folder} if folder else {})) as again:
        after = state(again)
        assert again.audit_log()["action"].iloc[-1] == "restore"
    assert after == before


def _pair_writer(target: tuple[str, Path], rid: int) -> int:
    """Fork a process that adds pairs of annotations, one transaction per pair, until killed."""
    pid = os.fork()
    if pid:
        return pid
    try:  # pragma: no cover - child
        where, files = target
        project = open_project(where, **({"folder": files} if "://" in where else {}))
        i = 0
        while True:
            rows = [{"actor": "child", "code": "waiting", "onset_ms": i % 1900, "note": "pair"}] * 2
            project.add_annotations(rid, rows)
            i += 1
    finally:
        os._exit(0)


def test_backup_while_in_use_is_consistent(
    project_recording: tuple[Project, Recording],
    _project_target: tuple[str, Path],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    project, rec = project_recording
    pid = _pair_writer(_project_target, rec.id)
    counts = []
    try:
        time.sleep(1.0)
        for k in range(3 if project.dialect == "sqlite" else 1):
            info = project.backup(tmp_path / f"b{k}")
            if project.dialect == "sqlite":
                with sqlite3.connect(info.path / "workbench.db") as copy:
                    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                    counts.append(copy.execute("SELECT count(*) FROM annotations WHERE note = 'pair'").fetchone()[0])
                copy.close()
            else:
                target, folder = _restore_target(project, request, tmp_path)
                with open_project(restore_backup(info.path, target, folder=folder), folder=folder) as r:
                    counts.append(int((r.annotations().to_dataframe()["note"] == "pair").sum()))
            time.sleep(0.3)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert counts[0] > 0 and all(n % 2 == 0 for n in counts), counts  # never half a transaction
    assert counts == sorted(counts)


@pytest.mark.parametrize("_project_target", ["sqlite"], indirect=True)
def test_restore_checks_before_touching_anything(project_recording: tuple[Project, Recording], tmp_path: Path) -> None:
    project, rec = project_recording  # the checks are the same for both kinds; SQLite is quicker
    project.add_annotation(rec, "child", "waiting", 100)
    info = project.backup(tmp_path / "backup")
    with pytest.raises(StoreError, match="new or empty folder"):
        project.backup(tmp_path / "backup")

    target = tmp_path / "restored"
    restore_backup(info.path, target)
    with pytest.raises(StoreError, match=r"holds one; pass force=True"):
        restore_backup(info.path, target)
    with open_project(target) as p:
        p.add_case("Added later")
    restore_backup(info.path, target, force=True)
    with open_project(target) as p:
        assert [c.pseudonym for c in p.cases()] == ["Family A"]

    media = next((info.path / "media").iterdir())
    data = bytearray(media.read_bytes())
    data[len(data) // 2] ^= 0xFF
    media.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"checksum differs.*Nothing was restored"):
        restore_backup(info.path, tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()
    with pytest.raises(StoreError, match=r"manifest\.json"):
        restore_backup(tmp_path, tmp_path / "x")


@pytest.mark.parametrize("_project_target", ["sqlite"], indirect=True)
def test_backup_and_restore_on_the_command_line(
    project_recording: tuple[Project, Recording], _project_target: tuple[str, Path], tmp_path: Path, capsys: Any
) -> None:
    project, rec = project_recording  # the command line is the same for both kinds
    project.add_annotation(rec, "child", "waiting", 100)
    project.close()
    assert main(["backup", _project_target[0], str(tmp_path / "b")]) == 0
    assert "Backed up" in capsys.readouterr().out
    assert main(["restore", str(tmp_path / "b"), str(tmp_path / "r")]) == 0
    with open_project(tmp_path / "r") as p:
        assert len(p.annotations()) == 1 and p.media_path(p.recordings()[0]).is_file()
    assert main(["restore", str(tmp_path / "b"), str(tmp_path / "r")]) == 2
    assert "--force" in capsys.readouterr().err


def test_missing_or_old_pg_tools_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import workbench.store.backup as backup

    monkeypatch.delenv("WORKBENCH_PG_BINDIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(backup, "_glob", lambda pattern: [])
    with pytest.raises(StoreError, match=r"pg_dump .* not installed .*WORKBENCH_PG_BINDIR"):
        find_pg_tool("pg_dump")
    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 11.2'\n", encoding="utf-8")
    fake.chmod(0o755)
    assert find_pg_tool("pg_dump") == fake
    with pytest.raises(StoreError, match=r"pg_dump of PostgreSQL 15 or newer .* newest found is 11"):
        find_pg_tool("pg_dump", server_major=15)


@pytest.mark.postgres
def test_pg_dump_version_matches_the_server(pg_admin_url: sa.URL) -> None:
    engine = sa.create_engine(pg_admin_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        version = conn.execute(sa.text("SHOW server_version")).scalar()
    engine.dispose()
    major = int(str(version).split(".")[0])
    tool = find_pg_tool("pg_dump", major)
    assert tool.is_file()
    print(json.dumps({"postgres_server_version": version, "pg_dump": str(tool)}))
    assert np.isfinite(major)
