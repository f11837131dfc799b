"""store: the publishing protocol, listener-safe and idempotent.

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

import copy
import hashlib
import json
import mimetypes
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline import defaults
from pipeline.cache import write_atomic
from pipeline.errors import Problem, StoreError, StorycastError
from pipeline.feed.build import FeedVariant, build_feed
from pipeline.media.probe import sha256_file
from pipeline.records import Credit, Episode, EpisodeJob, FeedEntry, PublishedFile, Show, Soundbite
from pipeline.store import ObjectInfo, ObjectStore

MANIFEST_SCHEMA = "storycast.Manifest.2"
_READABLE = {"storycast.Manifest.1", MANIFEST_SCHEMA}
FEED_TYPE = "application/rss+xml; charset=utf-8"
# What storycast's own media keys look like: NAME-<16 hex of sha256>.EXT
_OUR_KEY = re.compile(r"^[A-Za-z0-9._\-]+-[0-9a-f]{16}(\.[A-Za-z0-9.]+)?$")
# An episode's files are named after it: media/SHOW/SLUG-<16 hex>[.EXT]
_KEY_SLUG = re.compile(r"^(?P<slug>.+)-[0-9a-f]{16}(?:\.[A-Za-z0-9.]+)?$")


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


@dataclass(frozen=True)
class Change:
    """One object in a plan."""

    key: str
    size: int
    old_size: int | None = None
    episode: str = ""
    detail: str = ""


@dataclass
class Plan:
    """What a publish would do (``storycast publish --dry-run``); nothing is touched."""

    target: str
    feed_url: str
    video_feed_url: str = ""  # when the show also publishes a video-only feed
    uploads: list[Change] = field(default_factory=list)
    replacements: list[Change] = field(default_factory=list)
    deletions: list[Change] = field(default_factory=list)
    conflicts: list[Change] = field(default_factory=list)
    foreign: list[Change] = field(default_factory=list)
    unchanged: int = 0
    withdrawn: list[str] = field(default_factory=list)
    retiring: list[Change] = field(default_factory=list)  # superseded now; kept a while

    @property
    def writes(self) -> int:
        return len(self.uploads) + len(self.replacements)


# --- the manifest ---------------------------------------------------------------------------


def manifest_key(show: Show) -> str:
    return f"manifests/{show.slug}.json"


def media_prefix(show: Show) -> str:
    return f"media/{show.slug}/"


def key_episode(show: Show, key: str) -> str | None:
    """The episode a media key belongs to (its slug), from the key's own shape; None for
    a key that is not an episode's (the show artwork, anything not storycast's)."""
    prefix = media_prefix(show)
    if not key.startswith(prefix):
        return None
    m = _KEY_SLUG.match(key[len(prefix) :])
    return m["slug"] if m and m["slug"] != "artwork" else None


def read_manifest(store: ObjectStore, show: Show) -> dict[str, Any]:
    return parse_manifest(store.get_bytes(manifest_key(show)))


def parse_manifest(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) and data.get("schema") in _READABLE else {}


def _url(show: Show, key: str) -> str:
    return show.base_url.rstrip("/") + "/" + key


def _episode_json(ep: Episode) -> dict[str, Any]:
    """What the feed needs of an episode to list it again: public text, no local paths."""
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
    }


def _episode_from(d: dict[str, Any], show: Show) -> Episode:
    folder = show.episodes_dir / d["slug"]  # where it is on this machine; never recorded
    return Episode(
        folder=folder,
        slug=d["slug"],
        show=d["show"],
        title=d["title"],
        description=d["description"],
        number=d["number"],
        season=d["season"],
        published=datetime.fromisoformat(d["published"]),
        edl=folder / "edl.yaml",
        explicit=d["explicit"],
        episode_type=d["episode_type"],
        guid=d["guid"],
    )


def _file_json(f: PublishedFile, sha256: str = "", version: str = "") -> dict[str, Any]:
    return {
        "role": f.role,
        "key": f.key,
        "url": f.url,
        "size": f.size,
        "content_type": f.content_type,
        "sha256": sha256,
        "version": version,
    }


def _file_from(d: dict[str, Any]) -> PublishedFile:
    return PublishedFile(d["role"], d["key"], d["url"], int(d["size"]), d["content_type"])


def entry_from(old: dict[str, Any], show: Show) -> FeedEntry:
    """A published episode as the manifest records it, ready to list in a feed again."""
    bite = old.get("soundbite")
    return FeedEntry(
        _episode_from(old["episode"], show),
        float(old["duration"]),
        {r: _file_from(f) for r, f in old["files"].items()},
        credits=tuple(Credit(**c) for c in old.get("credits", [])),
        soundbite=Soundbite(**bite) if bite else None,
    )


def _recorded(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every object the manifest says storycast wrote: key -> {size, sha256, version}."""
    found: dict[str, dict[str, Any]] = {}
    art = manifest.get("artwork")
    if isinstance(art, dict) and "key" in art:
        found[art["key"]] = art
    for ep in manifest.get("episodes", {}).values():
        for f in ep.get("files", {}).values():
            found[f["key"]] = f
    for key, f in manifest.get("pending", {}).get("files", {}).items():
        found.setdefault(key, f)
    return found


