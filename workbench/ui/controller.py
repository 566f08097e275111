"""The review workbench: player, annotation table and timeline in sync, one controller storing every edit.

>>> import workbench                                     # doctest: +SKIP
>>> from workbench.ui import review                      # doctest: +SKIP
>>> review(workbench.open_project("demo-project"), 1)    # doctest: +SKIP
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import altair as alt
import ipywidgets as ipw
import pandas as pd

from workbench.analysis.agreement import match_events, per_code_agreement
from workbench.analysis.contingency import contingencies
from workbench.annotations import AnnotationTable
from workbench.charts import contingency_links, review_timeline, timeline_frame
from workbench.errors import ConflictError, WorkbenchError
from workbench.model import Recording
from workbench.store import Project
from workbench.ui.server import MEDIA_ROUTE, register_media
from workbench.ui.widgets import AnnotationGrid, VideoPlayer

__all__ = ["Review", "review"]

log = logging.getLogger(__name__)

HOLD_MS = 400  # a key held longer than this makes a state event from key-down to key-up
DOUBLE_TAP_S = 0.35  # two taps of a key within this many seconds open a state event


@dataclass(frozen=True, slots=True)
class _Undo:
    kind: Literal["delete", "edit"]
    row: dict[str, Any]


_OFFLINE_ENABLED = False


def _ensure_offline_charts() -> None:
    """Serve the chart widget's JavaScript from the installed package, not a CDN (once per kernel)."""
    global _OFFLINE_ENABLED
    if not _OFFLINE_ENABLED:
        alt.JupyterChart.enable_offline()
        _OFFLINE_ENABLED = True


