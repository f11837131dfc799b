"""CMX 3600 EDLs (``.edl``), read with opentimelineio's ``cmx_3600`` adapter.

An event line looks like this (number, reel, channels, edit, source in/out,
record in/out), followed by comment lines::

    001  TAPE01   AA    C        01:00:12:10 01:00:47:05 00:00:00:00 00:00:34:20
    * FROM CLIP NAME: Sam interview
    * LOC: 00:00:02:00 RED     Moving in

What storycast takes from it
    * **Which recording.** The event's reel name and its clip name (from
      ``* FROM CLIP NAME:``) are looked up under ``reels:`` in episode.yaml, which
      maps each to a recording and, with ``start:``, to the recording's first
      timecode. If both are listed they must agree. A name that looks like a
      file (a clip name ``interview.m4a``, or the file named by ``* FROM CLIP:`` /
      ``* FROM FILE:``) is taken as the recording itself, starting at 00:00:00:00.
      The reel name ``AX`` (an unnamed source) is never looked up.
    * **Source in/out**: the source timecodes minus the recording's first
      timecode (``start:`` under ``reels:``, default 00:00:00:00). So with
      ``start: "01:00:00:00"`` the source timecode 01:00:12:10 at 25 fps is
      12.4 s into the file.
    * **Order**: record timecodes. The first sound event starts the episode;
      each next one must start exactly where the one before ends. A Timeline
      plays clips back to back and cannot play silence, so a gap in record time
      is refused (closing it would move everything after it); so are overlaps.
    * **Sound only**: events on audio channels (A, A2, AA, B, ...) are the
      episode; video-only events (V) are left out, and a Timeline note names
      them. If several audio tracks carry clips they must carry the same ones (a
      stereo pair such as AA); different material on two tracks at once would
      need mixing, which a Timeline cannot say.
    * **Chapters** come from ``* LOC:`` locator comments. Their timecode is a
      record timecode (where the marker sits in the edited programme, as Avid
      writes them), so a chapter starts at that timecode minus the first
      event's record in. The locator's text is the title.
    * Dissolves, wipes and keys (mixing two sources), speed changes (``M2``),
      freeze frames, split edits and black/bars (``BL``, ``BARS``) are refused
      with a message naming the event: storycast plays recordings as they are,
      cut to cut, and never stretches or mixes them.

Frame rate
    Timecodes count frames, so the rate must be known: ``frame_rate:`` in
    episode.yaml ("23.976", "24", "25", "29.97" or "30"). "29.97" means drop-frame
    (timecodes written with ``;`` or after ``FCM: DROP FRAME``; ``:`` timecodes are
    read as drop-frame too). Without ``frame_rate:``, an EDL with drop-frame
    timecodes is read at 29.97; any other at the rate it shows (``infer_rate``: an
    editor's comment, frame numbers a rate cannot have, the one rate at which every
    event's source and programme lengths agree), said in a Timeline note; if nothing
    shows it, 25 is assumed and said, and lengths that disagree at the assumed rate
    are one problem (set ``frame_rate:``), not one per event. A timecode the rate
    cannot have (frame 27 at 25 fps, ``;`` at 25 fps, ``FCM: NON-DROP FRAME`` at
    29.97) is reported as the frame rate disagreeing with episode.yaml.

opentimelineio's errors carry no line numbers; storycast checks each event
itself first and reports every problem with its file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import opentimelineio as otio

from pipeline import defaults
from pipeline.edl.common import file_name, is_file_name, lookup, read_source, reels_hint
from pipeline.errors import InputError, Problem
from pipeline.project.timecode import DEFAULT_RATE, DROP_FRAME_RATE, RATES, Rate
from pipeline.project.yamlfile import Problems
from pipeline.records import Chapter, Clip, Episode, Reel, Timeline

_TC = re.compile(r"^(\d{1,2})[:.](\d{2})[:.](\d{2})([:;.,])(\d{2})$")


_EVENT = re.compile(r"^(\d+)\s")


_LOC = re.compile(r"^\*\s*LOC:\s*(\S+)(?:\s+(\S+))?\s*(.*)$", re.IGNORECASE)


_MEDIA = re.compile(r"^\*\s*(?:FROM CLIP|FROM FILE)\s*:\s*(.+)$", re.IGNORECASE)


_CLIP_NAME = re.compile(r"^\*\s*FROM CLIP NAME\s*:\s*(.*)$", re.IGNORECASE)


# Channel codes as opentimelineio's adapter expands them into tracks.
_CHANNELS: dict[str, list[str]] = {
    "A": ["A1"],
    "AA": ["A1", "A2"],
    "B": ["V", "A1"],
    "A2/V": ["V", "A2"],
    "AA/V": ["V", "A1", "A2"],
}


_SPECIAL_REELS = {"BL": "black (BL)", "BLACK": "black (BLACK)", "BARS": "colour bars (BARS)"}


_EXAMPLE = "`001  TAPE01  A  C  01:00:00:00 01:00:10:00 00:00:00:00 00:00:10:00`"


@dataclass
class Event:
    """One numbered event as written, with where it is in the file."""

    number: str
    line: int
    text: str
    fields: list[str]
    comments: list[tuple[int, str]] = field(default_factory=list)
    transition_line: int | None = None
    transition_fields: list[str] = field(default_factory=list)
    # Filled in when the event checks out: frames at the EDL's rate.
    src_in: int = 0
    src_out: int = 0
    rec_in: int = 0
    rec_out: int = 0
    timed: bool = False  # its four timecodes were read

    @property
    def reel(self) -> str:
        return self.fields[1]

    @property
    def tracks(self) -> list[str]:
        code = self.fields[2].upper()
        return _CHANNELS.get(code, [code])

    @property
    def audio_tracks(self) -> list[str]:
        return [t for t in self.tracks if t.startswith("A")]

    def tc(self, index: int) -> str:
        return self.fields[4 + index]

    def signature(self) -> tuple[str, int, int, int, int]:
        return (self.reel, self.src_in, self.src_out, self.rec_in, self.rec_out)


def read(path: Path, episode: Episode | None = None) -> Timeline:
    text, digest = read_source(path)
    problems = Problems()
    lines = text.splitlines()
    events, fcm, header = _scan(path, lines, problems)
    stated = _rate(path, events, fcm, episode, problems)
    chosen = infer_rate(events, header) if stated is None else None
    rate = chosen.rate if chosen is not None else stated
    assert rate is not None
    declared = episode is not None and episode.frame_rate is not None
    squeezed: list[Event] = []
    for event in events:
        _check_event(path, event, rate, declared, problems, squeezed)
    if chosen is not None and squeezed:
        problems.add(_rate_not_stated(path, chosen, squeezed))
    elif len(squeezed) >= SAME_CAUSE:
        problems.add(_rate_disagrees(path, rate, declared, events, squeezed))
    else:
        problems.items += [_squeezed(path, event) for event in squeezed]
    track = _sound_events(path, events, problems)
    _check_continuous(path, track, rate, problems)
    _in_line_order(problems)
    problems.raise_if_any()

    clips_otio = _parse_with_otio(path, lines, events, rate, track)
    clips = _clips(path, track, clips_otio, rate, episode, problems)
    chapters = _chapters(path, events, track, rate, problems)
    _in_line_order(problems)
    problems.raise_if_any()
    notes = [chosen.note] if chosen is not None and chosen.note else []
    notes += _left_out(path, events, track)
    return Timeline(
        edl_path=path,
        edl_sha256=digest,
        clips=tuple(clips),
        chapters=tuple(chapters),
        notes=tuple(notes),
    )


def _left_out(path: Path, events: list[Event], track: list[Event]) -> list[str]:
    """A note naming the picture-only events of an EDL whose episode is its sound."""
    if not track:
        return []
    left = [e for e in events if not e.audio_tracks]
    if not left:
        return []
    named = ", ".join(f"{e.number} (line {e.line})" for e in left[:10])
    more = f" and {len(left) - 10} more" if len(left) > 10 else ""
    one = len(left) == 1
    return [
        f"{path.name}: event{'' if one else 's'} {named}{more} "
        f"{'is' if one else 'are'} on the video channel only (V), so "
        f"{'it is' if one else 'they are'} not in the episode: storycast takes the EDL's "
        "sound events (A, AA, B...). If the episode should have that sound, put it on an "
        "audio track in your editor and export again."
    ]


def _in_line_order(problems: Problems) -> None:
    problems.items.sort(key=lambda p: p.line or 0)


def _scan(
    path: Path, lines: list[str], problems: Problems
) -> tuple[list[Event], list[tuple[int, bool]], list[tuple[int, str]]]:
    """Events with their comment lines, every FCM line as (line, drop-frame?), and the
    TITLE and comment lines before the first event."""
    events: list[Event] = []
    fcm: list[tuple[int, bool]] = []
    header: list[tuple[int, str]] = []
    for number, raw_line in enumerate(lines, start=1):
        line = raw_line.strip()
        if not line:
            continue
        upper = line.upper()
        if upper.startswith("FCM"):
            fcm.append((number, "NON" not in upper and "DROP" in upper))
            continue
        if upper.startswith("TITLE:"):
            header.append((number, line))
            continue
        if upper.startswith("SPLIT"):
            problems.add(
                Problem(
                    path,
                    "this is a split edit (sound and picture cut at different moments); "
                    "storycast cannot read those.",
                    "Export the sound on its own as an EDL of audio events (A, AA).",
                    number,
                )
            )
            continue
        m = _EVENT.match(line)
        if m:
            if events and int(events[-1].number) == int(m.group(1)):
                # The same number again: the second half of a transition.
                events[-1].transition_line = number
                events[-1].transition_fields = line.split()
            else:
                if len(events) >= defaults.MAX_EDL_CLIPS:
                    raise InputError(_too_many(path, number))
                events.append(Event(m.group(1), number, line, line.split()))
        elif events:
            events[-1].comments.append((number, line))
        elif line.startswith("*"):
            header.append((number, line))
        else:
            # Not quoted: a file that is not an EDL at all may be anything.
            problems.add(
                Problem(
                    path,
                    "storycast does not understand this line: before the first event, a CMX "
                    "3600 EDL has only TITLE:, FCM: and comment (*) lines.",
                    f"Check it is the right file; after those lines come numbered events like "
                    f"{_EXAMPLE}.",
                    number,
                )
            )
    if not events and not problems:
        problems.add(
            Problem(
                path,
                "has no events: a CMX 3600 EDL lists numbered events like " + _EXAMPLE + ".",
                "Export the EDL again from your editor (CMX 3600 format).",
            )
        )
    return events, fcm, header


def _too_many(path: Path, line: int) -> Problem:
    limit = defaults.MAX_EDL_CLIPS
    return Problem(
        path,
        f"this EDL has more than {limit:,} events; storycast reads at most {limit:,} "
        "clips in an EDL, so the file was not read.",
        "Check it is the right file; an episode of that many clips would be days long.",
        line,
    )


def _rate(
    path: Path,
    events: list[Event],
    fcm: list[tuple[int, bool]],
    episode: Episode | None,
    problems: Problems,
) -> Rate | None:
    """The rate episode.yaml gives (checked against the EDL), or 29.97 for an EDL in
    drop-frame timecode; None when neither says (``infer_rate`` then looks)."""
    declared = episode.frame_rate if episode is not None else None
    semicolon = next(
        (e.line for e in events if any(";" in f for f in e.fields[4:] + e.transition_fields[5:])),
        None,
    )
    drop_fcm = next((line for line, drop in fcm if drop), None)
    non_drop_fcm = next((line for line, drop in fcm if not drop), None)
    drop_line = drop_fcm or semicolon
    if declared is None:
        return RATES[DROP_FRAME_RATE] if drop_line is not None else None
    rate = RATES.get(declared)
    if rate is None:
        problems.add(
            Problem(
                path,
                f"episode.yaml says frame_rate: {declared}, which is not a timecode rate "
                "storycast can read EDLs at.",
                "Use one of: " + ", ".join(RATES) + " (29.97 means drop-frame).",
                None,
                "frame_rate",
            )
        )
        return RATES[DEFAULT_RATE]
    if not rate.drop and drop_line is not None:
        why = "`FCM: DROP FRAME`" if drop_line == drop_fcm else "`;` in its timecodes"
        problems.add(
            Problem(
                path,
                f"the frame rate disagrees: this EDL uses drop-frame timecode ({why}), which "
                f"only 29.97 fps has, but episode.yaml says frame_rate: {rate.name}.",
                "Set `frame_rate: 29.97` in episode.yaml if the editing project was 29.97 fps, "
                f"or export the EDL again from a {rate.name} fps project.",
                drop_line,
                "frame_rate",
            )
        )
    if rate.drop and non_drop_fcm is not None:
        problems.add(
            Problem(
                path,
                "the frame rate disagrees: this EDL says `FCM: NON-DROP FRAME`, but episode.yaml "
                "says frame_rate: 29.97, which storycast reads as drop-frame.",
                "Export the EDL with drop-frame timecode, or set `frame_rate:` in episode.yaml "
                "to the project's real rate (24, 25 or 30).",
                non_drop_fcm,
                "frame_rate",
            )
        )
    return rate


@dataclass(frozen=True)
class RateChoice:
    """The rate an EDL that names none is read at, and what showed it."""

    rate: Rate
    why: str  # "..., so storycast read it at R fps" follows
    assumed: bool  # nothing in the EDL singled it out
    note: str  # for the contributors, when it is read without a problem


# Editors' comments that state the rate: "* FPS: 24", "* FRAME RATE: 23.976",
# "TITLE: Interview (24 fps)", "* 25 FPS".
_STATED = re.compile(
    r"(?:FRAME\s*RATE|FPS)\s*[:=]?\s*(\d+(?:\.\d+)?)\b|(\d+(?:\.\d+)?)\s*FPS\b", re.IGNORECASE
)
_GUESSES = ("24", "25", "30")  # what frames-per-timecode-second can show (23.976 counts as 24)
SAME_CAUSE = 3  # this many events stretched at a stated rate are said as one problem


def _timecode_parts(tc: str) -> tuple[int, int] | None:
    """(whole seconds, frame number) of a timecode, or None if it is not one."""
    m = _TC.match(tc.strip())
    if not m:
        return None
    hh, mm, ss, ff = (int(m.group(i)) for i in (1, 2, 3, 5))
    return (hh * 60 + mm) * 60 + ss, ff


_Row = tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]


def _complete(events: list[Event]) -> list[_Row]:
    """Each event's four timecodes as (seconds, frame), for the events that have four."""
    rows: list[_Row] = []
    for event in events:
        if len(event.fields) != 8:
            continue
        parts = [_timecode_parts(event.tc(i)) for i in range(4)]
        if all(p is not None for p in parts):
            rows.append(tuple(parts))  # type: ignore[arg-type]
    return rows


