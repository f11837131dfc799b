"""scrub: no location, device or creation-time trace in any published file.

Phones write where, when and on what a recording was made into many places:
container tags (``location``, ``©xyz``, ``com.apple.quicktime.location.ISO6709``,
``make``, ``model``, ``software``, ``creation_time``), the 3GPP ``loci`` box, the
creation times in the ``mvhd``/``tkhd``/``mdhd`` headers, ID3 frames, EXIF
blocks in pictures, and whole tracks: a camera app's time code (the time of day
it was filmed) or timed metadata (location as the phone moved). Two things live
here:

- ``STRIP_ARGS``: the ffmpeg output options every encode of a published file
  uses (video here and in ``video``; the MP3 render uses the same set), and
  ``strip_file`` to re-mux an existing file through them without re-encoding.
- ``find_traces``: the check. It reads the file as ffprobe sees it (format and
  stream tags), walks the MP4 boxes itself (header times, user-data boxes), and
  scans every raw byte for known phone atoms, ISO 6709 coordinates and any
  caller-given ``needles`` (say, every tag value of the source recordings, in
  UTF-8 and UTF-16, the way ID3v2.3 stores text). It returns one line per trace;
  an empty list means the file is clean.
- In an MP3 storycast tagged, the ID3 frames are compared field by field with
  the ones it wrote (``tag.written_frames``): any other frame is a trace, and the
  needles are searched everywhere but in our own frames, so a source whose genre
  is "Podcast" does not stop the episode.
- A JPEG or PNG (the show artwork, a video's poster, the cover in an MP3) is
  checked by ``image_traces``: nothing but the blocks that make the picture is
  allowed in it (``images.clean_image`` writes exactly those).

What ffmpeg itself still writes with ``-fflags +bitexact -flags +bitexact`` is
allowed, because it names our encoder, not the contributor's phone and carries
no version: the ``Lavc libx264`` compressor name in the ``avc1`` sample entry,
the generic ``VideoHandler``/``SoundHandler``/``SubtitleHandler`` handler names.
x264's settings SEI (``x264 - core 164 ... options: ...``) is removed from the
bitstream by ``filter_units`` in ``video``; it would only name our encoder too.
"""

from __future__ import annotations

import json
import re
import struct
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pipeline.errors import MediaError, Problem
from pipeline.media.runner import run, source_input

# Output options that drop every tag, chapter and encoder version ffmpeg would copy or add.
STRIP_ARGS: tuple[str, ...] = (
    "-map_metadata", "-1",
    "-map_chapters", "-1",
    "-fflags", "+bitexact",
    "-flags", "+bitexact",
)  # fmt: skip

# Tag keys (lower case) that always betray a place, a device, a person's software or a time.
_TRACE_KEYS = {
    "location", "location-eng", "xyz", "©xyz", "loci",
    "make", "model", "software", "device", "manufacturer", "firmware",
    "creation_time", "creationdate", "date_recorded", "encoded_by", "comment", "timecode",
    "com.apple.quicktime.location.iso6709", "com.apple.quicktime.make",
    "com.apple.quicktime.model", "com.apple.quicktime.software",
    "com.apple.quicktime.creationdate", "com.android.version", "com.android.capture.fps",
    "com.android.manufacturer", "com.android.model",
}  # fmt: skip
_TRACE_KEY_PARTS = ("gps", "location", "iso6709", "com.apple.", "com.android.", "xyz")
# What ffmpeg writes in bitexact mode: encoder names without versions. Anything else in an
# ``encoder`` tag (a phone's camera app, "Lavf59.27.100" with a version) is a trace.
ALLOWED_ENCODERS = {
    "Lavf", "Lavc libx264", "Lavc aac", "Lavc mov_text", "Lavc mjpeg", "",
    "Lavf lame",  # how ffprobe names the LAME "Info" frame of our own MP3 encode
}  # fmt: skip
# ffprobe reports an ID3 picture's type as a stream `comment`; ours is the show's cover.
ALLOWED_COMMENTS = {"Cover (front)"}

