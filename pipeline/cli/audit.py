"""`storycast audit`: what is published, read back and checked against consent, redactions
and approvals."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pipeline import orchestrator
from pipeline.cli.common import show_files


def cmd(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    shows = show_files(root, args.show)
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


def add_parser(subparsers: Any) -> None:
    au: argparse.ArgumentParser = subparsers.add_parser(
        "audit", help="check what is published against consent, redactions and approvals"
    )
    au.add_argument("show", nargs="*", help="show slug or show file (default: all in feeds/)")
    au.add_argument("--json", action="store_true", help="machine-readable output")
    au.set_defaults(func=cmd)
