"""The native EDL: a YAML file contributors read and write by hand.

    clips:
      - source: memo.m4a      # a file in the episode's recordings/ folder
        in: 0:01.5            # seconds, or minutes:seconds
        out: 0:12
        fade_in: 0.5          # optional, seconds
      - source: street.opus
        in: 3
        out: 20.25
        fade_out: 1.5
    chapters:                 # optional, in episode time
      - at: 0
        title: Introductions
    redactions:               # optional, in recording time; hold everywhere
      - source: memo.m4a
        in: 14.2
        out: 14.9
        mode: bleep           # or silence
        replace_with: "[name removed]"   # shown in captions and transcripts
        text: Jordan          # what was said: also scrubbed from titles and chapters

Clips play one after another in the order written; nothing else is added.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.project.yamlfile import Node, Problems, load, read_bytes
from pipeline.records import Chapter, Clip, Episode, Redaction, Soundbite, Timeline

TOP_FIELDS = {"clips", "chapters", "redactions", "soundbite", "notes"}
SOUNDBITE_FIELDS = {"at", "duration", "title"}
REDACTION_FIELDS = {"source", "in", "out", "mode", "replace_with", "text", "note"}
CLIP_FIELDS = {"source", "in", "out", "fade_in", "fade_out", "note"}
CHAPTER_FIELDS = {"at", "title"}


def read(path: Path, episode: Episode | None = None) -> Timeline:
    problems = Problems()
    raw = read_bytes(path, problems)
    root = load(path, problems, raw) if raw is not None else None
    clips: list[Clip] = []
    chapters: list[Chapter] = []
    redactions: list[Redaction] = []
    soundbite: Soundbite | None = None
    if root is not None:
        top = root.mapping(TOP_FIELDS, kind="a storycast EDL")
        if top is not None:
            if "clips" not in top:
                root.problem(
                    "has no `clips:` list.", "List the parts of the recordings to keep.", "clips"
                )
            else:
                clips = _clips(top["clips"])
            if "chapters" in top and not top["chapters"].is_null():
                chapters = _chapters(top["chapters"])
            if "redactions" in top and not top["redactions"].is_null():
                redactions = _redactions(top["redactions"])
            if "soundbite" in top:
                soundbite = _soundbite(top["soundbite"])
    problems.raise_if_any()
    assert raw is not None
    return Timeline(
        edl_path=path,
        # the hash of exactly the bytes parsed, so an approval pins what was checked
        edl_sha256=hashlib.sha256(raw).hexdigest(),
        clips=tuple(clips),
        chapters=tuple(chapters),
        redactions=tuple(redactions),
        soundbite=soundbite,
    )


def _clips(node: Node) -> list[Clip]:
    clips: list[Clip] = []
    start = 0.0
    items = list(node.items())
    if node.is_sequence() and not items:
        node.problem("is an empty list.", "Add at least one clip.")
    for item in items:
        fields = item.mapping(CLIP_FIELDS)
        if fields is None:
            continue
        _require(item, fields, "clip", "Every clip needs source, in and out.")
        source = fields["source"].text() if "source" in fields else None
        t_in = fields["in"].seconds() if "in" in fields else None
        t_out = fields["out"].seconds() if "out" in fields else None
        fade_in = fields["fade_in"].seconds() if "fade_in" in fields else 0.0
        fade_out = fields["fade_out"].seconds() if "fade_out" in fields else 0.0
        if source is None or t_in is None or t_out is None or fade_in is None or fade_out is None:
            continue
        if t_out <= t_in:
            fields["out"].problem(
                f"`out` ({t_out:g} s) is not after `in` ({t_in:g} s).",
                "A clip must end after it starts: swap them or fix the typo.",
            )
            continue
        duration = t_out - t_in
        if fade_in + fade_out > duration + 1e-9:
            item.problem(
                f"the fades ({fade_in:g} s in + {fade_out:g} s out) are longer than "
                f"the clip ({duration:g} s).",
                "Shorten the fades.",
            )
            continue
        clips.append(Clip(source, t_in, t_out, start, fade_in, fade_out, item.line))
        start += duration
    return clips


def _require(item: Node, fields: dict[str, Node], what: str, fix: str) -> list[str]:
    """Report each of source, in and out that ``item`` lacks; return the missing names."""
    missing = [f for f in ("source", "in", "out") if f not in fields]
    for name in missing:
        item.problem(f"this {what} has no `{name}`.", fix, f"{item.field}.{name}")
    return missing


def _chapters(node: Node) -> list[Chapter]:
    chapters: list[Chapter] = []
    for item in node.items():
        fields = item.mapping(CHAPTER_FIELDS)
        if fields is None:
            continue
        if "at" not in fields or "title" not in fields:
            item.problem("a chapter needs `at` (a time in the episode) and `title`.")
            continue
        at = fields["at"].seconds()
        title = fields["title"].text()
        if at is None or title is None:
            continue
        if chapters and at <= chapters[-1].start:
            fields["at"].problem(
                f"this chapter starts at {at:g} s, not after the one before it "
                f"({chapters[-1].start:g} s).",
                "List chapters in the order they happen.",
            )
            continue
        chapters.append(Chapter(at, title, item.line))
    return chapters


def _redactions(node: Node) -> list[Redaction]:
    found: list[Redaction] = []
    for item in node.items():
        fields = item.mapping(REDACTION_FIELDS)
        if fields is None:
            continue
        if _require(
            item,
            fields,
            "redaction",
            "A redaction needs the recording (source) and the range to hide (in, out).",
        ):
            continue
        source = fields["source"].text()
        t_in = fields["in"].seconds()
        t_out = fields["out"].seconds()
        mode = fields["mode"].text() if "mode" in fields else "bleep"
        if mode not in ("bleep", "silence"):
            fields["mode"].problem(f"`{mode}` should be bleep or silence.")
            continue
        replacement = fields["replace_with"].text() if "replace_with" in fields else "[removed]"
        text = fields["text"].text() if "text" in fields else None
        if source is None or t_in is None or t_out is None or replacement is None:
            continue
        if t_out <= t_in:
            fields["out"].problem(
                f"`out` ({t_out:g} s) is not after `in` ({t_in:g} s).",
                "A redaction must end after it starts.",
            )
            continue
        found.append(
            Redaction(
                source,
                t_in,
                t_out,
                "silence" if mode == "silence" else "bleep",
                replacement,
                item.line,
                text,
            )
        )
    return found


def _soundbite(node: Node) -> Soundbite | None:
    fields = node.mapping(SOUNDBITE_FIELDS)
    if fields is None:
        return None
    if "at" not in fields or "duration" not in fields:
        node.problem("a soundbite needs `at` (episode time) and `duration` (seconds).")
        return None
    at = fields["at"].seconds()
    duration = fields["duration"].seconds()
    title = fields["title"].text() if "title" in fields else None
    if at is None or duration is None:
        return None
    if duration <= 0:
        fields["duration"].problem("must be more than 0 seconds.")
        return None
    return Soundbite(at, duration, title)
