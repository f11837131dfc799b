"""A worker process killed at random moments during a publish on an embedded Dask cluster
never loses or duplicates an episode (issue 17's check).

The example show, with its measurements and transcripts from the example run but no
renders, so every episode's rest (render, captions, tags, scrub) really runs on the
workers. While ``storycast publish --workers 2`` runs, a worker process is sent SIGKILL
at moments drawn from a seeded random generator: a fraction of the workers' part of the
run (from the cluster being up to the store step), as long as the previous run's took. The
seed is printed (and named in every failure): ``STORYCAST_KILL_SEED=N`` replays it.

After each run, as a listener and the host see it: the feed, read with podcastparser,
holds each episode once; the manifest names each episode once (duplicate JSON keys are
caught, not collapsed) and every file it names once; the public folder holds exactly
what the manifest names, no orphan and no second copy; the bytes equal the in-process
run's; a kill that found its worker rendering is a retry in the summary, and no retry is
reported that no kill explains. Nothing the dead workers started (ffmpeg) is left running.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import podcastparser
import psutil
from test_compute import _drop_renders

from conftest import Run, copy_with_caches
from kit.shows import published_files

SHOW = "riverside-voices"
SLUGS = ("first-flat", "open-mic")
RUNS = 3  # publishes per test, each with one or two kills
# A kill's moment is a random fraction of the workers' part of the run (from the cluster
# being up to the store step), as long as the previous run's took (FIRST_PHASE at first).
FIRST_PHASE = 3.0
DIED = "retried: the Dask worker running it died"


@dataclass
class Kill:
    fraction: float  # of the workers' part, as the previous run's took
    at: float = 0.0  # seconds after the cluster was up
    pid: int = 0  # the worker process killed (0: none was alive, or the work was over)
    busy: list[str] = field(default_factory=list)  # what it was running (ffmpeg's episode)


def _workers(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    """The Dask worker processes of the publish (the nanny's children), oldest first."""
    try:
        children = psutil.Process(proc.pid).children()
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            if "multiprocessing.spawn" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return sorted(found, key=lambda p: p.pid)


def _running(worker: psutil.Process) -> list[str]:
    """The episodes whose files the worker's ffmpeg children are working on ("?" when a
    child names none)."""
    names = []
    try:
        for child in worker.children(recursive=True):
            args = " ".join(child.cmdline())
            names.append(next((s for s in SLUGS if f"/{s}/" in args or f"{s}-" in args), "?"))
    except psutil.Error:
        pass
    return names


def _publish_with_kills(
    project: Path, rng: random.Random, phase: float
) -> tuple[Run, list[Kill], set[tuple[int, float]], float]:
    """``publish --workers 2``, killing a worker at each of one or two random moments in
    the first ``phase`` seconds of the workers' part; how long that part took."""
    kills = [Kill(round(rng.random(), 3)) for _ in range(rng.choice((1, 2)))]
    kills.sort(key=lambda k: k.fraction)
    for k in kills:
        k.at = round(k.fraction * phase, 2)
    choices = [rng.random() for _ in kills]  # which worker, drawn up front: replayable
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "--root", str(project), "publish", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    up, over = threading.Event(), threading.Event()
    times = {"up": 0.0, "over": 0.0}
    seen: set[tuple[int, float]] = set()  # every process seen under a worker: (pid, start)

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("dask: "):
                times["up"] = time.monotonic()
                up.set()
            if line.startswith("store: ") and not over.is_set():  # the workers' part is over
                times["over"] = time.monotonic()
                over.set()
        up.set()

    def watch() -> None:
        """Notes every process under the workers; kills one at each moment due."""
        if not up.wait(timeout=300):
            return
        start = time.monotonic()
        due = list(zip(kills, choices, strict=True))
        while proc.poll() is None:
            workers = _workers(proc)
            for worker in workers:
                try:
                    children = worker.children(recursive=True)
                except psutil.Error:
                    continue
                for child in children:
                    try:
                        seen.add((child.pid, child.create_time()))
                    except psutil.Error:
                        continue
            while due and time.monotonic() - start >= due[0][0].at:
                k, choice = due.pop(0)
                if over.is_set() or not workers:
                    continue  # the workers' part is over: this moment missed it
                worker = workers[int(choice * len(workers))]
                k.busy = _running(worker)
                try:
                    os.kill(worker.pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                k.pid = worker.pid
            time.sleep(0.02)

    reader = threading.Thread(target=read)
    killer = threading.Thread(target=watch)
    reader.start()
    killer.start()
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    proc.wait(timeout=600)
    reader.join()
    killer.join()
    took = times["over"] - times["up"] if times["over"] else phase
    return Run(project, proc.returncode, stdout, "".join(lines)), kills, seen, took


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"a key twice in the manifest: {sorted(keys)}"
    return dict(pairs)


def _keys(value: Any) -> list[str]:
    """Every object key the manifest names, as often as it names it."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "key"] + [
            key for k, v in value.items() if k != "key" for key in _keys(v)
        ]
    if isinstance(value, list):
        return [key for v in value for key in _keys(v)]
    return []


def _check_published_once(run: Run, example: Run, kills: list[Kill], replay: str) -> None:
    said = f"\n{replay}\nkills: {kills}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
    assert run.returncode == 0, "the publish failed" + said
    public = run.public
    # the feed, as a podcast app reads it: each episode once, each enclosure its own file
    with (public / "feeds" / f"{SHOW}.xml").open("rb") as fh:
        feed = podcastparser.parse("feed.xml", fh)
    with (example.public / "feeds" / f"{SHOW}.xml").open("rb") as fh:
        expected = sorted(e["title"] for e in podcastparser.parse("feed.xml", fh)["episodes"])
    titles = sorted(e["title"] for e in feed["episodes"])
    assert titles == expected and len(set(titles)) == len(SLUGS), titles + [said]
    enclosures = [e["enclosures"][0]["url"] for e in feed["episodes"]]
    assert len(set(enclosures)) == len(enclosures) == len(SLUGS), said
    # the manifest: each episode once, every object once, and nothing published beside it
    manifest = json.loads(
        (public / "manifests" / f"{SHOW}.json").read_bytes(), object_pairs_hook=_no_duplicate_keys
    )
    assert sorted(manifest["episodes"]) == sorted(SLUGS), said
    keys = _keys(manifest)
    assert len(keys) == len(set(keys)), f"an object named twice: {sorted(keys)}" + said
    files = {str(p.relative_to(public)) for p in public.rglob("*") if p.is_file()}
    assert files - {f"manifests/{SHOW}.json"} == set(keys), "orphans or missing files" + said
    for slug in SLUGS:
        assert len(list((public / "media" / SHOW).glob(f"{slug}-*.mp3"))) == 1, said
        assert sum(f"{slug}: done on" in line for line in run.stderr.splitlines()) == 1, said
    # the same bytes as the run nobody interrupted
    ours, theirs = published_files(public), published_files(example.public)
    assert sorted(ours) == sorted(theirs), said
    differ = [name for name in theirs if ours[name] != theirs[name]]
    assert not differ, f"differ from the in-process run's: {differ}" + said
    # every retry a kill explains, and a kill under a running render is a retry
    landed = [k for k in kills if k.pid]
    deaths = _deaths(run.stdout)
    # a kill under a running ffmpeg killed a task; a worker holds at most two (the one it
    # runs, one queued behind it)
    busy = sum(1 for k in landed if k.busy)
    assert busy <= deaths <= 2 * len(landed), (
        f"{deaths} deaths in the summary for {len(landed)} kills, {busy} mid-work" + said
    )


def _deaths(stdout: str) -> int:
    """The worker deaths the summary reports, over every task."""
    summary = stdout[stdout.index("== Riverside Voices ==") :]
    found = re.findall(DIED + r" (once|(\d+) times)", summary)
    return sum(1 if times == "once" else int(n) for times, n in found)


def test_a_worker_killed_at_random_moments_never_loses_or_duplicates_an_episode(
    example_run: Run, tmp_path: Path
) -> None:
    assert example_run.returncode == 0, example_run.stderr
    seed = int(os.environ.get("STORYCAST_KILL_SEED") or random.SystemRandom().randrange(2**32))
    replay = f"seed {seed}: replay with STORYCAST_KILL_SEED={seed}"
    print(replay)
    rng = random.Random(seed)
    landed = busy = 0
    phase = FIRST_PHASE
    for n in range(RUNS):
        project = copy_with_caches(example_run, tmp_path / f"run-{n}")
        _drop_renders(project)  # the workers render every episode again
        run, kills, seen, phase = _publish_with_kills(project, rng, phase)
        deaths = _deaths(run.stdout)
        print(f"run {n} (workers' part {phase:.1f} s): {kills}; deaths in the summary: {deaths}")
        print("".join(f"  {line}\n" for line in run.stdout.splitlines() if "retried:" in line))
        _check_published_once(run, example_run, kills, replay)
        landed += sum(1 for k in kills if k.pid)
        busy += sum(1 for k in kills if k.busy)
        # nothing a dead worker started is left running once the publish is over
        left = []
        for pid, started in seen:
            try:
                child = psutil.Process(pid)
                if child.create_time() == started and child.status() != psutil.STATUS_ZOMBIE:
                    left.append(" ".join(child.cmdline())[:200])
            except psutil.Error:
                continue
        assert not left, f"left running after the publish: {left}\n{replay}"
    print(f"{landed} kills landed, {busy} of them under a running ffmpeg")
    assert landed, f"no kill landed while the workers worked\n{replay}"
