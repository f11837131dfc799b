"""What the studio plays holds the episode's hidden words (redactions) exactly as the
published episode does, and hearing an edit starts while it is being made.

The sound is fetched over HTTP as the page fetches it and measured with ffmpeg: a bleeped
word is a 1 kHz tone and nothing else (a notch at 1 kHz leaves next to nothing), a
silenced word is silent, and the words beside them are speech (so the measure can see
speech when it is there). The hidden words' text is in nothing the studio serves."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from pipeline.cli.studio import ProjectFiles
from pipeline.media.loudness import recording_gain
from pipeline.records import Word
from pipeline.render.audio import render_key
from pipeline.studio import edits
from pipeline.studio.server import Studio, make_server

from conftest import Run, copy_with_caches, decoded_duration, ebur128, storycast
from kit.browser import assert_accessible, chromium
from kit.media import ffmpeg, speech
from kit.serving import serving

NOTCH = "bandreject=f=1000:width_type=h:width=300,bandreject=f=1000:width_type=h:width=300"


@dataclass
class Hearing:
    root: Path
    url: str
    studio: Studio
    project: ProjectFiles
    sundays: Word  # bleeped, in interview.m4a
    before: Word  # the word said before it
    your: Word  # silenced, in advice.opus
    after: Word  # the word said after it


def _fetch(url: str, to: Path | None = None) -> bytes:
    with urllib.request.urlopen(url, timeout=300) as resp:
        assert resp.status == 200, url
        body: bytes = resp.read()
    if to is not None:
        to.write_bytes(body)
    return body


def _mean_db(mp3: Path, start: float, end: float, extra: str = "") -> float:
    """Mean level (dB) of ``mp3`` from ``start`` to ``end`` seconds, decoded from its first
    byte (no seeking), after ``extra`` filters."""
    chain = f"atrim=start={start:.3f}:end={end:.3f}" + (f",{extra}" if extra else "")
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(mp3), "-af",
         f"{chain},volumedetect", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    m = re.search(r"mean_volume: (-?[\d.]+|-inf) dB", proc.stderr)
    assert m, proc.stderr[-2000:]
    return -120.0 if m.group(1) == "-inf" else float(m.group(1))


def _word(words: tuple[Word, ...], text: str) -> tuple[Word, Word]:
    i = [w.text.strip() for w in words].index(text)
    return words[i], words[i - 1]


@pytest.fixture(scope="module")
def hearing(example_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hearing]:
    root = copy_with_caches(example_run, tmp_path_factory.mktemp("hearing"))
    project = ProjectFiles(root)
    job = project.open("first-flat")
    assert job is not None
    states = project.transcripts(job)
    interview = states["interview.m4a"].transcript
    advice = states["advice.opus"].transcript
    assert interview is not None and advice is not None
    sundays, before = _word(interview.words, "Sundays.")
    i = [w.text.strip() for w in advice.words].index("Your")
    your, after = advice.words[i], advice.words[i + 1]
    assert 11.2 < before.start and sundays.end < 26.8 and 9.0 < your.start < 13.0
    edl = root / "episodes" / "first-flat" / "edl.yaml"
    text = edl.read_text(encoding="utf-8").replace("title: Moving in", "title: Sundays at home")
    edl.write_text(
        text + "redactions:\n"
        f"  - source: interview.m4a\n    in: {sundays.start}\n    out: {sundays.end}\n"
        '    mode: bleep\n    replace_with: "[day removed]"\n    text: Sundays\n'
        f"  - source: advice.opus\n    in: {your.start}\n    out: {your.end}\n"
        '    mode: silence\n    replace_with: "[word removed]"\n',
        encoding="utf-8",
    )
    studio = Studio(ProjectFiles(root), port=0)
    with serving(make_server(studio)):
        yield Hearing(
            root, f"http://127.0.0.1:{studio.port}", studio, project, sundays, before, your, after
        )


def _check_hidden(mp3: Path, bleep: tuple[float, float], speech: tuple[float, float]) -> None:
    """The bleeped span is a 1 kHz tone only; the speech span is speech."""
    a, b = bleep[0] + 0.06, bleep[1] - 0.06
    assert b - a > 0.1
    assert _mean_db(mp3, a, b) > -35, "the bleep is there, not silence"
    assert _mean_db(mp3, a, b, NOTCH) < -50, "nothing but the bleep (no speech under it)"
    assert _mean_db(mp3, speech[0] + 0.03, speech[1] - 0.03, NOTCH) > -40, "speech beside it"


def test_pressing_a_word_plays_the_recording_with_its_hidden_words_beeped(
    hearing: Hearing, tmp_path: Path
) -> None:
    h = hearing
    # from the word before "Sundays": what the page plays when that word is pressed
    start = h.before.start
    heard = tmp_path / "listen.mp3"
    _fetch(f"{h.url}/ep/first-flat/listen/interview.m4a?at={start}", heard)
    rel = (h.sundays.start - start, h.sundays.end - start)
    _check_hidden(heard, rel, (0.0, h.before.end - start))
    # the measure tells a word from its bleep: the recording itself fails the check
    raw = tmp_path / "raw.mp3"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{start}", "-i",
         str(h.root / "episodes" / "first-flat" / "recordings" / "interview.m4a"),
         "-t", "10", str(raw)],
        check=True,
    )  # fmt: skip
    assert _mean_db(raw, rel[0] + 0.06, rel[1] - 0.06, NOTCH) > -40
    # a silenced word is silent, the next word is not
    start = h.your.start - 0.5
    heard = tmp_path / "listen-advice.mp3"
    _fetch(f"{h.url}/ep/first-flat/listen/advice.opus?at={start}", heard)
    assert _mean_db(heard, 0.5 + 0.06, h.your.end - start - 0.06) < -60
    assert _mean_db(heard, h.after.start - start + 0.03, h.after.end - start - 0.03) > -40
    # asked for something that is not there: said plainly, nothing played
    for bad in ("interview.m4a?at=nope", "interview.m4a?at=-3", "..%2Fepisode.yaml?at=0"):
        try:
            _fetch(f"{h.url}/ep/first-flat/listen/{bad}")
            raise AssertionError(bad)
        except urllib.error.HTTPError as exc:
            assert exc.code in (400, 404), bad


def test_the_preview_and_the_published_sound_hold_the_hidden_words_alike(
    hearing: Hearing, tmp_path: Path
) -> None:
    h = hearing
    # episode time: the second clip (interview 11.2-26.8) starts at 5.4
    bleep = (5.4 + h.sundays.start - 11.2, 5.4 + h.sundays.end - 11.2)
    speech = (5.4 + h.before.start - 11.2, 5.4 + h.before.end - 11.2)
    quick = tmp_path / "quick.mp3"
    _fetch(f"{h.url}/ep/first-flat/preview.mp3", quick)  # made as it is sent
    _check_hidden(quick, bleep, speech)
    silent = (5.4 + 15.6 + 4.9 + h.your.start - 9.0, 5.4 + 15.6 + 4.9 + h.your.end - 9.0)
    assert _mean_db(quick, silent[0] + 0.06, silent[1] - 0.06) < -60
    # the quick version was kept: the second listen is the same bytes, from the cache
    again = _fetch(f"{h.url}/ep/first-flat/preview.mp3")
    job = h.project.open("first-flat")
    assert job is not None
    kept = h.project.preview(job).quick
    assert kept.read_bytes() == again == quick.read_bytes()
    # then the published sound is made: the page is told when it is ready
    deadline = time.monotonic() + 300
    while _fetch(f"{h.url}/ep/first-flat/finished") != b'{"ready": true}':
        assert time.monotonic() < deadline, "the finished version was never made"
        time.sleep(0.5)
    finished = tmp_path / "finished.mp3"
    _fetch(f"{h.url}/ep/first-flat/preview.mp3", finished)
    assert finished.read_bytes() != quick.read_bytes()
    _check_hidden(finished, bleep, speech)
    assert _mean_db(finished, silent[0] + 0.06, silent[1] - 0.06) < -60
    # and it is what a publish puts out, frame for frame
    agreed = storycast(h.root, "approve", "first-flat", "--by", "Jordan,Sam R.")
    assert agreed.returncode == 0, agreed.stderr
    published = storycast(h.root, "publish")
    assert "published  first-flat" in published.stdout, published.stdout + published.stderr
    out = next((h.root / "public").rglob("first-flat*.mp3"))
    # the published MP3 is tagged; its sound is the finished version's frames
    tagged = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(out), "-map", "0:a", "-c", "copy",
         "-f", "md5", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    mine = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(finished), "-map", "0:a", "-c", "copy",
         "-f", "md5", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert tagged == mine


def test_hidden_words_are_in_nothing_the_studio_serves(hearing: Hearing) -> None:
    h = hearing
    seen = {}
    for path in ("/", "/ep/first-flat", "/ep/first-flat/hear", "/ep/first-flat/preview.vtt",
                 "/ep/first-flat/approve", "/ep/first-flat/suggestions"):  # fmt: skip
        seen[path] = _fetch(h.url + path).decode("utf-8")
    for path, body in seen.items():
        assert "sunday" not in body.lower(), path
    assert "[day removed] at home" in seen["/ep/first-flat"]  # the chapter, scrubbed
    assert "[day removed]" in seen["/ep/first-flat/preview.vtt"]
    # what the page sends back keeps the hidden words' text: saved again, it is still there
    state = json.loads(
        re.search(r'id="state">(.*?)</script>', seen["/ep/first-flat"], re.S).group(1)  # type: ignore[union-attr]
    )
    assert all("text" not in r for r in state["redactions"])
    job = h.project.open("first-flat")
    assert job is not None and job.timeline is not None
    data = edits.page_data(job.timeline)
    data["redactions"] = state["redactions"]
    req = urllib.request.Request(
        f"{h.url}/ep/first-flat/save",
        json.dumps(data).encode(),
        {"Content-Type": "application/json", "X-Studio-Token": h.studio.token},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert json.loads(resp.read())["ok"]
    saved = (h.root / "episodes" / "first-flat" / "edl.yaml").read_text(encoding="utf-8")
    assert 'text: "Sundays"' in saved
    # a refused save shows what changed with the hidden words hidden
    data["base"] = "an-old-version"
    req = urllib.request.Request(
        f"{h.url}/ep/first-flat/save",
        json.dumps(data).encode(),
        {"Content-Type": "application/json", "X-Studio-Token": h.studio.token},
    )
    try:
        urllib.request.urlopen(req, timeout=60)
        raise AssertionError("saved over a newer version")
    except urllib.error.HTTPError as exc:
        said = exc.read().decode("utf-8")
        assert exc.code == 409 and "sunday" not in said.lower() and "[day removed]" in said


def test_the_hear_page_plays_at_once_and_offers_the_finished_version(hearing: Hearing) -> None:
    """In Chromium: after an edit the preview can play while it is made; when the finished
    version is ready the page says so and plays it on a key press."""
    h = hearing
    edl = h.root / "episodes" / "first-flat" / "edl.yaml"
    _last_out(edl, 12.5)
    with chromium() as browser:
        _hear_in(browser, h, 5.4 + 15.6 + 4.9 + 3.5)


def _last_out(edl: Path, value: float) -> None:
    """A new edit: the last part (advice.opus from 9.0) ends at ``value``."""
    text = edl.read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^(\s*in: 9(?:\.0)?\n\s*)out: [\d.]+$", rf"\g<1>out: {value}", text)
    assert n == 1, text
    edl.write_text(text, "utf-8")


def _hear_in(browser: Browser, h: Hearing, length: float) -> None:
    page = browser.new_page()
    page.goto(h.url + "/ep/first-flat/hear")
    assert "quick version" in page.locator("#version-note").inner_text()
    deadline = time.monotonic() + 60
    while page.evaluate("document.getElementById('preview').readyState") < 3:
        assert time.monotonic() < deadline, "the preview never became playable"
        page.wait_for_timeout(50)
    assert_accessible(page, "what you'll hear, quick version")
    page.locator("#use-finished").wait_for(timeout=300_000)
    assert "finished version is ready" in page.locator("#finished").inner_text()
    page.focus("#use-finished")
    page.keyboard.press("Enter")
    deadline = time.monotonic() + 30
    while page.evaluate("document.getElementById('preview').currentTime") < 0.5:
        assert time.monotonic() < deadline, "the finished version did not play"
        page.wait_for_timeout(100)
    assert "exactly what will be put out" in page.locator("#version-note").inner_text()
    duration = page.evaluate("document.getElementById('preview').duration")
    assert duration == pytest.approx(length, abs=0.1)
    page.close()


PARTS = 150  # more than the 64 one ffmpeg run once took (every part an open file)
PART = 0.4  # seconds


def _many_parts(root: Path) -> Path:
    """An episode of ``PARTS`` short parts taking turns from two recordings, a 440 Hz tone
    and an 880 Hz one: which one is heard tells whether each part is in its place."""
    folder = root / "episodes" / "many"
    (folder / "recordings").mkdir(parents=True)
    for name, freq in (("low.m4a", 440), ("high.m4a", 880)):
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
             "-i", f"sine=f={freq}:d={PARTS * PART / 2 + 1}", "-c:a", "aac",
             str(folder / "recordings" / name)],
            check=True,
        )  # fmt: skip
    (folder / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Many parts\ndescription: A test episode.\n"
        "published: 2026-11-20\nappearances:\n  low.m4a: [jordan]\n  high.m4a: [jordan]\n",
        encoding="utf-8",
    )
    clips = "".join(
        f"  - source: {('low.m4a', 'high.m4a')[k % 2]}\n"
        f"    in: {(k // 2) * PART:.1f}\n    out: {(k // 2 + 1) * PART:.1f}\n"
        for k in range(PARTS)
    )
    (folder / "edl.yaml").write_text("clips:\n" + clips, encoding="utf-8")
    return folder


def test_an_edit_of_many_parts_is_heard_while_it_is_made(hearing: Hearing, tmp_path: Path) -> None:
    """The quick version of an edit of many parts is made a few parts per ffmpeg run, the
    runs joined on a pipe: it streams (no length known in advance), every part is heard in
    its place across the runs' joins, and it lasts exactly as long as the edit."""
    _many_parts(hearing.root)
    quick = tmp_path / "many.mp3"
    with urllib.request.urlopen(f"{hearing.url}/ep/many/preview.mp3", timeout=300) as r:
        assert r.headers.get("Content-Length") is None  # streamed as it is made
        quick.write_bytes(r.read())
    assert decoded_duration(quick) == pytest.approx(PARTS * PART, abs=0.03)
    low = "bandreject=f=440:width_type=h:width=200," * 2
    high = "bandreject=f=880:width_type=h:width=200," * 2
    # parts beside the joins of the runs (every AUDIO_CLIPS_PER_RUN parts), and the last
    for k in (0, 6, 7, 8, 9, 63, 64, 65, 100, PARTS - 1):
        a, b = k * PART + 0.1, (k + 1) * PART - 0.1
        heard = _mean_db(quick, a, b)
        assert heard > -40, k
        tone, other = (low, high) if k % 2 == 0 else (high, low)
        assert _mean_db(quick, a, b, tone.rstrip(",")) < heard - 20, f"part {k + 1}: its tone"
        assert _mean_db(quick, a, b, other.rstrip(",")) > heard - 3, f"part {k + 1}: only it"
    # kept as it was sent, for the next listen
    job = hearing.project.open("many")
    assert job is not None
    assert hearing.project.preview(job).quick.read_bytes() == quick.read_bytes()


