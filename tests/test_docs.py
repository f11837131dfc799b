"""The documentation's examples work: every example file in docs/formats.md (and the YAML
EDL in the README) is written into a project, with recordings made to the lengths the page
gives, and read by storycast as a producer's `storycast check` reads it. The Timelines
they give are the ones the page describes, so the docs cannot drift from the importers.

An example is a fenced block right after ``<!-- example file: PATH -->`` (PATH inside
``episodes/``); ``<!-- example recordings: EPISODE: NAME SECONDS [video], ... -->`` says
which recordings an example episode needs.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipeline import edl, orchestrator
from pipeline.edl import yaml_edl
from pipeline.project import people
from pipeline.project.showfile import load_episode
from pipeline.project.yamlfile import Problems

from conftest import ROOT
from kit.media import ffmpeg

FORMATS = ROOT / "docs" / "formats.md"
README = ROOT / "README.md"
CONTRIBUTORS = ROOT / "docs" / "contributors.md"

_FILE = re.compile(r"<!-- example file: (\S+) -->\n```\w*\n(.*?)```", re.S)
_RECORDINGS = re.compile(r"<!-- example recordings: ([\w-]+): (.*?) -->")


def examples(text: str) -> dict[str, str]:
    found = {m.group(1): m.group(2) for m in _FILE.finditer(text)}
    assert found, "no examples found: the markers changed?"
    return found


def _recording(path: Path, seconds: float, video: bool) -> None:
    sound = ["-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}:sample_rate=44100"]
    if video:
        picture = ["-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}"]
        ffmpeg(*picture, *sound, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt",
               "yuv420p", "-c:a", "aac", "-shortest", path)  # fmt: skip
    elif path.suffix in (".m4a", ".3gp", ".mp4"):
        ffmpeg(*sound, "-c:a", "aac", path)
    else:
        ffmpeg(*sound, path)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example show with the docs' example episodes (and nothing else) in it."""
    root = tmp_path_factory.mktemp("docs")
    shutil.copytree(ROOT / "feeds", root / "feeds")
    show = root / "feeds" / "riverside-voices.yaml"
    show.write_text(show.read_text() + "approval: optional\n")
    text = FORMATS.read_text(encoding="utf-8")
    for name, body in examples(text).items():
        target = root / "episodes" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    for m in _RECORDINGS.finditer(text):
        folder = root / "episodes" / m.group(1) / "recordings"
        folder.mkdir(parents=True, exist_ok=True)
        for item in m.group(2).split(","):
            name, seconds, *kind = item.split()
            _recording(folder / name, float(seconds), kind == ["video"])
    return root


def _timeline(root: Path, slug: str) -> list[tuple[str, float, float]]:
    problems = Problems()
    episode = load_episode(root / "episodes" / slug, problems)
    assert episode is not None and not problems, problems.items
    timeline = edl.read(episode.edl, episode)
    return [(c.source, c.src_in, c.src_out) for c in timeline.clips]


def _chapters(root: Path, slug: str) -> list[tuple[float, str]]:
    episode = load_episode(root / "episodes" / slug, Problems())
    assert episode is not None
    return [(c.start, c.title) for c in edl.read(episode.edl, episode).chapters]


def test_every_example_episode_passes_check(project: Path) -> None:
    """Everything `storycast check` says: EDL, times against the recordings as they really
    play, consent, and the video's pictures."""
    report = orchestrator.check(project / "feeds" / "riverside-voices.yaml", project)
    jobs = {job.slug: job for job in report.jobs}
    assert set(jobs) == {"moving-day", "first-flat-cut", "open-mic-cut", "festival-stage"}
    for job in jobs.values():
        assert job.status == "ready", (job.slug, job.reason)
    # the picture is checked only for a video whose people all agreed to be seen
    assert set(jobs["festival-stage"].videos) == {"stage.mp4"}
    assert jobs["moving-day"].duration == pytest.approx(29.5)
    assert jobs["first-flat-cut"].duration == pytest.approx(28.52)
    assert jobs["open-mic-cut"].duration == pytest.approx(15.0)


