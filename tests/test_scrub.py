"""scrub: every place a phone hides where, when and on what it recorded is found and removed."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from pipeline.errors import MediaError
from pipeline.media.scrub import assert_clean, find_traces, source_values, strip_file

from kit.media import PHONE_TAGS, phone_m4a, tone

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


# --- our own ID3 tag, checked frame by frame ---------------------------------------------

SHOW = "Harbour Voices"
# A source recording whose tags hold values storycast writes itself: an honest recording,
# made with a podcast app or named after the show.
OURS_TOO = {"genre": "Podcast", "title": SHOW, "album": "Podcast", "artist": "Youth Council"}


def _episode_mp3(src: Path, out: Path, artwork: Path) -> list[bytes]:
    """``src`` rendered and tagged as the render and tag stages do it; the frames written."""
    from pipeline.media.tag import tag_mp3
    from pipeline.render.audio import ENCODE_ARGS

    ff("-i", src, "-t", "1", *ENCODE_ARGS, out)
    return tag_mp3(
        out, title="Episode One", show_title=SHOW, artist="Youth Council", episode_number=1,
        year=2026, artwork=artwork, chapters=[], duration=1.0,
    )  # fmt: skip


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[bytes]]:
    """(source, tagged episode, frames written) for a source whose tags equal ours."""
    d = tmp_path_factory.mktemp("scrub-id3")
    src = phone_m4a(tone(d / "t.wav", 1.0), d / "memo.m4a", tags={**PHONE_TAGS, **OURS_TOO})
    from PIL import Image

    art = d / "cover.jpg"
    Image.new("RGB", (64, 64), (24, 70, 96)).save(art)
    mp3 = d / "episode.mp3"
    return src, mp3, _episode_mp3(src, mp3, art)


def test_a_source_value_storycast_writes_itself_does_not_stop_the_episode(
    honest: tuple[Path, Path, list[bytes]],
) -> None:
    src, mp3, frames = honest
    needles = source_values(src)
    assert {"Podcast", SHOW, "Youth Council"} <= set(needles)
    # Searched over the whole tag, our own TCON, TALB and TPE1 frames looked like leaks.
    whole = "\n".join(find_traces(mp3, needles))
    assert "the source's value 'Podcast'" in whole and f"the source's value {SHOW!r}" in whole
    # Compared with what storycast wrote, field by field: clean.
    assert find_traces(mp3, needles, id3_frames=frames) == []
    assert_clean(mp3, needles, id3_frames=frames)


def _with_extra_frames(mp3: Path, out: Path, *frames: object) -> Path:
    """``mp3`` with more frames spliced into its ID3v2.3 tag; ours left byte for byte."""
    from mutagen.id3._tags import save_frame
    from mutagen.id3._util import ID3SaveConfig

    data = mp3.read_bytes()
    size = sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    extra = b"".join(save_frame(f, config=ID3SaveConfig(3, "/")) for f in frames)
    size += len(extra)
    syncsafe = bytes((size >> (7 * (3 - i))) & 0x7F for i in range(4))
    out.write_bytes(data[:6] + syncsafe + extra + data[10:])
    return out


def test_a_frame_storycast_did_not_write_is_a_trace_and_still_searched(
    honest: tuple[Path, Path, list[bytes]], tmp_path: Path
) -> None:
    from mutagen.id3 import COMM, TXXX, Encoding

    src, mp3, frames = honest
    needles = source_values(src)
    leaky = _with_extra_frames(
        mp3,
        tmp_path / "leaky.mp3",
        TXXX(encoding=Encoding.UTF16, desc="note", text=[PHONE_TAGS["comment"]]),
        COMM(encoding=Encoding.LATIN1, lang="eng", desc="", text=["Podcast"]),
    )
    traces = "\n".join(find_traces(leaky, needles, id3_frames=frames))
    assert "ID3 frame 'TXXX' at byte 10" in traces and "is not one storycast wrote" in traces
    assert "ID3 frame 'COMM'" in traces
    # a source's value outside our frames is still found, even one we write elsewhere
    assert f"the source's value {PHONE_TAGS['comment']!r}" in traces
    assert "the source's value 'Podcast'" in traces
    # our own frames were recognised: none of them is named
    for ours in ("TIT2", "TALB", "TPE1", "TCON", "APIC"):
        assert f"frame '{ours}'" not in traces


def test_a_frame_of_ours_with_another_value_is_a_trace(
    honest: tuple[Path, Path, list[bytes]], tmp_path: Path
) -> None:
    src, mp3, frames = honest
    data = mp3.read_bytes()
    ours = "Harbour".encode("utf-16-le")
    assert data.count(ours) == 1  # in TALB
    changed = tmp_path / "changed.mp3"
    changed.write_bytes(data.replace(ours, "Kingsdn".encode("utf-16-le")))
    traces = find_traces(changed, source_values(src), id3_frames=frames)
    assert any("ID3 frame 'TALB'" in t and "not one storycast wrote" in t for t in traces)


def test_other_tags_around_ours_are_traces(
    honest: tuple[Path, Path, list[bytes]], tmp_path: Path
) -> None:
    from mutagen.apev2 import APEv2

    _, mp3, frames = honest
    v1 = tmp_path / "v1.mp3"
    v1.write_bytes(mp3.read_bytes() + b"TAG" + b"Podcast".ljust(125, b"\x00"))
    assert "an ID3v1 tag at the end of the file" in find_traces(v1, id3_frames=frames)
    ape = tmp_path / "ape.mp3"
    ape.write_bytes(mp3.read_bytes())
    tag = APEv2()
    tag["Title"] = "Podcast"
    tag.save(ape)
    assert "an APE tag at the end of the file" in find_traces(ape, id3_frames=frames)
    stacked = tmp_path / "stacked.mp3"
    data = mp3.read_bytes()
    end = 10 + sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    stacked.write_bytes(data[:end] + data[:end] + data[end:])
    assert any("a second ID3v2 tag" in t for t in find_traces(stacked, id3_frames=frames))


def test_an_artwork_with_exif_in_our_cover_frame_is_a_trace(tmp_path: Path) -> None:
    """Our APIC frame, even byte for byte as written, is checked as a picture: an artwork
    that was not cleaned first is caught in every MP3 that embeds it."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0110] = "iPhone 13 mini"
    art = tmp_path / "cover.jpg"
    Image.new("RGB", (64, 64), (24, 70, 96)).save(art, exif=exif.tobytes())
    src = phone_m4a(tone(tmp_path / "t.wav", 1.0), tmp_path / "memo.m4a")
    mp3 = tmp_path / "episode.mp3"
    frames = _episode_mp3(src, mp3, art)
    traces = "\n".join(find_traces(mp3, source_values(src), id3_frames=frames))
    assert "ID3 cover picture (APIC): JPEG APP1 segment: EXIF" in traces


def test_our_encoders_names_are_not_needles(honest: tuple[Path, Path, list[bytes]]) -> None:
    """A recording made by ffmpeg in bitexact mode names its encoder as ours do ("Lavf"):
    the name our own encode writes into the MP3's Info frame is no phone's trace."""
    _, mp3, frames = honest
    assert b"Lavf" in mp3.read_bytes()
    assert find_traces(mp3, ["Lavf", "Lavc libx264"], id3_frames=frames) == []
    # any other value is still searched there
    assert any("'lame'" in t for t in find_traces(mp3, ["lame"], id3_frames=frames))
