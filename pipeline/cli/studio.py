"""`storycast studio`: the contributors' page, served on this computer.

Contributors read each recording's words, listen from any word, choose what to keep and in
what order, hide words, add chapters, hear exactly what will be published and agree to it.
The page saves an ordinary YAML EDL in the episode's folder and the same approval file as
`storycast approve`. Listens on 127.0.0.1 unless ``--host`` says otherwise; then everyone
must give the passphrase printed at start.
"""

from __future__ import annotations

import argparse
import io
import secrets
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline import defaults, orchestrator
from pipeline.cli.common import show_files
from pipeline.edl import redact
from pipeline.errors import InputError, Problem, StorycastError
from pipeline.media import loudness as analyse_mod
from pipeline.media.loudness import recording_gain
from pipeline.project import approval, corrections
from pipeline.project.showfile import load_show
from pipeline.project.yamlfile import Problems
from pipeline.records import EpisodeJob, Person, Transcript
from pipeline.render import captions
from pipeline.render.audio import (
    listen_command,
    loudness_blocks,
    preview_command,
    preview_key,
    rendered,
)
from pipeline.render.audio import render as render_timeline
from pipeline.stages import Context, analyse_stage, consent_stage, redact_stage
from pipeline.studio import view
from pipeline.studio.server import (
    LOOPBACK,
    Heard,
    Preview,
    Studio,
    TranscriptState,
    make_server,
)
from pipeline.transcribe import cache_key
from pipeline.transcribe import transcribe as transcribe_recording

PASSPHRASE_WORDS = (
    "river", "maple", "otter", "lantern", "pebble", "meadow", "harbour", "cobalt", "willow",
    "falcon", "ember", "tulip", "canyon", "biscuit", "comet", "violet", "garden", "rocket",
)  # fmt: skip


