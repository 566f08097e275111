"""Vega, Vega-Lite and Vega-Embed for the live chart, bundled so that the chart works offline.

vl-convert's ``javascript_bundle`` bundles the three libraries into one ES module whose default export is
Vega-Embed (vl-convert 1.9 turns the names ``vega`` and ``vegaLite`` of a snippet into ``null``, so
``widgets/chart.js`` uses Vega-Embed and the view's own methods only). :class:`~workbench.ui.widgets.LiveChart`
sends it to the browser as a trait, and ``widgets/chart.js`` imports it once per page, keyed by
:func:`vega_bundle`'s key: the widget's own module stays small, so that anywidget loads it well within its
two-second limit for initialising a widget (a ~1 MB module can take longer on a busy machine, and a widget
past the limit drops every later update from the kernel).

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

__all__ = ["cache_dir", "vega_bundle"]

log = logging.getLogger(__name__)

#: The Vega-Lite version the bundle carries (a version vl-convert knows).
VEGA_LITE = "6.4"
_SNIPPET = "export default vegaEmbed;"


def cache_dir() -> Path:
    """Where generated files are kept between kernels (``$WORKBENCH_CACHE_DIR``, else the user's cache)."""
    env = os.environ.get("WORKBENCH_CACHE_DIR", "").strip()
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache") / "vig-workbench"


@functools.cache
def vega_bundle() -> tuple[str, str]:
    """The ES module of Vega-Embed with Vega and Vega-Lite (default export: ``vegaEmbed``), and its key."""
    import vl_convert

    key = hashlib.sha256("\n".join([vl_convert.__version__, VEGA_LITE, _SNIPPET]).encode()).hexdigest()[:24]
    cached = cache_dir() / f"vega-embed-{key}.js"
    if cached.is_file():
        return cached.read_text(encoding="utf-8"), key
    log.info("bundling Vega for the chart widget (once; kept in %s)", cached.parent)
    bundle = str(vl_convert.javascript_bundle(_SNIPPET, vl_version=VEGA_LITE))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_name(f".{cached.name}.{os.getpid()}.part")
        part.write_text(bundle, encoding="utf-8")
        part.replace(cached)
    except OSError as exc:
        log.info("could not keep the Vega bundle in %s (%s)", cached.parent, exc)
    return bundle, key
