"""The `storycast` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from . import orchestrator
from .errors import Problem, StorycastError


def _show_files(root: Path, names: list[str]) -> list[Path]:
    if names:
        return [Path(n) if Path(n).suffix else root / "feeds" / f"{n}.yaml" for n in names]
    return sorted((root / "feeds").glob("*.yaml"))


def _summary(report: orchestrator.RunReport, verb: str) -> list[str]:
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
    return lines


def cmd_publish(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    shows = _show_files(root, args.show)
    if not shows:
        print(f"No show files found in {root / 'feeds'}.", file=sys.stderr)
        return 2
    ok = True
    lines: list[str] = []
    for show_file in shows:
        report = orchestrator.publish_show(show_file, root)
        ok = ok and report.ok
        lines += _summary(report, "publish")
    print("\n".join(lines))
    print("\nAll episodes published." if ok else "\nSome things failed: see the list above.")
    return 0 if ok else 1


def cmd_check(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    shows = _show_files(root, args.show)
    reports = [orchestrator.check(f, root) for f in shows]
    problems: list[Problem] = []
    for report in reports:
        problems += report.show_problems
        for job in report.jobs:
            if job.status == "failed":
                problems.append(Problem(job.folder, job.reason))
    if args.json:
        out = []
        for report in reports:
            out += [p.as_dict() for p in report.show_problems]
            for job in report.jobs:
                out.append({"episode": job.slug, "status": job.status, "reason": job.reason})
        print(json.dumps(out, indent=1))
    else:
        for report in reports:
            print("\n".join(_summary(report, "check")))
    ok = all(r.ok for r in reports) and bool(reports)
    return 0 if ok else 1


def cmd_preview(args: argparse.Namespace) -> int:
    from .preview import serve

    serve(Path(args.root).resolve() / "public", port=args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storycast", description=__doc__)
    parser.add_argument("--root", default=".", help="project folder (holds feeds/ and episodes/)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every ffmpeg command")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("publish", help="render and publish every episode of the show(s)")
    p.add_argument("show", nargs="*", help="show slug or show file (default: all in feeds/)")
    p.set_defaults(func=cmd_publish)
    c = sub.add_parser("check", help="check show files and EDLs without rendering")
    c.add_argument("show", nargs="*")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=cmd_check)
    v = sub.add_parser("preview", help="serve public/ on 127.0.0.1 with Range support")
    v.add_argument("--port", type=int, default=8000)
    v.set_defaults(func=cmd_preview)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(name)s: %(message)s"
    )
    try:
        code: int = args.func(args)
    except StorycastError as exc:
        print(f"storycast: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("storycast: interrupted; nothing half-written was left in public/.", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
