"""`storycast publish`: every episode through the stages, then the store, the takedowns first."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipeline import orchestrator
from pipeline.cli.common import report_json, show_files, summary
from pipeline.compute import Compute
from pipeline.project.showfile import SCHEDULER_ADDRESS, SCHEDULER_FIX


def cmd(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    shows = show_files(root, args.show)
    if not shows:
        print(f"No show files found in {root / 'feeds'}.", file=sys.stderr)
        return 2
    compute = Compute(workers=args.workers or 0, scheduler=args.scheduler)
    if args.dry_run:
        for show_file in shows:
            report = orchestrator.publish_show(
                show_file, root, dry_run=True, wait=args.wait, compute=compute
            )
            print("\n".join(summary(report, "check")))
            print(report.plan or report.publish_error or "Nothing to publish.")
        print("\nDry run: nothing was uploaded, replaced or deleted.")
        return 0
    reports = [
        orchestrator.publish_show(show_file, root, wait=args.wait, compute=compute)
        for show_file in shows
    ]
    ok = all(r.ok for r in reports)
    if args.json:
        print(json.dumps([report_json(r) for r in reports], indent=1, ensure_ascii=False))
        return 0 if ok else 1
    lines: list[str] = []
    for report in reports:
        lines += summary(report, "publish")
    print("\n".join(lines))
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


def add_parser(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "publish", help="render and publish every episode of the show(s)"
    )
    p.add_argument("show", nargs="*", help="show slug or show file (default: all in feeds/)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="render locally, then print what would be uploaded, replaced and deleted",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the run's summary as JSON (each episode's status, problems and the "
        "seconds each stage took); progress still goes to stderr",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another publish of the show is running, wait up to this long for it "
        "(default: stop at once and say so)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="render on N worker processes on this machine (an embedded Dask cluster); "
        "default: one episode after another in this process",
    )
    where.add_argument(
        "--scheduler",
        type=_scheduler,
        metavar="tcp://HOST:8786",
        help="send the episodes' work to this Dask cluster (overrides the show file's "
        "`compute: scheduler:`); see README, 'More than one machine'",
    )
    p.set_defaults(func=cmd)


def _workers(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"`{text}` is not a number of workers: give 1 or more.")
    return int(text)


def _scheduler(text: str) -> str:
    if not SCHEDULER_ADDRESS.match(text):
        raise argparse.ArgumentTypeError(
            f"`{text}` is not a Dask scheduler address. {SCHEDULER_FIX}"
        )
    return text
