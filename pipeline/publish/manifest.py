"""The manifest: what a show has published, recorded in its own store.

``manifests/SHOW.json`` lists every object storycast published for the show (key, size,
sha256, the version the store gave it), the public text each feed entry needs to be
listed again, superseded files kept for old feeds, and any takedown not yet finished.
It holds keys, hashes, times and public text only: no path of the producer's machine.
Here too: the keys storycast's objects have, and how a key names its episode.
"""

from __future__ import annotations

import json
import mimetypes
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline import defaults
from pipeline.feed.build import FeedVariant
from pipeline.records import Credit, Episode, FeedEntry, PublishedFile, Show, Soundbite
from pipeline.store import ObjectStore

MANIFEST_SCHEMA = "storycast.Manifest.2"
_READABLE = {"storycast.Manifest.1", MANIFEST_SCHEMA}
# What storycast's own media keys look like: NAME-<16 hex of sha256>.EXT
OUR_KEY = re.compile(r"^[A-Za-z0-9._\-]+-[0-9a-f]{16}(\.[A-Za-z0-9.]+)?$")
# An episode's files are named after it: media/SHOW/SLUG-<16 hex>[.EXT]
_KEY_SLUG = re.compile(r"^(?P<slug>.+)-[0-9a-f]{16}(?:\.[A-Za-z0-9.]+)?$")
# An episode's page on the listeners' site: media/SHOW/episodes/SLUG.html, and the parts
# of a long transcript: SLUG.part-N.html (Show.page_key)
_PAGE_SLUG = re.compile(r"^episodes/(?P<slug>[a-z0-9][a-z0-9-]*)(?:\.part-[0-9]+)?\.html$")


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
    m = _KEY_SLUG.match(key[len(prefix) :]) or _PAGE_SLUG.match(key[len(prefix) :])
    return m["slug"] if m and m["slug"] != "artwork" else None


def url_episode(show: Show, url: str) -> str | None:
    """The episode a published address belongs to, if it is one of its files."""
    base = show.base_url.rstrip("/") + "/"
    return key_episode(show, url[len(base) :]) if url.startswith(base) else None


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


def public_url(show: Show, key: str) -> str:
    return show.base_url.rstrip("/") + "/" + key


def episode_json(ep: Episode) -> dict[str, Any]:
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


def file_json(f: PublishedFile, sha256: str = "", version: str = "") -> dict[str, Any]:
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
        captions_language=str(old.get("captions_language") or show.language),
    )


def recorded_objects(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every object the manifest says storycast wrote: key -> {size, sha256, version}."""
    found: dict[str, dict[str, Any]] = {}
    for name in ("artwork", "site"):  # the show's artwork and its page
        art = manifest.get(name)
        if isinstance(art, dict) and "key" in art:
            found[art["key"]] = art
    for ep in manifest.get("episodes", {}).values():
        for f in ep.get("files", {}).values():
            found[f["key"]] = f
    for key, f in manifest.get("pending", {}).get("files", {}).items():
        found.setdefault(key, f)
    return found


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


def feed_prefix(show: Show) -> str:
    """One listing finds both feeds: feeds/SLUG.xml and feeds/SLUG-video.xml."""
    return f"feeds/{show.slug}"


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=1, sort_keys=True).encode()


def put_manifest(store: ObjectStore, show: Show, manifest: dict[str, Any]) -> None:
    store.put_bytes(
        manifest_key(show),
        manifest_bytes(manifest),
        "application/json",
        defaults.FEED_CACHE_CONTROL,
    )


def image_type(path: Path) -> str:
    head = path.read_bytes()[:8]
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
