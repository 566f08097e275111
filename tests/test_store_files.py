"""The store tells the truth about its database file: deleted, replaced, or on a read-only disk.

- A SQLite database deleted (or replaced) while the project is open: the next transaction is
  refused with DatabaseGoneError naming the file and ``workbench restore``; a writer process
  stops at once instead of acknowledging writes into the unlinked file; no empty database is
  recreated at the path.
- ``workbench init`` refuses a folder holding a project's files (media, stills, backups, a
  ``-wal``) but no database.
- A read-only project (made read-only with ``chattr +i`` on the folder and the database file,
  which binds root too; ``chmod`` when not root) opens read-only with one warning: reads,
  exports and backups work, every edit is refused with ReadOnlyProjectError naming the folder,
  and the database file is not changed by a single byte. The command line is run on a real
  read-only file system too (a read-only bind mount in a private mount namespace, ``unshare
  -m``), skipped where that is not allowed.

Projects are made in ``tmp_path`` (``project_recording`` from ``tests/fixtures/store.py`` for
the read-only ones: a case, a filming session and a 2 s numbered video).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.errors import DatabaseGoneError, NotFoundError, ReadOnlyProjectError, StoreError
from workbench.model import Recording
from workbench.project import open_project
from workbench.store import DB_FILENAME, restore_backup

ROOT = Path(__file__).resolve().parents[1]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- a deleted or replaced database --------------------------------------------------------------


def test_a_deleted_database_refuses_the_next_write_and_read(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    project = open_project(folder, create=True, coder="tester")
    case = project.add_case("Aster")
    (folder / DB_FILENAME).unlink()
    with pytest.raises(DatabaseGoneError) as err:
        project.add_goal(case, "More turn taking", 0, 10)
    message = str(err.value)
    assert f"The project database {folder / DB_FILENAME} was deleted (or moved away)" in message
    assert "nothing was stored" in message and f"workbench restore BACKUP {folder}" in message
    with pytest.raises(DatabaseGoneError):
        project.update_case(case, guider="Sam")
    with pytest.raises(DatabaseGoneError):
        project.cases()  # reading the unlinked file would show what is no longer the project
    assert not (folder / DB_FILENAME).exists()  # no empty database made at the path
    project.close()
    with pytest.raises(NotFoundError):
        open_project(folder)


def test_a_replaced_database_is_refused_until_reopened(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    project = open_project(folder, create=True, coder="tester")
    project.add_case("Aster")
    backup = project.backup(tmp_path / "backup").path
    project.add_case("Birch")
    restore_backup(backup, folder, force=True)  # what another program (or person) may do meanwhile
    with pytest.raises(DatabaseGoneError, match="was replaced by another file"):
        project.add_case("Cedar")
    project.close()
    with open_project(folder) as reopened:  # the file there now: the backup, without Birch
        assert [c.pseudonym for c in reopened.cases()] == ["Aster"]
        reopened.add_case("Cedar")


_WRITER = """
import sys
sys.path.insert(0, {root!r})
from workbench.project import open_project
project = open_project(sys.argv[1], coder="writer")
case = project.add_case("Aster")
n = 0
try:
    while True:
        project.add_goal(case, f"goal {{n}}", 0, 10)
        n += 1
        sys.stdout.write(f"{{n}}\\n")
        sys.stdout.flush()
except Exception as exc:
    sys.stdout.write(f"error {{type(exc).__name__}}: {{exc}}\\n")
"""


def test_a_writer_process_stops_at_once_when_its_database_is_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    open_project(folder, create=True).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER.format(root=str(ROOT)), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    try:
        acknowledged = 0
        while acknowledged < 20:  # let it write for a while
            acknowledged = int(proc.stdout.readline())
        (folder / DB_FILENAME).unlink()
        after: list[str] = []
        for line in proc.stdout:  # until the writer stops, or it is clear it does not
            after.append(line.strip())
            if len(after) > 100:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    assert after, "the writer ended without a word"
    assert after[-1].startswith("error DatabaseGoneError: The project database"), after[-1]
    # At most one write was in flight when the file went (its own acknowledgment may still arrive);
    # before the check there were 76 acknowledged writes into the deleted file.
    assert len(after) - 1 <= 1, after


# -- workbench init beside a lost database ----------------------------------------------------------


@pytest.mark.parametrize("trace", ["media", "stills", "backups", "wal"])
def test_init_refuses_a_folder_whose_database_was_lost(
    tmp_path: Path, trace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    if trace == "wal":
        (folder / f"{DB_FILENAME}-wal").write_bytes(b"\0" * 32)
    else:
        (folder / trace).mkdir()
        (folder / trace / "rec-0123456789abcdef.mp4").write_bytes(b"film")
    assert main(["init", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder} holds a project's files" in err and "without its database workbench.db" in err
    assert f"workbench restore BACKUP {folder}" in err
    assert not (folder / DB_FILENAME).exists()
    with pytest.raises(StoreError, match="the database was deleted or moved"):
        open_project(folder, create=True)


def test_init_still_makes_a_project_where_only_empty_folders_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "project"
    (folder / "media").mkdir(parents=True)  # nothing in it: nothing to lose
    assert main(["init", str(folder)]) == 0
    assert (folder / DB_FILENAME).is_file()


# -- read-only projects -------------------------------------------------------------------------------


def _make_read_only(paths: list[Path]) -> list[str]:
    """Make ``paths`` unwritable, for root too if possible; returns the command that undoes it."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", *map(str, paths)], capture_output=True).returncode:
            pytest.skip("running as root and chattr +i is not available: nothing is read-only to root")
        return [chattr, "-i", *map(str, paths)]
    for p in paths:
        p.chmod(p.stat().st_mode & ~0o222)
    return ["chmod", "u+w", *map(str, paths)]


