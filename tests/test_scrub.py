"""scrub: every place a phone hides where, when and on what it recorded is found and removed."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from pipeline.errors import MediaError
from pipeline.scrub import assert_clean, find_traces, source_values, strip_file

from mediakit import PHONE_TAGS, phone_m4a, tone

COORDS = PHONE_TAGS["location"]


def ff(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *[str(a) for a in args]], check=True)


@pytest.fixture(scope="module")
def memo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("scrub")
    return phone_m4a(tone(d / "t.wav", 1.0), d / "memo.m4a")


@pytest.fixture(scope="module")
def apple_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A QuickTime file with Apple's own keys, as the iPhone camera writes them."""
    d = tmp_path_factory.mktemp("scrub-mov")
    out = d / "IMG_0042.mov"
    ff("-f", "lavfi", "-i", "testsrc2=s=160x90:d=0.5", "-f", "lavfi", "-i", "sine=d=0.5",
       "-c:v", "libx264", "-c:a", "aac",
       "-metadata", f"com.apple.quicktime.location.ISO6709={COORDS}",
       "-metadata", "com.apple.quicktime.make=Apple",
       "-metadata", "com.apple.quicktime.model=iPhone 15 Pro",
       "-metadata", "com.apple.quicktime.software=17.4.1",
       "-metadata", "com.apple.quicktime.creationdate=2026-10-03T14:22:05+0100",
       "-movflags", "+use_metadata_tags", out)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def time_coded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A camera app's clip with a time-code track: the time of day it was filmed."""
    out = tmp_path_factory.mktemp("scrub-tc") / "clip.mov"
    ff("-f", "lavfi", "-i", "testsrc2=s=160x90:d=0.5", "-f", "lavfi", "-i", "sine=d=0.5",
       "-c:v", "libx264", "-c:a", "aac", "-timecode", "14:22:05:00", out)  # fmt: skip
    return out


def test_finds_every_phone_trace_in_a_voice_memo(memo: Path) -> None:
    traces = "\n".join(find_traces(memo))
    for what in ("location", "make", "model", "creation_time", "comment", "encoder"):
        assert what in traces, what
    assert "ISO 6709 coordinates '+51.4545-002.5879/'" in traces
    assert "mvhd: creation/modification time is set" in traces
    assert "iPhone" in traces


def test_finds_apple_quicktime_keys(apple_keys: Path) -> None:
    traces = "\n".join(find_traces(apple_keys))
    assert "com.apple.quicktime.location.ISO6709" in traces
    assert "com.apple.quicktime.model" in traces
    assert "b'com.apple.quicktime.'" in traces
    assert "moov/udta/meta/keys" in traces


def test_source_values_are_the_personal_ones(memo: Path) -> None:
    values = source_values(memo)
    assert COORDS in values and "iPhone 13 mini" in values and "Apple" in values
    assert PHONE_TAGS["comment"] in values
    assert "und" not in values and "SoundHandler" not in values


def test_a_time_code_track_is_a_trace(time_coded: Path) -> None:
    traces = "\n".join(find_traces(time_coded))
    assert "(data, tmcd): a data track" in traces
    assert "tag timecode='14:22:05:00'" in traces


@pytest.mark.parametrize("src_name", ["memo", "apple_keys", "time_coded"])
def test_strip_file_leaves_no_trace(
    request: pytest.FixtureRequest, tmp_path: Path, src_name: str
) -> None:
    src: Path = request.getfixturevalue(src_name)
    suffix = src.suffix
    out = strip_file(src, tmp_path / f"clean{suffix}")
    assert find_traces(out, source_values(src)) == []
    raw = out.read_bytes()
    for value in (COORDS, "51.4545", "iPhone", "Apple", "2026-10-03", "Kingsdown"):
        assert value.encode() not in raw
    assert_clean(out, source_values(src))
    kinds = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", out],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert sorted(kinds) == (["audio"] if suffix == ".m4a" else ["audio", "video"])


