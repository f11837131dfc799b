"""The orchestrator: the stage table, the run loop and the run report.

It is the only module that knows the order of the stages (``stages``): ``PUBLISH_STAGES``
is the whole pipeline in one list. A stage that finds a problem raises a StorycastError;
the run loop turns it into the job's status and reason and goes on with the other
episodes. A publish runs, in order: the takedowns (``publish.takedown``), the stages for
every other episode, a hold on any published version a new redaction outdates, the store
step (``publish.apply``), what the takedowns leave to purge and record, and the audit
(``publish.audit``), all under the show's publishing lock.
"""

from __future__ import annotations

import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from pipeline import defaults
from pipeline.cache import Cache
from pipeline.compute import Compute, EpisodeWork, connect
from pipeline.errors import Problem, StorycastError
from pipeline.project import auditlog, ledger, people
from pipeline.project.showfile import find_episode_folders, load_episode, load_show
from pipeline.project.yamlfile import Problems
from pipeline.publish import apply as publish
from pipeline.publish import archive, audit, outgoing, plan, takedown
from pipeline.publish.audit import AuditReport
from pipeline.records import EpisodeJob, Show
from pipeline.stages import (
    Context,
    Stage,
    analyse_stage,
    approval_stage,
    captions_stage,
    clean_artwork,
    consent_stage,
    edit_stage,
    forbidden_names,
    key_stage,
    load_stage,
    page_stage,
    probe_stage,
    probe_work,
    recording_work,
    recordings_to_probe,
    redact_stage,
    render_stage,
    scrub_stage,
    tag_stage,
    texts_stage,
    transcribe_stage,
    video_check_stage,
    video_stage,
)
from pipeline.store import ObjectStore, open_private_store, open_store, storage_problems
from pipeline.store.locks import FileLease, Lease, acquire

# The stages of a publish, in order: the whole pipeline in one list.
PUBLISH_STAGES: list[Stage] = [
    ("load", load_stage),
    ("probe", probe_stage),
    ("edit", edit_stage),
    ("approval", approval_stage),
    ("consent", consent_stage),
    ("redact", redact_stage),
    ("video-check", video_check_stage),
    ("analyse", analyse_stage),
    ("transcribe", transcribe_stage),
    ("render", render_stage),
    ("captions", captions_stage),
    ("video", video_stage),
    ("tag", tag_stage),
    ("texts", texts_stage),
    ("scrub", scrub_stage),
    ("keys", key_stage),
    ("page", page_stage),
]
# What the per-episode commands (timeline, approve, propose) need: the Timeline, checked.
READ_STAGES: list[Stage] = PUBLISH_STAGES[:3]
# What `storycast check` runs: everything that can be said without rendering.
CHECK_STAGES: list[Stage] = [
    s for s in PUBLISH_STAGES if s[0] in {"load", "probe", "edit", "approval", "consent"}
] + [s for s in PUBLISH_STAGES if s[0] == "video-check"]


def run_stages(job: EpisodeJob, stages: list[Stage], ctx: Context, label: str) -> None:
    for name, stage in stages:
        if job.status in ("failed", "skipped", "withdrawn"):
            return
        ctx.say(f"{label} {job.slug}: {name}")
        started = time.perf_counter()
        try:
            stage(job, ctx)
        except StorycastError as exc:
            job.status = "failed"
            job.reason = str(exc)
            job.problems = list(exc.problems)
        except Exception as exc:  # a bug must not stop the other episodes
            job.status = "failed"
            job.reason = (
                f"internal error in stage {name}: {type(exc).__name__}: {exc}. "
                "This is a storycast bug; please report it with the log above."
            )
            ctx.say(traceback.format_exc())
        finally:
            job.timings[name] = time.perf_counter() - started


# Where an episode's stages part (``compute``): before the first stage that works on each
# recording, which on a cluster is done for every recording at once, a task each.
_PER_RECORDING = [name for name, _ in PUBLISH_STAGES].index("analyse")


def publish_first(job: EpisodeJob, ctx: Context, label: str) -> None:
    run_stages(job, PUBLISH_STAGES[:_PER_RECORDING], ctx, label)


def publish_rest(job: EpisodeJob, ctx: Context, label: str) -> None:
    run_stages(job, PUBLISH_STAGES[_PER_RECORDING:], ctx, label)


