"""Takedown: when consent is withdrawn (or was never given), nothing of the episode remains.

A takedown wins over everything else a publish does. It is decided before any
stage runs, from what was published (``ledger``: who is in each published
episode) and who is in each episode now (``appearances:``), against the people
file and ``withdrawals.yaml``. It needs no render, no probe and no valid EDL, and
neither another episode's failure nor a hand-edited object elsewhere can stop it.

In storage (``take_down``), in this order, so that a run killed at any point is
finished by the next one:

1. the manifest records the takedown as pending, with every key to remove (every
   version of the episode: current, superseded and retired; the retention window
   never applies) and drops the episode from what it says is published;
2. each feed that lists the episode is rewritten without it (an item is the
   episode's if its guid is the episode's or any address in it is one of the
   episode's files). A feed changed by hand keeps the rest of its change, and is
   marked so that the next publish reports it instead of overwriting it;
3. every key is deleted; one that fails does not stop the others;
4. storage and the feeds are read back. Only what is found gone counts as taken
   down; the manifest keeps the takedown pending until nothing is left.

Then the private archive's copies go (``purge_archive``), and everything storycast
derived from the recordings goes from its cache (``purge_caches``: measurements,
transcripts, audio and video renders, what killed renders left behind), except
what an episode still being published uses. ``episodes/audit.jsonl`` gets one JSON
line per takedown and run: what was removed, when, why and at whose request.

The raw recordings stay where the producer keeps them unless the person asks for
them to be erased (``storycast withdraw ID --erase-recordings``, ``erase_recordings``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from pipeline import defaults
from pipeline.cache import SEAL, Cache
from pipeline.errors import Problem, StorycastError
from pipeline.feed.build import build_feed, episode_guid
from pipeline.project import auditlog, ledger
from pipeline.project.people import Withdrawal
from pipeline.project.showfile import find_episode_folders, read_appearances
from pipeline.publish import plan
from pipeline.publish.archive import safe_name
from pipeline.publish.manifest import (
    FEEDS,
    MANIFEST_SCHEMA,
    entry_from,
    feed_address,
    key_episode,
    manifest_bytes,
    manifest_key,
    media_prefix,
    parse_manifest,
    put_manifest,
)
from pipeline.records import FEED_TYPE, ROLES, EpisodeJob, Person, PublishedFile, Show
from pipeline.site.build import show_page
from pipeline.store import ObjectStore

AUDIT_FILE = auditlog.AUDIT_FILE


@dataclass
class Takedown:
    """One episode that must come down, and what happened to it this run."""

    slug: str
    reason: str
    # "consent": someone's voice may not be published: the episode comes down, is not
    # published again while that holds, and its derived caches and archive copies go.
    # "face": someone seen in its published video no longer consents to their face being
    # shown: it comes down; this run may publish it again audio-only.
    # "hold": a redaction was added since it was published and the new edit cannot be
    # published yet: the published version comes down meanwhile.
    kind: Literal["consent", "face", "hold"] = "consent"
    requested_by: str = ""
    people: tuple[str, ...] = ()  # whose consent is missing or withdrawn
    folder: Path | None = None
    shas: set[str] = field(default_factory=set)  # its recordings (cache purge)
    held: set[str] = field(default_factory=set)  # the recordings ``people`` are in
    # storage, this run
    keys: list[str] = field(default_factory=list)  # every key of every version
    removed: list[str] = field(default_factory=list)  # confirmed gone
    deleted: list[str] = field(default_factory=list)  # deleted by this run
    failed: dict[str, str] = field(default_factory=dict)  # key -> why it could not be
    leftovers: list[str] = field(default_factory=list)  # keys found still there on reading back
    still_listed: list[str] = field(default_factory=list)  # feeds found still listing it
    feeds: list[str] = field(default_factory=list)  # feeds rewritten without it
    archive_removed: list[str] = field(default_factory=list)
    cache_removed: list[str] = field(default_factory=list)
    raw_copies: list[str] = field(default_factory=list)  # raw recordings still kept
    checked: bool = False  # storage was read back

    @property
    def done(self) -> bool:
        """Read back and nothing of it found in storage, and nothing failed."""
        return self.checked and not (self.leftovers or self.still_listed or self.failed)


# --- deciding ---------------------------------------------------------------------------


def find(
    show: Show,
    people: dict[str, Person],
    people_ok: bool,
    withdrawals: list[Withdrawal],
    published: dict[str, ledger.Publication],
) -> dict[str, Takedown]:
    """Every episode of the show that must come down now, with the reason.

    From what was published (the ledger) and who is in each episode folder now: anyone
    who withdrew, anyone published whose consent the people file no longer records, and
    anyone in an episode whose voice consent is missing. A person the people file does not
    know, in an episode not yet published, is left to the consent stage (it fails, and
    says so), so a typo cannot take a published episode down.
    """
    withdrawn = {w.person.casefold() for w in withdrawals}
    by_whom: dict[str, list[str]] = {}
    for w in withdrawals:
        if w.requested_by:
            by_whom.setdefault(w.person.casefold(), []).append(w.requested_by)
    folders: dict[str, Path] = {}
    current: dict[str, set[str]] = {}
    for folder in find_episode_folders(show.episodes_dir):
        owner, appearances = read_appearances(folder)
        if owner != show.slug and folder.name not in published:
            continue
        folders[folder.name] = folder
        current[folder.name] = {pid for ids in appearances.values() for pid in ids}
    found: dict[str, Takedown] = {}
    for slug in sorted(set(published) | set(current)):
        pub = published.get(slug)
        voice: dict[str, str] = {}
        for pid in sorted(set(pub.people if pub else ()) | current.get(slug, set())):
            was_published = pub is not None and pid in pub.people
            if pid.casefold() in withdrawn:
                voice[pid] = "consent was withdrawn for " + pid
            elif people_ok and pid not in people and was_published:
                voice[pid] = f"{pid} is no longer in the people file, so there is no consent"
            elif people_ok and pid in people and people[pid].voice_consent is None:
                voice[pid] = "no consent to publish the voice of " + pid
        if voice:
            found[slug] = Takedown(
                slug,
                "; ".join(voice.values()) + ". It is not published, and is taken down if it was.",
                "consent",
                "; ".join(r for pid in voice for r in by_whom.get(pid.casefold(), [])),
                tuple(voice),
                folders.get(slug, show.episodes_dir / slug),
            )
            continue
        faces = [
            pid
            for pid in (pub.faces if pub else ())
            if people_ok and (pid not in people or people[pid].face_consent is None)
        ]
        if faces:
            found[slug] = Takedown(
                slug,
                "its published video shows "
                + ", ".join(faces)
                + ", who no longer consents to their face being shown. The video is taken "
                "down; the episode can be published again audio-only.",
                "face",
                people=tuple(faces),
                folder=folders.get(slug, show.episodes_dir / slug),
            )
    return found


def _item_patterns(show: Show, slug: str) -> re.Pattern[str]:
    return re.compile(re.escape(media_prefix(show) + slug) + r"-[0-9a-f]{16}(?=[.\"'<\s&]|$)")


# --- storage ----------------------------------------------------------------------------


@dataclass
class StoredFeed:
    name: str  # its record in the manifest
    key: str
    data: bytes
    version: str


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _item_is(item: Any, pattern: re.Pattern[str], guid: str | None) -> bool:
    if guid and (item.findtext("guid") or "").strip() == guid:
        return True
    return bool(pattern.search(etree.tostring(item, encoding="unicode")))


def feed_lists(data: bytes, patterns: dict[str, tuple[re.Pattern[str], str | None]]) -> set[str]:
    """Which of the episodes (slug -> (address pattern, guid)) a stored feed lists.
    A feed that cannot be read as XML is searched as text."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError:
        text = data.decode("utf-8", "replace")
        return {slug for slug, (pattern, guid) in patterns.items() if pattern.search(text)} | {
            slug for slug, (_, guid) in patterns.items() if guid and guid in text
        }
    return {
        slug
        for item in root.iter("item")
        for slug, (pattern, guid) in patterns.items()
        if _item_is(item, pattern, guid)
    }