def test_a_run_that_fails_fails_the_joined_stream(tmp_path: Path) -> None:
    """The runs feeding one stream are joined in order, and one that fails is not passed
    over: the stream fails, saying which file, rather than playing with a part missing."""
    from pipeline.errors import ToolError
    from pipeline.media.runner import stream
    from pipeline.render.audio import PCM, PCM_IN

    def tone(freq: int, seconds: float) -> list[str]:
        return ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                f"sine=f={freq}:d={seconds}:r=48000", "-ac", "2", *PCM, "pipe:1"]  # fmt: skip

    encode = ["ffmpeg", "-nostdin", "-v", "error", *PCM_IN, "-i", "pipe:0", "-c:a", "pcm_s16le",
              "-f", "wav", "pipe:1"]  # fmt: skip
    out = tmp_path / "joined.wav"
    out.write_bytes(b"".join(stream(encode, what="joining", feed=[tone(440, 0.5), tone(880, 0.7)])))
    assert decoded_duration(out) == pytest.approx(1.2, abs=0.002)
    assert _mean_db(out, 0.05, 0.45, "bandreject=f=440:width_type=h:width=200") < -40
    assert _mean_db(out, 0.55, 1.15, "bandreject=f=880:width_type=h:width=200") < -40
    gone = tmp_path / "gone.m4a"
    broken = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(gone), *PCM, "pipe:1"]
    with pytest.raises(ToolError) as failed:
        b"".join(stream(encode, what="joining", feed=[tone(440, 0.5), broken, tone(880, 0.5)]))
    assert "gone.m4a" in str(failed.value)


