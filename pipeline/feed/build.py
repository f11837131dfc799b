"""feed: one show and its published episodes as an RSS 2.0 podcast feed.

The feed carries three vocabularies: plain RSS 2.0, Apple's ``itunes:`` tags and
the Podcasting 2.0 ``podcast:`` namespace (https://podcastindex.org/namespace/1.0).
feedgen writes the first two; this module adds what it lacks, as feedgen
extensions:

* :class:`ItunesExtension` / :class:`ItunesEntryExtension` write
  ``itunes:explicit`` as ``true``/``false`` (Apple's current spec; feedgen writes
  ``yes``/``no``/``clean``) and an artwork URL whatever its suffix (feedgen drops
  one that does not end in ``.jpg``/``.png`` without saying so).
* :class:`PodcastIndexExtension` / :class:`PodcastIndexEntryExtension` write
  ``podcast:`` tags. Each tag is a :class:`PodcastTag`, so adding
  ``podcast:person``, ``podcast:soundbite`` or ``podcast:alternateEnclosure``
  later is one small method each.

A show has one feed, or two: with ``video_feed: true`` in the show file,
:func:`build_feed` with ``variant="video"`` gives a second, video-only feed from
the same entries (see :data:`FeedVariant`).

The output depends only on its input: ``lastBuildDate`` is the newest episode's
publication time, not the clock, so an unchanged show gives byte-identical XML
on every run and the store can skip re-uploading it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

# feedgen.util uses lxml.etree without importing it: import it first.
from lxml import etree

# isort: split
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.ext.podcast import PodcastExtension
from feedgen.ext.podcast_entry import PodcastEntryExtension
from feedgen.feed import FeedGenerator
from feedgen.util import formatRFC2822

from pipeline.errors import InputError, Problem, StorycastError
from pipeline.project.showfile import KNOWN_LICENSES
from pipeline.project.text import clean_description
from pipeline.records import Episode, FeedEntry, PublishedFile, Show

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"

# podcast:guid is UUIDv5 of the feed URL (scheme and trailing slashes removed)
# in this namespace, fixed by the Podcasting 2.0 spec.
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")

GENERATOR = "storycast"
ITUNES_TYPE = "episodic"
MEDIUM = "podcast"
VIDEO_MEDIUM = "video"

# Which of a show's feeds: "main" lists every episode (a video episode with its MP4 as
# the enclosure); "video" lists only the episodes published with video.
FeedVariant = Literal["main", "video"]
# The name under the show's guid that gives the video feed's guid. It has a space, so it
# is never an episode slug: the video feed never shares a guid with an episode.
VIDEO_FEED_GUID_NAME = "video feed"

# Published-file role -> (podcast:transcript type, rel). WebVTT first: Apple
# ingests it and it is the one marked as captions.
TRANSCRIPT_ROLES: dict[str, tuple[str, str | None]] = {
    "captions-vtt": ("text/vtt", "captions"),
    "captions-srt": ("application/x-subrip", None),
    "transcript-json": ("application/json", None),
    "transcript-html": ("text/html", None),
}
CHAPTERS_ROLE = "chapters"
CHAPTERS_TYPE = "application/json+chapters"
AUDIO_ROLE = "audio"
PAGE_ROLE = "page"
VIDEO_ROLE = "video"
ARTWORK_TYPES = ("image/jpeg", "image/png")

# podcast:medium values the namespace defines.
MEDIUMS = frozenset(
    "podcast music video film audiobook newsletter blog publisher course mixed "
    "podcastL musicL videoL filmL audiobookL newsletterL blogL publisherL courseL".split()
)

# Characters XML 1.0 cannot carry at all (lxml refuses them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


# SPDX identifiers the show file accepts by name alone.
SPDX_LICENSES = frozenset(KNOWN_LICENSES)


def artwork_width(path: Path) -> int | None:
    """The artwork's width in pixels (it is square), for podcast:image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return int(img.size[0])
    except (OSError, UnidentifiedImageError):
        return None


# --------------------------------------------------------------------- guids