# --- deciding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Wanted:
    key: str
    path: Path
    size: int
    sha256: str
    content_type: str
    episode: str


@dataclass
class _Feed:
    """One of the show's feeds, built, and how it compares with what is stored."""

    name: str  # its record in the manifest: "feed" or "video_feed"
    label: str  # "the feed", "the video feed"
    key: str
    url: str
    data: bytes
    sha256: str
    now: ObjectInfo | None
    state: str = ""  # "unchanged", "new", "replace", "conflict"


# manifest name, label, variant: the main feed first.
FEEDS: tuple[tuple[str, str, FeedVariant], ...] = (
    ("feed", "the feed", "main"),
    ("video_feed", "the video feed", "video"),
)


def feed_address(show: Show, variant: FeedVariant) -> tuple[str, str]:
    """A feed's key and public URL."""
    if variant == "video":
        return show.video_feed_key, show.video_feed_url
    return show.feed_key, show.feed_url


def _feed_prefix(show: Show) -> str:
    """One listing finds both feeds: feeds/SLUG.xml and feeds/SLUG-video.xml."""
    return f"feeds/{show.slug}"


@dataclass
class _Run:
    """Everything decided before the first write."""

    previous: dict[str, Any]
    previous_raw: bytes | None
    listing: dict[str, ObjectInfo]
    feed_listing: dict[str, ObjectInfo]  # what is stored under the feeds' prefix
    feeds: list[_Feed]  # the main feed first
    retired_feeds: list[ObjectInfo]  # published earlier, no longer wanted: deleted
    kept_feed_records: dict[str, Any]  # manifest name -> record of a feed left in place
    artwork: PublishedFile
    artwork_sha256: str
    manifest_episodes: dict[str, Any]
    published: list[EpisodeJob]
    uploads: list[_Wanted]
    versions: dict[str, str]  # key -> version known now (listed and trusted)
    conflicts: dict[str, str]  # key -> what is wrong
    deletions: list[ObjectInfo]
    retired: dict[str, Any]  # superseded, kept until RETIRE_SECONDS have passed
    foreign: list[ObjectInfo]
    withdrawn: dict[str, list[str]]
    notes: list[str]


# "Read the manifest from the store": the default when no caller has just read it.
READ: Any = object()