def test_a_word_half_inside_hidden_words_is_not_shown() -> None:
    """The edit page hides a word as the captions do: one that overlaps a hidden part at
    all (here the hidden part ends half way through "Jordan"), shown once as the words
    that replace it."""
    from pipeline.records import Clip, Redaction, Timeline, Transcript
    from pipeline.studio import view

    words = (Word(0.0, 0.4, "Hello", 1.0), Word(0.5, 1.1, "Jordan", 1.0),
             Word(1.2, 1.6, "here.", 1.0))  # fmt: skip
    transcript = Transcript("sha", "faster-whisper", "tiny.en", "en", words)
    hidden = Redaction("memo.m4a", 0.45, 0.7, "bleep", "[name removed]", None, "Jordan")
    timeline = Timeline(
        Path("edl.yaml"), "x", (Clip("memo.m4a", 0.0, 1.7, 0.0),), (), redactions=(hidden,)
    )
    kept, _ = view.parts(timeline, {"memo.m4a": transcript}, {"memo.m4a": 1.7}, {})
    shown = [w.text for s in kept[0].sentences for w in s]
    assert shown == ["Hello", "[name removed]", "here."]


def test_a_part_that_starts_or_ends_inside_a_word_is_said_plainly(tmp_path: Path) -> None:
    """An edit from another tool may cut a word in two: the page says which word, and
    where, so the contributor can cut or keep it whole (the studio's own cuts never do)."""
    from pipeline.records import Clip, Timeline, Transcript
    from pipeline.studio import view

    words = (Word(0.0, 0.4, "We"), Word(0.5, 1.1, "moved"), Word(1.2, 1.6, "in."))
    transcript = Transcript("a" * 64, "faster-whisper", "tiny.en", "en", words)
    inside = Timeline(tmp_path / "edl.yaml", "e" * 64, (Clip("talk.m4a", 0.0, 0.8, 0.0),), ())
    (part,), _ = view.parts(inside, {"talk.m4a": transcript}, {"talk.m4a": 2.0}, {})
    assert "in the middle of the word “moved”" in part.note and "(at 0:00.8)" in part.note
    between = Timeline(tmp_path / "edl.yaml", "e" * 64, (Clip("talk.m4a", 0.0, 1.15, 0.0),), ())
    (part,), _ = view.parts(between, {"talk.m4a": transcript}, {"talk.m4a": 2.0}, {})
    assert part.note == ""  # a cut in the pause between words clips nothing


