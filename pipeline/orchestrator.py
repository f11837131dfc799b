"""The orchestrator: the only module that knows the order of the stages.

Each stage is a plain function over one EpisodeJob. A stage that finds a
problem raises a StorycastError; the orchestrator turns it into the job's
status and reason and goes on with the other episodes.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pipeline import defaults, edl
from pipeline.cache import Cache
from pipeline.edl import check as edit
from pipeline.edl import redact
from pipeline.errors import InputError, Problem, StorycastError
from pipeline.media import images, scrub
from pipeline.media import loudness as analyse_mod
from pipeline.media.probe import probe as probe_recording
from pipeline.media.probe import sha256_file
from pipeline.media.tag import image_mime, tag_mp3, written_frames
from pipeline.project import approval, auditlog, corrections, ledger, people
from pipeline.project.people import Withdrawal
from pipeline.project.showfile import find_episode_folders, load_episode, load_show
from pipeline.project.yamlfile import Problems
from pipeline.publish import apply as publish
from pipeline.publish import archive, audit, manifest, outgoing, plan, takedown
from pipeline.publish.audit import AuditReport
from pipeline.records import EpisodeJob, Output, Person, Show
from pipeline.render import captions as captions_mod
from pipeline.render import video
from pipeline.render.audio import render as render_timeline
from pipeline.store import ObjectStore, open_private_store, open_store, storage_problems
from pipeline.store.locks import FileLease, Lease, acquire
from pipeline.transcribe import Engine, get_engine, language_warnings
from pipeline.transcribe import transcribe as transcribe_recording


@dataclass
class Context:
    root: Path
    show: Show
    cache: Cache
    staging: Path
    out: TextIO = sys.stderr
    engine_name: str = defaults.TRANSCRIBE_ENGINE
    model: str = defaults.TRANSCRIBE_MODEL
    _engine: Engine | None = field(default=None, repr=False)
    people: dict[str, Person] = field(default_factory=dict)
    people_problems: list[Problem] = field(default_factory=list)
    people_file_problems: list[Problem] = field(default_factory=list)  # people.yaml only
    # recordings (sha256) a takedown found a still-withdrawn person in -> their ids
    withdrawn_recordings: dict[str, list[str]] = field(default_factory=dict)
    withdrawals: list[Withdrawal] = field(default_factory=list)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = get_engine(self.engine_name, self.model, self.show.language[:2])
        return self._engine

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)


# --- stages -----------------------------------------------------------------------------


def load_stage(job: EpisodeJob, ctx: Context) -> None:
    problems = Problems()
    job.episode = load_episode(job.folder, problems)
    problems.raise_if_any()
    assert job.episode is not None
    job.timeline = edl.read(job.episode.edl, job.episode)


def probe_stage(job: EpisodeJob, ctx: Context) -> None:
    assert job.episode and job.timeline
    paths, problems = edit.source_problems(job.timeline, job.episode.recordings_dir)
    for name, path in paths.items():
        try:
            job.recordings[name] = probe_recording(path, name, ctx.cache)
        except StorycastError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)


def edit_stage(job: EpisodeJob, ctx: Context) -> None:
    assert job.timeline
    problems = edit.time_problems(job.timeline, job.recordings)
    if problems:
        raise InputError(problems)
    job.duration = job.timeline.duration


def approval_stage(job: EpisodeJob, ctx: Context) -> None:
    """Skip (as data, not an error) what the contributors have not approved as it is now."""
    assert job.episode and job.timeline
    if not ctx.show.approval_required:
        return
    problems = Problems()
    approved = approval.read(job.folder, problems)
    problems.raise_if_any()
    again = f"storycast approve {job.slug} --by NAME[,NAME]"
    if approved is None:
        job.status = "skipped"
        job.reason = (
            "not approved yet. When the contributors have agreed the edit "
            f"(see `storycast timeline {job.slug}`), run: {again}"
        )
        return
    changed = approval.changes(approved, job.timeline, job.recordings)
    if changed:
        job.status = "skipped"
        job.reason = (
            f"changed since {approved.who()} approved it on {approved.approved_at:%Y-%m-%d}: "
            + "; ".join(changed)
            + f". Check it with the contributors (`storycast timeline {job.slug}`), then: {again}"
        )


def consent_stage(job: EpisodeJob, ctx: Context) -> None:
    """Consent decides whether, and how, anyone in the episode is heard and named."""
    assert job.episode and job.timeline
    ep = job.episode
    where = ep.folder / "episode.yaml"
    if ctx.people_problems:
        raise InputError(ctx.people_problems)
    used = job.timeline.sources()
    missing = [name for name in used if name not in ep.appearances]
    if ctx.show.consent_required and missing:
        raise InputError(
            Problem(
                where,
                "say who speaks or is seen in " + ", ".join(missing) + ", so that their consent "
                "can be checked.",
                "Add `appearances:` with each recording and the ids of the people in it "
                "(from episodes/people.yaml); write `[]` for a recording with nobody in it.",
                ep.appearances_line,
                "appearances",
            )
        )
    ids = [pid for name in used for pid in ep.appearances.get(name, ())]
    unknown = sorted({pid for pid in ids if pid not in ctx.people})
    if unknown:
        raise InputError(
            Problem(
                where,
                "these people are not in the people file: " + ", ".join(unknown) + ".",
                "Add them to episodes/people.yaml with their credit and consent.",
                ep.appearances_line,
                "appearances",
            )
        )
    # A recording a takedown found a withdrawn person in stays out, whatever the
    # appearances say now (they may have been edited to leave the person out).
    held = [
        (name, who)
        for name in used
        if name in job.recordings
        and (who := ctx.withdrawn_recordings.get(job.recordings[name].sha256))
    ]
    if held:
        job.status = "withdrawn"
        job.reason = (
            "; ".join(
                f"{name} was taken down because {', '.join(who)} withdrew, and it is never "
                "published again"
                for name, who in held
            )
            + ". It is not published, and is taken down if it was."
        )
        return
    persons = [ctx.people[pid] for pid in dict.fromkeys(ids)]
    withdrawn = [p for p in persons if p.withdrawn]
    no_voice = [p for p in persons if p.voice_consent is None]
    if withdrawn or no_voice:
        job.status = "withdrawn"
        parts = []
        if withdrawn:
            parts.append("consent was withdrawn for " + ", ".join(p.id for p in withdrawn))
            job.requested_by = "; ".join(
                w.requested_by for w in ctx.withdrawals if w.person in {p.id for p in withdrawn}
            )
        if no_voice:
            parts.append("no consent to publish the voice of " + ", ".join(p.id for p in no_voice))
        job.reason = "; ".join(parts) + ". It is not published, and is taken down if it was."
        return
    job.credits = people.credits_for(persons)
    for name in used:
        in_it = [ctx.people[pid] for pid in ep.appearances.get(name, ())]
        if len(in_it) == 1 and in_it[0].credited_as:
            job.speakers[name] = in_it[0].credited_as or ""


def redact_stage(job: EpisodeJob, ctx: Context) -> None:
    assert job.episode and job.timeline
    job.episode, job.timeline, notes = redact.apply(job.episode, job.timeline)
    job.notes += notes


def analyse_stage(job: EpisodeJob, ctx: Context) -> None:
    for name, rec in job.recordings.items():
        job.loudness[name] = analyse_mod.analyse(rec, ctx.cache)


def transcribe_stage(job: EpisodeJob, ctx: Context) -> None:
    for name, rec in job.recordings.items():
        transcript = transcribe_recording(rec, ctx.engine, ctx.cache)
        job.transcripts[name] = transcript
        job.notes += language_warnings(transcript, ctx.show.language, name)


def render_stage(job: EpisodeJob, ctx: Context) -> None:
    assert job.timeline
    result = render_timeline(job.timeline, job.recordings, job.loudness, ctx.cache)
    job.renders.add(result.key)
    job.rendered_loudness = result.loudness
    if result.note:
        job.notes.append(result.note)
    folder = _staging(job, ctx)
    target = folder / f"{job.slug}.mp3"
    shutil.copyfile(result.path, target)
    job.outputs["audio"] = Output(target, "", "audio/mpeg", "audio")


def captions_stage(job: EpisodeJob, ctx: Context) -> None:
    assert job.timeline
    folder = _staging(job, ctx)
    suffixes = {
        "captions-vtt": (".vtt", "text/vtt"),
        "captions-srt": (".srt", "application/x-subrip"),
        "transcript-json": (".json", "application/json"),
        "chapters": (".chapters.json", "application/json+chapters"),
        "transcript-html": (".html", "text/html; charset=utf-8"),
        "transcript-txt": (".txt", "text/plain; charset=utf-8"),
    }
    assert job.episode
    # The contributors' corrections go over the machine transcript (kept across re-edits
    # and re-transcription); anything that no longer matches is said, never dropped.
    fixed, warnings = corrections.apply(job.transcripts, corrections.load_corrections(job.folder))
    job.notes += warnings
    outputs = captions_mod.render_all(
        job.timeline, fixed, speakers=job.speakers, title=job.episode.title
    )
    job.cues = captions_mod.episode_cues(job.timeline, fixed, job.speakers)
    for role, text in outputs.items():
        suffix, content_type = suffixes[role]
        path = folder / f"{job.slug}{suffix}"
        path.write_text(text, encoding="utf-8")
        job.outputs[role] = Output(path, "", content_type, role)


def _without_face_consent(job: EpisodeJob, ctx: Context) -> list[str]:
    """Everyone seen in the episode's clips who has not consented to show their face."""
    assert job.episode and job.timeline
    ep = job.episode
    return sorted(
        {
            pid
            for name in job.timeline.sources()
            for pid in ep.appearances.get(name, ())
            if pid in ctx.people and not ctx.people[pid].may_publish_face()
        }
    )


