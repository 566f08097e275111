"""The custom widgets (anywidget): a video player, an annotation table, a notes panel and a live chart.

Their front ends are ES modules in the checkout's ``widgets/`` folder. They hold small synced state only;
every edit goes to Python as a message and is stored by the :class:`~workbench.ui.controller.Review`
controller. What every module needs (``fmt``, ``parseTime``, ``el``) is written once, in ``widgets/shared.js``,
and inlined into each widget's module when it is loaded (:func:`widget_esm`).
"""

from __future__ import annotations

import functools
import mimetypes
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from workbench.ui.rows import records

__all__ = ["AnnotationGrid", "LiveChart", "NotesPanel", "VideoPlayer", "records", "widget_esm", "widgets_dir"]


def widgets_dir() -> Path:
    """The folder with the widgets' ES modules and CSS (the checkout's or the installed copy)."""
    here = Path(__file__).resolve().parents[1]
    for candidate in (here.parent / "widgets", here / "_widgets"):
        if (candidate / "player.js").exists():
            return candidate
    raise FileNotFoundError(f"Expected the widgets' front end in {here.parent / 'widgets'}, but found none.")


#: The one import a widget's module may make: names of the shared module.
_SHARED_IMPORT = re.compile(r"""^import\s*\{([^}]*)\}\s*from\s*["']\./shared\.js["'];?[ \t]*$""", re.MULTILINE)
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


@functools.cache
def widget_esm(name: str) -> str:
    """The ES module of the widget ``name`` (a file of ``widgets/``), with the shared helpers it imports inlined.

    anywidget loads a widget's ``_esm`` as one module from a string, where ``import ... from "./shared.js"``
    cannot be resolved. The import is replaced by ``widgets/shared.js`` itself, inside a function that returns
    the imported names: the helpers are written once, and each widget gets only the names it imports.

    Raises
    ------
    ValueError
        If the module imports anything else, or imports a name in another form than ``{ a, b }``.
    """
    folder = widgets_dir()
    source = (folder / name).read_text(encoding="utf-8")
    shared = re.sub(r"^export\s+", "", (folder / "shared.js").read_text(encoding="utf-8"), flags=re.MULTILINE)

    def inline(match: re.Match[str]) -> str:
        names = [n.strip() for n in match.group(1).split(",") if n.strip()]
        bad = [n for n in names if not _IDENTIFIER.match(n)]
        if bad:
            raise ValueError(f"Expected plain names in the import of shared.js in {name}, but got {bad}.")
        listed = ", ".join(names)
        return f"const {{ {listed} }} = (() => {{\n{shared}\nreturn {{ {listed} }};\n}})();"

    esm = _SHARED_IMPORT.sub(inline, source)
    other = re.search(r"^\s*import\s.*$", esm, re.MULTILINE)
    if other:
        raise ValueError(f"Expected {name} to import only from ./shared.js, but it has {other.group(0).strip()!r}.")
    return esm


