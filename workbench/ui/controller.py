"""The review workbench: player, annotation table and timeline in sync, one controller storing every edit.

>>> import workbench                                     # doctest: +SKIP
>>> from workbench.ui import review                      # doctest: +SKIP
>>> review(workbench.open_project("demo-project"), 1)    # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import html
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import altair as alt
import ipywidgets as ipw
import pandas as pd

from workbench.analysis.agreement import match_events, per_code_agreement
from workbench.analysis.contingency import contingencies
from workbench.annotations import AnnotationTable
from workbench.charts import (
    NOT_IN_SCHEME,
    NOT_IN_SCHEME_COLOUR,
    contingency_links,
    lane_label_width,
    review_timeline,
    timeline_frame,
)
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

#: Columns of the timeline frame the chart uses (encodings, tooltip, the ``pick`` selection).
CHART_COLUMNS = ["id", "lane", "label", "category", "kind", "onset_ms", "offset_ms", "onset_s", "end_s", "disagree"]
#: Views of :func:`workbench.charts.review_timeline`'s vertical concatenation.
OVERVIEW_VIEW, TIMELINE_VIEW = 0, 1
#: A timeline click seeks from Python only when the video is further than this from the bar's onset
#: (the player has usually seeked already, in the browser).
PICK_SLACK_MS = 250


def _cache_dir() -> Path:
    """Where generated files are kept between kernels (``$WORKBENCH_CACHE_DIR``, else the user's cache)."""
    env = os.environ.get("WORKBENCH_CACHE_DIR", "").strip()
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache") / "vig-workbench"


def _ensure_offline_charts() -> None:
    """Serve the chart widget's JavaScript from the installed package, not a CDN (once per kernel).

    Altair bundles it with vl-convert, which takes seconds; the bundle is kept in the cache folder,
    keyed by the versions and the source it is made from, so that later kernels load it at once.
    """
    global _OFFLINE_ENABLED
    if _OFFLINE_ENABLED:
        return
    try:
        import vl_convert
        from altair.jupyter.jupyter_chart import load_js_src
        from altair.utils._importers import vl_version_for_vl_convert

        key = hashlib.sha256(
            "\n".join(
                [alt.__version__, vl_convert.__version__, vl_version_for_vl_convert(), load_js_src()]
            ).encode()
        ).hexdigest()[:24]
        cached = _cache_dir() / f"altair-jupyterchart-{key}.js"
    except (ImportError, AttributeError) as exc:  # another Altair layout: let it bundle every time
        log.info("not caching the chart bundle (%s)", exc)
        cached = None
    if cached is not None and cached.is_file():
        alt.JupyterChart._esm = cached.read_text(encoding="utf-8")
        alt.JupyterChart._is_offline = True
    else:
        alt.JupyterChart.enable_offline()
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                part = cached.with_name(f".{cached.name}.{os.getpid()}.part")
                part.write_text(str(alt.JupyterChart._esm), encoding="utf-8")
                part.replace(cached)
            except OSError as exc:
                log.info("could not keep the chart bundle in %s (%s)", cached.parent, exc)
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
        self._category_labels = {k.key: k.label for k in self.scheme.categories}
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

    def _copy_label(self) -> str:
        return f"{self.recording.label} (H.264)"

    def playback_recording(self) -> Recording:
        """The recording the player plays: this one, or the browser-playable copy :meth:`transcode` made
        of it (a recording of the same session labelled ``"<label> (H.264)"``)."""
        for r in self.project.recordings(self.recording.session_id):
            if r.id != self.recording.id and r.label == self._copy_label() and r.codec == "h264":
                return r
        return self.recording

    def _set_source(self) -> None:
        from workbench.media import browser_playable, probe

        playing = self.playback_recording()
        path = self.project.media_path(playing)
        folder = self.project.folder or path.parent
        try:
            token = register_media(path, folder)
        except ValueError:
            # a recording kept outside the project folder (copy=False): its own folder is the root
            token = register_media(path, path.parent)
        self.player.serve_file(path)  # for front ends without the media route (standalone Voilà)
        self.player.src = f"{MEDIA_ROUTE}/{token}"
        try:
            playable = browser_playable(probe(path, checksum=False))  # the codec only: no hashing
        except WorkbenchError as exc:
            self.player.message = str(exc)
            return
        if not playable:
            self.player.message = (
                f"This recording's codec ({playing.codec}) does not play in browsers. "
                "Run review.transcode() to keep an H.264 copy in the project."
            )
        else:
            self.player.message = ""

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
        by_coder = {c: table.filter(coder=c) for c in table.coders}
        frame = timeline_frame(table, self.scheme, lanes="actor+coder" if self.mode == "supervision" else "actor")
        frame["disagree"] = frame["id"].isin(self._disagreements(table, by_coder))
        found = pd.concat(
            [contingencies(t, self.scheme, window_ms=self.window_ms) for t in by_coder.values()]
            or [contingencies(table, self.scheme, window_ms=self.window_ms)],
            ignore_index=True,
        )
        versions = table.to_dataframe().set_index("id")["version"].to_dict() if len(table) else {}
        self.table.rows = [
            self._table_row({**r._asdict(), "version": versions.get(r.id, 1)}, bool(r.disagree))
            for r in frame.itertuples(index=False)
        ]
        self._draw_chart(frame[CHART_COLUMNS], contingency_links(found, frame))

    def _table_row(self, a: Mapping[str, Any], disagree: bool) -> dict[str, Any]:
        """One row of the table widget (what table.js shows and sends back with an edit) from an
        annotation's ``id, version, actor, code, onset_ms, offset_ms, coder, note``."""
        code = str(a["code"])
        c = self.scheme.code(code) if code in self.scheme else None
        categories = self._category_labels
        return {
            "id": int(a["id"]),
            "version": int(a["version"]),
            "actor": a["actor"],
            "code": code,
            "label": c.label if c else code,
            "category": categories.get(c.category, c.category) if c else NOT_IN_SCHEME,
            "colour": c.colour if c else NOT_IN_SCHEME_COLOUR,
            "onset_ms": int(a["onset_ms"]),
            "offset_ms": int(a["offset_ms"]),
            "coder": a["coder"],
            "note": a["note"],
            "disagree": bool(disagree),
        }

    def _show_now(self, changed: Iterable[int] = (), removed: Iterable[int] = ()) -> None:
        """Put changed rows in the table at once, before :meth:`refresh` recomputes everything else.

        The table widget sends only the rows that differ, so the browser shows an edit or a new
        row within a round trip even when the recording has thousands of annotations.
        """
        rows = {r["id"]: r for r in self.table.rows}
        for i in removed:
            rows.pop(int(i), None)
        for i in changed:
            a = self.project.annotation(int(i))
            if a["recording_id"] != self.recording.id or (self.mode != "supervision" and a["coder"] != self.coder):
                rows.pop(int(i), None)
                continue
            rows[int(i)] = self._table_row(a, rows.get(int(i), {}).get("disagree", False))
        self.table.rows = list(rows.values())

    def _disagreements(self, table: AnnotationTable, by_coder: Mapping[str, AnnotationTable]) -> set[int]:
        """Ids of annotations where the two main coders disagree (supervision mode).

        The two coders compared are those with the most annotations of this recording
        (``by_coder``: ``table`` split by coder).
        """
        if self.mode != "supervision" or len(by_coder) < 2:
            self.agreement.value = ""
            return set()
        counts = table.to_dataframe()["coder"].value_counts()
        a, b = sorted(counts.index[:2])
        matched = match_events(by_coder[a], by_coder[b], tolerance_ms=self.tolerance_ms)
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
        # width="container" measures this element (without a width, 0 px); the lane names go beside it
        widget.layout.width = f"calc(100% - {self._label_width + 12}px)"
        widget.params.playhead = self.player.current_ms
        widget.selections.observe(self._on_chart_pick, "pick")
        return widget

    @staticmethod
    def _layer_data(frame: pd.DataFrame, links: pd.DataFrame) -> list[pd.DataFrame]:
        """The data of the timeline's first three layers (bars, answered links, missed initiatives), as
        :func:`workbench.charts.review_timeline` draws them (checked against the chart it builds)."""
        bars = frame.copy()
        if "disagree" not in bars:
            bars["disagree"] = False
        return [bars, links[links["outcome"] != "missed"], links[links["outcome"] == "missed"]]

    def _data_names(self, chart: alt.VConcatChart, frame: pd.DataFrame, links: pd.DataFrame) -> list[str] | None:
        """The names of the chart widget's datasets that :meth:`_draw_chart` can replace, or None.

        None when the chart's layers do not hold what :meth:`_layer_data` computes (the chart builder
        changed), when two layers share one dataset, or when this Altair cannot update data in place.
        """
        if not hasattr(self.chart, "_py_to_js_updates"):
            return None
        try:
            layers = self.chart.spec["vconcat"][TIMELINE_VIEW]["layer"]
            names = [layers[i]["data"]["name"] for i in range(3)]
            timeline = chart.vconcat[TIMELINE_VIEW]
            same = all(
                isinstance(timeline.layer[i].data, pd.DataFrame) and timeline.layer[i].data.equals(df)
                for i, df in enumerate(self._layer_data(frame, links))
            )
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
        return names if same and len(set(names)) == 3 else None

    def _draw_chart(self, frame: pd.DataFrame, links: pd.DataFrame) -> None:
        """Show new data on the timeline: replace the datasets of the chart in the browser (Vega redraws
        only the marks), or make a new chart widget when the lanes changed or on the first draw."""
        lanes = sorted(frame["lane"].unique())
        names = getattr(self, "_chart_names", None)
        if names is not None and lanes == self._chart_lanes:
            data = self._layer_data(frame, links)
            self.chart._py_to_js_updates = [
                {"namespace": "data", "name": name, "scope": [], "value": alt.to_values(df)["values"]}
                for name, df in zip(names, data, strict=True)
            ]
            for layer, df in zip(self.chart.chart.vconcat[TIMELINE_VIEW].layer, data, strict=False):
                layer.data = df  # the Python-side chart stays what the browser shows (no re-embed)
            self.chart.chart.vconcat[OVERVIEW_VIEW].layer[0].data = data[0]  # the overview's dots: same dataset
            return
        chart = self._chart(frame, links)
        self._replace_chart(chart)
        self._chart_lanes = lanes
        self._chart_names = self._data_names(chart, frame, links)

    def _replace_chart(self, chart: alt.TopLevelMixin) -> None:
        # A fresh chart widget per redraw: changing the spec of a live alt.JupyterChart (altair 6.3)
        # leaves its old change handlers behind, which then throw on every playhead update.
        if not hasattr(self, "timeline"):
            self.chart = self._new_chart_widget(chart)
            return
        old, self.chart = self.chart, self._new_chart_widget(chart)
        self.timeline.children = [self.chart]
        old.close()

    def _chart(self, frame: pd.DataFrame, links: pd.DataFrame) -> alt.VConcatChart:
        self._label_width = lane_label_width(sorted(frame["lane"].unique()))
        return review_timeline(
            frame, links, self.scheme, duration_ms=self.recording.duration_ms, label_width=self._label_width
        )

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
            onset = int(value[0]["onset_ms"])
            # the player seeks on a bar click itself (SVG marks); seeking again here would jump back
            if abs(self.player.current_ms - onset) > PICK_SLACK_MS:
                self.player.seek(onset)

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
            if not msg.get("local"):  # the player of the same page has seeked already
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
        self._show_now(changed=[int(msg["id"])])
        self._say(f"Saved: {field} of annotation {msg['id']}.")
        self.refresh()

    def _delete(self, msg: dict[str, Any]) -> None:
        before = self.project.annotation(int(msg["id"]))
        self.project.delete_annotation(int(msg["id"]), expected_version=int(msg["version"]))
        self._undo.append(_Undo("delete", before))
        self._show_now(removed=[int(msg["id"])])
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
            self._show_now(changed=[new_id])
            self._say(f"Restored the deleted annotation (now id {new_id}).")
        else:
            current = self.project.annotation(r["id"])
            fields = {k: r[k] for k in ("actor", "code", "onset_ms", "offset_ms", "note")}
            self.project.update_annotation(r["id"], expected_version=current["version"], **fields)
            self._show_now(changed=[r["id"]])
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
            self._show_now(changed=[state_id])
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
        self._show_now(changed=[new_id])
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
        """Keep a browser-playable H.264/AAC copy of this recording in the project and play it.

        The copy is stored as a recording of the same session, labelled ``"<label> (H.264)"`` (so that
        purging the case removes it too). The review goes on showing and coding the original recording
        - its annotations stay with it - and plays the copy; a later review of the original finds the
        copy (:meth:`playback_recording`). Returns the copy (the one already made, if any).
        """
        import tempfile

        from workbench.media import transcode_for_browser

        copy = self.playback_recording()
        if copy.id == self.recording.id:
            src = self.project.media_path(self.recording)
            session = self.project.session(self.recording.session_id)
            if self.project.folder is None:  # no project folder: the copy stays beside the original
                out = transcode_for_browser(src, src.with_name(f"{src.stem}-h264.mp4"))
                copy = self.project.add_recording(session, out, copy=False, label=self._copy_label())
            else:  # made in a scratch folder, then copied into media/ under its checksum
                scratch = self.project.folder / "media"
                scratch.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(prefix=".transcode-", dir=scratch) as tmp:
                    out = transcode_for_browser(src, Path(tmp) / f"{src.stem}-h264.mp4")
                    copy = self.project.add_recording(session, out, label=self._copy_label())
        self._set_source()
        self._say(f"Playing the H.264 copy (recording {copy.id}); annotations stay with recording {self.recording.id}.")
        return copy


def review(project: Project, recording: Recording | int, **kwargs: Any) -> Review:
    """Show a recording's review (see :class:`Review`)."""
    return Review(project, recording, **kwargs)
