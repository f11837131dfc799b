"""The episodes' work on Dask distributed: an embedded LocalCluster (``--workers N``) or an
existing cluster's scheduler (``--scheduler tcp://HOST:8786``).

Tasks with explicit keys and ``pure=False`` (the work writes files: it is never to be taken
from another run's result): for each episode, its first part (read, probe, check); then a
task for each of its recordings (measured and transcribed into the cache, once for every
episode that uses it); then its rest (render, captions, video, tag, scrub, keys), which
finds the recordings' work in the cache. A task that raises is retried
(``defaults.COMPUTE_RETRIES``); a task whose worker died under it is started again on
another (up to ``defaults.COMPUTE_WORKER_DEATHS`` deaths). Both are counted from the
scheduler and written into the episode's notes, so the summary reports every retry. A task
that fails everywhere fails its episode only.

Every file a task writes is written under a name of its own and then renamed into place
(the caches, the staging folder), so a worker killed mid-render leaves nothing another
worker could take for finished. Without a cache in object storage the workers must see the
project folder at the same path as this process (one machine, or a shared filesystem);
with one (``compute: cache:``), they share nothing through a filesystem (``parcel``).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline import defaults
from pipeline.cache import SharedMissing
from pipeline.compute import Compute, EpisodeWork, Work
from pipeline.compute.parcel import (
    Packer,
    Parcel,
    one_recording,
    outputs_kind,
    receive,
    send_back,
    unpacked,
)
from pipeline.errors import Problem, StorycastError, ToolError
from pipeline.progress import reporter
from pipeline.records import EpisodeJob
from pipeline.stages import Context
from pipeline.transcribe import Engine

log = logging.getLogger(__name__)


class WorkerSetupError(RuntimeError):
    """A worker cannot do the work at all (no ffmpeg): the message names the worker."""


@dataclass
class Finished:
    """What an episode's task sends back: the job as the stages left it, what they said."""

    job: EpisodeJob
    lines: list[str]
    worker: str
    seconds: float
    # through the shared cache: the recordings it had to fetch (None: no shared cache)
    fetched: list[str] | None = None


@dataclass
class Measured:
    """What a recording's task sends back: where it ran, and what went wrong if anything
    did (its episode's own stages then do the work again, and say what is wrong)."""

    worker: str
    seconds: float
    error: str = ""
    lines: list[str] = field(default_factory=list)  # what it said (a cache entry made again)
    device: str = "cpu"  # what it was transcribed on ("cuda": the worker's GPU)
    notes: list[str] = field(default_factory=list)  # for its episodes' summaries
    fetched: list[str] | None = None  # as ``Finished.fetched``


@dataclass
class _Task:
    kind: str  # "probe", "first", "recording" or "rest"
    label: str
    index: int = -1  # the job's place in the run's list ("first", "rest")
    sha256: str = ""  # the recording ("probe", "recording")
    name: str = ""
    gpu_left: bool = False  # sent again without a GPU: every worker that had one left


@dataclass
class _Asking:
    """A task sent asking for a GPU, kept so it can be sent again without one."""

    future: Any
    key: str
    fn: Any
    args: tuple[Any, ...]


class _Sender:
    """The run's tasks on the cluster: each sent under a key of the run's, its ``_Task``
    found again when it finishes (``finished``). Transcription asks for a GPU while some
    worker has one; ``without_gpu`` sends what still waits for one again, asking nothing,
    when no worker has one any more. Called from the run's thread and its GPU watcher."""

    def __init__(self, client: Any, run: str, gpu: bool):
        import distributed

        self.client = client
        self.run = run
        self.tasks: dict[str, _Task] = {}
        as_completed: Any = distributed.as_completed  # distributed is not typed
        self.finishing: Any = as_completed()
        self.gpu: dict[str, int] | None = {defaults.GPU_RESOURCE: 1} if gpu else None
        self._asking: dict[str, _Asking] = {}
        self._lock = threading.Lock()

    def submit(self, task: _Task, key: str, fn: Any, *args: Any, gpu: bool = False) -> None:
        with self._lock:
            resources = self.gpu if gpu else None
            future = self._send(key, fn, args, resources)
            self.tasks[future.key] = task
            if resources:
                self._asking[future.key] = _Asking(future, key, fn, args)

    def _send(self, key: str, fn: Any, args: tuple[Any, ...], resources: Any) -> Any:
        future = self.client.submit(
            fn, *args, key=f"{key}-{self.run}", pure=False, retries=defaults.COMPUTE_RETRIES,
            resources=resources,
        )  # fmt: skip
        self.finishing.add(future)
        return future

    def finished(self, future: Any) -> _Task | None:
        """The finished future's task; None for one sent again without a GPU (cancelled)."""
        with self._lock:
            self._asking.pop(future.key, None)
            return self.tasks.pop(future.key, None)

    def without_gpu(self) -> int:
        """Nothing asks for a GPU from now on; each task still waiting for one is cancelled
        and sent again without it. How many were."""
        with self._lock:
            self.gpu = None
            waiting = [a for a in self._asking.values() if not a.future.done()]
            self._asking.clear()
            for was in waiting:
                task = replace(self.tasks.pop(was.future.key), gpu_left=True)
                future = self._send(f"{was.key}-nogpu", was.fn, was.args, None)
                self.tasks[future.key] = task
                was.future.cancel()
        return len(waiting)


