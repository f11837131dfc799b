"""A video episode's sources checked before anything is rendered: a picture, sound, and a
picture as long as each clip (held up to ``HOLD_LAST_PICTURE`` past its end).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import MediaError, Problem
from pipeline.media.runner import media_timeout, run
from pipeline.records import Timeline, VideoInfo, seconds_at_most
from pipeline.render.video.graph import ffmpeg_filters
from pipeline.render.video.plan import HOLD_LAST_PICTURE


def _count_frames(path: Path, seconds: float = 0.0) -> int:
    """Pictures in a rendered MP4's video track, counted packet by packet (no decoding)."""
    proc = run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
         "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path],
        what="counting the rendered frames",
        path=path,
        timeout=media_timeout(seconds),
    )  # fmt: skip
    text = proc.stdout.strip().rstrip(",")
    return int(text) if text.isdigit() else -1


def check_sources(
    timeline: Timeline,
    sources: dict[str, Path],
    videos: dict[str, VideoInfo],
    allow_silent: bool,
) -> set[str]:
    problems: list[Problem] = []
    silent: set[str] = set()
    for name in timeline.sources():
        line = next((c.line for c in timeline.clips if c.source == name), None)
        path = sources.get(name)
        info = videos.get(name)
        if path is None:
            problems.append(Problem(timeline.edl_path, f"no recording named {name!r}.", line=line))
            continue
        if info is None:
            problems.append(
                Problem(
                    path,
                    "this file is listed as video but has no picture (it is audio only).",
                    "Use the phone's video file, or publish this episode as audio.",
                )
            )
            continue
        for clip in (c for c in timeline.clips if c.source == name):
            if clip.src_out > info.duration + HOLD_LAST_PICTURE:
                ends = seconds_at_most(info.duration)
                problems.append(
                    Problem(
                        timeline.edl_path,
                        f"the clip of {name} runs to {clip.src_out:g} s, but the picture in "
                        f"that file ends at {ends} s (its sound goes on).",
                        f"End the clip at {ends} s or earlier, or publish the "
                        "episode as audio (medium: audio); storycast holds a last picture "
                        f"for at most {HOLD_LAST_PICTURE:g} s, so sound and picture stay in step.",
                        line=clip.line,
                        field="out",
                    )
                )
        if not info.has_audio:
            if allow_silent:
                silent.add(name)
            else:
                problems.append(
                    Problem(
                        path,
                        "this video has no sound track, so it cannot be part of a story "
                        "episode as the EDL stands.",
                        "Use the phone's original file (with sound), or remove its clips "
                        "from the EDL.",
                    )
                )
        if info.needs_tonemap and not {"zscale", "tonemap"} <= ffmpeg_filters():
            problems.append(
                Problem(
                    path,
                    f"this is HDR video ({info.color_transfer or info.color_primaries}, "
                    f"{info.bit_depth}-bit {info.codec}) and this ffmpeg cannot tone-map it "
                    "(it lacks the zscale filter).",
                    "Install an ffmpeg built with libzimg (Debian's is), or export the clip "
                    "from the phone as 'Most Compatible' (H.264, SDR).",
                )
            )
    if problems:
        raise MediaError(problems)
    return silent
