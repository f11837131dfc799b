"""The tag stage on a real MP3: phone tags gone, our frames read back by mutagen and ffprobe."""

# mutagen leaves most of its functions unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mutagen.apev2 import APEv2
from mutagen.id3 import ID3, TXXX
from PIL import Image

from pipeline.errors import InputError
from pipeline.media.tag import tag_mp3
from pipeline.records import Chapter

DURATION = 3.0
LEAKS = [b"secret", b"PhoneMaker", b"+51.5", b"Lavf", b"Pixel"]


def make_mp3(path: Path) -> Path:
    """A 3 s MP3 carrying phone-like tags in ID3v2, ID3v1 and APE."""
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={DURATION}",
            "-metadata", "comment=secret",
            "-metadata", "location=+51.5-0.12/",
            "-metadata", "artist=PhoneMaker",
            "-write_id3v1", "1",
            "-c:a", "libmp3lame", str(path),
        ],
        check=True,
    )  # fmt: skip
    ape = APEv2()
    ape["Comment"] = "secret"
    ape["Device"] = "Pixel 7 at +51.5-0.12"
    ape.save(path)
    data = path.read_bytes()
    assert all(leak in data for leak in LEAKS)  # the test file really carries them
    return path


def make_image(path: Path, fmt: str) -> Path:
    Image.new("RGB", (64, 64), (200, 40, 90)).save(path, format=fmt)
    return path


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_chapters", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def decodes(path: Path) -> bool:
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    return proc.returncode == 0 and proc.stderr.strip() == ""


CHAPTERS = [Chapter(0.0, "Intro"), Chapter(1.25, "Ffion’s story"), Chapter(2.5, "Thanks")]


def test_tag_strips_everything_and_writes_only_ours(tmp_path: Path) -> None:
    mp3 = make_mp3(tmp_path / "out.mp3")
    art = make_image(tmp_path / "cover.png", "PNG")
    tag_mp3(
        mp3,
        title="Episode One",
        show_title="Harbour Voices",
        artist="Youth Council",
        episode_number=7,
        year=2024,
        artwork=art,
        chapters=CHAPTERS,
        duration=DURATION,
    )

    data = mp3.read_bytes()
    for leak in LEAKS:
        assert leak not in data, leak
    assert data.startswith(b"ID3\x03")  # ID3v2.3
    assert b"TAG" not in data[-128:-125]  # no ID3v1
    assert b"APETAGEX" not in data

    tags = ID3(mp3, translate=False)  # raw frames as stored (no TYER -> TDRC)
    assert tags.version == (2, 3, 0)
    ids = sorted(frame.FrameID for frame in tags.values())
    assert ids == sorted(
        ["TIT2", "TALB", "TPE1", "TRCK", "TYER", "TCON", "APIC", "CHAP", "CHAP", "CHAP", "CTOC"]
    )
    assert str(tags["TIT2"]) == "Episode One"
    assert str(tags["TALB"]) == "Harbour Voices"
    assert str(tags["TPE1"]) == "Youth Council"
    assert str(tags["TRCK"]) == "7"
    assert str(tags["TYER"]) == "2024"
    assert str(tags["TCON"]) == "Podcast"
    apic = tags.getall("APIC")[0]
    assert apic.mime == "image/png"
    assert apic.type == 3
    assert apic.data == art.read_bytes()

    toc = tags["CTOC:toc"]
    assert toc.child_element_ids == ["chp0", "chp1", "chp2"]
    assert toc.flags & 0x01 and toc.flags & 0x02  # ordered, top level
    chaps = [tags[f"CHAP:chp{i}"] for i in range(3)]
    assert [(c.start_time, c.end_time) for c in chaps] == [(0, 1250), (1250, 2500), (2500, 3000)]
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == [c.title for c in CHAPTERS]

    probe = ffprobe(mp3)
    got = [
        (float(c["start_time"]), float(c["end_time"]), c["tags"]["title"])
        for c in probe["chapters"]
    ]
    assert got == [(0.0, 1.25, "Intro"), (1.25, 2.5, "Ffion’s story"), (2.5, 3.0, "Thanks")]
    fmt_tags = {k.lower(): v for k, v in probe["format"].get("tags", {}).items()}
    assert fmt_tags["title"] == "Episode One"
    assert fmt_tags["album"] == "Harbour Voices"
    assert fmt_tags["artist"] == "Youth Council"
    assert "comment" not in fmt_tags and "location" not in fmt_tags
    assert "encoder" not in fmt_tags

    assert decodes(mp3)


def test_png_named_jpg_gets_png_mime_and_optional_frames_are_left_out(tmp_path: Path) -> None:
    mp3 = make_mp3(tmp_path / "out.mp3")
    art = make_image(tmp_path / "cover.jpg", "PNG")  # a PNG wearing a .jpg name
    tag_mp3(
        mp3,
        title="Trailer",
        show_title="Harbour Voices",
        artist=None,
        episode_number=None,
        year=None,
        artwork=art,
        chapters=[],
        duration=DURATION,
    )
    tags = ID3(mp3, translate=False)  # raw frames as stored (no TYER -> TDRC)
    assert sorted(f.FrameID for f in tags.values()) == ["APIC", "TALB", "TCON", "TIT2"]
    assert tags.getall("APIC")[0].mime == "image/png"
    assert ffprobe(mp3).get("chapters") == []
    assert b"PhoneMaker" not in mp3.read_bytes()
    assert decodes(mp3)


