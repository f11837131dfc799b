"""Shared fixtures: projects in temporary folders, published as a user would."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# How `make test` shares the work between its two xdist workers (order only: every test
# runs, and each passes alone and in any order).
#
# The modules whose module- or session-scoped fixtures build something expensive (a
# published show, made media, a browser) run on one worker, so it is built once rather than
# on both. (xdist's own `--dist loadgroup` cannot do this under pytest 9.2, which ignores the
# group name xdist appends to a test's id; the scheduler below groups by this list instead.)
SHARED_MODULES = frozenset(
    f"tests/test_{name}.py"
    for name in (
        "authority", "bad_input", "consent", "docs", "hostile_input", "images", "languages",
        "loudness_headroom", "progress", "publish_s3", "scrub", "site", "site_video",
        "studio", "studio_hearing", "studio_hidden", "studio_ideas", "transcribe",
        "transcribe_budget", "video", "video_episode",
        "video_feed",
    )
)  # fmt: skip
# The tests that take longest on their own (a cluster, a publish killed many times, a model
# loaded) are started first, so neither worker is left running one of them alone at the end.
LONG_FIRST = (
    "test_two_machines_on_one_share_nothing_but_the_cache",
    "test_a_worker_killed_at_random_moments_never_loses_or_duplicates_an_episode",
    "test_a_publish_killed_at_any_point_leaves_the_previous_feed_valid",
    "test_probes_run_as_tasks_and_a_cached_recording_is_never_fetched",
    "test_transcription_asks_for_a_gpu_only_when_a_worker_has_one",
    "test_when_every_gpu_worker_leaves_mid_run_transcription_goes_on_without_one",
    "test_a_recording_gets_the_same_words_whatever_was_transcribed_before",
    "test_two_workers_publish_the_same_bytes_as_in_process",
    "test_a_worker_killed_mid_render_is_retried_and_the_episode_published_once",
    "test_the_same_episode_renders_to_the_same_bytes_every_time",
    "test_a_broken_cover_never_leaks_ffmpeg_stderr",
)


def _shared_state(item: pytest.Item) -> bool:
    """Whether the test uses a module- or session-scoped fixture of its own module."""
    info = getattr(item, "_fixtureinfo", None)
    module = getattr(item, "module", None)
    if info is None or module is None:
        return False
    for name in info.names_closure:
        for fixturedef in info.name2fixturedefs.get(name, ()):
            if fixturedef.scope in ("module", "session") and (
                getattr(fixturedef.func, "__module__", None) == module.__name__
            ):
                return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest single tests first; and a word if a module has gained shared fixtures
    without being listed in SHARED_MODULES (its fixtures would then be built twice)."""
    missing = sorted({i.nodeid.split("::")[0] for i in items if _shared_state(i)} - SHARED_MODULES)
    if missing:
        warnings.warn(
            f"tests/conftest.py: add {', '.join(missing)} to SHARED_MODULES: its module "
            "fixtures are built on both xdist workers otherwise",
            stacklevel=1,
        )
    items.sort(key=lambda item: getattr(item, "originalname", item.name) not in LONG_FIRST)


@pytest.hookimpl(optionalhook=True)  # known only when xdist is loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`--dist loadgroup` (as `make test` runs): each module of SHARED_MODULES is one unit
    of work, every other test a unit of its own. xdist hands out the largest units first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedModules(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in SHARED_MODULES else nodeid

    return SharedModules(config, log)  # type: ignore[arg-type]


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
    """The repository's example show, published once into a temporary project.

    Once for the whole run, not once per xdist worker: the first worker to ask publishes
    it into the run's own temporary folder (the parent of each worker's), holding a lock
    that the other waits on, and both read the same project and output. Tests read it
    and never change it: a test that publishes again, or changes anything, does so in a
    copy (`copy_with_caches`, or a copy of the whole folder)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        # (not under xdist, the parent folder is shared by every pytest run on the machine)
        return storycast(copy_example(tmp_path_factory.mktemp("example")), "publish")
    shared = tmp_path_factory.getbasetemp().parent
    saved = shared / "example-run.json"
    with open(shared / "example-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not saved.exists():
            run = storycast(copy_example(shared / "example"), "publish")
            saved.write_text(json.dumps({**asdict(run), "root": str(run.root)}))
    fields = json.loads(saved.read_text())
    return Run(**{**fields, "root": Path(fields["root"])})


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