def _agreeing(rows: list[_Row], rate: Rate) -> int:
    """How many events' source and programme lengths agree at ``rate`` (non-drop)."""
    n = rate.nominal
    count = 0
    for (s_in, f_in), (s_out, f_out), (r_in, fr_in), (r_out, fr_out) in rows:
        count += (s_out - s_in) * n + f_out - f_in == (r_out - r_in) * n + fr_out - fr_in
    return count


def infer_rate(events: list[Event], header: list[tuple[int, str]]) -> RateChoice:
    """The rate of an EDL in non-drop timecode that names none in episode.yaml, from what
    the EDL shows: a comment stating it; frame numbers a rate cannot have (frame 24 rules
    out 24 fps, frame 25 or more rules out 25); and which rate makes every event's source
    and programme lengths agree (a cut never stretches). Otherwise 25, said to be assumed."""
    timecodes = [(e, [e.tc(i) for i in range(4)]) for e in events if len(e.fields) == 8]
    parts = [[_timecode_parts(tc) for tc in tcs] for _, tcs in timecodes]
    locators = [
        _timecode_parts(m.group(1)) for e in events for _, c in e.comments if (m := _LOC.match(c))
    ]
    seen = [p[1] for row in parts for p in row if p] + [p[1] for p in locators if p]
    top = max(seen, default=0)
    possible = [RATES[r] for r in _GUESSES if top < RATES[r].nominal]
    ruled_out = f"frame {top:02d} cannot exist at {'24 or 25' if top >= 25 else '24'} fps"

    # Not clip or file names, nor locator titles: a clip filmed at 50 fps says nothing
    # of the project's rate.
    comments = header + [
        (line, text)
        for e in events
        for line, text in e.comments
        if not (_MEDIA.match(text) or _CLIP_NAME.match(text) or _LOC.match(text))
    ]
    for line, text in comments:
        m = _STATED.search(text)
        stated = RATES.get((m.group(1) or m.group(2)).rstrip("0").rstrip(".")) if m else None
        if stated is not None and not stated.drop and top < stated.nominal:
            why = f"as the comment on line {line} says"
            return RateChoice(stated, why, False, _rate_note(stated, why))

    complete = _complete(events)
    counts = {r.name: _agreeing(complete, r) for r in possible}
    fitting = [r for r in possible if counts[r.name] == len(complete)]
    best = max(counts.values(), default=0)
    leaders = [r for r in possible if counts[r.name] == best]
    first = f"{ruled_out}, and " if top >= 24 else ""
    if len(fitting) == 1 and len(possible) > 1:
        rate = fitting[0]
        why = first + (
            f"{rate.name} fps is the only rate at which every event's source and programme "
            "lengths agree"
        )
        return RateChoice(rate, why, False, _rate_note(rate, why))
    if len(possible) == 1:
        rate = possible[0]
        return RateChoice(rate, ruled_out, False, _rate_note(rate, ruled_out))
    if not fitting and len(leaders) == 1 and best > 0:
        rate = leaders[0]
        why = first + (
            f"{rate.name} fps is the rate at which most events' source and programme lengths "
            f"agree ({best} of {len(complete)})"
        )
        return RateChoice(rate, why, False, _rate_note(rate, why))
    likely = fitting or possible or [RATES[DEFAULT_RATE]]
    rate = RATES[DEFAULT_RATE] if RATES[DEFAULT_RATE] in likely else likely[0]
    why = "nothing in it shows the rate"
    shown = f" ({ruled_out})" if top >= 24 else ""
    note = (
        f"this EDL does not say its frame rate and its timecodes fit more than one{shown}, so "
        f"storycast assumed {rate.name} fps. Set `frame_rate:` in episode.yaml to the editing "
        "project's rate (23.976, 24, 25, 29.97 or 30) to be sure the clip times are right."
    )
    return RateChoice(rate, why, True, note)


