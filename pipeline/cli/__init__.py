"""The `storycast` command: one module per subcommand, each adding its own parser."""

from __future__ import annotations

import argparse
import logging
import sys

from pipeline import progress
from pipeline.cli import (
    approve,
    audit,
    check,
    preview,
    propose,
    publish,
    timeline,
    transcribe,
    validate_feed,
    withdraw,
)
from pipeline.cli.logsafe import install as mask_credentials_in_logs
from pipeline.errors import StorycastError

# In the order `storycast --help` lists them.
SUBCOMMANDS = (publish, check, audit, timeline, approve, propose, transcribe, validate_feed,
               withdraw, preview)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="storycast",
        description="Publish community podcast and video stories exactly as their "
        "contributors edited them: see README.md.",
    )
    parser.add_argument("--root", default=".", help="project folder (holds feeds/ and episodes/)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every ffmpeg command")
    parser.add_argument(
        "--progress",
        choices=progress.MODES,
        default="auto",
        help="how long steps show how far they have got: bars on a terminal and plain lines "
        "in a log or pipe (auto, the default), always bars, always lines, or off",
    )
    parser.add_argument(
        "--progress-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="show a step's progress only once it has run this long (default: 1)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in SUBCOMMANDS:
        command.add_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(name)s: %(message)s"
    )
    mask_credentials_in_logs()  # -v logs every signed S3 request: mask keys, tokens, signatures
    progress.configure(args.progress, args.progress_after)
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
