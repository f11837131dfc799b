"""Files between machines: workers that cannot see the producer's folder.

With a cache in object storage (``compute: cache: s3://...``), nothing reaches a worker
through a filesystem. The publishing process reads and checks each episode itself (its
first stages need the episode folder), then puts what the rest of the work reads into
the cache, each file under its sha256 and once however many tasks need it (``pack``):
the recordings, the show's artwork as published, the episode's corrections file. A task
on a worker (``unpacked``) works in a folder of its own: its cache is a folder of its own
in front of the shared one, so everything it measures, transcribes or renders goes to the
shared cache, and what another worker made is found there. It fetches a recording (and
checks its hash) only when a stage is about to read it (``Context.need``): a recording
whose loudness, transcript and renders are all in the cache is never fetched. A recording
is probed on a worker the same way (``one_recording``), before its episode's first stages
run in the publishing process and find its probe in the cache. The files a task makes
for the store step go into the cache too, by their sha256 (``outputs/SHOW/``); the
publishing process fetches them (checked) into its staging folder (``receive``) before the
store step, and deletes them from the cache when the run is over.

A path in what comes back (a problem, a note) names the producer's file, never the
worker's copy.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.cache import Cache
from pipeline.media.probe import sha256_file
from pipeline.project.corrections import FILE_NAME as CORRECTIONS
from pipeline.records import EpisodeJob
from pipeline.stages import Context

RECORDINGS = "recordings"  # the cache's kind for raw recordings, by sha256


def outputs_kind(show_slug: str) -> str:
    """Where the workers' files for the store step wait in the cache."""
    return f"outputs/{show_slug}"


@dataclass(frozen=True)
class Parcel:
    """What a task fetches from the shared cache: each file by its sha256."""

    artwork: str  # the show's artwork as published (its sha256)
    artwork_name: str
    corrections: str = ""  # the episode's corrections file, if it has one
    # recording name -> sha256 (``job.recordings`` holds the rest of what is known of it)
    recordings: dict[str, str] = field(default_factory=dict)


class Packer:
    """The publishing process's side: files put into the shared cache, each once."""

    def __init__(self, ctx: Context) -> None:
        self.cache = ctx.cache
        self.sent: set[str] = set()
        self.artwork = self.send(ctx.show.artwork)

    def send(self, path: Path, sha256: str = "") -> str:
        sha256 = sha256 or sha256_file(path)
        if sha256 not in self.sent:
            self.cache.share(RECORDINGS, path, sha256)
            self.sent.add(sha256)
        return sha256

    def pack(self, job: EpisodeJob, ctx: Context) -> Parcel:
        corrections = job.folder / CORRECTIONS
        return Parcel(
            artwork=self.artwork,
            artwork_name=ctx.show.artwork.name,
            corrections=self.send(corrections) if corrections.is_file() else "",
            recordings={
                name: self.send(rec.path, rec.sha256) for name, rec in job.recordings.items()
            },
        )


