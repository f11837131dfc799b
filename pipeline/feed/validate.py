"""`storycast validate-feed FILE|URL`: check a podcast feed the way directories will.

Reads any RSS feed (ours, or one from the wild) and reports every breach of
Apple Podcasts' current feed rules and the Podcasting 2.0 ``podcast:``
namespace, each as a :class:`Finding` with the rule it breaks, where (channel or
item, and the XML line), what is wrong and how to fix it.

Every rule is one row of :data:`RULES`; the value lists they check against
(Apple's categories, the person taxonomy, MIME types) are the constants below
it. The XML is parsed safely: no network, no DTD loading, entities never
expanded, libxml2's size limits kept. Malformed XML, an entity bomb or a
non-UTF-8 feed gives a finding, never a crash or a hang.

Artwork is checked with Pillow (1400 to 3000 px, square, RGB, JPEG or PNG)
when it can be read: from the local folder the feed was published to (its
``atom:link rel="self"`` tells where the feed sits under the same host), or
downloaded when ``fetch_images`` is set.

What a feed names is never opened as a local file. URLs in a feed are only
ever fetched over http(s): a ``file:``, ``ftp:`` or ``data:`` URL or a bare
path is a finding, never read, and a redirect to anything but http(s) is
refused. Local files are read only for a feed the user named on the command
line as a file, and then only inside that feed's own folder (its published
folder: for a feed in a folder named ``feeds``, as storycast publishes
``public/feeds/show.xml``, the folder above it, ``public/``), after symlinks
are followed. Artwork that would map outside it is reported and not read.
A feed fetched from a URL reads nothing from the disk.

Every fetch has a time limit from connecting to its last byte
(``defaults.FEED_FETCH_TIME_LIMIT``, redirects included), besides the timeout
on each read, so a server that trickles a byte now and then cannot hold it;
and the whole command has one (``--time-limit``), which the feed and its
artwork share. (Looking up a host name is left to the system's resolver and
its own timeouts.)
"""

from __future__ import annotations

import difflib
import http.client
import io
import os
import posixpath
import re
import socket
import ssl
import stat
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import unquote, urljoin, urlsplit

from lxml import etree
from PIL import Image, UnidentifiedImageError

from pipeline import defaults
from pipeline.errors import Problem, StorycastError
from pipeline.feed.build import CHAPTERS_TYPE, ITUNES_NS, MEDIUMS, PODCAST_NS, podcast_guid

Severity = Literal["error", "warning"]

# The namespace's first URI; the spec asks clients to read it as the same namespace.
PODCAST_NS_OLD: Final = (
    "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
)
ATOM_NS: Final = "http://www.w3.org/2005/Atom"
CONTENT_NS: Final = "http://purl.org/rss/1.0/modules/content/"


# ------------------------------------------------------------------ the rules


@dataclass(frozen=True)
class Rule:
    """One thing a feed must (error) or should (warning) do, and the usual fix."""

    id: str
    severity: Severity
    checks: str
    fix: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.id: rule for rule in rules}


