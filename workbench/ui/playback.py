"""Which film the review's player plays, and the browser-playable copy made when the browser cannot play it.

A recording whose codec browsers do not play (HEVC from a phone, MJPEG from a camera) is coded all the
same: the review keeps its annotations with the original and plays an H.264 copy, stored as a recording of
the same session labelled ``"<label> (H.264)"`` (so that purging the case removes it too).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.model import Recording
from workbench.ui.server import MEDIA_ROUTE, register_media
from workbench.ui.store_io import ReviewStore
from workbench.ui.widgets import VideoPlayer

__all__ = ["Playback"]


class Playback:
    """The film a review's player plays: the recording, or its H.264 copy.

    Parameters
    ----------
    store : ReviewStore
        The review's store (the recording, its session, the project folder).
    player : VideoPlayer
        The player to give the film.
    """

    def __init__(self, store: ReviewStore, player: VideoPlayer) -> None:
        self.store = store
        self.player = player

    @property
    def copy_label(self) -> str:
        """The label of the browser-playable copy."""
        return f"{self.store.recording.label} (H.264)"

    def recording(self) -> Recording:
        """The recording the player plays: the reviewed one, or the copy :meth:`transcode` made of it."""
        original = self.store.recording
        for r in self.store.session_recordings():
            if r.id != original.id and r.label == self.copy_label and r.codec == "h264":
                return r
        return original

    def show(self) -> None:
        """Give the player the film (the server's media route, or the file through the kernel) and say if the
        browser cannot play its codec."""
        from workbench.media import browser_playable, probe

        playing = self.recording()
        path = self.store.media_path(playing)
        folder = self.store.folder or path.parent
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

    def transcode(self) -> Recording:
        """Keep a browser-playable H.264/AAC copy of the recording in the project and play it; return the copy
        (the one already made, if any)."""
        from workbench.media import transcode_for_browser

        copy = self.recording()
        if copy.id == self.store.recording.id:
            src = self.store.media_path()
            if self.store.folder is None:  # no project folder: the copy stays beside the original
                out = transcode_for_browser(src, src.with_name(f"{src.stem}-h264.mp4"))
                copy = self.store.add_recording(out, copy=False, label=self.copy_label)
            else:  # made in a scratch folder, then copied into media/ under its checksum
                scratch = self.store.folder / "media"
                scratch.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(prefix=".transcode-", dir=scratch) as tmp:
                    out = transcode_for_browser(src, Path(tmp) / f"{src.stem}-h264.mp4")
                    copy = self.store.add_recording(out, label=self.copy_label)
        self.show()
        return copy
