"""The feed stage, read back the way podcast apps read it.

gPodder's parser (podcastparser) checks what a client sees; lxml XPath checks the
tags it does not read (itunes:explicit as true/false, the podcast: namespace).
"""

from __future__ import annotations

import dataclasses
import html
import io
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import podcastparser
import pytest
from lxml import etree

from pipeline.errors import InputError, StorycastError
from pipeline.feed.build import PODCAST_NS, build_feed, episode_guid, podcast_guid
from pipeline.records import Episode, FeedEntry, PublishedFile, Show

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": PODCAST_NS,
    "atom": "http://www.w3.org/2005/Atom",
}
# The namespace's first URI, which the spec says clients must treat as the same.
# podcastparser 0.6.11 knows only this one (see test_podcast_tags_as_podcastparser_reads_them).
LEGACY_PODCAST_NS = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"

BASE = "https://cdn.example.org/youth/"
FEED_URL = BASE + "feeds/youth-voices.xml"
BST = timezone(timedelta(hours=1))

SPECIAL_TITLE = "Tom & Jerry <live> — 🎙️ مرحبا بالعالم / שלום עולם \"quoted\" 'too'"
SPECIAL_DESCRIPTION = "Fish & chips, <not a tag>, 🌍🏳️‍🌈, العربية and עברית.\nSecond line."


def make_show(tmp_path: Path, **changes: Any) -> Show:
    show = Show(
        path=tmp_path / "feeds" / "youth-voices.yaml",
        slug="youth-voices",
        title="Youth Voices & Friends",
        description="Stories from the youth council <and> its friends.",
        author="Youth Council",
        owner_name="Sam Producer",
        owner_email="producer@example.org",
        language="en-gb",
        link="https://example.org/youth/",
        artwork=tmp_path / "artwork.jpg",
        category="Society & Culture",
        explicit=False,
        base_url=BASE,
        storage="local:public",
        episodes_dir=tmp_path / "episodes",
        subcategory="Personal Journals",
        copyright="© 2024 Youth Council",
    )
    return dataclasses.replace(show, **changes)


def published_file(role: str, key: str, size: int, content_type: str) -> PublishedFile:
    return PublishedFile(role=role, key=key, url=BASE + key, size=size, content_type=content_type)


def make_entry(
    tmp_path: Path,
    slug: str,
    published: datetime,
    *,
    duration: float = 1799.6,
    size: int = 28_800_123,
    audio_key: str | None = None,
    extras: tuple[str, ...] = ("captions-vtt", "captions-srt", "transcript-json", "chapters"),
    **changes: Any,
) -> FeedEntry:
    fields: dict[str, Any] = dict(
        folder=tmp_path / "episodes" / slug,
        slug=slug,
        show="youth-voices",
        title=f"Episode {slug}",
        description=f"About {slug}.",
        number=None,
        season=None,
        published=published,
        edl=tmp_path / "episodes" / slug / "edl.yaml",
    )
    fields.update(changes)
    episode = Episode(**fields)
    types = {
        "captions-vtt": ("vtt", "text/vtt"),
        "captions-srt": ("srt", "application/x-subrip"),
        "transcript-json": ("json", "application/json"),
        "chapters": ("chapters.json", "application/json+chapters"),
    }
    files = {
        "audio": published_file(
            "audio", audio_key or f"media/{slug}/0123abcd.mp3", size, "audio/mpeg"
        )
    }
    for role in extras:
        suffix, mime = types[role]
        files[role] = published_file(role, f"media/{slug}/{role}.{suffix}", 4_000, mime)
    return FeedEntry(episode=episode, duration=duration, files=files)


ARTWORK = published_file("artwork", "art/5e1f9a.jpg", 512_000, "image/jpeg")


@pytest.fixture
def show(tmp_path: Path) -> Show:
    return make_show(tmp_path)