RULES: Final[dict[str, Rule]] = _rules(
    # The document.
    Rule("xml-malformed", "error", "The feed is well-formed XML.",
         "Fix the XML at that line: escape & as &amp; and < as &lt;, or wrap HTML in "
         "<![CDATA[ ... ]]>; HTML entities such as &nbsp; are not XML (use &#160;)."),
    Rule("xml-entities", "error", "The feed declares no entities of its own (DOCTYPE).",
         "Remove the <!DOCTYPE ...> block with its <!ENTITY> declarations and write the "
         "text out; podcast apps refuse or ignore them."),
    Rule("xml-encoding", "warning", "The feed is encoded as UTF-8.",
         "Save the feed as UTF-8 and declare encoding=\"UTF-8\"."),
    Rule("rss-root", "error", "The document is <rss> with one <channel>.",
         "Publish an RSS 2.0 feed: <rss version=\"2.0\"><channel>...</channel></rss>."),
    Rule("rss-version", "error", "<rss> says version=\"2.0\".",
         "Write <rss version=\"2.0\" ...>."),
    Rule("namespace-itunes", "error",
         "The itunes namespace is declared as http://www.itunes.com/dtds/podcast-1.0.dtd.",
         "Declare xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" on <rss> "
         "(exactly, it is case-sensitive)."),
    Rule("namespace-podcast-old", "warning",
         "The podcast namespace uses its current URI, https://podcastindex.org/namespace/1.0.",
         "Declare xmlns:podcast=\"https://podcastindex.org/namespace/1.0\"."),
    # The channel.
    Rule("channel-title", "error", "The channel has a <title>.", "Add <title> to <channel>."),
    Rule("channel-description", "error", "The channel has a <description>.",
         "Add <description> to <channel>: what the show is about."),
    Rule("channel-link", "error", "The channel has a <link> to the show's website.",
         "Add <link>https://...</link> to <channel>."),
    Rule("channel-language", "error", "The channel has a <language> (an ISO 639 code).",
         "Add <language>en</language> (or en-GB, cy, ar ...) to <channel>."),
    Rule("itunes-image", "error", "<itunes:image href=\"...\"> gives the artwork as a full URL.",
         "Add <itunes:image href=\"https://.../artwork.jpg\"/> to <channel>."),
    Rule("artwork-unreadable", "warning", "The artwork can be read to check it.",
         "Check that the artwork URL works and is a JPEG or PNG file."),
    Rule("artwork-format", "error", "The artwork is a JPEG or PNG file.",
         "Save the artwork as JPEG or PNG."),
    Rule("artwork-extension", "warning", "The artwork's name ends as its format does.",
         "Name a JPEG .jpg and a PNG .png; some apps go by the name."),
    Rule("artwork-square", "error", "The artwork is square.", "Crop the artwork to a square."),
    Rule("artwork-size", "error", "The artwork is 1400 to 3000 pixels on a side.",
         "Export the artwork at 3000 x 3000 pixels (at least 1400 x 1400)."),
    Rule("artwork-colour", "error", "The artwork is in the RGB colour space.",
         "Convert the artwork to RGB (not CMYK or greyscale) and save it again."),
    Rule("artwork-alpha", "warning", "The artwork is plain RGB, without transparency.",
         "Flatten the artwork onto a background and save it without transparency."),
    Rule("category-missing", "error", "The channel has an <itunes:category>.",
         "Add <itunes:category text=\"...\"/> with a category from Apple's list."),
    Rule("category", "warning", "Exactly one <itunes:category>, from Apple's list.",
         "Use one category (and at most one subcategory) spelt as in Apple's list."),
    Rule("explicit-missing", "error", "The channel has <itunes:explicit>.",
         "Add <itunes:explicit>false</itunes:explicit> (or true) to <channel>."),
    Rule("explicit-value", "error", "<itunes:explicit> is true or false.",
         "Write <itunes:explicit>true</itunes:explicit> or false."),
    Rule("explicit-legacy", "warning", "<itunes:explicit> uses Apple's current true/false.",
         "Write true instead of yes/explicit, false instead of no/clean."),
    Rule("itunes-author", "warning", "The channel has <itunes:author>.",
         "Add <itunes:author> with the name listeners should see as the show's author."),
    Rule("itunes-owner", "warning", "<itunes:owner> has an <itunes:email> Apple can write to.",
         "Add <itunes:owner><itunes:name>...</itunes:name><itunes:email>...</itunes:email>"
         "</itunes:owner>."),
    Rule("atom-self", "warning", "<atom:link rel=\"self\"> gives the feed's own URL.",
         "Add <atom:link href=\"FEED URL\" rel=\"self\" type=\"application/rss+xml\"/> "
         "(and declare xmlns:atom=\"http://www.w3.org/2005/Atom\")."),
    Rule("podcast-guid-missing", "warning", "The channel has <podcast:guid>.",
         "Add <podcast:guid>: UUIDv5 of the feed URL (see `storycast` feed.podcast_guid)."),
    Rule("podcast-guid", "error", "<podcast:guid> is a UUID.",
         "Write the guid as a UUID, e.g. 917393e3-1b1e-5cef-ace4-edaa54e1f810."),
    Rule("podcast-guid-rule", "warning",
         "<podcast:guid> is the UUIDv5 of the feed URL, as the namespace defines it.",
         "Keep it if it was pinned when the feed moved; otherwise use the UUIDv5 of the URL."),
    Rule("podcast-locked", "error", "<podcast:locked> is yes or no.",
         "Write <podcast:locked>yes</podcast:locked> or no."),
    Rule("podcast-medium", "warning", "<podcast:medium> is a value the namespace defines.",
         "Use podcast, music, video, film, audiobook, newsletter, blog, publisher or course."),
    Rule("items", "warning", "The feed lists at least one episode.",
         "Publish at least one episode; Apple does not accept an empty show."),
    # Each item.
    Rule("item-title", "error", "Every item has a <title>.", "Give the episode a <title>."),
    Rule("item-guid", "error", "Every item has a <guid>.",
         "Add <guid isPermaLink=\"false\">...</guid> that never changes for this episode."),
    Rule("guid-duplicate", "error", "No two items share a <guid>.",
         "Give each episode its own guid; apps treat items with one guid as one episode."),
    Rule("enclosure", "error", "Every item has an <enclosure> with the media.",
         "Add <enclosure url=\"...\" length=\"BYTES\" type=\"audio/mpeg\"/>."),
    Rule("enclosure-url", "error", "The enclosure url is a full http(s) URL.",
         "Write the media file's full https:// URL in url=\"...\"."),
    Rule("enclosure-length", "error", "The enclosure length is the file size in bytes (> 0).",
         "Set length=\"...\" to the media file's size in bytes."),
    Rule("enclosure-type", "error", "The enclosure type is an audio or video MIME type.",
         "Set type=\"audio/mpeg\" for MP3, audio/x-m4a for M4A, video/mp4 for MP4."),
    Rule("enclosure-type-apple", "warning", "The enclosure type is one Apple Podcasts plays.",
         "Publish MP3 (audio/mpeg), M4A (audio/x-m4a), MP4 (video/mp4), M4V or MOV."),
    Rule("item-pubdate-missing", "warning", "Every item has a <pubDate>.",
         "Add <pubDate>Sun, 01 Nov 2026 09:00:00 +0000</pubDate>."),
    Rule("item-pubdate", "error", "<pubDate> is an RFC 822 date.",
         "Write dates like Sun, 01 Nov 2026 09:00:00 +0000."),
    Rule("item-duration", "error", "<itunes:duration> is seconds or HH:MM:SS.",
         "Write the duration in whole seconds, e.g. <itunes:duration>1830</itunes:duration>."),
    Rule("item-episode", "error", "<itunes:episode> is a whole number above 0.",
         "Write the episode number as digits only, e.g. 12."),
    Rule("item-season", "error", "<itunes:season> is a whole number above 0.",
         "Write the season number as digits only, e.g. 2."),
    Rule("item-episode-type", "error", "<itunes:episodeType> is full, trailer or bonus.",
         "Write full, trailer or bonus (lower case)."),
    Rule("transcript", "error", "<podcast:transcript> has a url and a type.",
         "Write <podcast:transcript url=\"...\" type=\"text/vtt\"/>."),
    Rule("transcript-type", "warning", "The transcript type is one apps know.",
         "Use text/vtt, application/x-subrip, application/json, text/html or text/plain."),
    Rule("chapters", "error", "<podcast:chapters> has a url.",
         "Write <podcast:chapters url=\"...\" type=\"application/json+chapters\"/>."),
    Rule("chapters-type", "warning", "<podcast:chapters> says type=\"application/json+chapters\".",
         "Set type=\"application/json+chapters\"."),
    Rule("description-length", "error", "A description is at most 4000 bytes (Apple's limit).",
         "Shorten the description; put the long notes on the episode's web page."),
    Rule("description-html", "error",
         "Descriptions hold no scripts, frames, embeds or on...= event handlers.",
         "Remove the script, iframe or on... attribute (storycast cleans descriptions with "
         "nh3)."),
    Rule("person", "error", "<podcast:person> has a name.",
         "Write the person's name (or chosen credit) as the element's text."),
    Rule("person-role", "warning", "<podcast:person> role and group are in the taxonomy.",
         "Use a role and group from the Podcast Taxonomy (e.g. role=\"guest\" group=\"cast\")."),
    Rule("soundbite", "error", "<podcast:soundbite> startTime and duration are seconds.",
         "Write startTime=\"73.0\" duration=\"60.0\" (seconds, duration above 0)."),
)  # fmt: skip

