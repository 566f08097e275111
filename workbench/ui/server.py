"""Serving registered recordings to the browser: a Jupyter server extension route.

The kernel (:func:`register_media`) writes a small registration file for each
recording it shows, under a random token, in a private folder of Jupyter's
runtime directory. The server route ``/workbench/media/<token>`` serves only
those files, only to an authenticated Jupyter session, with HTTP Range requests
(so the browser can seek). The URL carries no path at all, and the served file
must resolve (symlinks followed) inside the project folder it was registered
from, so neither traversal nor a symlink out of the project can reach other files.

A registration names the process that made it (pid and start time). Registrations
do not outlive it: a kernel removes its own when it ends (``atexit``), and those of
processes that are gone (a kernel that was killed) are removed when a kernel first
registers media and when the server loads the route; the route refuses them too.

Enabled in JupyterLab and Notebook 7 by the ``jupyter_server_config.d`` file the
package installs, and explicitly by ``workbench lab`` / ``workbench voila``.
Standalone ``voila`` loads no server extension: there the player falls back to
fetching the file through the kernel (:class:`workbench.ui.widgets.VideoPlayer`).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

__all__ = ["MEDIA_ROUTE", "media_registry_dir", "register_media", "remove_stale_registrations", "resolve_token"]

MEDIA_ROUTE = "workbench/media"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{24,64}$")
#: Registrations written before they named their process are removed once they are this old (s).
LEGACY_MAX_AGE_S = 24 * 3600

logger = logging.getLogger(__name__)
#: Registrations this process made: removed when it ends.
_MINE: set[Path] = set()
_started = False


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None if there is no such process.

    With psutil (installed with Jupyter's kernel): a pid reused by a later process does not
    count as the same one. Without it: whether the pid exists (POSIX), start time unknown (0.0).
    """
    try:
        import psutil
    except ImportError:
        if os.name != "posix":
            return 0.0  # cannot tell: keep the registration
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # it exists, someone else's
        return 0.0
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.NoSuchProcess:
        return None
    except psutil.Error:
        return 0.0


def _alive(data: dict[str, Any], entry: Path) -> bool:
    """Whether the process that made registration ``data`` (file ``entry``) still runs."""
    pid, started = data.get("pid"), data.get("started")
    if not isinstance(pid, int):  # an older registration, without its process
        try:
            return time.time() - entry.stat().st_mtime < LEGACY_MAX_AGE_S
        except OSError:
            return False
    now_started = _process_start(pid)
    if now_started is None:
        return False
    if isinstance(started, int | float) and started and now_started:
        return abs(now_started - float(started)) < 1.0  # else the pid was reused by another process
    return True


def remove_stale_registrations(folder: Path | None = None) -> int:
    """Remove the registrations whose process is gone (a kernel that was killed); returns how many.

    Parameters
    ----------
    folder : path, optional
        The registry (default :func:`media_registry_dir`).
    """
    registry = Path(folder) if folder is not None else media_registry_dir()
    removed = 0
    for entry in registry.glob("*.json"):
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and _alive(data, entry):
            continue
        try:
            entry.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning("Could not remove the stale media registration %s: %s", entry, exc)
    if removed:
        logger.info("Removed %d stale media registration(s) from %s.", removed, registry)
    return removed


def _remove_mine() -> None:
    """At exit: remove the registrations this process made."""
    for entry in list(_MINE):
        entry.unlink(missing_ok=True)
        _MINE.discard(entry)


def media_registry_dir() -> Path:
    """The private folder where the kernel registers media for the server (mode 0700)."""
    from jupyter_core.paths import jupyter_runtime_dir

    folder = Path(os.environ.get("WORKBENCH_MEDIA_REGISTRY") or Path(jupyter_runtime_dir()) / "workbench-media")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def register_media(path: str | Path, project_folder: str | Path) -> str:
    """Register a recording's file for the media route and return its token.

    Parameters
    ----------
    path : path
        The recording's video file (must be inside ``project_folder``).
    project_folder : path
        The open project's folder; the server refuses anything resolving outside it.
    """
    root = Path(project_folder).resolve()
    real = Path(path).resolve()
    if not real.is_relative_to(root):
        raise ValueError(f"Expected a file inside the project folder {root}, but got {real}.")
    global _started
    registry = media_registry_dir()
    if not _started:  # the first registration of this process: clean up after killed kernels, then after us
        _started = True
        remove_stale_registrations(registry)
        atexit.register(_remove_mine)
    token = secrets.token_urlsafe(24)
    entry = registry / f"{token}.json"
    pid = os.getpid()
    data = {"path": str(real), "root": str(root), "pid": pid, "started": _process_start(pid)}
    entry.write_text(json.dumps(data), encoding="utf-8")
    entry.chmod(0o600)
    _MINE.add(entry)
    return token


def resolve_token(token: str) -> tuple[Path, Path] | None:
    """The (root, file) a token stands for, or None if it is unknown or no longer safe to serve."""
    if not _TOKEN.match(token):
        return None
    entry = media_registry_dir() / f"{token}.json"
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not _alive(data, entry):  # its kernel is gone: so is the registration
            entry.unlink(missing_ok=True)
            return None
        root = Path(data["root"]).resolve(strict=True)
        real = Path(data["path"]).resolve(strict=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not real.is_file() or not real.is_relative_to(root):
        return None
    return root, real


def _make_handler() -> type:
    from jupyter_server.base.handlers import JupyterHandler
    from tornado import web

    class MediaHandler(JupyterHandler, web.StaticFileHandler):
        """Range-capable file handler behind Jupyter's authentication, for registered media only."""

        auth_resource = "contents"

        def initialize(self, **kwargs: Any) -> None:
            web.StaticFileHandler.initialize(self, path="/")

        def _resolve(self, token: str) -> str:
            found = resolve_token(token)
            if found is None:
                raise web.HTTPError(404, "No such registered recording.")
            root, real = found
            self.root = str(root)
            return str(real.relative_to(root))

        @web.authenticated
        async def get(self, token: str, include_body: bool = True) -> None:  # type: ignore[override]
            await web.StaticFileHandler.get(self, self._resolve(token), include_body=include_body)

        @web.authenticated
        async def head(self, token: str) -> None:  # type: ignore[override]
            await web.StaticFileHandler.get(self, self._resolve(token), include_body=False)

        def compute_etag(self) -> str | None:
            return None

        def set_extra_headers(self, path: str) -> None:
            self.set_header("Cache-Control", "private, no-store")

    return MediaHandler


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "workbench.ui.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from jupyter_server.utils import url_path_join

    web_app = serverapp.web_app
    route = url_path_join(web_app.settings["base_url"], MEDIA_ROUTE, r"([A-Za-z0-9_-]+)")
    web_app.add_handlers(".*$", [(route, _make_handler())])
    remove_stale_registrations()
    serverapp.log.info("VIG Workbench media route enabled at /%s/<token>", MEDIA_ROUTE)
