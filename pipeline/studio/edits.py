"""What the studio page edits, and the native YAML EDL it saves.

The page shows the episode as *parts*: each part is one kept range of one recording (a
clip of the EDL), shown as the words spoken in it. Contributors cut words (or whole
sentences, or whole parts), put parts in another order, hide words (a redaction), start
chapters at words and choose the soundbite. ``decisions`` reads what the page sends;
``to_yaml`` writes it as an ordinary EDL that ``edl.yaml_edl`` reads back to exactly
those decisions.

Cuts are made at word edges and moved into the pause between words (half way through
it), so no word is clipped. A cut edge that would fall inside a hidden (redacted) part is
refused: the hidden words go together or not at all.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pipeline.records import Chapter, Redaction, Timeline, Transcript, Word

# A kept piece shorter than this (after cuts) is dropped: it could hold no word.
MIN_PIECE = 0.05
# How many words a clip's comment quotes from its start and from its end.
QUOTE_HEAD = 8
QUOTE_TAIL = 4


class EditError(ValueError):
    """A save the studio refuses, in plain words for the page."""


@dataclass(frozen=True)
class Piece:
    """One clip to write: a kept range of one recording."""

    source: str
    start: float
    end: float
    fade_in: float = 0.0
    fade_out: float = 0.0


@dataclass(frozen=True)
class Anchor:
    """A point in one recording (a word's start), placed in the episode when saved."""

    source: str
    at: float


@dataclass(frozen=True)
class Decisions:
    pieces: tuple[Piece, ...]
    chapters: tuple[tuple[Anchor, str], ...]
    redactions: tuple[Redaction, ...]
    soundbite: tuple[Anchor, Anchor, str | None] | None  # start word, end of last word, title
    notes: str | None = None


def _num(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EditError(f"{what} is not a time in seconds.")
    if value != value or value < 0 or value > 1e7:
        raise EditError(f"{what} is not a time in seconds.")
    return float(value)


def _text(value: Any, what: str, limit: int = 300) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise EditError(f"{what} must be words (at most {limit} letters).")
    return " ".join(value.split())


def _source(value: Any, sources: set[str]) -> str:
    if not isinstance(value, str) or value not in sources:
        raise EditError(f"`{value}` is not one of this episode's recordings.")
    return value


# Each transcript's word middles in order, so a part's words are found by bisection, not
# by reading every word of a long recording once per part (a 30-minute recording in 66
# parts: 0.11 s of a page's 0.13 s). Keyed by the words' identity; the words are kept with
# their index so the identity is never reused while it is here.
_MIDDLES: dict[int, tuple[tuple[Word, ...], list[float], list[int]]] = {}
_MIDDLES_KEPT = 16


def _middles(words: tuple[Word, ...]) -> tuple[list[float], list[int]]:
    found = _MIDDLES.get(id(words))
    if found is None or found[0] is not words:
        order = sorted(range(len(words)), key=lambda i: words[i].start + words[i].end)
        found = (words, [(words[i].start + words[i].end) / 2 for i in order], order)
        if len(_MIDDLES) >= _MIDDLES_KEPT:
            _MIDDLES.pop(next(iter(_MIDDLES)))
        _MIDDLES[id(words)] = found
    return found[1], found[2]


def words_in(words: tuple[Word, ...], start: float, end: float) -> list[Word]:
    """The words whose middle is inside [start, end], in the transcript's order."""
    middles, order = _middles(words)
    lo, hi = bisect.bisect_left(middles, start), bisect.bisect_right(middles, end)
    return [words[i] for i in sorted(order[lo:hi])]


def _kept(
    part_in: float, part_out: float, cuts: list[tuple[float, float]], words: list[Word]
) -> list[tuple[float, float]]:
    """[part_in, part_out] without the cut ranges; a cut word's range is widened to the
    middle of the pauses either side of it (to the part's edge for its first/last word)."""
    wide: list[tuple[float, float]] = []
    for a, b in cuts:
        lo, hi = max(a, part_in), min(b, part_out)
        if hi <= lo:
            continue
        inside = [i for i, w in enumerate(words) if lo - 1e-6 <= w.start and w.end <= hi + 1e-6]
        if inside:  # a cut of whole words: into the pauses around them
            first, last = inside[0], inside[-1]
            lo = part_in if first == 0 else (words[first - 1].end + words[first].start) / 2
            hi = (
                part_out
                if last == len(words) - 1
                else (words[last].end + words[last + 1].start) / 2
            )
            lo, hi = min(lo, max(a, part_in)), max(hi, min(b, part_out))
        wide.append((lo, hi))
    wide.sort()
    kept: list[tuple[float, float]] = []
    at = part_in
    for lo, hi in wide:
        if lo > at:
            kept.append((at, lo))
        at = max(at, hi)
    if part_out > at:
        kept.append((at, part_out))
    return [(round(a, 3), round(b, 3)) for a, b in kept if b - a >= MIN_PIECE]


def decisions(
    data: Any, transcripts: dict[str, Transcript], durations: dict[str, float]
) -> Decisions:
    """What the page sent, checked and turned into clips, chapters, hidden parts and the
    soundbite. Raises ``EditError`` with a sentence for the page."""
    if not isinstance(data, dict):
        raise EditError("The page sent something storycast cannot read. Reload the page.")
    sources = set(durations)
    parts = data.get("parts")
    if not isinstance(parts, list):
        raise EditError("The page sent no parts. Reload the page.")
    redactions: list[Redaction] = []
    for n, r in enumerate(data.get("redactions") or [], 1):
        if not isinstance(r, dict):
            raise EditError(f"Hidden part {n} cannot be read.")
        source = _source(r.get("source"), sources)
        a, b = _num(r.get("in"), f"Hidden part {n}'s start"), _num(r.get("out"), "its end")
        if b <= a:
            raise EditError(f"Hidden part {n} ends before it starts.")
        mode: Literal["bleep", "silence"] = "silence" if r.get("mode") == "silence" else "bleep"
        replacement = _text(r.get("replace_with") or "[removed]", "The words shown instead")
        said = _text(r.get("text") or "", "The words to remove everywhere") or None
        redactions.append(Redaction(source, a, b, mode, replacement or "[removed]", None, said))
    pieces: list[Piece] = []
    for n, part in enumerate(parts, 1):
        if not isinstance(part, dict):
            raise EditError(f"Part {n} cannot be read.")
        source = _source(part.get("source"), sources)
        p_in, p_out = _num(part.get("in"), f"Part {n}'s start"), _num(part.get("out"), "its end")
        if p_out <= p_in or p_out > durations[source] + 0.001:
            raise EditError(f"Part {n} does not fit in {source}.")
        cuts = [
            (_num(c[0], "a cut"), _num(c[1], "a cut"))
            for c in part.get("cut") or []
            if isinstance(c, list) and len(c) == 2
        ]
        words = words_in(transcripts[source].words, p_in, p_out) if source in transcripts else []
        kept = _kept(p_in, p_out, cuts, words)
        fade_in = _num(part.get("fade_in") or 0, "a fade")
        fade_out = _num(part.get("fade_out") or 0, "a fade")
        for i, (a, b) in enumerate(kept):
            f_in = fade_in if i == 0 and a == round(p_in, 3) else 0.0
            f_out = fade_out if i == len(kept) - 1 and b == round(p_out, 3) else 0.0
            if f_in + f_out > b - a:
                f_in = f_out = 0.0
            pieces.append(Piece(source, a, b, f_in, f_out))
    if not pieces:
        raise EditError(
            "Nothing would be left to hear: every part is cut. Keep at least one part "
            "before saving."
        )
    for piece in pieces:
        for r in redactions:
            if r.source != piece.source:
                continue
            for edge in (piece.start, piece.end):
                if r.start + 1e-6 < edge < r.end - 1e-6:
                    raise EditError(
                        f"A cut falls inside a hidden part of {r.source} (the words shown as "
                        f"{r.replacement!r}, {r.start:.1f} to {r.end:.1f} seconds). Keep or cut "
                        "all of the hidden words together."
                    )
    chapters: list[tuple[Anchor, str]] = []
    for n, ch in enumerate(data.get("chapters") or [], 1):
        if not isinstance(ch, dict):
            raise EditError(f"Chapter {n} cannot be read.")
        title = _text(ch.get("title"), f"Chapter {n}'s name", 120)
        if not title:
            raise EditError(f"Chapter {n} needs a name.")
        anchor = Anchor(_source(ch.get("source"), sources), _num(ch.get("at"), "a chapter"))
        chapters.append((anchor, title))
    bite = data.get("soundbite")
    soundbite = None
    if isinstance(bite, dict):
        start = Anchor(_source(bite.get("source"), sources), _num(bite.get("at"), "its start"))
        end = Anchor(
            _source(bite.get("end_source", start.source), sources), _num(bite.get("end"), "end")
        )
        named = _text(bite.get("title") or "", "The short preview's name", 120) or None
        soundbite = (start, end, named)
    notes = data.get("notes") if isinstance(data.get("notes"), str) else None
    return Decisions(tuple(pieces), tuple(chapters), tuple(redactions), soundbite, notes)


def episode_time(pieces: tuple[Piece, ...], anchor: Anchor) -> float | None:
    """Where a point of a recording is heard in the episode (None: it is cut)."""
    t = 0.0
    for p in pieces:
        if p.source == anchor.source and p.start - 1e-6 <= anchor.at <= p.end + 1e-6:
            return round(t + max(0.0, anchor.at - p.start), 3)
        t += p.end - p.start
    return None


def _seconds(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _quote(words: list[Word], redactions: tuple[Redaction, ...], source: str) -> str:
    shown: list[str] = []
    hidden: set[int] = set()
    for w in words:
        mid = (w.start + w.end) / 2
        r = next((x for x in redactions if x.source == source and x.start <= mid <= x.end), None)
        if r is None:
            shown.append(w.text.strip())
        elif id(r) not in hidden:
            hidden.add(id(r))
            shown.append(r.replacement)
    if len(shown) > QUOTE_HEAD + QUOTE_TAIL + 1:
        shown = [*shown[:QUOTE_HEAD], "...", *shown[-QUOTE_TAIL:]]
    text = " ".join(shown).replace("\n", " ").replace("\r", " ")
    return text or "(no words: a pause or music)"


def to_yaml(d: Decisions, transcripts: dict[str, Transcript], made_from: str) -> str:
    """The decisions as the native YAML EDL, each clip with a comment quoting its words.
    Raises ``EditError`` for a chapter or soundbite at a word that is cut."""
    s = json.dumps  # a JSON string is a YAML string: quotes, colons and # stay text
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Saved in the storycast studio on {stamp} (from {made_from}).",
        "# An ordinary storycast EDL: it may be edited by hand. Times are in seconds",
        "# in each recording; chapter and soundbite times count from the episode's start.",
        "clips:",
    ]
    for p in d.pieces:
        words = (
            words_in(transcripts[p.source].words, p.start, p.end) if p.source in transcripts else []
        )
        lines.append(f"  - source: {s(p.source, ensure_ascii=False)}")
        lines.append(f"    # {s(_quote(words, d.redactions, p.source), ensure_ascii=False)}")
        lines.append(f"    in: {_seconds(p.start)}")
        lines.append(f"    out: {_seconds(p.end)}")
        if p.fade_in:
            lines.append(f"    fade_in: {_seconds(p.fade_in)}")
        if p.fade_out:
            lines.append(f"    fade_out: {_seconds(p.fade_out)}")
    placed: list[tuple[float, str]] = []
    for anchor, title in d.chapters:
        at = episode_time(d.pieces, anchor)
        if at is None:
            raise EditError(f"The chapter {title!r} starts at a word that is cut. Move it.")
        placed.append((at, title))
    placed.sort()
    for (a, x), (b, y) in zip(placed, placed[1:], strict=False):
        if b <= a:
            raise EditError(f"The chapters {x!r} and {y!r} start at the same place.")
    if placed:
        lines.append("chapters:")
        for at, title in placed:
            lines.append(f"  - at: {_seconds(at)}")
            lines.append(f"    title: {s(title, ensure_ascii=False)}")
    if d.redactions:
        lines.append("redactions:")
        for r in d.redactions:
            lines.append(f"  - source: {s(r.source, ensure_ascii=False)}")
            lines.append(f"    in: {_seconds(r.start)}")
            lines.append(f"    out: {_seconds(r.end)}")
            lines.append(f"    mode: {r.mode}")
            lines.append(f"    replace_with: {s(r.replacement, ensure_ascii=False)}")
            if r.text:
                lines.append(f"    text: {s(r.text, ensure_ascii=False)}")
    if d.soundbite is not None:
        first, last, bite_title = d.soundbite
        bite_in, bite_out = episode_time(d.pieces, first), episode_time(d.pieces, last)
        if bite_in is None or bite_out is None or bite_out <= bite_in:
            raise EditError(
                "The short preview must start and end at words that are kept, end after it "
                "starts, and be in the episode's order. Choose it again."
            )
        lines.append("soundbite:")
        lines.append(f"  at: {_seconds(bite_in)}")
        lines.append(f"  duration: {_seconds(bite_out - bite_in)}")
        if bite_title:
            lines.append(f"  title: {s(bite_title, ensure_ascii=False)}")
    if d.notes:
        lines.append(f"notes: {s(d.notes, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def source_point(timeline: Timeline, at: float, *, end: bool = False) -> Anchor | None:
    """The recording and time heard at episode time ``at`` (``end``: the time is where
    something ends, so a time between two clips belongs to the first)."""
    for c in timeline.clips:
        inside = (
            (c.start + 1e-6 < at <= c.end + 1e-6) if end else (c.start - 1e-6 <= at < c.end - 1e-6)
        )
        if inside:
            return Anchor(c.source, round(c.src_in + (at - c.start), 3))
    if timeline.clips and abs(at - timeline.duration) < 1e-6:
        last = timeline.clips[-1]
        return Anchor(last.source, last.src_out)
    return None


def chapter_anchors(timeline: Timeline) -> list[tuple[Anchor, Chapter]]:
    found = []
    for ch in timeline.chapters:
        anchor = source_point(timeline, ch.start)
        if anchor is not None:
            found.append((anchor, ch))
    return found


def page_data(timeline: Timeline) -> dict[str, Any]:
    """The Timeline as the page sends it back: parts, chapters and the soundbite at words."""
    bite: dict[str, Any] | None = None
    if timeline.soundbite is not None:
        first = source_point(timeline, timeline.soundbite.start)
        last = source_point(
            timeline, timeline.soundbite.start + timeline.soundbite.duration, end=True
        )
        if first and last:
            bite = {
                "source": first.source,
                "at": first.at,
                "end_source": last.source,
                "end": last.at,
                "title": timeline.soundbite.title or "",
            }
    return {
        "base": timeline.edl_sha256,
        "parts": [
            {
                "source": c.source,
                "in": c.src_in,
                "out": c.src_out,
                "fade_in": c.fade_in,
                "fade_out": c.fade_out,
                "cut": [],
            }
            for c in timeline.clips
        ],
        "chapters": [
            {"source": a.source, "at": a.at, "title": ch.title}
            for a, ch in chapter_anchors(timeline)
        ],
        "redactions": [
            {
                "source": r.source,
                "in": r.start,
                "out": r.end,
                "mode": r.mode,
                "replace_with": r.replacement,
                "text": r.text or "",
            }
            for r in timeline.redactions
        ],
        "soundbite": bite,
    }


def with_idea(timeline: Timeline, idea: Any) -> dict[str, Any]:
    """The page data with one accepted suggestion: a quiet gap cut, a retake's first try
    cut (whole words: ``decisions`` moves the cut into the pauses around them), or a
    chapter added."""
    data = page_data(timeline)
    if not isinstance(idea, dict):
        raise EditError("That idea cannot be read. Reload the page.")
    if idea.get("kind") == "retake":
        source = idea.get("source")
        a, b = _num(idea.get("in"), "the first try's start"), _num(idea.get("out"), "its end")
        for part in data["parts"]:
            if part["source"] == source and part["in"] <= a < b < part["out"]:
                part["cut"].append([a, b])
                return data
        raise EditError("Those words are no longer in the episode.")
    if idea.get("kind") == "quiet":
        source = idea.get("source")
        a, b = _num(idea.get("in"), "the gap's start"), _num(idea.get("out"), "the gap's end")
        for part in data["parts"]:
            if part["source"] == source and part["in"] < a < b < part["out"]:
                part["cut"].append([a, b])
                return data
        raise EditError("That quiet gap is no longer in the episode.")
    if idea.get("kind") == "chapter":
        data["chapters"].append(
            {"source": idea.get("source"), "at": idea.get("at"), "title": idea.get("title")}
        )
        return data
    raise EditError("That idea cannot be read. Reload the page.")


# The same checks for the page's other save (a word's spelling, see studio.server).
seconds = _num
plain_text = _text
seconds_text = _seconds
