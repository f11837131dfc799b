"""Workers through a cache in object storage (``compute: cache:``): each recording probed
as a task of its own before its episode's first stages run in the publishing process, and a
task fetching a recording only when a stage is about to read it. Checked as a producer
sees it: the published bytes against the in-process run's, and what the run says each task
ran on and fetched."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

from test_shared_cache import remote_objects, share_cache, storycast_env

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


def test_no_recording_of_an_episode_that_may_not_go_out_leaves_the_machine_to_be_probed(
    seaweed: Seaweed, tmp_path: Path
) -> None:
    """Probing on workers comes before an episode's approval and consent are checked, so
    it is only done for episodes those checks would let through: the recordings of an
    episode not approved, or with someone in it who has not consented to be heard, are
    probed by the publishing process, as always, and never put into the shared cache."""
    prefix = f"cache-{uuid.uuid4().hex[:8]}"
    env = s3_env()
    project = copy_example(tmp_path / "project")
    share_cache(project, seaweed, prefix)
    (project / "episodes" / "first-flat" / "approval.yaml").unlink()
    people = project / "episodes" / "people.yaml"
    text = people.read_text()
    alex = "    consent:\n      voice: 2026-11-01\n"  # alex, who is in open-mic's poem.m4a
    assert text.count(alex) == 1
    people.write_text(text.replace(alex, "    consent: {}\n"), encoding="utf-8")
    run = storycast_env(project, env, "publish", "--workers", "2")
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"skipped\s+first-flat\s+- not approved yet", run.stdout), run.stdout
    assert re.search(r"TAKEN DOWN\s+open-mic\s+- no consent to publish the voice of alex", (
        run.stdout
    )), run.stdout  # fmt: skip
    assert "dask: 2 workers" in run.stderr
    assert not _lines(run, r"probed on"), run.stderr
    objects = remote_objects(seaweed, prefix)
    for path in sorted(project.glob("episodes/*/recordings/*")):
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"v2/recordings/{sha}" not in objects, path.name
