"""The stages: each a thin body over one EpisodeJob and the run's Context, calling the
rooms below (media, project, edl, transcribe, render, publish) to do the work.

A stage that finds a problem raises a StorycastError; the orchestrator turns it into the
job's status and reason. A stage that decides the episode is not going out (not approved,
no consent) says so as data: ``job.status`` and ``job.reason``. Only the orchestrator
knows their order. A stage never prints: it speaks through ``ctx.say``, and a long step
shows how far it has got through a task of ``ctx.progress`` (``pipeline.progress``).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from pipeline import defaults, edl
from pipeline.cache import Cache
from pipeline.edl import check as edit
from pipeline.edl import redact
from pipeline.errors import InputError, Problem, StorycastError
from pipeline.media import fingerprint, images, scrub
from pipeline.media import loudness as analyse_mod
from pipeline.media.probe import probe as probe_recording
from pipeline.media.probe import probed, require_picture, sha256_file
from pipeline.media.tag import image_mime, tag_mp3, written_frames
from pipeline.progress import Reporter, reporter
from pipeline.project import approval, corrections, people
from pipeline.project.people import Withdrawal
from pipeline.project.showfile import load_episode
from pipeline.project.yamlfile import Problems
from pipeline.publish import outgoing
from pipeline.publish.manifest import public_url
from pipeline.records import ROLES, Episode, EpisodeJob, Output, Person, PublishedFile, Show
from pipeline.render import captions as captions_mod
from pipeline.render import video
from pipeline.render.audio import render as render_timeline
from pipeline.site import build as site
from pipeline.transcribe import Engine, doubtful, get_engine, language_warnings, primary
from pipeline.transcribe import transcribe as transcribe_recording


@dataclass
class Context:
    root: Path
    show: Show
    cache: Cache
    staging: Path
    out: TextIO = field(default_factory=lambda: sys.stderr)
    engine_name: str = defaults.TRANSCRIBE_ENGINE
    model: str = defaults.TRANSCRIBE_MODEL
    device: str = "cpu"  # "cuda": a Dask worker with a GPU (``compute.cluster`` sets it)
    _engine: Engine | None = field(default=None, repr=False)
    people: dict[str, Person] = field(default_factory=dict)
    people_problems: list[Problem] = field(default_factory=list)
    people_file_problems: list[Problem] = field(default_factory=list)  # people.yaml only
    # recordings (sha256) a takedown found a still-withdrawn person in -> their ids
    withdrawn_recordings: dict[str, list[str]] = field(default_factory=dict)
    # the sound of each of those recordings (``media.fingerprint``): (ids, fingerprint), so
    # a copy of one with other bytes is held back too
    withdrawn_sounds: list[tuple[tuple[str, ...], tuple[int, ...]]] = field(default_factory=list)
    withdrawals: list[Withdrawal] = field(default_factory=list)
    # where messages and progress go: bars on a terminal, plain lines in a log, or whatever
    # a caller puts in its place (None: ``progress.reporter(out)``)
    progress: Reporter = field(default=None)  # type: ignore[assignment]
    # On a Dask worker without the producer's folder (``compute.parcel``): fetches the
    # named recordings of the task's job from the shared cache. None: they are here.
    fetch: Callable[[Iterable[str]], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.progress is None:
            self.progress = reporter(self.out)

    def __getstate__(self) -> dict[str, Any]:
        """What crosses to a Dask worker: everything but the reporter (it holds a lock,
        and bars belong to this process's terminal); the worker makes its own."""
        return {**self.__dict__, "progress": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.progress = reporter(self.out)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = get_engine(
                self.engine_name, self.model, self.show.language[:2], device=self.device
            )
        return self._engine

    def say(self, text: str) -> None:
        self.progress.say(text)

    def need(self, names: Iterable[str]) -> None:
        """The named recordings' files are about to be read: make sure they are here."""
        if self.fetch is not None:
            self.fetch(names)

    def reader(self, *names: str) -> Callable[[], None]:
        """``need`` of these recordings, to be called just before their files are read."""
        return lambda: self.need(names)


def load_stage(job: EpisodeJob, ctx: Context) -> None:
    if job.episode is None:  # not read yet, or read with problems: read it and say them
        problems = Problems()
        job.episode = load_episode(job.folder, problems)
        problems.raise_if_any()
    assert job.episode is not None
    job.timeline = edl.read(job.episode.edl, job.episode)
    job.notes += list(job.timeline.notes)


def probe_stage(job: EpisodeJob, ctx: Context) -> None:
    assert job.episode and job.timeline
    paths, problems = edit.source_problems(job.timeline, job.episode.recordings_dir)
    for name, path in paths.items():
        try:
            job.recordings[name] = probe_recording(
                path, name, ctx.cache, video=job.episode.medium == "video"
            )
        except StorycastError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)


def recordings_to_probe(job: EpisodeJob, ctx: Context) -> dict[str, tuple[Path, str]]:
    """The recordings of ``job`` that may be probed elsewhere (on a Dask worker, through the
    shared cache) before its first stages run here: name -> (path, sha256), those not
    probed yet.

    Only what those stages would let through: nothing when the episode or its EDL cannot
    be read, a recording is missing, or the episode would be skipped (not approved as it
    is) or withheld (someone in it unknown, without consent, withdrawn, or a recording a
    takedown holds). Then it is probed here, as always, and its first stages say why; no
    recording of it leaves this machine for probing."""
    episode = job.episode
    if episode is None or ctx.people_problems:
        return {}
    try:
        timeline = edl.read(episode.edl, episode)
    except StorycastError:
        return {}
    paths, problems = edit.source_problems(timeline, episode.recordings_dir)
    used = timeline.sources()
    if problems or any(name not in episode.appearances for name in used):
        return {}
    ids = {pid for name in used for pid in episode.appearances.get(name, ())}
    people = [ctx.people.get(pid) for pid in ids]
    if any(p is None or p.withdrawn or p.voice_consent is None for p in people):
        return {}
    try:
        shas = {name: sha256_file(path) for name, path in paths.items()}
    except StorycastError:
        return {}
    if any(sha in ctx.withdrawn_recordings for sha in shas.values()):
        return {}
    if ctx.show.approval_required:
        found = Problems()
        approved = approval.read(job.folder, found)
        now = {name: shas[name] for name in used if name in shas}
        if (
            approved is None
            or found
            or approval.changes_by_sha(approved, timeline, now, job.folder)
        ):
            return {}
    video = episode.medium == "video"
    return {
        name: (path, shas[name])
        for name, path in paths.items()
        if not probed(ctx.cache, shas[name], video=video)
    }


def probe_work(job: EpisodeJob, name: str, path: Path, ctx: Context) -> None:
    """One recording of ``job`` probed into the cache (``path``: where it is on this
    machine), as ``probe_stage`` would: it then finds it there."""
    assert job.episode
    probe_recording(path, name, ctx.cache, video=job.episode.medium == "video")


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
    changed = approval.changes(approved, job.timeline, job.recordings, job.folder)
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
    copies = _copies_of_withdrawn(job, used, ctx)
    if copies:
        job.status = "withdrawn"
        job.reason = (
            "; ".join(
                f"{name} has the same sound as a recording taken down because "
                f"{', '.join(who)} withdrew (a copy of it, with other bytes), and it is never "
                "published again"
                for name, who in copies
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


def _copies_of_withdrawn(
    job: EpisodeJob, used: list[str], ctx: Context
) -> list[tuple[str, tuple[str, ...]]]:
    """The recordings of ``job`` whose sound is that of a recording a withdrawn person was
    taken down in: retagged, remuxed or re-encoded copies (``media.fingerprint``)."""
    found: list[tuple[str, tuple[str, ...]]] = []
    if not ctx.withdrawn_sounds:
        return found
    for name in dict.fromkeys(used):
        rec = job.recordings.get(name)
        if rec is None:
            continue
        sound = fingerprint.of_recording(rec.path, rec.sha256, ctx.cache)
        who = sorted(
            {
                i
                for ids, fp in ctx.withdrawn_sounds
                if fingerprint.same_sound(sound, fp)
                for i in ids
            }
        )
        if who:
            found.append((name, tuple(who)))
    return found


def redact_stage(job: EpisodeJob, ctx: Context) -> None:
    assert job.episode and job.timeline
    job.episode, job.timeline, notes = redact.apply(job.episode, job.timeline)
    job.notes += notes


def analyse_stage(job: EpisodeJob, ctx: Context) -> None:
    for name, rec in job.recordings.items():
        with ctx.progress.task(f"{job.slug}: measuring {name}", rec.duration) as tick:
            job.loudness[name] = analyse_mod.analyse(rec, ctx.cache, tick, ctx.reader(name))


def credited_names(episode: Episode, people: dict[str, Person]) -> tuple[str, ...]:
    """The names of the episode's people who are credited by name, for the model to spell
    as they wrote them. Never a name that is not published: people credited by a
    pseudonym or not at all are left out (their real names must not be suggested)."""
    return tuple(
        sorted(
            {
                person.name
                for ids in episode.appearances.values()
                for pid in ids
                if (person := people.get(pid)) and person.credit == "name" and person.name
            }
        )
    )


def transcribe_options(
    job: EpisodeJob, name: str, ctx: Context
) -> tuple[str | None, tuple[str, ...]]:
    """How the recording ``name`` is to be transcribed: the language the episode gives it
    (None: detect it) and the names to spell as written (hotwords)."""
    assert job.episode
    languages = job.episode.languages
    forced = languages.get(name) or languages.get("*")
    # Off by default: on the example show, "Jordan" as a hotword cost the word "Sundays"
    # and turned "talk about" into "talk i'm out" (README, Speed and accuracy).
    names = credited_names(job.episode, ctx.people) if defaults.TRANSCRIBE_NAME_HOTWORDS else ()
    return forced, names


def transcribe_stage(job: EpisodeJob, ctx: Context) -> None:
    """Each recording in its own language: the episode's `language:` for it, else detected."""
    for name, rec in job.recordings.items():
        forced, names = transcribe_options(job, name, ctx)
        with ctx.progress.task(f"{job.slug}: transcribing {name}", rec.duration) as tick:
            transcript = transcribe_recording(
                rec, ctx.engine, ctx.cache, tick, language=forced, names=names,
                made_on=job.transcribed_on.get(rec.sha256, ""), fetch=ctx.reader(name),
            )  # fmt: skip
        how = {
            "detected": f"detected, probability {transcript.language_probability:.2f}",
            "episode.yaml": "from episode.yaml",
        }.get(transcript.language_from, "the show's; no multilingual model to detect it")
        ctx.say(f"  {name}: speech in `{transcript.language}` ({how}), model {transcript.model}")
        # Captions in the show's language are tagged as the show is (en-GB stays en-GB).
        same = primary(transcript.language) == primary(ctx.show.language)
        job.languages[name] = forced or (ctx.show.language if same else transcript.language)
        job.notes += language_warnings(transcript, ctx.show.language, name)
        if doubtful(transcript):  # wrong captions are worse than none for a deaf listener
            transcript = replace(transcript, words=())
        job.transcripts[name] = transcript


def recording_work(job: EpisodeJob, name: str, ctx: Context) -> None:
    """One recording of ``job`` measured and transcribed into the cache, on its own, as
    ``analyse_stage`` and ``transcribe_stage`` would: they then find it there (a cluster
    runs this for every recording at once, each as a task of its own)."""
    rec = job.recordings[name]
    forced, names = transcribe_options(job, name, ctx)
    analyse_mod.analyse(rec, ctx.cache, fetch=ctx.reader(name))
    transcribe_recording(
        rec, ctx.engine, ctx.cache, language=forced, names=names, fetch=ctx.reader(name)
    )


def render_stage(job: EpisodeJob, ctx: Context) -> None:
    assert job.timeline
    with ctx.progress.task(f"{job.slug}: rendering the sound", job.timeline.duration) as tick:
        result = render_timeline(
            job.timeline, job.recordings, job.loudness, ctx.cache, tick,
            fetch=ctx.reader(*job.timeline.sources()),
        )  # fmt: skip
    job.renders.add(result.key)
    job.rendered_loudness = result.loudness
    if result.note:
        job.notes.append(result.note)
    shutil.copyfile(result.path, _output(job, staging_folder(job, ctx), "audio"))


def captions_stage(job: EpisodeJob, ctx: Context) -> None:
    assert job.timeline
    folder = staging_folder(job, ctx)
    assert job.episode
    # The contributors' corrections go over the machine transcript (kept across re-edits
    # and re-transcription); anything that no longer matches is said, never dropped.
    fixed, warnings = corrections.apply(job.transcripts, corrections.load_corrections(job.folder))
    job.notes += warnings
    job.captions_language = captions_language(job, ctx.show.language)
    outputs = captions_mod.render_all(
        job.timeline,
        fixed,
        speakers=job.speakers,
        title=job.episode.title,
        language=job.captions_language,
    )
    job.cues = captions_mod.episode_cues(job.timeline, fixed, job.speakers)
    job.words = [
        (w.start, w.end, w.text)
        for w in captions_mod.redact_words(
            captions_mod.map_words(job.timeline, fixed), job.timeline
        )
    ]
    for role, text in outputs.items():
        path = _output(job, folder, role)
        path.write_text(text, encoding="utf-8")


def captions_language(job: EpisodeJob, show_language: str) -> str:
    """The language most of the episode's clips are in (the show's when none is known)."""
    assert job.timeline
    seconds: dict[str, float] = {}
    for clip in job.timeline.clips:
        lang = job.languages.get(clip.source, show_language)
        seconds[lang] = seconds.get(lang, 0.0) + clip.duration
    if not seconds:
        return show_language
    return max(seconds, key=lambda lang: (seconds[lang], lang == show_language))


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
    job.videos = {name: require_picture(job.recordings[name]) for name in sources}
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
        "language": job.captions_language or ctx.show.language,
        "poster_at": ep.poster_at,
    }
    shas = {name: rec.sha256 for name, rec in job.recordings.items()}
    key = video.video_render_key(timeline, shas, gains, options)
    job.renders.add(key)
    mp4 = ctx.cache.path("videos", key, ".mp4")
    poster = ctx.cache.path("videos", key, ".jpg")
    have = ctx.cache.get_file("videos", key, ".mp4") and ctx.cache.get_file("videos", key, ".jpg")
    if not have:  # (both made, and their bytes checked)
        ctx.need(timeline.sources())
        mp4.parent.mkdir(parents=True, exist_ok=True)
        # names of this process's own: a killed worker's ffmpeg may still be writing its own
        tmp = mp4.with_suffix(f".{os.getpid()}.tmp.mp4")
        tmp_poster = poster.with_suffix(f".{os.getpid()}.tmp.jpg")
        try:
            with ctx.progress.task(f"{job.slug}: rendering the video", timeline.duration) as tick:
                result = video.render_video(
                    timeline,
                    {name: rec.path for name, rec in job.recordings.items()},
                    videos,
                    gains,
                    tmp,
                    captions_vtt=vtt,
                    captions_language=job.captions_language or ctx.show.language,
                    burn_in=ctx.show.burn_in_captions,
                    orientation=ctx.show.video_orientation,
                    poster=tmp_poster,
                    poster_at=ep.poster_at,
                    needles=[v for name in timeline.sources() for v in job.recordings[name].tags],
                    progress=tick,
                )
            job.notes += list(result.notes)
            os.replace(tmp_poster, poster)
            os.replace(tmp, mp4)
            ctx.cache.put_file("videos", key, ".jpg")
            ctx.cache.put_file("videos", key, ".mp4")
            # which recordings went in, so a takedown can purge this render
            ctx.cache.put_json(
                "videos", key, {"recordings": sorted({shas[n] for n in timeline.sources()})}
            )
        finally:
            tmp.unlink(missing_ok=True)
            tmp_poster.unlink(missing_ok=True)
    folder = staging_folder(job, ctx)
    shutil.copyfile(mp4, _output(job, folder, "video"))
    images.clean_image(poster, _output(job, folder, "poster"))  # its pixels, nothing else


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
        Problem(
            None,
            f"{f.where} contains {f.why}.",
            _FOLDER_FIX if f.where.startswith(outgoing.FOLDER_NAME) else _TEXT_FIX,
        )
        for f in outgoing.check_texts(texts, terms)
    ]
    spoken = {t.why: t for t in redacted}
    for output in job.outputs.values():
        for f in outgoing.check_file(output.path, terms, output.role):
            said = ""
            if f.why in spoken and output.role.startswith(("captions", "transcript")):
                at = [c.start for c in job.cues if spoken[f.why].found_in(c.text)]
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
_FOLDER_FIX = (
    "Rename the episode's folder so its name does not say it: the folder's name is in every "
    "public address of the episode. storycast never publishes it."
)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:04.1f}"


