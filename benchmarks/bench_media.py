"""Benchmark of workbench.media on a long synthetic film (plain script; prints a table).

Writes a 10-minute 1280x720 25 fps H.264 + AAC numbered film (libx264 "ultrafast", a keyframe every
2 s) into a temporary folder, then times:

- ``probe`` (with and without the SHA-256) against a plain PyAV demux pass over the same file;
- 50 random exact-frame reads (``read_frame``, each opening the file, seeking to the keyframe before
  and decoding forward), checking every frame's number, against plain sequential decoding;
- ``read_frames`` for the same 50 times in one call, and a 20-thumbnail strip.

Usage::

    python benchmarks/bench_media.py [--minutes 10] [--width 1280 --height 720] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from workbench.media import decode_frame_number, probe, read_frame, read_frames, thumbnail_strip
from workbench.media.synth import write_numbered_video


def plain_demux(path: Path) -> int:
    """Read every video packet once with PyAV (the floor for any packet-based probe)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


def plain_decode(path: Path, frames: int) -> float:
    """Frames per second of plain sequential decoding (threaded, no colour conversion)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = time.perf_counter()
        for n, _frame in enumerate(container.decode(stream), start=1):
            if n >= frames:
                break
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--keep", type=Path, default=None, help="write the film here and keep it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bench_{args.minutes:g}min_{args.height}p.mp4"
        rows: list[tuple[str, str]] = []

        if not path.exists():
            start = time.perf_counter()
            write_numbered_video(
                path,
                seconds=args.minutes * 60,
                fps=args.fps,
                size=(args.width, args.height),
                preset="ultrafast",
                audio=True,
            )
            made = time.perf_counter() - start
            rows.append(("write film (numbered frames, ultrafast)", f"{made:8.1f} s"))
        size_mb = path.stat().st_size / 1e6
        rows.append(("film", f"{args.minutes:g} min {args.width}x{args.height} {size_mb:.0f} MB"))

        start = time.perf_counter()
        packets = plain_demux(path)
        demux_s = time.perf_counter() - start
        start = time.perf_counter()
        info = probe(path, checksum=False)
        probe_s = time.perf_counter() - start
        start = time.perf_counter()
        probe(path)
        probe_hash_s = time.perf_counter() - start
        assert info.frame_count == packets
        rows += [
            ("plain demux pass (PyAV)", f"{demux_s:8.2f} s  ({packets} packets)"),
            ("probe, no checksum", f"{probe_s:8.2f} s  ({probe_s / demux_s:.2f}x demux)"),
            ("probe with sha256", f"{probe_hash_s:8.2f} s  ({probe_hash_s / demux_s:.2f}x demux)"),
        ]

        rng = np.random.default_rng(7)
        times = rng.integers(0, info.duration_ms, size=args.reads).tolist()
        durations, wrong = [], 0
        for t in times:
            start = time.perf_counter()
            image = read_frame(path, t, info)
            durations.append(time.perf_counter() - start)
            wrong += decode_frame_number(image) != info.frame_at(t)
        median_read = statistics.median(durations)
        decode_fps = plain_decode(path, 1500)
        start = time.perf_counter()
        batch = read_frames(path, times, info)
        batch_s = time.perf_counter() - start
        wrong += sum(decode_frame_number(im) != info.frame_at(t) for im, t in zip(batch, times, strict=True))
        start = time.perf_counter()
        thumbnail_strip(path, 20, 72, info)
        strip_s = time.perf_counter() - start
        rows += [
            ("plain sequential decode", f"{decode_fps:8.1f} frames/s"),
            (
                f"read_frame, median of {args.reads} random",
                f"{median_read * 1000:8.1f} ms  (= {median_read * decode_fps:.1f} frames of plain decoding)",
            ),
            ("read_frame, slowest", f"{max(durations) * 1000:8.1f} ms"),
            (f"read_frames, same {args.reads} in one call", f"{batch_s:8.2f} s"),
            ("thumbnail_strip, 20 x 72 px", f"{strip_s:8.2f} s"),
            ("wrong frames (must be 0)", f"{wrong:8d}"),
        ]

    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