def video_check_stage(job: EpisodeJob, ctx: Context) -> None:
    """A video episode's pictures can be rendered as the EDL says: checked before any
    transcription or rendering, so a producer hears of a bad clip in seconds.

    Every clip's file must have a picture and sound, and the picture must last as long
    as the clip. Skipped when the episode will go out audio-only for want of consent.
    """
    assert job.episode and job.timeline
    if job.episode.medium != "video" or _without_face_consent(job, ctx):
        return
    sources = {name: job.recordings[name].path for name in job.timeline.sources()}
    job.videos = {name: video.require_video(path) for name, path in sources.items()}
    video.check_sources(job.timeline, sources, job.videos, allow_silent=False)


def video_stage(job: EpisodeJob, ctx: Context) -> None:
    """A video episode: the same Timeline rendered from the phones' pictures too.

    Anyone seen who has not consented to show their face makes it audio-only,
    with a note saying why; the audio episode is published either way.
    """
    assert job.episode and job.timeline
    ep, timeline = job.episode, job.timeline
    if ep.medium != "video":
        return
    no_face = _without_face_consent(job, ctx)
    if no_face:
        job.notes.append(
            "published audio-only: someone seen in it (" + ", ".join(no_face) + ") has not "
            "consented to show their face"
        )
        return
    videos = job.videos  # probed and checked by video_check_stage
    assert videos, "video_check_stage runs before video_stage"
    gains = {name: analyse_mod.recording_gain(job.loudness[name]) for name in timeline.sources()}
    vtt = job.outputs["captions-vtt"].path
    options = {
        "orientation": ctx.show.video_orientation,
        "burn_in": ctx.show.burn_in_captions,
        "captions": sha256_file(vtt),
        "language": ctx.show.language,
        "poster_at": ep.poster_at,
    }
    shas = {name: rec.sha256 for name, rec in job.recordings.items()}
    key = video.video_render_key(timeline, shas, gains, options)
    job.renders.add(key)
    mp4 = ctx.cache.path("videos", key, ".mp4")
    poster = ctx.cache.path("videos", key, ".jpg")
    if not (mp4.exists() and poster.exists()):
        mp4.parent.mkdir(parents=True, exist_ok=True)
        tmp, tmp_poster = mp4.with_suffix(".tmp.mp4"), poster.with_suffix(".tmp.jpg")
        try:
            result = video.render_video(
                timeline,
                {name: rec.path for name, rec in job.recordings.items()},
                videos,
                gains,
                tmp,
                captions_vtt=vtt,
                captions_language=ctx.show.language,
                burn_in=ctx.show.burn_in_captions,
                orientation=ctx.show.video_orientation,
                poster=tmp_poster,
                poster_at=ep.poster_at,
            )
            job.notes += list(result.notes)
            os.replace(tmp_poster, poster)
            os.replace(tmp, mp4)
            # which recordings went in, so a takedown can purge this render
            ctx.cache.put_json(
                "videos", key, {"recordings": sorted({shas[n] for n in timeline.sources()})}
            )
        finally:
            tmp.unlink(missing_ok=True)
            tmp_poster.unlink(missing_ok=True)
    folder = _staging(job, ctx)
    shutil.copyfile(mp4, folder / f"{job.slug}.mp4")
    images.clean_image(poster, folder / f"{job.slug}.poster.jpg")  # its pixels, nothing else
    job.outputs["video"] = Output(folder / f"{job.slug}.mp4", "", "video/mp4", "video")
    job.outputs["poster"] = Output(folder / f"{job.slug}.poster.jpg", "", "image/jpeg", "poster")


