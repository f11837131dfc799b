"""captions: recording words mapped through the Timeline into episode time, then written out.

Words come from the transcription stage in each recording's own time. Only the
parts of a recording that the EDL keeps are captioned: a word belongs to a clip
when its midpoint lies inside the clip's source range, and it is shifted (and
clamped) into that clip's place in the episode. Re-editing an EDL re-maps the
same words through the new Timeline; nothing is re-transcribed.

A redaction holds here too: every word that overlaps a redacted span (in
episode time, from ``Timeline.redacted_spans``) is dropped and the span is
shown as one token, the redaction's ``replacement`` text (``[name removed]``),
in every format written from the cues.

Cues follow broadcast practice (limits in ``defaults``): at most two lines of 42
characters, about one to seven seconds each, at most 20 characters a second
where the following silence allows (the cue stays up longer), a new cue after a
sentence end or a pause, an overlong cue split after a clause (comma) where it
can be, and never a cue across a clip boundary or a chapter start.

Speakers: ``speakers`` maps a recording name (as clips name it) to the name a
speaker is credited by; the phone case is one recording per speaker. Only
speakers who consented to be named belong in it (that mapping is made from the
people file by the caller); everyone else's cues carry no voice tag.

All timing arithmetic in ``build_cues`` is done in whole milliseconds, so the
limits hold exactly in what the writers print.

Text that could break a format. Speaker names (credited names from the people
file), redaction replacement text, chapter titles, corrected words and
transcribed words can hold anything. ``clean_text`` makes each of them one line
of text before it is used, in ``map_words``, ``redact_words`` and ``build_cues``
and again in every writer (so a ``Cue`` made by hand is safe too):

- line breaks and other control characters (C0, DEL, C1, U+2028, U+2029) become
  a space, and runs of spaces one space; a cue keeps only its own line breaks
  (between its wrapped lines), and a line left empty is dropped, so no
  cue ever holds a blank line (which would end it) and a cue with no text left
  is not written;
- bidirectional embedding, override and isolate controls (U+202A to U+202E,
  U+2066 to U+2069) are removed: one left open reorders the text after it, so a
  name could make the words that follow it read backwards. The marks LRM, RLM
  and ALM, which change no other text, are kept, as are emoji and every letter;
- a lone surrogate (possible in a transcript read from JSON) becomes U+FFFD, as
  it cannot be written as UTF-8.

Then each writer escapes what its format needs:

- WebVTT: ``&``, ``<`` and ``>`` in cue text are written as ``&amp;``, ``&lt;``
  and ``&gt;``, so no word can open a tag and no payload line can contain
  ``-->`` (it is written ``--&gt;``). The speaker goes in a voice tag
  ``<v NAME>`` with the same escaping, so the name cannot close the tag early;
  the annotation is one line, so it cannot end the cue.
- SRT has no escaping at all: text is written as it is, except that ``-->``
  gets an invisible WORD JOINER (U+2060) before its ``>``, so no text line can
  be taken for a timing line, and a cue holds no blank line. ``<i>``-like text is
  written as it is; players that style SRT tags may style it (the WebVTT track
  is the one that shows every character exactly).
- JSON transcript and chapters: ``json.dumps`` escapes quotes, backslashes and
  what JSON needs; the text is the cleaned text, unescaped (no entities).
- HTML transcript: every piece of text, the title and speaker names included,
  goes through ``html.escape`` (``&``, ``<``, ``>``, ``"`` and ``'``).
- Plain text: one cue per line, ``Speaker: words``; nothing to escape once
  line breaks are gone.
"""

from __future__ import annotations

import bisect
import html
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from pipeline import defaults
from pipeline.records import Cue, Timeline, Transcript

SENTENCE_END = (".", "?", "!")
CLAUSE_END = (",", ";", ":")
CLOSING = "\"')]}\u201d\u2019\u00bb"  # quotes and brackets that may follow a sentence end

# Line breaks and control characters: C0, DEL, C1 (NEL among them), LINE and PARAGRAPH
# SEPARATOR. Each becomes a space.
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Bidirectional embeddings, overrides and isolates: state that leaks into the text after them.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# What makes a SubRip text line look like a timing line: "-->" gets a WORD JOINER.
SRT_ARROW = "-->"
SRT_ARROW_SAFE = "--\u2060>"


def clean_text(text: str) -> str:
    """One line of text, safe in every format: see "Text that could break a format" above.

    Control characters and line breaks become spaces, bidirectional embedding,
    override and isolate controls go, lone surrogates become U+FFFD, and
    whitespace is collapsed and trimmed.
    """
    text = _BREAKS.sub(" ", text)
    text = _BIDI_CONTROLS.sub("", text)
    text = _SURROGATES.sub("\ufffd", text)
    return " ".join(text.split())


