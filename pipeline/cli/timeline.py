"""`storycast timeline EPISODE`: exactly what would be published."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pipeline.cli.common import clock, episode_job


def cmd(args: argparse.Namespace) -> int:
    job = episode_job(args)
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
            f"  {n:>3}. {clock(c.start)}-{clock(c.end)}  {c.source} "
            f"{clock(c.src_in)}-{clock(c.src_out)}{fades}"
        )
    for a, b, r in timeline.redacted_spans():
        print(
            f"  redacted ({r.mode}) {clock(a)}-{clock(b)} from {r.source}: "
            f"captions show {r.replacement!r}"
        )
    for ch in timeline.chapters:
        print(f"  chapter {clock(ch.start)}  {ch.title}")
    print(f"  total {clock(timeline.duration)} ({timeline.duration:.3f} s)")
    for note in timeline.notes:
        print(f"  note: {note}")
    return 0


def add_parser(subparsers: Any) -> None:
    t: argparse.ArgumentParser = subparsers.add_parser(
        "timeline", help="show exactly what would be published for an episode"
    )
    t.add_argument("episode", help="episode folder name, e.g. first-flat")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd)
