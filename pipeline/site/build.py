"""The listeners' pages: the show page and one page per episode, as HTML.

Built from the same records the feed is built from (``Show``, ``Episode``,
``PublishedFile``, ``Credit``, the Timeline's chapters and the captions' cues), through
Jinja2 templates with autoescaping on: every value is escaped by the template engine,
never joined into markup by hand. Text the contributors wrote is marked ``dir="auto"``,
so right-to-left titles and names show the right way round.

Links between pages and to the media are relative (the pages live beside the media
under ``media/SHOW/``), so the site works wherever the storage is served from; the
feed address offered for copying is the absolute one. The style and script are inlined:
no request leaves the page's own storage (a Content-Security-Policy says so to the
browser as well).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from urllib.parse import quote

import jinja2

from pipeline import defaults
from pipeline.records import (
    ROLES,
    Chapter,
    Credit,
    Cue,
    Episode,
    FeedEntry,
    PublishedFile,
    Show,
)

# What each downloadable role is called on the page, in the order shown.
DOWNLOADS: tuple[tuple[str, str], ...] = (
    ("video", "Video (MP4)"),
    ("audio", "Audio (MP3)"),
    ("captions-vtt", "Captions (WebVTT)"),
    ("captions-srt", "Captions (SRT)"),
    ("transcript-html", "Transcript (web page)"),
    ("transcript-txt", "Transcript (plain text)"),
    ("transcript-json", "Transcript (JSON)"),
    ("chapters", "Chapters (JSON)"),
)
LANGUAGE_NAMES = {
    "en": "English",
    "cy": "Welsh",
    "ga": "Irish",
    "gd": "Scottish Gaelic",
    "fr": "French",
    "es": "Spanish",
    "de": "German",
    "pl": "Polish",
    "ar": "Arabic",
    "ur": "Urdu",
    "pa": "Punjabi",
    "bn": "Bengali",
    "so": "Somali",
}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.site", "templates"),
        autoescape=True,  # every template, whatever its name: .html.j2 included
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def relative(from_key: str, to_key: str) -> str:
    """The address of ``to_key`` as a link from the page at ``from_key``."""
    path = posixpath.relpath(to_key, posixpath.dirname(from_key) or ".")
    return quote(path, safe="/.-_~")


def clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _length(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{round(seconds)} seconds"
    if minutes < 60:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"


def _date(when: datetime) -> str:
    return f"{when.day} {when:%B %Y}"


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} bytes"
    if n < 1_000_000:
        return f"{n / 1000:.0f} KB"
    return f"{n / 1_000_000:.1f} MB"


def _seconds(t: float) -> str:
    return f"{t:.2f}".rstrip("0").rstrip(".") or "0"


@dataclass(frozen=True)
class PageCue:
    t: str  # start, seconds
    clock: str
    text: str  # the cue's text on one line: what a screen reader reads
    speaker: str | None
    words: str  # each space-separated token's start, comma-separated; "" when not known


def page_cues(cues: Sequence[Cue], words: Sequence[tuple[float, float, str]]) -> list[PageCue]:
    """The cues as the transcript shows them, each with its words' times when they match
    the cue's text token for token (a corrected or redacted cue may not: then a click on
    it seeks to the cue's start)."""
    out: list[PageCue] = []
    i = 0
    for n, cue in enumerate(cues):
        text = " ".join(cue.text.split())
        nxt = cues[n + 1].start if n + 1 < len(cues) else float("inf")
        mine: list[tuple[float, str]] = []
        while i < len(words) and words[i][0] < nxt - 0.0005:
            if words[i][0] >= cue.start - 0.0005:
                mine.append((words[i][0], words[i][2]))
            i += 1
        tokens = text.split(" ")
        spread = [t for start, word in mine for t in [start] * len(word.split())]
        joined = " ".join(" ".join(word.split()) for _, word in mine)
        times = ",".join(_seconds(t) for t in spread) if joined == text else ""
        if times and len(spread) != len(tokens):
            times = ""
        out.append(PageCue(_seconds(cue.start), clock(cue.start), text, cue.speaker, times))
    return out


