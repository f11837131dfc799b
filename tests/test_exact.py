"""Exactness: a recording lasts as long as its samples that decode, and every time a
message suggests is one the EDL then accepts."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import opentimelineio as otio
import pytest

from pipeline import defaults, edl
from pipeline.cache import Cache
from pipeline.errors import InputError
from pipeline.feed.validate.rules import RULES
from pipeline.media.loudness import analyse
from pipeline.media.probe import probe
from pipeline.records import Clip, Episode, Reel, Timeline, seconds_at_most
from pipeline.render.audio import render

from conftest import copy_example, storycast

RATE = 44100
NTSC = 30000 / 1001


def _flac(out: Path, seconds: float = 0.52) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"sine=frequency=440:duration={seconds}:sample_rate={RATE}", "-ac", "1",
         "-c:a", "flac", str(out)],
        check=True,
    )  # fmt: skip
    return out


def _blocks(path: Path) -> list[tuple[int, int]]:
    """(byte offset, size) of each FLAC block (packet), as ffprobe reads them."""
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "packet=pos,size", "-of", "csv=p=0",
         str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [(int(p), int(s)) for s, p in (line.split(",") for line in proc.stdout.split())]


def _damaged(tmp_path: Path, how: str) -> Path:
    """A 0.52 s FLAC whose header still says 0.52 s: its last block cut short ("cut"), or
    a block lost from the middle so its timestamps run on past its sound ("gap")."""
    whole = _flac(tmp_path / "whole.flac")
    data = whole.read_bytes()
    blocks = _blocks(whole)
    out = tmp_path / f"{how}.flac"
    if how == "cut":
        out.write_bytes(data[: blocks[-1][0] + blocks[-1][1] // 2])
    else:
        pos, size = blocks[1]
        out.write_bytes(data[:pos] + data[pos + size :])
    return out


def _samples(path: Path) -> int:
    """Samples per channel that decode, counted by ffmpeg's astats."""
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-af",
         "astats=metadata=0:measure_overall=Number_of_samples:measure_perchannel=none",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(re.findall(r"Number of samples: (\d+)", proc.stderr)[-1])


@pytest.mark.parametrize("how", ["cut", "gap"])
def test_a_damaged_flac_lasts_as_long_as_what_decodes(tmp_path: Path, how: str) -> None:
    flac = _damaged(tmp_path, how)
    recording = probe(flac, flac.name)
    assert recording.header_duration == pytest.approx(0.52)
    decoded = _samples(flac)
    assert decoded < 0.52 * RATE - 1000  # a whole block (about 0.1 s) does not decode
    assert recording.duration == decoded / RATE


def test_the_suggested_end_is_rounded_down_to_the_millisecond() -> None:
    assert seconds_at_most(5.016) == "5.016"
    assert seconds_at_most(5.0168) == "5.016"
    assert seconds_at_most(0.41551) == "0.415"
    assert seconds_at_most(13.0) == "13"
    assert seconds_at_most(2.9999999) == "2.999"
    assert float(seconds_at_most(7.5)) == 7.5


def _project(tmp_path: Path, flac: Path, out: str, extra: str = "") -> Path:
    root = copy_example(tmp_path / "proj")
    shutil.rmtree(root / "episodes")
    folder = root / "episodes" / "damaged"
    (folder / "recordings").mkdir(parents=True)
    shutil.copyfile(flac, folder / "recordings" / "memo.flac")
    (folder / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Damaged\npublished: 2026-11-20\n"
    )
    (folder / "edl.yaml").write_text(
        f"clips:\n  - source: memo.flac\n    in: 0\n    out: {out}\n{extra}"
    )
    return root


def _failed(run_stdout: str) -> bool:
    return bool(re.search(r"FAILED\s+damaged", run_stdout))


@pytest.mark.parametrize("how", ["cut", "gap"])
def test_out_past_the_decoded_end_is_refused_and_the_suggestion_is_accepted(
    tmp_path: Path, how: str
) -> None:
    flac = _damaged(tmp_path, how)
    root = _project(tmp_path, flac, "0.52")
    run = storycast(root, "check")
    assert run.returncode == 1
    assert _failed(run.stdout), run.stdout
    assert "edl.yaml:2: out: `out` (0.52 s) is past the end of `memo.flac`" in run.stdout
    assert "header claims 0.52 s" in run.stdout
    suggested = re.search(r"End the clip at ([\d.]+) or earlier", run.stdout)
    assert suggested, run.stdout
    decoded = _samples(flac) / RATE
    assert decoded - 0.001 < float(suggested.group(1)) <= decoded

    # typing exactly what was suggested is accepted
    edl = root / "episodes" / "damaged" / "edl.yaml"
    edl.write_text(edl.read_text().replace("out: 0.52", f"out: {suggested.group(1)}"))
    run = storycast(root, "check")
    assert not _failed(run.stdout), run.stdout
    assert "past the end" not in run.stdout