@pytest.fixture
def entries(tmp_path: Path) -> list[FeedEntry]:
    """Three episodes given oldest first, mixing what is and is not set."""
    return [
        make_entry(
            tmp_path,
            "first-steps",
            datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
            number=1,
            season=1,
            explicit=False,
            guid="https://old-host.example.net/episodes/1",
        ),
        make_entry(
            tmp_path,
            "special-chars",
            datetime(2024, 4, 12, 18, 30, tzinfo=BST),
            duration=61.4,
            number=2,
            season=1,
            title=SPECIAL_TITLE,
            description=SPECIAL_DESCRIPTION,
            explicit=True,
            extras=("captions-vtt",),
        ),
        make_entry(
            tmp_path,
            "festival-bonus",
            datetime(2024, 5, 20, 12, 0, tzinfo=UTC),
            duration=0.4,
            episode_type="bonus",
            extras=(),
        ),
    ]


def parse(xml: bytes) -> dict[str, Any]:
    result: dict[str, Any] = podcastparser.parse(FEED_URL, io.BytesIO(xml))
    return result


def tree(xml: bytes) -> Any:
    return etree.fromstring(xml)


def item(root: Any, slug_title: str) -> Any:
    (found,) = root.xpath("/rss/channel/item[title=$t]", t=slug_title)
    return found


# ------------------------------------------------------------------- guids


def test_podcast_guid_follows_the_namespace_spec() -> None:
    # The spec's own example, computed here from its stated rule. (The namespace
    # UUID is the spec's ...-a6b28d128cb6; ...-a0b6f8b6a7d3 does not give its example.)
    expected = str(
        uuid.uuid5(
            uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), "mp3s.nashownotes.com/pc20rss.xml"
        )
    )
    assert expected == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    # ...and from the URL as the feed names itself: scheme and trailing slashes go.
    for url in (
        "https://mp3s.nashownotes.com/pc20rss.xml",
        "http://mp3s.nashownotes.com/pc20rss.xml",
        "https://mp3s.nashownotes.com/pc20rss.xml//",
    ):
        assert podcast_guid(url) == expected


def test_feed_carries_the_podcast_guid(show: Show, entries: list[FeedEntry]) -> None:
    root = tree(build_feed(show, entries, ARTWORK))
    expected = str(
        uuid.uuid5(
            uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"),
            "cdn.example.org/youth/feeds/youth-voices.xml",
        )
    )
    assert show.feed_url == FEED_URL
    assert root.xpath("/rss/channel/podcast:guid/text()", namespaces=NS) == [expected]


def test_episode_guid_is_stable_and_ignores_files(tmp_path: Path, show: Show) -> None:
    when = datetime(2024, 3, 1, tzinfo=UTC)
    a = make_entry(tmp_path, "first-steps", when)
    # Re-rendered: new content-addressed URL, new size, new duration.
    b = make_entry(
        tmp_path, "first-steps", when, duration=12.0, size=99, audio_key="media/x/ffff.mp3"
    )
    guid = episode_guid(show, a.episode)
    assert guid == episode_guid(show, b.episode)
    assert uuid.UUID(guid).version == 5
    assert guid == str(uuid.uuid5(uuid.UUID(podcast_guid(FEED_URL)), "first-steps"))
    assert guid != episode_guid(show, make_entry(tmp_path, "second", when).episode)

    guids = []
    for entry in (a, b):
        root = tree(build_feed(show, [entry], ARTWORK))
        guids.append(root.xpath("/rss/channel/item/guid/text()"))
        assert root.xpath("/rss/channel/item/guid/@isPermaLink") == ["false"]
    assert guids == [[guid], [guid]]
    assert parse(build_feed(show, [b], ARTWORK))["episodes"][0]["guid"] == guid


def test_episode_guid_set_in_the_episode_file_wins(show: Show, entries: list[FeedEntry]) -> None:
    first = entries[0].episode
    assert episode_guid(show, first) == "https://old-host.example.net/episodes/1"


# ------------------------------------------------------ as a client reads it


