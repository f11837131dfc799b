"""`storycast validate-feed FILE|URL`: a podcast feed checked against Apple's and Podcasting
2.0's rules."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipeline import defaults
from pipeline.feed.validate import FeedReadError, Finding, errors, validate_target


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``validate-feed`` on the ``storycast`` command's subparsers."""
    v: argparse.ArgumentParser = subparsers.add_parser(
        "validate-feed",
        help="check a podcast feed (file or URL) against Apple's and Podcasting 2.0's rules",
    )
    v.add_argument("feed", metavar="FILE|URL", help="a feed file, or an http(s) URL")
    v.add_argument("--json", action="store_true", help="machine-readable output")
    v.add_argument(
        "--fetch-images",
        action="store_true",
        help="download the artwork to check its size and colour (local artwork is always checked)",
    )
    v.add_argument(
        "--time-limit",
        type=float,
        default=defaults.VALIDATE_FEED_TIME_LIMIT,
        metavar="SECONDS",
        help="give up on fetching the feed and its artwork after this long "
        f"(default {defaults.VALIDATE_FEED_TIME_LIMIT:g}; each fetch also stops after "
        f"{defaults.FEED_FETCH_TIME_LIMIT:g})",
    )
    v.set_defaults(func=cmd)
    return v


def _summary(name: str, findings: list[Finding]) -> str:
    n_errors = len(errors(findings))
    n_warnings = len(findings) - n_errors
    verdict = "fails" if n_errors else "passes"
    return (
        f"{name}: {verdict}: {n_errors} error{'s' if n_errors != 1 else ''}, "
        f"{n_warnings} warning{'s' if n_warnings != 1 else ''}."
    )


def cmd(args: argparse.Namespace) -> int:
    """Print each finding and a summary; 1 if any error, 2 if the feed could not be read."""
    name: str = args.feed
    try:
        findings = validate_target(
            name,
            fetch_images=args.fetch_images,
            time_limit=getattr(args, "time_limit", defaults.VALIDATE_FEED_TIME_LIMIT),
        )
    except FeedReadError as exc:
        print(f"storycast validate-feed: {exc}", file=sys.stderr)
        return 2
    if args.json:
        n_errors = len(errors(findings))
        print(
            json.dumps(
                {
                    "feed": name,
                    "errors": n_errors,
                    "warnings": len(findings) - n_errors,
                    "findings": [f.as_dict() for f in findings],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for finding in findings:
            print(finding.format(name))
        print(_summary(name, findings))
    return 1 if errors(findings) else 0
