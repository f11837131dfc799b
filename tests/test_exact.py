"""Exactness: a recording lasts as long as its samples that decode, and every time a
message suggests is one the EDL then accepts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline import defaults
from pipeline.cache import Cache
from pipeline.media.loudness import analyse
from pipeline.media.probe import probe
from pipeline.records import Clip, Timeline, seconds_at_most
from pipeline.render.audio import render

from conftest import copy_example, storycast

RATE = 44100


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