# Apple Podcasts categories and their subcategories (podcasters.apple.com, 2024).
APPLE_CATEGORIES: Final[dict[str, tuple[str, ...]]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": (
        "Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit",
    ),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": (
        "Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition", "Sexuality",
    ),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": (
        "Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies",
        "Home & Garden", "Video Games",
    ),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": (
        "Business News", "Daily News", "Entertainment News", "News Commentary", "Politics",
        "Sports News", "Tech News",
    ),
    "Religion & Spirituality": (
        "Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Religion", "Spirituality",
    ),
    "Science": (
        "Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics",
        "Natural Sciences", "Nature", "Physics", "Social Sciences",
    ),
    "Society & Culture": (
        "Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships",
    ),
    "Sports": (
        "Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf", "Hockey",
        "Rugby", "Running", "Soccer", "Swimming", "Tennis", "Volleyball", "Wilderness",
        "Wrestling",
    ),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}  # fmt: skip

# The Podcast Taxonomy (podcast-namespace taxonomy.json): group -> roles, lower case
# (the namespace reads both case-insensitively). "translater" is the file's own spelling.
PERSON_TAXONOMY: Final[dict[str, frozenset[str]]] = {
    group: frozenset(roles.split("|"))
    for group, roles in {
        "creative direction": "director|assistant director|executive producer|senior producer|"
        "producer|associate producer|development producer|creative director",
        "cast": "host|co-host|guest host|guest|voice actor|narrator|announcer|reporter",
        "writing": "author|editorial director|co-writer|writer|songwriter|guest writer|"
        "story editor|managing editor|script editor|script coordinator|researcher|editor|"
        "fact checker|translator|translater|transcriber|logger",
        "audio production": "studio coordinator|technical director|technical manager|"
        "audio engineer|remote recording engineer|post production engineer",
        "audio post-production": "audio editor|sound designer|foley artist|composer|"
        "theme music|music production|music contributor",
        "administration": "production coordinator|booking coordinator|production assistant|"
        "content manager|marketing manager|sales representative|sales manager",
        "visuals": "graphic designer|cover art designer",
        "community": "social media manager",
        "misc.": "consultant|intern",
        "video production": "camera operator|lighting designer|camera grip|assistant camera",
        "video post-production": "editor|assistant editor",
    }.items()
}

