"""Where the episodes' work runs: in this process (the default), or on Dask distributed.

The orchestrator hands ``connect(...).run`` the work of every stage before the store step,
in two parts over one EpisodeJob (``EpisodeWork``: ``first`` finds and checks the episode's
recordings, ``rest`` does everything else), and a piece of work for one recording
(measured and transcribed into the cache). In this process the episodes run one after
another, both parts in turn, exactly as they always have. On a cluster (``cluster``) each
part is a task, and so is every recording, so that an episode's recordings are transcribed
at once on several workers. The jobs come back with their staged files, and the
orchestrator carries on in this process: the store step, the feeds, the manifest and the
takedowns never leave it.

Dask is imported only when a cluster is asked for, so a plain publish pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipeline.records import EpisodeJob
from pipeline.stages import Context

# One episode's work: (job, the run's context, its progress label such as "[1/3]").
Work = Callable[[EpisodeJob, Context, str], None]


@dataclass(frozen=True)
class EpisodeWork:
    """An episode's work before the store step, in the order it runs."""

    first: Work  # reads the episode and finds its recordings: cheap
    # one recording of the job (by its name in the EDL): its own work, into the cache
    recording: Callable[[EpisodeJob, str, Context], None]
    rest: Work  # everything else (it finds each recording's work in the cache, or does it)
    # With a cache in object storage, where the first part runs in this process: the
    # recordings that may be probed on workers beforehand (name -> path, sha256), and the
    # probe of one (job, name, its path there, the worker's context). None: not done.
    to_probe: Callable[[EpisodeJob, Context], dict[str, tuple[Path, str]]] | None = None
    probe: Callable[[EpisodeJob, str, Path, Context], None] | None = None


@dataclass(frozen=True)
class Compute:
    """Where a publish runs the episodes' work: nothing set means in this process."""

    workers: int = 0  # more than 0: an embedded LocalCluster of this many worker processes
    scheduler: str | None = None  # an existing cluster's scheduler address
    where: Path | None = None  # the show file the scheduler address came from, if any

    @property
    def in_process(self) -> bool:
        return not self.workers and not self.scheduler


class Runner(Protocol):
    def run(self, jobs: list[EpisodeJob], work: EpisodeWork, ctx: Context) -> None:
        """Do ``work`` on every job; a job may be replaced in ``jobs`` by the one that
        came back from a worker."""

    def close(self) -> None: ...


class InProcess:
    """Today's way: every episode in this process, one after another."""

    def run(self, jobs: list[EpisodeJob], work: EpisodeWork, ctx: Context) -> None:
        for i, job in enumerate(jobs, 1):
            work.first(job, ctx, f"[{i}/{len(jobs)}]")
            work.rest(job, ctx, f"[{i}/{len(jobs)}]")

    def close(self) -> None:
        pass


def connect(compute: Compute, say: Callable[[str], None]) -> Runner:
    """A runner for ``compute``: raises a StorycastError (ToolError) if the cluster cannot
    be started or reached, before any work is sent."""
    if compute.in_process:
        return InProcess()
    from pipeline.compute import cluster  # Dask is imported only here

    return cluster.connect(compute, say)