def _credits(credits: Iterable[Credit]) -> list[tuple[str, str]]:
    roles: dict[str, list[str]] = {}
    for c in credits:
        roles.setdefault(c.name, [])
        if c.role not in roles[c.name]:
            roles[c.name].append(c.role)
    return [(name, ", ".join(r)) for name, r in roles.items()]


@dataclass(frozen=True)
class PageFile:
    """One file an episode's pages publish: a page (``page``; a long transcript's further
    parts ``page:2``, ``page:3``...) or the words' times one of them fetches
    (``page-words``, ``page-words:2``...), content-addressed like the media."""

    role: str
    key: str
    data: bytes
    content_type: str


WORDS_SCHEMA = "storycast.PageWords.1"
_PAGE_TYPE = ROLES["page"].content_type
_CUE_MARKUP = 230  # bytes of markup around one cue's text on the page, roughly


def _split(cues: Sequence[PageCue], parts: int) -> list[list[PageCue]]:
    """The cues in ``parts`` runs of about equal weight on the page, in order."""
    if parts <= 1 or len(cues) <= 1:
        return [list(cues)]
    weights = [_CUE_MARKUP + len(c.text.encode()) + len((c.speaker or "").encode()) for c in cues]
    target = sum(weights) / parts
    out: list[list[PageCue]] = [[]]
    done = 0.0
    for cue, weight in zip(cues, weights, strict=True):
        if out[-1] and done + weight / 2 > target * len(out) and len(out) < parts:
            out.append([])
        out[-1].append(cue)
        done += weight
    return out


def _words_file(show: Show, slug: str, role: str, cues: Sequence[PageCue]) -> PageFile | None:
    """The words' times of these cues (in the page's order), or None when none are known."""
    if not any(c.words for c in cues):
        return None
    body = {"schema": WORDS_SCHEMA, "cues": [c.words for c in cues]}
    data = json.dumps(body, separators=(",", ":")).encode()
    sha = hashlib.sha256(data).hexdigest()
    suffix = ROLES["page-words"].suffix
    key = f"media/{show.slug}/{slug}-{sha[:16]}{suffix}"
    return PageFile(role, key, data, ROLES["page-words"].content_type)


