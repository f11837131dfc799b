"""probe: what a recording really is.

ffprobe says what the container claims; we then decode every audio frame to
measure the true duration, because phones that crash or run out of space
write headers that lie. Results are cached by the file's sha256.

Only the recording itself is ever read: every ffmpeg and ffprobe run opens it
through ``runner.source_input`` (the containers phones and editors write, from
the local file only). A "recording" that is really a playlist, a list of other
files, a picture, a link, a device or a folder is refused here with a sentence
saying what it seems to be, and never quoting what is in it.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

from pipeline import defaults
from pipeline.cache import Cache
from pipeline.errors import MediaError, Problem, ToolError
from pipeline.files import NotAFile, not_a_file, open_regular
from pipeline.media.loudness import MEASURE_FILTER, parse_ebur128, remember
from pipeline.media.runner import media_timeout, run, source_input, stderr_tail
from pipeline.media.scrub import tag_values
from pipeline.records import Recording, VideoInfo

CHUNK = 1 << 20
SNIFF_BYTES = 64


def _not_regular(path: Path, kind: str) -> MediaError:
    return MediaError(
        Problem(
            path,
            f"this is not a recording: it is {kind}, so storycast will not read it.",
            "Put the recording file itself (as it came off the phone) in recordings/.",
        )
    )


def _open(path: Path) -> BinaryIO:
    """``yamlfile.open_regular``, with a MediaError for what is not an ordinary file."""
    try:
        return open_regular(path)
    except NotAFile as exc:
        raise _not_regular(path, exc.kind) from None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with _open(path) as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


# Top-level box types an MP4/M4A/3GP/MOV file may open with.
_MP4_BOXES = {b"ftyp", b"wide", b"free", b"skip", b"mdat", b"moov", b"pnot"}


def _looks_like_mp4(path: Path) -> bool:
    with _open(path) as fh:
        head = fh.read(12)
    return len(head) >= 8 and head[4:8] in _MP4_BOXES


# What a file that is not a recording seems to be. Each reads "this file is ..., not a
# recording"; none quotes the file.
PLAYLIST = "a playlist that points at other files"
FILE_LIST = "a list of other files to join (an ffmpeg concat list)"
PICTURE = "a picture"
LINK = "a link to something elsewhere (a web or network address)"
DEVICE = "a way into a device (a microphone, camera or screen)"
TEXT = "text (captions, subtitles, a list or notes)"

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
_PICTURE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1", b"avif", b"avis"}
_LINK_STARTS = (
    b"http://", b"https://", b"rtmp://", b"rtmps://", b"rtsp://", b"rtp://", b"udp://",
    b"tcp://", b"srt://", b"ftp://", b"sftp://", b"file:", b"[internetshortcut]",
)  # fmt: skip


def sniff(path: Path) -> str | None:
    """What the first bytes of ``path`` say it is, if that is something other than a
    recording (a playlist, a concat list, a picture, a link); None otherwise."""
    with _open(path) as fh:
        head = fh.read(SNIFF_BYTES)
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"#EXTM3U"):
        return PLAYLIST
    if text.startswith(b"ffconcat version"):
        return FILE_LIST
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return PICTURE
    if head[4:8] == b"ftyp" and head[8:12] in _PICTURE_BRANDS:
        return PICTURE
    if text.lower().startswith(_LINK_STARTS) or text.startswith((b"v=0\n", b"v=0\r\n")):
        return LINK  # a web or stream address, or a session description (SDP) of a stream
    if _is_text(head):
        return TEXT
    return None


def _is_text(head: bytes) -> bool:
    """Whether these first bytes are plain text. Every container a recording comes in
    has binary (a zero byte, a control character or bytes that are not UTF-8) in its
    first few dozen bytes."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return bool(text.strip()) and all(c.isprintable() or c in "\t\r\n" for c in text)


