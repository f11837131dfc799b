"""`python -m bench.compute`: where the episodes' work runs, side by side in one run.

A small festival: the example show's two episodes copied into EPISODES episodes, each
recording looped LOOPS times and its volume nudged so that no two episodes share a
recording (every one is probed, measured, transcribed and rendered: no caches). Published
three ways: in this process, on an embedded Dask cluster of 1 worker, and of 2; and a
fourth, "two machines" on this one: `dask scheduler` and two `dask worker` processes started
here as subprocesses, each in a folder of its own (working folder and TMPDIR; where the
system allows it, the producer's folder hidden from them by a mount namespace), with the
cache in a SeaweedFS bucket (`compute: cache:`), so that nothing is shared through the
local filesystem. A fifth, "two machines again": a second publish on the same machines
from a fresh copy of the project folder (an empty local cache, nothing published yet) with
the same cache in SeaweedFS, which then holds every probe, measurement, transcript and
render: what lazy fetching and probing on workers buy (the run says how many recordings
each task fetched; a recording is fetched only when a stage is about to read it). Its wall
time is the publish alone (the machines are up already); the first two machines' start-up
is given apart.

Reports each run's wall time, its ratio to the in-process run, and whether the published
files are the same bytes as in-process (every file under the public folder: media, video,
captions, transcripts, posters, pages, feed; the manifest's write times aside). A run that
fails, publishes fewer episodes than asked, or publishes other bytes than in-process
stops the benchmark with an error naming the files, after its figures are written.

Two short 1080p video episodes are published with them (VIDEOS; a phone-like moving picture
with grain at 30 fps, the sound one of the example's recordings, two clips of 7 s each).

Besides wall time, each run reports:

- peak memory per worker: the resident memory (RSS) of each Dask worker process, alone and
  with the processes it starts (ffmpeg, ExifTool), summed at each sample, sampled with
  psutil every SAMPLE seconds (a peak shorter than that can be missed); in-process, the
  publish process and its children. The largest single child (an ffmpeg render) is given
  apart, since Dask's nanny does not count it;
- the tasks' own seconds (what each task reports: "done on ... in N s"), summed;
- scheduler overhead per task: a no-op task's round trip (submit to result, one after
  another, so each pays the whole path client, scheduler, worker and back) on a cluster
  configured as the run's (an embedded one started here for ``--workers``; the two
  machines' own scheduler), and the time per task of a batch submitted at once.

`python -m bench.compute --episodes 4 --videos 0 --runs in-process,two-machines` runs fewer.

A cluster's start-up (a few seconds, and each worker loading the speech model) counts in
its wall time. The five runs took about 16 minutes together on 2 cores under a load of 5 to
12 (2026-12-03), the fifth about 30 s of it. Times on a machine shared with other work are
noisy: compare the ratios within one run. Results go to bench-results/compute-*.json, with
the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil

from bench import ROOT
from bench.report import write_results

from kit.shows import published_files

EPISODES = 8
VIDEOS = 2
VIDEO_SECONDS = 16  # each video recording; its episode is two clips of 7 s
LOOPS = 2
SAMPLE = 0.2  # seconds between memory samples
NOOPS = 100  # no-op tasks timed one after another, then five times as many at once
CODECS = {".m4a": ["-c:a", "aac", "-b:a", "96k"], ".opus": ["-c:a", "libopus", "-b:a", "48k"],
          ".3gp": ["-c:a", "aac", "-b:a", "32k", "-ar", "16000", "-ac", "1"]}  # fmt: skip

RUNS: dict[str, list[str]] = {
    "in-process": [],
    "--workers 1": ["--workers", "1"],
    "--workers 2": ["--workers", "2"],
    "two machines": [],  # a scheduler and two workers started here (``two_machines``)
    "two machines again": [],  # the same machines and cache, a fresh project folder
}
MACHINE_RUNS = ("two machines", "two machines again")


def festival(
    project: Path, episodes: int = EPISODES, loops: int = LOOPS, videos: int = VIDEOS
) -> float:
    """The example show grown to ``episodes`` audio episodes and ``videos`` video episodes;
    returns the seconds of recordings."""
    shutil.copytree(ROOT / "feeds", project / "feeds")
    show_file = project / "feeds" / "riverside-voices.yaml"
    show_file.write_text(show_file.read_text() + "approval: optional\n")  # recordings re-made
    (project / "episodes").mkdir()
    shutil.copyfile(ROOT / "episodes" / "people.yaml", project / "episodes" / "people.yaml")
    seconds = 0.0
    for n in range(1, episodes + 1):
        source = ROOT / "episodes" / ("first-flat" if n % 2 else "open-mic")
        folder = project / "episodes" / f"{source.name}-{n}"
        shutil.copytree(source, folder, ignore=shutil.ignore_patterns("recordings", "approval*"))
        meta = folder / "episode.yaml"
        meta.write_text(re.sub(r"(?m)^number: .*$", f"number: {n}", meta.read_text()))
        (folder / "recordings").mkdir()
        for rec in sorted((source / "recordings").iterdir()):
            out = folder / "recordings" / rec.name
            subprocess.run(
                ["ffmpeg", "-nostdin", "-v", "error", "-stream_loop", str(loops - 1), "-i",
                 str(rec), "-af", f"volume={1 - n / 1000:.3f}", "-map_metadata", "-1",
                 *CODECS[rec.suffix], str(out)],
                check=True,
            )  # fmt: skip
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                 str(out)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            seconds += float(probe.stdout)
    for n in range(1, videos + 1):
        seconds += video_episode(project, episodes + n, n)
    return seconds


VIDEO_PERSON = """  - id: festival-crew
    credit: none
    roles: [guest]
    consent:
      voice: 2026-10-01
      face: 2026-10-01