def _tag_values(job: EpisodeJob, ctx: Context) -> dict[str, Any]:
    """What the MP3's tag says: written by tag_stage, compared with by scrub_stage."""
    assert job.episode and job.timeline
    ep = job.episode
    return {
        "title": ep.title,
        "show_title": ctx.show.title,
        "artist": ctx.show.author,
        "episode_number": ep.number,
        "year": ep.published.year,
        "artwork": ctx.show.artwork,
        "chapters": list(job.timeline.chapters),
        "duration": job.timeline.duration,
    }


def tag_stage(job: EpisodeJob, ctx: Context) -> None:
    tag_mp3(job.outputs["audio"].path, **_tag_values(job, ctx))


def forbidden_names(ctx: Context) -> list[outgoing.Term]:
    """Names the show must never publish (``outgoing.name_terms``)."""
    return outgoing.name_terms(ctx.people.values(), {w.person for w in ctx.withdrawals})


def texts_stage(job: EpisodeJob, ctx: Context) -> None:
    """No redacted text and no name a person asked to keep out, in anything that goes out:
    every text field (``outgoing``), and every staged file read back as its readers read
    it. A caption that still says a redacted word was heard outside the redaction."""
    assert job.episode and job.timeline
    redacted = outgoing.redaction_terms(job.timeline)
    terms = redacted + forbidden_names(ctx)
    texts = outgoing.episode_texts(
        job.episode, job.timeline, [c.name for c in job.credits], job.speakers.values()
    ) + outgoing.show_texts(ctx.show)
    problems = [
        Problem(None, f"{f.where} contains {f.why}.", _TEXT_FIX)
        for f in outgoing.check_texts(texts, terms)
    ]
    spoken = {t.why: t for t in redacted}
    for output in job.outputs.values():
        for f in outgoing.check_file(output.path, terms, output.role):
            said = ""
            if f.why in spoken and output.role.startswith(("captions", "transcript")):
                pattern = spoken[f.why].pattern()
                at = [c.start for c in job.cues if pattern.search(c.text)]
                if at:
                    said = f" It is heard at {_clock(at[0])} in the episode, outside the redaction."
            problems.append(
                Problem(
                    None,
                    f"the {output.role} file ({output.path.name}) would contain {f.why}.{said}",
                    "Add a redaction over each place it is said (or correct the transcript "
                    "in corrections.yaml if it was misheard), then approve and publish again.",
                )
            )
    if problems:
        raise InputError(problems)


