"""video: phone videos rendered to a captioned MP4 episode, exactly as the Timeline says.

The same shape as the audio render (``render``): every clip is its own ffmpeg
input, seeked to its in point with ``-ss``/``-t``, and the whole episode goes
through one streamed filter graph per pass, so memory depends on the picture
size, not on the length. Per clip:

- picture: ffmpeg turns it upright on decode (``autorotate``, on by default, so
  the output carries no rotation matrix); HDR (PQ or HLG, BT.2020) is tone-mapped
  to SDR BT.709 with zscale + tonemap; ``fps`` makes variable frame rate
  constant; scale + pad fit it on the episode's canvas (aspect kept, black bars);
  ``setsar=1``, yuv420p; it is padded by cloning its last frame if the file runs
  short and trimmed to an exact frame count; the EDL's fades fade it from and to black.
- sound: as in the audio episode (``render``): 48 kHz stereo float, the
  recording's gain, the redactions (``render.redaction_filters``, sample-exact),
  the fades, trimmed to the exact sample count; silence fills a gap left by a
  damaged packet or a sound track that ends early, so lips stay in sync.

Pictures and sound are concatenated separately (two concat filters, ``v=1:a=0``
and ``v=0:a=1``) rather than in one ``concat v=1:a=1``: clip ``i`` gets
``round(end_i * fps) - round(start_i * fps)`` frames, so the picture never
drifts more than half a frame from the sound at any cut, while the sound keeps
its exact sample length. (One concat would pad every clip's shorter stream to
the longer one and let the sub-frame differences add up.)

Loudness is the audio episode's: pass 1 measures the mixed sound only (no
picture is decoded), ``render.final_gain`` picks the one linear gain, pass 2
encodes picture and sound, and the AAC in the MP4 is measured after encoding.

The episode's frame rate is the highest nominal rate of its clips, halved until
it is at most 30 (60 -> 30, 50 -> 25, 59.94 -> 29.97) and snapped to the
nearest standard rate (23.976, 24, 25, 29.97, 30): phones film at 30 or 60,
halving never invents in-between frames, and 30 fps halves the encode cost of
60 for talking heads. The canvas is the longest-running source's upright size,
fitted into 1920x1080 (landscape) or 1080x1920 (portrait) and never enlarged,
rounded down to even numbers; ``orientation`` can force landscape or portrait,
in which case the other shape gets black bars.

Output: H.264 High, yuv420p, BT.709 tags, a keyframe every 2 s, AAC-LC 160 kb/s
48 kHz stereo, an optional mov_text subtitle track (soft captions, with a
language), optionally the captions burned into the picture (libass
``subtitles``), ``+faststart``; no tags, no chapters, no creation time, no
encoder version (``scrub.STRIP_ARGS``), and x264's settings SEI removed. Every
output is checked with ``scrub.find_traces`` against the source files' own tag
values before it is handed back.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pipeline import defaults
from pipeline.errors import MediaError, Problem, ToolError
from pipeline.media.loudness import MEASURE_FILTER, measure
from pipeline.media.probe import probe_video
from pipeline.media.runner import media_timeout, run, source_input
from pipeline.media.scrub import STRIP_ARGS, find_traces, source_values
from pipeline.records import HDR_TRANSFERS, Clip, Loudness, Timeline, VideoInfo
from pipeline.render.audio import MIX_GRAPH, ClipSound, clip_chain, final_gain, render_stems

VIDEO_RENDER_VERSION = 2  # bump when the graph changes what comes out

Orientation = Literal["keep", "landscape", "portrait"]

# A clip may run past its file's last picture by this much (phones often stop the picture a
# frame or a few before the sound); the last picture is held. Any more is an EDL error.
HOLD_LAST_PICTURE = 1.0
STANDARD_RATES = (
    Fraction(24000, 1001),
    Fraction(24),
    Fraction(25),
    Fraction(30000, 1001),
    Fraction(30),
)
# ISO 639-1 -> 639-2/T for the subtitle track's language (MP4 stores three letters).
_LANGUAGES = {
    "en": "eng", "cy": "cym", "gd": "gla", "ga": "gle", "fr": "fra", "de": "deu",
    "es": "spa", "pl": "pol", "ur": "urd", "pa": "pan", "ar": "ara", "so": "som",
    "pt": "por", "it": "ita", "nl": "nld", "ro": "ron", "uk": "ukr", "bn": "ben",
}  # fmt: skip
# Lines of ffmpeg's stderr that mean a picture or sound packet could not be decoded.
_DECODE_ERROR = re.compile(
    r"error while decoding|concealing|Invalid NAL|corrupt|"
    r"Invalid data found|non-existing PPS|decode_slice_header error|missing picture",
    re.I,
)


# ---------------------------------------------------------------------- records


@dataclass(frozen=True)
class Canvas:
    """The episode's picture: size and constant frame rate."""

    width: int
    height: int
    fps: Fraction

    @property
    def rate(self) -> str:
        return f"{self.fps.numerator}/{self.fps.denominator}"


