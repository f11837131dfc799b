"""Progress a producer can watch, the seconds each stage took, and ffmpeg kept to one line.

A publish run as CI runs it (output to pipes, not a terminal) shows long steps as plain
lines: no carriage return, no escape code, a line at most every tenth of the way. The
summary and ``--json`` give the seconds each stage took. A recording with a broken cover
picture never lets ffmpeg's raw stderr ("[mjpeg @ 0x55...] No JPEG data found") into
what `check` or `publish` print, and a message quoting ffmpeg stays one bullet.
"""

from __future__ import annotations

import json
import os
import re
import struct
import sys
from pathlib import Path

import pytest
from mutagen.flac import FLAC, Picture
from mutagen.mp4 import MP4, MP4Cover

from pipeline import orchestrator
from pipeline.cli.common import summary
from pipeline.errors import Problem, ToolError
from pipeline.media.runner import ffmpeg_said, run
from pipeline.progress import Lines
from pipeline.records import EpisodeJob

from conftest import ROOT, Run, storycast
from kit.media import ffmpeg, phone_m4a, phone_mp4, say

PEOPLE = """people:
  - id: ria
    credit: name
    name: Ria
    consent:
      voice: 2026-08-01
      face: 2026-08-01
"""

STORY = [
    ("en-gb", "When I moved into my first flat, the quiet was the hardest part."),
    ("en-us", "Nobody tells you how loud a fridge is at two in the morning."),
    ("en-gb", "I learned to cook three meals, and I asked for help early."),
    ("en-us", "My advice is simple. Find one person you can phone at night."),
]

# ffmpeg's way of starting a line: the part speaking and its memory address.
FFMPEG_ADDRESS = re.compile(r"\[[^\]\n]* @ 0x[0-9a-fA-F]+\]")
# A broken JPEG: its start-of-image and APP0 markers, then nothing a decoder can use.
BROKEN_JPEG = b"\xff\xd8\xff\xe0" + b"not a picture at all" * 4

STAGES = [name for name, _ in orchestrator.PUBLISH_STAGES]
CHECK_STAGES = [name for name, _ in orchestrator.CHECK_STAGES]


def _project(root: Path) -> Path:
    (root / "feeds").mkdir(parents=True)
    show = (ROOT / "feeds" / "riverside-voices.yaml").read_text()
    (root / "feeds" / "riverside-voices.yaml").write_text(show + "approval: optional\n")
    (root / "feeds" / "riverside-voices.jpg").write_bytes(
        (ROOT / "feeds" / "riverside-voices.jpg").read_bytes()
    )
    (root / "episodes").mkdir()
    (root / "episodes" / "people.yaml").write_text(PEOPLE)
    return root


def _episode(root: Path, slug: str, clips: dict[str, Path], medium: str = "audio") -> Path:
    folder = root / "episodes" / slug
    (folder / "recordings").mkdir(parents=True)
    edl, seen = "clips:\n", ""
    for name, recording in clips.items():
        recording.rename(folder / "recordings" / name)
        edl += f"  - source: {name}\n    in: 0\n    out: 2.5\n"
        seen += f"  {name}: [ria]\n"
    (folder / "episode.yaml").write_text(
        f"show: riverside-voices\ntitle: {slug}\npublished: 2026-08-20\nmedium: {medium}\n"
        f"appearances:\n{seen}"
    )
    (folder / "edl.yaml").write_text(edl)
    return folder


# --- progress in a log ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A 20-second story published with output to pipes (as in CI), progress shown from the
    first second (``--progress-after 0``) so the test does not depend on the machine's speed."""
    root = _project(tmp_path_factory.mktemp("progress"))
    wav = say(STORY, root / "story.wav", gap=0.6)
    story = phone_m4a(wav, root / "story.m4a", tags={})
    wav.unlink()
    folder = root / "episodes" / "long-story"
    (folder / "recordings").mkdir(parents=True)
    story.rename(folder / "recordings" / "story.m4a")
    (folder / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Long story\npublished: 2026-08-20\n"
        "appearances:\n  story.m4a: [ria]\n"
    )
    (folder / "edl.yaml").write_text("clips:\n  - source: story.m4a\n    in: 0\n    out: 18.5\n")
    return storycast(root, "--progress-after", "0", "publish", "--json")


