"""The media route's registry: only registered files inside their project folder are served."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workbench.ui.server import register_media, resolve_token


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