# A worker process keeps its speech model between tasks (one per engine, model, language,
# device).
_ENGINES: dict[tuple[str, str, str, str], Engine] = {}


def _this_worker() -> str:
    """The worker's address, once it is known to have what the work needs."""
    from distributed import get_worker

    worker: str = get_worker().address
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        raise WorkerSetupError(
            f"the Dask worker at {worker} has no {' or '.join(missing)} on its PATH, so it "
            "cannot measure or render. Install ffmpeg on that machine (apt-get install ffmpeg) "
            "and start the worker again, or stop that worker."
        )
    return worker


def _here(ctx: Context, out: io.StringIO) -> Context:
    # its own reporter, writing to ``out`` (the lines sent back)
    return replace(ctx, out=out, progress=reporter(out), _engine=_ENGINES.get(_engine_key(ctx)))


def _engine_key(ctx: Context) -> tuple[str, str, str, str]:
    return (ctx.engine_name, ctx.model, ctx.show.language[:2], ctx.device)


def _device(worker: str, name: str, ctx: Context) -> tuple[str, list[str]]:
    """What this worker transcribes on: its GPU when it advertises one (a ``GPU`` resource)
    and CTranslate2 finds a CUDA device; else its CPU, with a note when it advertised one
    (the transcript is then the CPU's, the same bytes as on any other worker)."""
    from distributed import get_worker

    advertised = get_worker().state.total_resources.get(defaults.GPU_RESOURCE, 0)
    if not advertised or ctx.engine_name != "faster-whisper":
        return "cpu", []
    from pipeline.transcribe.faster_whisper import cuda_devices

    if cuda_devices() > 0:
        return "cuda", []
    return "cpu", [
        f"{name}: the Dask worker at {worker} advertises a {defaults.GPU_RESOURCE} resource, "
        "but CTranslate2 finds no CUDA device there, so that worker used its CPU "
        f"({defaults.TRANSCRIBE_COMPUTE_TYPE}) for it, as a worker without one does. Check "
        "the worker's CUDA drivers, or start it without `--resources GPU=1`."
    ]


def _keep_engine(ctx: Context) -> None:
    if ctx._engine is not None:
        _ENGINES[_engine_key(ctx)] = ctx._engine


def episode_task(
    work: Work, job: EpisodeJob, ctx: Context, label: str, parcel: Parcel | None = None
) -> Finished:
    """Runs on a worker: one part of an episode's work, its progress lines kept to send back.
    With a ``parcel``, in a folder of its own with its files from the shared cache."""
    worker = _this_worker()
    out = io.StringIO()
    here = _here(ctx, out)
    started = time.perf_counter()
    fetched = None
    if parcel is None:
        work(job, here, label)
        _keep_engine(here)
    else:
        with unpacked(job, here, parcel) as (local, task, fetcher):
            work(local, task, label)
            _keep_engine(task)
            job = send_back(local, job, here, task)
            fetched = fetcher.fetched
    seconds = time.perf_counter() - started
    return Finished(job, out.getvalue().splitlines(), worker, seconds, fetched)


def recording_task(
    work: Callable[[EpisodeJob, str, Context], None],
    job: EpisodeJob,
    name: str,
    ctx: Context,
    parcel: Parcel | None = None,
) -> Measured:
    """Runs on a worker: one recording measured and transcribed into the cache, on the
    worker's GPU if it has one (``_device``)."""
    worker = _this_worker()
    device, notes = _device(worker, name, ctx)
    out = io.StringIO()
    here = _here(replace(ctx, device=device), out)
    started = time.perf_counter()
    error = ""
    fetched = None
    try:
        if parcel is None:
            work(job, name, here)
            _keep_engine(here)
        else:
            with unpacked(job, here, parcel, only=name) as (local, task, fetcher):
                try:
                    work(local, name, task)
                    _keep_engine(task)
                finally:
                    fetched = fetcher.fetched
    except Exception as exc:  # said by its episode, whose stages meet it again
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    seconds = time.perf_counter() - started
    lines = out.getvalue().splitlines()
    return Measured(worker, seconds, error, lines, device, notes, fetched)