def _rate_note(rate: Rate, why: str) -> str:
    twin = (
        " (23.976 fps counts frames the same way: if the project was 23.976, say so)"
        if rate.name == "24"
        else ""
    )
    return (
        f"episode.yaml has no `frame_rate:`, so storycast read this EDL at {rate.name} fps, "
        f"{why}{twin}. If the editing project had another rate, set `frame_rate:` in "
        "episode.yaml."
    )


def _rate_not_stated(path: Path, chosen: RateChoice, squeezed: list[Event]) -> Problem:
    """One problem for every event whose lengths disagree at a rate nobody stated."""
    first = squeezed[0]
    more = _others(squeezed)
    read = (
        f"assumed {chosen.rate.name} fps ({chosen.why}):"
        if chosen.assumed
        else f"read it at {chosen.rate.name} fps, {chosen.why}:"
    )
    return Problem(
        path,
        f"episode.yaml has no `frame_rate:`, so storycast {read} at that rate event "
        f"{first.number}'s source part is {first.src_out - first.src_in} frames long but its "
        f"place in the programme is {first.rec_out - first.rec_in} frames{more}. That would "
        "stretch or squeeze the recording, so the rate is probably not the editing project's.",
        "Set `frame_rate:` in episode.yaml to the editing project's rate (23.976, 24, 25, "
        "29.97 or 30). If that is the rate, your editor changed the speed of these events: "
        "remove the speed change and export the EDL again.",
        first.line,
        "frame_rate",
    )


