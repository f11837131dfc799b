"""Takedowns in a real bucket (SeaweedFS): killed mid-way and finished by the next run, the
private archive purged, raw recordings erased on request; checked by fetching back as a
listener would and by `storycast audit`."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from pipeline.project import auditlog

import kit.seaweed as sw
from conftest import Run, copy_with_caches, storycast
from kit.seaweed import PRIVATE, PUBLIC, Proxy, Seaweed, cli, cli_popen, configure, fetch, listing

seaweed = sw.seaweed  # fixtures: the session's SeaweedFS, and a proxy in front of it
proxy = sw.proxy
SHOW = "riverside-voices"


def _audit_log(root: Path) -> list[dict[str, object]]:
    """What was done (the audit log without its records of what was asked)."""
    return [e for e in auditlog.read(root / "episodes") if e["action"] != "withdraw"]


@pytest.fixture
def bucket_project(example_run: Run, tmp_path: Path, seaweed: Seaweed) -> tuple[Path, str]:
    root = copy_with_caches(example_run, tmp_path / "p")
    prefix = f"td-{tmp_path.name[-12:].lower().replace('_', '-')}"
    configure(root, seaweed, prefix, private=f"s3://{PRIVATE}/{prefix}-raw")
    run = cli(root, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    assert [k for k in listing(seaweed, PRIVATE, f"{prefix}-raw/") if "/open-mic/" in k]
    return root, prefix


def test_a_takedown_killed_mid_way_in_a_bucket_is_finished_by_the_next_run(
    bucket_project: tuple[Path, str], seaweed: Seaweed, proxy: Proxy
) -> None:
    root, prefix = bucket_project
    keys = {k for k in listing(seaweed, PUBLIC, f"{prefix}/") if "/open-mic-" in k}
    assert len(keys) >= 5
    assert storycast(root, "withdraw", "alex", "--requested-by", "Alex").returncode == 0
    configure(
        root, seaweed, prefix, endpoint=proxy.endpoint, private=f"s3://{PRIVATE}/{prefix}-raw"
    )
    proxy.faults.hold_methods = ("DELETE",)
    proxy.faults.hold_after_puts = 0  # the first deletion hangs...
    run = cli_popen(root, "publish")
    assert proxy.holding.wait(timeout=120), run.communicate(timeout=5)
    run.send_signal(signal.SIGKILL)  # ...and the producer's laptop dies there
    run.wait(timeout=30)
    proxy.release.set()
    # the feed was rewritten before anything was deleted: listeners no longer see it
    base = f"{seaweed.endpoint}/{PUBLIC}/{prefix}"
    feed = fetch(f"{base}/feeds/{SHOW}.xml").body
    assert b"open-mic" not in feed and b"Open mic night" not in feed
    assert {k for k in listing(seaweed, PUBLIC, f"{prefix}/") if "/open-mic-" in k} == keys

    proxy.reset()
    again = cli(root, "publish")  # the killed run's lease, on this machine, is stale
    assert again.returncode == 0, again.stdout + again.stderr
    assert "TAKEN DOWN open-mic" in again.stdout
    assert not [k for k in listing(seaweed, PUBLIC, f"{prefix}/") if "/open-mic-" in k]
    assert not [k for k in listing(seaweed, PRIVATE, f"{prefix}-raw/") if "/open-mic/" in k]
    removed = {f"{prefix}/{k}" for e in _audit_log(root) for k in e["removed_from_storage"]}  # type: ignore[attr-defined]
    assert keys <= removed
    assert _audit_log(root)[-1]["complete"] is True
    audit = cli(root, "audit")
    assert audit.returncode == 0, audit.stdout


def test_raw_recordings_are_erased_from_the_private_archive_too(
    bucket_project: tuple[Path, str], seaweed: Seaweed
) -> None:
    root, prefix = bucket_project
    poem = root / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    run = cli(root, "withdraw", "alex", "--requested-by", "Alex", "--erase-recordings", "--yes")
    assert run.returncode == 0, run.stdout + run.stderr
    assert not poem.exists()
    assert not [k for k in listing(seaweed, PRIVATE, f"{prefix}-raw/") if "poem" in k]
    assert [k for k in listing(seaweed, PRIVATE, f"{prefix}-raw/") if "interview" in k]
    [entry] = _audit_log(root)
    assert entry["action"] == "erase_recordings"
    assert any("poem.m4a" in str(d) and "s3://" in str(d) for d in entry["deleted"])  # type: ignore[attr-defined]
    published = cli(root, "publish")  # the takedown still happens, from the record
    assert "TAKEN DOWN open-mic" in published.stdout, published.stdout
    assert not [k for k in listing(seaweed, PUBLIC, f"{prefix}/") if "/open-mic-" in k]


def _versions(server: Seaweed, bucket: str, prefix: str) -> dict[str, int]:
    """Every key under ``prefix`` that any version or delete marker is kept for: how many."""
    from kit.seaweed import s3_client

    found: dict[str, int] = {}
    pages = s3_client(server.endpoint).get_paginator("list_object_versions")
    for page in pages.paginate(Bucket=bucket, Prefix=prefix):
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            found[item["Key"]] = found.get(item["Key"], 0) + 1
    return found


def test_a_takedown_in_a_bucket_that_keeps_old_versions_leaves_none(
    example_run: Run, tmp_path: Path, seaweed: Seaweed
) -> None:
    """BROKE: with versioning on (as operators turn it on for safety), a takedown's deletes
    only hid the episode: every file of it stayed retrievable by version id, the raw
    recordings stayed in the private archive's history, and the feed one version back
    still listed it. Fixed: in such a bucket every delete removes every version, and every
    write removes the key's older versions."""
    from kit.seaweed import s3_client

    client = s3_client(seaweed.endpoint)
    public, private = "pub-versions", "private-versions"
    for bucket in (public, private):
        client.create_bucket(Bucket=bucket)
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    root = copy_with_caches(example_run, tmp_path / "p")
    configure(root, seaweed, "show", bucket=public, private=f"s3://{private}/raw")
    first = cli(root, "publish")
    assert first.returncode == 0, first.stdout + first.stderr
    # a second version of the show's text: the episodes' titles changed (approval is not
    # needed for a title) and published again
    configure(root, seaweed, "show", bucket=public, private=f"s3://{private}/raw",
              title_suffix=" (again)")  # fmt: skip
    again = cli(root, "publish")
    assert again.returncode == 0, again.stdout + again.stderr
    feed_key = f"show/feeds/{SHOW}.xml"
    assert _versions(seaweed, public, feed_key) == {feed_key: 1}  # no history kept
    assert [k for k in _versions(seaweed, private, "raw/") if "/open-mic/" in k]

    assert storycast(root, "withdraw", "alex", "--requested-by", "Alex").returncode == 0
    run = cli(root, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "TAKEN DOWN open-mic" in run.stdout
    kept = _versions(seaweed, public, "show/")
    assert not [k for k in kept if "open-mic" in k], kept
    assert not [k for k in _versions(seaweed, private, "raw/") if "/open-mic/" in k]
    # the feed (and the manifest, the show's page) keep no version that listed it
    for key, count in kept.items():
        assert count == 1, (key, count)
        body = client.get_object(Bucket=public, Key=key)["Body"].read()
        assert b"Open mic night" not in body, key
    audit = cli(root, "audit")
    assert audit.returncode == 0, audit.stdout


@pytest.mark.parametrize("place", ["private", "cache"])
def test_raw_recordings_never_go_where_anyone_can_read_them(
    example_run: Run, tmp_path: Path, seaweed: Seaweed, place: str
) -> None:
    """BROKE: a private archive (or a shared cache) set to another prefix of the public
    bucket passed the check that it is not the public place itself, and the raw recordings
    were put there, readable by anyone. Fixed: before the first raw recording goes there, a
    file is written and asked for with no credentials; where that works nothing is put
    there, and the run says why."""
    root = copy_with_caches(example_run, tmp_path / "p")
    prefix = f"open-{place}-{tmp_path.name[-8:].lower().replace('_', '-')}"
    if place == "private":
        configure(root, seaweed, "show-" + prefix, private=f"s3://{PUBLIC}/{prefix}")
    else:
        configure(root, seaweed, "show-" + prefix)
        show = root / "feeds" / f"{SHOW}.yaml"
        show.write_text(
            show.read_text()
            + f"compute:\n  cache: s3://{PUBLIC}/{prefix}\n  endpoint_url: {seaweed.endpoint}\n"
            "  region: us-east-1\n  path_style: true\n"
        )
    run = cli(root, "publish")
    said = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0, said
    assert "can be read by anyone: a request with no credentials read a file written there" in said
    assert ("`private:` a bucket of its own" if place == "private" else "`cache:` a bucket") in said
    assert listing(seaweed, PUBLIC, f"{prefix}/") == {}  # nothing, not even the check's file
    # and nothing raw under the public target either
    assert not [
        k
        for k in listing(seaweed, PUBLIC, f"show-{prefix}/")
        if k.endswith((".m4a", ".opus", ".3gp"))
    ]


def test_a_withdrawal_recorded_on_one_machine_holds_on_another(
    bucket_project: tuple[Path, str], seaweed: Seaweed, example_run: Run, tmp_path: Path
) -> None:
    """BROKE: withdrawals were remembered only in the project folder of the machine that
    recorded them. A second volunteer's laptop, with the project as it was before the
    withdrawal (never pushed, or copied earlier), published the withdrawn episode again to
    the same bucket. Fixed: the private archive keeps the show's audit log (never the
    public bucket), and every publish reads it first and puts back what its own lacks."""
    root, prefix = bucket_project
    assert storycast(root, "withdraw", "alex", "--requested-by", "Alex").returncode == 0
    down = cli(root, "publish")
    assert "TAKEN DOWN open-mic" in down.stdout, down.stdout + down.stderr
    assert [k for k in listing(seaweed, PRIVATE, f"{prefix}-raw/") if k.endswith(f"{SHOW}.jsonl")]
    assert not [k for k in listing(seaweed, PUBLIC, f"{prefix}/") if "audit" in k]

    other = copy_with_caches(example_run, tmp_path / "other-laptop")
    configure(other, seaweed, prefix, private=f"s3://{PRIVATE}/{prefix}-raw")
    assert not (other / "episodes" / "withdrawals.yaml").exists()
    again = cli(other, "publish")
    assert again.returncode == 0, again.stdout + again.stderr
    said = "put back from storycast's own copies (.storycast/audit/, and the private archive's)"
    assert said in again.stderr, again.stderr
    assert not [k for k in listing(seaweed, PUBLIC, f"{prefix}/") if "/open-mic-" in k]
    feed = fetch(f"{seaweed.endpoint}/{PUBLIC}/{prefix}/feeds/{SHOW}.xml").body
    assert b"Open mic night" not in feed and b"Getting your first flat" in feed
    log = (other / "episodes" / "audit.jsonl").read_text()
    assert '"action": "withdraw"' in log and '"person": "alex"' in log
    audit = cli(other, "audit")
    assert audit.returncode == 0, audit.stdout
