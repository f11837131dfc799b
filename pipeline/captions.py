"""captions: recording words mapped through the Timeline into episode time, then written out.

Words come from the transcription stage in each recording's own time. Only the
parts of a recording that the EDL keeps are captioned: a word belongs to a clip
when its midpoint lies inside the clip's source range, and it is shifted (and
clamped) into that clip's place in the episode. Re-editing an EDL re-maps the
same words through the new Timeline; nothing is re-transcribed.

Cues follow broadcast practice (limits in ``defaults``): at most two lines of 42
characters, about one to seven seconds each, a new cue after a sentence end or
a pause, and never a cue across a clip boundary or a chapter start.

All timing arithmetic in ``build_cues`` is done in whole milliseconds, so the
limits hold exactly in what the writers print.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from typing import Any

from . import defaults
from .records import Cue, Timeline, Transcript

SENTENCE_END = (".", "?", "!")
CLOSING = "\"')]}\u201d\u2019\u00bb"  # quotes and brackets that may follow a sentence end


@dataclass(frozen=True)
class EpisodeWord:
    """One word in episode time, with the index of the clip it was heard in."""

    start: float
    end: float
    text: str
    clip_index: int


# --------------------------------------------------------------------------- mapping


def map_words(timeline: Timeline, transcripts: dict[str, Transcript]) -> list[EpisodeWord]:
    """Every kept word of every clip, in episode time, clip by clip.

    A word is kept for a clip when its midpoint lies in ``[src_in, src_out)``;
    its times move by the clip's offset and are clamped into the clip. A
    recording used by several clips is mapped once per clip. A source with no
    transcript contributes nothing.
    """
    out: list[EpisodeWord] = []
    for index, clip in enumerate(timeline.clips):
        transcript = transcripts.get(clip.source)
        if transcript is None:
            continue
        offset = clip.start - clip.src_in
        kept: list[EpisodeWord] = []
        for word in transcript.words:
            text = " ".join(word.text.split())
            if not text:
                continue
            mid = (word.start + word.end) / 2
            if not clip.src_in <= mid < clip.src_out:
                continue
            start = _clamp(word.start + offset, clip.start, clip.end)
            end = _clamp(word.end + offset, start, clip.end)
            kept.append(EpisodeWord(start, end, text, index))
        kept.sort(key=lambda w: (w.start, w.end))
        out.extend(kept)
    return out


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


# --------------------------------------------------------------------------- cues


@dataclass(frozen=True)
class _MsWord:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Segment:
    """A stretch no cue may leave: one clip, between two chapter starts."""

    low: int
    high: int
    words: tuple[_MsWord, ...]


@dataclass(frozen=True)
class _RawCue:
    start: int
    end: int
    lines: tuple[str, ...]
    high: int  # end of the segment the cue belongs to


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def build_cues(words: list[EpisodeWord], timeline: Timeline) -> list[Cue]:
    """Group episode words into caption cues (time-ordered, never overlapping).

    ``words`` are what ``map_words`` returns for the same ``timeline``; each
    word's ``clip_index`` must index ``timeline.clips``.
    """
    raw: list[_RawCue] = []
    for segment in _segments(words, timeline):
        raw.extend(_segment_cues(segment))
    return _settle(raw)


def _segments(words: list[EpisodeWord], timeline: Timeline) -> list[_Segment]:
    chapter_starts = sorted({_ms(ch.start) for ch in timeline.chapters})
    grouped: dict[tuple[int, int], list[_MsWord]] = {}
    for word in words:
        clip = timeline.clips[word.clip_index]
        start, end = _ms(word.start), _ms(word.end)
        bucket = bisect.bisect_right(chapter_starts, (start + end) / 2)
        low, high = _bounds(_ms(clip.start), _ms(clip.end), chapter_starts, bucket)
        start = int(_clamp(start, low, high))
        end = int(_clamp(end, start, high))
        grouped.setdefault((word.clip_index, bucket), []).append(_MsWord(start, end, word.text))

    segments: list[_Segment] = []
    for (index, bucket), group in grouped.items():
        clip = timeline.clips[index]
        low, high = _bounds(_ms(clip.start), _ms(clip.end), chapter_starts, bucket)
        group.sort(key=lambda w: (w.start, w.end))
        segments.append(_Segment(low, high, tuple(group)))
    segments.sort(key=lambda s: (s.low, s.high))
    return segments


def _bounds(low: int, high: int, chapter_starts: list[int], bucket: int) -> tuple[int, int]:
    """The part of a clip between chapter start ``bucket - 1`` and ``bucket``."""
    if bucket > 0:
        low = max(low, chapter_starts[bucket - 1])
    if bucket < len(chapter_starts):
        high = min(high, chapter_starts[bucket])
    return low, max(low, high)


def _ends_sentence(text: str) -> bool:
    return text.rstrip(CLOSING).endswith(SENTENCE_END)


def _segment_cues(segment: _Segment) -> list[_RawCue]:
    max_ms = _ms(defaults.CAPTION_MAX_SECONDS)
    pause_ms = _ms(defaults.CAPTION_PAUSE_BREAK)
    cues: list[_RawCue] = []
    current: list[_MsWord] = []

    def flush() -> None:
        if current:
            lines = tuple(wrap([w.text for w in current]))
            end = max(w.end for w in current)
            cues.append(_RawCue(current[0].start, end, lines, segment.high))
            current.clear()

    for word in segment.words:
        if current:
            previous = current[-1]
            if (
                _ends_sentence(previous.text)
                or word.start - previous.end > pause_ms
                or word.end - current[0].start > max_ms
                or not fits([w.text for w in current] + [word.text])
            ):
                flush()
        current.append(word)
    flush()
    return cues


def _settle(raw: list[_RawCue]) -> list[Cue]:
    """Final times: no overlap, at most the maximum, extended towards the minimum."""
    max_ms = _ms(defaults.CAPTION_MAX_SECONDS)
    min_ms = _ms(defaults.CAPTION_MIN_SECONDS)
    cues: list[Cue] = []
    previous_end: int | None = None
    for i, cue in enumerate(raw):
        start = cue.start if previous_end is None else max(cue.start, previous_end)
        limit = cue.high
        if i + 1 < len(raw):
            limit = min(limit, raw[i + 1].start)
        end = min(max(cue.end, start), start + max_ms, limit)
        if end - start < min_ms:
            end = max(end, min(start + min_ms, limit))
        if end <= start:
            # Only words stacked at one instant end up here; a zero-length cue shows nothing.
            continue
        cues.append(Cue(start / 1000, end / 1000, "\n".join(cue.lines)))
        previous_end = end
    return cues


# --------------------------------------------------------------------------- wrapping


def _greedy(tokens: list[str], width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for token in tokens:
        if not line:
            line = token
        elif len(line) + 1 + len(token) <= width:
            line += " " + token
        else:
            lines.append(line)
            line = token
    if line:
        lines.append(line)
    return lines


def wrap(tokens: list[str], width: int = defaults.CAPTION_MAX_LINE) -> list[str]:
    """Lines of at most ``width`` characters, breaking only between words.

    One line when it fits; two lines are balanced (the break that makes the
    longer line shortest). A word longer than ``width`` gets a line of its own.
    """
    lines = _greedy(tokens, width)
    if len(lines) != 2:
        return lines
    best = lines
    best_longest = max(len(x) for x in lines)
    for k in range(1, len(tokens)):
        first, second = " ".join(tokens[:k]), " ".join(tokens[k:])
        ok = all(len(x) <= width or " " not in x for x in (first, second))
        longest = max(len(first), len(second))
        if ok and longest < best_longest:
            best, best_longest = [first, second], longest
    return best


def fits(tokens: list[str]) -> bool:
    """Whether these words fit in one cue's lines."""
    return len(_greedy(tokens, defaults.CAPTION_MAX_LINE)) <= defaults.CAPTION_MAX_LINES


