"""edit: the Timeline checked against the recordings as they really are.

The EDL names recordings by path inside the episode's recordings/ folder; a
name that leads anywhere else (``../``, an absolute path, a symlink out, or a
recordings/ folder that is itself a link elsewhere) is refused, and so is
anything there that is not an ordinary file (a folder, a named pipe, a device).
Clip times are checked against each recording's *decoded* duration.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.errors import Problem
from pipeline.files import not_a_file, resolve_inside
from pipeline.records import Recording, Timeline, seconds_at_most

# A clip may not end past the decoded end: rendering it would silently shorten the
# clip and move everything after it. Only float noise is forgiven.
END_TOLERANCE = 0.001


def resolve_source(recordings_dir: Path, name: str) -> Path | str:
    """The recording's path, or a sentence saying why the name is refused."""
    if Path(name).is_absolute() or name.startswith(("/", "\\")):
        return "is an absolute path; name a file inside the episode's recordings/ folder"
    if "\\" in name:
        return "uses backslashes; write the name with forward slashes (/)"
    # The recordings/ folder must really be in the episode's folder, and the recording
    # really in it: a link out (to another episode, or anywhere) is refused.
    folder = resolve_inside(recordings_dir.parent, recordings_dir.name, "the episode's folder")
    if isinstance(folder, str):
        return f"is in a recordings/ folder that {folder} (it is a link)"
    return resolve_inside(recordings_dir, name, "the episode's recordings/ folder")


def source_problems(
    timeline: Timeline, recordings_dir: Path
) -> tuple[dict[str, Path], list[Problem]]:
    found: dict[str, Path] = {}
    problems: list[Problem] = []
    for clip in timeline.clips:
        if clip.source in found:
            continue
        where = resolve_source(recordings_dir, clip.source)
        if isinstance(where, str):
            problems.append(
                Problem(
                    timeline.edl_path,
                    f"`{clip.source}` {where}.",
                    "Copy the recording into recordings/ and name it here.",
                    clip.line,
                    "source",
                )
            )
            continue
        try:
            kind = not_a_file(os.stat(where).st_mode)
        except OSError:
            kind = None
        if kind is not None:
            problems.append(
                Problem(
                    timeline.edl_path,
                    f"`{clip.source}` is {kind}, not a recording.",
                    "Name a recording file in recordings/ (as it came off the phone).",
                    clip.line,
                    "source",
                )
            )
            continue
        if not where.is_file():
            present = sorted(p.name for p in recordings_dir.glob("*") if p.is_file())
            hint = (
                ("Recordings there: " + ", ".join(present) + ".")
                if present
                else ("The recordings/ folder is empty or missing.")
            )
            problems.append(
                Problem(
                    timeline.edl_path,
                    f"the recording `{clip.source}` is not in {recordings_dir}.",
                    hint,
                    clip.line,
                    "source",
                )
            )
            continue
        found[clip.source] = where
    return found, problems


def time_problems(timeline: Timeline, recordings: dict[str, Recording]) -> list[Problem]:
    problems: list[Problem] = []
    for clip in timeline.clips:
        rec = recordings.get(clip.source)
        if rec is None:
            continue
        if clip.src_in >= rec.duration:
            problems.append(
                Problem(
                    timeline.edl_path,
                    f"`in` ({clip.src_in:g} s) is past the end of `{clip.source}`, which lasts "
                    f"{seconds_at_most(rec.duration)} s when played.",
                    "Check the time against the recording.",
                    clip.line,
                    "in",
                )
            )
        elif clip.src_out > rec.duration + END_TOLERANCE:
            claimed = ""
            if rec.header_duration and rec.header_duration > rec.duration + END_TOLERANCE:
                claimed = (
                    f" (its header claims {seconds_at_most(rec.header_duration)} s, but no more "
                    "decodes: the file is cut off or damaged)"
                )
            problems.append(
                Problem(
                    timeline.edl_path,
                    f"`out` ({clip.src_out:g} s) is past the end of `{clip.source}`, which lasts "
                    f"{seconds_at_most(rec.duration)} s when played{claimed}.",
                    f"End the clip at {seconds_at_most(rec.duration)} or earlier.",
                    clip.line,
                    "out",
                )
            )
    used = {c.source for c in timeline.clips}
    for r in timeline.redactions:
        rec = recordings.get(r.source)
        if r.source not in used:
            problems.append(
                Problem(
                    timeline.edl_path,
                    f"this redaction is for `{r.source}`, but no clip uses that recording, so it "
                    "would hide nothing.",
                    "Check the spelling of `source` against the clips (a redaction that misses "
                    "is how private things slip out).",
                    r.line,
                    "source",
                )
            )
        elif rec is not None and r.start >= rec.duration:
            problems.append(
                Problem(
                    timeline.edl_path,
                    f"this redaction starts at {r.start:g} s, after the end of `{r.source}` "
                    f"({seconds_at_most(rec.duration)} s when played).",
                    "Check the time against the recording.",
                    r.line,
                    "in",
                )
            )
    total = timeline.duration
    bite = timeline.soundbite
    if bite is not None and bite.start + bite.duration > total + END_TOLERANCE:
        problems.append(
            Problem(
                timeline.edl_path,
                f"the soundbite ({bite.start:g} s for {bite.duration:g} s) runs past the end of "
                f"the episode ({seconds_at_most(total)} s).",
                "Soundbite times count from the start of the finished episode.",
                None,
                "soundbite",
            )
        )
    for chapter in timeline.chapters:
        if chapter.start >= total > 0:
            problems.append(
                Problem(
                    timeline.edl_path,
                    f"chapter `{chapter.title}` starts at {chapter.start:g} s but the episode "
                    f"is only {seconds_at_most(total)} s long.",
                    "Chapter times count from the start of the finished episode.",
                    chapter.line,
                    "at",
                )
            )
    return problems
