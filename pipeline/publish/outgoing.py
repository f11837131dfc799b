"""Every text that leaves the machine, in one list, and the rules that hold over all of it.

A redaction's ``text:`` must be published nowhere, and a person must be named nowhere
except as they asked (``credit:`` in the people file; nothing at all once they have
withdrawn). Those rules are applied through this module, so that a new field cannot be
forgotten:

- ``records.SCRUBBED`` lists every free-text field the contributors write that storycast
  publishes (episode title and description, chapter titles, the soundbite title). The
  redaction scrub (``redact.apply``) rewrites exactly these.
- ``episode_texts`` and ``show_texts`` list every text that goes out with an episode:
  the fields above, the episode's folder name (it is in every address), credited names
  and speaker names, redaction replacement texts, and the show file's texts (they go into
  the feed and every MP3's tags).
- ``published_texts`` reads back what a published file says, the way its readers would:
  caption and transcript formats decoded (entities, JSON escapes), ID3 frames decoded
  from UTF-16 or Latin-1, feeds and pages parsed; and, for any file, its raw bytes outside
  coded media in UTF-8 and UTF-16.
- ``check_texts`` and ``check_file`` find any forbidden term in those, with word edges
  and however it is typed (case, Unicode form, invisible characters, look-alike letters,
  no-break spaces, character references, tags inside it: ``project.text.fold``), and say
  where, without repeating the term itself.

The same checks run on the feeds and the manifest before they are written
(``guard``), and ``storycast audit`` runs them over everything that is published.
"""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.project.ledger import Publication
from pipeline.project.text import fold, readings, whole_words
from pipeline.publish.manifest import url_episode
from pipeline.records import SCRUBBED, Episode, EpisodeJob, Person, Show, Timeline

FOLDER_NAME = "the episode's folder name (in every address)"


@dataclass(frozen=True)
class Text:
    """One text that goes out, and where it was written (for messages)."""

    field: str
    text: str
    path: Path | None = None
    line: int | None = None


def episode_texts(
    episode: Episode,
    timeline: Timeline,
    credits: Iterable[str] = (),
    speakers: Iterable[str] = (),
) -> list[Text]:
    """Everything of one episode that is published as text, besides its captions."""
    where = episode.folder / "episode.yaml"
    texts = [
        Text(f.name, value, where)
        for f in SCRUBBED
        if f.name != "chapter titles"
        for value in f.get(episode, timeline)
    ]
    for chapter in timeline.chapters:  # with the EDL line, for messages
        texts.append(Text("a chapter title", chapter.title, timeline.edl_path, chapter.line))
    texts.append(Text(FOLDER_NAME, episode.slug, where))
    texts += [
        Text("a redaction's replacement text", r.replacement, timeline.edl_path, r.line)
        for r in timeline.redactions
    ]
    texts += [Text("a credited name", name) for name in credits]
    texts += [Text("a speaker's name in the captions", name) for name in speakers]
    return texts


def show_texts(show: Show) -> list[Text]:
    """The show file's texts: they go into the feed and into every MP3's tags."""
    values = [
        ("the show title", show.title),
        ("the show description", show.description),
        ("the show's author", show.author),
        ("the show owner's name", show.owner_name),
        ("the show owner's email", show.owner_email),
        ("the copyright line", show.copyright or ""),
        ("the show's link", show.link),
        ("the video feed title", show.video_feed_title or ""),
        ("the artwork's alt text", show.artwork_alt),
        ("the license", show.license.name if show.license else ""),
        ("how often episodes come", show.update_frequency.text if show.update_frequency else ""),
    ]
    values += [("a podcast:txt text", t.text) for t in show.txt]
    values += [("a funding link's text", f.text) for f in show.funding]
    return [Text(name, value, show.path) for name, value in values if value]