def _decide(
    show: Show,
    jobs: list[EpisodeJob],
    store: ObjectStore,
    *,
    dry_run: bool = False,
    manifest_raw: bytes | None = READ,
) -> _Run:
    previous_raw = store.get_bytes(manifest_key(show)) if manifest_raw is READ else manifest_raw
    previous = parse_manifest(previous_raw)
    listing = {o.key: o for o in store.list(media_prefix(show))}
    feed_listing = {o.key: o for o in store.list(_feed_prefix(show))}
    recorded = _recorded(previous)

    wanted: dict[str, _Wanted] = {}
    art_sha = sha256_file(show.artwork)
    art_type = _image_type(show.artwork)
    art_ext = ".png" if art_type == "image/png" else ".jpg"
    art_key = f"{media_prefix(show)}artwork-{art_sha[:16]}{art_ext}"
    art_size = show.artwork.stat().st_size
    artwork = PublishedFile("artwork", art_key, _url(show, art_key), art_size, art_type)
    wanted[art_key] = _Wanted(art_key, show.artwork, art_size, art_sha, art_type, "")

    entries: list[FeedEntry] = []
    manifest_episodes: dict[str, Any] = {}
    published: list[EpisodeJob] = []
    withdrawn: dict[str, list[str]] = {}
    notes: list[str] = []
    old_episodes: dict[str, Any] = previous.get("episodes", {})
    for job in jobs:
        if job.status == "ready" and job.episode:
            files: dict[str, PublishedFile] = {}
            for role, out in job.outputs.items():
                sha = out.sha256 or sha256_file(out.path)
                size = out.size or out.path.stat().st_size
                files[role] = PublishedFile(
                    role, out.key, _url(show, out.key), size, out.content_type
                )
                wanted.setdefault(
                    out.key, _Wanted(out.key, out.path, size, sha, out.content_type, job.slug)
                )
            soundbite = job.timeline.soundbite if job.timeline else None
            entries.append(FeedEntry(job.episode, job.duration, files, job.credits, soundbite))
            manifest_episodes[job.slug] = {
                "episode": _episode_json(job.episode),
                # what it was made from, so `storycast audit` can match it to an approval
                "edl_sha256": job.timeline.edl_sha256 if job.timeline else "",
                "recordings": sorted({r.sha256 for r in job.recordings.values()}),
                "duration": job.duration,
                "credits": [vars(c) for c in job.credits],
                "soundbite": vars(soundbite) if soundbite else None,
                "files": {r: _file_json(f, wanted[f.key].sha256) for r, f in files.items()},
            }
            published.append(job)
        elif job.status == "withdrawn":
            if job.slug in old_episodes:
                withdrawn[job.slug] = [f["key"] for f in old_episodes[job.slug]["files"].values()]
        elif job.slug in old_episodes:
            old = old_episodes[job.slug]
            missing = [f["key"] for f in old["files"].values() if f["key"] not in listing]
            if missing:
                notes.append(
                    f"{job.slug}: its previously published files are missing from storage "
                    f"({', '.join(missing)}), so it is left out of the feed until it publishes"
                )
                continue
            entries.append(entry_from(old, show))
            manifest_episodes[job.slug] = copy.deepcopy(old)
            if not dry_run:
                job.notes.append("its previously published version stays in the feed")

    feeds: list[_Feed] = []
    for name, label, variant in FEEDS:
        if variant == "video" and not show.video_feed:
            continue
        key, url = feed_address(show, variant)
        data = build_feed(show, entries, artwork, variant=variant)
        sha = hashlib.sha256(data).hexdigest()
        feeds.append(_Feed(name, label, key, url, data, sha, feed_listing.get(key)))

    conflicts: dict[str, str] = {}
    versions: dict[str, str] = {}
    uploads: list[_Wanted] = []
    for key, want in wanted.items():
        now = listing.get(key)
        rec = recorded.get(key)
        if now is None:
            uploads.append(want)
        elif rec and rec.get("version"):
            if now.version == rec["version"] and now.size == int(rec["size"]):
                versions[key] = now.version
            else:
                conflicts[key] = _changed(int(rec["size"]), rec["version"], now)
        elif store.holds(now, want.path):  # ours from an interrupted run, or an old manifest
            versions[key] = now.version
        else:
            conflicts[key] = (
                f"holds {now.size} bytes that are not the file storycast publishes under this key"
            )
    # previously published files that stay in the feed: still as published?
    for ep in manifest_episodes.values():
        for f in ep["files"].values():
            key = f["key"]
            if key in wanted or key in conflicts:
                continue
            now = listing.get(key)
            if now is not None and f.get("version") and now.version != f["version"]:
                conflicts[key] = _changed(int(f["size"]), f["version"], now)
            elif now is not None:
                versions[key] = now.version

    referenced = set(wanted) | {
        f["key"] for ep in manifest_episodes.values() for f in ep["files"].values()
    }
    deletions: list[ObjectInfo] = []
    foreign: list[ObjectInfo] = []
    # Superseded files stay for a while: an app that fetched the previous feed may
    # download an enclosure hours later. A withdrawn episode's files go at once.
    retired_before: dict[str, Any] = previous.get("retired", {})
    retired: dict[str, Any] = {}
    # Every version of a withdrawn episode goes at once: current, superseded and retired.
    taken_down = {key for keys in withdrawn.values() for key in keys} | {
        key for key in listing if key_episode(show, key) in withdrawn
    }
    # Keys an unfinished takedown still has to remove are the takedown's (takedown.py).
    pending_takedown = {
        key for td in (previous.get("takedowns") or {}).values() for key in td.get("keys", [])
    }
    clock = datetime.now(UTC).replace(microsecond=0)
    for key, now in sorted(listing.items()):
        if key in referenced or key in pending_takedown:
            continue
        rec = recorded.get(key) or retired_before.get(key)
        if key in taken_down:
            deletions.append(now)  # a takedown wins over a hand edit
        elif rec and rec.get("version") and now.version != rec["version"]:
            conflicts[key] = _changed(int(rec["size"]), rec["version"], now) + (
                "; it is no longer published, but is left in place"
            )
        elif rec or _OUR_KEY.match(key[len(media_prefix(show)) :]):
            since = str(retired_before.get(key, {}).get("since", ""))
            if key in taken_down or (
                since
                and clock - datetime.fromisoformat(since)
                >= timedelta(seconds=defaults.RETIRE_SECONDS)
            ):
                deletions.append(now)
            else:
                retired[key] = {
                    "since": since or clock.isoformat(),
                    "size": now.size,
                    "version": now.version,
                    "episode": retired_before.get(key, {}).get("episode")
                    or key_episode(show, key)
                    or "",
                }
        else:
            foreign.append(now)

    for feed in feeds:
        feed.state = _feed_state(store, feed, previous, conflicts)
    retired_feeds, kept_feed_records = _feeds_no_longer_published(
        store, show, {f.name for f in feeds}, previous, feed_listing, conflicts
    )
    return _Run(
        previous=previous,
        previous_raw=previous_raw,
        listing=listing,
        feed_listing=feed_listing,
        feeds=feeds,
        retired_feeds=retired_feeds,
        kept_feed_records=kept_feed_records,
        artwork=artwork,
        artwork_sha256=art_sha,
        manifest_episodes=manifest_episodes,
        published=published,
        uploads=uploads,
        versions=versions,
        conflicts=conflicts,
        deletions=deletions,
        retired=retired,
        foreign=foreign,
        withdrawn=withdrawn,
        notes=notes,
    )


