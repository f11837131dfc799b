"""Shared fixtures: projects in temporary folders, published as a user would."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    root: Path
    returncode: int
    stdout: str
    stderr: str

    @property
    def public(self) -> Path:
        return self.root / "public"


def storycast(root: Path, *args: str) -> Run:
    """Run the `storycast` command in `root`, as a producer would."""
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Run(root, proc.returncode, proc.stdout, proc.stderr)


def copy_example(dest: Path) -> Path:
    shutil.copytree(ROOT / "feeds", dest / "feeds")
    shutil.copytree(ROOT / "episodes", dest / "episodes")
    return dest


def copy_with_caches(example_run: Run, dest: Path) -> Path:
    """A fresh copy of the example project (nothing published yet) that shares the
    example run's caches, so its recordings are not probed, measured or transcribed
    again. Use it for any test that needs the example show as a starting point."""
    copy_example(dest)
    cache = example_run.root / ".storycast" / "cache"
    if cache.is_dir():
        shutil.copytree(cache, dest / ".storycast" / "cache")
    return dest


@pytest.fixture(scope="session")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The repository's example show, published once into a temporary project."""
    root = copy_example(tmp_path_factory.mktemp("example"))
    return storycast(root, "publish")


def decoded_duration(path: Path) -> float:
    """Seconds of audio, counted by decoding (not from headers)."""
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-f",
            "null",
            "-progress",
            "pipe:1",
            "-nostats",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    times = re.findall(r"out_time_us=(\d+)", proc.stdout)
    return int(times[-1]) / 1e6


def ebur128(
    path: Path, start: float | None = None, seconds: float | None = None
) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP), measured by ffmpeg's ebur128,
    of the whole file or of ``seconds`` from ``start``."""
    segment = [] if start is None else ["-ss", str(start), "-t", str(seconds)]
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", *segment, "-i", str(path),
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    summary = proc.stderr[proc.stderr.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))  # type: ignore[union-attr]
    return integrated, peak
