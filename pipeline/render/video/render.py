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
picture is decoded), ``render.plan_gain`` picks the gain and, where that gain
would lift peaks past the ceiling, the look-ahead limiter; pass 2 encodes the
pictures, then the sound is encoded and muxed with them, measured in the MP4,
and muxed again with a corrected plan if it missed (``render.next_plan``).

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
import json
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import defaults
from pipeline.errors import MediaError, Problem, ToolError
from pipeline.media.loudness import MEASURE_FILTER, measure
from pipeline.media.probe import probe_video
from pipeline.media.runner import ffmpeg_said, media_timeout, run, working_part
from pipeline.media.scrub import STRIP_ARGS, find_traces, source_values
from pipeline.progress import Tick, part
from pipeline.records import Loudness, Timeline, VideoInfo
from pipeline.render.audio import (
    MIX_GRAPH,
    GainPlan,
    gain_chain,
    measure_mix,
    next_plan,
    plan_gain,
    render_stems_measured,
    shortfall_note,
)
from pipeline.render.video.check import _count_frames, check_sources
from pipeline.render.video.graph import _plan, burnable_vtt, ffmpeg_filters
from pipeline.render.video.plan import Canvas, Orientation, bitrate_ceiling, plan_canvas

VIDEO_RENDER_VERSION = 4  # bump when the graph changes what comes out
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
        f"rendering from {names} (first: {ffmpeg_said(bad[0], 1, 160)}); the rest was rendered. "
        "Watch the episode where the picture breaks up, and copy the file from the phone "
        "again if it matters."
    ]


ENCODE_VIDEO = [
    "-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p",
    "-preset", defaults.VIDEO_PRESET, "-crf", str(defaults.VIDEO_CRF),
    "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
    "-color_range", "tv",
    # one thread: x264 with a bit-rate ceiling and several threads is not repeatable
    "-threads", "1",
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
    progress: Tick | None = None,
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

    ``progress`` is told how far the render is, in seconds of the episode: the pictures
    (encoded, by far the longest part) take 80% of the way, the sound before them and the
    muxing and measuring after them 10% each.
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
        length = timeline.duration
        sound, stderr, mix = render_stems_measured(
            plan.sounds,
            work,
            where,
            part(progress, 0, 0.05 * length, length),
            measure_mix=final_gain_db is None,
        )
        if final_gain_db is None:
            if mix is None:
                mix = measure_mix(
                    sound, where, length, part(progress, 0.05 * length, 0.05 * length, length)
                )
            # as the audio episode: one gain, and the look-ahead limiter where that gain
            # would lift peaks past the ceiling (AAC at this bitrate takes next to nothing)
            level = plan_gain(mix, codec_loss=defaults.AAC_LOUDNESS_LOSS)
        else:
            level = GainPlan(final_gain_db)

        # Pass 2a: the pictures, a group of clips per run, each encoded once to H.264. x264
        # is given one thread: with its bit-rate ceiling (VBV) and several threads its
        # output changes from run to run, and the same episode must be the same bytes on
        # every machine. The groups are encoded side by side instead (their number is
        # fixed by the EDL, never by the machine, so the bytes do not depend on it).
        gop = str(max(1, round(float(canvas.fps) * defaults.VIDEO_GOP_SECONDS)))
        ceiling, buffer = str(bitrate_ceiling(canvas)), str(2 * bitrate_ceiling(canvas))
        fps = float(canvas.fps)
        total = max(plan.frames / fps, 1e-9)
        starts = [sum(g.frames for g in plan.pictures[:k]) / fps for k in range(len(plan.pictures))]

        def encode_pictures(k: int) -> tuple[Path, str]:
            group = plan.pictures[k]
            piece = work / f"pictures-{k:05d}.mp4"
            shown = group.frames / fps
            proc = run(
                ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-y", *group.inputs,
                 "-filter_complex", group.graph, "-map", "[vout]", "-an", "-sn", "-dn",
                 *ENCODE_VIDEO, "-maxrate", ceiling, "-bufsize", buffer, "-r", canvas.rate,
                 "-g", gop, *STRIP_ARGS, "-f", "mp4", piece],
                what=f"rendering video (pictures, part {k + 1} of {len(plan.pictures)})",
                path=where,
                timeout=media_timeout(group.seconds),
                progress=part(
                    progress, (0.1 + 0.8 * starts[k] / total) * length,
                    0.8 * length * shown / total, shown,
                ),
            )  # fmt: skip
            made = _count_frames(piece, group.seconds)
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
            return piece, working_part(proc.stderr)

        side_by_side = max(1, min(defaults.VIDEO_PARTS_AT_ONCE, os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=side_by_side) as pool:
            encoded = list(pool.map(encode_pictures, range(len(plan.pictures))))
        parts = [piece for piece, _ in encoded]
        stderr += "".join(said for _, said in encoded)
        listing = work / "pictures.ffconcat"
        listing.write_text(
            "ffconcat version 1.0\n" + "".join(f"file '{p.name}'\n" for p in parts),
            encoding="utf-8",
        )

        # Pass 2b: the sound at its final gain, AAC, muxed with the pictures as they are;
        # measured, and muxed again with a better plan if it missed (the pictures are
        # copied, so a second mux costs a sound encode, not a picture one).
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

        def mux(level: GainPlan, progress: Tick | None) -> Loudness:
            graph = (
                f"{MIX_GRAPH};[mix]{gain_chain(level)}"
                f"aresample={defaults.VIDEO_AUDIO_SAMPLE_RATE}[aout]"
            )
            proc = run(
                ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-y", *sound,
                 "-f", "concat", "-safe", "0", "-i", listing, *subs_in,
                 "-filter_complex", graph, "-map", f"{n_inputs}:v:0", "-map", "[aout]", *subs,
                 "-c:v", "copy", *ENCODE_AUDIO, *STRIP_ARGS, "-movflags", "+faststart",
                 "-max_muxing_queue_size", "4096", "-f", "mp4", tmp],
                what="rendering video (sound: AAC, and muxing)",
                path=where,
                timeout=media_timeout(timeline.duration),
                progress=part(progress, 0, 0.5 * length, length),
            )  # fmt: skip
            nonlocal stderr
            stderr += working_part(proc.stderr)
            if not tmp.exists() or tmp.stat().st_size == 0:
                raise ToolError(Problem(where, "ffmpeg wrote no video for this episode."))
            return measure(
                ["-i", tmp, "-map", "0:a:0", "-af", MEASURE_FILTER],
                "measuring the video episode's sound",
                where,
                timeline.duration,
                part(progress, 0.5 * length, 0.5 * length, length),
            )

        try:
            produced = mux(level, part(progress, 0.9 * length, 0.1 * length, length))
            for encode in range(2, defaults.MAX_ENCODES + 1):
                if mix is None:
                    break  # the gain was given: nothing to correct it from
                better = next_plan(mix, level, produced, last=encode == defaults.MAX_ENCODES)
                if better is None:
                    break
                level = better
                produced = mux(level, None)
            notes += _decode_notes(stderr, timeline, sources)
            if mix is not None and (short := shortfall_note(mix, level, produced)):
                notes.append(short)
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
        gain_db=round(level.gain, 3),
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
            defaults.VIDEO_MIN_MAX_BITRATE, defaults.AAC_LOUDNESS_LOSS,
            defaults.LIMITER_MAX_REDUCTION_DB, defaults.MAX_ENCODES, defaults.CODEC_PEAK_MARGIN,
        ],
    }  # fmt: skip
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