def frames(tc: str, rate: Rate) -> int | str:
    """Frames since 00:00:00:00, or a sentence saying what is wrong with the timecode."""
    m = _TC.match(tc.strip())
    if not m:
        return f"`{tc}` is not a timecode (hours:minutes:seconds:frames, like 01:00:12:10)"
    hh, mm, ss, ff = (int(m.group(i)) for i in (1, 2, 3, 5))
    if mm > 59 or ss > 59:
        return f"`{tc}` is not a timecode: minutes and seconds go up to 59"
    if ff >= rate.nominal:
        return (
            f"the frame rate disagrees: `{tc}` has frame {ff}, but at {rate.name} fps frames "
            f"count 00 to {rate.nominal - 1}"
        )
    if rate.drop and ss == 0 and ff < 2 and mm % 10 != 0:
        return (
            f"`{tc}` does not exist in drop-frame timecode (frames 00 and 01 are skipped at "
            "the start of each minute, except every tenth)"
        )
    normal = f"{hh:02d}:{mm:02d}:{ss:02d}{';' if rate.drop else ':'}{ff:02d}"
    try:
        return int(otio.opentime.from_timecode(normal, rate.fps).value)
    except ValueError as exc:
        return f"`{tc}` is not a timecode opentimelineio can read ({exc})"


