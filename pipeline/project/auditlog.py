"""episodes/audit.jsonl: the append-only record of withdrawals, takedowns and erasures.

One JSON object per line, never rewritten. Besides being the record a safeguarding lead
reads, it is a second memory of every withdrawal (beside ``withdrawals.yaml``) and of
every recording a takedown found a withdrawn person in, so that deleting or editing one
file by hand cannot bring a withdrawn story back.

Every line is also written to storycast's own copy, outside the episodes folder
(``.storycast/audit/<episodes folder>.jsonl`` beside it), and both are read: the episodes
folder is what volunteers share, sync and restore from backups, and one put back from
before a withdrawal (its withdrawals file and audit log with it) must not bring the
story back either. ``restore`` puts the lines one copy lacks back into it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

AUDIT_FILE = "audit.jsonl"


def copy_path(episodes_dir: Path) -> Path:
    """storycast's own copy of the audit log, outside the episodes folder."""
    return episodes_dir.parent / ".storycast" / "audit" / f"{episodes_dir.name}.jsonl"


def append(episodes_dir: Path, entry: dict[str, Any]) -> None:
    """Append one record (with the time) to episodes/audit.jsonl and to storycast's copy."""
    record = {"at": datetime.now(UTC).replace(microsecond=0).isoformat(), **entry}
    line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
    for path in (episodes_dir / AUDIT_FILE, copy_path(episodes_dir)):
        _append_lines(path, [line])


def _append_lines(path: Path, new: list[str]) -> None:
    """Append whole lines, starting a new line if the file was cut mid-line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as fh:
        fh.seek(0, 2)
        if fh.tell():
            fh.seek(-1, 2)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write("".join(line.rstrip("\n") + "\n" for line in new).encode("utf-8"))


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()]


def _union(*groups: Sequence[str]) -> list[str]:
    """The lines of ``groups``, each once, in order."""
    found: dict[str, None] = {}
    for group in groups:
        for line in group:
            if line.strip():
                found.setdefault(line.rstrip("\n"))
    return list(found)


def lines(episodes_dir: Path, more: Sequence[str] = ()) -> list[str]:
    """Every line of both copies (and of ``more``), each once, in order."""
    return _union(_lines(episodes_dir / AUDIT_FILE), _lines(copy_path(episodes_dir)), more)


def read(episodes_dir: Path) -> list[dict[str, Any]]:
    """Every record that can be read, from either copy, each once (a damaged line is
    skipped, never fatal)."""
    records: list[dict[str, Any]] = []
    for line in lines(episodes_dir):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def restore(episodes_dir: Path, more: Sequence[str] = ()) -> int:
    """Put into each copy the records it lacks that the other holds, or ``more`` (a copy
    kept elsewhere: the private archive's): the episodes folder put back from an older
    copy, the log deleted or cut by hand, a log from before the copy was kept, or a
    withdrawal recorded by a run on another machine. Returns how many went back into
    episodes/audit.jsonl."""
    mine, copy = episodes_dir / AUDIT_FILE, copy_path(episodes_dir)
    here, kept = _lines(mine), _lines(copy)
    every = _union(here, kept, more)
    in_copy = set(kept)
    lacking_copy = [line for line in every if line not in in_copy]
    if lacking_copy:
        _append_lines(copy, lacking_copy)
    if not episodes_dir.is_dir():
        return 0
    in_mine = set(here)
    lacking_here = [line for line in every if line not in in_mine]
    if lacking_here:
        _append_lines(mine, lacking_here)
    return len(lacking_here)


def withdrawn_recordings(episodes_dir: Path, withdrawn: set[str]) -> dict[str, list[str]]:
    """Recordings (sha256) a takedown found someone in who is still withdrawn: sha -> ids."""
    found: dict[str, list[str]] = {}
    for record in read(episodes_dir):
        if record.get("action") != "takedown" or record.get("kind", "consent") != "consent":
            continue
        ids = [str(p) for p in record.get("people", []) if str(p).casefold() in withdrawn]
        for sha in record.get("recordings_sha256", []) if ids else []:
            found.setdefault(str(sha), [])
            found[str(sha)] += [i for i in ids if i not in found[str(sha)]]
    return found
