"""Proposals: automatic help, written down and never applied.

`storycast propose EPISODE` looks for long silences inside the kept clips, for
retakes (a phrase started again a moment later: the first try could go) and for
pauses that could start chapters, and writes proposal.yaml: a complete
EDL in the native format, with a header saying it is NOT what is published.
The contributors read it; if they agree, they adopt it as their EDL
(rename it, or point episode.yaml's `edl:` at it) and approve again.
Nothing in the pipeline ever reads proposal.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline import defaults
from pipeline.cache import write_atomic
from pipeline.media.runner import media_timeout, run, source_input
from pipeline.records import Recording, Timeline, Transcript, Word

PROPOSAL_FILE = "proposal.yaml"


@dataclass(frozen=True)
class Silence:
    start: float  # recording time
    end: float


def silences(recording: Recording, start: float, end: float) -> list[Silence]:
    """Silences of at least PROPOSE_MIN_SILENCE inside [start, end] of one recording."""
    detect = f"silencedetect=noise={defaults.PROPOSE_SILENCE_DB}dB:d={defaults.PROPOSE_MIN_SILENCE}"
    proc = run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats",
         "-ss", f"{start:.3f}", "-t", f"{end - start:.3f}", *source_input(recording.path),
         "-map", "0:a:0", "-af", detect, "-f", "null", "-"],
        what="looking for silences",
        path=recording.path,
        timeout=media_timeout(end - start),
    )  # fmt: skip
    starts = [float(x) for x in re.findall(r"silence_start: (-?[\d.]+)", proc.stderr)]
    ends = [float(x) for x in re.findall(r"silence_end: (-?[\d.]+)", proc.stderr)]
    found = []
    for i, s in enumerate(starts):
        e = ends[i] if i < len(ends) else end - start
        found.append(Silence(start + max(0.0, s), start + min(e, end - start)))
    return found


@dataclass(frozen=True)
class Retake:
    """A phrase said again shortly after: the first try (``first`` .. ``last``, words of
    ``source``) could be cut. ``cut_from``/``cut_to`` are where the cut falls: half way
    through the pauses around the first try (the clip's edge if it starts the clip), so no
    word is clipped; ``again`` is the word that starts the second try."""

    source: str
    first: Word
    last: Word
    again: Word
    cut_from: float
    cut_to: float
    said: str  # the first try's words
    said_again: str  # the second try's first words


_EDGES = re.compile(r"^\W+|\W+$")
_PHRASE_END = (",", ".", ";", ":", "?", "!", "…", "-", "–", "—")


def _plain(word: Word) -> str:
    return _EDGES.sub("", word.text.strip()).lower()


def _starts_phrase(words: list[Word], i: int) -> bool:
    """Word ``i`` begins a phrase: the first word, or after a pause or punctuation."""
    if i == 0:
        return True
    before = words[i - 1]
    pause = words[i].start - before.end
    return pause >= defaults.RETAKE_PAUSE or before.text.strip().endswith(_PHRASE_END)


def retakes(timeline: Timeline, transcripts: dict[str, Transcript]) -> list[Retake]:
    """Retakes inside the kept clips: a run of at least RETAKE_MIN_WORDS words that starts a
    phrase and is started again, the same words, RETAKE_WITHIN seconds later at most.
    Words under a hidden (redacted) part are never part of one; both tries must be in the
    same clip. The same words said again further apart (a chorus, a list) are not one."""
    found: list[Retake] = []
    for clip in timeline.clips:
        transcript = transcripts.get(clip.source)
        if transcript is None:
            continue
        hidden = [r for r in timeline.redactions if r.source == clip.source]
        inside = [
            w for w in transcript.words if clip.src_in <= (w.start + w.end) / 2 <= clip.src_out
        ]
        words = [w for w in inside if not any(w.start < r.end and w.end > r.start for r in hidden)]
        plain = [_plain(w) for w in words]
        need = defaults.RETAKE_MIN_WORDS
        i = 0
        while i < len(words):
            match = None
            if plain[i] and _starts_phrase(words, i):
                top = min(len(words), i + defaults.RETAKE_MAX_WORDS + 1)
                for j in range(i + 1, top):
                    if words[j].start - words[i].start > defaults.RETAKE_WITHIN:
                        break
                    if j - i < need or not _starts_phrase(words, j):
                        continue
                    if plain[i : i + need] == plain[j : j + need]:
                        match = j
                        break
            if match is None:
                i += 1
                continue
            j = match
            first, last, again = words[i], words[j - 1], words[j]
            # as the studio cuts whole words: half way through the pause before the first
            # try (from the clip's start if it starts the clip), never into a hidden part
            k = inside.index(first)
            cut_from = clip.src_in if k == 0 else (inside[k - 1].end + first.start) / 2
            cut_from = max([cut_from, *(r.end for r in hidden if r.end <= first.start)])
            cut_to = (last.end + again.start) / 2
            tail = min(len(words), j + (j - i) + 2)
            found.append(
                Retake(
                    clip.source,
                    first,
                    last,
                    again,
                    round(cut_from, 3),
                    round(cut_to, 3),
                    " ".join(w.text.strip() for w in words[i:j]),
                    " ".join(w.text.strip() for w in words[j:tail]),
                )
            )
            i = j  # the second try may itself be tried again
    return found


def _without(
    pieces: list[tuple[float, float]], cut_from: float, cut_to: float
) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in pieces:
        if cut_to <= a or b <= cut_from:
            out.append((a, b))
            continue
        if a < cut_from:
            out.append((a, cut_from))
        if cut_to < b:
            out.append((cut_to, b))
    return out


def propose(
    timeline: Timeline,
    recordings: dict[str, Recording],
    transcripts: dict[str, Transcript] | None = None,
) -> tuple[dict[str, object], list[str]]:
    """A proposed EDL (as plain data) and the sentences explaining each change. With the
    recordings' words (``transcripts``), retakes are suggested too."""
    keep = defaults.PROPOSE_KEEP_PAUSE
    found_retakes = retakes(timeline, transcripts or {})
    clips: list[dict[str, object]] = []
    reasons: list[str] = []
    chapter_points: list[float] = []  # episode time
    episode_t = 0.0
    for n, clip in enumerate(timeline.clips, 1):
        pieces = [(clip.src_in, clip.src_out)]
        pauses: list[float] = []  # recording time: where a long pause could start a chapter
        for gap in silences(recordings[clip.source], clip.src_in, clip.src_out):
            cut_from, cut_to = gap.start + keep, gap.end - keep
            last_in, last_out = pieces[-1]
            if cut_to - cut_from <= 0 or not (last_in < cut_from and cut_to < last_out):
                continue
            pieces[-1:] = [(last_in, cut_from), (cut_to, last_out)]
            reasons.append(
                f"clip {n} ({clip.source}): {gap.end - gap.start:.1f} s of silence at "
                f"{gap.start:.1f} s could be shortened to {2 * keep:.1f} s"
            )
            if gap.end - gap.start >= defaults.PROPOSE_CHAPTER_PAUSE:
                pauses.append(cut_from)
        for rt in found_retakes:
            if rt.source != clip.source or not (
                clip.src_in <= rt.cut_from < rt.cut_to <= clip.src_out
            ):
                continue
            pieces = _without(pieces, rt.cut_from, rt.cut_to)
            reasons.append(
                f"clip {n} ({clip.source}): at {rt.first.start:.1f} s “{rt.said}” is said "
                f"again just after (“{rt.said_again}”): the first try could be cut "
                f"({rt.cut_from:.2f} to {rt.cut_to:.2f} s)"
            )
        pieces = [(a, b) for a, b in pieces if b - a > 0]
        for at in pauses:  # placed after every cut before it
            chapter_points.append(episode_t + sum(min(b, at) - a for a, b in pieces if a < at))
        for i, (a, b) in enumerate(pieces):
            entry: dict[str, object] = {
                "source": clip.source,
                "in": round(a, 3),
                "out": round(b, 3),
            }
            if i == 0 and clip.fade_in:
                entry["fade_in"] = clip.fade_in
            if i == len(pieces) - 1 and clip.fade_out:
                entry["fade_out"] = clip.fade_out
            clips.append(entry)
        episode_t += sum(b - a for a, b in pieces)
    data: dict[str, object] = {"clips": clips}
    chapters = [{"at": round(c.start, 3), "title": c.title} for c in timeline.chapters]
    if chapter_points and not chapters:
        chapters = [{"at": 0, "title": "Part 1"}] + [
            {"at": round(t, 3), "title": f"Part {i}"} for i, t in enumerate(chapter_points, 2)
        ]
        reasons.append(f"{len(chapter_points)} long pauses could start chapters")
    elif chapter_points:
        reasons.append(
            "long pauses at "
            + ", ".join(f"{t:.1f} s" for t in chapter_points)
            + " could start chapters (the chapter times below are yours, shifted only by cuts)"
        )
    if chapters:
        data["chapters"] = chapters
    if timeline.redactions:
        data["redactions"] = [
            {
                "source": r.source,
                "in": r.start,
                "out": r.end,
                "mode": r.mode,
                "replace_with": r.replacement,
                **({"text": r.text} if r.text else {}),
            }
            for r in timeline.redactions
        ]
    return data, reasons


def write(folder: Path, timeline: Timeline, data: dict[str, object], reasons: list[str]) -> Path:
    lines = [
        "# PROPOSAL - NOT APPLIED. storycast never publishes this file.",
        f"# Made by `storycast propose` from {timeline.edl_path.name}. If the contributors",
        "# agree, adopt it as the EDL (rename it, or set `edl: proposal.yaml` in",
        "# episode.yaml) and approve the episode again. What it suggests:",
        *[f"#  - {r}" for r in reasons or ["no changes: no long silences or retakes were found"]],
        "",
    ]
    text = "\n".join(lines) + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    path = folder / PROPOSAL_FILE
    write_atomic(path, text.encode("utf-8"))
    return path
