"""A takedown in storage, in the order that lets the next run finish a killed one: the
manifest records it pending, the feeds are rewritten without the episode, every key is
deleted, and storage and the feeds are read back."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from pipeline import defaults
from pipeline.errors import StorycastError
from pipeline.feed.build import build_feed, episode_guid
from pipeline.publish import plan
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
from pipeline.publish.takedown.decide import Takedown
from pipeline.publish.takedown.served import still_served
from pipeline.records import FEED_TYPE, ROLES, PublishedFile, Show
from pipeline.site.build import show_page
from pipeline.store import ObjectStore

# --- storage ----------------------------------------------------------------------------


def _item_patterns(show: Show, slug: str) -> re.Pattern[str]:
    """A published key of the episode, as it appears in a feed's text."""
    return re.compile(re.escape(media_prefix(show) + slug) + r"-[0-9a-f]{16}(?=[.\"'<\s&]|$)")


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
    # 4. read back, and what listeners can still fetch at the public addresses
    _check(show, takedowns, store, patterns, problems)
    for td in takedowns.values():
        if td.removed and not td.leftovers:
            td.served, td.served_checked = still_served(show, td.removed)
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