def _seconds(frame_count: int, rate: Rate) -> float:
    return float(otio.opentime.RationalTime(frame_count, rate.fps).to_seconds())


def _tc_text(frame_count: int, rate: Rate) -> str:
    return str(
        otio.opentime.to_timecode(otio.opentime.RationalTime(frame_count, rate.fps), rate.fps)
    )


def _rate_fix(rate: Rate, episode_rate_known: bool) -> str:
    if episode_rate_known:
        return (
            f"episode.yaml says frame_rate: {rate.name}; set it to the editing project's rate, "
            "or export the EDL again."
        )
    return (
        f"episode.yaml has no `frame_rate:`, so storycast read this at {rate.name} fps; add "
        "`frame_rate:` with the editing project's rate (23.976, 24, 25, 29.97 or 30)."
    )


def _check_event(
    path: Path,
    event: Event,
    rate: Rate,
    declared: bool,
    problems: Problems,
    squeezed: list[Event],
) -> None:
    """Every problem of one event. An event whose source and programme lengths disagree
    goes into ``squeezed``, so that when many do, the one likely cause (the rate) is said
    once, not once an event."""
    where = f"event {event.number}"

    def add(message: str, fix: str = "", name: str | None = None, line: int | None = None) -> None:
        problems.add(
            Problem(path, message, fix, line or event.line, f"{where}.{name}" if name else where)
        )

    if event.transition_line is not None:
        kind = (event.transition_fields + ["", "", "", ""])[3].upper()
        what = {"D": "a dissolve (D)"}.get(kind, "a wipe" if kind.startswith("W") else None)
        add(
            f"this is {what or f'a `{kind}` transition'}, which mixes two recordings into each "
            "other; storycast plays clips one after another, cut to cut.",
            "Make it a cut (C) in your editor, or use fade_in/fade_out in a YAML EDL.",
            "edit",
            event.transition_line,
        )
        return
    if len(event.fields) != 8:
        if len(event.fields) == 9 and not event.fields[3].upper().startswith("C"):
            add(
                f"this is a `{event.fields[3]}` transition, which mixes two recordings; "
                "storycast plays clips one after another, cut to cut.",
                "Make it a cut (C) in your editor.",
                "edit",
            )
        else:
            add(
                f"this event line has {len(event.fields)} parts, but a CMX 3600 event has 8: "
                "number, reel, channels, edit (C), source in, source out, record in, record out.",
                f"It should look like {_EXAMPLE}.",
            )
        return
    edit = event.fields[3].upper()
    if edit != "C":
        add(
            f"the edit type is `{event.fields[3]}`; storycast reads only cuts (C).",
            "Make it a cut in your editor and export the EDL again.",
            "edit",
        )
    reel = event.reel.upper()
    if reel in _SPECIAL_REELS:
        add(
            f"this event plays {_SPECIAL_REELS[reel]} instead of a recording; storycast only "
            "plays recordings, back to back, and adds nothing else.",
            "Remove it in your editor, or if you want a pause, use a recording of room tone.",
            "reel",
        )
    for line, comment in event.comments:
        upper = comment.upper().lstrip("* ")
        if upper.startswith("M2"):
            add(
                "this event changes the speed of the recording (M2); storycast never stretches "
                "or squeezes what people said.",
                "Remove the speed change in your editor.",
                "speed",
                line,
            )
        elif "FREEZE FRAME" in upper:
            add("this event is a freeze frame, which has no sound.", "", "edit", line)
    names = ("source in", "source out", "record in", "record out")
    values: list[int] = []
    for index, name in enumerate(names):
        result = frames(event.tc(index), rate)
        if isinstance(result, str):
            fix = (
                _rate_fix(rate, declared)
                if "frame rate" in result
                else "Check the timecode against your editor."
            )
            add(result + ".", fix, name.replace(" ", "_"))
        else:
            values.append(result)
    if len(values) != 4:
        return
    event.src_in, event.src_out, event.rec_in, event.rec_out = values
    event.timed = True
    if event.src_out < event.src_in:
        add(
            f"the source out ({event.tc(1)}) is before the source in ({event.tc(0)}).",
            "Swap them or export the EDL again.",
            "source_out",
        )
    elif event.rec_out - event.rec_in != event.src_out - event.src_in:
        squeezed.append(event)  # said after every event is read: the cause may be the rate


