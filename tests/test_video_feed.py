"""`video_feed: true`: a second, video-only feed beside the show's feed, read as apps read it.

The festival project is published once (two phone videos: one by Ria, who consented to
her face being shown, and one by Theo, who did not, so it goes out audio-only). Tests
that change it work on a copy that keeps its render caches, so they publish in seconds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import podcastparser
import pytest
from lxml import etree

from pipeline.feed.build import PODCAST_NS, build_feed, episode_guid, podcast_guid, video_feed_guid
from pipeline.feed.validate import errors, validate
from pipeline.project.showfile import load_show
from pipeline.project.yamlfile import Problems
from pipeline.records import FeedEntry, PublishedFile, Show

from conftest import ROOT, Run, storycast
from kit.media import phone_mp4, say
from test_feed import ARTWORK, BASE, make_entry, make_show, published_file

SHOW = "riverside-voices"
BASE_URL = "http://127.0.0.1:8000/"
FEED = f"feeds/{SHOW}.xml"
VIDEO_FEED = f"feeds/{SHOW}-video.xml"
MANIFEST = f"manifests/{SHOW}.json"
ATOM = "http://www.w3.org/2005/Atom"
NS = {"podcast": PODCAST_NS, "atom": ATOM}

PEOPLE = """people:
  - id: ria
    credit: name
    name: Ria
    roles: [guest]
    consent:
      voice: 2026-08-01
      face: 2026-08-01
  - id: theo
    credit: name
    name: Theo
    roles: [guest]
    consent:
      voice: 2026-08-01