# How far the quick version's loudness may be from the finished version's, in LU. The
# quick version's gain comes from each recording's loudness in 400 ms blocks over the kept
# parts (``render.audio.blocks_mix``); what it cannot know is how much the look-ahead
# limiter takes when the gain lifts peaks past the ceiling, which the finished version
# measures in its own MP3 and corrects. Measured on the episode below (2026-12-03): 1.2 LU
# (quick -17.8, finished -16.6 LUFS); with the estimate from whole recordings it had
# before, 4.2 LU (-20.8).
QUICK_LOUDNESS_BOUND = 1.5


def _swing(root: Path) -> Path:
    """An episode whose parts differ in loudness by 14 dB within one recording: the
    recording says its lines from far off for its first half (14 dB quieter, so its own
    measured loudness, gated as EBU R128 gates, is its loud half's) and close up for its
    second. The edit keeps mostly the quiet half, a second of the loud one, then a part of
    a second, ordinary recording."""
    folder = root / "episodes" / "swing"
    rec = folder / "recordings"
    rec.mkdir(parents=True)
    line = speech(
        "We moved into the flat in May. The quiet felt huge after years in a busy house. "
        "My worker helped me learn to cook, and now friends come round on Sundays.",
        rec / "line.wav",
    )
    ffmpeg("-i", line, "-i", line, "-filter_complex",
           "[0:a]volume=-14dB[q];[q][1:a]concat=n=2:v=0:a=1",
           "-c:a", "aac", "-b:a", "96k", rec / "swing.m4a")  # fmt: skip
    ffmpeg("-i", line, "-c:a", "aac", "-b:a", "96k", rec / "steady.m4a")
    line.unlink()
    half = decoded_duration(rec / "swing.m4a") / 2
    (folder / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Swing\ndescription: A test episode.\n"
        "published: 2026-11-20\nappearances:\n  swing.m4a: [jordan]\n  steady.m4a: [jordan]\n",
        encoding="utf-8",
    )
    (folder / "edl.yaml").write_text(
        "clips:\n"
        f"  - source: swing.m4a\n    in: 0.2\n    out: {half - 0.3:.3f}\n"
        f"  - source: swing.m4a\n    in: {half + 0.2:.3f}\n    out: {half + 1.2:.3f}\n"
        "  - source: steady.m4a\n    in: 0.5\n    out: 2\n",
        encoding="utf-8",
    )
    return folder


