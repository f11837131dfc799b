"""A GPU on a Dask cluster: transcription asks for a worker's ``GPU`` resource when some
worker advertises one, and only then; the worker transcribes on CUDA where CTranslate2
finds a device, and on its CPU with a note where it does not (this machine has none), so
the published bytes are the CPU's. Checked on a real LocalCluster, one of whose workers
advertises GPU=1, with the scheduler's own record of where each task ran and what it
asked for."""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask
import distributed
from distributed.diagnostics.plugin import SchedulerPlugin

from pipeline.records import Recording
from pipeline.transcribe import SETTINGS_VERSION, cache_key, get_engine

from conftest import Run, copy_with_caches, storycast
from kit.shows import published_files

THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class Seen(SchedulerPlugin):
    """The scheduler's record of each task as it started: what it asked for, and where."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.tasks: dict[str, tuple[dict[str, float], str]] = {}

    def transition(self, key: Any, start: Any, finish: Any, *args: Any, **kwargs: Any) -> None:
        if finish == "processing":
            ts = self.scheduler.tasks[key]
            self.tasks[str(key)] = (dict(ts.resource_restrictions or {}), ts.processing_on.address)

    def of(self, kind: str) -> dict[str, tuple[dict[str, float], str]]:
        return {k: v for k, v in self.tasks.items() if k.startswith(f"storycast-{kind}-")}


@contextmanager
def cluster() -> Iterator[tuple[Any, Seen]]:
    """A LocalCluster of one worker, its scheduler watched. The workers' math libraries get
    this machine's thread count, as `--workers` gives them (the words' times depend on it)."""
    threads = str(len(os.sched_getaffinity(0)))
    with dask.config.set({"distributed.nanny.pre-spawn-environ": dict.fromkeys(THREADS, threads)}):
        local = distributed.LocalCluster(
            n_workers=1, processes=True, threads_per_worker=1, host="127.0.0.1",
            dashboard_address=None,
        )  # fmt: skip
    try:
        seen = Seen(local.scheduler)
        local.scheduler.add_plugin(seen)
        yield local, seen
    finally:
        local.close()


def add_gpu_worker(local: Any) -> str:
    """Another worker of the same kind, advertising a GPU (as `dask worker --resources
    "GPU=1"` does); its address."""
    before = set(local.scheduler.workers)
    spec = copy.deepcopy(local.new_spec)
    spec["options"]["resources"] = {"GPU": 1}
    threads = str(len(os.sched_getaffinity(0)))
    local.worker_spec["gpu"] = spec
    with dask.config.set({"distributed.nanny.pre-spawn-environ": dict.fromkeys(THREADS, threads)}):
        local.sync(local._correct_state)
    with distributed.Client(local) as client:
        client.wait_for_workers(len(before) + 1, timeout=120)
    (address,) = set(local.scheduler.workers) - before
    return str(address)


def test_transcription_asks_for_a_gpu_only_when_a_worker_has_one(
    example_run: Run, tmp_path: Path
) -> None:
    assert example_run.returncode == 0, example_run.stderr
    with cluster() as (local, seen):
        # No worker has a GPU: nothing asks for one (a task would wait for ever).
        plain = copy_with_caches(example_run, tmp_path / "plain")
        run = storycast(plain, "publish", "--scheduler", local.scheduler_address)
        assert run.returncode == 0, run.stdout + run.stderr
        assert len(seen.of("recording")) == 4, seen.tasks
        assert seen.tasks and all(asked == {} for asked, _ in seen.tasks.values()), seen.tasks
        assert "asks for a GPU" not in run.stderr
        assert published_files(run.public) == published_files(example_run.public)

        # One worker advertises a GPU: every recording's transcription goes there, the
        # episodes' other tasks ask for nothing.
        gpu = add_gpu_worker(local)
        seen.tasks.clear()
        project = copy_with_caches(example_run, tmp_path / "gpu")
        shutil.rmtree(project / ".storycast" / "cache" / "v2" / "transcripts")  # made there
        run = storycast(project, "publish", "--scheduler", local.scheduler_address)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"dask: transcription asks for a GPU: 1 worker has one ({gpu})" in run.stderr
    recordings = seen.of("recording")
    assert len(recordings) == 4, seen.tasks
    for key, (asked, where) in recordings.items():
        assert asked == {"GPU": 1} and where == gpu, key
    others = {**seen.of("first"), **seen.of("rest")}
    assert len(others) == 4 and all(asked == {} for asked, _ in others.values()), others
    measured = [line for line in run.stderr.splitlines() if "measured and transcribed on" in line]
    assert len(measured) == 4 and all(f"on {gpu} in " in line for line in measured), measured
    # This machine has no CUDA device: the worker said so and used its CPU, so the
    # captions are the CPU's, byte for byte.
    note = (
        f"the Dask worker at {gpu} advertises a GPU resource, but CTranslate2 finds no CUDA "
        "device there, so that worker used its CPU (int8) for it, as a worker without one does"
    )
    summary = run.stdout[run.stdout.index("== Riverside Voices ==") :]
    for name in ("interview.m4a", "advice.opus", "poem.m4a", "phone-call.3gp"):
        assert f"{name}: {note}" in " ".join(summary.split()), summary
    assert published_files(run.public) == published_files(example_run.public)


def test_a_transcript_made_on_a_gpu_is_kept_under_a_key_of_its_own(tmp_path: Path) -> None:
    """float16 on a GPU and int8 on a CPU may give other words' times: never one key for
    both. The CPU's key is the one it always was."""
    rec = Recording(tmp_path / "a.m4a", "a.m4a", "ab" * 32, 1, 1.0, None, "mp4", "aac", 1, 1)
    cpu = get_engine("faster-whisper", "tiny.en", "en")
    gpu = get_engine("faster-whisper", "tiny.en", "en", device="cuda")
    assert gpu.compute_type == "float16" and cpu.compute_type == "int8"  # type: ignore[attr-defined]
    assert cache_key(rec, gpu) != cache_key(rec, cpu)
    assert cache_key(rec, cpu, "cuda") == cache_key(rec, gpu)
    ident = f"{'ab' * 32}|faster-whisper|tiny.en|en|{SETTINGS_VERSION}"
    assert cache_key(rec, cpu) == hashlib.sha256(ident.encode()).hexdigest()