def _changed(size: int, version: str, now: ObjectInfo) -> str:
    return (
        f"changed by hand since the last publish (published: {size} bytes, version {version}; "
        f"now: {now.size} bytes, version {now.version})"
    )


def _pending_sha(previous: dict[str, Any], name: str) -> str | None:
    """The feed an interrupted run was about to write (noted in the manifest first)."""
    pending = previous.get("pending", {})
    sha = pending.get(f"{name}_sha256") if isinstance(pending, dict) else None
    return sha if isinstance(sha, str) else None


def _feed_state(
    store: ObjectStore, feed: _Feed, previous: dict[str, Any], conflicts: dict[str, str]
) -> str:
    now, sha = feed.now, feed.sha256
    if now is None:
        return "new"
    rec = previous.get(feed.name)
    if not isinstance(rec, dict):
        stored_sha = _stored_sha(store, feed.key)
        if feed.name == "feed":  # a manifest from before versions were recorded
            return "unchanged" if stored_sha == sha else "replace"
        # No manifest records a video feed: the object there is ours only if it is the
        # feed we would write, or the one an interrupted run was writing.
        if stored_sha == sha:
            return "unchanged"
        if stored_sha == _pending_sha(previous, feed.name):
            return "replace"
        conflicts[feed.key] = (
            f"not written by storycast (no manifest records it; now: {now.size} bytes, "
            f"version {now.version})"
        )
        return "conflict"
    if rec.get("hand_edited"):
        conflicts[feed.key] = (
            "changed by hand before a takedown, which removed the withdrawn episode from it "
            "and kept the rest of the change"
        )
        return "conflict"
    if now.version != rec.get("version"):
        # Ours if it is the feed last recorded or the one an interrupted run was writing.
        stored_sha = _stored_sha(store, feed.key)
        ours = {rec.get("sha256"), _pending_sha(previous, feed.name)}
        if stored_sha not in ours:
            conflicts[feed.key] = (
                f"changed by hand since the last publish (published: {rec.get('size')} bytes, "
                f"version {rec.get('version')}; now: {now.size} bytes, version {now.version})"
            )
            return "conflict"
        if stored_sha != rec.get("sha256"):
            # An interrupted run got its feed out: that is now the published feed, so the
            # next pending note (and a run interrupted again) still recognises it.
            previous[feed.name] = {
                "key": feed.key,
                "sha256": stored_sha,
                "size": now.size,
                "version": now.version,
            }
        return "unchanged" if stored_sha == sha else "replace"
    return "unchanged" if rec.get("sha256") == sha else "replace"


