"""The custom widgets (anywidget): a video player and an annotation table.

Their front ends are ES modules in the checkout's ``widgets/`` folder. They hold
small synced state only; every edit goes to Python as a message and is stored by
the :class:`~workbench.ui.controller.Review` controller.
"""

from __future__ import annotations

import json
import mimetypes
import os
from pathlib import Path
from typing import Any

import anywidget
import pandas as pd
import traitlets

__all__ = ["AnnotationGrid", "LiveChart", "NotesPanel", "VideoPlayer", "records", "widgets_dir"]


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

    The browser plays ``src`` (the server's media route) when the server answers it. Where no
    route serves it - standalone ``voila``, a front end without our server extension - the
    player asks the kernel for the file given to :meth:`serve_file`, in chunks over the widget's
    connection, and plays it from memory; files over ``$WORKBENCH_KERNEL_MEDIA_MAX_MB``
    (default 1024) are refused with a message saying how to serve them instead.
    """

    #: Bytes per chunk when the file is sent through the kernel.
    CHUNK_BYTES = 4 << 20

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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._media_file: Path | None = None
        self.on_msg(self._on_media_fetch)

    def serve_file(self, path: str | Path | None) -> None:
        """The file the browser may fetch through the kernel when no server route serves ``src``."""
        self._media_file = Path(path) if path is not None else None

    @staticmethod
    def kernel_media_limit() -> int:
        """The largest file (bytes) sent through the kernel: ``$WORKBENCH_KERNEL_MEDIA_MAX_MB`` MiB, else 1 GiB."""
        raw = os.environ.get("WORKBENCH_KERNEL_MEDIA_MAX_MB", "").strip()
        try:
            return int(float(raw) * (1 << 20)) if raw else 1 << 30
        except ValueError:
            raise ValueError(
                f"Expected a number of MiB in WORKBENCH_KERNEL_MEDIA_MAX_MB, but got {raw!r}."
            ) from None

    def _on_media_fetch(self, _widget: Any, msg: dict[str, Any], _buffers: Any) -> None:
        """Answer the browser's ``media-fetch`` (``offset``) with one chunk of the served file."""
        if msg.get("type") != "media-fetch":
            return
        reply: dict[str, Any] = {"type": "media-chunk", "request": msg.get("request")}
        path = self._media_file
        try:
            if path is None:
                raise FileNotFoundError("no recording is being served")
            total = path.stat().st_size
            limit = self.kernel_media_limit()
            if total > limit:
                reply["error"] = (
                    f"This server does not stream recordings, and {path.name} ({total / 2**20:.0f} MiB) is over "
                    f"the {limit / 2**20:.0f} MiB that can go through the notebook's kernel. Open the project "
                    "with `workbench voila PROJECT` or in JupyterLab, whose server streams it "
                    "(or raise WORKBENCH_KERNEL_MEDIA_MAX_MB)."
                )
                self.send(reply)
                return
            offset = max(0, int(msg.get("offset", 0)))
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read(self.CHUNK_BYTES)
        except (OSError, ValueError, TypeError) as exc:
            reply["error"] = f"Could not read the recording {path} for the browser: {exc}."
            self.send(reply)
            return
        reply.update(
            offset=offset,
            total=total,
            done=offset + len(data) >= total,
            mime=mimetypes.guess_type(path.name)[0] or "video/mp4",
        )
        self.send(reply, buffers=[data])

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
    mode = traitlets.Unicode("micro").tag(sync=True)  # "supervision" shows the coder and disagreement columns
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


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-ready dicts (numpy scalars as Python ones, NaN as None)."""
    if frame.empty:
        return []
    return json.loads(frame.to_json(orient="records", date_format="iso"))


class LiveChart(anywidget.AnyWidget):
    """A Vega-Lite chart that fits its container, takes new rows without being drawn again, and follows a playhead.

    ``spec`` is a Vega-Lite spec whose data are named (``{"data": {"name": "bars"}}``, see
    :func:`workbench.charts.review_timeline`); ``datasets`` maps those names to their rows. Setting
    ``datasets`` replaces the rows in the browser; setting ``spec`` draws the chart anew. The views'
    ``width: "container"`` is measured by the widget itself, whenever its element changes size.

    ``playhead_ms`` drives the spec's ``playhead`` parameter (as do the ``wb-time`` events of the video
    player of the same review, in the browser). A click on a mark whose row has an ``onset_ms`` seeks
    the player of the same review and calls the handlers of :meth:`on_pick` with that row's ``id``,
    ``ms`` and ``kind`` (its ``mark_kind``). Dragging across a view named ``overview`` sets the spec's
    ``zoom`` parameter (see ``widgets/chart.js``).
    """

    _esm = widgets_dir() / "chart.js"
    _css = widgets_dir() / "workbench.css"

    spec = traitlets.Dict().tag(sync=True)
    datasets = traitlets.Dict().tag(sync=True)
    playhead_ms = traitlets.Int(0).tag(sync=True)
    hook = traitlets.Unicode("chart").tag(sync=True)  # the element's data-wb attribute
    chrome_px = traitlets.Int(0).tag(sync=True)  # a first guess of the pixels beside the width (axis labels)
    #: Vega-Embed with Vega and Vega-Lite (:func:`workbench.ui.bundle.vega_bundle`), imported once per page
    _vega = traitlets.Unicode("").tag(sync=True)
    _vega_key = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        from workbench.ui.bundle import vega_bundle

        bundle, key = vega_bundle()
        super().__init__(_vega=bundle, _vega_key=key, **kwargs)
        self._pick_handlers: list[Any] = []
        self.on_msg(self._on_pick)

    def on_pick(self, handler: Any) -> None:
        """Call ``handler(id, ms, kind, local)`` when a mark with an ``onset_ms`` is clicked.

        ``local`` is true when the browser has already seeked a player of the same review (the click
        was on the chart of a review page), false when the kernel must move the player itself.
        """
        self._pick_handlers.append(handler)

    def _on_pick(self, _widget: Any, msg: dict[str, Any], _buffers: Any) -> None:
        if msg.get("type") != "pick" or not isinstance(msg.get("ms"), int | float):
            return
        for handler in self._pick_handlers:
            handler(msg.get("id"), int(msg["ms"]), msg.get("kind"), bool(msg.get("local")))


class NotesPanel(anywidget.AnyWidget):
    """The recording's comments and moments as lists: a click seeks; a moment's title and reason are edited in place.

    ``comments`` are dicts with ``id, time_ms, author, status, text``; ``moments`` dicts with ``id, version,
    onset_ms, offset_ms, title, reason``. The browser sends ``seek``, ``edit-moment`` (``id, version, field,
    value``) and ``loop-moment`` messages; the review's controller stores edits and sends the rows back.
    ``show`` picks the list in view (``"comments"`` or ``"moments"``).
    """

    _esm = widgets_dir() / "notes.js"
    _css = widgets_dir() / "workbench.css"

    comments = traitlets.List(traitlets.Dict()).tag(sync=True)
    moments = traitlets.List(traitlets.Dict()).tag(sync=True)
    show = traitlets.Unicode("comments").tag(sync=True)