_TEXT_FIX = (
    "Take it out of that field (or change the person's credit in the people file); "
    "storycast never publishes it."
)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:04.1f}"


def scrub_stage(job: EpisodeJob, ctx: Context) -> None:
    """A last look before anything leaves: no location, device or time trace, no value
    carried over from a source recording's tags, in any published media file or picture.
    The MP3's tag is compared with the frames storycast wrote, field by field."""
    needles = [v for rec in job.recordings.values() for v in scrub.source_values(rec.path)]
    frames = written_frames(**_tag_values(job, ctx))
    for output in job.outputs.values():
        if output.role == "audio":
            scrub.assert_clean(output.path, needles, id3_frames=frames)
        elif output.role in ("video", "poster"):
            scrub.assert_clean(output.path, needles)


def key_stage(job: EpisodeJob, ctx: Context) -> None:
    """Content-addressed keys: a key never changes meaning, so listeners' caches stay right."""
    for output in job.outputs.values():
        output.sha256 = sha256_file(output.path)
        output.size = output.path.stat().st_size
        name = output.path.name
        stem, dot, ext = name.partition(".")
        output.key = f"media/{ctx.show.slug}/{stem}-{output.sha256[:16]}{dot}{ext}"
    job.status = "ready"


Stage = tuple[str, Callable[[EpisodeJob, Context], None]]