def cue_lines(text: str) -> list[str]:
    """A cue's lines (split at its line breaks), each cleaned, empty ones dropped."""
    return [line for line in (clean_text(part) for part in text.split("\n")) if line]


@dataclass(frozen=True)
class EpisodeWord:
    """One word in episode time, with the index of the clip it was heard in."""

    start: float
    end: float
    text: str
    clip_index: int
    redacted: bool = False  # a redaction's replacement text, not a heard word


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
            text = clean_text(word.text)
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


def redact_words(words: list[EpisodeWord], timeline: Timeline) -> list[EpisodeWord]:
    """Words with every redacted span replaced by one token of its replacement text.

    A word is dropped when its time overlaps a span at all (a word half inside a
    redaction is not shown), and when it lies wholly inside one (zero-length words
    too). Each span that lands in the episode becomes one token for the span's
    clip, timed to the span, so a cue shows ``[name removed]`` where it was said.
    """
    spans = timeline.redacted_spans()
    if not spans:
        return words

    def hit(word: EpisodeWord, lo: float, hi: float) -> bool:
        return word.start < hi and word.end > lo or lo <= word.start <= hi

    kept = [w for w in words if not any(hit(w, lo, hi) for lo, hi, _ in spans)]
    tokens: list[EpisodeWord] = []
    for lo, hi, redaction in spans:
        index = _clip_at(timeline, (lo + hi) / 2)
        text = clean_text(redaction.replacement)
        if index is not None and text:
            tokens.append(EpisodeWord(lo, hi, text, index, redacted=True))
    merged = kept + tokens
    merged.sort(key=lambda w: (w.clip_index, w.start, w.end))
    return merged


def _clip_at(timeline: Timeline, t: float) -> int | None:
    for index, clip in enumerate(timeline.clips):
        if clip.start <= t < clip.end:
            return index
    return None


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
    speaker: str | None = None


@dataclass(frozen=True)
class _RawCue:
    start: int
    end: int
    lines: tuple[str, ...]
    high: int  # end of the segment the cue belongs to
    speaker: str | None = None


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def build_cues(
    words: list[EpisodeWord],
    timeline: Timeline,
    speakers: dict[str, str] | None = None,
) -> list[Cue]:
    """Group episode words into caption cues (time-ordered, never overlapping).

    ``words`` are what ``map_words`` (and ``redact_words``) return for the same
    ``timeline``; each word's ``clip_index`` must index ``timeline.clips``.
    ``speakers`` maps a recording name to its speaker's credited name, for voice tags.
    """
    raw: list[_RawCue] = []
    for segment in _segments(words, timeline, speakers or {}):
        raw.extend(_segment_cues(segment))
    return _settle(raw)


def _segments(
    words: list[EpisodeWord], timeline: Timeline, speakers: dict[str, str]
) -> list[_Segment]:
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
        name = clean_text(speakers.get(clip.source) or "")
        segments.append(_Segment(low, high, tuple(group), name or None))
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


def _ends_clause(text: str) -> bool:
    return text.rstrip(CLOSING).endswith(CLAUSE_END)


