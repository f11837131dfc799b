"""What the edit page shows: the episode's parts as words and sentences, the words left
out, hidden (redacted) words as their replacement text, chapters and the soundbite.

A hidden part may also say the words it removes everywhere (``text:``). Those words are
shown as its replacement text wherever else they are said, in kept parts and left-out
ones alike, as the published words would show them: the page is never sent them. A
publish refuses an episode that still plays them outside a hidden part (``stages.
texts_stage``), so in a kept part such a place is marked "also said here" for the
contributors to hide there too (``also_said``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.edl import redact
from pipeline.project.text import whole_words
from pipeline.records import Redaction, Timeline, Transcript, Word
from pipeline.studio.edits import chapter_anchors, source_point, words_in

SENTENCE_END = (".", "?", "!")
WORD_REACH = 60.0  # seconds: a word whose middle is further from a time cannot hold it


@dataclass(frozen=True)
class WordView:
    start: float
    end: float
    text: str
    hidden: bool = False  # a redaction: ``text`` is its replacement
    mode: str = ""
    # the words a hidden part removes everywhere, said here outside it: the index of
    # that hidden part in the Timeline's redactions (-1: an ordinary word or hidden part)
    like: int = -1

    @property
    def clock(self) -> str:
        return clock(self.start)


@dataclass
class PartView:
    n: int
    source: str
    start: float
    end: float
    fade_in: float = 0.0
    fade_out: float = 0.0
    kept: bool = True
    sentences: list[list[WordView]] = field(default_factory=list)
    speaker: str = ""
    note: str = ""  # a cut inside a word, said plainly
    again: str = ""  # hidden words said again in a kept part, said plainly

    @property
    def label(self) -> str:
        return f"{self.source}, {clock(self.start)} to {clock(self.end)}"


@dataclass(frozen=True)
class MarkView:
    source: str
    at: float
    title: str


def clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{secs:04.1f}"


@dataclass(frozen=True)
class Said:
    """Words a hidden part removes everywhere, said outside every hidden part: in recording
    ``source`` from ``start`` to ``end``; ``like`` is that hidden part's index."""

    source: str
    start: float
    end: float
    like: int


def _overlaps(w: Word, r: Redaction) -> bool:
    # the captions' rule (render.captions.redact_words): a word that overlaps a hidden
    # part at all is not shown, not even one half inside it
    return w.start < r.end and w.end > r.start or r.start <= w.start <= r.end


def also_said(
    words: tuple[Word, ...] | list[Word], redactions: tuple[Redaction, ...], source: str
) -> list[Said]:
    """Every place in ``words`` (one recording's, in order) where the words a hidden part
    removes everywhere are said outside all hidden parts, in order, none overlapping."""
    terms = [
        (k, whole_words(r.text)) for k, r in enumerate(redactions) if r.text and r.text.strip()
    ]
    if not terms:
        return []
    mine = [r for r in redactions if r.source == source]
    free = [w for w in words if not any(_overlaps(w, r) for r in mine)]
    # the free words as one text, each word's characters known, so a run of words matches
    text, spans, at = [], [], 0
    for w in free:
        t = w.text.strip()
        text.append(t)
        spans.append((at, at + len(t)))
        at += len(t) + 1
    joined = " ".join(text)
    found: list[Said] = []
    taken: set[int] = set()
    for k, pattern in terms:
        for m in pattern.finditer(joined):
            hit = [i for i, (a, b) in enumerate(spans) if a < m.end() and b > m.start()]
            if hit and not taken.intersection(hit):
                taken.update(hit)
                found.append(Said(source, free[hit[0]].start, free[hit[-1]].end, k))
    return sorted(found, key=lambda s: s.start)


def heard_again(timeline: Timeline, transcripts: dict[str, Transcript]) -> list[float]:
    """Episode times where words a hidden part removes everywhere are still heard: said in
    a kept part, outside every hidden part (a word belongs to the part its middle is in, as
    in the captions). A publish refuses the episode until each is hidden too."""
    found: dict[str, list[Said]] = {}
    times: list[float] = []
    for clip in timeline.clips:
        t = transcripts.get(clip.source)
        if t is None:
            continue
        if clip.source not in found:
            found[clip.source] = also_said(t.words, timeline.redactions, clip.source)
        for s in found[clip.source]:
            if clip.src_in <= (s.start + s.end) / 2 < clip.src_out:
                times.append(round(clip.start + max(0.0, s.start - clip.src_in), 3))
    return sorted(times)