def _squeezed(path: Path, event: Event) -> Problem:
    return Problem(
        path,
        f"the source part is {event.src_out - event.src_in} frames long but its place in "
        f"the programme is {event.rec_out - event.rec_in} frames: that would stretch or "
        "squeeze the recording.",
        "Export the EDL again; if your editor changed the speed, remove the speed change.",
        event.line,
        f"event {event.number}.record_out",
    )


def _others(squeezed: list[Event]) -> str:
    """ ", and so do events 002, 003 ..." for the events after the first."""
    others = [e.number for e in squeezed[1:]]
    if not others:
        return ""
    shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
    return f", and so do events {shown}" if len(others) > 1 else f", and so does event {shown}"


def _rate_disagrees(
    path: Path, rate: Rate, declared: bool, events: list[Event], squeezed: list[Event]
) -> Problem:
    """One problem for many events whose lengths disagree at a rate that was given (or
    shown by drop-frame timecode): one cause, most likely the rate, said once."""
    first = squeezed[0]
    rows = _complete(events)
    fits = [RATES[r] for r in _GUESSES if rows and _agreeing(rows, RATES[r]) == len(rows)]
    source = (
        f"episode.yaml says frame_rate: {rate.name}"
        if declared
        else f"this EDL's drop-frame timecode is read at {rate.name} fps"
    )
    hint = (
        f" Every event's lengths agree at {fits[0].name} fps: is that the project's rate?"
        if len(fits) == 1 and fits[0] is not rate
        else ""
    )
    return Problem(
        path,
        f"{source}, and at that rate event {first.number}'s source part is "
        f"{first.src_out - first.src_in} frames long but its place in the programme is "
        f"{first.rec_out - first.rec_in} frames{_others(squeezed)}. That would stretch or "
        f"squeeze the recording, so the rate is probably not the editing project's.{hint}",
        "Set `frame_rate:` in episode.yaml to the editing project's rate (23.976, 24, 25, "
        "29.97 or 30). If that is the rate, your editor changed the speed of these events: "
        "remove the speed change and export the EDL again.",
        first.line,
        "frame_rate",
    )


def _sound_events(path: Path, events: list[Event], problems: Problems) -> list[Event]:
    """The events of the one audio track the episode is made of."""
    by_track: dict[str, list[Event]] = {}
    for event in events:
        for name in event.audio_tracks:
            by_track.setdefault(name, []).append(event)
    if not by_track:
        if events:
            problems.add(
                Problem(
                    path,
                    "has no sound events: every event is on a video channel (V), so there "
                    "is nothing to hear.",
                    "Export an EDL of the audio tracks (channels A, A2, AA or B).",
                    events[0].line,
                )
            )
        return []
    names = sorted(by_track)
    first = by_track[names[0]]
    for other in names[1:]:
        theirs = by_track[other]
        if [e.signature() for e in theirs] != [e.signature() for e in first]:
            differ = next(
                (b for a, b in zip(first, theirs, strict=False) if a.signature() != b.signature()),
                theirs[min(len(first), len(theirs) - 1)],
            )
            problems.add(
                Problem(
                    path,
                    f"audio tracks {names[0]} and {other} play different things; storycast makes "
                    "one sequence of clips and cannot mix two tracks.",
                    "Export an EDL of one audio track, or of a mixed-down track.",
                    differ.line,
                    f"event {differ.number}.channels",
                )
            )
            break
    return first


