"""Redactions hold everywhere, not only in the audio.

The audio is bleeped or silenced by render, and captions drop the words inside
redacted spans. A redaction may also say what was said (``text: Jordan``); then
that text is scrubbed from every free-text field the contributors wrote that is
published (``records.SCRUBBED``: the episode's title and description, chapter titles,
the soundbite title), and ``outgoing`` checks that it is in no published byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipeline.project.text import whole_words
from pipeline.records import SCRUBBED, Episode, Redaction, Timeline


def _said(redactions: Iterable[Redaction]) -> list[tuple[re.Pattern[str], str]]:
    """Each redaction's words and what is shown instead, the longest words first: "Sam
    Haddad" is scrubbed whole before "Sam" alone could leave "[name] Haddad"."""
    said = sorted(
        (r for r in redactions if r.text and r.text.strip()), key=lambda r: -len(r.text or "")
    )
    return [(whole_words(r.text or ""), r.replacement) for r in said]


def hide_said(text: str, redactions: Iterable[Redaction]) -> str:
    """``text`` with the words each redaction says replaced by what is shown instead, as
    a publish scrubs titles and the studio shows any text of the episode (one rule for
    both, ``project.text.whole_words``)."""
    for pattern, replacement in _said(redactions):
        text = pattern.sub(replacement, text)
    return text


def scrub(text: str, timeline: Timeline) -> str:
    return hide_said(text, timeline.redactions)


def apply(episode: Episode, timeline: Timeline) -> tuple[Episode, Timeline, list[str]]:
    """The episode and Timeline with redacted text scrubbed from every free-text field that
    is published (``records.SCRUBBED``, the one list of them), and notes saying where."""
    notes: list[str] = []
    if not _said(timeline.redactions):
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