# Raw byte patterns: phone atoms and keys, whatever container or tag format holds them.
_RAW_MARKERS: tuple[bytes, ...] = (
    b"\xa9xyz",
    b"com.apple.quicktime.",
    b"com.android.",
    b"Exif\x00\x00",
    b"iPhone",
    b"Pixel ",
    b"SAMSUNG",
    b"GPSLatitude",
)
# ISO 6709 in the forms phones write: +51.4545-002.5879/ and +51.4545-002.5879+012.000/
_ISO6709 = re.compile(rb"[+-]\d{2}(?:\.\d+)?[+-]\d{3}(?:\.\d+)?(?:[+-]\d+(?:\.\d+)?)?/")

_CHUNK = 1 << 20
_OVERLAP = 256
# MP4 boxes that contain other boxes (``meta`` has 4 bytes of version/flags first in ISO files).
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"udta", b"edts", b"dinf", b"stbl"}
_TIMED_HEADERS = {b"mvhd", b"tkhd", b"mdhd"}


def _probe(path: Path, source: bool = False) -> dict[str, Any]:
    """ffprobe's view of the file's container, streams and chapters ({} if unreadable).
    ``source``: a contributor's recording, opened only through ``runner.source_input``."""
    proc = run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-show_chapters",
         "-of", "json", *(source_input(path) if source else [path])],
        what="reading the file's tags",
        path=path,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        return {}
    info: dict[str, Any] = json.loads(proc.stdout or "{}")
    return info


