"""The review workbench: player, annotation table and timeline in sync, one controller storing every edit.

>>> import workbench                                     # doctest: +SKIP
>>> from workbench.ui import review                      # doctest: +SKIP
>>> review(workbench.open_project("demo-project"), 1)    # doctest: +SKIP
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ipywidgets as ipw
import pandas as pd

from workbench import charts
from workbench.analysis.agreement import UNMATCHED, match_events, per_code_agreement
from workbench.analysis.contingency import contingencies
from workbench.annotations import AnnotationTable
from workbench.charts import (
    NOT_IN_SCHEME,
    NOT_IN_SCHEME_COLOUR,
    contingency_links,
    lane_label_width,
    notes_datasets,
    review_categories,
    review_timeline,
    timeline_datasets,
    timeline_frame,
)
from workbench.errors import ConflictError, WorkbenchError
from workbench.model import Recording
from workbench.project import Project
from workbench.ui.server import MEDIA_ROUTE, register_media
from workbench.ui.widgets import AnnotationGrid, LiveChart, NotesPanel, VideoPlayer, records

__all__ = ["Review", "review"]

log = logging.getLogger(__name__)

HOLD_MS = 400  # a key held longer than this makes a state event from key-down to key-up
DOUBLE_TAP_S = 0.35  # two taps of a key within this many seconds open a state event


@dataclass(frozen=True, slots=True)
class _Undo:
    kind: Literal["delete", "edit"]
    row: dict[str, Any]


#: A click on a timeline mark seeks from Python only when the video is further than this from the mark's time
#: (the player has usually seeked already, in the browser).
PICK_SLACK_MS = 250


def _swatch(svg: str, text: str, title: str = "") -> str:
    """One entry of the timeline's key: a small SVG drawing and its words."""
    tip = f' title="{html.escape(title)}"' if title else ""
    return (
        f'<span class="wb-key-item"{tip}><svg width="26" height="14" aria-hidden="true">{svg}</svg>'
        f"{html.escape(text, quote=False)}</span>"
    )


