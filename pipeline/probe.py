"""probe: what a recording really is.

ffprobe says what the container claims; we then decode every audio frame to
measure the true duration, because phones that crash or run out of space
write headers that lie. Results are cached by the file's sha256.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .cache import Cache
from .errors import MediaError, Problem, ToolError
from .records import Recording
from .runner import run, stderr_tail

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


# Top-level box types an MP4/M4A/3GP/MOV file may open with.
_MP4_BOXES = {b"ftyp", b"wide", b"free", b"skip", b"mdat", b"moov", b"pnot"}


def _looks_like_mp4(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(12)
    return len(head) >= 8 and head[4:8] in _MP4_BOXES


def _explain(path: Path, stderr: str) -> MediaError:
    tail = stderr_tail(stderr, 3)
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


def probe(path: Path, name: str, cache: Cache | None = None) -> Recording:
    """Measure ``path``; ``name`` is how the EDL refers to it."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MediaError(
            Problem(path, "this recording does not exist.", "Check the file name.")
        ) from None
    if size == 0:
        raise MediaError(
            Problem(path, "this recording is empty (0 bytes).", "Copy it from the phone again.")
        )
    digest = sha256_file(path)
    if cache is not None:
        cached = cache.get_json("probe", digest)
        if cached and cached.get("schema") == Recording.SCHEMA:
            return Recording.from_json(cached, path, name)

    proc = run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", path],
        what="ffprobe",
        path=path,
        check=False,
    )
    if proc.returncode != 0:
        raise _explain(path, proc.stderr)
    info = json.loads(proc.stdout or "{}")
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

    decoded = run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            path,
            "-map",
            "0:a:0",
            "-f",
            "null",
            "-progress",
            "pipe:1",
            "-nostats",
            "-",
        ],
        what="decoding the recording",
        path=path,
        check=False,
    )
    duration = _last_out_time(decoded.stdout)
    if decoded.returncode != 0 and duration <= 0:
        raise _explain(path, decoded.stderr)
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
        header_duration=float(header) if header not in (None, "N/A") else None,
        container=str(fmt.get("format_name", "")),
        codec=str(stream.get("codec_name", "")),
        sample_rate=int(stream.get("sample_rate") or 0),
        channels=int(stream.get("channels") or 0),
    )
    if cache is not None:
        cache.put_json("probe", digest, recording.to_json())
    return recording


def _last_out_time(progress: str) -> float:
    last = 0
    for line in progress.splitlines():
        key, _, value = line.partition("=")
        if key in ("out_time_us", "out_time_ms") and value.strip().lstrip("-").isdigit():
            last = max(last, int(value))
    return last / 1_000_000


__all__ = ["probe", "sha256_file", "ToolError"]