def podcast_guid(feed_url: str) -> str:
    """The ``podcast:guid`` of a feed, as the Podcasting 2.0 namespace defines it.

    UUIDv5 of the feed URL with its scheme (``https://``) and trailing slashes
    removed, in the namespace ``ead4c236-bf58-58c6-a2c6-a6b28d128cb6``.
    """
    name = _SCHEME.sub("", feed_url.strip()).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, name))


def show_guid(show: Show) -> str:
    """The show file's pinned ``guid``, or the namespace's rule applied to the feed URL."""
    return show.guid or podcast_guid(show.feed_url)


def video_feed_guid(show: Show) -> str:
    """The video-only feed's ``podcast:guid``: distinct from the show's, and as stable.

    With a pinned ``guid`` in the show file: UUIDv5 of :data:`VIDEO_FEED_GUID_NAME`
    in the namespace of the pinned guid, so moving the feeds (a new ``base_url``)
    changes neither feed's guid. Without one: the namespace's rule applied to the
    video feed's own URL, as for the main feed.
    """
    if show.guid:
        return str(uuid.uuid5(uuid.UUID(show.guid), VIDEO_FEED_GUID_NAME))
    return podcast_guid(show.video_feed_url)


def video_feed_title(show: Show) -> str:
    """The show file's ``video_feed_title``, or the show's title with "(video)" after it."""
    return show.video_feed_title or f"{show.title} (video)"


def episode_guid(show: Show, episode: Episode) -> str:
    """The item ``guid``: never changes once an episode is out.

    ``episode.guid`` when the episode file sets one (for episodes that were
    published elsewhere first); otherwise UUIDv5 of the episode slug in the
    namespace of the show's ``podcast:guid``. It never depends on file contents
    or URLs, so re-rendering or re-uploading an episode does not make apps
    download it again as a new one.
    """
    if episode.guid:
        return episode.guid
    return str(uuid.uuid5(uuid.UUID(show_guid(show)), episode.slug))


# ------------------------------------------------------- itunes: extension


def _true_false(value: bool) -> str:
    return "true" if value else "false"


class ItunesExtension(PodcastExtension):  # type: ignore[misc]
    """feedgen's channel-level itunes extension, written to Apple's current spec.

    ``itunes_explicit`` takes a bool and is written ``true``/``false``;
    ``itunes_image`` takes any URL (validate the file, not its name).
    """

    def __init__(self) -> None:
        super().__init__()
        self._explicit: bool | None = None
        self._image: str | None = None
        self._block = False

    def block(self) -> None:
        """``itunes:block`` as Apple spells it (``Yes``; feedgen writes ``yes``)."""
        self._block = True

    def itunes_explicit(self, itunes_explicit: bool | None = None) -> bool | None:
        if itunes_explicit is not None:
            self._explicit = bool(itunes_explicit)
        return self._explicit

    def itunes_image(self, itunes_image: str | None = None) -> str | None:
        if itunes_image is not None:
            self._image = itunes_image
        return self._image

    def extend_rss(self, rss_feed: Any) -> Any:
        # The parent never sees our explicit/image values, so it writes neither.
        rss_feed = super().extend_rss(rss_feed)
        channel = rss_feed[0]
        if self._image is not None:
            etree.SubElement(channel, f"{{{ITUNES_NS}}}image", href=self._image)
        if self._explicit is not None:
            el = etree.SubElement(channel, f"{{{ITUNES_NS}}}explicit")
            el.text = _true_false(self._explicit)
        if self._block:
            etree.SubElement(channel, f"{{{ITUNES_NS}}}block").text = "Yes"
        return rss_feed


class ItunesEntryExtension(PodcastEntryExtension):  # type: ignore[misc]
    """feedgen's item-level itunes extension with ``itunes:explicit`` as true/false."""

    def __init__(self) -> None:
        super().__init__()
        self._explicit: bool | None = None

    def itunes_explicit(self, itunes_explicit: bool | None = None) -> bool | None:
        if itunes_explicit is not None:
            self._explicit = bool(itunes_explicit)
        return self._explicit

    def extend_rss(self, entry: Any) -> Any:
        entry = super().extend_rss(entry)
        if self._explicit is not None:
            el = etree.SubElement(entry, f"{{{ITUNES_NS}}}explicit")
            el.text = _true_false(self._explicit)
        return entry


# ------------------------------------------------------ podcast: extension