def _check_continuous(path: Path, track: list[Event], rate: Rate, problems: Problems) -> None:
    for before, event in zip(track, track[1:], strict=False):
        if not (before.timed and event.timed):
            continue  # already reported; comparing unread times would only add noise
        if event.rec_in > before.rec_out:
            gap = event.rec_in - before.rec_out
            problems.add(
                Problem(
                    path,
                    f"there is a gap of {_seconds(gap, rate):.2f} s ({gap} frames) before this "
                    f"event: event {before.number} ends at {before.tc(3)} but event "
                    f"{event.number} starts at {event.tc(2)}. storycast plays clips back to "
                    "back and cannot play silence, so everything after the gap would move.",
                    "Close the gap in your editor, or fill it with a recording of room tone.",
                    event.line,
                    f"event {event.number}.record_in",
                )
            )
        elif event.rec_in < before.rec_out:
            problems.add(
                Problem(
                    path,
                    f"this event starts at {event.tc(2)}, before event {before.number} ends "
                    f"({before.tc(3)}): two clips would play at once.",
                    "Fix the overlap in your editor and export the EDL again.",
                    event.line,
                    f"event {event.number}.record_in",
                )
            )


def _parse_with_otio(
    path: Path, lines: list[str], events: list[Event], rate: Rate, track: list[Event]
) -> list[otio.schema.Clip]:
    """The adapter's clips for ``track``'s events, in order.

    The text handed over is the file with header comments removed and, at a
    drop-frame rate, every event timecode written with `;` (the adapter ignores
    `FCM:` lines and would otherwise read `:` timecodes as non-drop-frame).
    """
    event_lines = {e.line for e in events}
    first = events[0].line if events else 0
    text_lines: list[str] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if number < first and stripped.startswith("*"):
            continue
        if number in event_lines and rate.drop:
            parts = stripped.split()
            parts[4:] = [_drop_separator(p) for p in parts[4:]]
            stripped = "  ".join(parts)
        text_lines.append(stripped)
    try:
        timeline = otio.adapters.read_from_string(
            "\n".join(text_lines), adapter_name="cmx_3600", rate=rate.fps
        )
    except (otio.exceptions.OTIOError, ValueError, LookupError, AttributeError, TypeError) as exc:
        raise InputError(
            Problem(
                path,
                f"opentimelineio's CMX 3600 reader could not read this EDL ({exc}).",
                "Export the EDL again from your editor as CMX 3600.",
                _line_for(str(exc), events),
            )
        ) from exc
    if not track:
        return []
    name = track[0].audio_tracks[0]
    for otio_track in timeline.tracks:
        if otio_track.name == name:
            return [c for c in otio_track if isinstance(c, otio.schema.Clip)]
    return []


def _drop_separator(tc: str) -> str:
    return tc[:-3] + ";" + tc[-2:] if _TC.match(tc) else tc


def _line_for(message: str, events: list[Event]) -> int | None:
    """The line an opentimelineio message is about: its event line, or a timecode in it."""
    for event in events:
        if event.text in message or " ".join(event.fields) in message:
            return event.line
    for tc in re.findall(r"\d{2}[:;]\d{2}[:;]\d{2}[:;]\d{2}", message):
        for event in events:
            if tc in event.fields:
                return event.line
    return None


def _clips(
    path: Path,
    track: list[Event],
    adapter_clips: list[otio.schema.Clip],
    rate: Rate,
    episode: Episode | None,
    problems: Problems,
) -> list[Clip]:
    # The adapter puts a track's events on it in file order; check that they line up.
    aligned: list[otio.schema.Clip | None] = list(adapter_clips)
    if len(aligned) != len(track) or any(
        c is not None and round(c.source_range.start_time.value) != e.src_in
        for c, e in zip(aligned, track, strict=True)
    ):
        aligned = [None] * len(track)
    clips: list[Clip] = []
    if not track:
        return clips
    programme_start = track[0].rec_in
    for event, adapter_clip in zip(track, aligned, strict=True):
        if event.rec_out == event.rec_in:
            continue  # a zero-length cut plays nothing
        reel = _recording(path, event, adapter_clip, episode, problems)
        if reel is None:
            continue
        offset = 0
        if reel.start_timecode:
            start = frames(reel.start_timecode, rate)
            if isinstance(start, str):
                problems.add(
                    Problem(
                        path,
                        f"the `start:` timecode for this event's reel in episode.yaml: {start}.",
                        'Write it like "01:00:00:00", at the EDL\'s frame rate.',
                        event.line,
                        f"event {event.number}.reel",
                    )
                )
                continue
            offset = start
        if event.src_in < offset:
            problems.add(
                Problem(
                    path,
                    f"the source in ({event.tc(0)}) is before the first frame of "
                    f"`{reel.recording}`, which starts at {reel.start_timecode or '00:00:00:00'} "
                    "(the reel's `start:` in episode.yaml).",
                    "Check the reel's `start:` timecode in episode.yaml against the recording.",
                    event.line,
                    f"event {event.number}.source_in",
                )
            )
            continue
        clips.append(
            Clip(
                reel.recording,
                _seconds(event.src_in - offset, rate),
                _seconds(event.src_out - offset, rate),
                _seconds(event.rec_in - programme_start, rate),
                line=event.line,
            )
        )
    return clips


