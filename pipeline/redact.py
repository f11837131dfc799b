"""Redactions hold everywhere, not only in the audio.

The audio is bleeped or silenced by render, and captions drop the words inside
redacted spans. A redaction may also say what was said (``text: Jordan``); then
that text is scrubbed from every published word the contributors or the
pipeline wrote: chapter titles, the episode's title and description, tags.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .records import Chapter, Episode, Timeline


def _terms(timeline: Timeline) -> list[tuple[re.Pattern[str], str]]:
    terms = []
    for r in timeline.redactions:
        if r.text and r.text.strip():
            pattern = re.compile(r"(?<!\w)" + re.escape(r.text.strip()) + r"(?!\w)", re.I)
            terms.append((pattern, r.replacement))
    return terms


def scrub(text: str, timeline: Timeline) -> str:
    for pattern, replacement in _terms(timeline):
        text = pattern.sub(replacement, text)
    return text


def apply(episode: Episode, timeline: Timeline) -> tuple[Episode, Timeline, list[str]]:
    """The episode and Timeline with redacted text scrubbed, and notes saying where."""
    notes: list[str] = []
    if not _terms(timeline):
        return episode, timeline, notes
    chapters: list[Chapter] = []
    for i, chapter in enumerate(timeline.chapters, 1):
        title = scrub(chapter.title, timeline)
        if title != chapter.title:
            notes.append(f"redacted text was removed from chapter {i}'s title")
        chapters.append(replace(chapter, title=title))
    title = scrub(episode.title, timeline)
    description = scrub(episode.description, timeline)
    if title != episode.title:
        notes.append("redacted text was removed from the episode title")
    if description != episode.description:
        notes.append("redacted text was removed from the episode description")
    return (
        replace(episode, title=title, description=description),
        replace(timeline, chapters=tuple(chapters)),
        notes,
    )
