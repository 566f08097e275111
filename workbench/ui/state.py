"""The review's state: what it shows and what its user is doing, without widgets and without a store.

:class:`ReviewState` takes the user's *intents* (a key released, a cell edited, undo, a moment marked, a row
clicked, a filter chosen) and the store's *results*, and holds what the widgets render: the rows and the chart
data (in :class:`~workbench.ui.derive.ReviewData`), the notes, the selection and filters, the status line. An
intent that changes stored data returns a *command* (:class:`AddAnnotation`, :class:`UpdateAnnotation`, ...);
whoever holds the store runs it and hands the result to :meth:`ReviewState.done` (or calls
:meth:`ReviewState.failed`). What changed since the widgets were last drawn is collected in a
:class:`~workbench.ui.derive.Changes` (:meth:`ReviewState.take_changes`).

>>> from workbench import default_scheme
>>> state = ReviewState(default_scheme(), recording_id=1, coder="anna", mode="micro")
>>> state.key_up("1", onset_ms=1200, up_ms=1230, actor="child", at_s=10.0)
AddAnnotation(actor='child', code='initiative-verbal', onset_ms=1200, offset_ms=None, coder='anna', note='')

The key-coding state machine: a tap (key down to up within :data:`HOLD_MS`) adds a point event; a longer
hold adds a state event from key-down to key-up; two taps of a key within :data:`DOUBLE_TAP_S` open a state
event at the first tap, which the next tap of that key closes. Undo and redo walk the table's edits and
deletes (a key press is not undone: delete its row).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.annotations import AnnotationTable
from workbench.charts import clock
from workbench.scheme import CodingScheme
from workbench.ui.derive import Changes, Mode, ReviewData
from workbench.ui.rows import AnnotationLike, notes_rows

__all__ = [
    "DOUBLE_TAP_S",
    "EDITABLE",
    "FILTERS",
    "HOLD_MS",
    "AddAnnotation",
    "AddComment",
    "AddMoment",
    "AddStill",
    "Command",
    "DeleteAnnotation",
    "ReviewState",
    "UpdateAnnotation",
    "UpdateMoment",
]

HOLD_MS = 400  # a key held longer than this makes a state event from key-down to key-up
DOUBLE_TAP_S = 0.35  # two taps of a key within this many seconds open a state event
#: The fields of an annotation the table edits.
EDITABLE = ("code", "actor", "onset_ms", "offset_ms", "note")
#: The table's filters: a row is shown when each given field has the chosen value.
FILTERS = ("actor", "code", "category", "coder")


# -- commands: what the store is asked to do -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddAnnotation:
    """Store a new annotation of the review's recording (result: the stored annotation)."""

    actor: str
    code: str
    onset_ms: int
    offset_ms: int | None
    coder: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class UpdateAnnotation:
    """Change fields of an annotation, refused if its version is no longer ``expected_version``."""

    id: int
    expected_version: int | None
    changes: Mapping[str, Any] = field(hash=False)


@dataclass(frozen=True, slots=True)
class DeleteAnnotation:
    """Delete an annotation, refused if its version is no longer ``expected_version`` (result: None)."""

    id: int
    expected_version: int | None


@dataclass(frozen=True, slots=True)
class AddMoment:
    """Store a moment of the review's recording (result: the moment)."""

    onset_ms: int
    offset_ms: int
    title: str


@dataclass(frozen=True, slots=True)
class UpdateMoment:
    """Change a moment's title or reason (result: the moment)."""

    id: int
    expected_version: int
    changes: Mapping[str, Any] = field(hash=False)


@dataclass(frozen=True, slots=True)
class AddStill:
    """Store the frame at ``time_ms`` as a still (result: the still)."""

    time_ms: int
    caption: str


@dataclass(frozen=True, slots=True)
class AddComment:
    """Store a comment at ``time_ms`` (result: the comment)."""

    time_ms: int
    author: str
    text: str
    status: str


Command = AddAnnotation | UpdateAnnotation | DeleteAnnotation | AddMoment | UpdateMoment | AddStill | AddComment


@dataclass(frozen=True, slots=True)
class _Step:
    """An undo (or redo) step: the store has ``current`` (None: nothing) and the step makes it ``target``."""

    current: AnnotationLike | None
    target: AnnotationLike | None