PUBLISH_WORK = EpisodeWork(
    publish_first, recording_work, publish_rest, recordings_to_probe, probe_work
)


def episode_jobs(show: Show) -> list[EpisodeJob]:
    """Every episode folder that belongs to this show (or cannot say which show it is)."""
    jobs: list[EpisodeJob] = []
    for folder in find_episode_folders(show.episodes_dir):
        problems = Problems()
        episode = load_episode(folder, problems)
        if episode is not None and episode.show != show.slug:
            continue  # another show's episode
        # read once: the load stage keeps what was read here (or reads it again to say
        # what is wrong with it)
        jobs.append(EpisodeJob(folder=folder, episode=None if problems else episode))
    return jobs


@dataclass
class RunReport:
    show: Show | None
    jobs: list[EpisodeJob]
    show_problems: list[Problem]
    publish_error: str = ""
    # takedowns that could not be finished (or confirmed) this run
    takedown_problems: list[Problem] = field(default_factory=list)
    published_keys: int = 0
    uploaded: int = 0
    deleted: int = 0
    plan: str = ""  # what a dry run would do
    audit: AuditReport | None = None  # what `storycast audit` found on what is published
    removed_feeds: list[str] = field(default_factory=list)  # URLs: video_feed turned off

    @property
    def ok(self) -> bool:
        return (
            not self.show_problems
            and not self.publish_error
            and not self.takedown_problems
            and (self.audit is None or self.audit.ok)
            and all(j.status != "failed" for j in self.jobs)
        )


def _open(show_file: Path, root: Path, out: TextIO | None) -> tuple[Context | None, list[Problem]]:
    """The show and everything a run needs (progress goes to ``out``: stderr when None,
    looked up now, so a stream replaced since import is the one written to)."""
    problems = Problems()
    show = load_show(show_file, problems)
    if show is None or problems:
        return None, problems.items
    shared = show.compute_cache
    unsafe = storage_problems(
        show.storage, root, show.path, show.episodes_dir, shared.target if shared else None
    )
    if unsafe:
        return None, unsafe
    cache = Cache(root / defaults.CACHE_DIR)
    if shared is not None:  # the cache in object storage (boto3 is imported only then)
        from pipeline.store.cachestore import S3Blobs

        cache.remote = S3Blobs(shared, show.path)
    staging = root / ".storycast" / "staging" / show.slug
    ctx = Context(root=root, show=show, cache=cache, staging=staging, out=out or sys.stderr)
    cache.notice = ctx.say
    _read_consent(ctx)
    return ctx, []


def _read_consent(ctx: Context) -> None:
    """The people file, the withdrawals and the recordings withdrawn people are in, into
    ``ctx``. (Both copies of the audit log are read, ``auditlog``; a publish mends them.)"""
    episodes = ctx.show.episodes_dir
    # (the withdrawals' problems are the people file's too: they are applied to it)
    ctx.people, ctx.withdrawals, ctx.people_problems = people.load_consent(episodes)
    ctx.people_file_problems = people.file_problems(ctx.people_problems)
    ctx.withdrawn_recordings = auditlog.withdrawn_recordings(
        episodes, {w.person.casefold() for w in ctx.withdrawals}
    )


def _mend_audit_log(ctx: Context, private: ObjectStore | None) -> list[str] | None:
    """Before a publish: the audit log's lines that a copy lacks put back into it, from
    storycast's own copy and the private archive's (a withdrawal recorded on another
    machine, the episodes folder put back from an older copy), and the consent read again
    if any were. Returns the private archive's lines, to tell later whether it needs the
    run's own; None when there is no archive or its copy could not be read (it is then
    not written either, so lines only it holds are never lost)."""
    show = ctx.show
    kept: list[str] | None = None
    if private is not None:
        try:
            kept = archive.archived_audit(private, show)
        except StorycastError as exc:
            ctx.say(
                f"private store: its copy of the audit log could not be read "
                f"({str(exc).splitlines()[0]}); the copies on this machine are used, and "
                "it is left as it is"
            )
    restored = auditlog.restore(show.episodes_dir, kept or [])
    if restored:
        ctx.say(
            f"audit log: {restored} records were missing from {show.episodes_dir.name}/"
            f"{auditlog.AUDIT_FILE} (recorded on another machine, the folder put back from an "
            "older copy, or the log edited by hand) and were put back from storycast's own "
            "copies (.storycast/audit/"
            + (", and the private archive's" if private is not None else "")
            + "). Every withdrawal and takedown they record holds."
        )
        _read_consent(ctx)
    return kept


