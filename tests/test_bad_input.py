"""Bad input: each gets a message naming the file, line and field; the others still publish."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, Run, copy_example, copy_with_caches, storycast

EPISODE = """show: riverside-voices
title: {title}
published: 2026-11-20
"""

GOOD_CLIP = """  - source: poem.m4a
    in: 0
    out: 4
"""


def _episode(root: Path, slug: str, edl: str, files: dict[str, bytes | Path]) -> Path:
    folder = root / "episodes" / slug
    (folder / "recordings").mkdir(parents=True)
    (folder / "episode.yaml").write_text(EPISODE.format(title=slug.replace("-", " ")))
    (folder / "edl.yaml").write_text(edl)
    for name, content in files.items():
        target = folder / "recordings" / name
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_bytes(content)
    return folder


POEM = ROOT / "episodes" / "open-mic" / "recordings" / "poem.m4a"

# slug -> (EDL text, recordings, expected fragments of the message, "file:line")
CASES: dict[str, tuple[str, dict[str, bytes | Path], list[str], str]] = {
    "not-media": (
        "clips:\n  - source: notes.m4a\n    in: 0\n    out: 2\n",
        {"notes.m4a": b"Shopping list: milk, bread, phone charger\n" * 20},
        ["this file is text", "not a recording"],
        "recordings/notes.m4a",
    ),
    "zero-bytes": (
        "clips:\n  - source: empty.m4a\n    in: 0\n    out: 2\n",
        {"empty.m4a": b""},
        ["empty (0 bytes)", "Copy it from the phone again"],
        "recordings/empty.m4a",
    ),
    "truncated": (
        "clips:\n  - source: cut-off.m4a\n    in: 0\n    out: 2\n",
        {"cut-off.m4a": POEM.read_bytes()[: len(POEM.read_bytes()) // 2]},
        ["cut off", "moov"],
        "recordings/cut-off.m4a",
    ),
    "past-the-end": (
        "clips:\n" + GOOD_CLIP + "  - source: poem.m4a\n    in: 5\n    out: 95\n",
        {"poem.m4a": POEM},
        ["`out` (95 s) is past the end of `poem.m4a`", "when played"],
        "edl.yaml:5",
    ),
    "missing-recording": (
        "clips:\n" + GOOD_CLIP + "  - source: interveiw.m4a\n    in: 0\n    out: 3\n",
        {"poem.m4a": POEM},
        ["the recording `interveiw.m4a` is not in", "Recordings there: poem.m4a"],
        "edl.yaml:5",
    ),
    "malformed-yaml": (
        "clips:\n  - source: poem.m4a\n    in: 0\n   out: 4\n",
        {"poem.m4a": POEM},
        ["not valid YAML"],
        "edl.yaml:4",
    ),
    "in-after-out": (
        "clips:\n  - source: poem.m4a\n    in: 6\n    out: 2.5\n",
        {"poem.m4a": POEM},
        ["`out` (2.5 s) is not after `in` (6 s)"],
        "edl.yaml:4",
    ),
    "negative-time": (
        "clips:\n  - source: poem.m4a\n    in: -1.5\n    out: 2\n",
        {"poem.m4a": POEM},
        ["`-1.5` is negative"],
        "edl.yaml:3",
    ),
}
FIELDS = {
    "past-the-end": "out",
    "missing-recording": "source",
    "in-after-out": "out",
    "negative-time": "in",
}


@pytest.fixture(scope="module")
def broken_run(example_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = copy_with_caches(example_run, tmp_path_factory.mktemp("broken"))
    shutil.rmtree(root / "episodes" / "first-flat")  # keep the run short: one good episode
    for slug, (edl, files, _, _) in CASES.items():
        _episode(root, slug, edl, files)
    return storycast(root, "publish")


def test_run_fails_but_the_good_episode_publishes(broken_run: Run) -> None:
    assert broken_run.returncode == 1
    assert "published  open-mic" in broken_run.stdout
    feed = (broken_run.public / "feeds" / "riverside-voices.xml").read_text()
    assert "Open mic night" in feed
    for slug in CASES:
        assert slug.replace("-", " ") not in feed, slug


@pytest.mark.parametrize("slug", sorted(CASES))
def test_message_names_file_line_and_field(broken_run: Run, slug: str) -> None:
    _, _, fragments, where = CASES[slug]
    lines = broken_run.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "FAILED" in line and slug in line)
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("             "):
            break
        block.append(line)
    message = "\n".join(block)
    assert f"episodes/{slug}/{where}" in message, message
    for fragment in fragments:
        assert fragment in message, message
    if slug in FIELDS:
        assert f": {FIELDS[slug]}" in message or f".{FIELDS[slug]}:" in message, message


def test_nothing_of_a_failed_episode_reaches_public(broken_run: Run) -> None:
    names = [p.name for p in broken_run.public.rglob("*") if p.is_file()]
    for slug in CASES:
        assert not any(n.startswith(slug) for n in names), slug
    assert not any(n.endswith(".tmp") for n in names)


def test_check_reports_the_same_problems_without_rendering(broken_run: Run) -> None:
    run = storycast(broken_run.root, "check", "--json")
    assert run.returncode == 1
    results = {r["episode"]: r for r in json.loads(run.stdout) if "episode" in r}
    assert results["open-mic"]["status"] == "ready"
    for slug, (_, _, fragments, where) in CASES.items():
        assert results[slug]["status"] == "failed"
        assert where in results[slug]["reason"]
        assert fragments[0] in results[slug]["reason"]


def test_a_lying_header_is_caught_by_decoding(tmp_path: Path) -> None:
    """A cut-off voice memo whose index claims 10 s but whose sound stops near 3.8 s."""
    whole = tmp_path / "whole.m4a"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=10:sample_rate=16000",
            "-ac",
            "1",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
            str(whole),
        ],
        check=True,
    )
    data = whole.read_bytes()
    root = copy_example(tmp_path / "proj")
    shutil.rmtree(root / "episodes")
    _episode(
        root,
        "phone-died",
        "clips:\n  - source: memo.m4a\n    in: 1\n    out: 8\n",
        {"memo.m4a": data[: int(len(data) * 0.4)]},
    )
    run = storycast(root, "check")
    assert run.returncode == 1
    message = run.stdout
    assert "`out` (8 s) is past the end of `memo.m4a`" in message
    played = float(message.split("which lasts ")[1].split(" s when played")[0])
    assert 2.0 < played < 5.0, message
    assert "header claims 10 s" in message
