"""`python -m bench.compute`: where the episodes' work runs, side by side in one run.

A small festival: the example show's two episodes copied into EPISODES episodes, each
recording looped LOOPS times and its volume nudged so that no two episodes share a
recording (every one is probed, measured, transcribed and rendered: no caches). Published
three ways: in this process, on an embedded Dask cluster of 1 worker, and of 2; and a
fourth, "two machines" on this one: `dask scheduler` and two `dask worker` processes started
here as subprocesses, each in a folder of its own (working folder and TMPDIR; where the
system allows it, the producer's folder hidden from them by a mount namespace), with the
cache in a SeaweedFS bucket (`compute: cache:`), so that nothing is shared through the
local filesystem. Reports each run's wall time, its ratio to the in-process run, and
whether the published files are the same bytes as in-process (the manifest's write times
aside).

`python -m bench.compute --episodes 4 --runs in-process,two-machines` runs fewer.

Audio episodes only (no video yet). A cluster's start-up (a few seconds, and each worker
loading the speech model) counts in its wall time. Times on a machine shared with other
work are noisy: compare the ratios within one run. Results go to bench-results/compute-*.json.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.report import write_results

EPISODES = 8
LOOPS = 2
CODECS = {".m4a": ["-c:a", "aac", "-b:a", "96k"], ".opus": ["-c:a", "libopus", "-b:a", "48k"],
          ".3gp": ["-c:a", "aac", "-b:a", "32k", "-ar", "16000", "-ac", "1"]}  # fmt: skip

RUNS: dict[str, list[str]] = {
    "in-process": [],
    "--workers 1": ["--workers", "1"],
    "--workers 2": ["--workers", "2"],
    "two machines": [],  # a scheduler and two workers started here (``two_machines``)
}


def _published(public: Path) -> dict[str, Any]:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "version"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return {
        str(p.relative_to(public)): strip(json.loads(p.read_bytes()))
        if p.parent.name == "manifests"
        else p.read_bytes()
        for p in sorted(public.rglob("*"))
        if p.is_file()
    }


def festival(project: Path, episodes: int = EPISODES, loops: int = LOOPS) -> float:
    """The example show grown to ``episodes`` episodes; returns the seconds of recordings."""
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
    return seconds


def run(episodes: int = EPISODES, runs: list[str] | None = None) -> dict[str, Any]:
    runs = runs or list(RUNS)
    results: dict[str, Any] = {}
    published: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        template = Path(tmp) / "festival"
        seconds = festival(template, episodes)
        results["show"] = (
            f"{episodes} audio episodes, {episodes * 2} recordings, "
            f"{seconds / 60:.1f} minutes of recordings, no caches"
        )
        for name in runs:
            project = Path(tmp) / name.replace(" ", "").replace("-", "")
            shutil.copytree(template, project)
            env = None
            started = time.perf_counter()
            if name == "two machines":  # its start-up counts, as a cluster's does
                env, hidden = two_machines(project, Path(tmp) / "elsewhere", stack)
                results[name] = {"producer_folder_hidden_from_workers": hidden}
            proc = subprocess.run(
                [sys.executable, "-m", "pipeline", "--root", str(project), "publish",
                 *RUNS[name]],
                capture_output=True, text=True, cwd=ROOT, env=env,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed:\n{proc.stdout}\n{proc.stderr}")
            published[name] = _published(project / "public")
            results.setdefault(name, {})["wall_s"] = round(seconds, 2)
    base = results["in-process"]["wall_s"]
    for name in runs:
        results[name]["ratio_to_in_process"] = round(results[name]["wall_s"] / base, 2)
        ours, theirs = published[name], published["in-process"]
        results[name]["same_bytes_as_in_process"] = ours == theirs
        results[name]["differs_from_in_process"] = sorted(
            f for f in set(ours) | set(theirs) if ours.get(f) != theirs.get(f)
        )
    return results


def two_machines(project: Path, elsewhere: Path, stack: ExitStack) -> tuple[dict[str, str], bool]:
    """A SeaweedFS for the cache, a scheduler and two workers, the show file pointed at
    them; the environment the publish runs in, and whether the workers could not see the
    project's folder."""
    from kit.machines import start_machines
    from kit.s3server import ACCESS, PRIVATE, SECRET, s3_env, seaweed_server

    server = stack.enter_context(seaweed_server())
    env = s3_env(ACCESS, SECRET)
    machines = start_machines(elsewhere, project, env, ROOT)
    stack.callback(machines.stop)
    show_file = project / "feeds" / "riverside-voices.yaml"
    show_file.write_text(
        show_file.read_text() + "compute:\n"
        f"  scheduler: {machines.address}\n"
        f"  cache: s3://{PRIVATE}/cache-{uuid.uuid4().hex[:8]}\n"
        f"  endpoint_url: {server.endpoint}\n"
        "  path_style: true\n"
    )
    return env, machines.hidden


# how each run is named on the command line (``--runs``)
CHOICES = {"in-process": "in-process", "workers-1": "--workers 1", "workers-2": "--workers 2",
           "two-machines": "two machines"}  # fmt: skip

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=EPISODES)
    parser.add_argument("--runs", default=",".join(CHOICES),
                        help="which runs, comma-separated; in-process is always run")  # fmt: skip
    args = parser.parse_args()
    asked = [r for r in args.runs.split(",") if r]
    unknown = [r for r in asked if r not in CHOICES]
    if unknown:
        parser.error(f"unknown runs: {', '.join(unknown)} (choose from {', '.join(CHOICES)})")
    chosen = ["in-process"] + [CHOICES[r] for r in asked if r != "in-process"]
    write_results("compute", run(args.episodes, chosen))
