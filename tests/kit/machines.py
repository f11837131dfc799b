"""Two machines on one: ``dask scheduler`` and two ``dask worker`` processes started as
subprocesses on 127.0.0.1, each in a folder of its own (its working folder and TMPDIR), and,
where the system allows it, unable to see the producer's folder at all (an empty folder
mounted over it in a mount namespace of the worker's own). Used by tests and bench.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import distributed

from kit.s3server import free_port

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _hide(folder: Path) -> list[str]:
    """A command prefix that runs a program with ``folder`` hidden from it (an empty
    folder mounted over it, in a mount namespace of its own), as on another machine."""
    probe = ["sh", "-c", 'mount -t tmpfs none "$0" && exec "$@"', str(folder), "true"]
    for unshare in (["unshare", "-m"], ["unshare", "-r", "-m"]):
        if shutil.which("unshare") and subprocess.run([*unshare, *probe]).returncode == 0:
            return [*unshare, *probe[:-1]]
    return []


@dataclass
class Machines:
    """``dask scheduler`` and ``dask worker`` processes, each in a folder of its own."""

    address: str
    folders: list[Path]
    hidden: bool  # whether the workers could not see the producer's folder at all
    procs: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_machines(
    base: Path, producer: Path, env: dict[str, str], source: Path, workers: int = 2
) -> Machines:
    """A scheduler and ``workers`` workers; ``source`` is where ``pipeline`` is imported from."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    # The speech model's word times depend on its thread count: every worker gets this
    # machine's, as the README tells operators to do (Dask's configuration, not storycast's).
    threads = os.environ.get("OMP_NUM_THREADS") or str(len(os.sched_getaffinity(0)))
    config = base / "dask-config"
    config.mkdir(parents=True)
    (config / "distributed.yaml").write_text(
        "distributed:\n  nanny:\n    pre-spawn-environ:\n"
        + "".join(f"      {name}: '{threads}'\n" for name in THREAD_VARIABLES)
    )  # fmt: skip
    env = {**env, "PYTHONPATH": str(source), "DASK_CONFIG": str(config)}
    procs: list[subprocess.Popen[bytes]] = []
    folders = [base / "scheduler", *(base / f"machine-{n}" for n in range(1, workers + 1))]
    for folder in folders:
        (folder / "tmp").mkdir(parents=True)
    procs.append(
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", str(port), "--no-dashboard"],
            cwd=folders[0], env={**env, "TMPDIR": str(folders[0] / "tmp")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    )  # fmt: skip
    hide = _hide(producer)
    for folder in folders[1:]:
        procs.append(
            subprocess.Popen(
                [*hide, sys.executable, "-m", "distributed.cli.dask_worker", address,
                 "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                 "--local-directory", str(folder / "dask")],
                cwd=folder, env={**env, "TMPDIR": str(folder / "tmp")},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
    machines = Machines(address, folders, bool(hide), procs)
    try:
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
    except BaseException:
        machines.stop()
        raise
    return machines