class ReviewState:
    """The state of one recording's review (see the module docstring).

    Parameters
    ----------
    scheme : CodingScheme
        The project's scheme (shortcut keys, names and kinds of the codes).
    recording_id : int
        The recording reviewed.
    coder : str
        Who codes: new annotations are theirs.
    mode : {"micro", "supervision"}
        ``"micro"``: this coder's annotations only; ``"supervision"``: every coder's, with their agreement.
    window_ms : (int, int)
        Contingency window after an initiative's onset.
    tolerance_ms : int
        Onset tolerance for matching two coders' events.
    """

    def __init__(
        self,
        scheme: CodingScheme,
        *,
        recording_id: int,
        coder: str,
        mode: Mode,
        window_ms: tuple[int, int] = (0, 3000),
        tolerance_ms: int = 1000,
    ) -> None:
        if mode not in ("micro", "supervision"):
            raise ValueError(
                f"Invalid value for the 'mode' parameter. Allowed values are 'micro' and 'supervision', "
                f"but got {mode!r} instead."
            )
        self.scheme = scheme
        self.coder = coder
        self.mode: Mode = mode
        self.data = ReviewData(scheme, recording_id=recording_id, coder=coder, mode=mode, window_ms=window_ms,
                               tolerance_ms=tolerance_ms)  # fmt: skip
        self._shortcuts = scheme.shortcuts()
        self.status: tuple[str, bool] = ("", False)  # the line under the review, and whether it is an error
        self.time_ms = 0  # where the video is, as last heard from the browser
        self.selected: int | None = None
        self.filters: dict[str, str] = {}
        self.moments: dict[int, Any] = {}
        self.comments: dict[int, Any] = {}
        self.notes_panel: dict[str, list[dict[str, Any]]] = {"moments": [], "comments": []}
        self.notes_timeline: dict[str, list[dict[str, Any]]] = {"moments": [], "comments": []}
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._alias: dict[int, int] = {}  # a deleted annotation's id -> the id it was restored under
        self._mark_in: int | None = None
        self._last_tap: dict[str, tuple[float, int]] = {}
        self._open_states: dict[str, int] = {}
        self._pending: tuple[Command, Callable[[Any], None]] | None = None
        self._changes = Changes()

    # -- loading and rendering ---------------------------------------------------------------------------

    def load(self, annotations: AnnotationTable, moments: list[Any], comments: list[Any]) -> None:
        """Show what the store holds now: the annotations (with versions), moments and comments."""
        self.data.load(annotations, self._changes)
        self._set_notes(moments, comments)

    def take_changes(self) -> Changes:
        """What changed since the last call (what the widgets must be given), and start collecting anew."""
        changes, self._changes = self._changes, Changes()
        return changes

    def table_rows(self) -> list[dict[str, Any]]:
        """The table's rows in the order of an :class:`~workbench.annotations.AnnotationTable`."""
        return sorted(self.data.rows.values(), key=_table_order)

    def shown_rows(self) -> list[dict[str, Any]]:
        """The table's rows that pass its filters."""
        return [r for r in self.table_rows() if all(r[k] == v for k, v in self.filters.items())]

    def say(self, text: str, error: bool = False) -> None:
        """Put a line under the review."""
        self.status = (text, error)
        self._changes.status = True

    # -- time, selection, filters ----------------------------------------------------------------------------

    def set_time(self, time_ms: int) -> None:
        """The video is at ``time_ms``."""
        self.time_ms = int(time_ms)

    def seek(self, time_ms: int, *, local: bool, kind: str | None = None, id: int | None = None) -> None:
        """A row, a comment or a moment was clicked: select it; seek unless the browser has (``local``)."""
        self._select(kind, id)
        if not local:
            self._changes.seek_ms = int(time_ms)

    def pick(self, id: Any, time_ms: int, kind: Any, local: bool) -> None:
        """A mark of a chart was clicked: select it; seek unless the browser has (``local``), as :meth:`seek`.

        Not "unless the video is already there": the browser tells of its seek (``current_ms``) after the pick,
        so :attr:`time_ms` is the time before the click, and a seek sent from here would land late, taking the
        video back to the mark after the user had gone on (clicked a row, stepped a frame).
        """
        self.seek(time_ms, local=local, kind=kind, id=id)

    def _select(self, kind: Any, id: Any) -> None:
        chosen = int(id) if kind in (None, "annotation") and isinstance(id, int | float) else None
        if chosen is not None and chosen in self.data.rows and chosen != self.selected:
            self.selected = chosen
            self._changes.selection = True

    def set_filters(self, filters: Mapping[str, Any], *, echo: bool = True) -> None:
        """Show only the rows whose fields have these values (an empty value: any); ``echo``: tell the table."""
        unknown = sorted(set(filters) - set(FILTERS))
        if unknown:
            raise ValueError(f"Expected filters of {', '.join(FILTERS)}, but got {', '.join(map(repr, unknown))}.")
        wanted = {k: str(v) for k, v in filters.items() if v not in (None, "")}
        if wanted != self.filters:
            self.filters = wanted
            self._changes.filters = echo

    # -- keys ----------------------------------------------------------------------------------------

    def key_up(self, key: str, *, onset_ms: int, up_ms: int, actor: str, at_s: float) -> Command | None:
        """A coding key was released; it went down at video time ``onset_ms`` and wall time ``at_s`` (s)."""
        code = self._shortcuts.get(key)
        if code is None:
            return None
        onset, up = int(onset_ms), int(up_ms)
        if up - onset > HOLD_MS:
            return self._ask(
                AddAnnotation(actor, code, onset, up, self.coder),
                lambda a: self.say(f"Added {code} for {actor}, {onset}-{up} ms (state), id {a.id}."),
            )
        if key in self._open_states:
            state_id = self._resolve(self._open_states.pop(key))
            row = self.data.annotations.get(state_id)
            if row is None:
                raise ValueError(f"Expected the open {code} state (annotation {state_id}), but it is gone.")
            end = max(onset, row.onset_ms)
            return self._ask(
                UpdateAnnotation(state_id, row.version, {"offset_ms": end}),
                lambda a: self.say(f"Closed {code} for {row.actor}: {row.onset_ms}-{end} ms."),
            )
        last = self._last_tap.get(key)
        if last is not None and at_s - last[0] <= DOUBLE_TAP_S:
            self._open_states[key] = last[1]
            self._last_tap.pop(key)
            self.say(f"Started a {code} state at the first tap; press {key} again to end it.")
            return None

        def tapped(a: AnnotationLike) -> None:
            self._last_tap[key] = (at_s, a.id)
            self.say(f"Added {code} for {actor} at {onset} ms (point), id {a.id}.")

        return self._ask(AddAnnotation(actor, code, onset, None, self.coder), tapped)

    def add(self, actor: str, code: str, onset_ms: int, offset_ms: int | None = None, note: str = "") -> Command:
        """Add an annotation by the review's coder."""
        return self._ask(AddAnnotation(actor, code, int(onset_ms), offset_ms, self.coder, note), lambda a: None)

    # -- the table: edit, delete, undo, redo ---------------------------------------------------------------

    def edit(self, id: int, version: int, field: str, value: Any) -> Command:
        """A cell was edited (``version``: the row's, as shown)."""
        if field not in EDITABLE:
            raise ValueError(f"Expected an editable field ({', '.join(EDITABLE)}), but got {field!r}.")
        before = self._shown(id)

        def saved(a: AnnotationLike) -> None:
            self._did(_Step(a, before))
            self.say(f"Saved: {field} of annotation {id}.")

        return self._ask(UpdateAnnotation(int(id), int(version), {field: value}), saved)

    def delete(self, id: int, version: int) -> Command:
        """A row's delete button was pressed."""
        before = self._shown(id)

        def deleted(_: None) -> None:
            self._did(_Step(None, before))
            self.say(f"Deleted annotation {id} (undo brings it back).")

        return self._ask(DeleteAnnotation(int(id), int(version)), deleted)

    def undo(self) -> Command | None:
        """Undo the last edit or delete of the table (None: nothing to undo)."""
        return self._walk(self._undo, self._redo, "undo")

    def redo(self) -> Command | None:
        """Redo the last undone edit or delete (None: nothing to redo)."""
        return self._walk(self._redo, self._undo, "redo")

    @property
    def can_undo(self) -> bool:
        """Whether there is an edit or delete to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone step to redo."""
        return bool(self._redo)

    def _did(self, step: _Step) -> None:
        self._undo.append(step)
        self._redo.clear()

    def _walk(self, stack: list[_Step], other: list[_Step], verb: str) -> Command | None:
        if not stack:
            self.say(f"Nothing to {verb}.")
            return None
        step = stack.pop()
        current = step.current
        if current is not None:  # its latest version, under its latest id
            current = self.data.annotations.get(self._resolve(current.id), current)
        target = step.target

        def walked(result: AnnotationLike | None) -> None:
            if target is not None and result is not None and result.id != target.id:
                self._alias[target.id] = result.id
            other.append(_Step(result, current))
            if target is None:
                self.say(f"Deleted annotation {current.id} again (undo brings it back).")
            elif current is None:
                self.say(f"Restored the deleted annotation (now id {result.id}).")
            else:
                self.say(f"{'Undid' if verb == 'undo' else 'Redid'} the edit of annotation {current.id}.")

        if target is None:
            assert current is not None
            return self._ask(DeleteAnnotation(current.id, current.version), walked)
        fields = {k: getattr(target, k) for k in ("actor", "code", "onset_ms", "offset_ms", "note")}
        if current is None:
            return self._ask(AddAnnotation(coder=target.coder, **fields), walked)
        return self._ask(UpdateAnnotation(current.id, current.version, fields), walked)

    # -- moments, stills, comments ----------------------------------------------------------------------

    def mark(self, which: str, time_ms: int) -> Command | None:
        """``[`` (``which="in"``) or ``]`` (``"out"``) was pressed: a moment starts, or ends and is stored."""
        t = int(time_ms)
        if which == "in":
            self._mark_in = t
            self.say(f"Moment starts at {t} ms; press ] to end it.")
            return None
        if self._mark_in is None or t <= self._mark_in:
            self.say("Press [ at the start of the moment first, then ] after it.", error=True)
            return None

        def stored(moment: Any) -> None:
            self._mark_in = None
            self._set_notes([*self.moments.values(), moment], None)
            self._changes.loop_ms = (moment.onset_ms, moment.offset_ms)
            self._changes.notes_tab = "moments"
            self.say(f"Stored moment {moment.id} ({moment.onset_ms}-{moment.offset_ms} ms): give it a title and a "
                     "reason in the Moments list; ⟲ loops it.")  # fmt: skip

        return self._ask(AddMoment(self._mark_in, t, f"Moment at {clock(self._mark_in)}"), stored)

    def edit_moment(self, id: int, version: int, field: str, value: Any) -> Command:
        """A moment's title or reason was edited in the notes panel."""
        if field not in ("title", "reason"):
            raise ValueError(f"Expected a moment's title or reason, but got {field!r}.")

        def saved(moment: Any) -> None:
            self._set_notes([m for m in self.moments.values() if m.id != moment.id] + [moment], None)
            self.say(f"Saved the {field} of moment {moment.id}.")

        return self._ask(UpdateMoment(int(id), int(version), {field: str(value)}), saved)

    def loop_moment(self, id: int) -> None:
        """Play a moment in a loop."""
        moment = self.moments.get(int(id))
        if moment is None:
            raise ValueError(f"Expected a moment of this recording, but got id {id}.")
        self._changes.loop_ms = (moment.onset_ms, moment.offset_ms)
        self._changes.looping = self._changes.playing = True
        self._changes.seek_ms = moment.onset_ms
        self.say(f"Looping moment {moment.id} ({moment.title}); ⟲ under the video stops it.")

    def still(self, time_ms: int, caption: str) -> Command:
        """The still button was pressed at ``time_ms``."""
        return self._ask(AddStill(int(time_ms), caption),
                         lambda still: self.say(f"Stored still {still.id} at {still.time_ms} ms."))  # fmt: skip

    def comment(self, time_ms: int, text: str, status: str = "discuss") -> Command:
        """A comment was typed at ``time_ms``."""

        def stored(comment: Any) -> None:
            self._set_notes(None, [*self.comments.values(), comment])
            self._changes.notes_tab = "comments"
            self.say(f"Stored comment {comment.id} at {clock(comment.time_ms)} ({comment.status}).")

        return self._ask(AddComment(int(time_ms), self.coder, text, status), stored)

    def _set_notes(self, moments: list[Any] | None, comments: list[Any] | None) -> None:
        if moments is not None:
            self.moments = {m.id: m for m in sorted(moments, key=lambda m: (m.onset_ms, m.id))}
        if comments is not None:
            self.comments = {c.id: c for c in sorted(comments, key=lambda c: (c.time_ms, c.id))}
        self.notes_panel, self.notes_timeline = notes_rows(self.moments.values(), self.comments.values())
        self._changes.notes = True

    # -- results -------------------------------------------------------------------------------------------

    def done(self, result: Any) -> None:
        """The store ran the last command: its result (the stored record; None for a delete)."""
        if self._pending is None:
            raise RuntimeError("Expected a command to be waiting for its result, but none is.")
        command, then = self._pending
        self._pending = None
        if isinstance(command, AddAnnotation | UpdateAnnotation):
            self.data.apply(None, result, self._changes)
        elif isinstance(command, DeleteAnnotation):
            gone = self.data.annotations.get(command.id)
            if gone is not None:
                self.data.apply(gone, None, self._changes)
        then(result)

    def failed(self) -> None:
        """The store refused the last command (the caller says why)."""
        self._pending = None

    def _ask(self, command: Command, then: Callable[[Any], None]) -> Command:
        self._pending = (command, then)
        return command

    def _shown(self, id: int) -> AnnotationLike:
        a = self.data.annotations.get(int(id))
        if a is None:
            raise ValueError(f"Expected an annotation shown in this review, but got id {id}.")
        return a

    def _resolve(self, id: int) -> int:
        while id in self._alias:
            id = self._alias[id]
        return id


def _table_order(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row["onset_ms"], row["offset_ms"], row["actor"], row["code"], row["coder"], row["id"])
