"""OpenTimelineIO files (``.otio``) as EDLs.

What storycast takes from the timeline
    * **The track**: the first enabled audio track (or, in a timeline with no
      audio tracks, the first enabled track). Other enabled audio tracks must
      hold the same clips (a copy for the other channel) or nothing: different
      material on two tracks at once would need mixing, which a Timeline
      cannot say.
    * **Clips** play one after another in the track's order. Each clip's
      recording is found from its clip name or its media file: a name listed
      under ``reels:`` in episode.yaml wins; otherwise the media file's name
      (the part after ``recordings/`` in its path, or just the file name) is
      the recording.
    * **Source in/out** come from the clip's source range, counted from the
      start of the media: when the media reference has an available range
      (media that starts at timecode 01:00:00:00, say), its start is
      subtracted; otherwise the reel's ``start:`` from episode.yaml is, if any.
    * **Chapters** come from markers: on the timeline's stack or the track
      (already in episode time) and on clips (in the clip's source time,
      carried into the episode through the clip). The marker's name is the
      chapter's title.
    * Gaps, disabled clips (they leave silence), transitions, nested
      sequences, generated media and speed changes are refused with the clip's
      line: storycast plays recordings back to back as they are. Other effects
      (such as a volume change) are ignored; loudness is set for the whole
      episode.

Problems name the JSON line of the clip or track they are about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opentimelineio as otio
import yaml

from pipeline import defaults
from pipeline.edl.common import file_name, is_file_name, lookup, read_source, reels_hint
from pipeline.errors import InputError, Problem
from pipeline.project.yamlfile import Problems
from pipeline.records import Chapter, Clip, Episode, Reel, Timeline

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CLIP = re.compile(r'"OTIO_SCHEMA"\s*:\s*"Clip\.')


@dataclass(frozen=True)
class _Lines:
    """JSON line numbers of tracks and of the items in them."""

    tracks: dict[int, int]
    items: dict[tuple[int, int], int]

    def track(self, i: int) -> int | None:
        return self.tracks.get(i)

    def item(self, i: int, j: int) -> int | None:
        return self.items.get((i, j), self.tracks.get(i))


def read(path: Path, episode: Episode | None = None) -> Timeline:
    text, digest = read_source(path)
    problems = Problems()
    _count_clips(path, text)
    timeline = _load(path, text)
    lines = _json_lines(text)
    tracks = list(timeline.tracks)
    index = _choose_track(path, tracks, lines, problems)
    clips: list[Clip] = []
    chapters: list[tuple[float, str, int | None]] = []
    if index is not None:
        track = tracks[index]
        if len(track) > defaults.MAX_EDL_CLIPS:
            raise _too_many(path, lines.item(index, defaults.MAX_EDL_CLIPS))
        clips = _clips(path, track, index, lines, episode, problems, chapters)
        total = clips[-1].end if clips else 0.0
        for marker in list(timeline.tracks.markers) + list(track.markers):
            at = float(marker.marked_range.start_time.to_seconds())
            chapters.append((at, str(marker.name), lines.track(index)))
        ordered = _chapters(path, chapters, total, problems)
        if not clips and not problems:
            problems.add(
                Problem(
                    path,
                    f"the track `{track.name}` has no clips, so there is nothing to play.",
                    "Export the timeline again with its audio.",
                    lines.track(index),
                )
            )
    else:
        ordered = []
    problems.raise_if_any()
    return Timeline(edl_path=path, edl_sha256=digest, clips=tuple(clips), chapters=tuple(ordered))


def _too_many(path: Path, line: int | None) -> InputError:
    limit = defaults.MAX_EDL_CLIPS
    return InputError(
        Problem(
            path,
            f"this timeline has more than {limit:,} clips; storycast reads at most {limit:,} "
            "clips in an EDL, so the file was not read.",
            "Check it is the right file; an episode of that many clips would be days long.",
            line,
        )
    )


def _count_clips(path: Path, text: str) -> None:
    """Refuse a file of more than ``defaults.MAX_EDL_CLIPS`` clips before opentimelineio
    builds them all, by counting their schema names in the text (cheap, and stopping
    at the first one too many). What hides its clips from this is counted once built."""
    for count, found in enumerate(_CLIP.finditer(text), start=1):
        if count > defaults.MAX_EDL_CLIPS:
            raise _too_many(path, text.count("\n", 0, found.start()) + 1)


def _load(path: Path, text: str) -> Any:
    try:
        loaded = otio.adapters.read_from_string(text, adapter_name="otio_json")
    except (otio.exceptions.OTIOError, ValueError, TypeError, KeyError, LookupError) as exc:
        message = str(exc)
        line = None
        for marker in ("(line ", "(near line "):
            at = message.rfind(marker)
            digits = message[at + len(marker) :].split(",")[0].rstrip(")") if at >= 0 else ""
            line = int(digits) if digits.isdigit() else line
        # JSON syntax errors describe only the syntax; others may quote names from the
        # file, which may be anything, so they are not shown.
        syntax = message.partition("JSON parse error on input string: ")[2].partition(" (")[0]
        detail = f" ({syntax.rstrip('.')})" if syntax else ""
        raise InputError(
            Problem(
                path,
                f"is not an OpenTimelineIO file storycast can read{detail}.",
                "Export the timeline again from your editor as OpenTimelineIO (.otio).",
                line,
            )
        ) from exc
    if not isinstance(loaded, otio.schema.Timeline):
        kind = getattr(loaded, "schema_name", lambda: type(loaded).__name__)()
        raise InputError(
            Problem(
                path,
                f"holds a {kind}, not a timeline.",
                "Export one timeline (sequence) from your editor.",
                1,
            )
        )
    return loaded


def _json_lines(text: str) -> _Lines:
    """Where each track and track item starts in the JSON text (JSON is YAML to a parser
    that keeps line marks); empty if the text is unusual enough to defeat that."""
    tracks: dict[int, int] = {}
    items: dict[tuple[int, int], int] = {}
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        return _Lines(tracks, items)
    stack = _field(root, "tracks")
    for i, track in enumerate(_sequence(_field(stack, "children"))):
        tracks[i] = _first_line(track)
        for j, item in enumerate(_sequence(_field(track, "children"))):
            items[(i, j)] = _first_line(item)
    return _Lines(tracks, items)


def _first_line(node: yaml.Node) -> int:
    """The line of an object's first field (`"OTIO_SCHEMA": "Clip.2"`), not of its `{`."""
    if isinstance(node, yaml.MappingNode) and node.value:
        return int(node.value[0][0].start_mark.line) + 1
    return int(node.start_mark.line) + 1