"""


def video_episode(project: Path, number: int, n: int) -> float:
    """A short 1080p phone-like video episode (its own sound, nudged); its recording's
    seconds."""
    people = project / "episodes" / "people.yaml"
    if "festival-crew" not in people.read_text():
        people.write_text(people.read_text() + VIDEO_PERSON)
    folder = project / "episodes" / f"festival-video-{n}"
    (folder / "recordings").mkdir(parents=True)
    sound = ROOT / "episodes" / "first-flat" / "recordings" / "interview.m4a"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i",
         f"testsrc2=s=1920x1080:r=30:d={VIDEO_SECONDS},noise=alls=12:allf=t",
         "-i", str(sound), "-t", str(VIDEO_SECONDS), "-map", "0:v", "-map", "1:a",
         "-af", f"volume={1 - n / 1000:.3f}", "-map_metadata", "-1",
         "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "high", "-pix_fmt", "yuv420p",
         "-b:v", "12M", "-c:a", "aac", "-b:a", "128k", str(folder / "recordings" / "clip.mp4")],
        check=True,
    )  # fmt: skip
    (folder / "episode.yaml").write_text(
        f"show: riverside-voices\nnumber: {number}\ntitle: Festival video {n}\n"
        "published: 2026-11-20\nmedium: video\nappearances:\n  clip.mp4: [festival-crew]\n"
    )
    (folder / "edl.yaml").write_text(
        "clips:\n  - source: clip.mp4\n    in: 0.5\n    out: 7.5\n    fade_in: 0.3\n"
        "  - source: clip.mp4\n    in: 8.5\n    out: 15.5\n    fade_out: 0.5\n"
    )
    return float(VIDEO_SECONDS)


class Memory:
    """Peak resident memory of each worker process under ``roots`` (with what it started),
    sampled every SAMPLE seconds until ``stop``. A worker is a Dask worker process (a
    ``multiprocessing`` child of a nanny); ``in_process``: the root itself (the publish
    process) is the one worker."""

    def __init__(self, roots: list[int], in_process: bool = False) -> None:
        self.roots = roots
        self.in_process = in_process
        self.peaks: dict[int, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _workers(root: psutil.Process) -> list[psutil.Process]:
        found = []
        for proc in root.children(recursive=True):
            try:
                if "multiprocessing.spawn" in " ".join(proc.cmdline()):
                    found.append(proc)
            except psutil.Error:
                continue
        return found

    def _sample(self) -> None:
        mib = 1024 * 1024
        while not self._stop.wait(SAMPLE):
            for pid in self.roots:
                try:
                    root = psutil.Process(pid)
                    workers = [root] if self.in_process else self._workers(root)
                except psutil.Error:
                    continue
                for worker in workers:
                    try:
                        own = worker.memory_info().rss / mib
                        children = [c.memory_info().rss / mib for c in worker.children(True)]
                    except psutil.Error:
                        continue
                    peak = self.peaks.setdefault(
                        worker.pid, {"worker": 0.0, "with_children": 0.0, "largest_child": 0.0}
                    )
                    peak["worker"] = max(peak["worker"], own)
                    peak["with_children"] = max(peak["with_children"], own + sum(children))
                    peak["largest_child"] = max(peak["largest_child"], max(children, default=0))

    def stop(self) -> dict[str, dict[str, float]]:
        """Each worker's peaks in MiB, in the order the workers started."""
        self._stop.set()
        self._thread.join()
        return {
            f"worker {n}": {k: round(v) for k, v in self.peaks[pid].items()}
            for n, pid in enumerate(sorted(self.peaks), 1)
        }


