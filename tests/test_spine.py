"""The example show, published end to end and checked as a listener's app would see it."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import podcastparser
import yaml

from conftest import ROOT, Run, decoded_duration, ebur128, storycast
from kit.media import exif_traces

BASE = "http://127.0.0.1:8000/"


def _feed(run: Run) -> dict:  # type: ignore[type-arg]
    xml = (run.public / "feeds" / "riverside-voices.xml").read_bytes()
    return podcastparser.parse(BASE + "feeds/riverside-voices.xml", io.BytesIO(xml))  # type: ignore[no-any-return]


def _local(run: Run, url: str) -> Path:
    assert url.startswith(BASE), url
    return run.public / url[len(BASE) :]


def _edl_total(slug: str) -> float:
    edl = yaml.safe_load((ROOT / "episodes" / slug / "edl.yaml").read_text())
    return sum(float(c["out"]) - float(c["in"]) for c in edl["clips"])


def test_publish_succeeds_with_a_summary(example_run: Run) -> None:
    assert example_run.returncode == 0, example_run.stdout + example_run.stderr
    assert "published  first-flat" in example_run.stdout
    assert "published  open-mic" in example_run.stdout
    assert "All 2 episodes published." in example_run.stdout
    # progress is reported stage by stage
    for stage in ("probe", "analyse", "transcribe", "render", "captions", "tag"):
        assert f"first-flat: {stage}" in example_run.stderr


def test_feed_lists_every_episode_with_true_lengths(example_run: Run) -> None:
    feed = _feed(example_run)
    assert feed["title"] == "Riverside Voices"
    titles = {e["title"] for e in feed["episodes"]}
    assert titles == {"Getting your first flat", "Open mic night"}
    for episode in feed["episodes"]:
        (enclosure,) = episode["enclosures"]
        assert enclosure["mime_type"] == "audio/mpeg"
        path = _local(example_run, enclosure["url"])
        assert enclosure["file_size"] == path.stat().st_size
        assert episode["guid"]
        assert episode["total_time"] > 0


def test_each_episode_meets_the_loudness_target(example_run: Run) -> None:
    mp3s = sorted((example_run.public / "media").rglob("*.mp3"))
    assert len(mp3s) == 2
    for mp3 in mp3s:
        integrated, true_peak = ebur128(mp3)
        assert abs(integrated - -16.0) <= 1.0, (mp3.name, integrated)
        assert true_peak <= -1.0, (mp3.name, true_peak)


def test_each_episode_lasts_exactly_as_long_as_its_clips(example_run: Run) -> None:
    for episode in _feed(example_run)["episodes"]:
        slug = "first-flat" if "flat" in episode["title"] else "open-mic"
        mp3 = _local(example_run, episode["enclosures"][0]["url"])
        assert abs(decoded_duration(mp3) - _edl_total(slug)) <= 0.05, slug
        assert episode["total_time"] == round(_edl_total(slug))


def test_captions_hold_kept_words_and_none_that_were_cut(example_run: Run) -> None:
    vtts = {
        p.name.split("-")[0]: p.read_text() for p in (example_run.public / "media").rglob("*.vtt")
    }
    first = vtts["first"].lower()
    open_mic = vtts["open"].lower()
    assert first.startswith("webvtt")
    for word in ("welcome", "riverside", "hardest", "silence", "sundays"):
        assert word in first, word
    # cut from first-flat: the retake and "is this thing still recording?"
    for word in ("sorry", "again", "recording"):
        assert word not in first, word
    for word in ("building", "birthday", "listening"):
        assert word in open_mic, word
    assert "testing" not in open_mic  # the sound check was cut


def test_sidecars_are_published_and_linked(example_run: Run) -> None:
    xml = (example_run.public / "feeds" / "riverside-voices.xml").read_text()
    assert 'type="text/vtt"' in xml and 'rel="captions"' in xml
    assert "application/json+chapters" in xml
    assert "text/html" in xml
    for suffix in (".vtt", ".srt", ".chapters.json", ".html"):
        # (the listeners' site is in media/SHOW/index.html and media/SHOW/episodes/)
        found = [p for p in (example_run.public / "media").glob(f"*/*{suffix}")]
        assert len([p for p in found if p.name != "index.html"]) == 2, suffix


def test_no_phone_metadata_or_raw_recording_is_published(example_run: Run) -> None:
    raw_hashes = {
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (ROOT / "episodes").rglob("recordings/*")
    }
    secrets = [
        b"51.4545",
        b"002.5879",
        b"iPhone",
        b"Kingsdown",
        b"2026-10-03",
        b"VoiceMemos",
        b"SM-A515F",
        b"Pixel 7",
    ]
    published = [p for p in example_run.public.rglob("*") if p.is_file()]
    assert published
    for path in published:
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() not in raw_hashes, path
        for secret in secrets:
            assert secret not in data, (path, secret)
        # UTF-16 text in tags would hide from a plain byte search
        for secret in secrets:
            assert secret.decode().encode("utf-16-le") not in data, (path, secret)


def test_exiftool_sees_the_phone_tags_in_recordings_and_none_in_published_media(
    example_run: Run,
) -> None:
    # The example's voice memos carry Apple keys and a 3GPP location box, as iPhones write.
    for memo in (ROOT / "episodes").rglob("recordings/*.m4a"):
        traces = exif_traces(memo)
        for expected in ("Keys:Location=", "Keys:Model=", "UserData:LocationInformation="):
            assert any(t.startswith(expected) for t in traces), (memo, traces)
    author = yaml.safe_load((ROOT / "feeds" / "riverside-voices.yaml").read_text())["author"]
    show_artist = frozenset({f"ID3v2_3:Artist={author}"})
    media = [p for p in example_run.public.rglob("*") if p.suffix in {".mp3", ".jpg", ".png"}]
    assert any(p.suffix == ".mp3" for p in media)
    for path in media:
        assert exif_traces(path, show_artist) == [], path


def test_second_publish_with_nothing_changed_changes_nothing(
    example_run: Run, tmp_path: Path
) -> None:
    # in a copy of the published project (times kept): the example run is shared by every
    # test, on both workers, so none may publish into it
    root = tmp_path / "p"
    shutil.copytree(example_run.root, root)
    public = root / "public"
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in public.rglob("*")}
    cache = root / ".storycast" / "cache"
    cache_before = {p: p.stat().st_mtime_ns for p in cache.rglob("*")}
    again = storycast(root, "publish")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(0 written, 0 removed)" in again.stdout
    after = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in public.rglob("*")}
    assert after == before
    # no render, transcript or loudness cache entry was rewritten
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*")} == cache_before


def test_published_files_are_readable_by_everyone(example_run: Run) -> None:
    for path in example_run.public.rglob("*"):
        if path.is_file():
            assert os.stat(path).st_mode & 0o444 == 0o444, path