def _field(node: yaml.Node | None, name: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == name:
                return value  # type: ignore[no-any-return]
    return None


def _sequence(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _choose_track(path: Path, tracks: list[Any], lines: _Lines, problems: Problems) -> int | None:
    enabled = [i for i, t in enumerate(tracks) if t.enabled]
    audio = [i for i in enabled if tracks[i].kind == otio.schema.TrackKind.Audio]
    candidates = audio or enabled
    if not candidates:
        problems.add(
            Problem(
                path,
                "has no tracks (or only disabled ones), so there is nothing to play.",
                "Export the timeline again with its audio tracks switched on.",
            )
        )
        return None
    chosen = candidates[0]
    mine = _signature(tracks[chosen])
    for other in audio[1:]:
        theirs = _signature(tracks[other])
        if theirs and theirs != mine:
            problems.add(
                Problem(
                    path,
                    f"audio tracks `{tracks[chosen].name}` and `{tracks[other].name}` both hold "
                    "clips, and different ones; storycast makes one sequence of clips and "
                    "cannot mix two tracks.",
                    "Put everything on one audio track (or mix down) and export again.",
                    lines.track(other),
                )
            )
    if tracks[chosen].source_range is not None:
        problems.add(
            Problem(
                path,
                f"the track `{tracks[chosen].name}` is trimmed (it has a source range), which "
                "storycast does not read.",
                "Export the timeline again without trimming the track.",
                lines.track(chosen),
            )
        )
    return chosen


def _signature(track: Any) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for item in track:
        if isinstance(item, otio.schema.Gap):
            continue
        ref = getattr(item, "media_reference", None)
        found.append(
            (
                type(item).__name__,
                str(getattr(item, "source_range", "")),
                str(getattr(ref, "target_url", getattr(item, "name", ""))),
            )
        )
    return found


def _clips(
    path: Path,
    track: Any,
    index: int,
    lines: _Lines,
    episode: Episode | None,
    problems: Problems,
    chapters: list[tuple[float, str, int | None]],
) -> list[Clip]:
    clips: list[Clip] = []
    start = 0.0
    for j, item in enumerate(track):
        line = lines.item(index, j)
        where = f"{track.name or 'track'}[{j + 1}]"

        def add(message: str, fix: str, line: int | None = line, where: str = where) -> None:
            problems.add(Problem(path, message, fix, line, where))

        if isinstance(item, otio.schema.Gap) or (
            isinstance(item, otio.schema.Clip) and not item.enabled
        ):
            seconds = float(item.duration().to_seconds())
            if seconds <= 0:
                continue
            what = "a gap" if isinstance(item, otio.schema.Gap) else "a switched-off clip"
            add(
                f"there is {what} of {seconds:.2f} s here. storycast plays clips back to back "
                "and cannot play silence, so everything after it would move earlier.",
                "Close the gap in your editor (or delete the switched-off clip), or fill it "
                "with a recording of room tone.",
            )
            continue
        if isinstance(item, otio.schema.Transition):
            add(
                "this is a transition (such as a crossfade), which mixes two recordings into "
                "each other; storycast plays clips one after another, cut to cut.",
                "Make it a cut in your editor, or use fade_in/fade_out in a YAML EDL.",
            )
            continue
        if isinstance(item, otio.schema.Track | otio.schema.Stack):
            add(
                f"this is a nested {item.schema_name()} (a sequence inside the sequence); "
                "storycast reads one flat track of clips.",
                "Flatten or un-nest it in your editor and export again.",
            )
            continue
        if not isinstance(item, otio.schema.Clip):
            add(
                f"this is a `{item.schema_name()}`, which storycast does not know how to play.",
                "Replace it with a clip of a recording, or remove it.",
            )
            continue
        clip = _clip(path, item, where, line, start, episode, problems)
        if clip is None:
            continue
        clips.append(clip)
        for marker in item.markers:
            at = float(marker.marked_range.start_time.to_seconds())
            src_in = float(item.trimmed_range().start_time.to_seconds())
            chapters.append((clip.start + at - src_in, str(marker.name), line))
        start += clip.duration
    return clips


def _clip(
    path: Path,
    item: Any,
    where: str,
    line: int | None,
    start: float,
    episode: Episode | None,
    problems: Problems,
) -> Clip | None:
    def add(message: str, fix: str) -> None:
        problems.add(Problem(path, message, fix, line, where))

    for effect in item.effects:
        if isinstance(effect, otio.schema.TimeEffect):
            add(
                f"the clip `{item.name}` changes speed or freezes ({effect.schema_name()}); "
                "storycast never stretches or squeezes what people said.",
                "Remove the speed change in your editor.",
            )
            return None
    ref = item.media_reference
    if isinstance(ref, otio.schema.GeneratorReference | otio.schema.ImageSequenceReference):
        add(
            f"the clip `{item.name}` is not a recording ({ref.schema_name()}); storycast "
            "only plays recordings.",
            "Replace it with a recording, or remove it.",
        )
        return None
    try:
        source = item.trimmed_range()
    except otio.exceptions.OTIOError:
        add(
            f"the clip `{item.name}` says neither which part of the recording it plays "
            "(no source range) nor how long the recording is.",
            "Export the timeline again from your editor.",
        )
        return None
    url = ref.target_url if isinstance(ref, otio.schema.ExternalReference) else ""
    media_name = file_name(url) if url else ""
    reel: Reel | None = None
    for name in (item.name, media_name):
        if episode is not None and name and name in episode.reels:
            reel = episode.reels[name]
            break
    if reel is None:
        for name in (media_name, item.name):
            if name and is_file_name(name):
                reel = lookup(name, episode)
                break
    if reel is None:
        add(
            f"the clip `{item.name}`"
            + (f" (media `{url}`)" if url else " (no media file)")
            + " names no recording.",
            reels_hint(episode, item.name or "clip"),
        )
        return None
    offset = 0.0
    available = getattr(ref, "available_range", None)
    if available is not None:
        offset = float(available.start_time.to_seconds())
    elif reel.start_timecode:
        try:
            rate = source.start_time.rate
            offset = float(otio.opentime.from_timecode(reel.start_timecode, rate).to_seconds())
        except ValueError as exc:
            add(
                f"the reel's `start:` timecode in episode.yaml ({reel.start_timecode}) cannot "
                f"be read at this clip's rate of {rate:g} fps ({exc}).",
                'Write it like "01:00:00:00", at the timeline\'s frame rate.',
            )
            return None
    src_in = float(source.start_time.to_seconds()) - offset
    duration = float(source.duration.to_seconds())
    if src_in < -1e-9:
        add(
            f"the clip `{item.name}` starts {-src_in:.3f} s before the beginning of "
            f"`{reel.recording}`.",
            "Check the recording's start timecode in your editor and in episode.yaml.",
        )
        return None
    if duration <= 0:
        return None
    src_in = max(src_in, 0.0)
    return Clip(reel.recording, src_in, src_in + duration, start, line=line)


def _chapters(
    path: Path,
    found: list[tuple[float, str, int | None]],
    total: float,
    problems: Problems,
) -> list[Chapter]:
    chapters: list[Chapter] = []
    for at, title, line in sorted(found, key=lambda c: c[0]):
        if not title.strip():
            problems.add(
                Problem(
                    path,
                    f"the marker at {at:.2f} s has no name; a marker starts a chapter, and its "
                    "name is the chapter's title.",
                    "Name the marker in your editor and export again.",
                    line,
                    "markers",
                )
            )
            continue
        if not 0 <= at + 1e-9 < total:
            problems.add(
                Problem(
                    path,
                    f"the marker `{title}` is at {at:.2f} s, outside the episode "
                    f"(0 to {total:.2f} s).",
                    "Move the marker onto a clip you keep.",
                    line,
                    "markers",
                )
            )
            continue
        at = max(at, 0.0)
        if chapters and abs(at - chapters[-1].start) < 1e-6:
            if chapters[-1].title != title:
                problems.add(
                    Problem(
                        path,
                        f"the markers `{chapters[-1].title}` and `{title}` are at the same "
                        f"moment ({at:.2f} s), so two chapters would start together.",
                        "Keep one of them.",
                        line,
                        "markers",
                    )
                )
            continue
        chapters.append(Chapter(at, title.strip(), line))
    return chapters
