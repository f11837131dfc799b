"""The episodes' work on Dask distributed: an embedded LocalCluster (``--workers N``) or an
existing cluster's scheduler (``--scheduler tcp://HOST:8786``).

One task per episode, with an explicit key and ``pure=False`` (the work writes files: it is
never to be taken from another run's result). A task that raises is retried
(``defaults.COMPUTE_RETRIES``); a task whose worker died under it is started again on
another (up to ``defaults.COMPUTE_WORKER_DEATHS`` deaths). Both are counted from the
scheduler and written into the episode's notes, so the summary reports every retry. A task
that fails everywhere fails its episode only.

Every file a task writes is written under a name of its own and then renamed into place
(the caches, the staging folder), so a worker killed mid-render leaves nothing another
worker could take for finished. The workers must see the project folder at the same path
as this process (one machine, or a shared filesystem).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pipeline import defaults
from pipeline.compute import Compute, Work
from pipeline.errors import Problem, ToolError
from pipeline.records import EpisodeJob
from pipeline.stages import Context
from pipeline.transcribe import Engine

log = logging.getLogger(__name__)


class WorkerSetupError(RuntimeError):
    """A worker cannot do the work at all (no ffmpeg): the message names the worker."""


@dataclass
class Finished:
    """What a task sends back: the job as the stages left it, and what they said."""

    job: EpisodeJob
    lines: list[str]
    worker: str
    seconds: float


# A worker process keeps its speech model between episodes (one per engine, model, language).
_ENGINES: dict[tuple[str, str, str], Engine] = {}


def episode_task(work: Work, job: EpisodeJob, ctx: Context, label: str) -> Finished:
    """Runs on a worker: one episode's work, its progress lines kept to send back."""
    from distributed import get_worker

    worker = get_worker().address
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        raise WorkerSetupError(
            f"the Dask worker at {worker} has no {' or '.join(missing)} on its PATH, so it "
            "cannot measure or render. Install ffmpeg on that machine (apt-get install ffmpeg) "
            "and start the worker again, or stop that worker."
        )
    out = io.StringIO()
    engine_key = (ctx.engine_name, ctx.model, ctx.show.language[:2])
    here = replace(ctx, out=out, _engine=_ENGINES.get(engine_key))
    started = time.perf_counter()
    work(job, here, label)
    if here._engine is not None:
        _ENGINES[engine_key] = here._engine
    return Finished(job, out.getvalue().splitlines(), worker, time.perf_counter() - started)