@dataclass(frozen=True)
class PodcastTag:
    """One element of the ``podcast:`` namespace.

    ``<podcast:NAME attr="...">text<podcast:child .../></podcast:NAME>``;
    attributes keep the order given, so output is stable.
    """

    name: str
    attrs: tuple[tuple[str, str], ...] = ()
    text: str | None = None
    children: tuple[PodcastTag, ...] = ()

    def write(self, parent: Any) -> None:
        el = etree.SubElement(parent, f"{{{PODCAST_NS}}}{self.name}")
        for key, value in self.attrs:
            el.set(key, value)
        if self.text is not None:
            el.text = self.text
        for child in self.children:
            child.write(el)


def _attrs(**values: str | None) -> tuple[tuple[str, str], ...]:
    """Attributes in the order given, leaving out the unset ones."""
    return tuple((k, v) for k, v in values.items() if v is not None)


class _PodcastTags:
    """An ordered set of ``podcast:`` tags for a channel or an item.

    ``set_tag`` is for tags that occur once (guid, locked, medium): it replaces
    an earlier tag of the same name in place. ``add_tag`` is for repeatable
    ones (transcript, person, soundbite, alternateEnclosure).
    """

    def __init__(self) -> None:
        self._tags: list[PodcastTag] = []

    def set_tag(self, tag: PodcastTag) -> None:
        for i, old in enumerate(self._tags):
            if old.name == tag.name:
                self._tags[i] = tag
                return
        self._tags.append(tag)

    def add_tag(self, tag: PodcastTag) -> None:
        self._tags.append(tag)

    def tags(self) -> tuple[PodcastTag, ...]:
        return tuple(self._tags)

    def write_tags(self, parent: Any) -> None:
        for tag in self._tags:
            tag.write(parent)


class PodcastIndexExtension(BaseExtension, _PodcastTags):  # type: ignore[misc]
    """Channel-level ``podcast:`` tags."""

    def __init__(self) -> None:
        _PodcastTags.__init__(self)

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, rss_feed: Any) -> Any:
        self.write_tags(rss_feed[0])
        return rss_feed

    def guid(self, value: str) -> None:
        self.set_tag(PodcastTag("guid", text=str(uuid.UUID(value))))

    def locked(self, locked: bool, owner: str | None = None) -> None:
        """``podcast:locked``: whether other platforms may import the feed."""
        self.set_tag(PodcastTag("locked", _attrs(owner=owner), "yes" if locked else "no"))

    def license(self, name: str, url: str | None = None) -> None:
        """``podcast:license``: an SPDX identifier (lower case, as the namespace writes it),
        or any name with the URL of its text."""
        self.set_tag(PodcastTag("license", _attrs(url=url), name))

    def txt(self, text: str, purpose: str | None = None) -> None:
        self.add_tag(PodcastTag("txt", _attrs(purpose=purpose), text))

    def image(self, href: str, *, alt: str, width: int | None) -> None:
        """``podcast:image`` (not the deprecated ``podcast:images``): square artwork."""
        self.add_tag(
            PodcastTag(
                "image",
                _attrs(
                    href=href,
                    alt=alt,
                    **{"aspect-ratio": "1/1"},
                    width=str(width) if width else None,
                ),
            )
        )

    def update_frequency(self, text: str, rrule: str | None, complete: bool) -> None:
        self.set_tag(
            PodcastTag(
                "updateFrequency",
                _attrs(rrule=rrule, complete="true" if complete else None),
                text,
            )
        )

    def funding(self, url: str, text: str) -> None:
        self.add_tag(PodcastTag("funding", _attrs(url=url), text))

    def block(self, blocked: bool) -> None:
        """``podcast:block``: whether directories and apps may list the show at all."""
        self.set_tag(PodcastTag("block", text="yes" if blocked else "no"))

    def medium(self, value: str) -> None:
        if value not in MEDIUMS:
            raise ValueError(f"podcast:medium {value!r} is not one the namespace defines")
        self.set_tag(PodcastTag("medium", text=value))


