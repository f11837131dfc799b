"""render: one streamed ffmpeg filter graph per episode, exactly as the Timeline says.

Each clip is its own input, seeked to its in point and trimmed to its exact
sample length, so ffmpeg never holds a whole recording and nothing is added,
dropped, reordered or stretched. Per clip: resample to the working format, a
gain for its recording (so quiet and loud phones sound alike), the clip's own
fades. Then concat, a look-ahead limiter with its delay compensated, and
loudnorm in two passes (measure, then a linear gain). loudnorm silently falls
back to dynamic mode in some cases; we read which mode it used and report it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from . import defaults
from .analyse import loudness_from, parse_loudnorm, recording_gain
from .cache import Cache
from .errors import Problem, ToolError
from .records import Loudness, Recording, Timeline
from .runner import run

RENDER_VERSION = 1  # bump when the graph changes what comes out


@dataclass(frozen=True)
class RenderResult:
    path: Path
    key: str
    normalization: str  # "linear" or "dynamic"
    loudness: Loudness  # of the output, as loudnorm measured it


def render_key(
    timeline: Timeline, recordings: dict[str, Recording], gains: dict[str, float]
) -> str:
    """Hash of everything that decides the rendered bytes."""
    spec = {
        "version": RENDER_VERSION,
        "clips": [
            [
                recordings[c.source].sha256,
                c.src_in,
                c.src_out,
                c.fade_in,
                c.fade_out,
                round(gains[c.source], 3),
            ]
            for c in timeline.clips
        ],
        "target": [
            defaults.TARGET_LUFS,
            defaults.TARGET_TRUE_PEAK,
            defaults.TARGET_LRA,
            defaults.PRE_LIMIT_DBFS,
        ],
        "output": [defaults.OUTPUT_SAMPLE_RATE, defaults.OUTPUT_CHANNELS, defaults.MP3_BITRATE],
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _inputs(timeline: Timeline, recordings: dict[str, Recording]) -> list[str]:
    args: list[str] = []
    for clip in timeline.clips:
        # Input seek lands on the packet before `in` and decodes forward to it exactly;
        # the -t margin lets atrim cut the exact sample length below.
        args += [
            "-ss",
            f"{clip.src_in:.6f}",
            "-t",
            f"{clip.duration + 0.5:.6f}",
            "-i",
            str(recordings[clip.source].path),
        ]
    return args


def _graph(timeline: Timeline, gains: dict[str, float]) -> str:
    parts: list[str] = []
    labels: list[str] = []
    for i, clip in enumerate(timeline.clips):
        chain = [
            f"aresample={defaults.WORK_SAMPLE_RATE}",
            "aformat=sample_fmts=fltp:channel_layouts=stereo",
            f"atrim=end_sample={round(clip.duration * defaults.WORK_SAMPLE_RATE)}",
            "asetpts=N/SR/TB",
            f"volume={gains[clip.source]:.3f}dB:precision=float",
        ]
        if clip.fade_in > 0:
            chain.append(f"afade=t=in:st=0:d={clip.fade_in:.6f}")
        if clip.fade_out > 0:
            chain.append(
                f"afade=t=out:st={clip.duration - clip.fade_out:.6f}:d={clip.fade_out:.6f}"
            )
        parts.append(f"[{i}:a:0]" + ",".join(chain) + f"[c{i}]")
        labels.append(f"[c{i}]")
    limit = 10 ** (defaults.PRE_LIMIT_DBFS / 20)
    parts.append(
        "".join(labels)
        + f"concat=n={len(labels)}:v=0:a=1,"
        + f"alimiter=limit={limit:.4f}:level=false:latency=true:attack=5:release=50[mix]"
    )
    return ";".join(parts)


def _loudnorm(measured: dict[str, object] | None) -> str:
    base = (
        f"loudnorm=I={defaults.TARGET_LUFS}:TP={defaults.TARGET_TRUE_PEAK}"
        f":LRA={defaults.TARGET_LRA}:print_format=json"
    )
    if measured is None:
        return base
    return (
        base
        + f":measured_I={measured['input_i']}:measured_TP={measured['input_tp']}"
        + f":measured_LRA={measured['input_lra']}:measured_thresh={measured['input_thresh']}"
        + f":offset={measured['target_offset']}:linear=true"
    )


def render(
    timeline: Timeline,
    recordings: dict[str, Recording],
    loudness: dict[str, Loudness],
    cache: Cache,
) -> RenderResult:
    """Render the Timeline to a normalised MP3 in the cache; reuse it if already made."""
    gains = {name: recording_gain(loudness[name]) for name in timeline.sources()}
    key = render_key(timeline, recordings, gains)
    out = cache.path("renders", key, ".mp3")
    report = cache.get_json("renders", key)
    if out.exists() and report is not None:
        return RenderResult(out, key, report["normalization"], Loudness(**report["loudness"]))

    graph = _graph(timeline, gains)
    inputs = _inputs(timeline, recordings)
    where = timeline.edl_path
    first = run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-nostats",
            *inputs,
            "-filter_complex",
            f"{graph};[mix]{_loudnorm(None)}[out]",
            "-map",
            "[out]",
            "-f",
            "null",
            "-",
        ],
        what="rendering (loudness pass 1)",
        path=where,
    )
    measured = parse_loudnorm(first.stderr)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp.mp3")
    try:
        second = run(
            [
                "ffmpeg",
                "-nostdin",
                "-hide_banner",
                "-nostats",
                "-y",
                *inputs,
                "-filter_complex",
                f"{graph};[mix]{_loudnorm(measured)},aresample={defaults.OUTPUT_SAMPLE_RATE}[out]",
                "-map",
                "[out]",
                "-map_metadata",
                "-1",
                "-map_chapters",
                "-1",
                "-fflags",
                "+bitexact",
                "-flags:a",
                "+bitexact",
                "-c:a",
                "libmp3lame",
                "-b:a",
                defaults.MP3_BITRATE,
                "-ac",
                str(defaults.OUTPUT_CHANNELS),
                "-ar",
                str(defaults.OUTPUT_SAMPLE_RATE),
                "-id3v2_version",
                "0",
                "-write_xing",
                "1",
                "-f",
                "mp3",
                tmp,
            ],
            what="rendering (loudness pass 2 and MP3 encode)",
            path=where,
        )
        result = parse_loudnorm(second.stderr)
        mode = str(result.get("normalization_type", "unknown")).lower()
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise ToolError(Problem(where, "ffmpeg wrote no audio for this episode."))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    produced = loudness_from(result, "output")
    cache.put_json(
        "renders",
        key,
        {
            "schema": "storycast.Render.1",
            "normalization": mode,
            "loudness": {
                "integrated": produced.integrated,
                "true_peak": produced.true_peak,
                "lra": produced.lra,
                "threshold": produced.threshold,
            },
            "pass1": measured,
        },
    )
    return RenderResult(out, key, mode, produced)
