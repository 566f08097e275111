"""The review workbench: player, annotation table and timeline in sync, one controller storing every edit.

>>> import workbench                                     # doctest: +SKIP
>>> from workbench.ui import review                      # doctest: +SKIP
>>> review(workbench.open_project("demo-project"), 1)    # doctest: +SKIP

:class:`Review` wires three parts together and holds no logic of its own:

- the widgets (:mod:`workbench.ui.layout`), which render state and send the user's intents as messages;
- the state (:class:`~workbench.ui.state.ReviewState`), which turns an intent into a command for the store
  and the store's answer into new rows and chart data;
- the store (:class:`~workbench.ui.store_io.ReviewStore`), which runs the command: one transaction each.

An edit travels: a message from a widget -> an intent of the state -> a command -> the store -> the stored
record -> the state updates what the edit touches -> :meth:`Review._render` gives the widgets only what
changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import ipywidgets as ipw

from workbench.annotations import AnnotationTable
from workbench.errors import ConflictError, WorkbenchError
from workbench.model import Recording
from workbench.ui import layout
from workbench.ui.derive import Changes
from workbench.ui.playback import Playback
from workbench.ui.state import Command, ReviewState
from workbench.ui.store_io import ReviewStore

if TYPE_CHECKING:
    from workbench.ui.store_io import Project

__all__ = ["Review", "review"]

log = logging.getLogger(__name__)


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

    Attributes
    ----------
    state : ReviewState
        What the review shows and what its user is doing (tests and notebooks may drive it directly).
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
        self.store = ReviewStore(project, recording)
        self.recording = self.store.recording
        self.coder = coder or self.store.coder
        if mode not in (None, "micro", "supervision"):
            raise ValueError(
                f"Invalid value for the 'mode' parameter. Allowed values are 'micro' and 'supervision', "
                f"but got {mode!r} instead."
            )
        self.mode: Literal["micro", "supervision"] = mode or self._mode_for(self.coder)
        self.scheme = self.store.scheme
        self.window_ms = window_ms
        self.tolerance_ms = tolerance_ms
        self.state = ReviewState(self.scheme, recording_id=self.recording.id, coder=self.coder, mode=self.mode,
                                 window_ms=window_ms, tolerance_ms=tolerance_ms)  # fmt: skip
        actors = self.store.actors() or ["parent", "child"]
        parts = layout.build_widgets(self.scheme, duration_ms=self.recording.duration_ms,
                                     frame_times=self.store.frame_times(), actors=actors, mode=self.mode,
                                     tolerance_ms=tolerance_ms)  # fmt: skip
        self.player, self.table, self.notes, self.timeline = parts.player, parts.table, parts.notes, parts.timeline
        self.status, self.key, self.agreement, self.legend = parts.status, parts.key, parts.agreement, parts.legend
        self._playback = Playback(self.store, self.player)
        self._playback.show()
        self.refresh()  # fills the table, the notes and the timeline

        self.player.on_msg(self._on_player_msg)
        self.table.on_msg(self._on_table_msg)
        self.notes.on_msg(self._on_notes_msg)
        self.timeline.on_pick(self._on_pick)
        self.player.observe(self._on_time, "current_ms")
        self.table.observe(self._on_filters, "filters")
        super().__init__(list(parts.children))
        self.add_class("wb-review")

    def _mode_for(self, coder: str) -> Literal["micro", "supervision"]:
        """The mode that follows the coder (see the class docstring)."""
        guider = self.store.guider()
        return "micro" if not guider or coder == guider else "supervision"

    # -- what the user may call ----------------------------------------------------------------------

    def annotations(self) -> AnnotationTable:
        """The annotations shown: this coder's, or every coder's in supervision mode (read from the store)."""
        return self.store.annotations(None if self.mode == "supervision" else self.coder)

    def refresh(self) -> None:
        """Load the annotations, moments and comments from the store again, and redraw everything."""
        self.state.load(self.annotations(), self.store.moments(), self.store.comments())
        self._render()

    def add(self, actor: str, code: str, onset_ms: int, offset_ms: int | None = None, note: str = "") -> int:
        """Add an annotation by the current coder, store it, and redraw; return its id."""
        command = self.state.add(actor, code, onset_ms, offset_ms, note)
        try:
            stored = self.store.run(command)
        except BaseException:
            self.state.failed()
            raise
        self.state.done(stored)
        self._render()
        return int(stored.id)

    def playback_recording(self) -> Recording:
        """The recording the player plays: this one, or the browser-playable copy :meth:`transcode` made
        of it (a recording of the same session labelled ``"<label> (H.264)"``)."""
        return self._playback.recording()

    def transcode(self) -> Recording:
        """Keep a browser-playable H.264/AAC copy of this recording in the project and play it.

        The copy is stored as a recording of the same session, labelled ``"<label> (H.264)"`` (so that
        purging the case removes it too). The review goes on showing and coding the original recording
        - its annotations stay with it - and plays the copy; a later review of the original finds the
        copy (:meth:`playback_recording`). Returns the copy (the one already made, if any).
        """
        copy = self._playback.transcode()
        self.state.say(f"Playing the H.264 copy (recording {copy.id}); annotations stay with recording "
                       f"{self.recording.id}.")  # fmt: skip
        self._render()
        return copy

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
        from workbench.ui.synchrony import synchrony_section

        section, figure = synchrony_section(self.store, self.player, rois, lag_s=lag_s, window_s=window_s,
                                            increment_s=increment_s, threshold=threshold,
                                            on_pick=self._on_pick)  # fmt: skip
        self.children = (*self.children, section)
        return figure

    # -- messages from the widgets: intents of the state -------------------------------------------------

    def _on_player_msg(self, _widget: Any, msg: dict[str, Any], _buffers: Any) -> None:
        kind = msg.get("type")
        if kind == "key" and msg.get("phase") == "up":
            # when the key went down, by the browser's clock (Python's clock would add the time spent storing)
            at = float(msg["down_wall_ms"]) / 1000 if "down_wall_ms" in msg else time.monotonic()
            self._do(lambda: self.state.key_up(str(msg["key"]), onset_ms=int(msg["onset_ms"]),
                                               up_ms=int(msg["time_ms"]), at_s=at,
                                               actor=str(msg.get("actor") or self.player.actor)))  # fmt: skip
        elif kind == "mark":
            self._do(lambda: self.state.mark(str(msg.get("which")), int(msg["time_ms"])))
        elif kind == "still":
            self._do(lambda: self.state.still(int(msg["time_ms"]), str(msg.get("caption", ""))))
        elif kind == "comment":
            self._do(lambda: self.state.comment(int(msg["time_ms"]), str(msg["text"]),
                                                str(msg.get("status", "discuss"))))  # fmt: skip

    def _on_table_msg(self, _widget: Any, msg: dict[str, Any], _buffers: Any) -> None:
        kind = msg.get("type")
        if kind == "seek":  # the player of the same page has seeked already when "local"
            self._do(lambda: self.state.seek(int(msg["ms"]), local=bool(msg.get("local")), kind="annotation",
                                             id=msg.get("id")))  # fmt: skip
        elif kind == "edit":
            self._do(lambda: self.state.edit(int(msg["id"]), int(msg["version"]), str(msg["field"]), msg["value"]))
        elif kind == "delete":
            self._do(lambda: self.state.delete(int(msg["id"]), int(msg["version"])))
        elif kind == "undo":
            self._do(self.state.undo)
        elif kind == "redo":
            self._do(self.state.redo)

    def _on_notes_msg(self, _widget: Any, msg: dict[str, Any], _buffers: Any) -> None:
        kind = msg.get("type")
        if kind == "seek":
            self._do(lambda: self.state.seek(int(msg["ms"]), local=bool(msg.get("local")), kind=msg.get("kind"),
                                             id=msg.get("id")))  # fmt: skip
        elif kind == "edit-moment":
            self._do(lambda: self.state.edit_moment(int(msg["id"]), int(msg["version"]), str(msg["field"]),
                                                    msg["value"]))  # fmt: skip
        elif kind == "loop-moment":
            self._do(lambda: self.state.loop_moment(int(msg["id"])))

    def _on_pick(self, id: Any, ms: int, kind: Any, local: bool) -> None:
        # the player of the same page has seeked already (a wb-seek event); seeking again here would jump back
        self._do(lambda: self.state.pick(id, ms, kind, local))

    def _on_time(self, change: dict[str, Any]) -> None:
        t = int(change["new"])
        self.state.set_time(t)
        self.table.current_ms = t
        self.timeline.playhead_ms = t

    def _on_filters(self, change: dict[str, Any]) -> None:
        self._do(lambda: self.state.set_filters(change["new"], echo=False))

    def _do(self, intent: Callable[[], Command | None]) -> None:
        """Take an intent; run the command it gives on the store, and hand the result back; show what changed."""
        try:
            command = intent()
            if command is not None:
                self.state.done(self.store.run(command))
        except ConflictError as exc:
            self.state.failed()
            self.refresh()
            self.state.say(f"{exc} The table has been reloaded.", error=True)
        except (WorkbenchError, ValueError, KeyError) as exc:
            self.state.failed()
            self.state.say(str(exc), error=True)
        except BaseException:
            self.state.failed()
            raise
        self._render()

    # -- the state, rendered ---------------------------------------------------------------------------------

    def _render(self) -> None:
        """Give the widgets what changed in the state (everything after a load)."""
        changes = self.state.take_changes()
        if not changes:
            return
        state = self.state
        with self.table.hold_sync(), self.timeline.hold_sync():
            if changes.full:
                self.table.rows = state.table_rows()
                self.timeline.datasets = {name: list(rows.values()) for name, rows in state.data.datasets.items()}
            else:
                if changes.rows:
                    self.table.update_rows([r for r in changes.rows.values() if r is not None],
                                           [i for i, r in changes.rows.items() if r is None])  # fmt: skip
                for name, part in changes.datasets.items():
                    if part:
                        self.timeline.update_dataset(name, upsert=[r for r in part.values() if r is not None],
                                                     remove=[k for k, r in part.items() if r is None])  # fmt: skip
            if changes.notes:
                self.notes.moments = state.notes_panel["moments"]
                self.notes.comments = state.notes_panel["comments"]
                self.timeline.datasets = state.notes_timeline
            if changes.shape:
                spec, chrome = layout.timeline_spec(state.data.lanes, state.data.categories, self.scheme,
                                                    self.recording.duration_ms)  # fmt: skip
                self.timeline.chrome_px = chrome
                self.timeline.spec = spec
            if changes.selection:
                self.table.selected = state.selected or 0
            if changes.filters:
                self.table.filters = dict(state.filters)
        if changes.agreement:
            self.agreement.value = layout.agreement_html(state.data.agreement, self.scheme, self.tolerance_ms)
        if changes.status:
            self.status.value = layout.status_html(*state.status)
        self._play(changes)

    def _play(self, changes: Changes) -> None:
        """The player's and the notes panel's part of what changed."""
        if changes.loop_ms is not None:
            self.player.loop_start_ms, self.player.loop_end_ms = changes.loop_ms
        if changes.looping is not None:
            self.player.looping = changes.looping
        if changes.seek_ms is not None:
            self.player.seek(changes.seek_ms)
        if changes.playing is not None:
            self.player.playing = changes.playing
        if changes.notes_tab is not None:
            self.notes.show = changes.notes_tab


def review(project: Project, recording: Recording | int, **kwargs: Any) -> Review:
    """Show a recording's review (see :class:`Review`)."""
    return Review(project, recording, **kwargs)