class PodcastIndexEntryExtension(BaseEntryExtension, _PodcastTags):  # type: ignore[misc]
    """Item-level ``podcast:`` tags."""

    def __init__(self) -> None:
        _PodcastTags.__init__(self)

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, entry: Any) -> Any:
        self.write_tags(entry)
        return entry

    def transcript(
        self, url: str, type: str, *, language: str | None = None, rel: str | None = None
    ) -> None:
        self.add_tag(
            PodcastTag("transcript", _attrs(url=url, type=type, language=language, rel=rel))
        )

    def chapters(self, url: str, type: str = CHAPTERS_TYPE) -> None:
        self.set_tag(PodcastTag("chapters", _attrs(url=url, type=type)))

    def alternate_enclosure(
        self, file: PublishedFile, *, title: str, default: bool = False
    ) -> None:
        """``podcast:alternateEnclosure`` with one ``podcast:source``."""
        self.add_tag(
            PodcastTag(
                "alternateEnclosure",
                _attrs(
                    type=file.content_type,
                    length=str(file.size),
                    title=title,
                    default="true" if default else None,
                ),
                children=(PodcastTag("source", _attrs(uri=file.url)),),
            )
        )

    def person(self, name: str, *, role: str = "guest", group: str = "cast") -> None:
        """``podcast:person``: a credited contributor (only ever their chosen credit)."""
        self.add_tag(PodcastTag("person", _attrs(role=role, group=group), name))

    def soundbite(self, start: float, duration: float, title: str | None = None) -> None:
        self.add_tag(
            PodcastTag(
                "soundbite",
                _attrs(startTime=f"{start:.3f}", duration=f"{duration:.3f}"),
                title,
            )
        )


class _BuildDateExtension(BaseExtension):  # type: ignore[misc]
    """Keeps ``lastBuildDate`` off the clock.

    feedgen stamps every feed with the current time. We write the newest
    episode's publication time instead, and leave the element out when a show
    has no episodes (for example after every one was withdrawn).
    """

    def __init__(self) -> None:
        self.date: datetime | None = None

    def extend_rss(self, rss_feed: Any) -> Any:
        channel = rss_feed[0]
        el = channel.find("lastBuildDate")
        if el is not None:
            if self.date is None:
                channel.remove(el)
            else:
                el.text = formatRFC2822(self.date)
        return rss_feed


# --------------------------------------------------------------- the stage


def _check_text(path: Path, field: str, value: str, *, required: bool = True) -> list[Problem]:
    if required and not value.strip():
        return [Problem(path, "is empty.", "Give it a value.", field=field)]
    bad = _NOT_XML.search(value)
    if bad:
        return [
            Problem(
                path,
                f"contains the control character U+{ord(bad.group()):04X}, which a feed cannot "
                "carry.",
                "Retype the text, or paste it as plain text.",
                field=field,
            )
        ]
    return []


def _episode_file(episode: Episode) -> Path:
    return episode.folder / "episode.yaml"


def _check(show: Show, entries: list[FeedEntry], artwork: PublishedFile) -> None:
    problems: list[Problem] = []
    if show.video_feed_title is not None:
        problems += _check_text(show.path, "video_feed_title", show.video_feed_title)
    for name in (
        "title",
        "description",
        "link",
        "author",
        "owner_name",
        "owner_email",
        "language",
        "category",
    ):
        problems += _check_text(show.path, name, getattr(show, name))
    for name in ("subcategory", "copyright"):
        value = getattr(show, name)
        if value is not None:
            problems += _check_text(show.path, name, value, required=False)
    if artwork.content_type not in ARTWORK_TYPES:
        problems.append(
            Problem(
                show.artwork,
                f"artwork is published as {artwork.content_type!r}; podcast apps need a JPEG or "
                "PNG image.",
                "Save the artwork as a .jpg or .png file.",
            )
        )
    for entry in entries:
        ep = entry.episode
        where = _episode_file(ep)
        problems += _check_text(where, "title", ep.title)
        problems += _check_text(where, "description", ep.description, required=False)
        if ep.guid is not None:
            problems += _check_text(where, "guid", ep.guid)
        if ep.published.tzinfo is None or ep.published.utcoffset() is None:
            problems.append(
                Problem(
                    where,
                    "has no time zone, so apps could show it hours off.",
                    "Write it with an offset, for example 2024-05-01T18:00:00+01:00.",
                    field="published",
                )
            )
    seen: dict[str, Path] = {}
    for entry in entries:
        guid = episode_guid(show, entry.episode)
        where = _episode_file(entry.episode)
        if guid in seen:
            problems.append(
                Problem(
                    where,
                    f"has the same guid {guid!r} as {seen[guid]}; apps would treat them as one "
                    "episode.",
                    "Give each episode its own slug (folder name) or guid.",
                    field="guid",
                )
            )
        seen.setdefault(guid, where)
    if problems:
        raise InputError(problems)

    # What earlier stages should have produced: a bug, not a volunteer's mistake.
    for entry in entries:
        audio = entry.files.get(AUDIO_ROLE)
        if audio is None:
            problems.append(
                Problem(entry.episode.folder, "has no published audio file to put in the feed.")
            )
        elif audio.size <= 0:
            problems.append(
                Problem(
                    entry.episode.folder,
                    f"its published audio {audio.key} has no size; apps need the length in bytes.",
                )
            )
    if problems:
        raise StorycastError(problems)