class _Keyed:
    """Rows by key, as a browser holds them: a snapshot (``base``) and the changes since it (``upsert``, ``remove``)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.base: dict[Any, dict[str, Any]] = {}
        self.current: dict[Any, dict[str, Any]] = {}
        self.upsert: dict[Any, dict[str, Any]] = {}
        self.remove: set[Any] = set()

    def update(self, upsert: Iterable[Mapping[str, Any]] = (), remove: Iterable[Any] = ()) -> None:
        for row in upsert:
            k = row[self.key]
            self.current[k] = dict(row)
            self.remove.discard(k)
            if self.base.get(k) == row:
                self.upsert.pop(k, None)
            else:
                self.upsert[k] = self.current[k]
        for k in remove:
            self.current.pop(k, None)
            self.upsert.pop(k, None)
            if k in self.base:
                self.remove.add(k)

    def set_all(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Make ``rows`` the current rows (only those that differ count as changes)."""
        new = {row[self.key]: row for row in rows}
        self.update([r for k, r in new.items() if self.current.get(k) != r], [k for k in self.current if k not in new])

    def changed(self) -> int:
        return len(self.upsert) + len(self.remove)

    def rebase(self) -> None:
        self.base = dict(self.current)
        self.upsert, self.remove = {}, set()

    def patch(self) -> dict[str, Any]:
        """The changes since the snapshot (``{}`` when there are none, as after a snapshot)."""
        if not self.changed():
            return {}
        return {"upsert": list(self.upsert.values()), "remove": sorted(self.remove, key=str)}


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

    _esm = widget_esm("player.js")
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

    ``rows`` (dicts with an ``id``) are the rows shown; :meth:`update_rows` changes a few of them. The browser
    gets them as a snapshot (``_base``) plus the changes since it (``_patch``): a change sends only the rows
    that changed, and a new snapshot once the changes outgrow a tenth of the table. ``filters`` (field ->
    value) are the filters chosen in the browser (or set here); ``selected`` is the id of the row last
    clicked (0: none).
    """

    _esm = widget_esm("table.js")
    _css = widgets_dir() / "workbench.css"

    current_ms = traitlets.Int(0).tag(sync=True)
    mode = traitlets.Unicode("micro").tag(sync=True)  # "supervision" shows the coder and disagreement columns
    codes = traitlets.List(traitlets.Dict()).tag(sync=True)
    actors = traitlets.List(traitlets.Unicode()).tag(sync=True)
    filters = traitlets.Dict(value_trait=traitlets.Unicode()).tag(sync=True)
    selected = traitlets.Int(0).tag(sync=True)
    _base = traitlets.List(traitlets.Dict()).tag(sync=True)
    _patch = traitlets.Dict().tag(sync=True)

    #: A patch may grow to this many rows, or a tenth of the table if that is more, before a new snapshot.
    PATCH_ROWS = 50

    def __init__(self, **kwargs: Any) -> None:
        rows = kwargs.pop("rows", None)
        self._rows = _Keyed("id")
        self._snapshot_sent = False
        super().__init__(**kwargs)
        if rows is not None:
            self.rows = rows

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows shown (a copy)."""
        return list(self._rows.current.values())

    @rows.setter
    def rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._rows.set_all(rows)
        self._send_rows()

    def update_rows(self, upsert: Iterable[Mapping[str, Any]] = (), remove: Iterable[int] = ()) -> None:
        """Put ``upsert`` in place of the rows with their ids (or add them); take the rows ``remove`` away."""
        self._rows.update(upsert, remove)
        self._send_rows()

    def _send_rows(self) -> None:
        rows = self._rows
        if not self._snapshot_sent or rows.changed() > max(self.PATCH_ROWS, len(rows.current) // 10):
            rows.rebase()
            with self.hold_sync():
                self._base = list(rows.current.values())
                self._patch = {}
            self._snapshot_sent = True
        else:
            self._patch = rows.patch()


class LiveChart(anywidget.AnyWidget):
    """A Vega-Lite chart that fits its container, takes new rows without being drawn again, and follows a playhead.

    ``spec`` is a Vega-Lite spec whose data are named (``{"data": {"name": "bars"}}``, see
    :func:`workbench.charts.review_timeline`); ``datasets`` maps those names to their rows. Setting ``spec``
    draws the chart anew; setting ``datasets`` (or :meth:`update_dataset`) changes the rows in the browser.
    The rows of a dataset named in ``row_keys`` (name -> the field that identifies a row) travel as the rows
    changed since a snapshot, as :class:`AnnotationGrid`'s do; those of any other dataset are sent whole
    when they change. The views' ``width: "container"`` is measured by the widget itself, whenever its
    element changes size.

    ``playhead_ms`` drives the spec's ``playhead`` parameter (as do the ``wb-time`` events of the video
    player of the same review, in the browser). A click on a mark whose row has an ``onset_ms`` seeks
    the player of the same review and calls the handlers of :meth:`on_pick` with that row's ``id``,
    ``ms`` and ``kind`` (its ``mark_kind``). Dragging across a view named ``overview`` sets the spec's
    ``zoom`` parameter (see ``widgets/chart.js``).
    """

    _esm = widget_esm("chart.js")
    _css = widgets_dir() / "workbench.css"

    spec = traitlets.Dict().tag(sync=True)
    row_keys = traitlets.Dict(value_trait=traitlets.Unicode()).tag(sync=True)
    playhead_ms = traitlets.Int(0).tag(sync=True)
    hook = traitlets.Unicode("chart").tag(sync=True)  # the element's data-wb attribute
    chrome_px = traitlets.Int(0).tag(sync=True)  # a first guess of the pixels beside the width (axis labels)
    _base = traitlets.Dict().tag(sync=True)  # dataset -> rows: the snapshot
    _patch = traitlets.Dict().tag(sync=True)  # dataset -> {"upsert", "remove"} (keyed) or {"rows"}: since it
    #: Vega-Embed with Vega and Vega-Lite (:func:`workbench.ui.bundle.vega_bundle`), imported once per page
    _vega = traitlets.Unicode("").tag(sync=True)
    _vega_key = traitlets.Unicode("").tag(sync=True)

    #: Keyed rows may change this many, or a tenth of them if that is more, before a new snapshot.
    PATCH_ROWS = 50

    def __init__(self, **kwargs: Any) -> None:
        from workbench.ui.bundle import vega_bundle

        datasets = kwargs.pop("datasets", None)
        bundle, key = vega_bundle()
        self._keyed: dict[str, _Keyed] = {}
        self._whole: dict[str, list[dict[str, Any]]] = {}
        self._whole_base: dict[str, list[dict[str, Any]]] = {}
        self._snapshot_sent = False
        super().__init__(_vega=bundle, _vega_key=key, **kwargs)
        self._pick_handlers: list[Any] = []
        self.on_msg(self._on_pick)
        if datasets is not None:
            self.datasets = datasets

    @property
    def datasets(self) -> dict[str, list[dict[str, Any]]]:
        """The rows of each dataset (a copy)."""
        out = {name: list(rows.current.values()) for name, rows in self._keyed.items()}
        return {**out, **{name: list(rows) for name, rows in self._whole.items()}}

    @datasets.setter
    def datasets(self, datasets: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        for name, rows in datasets.items():
            self._set(name, rows=rows)
        self._send_rows()

    def update_dataset(
        self,
        name: str,
        *,
        upsert: Iterable[Mapping[str, Any]] = (),
        remove: Iterable[Any] = (),
        rows: Iterable[Mapping[str, Any]] | None = None,
    ) -> None:
        """Change the rows of dataset ``name``: all of them (``rows``), or, for a keyed dataset, a few."""
        self._set(name, upsert=upsert, remove=remove, rows=rows)
        self._send_rows()

    def _set(self, name: str, *, upsert: Iterable[Mapping[str, Any]] = (), remove: Iterable[Any] = (),
             rows: Iterable[Mapping[str, Any]] | None = None) -> None:  # fmt: skip
        key = self.row_keys.get(name)
        if key is None:
            if rows is None:
                raise ValueError(f"Expected all the rows of dataset {name!r} (it has no row key), but got a few.")
            self._whole[name] = [dict(r) for r in rows]
            return
        keyed = self._keyed.setdefault(name, _Keyed(key))
        if rows is not None:
            keyed.set_all(rows)
        keyed.update(upsert, remove)

    def _send_rows(self) -> None:
        changed = sum(k.changed() for k in self._keyed.values())
        total = sum(len(k.current) for k in self._keyed.values())
        if not self._snapshot_sent or changed > max(self.PATCH_ROWS, total // 10):
            for keyed in self._keyed.values():
                keyed.rebase()
            self._whole_base = dict(self._whole)
            with self.hold_sync():
                self._base = self.datasets
                self._patch = {}
            self._snapshot_sent = True
            return
        patch: dict[str, Any] = {name: k.patch() for name, k in self._keyed.items() if k.changed()}
        patch.update({name: {"rows": rows} for name, rows in self._whole.items() if rows != self._whole_base.get(name)})
        self._patch = patch

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

    _esm = widget_esm("notes.js")
    _css = widgets_dir() / "workbench.css"

    comments = traitlets.List(traitlets.Dict()).tag(sync=True)
    moments = traitlets.List(traitlets.Dict()).tag(sync=True)
    show = traitlets.Unicode("comments").tag(sync=True)