class Started(SchedulerPlugin):
    """Set when a recording's task starts on the given worker."""

    def __init__(self, scheduler: Any, worker: str) -> None:
        self.scheduler = scheduler
        self.worker = worker
        self.event = threading.Event()

    def transition(self, key: Any, start: Any, finish: Any, *args: Any, **kwargs: Any) -> None:
        if finish == "processing" and str(key).startswith("storycast-recording-"):
            if self.scheduler.tasks[key].processing_on.address == self.worker:
                self.event.set()


def test_when_every_gpu_worker_leaves_mid_run_transcription_goes_on_without_one(
    example_run: Run, tmp_path: Path
) -> None:
    """The only GPU worker leaves while transcribing (its own work and three more queued
    behind it): the tasks waiting for a GPU are sent again, asking nothing, and every
    episode is published once, with the same bytes, and a note in the summary."""
    assert example_run.returncode == 0, example_run.stderr
    project = copy_with_caches(example_run, tmp_path / "gone")
    shutil.rmtree(project / ".storycast" / "cache" / "v2" / "transcripts")  # made there
    with cluster() as (local, seen):
        gpu = add_gpu_worker(local)
        started = Started(local.scheduler, gpu)
        local.scheduler.add_plugin(started)
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "--root", str(project), "publish",
             "--scheduler", local.scheduler_address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert started.event.wait(timeout=180), "no recording started on the GPU worker"
            del local.worker_spec["gpu"]  # it leaves, as a stopped `dask worker` does
            local.sync(local._correct_state)
            assert gpu not in local.scheduler.workers
            stdout, stderr = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, stdout + stderr
    said = [line for line in stderr.splitlines() if "no worker has had a GPU" in line]
    assert len(said) == 1, stderr
    assert said[0].startswith(
        "dask: no worker has had a GPU for 5 s (every one that had one left): transcription "
        "goes on without one; "
    ), said
    again = seen.of("recording")
    moved = {k: v for k, v in again.items() if "-nogpu-" in k}
    assert moved, again
    assert all(asked == {} and where != gpu for asked, where in moved.values()), moved
    n = int(said[0].split("; ")[1].split(" ")[0])
    assert n == len(moved), (said, moved)
    # each recording reported measured once: the cancelled tasks say nothing
    measured = [line for line in stderr.splitlines() if "measured and transcribed on" in line]
    assert len(measured) == 4, measured
    summary = " ".join(stdout[stdout.index("== Riverside Voices ==") :].split())
    assert summary.count("transcribed without a GPU: every worker that had one left") == n
    assert published_files(project / "public") == published_files(example_run.public)