def scrub_stage(job: EpisodeJob, ctx: Context) -> None:
    """A last look before anything leaves: no location, device or time trace, no value
    carried over from a source recording's tags, in any published media file or picture.
    The MP3's tag is compared with the frames storycast wrote, field by field."""
    needles = [v for rec in job.recordings.values() for v in rec.tags]
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


def page_stage(job: EpisodeJob, ctx: Context) -> None:
    """The episode's page on the listeners' site, from the same records as its feed item,
    linking the files under their content-addressed keys. It goes out at a stable address
    (``Show.page_key``), with the further parts of a transcript too long for one page and
    the words' times its script fetches, and each is read back for redacted text and names
    kept out, like every other published file."""
    assert job.episode and job.timeline
    show = ctx.show
    files = {
        role: PublishedFile(role, out.key, public_url(show, out.key), out.size, out.content_type)
        for role, out in job.outputs.items()
    }
    pages = site.episode_pages(
        show,
        job.episode,
        duration=job.duration,
        files=files,
        credits=job.credits,
        chapters=job.timeline.chapters,
        cues=job.cues,
        words=job.words,
        speech_language=job.captions_language,
    )
    folder = staging_folder(job, ctx)
    terms = outgoing.redaction_terms(job.timeline) + forbidden_names(ctx)
    found = []
    for made in pages:  # the page, a long transcript's further parts, the words' times
        role, _, part = made.role.partition(":")
        path = folder / f"{job.slug}{'-' + part if part else ''}{ROLES[role].suffix}"
        path.write_bytes(made.data)
        job.outputs[made.role] = Output(
            path, made.key, made.content_type, made.role, len(made.data), sha256_file(path)
        )
        found += outgoing.check_file(path, terms, made.role)
    if found:
        raise InputError(
            [
                Problem(
                    None,
                    f"the episode's web page would contain {f.why}.",
                    "Take it out of the field it comes from (or change the person's credit "
                    "in the people file); storycast never publishes it.",
                )
                for f in found
            ]
        )


Stage = tuple[str, Callable[[EpisodeJob, Context], None]]


def staging_folder(job: EpisodeJob, ctx: Context) -> Path:
    folder = ctx.staging / job.slug
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def clean_artwork(ctx: Context) -> Path:
    """The show artwork as published and as embedded in every MP3: its pixels only
    (``images.clean_image``), made once per artwork and kept in the cache, checked
    every run. The show file's own artwork is left as it is."""
    src = ctx.show.artwork
    suffix = ".png" if image_mime(src) == "image/png" else ".jpg"
    key = f"{sha256_file(src)}-v{images.VERSION}"
    clean = ctx.cache.path("artwork", key, suffix)
    if ctx.cache.get_file("artwork", key, suffix) is None:  # (its bytes checked)
        images.clean_image(src, clean)
        ctx.cache.put_file("artwork", key, suffix)
    scrub.assert_clean(clean)
    return clean


def _output(job: EpisodeJob, folder: Path, role: str) -> Path:
    """Where the episode's file of this role is staged, recorded as one of its outputs."""
    path = folder / f"{job.slug}{ROLES[role].suffix}"
    job.outputs[role] = Output(path, "", ROLES[role].content_type, role)
    return path