_DEMUXER_KINDS = {
    "hls": PLAYLIST, "concat": FILE_LIST, "image2": PICTURE, "image2pipe": PICTURE,
    "gif": PICTURE, "apng": PICTURE, "sdp": LINK, "rtsp": LINK, "rtp": LINK,
    "tty": TEXT, "srt": TEXT, "webvtt": TEXT, "ass": TEXT, "microdvd": TEXT, "subviewer": TEXT,
    "subviewer1": TEXT, "sami": TEXT, "realtext": TEXT, "jacosub": TEXT, "mpl2": TEXT,
    "mpsub": TEXT, "pjs": TEXT, "stl": TEXT, "vplayer": TEXT, "aqtitle": TEXT, "lrc": TEXT,
    "scc": TEXT, "ffmetadata": TEXT,
}  # fmt: skip
_DEVICES = {
    "lavfi", "v4l2", "video4linux2", "alsa", "pulse", "oss", "jack", "fbdev", "x11grab",
    "kmsgrab", "dshow", "avfoundation", "gdigrab", "openal", "sndio", "decklink", "libcdio",
    "dv1394", "iec61883", "android_camera", "vfwcap",
}  # fmt: skip
_FFMPEG_PREFIX = re.compile(r"^\[[^\]]* @ 0x[0-9a-fA-F]+\] ")
_NOT_ON_WHITELIST = re.compile(r"\[([\w,.-]+) @ 0x[0-9a-fA-F]+\] Format not on whitelist")


def refused_kind(stderr: str) -> str | None:
    """What ffmpeg recognised a file as, when ``source_input`` refused it (its demuxer is
    not one phones and editors write), in words; None if it did not refuse it."""
    if "Format not on whitelist" not in stderr:
        return None
    m = _NOT_ON_WHITELIST.search(stderr)
    name = m.group(1) if m else ""
    if name in _DEMUXER_KINDS:
        return _DEMUXER_KINDS[name]
    if name.endswith("_pipe"):
        return PICTURE
    if name in _DEVICES:
        return DEVICE
    called = f" (ffmpeg calls it `{name}`)" if name else ""
    return f"a kind of file storycast does not read{called}"


def refusal(path: Path, kind: str) -> MediaError:
    """The error for a "recording" that is really ``kind`` (one of the phrases above)."""
    if kind in (PLAYLIST, FILE_LIST, LINK, TEXT):
        fix = (
            "Put the recording itself in recordings/ and name that in the EDL: storycast "
            "reads only the recording, never other files or addresses it points at."
        )
    elif kind == PICTURE:
        fix = "Use the phone's sound or video file of the story; a picture cannot be a clip."
    elif kind == DEVICE:
        fix = "Record to a file first, then put that file in recordings/."
    else:
        fix = "Use the phone's original file, or convert it to .m4a, .wav, .mp3 or .opus."
    return MediaError(Problem(path, f"this file is {kind}, not a recording.", fix))


def _explain(path: Path, stderr: str) -> MediaError:
    kind = refused_kind(stderr)
    if kind is not None:
        return refusal(path, kind)
    # ffmpeg names the file as we gave it ("file:/abs/path"); the problem already does.
    tail = stderr_tail(stderr, 3).replace("file:" + str(path.absolute()), path.name)
    tail = "; ".join(_FFMPEG_PREFIX.sub("", line) for line in tail.splitlines())
    if "moov atom not found" in stderr and _looks_like_mp4(path):
        return MediaError(
            Problem(
                path,
                "this recording is cut off: its index (the 'moov atom') is missing, which happens "
                "when a phone stops recording before saving.",
                "Copy the file from the phone again, or open and re-save it in the phone's "
                "recorder app; if that fails, remove it from the EDL.",
            )
        )
    return MediaError(
        Problem(
            path,
            f"this is not a sound or video file storycast can read ({tail or 'no details'}).",
            "Check it plays on a computer; re-export it as .m4a, .wav, .mp3 or .opus.",
        )
    )


