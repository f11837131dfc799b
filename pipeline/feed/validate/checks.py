"""The checks: the document and its channel, the artwork, every item."""

from __future__ import annotations

import difflib
import io
import os
import posixpath
import uuid
import warnings
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree
from PIL import Image, UnidentifiedImageError

from pipeline import defaults
from pipeline.feed.build import CHAPTERS_TYPE, ITUNES_NS, MEDIUMS, PODCAST_NS, podcast_guid
from pipeline.feed.validate.fetch import _read_regular_file, fetch_url
from pipeline.feed.validate.report import (
    FeedReadError,
    _all,
    _first,
    _is_http_url,
    _Names,
    _not_http,
    _Report,
    _short,
    _text,
    _unsafe_html,
)
from pipeline.feed.validate.rules import (
    _DURATION,
    _EMAIL,
    _LANGUAGE,
    _POSITIVE_INT,
    APPLE_CATEGORIES,
    APPLE_MEDIA_TYPES,
    ARTWORK_FORMATS,
    ATOM_NS,
    CONTENT_NS,
    EPISODE_TYPES,
    EXPLICIT_LEGACY,
    EXPLICIT_VALUES,
    LOCKED_VALUES,
    PERSON_TAXONOMY,
    PODCAST_NS_OLD,
    TRANSCRIPT_TYPES,
)


def _check_document(root: Any, report: _Report) -> tuple[Any | None, _Names]:
    """Root, version and namespaces; returns the channel and the names to look tags up by."""
    declared: set[str] = set()
    for el in root.iter(etree.Element):
        declared.update(ns for ns in el.nsmap.values() if ns)
    itunes = {ns for ns in declared if ns.lower() == ITUNES_NS.lower()} | {ITUNES_NS}
    podcast = {PODCAST_NS, PODCAST_NS_OLD}
    names = _Names(sorted(itunes), sorted(podcast))

    tag = etree.QName(root)
    if tag.localname != "rss" or tag.namespace:
        kind = "an Atom feed" if tag.namespace == ATOM_NS else f"<{tag.localname}>"
        report.add(
            "rss-root", "document", root, f"is {kind}, not RSS 2.0; podcast directories need RSS."
        )
        return None, names
    version = root.get("version")
    if version != "2.0":
        said = f'version="{version}"' if version is not None else "no version"
        report.add("rss-version", "document", root, f"<rss> has {said}; it must be 2.0.")
    channels = root.findall("channel")
    if not channels:
        report.add("rss-root", "document", root, "<rss> has no <channel>.")
        return None, names
    if len(channels) > 1:
        report.add(
            "rss-root",
            "document",
            channels[1],
            "<rss> has more than one <channel>.",
            "Keep one <channel>: each show is a feed of its own.",
        )

    if ITUNES_NS not in declared:
        others = sorted(itunes - {ITUNES_NS})
        if others:
            message = (
                f"declares the itunes namespace as {others[0]}; Apple reads only "
                f"{ITUNES_NS} (case-sensitive) and ignores every itunes: tag otherwise."
            )
        else:
            message = "does not declare the itunes namespace, which Apple needs for its tags."
        report.add("namespace-itunes", "document", root, message)
    if PODCAST_NS_OLD in declared:
        report.add(
            "namespace-podcast-old",
            "document",
            root,
            f"declares the podcast namespace by its old URI {PODCAST_NS_OLD}; it still works "
            f"but the current one is {PODCAST_NS}.",
        )
    return channels[0], names


def _check_descriptions(
    report: _Report, where: str, parent: Any, names: _Names, *, required: bool
) -> None:
    fields = [
        ("<description>", parent.find("description")),
        ("<itunes:summary>", _first(parent, names.itunes("summary"))),
        ("<content:encoded>", parent.find(f"{{{CONTENT_NS}}}encoded")),
    ]
    if required and not _text(fields[0][1]):
        # Apple falls back on itunes:summary; RSS 2.0 still requires the element.
        report.add(
            "channel-description",
            where,
            fields[0][1] if fields[0][1] is not None else parent,
            "has no <description>." if fields[0][1] is None else "has an empty <description>.",
        )
    for label, el in fields:
        if el is None:
            continue
        text = "".join(el.itertext())
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > defaults.DESCRIPTION_MAX_BYTES:
            report.add(
                "description-length",
                where,
                el,
                f"{label} is {size} bytes; Apple takes at most {defaults.DESCRIPTION_MAX_BYTES}.",
            )
        unsafe = _unsafe_html(text)
        if unsafe:
            shown = ", ".join(dict.fromkeys(unsafe))
            report.add("description-html", where, el, f"{label} contains unsafe HTML: {shown}.")


