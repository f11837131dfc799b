"""What the edit page shows: the episode's parts as words and sentences, the words left
out, hidden (redacted) words as their replacement text, chapters and the soundbite."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    said: str = ""  # for a hidden part: the words it removes everywhere

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


def _views(words: list[Word], redactions: tuple[Redaction, ...], source: str) -> list[WordView]:
    out: list[WordView] = []
    done: set[int] = set()
    for w in words:
        # the captions' rule (render.captions.redact_words): a word that overlaps a hidden
        # part at all is not shown, not even one half inside it
        i = next(
            (
                k
                for k, r in enumerate(redactions)
                if r.source == source
                and (w.start < r.end and w.end > r.start or r.start <= w.start <= r.end)
            ),
            None,
        )
        if i is None:
            out.append(WordView(w.start, w.end, w.text.strip()))
        elif i not in done:
            done.add(i)
            r = redactions[i]
            out.append(WordView(r.start, r.end, r.replacement, True, r.mode, r.text or ""))
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
                view.note = (
                    f"This part starts or ends in the middle of the word “{w.text.strip()}” "
                    f"(at {clock(edge)}). Cut or keep that whole word to fix it."
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