def task_seconds(stderr: str) -> dict[str, Any]:
    """What the tasks say they took (recordings' probes and measuring, and each episode's
    parts), and each episode's rest (render, captions, video, tags, checks) by kind."""
    said = r"(?:done|measured and transcribed|probed) on tcp://\S+ in ([\d.]+) s"
    found = [float(m.group(1)) for m in re.finditer(said, stderr)]
    rest: dict[str, list[float]] = {"audio": [], "video": []}
    for m in re.finditer(r"\] (\S+): done on tcp://\S+ in ([\d.]+) s", stderr):
        rest["video" if m.group(1).startswith("festival-video") else "audio"].append(
            float(m.group(2))
        )
    return {
        "tasks_reporting": len(found),
        "task_seconds_sum": round(sum(found), 1),
        "episode_rest_seconds_mean": {
            kind: round(statistics.mean(times), 1) for kind, times in rest.items() if times
        },
    }


def fetches(stderr: str) -> dict[str, Any]:
    """How many recordings the workers fetched from the shared cache: each probe task
    fetches its recording; a recording's task and an episode's rest say how many of theirs
    they fetched ("; N of M recordings fetched from the cache")."""
    fetched = r"; (\d+) of (\d+) recordings? fetched from the cache"
    counts = {"recording_tasks": [0, 0], "episode_rests": [0, 0]}
    for line in stderr.splitlines():
        m = re.search(fetched, line)
        if m is None:
            continue
        kind = "recording_tasks" if "measured and transcribed on" in line else "episode_rests"
        counts[kind][0] += int(m.group(1))
        counts[kind][1] += int(m.group(2))
    probes = len(re.findall(r"\): probed on tcp://", stderr))
    return {
        "probe_tasks": probes,
        **{kind: f"{n} of {of} fetched" for kind, (n, of) in counts.items()},
        "recordings_fetched": probes + sum(n for n, _ in counts.values()),
    }


def kinds(files: dict[str, bytes]) -> dict[str, int]:
    """How many published files of each kind (by suffix): what the comparison covered."""
    found: dict[str, int] = {}
    for name in files:
        suffix = Path(name).suffix or Path(name).name
        found[suffix] = found.get(suffix, 0) + 1
    return dict(sorted(found.items()))


def scheduler_overhead(address: str | None = None, workers: int = 2) -> dict[str, Any]:
    """A no-op task's round trip on the scheduler at ``address``, or on an embedded cluster
    of ``workers`` started as ``--workers`` starts it."""
    import distributed

    from pipeline.compute import Compute
    from pipeline.compute.cluster import connect

    Client: Any = distributed.Client  # distributed is not typed
    if address:
        client = Client(address, timeout=60)
        close = client.close
    else:
        runner = connect(Compute(workers=workers), lambda line: None)
        client, close = runner.client, runner.close
    try:
        client.submit(abs, -1, pure=False).result()  # every connection made
        trips = []
        for i in range(NOOPS):
            started = time.perf_counter()
            client.submit(abs, -i, pure=False).result()
            trips.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.gather([client.submit(abs, -i, pure=False) for i in range(5 * NOOPS)])
        batch = (time.perf_counter() - started) / (5 * NOOPS)
    finally:
        close()
    trips.sort()
    return {
        "noop_round_trip_ms_median": round(statistics.median(trips) * 1000, 1),
        "noop_round_trip_ms_p90": round(trips[int(len(trips) * 0.9)] * 1000, 1),
        f"per_task_ms_in_a_batch_of_{5 * NOOPS}": round(batch * 1000, 2),
    }