class ProjectFiles:
    """The project as the studio sees it, through the same stages a publish runs."""

    def __init__(self, root: Path):
        self.root = root
        self._ctx: dict[str, Context] = {}
        self._lock = threading.Lock()

    def _folders(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for show_file in show_files(self.root, []):
            show = load_show(show_file, Problems())
            if show is None:
                continue
            for job in orchestrator.episode_jobs(show):
                found[job.folder.name] = job.folder
        return found

    def episodes(self) -> list[EpisodeJob]:
        shown = []
        for slug in sorted(self._folders()):
            job = self.open(slug)
            if job is not None:
                shown.append(job)
        return shown

    def open(self, slug: str) -> EpisodeJob | None:
        """The episode loaded, probed and checked; None if there is none by that name or a
        withdrawn person is in it (it is not shown)."""
        folder = self._folders().get(slug)
        if folder is None:
            return None
        job, ctx, problems = orchestrator.prepare_episode(str(folder), self.root, io.StringIO())
        if ctx is None:
            job.status, job.problems = "failed", problems
            return job
        with self._lock:
            self._ctx[job.slug] = ctx
        if job.timeline is None or job.status == "failed":
            return job
        try:
            consent_stage(job, ctx)
        except StorycastError as exc:
            job.notes += [str(p) for p in exc.problems]
        if job.status == "withdrawn":
            return None
        # everything the page shows is scrubbed as published: a hidden part's words are
        # never in a title, chapter or short preview's name it serves
        redact_stage(job, ctx)
        return job

    def _context(self, job: EpisodeJob) -> Context:
        with self._lock:
            return self._ctx[job.slug]

    def transcripts(self, job: EpisodeJob) -> dict[str, TranscriptState]:
        ctx = self._context(job)
        earlier = approval.read(job.folder, Problems())
        found: dict[str, Transcript] = {}
        states: dict[str, TranscriptState] = {}
        for name, rec in job.recordings.items():
            cached = ctx.cache.get_json("transcripts", cache_key(rec, ctx.engine))
            transcript = _transcript(cached)
            if transcript is not None and transcript.recording_sha256 == rec.sha256:
                found[name] = transcript
                continue
            old_sha = earlier.recordings.get(name) if earlier else None
            old = None
            if old_sha and old_sha != rec.sha256:
                before = replace(rec, sha256=old_sha)
                old = _transcript(ctx.cache.get_json("transcripts", cache_key(before, ctx.engine)))
            mismatch = transcript is not None or old is not None
            states[name] = TranscriptState(None, "mismatch" if mismatch else "missing")
        fixed, _ = corrections.apply(found, corrections.load_corrections(job.folder))
        for name, transcript in fixed.items():
            states[name] = TranscriptState(transcript)
        return {name: states[name] for name in job.recordings}

    def transcribe(self, job: EpisodeJob) -> None:
        ctx = self._context(job)
        for rec in job.recordings.values():
            transcribe_recording(rec, ctx.engine, ctx.cache)

    def people(self, job: EpisodeJob) -> dict[str, list[Person]]:
        ctx = self._context(job)
        assert job.episode and job.timeline
        return {
            name: [ctx.people[p] for p in job.episode.appearances.get(name, ()) if p in ctx.people]
            for name in job.timeline.sources()
        }

    def hear(self, job: EpisodeJob) -> Heard:
        """What a publish of the saved edit would play, without making the sound: its
        captions and facts, and the published sound if it has been made already."""
        ctx = self._context(job)
        assert job.timeline
        states = self.transcripts(job)
        missing = [name for name, s in states.items() if s.transcript is None]
        if missing:
            raise InputError(
                Problem(
                    job.folder,
                    "the words of " + ", ".join(missing) + " are not written down yet, or are "
                    "out of date.",
                    "Write them down on the episode's first page, then listen again.",
                )
            )
        analyse_stage(job, ctx)
        done = rendered(job.timeline, job.recordings, job.loudness, ctx.cache)
        texts = {n: s.transcript for n, s in states.items() if s.transcript is not None}
        tl = job.timeline
        # words hidden elsewhere and said again are shown as published words show them
        # (a publish refuses the episode while they are heard: ``again`` says where)
        cues = [
            replace(c, text=redact.hide_said(c.text, tl.redactions))
            for c in captions.episode_cues(tl, texts, job.speakers)
        ]
        notes = [done.note] if done and done.note else []
        audio = done.path if done else None
        again = view.heard_again(tl, texts)
        return Heard(audio, cues, tl, [c.name for c in job.credits], notes, again)

    def preview(self, job: EpisodeJob) -> Preview:
        """How to hear the saved edit now: the published sound if made, else the quick
        version if made, else the command that makes the quick version as it is heard."""
        ctx = self._context(job)
        assert job.timeline
        analyse_stage(job, ctx)
        tl, recs = job.timeline, job.recordings
        states = self.transcripts(job)
        texts = {n: s.transcript for n, s in states.items() if s.transcript is not None}
        gains = {name: recording_gain(job.loudness[name]) for name in tl.sources()}
        done = rendered(tl, recs, job.loudness, ctx.cache)
        key = preview_key(tl, recs, gains)
        # each recording's loudness in blocks, measured once: the quick version's gain
        blocks = {name: loudness_blocks(recs[name], ctx.cache) for name in tl.sources()}
        made = preview_command(tl, recs, job.loudness, blocks)
        plan = made.plan
        report = {
            "schema": "storycast.Preview.1",
            # which recordings went in, so a takedown purges it with the renders
            "recordings": sorted({recs[c.source].sha256 for c in tl.clips}),
            "gain_db": round(plan.gain, 3),
            "limit_db": plan.limit,
        }
        return Preview(
            exact=done.path if done else None,
            quick=ctx.cache.path("renders", key, ".mp3"),
            quick_key=key,
            command=made.encode,
            feed=made.feed,
            report=report,
            seconds=tl.duration,
            cache=ctx.cache,
            again=view.heard_again(tl, texts),
        )

    def finish(self, job: EpisodeJob) -> Path:
        """Make the published sound of the saved edit (the publish's own render, cached)."""
        ctx = self._context(job)
        assert job.timeline
        analyse_stage(job, ctx)
        return render_timeline(job.timeline, job.recordings, job.loudness, ctx.cache).path

    def listen(self, job: EpisodeJob, name: str, start: float) -> list[str]:
        """The command that plays recording ``name`` from ``start`` as the episode would:
        its hidden parts beeped or quiet, exactly as published. Words a hidden part removes
        everywhere are beeped or quiet wherever else they are said too, as that part is
        (a publish would not put them out: it refuses the episode until they are hidden)."""
        ctx = self._context(job)
        assert job.timeline
        rec = job.recordings[name]
        job.loudness[name] = analyse_mod.analyse(rec, ctx.cache, None)
        gain = recording_gain(job.loudness[name])
        tl = job.timeline
        words = self.transcripts(job)[name].transcript
        if words is not None:
            also = [
                replace(tl.redactions[a.like], source=name, start=a.start, end=a.end)
                for a in view.also_said(words.words, tl.redactions, name)
            ]
            tl = replace(tl, redactions=(*tl.redactions, *also))
        return listen_command(tl, rec, start, defaults.STUDIO_LISTEN_SECONDS, gain)


def _transcript(data: dict[str, Any] | None) -> Transcript | None:
    if data is None:
        return None
    try:
        return Transcript.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def cmd(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    passphrase = None
    if args.host not in LOOPBACK:
        passphrase = "-".join(secrets.choice(PASSPHRASE_WORDS) for _ in range(4))
    studio = Studio(ProjectFiles(root), host=args.host, port=args.port, passphrase=passphrase)
    server = make_server(studio)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"storycast studio: open http://{shown}:{studio.port}/ in a web browser.", flush=True)
    if passphrase:
        print(
            f"Others on this network can open it too: they need the passphrase {passphrase}",
            flush=True,
        )
    print("Press Ctrl+C here to stop it.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("storycast studio: stopped.", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def add_parser(subparsers: Any) -> None:
    s: argparse.ArgumentParser = subparsers.add_parser(
        "studio", help="a page where contributors edit, hear and agree to their episodes"
    )
    s.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only; any other "
        "address needs the passphrase printed at start)",
    )
    s.add_argument("--port", type=int, default=8765, help="port (0: any free one)")
    s.set_defaults(func=cmd)
