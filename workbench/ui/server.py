"""Serving registered recordings to the browser: a Jupyter server extension route.

The kernel (:func:`register_media`) writes a small registration file for each
recording it shows, under a random token, in a private folder of Jupyter's
runtime directory. The server route ``/workbench/media/<token>`` serves only
those files, only to an authenticated Jupyter session, with HTTP Range requests
(so the browser can seek). The URL carries no path at all, and the served file
must resolve (symlinks followed) inside the project folder it was registered
from, so neither traversal nor a symlink out of the project can reach other files.

Enabled in JupyterLab and Notebook 7 by the ``jupyter_server_config.d`` file the
package installs, and explicitly by ``workbench lab`` / ``workbench voila``.
Standalone ``voila`` loads no server extension: there the player falls back to
fetching the file through the kernel (:class:`workbench.ui.widgets.VideoPlayer`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

__all__ = ["MEDIA_ROUTE", "media_registry_dir", "register_media", "resolve_token"]

MEDIA_ROUTE = "workbench/media"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{24,64}$")


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
    token = secrets.token_urlsafe(24)
    entry = media_registry_dir() / f"{token}.json"
    entry.write_text(json.dumps({"path": str(real), "root": str(root)}), encoding="utf-8")
    entry.chmod(0o600)
    return token


def resolve_token(token: str) -> tuple[Path, Path] | None:
    """The (root, file) a token stands for, or None if it is unknown or no longer safe to serve."""
    if not _TOKEN.match(token):
        return None
    entry = media_registry_dir() / f"{token}.json"
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
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
    serverapp.log.info("VIG Workbench media route enabled at /%s/<token>", MEDIA_ROUTE)
