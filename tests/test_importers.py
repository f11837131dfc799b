"""EDLs from editing tools (Audacity label tracks, CMX 3600, OpenTimelineIO) become
the same Timeline, and their mistakes are reported with file, line and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import opentimelineio as otio
import pytest

from pipeline import edl
from pipeline.edl.check import time_problems
from pipeline.errors import InputError
from pipeline.records import Episode, Recording, Reel, Timeline

DATA = Path(__file__).parent / "data" / "edl"
RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
NTSC = 30000 / 1001

FIRST_FLAT_REELS = {
    "street": Reel("street.opus"),
    "TAPE01": Reel("interview.m4a", "01:00:00:00"),
    "jo voice memo 3": Reel("jo-memo.m4a"),
}


def episode(
    tmp_path: Path, reels: dict[str, Reel] | None = None, frame_rate: str | None = None
) -> Episode:
    return Episode(
        folder=tmp_path,
        slug="first-flat",
        show="riverside-voices",
        title="Getting your first flat",
        description="",
        number=1,
        season=None,
        published=datetime(2026, 11, 1, tzinfo=UTC),
        edl=tmp_path / "edl",
        reels=FIRST_FLAT_REELS if reels is None else reels,
        frame_rate=frame_rate,
    )


def clips(timeline: Timeline) -> list[tuple[str, float, float, float]]:
    """(source, in, out, episode start), to the millisecond."""
    return [
        (c.source, round(c.src_in, 3), round(c.src_out, 3), round(c.start, 3))
        for c in timeline.clips
    ]


def chapters(timeline: Timeline) -> list[tuple[float, str]]:
    return [(round(c.start, 3), c.title) for c in timeline.chapters]


def errors(path: Path, ep: Episode | None = None) -> list[str]:
    with pytest.raises(InputError) as info:
        edl.read(path, ep)
    return [str(p) for p in info.value.problems]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- Audacity label tracks -----------------------------------------------------------------


def test_an_audacity_label_track_is_clips_and_chapters(tmp_path: Path) -> None:
    timeline = edl.read(DATA / "first-flat-labels.txt", episode(tmp_path))
    assert clips(timeline) == [
        ("interview.m4a", 12.5, 47.25, 0.0),
        ("interview.m4a", 60.0, 95.0, 34.75),
        ("street.opus", 130.0, 142.125, 69.75),  # `street` is a reel in episode.yaml
    ]
    assert timeline.duration == pytest.approx(81.875)
    # Point labels move with the regions: 20 s is 7.5 s into the first region, 60 s is
    # the start of the second, 110.5 s is in a gap so starts the next clip.
    assert chapters(timeline) == [
        (7.5, "Moving in"),
        (34.75, "Cooking for one"),
        (69.75, "Asking for help"),
    ]
    assert [c.line for c in timeline.clips] == [1, 5, 7]  # the spectral line 2 is skipped
    assert [c.line for c in timeline.chapters] == [3, 4, 6]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_the_utf16_windows_audacity_writes_reads_the_same(tmp_path: Path, encoding: str) -> None:
    text = (DATA / "first-flat-labels.txt").read_text(encoding="utf-8")
    if encoding == "utf-16-be":
        raw = b"\xfe\xff" + text.replace("\n", "\r\n").encode("utf-16-be")
    elif encoding == "utf-16":
        raw = b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")
    else:
        raw = text.encode(encoding)
    path = tmp_path / "labels.txt"
    path.write_bytes(raw)
    expected = edl.read(DATA / "first-flat-labels.txt", episode(tmp_path))
    timeline = edl.read(path, episode(tmp_path))
    assert timeline.clips == expected.clips
    assert timeline.chapters == expected.chapters


def test_utf16_without_a_byte_order_mark_and_accented_names(tmp_path: Path) -> None:
    path = tmp_path / "labels.txt"
    path.write_bytes("0.5\t2.25\tcafé.m4a\n1\t1\tÉté\n".encode("utf-16-le"))
    timeline = edl.read(path)
    assert clips(timeline) == [("café.m4a", 0.5, 2.25, 0.0)]
    assert chapters(timeline) == [(0.5, "Été")]


def test_decimal_commas_and_spaces_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "labels.txt", "12,5\t20,25\tinterview.m4a\n30.0 31.5 memo.m4a: a note\n")
    assert clips(edl.read(path)) == [
        ("interview.m4a", 12.5, 20.25, 0.0),
        ("memo.m4a", 30.0, 31.5, 7.75),
    ]


def test_audacity_label_that_ends_before_it_starts(tmp_path: Path) -> None:
    path = write(tmp_path, "labels.txt", "1.0\t4.0\tinterview.m4a\n9.000000\t5.500000\tmemo.m4a\n")
    assert errors(path) == [
        f"{path}:2: end: this label ends (5.5 s) before it starts (9 s). "
        "Swap the two times, or export the labels again from Audacity."
    ]


def test_every_label_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "labels.txt",
        "1.0\t4.0\tinterview.m4a\n"
        "2.x\t3.0\tinterview.m4a\n"  # not a number
        "5.0\t8.0\tIntro\n"  # a region that names no recording
        "4.5\t6.0\tmemo.m4a\n"  # out of time order
        "7.0\t7.0\t\n"  # a point with no title
        "50.0\t50.0\tThe end\n",  # after the last region
    )
    found = errors(path, episode(tmp_path))
    joined = "\n".join(found)
    assert f"{path}:2: start: `2.x` is not a number of seconds." in joined
    assert f"{path}:3: label: the region label `Intro` does not name a recording." in joined
    assert "known there: `TAPE01`, `jo voice memo 3`, `street`" in joined
    assert f"{path}:4: start: this label starts at 4.5 s, before the label on line 3" in joined
    assert f"{path}:5: label: this point label has no text" in joined
    assert f"{path}:6: start: the chapter `The end` is at 50 s, after the last region" in joined
    assert len(found) == 5


def test_a_text_file_that_is_not_a_label_track(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", "Ideas for episode 3\nAsk Sam about the kettle\n")
    (message,) = errors(path)
    assert message.startswith(f"{path}:1: storycast cannot read EDLs of type `.txt` unless")
    assert "Audacity label tracks" in message
    assert "File > Export > Labels" in message


def test_an_empty_label_file(tmp_path: Path) -> None:
    path = write(tmp_path, "labels.txt", "\n\n")
    assert errors(path) == [
        f"{path}: has no labels in it. In Audacity mark the parts to keep with region labels "
        "(Edit > Labels), then use File > Export > Labels."
    ]


@pytest.mark.parametrize("suffix", ["labels.txt", "edit.edl", "timeline.otio"])
def test_text_in_an_unknown_encoding_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / suffix
    path.write_bytes("0\t3\tinterview.m4a\n3\t3\tChapitre d'été\n".encode("latin-1"))
    (message,) = errors(path)
    assert message.startswith(f"{path}:2: is not UTF-8 or UTF-16 text: line 2 has a byte")
    assert "0xE9" not in message and "save it as UTF-8" in message  # no byte of it is quoted


# -- CMX 3600 ------------------------------------------------------------------------------


def test_cmx_at_25_fps_with_reels_clip_names_and_a_timecode_offset(tmp_path: Path) -> None:
    timeline = edl.read(DATA / "first-flat-25.edl", episode(tmp_path, frame_rate="25"))
    assert clips(timeline) == [
        # TAPE01 starts at 01:00:00:00, so 01:00:12:10 is 12.4 s into interview.m4a
        ("interview.m4a", 12.4, 47.2, 0.0),
        ("jo-memo.m4a", 3.0, 9.48, 34.8),  # reel JO_PHONE unknown, its clip name is a reel
        ("interview.m4a", 120.0, 150.0, 41.28),
        ("street.opus", 0.0, 5.52, 71.28),  # reel AX: the clip name is a file name
    ]
    assert timeline.duration == pytest.approx(76.8)
    assert [c.line for c in timeline.clips] == [4, 7, 9, 12]
    assert chapters(timeline) == [(0.0, "Introductions"), (41.28, "Cooking for one")]
    assert [c.line for c in timeline.chapters] == [6, 11]


def test_cmx_without_a_frame_rate_is_read_at_25(tmp_path: Path) -> None:
    a = edl.read(DATA / "first-flat-25.edl", episode(tmp_path))
    b = edl.read(DATA / "first-flat-25.edl", episode(tmp_path, frame_rate="25"))
    assert a.clips == b.clips


def test_cmx_at_24_fps(tmp_path: Path) -> None:
    timeline = edl.read(DATA / "open-mic-24.edl", episode(tmp_path, {}, "24"))
    assert clips(timeline) == [
        ("open-mic.wav", 1.0, 10.5, 0.0),
        ("open-mic.wav", 60.833, 80.0, 9.5),
    ]
    assert timeline.duration == pytest.approx(28.6667, abs=0.0005)
    assert chapters(timeline) == [(15.0, "Poem about home")]  # record 01:00:15:00


@pytest.mark.parametrize("frame_rate", ["29.97", None])
def test_cmx_at_2997_drop_frame(tmp_path: Path, frame_rate: str | None) -> None:
    ep = episode(tmp_path, {"CALL": Reel("phone-in.m4a")}, frame_rate)
    timeline = edl.read(DATA / "phone-in-2997df.edl", ep)
    # 00:00:58;00 is frame 1740, 00:01:05;10 frame 1958 (;00 and ;01 skipped at 1 min);
    # 00:09:50;00 is frame 17682 (18 frame numbers skipped in 9 minutes), 00:10:02;00 frame
    # 18042 (none skipped at minute 10). Frames last 1001/30000 s.
    assert clips(timeline) == [
        ("phone-in.m4a", 58.058, 65.332, 0.0),
        ("phone-in.m4a", 589.989, 602.001, 7.274),
    ]
    assert timeline.duration == pytest.approx((218 + 360) * 1001 / 30000, abs=1e-6)


def test_cmx_colon_timecodes_are_drop_frame_at_2997(tmp_path: Path) -> None:
    text = (DATA / "phone-in-2997df.edl").read_text().replace(";", ":")
    path = write(tmp_path, "edit.edl", text)
    ep = episode(tmp_path, {"CALL": Reel("phone-in.m4a")}, "29.97")
    assert clips(edl.read(path, ep)) == clips(edl.read(DATA / "phone-in-2997df.edl", ep))


def test_cmx_at_30_fps(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "edit.edl",
        "TITLE: thirty\n"
        "001  AX  A  C  00:00:10:15 00:00:12:29 00:00:00:00 00:00:02:14\n"
        "* FROM CLIP: C:\\Users\\sam\\Podcast\\recordings\\day1\\memo.m4a\n",
    )
    timeline = edl.read(path, episode(tmp_path, {}, "30"))
    assert clips(timeline) == [("day1/memo.m4a", 10.5, 12.967, 0.0)]


def test_cmx_at_23976_fps(tmp_path: Path) -> None:
    path = write(
        tmp_path, "edit.edl", "001  AX  A  C  00:00:10:12 00:00:20:00 00:00:00:00 00:00:09:12\n"
    )
    assert errors(path, episode(tmp_path, {"AX": Reel("never.m4a")}, "23.976")) == [
        f"{path}:1: event 001.reel: the reel AX (unnamed) names no recording. AX means the "
        "editor wrote no reel name: export the EDL with clip names (`* FROM CLIP NAME:`) or "
        "file names (`* FROM CLIP:`)."
    ]
    path.write_text(path.read_text() + "* FROM CLIP NAME:  film.wav\n")
    timeline = edl.read(path, episode(tmp_path, {}, "23.976"))
    # frame 252 and 480 at 24000/1001 frames a second
    assert clips(timeline) == [("film.wav", 10.51, 20.02, 0.0)]


def test_cmx_drop_frame_edl_when_the_episode_says_25(tmp_path: Path) -> None:
    ep = episode(tmp_path, {"CALL": Reel("phone-in.m4a")}, "25")
    found = errors(DATA / "phone-in-2997df.edl", ep)
    path = DATA / "phone-in-2997df.edl"
    assert found[0] == (
        f"{path}:2: frame_rate: the frame rate disagrees: this EDL uses drop-frame timecode "
        "(`FCM: DROP FRAME`), which only 29.97 fps has, but episode.yaml says frame_rate: 25. "
        "Set `frame_rate: 29.97` in episode.yaml if the editing project was 29.97 fps, or "
        "export the EDL again from a 25 fps project."
    )


def test_cmx_frames_the_episode_rate_cannot_have(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "edit.edl",
        "TITLE: made at 30\nFCM: NON-DROP FRAME\n"
        "001  TAPE01  A  C  01:00:00:00 01:00:01:27 00:00:00:00 00:00:01:27\n",
    )
    found = errors(path, episode(tmp_path, frame_rate="25"))
    assert found == [
        f"{path}:3: event 001.source_out: the frame rate disagrees: `01:00:01:27` has frame 27, "
        "but at 25 fps frames count 00 to 24. episode.yaml says frame_rate: 25; set it to the "
        "editing project's rate, or export the EDL again.",
        f"{path}:3: event 001.record_out: the frame rate disagrees: `00:00:01:27` has frame 27, "
        "but at 25 fps frames count 00 to 24. episode.yaml says frame_rate: 25; set it to the "
        "editing project's rate, or export the EDL again.",
    ]
    # NON-DROP FRAME in the file but the episode says 29.97 (drop-frame)
    found = errors(path, episode(tmp_path, frame_rate="29.97"))
    assert found[0].startswith(f"{path}:2: frame_rate: the frame rate disagrees")


def test_cmx_reel_that_names_no_recording(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "edit.edl",
        "TITLE: x\n\n"
        "001  TAPE01   A  C  01:00:00:00 01:00:02:00 00:00:00:00 00:00:02:00\n"
        "002  TAPE9    A  C  00:00:05:00 00:00:06:00 00:00:02:00 00:00:03:00\n"
        "* FROM CLIP NAME:  Sam again\n",
    )
    assert errors(path, episode(tmp_path)) == [
        f"{path}:4: event 002.reel: the reel `TAPE9` (clip name `Sam again`) names no recording. "
        "Add it under `reels:` in episode.yaml (known there: `TAPE01`, `jo voice memo 3`, "
        "`street`), e.g. `Sam again: interview.m4a`."
    ]


def test_cmx_timecode_past_the_end_of_the_recording_names_the_event_line(
    tmp_path: Path,
) -> None:
    path = DATA / "first-flat-25.edl"
    timeline = edl.read(path, episode(tmp_path, frame_rate="25"))
    interview = Recording(
        path=tmp_path / "interview.m4a",
        name="interview.m4a",
        sha256="0" * 64,
        size=1,
        duration=140.0,
        header_duration=None,
        container="mov,mp4,m4a,3gp,3g2,mj2",
        codec="aac",
        sample_rate=48000,
        channels=1,
    )
    problems = [str(p) for p in time_problems(timeline, {"interview.m4a": interview})]
    assert problems == [
        f"{path}:9: out: `out` (150 s) is past the end of `interview.m4a`, which lasts "
        "140 s when played. End the clip at 140 or earlier."
    ]


def test_cmx_gaps_overlaps_and_dissolves_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "edit.edl",
        "TITLE: x\n"
        "001  TAPE01  A  C  01:00:00:00 01:00:02:00 00:00:00:00 00:00:02:00\n"
        "002  TAPE01  A  C  01:00:10:00 01:00:12:00 00:00:03:00 00:00:05:00\n"
        "003  TAPE01  A  C  01:00:20:00 01:00:22:00 00:00:04:00 00:00:06:00\n"
        "004  TAPE01  A  C  01:00:30:00 01:00:30:00 00:00:06:00 00:00:06:00\n"
        "004  TAPE01  A  D  025 01:00:40:00 01:00:42:00 00:00:06:00 00:00:08:00\n"
        "005  BL      A  C  00:00:00:00 00:00:01:00 00:00:08:00 00:00:09:00\n",
    )
    found = errors(path, episode(tmp_path))
    assert found[0].startswith(
        f"{path}:3: event 002.record_in: there is a gap of 1.00 s (25 frames) before this event"
    )
    assert "cannot play silence" in found[0]
    assert found[1].startswith(
        f"{path}:4: event 003.record_in: this event starts at 00:00:04:00, before event 002 "
        "ends (00:00:05:00)"
    )
    assert found[2].startswith(f"{path}:6: event 004.edit: this is a dissolve (D)")
    assert found[3].startswith(f"{path}:7: event 005.reel: this event plays black (BL)")
    assert len(found) == 4


def test_cmx_different_audio_on_two_tracks_and_video_only(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "edit.edl",
        "001  TAPE01  A   C  01:00:00:00 01:00:02:00 00:00:00:00 00:00:02:00\n"
        "002  TAPE01  A2  C  01:00:05:00 01:00:07:00 00:00:00:00 00:00:02:00\n",
    )
    (message,) = errors(path, episode(tmp_path))
    assert message.startswith(
        f"{path}:2: event 002.channels: audio tracks A1 and A2 play different things"
    )
    path = write(
        tmp_path,
        "video.edl",
        "001  TAPE01  V  C  01:00:00:00 01:00:02:00 00:00:00:00 00:00:02:00\n",
    )
    (message,) = errors(path, episode(tmp_path))
    assert "has no sound events" in message
    # A stereo pair (AA) is the same clips on two tracks; picture-only events are ignored.
    path = write(
        tmp_path,
        "pair.edl",
        "001  TAPE01  V   C  01:00:00:00 01:00:04:00 00:00:00:00 00:00:04:00\n"
        "002  TAPE01  AA  C  01:00:05:00 01:00:07:00 00:00:00:00 00:00:02:00\n"
        "003  TAPE01  AA  C  01:00:10:00 01:00:12:00 00:00:02:00 00:00:04:00\n",
    )
    assert clips(edl.read(path, episode(tmp_path))) == [
        ("interview.m4a", 5.0, 7.0, 0.0),
        ("interview.m4a", 10.0, 12.0, 2.0),
    ]


def test_cmx_lines_that_are_not_events(tmp_path: Path) -> None:
    path = write(tmp_path, "edit.edl", "TITLE: x\nhello there\n001  TAPE01  A  C  01:00\n")
    found = errors(path, episode(tmp_path))
    assert found[0].startswith(f"{path}:2: storycast does not understand this line")
    assert "hello" not in found[0]  # a file that is not an EDL may be anything: never quoted
    assert found[1].startswith(f"{path}:3: event 001: this event line has 5 parts")
    path = write(tmp_path, "empty.edl", "TITLE: nothing\n")
    assert errors(path) == [
        f"{path}: has no events: a CMX 3600 EDL lists numbered events like "
        "`001  TAPE01  A  C  01:00:00:00 01:00:10:00 00:00:00:00 00:00:10:00`. "
        "Export the EDL again from your editor (CMX 3600 format)."
    ]


def test_cmx_source_before_the_reels_first_timecode(tmp_path: Path) -> None:
    path = write(
        tmp_path, "edit.edl", "001  TAPE01  A  C  00:59:59:00 01:00:01:00 00:00:00:00 00:00:02:00\n"
    )
    (message,) = errors(path, episode(tmp_path))
    assert message.startswith(
        f"{path}:1: event 001.source_in: the source in (00:59:59:00) is before the first frame "
        "of `interview.m4a`, which starts at 01:00:00:00"
    )


# -- OpenTimelineIO ------------------------------------------------------------------------


def _otio_timeline(gap: bool = False) -> otio.schema.Timeline:
    timeline = otio.schema.Timeline(name="Getting your first flat")
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    video.append(otio.schema.Clip(name="title card", source_range=TR(RT(0, 25), RT(50, 25))))
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    interview = otio.schema.Clip(
        name="Sam interview",
        media_reference=otio.schema.ExternalReference(
            target_url="file:///Users/sam/Podcast/first-flat/recordings/interview.m4a",
            available_range=TR(RT(90000, 25), RT(25 * 600, 25)),  # starts at 01:00:00:00
        ),
        source_range=TR(RT(90000 + 310, 25), RT(870, 25)),  # 01:00:12:10, 34.8 s
    )
    interview.markers.append(
        otio.schema.Marker(name="Moving in", marked_range=TR(RT(90000 + 360, 25)))
    )
    memo = otio.schema.Clip(
        name="jo voice memo 3",
        media_reference=otio.schema.MissingReference(),
        source_range=TR(RT(3 * NTSC, NTSC), RT(6.48 * NTSC, NTSC)),
    )
    audio.append(interview)
    if gap:
        audio.append(otio.schema.Gap(source_range=TR(RT(0, 25), RT(25, 25))))
    audio.append(memo)
    audio.markers.append(otio.schema.Marker(name="Jo's memo", marked_range=TR(RT(34.8, 1))))
    timeline.tracks.append(video)
    timeline.tracks.append(audio)
    return timeline


def test_an_otio_timeline_takes_the_first_audio_track(tmp_path: Path) -> None:
    path = tmp_path / "first-flat.otio"
    otio.adapters.write_to_file(_otio_timeline(), str(path))
    timeline = edl.read(path, episode(tmp_path))
    assert clips(timeline) == [
        ("interview.m4a", 12.4, 47.2, 0.0),  # available range starts at 01:00:00:00
        ("jo-memo.m4a", 3.0, 9.48, 34.8),  # clip name listed under reels:
    ]
    assert timeline.duration == pytest.approx(41.28)
    assert chapters(timeline) == [(2.0, "Moving in"), (34.8, "Jo's memo")]
    lines = path.read_text().splitlines()
    assert [lines[c.line - 1].strip() for c in timeline.clips if c.line] == [
        '"OTIO_SCHEMA": "Clip.2",'
    ] * 2


def test_an_otio_gap_is_refused_with_its_json_line(tmp_path: Path) -> None:
    path = tmp_path / "gap.otio"
    otio.adapters.write_to_file(_otio_timeline(gap=True), str(path))
    (message,) = errors(path, episode(tmp_path))
    line = int(message.split(":")[1])
    assert path.read_text().splitlines()[line - 1].strip() == '"OTIO_SCHEMA": "Gap.1",'
    assert message.startswith(f"{path}:{line}: A1[2]: there is a gap of 1.00 s here.")


def test_an_otio_clip_that_names_no_recording(tmp_path: Path) -> None:
    path = tmp_path / "x.otio"
    otio.adapters.write_to_file(_otio_timeline(), str(path))
    message, chapter = errors(path, episode(tmp_path, reels={}))
    assert "A1[2]: the clip `jo voice memo 3` (no media file) names no recording." in message
    assert "Write the recording's file name (like `interview.m4a`), or add `reels:`" in message
    # Without that clip the episode is 34.8 s long, so the track's marker falls off its end.
    assert "markers: the marker `Jo's memo` is at 34.80 s, outside the episode" in chapter


def test_broken_otio_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.otio"
    text = otio.adapters.write_to_string(_otio_timeline(), "otio_json")
    broken = text.replace('"name": "Sam interview",', '"name": "Sam interview"', 1)
    path.write_text(broken)
    line = broken[: broken.index('"name": "Sam interview"')].count("\n") + 2
    (message,) = errors(path, episode(tmp_path))
    assert message.startswith(f"{path}:{line}: is not an OpenTimelineIO file storycast can read")
    path.write_text(json.dumps({"OTIO_SCHEMA": "SerializableCollection.1", "children": []}))
    (message,) = errors(path)
    assert "holds a SerializableCollection, not a timeline" in message