def test_podcastparser_reads_show_and_every_episode(show: Show, entries: list[FeedEntry]) -> None:
    feed = parse(build_feed(show, entries, ARTWORK))

    assert feed["title"] == show.title
    # the channel <link> is the show page on the listeners' site, published beside the feed
    assert feed["link"] == show.base_url.rstrip("/") + "/" + show.site_key
    # A description holding "<" is sent as HTML with that "<" escaped: an app that
    # renders the HTML shows exactly what was written.
    assert html.unescape(feed["description"]) == show.description
    assert feed["language"] == "en-gb"
    assert feed["cover_url"] == ARTWORK.url
    assert feed["itunes_author"] == "Youth Council"
    assert feed["itunes_owner"] == {"name": "Sam Producer", "email": "producer@example.org"}
    assert feed["itunes_categories"] == [["Society & Culture", "Personal Journals"]]
    assert feed["explicit"] is False
    assert feed["type"] == "episodic"
    assert feed["generator"] == "storycast"

    by_slug = {e.episode.slug: e for e in entries}
    parsed = {ep["guid"]: ep for ep in feed["episodes"]}
    assert len(parsed) == len(entries)
    for slug, entry in by_slug.items():
        ep = parsed[episode_guid(show, entry.episode)]
        audio = entry.files["audio"]
        assert ep["title"] == entry.episode.title
        assert ep["enclosures"] == [
            {"url": audio.url, "file_size": audio.size, "mime_type": "audio/mpeg"}
        ], slug
        assert ep["total_time"] == max(1, round(entry.duration))
        assert ep["published"] == int(entry.episode.published.timestamp())
        assert ep["type"] == entry.episode.episode_type
        if entry.episode.number is None:
            assert "number" not in ep
        else:
            assert ep["number"] == entry.episode.number
            assert ep["season"] == entry.episode.season
        if entry.episode.explicit is None:
            assert "explicit" not in ep
        else:
            assert ep["explicit"] is entry.episode.explicit

    special = parsed[episode_guid(show, by_slug["special-chars"].episode)]
    assert special["total_time"] == 61
    assert parsed[episode_guid(show, by_slug["first-steps"].episode)]["total_time"] == 1800
    # 0.4 s: rounded up, never 0 (apps read 0 as a length not known)
    assert parsed[episode_guid(show, by_slug["festival-bonus"].episode)]["total_time"] == 1


def test_podcast_tags_as_podcastparser_reads_them(show: Show, entries: list[FeedEntry]) -> None:
    xml = build_feed(show, entries, ARTWORK)
    assert f'xmlns:podcast="{PODCAST_NS}"'.encode() in xml
    # podcastparser 0.6.11 maps only the namespace's first URI; the spec says the
    # two are identical, so read our tags as a client that knows both would.
    feed = parse(xml.replace(PODCAST_NS.encode(), LEGACY_PODCAST_NS.encode()))
    assert feed["import_prohibited"] is True  # podcast:locked yes

    parsed = {ep["guid"]: ep for ep in feed["episodes"]}
    first = parsed[episode_guid(show, entries[0].episode)]
    # It keeps one transcript, the last listed.
    assert first["transcript_url"] == entries[0].files["transcript-json"].url
    assert first["chapters_json_url"] == entries[0].files["chapters"].url
    special = parsed[episode_guid(show, entries[1].episode)]
    assert special["transcript_url"] == entries[1].files["captions-vtt"].url
    assert "chapters_json_url" not in special
    bonus = parsed[episode_guid(show, entries[2].episode)]
    assert "transcript_url" not in bonus and "chapters_json_url" not in bonus


# ------------------------------------------------------- tags, via XPath


def test_itunes_explicit_is_true_or_false(
    tmp_path: Path, show: Show, entries: list[FeedEntry]
) -> None:
    root = tree(build_feed(show, entries, ARTWORK))
    assert root.xpath("/rss/channel/itunes:explicit/text()", namespaces=NS) == ["false"]
    by_title = {
        e.episode.title: item(root, e.episode.title).xpath("itunes:explicit/text()", namespaces=NS)
        for e in entries
    }
    assert by_title == {
        "Episode first-steps": ["false"],
        SPECIAL_TITLE: ["true"],
        "Episode festival-bonus": [],
    }
    root = tree(build_feed(make_show(tmp_path, explicit=True), entries, ARTWORK))
    assert root.xpath("/rss/channel/itunes:explicit/text()", namespaces=NS) == ["true"]
    assert not root.xpath("//itunes:explicit[text()!='true' and text()!='false']", namespaces=NS)


