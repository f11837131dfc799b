"""Redactions hold everywhere, not only in the audio.

The audio is bleeped or silenced by render, and captions drop the words inside
redacted spans. A redaction may also say what was said (``text: Jordan``); then
that text is scrubbed from every free-text field the contributors wrote that is
published (``records.SCRUBBED``: the episode's title and description, chapter titles,
the soundbite title), and ``outgoing`` checks that it is in no published byte.
"""

from __future__ import annotations

import re

from pipeline.records import SCRUBBED, Episode, Timeline


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
    """The episode and Timeline with redacted text scrubbed from every free-text field that
    is published (``records.SCRUBBED``, the one list of them), and notes saying where."""
    notes: list[str] = []
    if not _terms(timeline):
        return episode, timeline, notes
    for field in SCRUBBED:
        values = field.get(episode, timeline)
        scrubbed = [scrub(v, timeline) for v in values]
        for i, (old, new) in enumerate(zip(values, scrubbed, strict=True), 1):
            if old != new:
                which = f"chapter {i}'s title" if field.name == "chapter titles" else field.name
                notes.append(f"redacted text was removed from {which}")
        if scrubbed != values:
            episode, timeline = field.put(episode, timeline, scrubbed)
    return episode, timeline, notes
