"""Deciding: what a publish would upload, keep, replace, retire and delete, before any
write (``decide``), and the dry run's plan of it as a producer reads it.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline import defaults
from pipeline.feed.build import build_feed
from pipeline.media.probe import sha256_file
from pipeline.publish.manifest import (
    FEEDS,
    OUR_KEY,
    entry_from,
    episode_json,
    feed_address,
    feed_prefix,
    file_json,
    image_type,
    key_episode,
    manifest_key,
    media_prefix,
    parse_manifest,
    public_url,
    recorded_objects,
)
from pipeline.records import (
    MUTABLE_ROLES,
    ROLES,
    EpisodeJob,
    FeedEntry,
    PublishedFile,
    Show,
    base_role,
)
from pipeline.site.build import show_page
from pipeline.store import ObjectInfo, ObjectStore

# What older manifests said of an episode's private files (their sha256): dropped.
PRIVATE_PINS = ("edl_sha256", "recordings")


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


@dataclass(frozen=True)
class Wanted:
    key: str
    path: Path
    size: int
    sha256: str
    content_type: str
    episode: str
    # A page: a stable key whose bytes change (replaced, short-cached, written after media).
    mutable: bool = False
    data: bytes | None = None  # built here rather than staged (the show page)


@dataclass
class FeedState:
    """One of the show's feeds, built, and how it compares with what is stored."""

    name: str  # its record in the manifest: "feed" or "video_feed"
    label: str  # "the feed", "the video feed"
    key: str
    url: str
    data: bytes
    sha256: str
    now: ObjectInfo | None
    state: str = ""  # "unchanged", "new", "replace", "conflict"


@dataclass
class Decision:
    """Everything decided before the first write."""

    previous: dict[str, Any]
    previous_raw: bytes | None
    listing: dict[str, ObjectInfo]
    feed_listing: dict[str, ObjectInfo]  # what is stored under the feeds' prefix
    feeds: list[FeedState]  # the main feed first
    retired_feeds: list[ObjectInfo]  # published earlier, no longer wanted: deleted
    kept_feed_records: dict[str, Any]  # manifest name -> record of a feed left in place
    artwork: PublishedFile
    artwork_sha256: str
    site: PublishedFile  # the show page
    site_sha256: str
    manifest_episodes: dict[str, Any]
    published: list[EpisodeJob]
    uploads: list[Wanted]
    versions: dict[str, str]  # key -> version known now (listed and trusted)
    conflicts: dict[str, str]  # key -> what is wrong
    deletions: list[ObjectInfo]
    retired: dict[str, Any]  # superseded, kept until RETIRE_SECONDS have passed
    foreign: list[ObjectInfo]
    withdrawn: dict[str, list[str]]
    notes: list[str]


# "Read the manifest from the store": the default when no caller has just read it.
READ: Any = object()


