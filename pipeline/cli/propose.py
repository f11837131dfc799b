"""`storycast propose EPISODE`: suggested cuts and chapters, written down, never applied."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.cli.common import episode_job
from pipeline.edl import propose


def cmd(args: argparse.Namespace) -> int:
    job = episode_job(args)
    if job is None:
        return 1
    assert job.timeline is not None
    data, reasons = propose.propose(job.timeline, job.recordings)
    path = propose.write(job.folder, job.timeline, data, reasons)
    print(f"Wrote {path} (a proposal: NOT applied).")
    for reason in reasons or ["no changes suggested"]:
        print(f"  - {reason}")
    return 0


def add_parser(subparsers: Any) -> None:
    pr: argparse.ArgumentParser = subparsers.add_parser(
        "propose", help="write suggested cuts and chapters (never applied)"
    )
    pr.add_argument("episode")
    pr.set_defaults(func=cmd)
