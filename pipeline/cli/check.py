"""`storycast check`: show files, EDLs and recordings checked, nothing rendered."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pipeline import orchestrator
from pipeline.cli.common import job_json, show_files, summary
from pipeline.errors import Problem


def cmd(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    shows = show_files(root, args.show)
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
            out += [job_json(job) for job in report.jobs]
        print(json.dumps(out, indent=1))
    else:
        for report in reports:
            print("\n".join(summary(report, "check")))
    ok = all(r.ok for r in reports) and bool(reports)
    return 0 if ok else 1


def add_parser(subparsers: Any) -> None:
    c: argparse.ArgumentParser = subparsers.add_parser(
        "check", help="check show files and EDLs without rendering"
    )
    c.add_argument("show", nargs="*")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=cmd)
