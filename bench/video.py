"""Video render benchmark: speed on 2 cores and the peak memory of ffmpeg, against length.

    .venv/bin/python -m bench.video [--seconds 30 120] [--clips 6]
        [--sweep-clips 4 12 24] [--cores 2]

``make bench`` runs the defaults (about 12 minutes on 2 cores). The 20-minute
render the issue asks about is ``--seconds 1200 --clips 24 --sweep-clips``
(about an hour here); its figures are in the README.

A phone-like 1080p source (moving test picture with sensor noise, 30 fps H.264
High, AAC speech-level tone) is made once per length, then an episode of that
length is rendered from it in a fresh process pinned to ``cores`` CPUs, as
several clips (the EDL's usual shape). Reported per length: the real-time factor
(render seconds per second of episode; under 1 is faster than real time) and the
peak resident memory of the largest ffmpeg process, read by the kernel
(``getrusage(RUSAGE_CHILDREN).ru_maxrss``, the figure ``/usr/bin/time -v`` prints
as "Maximum resident set size"). If the peak does not grow with length, a
20-minute render needs what a 1-minute one does. A second sweep renders the same
length as more and more clips: the pictures are rendered a few clips per ffmpeg
run (``defaults.VIDEO_CLIPS_PER_RUN``), so the peak should not grow with clips
either. Results go to ``bench-results/video-*.json`` with the machine described.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.report import write_results
from pipeline import defaults
from pipeline.media.probe import probe_video
from pipeline.records import Clip, Timeline
from pipeline.render.video import render_video


def make_source(out: Path, seconds: float, size: str = "1920x1080", rate: int = 30) -> Path:
    """A phone-like clip: moving picture with grain (so it costs what real video costs)."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds},noise=alls=12:allf=t",
         "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=48000:d={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "high", "-pix_fmt", "yuv420p",
         "-b:v", "12M", "-c:a", "aac", "-b:a", "128k", str(out)],
        check=True,
    )  # fmt: skip
    return out


def render_once(source: Path, seconds: float, clips: int, out: Path) -> dict[str, Any]:
    """Render ``seconds`` of episode from ``source`` as ``clips`` cuts; time and memory."""
    info = probe_video(source)
    assert info is not None
    length = seconds / clips
    placed = tuple(
        Clip("src", i * length, (i + 1) * length - 0.2, i * (length - 0.2)) for i in range(clips)
    )
    timeline = Timeline(out.with_suffix(".yaml"), "bench", placed, ())
    started = time.perf_counter()
    result = render_video(timeline, {"src": source}, {"src": info}, {"src": 0.0}, out)
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "episode_seconds": round(result.duration, 3),
        "clips": clips,
        "canvas": f"{result.canvas.width}x{result.canvas.height}@{result.canvas.rate}",
        "render_seconds": round(wall, 2),
        "real_time_factor": round(wall / result.duration, 3),
        "speed_x_real_time": round(result.duration / wall, 2),
        "ffmpeg_peak_rss_mib": round(peak_kib / 1024, 1),
        "output_mib": round(out.stat().st_size / 2**20, 2),
    }


def _render_in_child(source: Path, seconds: float, clips: int, cores: int, out: Path) -> Any:
    # A fresh process per render, so ru_maxrss is this render's alone.
    proc = subprocess.run(
        [sys.executable, "-m", "bench.video", "--single", str(source),
         str(seconds), str(clips), str(cores), str(out)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    if proc.returncode != 0:  # say why: a long render is expensive to repeat blind
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"render of {seconds:g} s in {clips} clips failed ({proc.returncode})")
    return json.loads(proc.stdout)


def run_bench(lengths: list[float], cores: int, clips: int, sweep: list[int]) -> dict[str, Any]:
    by_length: list[dict[str, Any]] = []
    by_clips: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="storycast-bench-video-") as tmp_name:
        tmp = Path(tmp_name)
        for seconds in lengths:
            source = make_source(tmp / "src.mp4", seconds + 1)
            by_length.append(_render_in_child(source, seconds, clips, cores, tmp / "out.mp4"))
        if sweep:
            seconds = min(lengths)
            source = make_source(tmp / "src.mp4", seconds + 1)
            for n in sweep:
                by_clips.append(_render_in_child(source, seconds, n, cores, tmp / "out.mp4"))
    return {
        "cores": cores,
        "nproc": os.cpu_count(),
        "clips_per_ffmpeg_run": defaults.VIDEO_CLIPS_PER_RUN,
        "source": "testsrc2 1920x1080 30 fps with grain, H.264 High 12 Mb/s, AAC",
        "by_length": by_length,
        "by_clips": by_clips,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--single":
        source, seconds, clips, cores, out = args[1:6]
        os.sched_setaffinity(0, set(range(min(int(cores), os.cpu_count() or 1))))
        print(json.dumps(render_once(Path(source), float(seconds), int(clips), Path(out))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, nargs="+", default=[30.0, 120.0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--sweep-clips", type=int, nargs="*", default=[4, 12, 24])
    ns = parser.parse_args(args)
    write_results("video", run_bench(ns.seconds, ns.cores, ns.clips, ns.sweep_clips))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
