"""`make bench`: speed figures, printed and written as JSON with the machine described.

Figures are seconds of processing per minute of input, measured side by side
in one run, so compare ratios rather than absolute times: these machines are
noisy. No test asserts on time; this is where speed goals are watched.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import machine, write_results
from pipeline import defaults
from pipeline.cache import Cache
from pipeline.media.loudness import analyse
from pipeline.media.probe import probe
from pipeline.orchestrator import check, publish_show
from pipeline.records import Clip, Timeline
from pipeline.render.audio import render
from pipeline.transcribe import get_engine, transcribe

ROOT = Path(__file__).resolve().parent.parent


def _long_input(folder: Path, loops: int, name: str = "long-memo.m4a") -> Path:
    """A phone-like voice memo, ``loops`` times the example show's 27.6 s interview."""
    source = ROOT / "episodes" / "first-flat" / "recordings" / "interview.m4a"
    out = folder / name
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-stream_loop",
            str(loops - 1),
            "-i",
            str(source),
            "-c:a",
            "aac",
            "-b:a",
            "48k",
            "-ac",
            "1",
            str(out),
        ],
        check=True,
    )
    return out


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def _check_large_edl(tmp: Path, memo: Path, duration: float, clips: int = 10_000) -> dict[str, Any]:
    """`storycast check` on an episode whose EDL has 10,000 clips (goal: under 2 s)."""
    project = tmp / "large"
    shutil.copytree(ROOT / "feeds", project / "feeds")
    folder = project / "episodes" / "large"
    (folder / "recordings").mkdir(parents=True)
    shutil.copyfile(memo, folder / "recordings" / "memo.m4a")
    (folder / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Large\npublished: 2026-11-29\n"
    )
    step = duration / clips
    lines = ["clips:"]
    for i in range(clips):
        lines += [
            "  - source: memo.m4a",
            f"    in: {i * step:.4f}",
            f"    out: {(i + 0.9) * step:.4f}",
        ]
    (folder / "edl.yaml").write_text("\n".join(lines) + "\n")
    show_file = project / "feeds" / "riverside-voices.yaml"
    timings = []
    with open(os.devnull, "w") as devnull:
        for _ in range(2):  # the first run also measures the recording (cached after)
            report, seconds = _timed(check, show_file, project, devnull)
            timings.append(seconds)
    (job,) = report.jobs
    return {
        "clips": clips,
        "first_run_seconds": round(timings[0], 3),
        "cached_run_seconds": round(timings[1], 3),
        "status": job.status,
        "reason": job.reason[:200],
    }


def run(loops: int = 10) -> dict[str, Any]:
    results: dict[str, Any] = {"when": datetime.now(UTC).isoformat(), "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="storycast-bench-") as tmp_name:
        tmp = Path(tmp_name)
        cache = Cache(tmp / "cache")
        memo = _long_input(tmp, loops)
        recording, probe_s = _timed(probe, memo, memo.name, cache)
        minutes = recording.duration / 60
        loudness, analyse_s = _timed(analyse, recording, cache)
        engine = get_engine(defaults.TRANSCRIBE_ENGINE, defaults.TRANSCRIBE_MODEL, "en")
        _, first_s = _timed(transcribe, recording, engine, None)  # includes model load
        _, transcribe_s = _timed(transcribe, recording, engine, cache)
        clip = Clip(memo.name, 0.0, recording.duration, 0.0, 0.5, 1.0)
        timeline = Timeline(memo, "bench", (clip,), ())
        _, render_s = _timed(render, timeline, {memo.name: recording}, {memo.name: loudness}, cache)
        results["input_minutes"] = round(minutes, 3)
        results["seconds_per_input_minute"] = {
            "probe": round(probe_s / minutes, 3),
            "analyse": round(analyse_s / minutes, 3),
            "transcribe": round(transcribe_s / minutes, 3),
            "transcribe_first_call_with_model_load": round(first_s / minutes, 3),
            "render": round(render_s / minutes, 3),
        }
        results["transcribe_real_time_factor"] = round(transcribe_s / recording.duration, 4)
        results["transcribe_engine"] = f"{engine.name} {engine.model} (int8, CPU)"

        project = tmp / "project"
        shutil.copytree(ROOT / "feeds", project / "feeds")
        shutil.copytree(ROOT / "episodes", project / "episodes")
        show_file = project / "feeds" / "riverside-voices.yaml"
        with open(os.devnull, "w") as devnull:
            first, first_publish_s = _timed(publish_show, show_file, project, devnull)
            again, republish_s = _timed(publish_show, show_file, project, devnull)
        results["example_show"] = {
            "first_publish_seconds": round(first_publish_s, 3),
            "no_change_republish_seconds": round(republish_s, 3),
            "no_change_republish_objects_written": again.uploaded,
            "first_publish_ok": first.ok,
        }
        results["check_10000_clips"] = _check_large_edl(tmp, memo, recording.duration)
        results["render_clips_from_one_hour"] = _render_clip_sweep(tmp)
    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ffmpeg's own memory is not reported here: a forked child's peak counts the
    # Python parent's pages it inherited, which would make the figure meaningless.
    results["peak_memory_mib"] = {"python_process": round(usage_self / 1024, 1)}
    return results


def render_clips_once(source: Path, clips: int, cache_dir: Path) -> dict[str, Any]:
    """Render ``clips`` clips of 3 s, spread evenly over ``source``; run in a fresh process
    so that the peak resident memory of its largest ffmpeg child is this render's alone
    (the recording's probe and loudness are already in the cache)."""
    cache = Cache(cache_dir)
    recording = probe(source, source.name, cache)
    loudness = analyse(recording, cache)
    step = recording.duration / clips
    placed = tuple(Clip(source.name, i * step + 1.0, i * step + 4.0, i * 3.0) for i in range(clips))
    timeline = Timeline(source, f"clips-{clips}", placed, ())
    _, seconds = _timed(render, timeline, {source.name: recording}, {source.name: loudness}, cache)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "clips": clips,
        "episode_seconds": round(timeline.duration, 1),
        "render_seconds": round(seconds, 2),
        "peak_ffmpeg_mib": round(peak / 1024, 1),
    }


def _render_clip_sweep(tmp: Path, counts: tuple[int, ...] = (10, 100)) -> dict[str, Any]:
    """The audio render's memory against the number of clips cut from a one-hour
    interview: every clip is an ffmpeg input holding the file's whole index, so
    ``defaults.AUDIO_CLIPS_PER_RUN`` bounds how many are open at once."""
    hour = _long_input(tmp, 131, "hour.m4a")
    cache_dir = tmp / "sweep-cache"
    cache = Cache(cache_dir)  # the children find the probe and loudness here
    recording = probe(hour, hour.name, cache)
    analyse(recording, cache)
    runs = []
    for clips in counts:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.stages", "--render-clips", str(hour), str(clips),
             str(cache_dir)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {
        "source_minutes": round(recording.duration / 60, 1),
        "clips_per_ffmpeg_run": defaults.AUDIO_CLIPS_PER_RUN,
        "runs": runs,
    }


def main() -> int:
    if sys.argv[1:2] == ["--render-clips"]:
        source, clips, cache_dir = sys.argv[2:5]
        print(json.dumps(render_clips_once(Path(source), int(clips), Path(cache_dir))))
        return 0
    write_results("bench", run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