def _probe_tags(info: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(where, key, value) for every container and stream tag ffprobe reports."""
    found: list[tuple[str, str, str]] = []
    for key, value in (info.get("format", {}).get("tags") or {}).items():
        found.append(("container", str(key), str(value)))
    for stream in info.get("streams", []):
        where = f"stream {stream.get('index')} ({stream.get('codec_type')})"
        for key, value in (stream.get("tags") or {}).items():
            found.append((where, str(key), str(value)))
    for chapter in info.get("chapters", []):
        for key, value in (chapter.get("tags") or {}).items():
            found.append((f"chapter {chapter.get('id')}", str(key), str(value)))
    return found


def _stream_traces(info: dict[str, Any]) -> list[str]:
    """Data and attachment tracks: phones and camera apps keep time codes (the time of day
    it was filmed) and timed metadata (location as it moves) in them. storycast never
    publishes one."""
    traces = []
    for stream in info.get("streams", []):
        kind = stream.get("codec_type")
        if kind in {"data", "attachment"}:
            tag = stream.get("codec_tag_string") or stream.get("codec_name") or "?"
            traces.append(
                f"stream {stream.get('index')} ({kind}, {tag}): a data track "
                "(time code or timed metadata such as location)"
            )
    return traces


def _tag_trace(where: str, key: str, value: str) -> str | None:
    k = key.lower()
    if k == "encoder":
        return None if value in ALLOWED_ENCODERS else f"{where}: encoder tag {value!r}"
    if k == "comment" and value in ALLOWED_COMMENTS:
        return None
    if k in _TRACE_KEYS or any(part in k for part in _TRACE_KEY_PARTS):
        return f"{where}: tag {key}={value!r}"
    if _ISO6709.search(value.encode("utf-8", "replace")):
        return f"{where}: tag {key} holds coordinates ({value!r})"
    return None


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        head = 8
        if size == 1 and pos + 16 <= end:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            return
        yield kind, pos + head, pos + size
        pos += size


# The boxes an MP4/MOV/M4A file can start with.
_MP4_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide"}


def _top_boxes(fh: BinaryIO, size: int) -> tuple[list[tuple[bytes, int, int, int]], bool]:
    """The top-level boxes of an MP4 file (type, start, header length, end), read by their
    headers only, and whether they tile the whole file (False: it stopped making sense)."""
    boxes: list[tuple[bytes, int, int, int]] = []
    offset = 0
    while offset + 8 <= size:
        fh.seek(offset)
        header = fh.read(16)
        box, kind = struct.unpack(">I4s", header[:8])
        head_len = 8
        if box == 1 and len(header) == 16:
            box, head_len = struct.unpack(">Q", header[8:16])[0], 16
        elif box == 0:
            box = size - offset
        if box < head_len:
            return boxes, False
        end = min(size, offset + box)
        boxes.append((kind, offset, head_len, end))
        offset = end
    return boxes, True


def _mp4_traces(path: Path) -> list[str]:
    """Header creation times and user-data boxes of an MP4/MOV/M4A file."""
    traces: list[str] = []
    with path.open("rb") as fh:
        if fh.read(12)[4:8] not in _MP4_FIRST_BOXES:
            return []
        # Only moov is read into memory (it is small); mdat is skipped by size.
        for kind, start, head_len, end in _top_boxes(fh, path.stat().st_size)[0]:
            if kind == b"moov":
                fh.seek(start + head_len)
                moov = fh.read(end - start - head_len)
                traces += _walk(moov, 0, len(moov), "moov")
            elif kind in {b"udta", b"meta", b"uuid", b"loci"}:
                traces.append(f"top-level {kind.decode('latin-1')} box ({end - start} bytes)")
    return traces


def _walk(data: bytes, start: int, end: int, where: str) -> list[str]:
    traces: list[str] = []
    for kind, lo, hi in _boxes(data, start, end):
        name = kind.decode("latin-1")
        here = f"{where}/{name}"
        if kind in _TIMED_HEADERS and hi - lo >= 12:
            version = data[lo]
            if version == 1:
                created, modified = struct.unpack(">QQ", data[lo + 4 : lo + 20])
            else:
                created, modified = struct.unpack(">II", data[lo + 4 : lo + 12])
            if created or modified:
                traces.append(f"{here}: creation/modification time is set ({created}, {modified})")
        elif kind == b"udta":
            for child, clo, chi in _boxes(data, lo, hi):
                label = child.decode("latin-1")
                if child == b"meta":
                    traces += _meta(data, clo, chi, f"{here}/meta")
                else:
                    traces.append(f"{here}/{label}: user data box (tags, location or device)")
        elif kind == b"meta":
            traces += _meta(data, lo, hi, here)
        elif kind in _CONTAINERS:
            traces += _walk(data, lo, hi, here)
    return traces


def _meta(data: bytes, lo: int, hi: int, where: str) -> list[str]:
    """Items of a ``meta`` box: an empty item list (ffmpeg writes one) is no trace."""
    # ISO files put 4 bytes of version/flags before the children; QuickTime files do not.
    start = lo + 4 if data[lo + 8 : lo + 12] == b"hdlr" else lo
    traces: list[str] = []
    for child, clo, chi in _boxes(data, start, hi):
        label = child.decode("latin-1")
        if child == b"hdlr":
            continue
        if child == b"ilst":
            for item, _, _ in _boxes(data, clo, chi):
                name = item.decode("latin-1")
                if not name.isprintable():  # mdta items are numbered, naming a key
                    name = f"key #{int.from_bytes(item, 'big')}"
                traces.append(f"{where}/ilst/{name}: a tag (location, device or time)")
        elif chi > clo:
            traces.append(f"{where}/{label}: metadata ({chi - clo} bytes)")
    return traces


def _metadata_ranges(path: Path) -> list[tuple[int, int]]:
    """The byte ranges of ``path`` where tags can live: all of it, except coded media.

    An MP4's ``mdat`` payload and an MP3's audio frames are compressed pictures and
    sound, close to random bytes: a four-byte marker such as ``\\xa9xyz`` turns up by
    chance about once in 4 GB, so scanning them refuses long episodes for nothing
    (a 20-minute 1080p video is 1.2 GB). Nothing of a phone's reaches them in our
    files: they are encoded afresh, and a track that could carry timed metadata is
    a trace of its own (``_stream_traces``). Everything else is scanned.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(16)
        if head[4:8] in _MP4_FIRST_BOXES:
            boxes, whole = _top_boxes(fh, size)
            if not whole:
                return [(0, size)]  # not boxes after all: scan the lot
            return [(lo, lo + head if kind == b"mdat" else hi) for kind, lo, head, hi in boxes]
        if head[:3] == b"ID3" or _is_mpeg_frame(head):
            tag = 0
            if head[:3] == b"ID3" and len(head) >= 10:
                tag = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
                tag += 10 if head[5] & 0x10 else 0  # a footer
            # the tag, the first frame (Xing/Info and LAME headers), and ID3v1/APE at the end
            return [(0, min(size, tag + 4096)), (max(0, size - 256), size)]
    return [(0, size)]


def _is_mpeg_frame(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def metadata_bytes(path: Path) -> bytes:
    """The file's bytes outside coded media (see ``_metadata_ranges``), joined."""
    out = bytearray()
    with path.open("rb") as fh:
        for start, end in _metadata_ranges(path):
            fh.seek(start)
            out += fh.read(end - start)
    return bytes(out)


def _chunks(path: Path, skip: Iterable[tuple[int, int]] = ()) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) windows over the file's metadata ranges, less the ``skip``
    ranges, that overlap, so no pattern is cut in two."""
    with path.open("rb") as fh:
        for start, end in _subtract(_metadata_ranges(path), skip):
            fh.seek(start)
            offset, tail = start, b""
            while offset < end and (block := fh.read(min(_CHUNK, end - offset))):
                yield offset - len(tail), tail + block
                tail = block[-_OVERLAP:]
                offset += len(block)


def _subtract(
    ranges: Iterable[tuple[int, int]], holes: Iterable[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The parts of ``ranges`` outside every hole."""
    left = list(ranges)
    for h_lo, h_hi in holes:
        cut: list[tuple[int, int]] = []
        for lo, hi in left:
            if h_hi <= lo or hi <= h_lo:
                cut.append((lo, hi))
                continue
            if lo < h_lo:
                cut.append((lo, h_lo))
            if h_hi < hi:
                cut.append((h_hi, hi))
        left = cut
    return left


def _needle_forms(needles: Iterable[str]) -> list[tuple[str, bytes]]:
    forms: list[tuple[str, bytes]] = []
    for needle in needles:
        if len(needle.strip()) < 4:
            continue
        if needle in ALLOWED_ENCODERS:
            # A source made by ffmpeg in bitexact mode names the encoder ours name
            # ("Lavf", "Lavc libx264"): our own encode writes it too, and it names no phone.
            continue
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            forms.append((needle, needle.encode(encoding)))
    return forms


def _raw_traces(
    path: Path, needles: Iterable[str], skip: Iterable[tuple[int, int]] = ()
) -> list[str]:
    return _scan_windows(_chunks(path, skip), needles)


def _scan_windows(windows: Iterable[tuple[int, bytes]], needles: Iterable[str]) -> list[str]:
    """Markers, coordinates and needles in (offset, bytes) windows."""
    forms = _needle_forms(needles)
    hits: dict[str, int] = {}
    for base, chunk in windows:
        for marker in _RAW_MARKERS:
            at = chunk.find(marker)
            if at >= 0:
                hits.setdefault(f"bytes {marker!r}", base + at)
        m = _ISO6709.search(chunk)
        if m:
            found = m.group().decode("latin-1")
            hits.setdefault(f"ISO 6709 coordinates {found!r}", base + m.start())
        for needle, form in forms:
            at = chunk.find(form)
            if at >= 0:
                hits.setdefault(f"the source's value {needle!r}", base + at)
    return [f"{what} at byte {where}" for what, where in hits.items()]


# --- pictures (JPEG and PNG) ------------------------------------------------------------

_JPEG_SOI = b"\xff\xd8"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG markers that make the picture: frame headers (SOF0..SOF15 with DHT and DAC among
# them), quantisation tables, restart interval, number of lines, hierarchical progression
# and start of scan. APP0 is allowed only as a bare JFIF header (pixel density, no thumbnail).
_JPEG_PICTURE = {*range(0xC0, 0xD0), 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF}
_JFIF_BARE = 14  # "JFIF\0", version, units, densities, thumbnail 0x0
# What an APPn segment holds, by its identifier.
_JPEG_APP_KINDS = (
    (b"Exif\x00", "EXIF (camera, time, GPS position, thumbnail)"),
    (b"http://ns.adobe.com/xap/1.0/", "XMP"),
    (b"http://ns.adobe.com/xmp/extension/", "XMP"),
    (b"ICC_PROFILE", "ICC profile"),
    (b"Photoshop 3.0", "IPTC/Photoshop"),
    (b"MPF", "more pictures (MPF)"),
    (b"JFXX", "JFIF thumbnail"),
    (b"Adobe", "Adobe"),
)
# The PNG chunks a picture is made of. Anything else (tEXt, zTXt, iTXt, eXIf, tIME, iCCP,
# a C2PA manifest, a private chunk) is a trace.
_PNG_PICTURE = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
_PNG_KINDS = {
    b"tEXt": "text", b"zTXt": "text", b"iTXt": "text or XMP", b"eXIf": "EXIF",
    b"tIME": "time", b"iCCP": "ICC profile",
}  # fmt: skip


def is_image(head: bytes) -> bool:
    """Whether these first bytes start a JPEG or a PNG."""
    return head.startswith(_PNG_SIGNATURE) or head.startswith(_JPEG_SOI + b"\xff")


def image_traces(data: bytes, needles: Iterable[str] = ()) -> list[str]:
    """Every block of a JPEG or PNG that is not the picture itself, then markers,
    coordinates and ``needles`` in every byte but the coded picture data.

    The structure is checked by allow-list: a JPEG may hold only a bare JFIF header,
    its tables, frame and scans; a PNG only the chunks that make the picture. So
    EXIF, XMP, IPTC, ICC, comments, text and time chunks, thumbnails and whatever
    a phone appends after the picture are traces, whoever named them or not.
    The coded data (JPEG scans, PNG IDAT payloads) is near-random and is decoded
    and re-encoded by ``images.clean_image``: it is not searched, like an MP3's frames.
    """
    if data.startswith(_PNG_SIGNATURE):
        traces, ranges = _png_structure(data)
    elif data.startswith(_JPEG_SOI):
        traces, ranges = _jpeg_structure(data)
    else:
        return ["not a JPEG or PNG picture"]
    windows = ((lo, data[lo:hi]) for lo, hi in ranges)
    return traces + _scan_windows(windows, needles)


def _jpeg_structure(data: bytes) -> tuple[list[str], list[tuple[int, int]]]:
    """(traces, byte ranges outside the entropy-coded scans) of a JPEG."""
    traces: list[str] = []
    ranges: list[tuple[int, int]] = []
    pos, lo, size = 2, 0, len(data)
    while True:
        if pos + 2 > size:
            traces.append("the JPEG ends without its end-of-picture marker")
            ranges.append((lo, size))
            return traces, ranges
        if data[pos] != 0xFF:
            traces.append(f"the JPEG is damaged at byte {pos} (no marker where one belongs)")
            ranges.append((lo, size))
            return traces, ranges
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # end of picture
            end = pos + 2
            if end < size:
                traces.append(
                    f"{size - end} bytes after the end of the JPEG picture "
                    "(a phone's trailer, a second picture or a video)"
                )
            ranges.append((lo, size))
            return traces, ranges
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # restart, TEM: no length
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0] if pos + 4 <= size else 0
        end = pos + 2 + length
        if length < 2 or end > size:
            traces.append(f"a JPEG segment is cut short at byte {pos}")
            ranges.append((lo, size))
            return traces, ranges
        payload = data[pos + 4 : end]
        if marker == 0xE0:
            bare = payload.startswith(b"JFIF\x00") and len(payload) == _JFIF_BARE
            if not (bare and payload[12] == payload[13] == 0):
                traces.append(f"JPEG APP0 segment: {_app_kind(payload, 'not a bare JFIF header')}")
        elif 0xE1 <= marker <= 0xEF:
            kind = _app_kind(payload, "metadata")
            traces.append(f"JPEG APP{marker - 0xE0} segment: {kind} ({length - 2} bytes)")
        elif marker == 0xFE:
            traces.append(f"JPEG comment (COM segment, {length - 2} bytes)")
        elif marker not in _JPEG_PICTURE:
            traces.append(f"JPEG segment 0xFF{marker:02X} ({length - 2} bytes)")
        if marker == 0xDA:  # start of scan: coded data follows, up to the next real marker
            ranges.append((lo, end))
            pos = lo = _scan_end(data, end)
        else:
            pos = end


def _scan_end(data: bytes, pos: int) -> int:
    """Where a JPEG scan's entropy-coded data ends: at the first marker that is not a
    stuffed 0xFF00, a restart marker or a fill byte."""
    while True:
        at = data.find(b"\xff", pos)
        if at < 0 or at + 1 >= len(data):
            return len(data)
        following = data[at + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos = at + 2
        elif following == 0xFF:
            pos = at + 1
        else:
            return at


def _app_kind(payload: bytes, default: str) -> str:
    for ident, kind in _JPEG_APP_KINDS:
        if payload.startswith(ident):
            return kind
    return default


def _png_structure(data: bytes) -> tuple[list[str], list[tuple[int, int]]]:
    """(traces, byte ranges outside the IDAT payloads) of a PNG."""
    traces: list[str] = []
    ranges: list[tuple[int, int]] = []
    pos, size = len(_PNG_SIGNATURE), len(data)
    while pos + 12 <= size:
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > size:
            traces.append(f"a PNG chunk is cut short at byte {pos}")
            ranges.append((pos, size))
            return traces, ranges
        name = kind.decode("latin-1")
        if kind == b"IDAT":
            ranges.append((pos, pos + 8))
        else:
            ranges.append((pos, end))
            if kind not in _PNG_PICTURE:
                what = _PNG_KINDS.get(kind, "metadata")
                traces.append(f"PNG {name!r} chunk: {what} ({length} bytes)")
        pos = end
        if kind == b"IEND":
            if pos < size:
                traces.append(f"{size - pos} bytes after the end of the PNG picture")
                ranges.append((pos, size))
            return traces, ranges
    traces.append("the PNG ends without its IEND chunk")
    ranges.append((pos, size))
    return traces, ranges


def find_traces(
    path: Path, needles: Iterable[str] = (), id3_frames: Collection[bytes] | None = None
) -> list[str]:
    """Every location, device, software or creation-time trace left in ``path``.

    ``needles`` are values that must not appear anywhere (typically
    ``source_values`` of the recordings the file was made from). Empty means clean.
    A JPEG or PNG is read by ``image_traces``.

    ``id3_frames``: for an MP3 storycast tagged, the raw frames it wrote
    (``tag.written_frames``). Then the check goes field by field: every frame of
    the file's ID3 tag must be one of them, byte for byte, or it is a trace, and
    so is any other tag (a second ID3v2, ID3v1, APE). The needles are searched
    everywhere but in the frames found to be ours: a source whose genre is
    "Podcast" or whose title is the show's does not make our own TCON or TALB
    frame a leak. Our cover picture is checked as a picture (``image_traces``).
    """
    with path.open("rb") as fh:
        head = fh.read(8)
    if is_image(head):
        return image_traces(path.read_bytes(), needles)
    info = _probe(path)
    traces = _stream_traces(info)
    for where, key, value in _probe_tags(info):
        trace = _tag_trace(where, key, value)
        if trace:
            traces.append(trace)
    traces += _mp4_traces(path)
    ours: list[tuple[int, int]] = []
    if id3_frames is not None:
        id3_traces, ours = _id3_traces(path, id3_frames)
        traces += id3_traces
    traces += _raw_traces(path, needles, ours)
    return traces


# --- our own ID3 tag, frame by frame ----------------------------------------------------


def _id3_traces(path: Path, expected: Collection[bytes]) -> tuple[list[str], list[tuple[int, int]]]:
    """Every tag of an MP3 that is not storycast's ID3v2.3 tag of ``expected`` frames:
    (traces, the byte ranges of the frames that are ours)."""
    traces: list[str] = []
    ours: list[tuple[int, int]] = []
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(10)
        if head[:3] == b"ID3" and len(head) == 10:
            end = 10 + _syncsafe(head[6:10]) + (10 if head[5] & 0x10 else 0)
            fh.seek(0)
            traces, ours = _id3_frames(fh.read(end), expected)
            fh.seek(end)
            if fh.read(3) == b"ID3":
                traces.append(f"a second ID3v2 tag at byte {end}")
        fh.seek(max(0, size - 256))
        tail = fh.read()
    if size >= 128 and tail[-128:].startswith(b"TAG"):
        traces.append("an ID3v1 tag at the end of the file")
    if b"APETAGEX" in tail:
        traces.append("an APE tag at the end of the file")
    return traces, ours


def _id3_frames(tag: bytes, expected: Collection[bytes]) -> tuple[list[str], list[tuple[int, int]]]:
    version, flags = tag[3], tag[5]
    if version != 3 or flags:
        # unsynchronised, extended header, v2.2 or v2.4: storycast writes none of these
        return [f"an ID3v2.{version} tag (flags {flags:#04x}) that storycast did not write"], []
    traces: list[str] = []
    ours: list[tuple[int, int]] = []
    left = Counter(expected)
    pos = 10
    while pos + 10 <= len(tag) and tag[pos : pos + 4] != b"\x00\x00\x00\x00":
        frame_id = tag[pos : pos + 4]
        name = frame_id.decode("latin-1")
        end = pos + 10 + struct.unpack(">I", tag[pos + 4 : pos + 8])[0]
        if end > len(tag):
            traces.append(f"ID3 frame {name!r} at byte {pos} runs past the end of the tag")
            return traces, ours
        raw = tag[pos:end]
        if left[raw] > 0:
            left[raw] -= 1
            ours.append((pos, end))
            if frame_id == b"APIC":
                picture = _apic_picture(raw[10:])
                traces += [f"ID3 cover picture (APIC): {t}" for t in image_traces(picture)]
        else:
            traces.append(
                f"ID3 frame {name!r} at byte {pos} ({end - pos - 10} bytes) is not one "
                "storycast wrote"
            )
        pos = end
    if any(tag[pos:]):
        traces.append(f"bytes other than padding after the ID3 frames, at byte {pos}")
    return traces, ours


def _apic_picture(body: bytes) -> bytes:
    """The picture data of an APIC frame's body (encoding, MIME type, picture type,
    description, data)."""
    mime_end = body.find(b"\x00", 1)
    if mime_end < 0:
        return b""
    pos = start = mime_end + 2  # after the picture type byte
    if body[0] in (1, 2):  # UTF-16 description: a two-byte terminator at an even offset
        while (at := body.find(b"\x00\x00", pos)) >= 0:
            if (at - start) % 2 == 0:
                return body[at + 2 :]
            pos = at + 1
        return b""
    at = body.find(b"\x00", pos)
    return body[at + 1 :] if at >= 0 else b""


def _syncsafe(four: bytes) -> int:
    return sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(four))


# Tag values that are structural, not personal: never worth searching for in an output.
_STRUCTURAL = {
    "und", "eng", "isom", "iso2", "mp41", "mp42", "avc1", "qt  ", "M4A ", "512", "0", "1",
    "VideoHandler", "SoundHandler", "SubtitleHandler", "Core Media Video", "Core Media Audio",
    "Core Media Metadata", "[0][0][0][0]", "Mainconcept Video Media Handler", "FFMP",
}  # fmt: skip


def source_values(path: Path) -> list[str]:
    """Every personal tag value of a source recording: the needles its outputs must not hold.
    (The stages read them from the recording's one probe: ``Recording.tags``.)"""
    return tag_values(_probe(path, source=True))


def tag_values(info: dict[str, Any]) -> list[str]:
    """The personal tag values in an ffprobe of a source recording."""
    values: list[str] = []
    for _, key, value in _probe_tags(info):
        if key in {"major_brand", "minor_version", "compatible_brands", "language"}:
            continue
        if value in _STRUCTURAL or len(value.strip()) < 4:
            continue
        if value not in values:
            values.append(value)
    return values


def strip_file(src: Path, dst: Path) -> Path:
    """Copy ``src`` to ``dst`` with every tag, chapter and header time removed (no re-encode).

    For MP4/M4A/MOV/MP3 and JPEG. The MP3 tag stage writes its own known tags afterwards.
    Only pictures, sound and subtitles are kept: data tracks (time codes, timed location)
    and attached pictures (a phone's thumbnail) are dropped.
    """
    suffix = dst.suffix.lower()
    fmt: list[str] = []
    if suffix in {".mp4", ".m4a", ".m4v", ".mov"}:
        fmt = ["-f", "mp4" if suffix != ".mov" else "mov", "-movflags", "+faststart"]
    elif suffix == ".mp3":
        fmt = ["-f", "mp3", "-id3v2_version", "0", "-write_xing", "1"]
    elif suffix in {".jpg", ".jpeg"}:
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(strip_jpeg(src.read_bytes(), src))
        return dst
    else:
        raise MediaError(
            Problem(src, f"storycast cannot scrub {suffix or 'extension-less'} files.",
                    "Publish MP4, M4A, MP3 or JPEG files.")
        )  # fmt: skip
    dst.parent.mkdir(parents=True, exist_ok=True)
    run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-y", "-i", src,
         "-map", "0:V?", "-map", "0:a?", "-map", "0:s?", "-c", "copy", *STRIP_ARGS, *fmt, dst],
        what="removing metadata",
        path=src,
    )  # fmt: skip
    return dst