class Review(ipw.VBox):
    """A recording's review: video, annotation table, timeline, key legend; edits stored at once.

    Parameters
    ----------
    project : Project
        The open project; every edit goes through it (one transaction each).
    recording : Recording or int
        The recording to review.
    coder : str, optional
        Who is coding now (default: the project's coder).
    mode : {"micro", "supervision"}
        ``"supervision"`` shows every coder's lanes side by side, marks where two
        coders disagree and shows per-code agreement.
    window_ms : (int, int)
        Contingency window after an initiative's onset (links on the timeline).
    tolerance_ms : int
        Onset tolerance for matching two coders' events.
    """

    def __init__(
        self,
        project: Project,
        recording: Recording | int,
        *,
        coder: str | None = None,
        mode: Literal["micro", "supervision"] = "micro",
        window_ms: tuple[int, int] = (0, 3000),
        tolerance_ms: int = 1000,
    ) -> None:
        self.project = project
        self.recording = project.recording(recording)
        self.coder = coder or project.coder
        self.mode = mode
        self.scheme = project.scheme
        self.window_ms = window_ms
        self.tolerance_ms = tolerance_ms
        self.agreement = ipw.HTML()
        self._undo: list[_Undo] = []
        self._mark_in: int | None = None
        self._last_tap: dict[str, tuple[float, int]] = {}
        self._open_states: dict[str, int] = {}
        actors = [p.label for p in project.participants(self._case_id())] or ["parent", "child"]

        self.player = VideoPlayer(
            duration_ms=self.recording.duration_ms,
            frame_times=[int(t) for t in project.frame_times(self.recording)],
            shortcuts={k: self.scheme.code(c).label for k, c in self.scheme.shortcuts().items()},
            actors=actors,
            actor=actors[0],
        )
        self._set_source()
        self.table = AnnotationGrid(
            codes=[{"key": c.key, "label": c.label} for c in self.scheme.codes],
            actors=actors,
            layout=ipw.Layout(width="100%"),
        )
        self.status = ipw.HTML()
        _ensure_offline_charts()
        self.refresh()  # fills the table and makes the first chart widget
        self.legend = ipw.HTML(self._legend_html())
        self.timeline = ipw.Box([self.chart], layout=ipw.Layout(width="100%"))
        self.timeline.add_class("wb-timeline")

        self.player.on_msg(self._on_player_msg)
        self.table.on_msg(self._on_table_msg)
        self.player.observe(self._on_time, "current_ms")

        # side by side when there is room, the table under the video in a narrow output
        top = ipw.HBox(
            [
                ipw.Box([self.player], layout=ipw.Layout(flex="1 1 360px", min_width="0")),
                ipw.Box([self.table], layout=ipw.Layout(flex="1 1 540px", min_width="0")),
            ],
            layout=ipw.Layout(width="100%", flex_flow="row wrap"),
        )
        super().__init__([top, self.status, self.timeline, self.agreement, self.legend])
        self.add_class("wb-review")

    # -- set-up ------------------------------------------------------------------------

    def _case_id(self) -> int:
        return self.project.session(self.recording.session_id).case_id

    def _set_source(self) -> None:
        from workbench.media import browser_playable, probe

        path = self.project.media_path(self.recording)
        folder = self.project.folder or path.parent
        try:
            token = register_media(path, folder)
        except ValueError:
            # a recording kept outside the project folder (copy=False): its own folder is the root
            token = register_media(path, path.parent)
        self.player.src = f"{MEDIA_ROUTE}/{token}"
        try:
            playable = browser_playable(probe(path, checksum=False))  # the codec only: no hashing
        except WorkbenchError as exc:
            self.player.message = str(exc)
            return
        if not playable:
            self.player.message = (
                f"This recording's codec ({self.recording.codec}) does not play in browsers. "
                "Run review.transcode() to keep an H.264 copy in the project."
            )

    def _legend_html(self) -> str:
        groups = []
        for cat in self.scheme.categories:
            items = "".join(
                f'<li title="{html.escape(c.description)}"><kbd>{html.escape(c.shortcut)}</kbd> '
                f"{html.escape(c.label)}</li>"
                for c in self.scheme.codes
                if c.category == cat.key and c.shortcut
            )
            if items:
                groups.append(
                    f'<div class="wb-legend-group"><b style="color:{cat.colour}">■ {html.escape(cat.label)}</b>'
                    f"<ul>{items}</ul></div>"
                )
        return (
            '<details class="wb-legend-box" data-wb="legend" open><summary><b>Coding keys</b>: click the video, '
            "then tap a key for a point event, hold it (or double-tap, then tap again) for a state event; "
            "space plays/pauses, , and . step one frame, [ and ] mark a moment</summary>"
            f'<div class="wb-legend">{"".join(groups)}</div></details>'
        )

    # -- data --------------------------------------------------------------------------

    def annotations(self) -> AnnotationTable:
        """The annotations shown: this coder's, or every coder's in supervision mode."""
        coder = None if self.mode == "supervision" else self.coder
        return self.project.annotations(self.recording, coder=coder)

    def refresh(self) -> None:
        """Reload rows from the store, recompute contingencies and agreement, redraw table and timeline."""
        table = self.annotations()
        frame = timeline_frame(table, self.scheme, lanes="actor+coder" if self.mode == "supervision" else "actor")
        frame["disagree"] = frame["id"].isin(self._disagreements(table))
        found = pd.concat(
            [contingencies(table.filter(coder=c), self.scheme, window_ms=self.window_ms) for c in table.coders]
            or [contingencies(table, self.scheme, window_ms=self.window_ms)],
            ignore_index=True,
        )
        colours = {c.key: c.colour for c in self.scheme.codes}
        versions = table.to_dataframe().set_index("id")["version"].to_dict() if len(table) else {}
        self.table.rows = [
            {
                "id": int(r.id),
                "version": int(versions.get(r.id, 1)),
                "actor": r.actor,
                "code": r.code,
                "label": r.label,
                "category": r.category,
                "colour": colours.get(r.code, "#9e9e9e"),
                "onset_ms": int(r.onset_ms),
                "offset_ms": int(r.offset_ms),
                "coder": r.coder,
                "note": r.note,
                "disagree": bool(r.disagree),
            }
            for r in frame.itertuples()
        ]
        self._replace_chart(self._chart(frame, contingency_links(found, frame)))

    def _disagreements(self, table: AnnotationTable) -> set[int]:
        """Ids of annotations where the two main coders disagree (supervision mode).

        The two coders compared are those with the most annotations of this recording.
        """
        counts = table.to_dataframe()["coder"].value_counts()
        if self.mode != "supervision" or len(counts) < 2:
            self.agreement.value = ""
            return set()
        a, b = sorted(counts.index[:2])
        matched = match_events(table.filter(coder=a), table.filter(coder=b), tolerance_ms=self.tolerance_ms)
        bad = matched[matched["status"] != "agree"]
        per_code = per_code_agreement(matched)
        agree = (matched["status"] == "agree").sum()
        rows = "".join(
            f"<tr><td>{r.code}</td><td>{r.n_a}</td><td>{r.n_b}</td><td>{r.agreement:.0%}</td></tr>"
            for r in per_code.itertuples()
        )
        self.agreement.value = (
            f'<details data-wb="agreement"><summary>Agreement {a} vs {b}: {agree} of {len(matched)} events agree '
            f"(onset within {self.tolerance_ms} ms, same actor and code); per code</summary>"
            f'<table class="wb-agreement"><tr><th>code</th><th>{a}</th><th>{b}</th><th>agreement</th></tr>'
            f"{rows}</table></details>"
        )
        return {int(i) for i in pd.concat([bad["id_a"], bad["id_b"]]).dropna()}

    def _new_chart_widget(self, chart: alt.TopLevelMixin) -> alt.JupyterChart:
        widget = alt.JupyterChart(chart, embed_options={"actions": False})
        widget.layout.width = "100%"  # width="container" measures this element: without it, 0 px
        widget.params.playhead = self.player.current_ms
        widget.selections.observe(self._on_chart_pick, "pick")
        return widget

    def _replace_chart(self, chart: alt.TopLevelMixin) -> None:
        # A fresh chart widget per redraw: changing the spec of a live alt.JupyterChart (altair 6.3)
        # leaves its old change handlers behind, which then throw on every playhead update.
        if not hasattr(self, "timeline"):
            self.chart = self._new_chart_widget(chart)
            return
        old, self.chart = self.chart, self._new_chart_widget(chart)
        self.timeline.children = [self.chart]
        old.close()

    def _chart(self, frame: pd.DataFrame | None = None, links: pd.DataFrame | None = None) -> alt.LayerChart:
        if frame is None:
            frame = timeline_frame(AnnotationTable.empty(), self.scheme)
        if links is None:
            links = contingency_links(contingencies(AnnotationTable.empty(), self.scheme), frame)
        return review_timeline(frame, links, self.scheme, duration_ms=self.recording.duration_ms)

    # -- events ------------------------------------------------------------------------

    def _say(self, text: str, error: bool = False) -> None:
        colour = "#a33" if error else "#555"
        self.status.value = f'<span data-wb="status" style="color:{colour}">{text}</span>'

    def _on_time(self, change: dict[str, Any]) -> None:
        t = int(change["new"])
        self.table.current_ms = t
        self.chart.params.playhead = t

    def _on_chart_pick(self, change: dict[str, Any]) -> None:
        value = change["new"].value if change["new"] is not None else None
        if value:
            self.player.seek(int(value[0]["onset_ms"]))

    def _guard(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except ConflictError as exc:
            self._say(f"{exc} The table has been reloaded.", error=True)
            self.refresh()
        except (WorkbenchError, ValueError, KeyError) as exc:
            self._say(str(exc), error=True)

    def _on_table_msg(self, _widget: Any, msg: dict[str, Any], _buffers: Any) -> None:
        kind = msg.get("type")
        if kind == "seek":
            self.player.seek(int(msg["ms"]))
        elif kind == "edit":
            self._guard(self._edit, msg)
        elif kind == "delete":
            self._guard(self._delete, msg)
        elif kind == "undo":
            self._guard(self._undo_last)

    def _edit(self, msg: dict[str, Any]) -> None:
        before = self.project.annotation(int(msg["id"]))
        field = str(msg["field"])
        if field not in ("code", "actor", "onset_ms", "offset_ms", "note"):
            raise ValueError(f"Expected an editable field (code, actor, onset_ms, offset_ms, note), but got {field!r}.")
        self.project.update_annotation(int(msg["id"]), expected_version=int(msg["version"]), **{field: msg["value"]})
        self._undo.append(_Undo("edit", before))
        self._say(f"Saved: {field} of annotation {msg['id']}.")
        self.refresh()

    def _delete(self, msg: dict[str, Any]) -> None:
        before = self.project.annotation(int(msg["id"]))
        self.project.delete_annotation(int(msg["id"]), expected_version=int(msg["version"]))
        self._undo.append(_Undo("delete", before))
        self._say(f"Deleted annotation {msg['id']} (undo brings it back).")
        self.refresh()

    def _undo_last(self) -> None:
        if not self._undo:
            self._say("Nothing to undo.")
            return
        step = self._undo.pop()
        r = step.row
        if step.kind == "delete":
            new_id = self.project.add_annotation(
                self.recording, r["actor"], r["code"], r["onset_ms"], r["offset_ms"], coder=r["coder"], note=r["note"]
            )
            self._say(f"Restored the deleted annotation (now id {new_id}).")
        else:
            current = self.project.annotation(r["id"])
            fields = {k: r[k] for k in ("actor", "code", "onset_ms", "offset_ms", "note")}
            self.project.update_annotation(r["id"], expected_version=current["version"], **fields)
            self._say(f"Undid the edit of annotation {r['id']}.")
        self.refresh()

    def _on_player_msg(self, _widget: Any, msg: dict[str, Any], _buffers: Any) -> None:
        kind = msg.get("type")
        if kind == "key":
            self._guard(self._key, msg)
        elif kind == "mark":
            self._guard(self._mark, msg)
        elif kind == "still":
            self._guard(self._still, msg)
        elif kind == "comment":
            self._guard(self._comment, msg)

    def _key(self, msg: dict[str, Any]) -> None:
        """A coding key: a tap adds a point event; a hold adds a state event from key-down to key-up;
        a double tap opens a state event at the first tap that the next tap of the key closes."""
        if msg.get("phase") != "up":
            return
        key = str(msg["key"])
        code = self.scheme.shortcuts().get(key)
        if code is None:
            return
        onset, up = int(msg["onset_ms"]), int(msg["time_ms"])
        actor = str(msg.get("actor") or self.player.actor)
        # when the key went down, by the browser's clock (Python's clock would add the time spent storing)
        now = float(msg["down_wall_ms"]) / 1000 if "down_wall_ms" in msg else time.monotonic()
        if up - onset > HOLD_MS:
            new_id = self.add(actor, code, onset, up)
            self._say(f"Added {code} for {actor}, {onset}-{up} ms (state), id {new_id}.")
            return
        if key in self._open_states:
            state_id = self._open_states.pop(key)
            row = self.project.annotation(state_id)
            self.project.update_annotation(
                state_id, expected_version=row["version"], offset_ms=max(onset, row["onset_ms"])
            )
            self.refresh()
            self._say(f"Closed {code} for {row['actor']}: {row['onset_ms']}-{max(onset, row['onset_ms'])} ms.")
            return
        last = self._last_tap.get(key)
        if last is not None and now - last[0] <= DOUBLE_TAP_S:
            self._open_states[key] = last[1]
            self._last_tap.pop(key)
            self._say(f"Started a {code} state at the first tap; press {key} again to end it.")
            return
        new_id = self.add(actor, code, onset)
        self._last_tap[key] = (now, new_id)
        self._say(f"Added {code} for {actor} at {onset} ms (point), id {new_id}.")

    def add(self, actor: str, code: str, onset_ms: int, offset_ms: int | None = None, note: str = "") -> int:
        """Add an annotation by the current coder, store it, and redraw."""
        new_id = self.project.add_annotation(
            self.recording, actor, code, onset_ms, offset_ms, coder=self.coder, note=note
        )
        self.refresh()
        return new_id

    def _mark(self, msg: dict[str, Any]) -> None:
        t = int(msg["time_ms"])
        if msg.get("which") == "in":
            self._mark_in = t
            self._say(f"Moment starts at {t} ms; press ] to end it.")
            return
        if self._mark_in is None or t <= self._mark_in:
            self._say("Press [ at the start of the moment first, then ] after it.", error=True)
            return
        moment = self.project.add_moment(self.recording, self._mark_in, t, f"Moment at {self._mark_in / 1000:.1f} s")
        self.player.loop_start_ms, self.player.loop_end_ms = moment.onset_ms, moment.offset_ms
        self._mark_in = None
        self._say(f"Stored moment {moment.id} ({moment.onset_ms}-{moment.offset_ms} ms); ⟲ loops it.")

    def _still(self, msg: dict[str, Any]) -> None:
        still = self.project.add_still(self.recording, int(msg["time_ms"]), caption=str(msg.get("caption", "")))
        self._say(f"Stored still {still.id} at {still.time_ms} ms.")

    def _comment(self, msg: dict[str, Any]) -> None:
        comment = self.project.add_comment(
            self.recording, int(msg["time_ms"]), self.coder, str(msg["text"]), status=str(msg.get("status", "discuss"))
        )
        self._say(f"Stored comment {comment.id} at {comment.time_ms} ms ({comment.status}).")

    def synchrony(
        self,
        rois: Mapping[str, Any],
        *,
        lag_s: float = 2.0,
        window_s: float = 10.0,
        increment_s: float = 2.0,
        threshold: int = 10,
    ) -> Any:
        """Add a 3D synchrony landscape (window x lag x cross-correlation) linked to the video's time.

        Motion energy is computed from the recording for two regions of interest
        (``{"parent": (x, y, w, h), "child": (...)}``, displayed-frame pixels),
        then rMEA's windowed lagged cross-correlation. A marker on the surface
        follows the playhead: the window holding the current time, at the lag of
        its strongest synchrony.

        Returns
        -------
        ipyvolume.Figure
            The figure, also shown below the timeline.
        """
        import ipyvolume as ipv
        import numpy as np

        from workbench.analysis.synchrony import ccf, mea_from_motion_energy
        from workbench.charts_3d import synchrony_landscape
        from workbench.media import motion_energy

        if len(rois) != 2:
            raise ValueError(f"Expected two regions of interest (one per person), but got {len(rois)}.")
        (n1, r1), (n2, r2) = rois.items()
        energy = motion_energy(self.project.media_path(self.recording), {n1: r1, n2: r2}, threshold=threshold)
        rate = round(float(self.recording.fps)) or None
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

        self.player.observe(follow, "current_ms")
        note = ipw.HTML(
            f"<b>Synchrony</b> of {html.escape(n1)} and {html.escape(n2)} (motion energy, rMEA's method: lag ±"
            f"{lag_s:g} s, windows of {window_s:g} s every {increment_s:g} s; positive lags: {html.escape(n2)} "
            "follows). The red marker follows the video."
        )
        self.children = (*self.children, note, figure)
        return figure

    def transcode(self) -> Recording:
        """Keep a browser-playable H.264/AAC copy of this recording in the project and switch to it."""
        from workbench.media import transcode_for_browser

        src = self.project.media_path(self.recording)
        folder = self.project.folder or src.parent
        out = transcode_for_browser(src, folder / "media" / f"{src.stem}-h264.mp4")
        session = self.project.session(self.recording.session_id)
        new = self.project.add_recording(session, out, label=f"{self.recording.label} (H.264)")
        self.recording = new
        self.player.message = ""
        self._set_source()
        return new


def review(project: Project, recording: Recording | int, **kwargs: Any) -> Review:
    """Show a recording's review (see :class:`Review`)."""
    return Review(project, recording, **kwargs)