# --------------------------------------------------------------------------- writers


def _timestamp(seconds: float, separator: str) -> str:
    total = max(0, _ms(seconds))
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _seconds(value: float) -> float:
    return round(value, 3)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(cues: list[Cue]) -> str:
    """WebVTT, with a ``<v Speaker>`` voice tag where a speaker is named."""
    blocks = ["WEBVTT"]
    for cue in cues:
        text = _escape(cue.text)
        if cue.speaker:
            text = f"<v {_escape(cue.speaker)}>{text}"
        times = f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}"
        blocks.append(f"{times}\n{text}")
    return "\n\n".join(blocks) + "\n"


def to_srt(cues: list[Cue]) -> str:
    """SubRip, numbered from 1; a named speaker is prefixed as ``Name: ``."""
    blocks: list[str] = []
    for number, cue in enumerate(cues, start=1):
        text = f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text
        times = f"{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}"
        blocks.append(f"{number}\n{times}\n{text}\n")
    return "\n".join(blocks)


def to_transcript_json(cues: list[Cue]) -> str:
    """Podcasting 2.0 JSON transcript (``application/json``)."""
    segments: list[dict[str, Any]] = []
    for cue in cues:
        segment: dict[str, Any] = {}
        if cue.speaker:
            segment["speaker"] = cue.speaker
        segment["startTime"] = _seconds(cue.start)
        segment["endTime"] = _seconds(cue.end)
        segment["body"] = " ".join(cue.text.split("\n"))
        segments.append(segment)
    return json.dumps({"version": "1.0.0", "segments": segments}, ensure_ascii=False, indent=1)


def to_chapters_json(timeline: Timeline, title_by_start: dict[float, str] | None = None) -> str:
    """Podcasting 2.0 JSON chapters from the Timeline's chapters, as the EDL set them.

    ``title_by_start`` overrides a chapter's title, keyed by its start time.
    """
    overrides = title_by_start or {}
    chapters = [
        {"startTime": _seconds(ch.start), "title": overrides.get(ch.start, ch.title)}
        for ch in timeline.chapters
    ]
    return json.dumps({"version": "1.2.0", "chapters": chapters}, ensure_ascii=False, indent=1)


def to_text(cues: list[Cue]) -> str:
    """Plain transcript: one cue per line."""
    lines: list[str] = []
    for cue in cues:
        body = " ".join(cue.text.split("\n"))
        lines.append(f"{cue.speaker}: {body}" if cue.speaker else body)
    return "\n".join(lines) + ("\n" if lines else "")


def render_all(timeline: Timeline, transcripts: dict[str, Transcript]) -> dict[str, str]:
    """Every caption output of one episode, by output role."""
    cues = build_cues(map_words(timeline, transcripts), timeline)
    out = {
        "captions-vtt": to_webvtt(cues),
        "captions-srt": to_srt(cues),
        "transcript-json": to_transcript_json(cues),
    }
    if timeline.chapters:
        out["chapters"] = to_chapters_json(timeline)
    return out


__all__ = [
    "EpisodeWord",
    "build_cues",
    "fits",
    "map_words",
    "render_all",
    "to_chapters_json",
    "to_srt",
    "to_text",
    "to_transcript_json",
    "to_webvtt",
    "wrap",
]
