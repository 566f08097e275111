"""Motion energy from video (workbench.media.motion_energy) on generated films with known motion.

The films are grey scenes (B = G = R, so luma is fully determined) written with libx264 in lossless
mode (crf 0), so the decoded luma equals what was drawn and the number of changed pixels is known
exactly from geometry: a w x h block moving d pixels sideways over a contrasting background changes
2 * d * h pixels (the strip it leaves and the strip it enters).
"""

from __future__ import annotations

import math
import os
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

from workbench.errors import MediaError
from workbench.media import motion_energy, probe
from workbench.media.synth import write_video

W, H, FPS = 320, 240, 25
# grey levels: the block differs from the background by far more than any threshold
BACKGROUND, BLOCK = 60, 200
BLOCK_W, BLOCK_H, STEP = 40, 60, 4  # a 40 x 60 block moving 4 px per frame
LEFT = (0, 0, W // 2, H)  # region "left": x < 160
RIGHT = (W // 2, 0, W // 2, H)  # region "right": x >= 160
REGION_PIXELS = (W // 2) * H  # 38400
MOVING_PIXELS = 2 * STEP * BLOCK_H  # 480 changed pixels per moving frame
FLICKER = (250, 20, 20, 20)  # x, y, w, h of a patch in the right region alternating 100 / 104 grey


def _position(frame: int, start: int) -> int:
    """x of a block that rests at 20 px until frame ``start``, then moves STEP px per frame for 10 frames."""
    return 20 + STEP * min(max(frame - start, 0), 10)


def scene(frame: int) -> np.ndarray:
    """Frame ``frame`` of the test scene (BGR, all grey).

    - left block: x from 20 (+0..40), y 40..99; moves during frames 11..20 (frame k differs from k - 1);
    - right block: x from 180 (+0..40), y 140..199; moves during frames 31..40;
    - flicker patch (FLICKER) in the right region: grey 100 on even frames, 104 on odd ones (a change of
      4 grey levels: noise that the default threshold ignores).
    """
    image = np.full((H, W, 3), BACKGROUND, dtype=np.uint8)
    x = _position(frame, 10)
    image[40 : 40 + BLOCK_H, x : x + BLOCK_W] = BLOCK
    x = 160 + _position(frame, 30)
    image[140 : 140 + BLOCK_H, x : x + BLOCK_W] = BLOCK
    fx, fy, fw, fh = FLICKER
    image[fy : fy + fh, fx : fx + fw] = 100 if frame % 2 == 0 else 104
    return image


@pytest.fixture(scope="module")
def scene_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scene above, 50 frames (2 s) at 25 fps, 320x240, H.264 lossless (crf 0), no audio."""
    path = tmp_path_factory.mktemp("motion") / "scene.mp4"
    return write_video(path, (scene(i) for i in range(50)), FPS, crf=0, preset="ultrafast")


@pytest.fixture(scope="module")
def rotated_scene_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same scene stored 320x240 with a display rotation of 90 degrees clockwise (shown 240x320)."""
    path = tmp_path_factory.mktemp("motion") / "scene_rotated.mp4"
    return write_video(path, (scene(i) for i in range(50)), FPS, crf=0, preset="ultrafast", rotation=90)


def expected_left(frame: int) -> float:
    return MOVING_PIXELS / REGION_PIXELS if 11 <= frame <= 20 else 0.0


def expected_right(frame: int) -> float:
    return MOVING_PIXELS / REGION_PIXELS if 31 <= frame <= 40 else 0.0


def test_energy_is_where_and_when_the_blocks_move(scene_video: Path) -> None:
    energy = motion_energy(scene_video, {"left": LEFT, "right": RIGHT})
    assert list(energy.columns) == ["left", "right"]
    assert energy.index.name == "time_ms"
    assert energy.index.tolist() == [40 * i for i in range(50)]  # 25 fps: one frame every 40 ms
    assert energy.iloc[0].isna().all()  # no previous frame
    frames = range(1, 50)
    np.testing.assert_array_equal(energy["left"].to_numpy()[1:], [expected_left(k) for k in frames])
    np.testing.assert_array_equal(energy["right"].to_numpy()[1:], [expected_right(k) for k in frames])
    assert energy.attrs["roi_pixels"] == {"left": REGION_PIXELS, "right": REGION_PIXELS}
    assert energy.attrs["threshold"] == 10
    # MEA's raw output (changed pixel counts) is recoverable from the proportions
    counts = energy["left"] * energy.attrs["roi_pixels"]["left"]
    assert counts.max() == MOVING_PIXELS


def test_threshold_separates_noise_from_motion(scene_video: Path) -> None:
    # The flicker patch changes by 4 grey levels every frame: ignored at the default threshold (10),
    # counted (all 400 of its pixels, every frame) at threshold 2.
    flicker_pixels = FLICKER[2] * FLICKER[3]
    default = motion_energy(scene_video, {"right": RIGHT})
    sensitive = motion_energy(scene_video, {"right": RIGHT}, threshold=2)
    extra = (sensitive["right"] - default["right"]).to_numpy()[1:] * REGION_PIXELS
    np.testing.assert_allclose(extra, flicker_pixels, atol=1e-9)
    # The threshold is in grey levels of the displayed picture, not in luma steps: the patch's 4-level
    # change is stored as 3 luma steps (limited range, 102 -> 105), which exceeds 3.2 grey levels
    # (= 2.75 luma steps) but would not exceed 3.2 luma steps.
    assert sensitive.attrs["luma_threshold"] == pytest.approx(2 * 219 / 255)
    between = motion_energy(scene_video, {"right": RIGHT}, threshold=3.2)
    np.testing.assert_allclose(between["right"].to_numpy()[1:], sensitive["right"].to_numpy()[1:])
    above = motion_energy(scene_video, {"right": RIGHT}, threshold=4.2)  # 3.6 luma steps: not counted
    np.testing.assert_allclose(above["right"].to_numpy()[1:], default["right"].to_numpy()[1:])


def test_polygon_regions(scene_video: Path) -> None:
    corners = [(0, 0), (W // 2 - 1, 0), (W // 2 - 1, H - 1), (0, H - 1)]  # the left rectangle as a polygon
    # a triangle over the upper-left corner: it holds only part of the moving block's path
    triangle = [(0, 0), (80, 0), (0, 160)]
    energy = motion_energy(scene_video, {"box": LEFT, "poly": corners, "tri": triangle})
    np.testing.assert_array_equal(energy["box"].to_numpy()[1:], energy["poly"].to_numpy()[1:])
    tri_pixels = energy.attrs["roi_pixels"]["tri"]
    mask = np.zeros((H, W), np.uint8)
    cv2.fillPoly(mask, [np.array(triangle, np.int32).reshape(-1, 1, 2)], 255)
    assert tri_pixels == np.count_nonzero(mask)
    tri_counts = energy["tri"].to_numpy()[1:] * tri_pixels
    moving = [11 <= k <= 20 for k in range(1, 50)]
    assert np.all(tri_counts[~np.array(moving)] == 0)
    # the block's strips (x 20..99, y 40..99) cross the triangle's hypotenuse: some but not all pixels
    assert np.all(tri_counts[np.array(moving)] > 0)
    assert np.all(tri_counts[np.array(moving)] < MOVING_PIXELS)


def test_rois_are_in_displayed_coordinates(rotated_scene_video: Path) -> None:
    info = probe(rotated_scene_video, checksum=False)
    assert info.rotation == 90 and info.display_size == (H, W)
    # Rotating 90 degrees clockwise puts the stored left half at the top of the displayed frame.
    top, bottom = (0, 0, H, W // 2), (0, W // 2, H, W // 2)
    energy = motion_energy(rotated_scene_video, {"top": top, "bottom": bottom}, info=info)
    np.testing.assert_array_equal(energy["top"].to_numpy()[1:], [expected_left(k) for k in range(1, 50)])
    np.testing.assert_array_equal(energy["bottom"].to_numpy()[1:], [expected_right(k) for k in range(1, 50)])


def test_progress_is_reported(scene_video: Path) -> None:
    calls: list[tuple[int, int]] = []
    motion_energy(scene_video, {"left": LEFT}, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (50, 50)
    assert [done for done, _ in calls] == sorted({done for done, _ in calls})


@pytest.mark.parametrize(
    ("rois", "message"),
    [
        ({"x": (300, 0, 40, 10)}, "inside the 320x240 displayed frame"),
        ({"x": (0, 0, 0, 10)}, "positive size"),
        ({"x": [(0, 0), (10, 10)]}, "rectangle (x, y, width, height) or a polygon"),
        ({"x": [(0, 0), (400, 0), (0, 100)]}, "corners of region 'x' inside"),
        ({"x": ("a", "b", "c", "d")}, "Expected region 'x'"),
        ({}, "Expected 'rois' to map region names"),
    ],
)
def test_bad_regions_are_refused(scene_video: Path, rois: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        motion_energy(scene_video, rois)  # type: ignore[arg-type]


def test_bad_threshold_and_files(scene_video: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="threshold"):
        motion_energy(scene_video, {"left": LEFT}, threshold=300)
    with pytest.raises(MediaError, match="does not exist"):
        motion_energy(tmp_path / "missing.mp4", {"left": LEFT})
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 10, encoding="utf-8")
    with pytest.raises(MediaError, match=r"notes\.mp4"):
        motion_energy(text, {"left": LEFT})


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_memory_stays_flat_for_a_longer_video(tmp_path: Path, scene_video: Path) -> None:
    # 20 s of 640x360 (500 frames, 345 kB of decoded picture each): keeping frames would cost ~170 MB.
    size = (640, 360)
    rng = np.random.default_rng(7)
    texture = rng.integers(40, 220, (size[1], size[0]), dtype=np.uint8)

    def frames() -> object:
        for i in range(500):
            image = np.roll(texture, 2 * i, axis=1)  # everything moves: every frame is different
            yield np.dstack([image, image, image])

    long_video = write_video(tmp_path / "long.mp4", frames(), FPS, preset="ultrafast")
    rois = {"a": (0, 0, 320, 360), "b": (320, 0, 320, 360)}

    def traced_peak(path: Path, regions: dict[str, tuple[int, int, int, int]]) -> int:
        info = probe(path, checksum=False)
        tracemalloc.start()
        try:
            motion_energy(path, regions, info=info)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    rss: list[int] = []
    peak_long = traced_peak(long_video, rois)
    motion_energy(long_video, rois, progress=lambda done, total: rss.append(_rss_bytes()))
    short = traced_peak(scene_video, {"left": LEFT, "right": RIGHT})
    # Python-side allocations: a few frame-sized buffers, whatever the length (the 500 x 2 results are 8 kB)
    assert peak_long < 3 * 640 * 360 + 256 * 1024, peak_long
    assert peak_long - short < 3 * 640 * 360, (peak_long, short)
    # decoder-side memory (not seen by tracemalloc): resident size does not grow with the frames read
    assert len(rss) >= 50
    assert max(rss[len(rss) // 10 :]) - rss[len(rss) // 10] < 32 * 2**20, [r // 2**20 for r in rss[::10]]
    assert math.isclose(len(rss) / 100, 1.0, abs_tol=0.05)