def test_a_chapter_and_soundbite_at_the_suggested_length_are_accepted(tmp_path: Path) -> None:
    """A 5.0168 s recording: the chapter message gives the episode's length rounded down,
    and a soundbite ending there is accepted."""
    flac = _flac(tmp_path / "five.flac", 5.0168)
    root = _project(tmp_path, flac, "5.0168", "chapters:\n  - at: 0\n    title: One\n"
                    "  - at: 5.02\n    title: Late\n")  # fmt: skip
    run = storycast(root, "check")
    assert "is only 5.016 s long" in run.stdout, run.stdout
    edl = root / "episodes" / "damaged" / "edl.yaml"
    edl.write_text(
        edl.read_text().replace("  - at: 5.02\n    title: Late\n", "")
        + "soundbite:\n  at: 1.016\n  duration: 4\n  title: All of it\n"
    )
    run = storycast(root, "check")
    assert not _failed(run.stdout), run.stdout


def test_an_edl_to_the_decoded_end_renders_to_that_many_samples(tmp_path: Path) -> None:
    flac = _damaged(tmp_path, "gap")
    cache = Cache(tmp_path / "cache")
    recording = probe(flac, "memo.flac", cache)
    end = float(seconds_at_most(recording.duration))
    timeline = Timeline(tmp_path / "edl.yaml", "x", (Clip("memo.flac", 0.0, end, 0.0),), ())
    result = render(
        timeline, {"memo.flac": recording}, {"memo.flac": analyse(recording, cache)}, cache
    )
    expected = end * defaults.OUTPUT_SAMPLE_RATE
    # exact to the sample, give or take the one that resampling from 48 kHz rounds
    assert abs(_samples(result.path) - expected) <= 1, (_samples(result.path), expected)


# -- CMX 3600 EDLs that name no frame rate ---------------------------------------------------