CHECK_STAGES: list[Stage] = [
    ("load", load_stage),
    ("probe", probe_stage),
    ("edit", edit_stage),
]
PUBLISH_STAGES: list[Stage] = CHECK_STAGES + [
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
]


def _staging(job: EpisodeJob, ctx: Context) -> Path:
    folder = ctx.staging / job.slug
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- running ----------------------------------------------------------------------------


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


def episode_jobs(show: Show) -> list[EpisodeJob]:
    """Every episode folder that belongs to this show (or cannot say which show it is)."""
    jobs: list[EpisodeJob] = []
    for folder in find_episode_folders(show.episodes_dir):
        job = EpisodeJob(folder=folder)
        probe_problems = Problems()
        episode = load_episode(folder, probe_problems)
        if episode is not None and episode.show != show.slug:
            continue  # another show's episode
        jobs.append(job)
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


def _open(show_file: Path, root: Path, out: TextIO) -> tuple[Context | None, list[Problem]]:
    problems = Problems()
    show = load_show(show_file, problems)
    if show is None or problems:
        return None, problems.items
    unsafe = storage_problems(show.storage, root, show.path, show.episodes_dir)
    if unsafe:
        return None, unsafe
    cache = Cache(root / defaults.CACHE_DIR)
    staging = root / ".storycast" / "staging" / show.slug
    ctx = Context(root=root, show=show, cache=cache, staging=staging, out=out)
    ctx.people, ctx.people_problems = people.load_people(show.episodes_dir)
    ctx.people_file_problems = [
        p for p in ctx.people_problems if p.path and p.path.name == people.PEOPLE_FILE
    ]
    ctx.withdrawals, more = people.load_withdrawals(show.episodes_dir)
    ctx.people_problems += more
    ctx.withdrawn_recordings = auditlog.withdrawn_recordings(
        show.episodes_dir, {w.person.casefold() for w in ctx.withdrawals}
    )
    return ctx, []


def _clean_artwork(ctx: Context) -> Path:
    """The show artwork as published and as embedded in every MP3: its pixels only
    (``images.clean_image``), made once per artwork and kept in the cache, checked
    every run. The show file's own artwork is left as it is."""
    src = ctx.show.artwork
    suffix = ".png" if image_mime(src) == "image/png" else ".jpg"
    key = f"{sha256_file(src)}-v{images.VERSION}"
    clean = ctx.cache.path("artwork", key, suffix)
    if not clean.exists():
        images.clean_image(src, clean)
    scrub.assert_clean(clean)
    return clean


