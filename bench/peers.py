"""storycast beside its peers, side by side in one run: ``python -m bench.peers``.

- Audio: three phone-like recordings (a quiet AAC memo, a 48 kHz Opus note, a loud 8 kHz
  3GP call), each used whole. storycast measures, renders and encodes them as one episode
  at -16 LUFS / -1 dBTP (probe, loudness, render: the stages' own functions, caches
  empty); ffmpeg-normalize normalises the same three files to MP3 at the same targets
  (EBU R128, its two passes). Both are then measured by ffmpeg's ebur128: storycast is
  exact by design, the peer lands where its loudnorm filter lands. Beside them, the floor
  of any exact normaliser (``exact_floor_audio``: each recording measured once, one MP3
  encode, the MP3 measured), so the ratio can be read against what is possible.
- Video: a 1080p episode of three clips of one grainy phone-like source. storycast's
  render (pictures a few clips per run, the shared sound, the loudness passes) against
  the floor: one ffmpeg run that cuts, fits and joins the same parts and encodes them with
  the same x264 and AAC settings and bitrate ceiling, with no loudness work at all.

The two commands of each pair run in turn, as whole processes, ``--runs`` times; each
ratio is taken pair by pair and the median reported, so a machine that slows down part
way affects both sides alike. Beside the wall-clock seconds, the CPU seconds (user and
system, of the command and its children) are reported too: on a machine shared with
other work they move much less than the wall clock. ``--only audio`` or ``--only video``
runs one pair. Results go to bench-results/peers-*.json.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import write_results
from pipeline import defaults

SECONDS = 90.0  # each audio recording
VIDEO_CLIP_SECONDS = 10.0


def _ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def make_recordings(folder: Path) -> list[Path]:
    """Speech-like sound (noise shaped like a voice, with pauses) at three phone levels."""
    voice = (
        f"anoisesrc=d={SECONDS}:c=pink:a=0.5:r=48000,highpass=f=150,lowpass=f=3400,"
        "volume='if(lt(mod(t,4),3),1,0.02)':eval=frame"
    )
    out = [folder / "memo.m4a", folder / "note.opus", folder / "call.3gp"]
    _ffmpeg("-f", "lavfi", "-i", voice + ",volume=-18dB", "-c:a", "aac", "-b:a", "96k", out[0])
    _ffmpeg("-f", "lavfi", "-i", voice + ",volume=-6dB", "-c:a", "libopus", "-b:a", "48k", out[1])
    _ffmpeg("-f", "lavfi", "-i", voice + ",volume=4dB", "-ar", "8000", "-ac", "1",
            "-c:a", "libopencore_amrnb" if _has_encoder("libopencore_amrnb") else "aac",
            "-b:a", "12.2k" if _has_encoder("libopencore_amrnb") else "32k", out[2])  # fmt: skip
    return out


def _has_encoder(name: str) -> bool:
    listed = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True)
    return f" {name} " in listed.stdout


def ours_audio(sources: list[Path], out: Path) -> None:
    """storycast's analyse and render of the three recordings, whole, with empty caches."""
    from pipeline.cache import Cache
    from pipeline.media.loudness import analyse
    from pipeline.media.probe import probe
    from pipeline.records import Clip, Timeline
    from pipeline.render.audio import render

    cache = Cache(out.parent / "cache")
    recordings = {p.name: probe(p, p.name, cache) for p in sources}
    loudness = {name: analyse(r, cache) for name, r in recordings.items()}
    clips, start = [], 0.0
    for name, rec in recordings.items():
        clips.append(Clip(name, 0.0, rec.duration, start))
        start += rec.duration
    timeline = Timeline(out.with_suffix(".yaml"), "peers", tuple(clips), ())
    result = render(timeline, recordings, loudness, cache)
    shutil.copyfile(result.path, out)