@pytest.fixture
def read_only_project(tmp_path: Path, store_video: Path) -> Iterator[Path]:
    """A project folder (case Aster, a recording, an annotation, consent) that cannot be written."""
    folder = tmp_path / "project"
    with open_project(folder, create=True, coder="tester") as project:
        case = project.add_case("Aster", "Jane Example")
        session = project.add_session(case, "filming", "2026-01-15")
        rec = project.add_recording(session, store_video)
        project.add_annotation(rec, "child", "waiting", 100, 300)
    undo = _make_read_only([folder / DB_FILENAME, folder])
    try:
        yield folder
    finally:
        subprocess.run(undo, check=True)


def test_a_read_only_project_opens_for_reading_and_refuses_every_edit(
    read_only_project: Path, tmp_path: Path, store_video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = read_only_project
    before = _sha(folder / DB_FILENAME)
    with caplog.at_level(logging.WARNING, logger="workbench.store.kernel"):
        project = open_project(folder, coder="tester")
    opened = [r.getMessage() for r in caplog.records if "read-only" in r.getMessage()]
    assert opened == [
        f"Opened the project {folder} read-only: its folder or database file cannot be written by this user (or "
        "the disk is read-only). Reading, exports to another folder and backups work; every edit is refused."
    ]
    with project:
        assert project.read_only
        rec: Recording = project.recordings()[0]
        assert [c.pseudonym for c in project.cases()] == ["Aster"]
        assert len(project.annotations(rec)) == 1
        aid = int(project.annotations(rec).records()[0]["id"])
        edits = {
            "add_case": lambda: project.add_case("Birch"),
            "update_annotation": lambda: project.update_annotation(aid, note="x"),
            "update_annotation versioned": lambda: project.update_annotation(aid, expected_version=1, note="x"),
            "delete_annotation": lambda: project.delete_annotation(aid),
            "add_recording": lambda: project.add_recording(project.sessions()[0], store_video),
            "add_still": lambda: project.add_still(rec, 400),
            "set_consent": lambda: project.set_consent(
                "Aster", viewers=["guider"], purposes=["supervision"], until="2030-01-01"
            ),
            "purge_case": lambda: project.purge_case("Aster"),
        }
        refused = {}
        for name, edit in edits.items():
            with pytest.raises(ReadOnlyProjectError) as err:
                edit()
            refused[name] = str(err.value)
        assert set(refused.values()) == {
            f"The project {folder} is open read-only (its folder or database file cannot be written by this user, "
            "or it is on a read-only disk), so this change was refused and nothing was stored. Copy the project "
            "folder somewhere writable (or ask for write access) to edit it."
        }
        backup = project.backup(tmp_path / "backup")  # a backup only reads the project
        assert backup.files == 1
    assert _sha(folder / DB_FILENAME) == before  # not a byte changed
    assert sorted(p.name for p in folder.iterdir()) == ["media", "stills", "workbench.db"]
    restored = restore_backup(backup.path, tmp_path / "restored")
    with open_project(restored) as copy:
        assert not copy.read_only and len(copy.annotations()) == 1


def _read_only_mount_works(folder: Path) -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run(
        [unshare, "-m", "--", "sh", "-c", 'mount --bind -o ro "$0" "$0" && ! touch "$0/probe" 2>/dev/null', folder],
        capture_output=True,
    )
    return probe.returncode == 0


def test_the_command_line_reads_a_project_on_a_read_only_disk(tmp_path: Path, store_video: Path) -> None:
    folder = tmp_path / "project"
    with open_project(folder, create=True, coder="tester") as project:
        case = project.add_case("Aster")
        rec = project.add_recording(project.add_session(case, "filming", "2026-01-15"), store_video)
        project.add_annotation(rec, "child", "waiting", 100, 300)
    if not _read_only_mount_works(folder):
        pytest.skip("no read-only bind mount here (needs unshare -m and mount, as root)")
    before = _sha(folder / DB_FILENAME)
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def on_read_only_disk(*args: str) -> subprocess.CompletedProcess[str]:
        script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
        cmd = ["unshare", "-m", "--", "sh", "-c", script, str(folder), sys.executable, *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    info = on_read_only_disk("-m", "workbench", "info", str(folder))
    assert info.returncode == 0, info.stderr
    assert "case     Aster: 1 sessions, 1 recordings" in info.stdout
    assert info.stderr.count("Opened the project") == 1 and f"Opened the project {folder} read-only" in info.stderr
    out = tmp_path / "child.csv"
    export = on_read_only_disk("-m", "workbench", "export", str(folder), "--recording", "1", "--out", str(out))
    assert export.returncode == 0, export.stderr
    assert "waiting" in out.read_text()
    backup = on_read_only_disk("-m", "workbench", "backup", str(folder), str(tmp_path / "backup"))
    assert backup.returncode == 0, backup.stderr
    assert json.loads((tmp_path / "backup" / "manifest.json").read_text())["kind"] == "sqlite"
    edit = on_read_only_disk(
        "-c", f"import workbench; workbench.open_project({str(folder)!r}).update_annotation(1, note='x')"
    )
    assert edit.returncode == 1 and f"ReadOnlyProjectError: The project {folder} is open read-only" in edit.stderr
    assert _sha(folder / DB_FILENAME) == before