def check(show_file: Path, root: Path, out: TextIO = sys.stderr) -> RunReport:
    ctx, problems = _open(show_file, root, out)
    if ctx is None:
        return RunReport(None, [], problems)
    jobs = episode_jobs(ctx.show)
    for i, job in enumerate(jobs, 1):
        stages = [
            *CHECK_STAGES,
            ("approval", approval_stage),
            ("consent", consent_stage),
            ("video-check", video_check_stage),
        ]
        run_stages(job, stages, ctx, f"[{i}/{len(jobs)}]")
        if job.status == "pending":
            job.status = "ready"
    return RunReport(ctx.show, jobs, [])


def publish_show(
    show_file: Path,
    root: Path,
    out: TextIO = sys.stderr,
    *,
    dry_run: bool = False,
    wait: float = 0.0,
) -> RunReport:
    """Takedowns first, then every other episode through the stages, then the store step
    (or, dry, only its plan), then what the takedowns leave to purge and record.

    One run of a show at a time: a second one stops (or waits up to ``wait`` seconds)
    while another holds the show's leases (``locks``)."""
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
        return _publish_locked(ctx, jobs, report, store, private, leases[-1], dry_run=dry_run)
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
) -> RunReport:
    show = ctx.show
    published = ledger.read(show.episodes_dir, show.slug)
    takedowns = takedown.find(
        show, ctx.people, not ctx.people_file_problems, ctx.withdrawals, published
    )
    shutil.rmtree(ctx.staging, ignore_errors=True)
    try:
        # 1. takedowns: from the manifest and the people file, before any stage runs
        manifest_raw: bytes | None = plan.READ
        try:
            manifest_raw = takedown.take_down(show, takedowns, store, ctx.say, dry_run=dry_run)
        except StorycastError as exc:
            for td in takedowns.values():
                td.failed["storage"] = str(exc).splitlines()[0]
        _takedown_jobs(jobs, takedowns, show)
        if private is not None and not dry_run:
            for td in takedowns.values():
                if td.kind == "consent":
                    takedown.purge_archive(show, td, private)
        # 2. every other episode, with the show's artwork as a clean copy from here on
        try:
            ctx.show = show = replace(show, artwork=_clean_artwork(ctx))
        except StorycastError as exc:
            report.show_problems = list(exc.problems)
            for job in jobs:
                if job.status == "pending":
                    job.status, job.reason = "failed", "not published: the show's artwork (below)"
            return report
        for i, job in enumerate(jobs, 1):
            run_stages(job, PUBLISH_STAGES, ctx, f"[{i}/{len(jobs)}]")
        if dry_run:
            report.plan = plan.format_plan(plan.plan(show, jobs, store))
            return report
        # 2b. a redaction added since an episode was published holds at once: if the new
        # edit cannot be published this run, the published version comes down meanwhile
        holds = _holds(jobs, published, takedowns)
        if holds:
            try:
                manifest_raw = takedown.take_down(show, holds, store, ctx.say)
            except StorycastError as exc:
                for td in holds.values():
                    td.failed["storage"] = str(exc).splitlines()[0]
            takedowns.update(holds)
            for job in jobs:
                if job.slug in holds:
                    job.notes.append(holds[job.slug].reason)
        # 3. the store step
        _record_publications(show, jobs, published, takedowns, ctx, provisional=True)
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
                guard=_guard(ctx, jobs, published),
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
        _record_publications(show, jobs, published, takedowns, ctx, provisional=False)
    finally:
        shutil.rmtree(ctx.staging, ignore_errors=True)
        # 4. what the takedowns leave: derived caches, the audit log, the summary
        if not dry_run:
            _finish_takedowns(ctx, jobs, takedowns, published, report)
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


