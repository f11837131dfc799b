"""The `storycast` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pipeline import orchestrator
from pipeline.cli import transcribe as transcribe_cli
from pipeline.cli.logsafe import install as mask_credentials_in_logs
from pipeline.edl import propose
from pipeline.errors import Problem, StorycastError
from pipeline.feed import validate as validate_feed
from pipeline.project import approval, people
from pipeline.publish import takedown
from pipeline.records import EpisodeJob


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


def cmd_publish(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    shows = _show_files(root, args.show)
    if not shows:
        print(f"No show files found in {root / 'feeds'}.", file=sys.stderr)
        return 2
    if args.dry_run:
        for show_file in shows:
            report = orchestrator.publish_show(show_file, root, dry_run=True, wait=args.wait)
            print("\n".join(_summary(report, "check")))
            print(report.plan or report.publish_error or "Nothing to publish.")
        print("\nDry run: nothing was uploaded, replaced or deleted.")
        return 0
    reports = [orchestrator.publish_show(show_file, root, wait=args.wait) for show_file in shows]
    lines: list[str] = []
    for report in reports:
        lines += _summary(report, "publish")
    print("\n".join(lines))
    ok = all(r.ok for r in reports)
    jobs = [j for r in reports for j in r.jobs]
    skipped = sum(j.status == "skipped" for j in jobs)
    published = sum(j.status == "published" for j in jobs)
    if not ok:
        print("\nSome things failed: see the list above.")
    elif skipped:
        print(f"\n{published} published, {skipped} skipped: see why above.")
    else:
        print(f"\nAll {published} episode{'s' if published != 1 else ''} published.")
    return 0 if ok else 1


def cmd_audit(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    shows = _show_files(root, args.show)
    reports = [orchestrator.audit_show(f, root) for f in shows]
    if args.json:
        out: list[dict[str, object]] = []
        for report in reports:
            if report.audit is not None:
                out.append(report.audit.as_dict())
            else:
                problems = [p.as_dict() for p in report.show_problems]
                out.append({"ok": False, "error": report.publish_error, "problems": problems})
        print(json.dumps(out, indent=1, ensure_ascii=False))
    else:
        for report in reports:
            if report.audit is not None:
                print("\n".join(report.audit.lines()))
            for problem in report.show_problems:
                print(f"  FAILED  show file: {problem}")
            if report.publish_error:
                print(f"  FAILED  {report.publish_error}")
    ok = bool(reports) and all(r.audit is not None and r.audit.ok for r in reports)
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
                out.append(
                    {
                        "episode": job.slug,
                        "status": job.status,
                        "reason": job.reason,
                        "problems": [p.as_dict() for p in job.problems],
                    }
                )
        print(json.dumps(out, indent=1))
    else:
        for report in reports:
            print("\n".join(_summary(report, "check")))
    ok = all(r.ok for r in reports) and bool(reports)
    return 0 if ok else 1


def _episode(args: argparse.Namespace) -> EpisodeJob | None:
    """One episode loaded, probed and checked; its problems printed if it cannot be."""
    root = Path(args.root).resolve()
    job, ctx, problems = orchestrator.prepare_episode(args.episode, root)
    if ctx is None or problems or job.timeline is None:
        print(f"storycast: {args.episode} cannot be read:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return None
    return job


def cmd_timeline(args: argparse.Namespace) -> int:
    job = _episode(args)
    if job is None:
        return 1
    assert job.timeline is not None
    timeline = job.timeline
    if args.json:
        data = timeline.to_json()
        data["recordings"] = {
            name: {"sha256": r.sha256, "duration": r.duration, "codec": r.codec}
            for name, r in job.recordings.items()
        }
        print(json.dumps(data, indent=1, ensure_ascii=False))
        return 0
    print(f"{job.slug}: what will be published ({timeline.edl_path.name})")
    for n, c in enumerate(timeline.clips, 1):
        fades = "".join(
            [
                f"  fade in {c.fade_in:g} s" if c.fade_in else "",
                f"  fade out {c.fade_out:g} s" if c.fade_out else "",
            ]
        )
        print(
            f"  {n:>3}. {_clock(c.start)}-{_clock(c.end)}  {c.source} "
            f"{_clock(c.src_in)}-{_clock(c.src_out)}{fades}"
        )
    for a, b, r in timeline.redacted_spans():
        print(
            f"  redacted ({r.mode}) {_clock(a)}-{_clock(b)} from {r.source}: "
            f"captions show {r.replacement!r}"
        )
    for ch in timeline.chapters:
        print(f"  chapter {_clock(ch.start)}  {ch.title}")
    print(f"  total {_clock(timeline.duration)} ({timeline.duration:.3f} s)")
    return 0


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:06.3f}"


def cmd_approve(args: argparse.Namespace) -> int:
    try:
        names = approval.parse_names(args.by)
    except ValueError as exc:
        print(f"storycast: {exc}", file=sys.stderr)
        return 2
    job = _episode(args)
    if job is None:
        print(
            "Fix these before approving: only an edit that can be published can be approved.",
            file=sys.stderr,
        )
        return 1
    assert job.timeline is not None
    done = approval.record(job.folder, job.timeline, job.recordings, names)
    print(
        f"{job.slug}: approved by {done.who()} at {done.approved_at.isoformat()}: "
        f"{len(job.timeline.clips)} clips, {job.timeline.duration:.1f} s, "
        f"EDL {done.edl_sha256[:12]}, {len(done.recordings)} recordings pinned."
    )
    return 0


def cmd_propose(args: argparse.Namespace) -> int:
    job = _episode(args)
    if job is None:
        return 1
    assert job.timeline is not None
    data, reasons = propose.propose(job.timeline, job.recordings)
    path = propose.write(job.folder, job.timeline, data, reasons)
    print(f"Wrote {path} (a proposal: NOT applied).")
    for reason in reasons or ["no changes suggested"]:
        print(f"  - {reason}")
    return 0


def cmd_withdraw(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    episodes = root / "episodes"
    already = {w.person for w in people.load_withdrawals(episodes)[0]}
    if args.person in already:
        print(f"{args.person} has already withdrawn consent: nothing more to record.")
    else:
        entry = people.withdraw(episodes, args.person, args.requested_by)
        print(
            f"Recorded: {entry.person} withdrew consent at {entry.at.isoformat()} "
            f"(requested by {entry.requested_by}).\n"
            "Run `make publish` (storycast publish) now: it takes down every episode they "
            "appear in, from the feed and from storage, and writes what it removed to "
            "episodes/audit.jsonl."
        )
    if not args.erase_recordings:
        return 0
    return _erase_recordings(root, args)


def _erase_recordings(root: Path, args: argparse.Namespace) -> int:
    from pipeline.project.showfile import load_show
    from pipeline.project.yamlfile import Problems

    shows = [s for f in _show_files(root, []) if (s := load_show(f, Problems())) is not None]
    erasure = takedown.find_raw_recordings(root, args.person, shows)
    where = erasure.describe()
    if not where:
        print(f"No raw recordings with {args.person} were found: nothing to erase.")
        return 0
    print(f"Raw recordings with {args.person} (they are deleted for good, never published):")
    for line in where:
        print(f"  {line}")
    if not args.yes:
        if not sys.stdin.isatty():
            print(
                "Not erased: confirm by running again with --yes (no one was here to answer).",
                file=sys.stderr,
            )
            return 1
        answer = input(f"Delete these {len(where)} files for good? Type yes to confirm: ")
        if answer.strip().lower() != "yes":
            print("Not erased: nothing was deleted.")
            return 1
    takedown.erase(erasure)
    takedown.append_audit(
        root / "episodes",
        {
            "action": "erase_recordings",
            "person": args.person,
            "requested_by": args.requested_by,
            "deleted": erasure.deleted,
            "not_deleted": erasure.failed,
        },
    )
    print(f"Erased {len(erasure.deleted)} files; recorded in episodes/{takedown.AUDIT_FILE}.")
    for what, why in erasure.failed.items():
        print(f"  NOT erased: {what}: {why}", file=sys.stderr)
    return 1 if erasure.failed else 0


def cmd_preview(args: argparse.Namespace) -> int:
    from pipeline.store.preview import serve

    serve(Path(args.root).resolve() / "public", port=args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storycast", description=__doc__)
    parser.add_argument("--root", default=".", help="project folder (holds feeds/ and episodes/)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every ffmpeg command")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("publish", help="render and publish every episode of the show(s)")
    p.add_argument("show", nargs="*", help="show slug or show file (default: all in feeds/)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="render locally, then print what would be uploaded, replaced and deleted",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another publish of the show is running, wait up to this long for it "
        "(default: stop at once and say so)",
    )
    p.set_defaults(func=cmd_publish)
    c = sub.add_parser("check", help="check show files and EDLs without rendering")
    c.add_argument("show", nargs="*")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=cmd_check)
    au = sub.add_parser(
        "audit", help="check what is published against consent, redactions and approvals"
    )
    au.add_argument("show", nargs="*", help="show slug or show file (default: all in feeds/)")
    au.add_argument("--json", action="store_true", help="machine-readable output")
    au.set_defaults(func=cmd_audit)
    t = sub.add_parser("timeline", help="show exactly what would be published for an episode")
    t.add_argument("episode", help="episode folder name, e.g. first-flat")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_timeline)
    a = sub.add_parser("approve", help="record the contributors' approval of an episode's edit")
    a.add_argument("episode")
    a.add_argument("--by", required=True, help="who approved, comma-separated")
    a.set_defaults(func=cmd_approve)
    pr = sub.add_parser("propose", help="write suggested cuts and chapters (never applied)")
    pr.add_argument("episode")
    pr.set_defaults(func=cmd_propose)
    transcribe_cli.add_parser(sub)
    validate_feed.add_parser(sub)
    w = sub.add_parser("withdraw", help="record that a person withdrew consent (takedown)")
    w.add_argument("person", help="the person's id in episodes/people.yaml")
    w.add_argument("--requested-by", required=True, help="who asked (for the audit log)")
    w.add_argument(
        "--erase-recordings",
        action="store_true",
        help="also delete their raw recordings from the episode folders and private archive",
    )
    w.add_argument("--yes", action="store_true", help="erase without asking to confirm")
    w.set_defaults(func=cmd_withdraw)
    v = sub.add_parser("preview", help="serve public/ on 127.0.0.1 with Range support")
    v.add_argument("--port", type=int, default=8000)
    v.set_defaults(func=cmd_preview)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(name)s: %(message)s"
    )
    mask_credentials_in_logs()  # -v logs every signed S3 request: mask keys, tokens, signatures
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
