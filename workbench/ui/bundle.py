"""The live chart's front end, bundled with Vega, Vega-Lite and Vega-Embed so that it works offline.

``widgets/chart.js`` has no imports: vl-convert's ``javascript_bundle`` bundles it with the three libraries
and gives it the name ``vegaEmbed`` (vl-convert 1.9 turns the names ``vega`` and ``vegaLite`` of a snippet
into ``null``, so the module uses Vega-Embed and the view's own methods only). Bundling takes seconds, so the
result is
kept in the cache folder (``$WORKBENCH_CACHE_DIR``, else ``~/.cache/vig-workbench``), keyed by the
versions and the source it is made from: later kernels load it at once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from pathlib import Path

from workbench.ui.widgets import widgets_dir

__all__ = ["cache_dir", "chart_esm"]

log = logging.getLogger(__name__)

#: The Vega-Lite version the bundle carries (a version vl-convert knows).
VEGA_LITE = "6.4"


def cache_dir() -> Path:
    """Where generated files are kept between kernels (``$WORKBENCH_CACHE_DIR``, else the user's cache)."""
    env = os.environ.get("WORKBENCH_CACHE_DIR", "").strip()
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache") / "vig-workbench"


@functools.cache
def chart_esm() -> str:
    """The ES module of :class:`~workbench.ui.widgets.LiveChart`: ``widgets/chart.js`` with Vega bundled.

    Made once per kernel, and kept on disk between kernels (see the module docstring).
    """
    import vl_convert

    source = (widgets_dir() / "chart.js").read_text(encoding="utf-8")
    key = hashlib.sha256("\n".join([vl_convert.__version__, VEGA_LITE, source]).encode()).hexdigest()[:24]
    cached = cache_dir() / f"chart-{key}.js"
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    log.info("bundling the chart widget with Vega (once; kept in %s)", cached.parent)
    bundle = str(vl_convert.javascript_bundle(source, vl_version=VEGA_LITE))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_name(f".{cached.name}.{os.getpid()}.part")
        part.write_text(bundle, encoding="utf-8")
        part.replace(cached)
    except OSError as exc:
        log.info("could not keep the chart bundle in %s (%s)", cached.parent, exc)
    return bundle
