"""Takedown: when consent is withdrawn (or was never given), nothing of the episode remains.

The publish step removes the episode from the feed and deletes its objects from
storage. This module removes what storycast itself derived from the person's
recordings (measurements, transcripts, renders) and keeps the audit trail:
episodes/audit.jsonl, one JSON line per takedown: what was removed, when, why
and at whose request. The raw recordings stay where the producer keeps them:
deleting a community's archive is a decision for people, not for a batch job.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .cache import Cache
from .records import Recording

AUDIT_FILE = "audit.jsonl"


def purge_caches(cache: Cache, recordings: list[Recording]) -> list[str]:
    """Delete every cache entry made from these recordings; returns what was deleted."""
    shas = {r.sha256 for r in recordings}
    removed: list[str] = []
    base = cache.path("probe", "x").parent.parent
    for kind in ("probe", "loudness"):
        for sha in shas:
            path = cache.path(kind, sha)
            if path.exists():
                path.unlink()
                removed.append(f"{kind}/{path.name}")
    for path in sorted((base / "transcripts").glob("*.json")):
        data = _json(path)
        if data.get("recording_sha256") in shas:
            path.unlink()
            removed.append(f"transcripts/{path.name}")
    removed += _purge_made_from(base / "renders", shas, (".mp3",))
    removed += _purge_made_from(base / "videos", shas, (".mp4", ".jpg"))
    videos = base / "videos"
    # What cannot be traced to its recordings goes too: a video rendered before renders
    # named their recordings, and what a killed render left behind (its work folders
    # and partial files). At worst they are made again.
    leftovers = {
        *(p for p in videos.glob("*.mp4") if not p.with_suffix(".json").exists()),
        *videos.glob("*.tmp.*"),
        *videos.glob(".work-*"),
        *(base / "renders").glob(".stems-*"),
        *(base / "renders").glob(".*.tmp.mp3"),
    }
    for path in sorted(leftovers):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
            path.with_suffix(".jpg").unlink(missing_ok=True)
        removed.append(f"{path.parent.name}/{path.name}")
    return removed


def _purge_made_from(folder: Path, shas: set[str], suffixes: tuple[str, ...]) -> list[str]:
    """Delete each render in ``folder`` whose JSON names one of ``shas`` among its
    recordings: the JSON and its files with ``suffixes``."""
    removed: list[str] = []
    for path in sorted(folder.glob("*.json")):
        if shas & set(_json(path).get("recordings", [])):
            for suffix in suffixes:
                path.with_suffix(suffix).unlink(missing_ok=True)
            path.unlink()
            removed.append(f"{folder.name}/{path.stem}")
    return removed


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def audit(episodes_dir: Path, entry: dict[str, Any]) -> None:
    """Append one takedown record to episodes/audit.jsonl (never rewritten)."""
    record = {"at": datetime.now(UTC).replace(microsecond=0).isoformat(), **entry}
    with (episodes_dir / AUDIT_FILE).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
