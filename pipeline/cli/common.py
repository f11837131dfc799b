"""What the subcommands share: which show files, one episode read and checked, the run
summary a producer reads."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from pipeline import orchestrator
from pipeline.records import EpisodeJob
from pipeline.stages import Context


def show_files(root: Path, names: list[str]) -> list[Path]:
    if names:
        return [Path(n) if Path(n).suffix else root / "feeds" / f"{n}.yaml" for n in names]
    return sorted((root / "feeds").glob("*.yaml"))


def summary(report: orchestrator.RunReport, verb: str) -> list[str]:
    lines: list[str] = []
    title = report.show.title if report.show else "(show file could not be read)"
    lines.append(f"\n== {title} ==")
    for problem in report.show_problems:
        lines.append(f"  FAILED     show file: {one_line(str(problem))}")
    width = max((len(j.slug) for j in report.jobs), default=0)
    for job in report.jobs:
        state = {
            "published": "published",
            "ready": "ok" if verb == "check" else "ready",
            "failed": "FAILED",
            "skipped": "skipped",
            "withdrawn": "TAKEN DOWN",
        }.get(job.status, job.status)
        detail = ""
        if job.status in ("published", "ready") and job.duration:
            detail = f"{job.duration:6.1f} s"
            if job.rendered_loudness:
                detail += f", {job.rendered_loudness.integrated:.1f} LUFS"
        lines.append(f"  {state:<10} {job.slug:<{width}}  {detail}".rstrip())
        # one bullet per problem, each one line whatever its text holds
        reasons = [str(p) for p in job.problems] or job.reason.splitlines()
        lines += [f"             - {one_line(reason)}" for reason in reasons if reason.strip()]
        for note in job.notes:
            lines.append(f"             note: {one_line(note)}")
        if job.timings:
            lines.append(f"             took {stage_seconds(job.timings)}")
    if report.publish_error:
        first, *more = [line for line in report.publish_error.splitlines() if line.strip()] or [""]
        lines.append(f"  FAILED     publishing: {first}")
        lines += [f"             - {line}" for line in more]
    if verb == "publish" and report.show and not report.publish_error:
        lines.append(
            f"  feed: {report.show.feed_url}  ({report.uploaded} written, {report.deleted} removed)"
        )
        if report.show.video_feed:
            lines.append(f"  video feed: {report.show.video_feed_url}")
        for url in report.removed_feeds:
            lines.append(f"  video feed removed: {url}  (`video_feed` is off in the show file)")
    if report.audit is not None:
        found = report.audit.findings
        lines.append(
            f"  audit: {'FOUND ' + str(len(found)) + ' problems' if found else 'all promises hold'}"
            f" ({report.audit.objects} published files, {report.audit.read} read in full; "
            "`storycast audit` reads them all)"
        )
        lines += [f"    - {f.check}: {f.where}: {f.detail}" for f in found]
    return lines


def one_line(text: str) -> str:
    """``text`` as one line of a summary: line breaks (and the space around them) become
    one space, so a message never spills into lines of its own."""
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()


# A stage that took less than this is not named in the summary's time line (it is in --json).
SHOWN_STAGE_SECONDS = 0.05


def stage_seconds(timings: dict[str, float]) -> str:
    """How long an episode took, stage by stage, for the summary:
    ``16.8 s: probe 0.4, transcribe 12.0, render 4.1 (9 other stages 0.1 s together)``."""
    total = sum(timings.values())
    named = [f"{name} {secs:.1f}" for name, secs in timings.items() if secs >= SHOWN_STAGE_SECONDS]
    rest = [secs for secs in timings.values() if secs < SHOWN_STAGE_SECONDS]
    text = f"{total:.1f} s" + (": " + ", ".join(named) if named else "")
    if rest:
        stages = f"{len(rest)} {'other ' if named else ''}stage{'s' if len(rest) != 1 else ''}"
        text += f" ({stages} {sum(rest):.1f} s together)"
    return text


def job_json(job: EpisodeJob) -> dict[str, Any]:
    """One episode of a run, for ``--json``: what happened, why, and the seconds each stage
    took (in the order they ran)."""
    return {
        "episode": job.slug,
        "status": job.status,
        "reason": job.reason,
        "problems": [p.as_dict() for p in job.problems],
        "notes": list(job.notes),
        "duration": round(job.duration, 3) if job.duration else None,
        "loudness": (round(job.rendered_loudness.integrated, 2) if job.rendered_loudness else None),
        "seconds": {name: round(secs, 3) for name, secs in job.timings.items()},
        "total_seconds": round(sum(job.timings.values()), 3),
    }


def report_json(report: orchestrator.RunReport) -> dict[str, Any]:
    """One show's run, for ``publish --json``: its episodes (``job_json``), what was
    written and removed, and what the audit found."""
    show = report.show
    return {
        "show": show.slug if show else None,
        "ok": report.ok,
        "show_problems": [p.as_dict() for p in report.show_problems],
        "publish_error": report.publish_error,
        "takedown_problems": [p.as_dict() for p in report.takedown_problems],
        "feed": show.feed_url if show and not report.publish_error else None,
        "written": report.uploaded,
        "removed": report.deleted,
        "removed_feeds": list(report.removed_feeds),
        "episodes": [job_json(job) for job in report.jobs],
        "audit": report.audit.as_dict() if report.audit is not None else None,
    }


def episode_and_context(args: argparse.Namespace) -> tuple[EpisodeJob, Context] | None:
    """One episode loaded, probed and checked, with the run's context for more stages;
    its problems printed if it cannot be."""
    root = Path(args.root).resolve()
    job, ctx, problems = orchestrator.prepare_episode(args.episode, root)
    if ctx is None or problems or job.timeline is None:
        print(f"storycast: {args.episode} cannot be read:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return None
    return job, ctx


def episode_job(args: argparse.Namespace) -> EpisodeJob | None:
    """One episode loaded, probed and checked; its problems printed if it cannot be."""
    found = episode_and_context(args)
    return found[0] if found else None


def clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:06.3f}"
