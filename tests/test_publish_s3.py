"""`storycast publish` to a real SeaweedFS, checked over plain HTTP as a podcast app would.

The example show is rendered once (the `example_run` project's caches are
copied), then published to several prefixes of the public bucket.
"""

from __future__ import annotations

import errno
import io
import json
import random
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import podcastparser
import pytest

from pipeline import orchestrator
from pipeline.cache import Cache
from pipeline.media.probe import probe
from pipeline.project.showfile import load_show
from pipeline.project.yamlfile import Problems
from pipeline.publish import apply as publish
from pipeline.publish import archive, plan
from pipeline.records import EpisodeJob
from pipeline.store import local as local_store
from pipeline.store import open_private_store, open_store

import kit.seaweed as sw
from conftest import Run
from kit.seaweed import (
    ACCESS,
    PRIVATE,
    PUBLIC,
    SECRET,
    SHOW,
    Proxy,
    Seaweed,
    check_feed_is_valid,
    cli,
    cli_popen,
    configure,
    feed_files,
    fetch,
    free_port,
    listing,
    s3_client,
    s3_env,
)

seaweed = sw.seaweed  # fixtures: the session's SeaweedFS, and a proxy in front of it
proxy = sw.proxy


@pytest.fixture(scope="session")
def project(example_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example project, with its render and transcription caches warm."""
    assert example_run.returncode == 0, example_run.stdout + example_run.stderr
    root = tmp_path_factory.mktemp("s3-project") / "p"
    shutil.copytree(example_run.root, root)
    return root


@pytest.fixture(scope="session")
def published(project: Path, seaweed: Seaweed) -> tuple[Path, str, str]:
    """The example show published once to s3://pub/show: (root, base URL, output)."""
    base = configure(project, seaweed, "show")
    run = cli(project, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    return project, base, run.stdout + run.stderr


def _creds(monkeypatch: pytest.MonkeyPatch, secret: str = SECRET) -> None:
    for name, value in s3_env(ACCESS, secret).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)


# --- the published show, as listeners get it ------------------------------------------


def test_feed_and_every_file_are_served_as_apps_need(
    published: tuple[Path, str, str], seaweed: Seaweed
) -> None:
    _, base, output = published
    assert "All 2 episodes published." in output
    feed_url = f"{base}/feeds/{SHOW}.xml"
    feed = fetch(feed_url)
    assert feed.status == 200
    assert feed.headers["content-type"].startswith("application/rss+xml")
    assert feed.headers["cache-control"] == "public, max-age=300"
    parsed = podcastparser.parse(feed_url, io.BytesIO(feed.body))
    assert {e["title"] for e in parsed["episodes"]} == {
        "Getting your first flat",
        "Open mic night",
    }
    files = feed_files(feed.body)
    assert len(files) >= 2 + 2 * 2  # enclosures, transcripts and chapters, artwork
    for url in files:
        assert url.startswith(base + "/media/"), url
    for episode in parsed["episodes"]:
        (enclosure,) = episode["enclosures"]
        url, length = enclosure["url"], enclosure["file_size"]
        head = fetch(url, "HEAD")
        assert head.status == 200
        assert int(head.headers["content-length"]) == length
        assert head.headers["content-type"] == "audio/mpeg"
        # a day, not a year's `immutable`: a takedown then holds at a CDN within a day
        assert head.headers["cache-control"] == "public, max-age=86400"
        assert head.headers.get("accept-ranges") == "bytes"
        whole = fetch(url).body
        assert len(whole) == length
        part = fetch(url, headers={"Range": "bytes=1000-4999"})
        assert part.status == 206
        assert part.headers["content-range"] == f"bytes 1000-4999/{length}"
        assert part.body == whole[1000:5000]
        tail = fetch(url, headers={"Range": "bytes=-100"})
        assert tail.status == 206 and tail.body == whole[-100:]
    for url in files:
        got = fetch(url, "HEAD")
        assert got.status == 200, url
        if url.endswith(".vtt"):
            assert got.headers["content-type"] == "text/vtt"
    cors = s3_client(seaweed.endpoint).get_bucket_cors(Bucket=PUBLIC)["CORSRules"]
    assert any("*" in r["AllowedOrigins"] and "GET" in r["AllowedMethods"] for r in cors)


def test_republishing_with_nothing_changed_makes_no_put(
    published: tuple[Path, str, str], seaweed: Seaweed, proxy: Proxy
) -> None:
    root, base, _ = published
    configure(root, seaweed, "show", endpoint=proxy.endpoint)
    started = time.monotonic()
    run = cli(root, "publish")
    seconds = time.monotonic() - started
    assert run.returncode == 0, run.stdout + run.stderr
    assert "feed unchanged" in run.stderr
    # the publishing lease: looked for, taken, read back on release, deleted (pipeline.store.locks)
    lease = [line for line in proxy.log if "/locks/" in line]
    assert lease == [
        "GET /pub/show/locks/riverside-voices.json",
        "PUT /pub/show/locks/riverside-voices.json",
        "GET /pub/show/locks/riverside-voices.json",
        "DELETE /pub/show/locks/riverside-voices.json",
    ], proxy.log
    rest = [line for line in proxy.log if "/locks/" not in line]
    assert not [line for line in rest if not line.startswith("GET ")], proxy.log  # no writes
    # publishing: the manifest and two listings; the audit: one listing, then the manifest
    # and the feed read back. Nothing else (no media file is read: none was written).
    assert sum("/manifests/" in line for line in rest) == 2, proxy.log
    assert sum("list-type=2" in line for line in rest) == 3, proxy.log
    assert sum("/feeds/" in line for line in rest) == 1, proxy.log
    assert len(rest) == 6, proxy.log
    assert seconds < 30


def test_credentials_are_never_printed_or_published(
    published: tuple[Path, str, str], seaweed: Seaweed
) -> None:
    root, _, output = published
    assert SECRET not in output and ACCESS not in output
    client = s3_client(seaweed.endpoint)
    keys = listing(seaweed, PUBLIC, "show/")
    assert keys
    for key in keys:
        body = client.get_object(Bucket=PUBLIC, Key=key)["Body"].read()
        assert SECRET.encode() not in body and ACCESS.encode() not in body, key
    for path in (root / ".storycast").rglob("*"):
        if path.is_file() and path.stat().st_size < 5_000_000:
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in (root / "feeds" / f"{SHOW}.yaml").read_text()


# --- faults -----------------------------------------------------------------------------


def test_wrong_credentials_leave_everything_as_it_was(
    published: tuple[Path, str, str], seaweed: Seaweed
) -> None:
    root, base, _ = published
    configure(root, seaweed, "show", title_suffix=" (new)")  # something to upload
    before = listing(seaweed, PUBLIC, "show/")
    feed_before = fetch(f"{base}/feeds/{SHOW}.xml").body
    run = cli(root, "publish", env=s3_env(ACCESS, "a-wrong-secret"))
    out = run.stdout + run.stderr
    assert run.returncode == 1
    assert "refused the credentials" in out and f"bucket `{PUBLIC}`" in out
    assert "a-wrong-secret" not in out and SECRET not in out
    assert listing(seaweed, PUBLIC, "show/") == before  # nothing half-written
    assert fetch(f"{base}/feeds/{SHOW}.xml").body == feed_before
    configure(root, seaweed, "show")


def test_a_bucket_that_does_not_exist(project: Path, seaweed: Seaweed) -> None:
    configure(project, seaweed, "x", bucket="no-such-bucket")
    run = cli(project, "publish")
    assert run.returncode == 1
    assert "the bucket `no-such-bucket` does not exist" in run.stdout
    assert "FAILED     publishing" in run.stdout


def test_the_store_unreachable(project: Path, seaweed: Seaweed) -> None:
    port = free_port()
    configure(project, seaweed, "x", endpoint=f"http://127.0.0.1:{port}")
    started = time.monotonic()
    run = cli(project, "publish")
    assert run.returncode == 1
    assert f"the endpoint http://127.0.0.1:{port} cannot be reached" in run.stdout
    assert time.monotonic() - started < 60


def test_disk_full_while_staging_sends_nothing(
    project: Path, seaweed: Seaweed, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(project, seaweed, "disk", endpoint=proxy.endpoint)
    _creds(monkeypatch)

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(publish, "write_atomic", full)  # the staging write only
    report = orchestrator.publish_show(project / "feeds" / f"{SHOW}.yaml", project, io.StringIO())
    assert "could not be staged" in report.publish_error
    assert "No space left on device" in report.publish_error
    assert "Free some disk space" in report.publish_error
    writes = [line for line in proxy.log if not line.startswith(("GET ", "HEAD "))]
    assert all("/locks/" in line for line in writes), writes  # only the publishing lease
    assert listing(seaweed, PUBLIC, "disk/") == {}  # which is released


def test_local_disk_full_keeps_the_previous_feed(
    project: Path, monkeypatch: pytest.MonkeyPatch, seaweed: Seaweed
) -> None:
    """The local store (the default) with the disk filling up part-way through."""
    configure(project, seaweed, "unused")
    show_file = project / "feeds" / f"{SHOW}.yaml"
    text = show_file.read_text()
    text = (
        text.split("storage:\n")[0]
        + "storage: local:public-disk\n"
        + ("base_url: http://127.0.0.1:8000\n")
    )
    show_file.write_text(text)
    report = orchestrator.publish_show(show_file, project, io.StringIO())
    assert report.ok, report.publish_error
    public = project / "public-disk"
    feed = (public / "feeds" / f"{SHOW}.xml").read_bytes()

    configure(project, seaweed, "unused", title_suffix=" (again)")
    show_file.write_text(text)
    calls = {"n": 0}

    class FullDisk:
        @staticmethod
        def copyfile(src: Any, dst: Any) -> Any:
            calls["n"] += 1
            if calls["n"] >= 2:
                raise OSError(errno.ENOSPC, "No space left on device")
            return shutil.copyfile(src, dst)

    monkeypatch.setattr(local_store, "shutil", FullDisk)
    report = orchestrator.publish_show(show_file, project, io.StringIO())
    assert "No space left on device" in report.publish_error
    assert "free disk space" in report.publish_error
    assert (public / "feeds" / f"{SHOW}.xml").read_bytes() == feed
    for url in feed_files(feed):
        assert (public / url.split("127.0.0.1:8000/", 1)[1]).is_file(), url
    assert not [p for p in public.rglob(".*") if p.is_file()]  # no half-written files
    configure(project, seaweed, "unused")


def test_an_object_changed_by_hand_is_reported_not_overwritten(
    project: Path, seaweed: Seaweed
) -> None:
    base = configure(project, seaweed, "hand")
    assert cli(project, "publish").returncode == 0
    feed = fetch(f"{base}/feeds/{SHOW}.xml").body
    client = s3_client(seaweed.endpoint)
    files = [u for u in feed_files(feed) if "first-flat" in u]
    vtt = next(u for u in files if u.endswith(".vtt"))
    mp3 = next(u for u in files if u.endswith(".mp3"))
    vtt_key, mp3_key = (u[len(f"{seaweed.endpoint}/{PUBLIC}/") :] for u in (vtt, mp3))
    client.put_object(Bucket=PUBLIC, Key=vtt_key, Body=b"WEBVTT\n\nfixed by hand\n")
    client.put_object(Bucket=PUBLIC, Key=mp3_key, Body=b"a different recording")

    # The title changes, so the old MP3 is no longer referenced and would be deleted.
    configure(project, seaweed, "hand", title_suffix=" (retitled)")
    run = cli(project, "publish")
    out = run.stdout + run.stderr
    assert run.returncode == 1
    assert out.count("changed by hand since the last publish") >= 2, out
    assert vtt_key.split("/", 1)[1] in out and mp3_key.split("/", 1)[1] in out
    assert "not overwritten or deleted" in out
    assert fetch(vtt).body == b"WEBVTT\n\nfixed by hand\n"  # not overwritten
    assert fetch(mp3).body == b"a different recording"  # not deleted
    body = check_feed_is_valid(f"{base}/feeds/{SHOW}.xml")
    assert b"(retitled)" in body  # the rest published
    # Deleting the hand-made object lets storycast put its own file back.
    client.delete_object(Bucket=PUBLIC, Key=vtt_key)
    client.delete_object(Bucket=PUBLIC, Key=mp3_key)
    run = cli(project, "publish")
    assert run.returncode == 0, run.stdout
    assert fetch(vtt).body.startswith(b"WEBVTT") and b"by hand" not in fetch(vtt).body
    configure(project, seaweed, "hand")


def _titles(body: bytes) -> set[str]:
    return {e["title"] for e in podcastparser.parse("x", io.BytesIO(body))["episodes"]}


def test_a_publish_killed_at_any_point_leaves_the_previous_feed_valid(
    project: Path, seaweed: Seaweed, proxy: Proxy
) -> None:
    base = configure(project, seaweed, "kill", endpoint=proxy.endpoint)
    feed_url = f"{base}/feeds/{SHOW}.xml"
    assert cli(project, "publish").returncode == 0
    # How many writes (PUT or DELETE) does publishing a change take?
    configure(project, seaweed, "kill", endpoint=proxy.endpoint, title_suffix=" take 0")
    proxy.reset()
    assert cli(project, "publish").returncode == 0
    writes = proxy.counts["PUT"] + proxy.counts["DELETE"]
    assert writes >= 5, proxy.log  # media, the manifest's note, feed, manifest, deletions

    in_order = [line for line in proxy.log if line.startswith(("PUT", "DELETE"))]
    after_feed = next(i for i, line in enumerate(in_order) if "/feeds/" in line) + 1
    seed = random.randrange(1_000_000)
    points = random.Random(seed).sample(range(writes), k=min(4, writes))
    if after_feed not in points:  # the new feed is out, its manifest is not: the hardest case
        points.append(after_feed)
    titles = _titles(check_feed_is_valid(feed_url))
    for trial, point in enumerate(points, 1):
        configure(project, seaweed, "kill", endpoint=proxy.endpoint, title_suffix=f" take {trial}")
        proxy.reset()
        proxy.faults.hold_after_puts = point
        proc = cli_popen(project, "publish")
        deadline = time.monotonic() + 120
        while not proxy.holding.is_set() and proc.poll() is None:
            assert time.monotonic() < deadline, f"seed {seed}: publish never reached {point}"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proxy.release.set()
        where = f"seed {seed}, killed after {point} of {writes} writes"
        body = check_feed_is_valid(feed_url)  # the previous feed, or the new one: whole
        now = _titles(body)
        assert now == titles or all(f"take {trial}" in t for t in now), (where, now)
        titles = now
    # The next run completes the publish and tidies up.
    configure(project, seaweed, "kill", endpoint=proxy.endpoint, title_suffix=" take final")
    proxy.reset()
    run = cli(project, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    body = check_feed_is_valid(feed_url)
    assert all("take final" in t for t in _titles(body))
    manifest = json.loads(fetch(f"{base}/manifests/{SHOW}.json").body)
    referenced = {manifest["artwork"]["key"], manifest["site"]["key"]} | {
        f["key"] for ep in manifest["episodes"].values() for f in ep["files"].values()
    }
    stored = {k[len("kill/") :] for k in listing(seaweed, PUBLIC, "kill/media/")}
    # nothing left over from the killed runs: what is stored is what the manifest
    # publishes, or superseded files it keeps for apps holding an older feed
    assert stored == referenced | set(manifest["retired"])
    configure(project, seaweed, "kill")


# --- private stays private ----------------------------------------------------------------


def test_raw_recordings_go_only_to_the_private_target(
    project: Path, seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = configure(project, seaweed, "priv", private=f"s3://{PRIVATE}/raw")
    _creds(monkeypatch)
    assert cli(project, "publish").returncode == 0
    problems = Problems()
    show = load_show(project / "feeds" / f"{SHOW}.yaml", problems)
    assert show is not None and not problems.items
    private = open_private_store(show.storage, project, show.path)
    assert private is not None and PRIVATE in private.description
    cache = Cache(project / ".storycast" / "cache")
    jobs: list[EpisodeJob] = []
    raw: dict[str, bytes] = {}
    for folder in sorted((project / "episodes").iterdir()):
        if not (folder / "recordings").is_dir():
            continue
        job = EpisodeJob(folder=folder, status="published")
        for path in sorted((folder / "recordings").iterdir()):
            job.recordings[path.name] = probe(path, path.name, cache)
            raw[f"{folder.name}/{path.name}"] = path.read_bytes()
        jobs.append(job)
    said: list[str] = []
    # `storycast publish` already kept every raw recording in the private target
    assert archive.archive_recordings(show, jobs, private, said.append) == 0

    stored = listing(seaweed, PRIVATE, "raw/recordings/")
    assert len(stored) == len(raw)
    client = s3_client(seaweed.endpoint)
    anonymous_urls = [f"{seaweed.endpoint}/{PRIVATE}/{key}" for key in stored]
    public_urls = [f"{base}/{key[len('raw/') :]}" for key in stored]
    for key in stored:
        assert client.get_object(Bucket=PRIVATE, Key=key)["Body"].read() in raw.values()
    for url in anonymous_urls + public_urls:
        assert fetch(url).status in (403, 404), url
    # No object anywhere in the public bucket holds a raw recording's bytes.
    for key in listing(seaweed, PUBLIC, ""):
        body = client.get_object(Bucket=PUBLIC, Key=key)["Body"].read()
        assert body not in raw.values(), key
    configure(project, seaweed, "priv")


# --- the dry run, and many episodes (synthetic, no rendering) ------------------------------


def _synthetic(
    tmp_path: Path, seaweed: Seaweed, prefix: str, episodes: int
) -> tuple[Any, list[EpisodeJob], Any, Callable[[], dict[str, int]]]:
    from pipeline.records import StorageTarget

    from kit.shows import count_requests, synthetic_show

    storage = StorageTarget(
        f"s3://{PUBLIC}/{prefix}", endpoint_url=seaweed.endpoint, path_style=True
    )
    show, jobs = synthetic_show(tmp_path, episodes, storage, seaweed.public_url(prefix))
    store = open_store(storage, tmp_path)
    counts, _ = count_requests(store)
    return show, jobs, store, lambda: dict(counts)


def test_dry_run_plans_without_touching_anything(
    tmp_path: Path, seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kit.shows import synthetic_job

    _creds(monkeypatch)
    show, jobs, store, counts = _synthetic(tmp_path, seaweed, "plan", 3)
    first = plan.plan(show, jobs, store)
    assert {c.key for c in first.uploads} >= {o.key for j in jobs for o in j.outputs.values()}
    assert any(c.key == show.feed_key for c in first.uploads)
    assert not first.deletions and not first.conflicts
    text = plan.format_plan(first)
    assert "upload   media/bench-show/episode-001-" in text and "bytes" in text
    assert "Nothing was changed (dry run)." in text
    assert not {"PUT", "POST", "DELETE"} & set(counts())
    assert listing(seaweed, PUBLIC, "plan/") == {}

    publish.publish(show, jobs, store, tmp_path / "staging", lambda _: None)
    assert "nothing: all" in plan.format_plan(plan.plan(show, jobs, store))

    old = jobs[1]
    assert old.episode is not None
    jobs[1] = synthetic_job(show, tmp_path, 2, old.episode.published, revision=1)
    before = listing(seaweed, PUBLIC, "plan/")
    changed = plan.plan(show, jobs, store)
    assert {c.key for c in changed.uploads} == {
        o.key for o in jobs[1].outputs.values() if o.key not in {p.key for p in
        old.outputs.values()}
    }  # fmt: skip
    assert [c.key for c in changed.replacements] == [show.feed_key, "manifests/bench-show.json"]
    # superseded files are kept for apps holding the old feed, not deleted at once
    assert not changed.deletions
    assert {c.key for c in changed.retiring} == {
        o.key for o in old.outputs.values() if o.key not in {n.key for n in
        jobs[1].outputs.values()}
    }  # fmt: skip
    assert "(superseded: deleted after 7 days)" in plan.format_plan(changed)
    assert all(c.size > 0 for c in changed.uploads + changed.retiring)
    assert listing(seaweed, PUBLIC, "plan/") == before


def test_a_hundred_unchanged_episodes_one_manifest_read_no_put(
    tmp_path: Path, seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch
) -> None:
    _creds(monkeypatch)
    show, jobs, store, counts = _synthetic(tmp_path, seaweed, "hundred", 100)
    publish.publish(show, jobs, store, tmp_path / "staging", lambda _: None)
    for job in jobs:
        job.status = "ready"
    show2, _, store2, counts2 = _synthetic(tmp_path / "again", seaweed, "hundred", 0)
    started = time.perf_counter()
    result = publish.publish(show, jobs, store2, tmp_path / "staging", lambda _: None)
    seconds = time.perf_counter() - started
    assert counts2() == {"GET": 3}  # the manifest and two listings
    assert result.uploaded == result.deleted == 0
    assert seconds < 2.0


def test_withdrawn_episodes_come_down_failed_ones_keep_their_version(
    tmp_path: Path, seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch
) -> None:
    _creds(monkeypatch)
    show, jobs, store, _ = _synthetic(tmp_path, seaweed, "withdraw", 3)
    publish.publish(show, jobs, store, tmp_path / "staging", lambda _: None)
    gone = {o.key for o in jobs[0].outputs.values()}
    kept = {o.key for o in jobs[1].outputs.values()}
    jobs[0].status = "withdrawn"
    jobs[1].status = "failed"
    jobs[2].status = "ready"
    result = publish.publish(show, jobs, store, tmp_path / "staging", lambda _: None)
    assert set(result.removed["episode-001"]) == gone
    stored = {k.split("/", 1)[1] for k in listing(seaweed, PUBLIC, "withdraw/")}
    assert not gone & stored and kept <= stored
    body = check_feed_is_valid(seaweed.public_url("withdraw") + f"/{show.feed_key}")
    assert _titles(body) == {"Episode 2", "Episode 3"}
    assert "its previously published version stays in the feed" in jobs[1].notes