# --- what must not be published ---------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A text that must appear nowhere, and why (said without repeating it)."""

    text: str
    why: str

    def pattern(self) -> re.Pattern[str]:
        """The term as a reader would see it (``text.fold``), with word edges; search
        ``text.readings`` of a text with it, never the raw text."""
        return whole_words(fold(self.text))

    def found_in(self, text: str) -> bool:
        """Whether ``text`` says the term, however it is typed: another Unicode form
        (NFD), invisible characters inside it, look-alike letters, no-break spaces,
        character references or tags (``text.fold``)."""
        pattern = self.pattern()
        return any(pattern.search(r) for r in readings(text))


def redaction_terms(timeline: Timeline) -> list[Term]:
    return [
        Term(
            r.text, f"the redacted text of the redaction at {timeline.edl_path.name} line {r.line}"
        )
        for r in timeline.redactions
        if r.text and r.text.strip()
    ]


def name_terms(people: Iterable[Person], withdrawn: Iterable[str] = ()) -> list[Term]:
    """Names storycast must never publish: a real name not credited by name, a pseudonym
    of someone credited by nothing, and every name of someone who withdrew."""
    gone = set(withdrawn)
    terms: list[Term] = []
    for p in people:
        where = f"people.yaml line {p.line}" if p.line else "the people file"
        names: list[tuple[str, str]] = []
        if p.name and (p.credit != "name" or p.id in gone or p.withdrawn):
            names.append((p.name, "a name the person asked not to be published"))
        if p.pseudonym and (p.credit == "none" or p.id in gone or p.withdrawn):
            names.append((p.pseudonym, "a pseudonym the person asked not to be published"))
        terms += [Term(n, f"{why} ({where})") for n, why in names if n.strip()]
    # a name that is someone else's published credit is not forbidden by this rule
    credited = {fold(p.credited_as).strip() for p in people if p.credited_as and p.id not in gone}
    return [t for t in terms if fold(t.text).strip() not in credited]


@dataclass(frozen=True)
class Finding:
    where: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"


def check_texts(texts: Iterable[Text], terms: list[Term]) -> list[Finding]:
    found: list[Finding] = []
    patterns = [(t, t.pattern()) for t in terms]
    for text in texts:
        seen = readings(text.text)
        for term, pattern in patterns:
            if any(pattern.search(r) for r in seen):
                at = f"{text.path}:{text.line}" if text.path and text.line else str(text.path or "")
                found.append(Finding(f"{text.field}" + (f" ({at})" if at else ""), term.why))
    return found


# --- reading back what a file says ------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _xml_strings(data: bytes) -> Iterator[str]:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return
    if root is None:
        return
    for el in root.iter():
        if isinstance(el.tag, str):
            yield el.text or ""
            yield el.tail or ""
            yield from (str(v) for v in el.attrib.values())


def _id3_strings(path: Path) -> Iterator[str]:
    from mutagen.id3 import ID3, ID3NoHeaderError

    try:
        tags = ID3(path)  # type: ignore[no-untyped-call]
    except (ID3NoHeaderError, OSError, ValueError):
        return

    def frame_texts(frame: Any) -> Iterator[str]:
        for attr in ("text", "desc", "url", "element_id", "child_element_ids", "mime"):
            value = getattr(frame, attr, None)
            if isinstance(value, str):
                yield value
            elif isinstance(value, list):
                yield from (str(v) for v in value)
        for sub in (
            getattr(frame, "sub_frames", {}).values() if hasattr(frame, "sub_frames") else ()
        ):
            yield from frame_texts(sub)

    for frame in tags.values():  # type: ignore[no-untyped-call]
        yield from frame_texts(frame)