"""


def _episode(root: Path, slug: str, who: str, published: str) -> None:
    folder = root / "episodes" / slug
    (folder / "recordings").mkdir(parents=True)
    # each episode its own recording (the same words said twice would be the same sound,
    # which a withdrawal holds back in every episode)
    wav = say([("en-gb", f"Welcome to the festival {slug}.")], root / f"{slug}.wav")
    phone_mp4(wav, folder / "recordings" / "clip.mp4")
    wav.unlink()
    (folder / "episode.yaml").write_text(
        f"show: {SHOW}\ntitle: Festival {slug}\npublished: {published}\n"
        f"medium: video\nappearances:\n  clip.mp4: [{who}]\n"
    )
    (folder / "edl.yaml").write_text("clips:\n  - source: clip.mp4\n    in: 0.1\n    out: 1.6\n")


@pytest.fixture(scope="module")
def festival(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The festival show with `video_feed: true`, published once."""
    root = tmp_path_factory.mktemp("video-feed")
    (root / "feeds").mkdir()
    show = (ROOT / "feeds" / f"{SHOW}.yaml").read_text()
    (root / "feeds" / f"{SHOW}.yaml").write_text(show + "approval: optional\nvideo_feed: true\n")
    shutil.copy(ROOT / "feeds" / f"{SHOW}.jpg", root / "feeds" / f"{SHOW}.jpg")
    (root / "episodes").mkdir()
    (root / "episodes" / "people.yaml").write_text(PEOPLE)
    _episode(root, "stage", "ria", "2026-08-20")
    _episode(root, "backstage", "theo", "2026-08-21")
    run = storycast(root, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    return run


@pytest.fixture
def project(festival: Run, tmp_path: Path) -> Path:
    """A copy of the published festival project (public folder, manifest and caches too)."""
    root = tmp_path / "p"
    shutil.copytree(festival.root, root)
    return root


def _show_file(root: Path) -> Path:
    return root / "feeds" / f"{SHOW}.yaml"


def _parse(path: Path) -> dict[str, Any]:
    """The feed as gPodder's parser reads it."""
    return podcastparser.parse(BASE_URL + path.name, io.BytesIO(path.read_bytes()))  # type: ignore[no-any-return]


def _channel(path: Path) -> Any:
    channel = etree.fromstring(path.read_bytes()).find("channel")
    assert channel is not None
    return channel


def _loaded_show(root: Path) -> Show:
    problems = Problems()
    show = load_show(_show_file(root), problems)
    assert show is not None and not problems.items, problems.items
    return show


def _snapshot(public: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in public.rglob("*") if p.is_file()}


# --- what a subscriber gets ---------------------------------------------------------------


def test_the_video_feed_lists_only_the_video_episode_with_its_mp4(festival: Run) -> None:
    video = _parse(festival.public / VIDEO_FEED)
    assert video["title"] == "Riverside Voices (video)"
    assert [e["title"] for e in video["episodes"]] == ["Festival stage"]
    episode = video["episodes"][0]
    [enclosure] = episode["enclosures"]
    assert enclosure["mime_type"] == "video/mp4"
    assert enclosure["url"].startswith(BASE_URL)
    mp4 = festival.public / enclosure["url"][len(BASE_URL) :]
    assert mp4.is_file() and mp4.suffix == ".mp4"
    assert enclosure["file_size"] == mp4.stat().st_size
    # the same episode as in the main feed: one guid, one file
    main = {e["title"]: e for e in _parse(festival.public / FEED)["episodes"]}
    assert episode["guid"] == main["Festival stage"]["guid"]
    assert episode["enclosures"] == main["Festival stage"]["enclosures"]


def test_the_video_feed_has_its_own_identity(festival: Run) -> None:
    show = _loaded_show(festival.root)
    channel = _channel(festival.public / VIDEO_FEED)
    assert channel.findtext("podcast:medium", namespaces=NS) == "video"
    self_link = channel.find("atom:link[@rel='self']", NS)
    assert self_link is not None and self_link.get("href") == BASE_URL + VIDEO_FEED
    guid = channel.findtext("podcast:guid", namespaces=NS)
    main_guid = _channel(festival.public / FEED).findtext("podcast:guid", namespaces=NS)
    assert guid == video_feed_guid(show) != main_guid
    # the show pins its guid, so the video feed's follows it, and stays when the feeds move
    moved = dataclasses.replace(show, base_url="https://cdn.example.org/festival")
    assert show.guid is not None and video_feed_guid(moved) == guid
    # every item keeps the alternate enclosures of the main feed: video, and audio only
    [item] = channel.findall("item")
    alternates = item.findall(f"{{{PODCAST_NS}}}alternateEnclosure")
    assert [a.get("type") for a in alternates] == ["video/mp4", "audio/mpeg"]


def test_the_main_feed_is_unchanged_in_shape(festival: Run) -> None:
    channel = _channel(festival.public / FEED)
    assert channel.findtext("title") == "Riverside Voices"
    assert channel.findtext("podcast:medium", namespaces=NS) == "podcast"
    self_link = channel.find("atom:link[@rel='self']", NS)
    assert self_link is not None and self_link.get("href") == BASE_URL + FEED
    items = {i.findtext("title"): i for i in channel.findall("item")}
    assert set(items) == {"Festival stage", "Festival backstage"}
    types = {t: i.find("enclosure").get("type") for t, i in items.items()}  # type: ignore[union-attr]
    # Theo did not consent to his face being shown: audio only, so not in the video feed
    assert types == {"Festival stage": "video/mp4", "Festival backstage": "audio/mpeg"}
    assert "video feed: " + BASE_URL + VIDEO_FEED in festival.stdout


@pytest.mark.parametrize("feed", [FEED, VIDEO_FEED])
def test_both_feeds_pass_validate_feed(festival: Run, feed: str) -> None:
    run = storycast(festival.root, "validate-feed", str(festival.public / feed))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "passes: 0 errors" in run.stdout


def test_the_manifest_records_the_video_feed(festival: Run) -> None:
    manifest = json.loads((festival.public / MANIFEST).read_text())
    record = manifest["video_feed"]
    data = (festival.public / VIDEO_FEED).read_bytes()
    assert record["key"] == VIDEO_FEED
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["size"] == len(data) and record["version"]
    assert manifest["feed"]["key"] == FEED


# --- publishing it safely -------------------------------------------------------------------


def test_republishing_with_nothing_changed_writes_nothing(festival: Run) -> None:
    before = _snapshot(festival.public)
    run = storycast(festival.root, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "(0 written, 0 removed)" in run.stdout
    assert "store: video feed unchanged" in run.stderr
    assert _snapshot(festival.public) == before


def test_a_retitled_video_feed_is_planned_then_rewritten_alone(project: Path) -> None:
    show_file = _show_file(project)
    show_file.write_text(show_file.read_text() + "video_feed_title: Riverside Voices on film\n")
    main_before = (project / "public" / FEED).read_bytes()
    before = _snapshot(project / "public")

    dry = storycast(project, "publish", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"replace  {VIDEO_FEED}" in dry.stdout and "(the video feed)" in dry.stdout
    assert f"replace  {FEED}" not in dry.stdout
    assert f"video feed: {BASE_URL}{VIDEO_FEED}" in dry.stdout
    assert _snapshot(project / "public") == before

    run = storycast(project, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    assert _parse(project / "public" / VIDEO_FEED)["title"] == "Riverside Voices on film"
    assert (project / "public" / FEED).read_bytes() == main_before
    assert "(2 written, 0 removed)" in run.stdout  # the video feed and the manifest


def test_a_withdrawn_persons_video_episode_leaves_the_video_feed(project: Path) -> None:
    cache = project / ".storycast"
    [rendered] = list(cache.rglob("videos/*.mp4"))  # Ria's; Theo's episode is audio-only
    # what a killed render would have left: work folders with her pictures and sound
    leftovers = [rendered.parent / ".work-killed", next(cache.rglob("renders")) / ".stems-killed"]
    for folder in leftovers:
        folder.mkdir()
        (folder / "pictures-00000.mp4").write_bytes(b"frames")
    said = storycast(project, "withdraw", "ria", "--requested-by", "Ria, at the info tent")
    assert said.returncode == 0, said.stdout + said.stderr
    run = storycast(project, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    public = project / "public"
    video = _parse(public / VIDEO_FEED)
    assert video["episodes"] == []  # still there for its subscribers, with nothing in it
    assert [e["title"] for e in _parse(public / FEED)["episodes"]] == ["Festival backstage"]
    assert not list(public.rglob("stage-*.mp4"))
    findings = validate((public / VIDEO_FEED).read_bytes(), source=public / VIDEO_FEED)
    assert not errors(findings), findings
    assert "items" in {f.rule for f in findings}  # a warning: it lists no episode
    [audit] = [
        e
        for e in map(json.loads, (project / "episodes" / "audit.jsonl").open())
        if e["action"] == "takedown"
    ]
    assert audit["episode"] == "stage" and audit["video_feed"] == BASE_URL + VIDEO_FEED
    # her rendered video, its poster and the leftovers are gone from the cache too
    assert not rendered.exists() and not rendered.with_suffix(".jpg").exists()
    assert not any(folder.exists() for folder in leftovers)
    assert f"videos/{rendered.stem}" in audit["removed_from_cache"]


def test_turning_the_video_feed_off_removes_it(project: Path) -> None:
    show_file = _show_file(project)
    show_file.write_text(show_file.read_text().replace("video_feed: true\n", ""))
    public = project / "public"
    main_before = (public / FEED).read_bytes()

    dry = storycast(project, "publish", "--dry-run")
    assert f"delete   {VIDEO_FEED}" in dry.stdout, dry.stdout
    assert "(the video feed: `video_feed` is off)" in dry.stdout
    assert (public / VIDEO_FEED).is_file()

    run = storycast(project, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"video feed removed: {BASE_URL}{VIDEO_FEED}" in run.stdout
    assert not (public / VIDEO_FEED).exists()
    assert (public / FEED).read_bytes() == main_before  # the main feed is not touched
    assert "video_feed" not in json.loads((public / MANIFEST).read_text())

    again = storycast(project, "publish")
    assert "(0 written, 0 removed)" in again.stdout, again.stdout


def test_a_video_feed_changed_by_hand_is_reported_not_overwritten(project: Path) -> None:
    path = project / "public" / VIDEO_FEED
    by_hand = path.read_bytes().replace(b"Riverside Voices (video)", b"Our festival films")
    path.write_bytes(by_hand)
    before = _snapshot(project / "public")
    run = storycast(project, "publish")
    assert run.returncode == 1
    assert f"the video feed `{VIDEO_FEED}`" in run.stdout
    assert "changed by hand since the last publish" in run.stdout
    assert "Nothing was written." in run.stdout
    assert _snapshot(project / "public") == before


def test_a_foreign_file_where_the_video_feed_goes_is_left_alone(project: Path) -> None:
    show_file = _show_file(project)
    text = show_file.read_text()
    show_file.write_text(text.replace("video_feed: true\n", ""))
    assert storycast(project, "publish").returncode == 0
    path = project / "public" / VIDEO_FEED
    path.write_bytes(b"<rss>someone else's</rss>")
    show_file.write_text(text)
    run = storycast(project, "publish")
    assert run.returncode == 1
    assert "not written by storycast (no manifest records it" in run.stdout
    assert path.read_bytes() == b"<rss>someone else's</rss>"


# --- the show file --------------------------------------------------------------------------


def _bare_project(root: Path, extra: str) -> Path:
    (root / "feeds").mkdir(parents=True)
    (root / "episodes").mkdir()
    show = (ROOT / "feeds" / f"{SHOW}.yaml").read_text()
    _show_file(root).write_text(show + extra)
    shutil.copy(ROOT / "feeds" / f"{SHOW}.jpg", root / "feeds" / f"{SHOW}.jpg")
    return root


def test_a_bad_video_feed_value_is_a_file_line_error(tmp_path: Path) -> None:
    root = _bare_project(tmp_path, "video_feed: sometimes\n")
    line = len(_show_file(root).read_text().splitlines())
    run = storycast(root, "check")
    assert run.returncode != 0
    assert f"{SHOW}.yaml:{line}: video_feed: `sometimes` should be true or false." in run.stdout


def test_a_show_already_at_the_video_feeds_address_is_refused(tmp_path: Path) -> None:
    root = _bare_project(tmp_path, "video_feed: true\n")
    shutil.copy(_show_file(root), root / "feeds" / f"{SHOW}-video.yaml")
    line = len(_show_file(root).read_text().splitlines())
    problems = Problems()
    load_show(_show_file(root), problems)
    [problem] = problems.items
    assert (problem.path, problem.line, problem.field) == (_show_file(root), line, "video_feed")
    assert f"feeds/{SHOW}-video.xml" in problem.message


def test_the_setting_is_off_by_default(tmp_path: Path) -> None:
    root = _bare_project(tmp_path, "")
    show = _loaded_show(root)
    assert (show.video_feed, show.video_feed_title) == (False, None)
    assert show.video_feed_key == f"feeds/{SHOW}-video.xml"


# --- build_feed's video variant, without media ------------------------------------------------


def _video_entry(tmp_path: Path, slug: str, day: int) -> FeedEntry:
    entry = make_entry(tmp_path, slug, datetime(2026, 8, day, 18, tzinfo=UTC))
    film: PublishedFile = published_file("video", f"media/{slug}/film.mp4", 9_000_000, "video/mp4")
    return dataclasses.replace(entry, files={**entry.files, "video": film})


def test_the_video_variant_of_build_feed(tmp_path: Path) -> None:
    show = make_show(tmp_path, video_feed=True)
    audio = make_entry(tmp_path, "talk", datetime(2026, 8, 22, 18, tzinfo=UTC))
    entries = [audio, _video_entry(tmp_path, "film-a", 20), _video_entry(tmp_path, "film-b", 21)]
    xml = build_feed(show, entries, ARTWORK, variant="video")
    feed = podcastparser.parse(show.video_feed_url, io.BytesIO(xml))
    assert feed["title"] == "Youth Voices & Friends (video)"
    assert [e["title"] for e in feed["episodes"]] == ["Episode film-b", "Episode film-a"]
    assert {e["enclosures"][0]["mime_type"] for e in feed["episodes"]} == {"video/mp4"}
    assert [e["guid"] for e in feed["episodes"]] == [
        episode_guid(show, entries[2].episode),
        episode_guid(show, entries[1].episode),
    ]
    # no guid pinned: the namespace's rule on the video feed's own URL, so no warning
    assert video_feed_guid(show) == podcast_guid(BASE + f"feeds/{show.slug}-video.xml")
    findings = validate(xml, url=show.video_feed_url)
    assert not errors(findings), findings
    assert "podcast-guid-rule" not in {f.rule for f in findings}
    # the main feed is what it always was
    assert build_feed(show, entries, ARTWORK) == build_feed(
        dataclasses.replace(show, video_feed=False), entries, ARTWORK
    )


def test_the_video_feed_guid_follows_a_pinned_guid_when_the_feed_moves(tmp_path: Path) -> None:
    pinned = "61b29e05-4199-55a3-b895-4181819b0a5b"
    here = make_show(tmp_path, guid=pinned)
    moved = dataclasses.replace(here, base_url="https://cdn.example.net/elsewhere/")
    assert video_feed_guid(here) == video_feed_guid(moved) != pinned
    entry = make_entry(tmp_path, "video", datetime(2026, 8, 20, tzinfo=UTC))
    assert video_feed_guid(here) != episode_guid(here, entry.episode)  # never an episode's


def test_a_show_with_no_video_episodes_gets_an_empty_valid_video_feed(tmp_path: Path) -> None:
    show = make_show(tmp_path, video_feed=True, video_feed_title="Youth Voices: films")
    audio = make_entry(tmp_path, "talk", datetime(2026, 8, 22, 18, tzinfo=UTC))
    xml = build_feed(show, [audio], ARTWORK, variant="video")
    feed = podcastparser.parse(show.video_feed_url, io.BytesIO(xml))
    assert (feed["title"], feed["episodes"]) == ("Youth Voices: films", [])
    assert not errors(validate(xml, url=show.video_feed_url))


@pytest.mark.parametrize("edl_broken", [False, True])
def test_face_consent_withdrawn_takes_the_video_down(project: Path, edl_broken: bool) -> None:
    """Ria no longer consents to her face being shown: her video and poster come down at
    once; the episode goes out audio-only, or (its EDL broken) stays out until it can."""
    (project / "episodes" / "people.yaml").write_text(
        PEOPLE.replace("      face: 2026-08-01\n", "")
    )
    if edl_broken:
        (project / "episodes" / "stage" / "edl.yaml").write_text("clips: [\n")
    run = storycast(project, "publish")
    public = project / "public"
    assert not list(public.rglob("stage-*.mp4")) and not list(public.rglob("stage-*.poster.jpg"))
    assert _parse(public / VIDEO_FEED)["episodes"] == []
    titles = [e["title"] for e in _parse(public / FEED)["episodes"]]
    if edl_broken:
        assert run.returncode == 1 and "Festival stage" not in titles
        assert not list(public.rglob("stage-*"))
    else:
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Festival stage" in titles and list(public.rglob("stage-*.mp3"))
        assert "audit: all promises hold" in run.stdout
    [entry] = [
        e
        for e in map(json.loads, (project / "episodes" / "audit.jsonl").open())
        if e["action"] == "takedown"
    ]
    assert entry["kind"] == "face" and entry["complete"] is True