def test_jpeg_artwork_and_retagging_replaces_old_frames(tmp_path: Path) -> None:
    mp3 = make_mp3(tmp_path / "out.mp3")
    art = make_image(tmp_path / "cover.png", "JPEG")  # a JPEG wearing a .png name
    common: dict[str, Any] = dict(
        show_title="Harbour Voices", artist=None, year=None, artwork=art, duration=DURATION
    )
    tag_mp3(mp3, title="First", episode_number=1, chapters=CHAPTERS, **common)
    tag_mp3(mp3, title="Second", episode_number=2, chapters=CHAPTERS[:1], **common)
    tags = ID3(mp3, translate=False)  # raw frames as stored (no TYER -> TDRC)
    assert tags.getall("APIC")[0].mime == "image/jpeg"
    assert str(tags["TIT2"]) == "Second"
    assert len(tags.getall("CHAP")) == 1
    assert tags["CHAP:chp0"].end_time == 3000
    assert b"First" not in mp3.read_bytes()
    assert not list(tmp_path.glob(".*.tagging"))
    assert decodes(mp3)


def test_bad_artwork_and_bad_chapters_are_input_errors(tmp_path: Path) -> None:
    mp3 = make_mp3(tmp_path / "out.mp3")
    original = mp3.read_bytes()
    not_image = tmp_path / "cover.jpg"
    not_image.write_text("not an image")
    good_art = make_image(tmp_path / "cover.png", "PNG")
    common: dict[str, Any] = dict(
        title="T", show_title="S", artist=None, episode_number=None, year=None, duration=DURATION
    )
    with pytest.raises(InputError, match="neither a JPEG nor a PNG"):
        tag_mp3(mp3, artwork=not_image, chapters=[], **common)
    with pytest.raises(InputError, match="EDL line 9"):
        tag_mp3(
            mp3,
            artwork=good_art,
            chapters=[Chapter(0.0, "A", 4), Chapter(3.5, "Late", 9)],
            **common,
        )
    with pytest.raises(InputError, match="not after the chapter before"):
        tag_mp3(mp3, artwork=good_art, chapters=[Chapter(1.0, "A"), Chapter(0.5, "B")], **common)
    assert mp3.read_bytes() == original  # nothing touched on failure


def test_stacked_id3v2_tags_are_all_removed(tmp_path: Path) -> None:
    mp3 = make_mp3(tmp_path / "out.mp3")
    extra = tmp_path / "extra.id3"
    extra.write_bytes(b"")
    stacked = ID3()
    stacked.add(TXXX(encoding=3, desc="gps", text=["+51.5 Pixel secret"]))
    stacked.save(extra)
    mp3.write_bytes(extra.read_bytes() + mp3.read_bytes())  # two ID3v2 tags in a row
    assert mp3.read_bytes()[len(extra.read_bytes()) :].startswith(b"ID3")
    art = make_image(tmp_path / "cover.png", "PNG")
    tag_mp3(
        mp3,
        title="T",
        show_title="S",
        artist=None,
        episode_number=None,
        year=None,
        artwork=art,
        chapters=[],
        duration=DURATION,
    )
    data = mp3.read_bytes()
    for leak in LEAKS:
        assert leak not in data, leak
    size = 10 + sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10]))  # syncsafe
    assert data.startswith(b"ID3") and not data[size:].startswith(b"ID3")
    assert data[size] == 0xFF  # straight into the first MPEG frame (the LAME Info frame)
    assert decodes(mp3)


def test_written_frames_are_exactly_the_frames_in_the_file(tmp_path: Path) -> None:
    """The scrub compares an episode's tag with ``written_frames``, rebuilt from the same
    values without the MP3: they must be the file's frames, byte for byte, in order."""
    from pipeline.media.tag import written_frames

    mp3 = make_mp3(tmp_path / "out.mp3")
    art = make_image(tmp_path / "cover.jpg", "JPEG")
    fields: dict[str, Any] = dict(
        title="Episode One", show_title="Harbour Voices", artist="Youth Council",
        episode_number=7, year=2024, artwork=art, chapters=CHAPTERS, duration=DURATION,
    )  # fmt: skip
    wrote = tag_mp3(mp3, **fields)
    assert wrote == written_frames(**fields)
    data = mp3.read_bytes()
    size = sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    frames = b"".join(wrote)
    assert data[10 : 10 + len(frames)] == frames
    assert not any(data[10 + len(frames) : 10 + size])  # then only padding
    ids = [raw[:4] for raw in wrote]
    assert ids == [b"TIT2", b"TALB", b"TPE1", b"TRCK", b"TYER", b"TCON", b"CTOC"] + [
        b"CHAP"
    ] * 3 + [b"APIC"]
    # another value makes other frames
    assert written_frames(**{**fields, "title": "Episode Two"})[0] != wrote[0]