def _without(data: bytes, patterns: dict[str, tuple[re.Pattern[str], str | None]]) -> bytes | None:
    """The feed without the episodes' items (None: it is not XML we can edit)."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError:
        return None
    for item in list(root.iter("item")):
        if any(_item_is(item, pattern, guid) for pattern, guid in patterns.values()):
            parent = item.getparent()
            assert parent is not None
            parent.remove(item)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out


def _guid(show: Show, record: dict[str, Any] | None) -> str | None:
    if not record:
        return None
    try:
        return episode_guid(show, entry_from(record, show).episode)
    except (KeyError, TypeError, ValueError):
        return None


def take_down(
    show: Show,
    takedowns: dict[str, Takedown],
    store: ObjectStore,
    say: Callable[[str], None],
    *,
    dry_run: bool = False,
) -> bytes | None:
    """Remove every version of each episode from the feeds and the store (see the module
    docstring for the order). Episodes whose takedown an earlier run left unfinished are
    added to ``takedowns``. Never raises for one object: what could not be removed is in
    each Takedown's ``failed`` and ``leftovers``.

    Returns the manifest's bytes as they now are in the store (None: there is none), so
    the publish that follows need not read it again."""
    raw = store.get_bytes(manifest_key(show))
    previous = parse_manifest(raw)
    pending: dict[str, Any] = dict(previous.get("takedowns", {}) or {})
    for slug in pending:
        if slug not in takedowns:
            takedowns[slug] = Takedown(
                slug,
                "an earlier publish began taking it down and did not finish; finishing now.",
                folder=show.episodes_dir / slug,
            )
    if not takedowns:
        return raw
    listing = {o.key for o in store.list(media_prefix(show))}
    artwork = (previous.get("artwork") or {}).get("key")
    episodes: dict[str, Any] = previous.get("episodes", {}) or {}
    retired: dict[str, Any] = previous.get("retired", {}) or {}
    waiting: dict[str, Any] = (previous.get("pending") or {}).get("files", {}) or {}
    for slug, td in takedowns.items():
        keys = {f["key"] for f in (episodes.get(slug) or {}).get("files", {}).values()}
        keys |= {k for k, r in retired.items() if r.get("episode") == slug}
        keys |= set((pending.get(slug) or {}).get("keys", []))
        keys |= {k for k in listing | set(retired) | set(waiting) if key_episode(show, k) == slug}
        # only the episode's own files, by their names: a manifest edited by hand cannot
        # make a takedown delete the artwork, a feed or another episode's files
        td.keys = sorted(k for k in keys if k != artwork and key_episode(show, k) == slug)
    patterns = {
        slug: (_item_patterns(show, slug), _guid(show, episodes.get(slug))) for slug in takedowns
    }
    stored: list[StoredFeed] = []
    for name, _label, variant in FEEDS:
        key = feed_address(show, variant)[0]
        info = store.head(key)
        data = store.get_bytes(key) if info else None
        if info and data is not None:
            stored.append(StoredFeed(name, key, data, info.version))
    listed = {f.key: feed_lists(f.data, patterns) for f in stored}
    if dry_run:
        for td in takedowns.values():
            td.leftovers = [k for k in td.keys if k in listing]
            td.feeds = [key for key, slugs in listed.items() if td.slug in slugs]
        return raw
    anything = any(td.keys for td in takedowns.values()) or any(listed.values())
    anything = anything or any(s in episodes for s in takedowns) or bool(pending)
    if not anything:  # never published, or long gone: nothing to write
        for td in takedowns.values():
            td.checked = True
        return raw

    clock = datetime.now(UTC).replace(microsecond=0).isoformat()
    manifest: dict[str, Any] = copy.deepcopy(previous) if previous else {}
    manifest["schema"] = MANIFEST_SCHEMA
    manifest["show"] = show.slug
    manifest["episodes"] = {s: e for s, e in episodes.items() if s not in takedowns}
    gone = {k for td in takedowns.values() for k in td.keys}
    manifest["retired"] = {k: r for k, r in retired.items() if k not in gone}
    if isinstance(manifest.get("pending"), dict):
        files = manifest["pending"].get("files", {}) or {}
        manifest["pending"]["files"] = {k: f for k, f in files.items() if k not in gone}
    manifest["takedowns"] = {
        **pending,
        **{
            slug: {"keys": td.keys, "since": (pending.get(slug) or {}).get("since") or clock}
            for slug, td in takedowns.items()
        },
    }
    problems: list[str] = []
    now: list[bytes | None] = [raw]

    def write_manifest() -> None:
        try:
            put_manifest(store, show, manifest)
        except StorycastError as exc:
            problems.append(f"the manifest could not be written: {exc}")
            now[0] = plan.READ  # not known: the publish reads it again
        else:
            now[0] = manifest_bytes(manifest)

    write_manifest()
    # 2. the feeds, without the episodes
    for feed in stored:
        slugs = listed[feed.key]
        if not slugs:
            continue
        edited = _without(feed.data, patterns) or _rebuilt(show, manifest, feed.name)
        if edited is None:
            problems.append(
                f"the feed `{feed.key}` is not XML storycast can edit, and could not be "
                "rebuilt; it still lists " + ", ".join(sorted(slugs))
            )
            continue
        record = previous.get(feed.name) if isinstance(previous.get(feed.name), dict) else {}
        assert isinstance(record, dict)
        ours = {record.get("sha256"), (previous.get("pending") or {}).get(f"{feed.name}_sha256")}
        by_hand = bool(record.get("hand_edited")) or (
            record.get("version") != feed.version
            and hashlib.sha256(feed.data).hexdigest() not in ours
        )
        try:
            info = store.put_bytes(feed.key, edited, FEED_TYPE, defaults.FEED_CACHE_CONTROL)
        except StorycastError as exc:
            problems.append(f"the feed `{feed.key}` could not be rewritten: {exc}")
            continue
        manifest[feed.name] = {
            "key": feed.key,
            "sha256": hashlib.sha256(edited).hexdigest(),
            "size": info.size,
            "version": info.version,
            **({"hand_edited": True} if by_hand else {}),
        }
        for slug in slugs:
            takedowns[slug].feeds.append(feed.key)
        say(
            f"store: {', '.join(sorted(slugs))} removed from {feed.key}"
            + (" (it had been changed by hand: the rest of that change is kept)" if by_hand else "")
        )
    _rewrite_show_page(show, manifest, store, say, problems)
    write_manifest()
    # 3. every version of every file
    for td in takedowns.values():
        for key in td.keys:
            if key not in listing:
                td.removed.append(key)  # gone already (an interrupted run, or never there)
                continue
            try:
                store.delete(key)
            except (StorycastError, ValueError, OSError) as exc:
                td.failed[key] = str(exc).splitlines()[0]
                continue
            td.deleted.append(key)
            td.removed.append(key)
        if td.deleted:
            say(f"store: {td.slug} taken down: {len(td.deleted)} files removed")
    # 4. read back
    _check(show, takedowns, store, patterns, problems)
    manifest["takedowns"] = {  # what is left for the next run: keys only
        slug: {**manifest["takedowns"][slug], "keys": td.leftovers}
        for slug, td in takedowns.items()
        if not td.done
    }
    if not manifest["takedowns"]:
        del manifest["takedowns"]
    write_manifest()
    if problems:
        for td in takedowns.values():
            td.failed["storage"] = "; ".join(problems)
    return now[0]


def _rebuilt(show: Show, manifest: dict[str, Any], name: str) -> bytes | None:
    """The feed built afresh from what the manifest says is published."""
    variant = next(v for n, _, v in FEEDS if n == name)
    art = manifest.get("artwork")
    if not isinstance(art, dict):
        return None
    try:
        artwork = PublishedFile(
            "artwork", art["key"], art["url"], int(art["size"]), art["content_type"]
        )
        entries = [entry_from(e, show) for e in manifest.get("episodes", {}).values()]
        return build_feed(show, entries, artwork, variant=variant)
    except (StorycastError, KeyError, TypeError, ValueError):
        return None


def _rewrite_show_page(
    show: Show,
    manifest: dict[str, Any],
    store: ObjectStore,
    say: Callable[[str], None],
    problems: list[str],
) -> None:
    """The show page, rebuilt from what the manifest now says is published, so it links no
    page that is about to go. Written only where a show page was published."""
    record = manifest.get("site")
    art = manifest.get("artwork")
    if not isinstance(record, dict) or not isinstance(art, dict):
        return
    try:
        artwork = PublishedFile(
            "artwork", art["key"], art["url"], int(art["size"]), art["content_type"]
        )
        entries = [entry_from(e, show) for e in manifest.get("episodes", {}).values()]
        page = show_page(show, entries, artwork).encode()
        info = store.put_bytes(
            show.site_key, page, ROLES["page"].content_type, defaults.FEED_CACHE_CONTROL
        )
    except (StorycastError, KeyError, TypeError, ValueError) as exc:
        problems.append(f"the show page `{show.site_key}` could not be rewritten: {exc}")
        return
    manifest["site"] = {
        **record,
        "sha256": hashlib.sha256(page).hexdigest(),
        "size": info.size,
        "version": info.version,
    }
    say(f"store: the show page no longer lists what is taken down: {show.site_key}")


def _check(
    show: Show,
    takedowns: dict[str, Takedown],
    store: ObjectStore,
    patterns: dict[str, tuple[re.Pattern[str], str | None]],
    problems: list[str],
) -> None:
    """Read the store and the feeds back: what of each episode is still there."""
    try:
        listing = {o.key for o in store.list(media_prefix(show))}
        feeds = {
            key: data
            for _, _, variant in FEEDS
            if (data := store.get_bytes(key := feed_address(show, variant)[0])) is not None
        }
    except StorycastError as exc:
        problems.append(f"storage could not be read back: {exc}")
        return
    for td in takedowns.values():
        td.leftovers = sorted(k for k in listing if k in td.keys or key_episode(show, k) == td.slug)
        td.still_listed = [
            key
            for key, data in feeds.items()
            if td.slug in feed_lists(data, {td.slug: patterns[td.slug]})
        ]
        td.removed = [k for k in td.removed if k not in listing]
        td.checked = True


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
    for kind in ("probe", "loudness"):
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
        "complete": td.done,
        "feed": show.feed_url,
        **({"video_feed": show.video_feed_url} if show.video_feed else {}),
    }
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


# --- erasing a person's raw recordings (storycast withdraw ID --erase-recordings) -----------


@dataclass
class Erasure:
    """A person's raw recordings: where they are, and what became of them."""

    files: list[Path] = field(default_factory=list)  # in episode folders
    archived: list[tuple[ObjectStore, str]] = field(default_factory=list)  # private archive
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def describe(self) -> list[str]:
        return [str(p) for p in self.files] + [
            f"{store.description}: {key}" for store, key in self.archived
        ]