class Fetcher:
    """A task's recordings, fetched from the shared cache (and checked) when a stage first
    needs one (``Context.fetch``); ``fetched`` names those it had to fetch."""

    def __init__(self, cache: Cache, wanted: dict[str, tuple[str, Path]]) -> None:
        self.cache = cache
        self.wanted = wanted  # recording name -> (sha256, where it goes here)
        self.fetched: list[str] = []

    def __call__(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self.wanted or name in self.fetched:
                continue
            sha, dest = self.wanted[name]
            self.cache.fetch_shared(RECORDINGS, sha, dest)
            self.fetched.append(name)


@contextmanager
def unpacked(
    job: EpisodeJob, ctx: Context, parcel: Parcel, only: str | None = None
) -> Iterator[tuple[EpisodeJob, Context, Fetcher]]:
    """On a worker: the job and context as they are on this machine, in a folder of the
    task's own (deleted after); each recording is fetched there only when a stage needs
    it (the ``Fetcher``). ``only``: just that recording (a recording's task)."""
    shared = ctx.cache
    assert shared.remote is not None
    folder = Path(tempfile.mkdtemp(prefix="storycast-task-"))
    try:
        recordings = dict(job.recordings)
        wanted: dict[str, tuple[str, Path]] = {}
        for name, sha in parcel.recordings.items():
            if only is not None and name != only:
                continue
            dest = folder / RECORDINGS / sha[:16] / Path(name).name
            wanted[name] = (sha, dest)
            recordings[name] = replace(job.recordings[name], path=dest)
        fetcher = Fetcher(shared, wanted)
        episode = folder / "episode"
        episode.mkdir()
        artwork = folder / "artwork" / parcel.artwork_name
        if only is None:  # what the rest of the episode's work reads
            if parcel.corrections:
                shared.fetch_shared(RECORDINGS, parcel.corrections, episode / CORRECTIONS)
            shared.fetch_shared(RECORDINGS, parcel.artwork, artwork)
        local = replace(job, folder=episode, recordings=recordings)
        cache = Cache(folder / "cache", shared.remote, notice=ctx.say)
        here_ctx = replace(
            ctx,
            root=folder,
            cache=cache,
            staging=folder / "staging",
            show=replace(ctx.show, artwork=artwork),
            fetch=fetcher,
        )
        yield local, here_ctx, fetcher
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def one_recording(ctx: Context, sha256: str, name: str) -> Iterator[tuple[Path, Context]]:
    """On a worker: the recording with this sha256 fetched (and checked) into a folder of
    the task's own (deleted after), and a context whose cache is the shared one."""
    shared = ctx.cache
    assert shared.remote is not None
    folder = Path(tempfile.mkdtemp(prefix="storycast-task-"))
    try:
        dest = folder / RECORDINGS / sha256[:16] / Path(name).name
        shared.fetch_shared(RECORDINGS, sha256, dest)
        cache = Cache(folder / "cache", shared.remote, notice=ctx.say)
        yield dest, replace(ctx, root=folder, cache=cache, staging=folder / "staging")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def send_back(local: EpisodeJob, original: EpisodeJob, ctx: Context, task: Context) -> EpisodeJob:
    """On a worker, after the work: the job as the publishing process knows it (its own
    paths), its finished files put into the shared cache by their sha256."""
    if local.status == "ready":
        for output in local.outputs.values():
            task.cache.share(outputs_kind(ctx.show.slug), output.path, output.sha256)
    swaps = {str(local.folder): str(original.folder)}
    for name, rec in local.recordings.items():
        if name in original.recordings:
            swaps[str(rec.path)] = str(original.recordings[name].path)
    swaps[str(task.staging)] = str(ctx.staging)
    swaps[str(task.show.artwork)] = str(ctx.show.artwork)

    def mine(text: str) -> str:
        for theirs, ours in swaps.items():
            text = text.replace(theirs, ours)
        return text

    def path(p: Path) -> Path:
        return Path(mine(str(p)))

    job = replace(
        local,
        folder=original.folder,
        recordings={
            name: replace(rec, path=original.recordings[name].path)
            if name in original.recordings
            else rec
            for name, rec in local.recordings.items()
        },
        reason=mine(local.reason),
        notes=[mine(n) for n in local.notes],
        problems=[
            replace(p, path=path(p.path) if p.path else None, message=mine(p.message))
            for p in local.problems
        ],
        outputs={role: replace(out, path=path(out.path)) for role, out in local.outputs.items()},
    )
    return job


def receive(job: EpisodeJob, ctx: Context) -> None:
    """In the publishing process: the job's finished files fetched from the shared cache
    into its staging folder, each checked against its sha256."""
    if job.status != "ready":
        return
    for output in job.outputs.values():
        ctx.cache.fetch_shared(outputs_kind(ctx.show.slug), output.sha256, output.path)