def check_file(path: Path) -> int:
    """The size of ``path`` if it may be read as a recording; MediaError saying why not
    (missing, empty, not an ordinary file, or plainly something else)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise MediaError(
            Problem(path, "this recording does not exist.", "Check the file name.")
        ) from None
    except OSError as exc:
        raise MediaError(
            Problem(path, f"this recording cannot be read ({exc.strerror}).", "Check the file.")
        ) from None
    kind = not_a_file(info.st_mode)
    if kind is not None:
        raise _not_regular(path, kind)
    if info.st_size == 0:
        raise MediaError(
            Problem(path, "this recording is empty (0 bytes).", "Copy it from the phone again.")
        )
    seems = sniff(path)
    if seems is not None:
        raise refusal(path, seems)
    return info.st_size


def decode_seconds(size: int, header: float | None) -> float:
    """How long a recording is, for time limits: what its header claims, but no more
    than its size allows at ``defaults.MEDIA_MIN_BYTES_PER_SECOND``."""
    most = size / defaults.MEDIA_MIN_BYTES_PER_SECOND
    return min(header, most) if header and header > 0 else 0.0


def _ffprobe(path: Path) -> dict[str, Any]:
    """The one ffprobe of a contributor's file: format, streams and chapters (with tags)."""
    proc = run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-show_chapters",
         "-of", "json", *source_input(path)],
        what="ffprobe",
        path=path,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise _explain(path, proc.stderr)
    info: dict[str, Any] = json.loads(proc.stdout or "{}")
    return info


def probed(cache: Cache, sha256: str, *, video: bool = False) -> bool:
    """Whether the cache holds the probe of the recording with this sha256 (with its
    picture looked for, for ``video``): ``probe`` of it then reads nothing but its hash."""
    cached = cache.get_json("probe", sha256)
    return bool(
        cached
        and cached.get("schema") == Recording.SCHEMA
        and (not video or cached.get("video") is not None or cached.get("picture") == "none")
    )


def probe(path: Path, name: str, cache: Cache | None = None, *, video: bool = False) -> Recording:
    """Measure ``path`` once: its sound (every frame decoded), its tags (what its outputs must
    not carry) and, with ``video``, its picture. ``name`` is how the EDL refers to it.

    Cached by sha256 together, so a recording is probed once, whatever needs it after.
    """
    size = check_file(path)
    digest = sha256_file(path)
    if cache is not None:
        cached = cache.get_json("probe", digest)
        if cached and cached.get("schema") == Recording.SCHEMA:
            found = Recording.from_json(cached, path, name)
            if not video or found.video is not None or cached.get("picture") == "none":
                return found

    info = _ffprobe(path)
    audio = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not audio:
        raise MediaError(
            Problem(
                path,
                "this file has no sound track.",
                "Use the original recording, or export one with sound.",
            )
        )
    stream = audio[0]
    fmt = info.get("format", {})
    header = fmt.get("duration") or stream.get("duration")
    claimed = _float(header)

    # The one full decode: its length, and its loudness on the way (for ``analyse``).
    # The length is the samples that decode, not the last timestamp: a damaged block or a
    # missing stretch leaves timestamps running on past the sound. Renumbering the samples
    # (asetpts) makes ffmpeg's end time the count of samples decoded. ffmpeg says
    # everything (the loudness summary is information), each line tagged with its level;
    # only its errors explain a failure.
    decoded = run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "level+info", *source_input(path),
         "-map", "0:a:0", "-af", f"asetpts=round(N/SR/TB),{MEASURE_FILTER}", "-f", "null",
         "-progress", "pipe:1", "-nostats", "-"],
        what="decoding the recording",
        path=path,
        check=False,
        timeout=media_timeout(decode_seconds(size, claimed)),
    )  # fmt: skip
    sample_rate = int(stream.get("sample_rate") or 0)
    duration = _to_sample(_last_out_time(decoded.stdout), sample_rate)
    if decoded.returncode != 0 and duration <= 0:
        raise _explain(path, errors_only(decoded.stderr))
    if duration <= 0:
        raise MediaError(
            Problem(
                path,
                "this recording contains no sound that can be decoded.",
                "Check it plays; copy it from the phone again.",
            )
        )
    recording = Recording(
        path=path,
        name=name,
        sha256=digest,
        size=size,
        duration=duration,
        header_duration=claimed,
        container=str(fmt.get("format_name", "")),
        codec=str(stream.get("codec_name", "")),
        sample_rate=sample_rate,
        channels=int(stream.get("channels") or 0),
        tags=tuple(tag_values(info)),
        video=_measure_video(path, info, size) if video else None,
    )
    if cache is not None and decoded.returncode == 0:
        try:
            remember(cache, digest, parse_ebur128(decoded.stderr, path))
        except ToolError:
            pass  # no summary (nothing loud enough to gate?): ``analyse`` measures it
    if cache is not None:
        record = recording.to_json()
        if video and recording.video is None:
            record["picture"] = "none"  # looked for, and there is none
        cache.put_json("probe", digest, record)
    return recording