@dataclass(frozen=True)
class VideoResult:
    path: Path
    canvas: Canvas
    duration: float  # seconds of picture in the MP4 (frames / fps)
    frames: int
    gain_db: float
    loudness: Loudness  # of the AAC in the MP4, measured after encoding
    poster: Path | None
    subtitles: bool  # a mov_text track is in the file
    burned_in: bool
    notes: tuple[str, ...] = field(default=())  # for the run summary


# ---------------------------------------------------------------------- planning


def nominal_rate(info: VideoInfo) -> Fraction:
    """The standard rate a clip was filmed at, at most 30 fps (60 -> 30, 50 -> 25)."""
    raw = info.avg_frame_rate if (info.vfr or not 0 < info.r_frame_rate <= 240) else 0.0
    value = raw or info.r_frame_rate or info.avg_frame_rate
    if not value or value <= 0 or value > 1000:
        return Fraction(defaults.VIDEO_DEFAULT_FPS)
    while value > defaults.VIDEO_MAX_FPS * 1.02:
        value /= 2
    best = min(STANDARD_RATES, key=lambda r: abs(float(r) - value))
    if abs(float(best) - value) / value <= 0.03:
        return best
    return Fraction(value).limit_denominator(1001)


def _even_down(x: float) -> int:
    return max(2, int(x) // 2 * 2)


def plan_canvas(
    clips: Sequence[tuple[VideoInfo, float]], orientation: Orientation = "keep"
) -> Canvas:
    """The episode's size and frame rate from its clips (video, seconds used) in EDL order."""
    if not clips:
        raise ValueError("an episode needs at least one clip")
    fps = max(nominal_rate(info) for info, _ in clips)
    totals: dict[Path, float] = {}
    first: dict[Path, VideoInfo] = {}
    for info, seconds in clips:
        totals[info.path] = totals.get(info.path, 0.0) + seconds
        first.setdefault(info.path, info)
    # The longest-running source sets the shape; the earliest wins a tie.
    lead = first[max(totals, key=lambda p: (totals[p], -list(totals).index(p)))]
    w, h = lead.display_width, lead.display_height
    portrait = h > w if orientation == "keep" else orientation == "portrait"
    box_w, box_h = (
        (defaults.VIDEO_MAX_SHORT_SIDE, defaults.VIDEO_MAX_LONG_SIDE)
        if portrait
        else (defaults.VIDEO_MAX_LONG_SIDE, defaults.VIDEO_MAX_SHORT_SIDE)
    )
    if (h > w) == portrait or w == h:
        scale = min(1.0, box_w / w, box_h / h)
        return Canvas(_even_down(w * scale), _even_down(h * scale), fps)
    # Forced to the other shape: a 16:9 (or 9:16) canvas whose short side holds the
    # source's long side, so the source is shown at its own size between black bars.
    short = min(defaults.VIDEO_MAX_SHORT_SIDE, max(w, h))
    long = _even_down(short * 16 / 9)
    return Canvas(short, long, fps) if portrait else Canvas(long, _even_down(short), fps)


def clip_frames(clip: Clip, fps: Fraction) -> int:
    """Frames clip gets: whole frames between its start and end on the episode's frame grid."""
    rate = float(fps)
    return round(clip.end * rate) - round(clip.start * rate)


# ---------------------------------------------------------------------- graph


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


# ---------------------------------------------------------------------- render


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
                problems.append(
                    Problem(
                        timeline.edl_path,
                        f"the clip of {name} runs to {clip.src_out:.2f} s, but the picture in "
                        f"that file ends at {info.duration:.2f} s (its sound goes on).",
                        f"End the clip at {info.duration:.2f} s or earlier, or publish the "
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


def _language(code: str) -> str:
    code = code.lower().split("-")[0]
    if len(code) == 3:
        return code
    return _LANGUAGES.get(code, "und")


def _decode_notes(stderr: str, timeline: Timeline, sources: dict[str, Path]) -> list[str]:
    bad = [
        line.strip()
        for line in stderr.splitlines()
        # Only decoder messages ("[h264 @ 0x...] ..."), never a line that merely names a file.
        if (" @ 0x" in line or line.startswith("Error while decoding"))
        and _DECODE_ERROR.search(line.split("]", 1)[-1])
    ]
    if not bad:
        return []
    names = ", ".join(str(sources[n].name) for n in timeline.sources())
    return [
        f"{len(bad)} damaged picture or sound packets were skipped or concealed while "
        f"rendering from {names} (first: {bad[0][:160]}); the rest was rendered. "
        "Watch the episode where the picture breaks up, and copy the file from the phone "
        "again if it matters."
    ]


ENCODE_VIDEO = [
    "-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p",
    "-preset", defaults.VIDEO_PRESET, "-crf", str(defaults.VIDEO_CRF),
    "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
    "-color_range", "tv",
    # x264's SEI names its version and settings; the picture does not need it.
    "-bsf:v", "filter_units=remove_types=6",
]  # fmt: skip
ENCODE_AUDIO = [
    "-c:a", "aac", "-b:a", defaults.VIDEO_AUDIO_BITRATE,
    "-ar", str(defaults.VIDEO_AUDIO_SAMPLE_RATE), "-ac", str(defaults.OUTPUT_CHANNELS),
]  # fmt: skip


def render_video(
    timeline: Timeline,
    sources: dict[str, Path],
    videos: dict[str, VideoInfo],
    gains_db: dict[str, float],
    out: Path,
    *,
    final_gain_db: float | None = None,
    captions_vtt: Path | None = None,
    captions_language: str = "en",
    burn_in: bool = False,
    orientation: Orientation = "keep",
    poster: Path | None = None,
    poster_at: float | None = None,
    allow_silent: bool = False,
    needles: list[str] | None = None,
) -> VideoResult:
    """Render ``timeline`` from phone videos to an H.264/AAC MP4 at ``out``.

    ``sources``: recording name -> file; ``videos``: name -> ``probe_video``
    (a missing entry is an audio-only file: an error). ``gains_db``: the
    per-recording gain (``analyse.recording_gain``), as the audio episode uses.
    ``final_gain_db``: skip loudness pass 1 when the caller already knows it.
    ``captions_vtt``: the episode's WebVTT, muxed as a mov_text track in
    ``captions_language`` (and burned in when ``burn_in``). ``poster``: where to
    write a JPEG of the frame at ``poster_at`` (episode seconds; default: the
    first frame). Raises MediaError for unusable sources, ToolError if ffmpeg fails.

    ``needles``: the sources' personal tag values (``Recording.tags``), which the render
    must not carry; read from the sources when not given.
    """
    if not timeline.clips:
        raise MediaError(Problem(timeline.edl_path, "the EDL keeps no clips; nothing to render."))
    silent = check_sources(timeline, sources, videos, allow_silent)
    if burn_in and captions_vtt is None:
        raise ValueError("burn_in needs captions_vtt")
    if burn_in and "subtitles" not in ffmpeg_filters():
        raise ToolError(
            Problem(
                captions_vtt,
                "this ffmpeg cannot burn captions into the picture (no libass 'subtitles' filter).",
                "Install an ffmpeg built with libass, or turn off burned-in captions for "
                "this show; the soft caption track is still added.",
            )
        )
    canvas = plan_canvas([(videos[c.source], c.duration) for c in timeline.clips], orientation)
    where = timeline.edl_path
    notes: list[str] = []
    # Beside the output (the cache), so a takedown finds what a killed render left.
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=out.parent))
    try:
        burn = None
        if burn_in and captions_vtt is not None:
            burn = work / "captions.vtt"
            burn.write_text(burnable_vtt(captions_vtt.read_text(encoding="utf-8")), "utf-8")
        plan = _plan(timeline, sources, videos, gains_db, canvas, silent, burn)
        if not plan.pictures:
            raise MediaError(
                Problem(where, "every clip is shorter than one video frame; nothing to show.")
            )

        # The sound first (a few clips per run, lossless), then measured and mixed from that.
        sound, stderr = render_stems(plan.sounds, work, where)
        if final_gain_db is None:
            mix = measure(
                [*sound, "-filter_complex", f"{MIX_GRAPH};[mix]{MEASURE_FILTER}[out]",
                 "-map", "[out]"],
                "rendering video (loudness pass 1)",
                where,
                timeline.duration,
            )  # fmt: skip
            gain, note = final_gain(mix)
            if note:
                notes.append(note)
        else:
            gain = final_gain_db

        # Pass 2a: the pictures, a group of clips per run, each encoded once to H.264.
        parts: list[Path] = []
        gop = str(max(1, round(float(canvas.fps) * defaults.VIDEO_GOP_SECONDS)))
        ceiling, buffer = str(bitrate_ceiling(canvas)), str(2 * bitrate_ceiling(canvas))
        for k, group in enumerate(plan.pictures):
            part = work / f"pictures-{k:05d}.mp4"
            proc = run(
                ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-y", *group.inputs,
                 "-filter_complex", group.graph, "-map", "[vout]", "-an", "-sn", "-dn",
                 *ENCODE_VIDEO, "-maxrate", ceiling, "-bufsize", buffer, "-r", canvas.rate,
                 "-g", gop, *STRIP_ARGS, "-f", "mp4", part],
                what=f"rendering video (pictures, part {k + 1} of {len(plan.pictures)})",
                path=where,
                timeout=media_timeout(group.seconds),
            )  # fmt: skip
            stderr += proc.stderr
            made = _count_frames(part, group.seconds)
            if made != group.frames:
                # A short part would pull every later clip's picture ahead of its sound.
                raise ToolError(
                    Problem(
                        where,
                        f"part {k + 1} of the pictures has {made} frames where the EDL needs "
                        f"{group.frames}; sound and picture would drift apart.",
                        "Check the clips' source files play to their end on a computer; "
                        "if they do, report this as a storycast bug.",
                    )
                )
            parts.append(part)
        listing = work / "pictures.ffconcat"
        listing.write_text(
            "ffconcat version 1.0\n" + "".join(f"file '{p.name}'\n" for p in parts),
            encoding="utf-8",
        )

        # Pass 2b: the sound at its final gain, AAC, muxed with the pictures as they are.
        graph = (
            f"{MIX_GRAPH};[mix]volume={gain:.3f}dB:precision=float,"
            f"aresample={defaults.VIDEO_AUDIO_SAMPLE_RATE}[aout]"
        )
        n_inputs = sound.count("-i")
        subs: list[str] = []
        subs_in: list[str | Path] = []
        if captions_vtt is not None:
            subs_in = ["-i", captions_vtt]
            subs = [
                "-map", f"{n_inputs + 1}:s:0", "-c:s", "mov_text",
                "-metadata:s:s:0", f"language={_language(captions_language)}",
            ]  # fmt: skip
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp.mp4")
        try:
            proc = run(
                ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-y", *sound,
                 "-f", "concat", "-safe", "0", "-i", listing, *subs_in,
                 "-filter_complex", graph, "-map", f"{n_inputs}:v:0", "-map", "[aout]", *subs,
                 "-c:v", "copy", *ENCODE_AUDIO, *STRIP_ARGS, "-movflags", "+faststart",
                 "-max_muxing_queue_size", "4096", "-f", "mp4", tmp],
                what="rendering video (sound: AAC, and muxing)",
                path=where,
                timeout=media_timeout(timeline.duration),
            )  # fmt: skip
            stderr += proc.stderr
            notes += _decode_notes(stderr, timeline, sources)
            if not tmp.exists() or tmp.stat().st_size == 0:
                raise ToolError(Problem(where, "ffmpeg wrote no video for this episode."))
            produced = measure(
                ["-i", tmp, "-map", "0:a:0", "-af", MEASURE_FILTER],
                "measuring the video episode's sound",
                where,
                timeline.duration,
            )
            miss = defaults.TARGET_LUFS - produced.integrated
            if abs(miss) > 2 * defaults.LOUDNESS_TOLERANCE and not any(
                "loudness" in n for n in notes
            ):
                notes.append(f"the video's sound is {miss:+.1f} LU from the target after AAC")
            if needles is None:
                needles = [v for name in timeline.sources() for v in source_values(sources[name])]
            traces = find_traces(tmp, needles)
            if traces:
                raise ToolError(
                    Problem(
                        where,
                        "the rendered video still carries metadata from the phone: "
                        + "; ".join(traces[:5]),
                        "Do not publish it; report this as a storycast bug.",
                    )
                )
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    poster_path = None
    if poster is not None:
        poster_path = extract_poster(out, poster, poster_at or 0.0, canvas)
    return VideoResult(
        path=out,
        canvas=canvas,
        duration=plan.frames / float(canvas.fps),
        frames=plan.frames,
        gain_db=round(gain, 3),
        loudness=produced,
        poster=poster_path,
        subtitles=captions_vtt is not None,
        burned_in=burn is not None,
        notes=tuple(notes),
    )