def check(show_file: Path, root: Path, out: TextIO | None = None) -> RunReport:
    ctx, problems = _open(show_file, root, out)
    if ctx is None:
        return RunReport(None, [], problems)
    jobs = episode_jobs(ctx.show)
    for i, job in enumerate(jobs, 1):
        run_stages(job, CHECK_STAGES, ctx, f"[{i}/{len(jobs)}]")
        if job.status == "pending":
            job.status = "ready"
    return RunReport(ctx.show, jobs, [])


def publish_show(
    show_file: Path,
    root: Path,
    out: TextIO | None = None,
    *,
    dry_run: bool = False,
    wait: float = 0.0,
    compute: Compute | None = None,
) -> RunReport:
    """Takedowns first, then every other episode through the stages, then the store step
    (or, dry, only its plan), then what the takedowns leave to purge and record.

    One run of a show at a time: a second one stops (or waits up to ``wait`` seconds)
    while another holds the show's leases (``locks``). The episodes' work runs where
    ``compute`` says (or the show file's ``compute:``; in this process when neither does)."""
    ctx, problems = _open(show_file, root, out)
    if ctx is None:
        return RunReport(None, [], problems)
    show = ctx.show
    jobs = episode_jobs(show)
    report = RunReport(show, jobs, [])
    leases: list[Lease] = []
    try:
        leases.append(
            acquire(
                lambda: FileLease(
                    root / defaults.LOCK_DIR / f"{show.slug}.lock",
                    f"`{show.slug}`",
                    f"this project ({root})",
                ),
                wait,
            )
        )
        store: ObjectStore = open_store(show.storage, root, show.path)
        private = open_private_store(show.storage, root, show.path)
        leases.append(acquire(lambda: store.lock(show.slug), wait))
    except StorycastError as exc:
        for lease in reversed(leases):
            lease.release()
        report.publish_error = str(exc)
        for job in jobs:
            job.status, job.reason = "failed", "not published: see below"
        return report
    try:
        if (compute is None or compute.in_process) and show.compute_scheduler:
            compute = Compute(scheduler=show.compute_scheduler, where=show.path)
        return _publish_locked(
            ctx, jobs, report, store, private, leases[-1], dry_run=dry_run, compute=compute
        )
    finally:
        for lease in reversed(leases):
            lease.release()


