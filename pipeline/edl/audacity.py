"""Audacity label tracks (File > Export > Labels) as EDLs.

The file has one label a line: ``start<TAB>end<TAB>text``, times in seconds
from the start of the Audacity project::

    12.500000	47.250000	interview.m4a
    47.250000	47.250000	Moving in
    60.000000	95.000000	interview.m4a: the bit about the kettle
    3.000000	9.500000	street: Sam outside the hub

Lines starting with a backslash (``\\``) hold the frequency range of a spectral
selection; they are skipped. Blank lines are skipped. Audacity always writes a
dot as the decimal mark; a comma (``12,5``, from a spreadsheet in a language
that writes decimals that way) is read as a decimal mark too, since the fields
are separated by tabs and cannot be confused. Fields separated by spaces
instead of tabs are accepted when the first two are numbers.

How a label track becomes an episode
    The contributors open a recording in Audacity (it starts at 0 s on the
    project timeline, as it does when imported) and mark the parts to keep.

    * A **region label** (end after start) is a clip. Its text names the
      recording: a file name in the episode's recordings/ folder
      (``interview.m4a``) or a name listed under ``reels:`` in episode.yaml
      (``street``). Anything after the first colon is a note and is ignored
      (``interview.m4a: the bit about the kettle``). The clip plays that
      recording from the label's start to its end.
    * Clips play one after another in the order of the lines, which is the
      order of their start times: Audacity writes labels sorted by time, and a
      file whose lines are out of time order is refused rather than re-sorted
      (to play parts in another order, use a YAML EDL).
    * A **point label** (end equal to start) starts a chapter; its whole text
      is the title. Its time is in the project, so it is carried into the
      episode through the regions: a point inside a region lands at the same
      moment inside that region's clip (if regions overlap, the one that starts
      latest); a point in a gap between regions, or before the first, starts
      the next clip. A point after the last region would start after the
      episode ends and is an error.
    * Two regions of the same recording that overlap (often by a few
      milliseconds, from a slip of the mouse) play that stretch twice: this is
      said, with both line numbers, in `storycast timeline` and the run summary.

Encodings: UTF-8 with or without a byte order mark, and UTF-16 (the Windows
builds write it, usually with a byte order mark). Anything else is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline import defaults
from pipeline.edl.common import lookup, read_source, reels_hint
from pipeline.errors import InputError, Problem
from pipeline.project.yamlfile import Problems
from pipeline.records import Chapter, Clip, Episode, Timeline, seconds_at_most

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
EXAMPLE_LINE = "`12.5<tab>30.25<tab>interview.m4a`"


@dataclass(frozen=True)
class Label:
    line: int
    start: float
    end: float
    text: str


def read(path: Path, episode: Episode | None = None) -> Timeline:
    text, digest = read_source(path)
    problems = Problems()
    labels = _labels(path, text, problems)
    clips, chapters = _timeline(path, labels, episode, problems)
    problems.raise_if_any()
    return Timeline(
        edl_path=path,
        edl_sha256=digest,
        clips=tuple(clips),
        chapters=tuple(chapters),
        notes=tuple(overlaps(path, clips)),
    )


def overlaps(path: Path, clips: list[Clip]) -> list[str]:
    """A note for each region that starts before an earlier region of the same recording
    ends: that stretch is played twice, once at the end of each. The EDL is the authority
    (a repeat can be meant), so this is said, not refused; an overlap of a few
    milliseconds is almost always a slip of the mouse, and is heard as a stutter."""
    notes: list[str] = []
    furthest: dict[str, Clip] = {}  # per recording, the region that reaches furthest so far
    for clip in clips:
        before = furthest.get(clip.source)
        if before is not None and clip.src_in < before.src_out:
            twice = min(before.src_out, clip.src_out) - clip.src_in
            amount = f"{twice * 1000:.0f} ms" if twice < 1 else f"{twice:.3f} s".replace(".000", "")
            notes.append(
                f"{path.name}: the regions on lines {before.line} and {clip.line} overlap by "
                f"{amount} of `{clip.source}` ({seconds_at_most(clip.src_in)} to "
                f"{seconds_at_most(min(before.src_out, clip.src_out))} s), so that part "
                f"plays twice. If it should play once, start the region on line {clip.line} "
                f"where the one on line {before.line} ends."
            )
        if before is None or clip.src_out > before.src_out:
            furthest[clip.source] = clip
    return notes


def parse_seconds(text: str) -> float | None:
    """Seconds as Audacity writes them (``12.500000``), or with a decimal comma."""
    t = text.strip()
    if not _NUMBER.match(t):
        return None
    if "," in t:
        t = t.replace(",", ".")
    return float(t)


def _split(line: str) -> tuple[str, str, str] | None:
    parts = line.split("\t", 2)
    if len(parts) < 2:
        parts = line.split(None, 2)
        if len(parts) < 2 or parse_seconds(parts[0]) is None:
            return None
    start, end = parts[0], parts[1]
    label = parts[2] if len(parts) > 2 else ""
    return start, end, label.strip()


def _labels(path: Path, text: str, problems: Problems) -> list[Label]:
    labels: list[Label] = []
    seen_content = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("\\"):
            continue
        fields = _split(line.strip("\r\n"))
        first = not seen_content
        seen_content = True
        if first and (fields is None or None in (parse_seconds(f) for f in fields[:2])):
            # The first line decides whether this is a label track at all: a `.txt`
            # can be anything, and a page of errors about someone's notes would not help
            # (nor would quoting them: nothing of the file is shown).
            raise InputError(
                Problem(
                    path,
                    f"storycast cannot read EDLs of type `{path.suffix}` unless they are "
                    "Audacity label tracks, and this is not one: the first line should look "
                    f"like {EXAMPLE_LINE} (start, end, label, separated by tabs).",
                    "In Audacity use File > Export > Labels, or write the EDL as edl.yaml.",
                    number,
                )
            )
        if fields is None:
            problems.add(
                Problem(
                    path,
                    "this line is not a label: it should be start, end and label "
                    f"separated by tabs, like {EXAMPLE_LINE}.",
                    "Export the labels again from Audacity, or fix this line.",
                    number,
                )
            )
            continue
        start = parse_seconds(fields[0])
        end = parse_seconds(fields[1])
        bad = False
        for name, value, parsed in (("start", fields[0], start), ("end", fields[1], end)):
            if parsed is None:
                problems.add(
                    Problem(
                        path,
                        f"`{value.strip()}` is not a number of seconds.",
                        "Write seconds with a decimal point, like 12.5.",
                        number,
                        name,
                    )
                )
                bad = True
            elif parsed < 0:
                problems.add(
                    Problem(
                        path,
                        f"{parsed:g} s is negative; times count from the start, so 0 or more.",
                        "",
                        number,
                        name,
                    )
                )
                bad = True
        if bad or start is None or end is None:
            continue
        if end < start:
            problems.add(
                Problem(
                    path,
                    f"this label ends ({end:g} s) before it starts ({start:g} s).",
                    "Swap the two times, or export the labels again from Audacity.",
                    number,
                    "end",
                )
            )
            continue
        if labels and start < labels[-1].start:
            problems.add(
                Problem(
                    path,
                    f"this label starts at {start:g} s, before the label on line "
                    f"{labels[-1].line} ({labels[-1].start:g} s).",
                    "Audacity writes labels in time order and storycast plays them in that "
                    "order; put the lines back in time order (to play parts in another order, "
                    "use a YAML EDL).",
                    number,
                    "start",
                )
            )
            continue
        if len(labels) >= defaults.MAX_EDL_CLIPS:
            limit = defaults.MAX_EDL_CLIPS
            raise InputError(
                Problem(
                    path,
                    f"this label track has more than {limit:,} labels; storycast reads at most "
                    f"{limit:,} clips in an EDL, so the file was not read.",
                    "Check it is the right file; an episode of that many clips would be days long.",
                    number,
                )
            )
        labels.append(Label(number, start, end, fields[2]))
    if not seen_content:
        problems.add(
            Problem(
                path,
                "has no labels in it.",
                "In Audacity mark the parts to keep with region labels (Edit > Labels), "
                "then use File > Export > Labels.",
            )
        )
    return labels


@dataclass(frozen=True)
class _Region:
    start: float  # project time
    end: float
    clip_start: float  # episode time


def _timeline(
    path: Path, labels: list[Label], episode: Episode | None, problems: Problems
) -> tuple[list[Clip], list[Chapter]]:
    clips: list[Clip] = []
    regions: list[_Region] = []
    points: list[Label] = []
    episode_time = 0.0
    for label in labels:
        if label.end == label.start:
            points.append(label)
            continue
        name = label.text.partition(":")[0].strip()
        reel = lookup(name, episode)
        if reel is None:
            what = (
                f"the region label `{label.text}` does not name a recording."
                if label.text
                else "this region label has no text, so storycast does not know which "
                "recording it marks."
            )
            problems.add(
                Problem(
                    path,
                    what + " A region label (with a start and an end) says which recording to "
                    "play, like `interview.m4a` or `interview.m4a: a note`; for a chapter "
                    "title use a point label.",
                    reels_hint(episode, name or "interview"),
                    label.line,
                    "label",
                )
            )
            continue
        clips.append(Clip(reel.recording, label.start, label.end, episode_time, line=label.line))
        regions.append(_Region(label.start, label.end, episode_time))
        episode_time += label.end - label.start
    if labels and not regions and not problems:
        problems.add(
            Problem(
                path,
                "has only point labels (chapters), and no region labels, so there is nothing "
                "to play.",
                "Mark each part to keep with a region label (drag across it in Audacity) named "
                "after its recording, like `interview.m4a`.",
            )
        )
    chapters: list[Chapter] = []
    for point in points:
        if not point.text:
            problems.add(
                Problem(
                    path,
                    "this point label has no text; a point label starts a chapter, and the "
                    "text is the chapter's title.",
                    "Type a title into the label in Audacity and export again.",
                    point.line,
                    "label",
                )
            )
            continue
        at = _episode_time(point.start, regions)
        if at is None:
            if regions:
                problems.add(
                    Problem(
                        path,
                        f"the chapter `{point.text}` is at {point.start:g} s, after the last "
                        f"region ends ({max(r.end for r in regions):g} s), so it would start "
                        "after the episode ends.",
                        "Move the point label onto a region you keep, or delete it.",
                        point.line,
                        "start",
                    )
                )
            continue
        if chapters and at <= chapters[-1].start:
            problems.add(
                Problem(
                    path,
                    f"the chapter `{point.text}` lands at {at:g} s in the episode, the same "
                    f"moment as `{chapters[-1].title}` (line {chapters[-1].line}): both are in "
                    "the same gap between regions, or before the first.",
                    "Keep one of the two point labels.",
                    point.line,
                    "start",
                )
            )
            continue
        chapters.append(Chapter(at, point.text, point.line))
    return clips, chapters


def _episode_time(at: float, regions: list[_Region]) -> float | None:
    """Where a project time lands in the episode (see the module docstring)."""
    inside = [r for r in regions if r.start <= at < r.end]
    if inside:
        region = inside[-1]
        return region.clip_start + (at - region.start)
    later = [r for r in regions if r.start >= at]
    if later:
        return later[0].clip_start
    return None