def episode_pages(
    show: Show,
    episode: Episode,
    *,
    duration: float,
    files: dict[str, PublishedFile],
    credits: Iterable[Credit] = (),
    chapters: Iterable[Chapter] = (),
    cues: Sequence[Cue] = (),
    words: Sequence[tuple[float, float, str]] = (),
    speech_language: str = "",
    budget: int | None = None,
) -> list[PageFile]:
    """An episode's page at ``show.page_key(episode.slug)`` and what it needs beside it.

    The transcript is on the page as plain text (readable without JavaScript); the words'
    times, which let a click on a word seek there, are a small JSON file the page's script
    fetches from the same place. When the transcript would take a page over ``budget``
    bytes (``defaults.PAGE_BUDGET_BYTES`` unless given), it goes on in parts
    (``show.page_key(slug, n)``), each linking every other and each with the player, so
    every page stays under it.

    ``speech_language``: the language of its captions when not the show's (the
    transcript and captions track are marked with it, for screen readers' voices)."""
    slug = episode.slug
    here = show.page_key(slug)

    def link(role: str) -> str | None:
        f = files.get(role)
        return relative(here, f.key) if f else None

    downloads = []
    for role, label in DOWNLOADS:
        for key in sorted(r for r in files if r == role or r.startswith(role + ":")):
            lang = key.partition(":")[2]
            name = LANGUAGE_NAMES.get(lang, lang)
            downloads.append(
                {
                    "href": relative(here, files[key].key),
                    "label": f"{label}, {name}" if lang else label,
                    "size": _size(files[key].size),
                }
            )
    speech = speech_language or show.language
    common = {
        "show": show,
        "episode": episode,
        "lang": show.language,
        "speech_lang": speech,
        "language_name": LANGUAGE_NAMES.get(speech.split("-")[0], speech),
        # every page sits beside the first in episodes/, so one set of links serves all
        "show_href": relative(here, show.site_key),
        "iso": episode.published.isoformat(),
        "date": _date(episode.published),
        "length": _length(duration),
        "video": link("video"),
        "poster": link("poster"),
        "audio": link("audio"),
        "vtt": link("captions-vtt"),
        "media": link("video") or link("audio") or "",
        "chapters": [
            {"t": _seconds(c.start), "clock": clock(c.start), "title": c.title} for c in chapters
        ],
        "credits": _credits(credits),
        "downloads": downloads,
    }
    budget = budget or defaults.PAGE_BUDGET_BYTES  # read now: a test may set it lower
    every = page_cues(cues, words)
    count = 1
    while True:
        runs = _split(every, count)
        out = _render_parts(show, slug, common, runs)
        largest = max(len(f.data) for f in out if f.role.startswith("page:") or f.role == "page")
        if largest <= budget or count >= len(every):
            return out
        # more parts, about as many more as the largest page is over the budget
        count = max(count + 1, min(len(every), -(-count * largest // budget)))


def _render_parts(
    show: Show, slug: str, common: dict[str, object], runs: list[list[PageCue]]
) -> list[PageFile]:
    here = show.page_key(slug)
    parts = [
        {
            "n": n,
            "href": relative(here, show.page_key(slug, n)),
            "first": run[0].clock if run else "",
            "last": run[-1].clock if run else "",
        }
        for n, run in enumerate(runs, 1)
    ]
    out: list[PageFile] = []
    for n, run in enumerate(runs, 1):
        suffix = "" if n == 1 else f":{n}"
        words = _words_file(show, slug, "page-words" + suffix, run)
        template = "episode.html.j2" if n == 1 else "part.html.j2"
        html = (
            _environment()
            .get_template(template)
            .render(
                **common,
                cues=run,
                part=n,
                parts=parts if len(runs) > 1 else [],
                page_href=relative(here, here),
                words_href=relative(here, words.key) if words else None,
            )
        )
        out.append(PageFile("page" + suffix, show.page_key(slug, n), html.encode(), _PAGE_TYPE))
        if words:
            out.append(words)
    return out


# Links that open the feed in common podcast apps (nothing is fetched until one is chosen).
def _apps(feed_url: str) -> list[tuple[str, str]]:
    bare = feed_url.split("://", 1)[-1]
    return [
        ("Apple Podcasts", f"podcast://{bare}"),
        ("Pocket Casts", f"pktc://subscribe/{bare}"),
        ("AntennaPod", f"antennapod-subscribe://{bare}"),
        ("Overcast", f"overcast://x-callback-url/add?url={quote(feed_url, safe='')}"),
        ("Podcast Addict", f"podcastaddict://{bare}"),
    ]


def show_page(
    show: Show, entries: Iterable[FeedEntry], artwork: PublishedFile, art_size: int = 1400
) -> str:
    """The show page (HTML), at ``show.site_key``: the artwork, what the show is, how to
    subscribe, and its episodes newest first, each linking to its page."""
    here = show.site_key
    ordered = sorted(entries, key=lambda e: (e.episode.published, e.episode.slug), reverse=True)
    episodes = [
        {
            "href": relative(here, show.page_key(e.episode.slug)),
            "title": e.episode.title,
            "number": e.episode.number,
            "iso": e.episode.published.isoformat(),
            "date": _date(e.episode.published),
            "length": _length(e.duration),
            "description": e.episode.description,
            "video": "video" in e.files,
        }
        for e in ordered
        if "page" in e.files
    ]
    return (
        _environment()
        .get_template("show.html.j2")
        .render(
            show=show,
            lang=show.language,
            artwork=relative(here, artwork.key),
            art_size=art_size,
            apps=_apps(show.feed_url),
            episodes=episodes,
        )
    )