def find_raw_recordings(root: Path, person: str, shows: list[Show]) -> Erasure:
    """Every raw recording the person is in: by ``appearances:`` now, by what was published
    with them (the ledger), and any identical copy elsewhere in the project's episode
    folders; and their copies in each show's private archive."""
    from pipeline.media.probe import sha256_file
    from pipeline.store import open_private_store

    erasure = Erasure()
    dirs = dict.fromkeys([root / "episodes", *(s.episodes_dir for s in shows)])
    named: dict[Path, set[str]] = {}  # episode folder -> recording names with the person
    for episodes_dir in dirs:
        for folder in find_episode_folders(episodes_dir):
            _, appearances = read_appearances(folder)
            names = {n for n, ids in appearances.items() if person in ids}
            if names:
                named.setdefault(folder, set()).update(names)
        for show in shows:
            if show.episodes_dir != episodes_dir:
                continue
            for slug, pub in ledger.read(episodes_dir, show.slug).items():
                if person in pub.people:
                    named.setdefault(episodes_dir / slug, set()).update(pub.recordings)
    found: dict[Path, None] = {}
    for folder, names in named.items():
        for name in sorted(names):
            path = folder / "recordings" / name
            if path.is_file() and path.resolve().is_relative_to(folder.resolve()):
                found[path] = None
    shas = {sha256_file(p) for p in found}
    for episodes_dir in dirs:
        for folder in find_episode_folders(episodes_dir):
            recordings = folder / "recordings"
            for path in sorted(recordings.rglob("*")) if recordings.is_dir() else []:
                if path not in found and path.is_file() and not path.is_symlink():
                    if sha256_file(path) in shas:
                        found[path] = None  # the same recording, copied into another episode
    erasure.files = list(found)
    for show in shows:
        private = open_private_store(show.storage, root, show.path)
        if private is None:
            continue
        slugs = {f.name for f in named if f.parent == show.episodes_dir}
        for slug in sorted(slugs):
            prefix = f"recordings/{show.slug}/{slug}/"
            names = {safe_name(n) for n in named[show.episodes_dir / slug]}
            for obj in private.list(prefix):
                stem = obj.key[len(prefix) :]
                if stem.split("-", 1)[-1] in names or stem[:16] in {s[:16] for s in shas}:
                    erasure.archived.append((private, obj.key))
    return erasure