def test_the_quick_version_is_as_loud_as_the_finished_one_within_a_bound(
    hearing: Hearing, tmp_path: Path
) -> None:
    """Measured apart by ffmpeg's ebur128: the quick version (streamed over HTTP) and the
    finished one (the publish's render) are within ``QUICK_LOUDNESS_BOUND`` LU, on an edit
    whose parts differ by 14 dB within one recording. The whole-recording estimate the
    quick version had before misses this mix by more than 5 LU, so the bound is not met
    by luck of an easy episode."""
    from pipeline.render.audio import estimated_mix

    _swing(hearing.root)
    quick = tmp_path / "swing.mp3"
    _fetch(f"{hearing.url}/ep/swing/preview.mp3", quick)
    # the finished version, made in the background once the quick one was heard
    job = hearing.project.open("swing")
    assert job is not None and job.timeline is not None
    deadline = time.monotonic() + 300
    while (finished := hearing.project.preview(job).exact) is None:
        assert time.monotonic() < deadline, "the finished version was never made"
        time.sleep(0.5)
    quick_lufs, _ = ebur128(quick)
    finished_lufs, _ = ebur128(finished)
    assert abs(quick_lufs - finished_lufs) <= QUICK_LOUDNESS_BOUND, (quick_lufs, finished_lufs)
    # the mix the finished render measured, beside the old estimate from whole recordings
    gains = {n: recording_gain(job.loudness[n]) for n in job.timeline.sources()}
    report = hearing.project.preview(job).cache.get_json(
        "renders", render_key(job.timeline, job.recordings, gains)
    )
    assert report is not None
    guessed = estimated_mix(job.timeline, job.loudness, gains).integrated
    assert abs(guessed - report["mix"]["integrated"]) > 5.0, (guessed, report["mix"])