def _feeds_no_longer_published(
    store: ObjectStore,
    show: Show,
    wanted: set[str],
    previous: dict[str, Any],
    feed_listing: dict[str, ObjectInfo],
    conflicts: dict[str, str],
) -> tuple[list[ObjectInfo], dict[str, Any]]:
    """Feeds published before that the show no longer wants (``video_feed`` turned off).

    Each is deleted if it is still as storycast wrote it; one changed by hand is left in
    place and reported, and its record is kept, so every run reports it until it is
    resolved (deleted, or put back as published). Never the main feed.
    """
    retired: list[ObjectInfo] = []
    kept: dict[str, Any] = {}
    for name, _label, variant in FEEDS:
        if variant == "main" or name in wanted:
            continue
        rec = previous.get(name)
        rec = rec if isinstance(rec, dict) else {}
        pending = _pending_sha(previous, name)
        now = feed_listing.get(feed_address(show, variant)[0])
        if now is None or not (rec or pending):
            continue  # gone already, or never ours: the manifest stops recording it
        if rec.get("version") and now.version == rec["version"]:
            retired.append(now)
        elif _stored_sha(store, now.key) in {rec.get("sha256"), pending} - {None}:
            retired.append(now)  # as an interrupted run left it
        elif rec:
            conflicts[now.key] = (
                _changed(int(rec.get("size", 0)), str(rec.get("version", "")), now)
                + "; the show no longer publishes it, but it is left in place"
            )
            kept[name] = rec
        else:
            conflicts[now.key] = (
                f"not written by storycast (no manifest records it; now: {now.size} bytes, "
                f"version {now.version}); it is left in place"
            )
    return retired, kept


def _stored_sha(store: ObjectStore, key: str) -> str:
    stored = store.get_bytes(key)
    return hashlib.sha256(stored).hexdigest() if stored is not None else ""


