"""The contributors' decisions are the authority: approval, redactions, proposals, previews."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import Run, copy_example, copy_with_caches, storycast
from kit.media import phone_m4a, say


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def published_once(example_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example show with only open-mic (approved), published once (its recordings'
    measurements and transcripts from the example run's caches)."""
    root = copy_with_caches(example_run, tmp_path_factory.mktemp("authority"))
    shutil.rmtree(root / "episodes" / "first-flat")
    run = storycast(root, "publish")
    assert run.returncode == 0, run.stdout
    return root


@pytest.fixture
def one_episode(published_once: Path, tmp_path: Path) -> Path:
    """A copy of it for each test to change as it likes: no test depends on another."""
    root = tmp_path / "p"
    shutil.copytree(published_once, root, symlinks=True)
    return root


def _feed(root: Path) -> str:
    return (root / "public" / "feeds" / "riverside-voices.xml").read_text()


def test_an_edl_changed_after_approval_is_not_published(one_episode: Path) -> None:
    root = one_episode
    before = _feed(root)
    edl = root / "episodes" / "open-mic" / "edl.yaml"
    _edit(edl, "out: 17.0", "out: 16.5")
    run = storycast(root, "publish")
    assert run.returncode == 0  # skipping is a decision, not a failure
    assert "skipped    open-mic" in run.stdout
    assert "the EDL edl.yaml was changed" in run.stdout
    assert "storycast approve open-mic" in run.stdout
    assert "previously published version stays" in run.stdout
    assert _feed(root) == before  # listeners keep the approved version

    approved = storycast(root, "approve", "open-mic", "--by", "Sam,Alex")
    assert approved.returncode == 0, approved.stderr
    again = storycast(root, "publish")
    assert "published  open-mic" in again.stdout
    assert "21.9 s" in again.stdout  # the new, approved edit (0.5 s shorter)
    assert _feed(root) != before


def test_a_replaced_recording_needs_approving_again(one_episode: Path) -> None:
    root = one_episode
    poem = root / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    # the same words, re-exported: different bytes
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            str(poem),
            "-c:a",
            "aac",
            "-b:a",
            "40k",
            str(poem.with_name("tmp.m4a")),
        ],
        check=True,
    )
    poem.with_name("tmp.m4a").replace(poem)
    run = storycast(root, "publish")
    assert "skipped    open-mic" in run.stdout
    assert "the recording poem.m4a was replaced or changed" in run.stdout
    check = storycast(root, "check", "--json")
    (result,) = [r for r in json.loads(check.stdout) if r.get("episode") == "open-mic"]
    assert result["status"] == "skipped"