def erase(erasure: Erasure) -> None:
    """Delete what ``find_raw_recordings`` found; one failure does not stop the rest."""
    for path in erasure.files:
        try:
            path.unlink()
        except OSError as exc:
            erasure.failed[str(path)] = exc.strerror or str(exc)
            continue
        erasure.deleted.append(str(path))
    for store, key in erasure.archived:
        try:
            store.delete(key)
        except StorycastError as exc:
            erasure.failed[f"{store.description}: {key}"] = str(exc).splitlines()[0]
            continue
        erasure.deleted.append(f"{store.description}: {key}")


# --- a publish run's takedown steps ---------------------------------------------------------


def holds(
    jobs: list[EpisodeJob],
    published: dict[str, ledger.Publication],
    takedowns: dict[str, Takedown],
) -> dict[str, Takedown]:
    """Published episodes that will not be published again this run (not approved yet, or
    failed) whose EDL now has a redaction their published version lacks."""
    holds: dict[str, Takedown] = {}
    for job in jobs:
        then = published.get(job.slug)
        if job.status not in ("skipped", "failed") or job.timeline is None or then is None:
            continue
        if job.slug in takedowns or (then.redactions and not then.redaction_spans):
            continue  # (a record from before spans were kept: nothing to compare with)
        spans = {(s, round(a, 6), round(b, 6)) for s, a, b in then.redaction_spans}
        new = [
            r
            for r in job.timeline.redactions
            if (r.source, round(r.start, 6), round(r.end, 6)) not in spans
        ]
        if new:
            holds[job.slug] = Takedown(
                job.slug,
                f"a redaction was added (EDL line {new[0].line}) after it was published, so its "
                "published version is taken down until the new edit is published",
                "hold",
                folder=job.folder,
            )
    return holds


