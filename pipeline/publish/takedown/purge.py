"""What a takedown removes beyond storage: the private archive's copies, the caches
derived from the recordings (except what an episode still being published uses), and
where raw copies remain."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from pipeline.cache import SEAL, Cache
from pipeline.errors import StorycastError
from pipeline.project import ledger
from pipeline.project.showfile import read_appearances
from pipeline.publish.takedown.decide import Takedown
from pipeline.records import Show
from pipeline.store import ObjectStore

# --- the private archive and the caches ---------------------------------------------------


def purge_archive(show: Show, td: Takedown, private: ObjectStore) -> None:
    """The episode's raw recordings in the private archive go."""
    prefix = f"recordings/{show.slug}/{td.slug}/"
    try:
        stored = [o.key for o in private.list(prefix)]
    except StorycastError as exc:
        td.failed[f"private archive {prefix}"] = str(exc).splitlines()[0]
        return
    for key in stored:
        try:
            private.delete(key)
        except StorycastError as exc:
            td.failed[f"private archive {key}"] = str(exc).splitlines()[0]
            continue
        td.archive_removed.append(key)


def recording_shas(td: Takedown, published: ledger.Publication | None) -> set[str]:
    """Every recording the episode was (or is now) made from: published, approved, on disk."""
    from pipeline.media.probe import sha256_file
    from pipeline.project import approval
    from pipeline.project.yamlfile import Problems

    shas = set(published.recordings.values()) if published else set()
    if td.folder is None or not td.folder.is_dir():
        return shas
    approved = approval.read(td.folder, Problems())
    if approved is not None:
        shas |= set(approved.recordings.values())
    recordings = td.folder / "recordings"
    if recordings.is_dir():
        for path in sorted(recordings.rglob("*")):
            if path.is_file() and not path.is_symlink():
                try:
                    shas.add(sha256_file(path))
                except OSError:
                    continue
    return shas


def held_recordings(td: Takedown, published: ledger.Publication | None) -> set[str]:
    """The recordings (sha256) that the people it is taken down for are in: by who was in
    each recording when it was published, and by ``appearances:`` now. Only these are
    never published again; the episode's other recordings may be another episode's."""
    from pipeline.media.probe import sha256_file

    who = {p.casefold() for p in td.people}
    held: set[str] = set()
    if published is not None:
        if not published.recording_people:  # a record from before it said who is in which
            held |= set(published.recordings.values())
        for name, ids in published.recording_people.items():
            if who & {i.casefold() for i in ids} and name in published.recordings:
                held.add(published.recordings[name])
    for path in raw_copies(td.folder, td.people):
        try:
            held.add(sha256_file(path))
        except (OSError, StorycastError):
            continue  # not an ordinary file: nothing of it was ever published
    return held


def purge_caches(
    cache: Cache,
    shas: set[str],
    keep: AbstractSet[str] = frozenset(),
    renders: AbstractSet[str] = frozenset(),
) -> list[str]:
    """Delete every cache entry made from these recordings; returns what was deleted.

    What an episode being published now uses stays, so a recording shared with it is not
    measured and transcribed again on every run: its measurements and transcripts
    (``keep``: recording sha256s) and its renders (``renders``: render keys).
    """
    removed: list[str] = []
    base = cache.path("probe", "x").parent.parent
    for kind in ("probe", "loudness", "fingerprints"):
        for sha in shas - keep:
            path = cache.path(kind, sha)
            if path.exists():
                path.unlink()
                removed.append(f"{kind}/{path.name}")
    for path in sorted((base / "transcripts").glob("*.json")):
        data = _json(path)
        if data.get("recording_sha256") in shas - keep:
            path.unlink()
            removed.append(f"transcripts/{path.name}")
    if shas - keep:  # an entry that does not name its recording (older) goes too
        for path in sorted((base / "languages").glob("*.json")):
            named = _json(path).get("recording_sha256")
            if named is None or named in shas - keep:
                path.unlink()
                removed.append(f"languages/{path.name}")
    removed += _purge_made_from(base / "renders", shas, (".mp3",), renders)
    removed += _purge_made_from(base / "videos", shas, (".mp4", ".jpg"), renders)
    # the cache in object storage (``compute: cache:``): the same, and the raw recordings
    removed += cache.purge_remote(shas, keep, renders)
    if not shas:
        _drop_loose_seals(base)
        return removed
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
    _drop_loose_seals(base)
    return removed


def _drop_loose_seals(base: Path) -> None:
    """Each entry's sha256 file (``cache.SEAL``) goes with its entry."""
    for seal in base.glob(f"*/*{SEAL}"):
        if not seal.with_name(seal.name[: -len(SEAL)]).exists():
            seal.unlink(missing_ok=True)


def _purge_made_from(
    folder: Path, shas: set[str], suffixes: tuple[str, ...], keep: AbstractSet[str]
) -> list[str]:
    """Delete each render in ``folder`` whose JSON names one of ``shas`` among its
    recordings (unless its key is in ``keep``): the JSON and its files with ``suffixes``."""
    removed: list[str] = []
    for path in sorted(folder.glob("*.json")):
        if path.stem not in keep and shas & set(_json(path).get("recordings", [])):
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


# --- raw recordings -------------------------------------------------------------------------


def raw_copies(folder: Path | None, people: Iterable[str]) -> list[Path]:
    """The raw recordings in an episode folder that the people are in."""
    if folder is None or not folder.is_dir():
        return []
    who = {p.casefold() for p in people}
    _, appearances = read_appearances(folder)
    found: list[Path] = []
    for name, ids in sorted(appearances.items()):
        path = folder / "recordings" / name
        if who & {i.casefold() for i in ids} and (path.is_file() or path.is_symlink()):
            found.append(path)
    return found