# --- the picture ----------------------------------------------------------------------------


def _rate(text: object) -> float:
    try:
        value = Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value) if value > 0 else 0.0


def _bit_depth(stream: dict[str, Any]) -> int:
    raw = stream.get("bits_per_raw_sample")
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    m = re.search(r"p(\d+)(?:le|be)$", str(stream.get("pix_fmt", "")))
    return int(m.group(1)) if m else 8


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        if side.get("side_data_type") == "Display Matrix" and "rotation" in side:
            return int(round(float(side["rotation"]))) % 360
    tag = (stream.get("tags") or {}).get("rotate")
    if tag is not None:
        try:
            return int(round(float(tag))) % 360
        except ValueError:
            return 0
    return 0


def _packet_times(path: Path, seconds: float = 10.0) -> list[float]:
    proc = run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", f"%+{seconds}",
         "-show_entries", "packet=pts_time", "-of", "csv=p=0", *source_input(path)],
        what="reading frame times",
        path=path,
        check=False,
    )  # fmt: skip
    times: list[float] = []
    for line in proc.stdout.splitlines():
        try:
            times.append(float(line.strip().rstrip(",")))
        except ValueError:
            continue
    return sorted(times)


def guess_vfr(times: Sequence[float], avg: float, nominal: float) -> bool:
    """Whether frame durations vary: by the first frames' times, or avg vs nominal rate."""
    if avg > 0 and nominal > 0 and abs(avg - nominal) / nominal > 0.01:
        return True
    steps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b > a)
    if len(steps) < 4:
        return False
    median = steps[len(steps) // 2]
    return median > 0 and (steps[-1] > median * 1.5 or steps[0] < median * 0.5)


def _progress(stdout: str) -> tuple[float, int]:
    """Last out_time (s) and frame count from ffmpeg's -progress output."""
    seconds, frames = 0, 0
    for line in stdout.splitlines():
        key, _, value = line.partition("=")
        value = value.strip()
        if key == "out_time_us" and value.lstrip("-").isdigit():
            seconds = max(seconds, int(value))
        elif key == "frame" and value.isdigit():
            frames = max(frames, int(value))
    return seconds / 1_000_000, frames


def probe_video(path: Path) -> VideoInfo | None:
    """What the picture of ``path`` really is; None when it has no picture (audio only).
    (A pipeline stage reads it from ``probe(..., video=True)``, probed once and cached.)"""
    if not path.exists():
        raise MediaError(Problem(path, "this video does not exist.", "Check the file name."))
    size = check_file(path)
    return _measure_video(path, _ffprobe(path), size)


def _measure_video(path: Path, info: dict[str, Any], size: int) -> VideoInfo | None:
    """The picture, from the file's ffprobe and by reading its packets.

    A still image attached as cover art (an M4A's artwork) is not a picture. The
    duration is read packet by packet (no decoding), so a file cut off mid-recording
    reports what it holds, not what its header claims.
    """
    streams = info.get("streams", [])
    pictures = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not pictures:
        return None
    v = pictures[0]
    fmt = info.get("format", {})
    width, height = int(v.get("width") or 0), int(v.get("height") or 0)
    rotation = _rotation(v)
    sar = str(v.get("sample_aspect_ratio") or "1:1")
    try:
        num, den = (int(x) for x in sar.split(":"))
        aspect = Fraction(num, den) if num > 0 and den > 0 else Fraction(1)
    except ValueError:
        aspect = Fraction(1)
    shown_w, shown_h = round(width * aspect), height
    if rotation % 180 == 90:
        shown_w, shown_h = shown_h, shown_w
    avg, nominal = _rate(v.get("avg_frame_rate")), _rate(v.get("r_frame_rate"))

    header = fmt.get("duration") or v.get("duration")
    claimed = float(header) if _rate(header) > 0 else None
    copied = run(
        ["ffmpeg", "-nostdin", "-v", "error", *source_input(path), "-map", "0:v:0", "-c", "copy",
         "-f", "null", "-progress", "pipe:1", "-nostats", "-"],
        what="reading the video",
        path=path,
        check=False,
        timeout=media_timeout(decode_seconds(size, claimed)),
    )  # fmt: skip
    last, frames = _progress(copied.stdout)
    # -progress reports the last packet's start; the picture lasts one frame longer.
    duration = last + 1 / avg if frames and avg > 0 else last
    return VideoInfo(
        path=path,
        width=width,
        height=height,
        rotation=rotation,
        display_width=shown_w,
        display_height=shown_h,
        sample_aspect=f"{aspect.numerator}:{aspect.denominator}",
        avg_frame_rate=round(avg, 4),
        r_frame_rate=round(nominal, 4),
        vfr=guess_vfr(_packet_times(path), avg, nominal),
        codec=str(v.get("codec_name", "")),
        profile=str(v.get("profile", "")),
        pix_fmt=str(v.get("pix_fmt", "")),
        bit_depth=_bit_depth(v),
        color_transfer=str(v.get("color_transfer", "") or ""),
        color_primaries=str(v.get("color_primaries", "") or ""),
        color_space=str(v.get("color_space", "") or ""),
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
        duration=duration,
        header_duration=claimed,
        frames=frames,
    )


def require_video(path: Path) -> VideoInfo:
    """``probe_video``, with a clear error for a file that has no picture."""
    return _no_picture(path) if (found := probe_video(path)) is None else found


def require_picture(recording: Recording) -> VideoInfo:
    """The recording's picture (probed with ``video=True``), or a clear error if it has none."""
    return recording.video if recording.video is not None else _no_picture(recording.path)


def _no_picture(path: Path) -> VideoInfo:
    raise MediaError(
        Problem(
            path,
            "this file is listed as video but has no picture (it is audio only).",
            "Use the phone's video file, or list this recording as audio.",
        )
    )


def _float(value: object) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


_LEVEL = re.compile(r"\[(error|fatal|panic)\] ")


def errors_only(stderr: str) -> str:
    """What ffmpeg run with ``-loglevel level+info`` said at error level or worse, as
    ``-v error`` would have said it (without the level tags)."""
    return "\n".join(
        _LEVEL.sub("", line, count=1) for line in stderr.splitlines() if _LEVEL.search(line)
    )


def _to_sample(seconds: float, rate: int) -> float:
    """``seconds`` (ffmpeg's microseconds) as a whole number of samples at ``rate``: a
    sample lasts longer than a microsecond, so the count is exact."""
    return round(seconds * rate) / rate if rate > 0 else seconds


def _last_out_time(progress: str) -> float:
    last = 0
    for line in progress.splitlines():
        key, _, value = line.partition("=")
        if key in ("out_time_us", "out_time_ms") and value.strip().lstrip("-").isdigit():
            last = max(last, int(value))
    return last / 1_000_000


__all__ = ["check_file", "probe", "refusal", "sha256_file", "sniff", "ToolError"]
