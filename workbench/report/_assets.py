"""Scripts and styles that reports inline: the Vega bundle from vl-convert, our CSS.

Nothing here is fetched from the network: the Vega, Vega-Lite and Vega-Embed libraries come from
the installed ``vl-convert-python`` package (:func:`vl_convert.javascript_bundle`), which takes a few
seconds to bundle them, so the bundle is cached on disk per vl-convert version.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from functools import cache
from pathlib import Path

__all__ = ["TEMPLATE_DIR", "cache_dir", "report_css", "vega_bundle"]

log = logging.getLogger(__name__)

#: Folder holding our nbconvert template(s) (``vig-report``).
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def cache_dir() -> Path:
    """The workbench's cache folder: ``$WORKBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/vig-workbench``."""
    env = os.environ.get("WORKBENCH_CACHE_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base).expanduser() / "vig-workbench"


@cache
def vega_bundle() -> str:
    """Vega + Vega-Lite + Vega-Embed as one classic script that sets ``window.vegaEmbed``.

    Built by vl-convert from the libraries inside the installed wheel (no network), cached in
    :func:`cache_dir` keyed by the vl-convert version and its newest Vega-Lite version.
    """
    import vl_convert as vlc

    versions = f"{vlc.get_vega_version()}-{vlc.get_vegalite_versions()[-1]}-{vlc.get_vega_embed_version()}"
    key = hashlib.sha256(versions.encode()).hexdigest()[:16]
    path = cache_dir() / f"vega-bundle-{key}.js"
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    except OSError as exc:  # unreadable cache: rebuild
        log.info("Could not read the cached Vega bundle %s (%s); rebuilding it.", path, exc)
    log.info("Bundling Vega %s from vl-convert (once per version; a few seconds).", versions)
    bundle = vlc.javascript_bundle()
    if "</script" in bundle.lower():  # pragma: no cover - not the case for the versions we know
        bundle = bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as f:
            f.write(bundle)
        Path(f.name).replace(path)
    except OSError as exc:
        log.info("Could not cache the Vega bundle in %s (%s); it will be rebuilt next time.", path.parent, exc)
    return bundle


@cache
def report_css() -> str:
    """The report stylesheet (screen and print) from the template folder."""
    return (TEMPLATE_DIR / "vig-report" / "report.css").read_text(encoding="utf-8")