def _check_explicit(report: _Report, where: str, el: Any) -> None:
    value = _text(el)
    if value.lower() in EXPLICIT_VALUES:
        return
    if value.lower() in EXPLICIT_LEGACY:
        report.add(
            "explicit-legacy",
            where,
            el,
            f"<itunes:explicit> is {value!r}, a legacy value; Apple's spec now takes true or "
            "false.",
        )
    else:
        report.add(
            "explicit-value", where, el, f"<itunes:explicit> is {value!r}, not true or false."
        )


def _check_categories(report: _Report, channel: Any, names: _Names) -> None:
    top = _all(channel, names.itunes("category"))
    if not top:
        report.add(
            "category-missing",
            "channel",
            channel,
            "has no <itunes:category>; Apple needs one to list the show.",
        )
        return
    if len(top) > 1:
        report.add(
            "category",
            "channel",
            top[1],
            f"has {len(top)} <itunes:category> elements; Apple uses only the first.",
        )
    for el in top:
        name = (el.get("text") or "").strip()
        if name not in APPLE_CATEGORIES:
            close = difflib.get_close_matches(name, list(APPLE_CATEGORIES), n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            report.add(
                "category",
                "channel",
                el,
                f"category {name!r} is not in Apple's list.{hint}",
            )
            continue
        subs = _all(el, names.itunes("category"))
        if len(subs) > 1:
            report.add(
                "category",
                "channel",
                subs[1],
                f"{name!r} has {len(subs)} subcategories; Apple uses one.",
            )
        for sub in subs:
            sub_name = (sub.get("text") or "").strip()
            if sub_name not in APPLE_CATEGORIES[name]:
                allowed = ", ".join(APPLE_CATEGORIES[name])
                report.add(
                    "category",
                    "channel",
                    sub,
                    f"subcategory {sub_name!r} is not under {name!r} in Apple's list "
                    + (f"({allowed})." if allowed else f"({name!r} has no subcategories)."),
                )


def _check_person(report: _Report, where: str, el: Any) -> None:
    if not _text(el):
        drafted = el.get("name")
        report.add(
            "person",
            where,
            el,
            f"<podcast:person> has no name (it has name={drafted!r}, an early draft's "
            "attribute: apps read the text)."
            if drafted
            else "<podcast:person> has no name.",
        )
    role = " ".join((el.get("role") or "host").split()).lower()
    group = " ".join((el.get("group") or "cast").split()).lower()
    if group not in PERSON_TAXONOMY:
        report.add(
            "person-role", where, el, f"<podcast:person> group {group!r} is not in the taxonomy."
        )
    elif role not in PERSON_TAXONOMY[group]:
        homes = sorted(g for g, roles in PERSON_TAXONOMY.items() if role in roles)
        detail = f"belongs to group {homes[0]!r}" if homes else "is not in the taxonomy"
        report.add(
            "person-role",
            where,
            el,
            f"<podcast:person> role {role!r} {detail}, not {group!r}."
            if homes
            else f"<podcast:person> role {role!r} {detail}.",
        )


def _guid_url(url: str | None, self_href: str | None) -> str | None:
    for candidate in (url, self_href):
        if candidate and _is_http_url(candidate):
            return candidate
    return None


def _check_channel(
    report: _Report,
    channel: Any,
    names: _Names,
    *,
    url: str | None,
    source: Path | None,
    fetch_images: bool,
    deadline: float | None = None,
) -> None:
    where = "channel"
    title = channel.find("title")
    if not _text(title):
        report.add(
            "channel-title",
            where,
            title if title is not None else channel,
            "has no <title>." if title is None else "has an empty <title>.",
        )
    _check_descriptions(report, where, channel, names, required=True)
    link = channel.find("link")
    if link is None or not _text(link):
        report.add("channel-link", where, link if link is not None else channel, "has no <link>.")
    elif not _is_http_url(_text(link)):
        report.add(
            "channel-link",
            where,
            link,
            f"<link> {_text(link)!r} is not a full URL.",
            "Write the show's web page as a full address: <link>https://...</link>.",
        )
    language = channel.find("language")
    if language is None or not _text(language):
        report.add(
            "channel-language",
            where,
            language if language is not None else channel,
            "has no <language>.",
        )
    elif not _LANGUAGE.match(_text(language)):
        report.add(
            "channel-language",
            where,
            language,
            f"<language> {_text(language)!r} is not an ISO 639 language code.",
            "Write the language as its code: en, en-GB, cy, fr, ar ...",
        )

    # Self link first: the artwork check and the guid rule both use it.
    self_href: str | None = None
    self_links = [
        el for el in channel.iterchildren(f"{{{ATOM_NS}}}link") if el.get("rel") == "self"
    ]
    if not self_links:
        report.add("atom-self", where, channel, 'has no <atom:link rel="self">.')
    else:
        self_href = (self_links[0].get("href") or "").strip()
        if not _is_http_url(self_href):
            report.add(
                "atom-self",
                where,
                self_links[0],
                f"self link {self_href!r} is not a full URL.",
                'Write the feed\'s own full address in href: href="https://.../feed.xml".',
            )
        elif url and _is_http_url(url) and self_href.rstrip("/") != url.rstrip("/"):
            report.add(
                "atom-self",
                where,
                self_links[0],
                f"self link is {self_href} but the feed was read from {url}; apps may follow "
                "the self link.",
                "Make the self link the feed's public URL (or add <itunes:new-feed-url> if it "
                "moved).",
            )

    image = _first(channel, names.itunes("image"))
    if image is None:
        rss_image = _text(channel.find("image/url"))
        also = " (it has an RSS <image>, but Apple reads only <itunes:image>)" if rss_image else ""
        report.add("itunes-image", where, channel, f"has no <itunes:image>, so no artwork{also}.")
    else:
        href = (image.get("href") or "").strip()
        if not href:
            said = f" (the URL is in the text: {_text(image)[:60]!r})" if _text(image) else ""
            report.add(
                "itunes-image",
                where,
                image,
                f"<itunes:image> has no href attribute{said}.",
                "Put the artwork's address in the href attribute: <itunes:image href=\"https://"
                '.../artwork.jpg"/>.',
            )
        elif not _is_http_url(href):
            report.add(
                "itunes-image",
                where,
                image,
                _not_http("artwork href", href),
                "Publish the artwork on the web and write its full https:// address in href.",
            )
        else:
            _check_artwork(
                report,
                where,
                image,
                href,
                source=source,
                self_href=self_href,
                fetch=fetch_images,
                deadline=deadline,
            )

    _check_categories(report, channel, names)
    explicit = _first(channel, names.itunes("explicit"))
    if explicit is None:
        report.add("explicit-missing", where, channel, "has no <itunes:explicit>.")
    else:
        _check_explicit(report, where, explicit)
    if not _text(_first(channel, names.itunes("author"))):
        report.add("itunes-author", where, channel, "has no <itunes:author>.")
    owner = _first(channel, names.itunes("owner"))
    email = _first(owner, names.itunes("email")) if owner is not None else None
    if not _text(email):
        report.add(
            "itunes-owner",
            where,
            owner if owner is not None else channel,
            "has no <itunes:owner> email; Apple writes to it to confirm who owns the show.",
        )
    elif not _EMAIL.match(_text(email)):
        report.add(
            "itunes-owner",
            where,
            email,
            f"owner email {_text(email)!r} is not an email address.",
            "Write an address Apple can write to in <itunes:email>, like name@example.org.",
        )

    guid = _first(channel, names.podcast("guid"))
    if guid is None:
        report.add("podcast-guid-missing", where, channel, "has no <podcast:guid>.")
    else:
        _check_podcast_guid(report, guid, _guid_url(url, self_href))
    locked = _first(channel, names.podcast("locked"))
    if locked is not None and _text(locked).lower() not in LOCKED_VALUES:
        report.add("podcast-locked", where, locked, f"<podcast:locked> is {_text(locked)!r}.")
    medium = _first(channel, names.podcast("medium"))
    if medium is not None and _text(medium) not in MEDIUMS:
        report.add(
            "podcast-medium",
            where,
            medium,
            f"<podcast:medium> {_text(medium)!r} is not a value the namespace defines.",
        )
    for person in _all(channel, names.podcast("person")):
        _check_person(report, where, person)


def _check_podcast_guid(report: _Report, el: Any, feed_url: str | None) -> None:
    value = _text(el)
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        report.add("podcast-guid", "channel", el, f"<podcast:guid> {value!r} is not a UUID.")
        return
    if feed_url is None:
        if parsed.version != 5:
            report.add(
                "podcast-guid-rule",
                "channel",
                el,
                f"<podcast:guid> is a version {parsed.version} UUID; the namespace asks for "
                "UUIDv5 of the feed URL.",
            )
        return
    expected = podcast_guid(feed_url)
    if str(parsed) != expected:
        report.add(
            "podcast-guid-rule",
            "channel",
            el,
            f"<podcast:guid> {value} is not the UUIDv5 of {feed_url} ({expected}); fine if it "
            "was pinned when the feed moved.",
        )


class _OutsideFolder(Exception):
    """Artwork that maps onto the disk outside the local feed's folder."""

    def __init__(self, path: Path, folder: Path) -> None:
        super().__init__(f"{path} is outside {folder}")
        self.path, self.folder = path, folder


def _feed_folder(source: Path) -> Path:
    """The only folder a local feed's artwork is read from (see the module docstring).

    storycast publishes ``public/feeds/show.xml`` and ``public/media/...``, so a
    feed in a folder named ``feeds`` may use the folder above it (unless that is
    the root of the disk); any other feed, only its own folder.
    """
    above = source.parent.parent
    return above if source.parent.name == "feeds" and above != above.parent else source.parent


def _local_artwork(href: str, source: Path | None, self_href: str | None) -> Path | None:
    """The artwork file next to a published feed, found through the feed's self link.

    A feed at ``public/feeds/show.xml`` whose self link is
    ``https://host/feeds/show.xml`` finds ``https://host/media/art.jpg`` at
    ``public/media/art.jpg``. None when there is no such file (or the feed was
    not read from disk); raises :class:`_OutsideFolder` when the href maps, by
    its path or through a symlink, outside :func:`_feed_folder`.
    """
    if source is None or not self_href or not _is_http_url(self_href):
        return None
    art, feed = urlsplit(href), urlsplit(self_href)
    if (art.scheme, art.netloc) != (feed.scheme, feed.netloc) or not art.path:
        return None
    relative = posixpath.relpath(unquote(art.path), posixpath.dirname(unquote(feed.path)) or "/")
    folder = _feed_folder(source)
    candidate = Path(os.path.normpath(source.parent.joinpath(*relative.split("/"))))
    if not candidate.is_relative_to(folder):
        raise _OutsideFolder(candidate, folder)
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # not there, a symlink loop, a NUL
        return None
    if not real.is_relative_to(folder.resolve()):
        raise _OutsideFolder(real, folder)
    return real if real.is_file() else None


def _check_artwork(
    report: _Report,
    where: str,
    el: Any,
    href: str,
    *,
    source: Path | None,
    self_href: str | None,
    fetch: bool,
    deadline: float | None = None,
) -> None:
    try:
        local = _local_artwork(href, source, self_href)
    except _OutsideFolder as outside:
        local = None
        if not fetch:
            report.add(
                "artwork-unreadable",
                where,
                el,
                f"artwork {href[:200]} maps to {outside.path}, outside the feed's folder "
                f"{outside.folder}; it was not read (a feed read from disk may use only files "
                "in its own folder).",
                "Check the artwork and self link URLs, or check the artwork with --fetch-images.",
            )
            return
    data: bytes
    if local is not None:
        try:
            data = _read_regular_file(local, defaults.FEED_FETCH_MAX_BYTES)
        except FeedReadError as exc:
            report.add("artwork-unreadable", where, el, f"artwork {exc}")
            return
    elif fetch:
        try:
            data = fetch_url(href, deadline=deadline)
        except FeedReadError as exc:
            report.add("artwork-unreadable", where, el, f"artwork could not be fetched: {exc}")
            return
    else:
        return  # nothing to look at without downloading; --fetch-images does
    _check_image(report, where, el, href, data)


def _check_image(report: _Report, where: str, el: Any, href: str, data: bytes) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt, (width, height), mode = image.format, image.size, image.mode
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        report.add(
            "artwork-format", where, el, f"artwork is not an image that can be read ({exc})."
        )
        return
    if fmt not in ARTWORK_FORMATS:
        report.add("artwork-format", where, el, f"artwork is {fmt}, not JPEG or PNG.")
    else:
        suffix = posixpath.splitext(urlsplit(href).path)[1].lower()
        if suffix and suffix not in ARTWORK_FORMATS[fmt]:
            report.add("artwork-extension", where, el, f"artwork is a {fmt} file named {suffix}.")
    if width != height:
        report.add("artwork-square", where, el, f"artwork is {width} x {height}, not square.")
    side = min(width, height)
    if max(width, height) > defaults.ARTWORK_MAX_PX or side < defaults.ARTWORK_MIN_PX:
        report.add(
            "artwork-size",
            where,
            el,
            f"artwork is {width} x {height} px; Apple needs {defaults.ARTWORK_MIN_PX} to "
            f"{defaults.ARTWORK_MAX_PX} px.",
        )
    if mode in ("RGBA", "P", "PA"):
        report.add(
            "artwork-alpha", where, el, f"artwork is saved with a palette or transparency ({mode})."
        )
    elif mode != "RGB":
        report.add("artwork-colour", where, el, f"artwork is in {mode}, not RGB.")


def _check_enclosure(report: _Report, where: str, item: Any) -> None:
    enclosure = item.find("enclosure")
    if enclosure is None:
        report.add("enclosure", where, item, "has no <enclosure>, so there is nothing to play.")
        return
    media_url = (enclosure.get("url") or "").strip()
    if not media_url:
        report.add("enclosure-url", where, enclosure, "<enclosure> has no url.")
    elif not _is_http_url(media_url):
        report.add(
            "enclosure-url",
            where,
            enclosure,
            _not_http("enclosure url", media_url),
            "Publish the media file on the web and write its full https:// address in url.",
        )
    length = enclosure.get("length")
    if length is None or not length.strip():
        report.add("enclosure-length", where, enclosure, "<enclosure> has no length.")
    elif not _POSITIVE_INT.match(length.strip()):
        report.add(
            "enclosure-length",
            where,
            enclosure,
            f"enclosure length {length!r} is not a number of bytes.",
        )
    elif int(length) <= 0:
        report.add(
            "enclosure-length",
            where,
            enclosure,
            f"enclosure length is {length}; it must be the file size in bytes.",
        )
    media_type = (enclosure.get("type") or "").strip().lower()
    if not media_type:
        report.add("enclosure-type", where, enclosure, "<enclosure> has no type.")
    elif not media_type.startswith(("audio/", "video/")):
        report.add(
            "enclosure-type", where, enclosure, f"type {media_type!r} is not audio or video."
        )
    elif media_type not in APPLE_MEDIA_TYPES:
        report.add(
            "enclosure-type-apple",
            where,
            enclosure,
            f"enclosure type {media_type!r} is not one Apple Podcasts plays.",
        )


def _check_item_itunes(report: _Report, where: str, item: Any, names: _Names) -> None:
    duration = _first(item, names.itunes("duration"))
    if duration is not None and not _DURATION.match(_text(duration)):
        report.add(
            "item-duration",
            where,
            duration,
            f"<itunes:duration> {_text(duration)!r} is neither seconds nor HH:MM:SS.",
        )
    for local, rule in (("episode", "item-episode"), ("season", "item-season")):
        el = _first(item, names.itunes(local))
        if el is not None and not (_POSITIVE_INT.match(_text(el)) and int(_text(el)) > 0):
            report.add(
                rule, where, el, f"<itunes:{local}> {_text(el)!r} is not a whole number above 0."
            )
    episode_type = _first(item, names.itunes("episodeType"))
    if episode_type is not None and _text(episode_type) not in EPISODE_TYPES:
        report.add(
            "item-episode-type",
            where,
            episode_type,
            f"<itunes:episodeType> is {_text(episode_type)!r}.",
        )
    explicit = _first(item, names.itunes("explicit"))
    if explicit is not None:
        _check_explicit(report, where, explicit)
    image = _first(item, names.itunes("image"))
    if image is not None and not _is_http_url((image.get("href") or "").strip()):
        said = f" (the URL is in the text: {_text(image)[:60]!r})" if _text(image) else ""
        report.add(
            "itunes-image",
            where,
            image,
            f"episode <itunes:image> has no href with a full URL{said}.",
            'Write <itunes:image href="https://.../episode.jpg"/> or leave it out.',
        )


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number == number else None  # NaN is not a time


def _check_item_podcast(report: _Report, where: str, item: Any, names: _Names) -> None:
    for el in _all(item, names.podcast("transcript")):
        missing = [a for a in ("url", "type") if not (el.get(a) or "").strip()]
        if missing:
            report.add(
                "transcript", where, el, f"<podcast:transcript> has no {' or '.join(missing)}."
            )
        kind = (el.get("type") or "").strip()
        if kind and kind not in TRANSCRIPT_TYPES:
            report.add(
                "transcript-type", where, el, f"transcript type {kind!r} is not one apps know."
            )
    for el in _all(item, names.podcast("chapters")):
        if not (el.get("url") or "").strip():
            report.add("chapters", where, el, "<podcast:chapters> has no url.")
        if (el.get("type") or "").strip() != CHAPTERS_TYPE:
            report.add(
                "chapters-type",
                where,
                el,
                f"<podcast:chapters> type is {el.get('type')!r}, not {CHAPTERS_TYPE!r}.",
            )
    for el in _all(item, names.podcast("person")):
        _check_person(report, where, el)
    for el in _all(item, names.podcast("soundbite")):
        start, length = _number(el.get("startTime")), _number(el.get("duration"))
        if start is None or start < 0 or length is None or length <= 0:
            report.add(
                "soundbite",
                where,
                el,
                f"<podcast:soundbite> startTime={el.get('startTime')!r} "
                f"duration={el.get('duration')!r} are not a start and a length in seconds.",
            )


def _check_items(report: _Report, channel: Any, names: _Names) -> None:
    items = channel.findall("item")
    if not items:
        report.add("items", "channel", channel, "lists no <item> (episode).")
    seen: dict[str, str] = {}
    for number, item in enumerate(items, start=1):
        title = item.find("title")
        guid = item.find("guid")
        label = _text(title) or _text(guid) or "untitled"
        where = f'item {number} ("{_short(label)}")'
        if not _text(title):
            report.add(
                "item-title",
                where,
                title if title is not None else item,
                "has no <title>." if title is None else "has an empty <title>.",
            )
        if not _text(guid):
            report.add(
                "item-guid",
                where,
                guid if guid is not None else item,
                "has no <guid>." if guid is None else "has an empty <guid>.",
            )
        elif _text(guid) in seen:
            report.add(
                "guid-duplicate",
                where,
                guid,
                f"has the same guid {_text(guid)!r} as {seen[_text(guid)]}.",
            )
        else:
            seen[_text(guid)] = where
        _check_enclosure(report, where, item)
        pub_date = item.find("pubDate")
        if pub_date is None:
            report.add("item-pubdate-missing", where, item, "has no <pubDate>.")
        else:
            try:
                parsedate_to_datetime(_text(pub_date))
            except (TypeError, ValueError, IndexError):
                report.add(
                    "item-pubdate",
                    where,
                    pub_date,
                    f"<pubDate> {_text(pub_date)!r} is not an RFC 822 date.",
                )
        _check_descriptions(report, where, item, names, required=False)
        _check_item_itunes(report, where, item, names)
        _check_item_podcast(report, where, item, names)