class DaskRunner:
    def __init__(self, client: Any, cluster: Any, say: Callable[[str], None]):
        self.client = client
        self.cluster = cluster
        self.say = say

    def run(self, jobs: list[EpisodeJob], work: Work, ctx: Context) -> None:
        import distributed

        as_completed: Any = distributed.as_completed  # distributed is not typed

        # what crosses to the workers: the context without this process's stream or model
        portable = replace(ctx, out=io.StringIO(), _engine=None)
        run = uuid.uuid4().hex[:8]
        futures: dict[Any, tuple[int, str]] = {}
        for i, job in enumerate(jobs):
            if job.status != "pending":  # taken down or failed before any work: nothing to do
                continue
            label = f"[{i + 1}/{len(jobs)}]"
            future = self.client.submit(
                episode_task,
                work,
                job,
                portable,
                label,
                key=f"storycast-episode-{job.slug}-{run}",
                pure=False,
                retries=defaults.COMPUTE_RETRIES,
            )
            futures[future] = (i, label)
        for future in as_completed(list(futures)):
            i, label = futures[future]
            deaths, raised = self._attempts(future.key)
            try:
                done: Finished = future.result()
            except Exception as exc:  # KilledWorker, WorkerSetupError, a lost connection
                job = jobs[i]
                job.status = "failed"
                job.reason = f"its work could not be done on the Dask cluster: {exc}"
                self.say(f"{label} {job.slug}: FAILED on the cluster: {exc}")
            else:
                for line in done.lines:
                    self.say(line)
                jobs[i] = job = done.job
                self.say(
                    f"{label} {job.slug}: {'done' if job.status == 'ready' else job.status} "
                    f"on {done.worker} in {done.seconds:.1f} s"
                )
            if deaths:
                job.notes.append(
                    f"retried: the Dask worker running it died {_times(deaths)} (killed, or out "
                    "of memory), and its work was started again on another"
                )
            if raised:
                job.notes.append(
                    f"retried: its Dask task failed and was tried again {_times(raised)}"
                )
            future.release()

    def _attempts(self, key: str) -> tuple[int, int]:
        """How often the scheduler saw the task's worker die under it, and how many of its
        retries it used. Defined here so it is sent by value: the scheduler need not have
        storycast installed."""
        retries = defaults.COMPUTE_RETRIES

        def count(dask_scheduler: Any) -> tuple[int, int]:
            ts = dask_scheduler.tasks.get(key)
            return (ts.suspicious, retries - ts.retries) if ts is not None else (0, 0)

        try:
            deaths, raised = self.client.run_on_scheduler(count)
        except Exception as exc:  # the count is a report; the work's result stands
            log.warning("could not ask the scheduler how often %s was retried: %s", key, exc)
            return 0, 0
        return int(deaths), int(raised)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def connect(compute: Compute, say: Callable[[str], None]) -> DaskRunner:
    import dask
    import distributed

    Client: Any = distributed.Client  # distributed is not typed
    LocalCluster: Any = distributed.LocalCluster

    if not logging.getLogger().isEnabledFor(logging.DEBUG):  # -v shows Dask's own log too
        logging.getLogger("distributed").setLevel(logging.ERROR)
    dask.config.set(
        {
            "distributed.scheduler.allowed-failures": defaults.COMPUTE_WORKER_DEATHS,
            "distributed.comm.timeouts.connect": f"{defaults.SCHEDULER_TIMEOUT}s",
        }
    )
    if compute.scheduler:
        try:
            client = Client(compute.scheduler, timeout=defaults.SCHEDULER_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise ToolError(
                Problem(
                    compute.where,
                    f"the Dask scheduler at {compute.scheduler} did not answer within "
                    f"{defaults.SCHEDULER_TIMEOUT:g} s ({exc}). Nothing was published.",
                    "Start it (`dask scheduler`, then `dask worker ADDRESS` on each machine), "
                    "check the address and that its port is open, or publish without a "
                    "scheduler to run on this machine.",
                    field="compute.scheduler" if compute.where else "--scheduler",
                )
            ) from exc
        try:
            client.wait_for_workers(1, timeout=defaults.SCHEDULER_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            client.close()
            raise ToolError(
                Problem(
                    compute.where,
                    f"the Dask scheduler at {compute.scheduler} has no workers. "
                    "Nothing was published.",
                    "Start one on each machine: `dask worker " + compute.scheduler + "`.",
                    field="compute.scheduler" if compute.where else "--scheduler",
                )
            ) from exc
        runner = DaskRunner(client, None, say)
    else:
        # The workers' math libraries use as many threads as this process would: Dask's
        # nanny sets them to 1, and the speech model's word times change with the count
        # (same recording, other captions). Remote workers: see README.
        threads = {
            name: os.environ.get(name) or os.environ.get("OMP_NUM_THREADS") or str(_cpus())
            for name in _THREAD_VARIABLES
        }
        environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
        dask.config.set({"distributed.nanny.pre-spawn-environ": {**environ, **threads}})
        cluster = LocalCluster(
            n_workers=compute.workers,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            memory_limit=worker_memory(compute.workers),
            silence_logs=logging.ERROR,
        )
        runner = DaskRunner(Client(cluster), cluster, say)
    workers = len(runner.client.scheduler_info()["workers"])
    link = runner.client.dashboard_link if _has_dashboard() else None
    say(
        f"dask: {workers} worker{'s' if workers != 1 else ''} at "
        f"{runner.client.scheduler.address}; dashboard: "
        + (link or "not available here (the dashboard needs bokeh: pip install bokeh)")
    )
    return runner


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _has_dashboard() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


def worker_memory(workers: int) -> int:
    """Each embedded worker's memory limit: its share of this machine, less what its ffmpeg
    renders may take (``defaults.FFMPEG_MEMORY_RESERVE``), which the nanny does not see."""
    import psutil

    share = int(psutil.virtual_memory().total) // max(1, workers)
    return max(share - defaults.FFMPEG_MEMORY_RESERVE, share // 2)