def _holds(
    jobs: list[EpisodeJob],
    published: dict[str, ledger.Publication],
    takedowns: dict[str, takedown.Takedown],
) -> dict[str, takedown.Takedown]:
    """Published episodes that will not be published again this run (not approved yet, or
    failed) whose EDL now has a redaction their published version lacks."""
    holds: dict[str, takedown.Takedown] = {}
    for job in jobs:
        then = published.get(job.slug)
        if job.status not in ("skipped", "failed") or job.timeline is None or then is None:
            continue
        if job.slug in takedowns or (then.redactions and not then.redaction_spans):
            continue  # (a record from before spans were kept: nothing to compare with)
        spans = {(s, round(a, 6), round(b, 6)) for s, a, b in then.redaction_spans}
        new = [
            r
            for r in job.timeline.redactions
            if (r.source, round(r.start, 6), round(r.end, 6)) not in spans
        ]
        if new:
            holds[job.slug] = takedown.Takedown(
                job.slug,
                f"a redaction was added (EDL line {new[0].line}) after it was published, so its "
                "published version is taken down until the new edit is published",
                "hold",
                folder=job.folder,
            )
    return holds


def _guard(
    ctx: Context, jobs: list[EpisodeJob], published: dict[str, ledger.Publication]
) -> Callable[[str, bytes], list[str]]:
    """What the feeds and the manifest must not say: the names of ``forbidden_names``
    anywhere, and each episode's redacted texts (as published before, or as now) in what
    they say of that episode."""
    names = forbidden_names(ctx)
    by_episode: dict[str, list[outgoing.Term]] = {}
    for slug, pub in published.items():
        by_episode[slug] = [outgoing.Term(t, f"a redacted text of {slug}") for t in pub.redactions]
    for job in jobs:
        if job.timeline is not None:
            by_episode.setdefault(job.slug, []).extend(
                replace(t, why=f"a redacted text of {job.slug}")
                for t in outgoing.redaction_terms(job.timeline)
            )
    show = ctx.show

    def episode_of(url: str) -> str | None:
        key = url.removeprefix(show.base_url.rstrip("/") + "/")
        return manifest.key_episode(show, key)

    def check(key: str, data: bytes) -> list[str]:
        if key.endswith(".xml"):
            return outgoing.check_feed(data, names, by_episode, episode_of)
        found = [f.why for f in outgoing.check_file(Path(key), names, key, data)]
        try:
            episodes = json.loads(data)
        except ValueError:
            return found
        for slug, record in episodes.items() if isinstance(episodes, dict) else ():
            own = json.dumps(record).encode()
            found += [
                f.why for f in outgoing.check_file(Path(key), by_episode.get(slug, []), key, own)
            ]
        return found

    return check


def _takedown_jobs(
    jobs: list[EpisodeJob], takedowns: dict[str, takedown.Takedown], show: Show
) -> None:
    """Each takedown's episode is a job (one whose folder is gone too), not run through the
    stages when someone's voice may not be published."""
    by_slug = {job.slug: job for job in jobs}
    for slug, td in sorted(takedowns.items()):
        job = by_slug.get(slug)
        if job is None:
            job = EpisodeJob(folder=td.folder or show.episodes_dir / slug)
            jobs.append(job)
        if td.kind == "consent":
            job.status = "withdrawn"
            job.reason = td.reason
            job.requested_by = td.requested_by
        else:
            job.notes.append(td.reason)


def _mark_not_done(jobs: list[EpisodeJob], td: takedown.Takedown) -> None:
    for job in jobs:
        if job.slug == td.slug and job.status in ("withdrawn", "pending"):
            job.status = "failed"
            job.reason = takedown.problem_for(td).message