def probe_task(
    work: Callable[[EpisodeJob, str, Path, Context], None],
    job: EpisodeJob,
    name: str,
    sha256: str,
    ctx: Context,
) -> Measured:
    """Runs on a worker: one recording fetched from the shared cache and probed into it,
    before its episode's first stages run in the publishing process (they find it there).
    What goes wrong is not said here: those stages probe it again and say it, naming the
    producer's file."""
    worker = _this_worker()
    out = io.StringIO()
    here = _here(ctx, out)
    started = time.perf_counter()
    error = ""
    try:
        with one_recording(here, sha256, name) as (path, task):
            work(job, name, path, task)
    except Exception as exc:
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    lines = out.getvalue().splitlines()
    return Measured(worker, time.perf_counter() - started, error, lines, fetched=[name])


class DaskRunner:
    def __init__(self, client: Any, cluster: Any, say: Callable[[str], None]):
        self.client = client
        self.cluster = cluster
        self.say = say

    def run(self, jobs: list[EpisodeJob], work: EpisodeWork, ctx: Context) -> None:
        """Every episode's first part; as each comes back, a task for each of its
        recordings not sent yet; when its recordings are done, its rest.

        With a cache in object storage (``compute: cache:``) the workers need no shared
        folder (``parcel``): the first parts run here, where the episode folders are, after
        a task has probed each of their recordings that may leave this machine
        (``work.to_probe``), and the files the rest needs go through the cache, as do the
        files the rest makes."""
        # what crosses to the workers: the context without this process's stream or model
        portable = replace(ctx, out=io.StringIO(), _engine=None)
        shared = ctx.cache.remote is not None
        packer: Packer | None = None
        parcels: dict[int, Parcel] = {}
        if shared:  # what a killed run left for the store step is never taken for this one's
            try:
                ctx.cache.forget_shared(outputs_kind(ctx.show.slug))
            except StorycastError as exc:
                for job in jobs:
                    if job.status == "pending":
                        job.status = "failed"
                        job.reason = f"the shared cache could not be reached: {exc}"
                return
        measured: set[str] = set()  # recordings whose task has come back
        sent: set[str] = set()  # recordings whose task was sent
        users: dict[str, list[int]] = {}  # recording -> the jobs waiting for it
        waiting: dict[int, set[str]] = {}  # job -> the recordings it waits for

        # Transcription asks for a GPU when some worker has one, and only then: a task
        # asking for what no worker has would wait for ever.
        gpus = self.gpu_workers()
        if gpus:
            self.say(
                f"dask: transcription asks for a {defaults.GPU_RESOURCE}: {len(gpus)} "
                f"worker{'s' if len(gpus) != 1 else ''} {'have' if len(gpus) != 1 else 'has'} "
                f"one ({', '.join(gpus)})"
            )
        sender = _Sender(self.client, uuid.uuid4().hex[:8], bool(gpus))
        submit = sender.submit

        def rest(i: int) -> None:
            task = _Task("rest", tasks_label[i], index=i)
            submit(task, f"storycast-rest-{jobs[i].slug}", episode_task, work.rest, jobs[i],
                   portable, task.label, parcels.get(i))  # fmt: skip

        def recordings(i: int, label: str) -> None:
            """The job's first part is done: its recordings' tasks, or its rest."""
            job = jobs[i]
            waiting[i] = set()
            for name, rec in job.recordings.items():
                if rec.sha256 in measured:
                    continue
                waiting[i].add(rec.sha256)
                users.setdefault(rec.sha256, []).append(i)
                if rec.sha256 not in sent:
                    sent.add(rec.sha256)
                    submit(_Task("recording", label, sha256=rec.sha256, name=name),
                           f"storycast-recording-{rec.sha256[:16]}", recording_task,
                           work.recording, job, name, portable, parcels.get(i),
                           gpu=True)  # fmt: skip
            if not waiting[i]:
                rest(i)

        def first_here(i: int) -> None:
            """With a shared cache: the job's first part here, where the episode folder is,
            then its files into the cache and its recordings' tasks."""
            nonlocal packer
            job = jobs[i]
            work.first(job, ctx, tasks_label[i])
            if job.status != "pending":
                return
            try:
                packer = packer or Packer(ctx)
                parcels[i] = packer.pack(job, ctx)
            except StorycastError as exc:
                job.status = "failed"
                job.reason = f"its recordings could not be put into the shared cache: {exc}"
                return
            recordings(i, tasks_label[i])

        probing: dict[str, list[int]] = {}  # recording being probed -> the jobs waiting
        unprobed: dict[int, set[str]] = {}  # job -> its recordings being probed

        def probes(i: int) -> bool:
            """With a shared cache: a task probing each of the job's recordings that may
            be probed elsewhere (``work.to_probe``), each once; whether the job waits."""
            nonlocal packer
            if work.to_probe is None or work.probe is None:
                return False
            job = jobs[i]
            try:
                found = work.to_probe(job, ctx)
                if not found:
                    return False
                packer = packer or Packer(ctx)
                for path, sha in found.values():
                    packer.send(path, sha)
            except StorycastError:  # its first part probes them here, and says what fails
                return False
            unprobed[i] = set()
            for name, (_path, sha) in found.items():
                unprobed[i].add(sha)
                if sha not in probing:
                    probing[sha] = []
                    submit(_Task("probe", tasks_label[i], sha256=sha, name=name),
                           f"storycast-probe-{sha[:16]}", probe_task, work.probe, job, name,
                           sha, portable)  # fmt: skip
                probing[sha].append(i)
            return bool(unprobed[i])

        def probed(sha: str, notes: list[str]) -> None:
            for i in probing.pop(sha, []):
                jobs[i].notes += notes
                unprobed[i].discard(sha)
                if not unprobed[i]:
                    first_here(i)

        tasks_label = {i: f"[{i + 1}/{len(jobs)}]" for i in range(len(jobs))}
        watching = threading.Event()
        watcher = threading.Thread(target=self._watch_gpus, args=(sender, watching), daemon=True)
        if gpus:
            watcher.start()
        try:
            for i, job in enumerate(jobs):
                if job.status != "pending":  # taken down or failed before any work
                    continue
                if not shared:
                    submit(_Task("first", tasks_label[i], index=i), f"storycast-first-{job.slug}",
                           episode_task, work.first, job, portable, tasks_label[i])  # fmt: skip
                elif not probes(i):  # its recordings probed on workers first, at once
                    first_here(i)
            self._collect(jobs, sender, measured, users, waiting, recordings, rest, probed,
                          ctx if shared else None)  # fmt: skip
        finally:
            watching.set()
            if gpus:
                watcher.join()
            if shared:
                try:
                    ctx.cache.forget_shared(outputs_kind(ctx.show.slug))
                except StorycastError as exc:
                    log.warning("could not clear the workers' files from the cache: %s", exc)

    def _collect(
        self,
        jobs: list[EpisodeJob],
        sender: _Sender,
        measured: set[str],
        users: dict[str, list[int]],
        waiting: dict[int, set[str]],
        recordings: Callable[[int, str], None],
        rest: Callable[[int], None],
        probed: Callable[[str, list[str]], None],
        shared: Context | None,
    ) -> None:
        """Each task as it finishes: what it says, its job, the tasks that can now start.
        ``shared``: the files of a finished episode are fetched from the shared cache."""
        for future in sender.finishing:
            found = sender.finished(future)
            if found is None:  # sent again without a GPU (``without_gpu``)
                future.release()
                continue
            task = found
            deaths, raised = self._attempts(future.key)
            retried = _retry_notes(deaths, raised)
            if task.kind == "probe":  # its episodes' first parts find it in the cache
                self._probed(future, task)
                future.release()
                probed(task.sha256, [f"{task.name} (probing): {note}" for note in retried])
                continue
            if task.kind == "recording":
                made = self._measured(future, task)
                measured.add(task.sha256)
                for i in users.pop(task.sha256, []):
                    jobs[i].notes += [f"{task.name}: {note}" for note in retried]
                    if task.gpu_left:
                        jobs[i].notes.append(
                            f"{task.name}: transcribed without a {defaults.GPU_RESOURCE}: every "
                            "worker that had one left the cluster during the run"
                        )
                    if made is not None:
                        jobs[i].notes += made.notes
                        if made.device != "cpu" and not made.error:
                            jobs[i].transcribed_on[task.sha256] = made.device
                    waiting[i].discard(task.sha256)
                    if not waiting[i]:
                        rest(i)
                future.release()
                continue
            i = task.index
            try:
                done: Finished = future.result()
            except Exception as exc:  # KilledWorker, WorkerSetupError, a lost connection
                job = jobs[i]
                job.status = "failed"
                job.reason = f"its work could not be done on the Dask cluster: {exc}"
                self.say(f"{task.label} {job.slug}: FAILED on the cluster: {exc}")
            else:
                for line in done.lines:
                    self.say(line)
                jobs[i] = job = done.job
                if task.kind == "rest" and shared is not None:
                    try:
                        receive(job, shared)
                    except (StorycastError, SharedMissing) as exc:
                        job.status = "failed"
                        job.reason = (
                            f"the files its worker made could not be fetched from the shared "
                            f"cache: {exc}. Publish again: they are made again."
                        )
                if task.kind == "rest" or job.status != "pending":
                    state = "done" if job.status == "ready" else job.status
                    self.say(f"{task.label} {job.slug}: {state} on {done.worker} "
                             f"in {done.seconds:.1f} s"
                             + _fetched(done.fetched, len(job.recordings)))  # fmt: skip
            job.notes += retried
            future.release()
            if task.kind == "first" and job.status == "pending":
                recordings(i, task.label)

    def _came_back(self, future: Any, task: _Task, what: str) -> Measured | None:
        """A recording's task's result, its cache notices said; None (and said) when the
        task failed on the cluster: its episodes then do ``what`` themselves, and say what
        fails."""
        try:
            done: Measured = future.result()
        except Exception as exc:
            self.say(f"recording {task.name}: its {what} failed on the cluster: {exc}")
            return None
        for line in done.lines:
            if line.startswith("cache: "):  # an entry made again: said wherever it is made
                self.say(line)
        return done

    def _probed(self, future: Any, task: _Task) -> None:
        done = self._came_back(future, task, "probe")
        if done is None:
            return
        self.say(
            f"recording {task.name} ({task.sha256[:12]}): probed on {done.worker} in "
            f"{done.seconds:.1f} s"
            + (f"; not done: {done.error} (its episode says more)" if done.error else "")
        )

    def _measured(self, future: Any, task: _Task) -> Measured | None:
        done = self._came_back(future, task, "task")
        if done is None:
            return None
        self.say(
            f"recording {task.name} ({task.sha256[:12]}): measured and transcribed on "
            f"{done.worker} in {done.seconds:.1f} s"
            + ("; on its GPU" if done.device != "cpu" else "")
            + _fetched(done.fetched, 1)
            + (f"; not done: {done.error} (its episode says more)" if done.error else "")
        )
        for note in done.notes:
            self.say(note)
        return done

    def _watch_gpus(self, sender: _Sender, over: threading.Event) -> None:
        """Until ``over``: once no worker has had a GPU for ``defaults.GPU_GONE_AFTER``
        seconds (all that had one left: stopped, or killed and not back), what waits for
        one is sent again without it: a task asking for what no worker has would wait for
        ever."""
        gone_since: float | None = None
        while not over.wait(defaults.GPU_WATCH):
            try:
                gpus = self.gpu_workers()
            except Exception as exc:  # the scheduler itself gone: the run's tasks say so
                log.warning("could not ask the scheduler which workers have a GPU: %s", exc)
                continue
            if gpus:
                gone_since = None
                continue
            now = time.monotonic()
            gone_since = gone_since if gone_since is not None else now
            if now - gone_since >= defaults.GPU_GONE_AFTER:
                again = sender.without_gpu()
                sent = f"; {again} recording{'s' if again != 1 else ''} sent again"
                self.say(
                    f"dask: no worker has had a {defaults.GPU_RESOURCE} for "
                    f"{defaults.GPU_GONE_AFTER:g} s (every one that had one left): "
                    "transcription goes on without one" + (sent if again else "")
                )
                return

    def gpu_workers(self) -> list[str]:
        """The workers that advertise a GPU (``dask worker --resources "GPU=1"``)."""
        workers = self.client.scheduler_info()["workers"]
        return sorted(
            address
            for address, info in workers.items()
            if (info.get("resources") or {}).get(defaults.GPU_RESOURCE, 0) > 0
        )

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


def _retry_notes(deaths: int, raised: int) -> list[str]:
    notes = []
    if deaths:
        notes.append(
            f"retried: the Dask worker running it died {_times(deaths)} (killed, or out of "
            "memory), and its work was started again on another"
        )
    if raised:
        notes.append(f"retried: its Dask task failed and was tried again {_times(raised)}")
    return notes


def _fetched(names: list[str] | None, of: int) -> str:
    """What a task fetched from the shared cache, said after where it ran."""
    if names is None:
        return ""
    return f"; {len(names)} of {of} recording{'s' if of != 1 else ''} fetched from the cache"


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