def run(
    episodes: int = EPISODES, runs: list[str] | None = None, videos: int = VIDEOS
) -> dict[str, Any]:
    runs = runs or list(RUNS)
    if "two machines again" in runs and "two machines" not in runs:
        runs.insert(runs.index("two machines again"), "two machines")
    results: dict[str, Any] = {"load_average_before": [round(x, 1) for x in os.getloadavg()]}
    published: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        template = Path(tmp) / "festival"
        seconds = festival(template, episodes, videos=videos)
        results["show"] = (
            f"{episodes} audio episodes ({episodes * 2} recordings) and {videos} 1080p video "
            f"episodes of 14 s, {seconds / 60:.1f} minutes of recordings, no caches"
        )
        # The machines' project folders, all hidden from their workers: the second run's
        # fresh copy is no more visible to them than the first.
        producers = Path(tmp) / "producers"
        env = None
        machines = None
        cache = ""
        for name in runs:
            slug = name.replace(" ", "").replace("-", "")
            project = (producers if name in MACHINE_RUNS else Path(tmp)) / slug
            shutil.copytree(template, project)
            roots: list[int] = []
            address = None
            started = time.perf_counter()
            if name == "two machines":  # its start-up counts, as a cluster's does
                env, hidden, machines, cache = two_machines(
                    producers, Path(tmp) / "elsewhere", stack
                )
                results[name] = {
                    "producer_folder_hidden_from_workers": hidden,
                    "startup_s": round(time.perf_counter() - started, 2),
                }
            if name in MACHINE_RUNS:
                assert machines is not None
                point_at(project, machines.address, cache)
                roots = [p.pid for p in machines.procs[1:]]
                address = machines.address
            proc = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "--root", str(project), "publish",
                 *RUNS[name]],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                env=env if name in MACHINE_RUNS else None,
            )  # fmt: skip
            memory = Memory(roots or [proc.pid], in_process=name == "in-process")
            stdout, stderr = proc.communicate()
            seconds = time.perf_counter() - started
            peaks = memory.stop()
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed:\n{stdout}\n{stderr}")
            total = episodes + videos
            everything = f"All {total} episode{'s' if total != 1 else ''} published."
            if everything not in stdout:  # a skipped episode leaves the exit code 0
                raise SystemExit(f"{name} did not publish every episode:\n{stdout}")
            published[name] = published_files(project / "public")
            result = results.setdefault(name, {})
            result["wall_s"] = round(seconds, 2)
            result["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
            result["peak_memory_mib"] = peaks
            if name in MACHINE_RUNS:
                result["fetched_from_the_cache"] = fetches(stderr)
            if name != "in-process":
                result.update(task_seconds(stderr))
                result["retries_in_summary"] = [
                    line.strip() for line in stdout.splitlines() if "retried:" in line
                ]
                workers = 1 if name == "--workers 1" else 2
                if name != "two machines again":  # the same scheduler as the run before
                    result["scheduler_overhead"] = scheduler_overhead(address, workers)
    base = results["in-process"]["wall_s"]
    results["published_files_compared"] = kinds(published["in-process"])
    for name in runs:
        results[name]["ratio_to_in_process"] = round(results[name]["wall_s"] / base, 2)
        ours, theirs = published[name], published["in-process"]
        results[name]["same_bytes_as_in_process"] = ours == theirs
        differs = sorted(f for f in set(ours) | set(theirs) if ours.get(f) != theirs.get(f))
        results[name]["differs_from_in_process"] = differs
        if differs:
            failures.append(f"{name}: {', '.join(differs)}")
    results["failures"] = failures
    return results


def two_machines(
    producers: Path, elsewhere: Path, stack: ExitStack
) -> tuple[dict[str, str], bool, Any, str]:
    """A SeaweedFS for the cache, a scheduler and two workers that cannot see
    ``producers`` (the folder of the projects that publish through them); the environment
    the publish runs in, whether the workers could not see it, the machines
    (kit.machines.Machines), and the cache's part of the show file."""
    from kit.machines import start_machines
    from kit.s3server import ACCESS, PRIVATE, SECRET, s3_env, seaweed_server

    server = stack.enter_context(seaweed_server())
    env = s3_env(ACCESS, SECRET)
    machines = start_machines(elsewhere, producers, env, ROOT)
    stack.callback(machines.stop)
    cache = (
        f"  cache: s3://{PRIVATE}/cache-{uuid.uuid4().hex[:8]}\n"
        f"  endpoint_url: {server.endpoint}\n"
        "  path_style: true\n"
    )
    return env, machines.hidden, machines, cache


def point_at(project: Path, address: str, cache: str) -> None:
    """The project's show file sent to the scheduler at ``address``, with ``cache``."""
    show_file = project / "feeds" / "riverside-voices.yaml"
    show_file.write_text(show_file.read_text() + f"compute:\n  scheduler: {address}\n" + cache)


# how each run is named on the command line (``--runs``)
CHOICES = {"in-process": "in-process", "workers-1": "--workers 1", "workers-2": "--workers 2",
           "two-machines": "two machines", "two-machines-again": "two machines again"}  # fmt: skip

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=EPISODES)
    parser.add_argument("--videos", type=int, default=VIDEOS)
    parser.add_argument("--runs", default=",".join(CHOICES),
                        help="which runs, comma-separated; in-process is always run")  # fmt: skip
    args = parser.parse_args()
    asked = [r for r in args.runs.split(",") if r]
    unknown = [r for r in asked if r not in CHOICES]
    if unknown:
        parser.error(f"unknown runs: {', '.join(unknown)} (choose from {', '.join(CHOICES)})")
    chosen = [name for name in RUNS if name == "in-process" or name in map(CHOICES.get, asked)]
    results = run(args.episodes, chosen, args.videos)
    write_results("compute", results)
    if results["failures"]:
        raise SystemExit(
            "Published bytes differ from the in-process run's (a defect: the same show must "
            "publish the same bytes wherever its work runs):\n  " + "\n  ".join(results["failures"])
        )
