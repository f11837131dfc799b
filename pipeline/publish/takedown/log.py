"""The audit log's line for a takedown, and the problem a run reports for one not done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.errors import Problem
from pipeline.project import auditlog
from pipeline.publish.takedown.decide import Takedown
from pipeline.records import Show

# --- the audit log --------------------------------------------------------------------------


def append_audit(episodes_dir: Path, entry: dict[str, Any]) -> None:
    """Append one record to episodes/audit.jsonl (never rewritten)."""
    auditlog.append(episodes_dir, entry)


def audit_entry(show: Show, td: Takedown, new_recordings: bool = False) -> dict[str, Any] | None:
    """This run's record of a takedown, or None when it found nothing to do (and there are
    no ``new_recordings`` to record as holding a withdrawn person)."""
    if not (
        td.removed
        or td.failed
        or td.archive_removed
        or td.cache_removed
        or td.feeds
        or new_recordings
    ):
        return None
    entry: dict[str, Any] = {
        "action": "takedown",
        "show": show.slug,
        "episode": td.slug,
        "kind": td.kind,
        "reason": td.reason,
        "requested_by": td.requested_by,
        "removed_from_storage": td.removed,
        "deleted_by_this_run": td.deleted,
        "removed_from_feeds": td.feeds,
        "removed_from_private_archive": td.archive_removed,
        "removed_from_cache": td.cache_removed,
        "raw_recordings_kept": td.raw_copies,
        # who it was taken down for, and what it was made from: a recording a withdrawn
        # person is in is never published again, whatever appearances: says later
        "people": list(td.people),
        "recordings_sha256": sorted(td.held),
        # and their sound, so a copy of one with other bytes is held back too (even once
        # the recordings themselves are erased)
        **({"recordings_fingerprint": td.sounds} if td.sounds else {}),
        "complete": td.done,
        "feed": show.feed_url,
        **({"video_feed": show.video_feed_url} if show.video_feed else {}),
    }
    if td.served_checked:
        entry["still_served_by_a_cache"] = td.served
    if td.failed or td.leftovers or td.still_listed:
        entry["not_removed"] = {
            **td.failed,
            **{k: "still there" for k in td.leftovers},
            **{k: "still lists it" for k in td.still_listed},
        }
    return entry


def problem_for(td: Takedown) -> Problem:
    why = {
        **{k: "still lists it" for k in td.still_listed},
        **{k: "still there" for k in td.leftovers},
        **td.failed,
    }
    left = list(why)
    return Problem(
        None,
        f"{td.slug}: {td.reason} It is NOT fully taken down yet: "
        + "; ".join(f"{k}: {why[k]}" for k in left[:8])
        + (f" (and {len(left) - 8} more)" if len(left) > 8 else ""),
        "Publish again to finish the takedown (it carries on where this run stopped); if it "
        "fails again, check storage is reachable and writable.",
    )


def served_problem(td: Takedown) -> Problem:
    """Gone from storage, but still served at its public addresses: a CDN (or another
    cache in front of storage) keeps a copy, which storycast cannot reach."""
    urls = sorted(td.served)
    return Problem(
        None,
        f"{td.slug}: removed from storage and the feeds, but {len(urls)} of its public "
        f"address{'es' if len(urls) != 1 else ''} still answer with the file, from a CDN or "
        "another cache in front of the storage: "
        + "; ".join(f"{u} ({td.served[u]})" for u in urls[:8])
        + (f" (and {len(urls) - 8} more)" if len(urls) > 8 else ""),
        "Purge these addresses (or the episode's whole prefix) in the CDN now: storycast "
        "cannot reach its copies. Without a purge they expire within a day (the Cache-Control "
        "media are published with); files published before that setting may be kept for "
        "up to a year. The addresses are in episodes/audit.jsonl.",
    )
