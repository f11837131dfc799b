"""Proposals: automatic help, written down and never applied.

`storycast propose EPISODE` looks for long silences inside the kept clips and
for pauses that could start chapters, and writes proposal.yaml: a complete
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
from pipeline.records import Recording, Timeline

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


def propose(
    timeline: Timeline, recordings: dict[str, Recording]
) -> tuple[dict[str, object], list[str]]:
    """A proposed EDL (as plain data) and the sentences explaining each change."""
    keep = defaults.PROPOSE_KEEP_PAUSE
    clips: list[dict[str, object]] = []
    reasons: list[str] = []
    chapter_points: list[float] = []
    episode_t = 0.0
    for n, clip in enumerate(timeline.clips, 1):
        pieces = [(clip.src_in, clip.src_out)]
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
                chapter_points.append(episode_t + (cut_from - clip.src_in))
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
        *[f"#  - {r}" for r in reasons or ["no changes: no long silences were found"]],
        "",
    ]
    text = "\n".join(lines) + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    path = folder / PROPOSAL_FILE
    write_atomic(path, text.encode("utf-8"))
    return path
