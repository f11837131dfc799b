"""Approval: the contributors' sign-off, pinned to exact bytes.

`storycast approve EPISODE --by NAMES` writes approval.yaml beside the EDL: who
approved, when, the EDL's sha256, the sha256 of every recording the EDL uses and
the sha256 of the episode's corrections file (the spellings its captions and
transcript are published with; "" when it has none). Publishing compares those
with what is there now. Any change (a re-edited EDL, a recording replaced or
re-exported, a spelling changed in the captions) means the episode is skipped,
with a sentence saying what changed, until it is approved again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from pipeline.cache import write_atomic
from pipeline.project.corrections import FILE_NAME as CORRECTIONS_FILE
from pipeline.project.yamlfile import Problems, load
from pipeline.records import Recording, Timeline

APPROVAL_FILE = "approval.yaml"
NO_CORRECTIONS = "none"  # approval.yaml's corrections_sha256 for an episode without them
SCHEMA = "storycast.Approval.1"
FIELDS = {
    "schema",
    "approved_by",
    "approved_at",
    "edl",
    "edl_sha256",
    "recordings",
    "corrections_sha256",
}


@dataclass(frozen=True)
class Approval:
    approved_by: tuple[str, ...]
    approved_at: datetime
    edl: str
    edl_sha256: str
    recordings: dict[str, str]  # recording name -> sha256
    # the corrections file's sha256, "" for none; None: approved before storycast pinned it
    corrections_sha256: str | None = None

    def who(self) -> str:
        return ", ".join(self.approved_by)


def parse_names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise ValueError("say who approved: --by NAME[,NAME...]")
    return names


def corrections_sha256(folder: Path) -> str:
    """The sha256 of the episode's corrections file, "" when it has none."""
    path = folder / CORRECTIONS_FILE
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def record(
    folder: Path, timeline: Timeline, recordings: dict[str, Recording], by: tuple[str, ...]
) -> Approval:
    approval = Approval(
        approved_by=by,
        approved_at=datetime.now(UTC).replace(microsecond=0),
        edl=timeline.edl_path.name,
        edl_sha256=timeline.edl_sha256,
        recordings={name: recordings[name].sha256 for name in timeline.sources()},
        corrections_sha256=corrections_sha256(folder),
    )
    body = {
        "schema": SCHEMA,
        "approved_by": list(approval.approved_by),
        "approved_at": approval.approved_at.isoformat(),
        "edl": approval.edl,
        "edl_sha256": approval.edl_sha256,
        "recordings": approval.recordings,
        "corrections_sha256": approval.corrections_sha256 or NO_CORRECTIONS,
    }
    header = (
        "# Written by `storycast approve`. It pins the exact EDL, recordings and spelling\n"
        "# corrections the contributors agreed to. If any changes, the episode is not\n"
        "# published until it is approved again. Do not edit by hand.\n"
    )
    text = header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    write_atomic(folder / APPROVAL_FILE, text.encode("utf-8"))
    return approval


def read(folder: Path, problems: Problems) -> Approval | None:
    path = folder / APPROVAL_FILE
    if not path.exists():
        return None
    root = load(path, problems)
    if root is None:
        return None
    fields = root.mapping(FIELDS)
    if fields is None:
        return None
    missing = [
        f for f in ("approved_by", "approved_at", "edl_sha256", "recordings") if f not in fields
    ]
    if missing:
        root.problem(
            "is incomplete (missing " + ", ".join(missing) + ").",
            "Run `storycast approve` again with the contributors.",
        )
        return None
    names = tuple(n for n in (item.text() for item in fields["approved_by"].items()) if n)
    at = fields["approved_at"].timestamp()
    edl_sha = fields["edl_sha256"].text()
    recs: dict[str, str] = {}
    for name, node in (fields["recordings"].mapping() or {}).items():
        digest = node.text()
        if digest:
            recs[name] = digest
    if at is None or edl_sha is None:
        return None
    edl = fields["edl"].text() if "edl" in fields else ""
    fixes = fields["corrections_sha256"].text() if "corrections_sha256" in fields else None
    if fixes == NO_CORRECTIONS:
        fixes = ""
    return Approval(names, at, edl or "", edl_sha, recs, fixes)


def changes(
    approval: Approval,
    timeline: Timeline,
    recordings: dict[str, Recording],
    folder: Path | None = None,
) -> list[str]:
    """What differs from what was approved, one plain sentence each. ``folder``: the
    episode's, whose corrections file is compared too (the words published in its
    captions are part of what was agreed)."""
    now = {name: recordings[name].sha256 for name in timeline.sources() if name in recordings}
    return changes_by_sha(approval, timeline, now, folder)


def changes_by_sha(
    approval: Approval, timeline: Timeline, now: dict[str, str], folder: Path | None = None
) -> list[str]:
    """``changes``, given the sha256 of each recording the timeline uses (those found), for
    a caller that has hashed them without probing them."""
    found: list[str] = []
    if timeline.edl_sha256 != approval.edl_sha256:
        found.append(f"the EDL {timeline.edl_path.name} was changed")
    if folder is not None:
        now_fixes = corrections_sha256(folder)
        if approval.corrections_sha256 is None:
            if now_fixes:  # approved before the corrections were pinned: agree them now
                found.append(
                    f"the spellings in {CORRECTIONS_FILE} were not part of the approval "
                    "(it was made by an older storycast)"
                )
        elif now_fixes != approval.corrections_sha256:
            found.append(
                f"the spellings in {CORRECTIONS_FILE} were changed"
                if now_fixes and approval.corrections_sha256
                else f"{CORRECTIONS_FILE} was {'added' if now_fixes else 'removed'}"
            )
    for name, digest in now.items():
        if name not in approval.recordings:
            found.append(f"the recording {name} was not part of the approved edit")
        elif approval.recordings[name] != digest:
            found.append(f"the recording {name} was replaced or changed")
    for name in approval.recordings:
        if name not in now:
            found.append(f"the recording {name} is no longer used")
    return found