def exact_floor_audio(sources: list[Path], out: Path) -> None:
    """The least any exact normaliser of these recordings must do, with nothing else: each
    recording decoded and measured once (integrated loudness, for its gain), all of them
    decoded again and encoded once to MP3 (no gain, no limiter, no mix measured), and that
    MP3 decoded and measured with its true peak, since exact loudness under a true-peak
    ceiling is only known from the published file. The peer is not bound by this: it
    measures its input, not what it publishes."""
    for source in sources:
        _ffmpeg("-i", source, "-af", "ebur128", "-f", "null", "-")
    inputs = [arg for source in sources for arg in ("-i", str(source))]
    fitted = "".join(
        f"[{i}:a]aresample={defaults.OUTPUT_SAMPLE_RATE},"
        f"aformat=sample_fmts=fltp:channel_layouts=stereo[a{i}];"
        for i in range(len(sources))
    )
    joined = "".join(f"[a{i}]" for i in range(len(sources))) + f"concat=n={len(sources)}:v=0:a=1"
    _ffmpeg(*inputs, "-filter_complex", fitted + joined + "[out]", "-map", "[out]",
            "-c:a", "libmp3lame", "-b:a", defaults.MP3_BITRATE, "-f", "mp3", out)  # fmt: skip
    _ffmpeg("-i", out, "-af", "ebur128=peak=true", "-f", "null", "-")


def peer_audio_cmd(sources: list[Path], out_dir: Path) -> list[str]:
    return [
        str(Path(sys.executable).with_name("ffmpeg-normalize")), *map(str, sources),
        "-nt", "ebu", "-t", str(defaults.TARGET_LUFS), "-tp", str(defaults.TARGET_TRUE_PEAK),
        "-c:a", "libmp3lame", "-b:a", defaults.MP3_BITRATE, "-ar", str(defaults.OUTPUT_SAMPLE_RATE),
        "-ext", "mp3", "-of", str(out_dir), "-f", "-q",
    ]  # fmt: skip


def loudness(path: Path) -> tuple[float, float]:
    said = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path),
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = said[said.rindex("Summary:") :]
    i = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    tp = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert i and tp
    return float(i.group(1)), float(tp.group(1))


def make_video_source(out: Path) -> Path:
    seconds = 3 * VIDEO_CLIP_SECONDS + 4
    # tagged BT.709 (limited range), as phones tag their video
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={seconds},noise=alls=12:allf=t",
            "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=48000:d={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "12M",
            "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
            "-color_range", "tv", "-c:a", "aac", "-b:a", "128k", out)  # fmt: skip
    return out


def _video_cuts() -> list[tuple[float, float]]:
    return [(1.0 + i * (VIDEO_CLIP_SECONDS + 1), VIDEO_CLIP_SECONDS) for i in range(3)]


def ours_video(source: Path, out: Path) -> None:
    from pipeline.media.probe import probe_video
    from pipeline.records import Clip, Timeline
    from pipeline.render.video import render_video

    info = probe_video(source)
    assert info is not None
    clips, start = [], 0.0
    for at, length in _video_cuts():
        clips.append(Clip("src", at, at + length, start))
        start += length
    timeline = Timeline(out.with_suffix(".yaml"), "peers", tuple(clips), ())
    render_video(timeline, {"src": source}, {"src": info}, {"src": 0.0}, out)


def floor_video_cmd(source: Path, out: Path) -> list[str]:
    """One ffmpeg run: the same parts cut, fitted to 1080p30, joined and encoded with the
    same settings; no loudness measurement, no groups, no checks."""
    from fractions import Fraction

    from pipeline.render.video import Canvas, bitrate_ceiling
    from pipeline.render.video.render import ENCODE_AUDIO, ENCODE_VIDEO

    ceiling = bitrate_ceiling(Canvas(1920, 1080, Fraction(30)))
    inputs: list[str] = []
    chains: list[str] = []
    for i, (at, length) in enumerate(_video_cuts()):
        inputs += ["-ss", f"{at}", "-t", f"{length}", "-i", str(source)]
        chains.append(f"[{i}:v]fps=30,scale=1920:1080,setsar=1,format=yuv420p[v{i}]")
        chains.append(f"[{i}:a]aresample=48000,aformat=channel_layouts=stereo[a{i}]")
    joined = "".join(f"[v{i}][a{i}]" for i in range(3)) + "concat=n=3:v=1:a=1[v][a]"
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-y", *inputs,
        "-filter_complex", ";".join([*chains, joined]), "-map", "[v]", "-map", "[a]",
        *ENCODE_VIDEO, "-maxrate", str(ceiling), "-bufsize", str(2 * ceiling),
        *ENCODE_AUDIO, "-movflags", "+faststart", str(out),
    ]  # fmt: skip


