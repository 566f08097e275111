"""Benchmark of motion energy from video and of rMEA's windowed lagged cross-correlation (plain script).

1. Motion energy: writes a 60 s 1280x720 25 fps H.264 film of a filmed-like scene (a textured room,
   two textured "people" moving at their own rhythms, and camera noise of about 2 grey levels, which
   is what the motion-energy threshold is for), then times in the same run, alternating, plain PyAV
   decoding of the file (threaded, no conversion: the floor) and ``motion_energy`` with two regions
   (the left and right halves). Reports frames per second, their ratio (target >= 0.7) and how many
   times faster than real time. ``--clean`` drops the noise and texture (a film that decodes
   unrealistically fast, the hardest case for the ratio).
2. ``ccf`` (rMEA's ``MEAccf``) on one rMEA sample dyad (200_01, 10 min at 25 Hz; lag 5 s, window
   60 s, increment 30 s) against a straightforward numpy loop (one ``np.corrcoef`` per window and
   lag), with the largest difference between the two.

Usage::

    python benchmarks/bench_synchrony.py [--seconds 60] [--preset veryfast] [--clean] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from workbench.analysis.synchrony import MEAOutlierWarning, ccf, read_mea
from workbench.media import motion_energy, probe
from workbench.media.synth import write_video

REAL_DATA = Path(__file__).resolve().parents[1] / "tests" / "data"  # rMEA sample dyads, see its README
WIDTH, HEIGHT, FPS = 1280, 720, 25


def scene_frames(seconds: float, *, clean: bool, seed: int = 3) -> Iterator[np.ndarray]:
    """A filmed-like scene: a textured room, two textured people swaying, camera noise (BGR frames)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    room = (90 + 60 * np.sin(xx / 190.0) * np.cos(yy / 150.0)).astype(np.float32)
    if not clean:
        room += cv2.GaussianBlur(rng.normal(0, 18, (HEIGHT, WIDTH)).astype(np.float32), (0, 0), 1.5)
    room_bgr = np.dstack([room * 0.9, room, room * 1.1]).clip(0, 255).astype(np.uint8)
    person = cv2.GaussianBlur(rng.normal(150, 40, (420, 260)).astype(np.float32), (0, 0), 2.0)
    person = np.dstack([person * 0.7, person * 0.8, person]).clip(0, 255).astype(np.uint8)
    # camera noise (about 2 grey levels), split into what is added and what is taken away (saturating)
    noise = [np.repeat(rng.normal(0, 2.0, (HEIGHT, WIDTH, 1)).round(), 3, axis=2) for _ in range(12)]
    noise_bank = [(n.clip(0, None).astype(np.uint8), (-n).clip(0, None).astype(np.uint8)) for n in noise]
    for i in range(round(seconds * FPS)):
        frame = room_bgr.copy()
        t = i / FPS
        for base_x, period, phase in ((220, 3.1, 0.0), (800, 4.7, 1.3)):
            x = int(base_x + 90 * math.sin(2 * math.pi * t / period + phase))
            y = int(200 + 25 * math.sin(2 * math.pi * t / (period * 0.61)))
            frame[y : y + 420, x : x + 260] = person
        if not clean:
            plus, minus = noise_bank[int(rng.integers(len(noise_bank)))]
            cv2.subtract(cv2.add(frame, plus, dst=frame), minus, dst=frame)
        yield frame


