"""`storycast approve EPISODE --by NAMES`: the contributors' sign-off, pinned to exact bytes."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipeline.cli.common import episode_job
from pipeline.project import approval


def cmd(args: argparse.Namespace) -> int:
    try:
        names = approval.parse_names(args.by)
    except ValueError as exc:
        print(f"storycast: {exc}", file=sys.stderr)
        return 2
    job = episode_job(args)
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


def add_parser(subparsers: Any) -> None:
    a: argparse.ArgumentParser = subparsers.add_parser(
        "approve", help="record the contributors' approval of an episode's edit"
    )
    a.add_argument("episode")
    a.add_argument("--by", required=True, help="who approved, comma-separated")
    a.set_defaults(func=cmd)