def _split_point(current: list[_MsWord]) -> int:
    """How many of ``current``'s words to show when the next word does not fit.

    After the last clause end (comma, semicolon, colon) or the last short pause in
    the last two thirds of the cue, so a line of thought is not cut mid-phrase; else all.
    """
    third = max(1, len(current) // 3)
    short_pause = _ms(defaults.CAPTION_CLAUSE_PAUSE)
    for i in range(len(current) - 1, third - 1, -1):
        if i + 1 < len(current) and (
            _ends_clause(current[i].text) or current[i + 1].start - current[i].end >= short_pause
        ):
            return i + 1
    return len(current)


def _segment_cues(segment: _Segment) -> list[_RawCue]:
    max_ms = _ms(defaults.CAPTION_MAX_SECONDS)
    pause_ms = _ms(defaults.CAPTION_PAUSE_BREAK)
    cues: list[_RawCue] = []
    current: list[_MsWord] = []

    def flush(count: int) -> None:
        shown = current[:count]
        lines = tuple(wrap([w.text for w in shown]))
        end = max(w.end for w in shown)
        cues.append(_RawCue(shown[0].start, end, lines, segment.high, segment.speaker))
        del current[:count]

    for word in segment.words:
        if current:
            previous = current[-1]
            if _ends_sentence(previous.text) or word.start - previous.end > pause_ms:
                flush(len(current))
            elif word.end - current[0].start > max_ms or not fits(
                [w.text for w in current] + [word.text]
            ):
                flush(_split_point(current))
                # What is carried over may still be too long with the new word.
                if current and (
                    word.end - current[0].start > max_ms
                    or not fits([w.text for w in current] + [word.text])
                ):
                    flush(len(current))
        current.append(word)
    if current:
        flush(len(current))
    return cues


def reading_ms(lines: tuple[str, ...] | list[str]) -> int:
    """How long a cue must stay up to be read at the maximum reading speed."""
    chars = sum(len(line) for line in lines)
    return math.ceil(chars * 1000 / defaults.CAPTION_MAX_CPS)


def _settle(raw: list[_RawCue]) -> list[Cue]:
    """Final times: no overlap, at most the maximum, extended towards the minimum
    and towards the reading time, into the silence before the next cue."""
    max_ms = _ms(defaults.CAPTION_MAX_SECONDS)
    min_ms = _ms(defaults.CAPTION_MIN_SECONDS)
    cues: list[Cue] = []
    previous_end: int | None = None
    for i, cue in enumerate(raw):
        start = cue.start if previous_end is None else max(cue.start, previous_end)
        limit = cue.high
        if i + 1 < len(raw):
            limit = min(limit, raw[i + 1].start)
        limit = min(limit, start + max_ms)
        end = min(max(cue.end, start), limit)
        wanted = max(min_ms, reading_ms(cue.lines))
        if end - start < wanted:
            end = max(end, min(start + wanted, limit))
        if end <= start:
            # Only words stacked at one instant end up here; a zero-length cue shows nothing.
            continue
        cues.append(Cue(start / 1000, end / 1000, "\n".join(cue.lines), cue.speaker))
        previous_end = end
    return cues


# --------------------------------------------------------------------------- wrapping

PUNCTUATION_BONUS = 8  # characters of imbalance worth a line break after punctuation


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
    longer line shortest, preferring a break after punctuation when that costs
    a few characters). A word longer than ``width`` gets a line of its own.
    """
    lines = _greedy(tokens, width)
    if len(lines) != 2:
        return lines
    best = lines
    best_score = max(len(x) for x in lines)
    for k in range(1, len(tokens)):
        first, second = " ".join(tokens[:k]), " ".join(tokens[k:])
        ok = all(len(x) <= width or " " not in x for x in (first, second))
        score = max(len(first), len(second))
        if _ends_clause(first) or _ends_sentence(first):
            score -= PUNCTUATION_BONUS  # a line that ends a phrase reads better
        if ok and score < best_score:
            best, best_score = [first, second], score
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


def _vtt_escape(text: str) -> str:
    """WebVTT cue text or voice annotation: ``&``, ``<`` and ``>`` as character references."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _srt_line(text: str) -> str:
    """A SubRip text line: no ``-->`` (a WORD JOINER goes before its ``>``)."""
    return text.replace(SRT_ARROW, SRT_ARROW_SAFE)


def _shown(cues: list[Cue]) -> list[tuple[Cue, list[str], str]]:
    """Each cue with text left after cleaning: (cue, its lines, its speaker or "")."""
    out: list[tuple[Cue, list[str], str]] = []
    for cue in cues:
        lines = cue_lines(cue.text)
        if lines:
            out.append((cue, lines, clean_text(cue.speaker or "")))
    return out


def to_webvtt(cues: list[Cue]) -> str:
    """WebVTT, with a ``<v Speaker>`` voice tag where a speaker is named."""
    blocks = ["WEBVTT"]
    for cue, lines, speaker in _shown(cues):
        payload = [_vtt_escape(line) for line in lines]
        if speaker:
            payload[0] = f"<v {_vtt_escape(speaker)}>{payload[0]}"
        times = f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}"
        blocks.append("\n".join([times, *payload]))
    return "\n\n".join(blocks) + "\n"


def to_srt(cues: list[Cue]) -> str:
    """SubRip, numbered from 1; a named speaker is prefixed as ``Name: ``."""
    blocks: list[str] = []
    for number, (cue, lines, speaker) in enumerate(_shown(cues), start=1):
        if speaker:
            lines = [f"{speaker}: {lines[0]}", *lines[1:]]
        times = f"{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}"
        text = "\n".join(_srt_line(line) for line in lines)
        blocks.append(f"{number}\n{times}\n{text}\n")
    return "\n".join(blocks)


def to_transcript_json(cues: list[Cue]) -> str:
    """Podcasting 2.0 JSON transcript (``application/json``)."""
    segments: list[dict[str, Any]] = []
    for cue, lines, speaker in _shown(cues):
        segment: dict[str, Any] = {}
        if speaker:
            segment["speaker"] = speaker
        segment["startTime"] = _seconds(cue.start)
        segment["endTime"] = _seconds(cue.end)
        segment["body"] = " ".join(lines)
        segments.append(segment)
    return json.dumps({"version": "1.0.0", "segments": segments}, ensure_ascii=False, indent=1)


