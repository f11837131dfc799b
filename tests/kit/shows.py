"""Shows and episode jobs made to measure (no rendering), and a store that counts requests."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.media.probe import sha256_file
from pipeline.records import Episode, EpisodeJob, Output, Show, StorageTarget

ROOT = Path(__file__).resolve().parent.parent.parent


def synthetic_show(
    folder: Path, episodes: int, storage: StorageTarget, base_url: str, slug: str = "bench-show"
) -> tuple[Show, list[EpisodeJob]]:
    """A show of `episodes` ready episodes with small staged files (audio, captions, chapters)."""
    folder.mkdir(parents=True, exist_ok=True)
    artwork = folder / "artwork.jpg"
    shutil.copyfile(ROOT / "feeds" / "riverside-voices.jpg", artwork)
    show = Show(
        path=folder / f"{slug}.yaml",
        slug=slug,
        title="Bench Show",
        description="A synthetic show for measuring publishing.",
        author="storycast",
        owner_name="storycast",
        owner_email="bench@example.org",
        language="en",
        link="https://example.org/bench",
        artwork=artwork,
        category="Society & Culture",
        explicit=False,
        base_url=base_url,
        storage=storage,
        episodes_dir=folder / "episodes",
        guid="0c3f7a8e-0000-5000-8000-000000000001",
    )
    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    jobs = [
        synthetic_job(show, folder, n, start + timedelta(days=n)) for n in range(1, episodes + 1)
    ]
    return show, jobs


def synthetic_job(
    show: Show, folder: Path, number: int, published: datetime, revision: int = 0
) -> EpisodeJob:
    slug = f"episode-{number:03d}"
    ep_folder = folder / "episodes" / slug
    staged = folder / "staging" / slug
    staged.mkdir(parents=True, exist_ok=True)
    episode = Episode(
        folder=ep_folder,
        slug=slug,
        show=show.slug,
        title=f"Episode {number}" + (f" (revision {revision})" if revision else ""),
        description=f"Synthetic episode {number}.",
        number=number,
        season=None,
        published=published,
        edl=ep_folder / "edl.yaml",
    )
    job = EpisodeJob(folder=ep_folder, episode=episode, duration=60.0, status="ready")
    files = {
        "audio": (f"{slug}.mp3", "audio/mpeg", b"ID3" + os.urandom(4000)),
        "captions-vtt": (
            f"{slug}.vtt",
            "text/vtt",
            f"WEBVTT\n\n00:00.000 --> 00:02.000\nEpisode {number}, revision {revision}\n".encode(),
        ),
        "chapters": (
            f"{slug}.chapters.json",
            "application/json+chapters",
            json.dumps(
                {"version": "1.2.0", "chapters": [{"startTime": 0, "title": slug}]}
            ).encode(),
        ),
    }
    for role, (name, content_type, data) in files.items():
        path = staged / name
        path.write_bytes(data)
        sha = sha256_file(path)
        stem, dot, ext = name.partition(".")
        key = f"media/{show.slug}/{stem}-{sha[:16]}{dot}{ext}"
        job.outputs[role] = Output(path, key, content_type, role, len(data), sha)
    return job


@dataclass
class Counted:
    seconds: float
    requests: dict[str, int]
    manifest_reads: int
    puts: int


def count_requests(store: Any) -> tuple[Counter[str], list[str]]:
    """Count every HTTP request an S3Store's client sends (boto3 `before-send` events)."""
    counts: Counter[str] = Counter()
    urls: list[str] = []

    def before_send(request: Any, **_: Any) -> None:
        counts[str(request.method)] += 1
        urls.append(f"{request.method} {request.url}")

    for client in (store.client, store._first_client):
        client.meta.events.register("before-send.s3", before_send)
    return counts, urls


def _without_versions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_versions(v) for k, v in value.items() if k != "version"}
    if isinstance(value, list):
        return [_without_versions(v) for v in value]
    return value


def published_files(public: Path) -> dict[str, bytes]:
    """Every published file's bytes by its key; the manifest as canonical JSON without the
    store's object versions (when each file was written), so two runs that published the
    same things compare equal."""
    found: dict[str, bytes] = {}
    for path in sorted(p for p in public.rglob("*") if p.is_file()):
        name = str(path.relative_to(public))
        data = path.read_bytes()
        if name.startswith("manifests/"):
            data = json.dumps(_without_versions(json.loads(data)), sort_keys=True).encode()
        found[name] = data
    return found
