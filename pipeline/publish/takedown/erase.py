"""Erasing a person's raw recordings (``storycast withdraw ID --erase-recordings``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import StorycastError
from pipeline.project import ledger
from pipeline.project.showfile import find_episode_folders, read_appearances
from pipeline.publish.archive import safe_name
from pipeline.records import Show
from pipeline.store import ObjectStore

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
