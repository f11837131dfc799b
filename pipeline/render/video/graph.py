"""The filter graphs of a video render: each clip's picture chain (scaled, rotated,
tone-mapped, timed, faded), burned-in captions drawn as written, and the plan of which
clips go through which ffmpeg run.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline import defaults
from pipeline.media.runner import run, source_input
from pipeline.records import HDR_TRANSFERS, Clip, Timeline, VideoInfo
from pipeline.render.audio import ClipSound, clip_chain
from pipeline.render.video.plan import HOLD_LAST_PICTURE, Canvas, clip_frames


@cache
def ffmpeg_filters() -> frozenset[str]:
    proc = run(["ffmpeg", "-hide_banner", "-filters"], what="listing ffmpeg's filters")
    names = set()
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and len(parts[0]) == 3 and "->" in parts[2]:
            names.add(parts[1])
    return frozenset(names)


def _tonemap(info: VideoInfo) -> str:
    tin = info.color_transfer if info.color_transfer in HDR_TRANSFERS else "bt709"
    return (
        f"zscale=tin={tin}:pin=bt2020:min=bt2020nc:rin=tv:t=linear:npl=100,"
        "format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,"
        "zscale=t=bt709:m=bt709:r=tv"
    )


def _video_chain(clip: Clip, info: VideoInfo, canvas: Canvas, frames: int) -> list[str]:
    chain = [f"fps={canvas.rate}"]
    if info.needs_tonemap:
        chain.append(_tonemap(info))
    if info.sample_aspect not in ("1:1", "0:1"):
        chain.append("scale=trunc(iw*sar/2)*2:ih,setsar=1")
    chain += [
        f"scale=w={canvas.width}:h={canvas.height}:force_original_aspect_ratio=decrease"
        ":force_divisible_by=2:out_color_matrix=bt709:out_range=tv:flags=bicubic",
        f"pad={canvas.width}:{canvas.height}:(ow-iw)/2:(oh-ih)/2:color=black",
        "setsar=1",
        "format=yuv420p",
        # A file may hold a frame less than its sound: clone the last one, never run short.
        f"tpad=stop_mode=clone:stop_duration={HOLD_LAST_PICTURE:g}",
        f"trim=end_frame={frames}",
        f"setpts=N*{canvas.fps.denominator}/{canvas.fps.numerator}/TB",
    ]
    length = frames / float(canvas.fps)
    if clip.fade_in > 0:
        chain.append(f"fade=t=in:st=0:d={clip.fade_in:.6f}")
    if clip.fade_out > 0:
        chain.append(f"fade=t=out:st={max(0.0, length - clip.fade_out):.6f}:d={clip.fade_out:.6f}")
    return chain


# What libass and ffmpeg's WebVTT reader would read as markup, drawn as the same-looking
# characters instead: the burned picture shows the caption exactly as written.
_BURN_SAFE = str.maketrans({"<": "\u2039", ">": "\u203a", "&": "\uff06", "\\": "\uff3c",
                            "{": "\uff5b", "}": "\uff5d"})  # fmt: skip


_VOICE = re.compile(r"</?v(?:[ .][^>]*)?>")


def burnable_vtt(vtt: str) -> str:
    """The published WebVTT as libass should draw it: the same cues and times, with the
    speaker shown as "Name: " (not as a voice tag), entities decoded, and every character
    that ffmpeg or libass would take for markup (``<``, ``>``, ``&``, ``\\``, ``{``, ``}``)
    replaced by one that looks the same, so nothing in a caption can change what is drawn.
    """
    blocks = vtt.split("\n\n")
    out = [blocks[0]]  # the WEBVTT header
    for block in blocks[1:]:
        lines = block.split("\n")
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            out.append(block)
            continue
        payload = []
        for line in lines[timing + 1 :]:
            speaker = re.match(r"<v(?:[ .]([^>]*))?>", line)
            text = _VOICE.sub("", line)
            text = html.unescape(text).translate(_BURN_SAFE)
            if speaker and speaker.group(1):
                text = html.unescape(speaker.group(1)).translate(_BURN_SAFE) + ": " + text
            payload.append(text)
        out.append("\n".join(lines[: timing + 1] + payload))
    return "\n\n".join(out)


def _filter_path(path: Path) -> str:
    """A path quoted for a filter option inside a filtergraph."""
    text = str(path).replace("\\", "\\\\\\\\").replace("'", "\\\\\\'").replace(":", "\\\\:")
    return f"'{text}'"


@dataclass(frozen=True)
class _Pictures:
    """One group of clips whose pictures are rendered (and encoded) in one ffmpeg run."""

    inputs: list[str]
    graph: str  # ending in [vout]
    frames: int
    # Seconds of pictures, for the time limits; HDR counts double: tone-mapping 1080p
    # took 1.9 s a second on 2 cores, against about 1.3 s for SDR.
    seconds: float


@dataclass(frozen=True)
class _Plan:
    sounds: list[ClipSound]  # the sound of every clip (or a silent stand-in), in order
    pictures: list[_Pictures]
    frames: int


def _picture_group(
    clips: Sequence[tuple[Clip, int]],
    sources: dict[str, Path],
    videos: dict[str, VideoInfo],
    canvas: Canvas,
    burn: Path | None,
    offset: float,
) -> _Pictures:
    """The pictures of ``clips`` (each with its frame count), joined, from ``offset`` s."""
    inputs: list[str] = []
    chains: list[str] = []
    labels = ""
    for i, (clip, frames) in enumerate(clips):
        # One decoder thread per input: frame threads each hold their own 1080p pictures.
        inputs += ["-threads", "1", "-ss", f"{clip.src_in:.6f}", "-t", f"{clip.duration + 0.5:.6f}",
                   *source_input(sources[clip.source])]  # fmt: skip
        chain = _video_chain(clip, videos[clip.source], canvas, frames)
        chains.append(f"[{i}:v:0]" + ",".join(chain) + f"[v{i}]")
        labels += f"[v{i}]"
    tail = f"{labels}concat=n={len(clips)}:v=1:a=0"
    if burn is not None:
        # Captions are timed in episode time: show this group at its place, then restart.
        tail += (
            f",setpts=PTS+{offset:.6f}/TB"
            f",subtitles=filename={_filter_path(burn)}:force_style='{defaults.VIDEO_CAPTION_STYLE}'"
            ",setpts=PTS-STARTPTS"
        )
    chains.append(tail + ",format=yuv420p[vout]")
    frames = sum(f for _c, f in clips)
    hdr = any(videos[c.source].needs_tonemap for c, _f in clips)
    seconds = frames / float(canvas.fps) * (2 if hdr else 1)
    return _Pictures(inputs, ";".join(chains), frames, seconds)


def _plan(
    timeline: Timeline,
    sources: dict[str, Path],
    videos: dict[str, VideoInfo],
    gains_db: dict[str, float],
    canvas: Canvas,
    silent: set[str],
    burn: Path | None,
) -> _Plan:
    """The sound of every clip, rendered a few clips per run by ``render.render_stems``,
    and the pictures in groups of ``defaults.VIDEO_CLIPS_PER_RUN``: every input's video
    decoder and its frame buffers live for the whole of an ffmpeg run (about 35 MB
    a clip at 1080p), so one run over all clips would grow with the EDL."""
    sounds: list[ClipSound] = []
    for clip in timeline.clips:
        chain = clip_chain(timeline, clip, gains_db.get(clip.source, 0.0), fill_gaps=True)
        if clip.source in silent:
            inputs = ["-f", "lavfi", "-t", f"{clip.duration + 0.5:.6f}", "-i",
                      f"anullsrc=r={defaults.WORK_SAMPLE_RATE}:cl=stereo"]  # fmt: skip
        else:
            # Sound only: -vn keeps the pictures of these inputs from being decoded.
            inputs = ["-vn", "-ss", f"{clip.src_in:.6f}", "-t", f"{clip.duration + 0.5:.6f}",
                      *source_input(sources[clip.source])]  # fmt: skip
        sounds.append(ClipSound(inputs, chain, clip.duration))

    # A clip shorter than half a frame has no picture of its own.
    shown = [(c, f) for c in timeline.clips if (f := clip_frames(c, canvas.fps)) > 0]
    size = max(1, defaults.VIDEO_CLIPS_PER_RUN)
    pictures: list[_Pictures] = []
    done = 0
    for start in range(0, len(shown), size):
        group = _picture_group(
            shown[start : start + size], sources, videos, canvas, burn, done / float(canvas.fps)
        )
        pictures.append(group)
        done += group.frames
    return _Plan(sounds, pictures, done)