def _publish_locked(
    ctx: Context,
    jobs: list[EpisodeJob],
    report: RunReport,
    store: ObjectStore,
    private: ObjectStore | None,
    lease: Lease,
    *,
    dry_run: bool,
    compute: Compute | None = None,
) -> RunReport:
    show = ctx.show
    archived_log = None if dry_run else _mend_audit_log(ctx, private)
    published = ledger.read(show.episodes_dir, show.slug)
    takedowns = takedown.find(
        show, ctx.people, not ctx.people_file_problems, ctx.withdrawals, published
    )
    # A recording a withdrawn person is in by the record of any published episode is held
    # back from every other episode from this run on (the audit log has it from the next).
    logged = ctx.withdrawn_recordings
    ctx.withdrawn_recordings = {
        sha: sorted({*logged.get(sha, []), *ids})
        for sha, ids in {
            **logged,
            **takedown.withdrawn_recordings(published, ctx.withdrawals),
        }.items()
    }
    ctx.withdrawn_sounds = takedown.withdrawn_sounds(show.episodes_dir, takedowns, ctx.withdrawals)
    shutil.rmtree(ctx.staging, ignore_errors=True)
    try:
        # 1. takedowns: from the manifest and the people file, before any stage runs
        manifest_raw = _take_down(ctx, takedowns, store, private, plan.READ, dry_run=dry_run)
        takedown.mark_jobs(jobs, takedowns, show)
        # 2. every other episode (raw recordings go into a cache in object storage only
        # where nobody without credentials can read them), with the show's artwork as a
        # clean copy from here on
        if ctx.cache.remote is not None and not dry_run:
            try:
                ctx.cache.remote.refuse_if_open()
            except StorycastError as exc:
                report.show_problems = list(exc.problems)
                for job in jobs:
                    if job.status == "pending":
                        job.status = "failed"
                        job.reason = (
                            "not published: the cache in object storage cannot be used (above)"
                        )
                return report
        try:
            ctx.show = show = replace(show, artwork=clean_artwork(ctx))
        except StorycastError as exc:
            report.show_problems = list(exc.problems)
            for job in jobs:
                if job.status == "pending":
                    job.status = "failed"
                    job.reason = "not published: the show's artwork cannot be used (above)"
            return report
        try:  # in this process, or on a Dask cluster that must answer before any work
            runner = connect(compute or Compute(), ctx.say)
        except StorycastError as exc:
            report.publish_error = str(exc)
            for job in jobs:
                if job.status == "pending":
                    job.status, job.reason = "failed", "not published: see below"
            return report
        try:
            runner.run(jobs, PUBLISH_WORK, ctx)
        finally:
            runner.close()
        if dry_run:
            report.plan = plan.format_plan(plan.plan(show, jobs, store))
            return report
        # 2b. a redaction added since an episode was published holds at once: if the new
        # edit cannot be published this run, the published version comes down meanwhile
        holds = takedown.holds(jobs, published, takedowns)
        # and so does a name the people file now keeps out (a credit taken back)
        holds.update(takedown.name_holds(show, store, jobs, takedowns, forbidden_names(ctx)))
        if holds:
            manifest_raw = _take_down(ctx, holds, store, private, manifest_raw)
            takedowns.update(holds)
            for job in jobs:
                if job.slug in holds:
                    job.notes.append(holds[job.slug].reason)
        # 2c. a withdrawal (or a consent taken back in the people file) recorded while the
        # episodes were being made holds for this run's store step too
        late = _late_takedowns(ctx, jobs, published, takedowns)
        if late:
            manifest_raw = _take_down(ctx, late, store, private, manifest_raw)
            takedowns.update(late)
        # 3. the store step
        takedown.record_publications(show, jobs, published, takedowns, provisional=True)
        result: publish.PublishResult | None = None
        try:
            lease.check()
            ctx.say(f"store: publishing to {store.description}")
            result = publish.publish(
                show,
                jobs,
                store,
                ctx.staging,
                ctx.say,
                manifest_raw=manifest_raw,
                guard=outgoing.guard(show, forbidden_names(ctx), jobs, published),
            )
            report.uploaded, report.deleted, report.published_keys = (
                result.uploaded,
                result.deleted,
                result.kept,
            )
            report.removed_feeds = result.removed_feeds
            if private is not None:
                archive.archive_recordings(show, jobs, private, ctx.say)
        except StorycastError as exc:
            report.publish_error = str(exc)
            for job in jobs:
                if job.status == "ready":
                    job.status = "failed"
                    job.reason = "not published: the store step failed (see below)"
        takedown.record_publications(show, jobs, published, takedowns, provisional=False)
    finally:
        shutil.rmtree(ctx.staging, ignore_errors=True)
        # 4. what the takedowns leave: derived caches, the audit log, the summary
        if not dry_run:
            report.takedown_problems += takedown.finish(
                show,
                ctx.root,
                ctx.cache,
                jobs,
                takedowns,
                published,
                ctx.withdrawals,
                logged,
            )
            # the private archive keeps the whole audit log, so the next run anywhere knows
            if private is not None and archived_log is not None:
                every_line = auditlog.lines(show.episodes_dir)
                if every_line != archived_log:
                    try:
                        archive.keep_audit(private, show, every_line)
                    except StorycastError as exc:
                        report.takedown_problems += list(exc.problems)
    # 5. proof, on what is now published: every file written by this run read in full
    written = set(result.written) if result is not None else set()
    ctx.say("audit: reading back what is published")
    try:
        report.audit = audit.audit(
            show,
            ctx.root,
            store,
            ctx.people,
            not ctx.people_file_problems,
            ctx.withdrawals,
            read=written.__contains__,
        )
    except StorycastError as exc:
        report.publish_error = (report.publish_error + "\n" if report.publish_error else "") + (
            f"the audit could not read what is published: {exc}"
        )
    return report