def test_timeline_shows_what_will_be_published(one_episode: Path) -> None:
    run = storycast(one_episode, "timeline", "open-mic", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert [(c["source"], c["start"]) for c in data["clips"]][:2] == [
        ("phone-call.3gp", 0.0),
        ("phone-call.3gp", 9.3),
    ]
    assert data["duration"] == pytest.approx(sum(c["out"] - c["in"] for c in data["clips"]))
    assert [c["title"] for c in data["chapters"]] == ["Calling in", "The poem"]
    assert set(data["recordings"]) == {"phone-call.3gp", "poem.m4a"}
    human = storycast(one_episode, "timeline", "open-mic")
    assert "chapter 0:12.900  The poem" in human.stdout


def test_a_proposal_is_written_and_never_applied(one_episode: Path) -> None:
    root = one_episode
    assert storycast(root, "approve", "open-mic", "--by", "Sam").returncode == 0
    assert storycast(root, "publish").returncode == 0
    published = {p: p.read_bytes() for p in (root / "public").rglob("*") if p.is_file()}
    edl = root / "episodes" / "open-mic" / "edl.yaml"
    edl_before = edl.read_bytes()

    run = storycast(root, "propose", "open-mic")
    assert run.returncode == 0, run.stderr
    text = (root / "episodes" / "open-mic" / "proposal.yaml").read_text()
    assert text.startswith("# PROPOSAL - NOT APPLIED")
    assert "could be shortened" in text  # the poem has a pause of about 1.2 s
    proposed = yaml.safe_load(text)
    assert len(proposed["clips"]) > 3  # a clip split around the pause

    again = storycast(root, "publish")
    assert again.returncode == 0
    assert "(0 written, 0 removed)" in again.stdout
    after = {p: p.read_bytes() for p in (root / "public").rglob("*") if p.is_file()}
    assert after == published
    assert edl.read_bytes() == edl_before
    timeline = json.loads(storycast(root, "timeline", "open-mic", "--json").stdout)
    assert timeline["edl_sha256"] == hashlib.sha256(edl_before).hexdigest()


@pytest.fixture(scope="module")
def redacted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, dict[str, float]]:
    """An episode in which a contributor's name is spoken, then redacted (bleep and silence)."""
    root = copy_example(tmp_path_factory.mktemp("redacted"))
    shutil.rmtree(root / "episodes")
    folder = root / "episodes" / "names"
    (folder / "recordings").mkdir(parents=True)
    wav = say(
        [
            ("en-gb", "Hello everyone."),
            ("en-gb", "My name is Jordan."),
            ("en-gb", "I live near the river."),
            ("en-gb", "Ask for Jordan at the front desk."),
        ],
        folder / "talk.wav",
        gap=0.6,
    )
    phone_m4a(wav, folder / "recordings" / "talk.m4a", gain_db=-6)
    wav.unlink()
    from pipeline.cache import Cache
    from pipeline.media.probe import probe
    from pipeline.transcribe import get_engine, transcribe

    cache = Cache(root / ".storycast" / "cache")
    rec = probe(folder / "recordings" / "talk.m4a", "talk.m4a", cache)
    words = transcribe(rec, get_engine("faster-whisper", "tiny.en", "en"), cache).words
    jordans = [w for w in words if w.text.lower().strip(".,") == "jordan"]
    assert len(jordans) == 2, words
    spans = {
        "bleep": (jordans[0].start - 0.08, jordans[0].end + 0.08),
        "silence": (jordans[1].start - 0.08, jordans[1].end + 0.08),
    }
    (folder / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Meet Jordan\ndescription: Jordan tells us about home.\n"
        "published: 2026-11-20\nappearances:\n  talk.m4a: [p1]\n"
    )
    (root / "episodes" / "people.yaml").write_text(
        "people:\n  - id: p1\n    credit: none\n    consent:\n      voice: 2026-11-01\n"
    )
    (folder / "edl.yaml").write_text(f"""clips:
  - source: talk.m4a
    in: 0
    out: {rec.duration:.3f}
chapters:
  - at: 0
    title: Hello
  - at: 2.0
    title: Jordan's story
redactions:
  - source: talk.m4a
    in: {spans["bleep"][0]:.3f}
    out: {spans["bleep"][1]:.3f}
    mode: bleep
    replace_with: "[name removed]"
    text: Jordan
  - source: talk.m4a
    in: {spans["silence"][0]:.3f}
    out: {spans["silence"][1]:.3f}
    mode: silence
    replace_with: "[name removed]"
""")
    assert storycast(root, "approve", "names", "--by", "Jordan").returncode == 0
    run = storycast(root, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    return run, {
        "bleep_in": spans["bleep"][0],
        "bleep_out": spans["bleep"][1],
        "silence_in": spans["silence"][0],
        "silence_out": spans["silence"][1],
    }


def test_a_redacted_name_appears_in_no_published_file(
    redacted: tuple[Run, dict[str, float]],
) -> None:
    run, _ = redacted
    files = [p for p in run.public.rglob("*") if p.is_file()]
    assert any(p.suffix == ".vtt" for p in files)
    for path in files:
        data = path.read_bytes()
        for form in (b"jordan", "jordan".encode("utf-16-le")):
            assert form not in data.lower(), path
    vtt = next(p for p in files if p.suffix == ".vtt").read_text()
    assert "[name removed]" in vtt
    chapters = next(p for p in files if p.name.endswith(".chapters.json")).read_text()
    assert "[name removed]'s story" in chapters
    assert "redacted text was removed from chapter 2's title" in run.stdout


def _level(mp3: Path, start: float, end: float, extra: str = "") -> float:
    af = (extra + "," if extra else "") + "volumedetect"
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-nostats",
            "-ss",
            f"{start}",
            "-t",
            f"{end - start}",
            "-i",
            str(mp3),
            "-af",
            af,
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.search(r"mean_volume: (-?[\d.]+|-inf) dB", proc.stderr).group(1))  # type: ignore[union-attr]


def test_redacted_audio_is_silence_or_the_tone(redacted: tuple[Run, dict[str, float]]) -> None:
    run, t = redacted
    (mp3,) = list(run.public.rglob("*.mp3"))
    # inside the silenced range (away from the MP3's edge smearing)
    assert _level(mp3, t["silence_in"] + 0.03, t["silence_out"] - 0.03) < -60
    # inside the bleep: the energy is the 1 kHz tone
    whole = _level(mp3, t["bleep_in"] + 0.03, t["bleep_out"] - 0.03)
    tone = _level(
        mp3, t["bleep_in"] + 0.03, t["bleep_out"] - 0.03, "bandpass=f=1000:width_type=q:w=8"
    )
    assert whole > -40
    assert tone > whole - 1.5, (whole, tone)
    # the words around it are still there
    assert _level(mp3, 0.1, 1.0) > -40
