"""Media: probe videos, read exact frames, stills and thumbnails, cut and join clips (PyAV + OpenCV).

Time is integer milliseconds everywhere; frames are addressed through each file's own frame
timestamps (:attr:`VideoInfo.frame_times_ms`), so variable frame rates are handled exactly.

Examples
--------
>>> from workbench.media import probe, read_frame, cut_clip
>>> info = probe("session.mp4")  # doctest: +SKIP
>>> image = read_frame("session.mp4", 61_040, info)  # doctest: +SKIP
>>> cut_clip("session.mp4", 61_000, 75_500, "moment-1.mp4")  # doctest: +SKIP
"""

from __future__ import annotations

from workbench.errors import MediaError
from workbench.media.clips import Segment, concat_clips, cut_clip, transcode_for_browser
from workbench.media.faces import FaceBox, blur_faces, blur_still, detect_faces
from workbench.media.frames import read_frame, read_frames, thumbnail_strip, write_still
from workbench.media.motion import motion_energy
from workbench.media.probe import VideoInfo, browser_playable, check_recording, probe, sha256_file
from workbench.media.synth import (
    decode_frame_number,
    numbered_frame,
    stepped_tone,
    vfr_frame_times_ms,
    write_numbered_video,
    write_video,
)

__all__ = [
    "FaceBox",
    "MediaError",
    "Segment",
    "VideoInfo",
    "blur_faces",
    "blur_still",
    "browser_playable",
    "check_recording",
    "concat_clips",
    "cut_clip",
    "decode_frame_number",
    "detect_faces",
    "motion_energy",
    "numbered_frame",
    "probe",
    "read_frame",
    "read_frames",
    "sha256_file",
    "stepped_tone",
    "thumbnail_strip",
    "transcode_for_browser",
    "vfr_frame_times_ms",
    "write_numbered_video",
    "write_still",
    "write_video",
]