class Review(ipw.VBox):
    """A recording's review: video, annotation table, notes, timeline and keys; edits stored at once.

    Parameters
    ----------
    project : Project
        The open project; every edit goes through it (one transaction each).
    recording : Recording or int
        The recording to review.
    coder : str, optional
        Who is coding now (default: the project's coder).
    mode : {"micro", "supervision"}, optional
        ``"micro"``: this coder's own coding only. ``"supervision"``: every coder's lanes side by
        side, where two coders disagree marked, and per-code agreement. By default the mode follows
        the coder: the case's guider (the trainee whose work it is) and anyone on a case without a
        guider get ``"micro"`` - nobody sees another's coding unless asked - and anyone else
        (a supervisor) gets ``"supervision"``.
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
        mode: Literal["micro", "supervision"] | None = None,
        window_ms: tuple[int, int] = (0, 3000),
        tolerance_ms: int = 1000,
    ) -> None:
        self.project = project
        self.recording = project.recording(recording)
        self.coder = coder or project.coder
        if mode not in (None, "micro", "supervision"):
            raise ValueError(
                f"Invalid value for the 'mode' parameter. Allowed values are 'micro' and 'supervision', "
                f"but got {mode!r} instead."
            )
        self.mode: Literal["micro", "supervision"] = mode or self._mode_for(self.coder)
        self.scheme = project.scheme
        self._category_labels = {k.key: k.label for k in self.scheme.categories}
        self.window_ms = window_ms
        self.tolerance_ms = tolerance_ms
        self.agreement = ipw.HTML()
        self._undo: list[_Undo] = []
        self._mark_in: int | None = None
        self._last_tap: dict[str, tuple[float, int]] = {}
        self._open_states: dict[str, int] = {}
        self._shape: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # the timeline spec's lanes and categories
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
            mode=self.mode,
            layout=ipw.Layout(width="100%"),
        )
        self.notes = NotesPanel(layout=ipw.Layout(width="100%"))
        self.timeline = LiveChart(hook="timeline", layout=ipw.Layout(width="100%"))
        self.status = ipw.HTML()
        self.refresh()  # fills the table, the notes and the timeline
        self.key = ipw.HTML(self._key_html())
        self.legend = ipw.HTML(self._legend_html())

        self.player.on_msg(self._on_player_msg)
        self.table.on_msg(self._on_table_msg)
        self.notes.on_msg(self._on_notes_msg)
        self.timeline.on_pick(self._on_pick)
        self.player.observe(self._on_time, "current_ms")

        # the video with the comments and moments under it, the table beside; one column in a narrow output
        left = ipw.VBox([self.player, self.notes], layout=ipw.Layout(flex="1 1 340px", min_width="0"))
        right = ipw.Box([self.table], layout=ipw.Layout(flex="1.4 1 480px", min_width="0"))
        top = ipw.HBox([left, right], layout=ipw.Layout(width="100%", flex_flow="row wrap"))
        super().__init__([top, self.status, self.timeline, self.key, self.agreement, self.legend])
        self.add_class("wb-review")

    # -- set-up ------------------------------------------------------------------------

    def _case_id(self) -> int:
        return self.project.session(self.recording.session_id).case_id

    def _mode_for(self, coder: str) -> Literal["micro", "supervision"]:
        """The mode that follows the coder (see the class docstring)."""
        guider = self.project.case(self._case_id()).guider.strip()
        return "micro" if not guider or coder == guider else "supervision"

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
            '<details class="wb-legend-box" data-wb="legend" open><summary><b>Coding keys</b>: click anywhere in '
            "the review, then tap a key for a point event, hold it (or double-tap, then tap again) for a state "
            "event; space plays/pauses, , and . step one frame, [ and ] mark a moment</summary>"
            f'<div class="wb-legend">{"".join(groups)}</div></details>'
        )

    def _key_html(self) -> str:
        """The timeline's key: every colour, dash and shape it draws, and what each means."""
        principles = "".join(
            _swatch(f'<rect x="3" y="3" width="20" height="8" rx="2" fill="{c.colour}"/>', c.label)
            for c in self.scheme.categories
        )
        o = charts.OUTCOME_COLOURS
        dash = {k: " ".join(map(str, v)) for k, v in charts.LINK_DASHES.items()}
        line = '<line x1="2" y1="7" x2="24" y2="7" stroke="{}" stroke-width="2.5" stroke-dasharray="{}"/>'
        contingency = "".join(
            [
                _swatch(line.format(o["attuned"], dash["attuned"]), "attuned (received and answered)",
                        "an initiative received and answered within the window"),
                _swatch(line.format(o["received"], dash["received"]), "received only",
                        "an initiative noticed but not answered within the window"),
                _swatch(line.format(o["discordant"], dash["discordant"]), "discordant",
                        "an initiative overridden or answered with a discordant response"),
                _swatch(f'<path d="M8 2 L18 12 M18 2 L8 12" stroke="{o["missed"]}" stroke-width="2.5"/>',
                        "missed initiative", "an initiative nobody received within the window"),
            ]
        )  # fmt: skip
        marks = [
            _swatch(f'<line x1="13" y1="0" x2="13" y2="14" stroke="{charts.PLAYHEAD_COLOUR}" stroke-width="2"/>',
                    "video time"),
            _swatch(f'<rect x="1" y="1" width="24" height="12" fill="{charts.MOMENT_COLOUR}" opacity="0.4"/>',
                    "moment"),
            _swatch(f'<path d="M8 2 L18 2 L13 11 Z" fill="{charts.COMMENT_COLOUR}"/>', "comment"),
        ]  # fmt: skip
        if self.mode == "supervision":
            dashes = " ".join(map(str, charts.DISAGREE_DASH))
            marks.append(
                _swatch(
                    f'<rect x="3" y="3" width="20" height="8" fill="#bbb" stroke="{charts.DISAGREE_COLOUR}" '
                    f'stroke-width="2" stroke-dasharray="{dashes}"/>',
                    "the coders disagree",
                    f"another code, or nothing by the other coder within {self.tolerance_ms} ms (≠ in the table)",
                )
            )
        return (
            f'<div class="wb-key" data-wb="timeline-key"><span class="wb-key-title">Principles</span>{principles}</div>'
            f'<div class="wb-key"><span class="wb-key-title">Initiatives</span>{contingency}'
            f'<span class="wb-key-title">Marks</span>{"".join(marks)}</div>'
        )

    # -- data --------------------------------------------------------------------------

    def annotations(self) -> AnnotationTable:
        """The annotations shown: this coder's, or every coder's in supervision mode."""
        coder = None if self.mode == "supervision" else self.coder
        return self.project.annotations(self.recording, coder=coder)

    def lanes(self, frame: pd.DataFrame) -> list[str]:
        """The timeline's lanes, top to bottom: the reviewing coder's first, each coder's lanes together
        (so that a coder's contingency links never cross another coder's lanes), actors by name."""
        if frame.empty:
            return []
        pairs = frame[["lane", "coder", "actor"]].drop_duplicates()
        order = sorted(pairs.itertuples(index=False), key=lambda r: (r.coder != self.coder, r.coder, r.actor))
        return list(dict.fromkeys(r.lane for r in order))

    def refresh(self) -> None:
        """Reload rows from the store, recompute contingencies and agreement, redraw table, notes and timeline."""
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
        self._draw_timeline(frame, contingency_links(found, frame))

    def _notes_frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The recording's moments and comments, as the notes panel and the timeline show them."""
        moments = pd.DataFrame(
            [
                {"id": m.id, "version": m.version, "onset_ms": m.onset_ms, "offset_ms": m.offset_ms,
                 "title": m.title, "reason": m.reason}
                for m in self.project.moments(self.recording)
            ],
            columns=["id", "version", "onset_ms", "offset_ms", "title", "reason"],
        )  # fmt: skip
        comments = pd.DataFrame(
            [
                {"id": c.id, "time_ms": c.time_ms, "author": c.author, "status": str(c.status), "text": c.text}
                for c in self.project.comments(self.recording)
            ],
            columns=["id", "time_ms", "author", "status", "text"],
        )
        self.notes.moments = records(moments)
        self.notes.comments = records(comments)
        return moments, comments

    def _draw_timeline(self, frame: pd.DataFrame, links: pd.DataFrame) -> None:
        """Give the timeline its rows; draw it anew only when its lanes or categories changed."""
        data = {**timeline_datasets(frame, links), **notes_datasets(*self._notes_frames())}
        lanes = tuple(self.lanes(frame))
        categories = review_categories(frame, self.scheme)
        datasets = {name: records(df) for name, df in data.items()}
        for row in datasets["bars"]:  # a tooltip shows no "note" line for a row without one
            if not row.get("note"):
                row.pop("note", None)
        with self.timeline.hold_sync():
            self.timeline.datasets = datasets
            if (lanes, categories) != self._shape:
                width = lane_label_width(lanes)
                spec = review_timeline(
                    lanes, categories, self.scheme, duration_ms=self.recording.duration_ms, label_width=width
                )
                self.timeline.chrome_px = width + 12
                self.timeline.spec = spec.to_dict()
                self._shape = (lanes, categories)

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

    def _code_label(self, code: str) -> str:
        return self.scheme.code(code).label if code in self.scheme else code

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
            f'<tr><td title="{html.escape(r.code)}">{html.escape(self._code_label(r.code))}</td><td>{r.n_a}</td>'
            f"<td>{r.n_b}</td><td>{r.agreement:.0%}</td></tr>"
            for r in per_code.itertuples()
            if r.code != UNMATCHED
        )
        ea, eb = html.escape(a), html.escape(b)
        self.agreement.value = (
            f'<details data-wb="agreement"><summary>Agreement {ea} vs {eb}: {agree} of {len(matched)} events agree '
            f"(onset within {self.tolerance_ms} ms, same actor and code); per code</summary>"
            f'<table class="wb-agreement"><tr><th>code</th><th>{ea}</th><th>{eb}</th><th>agreement</th></tr>'
            f"{rows}</table></details>"
        )
        return {int(i) for i in pd.concat([bad["id_a"], bad["id_b"]]).dropna()}

    # -- events ------------------------------------------------------------------------

    def _say(self, text: str, error: bool = False) -> None:
        """Show a line under the review (plain text: titles and messages are escaped)."""
        colour = "#a33" if error else "#555"
        self.status.value = f'<span data-wb="status" style="color:{colour}">{html.escape(text, quote=False)}</span>'

    def _on_time(self, change: dict[str, Any]) -> None:
        t = int(change["new"])
        self.table.current_ms = t
        self.timeline.playhead_ms = t

    def _on_pick(self, _id: Any, ms: int, _kind: Any, local: bool) -> None:
        # the player of the same page has seeked already (a wb-seek event); seeking again here would jump back
        if not local or abs(self.player.current_ms - ms) > PICK_SLACK_MS:
            self.player.seek(ms)

    def _on_notes_msg(self, _widget: Any, msg: dict[str, Any], _buffers: Any) -> None:
        kind = msg.get("type")
        if kind == "seek":
            if not msg.get("local"):
                self.player.seek(int(msg["ms"]))
        elif kind == "edit-moment":
            self._guard(self._edit_moment, msg)
        elif kind == "loop-moment":
            self._guard(self._loop_moment, msg)

    def _edit_moment(self, msg: dict[str, Any]) -> None:
        field = str(msg["field"])
        if field not in ("title", "reason"):
            raise ValueError(f"Expected a moment's title or reason, but got {field!r}.")
        moment = self.project.update_moment(int(msg["id"]), expected_version=int(msg["version"]),
                                            **{field: str(msg["value"])})  # fmt: skip
        self._refresh_notes()
        self._say(f"Saved the {field} of moment {moment.id}.")

    def _loop_moment(self, msg: dict[str, Any]) -> None:
        moment = self.project.moment(int(msg["id"]))
        self.player.loop_start_ms, self.player.loop_end_ms = moment.onset_ms, moment.offset_ms
        self.player.looping = True
        self.player.seek(moment.onset_ms)
        self.player.playing = True
        self._say(f"Looping moment {moment.id} ({moment.title}); ⟲ under the video stops it.")

    def _refresh_notes(self) -> None:
        """Show the moments and comments again (the lists and the timeline), without touching annotations."""
        data = notes_datasets(*self._notes_frames())
        self.timeline.datasets = {
            **self.timeline.datasets,
            **{name: records(df) for name, df in data.items()},
        }

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
        moment = self.project.add_moment(self.recording, self._mark_in, t, f"Moment at {charts.clock(self._mark_in)}")
        self.player.loop_start_ms, self.player.loop_end_ms = moment.onset_ms, moment.offset_ms
        self._mark_in = None
        self._refresh_notes()
        self.notes.show = "moments"
        self._say(f"Stored moment {moment.id} ({moment.onset_ms}-{moment.offset_ms} ms): give it a title and a reason "
                  "in the Moments list; ⟲ loops it.")  # fmt: skip

    def _still(self, msg: dict[str, Any]) -> None:
        still = self.project.add_still(self.recording, int(msg["time_ms"]), caption=str(msg.get("caption", "")))
        self._say(f"Stored still {still.id} at {still.time_ms} ms.")

    def _comment(self, msg: dict[str, Any]) -> None:
        comment = self.project.add_comment(
            self.recording, int(msg["time_ms"]), self.coder, str(msg["text"]), status=str(msg.get("status", "discuss"))
        )
        self._refresh_notes()
        self.notes.show = "comments"
        self._say(f"Stored comment {comment.id} at {charts.clock(comment.time_ms)} ({comment.status}).")

    def synchrony(
        self,
        rois: Mapping[str, Any],
        *,
        lag_s: float = 2.0,
        window_s: float = 10.0,
        increment_s: float = 2.0,
        threshold: int = 10,
    ) -> Any:
        """Add synchrony views linked to the video's time: a heatmap and a 3D landscape (window x lag x value).

        Motion energy is computed from the recording for two regions of interest
        (``{"parent": (x, y, w, h), "child": (...)}``, displayed-frame pixels),
        then rMEA's windowed lagged cross-correlation. A marker on the surface
        follows the playhead: the window holding the current time, at the lag of
        its strongest synchrony.

        A heatmap of the same table (time across, lag up) is shown beside it; both follow the video, and
        a click on the heatmap seeks to the window's start.

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
        heatmap = LiveChart(
            hook="synchrony",
            spec=charts.synchrony_heatmap(
                n1, n2, duration_ms=self.recording.duration_ms, lag_s=float(lags.max())
            ).to_dict(),
            datasets={"ccf": records(charts.synchrony_rows(table))},
            playhead_ms=self.player.current_ms,
            chrome_px=110,
            layout=ipw.Layout(flex="2 1 480px", min_width="0"),
        )
        heatmap.on_pick(self._on_pick)
        self.player.observe(lambda change: setattr(heatmap, "playhead_ms", int(change["new"])), "current_ms")
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
        self.children = (*self.children, section)
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