def test_channel_tags(tmp_path: Path, show: Show, entries: list[FeedEntry]) -> None:
    root = tree(build_feed(show, entries, ARTWORK))
    (channel,) = root.xpath("/rss[@version='2.0']/channel")

    def text(path: str) -> list[str]:
        values: list[str] = channel.xpath(path + "/text()", namespaces=NS)
        return values

    assert text("title") == [show.title]
    assert text("link") == [show.base_url.rstrip("/") + "/" + show.site_key]  # the show page
    assert [html.unescape(t) for t in text("description")] == [show.description]
    assert text("language") == ["en-gb"]
    assert text("copyright") == ["© 2024 Youth Council"]
    assert text("generator") == ["storycast"]
    assert text("image/url") == [ARTWORK.url]
    assert text("itunes:author") == ["Youth Council"]
    assert text("itunes:owner/itunes:name") == ["Sam Producer"]
    assert text("itunes:owner/itunes:email") == ["producer@example.org"]
    assert text("itunes:type") == ["episodic"]
    assert text("podcast:medium") == ["podcast"]
    assert channel.xpath("itunes:image/@href", namespaces=NS) == [ARTWORK.url]
    assert channel.xpath("atom:link[@rel='self']/@href", namespaces=NS) == [FEED_URL]
    assert channel.xpath("itunes:category/@text", namespaces=NS) == ["Society & Culture"]
    assert channel.xpath("itunes:category/itunes:category/@text", namespaces=NS) == [
        "Personal Journals"
    ]
    (locked,) = channel.xpath("podcast:locked", namespaces=NS)
    assert (locked.text, locked.get("owner")) == ("yes", "producer@example.org")

    # The newest episode's time, not the clock.
    assert text("lastBuildDate") == ["Mon, 20 May 2024 12:00:00 +0000"]

    bare = make_show(tmp_path, copyright=None, subcategory=None)
    channel = tree(build_feed(bare, entries, ARTWORK, locked=False))[0]
    assert channel.xpath("copyright") == []
    assert channel.xpath("itunes:category/@text", namespaces=NS) == ["Society & Culture"]
    assert channel.xpath("itunes:category/itunes:category", namespaces=NS) == []
    assert channel.xpath("podcast:locked/text()", namespaces=NS) == ["no"]


def test_items_newest_first_with_their_tags(show: Show, entries: list[FeedEntry]) -> None:
    root = tree(build_feed(show, entries, ARTWORK))
    assert root.xpath("/rss/channel/item/title/text()") == [
        "Episode festival-bonus",
        SPECIAL_TITLE,
        "Episode first-steps",
    ]
    first = item(root, "Episode first-steps")
    assert first.xpath("pubDate/text()") == ["Fri, 01 Mar 2024 09:00:00 +0000"]
    assert first.xpath("itunes:duration/text()", namespaces=NS) == ["1800"]
    assert first.xpath("itunes:episode/text()", namespaces=NS) == ["1"]
    assert first.xpath("itunes:season/text()", namespaces=NS) == ["1"]
    assert first.xpath("itunes:episodeType/text()", namespaces=NS) == ["full"]
    (enclosure,) = first.xpath("enclosure")
    assert dict(enclosure.attrib) == {
        "url": BASE + "media/first-steps/0123abcd.mp3",
        "length": "28800123",
        "type": "audio/mpeg",
    }
    bonus = item(root, "Episode festival-bonus")
    assert bonus.xpath("itunes:episodeType/text()", namespaces=NS) == ["bonus"]
    assert bonus.xpath("itunes:episode | itunes:season", namespaces=NS) == []
    assert bonus.xpath("itunes:duration/text()", namespaces=NS) == ["1"]  # 0.4 s, not 0


def test_transcripts_and_chapters(show: Show, entries: list[FeedEntry]) -> None:
    root = tree(build_feed(show, entries, ARTWORK))
    first = item(root, "Episode first-steps")
    transcripts = [dict(t.attrib) for t in first.xpath("podcast:transcript", namespaces=NS)]
    base = BASE + "media/first-steps/"
    # In the channel's language: no attribute needed (apps take the channel's).
    assert transcripts == [
        {"url": base + "captions-vtt.vtt", "type": "text/vtt", "rel": "captions"},
        {"url": base + "captions-srt.srt", "type": "application/x-subrip"},
        {"url": base + "transcript-json.json", "type": "application/json"},
    ]
    # Speech in another language: every transcript says which.
    french = [replace(e, captions_language="fr") for e in entries]
    again = item(tree(build_feed(show, french, ARTWORK)), "Episode first-steps")
    assert {t.get("language") for t in again.xpath("podcast:transcript", namespaces=NS)} == {"fr"}
    (chapters,) = first.xpath("podcast:chapters", namespaces=NS)
    assert dict(chapters.attrib) == {
        "url": base + "chapters.chapters.json",
        "type": "application/json+chapters",
    }
    bonus = item(root, "Episode festival-bonus")
    assert bonus.xpath("podcast:*", namespaces=NS) == []


