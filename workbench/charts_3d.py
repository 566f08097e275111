"""3D views with ipyvolume (kept apart: ipyvolume is heavy and only needed for these views).

:func:`synchrony_landscape` shows a windowed lagged cross-correlation table
(:func:`workbench.analysis.synchrony.ccf`) as a surface: lag across, time along, synchrony up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["synchrony_landscape"]

# A few stops of matplotlib's "viridis" (dark blue -> green -> yellow), interpolated linearly.
_VIRIDIS = np.array(
    [
        [0.267, 0.005, 0.329],
        [0.229, 0.322, 0.546],
        [0.128, 0.567, 0.551],
        [0.369, 0.789, 0.383],
        [0.993, 0.906, 0.144],
    ]
)


def _colours(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """RGB in [0, 1] for ``values`` on the viridis ramp from ``low`` to ``high``."""
    span = high - low
    t = np.zeros_like(values) if span <= 0 else np.clip((values - low) / span, 0.0, 1.0)
    stops = np.linspace(0.0, 1.0, len(_VIRIDIS))
    return np.stack([np.interp(t, stops, _VIRIDIS[:, k]) for k in range(3)], axis=-1)


def synchrony_landscape(ccf_df: pd.DataFrame, *, width: int = 640, height: int = 480) -> Any:
    """A 3D surface of synchrony: window (time) x lag x value, as an ipyvolume figure.

    Parameters
    ----------
    ccf_df : pandas.DataFrame
        A :func:`workbench.analysis.synchrony.ccf` table: one row per window (index: window start in
        ms), one column per lag in seconds.
    width, height : int
        Figure size in pixels.

    Returns
    -------
    ipyvolume.Figure
        The widget (display it in a notebook). Its one mesh has ``x`` = lag (s, axis "lag"), ``y`` =
        synchrony (up, axis "sync"), ``z`` = window start (s, axis "time"), coloured from low (dark blue) to
        high (yellow). Missing values (windows
        or lags rMEA leaves NA) are drawn at the lowest value.

    Raises
    ------
    ValueError
        If the table is empty or not numeric.
    ImportError
        If ipyvolume is not installed (with an install hint).

    Examples
    --------
    >>> from workbench.analysis.synchrony import ccf
    >>> fig = synchrony_landscape(ccf(mea, lag_s=5, window_s=60, increment_s=30))  # doctest: +SKIP
    >>> fig  # in a notebook cell  # doctest: +SKIP
    """
    try:
        import ipyvolume as ipv
    except ImportError as exc:  # pragma: no cover - ipyvolume is a declared dependency
        raise ImportError(
            "synchrony_landscape needs ipyvolume (and ipython_genutils, which it imports but does not "
            "declare): pip install ipyvolume ipython_genutils"
        ) from exc
    if not isinstance(ccf_df, pd.DataFrame) or ccf_df.shape[0] < 1 or ccf_df.shape[1] < 1:
        got = f"shape {ccf_df.shape}" if isinstance(ccf_df, pd.DataFrame) else type(ccf_df).__name__
        raise ValueError(f"Expected a non-empty ccf() table (windows x lags), but got {got}.")
    try:
        values = ccf_df.to_numpy(dtype=np.float64)
        lags = np.asarray(ccf_df.columns, dtype=np.float64)
        starts_s = np.asarray(ccf_df.index, dtype=np.float64) / 1000.0
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "Expected a ccf() table with numeric values, lag columns in seconds and window starts in ms, "
            f"but got columns {list(ccf_df.columns)[:5]}... ({exc})."
        ) from exc
    finite = values[np.isfinite(values)]
    low = float(finite.min()) if finite.size else 0.0
    high = float(finite.max()) if finite.size else 1.0
    heights = np.where(np.isfinite(values), values, low)
    lag_grid, time_grid = np.meshgrid(lags, starts_s)  # both windows x lags, like the table

    figure = ipv.figure(width=width, height=height)
    ipv.plot_surface(lag_grid, heights, time_grid, color=_colours(heights, low, high))
    ipv.xlim(float(lags.min()), float(lags.max()) if lags.size > 1 else float(lags.min()) + 1.0)
    ipv.ylim(low, high if high > low else low + 1.0)
    ipv.zlim(
        float(starts_s.min()), float(starts_s.max()) if starts_s.size > 1 else float(starts_s.min()) + 1.0
    )
    # short axis names: ipyvolume draws them as large 3D text at the axes' ends, where long ones are cut off
    # or lie across the surface (the heading beside the figure explains the axes)
    ipv.xlabel("lag")
    ipv.ylabel("sync")
    ipv.zlabel("time")
    # from the front and a little above, far enough that the whole box and its axis names are in view
    ipv.view(azimuth=35, elevation=25, distance=2.8)
    return figure
