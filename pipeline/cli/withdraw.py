"""`storycast withdraw PERSON`: consent withdrawn (and, on request, their raw recordings
erased)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.cli.common import show_files
from pipeline.project import people
from pipeline.publish import takedown


def cmd(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    episodes = root / "episodes"
    already = {w.person for w in people.load_withdrawals(episodes)[0]}
    meant = people.resolve(episodes, args.person)
    if len(meant) == 1:  # written as they are credited, or typed another way: their id
        args.person = meant[0]
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

    shows = [s for f in show_files(root, []) if (s := load_show(f, Problems())) is not None]
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


def add_parser(subparsers: Any) -> None:
    w: argparse.ArgumentParser = subparsers.add_parser(
        "withdraw", help="record that a person withdrew consent (takedown)"
    )
    w.add_argument("person", help="the person's id in episodes/people.yaml")
    w.add_argument("--requested-by", required=True, help="who asked (for the audit log)")
    w.add_argument(
        "--erase-recordings",
        action="store_true",
        help="also delete their raw recordings from the episode folders and private archive",
    )
    w.add_argument("--yes", action="store_true", help="erase without asking to confirm")
    w.set_defaults(func=cmd)