# --------------------------------------------------------- reproducibility


def test_same_input_gives_the_same_bytes(
    tmp_path: Path, show: Show, entries: list[FeedEntry]
) -> None:
    first = build_feed(show, entries, ARTWORK)
    again = build_feed(make_show(tmp_path), list(reversed(entries)), ARTWORK)
    assert first == again
    assert first.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_a_show_with_no_episodes(show: Show) -> None:
    xml = build_feed(show, [], ARTWORK)
    assert xml == build_feed(show, [], ARTWORK)
    root = tree(xml)
    assert root.xpath("/rss/channel/item") == []
    assert root.xpath("/rss/channel/lastBuildDate") == []  # no content date, and not the clock
    assert parse(xml)["episodes"] == []


def test_special_characters_round_trip(show: Show, entries: list[FeedEntry]) -> None:
    xml = build_feed(show, entries, ARTWORK)
    assert b"Tom &amp; Jerry &lt;live&gt;" in xml
    assert "مرحبا".encode() in xml and "🎙️".encode() in xml  # UTF-8, not entities
    root = tree(xml)
    special = item(root, SPECIAL_TITLE)
    assert special.xpath("title/text()") == [SPECIAL_TITLE]
    assert [html.unescape(t) for t in special.xpath("description/text()")] == [SPECIAL_DESCRIPTION]
    assert root.xpath("/rss/channel/title/text()") == ["Youth Voices & Friends"]
    (parsed,) = [ep for ep in parse(xml)["episodes"] if ep.get("number") == 2]
    assert parsed["title"] == SPECIAL_TITLE


# ------------------------------------------------------------------ errors


def test_naive_publication_time_is_an_input_error(tmp_path: Path, show: Show) -> None:
    entry = make_entry(tmp_path, "naive", datetime(2024, 3, 1, 9, 0))
    with pytest.raises(InputError) as err:
        build_feed(show, [entry], ARTWORK)
    (problem,) = err.value.problems
    assert problem.field == "published"
    assert problem.path == tmp_path / "episodes" / "naive" / "episode.yaml"


def test_text_a_feed_cannot_carry_is_an_input_error(tmp_path: Path, show: Show) -> None:
    entry = make_entry(tmp_path, "ctrl", datetime(2024, 3, 1, tzinfo=UTC), title="bad\x0bchar")
    with pytest.raises(InputError, match="U\\+000B"):
        build_feed(show, [entry], ARTWORK)
    with pytest.raises(InputError, match="description"):
        build_feed(make_show(tmp_path, description=" "), [], ARTWORK)


def test_artwork_must_be_jpeg_or_png(show: Show) -> None:
    gif = published_file("artwork", "art/x.gif", 10, "image/gif")
    with pytest.raises(InputError, match="JPEG or PNG"):
        build_feed(show, [], gif)


def test_two_episodes_with_one_guid_are_refused(tmp_path: Path, show: Show) -> None:
    when = datetime(2024, 3, 1, tzinfo=UTC)
    a = make_entry(tmp_path, "a", when, guid="same")
    b = make_entry(tmp_path, "b", when, guid="same")
    with pytest.raises(InputError, match="same guid"):
        build_feed(show, [a, b], ARTWORK)


def test_an_episode_without_published_audio_is_refused(tmp_path: Path, show: Show) -> None:
    entry = make_entry(tmp_path, "silent", datetime(2024, 3, 1, tzinfo=UTC))
    del entry.files["audio"]
    with pytest.raises(StorycastError, match="no published audio"):
        build_feed(show, [entry], ARTWORK)