def _take_down(
    ctx: Context,
    takedowns: dict[str, takedown.Takedown],
    store: ObjectStore,
    private: ObjectStore | None,
    manifest_raw: bytes | None,
    *,
    dry_run: bool = False,
) -> bytes | None:
    """The episodes out of public storage (what could not be removed is kept on each
    takedown, to be reported), and, for a withdrawal, their raw recordings out of the
    private archive; the manifest as it now is (``manifest_raw`` when it was not read)."""
    try:
        manifest_raw = takedown.take_down(ctx.show, takedowns, store, ctx.say, dry_run=dry_run)
    except StorycastError as exc:
        for td in takedowns.values():
            td.failed["storage"] = str(exc).splitlines()[0]
    if private is not None and not dry_run:
        for td in takedowns.values():
            if td.kind == "consent":
                takedown.purge_archive(ctx.show, td, private)
    return manifest_raw


def _late_takedowns(
    ctx: Context,
    jobs: list[EpisodeJob],
    published: dict[str, ledger.Publication],
    takedowns: dict[str, takedown.Takedown],
) -> dict[str, takedown.Takedown]:
    """What a withdrawal recorded while the episodes were being made (``storycast
    withdraw``, or the people file changed) takes down that the run's start did not: the
    withdrawals and the people file are read again just before the store step. An episode
    it names is not published this run (its published version comes down); one whose
    video may no longer show a face is held back as made (the next run makes it again
    without pictures). From here on the run, its audit included, uses them."""
    show = ctx.show
    persons, withdrawals, problems = people.load_consent(show.episodes_dir)
    people_ok = not people.file_problems(problems)
    if {w.person.casefold() for w in withdrawals} == {
        w.person.casefold() for w in ctx.withdrawals
    } and (not people_ok or persons == ctx.people):
        return {}
    ctx.withdrawals = [*ctx.withdrawals, *(w for w in withdrawals if w not in ctx.withdrawals)]
    found = takedown.find(show, persons if people_ok else ctx.people, people_ok,
                          ctx.withdrawals, published)  # fmt: skip
    late = {slug: td for slug, td in found.items() if slug not in takedowns}
    if not late:
        return {}
    ctx.say(
        "takedown: consent changed while this run was working (withdrawals or the people "
        f"file): {', '.join(sorted(late))} not published, and taken down if they were"
    )
    by_slug = {job.slug: job for job in jobs}
    for slug, td in late.items():
        job = by_slug.get(slug)
        if td.kind == "consent" or job is None:
            continue
        # made as the run began, with what may no longer be shown: held back as it is
        td.kind = "hold"
        job.status = "failed"
        job.reason = (
            f"not published: {td.reason.rstrip('.')} while this run was making it. "
            "Publish again: it is made again as consent now allows."
        )
    takedown.mark_jobs(jobs, {s: td for s, td in late.items() if td.kind == "consent"}, show)
    return late


def audit_show(show_file: Path, root: Path, out: TextIO | None = None) -> RunReport:
    """`storycast audit`: what is published, checked; nothing is changed."""
    ctx, problems = _open(show_file, root, out)
    if ctx is None:
        return RunReport(None, [], problems)
    report = RunReport(ctx.show, [], [])
    try:
        store = open_store(ctx.show.storage, root, ctx.show.path)
        report.audit = audit.audit(
            ctx.show,
            root,
            store,
            ctx.people,
            not ctx.people_file_problems,
            ctx.withdrawals,
        )
    except StorycastError as exc:
        report.publish_error = f"the audit could not read what is published: {exc}"
    return report


def prepare_episode(
    episode: str, root: Path, out: TextIO | None = None
) -> tuple[EpisodeJob, Context | None, list[Problem]]:
    """Load, probe and check one episode (by slug or folder) for the per-episode commands."""
    folder = Path(episode)
    if not (folder / "episode.yaml").is_file():
        folder = root / "episodes" / episode
    job = EpisodeJob(folder=folder)
    problems = Problems()
    found = load_episode(folder, problems)
    if found is None:
        if not (folder / "episode.yaml").exists():
            problems.items[:] = [
                Problem(
                    folder,
                    "there is no episode here (no episode.yaml).",
                    "Give the episode's folder name, e.g. first-flat.",
                )
            ]
        return job, None, problems.items
    ctx, show_problems = _open(root / "feeds" / f"{found.show}.yaml", root, out)
    if ctx is None:
        return job, None, show_problems
    run_stages(job, READ_STAGES, ctx, "check")
    return job, ctx, job.problems or ([Problem(folder, job.reason)] if job.reason else [])