def strip_jpeg(data: bytes, path: Path | None = None) -> bytes:
    """The JPEG without its APP1..APP15 (EXIF, XMP, GPS, maker notes) and comment segments.

    Lossless: the picture data is copied byte for byte. APP0 (JFIF) is kept, being
    only the pixel density.
    """
    if data[:2] != b"\xff\xd8":
        raise MediaError(Problem(path, "this is not a JPEG picture.", "Use a .jpg file."))
    out = bytearray(data[:2])
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise MediaError(Problem(path, "this JPEG is damaged (a segment is cut short)."))
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is picture data
            out += data[pos:]
            return bytes(out)
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        segment = data[pos : pos + 2 + length]
        if not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            out += segment
        pos += 2 + length
    raise MediaError(Problem(path, "this JPEG has no picture data."))


def assert_clean(
    path: Path, needles: Iterable[str] = (), id3_frames: Collection[bytes] | None = None
) -> None:
    """Raise MediaError naming every trace left in ``path`` (a last check before publishing).

    ``id3_frames``: see ``find_traces``.
    """
    traces = find_traces(path, needles, id3_frames)
    if traces:
        raise MediaError(
            Problem(
                path,
                "this file still carries location, device or time metadata: "
                + "; ".join(traces[:6]),
                "It must not be published; report this as a storycast bug.",
            )
        )
