"""Nonverbal synchrony beside the review: heatmap and 3D landscape of two people's movement, following the video."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as ipw

from workbench import charts
from workbench.ui.rows import records
from workbench.ui.store_io import ReviewStore
from workbench.ui.widgets import LiveChart, VideoPlayer

__all__ = ["synchrony_section"]


def synchrony_section(
    store: ReviewStore,
    player: VideoPlayer,
    rois: Mapping[str, Any],
    *,
    lag_s: float,
    window_s: float,
    increment_s: float,
    threshold: int,
    on_pick: Callable[[Any, int, Any, bool], None],
) -> tuple[ipw.VBox, Any]:
    """The synchrony section of a review and its 3D figure (see :meth:`workbench.ui.Review.synchrony`).

    Motion energy of the recording's two regions of interest, then rMEA's windowed lagged
    cross-correlation; a heatmap of it (time across, lag up; a click seeks, through ``on_pick``) beside a 3D
    landscape whose red marker follows the player: the window holding the current time, at its strongest lag.

    Raises
    ------
    ValueError
        If ``rois`` does not name two regions.
    """
    import ipyvolume as ipv
    import numpy as np

    from workbench.analysis.synchrony import ccf, mea_from_motion_energy
    from workbench.charts_3d import synchrony_landscape
    from workbench.media import motion_energy

    if len(rois) != 2:
        raise ValueError(f"Expected two regions of interest (one per person), but got {len(rois)}.")
    (n1, r1), (n2, r2) = rois.items()
    recording = store.recording
    energy = motion_energy(store.media_path(), {n1: r1, n2: r2}, threshold=threshold)
    rate = round(float(recording.fps)) or None
    table = ccf(mea_from_motion_energy(energy, n1, n2, sampling_rate=rate), lag_s, window_s, increment_s)
    figure = synchrony_landscape(table)
    values = table.to_numpy(dtype=float)
    lags = np.asarray(table.columns, dtype=float)
    starts = np.asarray(table.index, dtype=float)
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    with figure:
        marker = ipv.scatter(
            np.array([0.0]), np.array([top]), np.array([starts[0] / 1000]), marker="sphere", size=4, color="red"
        )

    def follow(change: dict[str, Any]) -> None:
        i = int(np.clip(np.searchsorted(starts, change["new"], side="right") - 1, 0, len(starts) - 1))
        row = values[i]
        j = int(np.nanargmax(row)) if np.isfinite(row).any() else len(lags) // 2
        marker.x, marker.y, marker.z = (
            np.array([lags[j]]),
            np.array([np.nan_to_num(row[j], nan=0.0)]),
            np.array([starts[i] / 1000]),
        )

    player.observe(follow, "current_ms")
    heatmap = LiveChart(
        hook="synchrony",
        spec=charts.synchrony_heatmap(n1, n2, duration_ms=recording.duration_ms, lag_s=float(lags.max())).to_dict(),
        datasets={"ccf": records(charts.synchrony_rows(table))},
        playhead_ms=player.current_ms,
        chrome_px=110,
        layout=ipw.Layout(flex="2 1 480px", min_width="0"),
    )
    heatmap.on_pick(on_pick)
    player.observe(lambda change: setattr(heatmap, "playhead_ms", int(change["new"])), "current_ms")
    heading = ipw.HTML(
        f'<div class="wb-section" data-wb="synchrony-heading"><b>Nonverbal synchrony</b> of {html.escape(n1)} '
        f"and {html.escape(n2)}: how closely their movements follow each other (motion energy of each "
        f"person's region, rMEA's windowed lagged cross-correlation: windows of {window_s:g} s every "
        f"{increment_s:g} s, lags up to ±{lag_s:g} s; a positive lag: {html.escape(n2)} follows). Left, over "
        "time (click a window to see it); right, the same as a landscape (drag to turn it), whose red marker "
        "follows the video: the window holding the current time, at its strongest lag.</div>"
    )
    section = ipw.VBox(
        [
            heading,
            ipw.HBox(
                [heatmap, ipw.Box([figure], layout=ipw.Layout(flex="1 1 400px", min_width="360px"))],
                layout=ipw.Layout(width="100%", flex_flow="row wrap", align_items="flex-start"),
            ),
        ],
        layout=ipw.Layout(width="100%"),
    )
    section.add_class("wb-synchrony")
    return section, figure