def _tc(frame: int, rate: int) -> str:
    seconds, f = divmod(frame, rate)
    minutes, s = divmod(seconds, 60)
    h, m = divmod(minutes, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{f:02d}"


def _df(frame: int) -> str:
    return str(otio.opentime.to_timecode(otio.opentime.RationalTime(frame, NTSC), NTSC, True))


def _cmx(rate: int | str, events: int = 8, seed: int = 3, header: str = "") -> str:
    """An EDL as an editor writes it at ``rate``: cuts from one recording at frames that
    fall anywhere in a second, back to back on the record side from 01:00:00:00."""
    rnd = random.Random(seed)
    n = 30 if rate == "29.97" else int(rate)
    write = _df if rate == "29.97" else lambda f: _tc(f, n)
    lines = ["TITLE: Youth club night", "FCM: " + ("DROP FRAME" if rate == "29.97" else
             "NON-DROP FRAME")]  # fmt: skip
    lines += header.splitlines()
    rec = 3600 * n if rate != "29.97" else 107892  # 01:00:00;00 in drop-frame
    src = 0
    for number in range(1, events + 1):
        src += rnd.randrange(n, 8 * n)
        length = rnd.randrange(n, 6 * n)
        lines.append(
            f"{number:03d}  MIC1     A     C        {write(src)} {write(src + length)} "
            f"{write(rec)} {write(rec + length)}"
        )
        lines.append("* FROM CLIP NAME:  club.wav")
        rec += length
        src += length + rnd.randrange(0, n)
    return "\n".join(lines) + "\n"


def _episode(tmp_path: Path, frame_rate: str | None = None) -> Episode:
    return Episode(
        folder=tmp_path,
        slug="club",
        show="riverside-voices",
        title="Club night",
        description="",
        number=1,
        season=None,
        published=datetime(2026, 11, 1, tzinfo=UTC),
        edl=tmp_path / "edit.edl",
        frame_rate=frame_rate,
    )


def _read(path: Path, frame_rate: str | None = None) -> Timeline:
    return edl.read(path, _episode(path.parent, frame_rate))


def _problems(path: Path, frame_rate: str | None = None) -> list[str]:
    with pytest.raises(InputError) as info:
        _read(path, frame_rate)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("rate", ["24", "25", "29.97", "30"])
def test_a_cmx_edl_without_frame_rate_is_read_at_its_own_rate(tmp_path: Path, rate: str) -> None:
    path = tmp_path / "edit.edl"
    path.write_text(_cmx(rate))
    found = _read(path)
    assert found.clips == _read(path, rate).clips  # as if episode.yaml had said it
    assert len(found.clips) == 8
    if rate == "29.97":
        assert found.notes == ()  # drop-frame timecode says it plainly
    else:
        (note,) = found.notes
        assert f"read this EDL at {rate} fps" in note
        assert "set `frame_rate:` in episode.yaml" in note


def test_frame_numbers_a_rate_cannot_have_rule_it_out(tmp_path: Path) -> None:
    path = tmp_path / "edit.edl"
    # whole seconds agree at any rate; frame 24 rules out 24 fps, and 25 or 30 stays open
    path.write_text(
        "001  club.wav  A  C  00:00:01:24 00:00:03:24 01:00:00:00 01:00:02:00\n"
        "002  club.wav  A  C  00:00:09:10 00:00:10:10 01:00:02:00 01:00:03:00\n"
    )
    (note,) = _read(path).notes
    assert "(frame 24 cannot exist at 24 fps), so storycast assumed 25 fps" in note
    # 00:00:09:10 to 00:00:10:04 is 19 frames at 25 and 24 at 30: the lengths decide
    path.write_text(
        "001  club.wav  A  C  00:00:01:24 00:00:03:24 01:00:00:00 01:00:02:00\n"
        "002  club.wav  A  C  00:00:09:10 00:00:10:04 01:00:02:00 01:00:02:19\n"
    )
    found = _read(path)
    assert found.clips == _read(path, "25").clips
    assert "frame 24 cannot exist at 24 fps, and 25 fps is the only rate" in found.notes[0]
    # frame 28: only 30 fps has it
    path.write_text("001  club.wav  A  C  00:00:01:28 00:00:03:00 01:00:00:00 01:00:01:02\n")
    found = _read(path)
    assert found.clips == _read(path, "30").clips
    assert "read this EDL at 30 fps, frame 28 cannot exist at 24 or 25 fps" in found.notes[0]


def test_an_editors_comment_gives_the_rate(tmp_path: Path) -> None:
    whole_seconds = (
        "001  MIC1  A  C  00:00:01:00 00:00:03:00 01:00:00:00 01:00:02:00\n"
        "* FROM CLIP NAME:  club_50fps.wav\n"
    )
    path = tmp_path / "edit.edl"
    path.write_text("TITLE: Club night\n* FPS: 24\n" + whole_seconds)
    episode = _episode(tmp_path)
    episode = Episode(**{**episode.__dict__, "reels": {"club_50fps.wav": Reel("club.wav")}})
    found = edl.read(path, episode)
    assert "as the comment on line 2 says" in found.notes[0]
    assert "at 24 fps" in found.notes[0]
    # a clip's name saying its own rate is not the project's; with nothing else, 25 is assumed
    path.write_text("TITLE: Club night\n" + whole_seconds)
    (note,) = edl.read(path, episode).notes
    assert "storycast assumed 25 fps" in note and "frame_rate:" in note


def test_a_real_24_fps_edl_with_a_hundred_events_reads_without_error(tmp_path: Path) -> None:
    path = tmp_path / "edit.edl"
    path.write_text(_cmx("24", events=120, seed=11))
    found = _read(path)
    assert len(found.clips) == 120
    assert found.clips == _read(path, "24").clips
    # said to be 25 in episode.yaml: one problem for the one cause, not one an event
    (problem,) = _problems(path, "25")
    assert problem.startswith(f"{path}:3: frame_rate: episode.yaml says frame_rate: 25, and at")
    assert "Every event's lengths agree at 24 fps: is that the project's rate?" in problem
    # one or two stretched events at a stated rate are each named where they are
    text = path.read_text().splitlines()
    fields = text[2].split()
    assert int(fields[7][-2:]) > 0
    fields[7] = fields[7][:-2] + f"{int(fields[7][-2:]) - 1:02d}"  # record out a frame early
    path.write_text("\n".join([*text[:2], "  ".join(fields)]) + "\n")  # that event alone
    (problem,) = _problems(path, "24")
    assert problem.startswith(f"{path}:3: event 001.record_out: the source part is")


def test_one_squeezed_event_is_named_at_the_rate_most_events_agree_with(tmp_path: Path) -> None:
    text = _cmx("24", events=30, seed=5).splitlines()
    fields = text[10].split()  # event 005: its source out one frame later
    assert fields[0] == "005"
    seconds, frame = fields[5][:-3], int(fields[5][-2:])
    assert frame < 23
    fields[5] = f"{seconds}:{frame + 1:02d}"
    text[10] = "  ".join(fields)
    path = tmp_path / "edit.edl"
    path.write_text("\n".join(text) + "\n")
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:11: frame_rate: episode.yaml has no `frame_rate:`")
    assert "read it at 24 fps" in problem and "(29 of 30)" in problem
    assert "event 005's source part" in problem


def test_an_edl_no_rate_fits_stops_at_one_error_saying_the_rate_was_assumed(
    tmp_path: Path,
) -> None:
    """Each event one frame longer on the source side, whatever the rate: the cause is
    said once, with how to set the rate, not once an event."""
    lines = []
    for k in range(40):
        record = f"01:00:{k:02d}:00 01:00:{k + 1:02d}:00"  # one second each, back to back
        lines.append(f"{k + 1:03d}  club.wav  A  C  00:{k:02d}:10:00 00:{k:02d}:11:01 {record}")
    path = tmp_path / "edit.edl"
    path.write_text("\n".join(lines) + "\n")
    (problem,) = _problems(path)
    assert "episode.yaml has no `frame_rate:`, so storycast assumed 25 fps" in problem
    assert "and so do events 002, 003, 004, 005, 006 and 34 more" in problem
    assert "Set `frame_rate:` in episode.yaml to the editing project's rate" in problem
    assert problem.startswith(f"{path}:1: frame_rate:")


# -- what an importer leaves out or plays twice is said --------------------------------------


def _tool_project(tmp_path: Path, edl_name: str, edl_text: str) -> Path:
    root = copy_example(tmp_path / "proj")
    shutil.rmtree(root / "episodes")
    folder = root / "episodes" / "club"
    (folder / "recordings").mkdir(parents=True)
    _flac(folder / "recordings" / "club.flac", 12)
    (folder / "episode.yaml").write_text(
        f"show: riverside-voices\ntitle: Club night\npublished: 2026-11-20\nedl: {edl_name}\n"
    )
    (folder / edl_name).write_text(edl_text)
    return root


def test_overlapping_audacity_regions_are_said_with_both_lines(tmp_path: Path) -> None:
    labels = (
        "0.500000\t4.250000\tclub.flac\n"
        "4.000000\t4.000000\tSecond part\n"
        "4.246000\t8.000000\tclub.flac: a few ms too early\n"
        "9.000000\t11.000000\tclub.flac\n"
    )
    root = _tool_project(tmp_path, "labels.txt", labels)
    run = storycast(root, "timeline", "club")
    assert run.returncode == 0, run.stderr
    said = (
        "labels.txt: the regions on lines 1 and 3 overlap by 4 ms of `club.flac` (4.246 to "
        "4.25 s), so that part plays twice."
    )
    assert f"note: {said}" in run.stdout, run.stdout
    assert run.stdout.count("overlap") == 1  # the region on line 4 touches nothing
    # the Timeline still plays what the labels say, the 4 ms included
    assert "total 0:09.504" in run.stdout
    check = storycast(root, "check")
    assert f"note: {said}" in check.stdout, check.stdout


def test_video_only_events_are_said_in_the_timeline_and_the_summary(tmp_path: Path) -> None:
    cmx = (
        "TITLE: Club night\nFCM: NON-DROP FRAME\n"
        "001  club.flac  AA  C  00:00:01:00 00:00:03:00 01:00:00:00 01:00:02:00\n"
        "002  CAM1       V   C  00:00:05:00 00:00:09:00 01:00:02:00 01:00:06:00\n"
        "* FROM CLIP NAME:  wide shot\n"
        "003  club.flac  AA  C  00:00:05:00 00:00:09:00 01:00:02:00 01:00:06:00\n"
    )
    root = _tool_project(tmp_path, "edit.edl", cmx)
    run = storycast(root, "timeline", "club")
    assert run.returncode == 0, run.stderr
    said = (
        "edit.edl: event 002 (line 4) is on the video channel only (V), so it is not in the episode"
    )
    assert said in run.stdout, run.stdout
    assert "total 0:06.000" in run.stdout
    check = storycast(root, "check")
    assert f"note: {said}" in check.stdout, check.stdout
    data = json.loads(storycast(root, "timeline", "club", "--json").stdout)
    assert any(said in note for note in data["notes"])
    (job,) = json.loads(storycast(root, "check", "--json").stdout)
    assert any(said in note for note in job["notes"])


# -- validate-feed: each fix fits the problem it found ---------------------------------------

_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
  <channel>
    <title>Club night</title>
    <link>https://example.org</link>
    <description>Stories from the youth club.</description>
    <language>en</language>
    <itunes:author>Youth club</itunes:author>
    <item><title>One</title><guid isPermaLink="false">one</guid>
      <enclosure url="https://example.org/1.mp3" length="1000" type="audio/mpeg"/>
      <media:thumbnail url="https://example.org/1.jpg"/></item>
  </channel>
</rss>
"""
# What internal names look like: a module path or a function with its package.
_INTERNAL = re.compile(r"\b(?:pipeline|feed|build|validate|checks|report)\.[a-z_]+|_[a-z]+\(")


def _validate(tmp_path: Path, name: str, data: str) -> list[dict[str, object]]:
    path = tmp_path / name
    path.write_text(data, encoding="utf-8")
    run = storycast(tmp_path, "validate-feed", str(path), "--json")
    assert run.returncode == 1, run.stdout + run.stderr
    findings: list[dict[str, object]] = json.loads(run.stdout)["findings"]
    return findings


def test_an_undeclared_prefix_is_told_to_declare_it(tmp_path: Path) -> None:
    (finding,) = _validate(tmp_path, "feed.xml", _FEED)
    assert finding["rule"] == "xml-malformed" and finding["line"] == 8
    assert "prefix `itunes:` without declaring it" in str(finding["message"])
    assert finding["fix"] == (
        'Declare it on <rss>: xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd".'
    )
    # with itunes declared, the next undeclared prefix (media:, on line 11) is named
    declared = _FEED.replace(
        'xmlns:podcast="',
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="',
    )
    (finding,) = _validate(tmp_path, "feed.xml", declared)
    assert finding["line"] == 11
    assert 'xmlns:media="http://search.yahoo.com/mrss/"' in str(finding["fix"])
    # a prefix no podcast namespace uses: declare it with its URI, or remove it
    (finding,) = _validate(tmp_path, "feed.xml", declared.replace("media:", "club:"))
    assert "xmlns:club=" in str(finding["fix"]) and "remove the club: elements" in str(
        finding["fix"]
    )
    for said in (_validate(tmp_path, "feed.xml", f) for f in (_FEED, declared)):
        assert "&amp;" not in str(said[0]["fix"])


@pytest.mark.parametrize(
    "name,data",
    [
        ("episode.json", '{"version": "1.0.0", "segments": [{"startTime": 0, "body": "Hi"}]}'),
        ("chapters.json", '\ufeff  {"version": "1.2.0", "chapters": []}\n'),
        ("feed.json", '[{"title": "One"}]'),
    ],
)
def test_a_json_file_is_told_it_is_json_not_a_feed(tmp_path: Path, name: str, data: str) -> None:
    (finding,) = _validate(tmp_path, name, data)
    assert finding["rule"] == "xml-malformed"
    assert str(finding["message"]).startswith("is JSON, not an RSS feed")
    assert finding["fix"] == "Give validate-feed the podcast's RSS feed (its .xml file or URL)."


def test_other_xml_mistakes_get_their_own_fix(tmp_path: Path) -> None:
    declared = _FEED.replace(
        'xmlns:podcast="',
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="',
    ).replace('      <media:thumbnail url="https://example.org/1.jpg"/>', "")
    amp = declared.replace("Stories from", "Stories & tales from")
    (finding,) = _validate(tmp_path, "feed.xml", amp)
    assert "a & in text as &amp;" in str(finding["fix"])
    nbsp = declared.replace("Stories from", "Stories&nbsp;from")
    (finding,) = _validate(tmp_path, "feed.xml", nbsp)
    assert "&#160;" in str(finding["fix"]) and "&amp;" not in str(finding["fix"])
    (finding,) = _validate(tmp_path, "notes.txt", "Episode list\n1. Club night\n")
    assert str(finding["message"]).startswith("is not XML at all")
    assert "&amp;" not in str(finding["fix"])


def test_no_fix_names_an_internal_function() -> None:
    fixes = [rule.fix for rule in RULES.values()]
    assert not [fix for fix in fixes if _INTERNAL.search(fix)], fixes
    assert not [fix for fix in fixes if "`storycast`" in fix or "nh3" in fix]
    guid = RULES["podcast-guid-missing"].fix
    assert "ead4c236-bf58-58c6-a2c6-a6b28d128cb6" in guid  # the namespace's own UUID
