"""`storycast audit`: proof, on what is actually published, that the promises hold.

It reads the store (the local folder or the bucket: its listing, the manifest, the feeds
and every published file, fetched back), never the local caches, and checks it against
the people file, the withdrawals, the contributors' approvals and their redactions:

- ``consent``: nothing of a withdrawn person, or of anyone without consent to publish
  their voice (or, in a video, their face), is listed or stored; no takedown is left
  unfinished;
- ``text``: no redacted text in any published byte of its episode (or in what the feed
  says of the show), no name a person asked to keep out anywhere; and no redaction added
  since an episode was published that its published version lacks;
- ``traces``: no location, device or creation-time trace in any published media file or
  image, by storycast's own check (``scrub``) and by ExifTool, an independent reader;
- ``raw``: no raw recording in public storage (compared by content, and by kind);
- ``accounted``: every public file is in the manifest (or is another show's, by its own
  manifest, or the publishing lock);
- ``approval``: every episode in the feed was made from exactly the EDL and recordings
  the contributors approved.

``storycast publish`` runs it on what it just published (every file it wrote is read in
full; the rest by listing), and says what it found in its summary.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from pipeline.errors import StorycastError
from pipeline.media import scrub
from pipeline.media.probe import sha256_file
from pipeline.project import approval, ledger
from pipeline.project.people import Withdrawal
from pipeline.project.showfile import find_episode_folders
from pipeline.project.yamlfile import Problems
from pipeline.publish import outgoing, takedown
from pipeline.publish.manifest import (
    FEEDS,
    feed_address,
    key_episode,
    manifest_key,
    media_prefix,
    parse_manifest,
    url_episode,
)
from pipeline.records import Person, Show
from pipeline.store import ObjectInfo, ObjectStore

CHECKS: tuple[tuple[str, str], ...] = (
    ("consent", "nothing of a withdrawn person, or of anyone without consent, is published"),
    ("text", "no redacted text, and no name a person asked to keep out, in any published byte"),
    ("traces", "no location, device or time trace in any published media file or image"),
    ("raw", "no raw recording in public storage"),
    ("accounted", "every public file is in the manifest"),
    ("approval", "every episode in the feed matches the contributors' approval"),
)
# Suffixes of what phones and editors record, never of what storycast publishes.
_RECORDING_SUFFIXES = {
    ".m4a", ".3gp", ".3g2", ".wav", ".opus", ".ogg", ".oga", ".flac", ".amr", ".aac",
    ".mov", ".webm", ".mkv", ".caf", ".aiff", ".aif", ".wma",
}  # fmt: skip
_MEDIA_SUFFIXES = {".mp3", ".mp4", ".m4a", ".jpg", ".jpeg", ".png"}


@dataclass(frozen=True)
class Finding:
    check: str  # one of CHECKS
    where: str  # an object key, a feed item, an episode
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "where": self.where, "detail": self.detail}


@dataclass
class AuditReport:
    show: Show
    target: str
    findings: list[Finding] = field(default_factory=list)
    objects: int = 0  # the show's public files, listed
    read: int = 0  # of which read in full
    episodes: list[str] = field(default_factory=list)  # in the feed
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def ok(self) -> bool:
        return not self.findings

    def lines(self) -> list[str]:
        out = [
            f"storycast audit: {self.show.title} ({self.target})",
            f"  {self.objects} published files ({self.read} read in full), "
            f"{len(self.episodes)} episodes in the feed",
        ]
        for check, promise in CHECKS:
            found = [f for f in self.findings if f.check == check]
            out.append(f"  {'FOUND' if found else 'OK':<6} {promise}")
            out += [f"           - {f.where}: {f.detail}" for f in found]
        out += [f"  note: {n}" for n in self.notes]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "show": self.show.slug,
            "target": self.target,
            "ok": self.ok,
            "objects": self.objects,
            "read": self.read,
            "episodes": self.episodes,
            "findings": [f.as_dict() for f in self.findings],
            "notes": self.notes,
        }


# --- ExifTool, the independent reader ---------------------------------------------------------

# Tag names that name a place, a device, software or a person, however a format spells them.
_EXIF_TRACE = re.compile(r"GPS|Location|Make|Model|Software|Serial|Author|Artist|Comment|Lens")
_ZERO_DATE = "0000:00:00 00:00:00"


def exif_traces(path: Path, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Place, device, software and creation-time tags in ``path`` as ExifTool reads them.

    ExifTool knows every phone format's tags, including timed metadata in embedded streams
    (``-ee``). A tag is a trace when its name names a place or device, when it is a date
    that is not zero, when it belongs to a time-code track (the time of day it was filmed),
    or when it comes from an XMP packet or Apple's ``Keys`` at all (storycast writes
    neither). ExifTool's ``Composite`` tags are derived from tags that are checked. Lines in
    ``allowed`` (``Group:Name=value``: the show's own artist tag) are not traces.
    """
    out = subprocess.run(
        ["exiftool", "-j", "-a", "-G1", "-ee", "-api", "LargeFileSupport=1", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    (tags,) = json.loads(out.stdout)
    traces = []
    for key, value in tags.items():
        group, _, name = key.rpartition(":")
        if group in ("ExifTool", "System", "File", "Composite") or name == "SourceFile":
            continue
        if f"{key}={value}" in allowed:
            continue
        date = "Date" in name and str(value) != _ZERO_DATE
        time_code = name == "HandlerType" and value == "Time Code"
        if _EXIF_TRACE.search(name) or date or time_code or group.startswith(("XMP", "Keys")):
            traces.append(f"{key}={value}")
    return traces


def have_exiftool() -> bool:
    return shutil.which("exiftool") is not None


# --- the audit --------------------------------------------------------------------------------


def _feed_episodes(data: bytes, show: Show) -> set[str]:
    """The episodes a feed lists: those whose files its items' addresses name."""
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return set()
    return {
        slug
        for item in root.iter("item")
        for el in item.iter()
        for value in el.attrib.values()
        if (slug := url_episode(show, str(value)))
    }


def _current_redactions(folder: Path) -> list[tuple[str, float, float, str]] | None:
    """The episode's redactions as its EDL says now (None if it cannot be read)."""
    from pipeline import edl
    from pipeline.project.showfile import load_episode

    problems = Problems()
    episode = load_episode(folder, problems)
    if episode is None:
        return None
    try:
        timeline = edl.read(episode.edl, episode)
    except StorycastError:
        return None
    return [(r.source, r.start, r.end, r.text or "") for r in timeline.redactions]


def audit(
    show: Show,
    root: Path,
    store: ObjectStore,
    people: dict[str, Person],
    people_ok: bool,
    withdrawals: list[Withdrawal],
    *,
    read: Callable[[str], bool] | None = None,
    exiftool: bool | None = None,
) -> AuditReport:
    """Check what ``store`` publishes for ``show``. ``read(key)`` says which files to read in
    full (default: all of them); the feeds and the manifest are always read."""
    report = AuditReport(show, store.description)
    find: list[Finding] = report.findings
    use_exiftool = have_exiftool() if exiftool is None else exiftool
    if not use_exiftool:
        report.notes.append(
            "ExifTool is not installed, so only storycast's own trace check ran "
            "(`make publish` installs it)."
        )
    listing = {o.key: o for o in store.list("")}
    raw_manifest = store.get_bytes(manifest_key(show))
    manifest = parse_manifest(raw_manifest)
    published = ledger.read(show.episodes_dir, show.slug)

    # --- what is the show's, and is it accounted for
    other_shows = {
        k[len("manifests/") : -len(".json")]
        for k in listing
        if k.startswith("manifests/") and k.endswith(".json")
    } - {show.slug}
    feed_keys = {feed_address(show, v)[0] for _, _, v in FEEDS}
    lock_key = f"locks/{show.slug}.json"
    episodes: dict[str, Any] = manifest.get("episodes", {}) or {}
    recorded: dict[str, str] = {}  # key -> what it is
    for slug, record in episodes.items():
        for f in record.get("files", {}).values():
            recorded[f["key"]] = slug
    for name in ("artwork", "site"):  # the show's artwork and its page
        art = manifest.get(name)
        if isinstance(art, dict) and "key" in art:
            recorded[art["key"]] = ""
    site_page: list[bytes | None] = []  # read only when an episode must be gone from it
    for key, rec in (manifest.get("retired", {}) or {}).items():
        recorded[key] = str(rec.get("episode") or key_episode(show, key) or "")
    for key in (manifest.get("pending", {}) or {}).get("files", {}) or {}:
        recorded.setdefault(key, key_episode(show, key) or "")
    pending_takedowns = manifest.get("takedowns", {}) or {}
    for slug, td in pending_takedowns.items():
        for key in td.get("keys", []):
            recorded.setdefault(key, slug)
        find.append(
            Finding("consent", slug, "a takedown was begun and not finished: publish again")
        )
    ours: dict[str, ObjectInfo] = {}
    for key, obj in sorted(listing.items()):
        if key in feed_keys or key == manifest_key(show) or key in recorded:
            ours[key] = obj
        elif key == lock_key:
            continue
        elif any(
            key.startswith((f"media/{s}/", f"feeds/{s}.", f"feeds/{s}-video.", f"locks/{s}."))
            or key == f"manifests/{s}.json"
            for s in other_shows
        ):
            continue  # another show's: its own manifest accounts for it
        else:
            ours[key] = obj
            find.append(
                Finding(
                    "accounted",
                    key,
                    "public, but no manifest lists it (not storycast's, or left by hand); "
                    "check it is meant to be public",
                )
            )
    report.objects = len(ours)

    # --- the feeds
    feeds: dict[str, bytes] = {}
    for key in sorted(feed_keys):
        if key in listing and (data := store.get_bytes(key)) is not None:
            feeds[key] = data
    in_feeds: dict[str, list[str]] = {}
    for key, data in feeds.items():
        for slug in _feed_episodes(data, show):
            in_feeds.setdefault(slug, []).append(key)
    report.episodes = sorted(in_feeds)
    if not manifest and not listing:
        report.notes.append("nothing is published for this show yet")

    # --- consent: from what was published and who is in each episode now
    must_go = takedown.find(show, people, people_ok, withdrawals, published)
    # and the episodes that files no manifest lists are named after (left by hand, or kept)
    left = {key_episode(show, key) or "" for key in ours if key not in recorded}
    for slug in sorted((set(episodes) | set(in_feeds) | set(recorded.values()) | left) - {""}):
        if slug not in published and slug in episodes:
            report.notes.append(
                f"{slug}: who is in it was not recorded when it was published (published "
                "before storycast kept that record); checked against episode.yaml as it is now"
            )
        td = must_go.get(slug)
        if td is None:
            continue
        video_only = td.kind == "face"
        for key, owner in sorted(recorded.items()):
            if owner != slug or key not in listing:
                continue
            if video_only and not key.endswith((".mp4", ".poster.jpg")):
                continue
            find.append(Finding("consent", key, f"belongs to {slug}: {td.reason}"))
        for key in sorted(ours):  # a copy left by hand under another name
            name = key.removeprefix(media_prefix(show))
            copy = key_episode(show, key) == slug or name.startswith((f"{slug}-", f"{slug}."))
            if key not in recorded and name != key and copy:
                find.append(Finding("consent", key, f"looks like a copy of {slug}: {td.reason}"))
        page_link = f'href="episodes/{slug}.html"'.encode()
        if not site_page:
            site_page.append(store.get_bytes(show.site_key) if show.site_key in listing else None)
        if not video_only and site_page[0] is not None and page_link in site_page[0]:
            find.append(Finding("consent", show.site_key, f"links the page of {slug}: {td.reason}"))
        for feed_key in in_feeds.get(slug, []):
            if not video_only or feed_key != show.feed_key:
                find.append(Finding("consent", feed_key, f"lists {slug}: {td.reason}"))

    # --- approval
    if show.approval_required:
        for slug in sorted(in_feeds):
            # what it was made from: the private ledger (the manifest never says it)
            pub = published.get(slug)
            pins = (pub.edl_sha256, sorted(pub.recordings.values())) if pub else ("", [])
            folder = show.episodes_dir / slug
            approved = approval.read(folder, Problems()) if folder.is_dir() else None
            if not pins[0]:
                report.notes.append(
                    f"{slug}: what it was made from was not recorded when it was published; "
                    "its approval cannot be checked"
                )
            elif approved is None:
                find.append(
                    Finding("approval", slug, "in the feed, but no approval of it is on record")
                )
            elif (approved.edl_sha256, sorted(approved.recordings.values())) != pins:
                find.append(
                    Finding(
                        "approval",
                        slug,
                        f"the published version was made from EDL {pins[0][:12]} and "
                        f"{len(pins[1])} recordings, but {approved.who()} approved EDL "
                        f"{approved.edl_sha256[:12]} and {len(approved.recordings)} recordings",
                    )
                )
    else:
        report.notes.append("this show does not require approval (`approval: optional`)")

    # --- redactions added since publication
    for slug in sorted(in_feeds):
        folder = show.episodes_dir / slug
        now = _current_redactions(folder) if folder.is_dir() else None
        then = published.get(slug)
        if now is None or then is None:
            continue
        spans = [list(span) for span in then.redaction_spans]
        new = [r for r in now if list(r[:3]) not in spans]
        # (a record from before spans were kept, with redactions: nothing to compare with)
        if then.redaction_spans or not then.redactions:
            for source, start, end, _ in new:
                find.append(
                    Finding(
                        "text",
                        slug,
                        f"a redaction of {source} {start:g}-{end:g} s was added after it was "
                        "published, and the published version does not have it: publish "
                        "the new edit (once approved), or it stays out of the feed",
                    )
                )

    # --- every byte: text, traces, raw recordings
    names = outgoing.name_terms(people.values(), {w.person for w in withdrawals})
    by_episode: dict[str, list[outgoing.Term]] = {
        slug: [outgoing.Term(t, f"a redacted text of {slug}") for t in pub.redactions]
        for slug, pub in published.items()
    }
    for slug in set(in_feeds) | set(episodes):
        folder = show.episodes_dir / slug
        now = _current_redactions(folder) if folder.is_dir() else None
        for _, _, _, text in now or []:
            if text.strip():
                by_episode.setdefault(slug, []).append(
                    outgoing.Term(text, f"a redacted text of {slug}")
                )
    every = [t for terms in by_episode.values() for t in terms]
    for key, data in feeds.items():
        for why in outgoing.check_feed(data, names, by_episode, show):
            find.append(Finding("text", key, f"contains {why}"))
    if raw_manifest is not None:
        for slug, record in episodes.items():
            own = json.dumps(record).encode()
            terms = names + by_episode.get(slug, [])
            for f in outgoing.check_file(Path("m.json"), terms, data=own):
                find.append(Finding("text", manifest_key(show), f"says of {slug}: {f.why}"))
    recordings = _recordings(show)
    sizes = {size for size, _ in recordings.values()}
    hashed: dict[Path, str] = {}  # a recording is hashed only when a public file's size matches
    allowed = frozenset({f"ID3v2_3:Artist={show.author}"})
    with tempfile.TemporaryDirectory(prefix="storycast-audit-") as tmp:
        for key, obj in sorted(ours.items()):
            suffix = Path(key).suffix.lower()
            if suffix in _RECORDING_SUFFIXES:
                find.append(Finding("raw", key, f"a {suffix} file: storycast never publishes one"))
            if key in feed_keys or key == manifest_key(show):
                continue
            deep = read(key) if read is not None else True
            if not deep and obj.size not in sizes:
                continue
            path = Path(tmp) / ("obj" + "".join(Path(key).suffixes[-2:]))
            if not store.get_file(key, path):
                continue
            if obj.size in sizes:
                digest = sha256_file(path)
                for name, (size, original) in recordings.items():
                    if size != obj.size:
                        continue
                    if original not in hashed:
                        hashed[original] = sha256_file(original)
                    if hashed[original] == digest:
                        find.append(Finding("raw", key, f"is the raw recording {name}"))
            if not deep:
                continue
            report.read += 1
            slug = recorded.get(key) or key_episode(show, key) or ""
            terms = names + (by_episode.get(slug, []) if slug else every)
            for f in outgoing.check_file(path, terms, key):
                find.append(Finding("text", key, f"contains {f.why}"))
            if suffix in _MEDIA_SUFFIXES:
                for trace in scrub.find_traces(path)[:4]:
                    find.append(Finding("traces", key, trace))
                if use_exiftool:
                    for trace in exif_traces(path, allowed)[:4]:
                        find.append(Finding("traces", key, f"ExifTool reads {trace}"))
            path.unlink(missing_ok=True)
    return report


def _recordings(show: Show) -> dict[str, tuple[int, Path]]:
    """Every raw recording of the show's episodes on this machine: name -> (size, path)."""
    found: dict[str, tuple[int, Path]] = {}
    for folder in find_episode_folders(show.episodes_dir):
        recordings = folder / "recordings"
        if not recordings.is_dir():
            continue
        for path in sorted(recordings.rglob("*")):
            if path.is_file() and not path.is_symlink():
                found[f"{folder.name}/recordings/{path.name}"] = (path.stat().st_size, path)
    return found