def published_texts(path: Path, data: bytes | None = None) -> Iterator[str]:
    """What a published file says, decoded as its readers decode it, then its raw bytes
    outside coded media in UTF-8 and UTF-16 (for anything no reader above knows)."""
    from pipeline.media.scrub import metadata_bytes

    name = path.name.lower()
    raw = data if data is not None else path.read_bytes()
    if name.endswith((".vtt", ".srt", ".txt")):
        yield html.unescape(raw.decode("utf-8", "replace"))
    elif name.endswith(".json"):
        try:
            yield from _strings(json.loads(raw))
        except ValueError:
            yield raw.decode("utf-8", "replace")
    elif name.endswith((".xml", ".html", ".htm", ".rss")):
        yield from _xml_strings(raw)
        yield html.unescape(raw.decode("utf-8", "replace"))
    elif name.endswith(".mp3"):
        yield from _id3_strings(path)
    if name.endswith((".mp3", ".mp4", ".m4a", ".jpg", ".jpeg", ".png")):
        chunk = metadata_bytes(path)
    else:
        chunk = raw
    for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
        yield chunk.decode(encoding, "replace")


def check_file(
    path: Path, terms: list[Term], label: str = "", data: bytes | None = None
) -> list[Finding]:
    """Each forbidden term found in what the file says (once per term)."""
    if not terms:
        return []
    found: dict[str, Finding] = {}
    patterns = [(t, t.pattern()) for t in terms]
    for text in published_texts(path, data):
        seen = readings(text)
        for term, pattern in patterns:
            if term.text not in found and any(pattern.search(r) for r in seen):
                found[term.text] = Finding(label or path.name, term.why)
    return list(found.values())


def check_feed(
    data: bytes,
    everywhere: list[Term],
    by_episode: dict[str, list[Term]],
    show: Show,
) -> list[str]:
    """A feed read as an app reads it: ``everywhere`` terms in any of it; each episode's own
    terms (its redacted texts) in its item, and in what the feed says of the show, which
    goes with every episode (an item is an episode's by the addresses of its files).

    A redaction holds for its episode: a word one episode's contributors redacted may
    still be another episode's credit, if that person chose it."""
    from lxml import etree

    found = [f.why for f in check_file(Path("feed.xml"), everywhere, data=data)]
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return found
    channel = copy.deepcopy(root)
    for item in list(channel.iter("item")):
        parent = item.getparent()
        if parent is not None:
            parent.remove(item)
    every_episode = [t for terms in by_episode.values() for t in terms]
    found += [
        f.why for f in check_file(Path("show.xml"), every_episode, data=etree.tostring(channel))
    ]
    for item in root.iter("item"):
        urls = [str(v) for el in item.iter() for v in el.attrib.values()]
        slugs = {s for u in urls if (s := url_episode(show, u))}
        terms = [t for s in slugs for t in by_episode.get(s, [])]
        text = etree.tostring(item)
        found += [f.why for f in check_file(Path("item.xml"), terms, data=text)]
    return found


def guard(
    show: Show,
    names: list[Term],
    jobs: list[EpisodeJob],
    published: dict[str, Publication],
) -> Callable[[str, bytes], list[str]]:
    """What the feeds and the manifest must not say: ``names`` (``name_terms``) anywhere,
    and each episode's redacted texts (as published before, or as now) in what they say
    of that episode. For ``apply.publish``'s ``guard``."""
    by_episode: dict[str, list[Term]] = {}
    for slug, pub in published.items():
        by_episode[slug] = [Term(t, f"a redacted text of {slug}") for t in pub.redactions]
    for job in jobs:
        if job.timeline is not None:
            by_episode.setdefault(job.slug, []).extend(
                replace(t, why=f"a redacted text of {job.slug}")
                for t in redaction_terms(job.timeline)
            )

    def check(key: str, data: bytes) -> list[str]:
        if key.endswith(".xml"):
            return check_feed(data, names, by_episode, show)
        found = [f.why for f in check_file(Path(key), names, key, data)]
        try:
            episodes = json.loads(data)
        except ValueError:
            return found
        for slug, record in episodes.items() if isinstance(episodes, dict) else ():
            own = json.dumps(record).encode()
            found += [f.why for f in check_file(Path(key), by_episode.get(slug, []), key, own)]
        return found

    return check