def decide(
    show: Show,
    jobs: list[EpisodeJob],
    store: ObjectStore,
    *,
    dry_run: bool = False,
    manifest_raw: bytes | None = READ,
) -> Decision:
    previous_raw = store.get_bytes(manifest_key(show)) if manifest_raw is READ else manifest_raw
    previous = parse_manifest(previous_raw)
    listing = {o.key: o for o in store.list(media_prefix(show))}
    feed_listing = {o.key: o for o in store.list(feed_prefix(show))}
    recorded = recorded_objects(previous)

    wanted: dict[str, Wanted] = {}
    art_sha = sha256_file(show.artwork)
    art_type = image_type(show.artwork)
    art_ext = ".png" if art_type == "image/png" else ".jpg"
    art_key = f"{media_prefix(show)}artwork-{art_sha[:16]}{art_ext}"
    art_size = show.artwork.stat().st_size
    artwork = PublishedFile("artwork", art_key, public_url(show, art_key), art_size, art_type)
    wanted[art_key] = Wanted(art_key, show.artwork, art_size, art_sha, art_type, "")

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
                    role, out.key, public_url(show, out.key), size, out.content_type
                )
                wanted.setdefault(
                    out.key,
                    Wanted(
                        out.key,
                        out.path,
                        size,
                        sha,
                        out.content_type,
                        job.slug,
                        mutable=base_role(role) in MUTABLE_ROLES,
                    ),
                )
            soundbite = job.timeline.soundbite if job.timeline else None
            language = job.captions_language or show.language
            entries.append(
                FeedEntry(job.episode, job.duration, files, job.credits, soundbite, language)
            )
            manifest_episodes[job.slug] = {
                "episode": episode_json(job.episode),
                # What it was made from (the EDL's and the raw recordings' sha256) is kept
                # only in the private ledger: a public hash of a raw recording lets anyone
                # holding a copy of it prove it is in this show, and ties episodes together.
                "duration": job.duration,
                "credits": [vars(c) for c in job.credits],
                "soundbite": vars(soundbite) if soundbite else None,
                "captions_language": language,
                "files": {r: file_json(f, wanted[f.key].sha256) for r, f in files.items()},
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
            manifest_episodes[job.slug] = {
                k: v for k, v in copy.deepcopy(old).items() if k not in PRIVATE_PINS
            }
            if not dry_run:
                job.notes.append("its previously published version stays in the feed")

    # The show page lists what the feed lists, each episode linking to its page.
    page = show_page(show, entries, artwork).encode()
    site_sha = hashlib.sha256(page).hexdigest()
    site_type = ROLES["page"].content_type
    site = PublishedFile(
        "site", show.site_key, public_url(show, show.site_key), len(page), site_type
    )
    wanted[site.key] = Wanted(
        site.key, Path(site.key), len(page), site_sha, site_type, "", mutable=True, data=page
    )

    feeds: list[FeedState] = []
    for name, label, variant in FEEDS:
        if variant == "video" and not show.video_feed:
            continue
        key, url = feed_address(show, variant)
        data = build_feed(show, entries, artwork, variant=variant)
        sha = hashlib.sha256(data).hexdigest()
        feeds.append(FeedState(name, label, key, url, data, sha, feed_listing.get(key)))

    conflicts: dict[str, str] = {}
    versions: dict[str, str] = {}
    uploads: list[Wanted] = []
    pending = previous.get("pending")
    pending_pages = pending.get("pages", {}) if isinstance(pending, dict) else {}
    for key, want in wanted.items():
        now = listing.get(key)
        rec = recorded.get(key)
        if now is not None and want.mutable:
            noted = pending_pages.get(key) or []
            noted = noted if isinstance(noted, list) else [noted]
            _page_state(store, want, now, rec, set(noted), uploads, versions, conflicts)
            continue
        if now is None:
            uploads.append(want)
        elif rec and rec.get("version"):
            if now.version == rec["version"] and now.size == int(rec["size"]):
                versions[key] = now.version
            else:
                conflicts[key] = _changed(int(rec["size"]), rec["version"], now)
        elif store.holds(now, want.path):  # an interrupted run's
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
    # Keys an unfinished takedown still has to remove are the takedown's (publish.takedown.storage).
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
        elif rec or OUR_KEY.match(key[len(media_prefix(show)) :]):
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
    return Decision(
        previous=previous,
        previous_raw=previous_raw,
        listing=listing,
        feed_listing=feed_listing,
        feeds=feeds,
        retired_feeds=retired_feeds,
        kept_feed_records=kept_feed_records,
        artwork=artwork,
        artwork_sha256=art_sha,
        site=site,
        site_sha256=site_sha,
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


def _page_state(
    store: ObjectStore,
    want: Wanted,
    now: ObjectInfo,
    rec: dict[str, Any] | None,
    pending: set[str],
    uploads: list[Wanted],
    versions: dict[str, str],
    conflicts: dict[str, str],
) -> None:
    """A page already in storage at its stable key: unchanged, ours to replace (as last
    recorded, or as an interrupted run wrote it, noted in the manifest before it was
    written), or changed by hand (reported, never overwritten)."""
    if rec and rec.get("version") and now.version == rec["version"]:
        if rec.get("sha256") == want.sha256:
            versions[want.key] = now.version
        else:
            uploads.append(want)  # its text changed: replaced in place
        return
    stored = stored_sha256(store, want.key)
    if stored == want.sha256:
        versions[want.key] = now.version
    elif stored in ({(rec or {}).get("sha256")} | pending) - {None, ""}:
        uploads.append(want)
    elif rec:
        conflicts[want.key] = _changed(int(rec.get("size", 0)), str(rec.get("version")), now)
    else:
        conflicts[want.key] = (
            f"holds {now.size} bytes that are not the page storycast publishes under this key"
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
    store: ObjectStore, feed: FeedState, previous: dict[str, Any], conflicts: dict[str, str]
) -> str:
    now, sha = feed.now, feed.sha256
    if now is None:
        return "new"
    rec = previous.get(feed.name)
    if not isinstance(rec, dict):
        stored_sha = stored_sha256(store, feed.key)
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
        stored_sha = stored_sha256(store, feed.key)
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
        elif stored_sha256(store, now.key) in {rec.get("sha256"), pending} - {None}:
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


def stored_sha256(store: ObjectStore, key: str) -> str:
    stored = store.get_bytes(key)
    return hashlib.sha256(stored).hexdigest() if stored is not None else ""


def plan(show: Show, jobs: list[EpisodeJob], store: ObjectStore) -> Plan:
    """What ``publish`` would do now, read-only: uploads, replacements, deletions, conflicts."""
    run = decide(show, jobs, store, dry_run=True)
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