def _new_generator() -> tuple[
    FeedGenerator, ItunesExtension, PodcastIndexExtension, _BuildDateExtension
]:
    fg = FeedGenerator()
    # Registered before any entry is added, so every entry gets the entry halves.
    fg.register_extension("itunes", ItunesExtension, ItunesEntryExtension, atom=False)
    fg.register_extension(
        "podcastindex", PodcastIndexExtension, PodcastIndexEntryExtension, atom=False
    )
    fg.register_extension("builddate", _BuildDateExtension, None, atom=False)
    return fg, fg.itunes, fg.podcastindex, fg.builddate


def whole_seconds(duration: float) -> int:
    """``itunes:duration``: whole seconds, rounded, and at least 1 for an episode that
    has any sound (apps read 0 as "length unknown", or hide the episode)."""
    return max(1, round(duration)) if duration > 0 else 0


def _add_item(fg: FeedGenerator, show: Show, entry: FeedEntry) -> None:
    ep = entry.episode
    audio = entry.files[AUDIO_ROLE]
    fe = fg.add_entry(order="append")
    fe.title(ep.title)
    if ep.description:
        fe.description(clean_description(ep.description))
    fe.guid(episode_guid(show, ep), permalink=False)
    if PAGE_ROLE in entry.files:  # the episode's page on the listeners' site
        fe.link(href=entry.files[PAGE_ROLE].url)
    fe.pubDate(ep.published)
    # A video episode is offered as video, with the audio-only version from the same
    # Timeline beside it (podcast:alternateEnclosure) for listeners who want sound only.
    film = entry.files.get(VIDEO_ROLE)
    main = film or audio
    fe.enclosure(main.url, str(main.size), main.content_type)

    itunes: ItunesEntryExtension = fe.itunes
    itunes.itunes_duration(str(whole_seconds(entry.duration)))
    if ep.number is not None:
        itunes.itunes_episode(ep.number)
    if ep.season is not None:
        itunes.itunes_season(ep.season)
    itunes.itunes_episode_type(ep.episode_type)
    if ep.explicit is not None:
        itunes.itunes_explicit(ep.explicit)

    podcast: PodcastIndexEntryExtension = fe.podcastindex
    # Transcripts in several languages (roles "captions-vtt:cy" beside "captions-vtt"):
    # each says its language. The episode's own captions are in `captions_language`
    # (the language most of its clips are in); one language, the channel's, needs no
    # attribute (apps take the channel's <language>).
    own = entry.captions_language or show.language
    keys = [
        (key, role)
        for role in TRANSCRIPT_ROLES
        for key in sorted(r for r in entry.files if r == role or r.startswith(role + ":"))
    ]
    languages = {key.partition(":")[2] or own for key, _ in keys}
    plain = languages == {show.language}
    for key, role in keys:
        mime, rel = TRANSCRIPT_ROLES[role]
        language = None if plain else (key.partition(":")[2] or own)
        podcast.transcript(entry.files[key].url, mime, language=language, rel=rel)
    if CHAPTERS_ROLE in entry.files:
        podcast.chapters(entry.files[CHAPTERS_ROLE].url, CHAPTERS_TYPE)
    if film is not None:
        podcast.alternate_enclosure(film, title="Video", default=True)
        podcast.alternate_enclosure(audio, title="Audio only")
    for credit in entry.credits:
        podcast.person(credit.name, role=credit.role, group=credit.group)
    if entry.soundbite is not None:
        bite = entry.soundbite
        podcast.soundbite(bite.start, bite.duration, bite.title)