def test_a_takedown_purges_the_loudness_blocks_with_the_renders(hearing: Hearing) -> None:
    """The quick version's loudness blocks are made from a recording: a takedown's purge of
    that recording removes them, as it removes its renders."""
    from pipeline.publish.takedown.purge import purge_caches

    folder = hearing.root / "episodes" / "purged"
    (folder / "recordings").mkdir(parents=True)
    ffmpeg("-f", "lavfi", "-i", "sine=f=330:d=3", "-c:a", "aac", folder / "recordings" / "hum.m4a")
    (folder / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Purged\ndescription: A test episode.\n"
        "published: 2026-11-20\nappearances:\n  hum.m4a: [jordan]\n",
        encoding="utf-8",
    )
    (folder / "edl.yaml").write_text(
        "clips:\n  - source: hum.m4a\n    in: 0\n    out: 2.5\n", encoding="utf-8"
    )
    job = hearing.project.open("purged")
    assert job is not None
    preview = hearing.project.preview(job)
    sha = job.recordings["hum.m4a"].sha256
    blocks = preview.cache.path("renders", f"blocks-{sha}")
    assert blocks.exists() and len(json.loads(blocks.read_text())["m"]) >= 25
    removed = purge_caches(preview.cache, {sha})
    assert f"renders/blocks-{sha}" in removed and not blocks.exists()