def _recording(
    path: Path,
    event: Event,
    adapter_clip: otio.schema.Clip | None,
    episode: Episode | None,
    problems: Problems,
) -> Reel | None:
    """The recording an event plays: by reel, clip name, or the file it came from."""
    clip_name = next(
        (m.group(1).strip() for _, c in event.comments if (m := _CLIP_NAME.match(c))), None
    )
    media = next((m.group(1).strip() for _, c in event.comments if (m := _MEDIA.match(c))), None)
    reel_name = event.reel
    if adapter_clip is not None:
        meta = adapter_clip.metadata.get("cmx_3600") or {}
        reel_name = str(meta.get("reel", event.reel))
        ref = adapter_clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
            media = ref.target_url
    reels = episode.reels if episode is not None else {}
    by_reel = reels.get(reel_name) if reel_name.upper() != "AX" else None
    by_name = reels.get(clip_name) if clip_name else None
    if by_reel is not None and by_name is not None and by_reel.recording != by_name.recording:
        problems.add(
            Problem(
                path,
                f"episode.yaml maps the reel `{reel_name}` to `{by_reel.recording}` but the clip "
                f"name `{clip_name}` to `{by_name.recording}`; storycast cannot tell which "
                "recording this event plays.",
                "Keep one of the two under `reels:` in episode.yaml.",
                event.line,
                f"event {event.number}.reel",
            )
        )
        return None
    found = by_reel or by_name
    if found is None and media:
        found = lookup(file_name(media), episode)
    if found is None and clip_name and is_file_name(clip_name):
        found = lookup(clip_name, episode)
    if found is None and reel_name.upper() != "AX" and is_file_name(reel_name):
        found = lookup(reel_name, episode)
    if found is None:
        named = f"the reel `{reel_name}`" if reel_name.upper() != "AX" else "the reel AX (unnamed)"
        if clip_name:
            named += f" (clip name `{clip_name}`)"
        problems.add(
            Problem(
                path,
                f"{named} names no recording.",
                reels_hint(episode, clip_name or reel_name)
                if clip_name or reel_name.upper() != "AX"
                else "AX means the editor wrote no reel name: export the EDL with clip names "
                "(`* FROM CLIP NAME:`) or file names (`* FROM CLIP:`).",
                event.line,
                f"event {event.number}.reel",
            )
        )
    return found


def _chapters(
    path: Path, events: list[Event], track: list[Event], rate: Rate, problems: Problems
) -> list[Chapter]:
    if not track:
        return []
    programme_start, programme_end = track[0].rec_in, track[-1].rec_out
    found: dict[int, Chapter] = {}
    for event in events:
        for line, comment in event.comments:
            m = _LOC.match(comment)
            if not m:
                continue
            title = m.group(3).strip()
            at = frames(m.group(1), rate)
            if isinstance(at, str):
                problems.add(Problem(path, at + ".", "", line, f"event {event.number}.LOC"))
                continue
            if not title:
                problems.add(
                    Problem(
                        path,
                        "this locator has no text; a locator starts a chapter, and its text "
                        "is the chapter's title.",
                        "Name the marker in your editor and export the EDL again.",
                        line,
                        f"event {event.number}.LOC",
                    )
                )
                continue
            if not programme_start <= at < programme_end:
                problems.add(
                    Problem(
                        path,
                        f"the locator `{title}` at {m.group(1)} is outside the programme "
                        f"({_tc_text(programme_start, rate)} to {_tc_text(programme_end, rate)}), "
                        "so its chapter would not be in the episode.",
                        "Locator timecodes are record timecodes; move the marker onto the "
                        "edited sequence.",
                        line,
                        f"event {event.number}.LOC",
                    )
                )
                continue
            chapter = Chapter(_seconds(at - programme_start, rate), title, line)
            same = found.get(at)
            if same is not None and same.title != title:
                problems.add(
                    Problem(
                        path,
                        f"the locators `{same.title}` (line {same.line}) and `{title}` are at the "
                        "same moment, so two chapters would start together.",
                        "Keep one of them.",
                        line,
                        f"event {event.number}.LOC",
                    )
                )
            elif same is None:
                found[at] = chapter
    return [found[k] for k in sorted(found)]
