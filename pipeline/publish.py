"""store: the publishing protocol, listener-safe and idempotent.

1. Media and sidecars go up under content-addressed keys (a key never changes
   meaning); anything already there with the same size is not sent again.
2. Every uploaded object is checked back (size) before anything points at it.
3. The feed is replaced, then the manifest that records what is published.
4. Only then are objects that the manifest no longer references deleted.

A crash at any point leaves the previous feed pointing at files that exist.
An episode that fails this run keeps its previously published version.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import defaults
from .errors import Problem, StoreError
from .feed import build_feed
from .probe import sha256_file
from .records import Episode, EpisodeJob, FeedEntry, PublishedFile, Show
from .store import ObjectStore

MANIFEST_SCHEMA = "storycast.Manifest.1"


@dataclass
class PublishResult:
    uploaded: int = 0
    deleted: int = 0
    kept: int = 0


def manifest_key(show: Show) -> str:
    return f"manifests/{show.slug}.json"


def _url(show: Show, key: str) -> str:
    return show.base_url.rstrip("/") + "/" + key


def _episode_json(ep: Episode) -> dict[str, Any]:
    return {
        "slug": ep.slug,
        "show": ep.show,
        "title": ep.title,
        "description": ep.description,
        "number": ep.number,
        "season": ep.season,
        "published": ep.published.isoformat(),
        "explicit": ep.explicit,
        "episode_type": ep.episode_type,
        "guid": ep.guid,
        "folder": str(ep.folder),
        "edl": str(ep.edl),
    }


def _episode_from(d: dict[str, Any]) -> Episode:
    return Episode(
        folder=Path(d["folder"]),
        slug=d["slug"],
        show=d["show"],
        title=d["title"],
        description=d["description"],
        number=d["number"],
        season=d["season"],
        published=datetime.fromisoformat(d["published"]),
        edl=Path(d["edl"]),
        explicit=d["explicit"],
        episode_type=d["episode_type"],
        guid=d["guid"],
    )


def _file_json(f: PublishedFile) -> dict[str, Any]:
    return {
        "role": f.role,
        "key": f.key,
        "url": f.url,
        "size": f.size,
        "content_type": f.content_type,
    }


def read_manifest(store: ObjectStore, show: Show) -> dict[str, Any]:
    raw = store.get_bytes(manifest_key(show))
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) and data.get("schema") == MANIFEST_SCHEMA else {}


def _upload(
    store: ObjectStore, key: str, path: Path, size: int, content_type: str, result: PublishResult
) -> None:
    existing = store.head(key)
    if existing is not None and existing.size == size:
        return  # content-addressed: same key and size means same bytes
    store.put_file(key, path, content_type, defaults.IMMUTABLE_CACHE_CONTROL)
    result.uploaded += 1
    check = store.head(key)
    if check is None or check.size != size:
        raise StoreError(
            Problem(
                None,
                f"uploaded `{key}` but the store reports "
                f"{check.size if check else 'nothing'} bytes, not {size}.",
                "Run publish again; if it repeats, check the storage service.",
            )
        )


def publish(
    show: Show,
    jobs: list[EpisodeJob],
    store: ObjectStore,
    staging: Path,
    say: Callable[[str], None],
) -> PublishResult:
    result = PublishResult()
    previous = read_manifest(store, show)

    art_sha = sha256_file(show.artwork)
    art_type = _image_type(show.artwork)
    art_ext = ".png" if art_type == "image/png" else ".jpg"
    art_key = f"media/{show.slug}/artwork-{art_sha[:16]}{art_ext}"
    art_size = show.artwork.stat().st_size
    _upload(store, art_key, show.artwork, art_size, art_type, result)
    artwork = PublishedFile("artwork", art_key, _url(show, art_key), art_size, art_type)

    entries: list[FeedEntry] = []
    manifest_episodes: dict[str, Any] = {}
    for job in jobs:
        if job.status == "ready" and job.episode:
            files: dict[str, PublishedFile] = {}
            for role, out in job.outputs.items():
                _upload(store, out.key, out.path, out.size, out.content_type, result)
                files[role] = PublishedFile(
                    role, out.key, _url(show, out.key), out.size, out.content_type
                )
            entries.append(FeedEntry(job.episode, job.duration, files))
            manifest_episodes[job.slug] = {
                "episode": _episode_json(job.episode),
                "duration": job.duration,
                "files": {r: _file_json(f) for r, f in files.items()},
            }
            job.status = "published"
        elif job.slug in previous.get("episodes", {}):
            old = previous["episodes"][job.slug]
            entries.append(
                FeedEntry(
                    _episode_from(old["episode"]),
                    float(old["duration"]),
                    {r: PublishedFile(**f) for r, f in old["files"].items()},
                )
            )
            manifest_episodes[job.slug] = old
            job.notes.append("its previously published version stays in the feed")

    feed_bytes = build_feed(show, entries, artwork)
    if store.get_bytes(show.feed_key) != feed_bytes:
        store.put_bytes(
            show.feed_key,
            feed_bytes,
            "application/rss+xml; charset=utf-8",
            defaults.FEED_CACHE_CONTROL,
        )
        result.uploaded += 1
        say(f"store: feed written: {show.feed_url}")
    else:
        say(f"store: feed unchanged: {show.feed_url}")

    manifest = {
        "schema": MANIFEST_SCHEMA,
        "show": show.slug,
        "feed": show.feed_key,
        "artwork": _file_json(artwork),
        "episodes": manifest_episodes,
    }
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
    if store.get_bytes(manifest_key(show)) != manifest_bytes:
        store.put_bytes(
            manifest_key(show), manifest_bytes, "application/json", defaults.FEED_CACHE_CONTROL
        )
        result.uploaded += 1

    referenced = {artwork.key} | {
        f["key"] for ep in manifest_episodes.values() for f in ep["files"].values()
    }
    for obj in store.list(f"media/{show.slug}/"):
        if obj.key not in referenced:
            store.delete(obj.key)
            result.deleted += 1
    result.kept = len(referenced)
    return result


def _image_type(path: Path) -> str:
    head = path.read_bytes()[:8]
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
