"""The custom widgets (anywidget): a video player and an annotation table.

Their front ends are ES modules in the checkout's ``widgets/`` folder. They hold
small synced state only; every edit goes to Python as a message and is stored by
the :class:`~workbench.ui.controller.Review` controller.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets

__all__ = ["AnnotationGrid", "VideoPlayer", "widgets_dir"]


def widgets_dir() -> Path:
    """The folder with the widgets' ES modules and CSS (the checkout's or the installed copy)."""
    here = Path(__file__).resolve().parents[1]
    for candidate in (here.parent / "widgets", here / "_widgets"):
        if (candidate / "player.js").exists():
            return candidate
    raise FileNotFoundError(f"Expected the widgets' front end in {here.parent / 'widgets'}, but found none.")


class VideoPlayer(anywidget.AnyWidget):
    """HTML5 video player with frame steps, speed, loop, and keyboard coding.

    Traits synced with the browser: ``current_ms``, ``playing``, ``rate`` (and
    the frame timestamps for exact frame steps). Seek from Python with
    :meth:`seek`.
    """

    _esm = widgets_dir() / "player.js"
    _css = widgets_dir() / "workbench.css"

    src = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    current_ms = traitlets.Int(0).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    rate = traitlets.Float(1.0).tag(sync=True)
    duration_ms = traitlets.Int(0).tag(sync=True)
    frame_times = traitlets.List(traitlets.Int()).tag(sync=True)
    loop_start_ms = traitlets.Int(0).tag(sync=True)
    loop_end_ms = traitlets.Int(0).tag(sync=True)
    looping = traitlets.Bool(False).tag(sync=True)
    seek_request = traitlets.Dict().tag(sync=True)
    shortcuts = traitlets.Dict().tag(sync=True)
    actors = traitlets.List(traitlets.Unicode()).tag(sync=True)
    actor = traitlets.Unicode("").tag(sync=True)

    @traitlets.validate("rate")
    def _valid_rate(self, proposal: traitlets.Bunch) -> float:
        rate = float(proposal["value"])
        if not 0.25 <= rate <= 2.0:
            raise traitlets.TraitError(f"Expected a playback rate from 0.25 to 2, but got {rate}.")
        return rate

    def seek(self, time_ms: int) -> None:
        """Move the video to ``time_ms`` (the browser answers with the new ``current_ms``)."""
        n = int(self.seek_request.get("n", 0)) + 1
        self.seek_request = {"ms": int(time_ms), "n": n}
        self.current_ms = int(time_ms)


class AnnotationGrid(anywidget.AnyWidget):
    """Sortable, filterable, editable table of annotations; the rows under the playhead light up.

    ``rows`` (dicts with an ``id``) are the rows shown. The browser gets them as a snapshot
    (``_base``) plus the changes since it (``_patch``): setting ``rows`` after an edit sends only the
    rows that changed, and a new snapshot once the changes outgrow a tenth of the table.
    """

    _esm = widgets_dir() / "table.js"
    _css = widgets_dir() / "workbench.css"

    rows = traitlets.List(traitlets.Dict())
    current_ms = traitlets.Int(0).tag(sync=True)
    codes = traitlets.List(traitlets.Dict()).tag(sync=True)
    actors = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _base = traitlets.List(traitlets.Dict()).tag(sync=True)
    _patch = traitlets.Dict().tag(sync=True)

    #: A patch may grow to this many rows, or a tenth of the table if that is more, before a new snapshot.
    PATCH_ROWS = 50

    def __init__(self, **kwargs: object) -> None:
        self._base_by_id: dict[int, dict] = {}
        super().__init__(**kwargs)

    @traitlets.observe("rows")
    def _send_rows(self, change: traitlets.Bunch) -> None:
        rows = {int(r["id"]): r for r in change["new"]}
        upsert = [r for i, r in rows.items() if self._base_by_id.get(i) != r]
        remove = [i for i in self._base_by_id if i not in rows]
        if not self._base_by_id or len(upsert) + len(remove) > max(self.PATCH_ROWS, len(rows) // 10):
            with self.hold_sync():
                self._base = list(change["new"])
                self._patch = {}
            self._base_by_id = rows
        else:
            self._patch = {"upsert": upsert, "remove": remove}