def mark_jobs(jobs: list[EpisodeJob], takedowns: dict[str, Takedown], show: Show) -> None:
    """Each takedown's episode is a job (one whose folder is gone too), not run through the
    stages when someone's voice may not be published."""
    by_slug = {job.slug: job for job in jobs}
    for slug, td in sorted(takedowns.items()):
        job = by_slug.get(slug)
        if job is None:
            job = EpisodeJob(folder=td.folder or show.episodes_dir / slug)
            jobs.append(job)
        if td.kind == "consent":
            job.status = "withdrawn"
            job.reason = td.reason
            job.requested_by = td.requested_by
        else:
            job.notes.append(td.reason)


def mark_not_done(jobs: list[EpisodeJob], td: Takedown) -> None:
    for job in jobs:
        if job.slug == td.slug and job.status in ("withdrawn", "pending"):
            job.status = "failed"
            job.reason = problem_for(td).message


def finish(
    show: Show,
    root: Path,
    cache: Cache,
    jobs: list[EpisodeJob],
    takedowns: dict[str, Takedown],
    published: dict[str, ledger.Publication],
    withdrawals: list[Withdrawal],
    withdrawn_recordings: dict[str, list[str]],
) -> list[Problem]:
    """Purge what storycast derived from the withdrawn recordings (except what an episode
    still being published uses), say where raw copies remain, record it all in the audit
    log, and say TAKEN DOWN only of what storage was read back without. Returns what
    could not be finished."""
    problems: list[Problem] = []
    live = [job for job in jobs if job.status in ("ready", "published")]
    keep = {rec.sha256 for job in live for rec in job.recordings.values()}
    renders = {key for job in live for key in job.renders}
    withdrawn = {w.person for w in withdrawals}
    for td in takedowns.values():
        if td.kind == "consent":
            td.shas = recording_shas(td, published.get(td.slug))
            td.held = held_recordings(td, published.get(td.slug))
            try:
                td.cache_removed = purge_caches(cache, td.shas, keep, renders)
            except StorycastError as exc:  # the cache in object storage did not answer
                td.failed["cache"] = str(exc).splitlines()[0]
            raw = raw_copies(td.folder, set(td.people) & withdrawn)
            td.raw_copies = [str(p.relative_to(root)) for p in raw if p.is_relative_to(root)]
        new = td.kind == "consent" and bool(td.held - set(withdrawn_recordings))
        entry = audit_entry(show, td, new)
        if entry is not None:
            append_audit(show.episodes_dir, entry)
        job = next((j for j in jobs if j.slug == td.slug), None)
        if not td.done:
            problems.append(problem_for(td))
            mark_not_done(jobs, td)
            continue
        if job is None:
            continue
        if td.removed or td.cache_removed or td.archive_removed:
            job.notes.append(
                f"taken down: {len(td.removed)} published files, {len(td.archive_removed)} "
                f"archived recordings and {len(td.cache_removed)} cached files removed; "
                f"recorded in {show.episodes_dir.name}/{AUDIT_FILE}"
            )
        if td.raw_copies:
            ids = sorted(set(td.people) & withdrawn)
            job.notes.append(
                "raw recordings with "
                + ", ".join(ids)
                + " are still kept here (never published): "
                + ", ".join(td.raw_copies)
                + ". To delete them: storycast withdraw "
                + " ".join(ids)
                + " --erase-recordings"
            )
    return problems


