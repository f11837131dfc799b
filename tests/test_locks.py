"""Two `storycast publish` runs of one show cannot interleave.

Locally, a file lock in the project and in the published folder; in S3, a lock object
written with a conditional put, with its owner and an expiry, against a real SeaweedFS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.store.local import LocalStore
from pipeline.store.locks import LockedError
from pipeline.store.s3 import S3Store

import kit.seaweed as sw
from conftest import Run, copy_with_caches, storycast
from kit.seaweed import PUBLIC, Seaweed, cli, configure, listing, s3_env

seaweed = sw.seaweed  # the session's SeaweedFS (a fixture)

SHOW = "riverside-voices"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def project(example_run: Run, tmp_path: Path) -> Path:
    return copy_with_caches(example_run, tmp_path / "p")


def test_a_second_publish_stops_while_the_folder_is_locked(project: Path) -> None:
    first = storycast(project, "publish")
    assert first.returncode == 0, first.stdout + first.stderr
    before = _snapshot(project / "public")
    lease = LocalStore(project / "public").lock(SHOW)
    try:
        run = storycast(project, "publish")
    finally:
        lease.release()
    assert run.returncode == 1
    assert "another `storycast publish` of `riverside-voices` is running" in run.stdout
    assert "stopped before changing anything" in run.stdout
    assert _snapshot(project / "public") == before
    assert not list((project / "public").rglob(".*"))  # nothing written into it to lock it
    again = storycast(project, "publish")  # released: publishing works again
    assert again.returncode == 0, again.stdout


def test_a_second_publish_in_the_same_project_says_who_runs(project: Path) -> None:
    from pipeline.store.locks import FileLease

    lease = FileLease(project / ".storycast" / "locks" / f"{SHOW}.lock", "x", "y")
    try:
        run = storycast(project, "publish")
    finally:
        lease.release()
    assert run.returncode == 1
    assert "another `storycast publish` of `riverside-voices` is running" in run.stdout
    assert f"process {os.getpid()}" in run.stdout  # who holds it
    assert not (project / "public").exists()


def test_two_publishes_started_together_do_not_interleave(project: Path) -> None:
    def start(*extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline", "--root", str(project), "publish", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    runs = [start(), start()]
    outputs = [(p.wait(timeout=600), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in outputs)
    stopped = [out for code, out, _ in outputs if code == 1]
    assert codes in ([0, 0], [0, 1]), outputs
    if codes == [0, 1]:  # they overlapped (nearly always): the second stopped cleanly
        assert "another `storycast publish`" in stopped[0]
    feed = (project / "public" / "feeds" / f"{SHOW}.xml").read_text()
    assert "Getting your first flat" in feed and "Open mic night" in feed
    # and with --wait, a second run waits for the first instead of stopping
    waiting = [start(), start("--wait", "300")]
    codes = [p.wait(timeout=600) for p in waiting]
    assert codes[1] == 0, waiting[1].communicate()


def _s3(server: Seaweed, prefix: str) -> S3Store:
    return S3Store(PUBLIC, prefix, endpoint_url=server.endpoint, path_style=True)


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in s3_env().items():
        monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("s3_credentials")
def test_an_s3_lock_is_held_by_one_run_at_a_time(seaweed: Seaweed) -> None:
    store = _s3(seaweed, "locks-one")
    lease = store.lock(SHOW)
    with pytest.raises(LockedError) as held:
        _s3(seaweed, "locks-one").lock(SHOW)
    assert "another `storycast publish`" in str(held.value)
    assert "expires at" in str(held.value)
    stored = json.loads(store.get_bytes(f"locks/{SHOW}.json") or b"{}")
    assert stored["run"] and stored["expires"] and "host" not in stored  # the bucket may be public
    lease.release()
    assert store.get_bytes(f"locks/{SHOW}.json") is None
    _s3(seaweed, "locks-one").lock(SHOW).release()  # free again


@pytest.mark.usefixtures("s3_credentials")
def test_racing_runs_get_the_s3_lock_exactly_once(seaweed: Seaweed) -> None:
    winners: list[object] = []
    losers: list[Exception] = []
    gate = threading.Barrier(6)

    def race() -> None:
        store = _s3(seaweed, "locks-race")
        gate.wait()
        try:
            winners.append(store.lock(SHOW))
        except LockedError as exc:
            losers.append(exc)

    threads = [threading.Thread(target=race) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(winners) == 1 and len(losers) == 5


@pytest.mark.usefixtures("s3_credentials")
def test_an_expired_s3_lock_is_taken_over(seaweed: Seaweed) -> None:
    store = _s3(seaweed, "locks-stale")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    stale = {"run": "killedrun", "pid": 1, "started": past, "expires": past}
    store.put_bytes(f"locks/{SHOW}.json", json.dumps(stale).encode(), "application/json", "")
    lease = store.lock(SHOW)
    now = json.loads(store.get_bytes(f"locks/{SHOW}.json") or b"{}")
    assert now["run"] != "killedrun"
    lease.release()


@pytest.mark.usefixtures("s3_credentials")
def test_publishing_to_s3_leaves_no_lock_behind(
    example_run: Run, tmp_path: Path, seaweed: Seaweed
) -> None:
    root = copy_with_caches(example_run, tmp_path / "s3")
    configure(root, seaweed, "locks-publish")
    run = cli(root, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    assert not [k for k in listing(seaweed, PUBLIC, "locks-publish/") if "/locks/" in k]
    # while someone holds it, a publish stops and says who, changing nothing
    lease = _s3(seaweed, "locks-publish").lock(SHOW)
    try:
        blocked = cli(root, "publish")
    finally:
        lease.release()
    assert blocked.returncode == 1
    assert "another `storycast publish` of `riverside-voices` is running" in blocked.stdout
