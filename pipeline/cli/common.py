"""What the subcommands share: which show files, one episode read and checked, the run
summary a producer reads."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline import orchestrator
from pipeline.records import EpisodeJob


def show_files(root: Path, names: list[str]) -> list[Path]:
    if names:
        return [Path(n) if Path(n).suffix else root / "feeds" / f"{n}.yaml" for n in names]
    return sorted((root / "feeds").glob("*.yaml"))


def summary(report: orchestrator.RunReport, verb: str) -> list[str]:
    lines: list[str] = []
    title = report.show.title if report.show else "(show file could not be read)"
    lines.append(f"\n== {title} ==")
    for problem in report.show_problems:
        lines.append(f"  FAILED     show file: {problem}")
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
        if job.reason:
            for reason_line in job.reason.splitlines():
                lines.append(f"             - {reason_line}")
        for note in job.notes:
            lines.append(f"             note: {note}")
    if report.publish_error:
        lines.append(f"  FAILED     publishing: {report.publish_error}")
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


def episode_job(args: argparse.Namespace) -> EpisodeJob | None:
    """One episode loaded, probed and checked; its problems printed if it cannot be."""
    root = Path(args.root).resolve()
    job, ctx, problems = orchestrator.prepare_episode(args.episode, root)
    if ctx is None or problems or job.timeline is None:
        print(f"storycast: {args.episode} cannot be read:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return None
    return job


def clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:06.3f}"
