"""A festival volunteer's phone video, published as a captioned video episode with no trace."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from pipeline.feed.build import PODCAST_NS
from pipeline.media.scrub import find_traces

from conftest import ROOT, Run, storycast
from kit.media import EXIF_SECRETS, exif_phone_tags, exif_traces, phone_mp4, say

PEOPLE = """people:
  - id: ria
    credit: name
    name: Ria
    roles: [guest]
    consent:
      voice: 2026-08-01
      face: 2026-08-01
  - id: theo
    credit: none
    consent:
      voice: 2026-08-01
"""


def _episode(root: Path, slug: str, who: str, recording: Path) -> None:
    folder = root / "episodes" / slug
    (folder / "recordings").mkdir(parents=True)
    recording.rename(folder / "recordings" / "clip.mp4")
    (folder / "episode.yaml").write_text(
        f"show: riverside-voices\ntitle: Festival {slug}\npublished: 2026-08-20\n"
        f"medium: video\nappearances:\n  clip.mp4: [{who}]\n"
    )
    (folder / "edl.yaml").write_text(
        "clips:\n  - source: clip.mp4\n    in: 0.2\n    out: 3.4\n    fade_in: 0.3\n"
    )


@pytest.fixture(scope="module")
def video_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("video")
    (root / "feeds").mkdir()
    show = (ROOT / "feeds" / "riverside-voices.yaml").read_text()
    (root / "feeds" / "riverside-voices.yaml").write_text(show + "approval: optional\n")
    (root / "feeds" / "riverside-voices.jpg").write_bytes(
        (ROOT / "feeds" / "riverside-voices.jpg").read_bytes()
    )
    (root / "episodes").mkdir()
    (root / "episodes" / "people.yaml").write_text(PEOPLE)
    for slug, who in (("stage", "ria"), ("backstage", "theo")):
        wav = say(
            [("en-gb", "Welcome to the festival stage."), ("en-us", "The music starts soon.")],
            root / f"{slug}.wav",
            gap=0.3,
        )
        _episode(root, slug, who, exif_phone_tags(phone_mp4(wav, root / f"{slug}.mp4")))
        wav.unlink()
    return storycast(root, "publish")


def _items(run: Run) -> dict[str, etree._Element]:
    feed = etree.fromstring((run.public / "feeds" / "riverside-voices.xml").read_bytes())
    return {i.findtext("title"): i for i in feed.iter("item")}


def _probe(path: Path) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_a_video_episode_is_offered_as_video_with_an_audio_alternative(video_run: Run) -> None:
    assert video_run.returncode == 0, video_run.stdout + video_run.stderr
    item = _items(video_run)["Festival stage"]
    enclosure = item.find("enclosure")
    assert enclosure is not None and enclosure.get("type") == "video/mp4"
    alternates = item.findall(f"{{{PODCAST_NS}}}alternateEnclosure")
    assert [(a.get("type"), a.get("default")) for a in alternates] == [
        ("video/mp4", "true"),
        ("audio/mpeg", None),
    ]
    mp4 = video_run.public / enclosure.get("url", "").split("8000/", 1)[1]
    assert int(enclosure.get("length", "0")) == mp4.stat().st_size
    info = _probe(mp4)
    kinds = {s["codec_type"]: s for s in info["streams"]}
    assert kinds["video"]["codec_name"] == "h264" and kinds["video"]["pix_fmt"] == "yuv420p"
    assert (kinds["video"]["width"], kinds["video"]["height"]) == (640, 360)
    assert kinds["audio"]["codec_name"] == "aac"
    assert any(s["codec_name"] == "mov_text" for s in info["streams"])
    assert float(info["format"]["duration"]) == pytest.approx(3.2, abs=0.05)
    assert list(video_run.public.rglob("stage-*.poster.jpg"))


def test_no_location_device_or_time_trace_in_any_published_byte(video_run: Run) -> None:
    secrets = [
        b"51.4545",
        b"002.5879",
        b"iPhone",
        b"Kingsdown",
        b"2026-10-03",
        b"VoiceMemos",
        b"\xa9xyz",
        b"com.apple.quicktime",
        *EXIF_SECRETS,
    ]
    files = [p for p in video_run.public.rglob("*") if p.is_file()]
    assert any(p.suffix == ".mp4" for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret not in data, (path, secret)


def test_exiftool_finds_no_place_device_or_time_in_published_media(video_run: Run) -> None:
    """ExifTool, a reader independent of storycast's own check, sees the phone's tags in
    the source and none of them in any published picture, video or sound file."""
    source = exif_traces(video_run.root / "episodes" / "stage" / "recordings" / "clip.mp4")
    expected_tags = (
        "Keys:GPSCoordinates",
        "UserData:Model",
        "XMP-exif:GPSLatitude",
        "Track3:HandlerType=Time Code",
    )
    for expected in expected_tags:
        assert any(t.startswith(expected) for t in source), (expected, source)
    assert any(t.startswith("QuickTime:CreateDate=2026") for t in source), source
    media = [p for p in video_run.public.rglob("*") if p.suffix in {".mp4", ".mp3", ".jpg"}]
    assert {p.suffix for p in media} == {".mp4", ".mp3", ".jpg"}
    # The show's own credit, which storycast writes into the MP3 on purpose.
    show_artist = frozenset({"ID3v2_3:Artist=Riverside Youth Council"})
    for path in media:
        assert exif_traces(path, show_artist) == [], path


def test_the_poster_is_drawn_afresh_from_its_pixels(video_run: Run) -> None:
    """The poster goes out as ``images.clean_image`` writes it (4:4:4, only a bare JFIF
    header around the picture), not as ffmpeg left it (4:2:0)."""
    posters = list(video_run.public.rglob("*.poster.jpg"))
    assert posters
    for poster in posters:
        out = subprocess.run(
            ["exiftool", "-j", "-G1", "-File:YCbCrSubSampling", str(poster)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert json.loads(out)[0]["File:YCbCrSubSampling"].startswith("YCbCr4:4:4"), poster
        assert find_traces(poster) == []


def test_without_face_consent_it_is_published_audio_only(video_run: Run) -> None:
    item = _items(video_run)["Festival backstage"]
    enclosure = item.find("enclosure")
    assert enclosure is not None and enclosure.get("type") == "audio/mpeg"
    assert not list(video_run.public.rglob("backstage-*.mp4"))
    assert "published audio-only: someone seen in it (theo) has not consented" in video_run.stdout


def test_a_clip_past_the_picture_fails_before_any_transcription(tmp_path: Path) -> None:
    root = tmp_path
    (root / "feeds").mkdir()
    show = (ROOT / "feeds" / "riverside-voices.yaml").read_text()
    (root / "feeds" / "riverside-voices.yaml").write_text(show + "approval: optional\n")
    shutil.copyfile(
        ROOT / "feeds" / "riverside-voices.jpg", root / "feeds" / "riverside-voices.jpg"
    )
    (root / "episodes").mkdir()
    (root / "episodes" / "people.yaml").write_text(PEOPLE)
    # The camera stopped at 2 s; the microphone went on to 4 s.
    clip = root / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=2",
         "-f", "lavfi", "-i", "sine=frequency=330:d=4", "-c:v", "libx264", "-preset",
         "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip)],
        check=True,
    )  # fmt: skip
    _episode(root, "late", "ria", clip)
    edl = root / "episodes" / "late" / "edl.yaml"
    edl.write_text("clips:\n  - source: clip.mp4\n    in: 0.5\n    out: 3.8\n")
    for command in ("check", "publish"):
        run = storycast(root, command)
        assert run.returncode != 0, command
        said = run.stdout + run.stderr
        assert f"{edl}:2: out: the clip of clip.mp4 runs to 3.8 s" in said, said
        assert "picture in that file ends at 2 s" in said
        assert "late: transcribe" not in said  # refused before the slow work
    assert not list((root / "public").rglob("late-*"))