# --- doing ----------------------------------------------------------------------------------


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
    run = _decide(show, jobs, store, manifest_raw=manifest_raw)
    if guard is not None:
        said = [(feed.key, guard(feed.key, feed.data)) for feed in run.feeds]
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

    # 3. media and sidecars under content-addressed keys
    if run.uploads:
        say(f"store: uploading {len(run.uploads)} new files to {store.description}")
    with ThreadPoolExecutor(max_workers=defaults.S3_MAX_CONCURRENCY) as pool:
        futures = [
            (
                want,
                pool.submit(
                    store.put_file,
                    want.key,
                    want.path,
                    want.content_type,
                    defaults.IMMUTABLE_CACHE_CONTROL,
                ),
            )
            for want in run.uploads
        ]
        errors: list[StorycastError] = []
        for want, future in futures:
            try:
                info = future.result()
            except StorycastError as exc:
                errors.append(exc)
                continue
            run.versions[want.key] = info.version
            result.uploaded += 1
            result.written.append(want.key)
            result.bytes_uploaded += want.size
    if errors:
        raise StoreError([p for exc in errors for p in exc.problems])

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
        url = _url(show, obj.key)
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
        "artwork": _file_json(
            run.artwork,
            run.artwork_sha256,
            run.versions.get(run.artwork.key, "")
            if run.artwork.key not in run.conflicts
            else str(_recorded(run.previous).get(run.artwork.key, {}).get("version", "")),
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
    result.kept = len(_recorded(manifest))
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


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=1, sort_keys=True).encode()


def put_manifest(store: ObjectStore, show: Show, manifest: dict[str, Any]) -> None:
    store.put_bytes(
        manifest_key(show),
        manifest_bytes(manifest),
        "application/json",
        defaults.FEED_CACHE_CONTROL,
    )


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


# --- dry run --------------------------------------------------------------------------------


def plan(show: Show, jobs: list[EpisodeJob], store: ObjectStore) -> Plan:
    """What ``publish`` would do now, read-only: uploads, replacements, deletions, conflicts."""
    run = _decide(show, jobs, store, dry_run=True)
    result = Plan(store.description, show.feed_url, show.video_feed_url if show.video_feed else "")
    for want in run.uploads:
        result.uploads.append(Change(want.key, want.size, episode=want.episode))
    for feed in run.feeds:
        if feed.state == "new":
            result.uploads.append(Change(feed.key, len(feed.data), detail=feed.label))
        elif feed.state == "replace":
            old = feed.now.size if feed.now else None
            result.replacements.append(Change(feed.key, len(feed.data), old, detail=feed.label))
    newly_retired = set(run.retired) - set(run.previous.get("retired", {}))
    retirements_changed = run.retired != run.previous.get("retired", {})
    if (
        run.uploads
        or any(feed.state != "unchanged" for feed in run.feeds)
        or any(not isinstance(run.previous.get(feed.name), dict) for feed in run.feeds)
        or run.deletions
        or run.retired_feeds
        or retirements_changed
        or not run.previous
    ):
        result.replacements.append(
            Change(
                manifest_key(show),
                0,
                len(run.previous_raw) if run.previous_raw is not None else None,
                detail="what is published",
            )
        )
    withdrawn_keys = {key: slug for slug, keys in run.withdrawn.items() for key in keys}
    for obj in run.deletions:
        result.deletions.append(Change(obj.key, obj.size, episode=withdrawn_keys.get(obj.key, "")))
    for obj in run.retired_feeds:
        result.deletions.append(
            Change(obj.key, obj.size, detail="the video feed: `video_feed` is off")
        )
    for key in sorted(newly_retired):
        result.retiring.append(
            Change(key, int(run.retired[key]["size"]), detail="superseded; kept for old feeds")
        )
    for key, what in sorted(run.conflicts.items()):
        now = run.listing.get(key) or run.feed_listing.get(key)
        result.conflicts.append(Change(key, now.size if now else 0, detail=what))
    result.foreign = [Change(o.key, o.size, detail="not storycast's") for o in run.foreign]
    result.unchanged = len(run.versions)
    result.withdrawn = sorted(run.withdrawn)
    return result