def _views(words: list[Word], redactions: tuple[Redaction, ...], source: str) -> list[WordView]:
    out: list[WordView] = []
    done: set[int] = set()
    again = also_said(words, redactions, source)
    for w in words:
        i = next(
            (k for k, r in enumerate(redactions) if r.source == source and _overlaps(w, r)),
            None,
        )
        s = next((s for s in again if s.start <= w.start and w.end <= s.end), None)
        if s is not None:
            if s.start == w.start:  # one token for the whole run of words
                r = redactions[s.like]
                out.append(WordView(s.start, s.end, r.replacement, True, r.mode, like=s.like))
        elif i is None:
            out.append(WordView(w.start, w.end, w.text.strip()))
        elif i not in done:
            done.add(i)
            r = redactions[i]
            out.append(WordView(r.start, r.end, r.replacement, True, r.mode))
    return out


def _sentences(words: list[WordView]) -> list[list[WordView]]:
    sentences: list[list[WordView]] = [[]]
    for w in words:
        sentences[-1].append(w)
        if not w.hidden and w.text.endswith(SENTENCE_END):
            sentences.append([])
    return [s for s in sentences if s]


def _inside_word(words: tuple[Word, ...], t: float) -> Word | None:
    near = words_in(words, t - WORD_REACH, t + WORD_REACH)  # no word is longer than this
    return next((w for w in near if w.start + 0.02 < t < w.end - 0.02), None)


def parts(
    timeline: Timeline,
    transcripts: dict[str, Transcript],
    durations: dict[str, float],
    speakers: dict[str, str],
) -> tuple[list[PartView], list[PartView]]:
    """The kept parts in the episode's order, and what is left out of each recording."""
    kept: list[PartView] = []
    for n, c in enumerate(timeline.clips, 1):
        t = transcripts.get(c.source)
        words = words_in(t.words, c.src_in, c.src_out) if t else []
        view = PartView(n, c.source, c.src_in, c.src_out, c.fade_in, c.fade_out)
        view.sentences = _sentences(_views(words, timeline.redactions, c.source))
        view.speaker = speakers.get(c.source, "")
        if t:
            clipped = [
                (edge, w)
                for edge in (c.src_in, c.src_out)
                if (w := _inside_word(t.words, edge)) is not None
            ]
            if clipped:
                edge, w = clipped[0]
                view.note = redact.hide_said(
                    f"This part starts or ends in the middle of the word “{w.text.strip()}” "
                    f"(at {clock(edge)}). Cut or keep that whole word to fix it.",
                    timeline.redactions,
                )
        shown = [w for s in view.sentences for w in s if w.like >= 0]
        if shown:
            view.again = (
                f"Words you hid are said again here (shown as “{shown[0].text}”). They can "
                "still be heard here, so the episode cannot be put out yet. Choose “Hide "
                "words”, then press them to hide them here too, or cut them."
            )
        kept.append(view)
    left: list[PartView] = []
    for source in timeline.sources():
        t = transcripts.get(source)
        spans = sorted((c.src_in, c.src_out) for c in timeline.clips if c.source == source)
        gaps: list[tuple[float, float]] = []
        at = 0.0
        for a, b in spans:
            if a > at:
                gaps.append((at, a))
            at = max(at, b)
        if durations.get(source, 0.0) > at:
            gaps.append((at, durations[source]))
        for a, b in gaps:
            words = words_in(t.words, a, b) if t else []
            if not words or b - a < 0.05:
                continue
            view = PartView(0, source, round(a, 3), round(b, 3), kept=False)
            view.sentences = _sentences(_views(words, timeline.redactions, source))
            view.speaker = speakers.get(source, "")
            left.append(view)
    for i, view in enumerate(left, len(kept) + 1):
        view.n = i
    return kept, left


def marks(timeline: Timeline) -> tuple[list[MarkView], dict[str, object] | None]:
    """Chapters at the words they start at, and the soundbite's start and end words."""
    chapters = [MarkView(a.source, a.at, ch.title) for a, ch in chapter_anchors(timeline)]
    bite: dict[str, object] | None = None
    if timeline.soundbite is not None:
        s = timeline.soundbite
        first = source_point(timeline, s.start)
        last = source_point(timeline, s.start + s.duration, end=True)
        if first is not None and last is not None:
            bite = {
                "source": first.source,
                "at": first.at,
                "end_source": last.source,
                "end": last.at,
                "title": s.title or "",
            }
    return chapters, bite
