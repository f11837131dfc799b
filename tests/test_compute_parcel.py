"""Workers through a cache in object storage (``compute: cache:``): each recording probed
as a task of its own before its episode's first stages run in the publishing process, and a
task fetching a recording only when a stage is about to read it. Checked as a producer
sees it: the published bytes against the in-process run's, and what the run says each task
ran on and fetched."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from test_shared_cache import share_cache, storycast_env

import kit.seaweed as sw
from conftest import Run, copy_example
from kit.seaweed import Seaweed, s3_env
from kit.shows import published_files

seaweed = sw.seaweed  # the session's SeaweedFS

RECORDINGS = ["advice.opus", "interview.m4a", "phone-call.3gp", "poem.m4a"]


def _lines(run: Run, pattern: str) -> list[re.Match[str]]:
    return [m for line in run.stderr.splitlines() if (m := re.search(pattern, line))]


def test_probes_run_as_tasks_and_a_cached_recording_is_never_fetched(
    example_run: Run, seaweed: Seaweed, tmp_path: Path
) -> None:
    assert example_run.returncode == 0, example_run.stderr
    prefix = f"cache-{uuid.uuid4().hex[:8]}"
    env = s3_env()

    # Nothing made yet anywhere: every recording is probed on a worker, at once.
    first = copy_example(tmp_path / "first")
    share_cache(first, seaweed, prefix)
    run = storycast_env(first, env, "publish", "--workers", "2")
    assert run.returncode == 0, run.stdout + run.stderr
    probed = _lines(run, r"^recording (\S+) \(\w+\): probed on tcp://127\.0\.0\.1:\d+ in ")
    assert sorted(m.group(1) for m in probed) == RECORDINGS
    assert published_files(run.public) == published_files(example_run.public)
    # the recordings' own tasks measured them (each fetched), the renders read them all
    measured = _lines(run, r"^recording (\S+) .*: measured and transcribed on .*; (\d) of 1 ")
    assert sorted((m.group(1), m.group(2)) for m in measured) == [(n, "1") for n in RECORDINGS]
    done = _lines(run, r"^\[\d/2\] (\S+): done on .*; (\d) of (\d) recordings fetched")
    assert sorted(m.groups() for m in done) == [("first-flat", "2", "2"), ("open-mic", "2", "2")]

    # Another producer's machine, an empty folder, the same cache: nothing is probed,
    # measured, transcribed or rendered again, and so no recording is fetched by any task.
    second = copy_example(tmp_path / "second")
    share_cache(second, seaweed, prefix)
    again = storycast_env(second, env, "publish", "--workers", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert not _lines(again, r"probed on"), again.stderr
    measured = _lines(again, r"^recording (\S+) .*: measured and transcribed on .*; (\d) of 1 ")
    assert sorted((m.group(1), m.group(2)) for m in measured) == [(n, "0") for n in RECORDINGS]
    done = _lines(again, r"^\[\d/2\] (\S+): done on .*; (\d) of (\d) recordings fetched")
    assert sorted(m.groups() for m in done) == [("first-flat", "0", "2"), ("open-mic", "0", "2")]
    assert published_files(again.public) == published_files(example_run.public)