EXPLICIT_VALUES: Final = ("true", "false")
EXPLICIT_LEGACY: Final = ("yes", "no", "clean", "explicit")
EPISODE_TYPES: Final = ("full", "trailer", "bonus")
LOCKED_VALUES: Final = ("yes", "no")
# Enclosure types Apple Podcasts plays (it also takes PDF, which no other app does).
APPLE_MEDIA_TYPES: Final = frozenset(
    {
        "audio/mpeg",
        "audio/x-m4a",
        "audio/mp4",
        "audio/aac",
        "video/mp4",
        "video/x-m4v",
        "video/quicktime",
    }
)
TRANSCRIPT_TYPES: Final = frozenset(
    {"text/vtt", "application/x-subrip", "application/json", "text/html", "text/plain"}
)
# HTML that must not reach a podcast app from a description.
UNSAFE_TAGS: Final = frozenset(
    {"script", "iframe", "frame", "frameset", "object", "embed", "applet"}
)
UNSAFE_URL_SCHEMES: Final = ("javascript:", "vbscript:", "data:text/html")
ARTWORK_FORMATS: Final = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",)}

_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?|(?:\d+:)?\d{1,2}:\d{2}(?:\.\d+)?)$")
_POSITIVE_INT = re.compile(r"^[0-9]+$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_ENTITY_DECLARATION = re.compile(rb"<!DOCTYPE[^>\[]*\[[^\]]*<!ENTITY", re.IGNORECASE)
_TITLE_CHARS = 40


# -------------------------------------------------------------- the findings


@dataclass(frozen=True)
class Finding:
    """One breach of one rule, located as precisely as the XML allows."""

    severity: Severity
    rule: str
    where: str  # "document", "channel" or 'item 3 ("Title…")'
    line: int | None
    message: str
    fix: str

    def format(self, name: str) -> str:
        """``feed.xml:LINE: error [rule] where: message Fix: ...``"""
        head = f"{name}:{self.line}" if self.line is not None else name
        text = f"{head}: {self.severity} [{self.rule}] {self.where}: {self.message}"
        return f"{text} Fix: {self.fix}" if self.fix else text

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


class FeedReadError(StorycastError):
    """The feed (file or URL) could not be read at all."""


class _Report:
    """Collects findings; severity and the default fix come from :data:`RULES`."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, rule_id: str, where: str, at: Any, message: str, fix: str | None = None) -> None:
        rule = RULES[rule_id]
        line = at if isinstance(at, int) or at is None else getattr(at, "sourceline", None)
        self.findings.append(
            Finding(rule.severity, rule.id, where, line, message, rule.fix if fix is None else fix)
        )


# ------------------------------------------------------------------- parsing


def _parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
    )


def _parse(xml: bytes, report: _Report) -> Any | None:
    """The root element, or None after adding the one finding that explains why not."""
    has_entities = bool(_ENTITY_DECLARATION.search(xml[:65536]))
    doctype = xml.find(b"<!DOCTYPE")
    doctype_line = xml[:doctype].count(b"\n") + 1 if doctype >= 0 else 1
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        reason = str(exc.msg or exc).strip()
        if has_entities:
            report.add(
                "xml-entities",
                "document",
                doctype_line,
                "declares its own entities, the shape of an entity-expansion ('billion "
                f"laughs') attack; they were not expanded and the feed was not read ({reason}).",
            )
        else:
            report.add("xml-malformed", "document", line, f"is not well-formed XML: {reason}.")
        return None
    except ValueError as exc:  # lxml refuses some inputs outright rather than parsing them
        report.add("xml-malformed", "document", None, f"could not be parsed: {exc}.")
        return None
    if root is None:
        report.add("xml-malformed", "document", None, "is empty.")
        return None
    tree = root.getroottree()
    dtd = tree.docinfo.internalDTD
    if dtd is not None:
        names = [e.name for e in dtd.iterentities()]
        if names:
            report.add(
                "xml-entities",
                "document",
                doctype_line,
                f"declares its own entities ({', '.join(sorted(names)[:5])}); they were not "
                "expanded, so text using them is incomplete here and in podcast apps.",
            )
    encoding = (tree.docinfo.encoding or "UTF-8").upper()
    if encoding not in ("UTF-8", "UTF8"):
        report.add(
            "xml-encoding",
            "document",
            1,
            f"is encoded as {tree.docinfo.encoding}; Apple asks for UTF-8 and some apps "
            "misread other encodings.",
        )
    return root


# ------------------------------------------------------------------- helpers


def _text(el: Any) -> str:
    """An element's text (CDATA included, entities left unexpanded), stripped."""
    if el is None:
        return ""
    return "".join(el.itertext()).strip()


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "http://[broken" (an unclosed IPv6 literal)
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _not_http(what: str, value: str) -> str:
    """The message for a URL in a feed that is not a full http(s) URL."""
    try:
        scheme = urlsplit(value).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme and scheme not in ("http", "https"):
        return (
            f"{what} {value[:200]!r} is a {scheme}: URL, not http(s); it was not opened "
            "(validate-feed fetches only http(s), never a file or other scheme a feed names)."
        )
    return f"{what} {value[:200]!r} is not a full http(s) URL; it was not opened."


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TITLE_CHARS else text[: _TITLE_CHARS - 1] + "…"


class _Names:
    """Clark names for a tag in every namespace URI this document uses for it."""

    def __init__(self, itunes: Iterable[str], podcast: Iterable[str]) -> None:
        self._itunes = tuple(itunes)
        self._podcast = tuple(podcast)

    def itunes(self, local: str) -> tuple[str, ...]:
        return tuple(f"{{{ns}}}{local}" for ns in self._itunes)

    def podcast(self, local: str) -> tuple[str, ...]:
        return tuple(f"{{{ns}}}{local}" for ns in self._podcast)


def _all(parent: Any, tags: Iterable[str]) -> list[Any]:
    tags = tuple(tags)
    return list(parent.iterchildren(*tags)) if tags else []


def _first(parent: Any, tags: Iterable[str]) -> Any | None:
    found = _all(parent, tags)
    return found[0] if found else None


class _HtmlScan(HTMLParser):
    """Lists what in an HTML description could run code in an app or a web page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.unsafe: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in UNSAFE_TAGS:
            self.unsafe.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.unsafe.append(f"{name}= on <{tag}>")
            elif value and value.strip().lower().startswith(UNSAFE_URL_SCHEMES):
                self.unsafe.append(f'{name}="{value.strip()[:20]}…" on <{tag}>')


def _unsafe_html(text: str) -> list[str]:
    if "<" not in text:
        return []
    scan = _HtmlScan()
    try:
        scan.feed(text)
        scan.close()
    except Exception:  # html.parser is lenient; never let a description stop the check
        return scan.unsafe
    return scan.unsafe


# ------------------------------------------------------------ channel checks


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
        report.add("rss-root", "document", channels[1], "<rss> has more than one <channel>.")

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
        report.add("channel-link", where, link, f"<link> {_text(link)!r} is not a full URL.")
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
                "atom-self", where, self_links[0], f"self link {self_href!r} is not a full URL."
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
            report.add("itunes-image", where, image, f"<itunes:image> has no href attribute{said}.")
        elif not _is_http_url(href):
            report.add("itunes-image", where, image, _not_http("artwork href", href))
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
            "itunes-owner", where, email, f"owner email {_text(email)!r} is not an email address."
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


# ----------------------------------------------------------------- artwork


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
        report.add("artwork-format", where, el, f"artwork is not an image Pillow can read ({exc}).")
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


# -------------------------------------------------------------- item checks


def _check_enclosure(report: _Report, where: str, item: Any) -> None:
    enclosure = item.find("enclosure")
    if enclosure is None:
        report.add("enclosure", where, item, "has no <enclosure>, so there is nothing to play.")
        return
    media_url = (enclosure.get("url") or "").strip()
    if not media_url:
        report.add("enclosure-url", where, enclosure, "<enclosure> has no url.")
    elif not _is_http_url(media_url):
        report.add("enclosure-url", where, enclosure, _not_http("enclosure url", media_url))
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


# ------------------------------------------------------------------- the API


def validate(
    xml: bytes,
    *,
    url: str | None = None,
    fetch_images: bool = False,
    source: Path | None = None,
    deadline: float | None = None,
) -> list[Finding]:
    """Every breach of :data:`RULES` in one feed, in document order.

    ``url`` is where the feed was read from (for the ``podcast:guid`` rule and
    the self link); ``source`` is the local file, so artwork published next to
    it (inside its folder only) can be checked; ``fetch_images`` downloads
    artwork that is not local, by ``deadline`` (a ``time.monotonic()`` value)
    if given. Never raises on bad input: malformed XML is one ``xml-malformed``
    finding.
    """
    report = _Report()
    root = _parse(xml, report)
    if root is not None:
        channel, names = _check_document(root, report)
        if channel is not None:
            _check_channel(
                report,
                channel,
                names,
                url=url,
                source=source,
                fetch_images=fetch_images,
                deadline=deadline,
            )
            _check_items(report, channel, names)
    return sorted(report.findings, key=lambda f: (f.line is not None, f.line or 0))


class _TimeUp(TimeoutError):
    """A fetch's time limit ran out (rather than one read timing out)."""


def _wait(timeout: float, deadline: float) -> float:
    """How long the next connect or read may wait: ``timeout``, but never past ``deadline``."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _TimeUp("the time limit ran out")
    return min(timeout, left)


class _DeadlineReader(io.RawIOBase):
    """A response's socket, read with each wait bounded by :func:`_wait`.

    Every read of the status line, the headers and the body comes through here,
    so a server that sends a byte every few seconds runs into the deadline.
    """

    def __init__(self, raw: Any, sock: socket.socket, timeout: float, deadline: float) -> None:
        super().__init__()
        self._raw, self._sock, self._timeout, self._deadline = raw, sock, timeout, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(_wait(self._timeout, self._deadline))
        received: int | None = self._raw.readinto(buffer)
        return received

    def close(self) -> None:
        if not self.closed:
            self._raw.close()  # lets the socket close
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: Any, *args: Any, timeout: float, deadline: float, **kw: Any) -> None:
        super().__init__(sock, *args, **kw)
        raw = self.fp.detach()  # the socket's file, which keeps the socket open until closed
        self.fp = io.BufferedReader(_DeadlineReader(raw, sock, timeout, deadline))


class _DeadlineHTTPConnection(http.client.HTTPConnection):
    """Connects by the deadline and reads its responses through :class:`_DeadlineReader`."""

    def __init__(self, *args: Any, deadline: float, **kw: Any) -> None:
        super().__init__(*args, **kw)
        given = self.timeout
        self._read_timeout = (
            float(given) if isinstance(given, int | float) else defaults.FEED_FETCH_TIMEOUT
        )
        self._deadline = deadline
        self.response_class = partial(  # type: ignore[assignment]
            _DeadlineResponse, timeout=self._read_timeout, deadline=deadline
        )

    def connect(self) -> None:
        # The TCP connect and, for https, the whole TLS handshake wait at most this.
        self.timeout = _wait(self._read_timeout, self._deadline)
        super().connect()


class _DeadlineHTTPSConnection(_DeadlineHTTPConnection, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: float) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = partial(_DeadlineHTTPConnection, deadline=self._deadline)
        return self.do_open(connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: float) -> None:
        super().__init__()
        self._deadline = deadline
        self._tls = ssl.create_default_context()  # certificates and host names checked

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = partial(_DeadlineHTTPSConnection, deadline=self._deadline)
        return self.do_open(connection, req, context=self._tls)


class _RedirectRefused(urllib.error.URLError):
    """A redirect to something other than an http(s) URL."""


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) URLs only (urllib's own follows ftp: too)."""

    max_redirections = 5

    def http_error_302(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any
    ) -> Any:
        location = headers.get("location") or headers.get("uri")
        if location:
            try:
                target = urljoin(req.full_url, location.strip())
            except ValueError:
                target = location
            if not _is_http_url(target):
                fp.close()
                raise _RedirectRefused(target)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not _is_http_url(newurl):
            raise _RedirectRefused(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(deadline: float) -> urllib.request.OpenerDirector:
    """urllib with http(s) only: no file:, ftp: or data: handler to reach, ever."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        _HTTPHandler(deadline),
        _HTTPSHandler(deadline),
        urllib.request.HTTPDefaultErrorHandler(),
        _HttpOnlyRedirects(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def fetch_url(
    url: str,
    *,
    timeout: float = defaults.FEED_FETCH_TIMEOUT,
    time_limit: float = defaults.FEED_FETCH_TIME_LIMIT,
    deadline: float | None = None,
    max_bytes: int = defaults.FEED_FETCH_MAX_BYTES,
) -> bytes:
    """The body at an http(s) URL, at most ``max_bytes``; raises :class:`FeedReadError`.

    ``timeout`` bounds each wait (connecting, each read); ``time_limit`` the
    whole fetch, redirects included; ``deadline`` (a ``time.monotonic()`` value,
    the command's) can end it sooner. Only http(s) is fetched, and only http(s)
    redirects are followed.
    """
    if not _is_http_url(url):
        raise FeedReadError(Problem(None, f"{url}: only http and https URLs can be fetched."))
    started = time.monotonic()
    until = started + time_limit if deadline is None else min(started + time_limit, deadline)
    too_big = Problem(None, f"{url} is larger than {max_bytes} bytes; not read.", "Check the URL.")
    out_of_time = Problem(
        None,
        f"{url}: gave up after {max(until - started, 0):.1f} s, the time limit: the server had "
        "not sent its whole answer by then (it is too slow, or sends a trickle of bytes).",
        "Try again later, or allow more time with --time-limit SECONDS.",
    )
    try:
        request = urllib.request.Request(
            url,
            headers={
                "User-Agent": defaults.FEED_FETCH_USER_AGENT,
                "Accept": "application/rss+xml, application/xml;q=0.9, */*;q=0.5",
            },
        )
        _wait(timeout, until)
        with _opener(until).open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FeedReadError(too_big)
            body: bytes = response.read(max_bytes + 1)
    except _RedirectRefused as exc:
        raise FeedReadError(
            Problem(
                None,
                f"{url}: redirected to {str(exc.reason)[:200]!r}, which is not an http(s) URL; "
                "not followed.",
            )
        ) from exc
    except urllib.error.HTTPError as exc:
        raise FeedReadError(
            Problem(None, f"{url}: the server answered {exc.code} {exc.reason}.")
        ) from exc
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, _TimeUp) or time.monotonic() >= until:
            raise FeedReadError(out_of_time) from exc
        raise FeedReadError(Problem(None, f"{url}: could not be fetched ({reason}).")) from exc
    if len(body) > max_bytes:
        raise FeedReadError(too_big)
    return body


def _read_regular_file(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes, at most ``max_bytes``: never a pipe, device or folder,
    which could block or never end; raises :class:`FeedReadError`."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise FeedReadError(
                Problem(path, "is not a regular file (a folder, pipe or device); not read.")
            )
        if st.st_size > max_bytes:
            raise FeedReadError(
                Problem(path, f"is {st.st_size} bytes, larger than {max_bytes}; not read.")
            )
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise FeedReadError(
            Problem(path, f"cannot be read: {exc.strerror or exc}.", "Check the path.")
        ) from exc
    if len(data) > max_bytes:
        raise FeedReadError(Problem(path, f"grew past {max_bytes} bytes while read; not read."))
    return data


def validate_target(
    target: str,
    *,
    fetch_images: bool = False,
    time_limit: float = defaults.VALIDATE_FEED_TIME_LIMIT,
) -> list[Finding]:
    """Validate a feed file or an http(s) URL (raises :class:`FeedReadError` if unreadable).

    Everything, the feed's fetch and the artwork's, is done within ``time_limit``
    seconds; artwork not fetched in time is an ``artwork-unreadable`` finding.
    """
    deadline = time.monotonic() + time_limit
    if re.match(r"^https?://", target, re.IGNORECASE):
        xml = fetch_url(target, deadline=deadline)
        return validate(xml, url=target, fetch_images=fetch_images, deadline=deadline)
    path = Path(target)
    data = _read_regular_file(path, defaults.FEED_FETCH_MAX_BYTES)
    return validate(data, source=path.resolve(), fetch_images=fetch_images, deadline=deadline)
