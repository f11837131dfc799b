"""`storycast propose EPISODE`: suggested cuts and chapters, written down, never applied."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.cli.common import episode_and_context
from pipeline.edl import propose
from pipeline.errors import StorycastError
from pipeline.project import corrections
from pipeline.stages import transcribe_stage


def cmd(args: argparse.Namespace) -> int:
    found = episode_and_context(args)
    if found is None:
        return 1
    job, ctx = found
    assert job.timeline is not None
    # retakes are found in the words: written down as a publish writes them (cached), the
    # contributors' corrections applied; without them only silences are looked for
    notes: list[str] = []
    try:
        transcribe_stage(job, ctx)
        fixed, notes = corrections.apply(job.transcripts, corrections.load_corrections(job.folder))
    except StorycastError as exc:
        fixed = {}
        notes = [f"retakes were not looked for: the words could not be read ({exc})"]
    data, reasons = propose.propose(job.timeline, job.recordings, fixed)
    path = propose.write(job.folder, job.timeline, data, reasons)
    print(f"Wrote {path} (a proposal: NOT applied).")
    for reason in reasons or ["no changes suggested"]:
        print(f"  - {reason}")
    for note in notes:
        print(f"  note: {note}")
    return 0


def add_parser(subparsers: Any) -> None:
    pr: argparse.ArgumentParser = subparsers.add_parser(
        "propose", help="write suggested cuts, retakes and chapters (never applied)"
    )
    pr.add_argument("episode")
    pr.set_defaults(func=cmd)