def _timed(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, children included) of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _figures(pairs: list[tuple[tuple[float, float], tuple[float, float]]]) -> dict[str, Any]:
    """Seconds and median ratios (wall clock and CPU) of (ours, peer) pairs."""
    return {
        "ours_seconds": [round(a[0], 2) for a, _ in pairs],
        "peer_seconds": [round(b[0], 2) for _, b in pairs],
        "median_ratio": round(statistics.median(a[0] / b[0] for a, b in pairs), 3),
        "ours_cpu_seconds": [round(a[1], 2) for a, _ in pairs],
        "peer_cpu_seconds": [round(b[1], 2) for _, b in pairs],
        "median_cpu_ratio": round(statistics.median(a[1] / b[1] for a, b in pairs), 3),
    }


def side_by_side(a: list[str], b: list[str], runs: int) -> dict[str, Any]:
    """A and B in turn, ``runs`` times each; ratio A/B pair by pair."""
    return _figures([(_timed(a), _timed(b)) for _ in range(runs)])


def run(runs: int, only: str | None = None) -> dict[str, Any]:
    me = [sys.executable, "-m", "bench.peers"]
    results: dict[str, Any] = {"runs": runs}
    with tempfile.TemporaryDirectory(prefix="storycast-peers-") as tmp_name:
        tmp = Path(tmp_name)
        if only != "video":
            results["audio"] = _audio(tmp, me, runs)
        if only != "audio":
            source = make_video_source(tmp / "phone-1080p.mp4")
            video_out, floor_out = tmp / "ours.mp4", tmp / "floor.mp4"
            results["video"] = {
                "episode_seconds": 3 * VIDEO_CLIP_SECONDS,
                **side_by_side(
                    [*me, "--ours-video", str(video_out), str(source)],
                    floor_video_cmd(source, floor_out),
                    runs,
                ),
            }
    return results


def _audio(tmp: Path, me: list[str], runs: int) -> dict[str, Any]:
    sources = make_recordings(tmp)
    ours_out, peer_dir = tmp / "ours" / "episode.mp3", tmp / "peer"
    ours = [*me, "--ours-audio", str(ours_out), *map(str, sources)]
    reset = ["sh", "-c", f"rm -rf {ours_out.parent}; mkdir -p {ours_out.parent}"]
    subprocess.run(reset, check=True)
    floor = [*me, "--exact-floor-audio", str(tmp / "floor.mp3"), *map(str, sources)]
    pairs, floors = [], []
    for _ in range(runs):
        subprocess.run(reset, check=True)
        shutil.rmtree(peer_dir, ignore_errors=True)
        pairs.append((_timed(ours), peer := _timed(peer_audio_cmd(sources, peer_dir))))
        floors.append((_timed(floor), peer))
    peer_files = sorted(peer_dir.glob("*.mp3"))
    bound = _figures(floors)
    return {
        "inputs": [f"{p.name}: {SECONDS:g} s" for p in sources],
        **_figures(pairs),
        # (``exact_floor_audio``: what no exact normaliser can do without, beside the peer)
        "exact_floor_seconds": bound["ours_seconds"],
        "exact_floor_cpu_seconds": bound["ours_cpu_seconds"],
        "exact_floor_median_cpu_ratio": bound["median_cpu_ratio"],
        "ours_lufs_tp": loudness(ours_out),
        "peer_lufs_tp": {p.name: loudness(p) for p in peer_files},
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["audio", "video"], help="run one pair only")
    parser.add_argument("--ours-audio", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ours-video", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--exact-floor-audio", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("inputs", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ours_audio:
        ours_audio(args.inputs, args.ours_audio)
        return 0
    if args.exact_floor_audio:
        exact_floor_audio(args.inputs, args.exact_floor_audio)
        return 0
    if args.ours_video:
        ours_video(args.inputs[0], args.ours_video)
        return 0
    write_results("peers", run(args.runs, args.only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