def _task_lines(stderr: str, label: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"    long-story: {label}:")]


def test_progress_in_a_log_is_plain_lines(long_run: Run) -> None:
    assert long_run.returncode == 0, long_run.stdout + long_run.stderr
    for text in (long_run.stderr, long_run.stdout):
        assert "\r" not in text and "\x1b" not in text  # no bar redrawn, no colour, no cursor
    # the recording's length as the producer knows it, how far, and the time left
    shape = re.compile(
        r"^    long-story: (.+): (\d+)% of 0:(\d\d), (about [\d a-z]+ left|almost done)$"
    )
    for label in ("transcribing story.m4a", "rendering the sound"):
        lines = _task_lines(long_run.stderr, label)
        steps = [shape.match(line) for line in lines[:-1]]
        assert len(steps) >= 2 and all(steps), lines
        percents = [int(m.group(2)) for m in steps if m]
        assert percents == sorted(set(percents)) and 0 < percents[0] and percents[-1] < 100
        # a line each time another tenth is passed, never more often
        assert len({p // 10 for p in percents}) == len(percents) <= 9
        assert lines[-1].startswith(f"    long-story: {label}: done in "), lines
    transcribed = shape.match(_task_lines(long_run.stderr, "transcribing story.m4a")[0])
    assert transcribed and 18 <= int(transcribed.group(3)) <= 21  # of 0:19, the whole recording


def test_stage_seconds_are_in_publish_json(long_run: Run) -> None:
    (show,) = json.loads(long_run.stdout)
    assert show["ok"] and show["show"] == "riverside-voices"
    (episode,) = show["episodes"]
    assert episode["status"] == "published" and episode["loudness"] == pytest.approx(-16, abs=1)
    assert list(episode["seconds"]) == STAGES  # every stage, in the order it ran
    assert all(s >= 0 for s in episode["seconds"].values())
    assert episode["seconds"]["transcribe"] > 0.1 and episode["seconds"]["render"] > 0.1
    assert episode["total_seconds"] == pytest.approx(sum(episode["seconds"].values()), abs=0.01)


def test_summary_and_check_json_give_stage_seconds(long_run: Run) -> None:
    text = storycast(long_run.root, "check")
    assert text.returncode == 0, text.stdout + text.stderr
    lines = text.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "long-story" in line)
    # "took 0.9 s: probe 0.8 (5 other stages 0.1 s together)": the stages over 0.05 s named
    line = next(line for line in lines[at + 1 :] if line.startswith("             took "))
    took = re.match(r"^ {13}took (\d+\.\d) s(?:: ([a-z -.\d,]+?))?(?: \((\d+) .*\))?$", line)
    assert took, line
    named = re.findall(r"([a-z-]+) \d+\.\d", took.group(2) or "")
    assert all(name in CHECK_STAGES for name in named)
    assert len(named) + int(took.group(3) or 0) == len(CHECK_STAGES)

    machine = storycast(long_run.root, "check", "--json")
    (episode,) = json.loads(machine.stdout)
    assert list(episode["seconds"]) == CHECK_STAGES
    assert episode["seconds"]["probe"] >= 0


def test_a_quick_or_cached_step_shows_no_progress(long_run: Run) -> None:
    again = storycast(long_run.root, "publish")  # nothing changed: every step is cached
    assert again.returncode == 0, again.stdout + again.stderr
    assert not re.search(r"^    long-story: .*%", again.stderr, re.M), again.stderr
    assert re.search(r"^ {13}took \d+\.\d s", again.stdout, re.M), again.stdout


def test_lines_are_said_per_tenth_with_the_time_left() -> None:
    """The reporter on its own, fed ticks as a speech model or ffmpeg feeds them."""

    class Log:
        def __init__(self) -> None:
            self.text = ""

        def write(self, text: str) -> int:
            self.text += text
            return len(text)

        def flush(self) -> None:
            pass

    log = Log()
    lines = Lines(log, delay=0)  # type: ignore[arg-type]
    with lines.task("story.m4a", 100.0) as tick:
        for done in (3, 9, 10, 11, 12, 35, 20, 99, 100):  # never backwards, however it comes
            tick(done)
    said = log.text.splitlines()
    assert [line.split(": ")[1].split("%")[0] for line in said[:-1]] == ["10", "35", "99"]
    assert said[-1].startswith("    story.m4a: done in ")
    with pytest.raises(RuntimeError), lines.task("broken.m4a", 10.0) as tick:
        tick(5)
        raise RuntimeError("stopped")
    assert log.text.splitlines()[-1].startswith("    broken.m4a: stopped after ")


def test_a_terminal_gets_a_bar(tmp_path: Path) -> None:
    """On a terminal the same task is a tqdm bar, redrawn in place, with the time left."""
    import pty

    script = (
        "import time\n"
        "from pipeline import progress\n"
        "progress.configure('auto', 0)\n"
        "r = progress.reporter()\n"
        "with r.task('story.m4a', 10) as tick:\n"
        "    for i in range(1, 6):\n"
        "        tick(2 * i)\n"
        "        time.sleep(0.15)\n"
        "r.say('next')\n"
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal 120 columns wide
        import fcntl
        import termios

        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execv(sys.executable, [sys.executable, "-c", script])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    text = out.decode("utf-8", "replace")
    assert "\r    story.m4a: 100%" in text and "about" in text and "left]" in text
    assert text.rstrip().endswith("next")


# --- ffmpeg's own words -----------------------------------------------------------------------


def _cover_m4a(root: Path) -> Path:
    wav = say([("en-gb", "A voice memo with a broken cover picture.")], root / "m.wav")
    m4a = phone_m4a(wav, root / "memo.m4a", tags={})
    tags = MP4(m4a)
    tags["covr"] = [MP4Cover(BROKEN_JPEG, imageformat=MP4Cover.FORMAT_JPEG)]
    tags.save()
    return m4a


def _cover_flac(root: Path) -> Path:
    wav = say([("en-us", "A lossless recording with a broken picture block.")], root / "f.wav")
    flac = root / "take.flac"
    ffmpeg("-i", wav, flac)
    tags = FLAC(flac)
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, "image/jpeg", BROKEN_JPEG
    tags.add_picture(picture)
    tags.save()
    return flac


def _cover_mp4(root: Path) -> Path:
    wav = say([("en-gb", "A phone video whose cover picture is broken.")], root / "v.wav")
    mp4 = phone_mp4(wav, root / "clip.mp4", size="320x240")
    tags = MP4(mp4)
    tags["covr"] = [MP4Cover(BROKEN_JPEG, imageformat=MP4Cover.FORMAT_JPEG)]
    tags.save()
    return mp4


@pytest.fixture(scope="module")
def cover_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _project(tmp_path_factory.mktemp("covers"))
    made = tmp_path_factory.mktemp("made")
    _episode(root, "memos", {"memo.m4a": _cover_m4a(made), "take.flac": _cover_flac(made)})
    _episode(root, "festival", {"clip.mp4": _cover_mp4(made)}, medium="video")
    return root


def _no_raw_ffmpeg(run: Run) -> None:
    for text in (run.stdout, run.stderr):
        for line in text.splitlines():
            assert not FFMPEG_ADDRESS.search(line), line


def test_a_broken_cover_never_leaks_ffmpeg_stderr(cover_project: Path) -> None:
    check = storycast(cover_project, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    _no_raw_ffmpeg(check)
    published = storycast(cover_project, "publish")
    assert published.returncode == 0, published.stdout + published.stderr
    _no_raw_ffmpeg(published)
    # the cover picture is never part of the episode: its damage is not the video's
    assert "damaged" not in published.stdout, published.stdout
    assert re.search(r"^  published  festival ", published.stdout, re.M), published.stdout


def test_an_ffmpeg_failure_is_one_line_quoting_ffmpeg(cover_project: Path) -> None:
    """The runner's error for a failed ffmpeg run over a file with a broken cover: one
    line, ffmpeg's words in it without their memory addresses."""
    memo = cover_project / "episodes" / "memos" / "recordings" / "memo.m4a"
    with pytest.raises(ToolError) as err:
        run(
            ["ffmpeg", "-nostdin", "-hide_banner", "-i", memo, "-af", "nosuchfilter", "-f",
             "null", "-"],
            what="measuring",
            path=memo,
        )  # fmt: skip
    message = str(err.value)
    assert "\n" not in message and not FFMPEG_ADDRESS.search(message), message
    assert "measuring failed (ffmpeg exit" in message and "nosuchfilter" in message
    assert len(err.value.problems) == 1


def test_ffmpeg_said_drops_addresses_and_repeats() -> None:
    stderr = (
        "[mjpeg @ 0x55d0c0a3e1c0] unable to decode APP fields: Invalid data\n"
        "[mjpeg @ 0x55d0c0a3e1c0] No JPEG data found in image\n"
        "[mjpeg @ 0x55d0c0a3e1c0] No JPEG data found in image\n"
        "\n"
        "Error opening filters!\n"
    )
    said = ffmpeg_said(stderr)
    assert said == (
        "mjpeg: unable to decode APP fields: Invalid data; mjpeg: No JPEG data found in image; "
        "Error opening filters!"
    )
    cut = ffmpeg_said("x" * 1000, width=50)
    assert cut.startswith("...") and len(cut) == 50


def test_each_problem_is_one_bullet(tmp_path: Path) -> None:
    """However a problem's text was put together, the summary gives it one bullet."""
    job = EpisodeJob(folder=tmp_path / "memos", status="failed")
    job.problems = [
        Problem(tmp_path / "memo.m4a", "rendering failed:\nmjpeg: No JPEG data\n", "Check it."),
        Problem(tmp_path / "edl.yaml", "the clip is too long.", "Shorten it.", 3, "out"),
    ]
    job.reason = "\n".join(str(p) for p in job.problems)
    report = orchestrator.RunReport(None, [job], [])
    bullets = [line for line in summary(report, "publish") if line.startswith("             - ")]
    assert len(bullets) == 2
    assert "rendering failed: mjpeg: No JPEG data Check it." in bullets[0]
    assert "edl.yaml:3: out: the clip is too long." in bullets[1]


def test_the_renders_tell_how_far_they_are(cover_project: Path, tmp_path: Path) -> None:
    """Both renders call their tick from the ffmpeg runs (``-progress`` on a pipe of its
    own): with seconds of the episode, within it, reaching its end, through every pass."""
    from pipeline.cache import Cache
    from pipeline.media.loudness import analyse, recording_gain
    from pipeline.media.probe import probe
    from pipeline.records import Clip, Timeline
    from pipeline.render.audio import render
    from pipeline.render.video import render_video

    clip = cover_project / "episodes" / "festival" / "recordings" / "clip.mp4"
    recording = probe(clip, "clip.mp4", video=True)
    assert recording.video is not None
    timeline = Timeline(tmp_path / "edl.yaml", "x", (Clip("clip.mp4", 0.0, 2.5, 0.0),), ())
    loudness = analyse(recording)
    for name, make in {
        "sound": lambda tick: render(
            timeline, {"clip.mp4": recording}, {"clip.mp4": loudness}, Cache(tmp_path), tick
        ),
        "video": lambda tick: render_video(
            timeline,
            {"clip.mp4": clip},
            {"clip.mp4": recording.video},
            {"clip.mp4": recording_gain(loudness)},
            tmp_path / "episode.mp4",
            progress=tick,
        ),
    }.items():
        ticks: list[float] = []
        make(ticks.append)
        assert ticks and all(0 <= t <= 2.5 + 1e-6 for t in ticks), (name, ticks)
        assert max(ticks) == pytest.approx(2.5, abs=0.05), (name, ticks)
        # every pass reports: a tick in each quarter (sound) or in the pictures' share (video)
        shares = (0.25, 0.5, 0.75, 1.0) if name == "sound" else (0.1, 0.9, 1.0)
        for share in shares:
            assert any(abs(t - 2.5 * share) < 0.05 for t in ticks), (name, share, ticks)


def test_a_watched_run_keeps_its_time_limit() -> None:
    """Progress does not lift the runner's time limit: ffmpeg playing 30 s in real time is
    stopped at 2 s, having said how far it got, and the error quotes the command as typed."""
    ticks: list[float] = []
    cmd = ["ffmpeg", "-nostdin", "-re", "-f", "lavfi", "-i", "sine=duration=30", "-f", "null", "-"]
    with pytest.raises(ToolError, match=r"did not finish within 2\.0 s") as err:
        run(cmd, what="playing", timeout=2.0, progress=ticks.append)
    assert ticks and 0 < max(ticks) < 5
    assert "-progress" not in str(err.value)