def extract_poster(video: Path, out: Path, at: float = 0.0, canvas: Canvas | None = None) -> Path:
    """A JPEG of the frame shown at ``at`` seconds of ``video`` (clamped into the video)."""
    if canvas is not None and at > 0:
        info = probe_video(video)
        if info is not None and info.duration > 0:
            at = min(at, max(0.0, info.duration - 1.5 / float(canvas.fps)))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp.jpg")
    try:
        run(
            ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-y", "-ss", f"{max(0.0, at):.6f}",
             "-i", video, "-map", "0:v:0", "-frames:v", "1",
             "-vf", "scale=out_range=pc:out_color_matrix=bt709,format=yuvj420p",
             "-c:v", "mjpeg", "-q:v", str(defaults.VIDEO_POSTER_QUALITY), *STRIP_ARGS,
             "-f", "image2", "-update", "1", tmp],
            what="making the poster image",
            path=video,
        )  # fmt: skip
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise ToolError(Problem(video, f"no frame at {at:.3f} s for the poster image."))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def bitrate_ceiling(canvas: Canvas) -> int:
    """The most bits per second the pictures may take (x264's VBV), for this canvas."""
    share = canvas.width * canvas.height / (1920 * 1080)
    return max(defaults.VIDEO_MIN_MAX_BITRATE, round(defaults.VIDEO_MAX_BITRATE_1080P * share))


def video_render_key(
    timeline: Timeline,
    sha256: dict[str, str],
    gains_db: dict[str, float],
    options: dict[str, Any],
) -> str:
    """Hash of everything that decides the rendered bytes (for the render cache)."""
    spec = {
        "version": VIDEO_RENDER_VERSION,
        "timeline": timeline.to_json()["clips"],
        "redactions": [(r.source, r.start, r.end, r.mode) for r in timeline.redactions],
        "sources": {name: sha256[name] for name in timeline.sources()},
        "gains": {name: round(gains_db.get(name, 0.0), 3) for name in timeline.sources()},
        "options": options,
        "defaults": [
            defaults.TARGET_LUFS, defaults.TARGET_TRUE_PEAK, defaults.VIDEO_CRF,
            defaults.VIDEO_PRESET, defaults.VIDEO_AUDIO_BITRATE, defaults.VIDEO_MAX_FPS,
            defaults.VIDEO_CAPTION_STYLE, defaults.VIDEO_MAX_BITRATE_1080P,
            defaults.VIDEO_MIN_MAX_BITRATE,
        ],
    }  # fmt: skip
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