def format_plan(p: Plan) -> str:
    """The plan as the producer reads it."""
    lines = [f"Publishing to {p.target} would:"]

    def size(n: int | None) -> str:
        return "?" if n is None else f"{n:,} bytes"

    for c in p.uploads:
        who = f"  ({c.episode})" if c.episode else (f"  ({c.detail})" if c.detail else "")
        lines.append(f"  upload   {c.key}  {size(c.size)}{who}")
    for c in p.replacements:
        new = "rewritten" if c.size == 0 else size(c.size)
        lines.append(f"  replace  {c.key}  {size(c.old_size)} -> {new}  ({c.detail})")
    for c in p.deletions:
        why = (
            f"  (withdrawn: {c.episode})" if c.episode else (f"  ({c.detail})" if c.detail else "")
        )
        lines.append(f"  delete   {c.key}  {size(c.size)}{why}")
    days = defaults.RETIRE_SECONDS / 86400
    for c in p.retiring:
        lines.append(
            f"  keep     {c.key}  {size(c.size)}  (superseded: deleted after {days:g} days)"
        )
    for c in p.conflicts:
        lines.append(f"  CHANGED  {c.key}: {c.detail}; it would be left alone and reported")
    for c in p.foreign:
        lines.append(f"  leave    {c.key}  {size(c.size)}  (not storycast's)")
    up = sum(c.size for c in p.uploads)
    gone = sum(c.size for c in p.deletions)
    if not (p.uploads or p.replacements or p.deletions or p.conflicts):
        lines.append(f"  nothing: all {p.unchanged} published files are unchanged.")
    else:
        lines.append(
            f"  in all: {len(p.uploads)} uploads ({up:,} bytes), "
            f"{len(p.replacements)} replacements, {len(p.deletions)} deletions "
            f"({gone:,} bytes); {p.unchanged} files unchanged."
        )
    lines.append(f"  feed: {p.feed_url}")
    if p.video_feed_url:
        lines.append(f"  video feed: {p.video_feed_url}")
    lines.append("Nothing was changed (dry run).")
    return "\n".join(lines)


# --- private storage ------------------------------------------------------------------------


def safe_name(name: str) -> str:
    """A recording's name as it goes into an archive key."""
    return re.sub(r"[^A-Za-z0-9._\-]+", "-", name).strip("-.") or "recording"


def recording_key(show: Show, episode: str, name: str, sha256: str) -> str:
    return f"recordings/{show.slug}/{episode}/{sha256[:16]}-{safe_name(name)}"


def archive_recordings(
    show: Show,
    jobs: Iterable[EpisodeJob],
    private: ObjectStore,
    say: Callable[[str], None],
) -> int:
    """Keep published episodes' raw recordings in the private store; withdrawn ones come out.

    ``private`` comes from ``store.open_private_store``, which refuses any target
    inside or around the public one. Returns the number of files uploaded.
    """
    prefix = f"recordings/{show.slug}/"
    stored = {o.key: o for o in private.list(prefix)}
    sent = 0
    for job in jobs:
        if job.status not in ("ready", "published"):  # a takedown purges its own copies
            continue
        for name, rec in job.recordings.items():
            key = recording_key(show, job.slug, name, rec.sha256)
            have = stored.get(key)
            if have is not None and have.size == rec.size:
                continue
            content_type = mimetypes.guess_type(rec.path.name)[0] or "application/octet-stream"
            private.put_file(key, rec.path, content_type, defaults.PRIVATE_CACHE_CONTROL)
            sent += 1
    if sent:
        say(f"private store: {sent} recordings kept in {private.description}")
    return sent


def _image_type(path: Path) -> str:
    head = path.read_bytes()[:8]
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