def record_publications(
    show: Show,
    jobs: list[EpisodeJob],
    before: dict[str, ledger.Publication],
    takedowns: dict[str, Takedown],
    *,
    provisional: bool,
) -> None:
    """Keep the private record of who is in each published episode.

    Written before the store step too (``provisional``), with every episode about to go
    out, so a run killed mid-publish still leaves a record a later takedown can use.
    """
    entries = {s: p for s, p in before.items() if not (s in takedowns and takedowns[s].done)}
    at = datetime.now(UTC).replace(microsecond=0).isoformat()
    for job in jobs:
        if job.status not in (("ready", "published") if provisional else ("published",)):
            continue
        if job.episode is None or job.timeline is None:
            continue
        used = job.timeline.sources()
        ids = tuple(
            dict.fromkeys(pid for name in used for pid in job.episode.appearances.get(name, ()))
        )
        entries[job.slug] = ledger.Publication(
            people=ids,
            faces=ids if "video" in job.outputs else (),
            recording_people={name: tuple(job.episode.appearances.get(name, ())) for name in used},
            recordings={
                name: job.recordings[name].sha256 for name in used if name in job.recordings
            },
            edl_sha256=job.timeline.edl_sha256,
            redactions=tuple(r.text for r in job.timeline.redactions if r.text),
            redaction_spans=tuple((r.source, r.start, r.end) for r in job.timeline.redactions),
            at=at,
        )
    if entries != before:
        ledger.write(show.episodes_dir, show.slug, entries)