def to_chapters_json(timeline: Timeline, title_by_start: dict[float, str] | None = None) -> str:
    """Podcasting 2.0 JSON chapters from the Timeline's chapters, as the EDL set them.

    ``title_by_start`` overrides a chapter's title, keyed by its start time.
    """
    overrides = title_by_start or {}
    chapters = [
        {"startTime": _seconds(ch.start), "title": clean_text(overrides.get(ch.start, ch.title))}
        for ch in timeline.chapters
    ]
    return json.dumps({"version": "1.2.0", "chapters": chapters}, ensure_ascii=False, indent=1)


def to_text(cues: list[Cue]) -> str:
    """Plain transcript: one cue per line."""
    out: list[str] = []
    for _, lines, speaker in _shown(cues):
        body = " ".join(lines)
        out.append(f"{speaker}: {body}" if speaker else body)
    return "\n".join(out) + ("\n" if out else "")


def to_html(cues: list[Cue], title: str, language: str = "en") -> str:
    """A readable HTML transcript (``text/html``): paragraphs by speaker and pause.

    Everything is escaped; each paragraph starts with its time and, when the
    speaker is named, their name.
    """
    paragraphs: list[list[tuple[Cue, list[str], str]]] = []
    for shown in _shown(cues):
        cue, _, speaker = shown
        if paragraphs:
            last, _, last_speaker = paragraphs[-1][-1]
            same = last_speaker == speaker
            if same and cue.start - last.end < defaults.TRANSCRIPT_PARAGRAPH_GAP:
                paragraphs[-1].append(shown)
                continue
        paragraphs.append([shown])
    body: list[str] = []
    for group in paragraphs:
        first, _, speaker = group[0]
        seconds = _ms(first.start) // 1000
        stamp = _clock(seconds)
        stamp = f'<time datetime="PT{seconds}S">{stamp}</time>'
        head = f'<a class="time" href="#t={seconds}">{stamp}</a>'
        if speaker:
            head += f' <strong class="speaker">{html.escape(speaker)}</strong>'
        text = " ".join(" ".join(lines) for _, lines, _ in group)
        body.append(f"<p>{head}<br>\n{html.escape(text)}</p>")
    if not body:
        body.append("<p>No speech was transcribed.</p>")
    heading = html.escape(clean_text(title))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html.escape(language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{heading}: transcript</title>\n"
        "<style>body{max-width:40em;margin:2em auto;padding:0 1em;font:1.1em/1.6 sans-serif}"
        ".time{color:#555;font-size:.85em;text-decoration:none}.speaker{margin-left:.5em}"
        "</style>\n</head>\n<body>\n"
        f"<h1>{heading}</h1>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def episode_cues(
    timeline: Timeline,
    transcripts: dict[str, Transcript],
    speakers: dict[str, str] | None = None,
) -> list[Cue]:
    """The episode's cues: words mapped through the Timeline, redactions applied."""
    words = redact_words(map_words(timeline, transcripts), timeline)
    return build_cues(words, timeline, speakers)


def render_all(
    timeline: Timeline,
    transcripts: dict[str, Transcript],
    speakers: dict[str, str] | None = None,
    title: str = "Transcript",
    language: str = "en",
) -> dict[str, str]:
    """Every caption output of one episode, by output role (``language``: the words',
    for the HTML transcript's ``lang``).

    Roles and how to publish them: ``captions-vtt`` (``.vtt``, ``text/vtt``),
    ``captions-srt`` (``.srt``, ``application/x-subrip``), ``transcript-json``
    (``.json``, ``application/json``), ``transcript-html`` (``.transcript.html``,
    ``text/html``), ``chapters`` (``.chapters.json``, ``application/json+chapters``).
    """
    cues = episode_cues(timeline, transcripts, speakers)
    out = {
        "captions-vtt": to_webvtt(cues),
        "captions-srt": to_srt(cues),
        "transcript-json": to_transcript_json(cues),
        "transcript-html": to_html(cues, title, language),
    }
    if timeline.chapters:
        out["chapters"] = to_chapters_json(timeline)
    return out


__all__ = [
    "EpisodeWord",
    "build_cues",
    "clean_text",
    "cue_lines",
    "episode_cues",
    "fits",
    "map_words",
    "reading_ms",
    "redact_words",
    "render_all",
    "to_chapters_json",
    "to_html",
    "to_srt",
    "to_text",
    "to_transcript_json",
    "to_webvtt",
    "wrap",
]
