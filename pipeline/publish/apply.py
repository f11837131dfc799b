"""Applying a plan: the publishing protocol, listener-safe and idempotent.

``plan.decide`` works out what to write before anything is written; this carries it out.

1. Read the manifest (one GET) and list what is stored (one LIST per 1000
   objects). The manifest records every object storycast published, with the
   version (ETag) the store gave it; content-addressed keys never change
   meaning, so a key that is listed with the recorded version is trusted
   without being read or sent again. A run where nothing changed makes no PUT.
2. The feed is built and staged on local disk before anything is sent: a bad
   value or a full disk stops the run with storage untouched. A show with
   ``video_feed: true`` has a second, video-only feed; everything said here of
   "the feed" holds for each of the two.
3. New media and sidecars go up under content-addressed keys (long
   Cache-Control), each verified by the store (checksum) before anything
   points at it.
4. The manifest notes the feed about to be written (so an interrupted run is
   recognised as ours next time), the feed is replaced (short Cache-Control),
   then the manifest records what is published.
5. Only then are objects that the manifest no longer references deleted.

A video feed the show no longer publishes (``video_feed`` turned off) is
deleted just before the manifest is written (nothing points at it, and a crash
in between leaves it recorded, so the next run deletes it).

A crash at any point leaves the previous feed pointing at files that exist.
An episode that fails this run keeps its previously published version; an
episode whose consent was withdrawn comes down from the feed and storage.

An object changed by hand since the last publish (its version differs from
the recorded one) is never overwritten or deleted: it is reported, and the run
ends with a StoreError listing it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import defaults
from pipeline.cache import write_atomic
from pipeline.errors import Problem, StoreError, StorycastError
from pipeline.publish.manifest import (
    MANIFEST_SCHEMA,
    file_json,
    manifest_bytes,
    manifest_key,
    public_url,
    put_manifest,
    recorded_objects,
)
from pipeline.publish.plan import READ, Wanted, decide
from pipeline.records import FEED_TYPE, EpisodeJob, Show
from pipeline.store import ObjectInfo, ObjectStore


@dataclass
class PublishResult:
    uploaded: int = 0
    deleted: int = 0
    kept: int = 0  # objects the manifest references
    written: list[str] = field(default_factory=list)  # media and sidecars uploaded
    bytes_uploaded: int = 0
    conflicts: list[str] = field(default_factory=list)  # changed by hand: left alone
    foreign: list[str] = field(default_factory=list)  # not storycast's: left alone
    removed: dict[str, list[str]] = field(default_factory=dict)  # withdrawn slug -> keys deleted
    cors: str = ""
    removed_feeds: list[str] = field(default_factory=list)  # URLs of feeds no longer published


def publish(
    show: Show,
    jobs: list[EpisodeJob],
    store: ObjectStore,
    staging: Path,
    say: Callable[[str], None],
    *,
    manifest_raw: bytes | None = READ,
    guard: Callable[[str, bytes], list[str]] | None = None,
) -> PublishResult:
    """Publish the ready episodes; see the module docstring for the order and the guarantees.

    ``manifest_raw``: the manifest's bytes as the caller just read (or wrote) them, so the
    run does not read it again. ``guard(key, data)`` reads each feed and what the manifest
    will say of the episodes before anything is written, and returns what must not go out
    (``outgoing``); any finding stops the run with storage untouched."""
    result = PublishResult()
    run = decide(show, jobs, store, manifest_raw=manifest_raw)
    if guard is not None:
        said = [(feed.key, guard(feed.key, feed.data)) for feed in run.feeds]
        said += [
            (w.key, guard(w.key, w.data if w.data is not None else w.path.read_bytes()))
            for w in run.uploads
            if w.mutable
        ]
        said.append(
            (manifest_key(show), guard(manifest_key(show), manifest_bytes(run.manifest_episodes)))
        )
        if any(found for _, found in said):
            raise StoreError(
                [
                    Problem(
                        None,
                        f"storage: `{key}` would contain {finding}. Nothing was written.",
                        "Take it out of the episode or show file it comes from (or change the "
                        "person's credit in the people file), then publish again.",
                    )
                    for key, found in said
                    for finding in found
                ]
            )
    for note in run.notes:
        say(f"store: {note}")
    conflicted = [feed for feed in run.feeds if feed.state == "conflict"]
    if conflicted:
        raise StoreError(
            [
                Problem(
                    None,
                    f"storage: {feed.label} `{feed.key}` in {store.description} was "
                    f"{run.conflicts[feed.key]}. Nothing was written.",
                    "If the change should stay, make it in the show or episode files; then "
                    "delete the feed from storage (or put back the published version) and "
                    "publish again.",
                )
                for feed in conflicted
            ]
        )
    staged = {feed.name: _stage(staging / f"{feed.name}.xml", feed.data) for feed in run.feeds}

    # 3. media and sidecars under content-addressed keys, then the pages that link them
    if run.uploads:
        say(f"store: uploading {len(run.uploads)} new files to {store.description}")
    _upload(store, [w for w in run.uploads if not w.mutable], run.versions, result)
    pages = [w for w in run.uploads if w.mutable]
    # every page text a run began to write and no manifest has recorded yet: runs killed
    # one after another each leave theirs, and each is storycast's
    earlier = (run.previous.get("pending") or {}).get("pages") or {}
    pending_pages = {k: list(v) if isinstance(v, list) else [v] for k, v in earlier.items()}
    for w in pages:
        pending_pages.setdefault(w.key, [])
        if w.sha256 not in pending_pages[w.key]:
            pending_pages[w.key].append(w.sha256)
    if pages:
        # noted first, so a run killed while writing them finds them its own next time
        noted = dict(run.previous)
        noted["schema"] = MANIFEST_SCHEMA
        noted["pending"] = {**(run.previous.get("pending") or {}), "pages": pending_pages}
        put_manifest(store, show, noted)
        run.previous = noted
    _upload(store, pages, run.versions, result)

    cors = run.previous.get("cors") or ""
    if not cors:
        try:
            cors = store.allow_cross_origin()
        except StorycastError as exc:
            cors = ""
            say(f"store: cross-origin access (CORS) could not be set: {exc}")
        if cors:
            say(f"store: cross-origin access (CORS) for transcripts and chapters: {cors}")
    result.cors = cors

    # 4. feeds (noted first in the manifest, so an interrupted run is recognised), then manifest
    feed_records: dict[str, dict[str, Any]] = {}
    changed = [feed for feed in run.feeds if feed.state != "unchanged"]
    if changed:
        pending = dict(run.previous)
        pending["schema"] = MANIFEST_SCHEMA
        pending["pending"] = {
            "pages": pending_pages,
            **{f"{feed.name}_sha256": feed.sha256 for feed in changed},
            "files": {
                w.key: {
                    "key": w.key,
                    "size": w.size,
                    "sha256": w.sha256,
                    "version": run.versions[w.key],
                }
                for w in run.uploads
            },
        }
        put_manifest(store, show, pending)
    for feed in run.feeds:
        what = feed.label.removeprefix("the ")
        if feed.state != "unchanged":
            info = store.put_file(
                feed.key, staged[feed.name], FEED_TYPE, defaults.FEED_CACHE_CONTROL
            )
            result.uploaded += 1
            say(f"store: {what} written: {feed.url}")
        else:
            assert feed.now is not None
            info = feed.now
            say(f"store: {what} unchanged: {feed.url}")
        feed_records[feed.name] = {
            "key": feed.key,
            "sha256": feed.sha256,
            "size": info.size,
            "version": info.version,
        }
    # A feed the show no longer publishes: nothing points at it, so it goes before the
    # manifest stops recording it (a crash in between leaves it recorded, not orphaned).
    for obj in run.retired_feeds:
        store.delete(obj.key)
        result.deleted += 1
        url = public_url(show, obj.key)
        result.removed_feeds.append(url)
        say(f"store: video feed removed (`video_feed` is off in the show file): {url}")

    episodes = run.manifest_episodes
    for ep in episodes.values():
        for f in ep["files"].values():
            if f["key"] in run.versions and f["key"] not in run.conflicts:
                f["version"] = run.versions[f["key"]]
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "show": show.slug,
        **feed_records,
        **run.kept_feed_records,
        "site": file_json(run.site, run.site_sha256, run.versions.get(run.site.key, "")),
        "artwork": file_json(
            run.artwork,
            run.artwork_sha256,
            run.versions.get(run.artwork.key, "")
            if run.artwork.key not in run.conflicts
            else str(recorded_objects(run.previous).get(run.artwork.key, {}).get("version", "")),
        ),
        "episodes": episodes,
        "cors": cors,
        "retired": run.retired,
        # takedowns an earlier run could not finish: takedown.take_down finishes them
        **({"takedowns": run.previous["takedowns"]} if run.previous.get("takedowns") else {}),
    }
    if manifest_bytes(manifest) != run.previous_raw:
        put_manifest(store, show, manifest)
        result.uploaded += 1
    for job in run.published:
        job.status = "published"

    # 5. delete what no manifest references any more
    withdrawn_keys = {key: slug for slug, keys in run.withdrawn.items() for key in keys}
    for obj in run.deletions:
        store.delete(obj.key)
        result.deleted += 1
        if obj.key in withdrawn_keys:
            result.removed.setdefault(withdrawn_keys[obj.key], []).append(obj.key)
    for slug in run.withdrawn:
        say(f"store: {slug} taken down: {len(result.removed.get(slug, []))} files removed")
    result.kept = len(recorded_objects(manifest))
    result.foreign = [o.key for o in run.foreign]
    for obj in run.foreign:
        say(f"store: `{obj.key}` is not storycast's (no manifest lists it); left in place")
    result.conflicts = [f"{key}: {what}" for key, what in sorted(run.conflicts.items())]
    if result.conflicts:
        raise StoreError(
            [
                Problem(
                    None,
                    f"storage: `{key}` in {store.description} was {what}. It was not "
                    "overwritten or deleted.",
                    "Put back the published file, or delete it from storage so that storycast "
                    "uploads it again, then publish again.",
                )
                for key, what in sorted(run.conflicts.items())
            ]
        )
    return result


def _upload(
    store: ObjectStore, batch: list[Wanted], versions: dict[str, str], result: PublishResult
) -> None:
    """Upload files side by side; each is verified by the store before anything points at it.
    Media never change under their names (a day's Cache-Control, so that a takedown holds
    at a CDN within a day); pages change in place (short, like a feed)."""

    def put(want: Wanted) -> ObjectInfo:
        cache = defaults.FEED_CACHE_CONTROL if want.mutable else defaults.MEDIA_CACHE_CONTROL
        if want.data is not None:
            return store.put_bytes(want.key, want.data, want.content_type, cache)
        return store.put_file(want.key, want.path, want.content_type, cache)

    with ThreadPoolExecutor(max_workers=defaults.S3_MAX_CONCURRENCY) as pool:
        futures = [(want, pool.submit(put, want)) for want in batch]
        errors: list[StorycastError] = []
        for want, future in futures:
            try:
                info = future.result()
            except StorycastError as exc:
                errors.append(exc)
                continue
            versions[want.key] = info.version
            result.uploaded += 1
            result.written.append(want.key)
            result.bytes_uploaded += want.size
    if errors:
        raise StoreError([p for exc in errors for p in exc.problems])


def _stage(path: Path, data: bytes) -> Path:
    """Write a file that is about to be uploaded to the staging folder."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise StoreError(
            Problem(
                path,
                f"could not be staged for upload ({exc.strerror or exc}).",
                "Free some disk space (or check the folder is writable), then publish again. "
                "Nothing was sent to storage.",
            )
        ) from exc
    return path
