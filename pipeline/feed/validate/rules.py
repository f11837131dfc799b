"""The rules a feed is checked against: one row of ``RULES`` each, and the value lists they
check against (Apple's categories, the person taxonomy, MIME types).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Severity = Literal["error", "warning"]
# The namespace's first URI; the spec asks clients to read it as the same namespace.
PODCAST_NS_OLD: Final = (
    "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
)


ATOM_NS: Final = "http://www.w3.org/2005/Atom"
CONTENT_NS: Final = "http://purl.org/rss/1.0/modules/content/"
# The namespaces podcast feeds use, by their usual prefix: what an undeclared prefix
# most likely meant.
KNOWN_NAMESPACES: Final = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": ATOM_NS,
    "content": CONTENT_NS,
    "googleplay": "http://www.google.com/schemas/play-podcasts/1.0",
    "media": "http://search.yahoo.com/mrss/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "psc": "http://podlove.org/simple-chapters",
    "spotify": "http://www.spotify.com/ns/rss",
}


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
         "Fix the XML at that line and column (an XML checker such as `xmllint --noout` "
         "points at the same place)."),
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
         "Add <podcast:guid> with the UUIDv5 of the feed's URL (without https://) in the "
         "namespace ead4c236-bf58-58c6-a2c6-a6b28d128cb6, as the podcast namespace defines it; "
         "podcastindex.org offers a tool that works it out."),
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
         "Remove the script, iframe, embed or on... attribute from the description: an app "
         "or web page showing it could run it."),
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
