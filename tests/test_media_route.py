"""The media route's registry: only registered files inside their project folder are served.

Registrations end with the kernel that made them: removed at its exit, or, if it was killed,
when the next kernel registers media (or the server starts); the route refuses them meanwhile.
The "kernels" here are small Python processes that register a file and then exit, are
killed with SIGKILL, or wait.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.ui.server import register_media, remove_stale_registrations, resolve_token


@pytest.fixture(autouse=True)
def _registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_MEDIA_REGISTRY", str(tmp_path / "registry"))


def test_registered_file_resolves(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "media").mkdir(parents=True)
    film = project / "media" / "film.mp4"
    film.write_bytes(b"\x00" * 10)
    token = register_media(film, project)
    assert len(token) >= 24
    assert resolve_token(token) == (project.resolve(), film.resolve())
    assert (tmp_path / "registry").stat().st_mode & 0o777 == 0o700


def test_refuses_outside_unknown_and_symlinks(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="inside the project folder"):
        register_media(outside, project)
    with pytest.raises(ValueError):
        register_media(project / ".." / "secret.txt", project)
    assert resolve_token("A" * 32) is None
    assert resolve_token("../../etc/passwd") is None
    # a file registered inside, later replaced by a symlink out of the project, is refused
    film = project / "film.mp4"
    film.write_bytes(b"\x00")
    token = register_media(film, project)
    film.unlink()
    os.symlink(outside, film)
    assert resolve_token(token) is None
    # a deleted file is refused
    film.unlink()
    assert resolve_token(token) is None


# -- stale registrations -----------------------------------------------------------------------------

_REGISTER = """
import os, signal, sys, time
sys.path.insert(0, {root!r})
from workbench.ui.server import register_media
print(register_media(sys.argv[1], sys.argv[2]), flush=True)
if sys.argv[3] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)  # a kernel killed: no atexit
if sys.argv[3] == "wait":
    sys.stdin.readline()
"""


def _kernel(film: Path, project: Path, how: str) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[1]
    return subprocess.Popen(
        [sys.executable, "-c", _REGISTER.format(root=str(root)), str(film), str(project), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


@pytest.fixture
def project_film(tmp_path: Path) -> tuple[Path, Path]:
    """(project folder, a 10-byte 'film' inside it)."""
    project = tmp_path / "project"
    project.mkdir()
    path = project / "film.mp4"
    path.write_bytes(b"\x00" * 10)
    return project, path


def test_registrations_end_with_their_kernel(tmp_path: Path, project_film: tuple[Path, Path]) -> None:
    project, film = project_film
    registry = tmp_path / "registry"

    ended = _kernel(film, project, "exit")  # a kernel that ends normally removes its own
    token = ended.communicate(timeout=60)[0].strip()
    assert ended.returncode == 0 and resolve_token(token) is None
    assert list(registry.glob("*.json")) == []

    killed = _kernel(film, project, "kill")  # a killed kernel leaves its registration behind...
    killed_token = killed.communicate(timeout=60)[0].strip()
    assert killed.returncode == -signal.SIGKILL
    assert (registry / f"{killed_token}.json").exists()
    running = _kernel(film, project, "wait")  # ...until the next kernel starts registering
    assert running.stdout is not None
    live_token = running.stdout.readline().strip()
    assert not (registry / f"{killed_token}.json").exists()
    assert resolve_token(live_token) == (project.resolve(), film.resolve())  # a running kernel's is kept
    mine = register_media(film, project)
    assert remove_stale_registrations(registry) == 0
    assert {p.stem for p in registry.glob("*.json")} == {live_token, mine}
    running.communicate("\n", timeout=60)
    assert {p.stem for p in registry.glob("*.json")} == {mine}


def test_stale_registrations_are_removed_and_refused(tmp_path: Path, project_film: tuple[Path, Path]) -> None:
    project, film = project_film
    registry = tmp_path / "registry"
    token = register_media(film, project)
    entry = registry / f"{token}.json"
    data = json.loads(entry.read_text(encoding="utf-8"))
    assert data["pid"] == os.getpid()

    def write(name: str, **fields: object) -> str:
        tok = name.ljust(32, "x")
        (registry / f"{tok}.json").write_text(json.dumps({"path": str(film), "root": str(project), **fields}))
        return tok

    reused = write("reused", pid=os.getpid(), started=data["started"] - 3600)  # the pid of a later process
    gone = write("gone", pid=_pid_of_an_ended_process(), started=1.0)
    old = write("old")  # made by an older workbench, without its process
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(registry / f"{old}.json", (day_ago, day_ago))
    recent = write("recent")
    assert resolve_token(gone) is None and not (registry / f"{gone}.json").exists()
    assert remove_stale_registrations(registry) == 2  # reused, old
    assert {p.stem for p in registry.glob("*.json")} == {token, recent}
    assert resolve_token(reused) is None


def _pid_of_an_ended_process() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)