def test_mp3_tags_are_found_in_utf16_and_stripped(tmp_path: Path) -> None:
    mp3 = tmp_path / "call.mp3"
    # ID3v2.3 stores text as UTF-16: the byte scan must look for that too.
    ff("-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "libmp3lame", "-id3v2_version", "3",
       "-metadata", "comment=Recorded near Ashton Court", "-metadata", "title=Voice Memo",
       "-metadata", "TSSE=Samsung Voice Recorder", mp3)  # fmt: skip
    raw = mp3.read_bytes()
    assert "Ashton Court".encode("utf-16-le") in raw or b"Ashton Court" in raw
    traces = find_traces(mp3, ["Recorded near Ashton Court"])
    assert any("comment" in t for t in traces)
    assert any("the source's value 'Recorded near Ashton Court'" in t for t in traces)
    clean = strip_file(mp3, tmp_path / "clean.mp3")
    assert find_traces(clean, ["Recorded near Ashton Court", "Samsung Voice Recorder"]) == []


def test_jpeg_exif_is_a_trace(tmp_path: Path) -> None:
    from PIL import Image

    img = Image.new("RGB", (16, 16), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 13 mini"  # Model
    tagged = tmp_path / "poster.jpg"
    img.save(tagged, exif=exif.tobytes())
    traces = find_traces(tagged)
    assert any("Exif" in t for t in traces) and any("iPhone" in t for t in traces)
    clean = strip_file(tagged, tmp_path / "clean.jpg")
    assert find_traces(clean, ["iPhone 13 mini"]) == []


def test_assert_clean_names_the_traces(memo: Path) -> None:
    with pytest.raises(MediaError, match="location") as err:
        assert_clean(memo)
    assert str(memo) in str(err.value)


def test_unknown_suffix_is_refused(memo: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="cannot scrub"):
        strip_file(memo, tmp_path / "x.flac")


def _mdat_payload(data: bytes) -> tuple[int, int]:
    """Where the coded media of an MP4 lies (start, end)."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"mdat":
            return offset + 8, offset + size
        offset += size
    raise AssertionError("no mdat box")


# Markers as they may turn up by chance in compressed data (4 bytes: about once in 4 GB).
CHANCE = b"\xa9xyz" + b"Exif\x00\x00" + "Apple".encode("utf-16-le")


def test_coded_pictures_and_sound_are_not_searched_but_everything_else_is(
    memo: Path, tmp_path: Path
) -> None:
    """A 20-minute 1080p episode is 1.2 GB of near-random bytes; a chance match there
    must not stop it being published. Tags around the media are still searched."""
    clean = strip_file(memo, tmp_path / "clean.m4a")
    data = bytearray(clean.read_bytes())
    lo, hi = _mdat_payload(bytes(data))
    at = (lo + hi) // 2
    data[at : at + len(CHANCE)] = CHANCE
    chance = tmp_path / "chance.m4a"
    chance.write_bytes(bytes(data))
    assert find_traces(chance, ["Apple"]) == []
    # the same bytes outside the coded media: found
    outside = tmp_path / "outside.m4a"
    outside.write_bytes(bytes(data) + struct.pack(">I4s", 8 + len(CHANCE), b"free") + CHANCE)
    traces = "\n".join(find_traces(outside, ["Apple"]))
    assert "b'\\xa9xyz'" in traces and "Exif" in traces and "'Apple'" in traces


def test_mp3_audio_frames_are_not_searched_but_its_tags_are(tmp_path: Path) -> None:
    mp3 = tmp_path / "episode.mp3"
    ff("-f", "lavfi", "-i", "sine=d=3", "-c:a", "libmp3lame", "-id3v2_version", "3",
       "-fflags", "+bitexact", "-flags:a", "+bitexact", "-metadata", "title=Episode",
       mp3)  # fmt: skip
    data = bytearray(mp3.read_bytes())
    at = len(data) // 2  # well inside the audio frames
    data[at : at + len(CHANCE)] = CHANCE
    chance = tmp_path / "chance.mp3"
    chance.write_bytes(bytes(data))
    assert find_traces(chance, ["Apple"]) == []
    tagged = tmp_path / "tagged.mp3"
    ff("-i", chance, "-c", "copy", "-id3v2_version", "3", "-fflags", "+bitexact",
       "-metadata", "artist=Apple", tagged)  # fmt: skip
    assert any("'Apple'" in t for t in find_traces(tagged, ["Apple"]))
