"""episodes/audit.jsonl: the append-only record of withdrawals, takedowns and erasures.

One JSON object per line, never rewritten. Besides being the record a safeguarding lead
reads, it is a second memory of every withdrawal (beside ``withdrawals.yaml``) and of
every recording a takedown found a withdrawn person in, so that deleting or editing one
file by hand cannot bring a withdrawn story back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

AUDIT_FILE = "audit.jsonl"


def append(episodes_dir: Path, entry: dict[str, Any]) -> None:
    """Append one record (with the time) to episodes/audit.jsonl."""
    record = {"at": datetime.now(UTC).replace(microsecond=0).isoformat(), **entry}
    with (episodes_dir / AUDIT_FILE).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def read(episodes_dir: Path) -> list[dict[str, Any]]:
    """Every record that can be read (a damaged line is skipped, never fatal)."""
    try:
        text = (episodes_dir / AUDIT_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    records: list[dict[str, Any]] = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


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