def plain_decode(path: Path) -> int:
    """Plain threaded PyAV decoding of every frame (no conversion); returns the frame count."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def timed(task: Callable[[], int]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of all threads of this process, result) of one run of ``task``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = task()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def naive_ccf(s1: np.ndarray, s2: np.ndarray, lag: int, win: int, inc: int) -> np.ndarray:
    """A straightforward loop over windows and lags (rMEA's definition; no missing values handled)."""
    n_win = math.ceil((s1.size - win - lag + 1) / inc)
    out = np.full((n_win, 2 * lag + 1), np.nan)
    for w in range(n_win):
        start = w * inc
        for i, k in enumerate(range(-lag, lag + 1)):
            x = s1[start + max(-k, 0) : start + max(-k, 0) + win]
            y = s2[start + max(k, 0) : start + max(k, 0) + win]
            if np.count_nonzero(x != y) >= 2 and x.std() > 0 and y.std() > 0:
                out[w, i] = np.corrcoef(x, y)[0, 1]
    return np.abs(np.clip(np.arctanh(out), -10, 10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--preset", default="veryfast", help="libx264 preset of the generated film")
    parser.add_argument("--clean", action="store_true", help="no texture and no camera noise")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (best is reported)")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scene.mp4"
        start = time.perf_counter()
        write_video(path, scene_frames(args.seconds, clean=args.clean), FPS, preset=args.preset)
        made = time.perf_counter() - start
        kind = "clean" if args.clean else "textured + camera noise"
        rows.append(("film", f"{args.seconds:g} s {WIDTH}x{HEIGHT} {FPS} fps H.264 ({args.preset}), {kind}"))
        rows.append(("", f"{path.stat().st_size / 1e6:.1f} MB, written in {made:.1f} s"))
        start = time.perf_counter()
        info = probe(path, checksum=False)
        probe_s = time.perf_counter() - start
        rois = {"left": (0, 0, WIDTH // 2, HEIGHT), "right": (WIDTH // 2, 0, WIDTH // 2, HEIGHT)}
        plain, energy = [], []  # (wall s, cpu s) per run
        for _ in range(args.repeat):  # alternate, so that both see the same machine load
            wall, cpu, frames = timed(lambda: plain_decode(path))
            plain.append((wall, cpu))
            wall, cpu, rows_out = timed(lambda: len(motion_energy(path, rois, info=info)))
            energy.append((wall, cpu))
            assert rows_out == frames == info.frame_count
        n = info.frame_count
        plain_fps = [n / w for w, _ in plain]
        energy_fps = [n / w for w, _ in energy]
        best_energy = max(energy_fps)
        cpu_ratio = float(np.median([p[1] for p in plain])) / float(np.median([e[1] for e in energy]))
        table = motion_energy(path, rois, info=info)
        rows += [
            (
                "plain PyAV decode (threads, no conversion)",
                f"{max(plain_fps):8.1f} frames/s (best of {args.repeat})",
            ),
            ("motion_energy, 2 regions", f"{best_energy:8.1f} frames/s (best of {args.repeat})"),
            ("ratio of best frame rates", f"{best_energy / max(plain_fps):8.2f}   (target >= 0.7)"),
            (
                "ratio, run by run",
                f"{float(np.median(energy_fps)) / float(np.median(plain_fps)):8.2f}   median of "
                f"({', '.join(f'{e / p:.2f}' for e, p in zip(energy_fps, plain_fps, strict=True))})",
            ),
            ("ratio of CPU time (all threads), medians", f"{cpu_ratio:8.2f}   (robust to other load)"),
            (
                "CPU per frame: decode / motion_energy",
                f"{np.median([c for _, c in plain]) / n * 1000:8.2f} / "
                f"{np.median([c for _, c in energy]) / n * 1000:.2f} ms",
            ),
            ("motion_energy vs real time", f"{best_energy / FPS:8.1f} x"),
            ("probe (needed once per file)", f"{probe_s:8.2f} s"),
            ("mean energy left / right", f"{table['left'].mean():.4f} / {table['right'].mean():.4f}"),
        ]

    dyad = REAL_DATA / "rMEA" / "normal" / "200_01.txt"
    if dyad.is_file():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MEAOutlierWarning)
            mea = read_mea(dyad, 25, ("patient", "therapist"))
        ours, naive = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            table = ccf(mea, lag_s=5, window_s=60, increment_s=30)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            loop = naive_ccf(mea.s1, mea.s2, lag=125, win=1500, inc=750)
            naive.append(time.perf_counter() - start)
        diff = float(np.nanmax(np.abs(table.to_numpy() - loop)))
        shape = f"{table.shape[0]} windows x {table.shape[1]} lags"
        slower = min(naive) / min(ours)
        rows += [
            ("ccf, rMEA 200_01, lag 5 s win 60 s inc 30 s", f"{min(ours) * 1000:8.1f} ms  ({shape})"),
            (
                "straightforward numpy loop (np.corrcoef)",
                f"{min(naive) * 1000:8.1f} ms  ({slower:.0f}x slower)",
            ),
            ("largest difference between the two", f"{diff:8.1e}"),
        ]
    else:
        rows.append(("ccf", f"skipped: {dyad} not found"))

    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