def _newest_first(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    # The slug breaks ties, so two episodes published together keep one order.
    return sorted(entries, key=lambda e: (e.episode.published, e.episode.slug), reverse=True)


def video_entries(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    """The entries published with video (an episode that became audio-only is not one)."""
    return [e for e in entries if VIDEO_ROLE in e.files]


def build_feed(
    show: Show,
    entries: list[FeedEntry],
    artwork: PublishedFile,
    *,
    locked: bool = True,
    variant: FeedVariant = "main",
) -> bytes:
    """One of the show's RSS feeds (UTF-8 XML), items newest first.

    ``entries`` are the episodes to list, each with its published files;
    ``artwork`` is the published show artwork. ``locked`` writes
    ``podcast:locked`` (``yes``: other platforms must not import the show
    without the owner's say). Raises :class:`InputError` naming the show or
    episode file and field when a value cannot go into a feed.

    ``variant="video"`` gives the video-only feed (``show.video_feed_key``):
    the same items as the main feed, but only those with a published video, under
    its own title (:func:`video_feed_title`), self link, ``podcast:guid``
    (:func:`video_feed_guid`) and ``podcast:medium`` ``video``. Item guids are the
    episodes' own, as in the main feed: it is the same episode in both.
    """
    _check(show, entries, artwork)
    if variant == "video":
        entries = video_entries(entries)
        title, url, guid, medium = (
            video_feed_title(show),
            show.video_feed_url,
            video_feed_guid(show),
            VIDEO_MEDIUM,
        )
    else:
        title, url, guid, medium = show.title, show.feed_url, show_guid(show), MEDIUM
    ordered = _newest_first(entries)
    fg, itunes, podcast, build_date = _new_generator()

    fg.title(title)
    fg.description(clean_description(show.description))
    # RSS <link> is feedgen's last link: the self link first, the site last.
    fg.link(href=url, rel="self", type="application/rss+xml")
    # The show page on the listeners' site, published beside the feed with every publish.
    fg.link(href=show.base_url.rstrip("/") + "/" + show.site_key, rel="alternate")
    fg.language(show.language)
    if show.copyright:
        fg.copyright(show.copyright)
    fg.generator(GENERATOR)
    fg.image(url=artwork.url, title=title, link=show.base_url.rstrip("/") + "/" + show.site_key)
    build_date.date = ordered[0].episode.published if ordered else None
    if build_date.date is not None:
        fg.lastBuildDate(build_date.date)

    itunes.itunes_author(show.author)
    itunes.itunes_owner(name=show.owner_name, email=show.owner_email)
    itunes.itunes_image(artwork.url)
    category = {"cat": show.category}
    if show.subcategory:
        category["sub"] = show.subcategory
    itunes.itunes_category(category)
    itunes.itunes_explicit(show.explicit)
    itunes.itunes_type(ITUNES_TYPE)

    podcast.guid(guid)
    podcast.locked(locked, owner=show.owner_email)
    podcast.medium(medium)
    if show.license is not None:
        name = show.license.name
        podcast.license(name.lower() if name in SPDX_LICENSES else name, show.license.url)
    for txt in show.txt:
        podcast.txt(txt.text, txt.purpose)
    if show.artwork_alt:
        podcast.image(artwork.url, alt=show.artwork_alt, width=artwork_width(show.artwork))
    if show.update_frequency is not None:
        freq = show.update_frequency
        podcast.update_frequency(freq.text, freq.rrule, freq.complete)
    for fund in show.funding:
        podcast.funding(fund.url, fund.text)
    if show.block:
        itunes.block()
    podcast.block(show.block)
    # Never podcast:location: the show's places are where young people live, meet and
    # are looked after. See README ("The feed").

    for entry in ordered:
        _add_item(fg, show, entry)

    xml: bytes = fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return xml
