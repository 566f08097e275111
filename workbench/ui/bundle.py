"""The live chart's front end, with Vega, Vega-Lite and Vega-Embed bundled in so that it works offline.

vl-convert's ``javascript_bundle`` bundles the three libraries with a snippet of ours. The snippet only hands
Vega-Embed over (vl-convert 1.9 turns the names ``vega`` and ``vegaLite`` of a snippet into ``null``, so
``widgets/chart.js`` uses Vega-Embed and the view's own methods only); ``widgets/chart.js`` follows the bundle,
unminified, in the same ES module, so that an error in it points at a line of ours.

Bundling takes seconds: the bundle is kept in the cache folder (``$WORKBENCH_CACHE_DIR``, else
``~/.cache/vig-workbench``), keyed by vl-convert's version, the Vega-Lite version and the snippet; later
kernels load it at once.
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
#: Where the bundle leaves Vega-Embed for ``widgets/chart.js``.
_HANDOVER = "globalThis.__vigWorkbenchVegaEmbed = vegaEmbed;"


def cache_dir() -> Path:
    """Where generated files are kept between kernels (``$WORKBENCH_CACHE_DIR``, else the user's cache)."""
    env = os.environ.get("WORKBENCH_CACHE_DIR", "").strip()
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache") / "vig-workbench"


@functools.cache
def _vega_bundle() -> str:
    import vl_convert

    key = hashlib.sha256("\n".join([vl_convert.__version__, VEGA_LITE, _HANDOVER]).encode()).hexdigest()[:24]
    cached = cache_dir() / f"vega-embed-{key}.js"
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    log.info("bundling Vega for the chart widget (once; kept in %s)", cached.parent)
    bundle = str(vl_convert.javascript_bundle(_HANDOVER, vl_version=VEGA_LITE))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_name(f".{cached.name}.{os.getpid()}.part")
        part.write_text(bundle, encoding="utf-8")
        part.replace(cached)
    except OSError as exc:
        log.info("could not keep the Vega bundle in %s (%s)", cached.parent, exc)
    return bundle


def chart_esm() -> str:
    """The ES module of :class:`~workbench.ui.widgets.LiveChart`: the Vega bundle, then ``widgets/chart.js``."""
    return f"{_vega_bundle()}\n{(widgets_dir() / 'chart.js').read_text(encoding='utf-8')}"