def _finish_takedowns(
    ctx: Context,
    jobs: list[EpisodeJob],
    takedowns: dict[str, takedown.Takedown],
    published: dict[str, ledger.Publication],
    report: RunReport,
) -> None:
    """Purge what storycast derived from the withdrawn recordings (except what an episode
    still being published uses), say where raw copies remain, record it all in the audit
    log, and say TAKEN DOWN only of what storage was read back without."""
    show = ctx.show
    live = [job for job in jobs if job.status in ("ready", "published")]
    keep = {rec.sha256 for job in live for rec in job.recordings.values()}
    renders = {key for job in live for key in job.renders}
    withdrawn = {w.person for w in ctx.withdrawals}
    for td in takedowns.values():
        if td.kind == "consent":
            td.shas = takedown.recording_shas(td, published.get(td.slug))
            td.cache_removed = takedown.purge_caches(ctx.cache, td.shas, keep, renders)
            raw = takedown.raw_copies(td.folder, set(td.people) & withdrawn)
            td.raw_copies = [
                str(p.relative_to(ctx.root)) for p in raw if p.is_relative_to(ctx.root)
            ]
        new = td.kind == "consent" and bool(td.shas - set(ctx.withdrawn_recordings))
        entry = takedown.audit_entry(show, td, new)
        if entry is not None:
            takedown.append_audit(show.episodes_dir, entry)
        job = next((j for j in jobs if j.slug == td.slug), None)
        if not td.done:
            report.takedown_problems.append(takedown.problem_for(td))
            _mark_not_done(jobs, td)
            continue
        if job is None:
            continue
        if td.removed or td.cache_removed or td.archive_removed:
            job.notes.append(
                f"taken down: {len(td.removed)} published files, {len(td.archive_removed)} "
                f"archived recordings and {len(td.cache_removed)} cached files removed; "
                f"recorded in {show.episodes_dir.name}/{takedown.AUDIT_FILE}"
            )
        if td.raw_copies:
            ids = sorted(set(td.people) & withdrawn)
            job.notes.append(
                "raw recordings with "
                + ", ".join(ids)
                + " are still kept here (never published): "
                + ", ".join(td.raw_copies)
                + ". To delete them: storycast withdraw "
                + " ".join(ids)
                + " --erase-recordings"
            )


def _record_publications(
    show: Show,
    jobs: list[EpisodeJob],
    before: dict[str, ledger.Publication],
    takedowns: dict[str, takedown.Takedown],
    ctx: Context,
    *,
    provisional: bool,
) -> None:
    """Keep the private record of who is in each published episode.

    Written before the store step too (``provisional``), with every episode about to go
    out, so a run killed mid-publish still leaves a record a later takedown can use.
    """
    entries = {s: p for s, p in before.items() if not (s in takedowns and takedowns[s].done)}
    at = datetime.now(UTC).replace(microsecond=0).isoformat()
    for job in jobs:
        if job.status not in (("ready", "published") if provisional else ("published",)):
            continue
        if job.episode is None or job.timeline is None:
            continue
        used = job.timeline.sources()
        ids = tuple(
            dict.fromkeys(pid for name in used for pid in job.episode.appearances.get(name, ()))
        )
        entries[job.slug] = ledger.Publication(
            people=ids,
            faces=ids if "video" in job.outputs else (),
            recordings={
                name: job.recordings[name].sha256 for name in used if name in job.recordings
            },
            edl_sha256=job.timeline.edl_sha256,
            redactions=tuple(r.text for r in job.timeline.redactions if r.text),
            redaction_spans=tuple((r.source, r.start, r.end) for r in job.timeline.redactions),
            at=at,
        )
    if entries != before:
        ledger.write(show.episodes_dir, show.slug, entries)


def audit_show(show_file: Path, root: Path, out: TextIO = sys.stderr) -> RunReport:
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
    episode: str, root: Path, out: TextIO = sys.stderr
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
    run_stages(job, CHECK_STAGES, ctx, "check")
    return job, ctx, job.problems or ([Problem(folder, job.reason)] if job.reason else [])