def test_audacity_example_is_what_the_page_says(project: Path) -> None:
    assert _timeline(project, "moving-day") == [
        ("interview.m4a", 0.0, 5.4),
        ("interview.m4a", 11.2, 26.8),
        ("street-corner.opus", 30.0, 38.5),  # `street` from reels:
    ]
    assert _chapters(project, "moving-day") == [(pytest.approx(5.4), "Outside")]
    assert "\t" in examples(FORMATS.read_text())["moving-day/moving-day-labels.txt"]


def test_cmx_example_is_what_the_page_says(project: Path) -> None:
    clips = _timeline(project, "first-flat-cut")
    expected = [("interview.m4a", 0.0, 5.4), ("interview.m4a", 11.2, 26.8),
                ("advice.opus", 1.48, 9.0)]  # fmt: skip
    assert [(s, pytest.approx(a), pytest.approx(b)) for s, a, b in expected] == clips
    assert _chapters(project, "first-flat-cut") == [(pytest.approx(2.0), "Moving in")]


def test_otio_example_is_what_the_page_says(project: Path) -> None:
    clips = _timeline(project, "open-mic-cut")
    expected = [("phone-call.3gp", 0.48, 6.48), ("poem.m4a", 0.0, 9.0)]
    assert [(s, pytest.approx(a), pytest.approx(b)) for s, a, b in expected] == clips
    assert _chapters(project, "open-mic-cut") == [(pytest.approx(7.0), "The poem")]


def test_face_consent_example(project: Path) -> None:
    found, problems = people.load_people(project / "episodes")
    assert not problems, problems
    assert found["sam"].may_publish_face() and found["alex"].may_publish_face()
    assert not found["jordan"].may_publish_face()  # voice only


def test_the_readme_yaml_edl_reads(tmp_path: Path) -> None:
    (body,) = examples(README.read_text(encoding="utf-8")).values()
    path = tmp_path / "edl.yaml"
    path.write_text(body, encoding="utf-8")
    timeline = yaml_edl.read(path, None)
    assert [(c.source, c.src_in, c.src_out) for c in timeline.clips] == [
        ("interview.m4a", 0.0, 5.4),
        ("interview.m4a", 11.2, 26.8),
        ("advice.opus", 62.5, 70.0),
    ]
    assert [(c.start, c.title) for c in timeline.chapters] == [(0, "Welcome"), (5.4, "Moving in")]


def test_the_docs_are_linked_from_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    for page in ("docs/formats.md", "docs/contributors.md"):
        assert f"]({page})" in readme and (ROOT / page).is_file()


# Words a contributors' guide for readers of 9 to 11 should not lean on.
JARGON = re.compile(
    r"\b(EDL|clips?|render\w*|metadata|feed|RSS|timeline|timecode|transcri\w*|cache|"
    r"audit|storage|upload\w*|consent)\b",
    re.I,
)


def test_the_contributors_guide_is_in_plain_words() -> None:
    text = CONTRIBUTORS.read_text(encoding="utf-8")
    assert not JARGON.findall(text), JARGON.findall(text)
    for heading in ("edit decision", "say yes", "change my mind", "take my story back"):
        assert heading in text.lower()
    # short sentences: the mean under 12 words, none over 25
    blocks = re.split(r"\n\s*\n|\n\s*(?:- |\d+\. |#+ )", text)  # paragraphs, list items, headings
    ends = re.compile(r"(?<=[.!?:])[\"”]?\s+")
    sentences = [s for b in blocks for s in ends.split(b.replace("**", "")) if s.strip()]
    lengths = [len(s.split()) for s in sentences]
    assert sum(lengths) / len(lengths) < 12 and max(lengths) <= 25, max(
        zip(lengths, sentences, strict=True)
    )
