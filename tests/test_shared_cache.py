"""The cache verified on read, on disk and in object storage (``compute: cache:``), and
workers that share nothing with the publishing process but that cache.

Each cache entry carries the sha256 of its bytes; an entry changed by hand is never used,
it is made again and the run says so. Checked as a producer sees it: the published files,
byte for byte against the example run's, and what the run prints.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest

import kit.seaweed as sw
from conftest import ROOT, Run, copy_example, copy_with_caches, storycast
from kit.machines import start_machines
from kit.seaweed import PRIVATE, PUBLIC, Seaweed, free_port, s3_client, s3_env
from kit.shows import published_files

seaweed = sw.seaweed  # the session's SeaweedFS

SHOW = "riverside-voices"


def published(public: Path) -> dict[str, str]:
    """sha256 of every published file (the manifest without its write times)."""
    return {
        name: hashlib.sha256(data).hexdigest() for name, data in published_files(public).items()
    }


def _everything_published(project: Path) -> bytes:
    return b"\n".join(
        p.read_bytes() for p in sorted((project / "public").rglob("*")) if p.is_file()
    )


def share_cache(project: Path, server: Seaweed, prefix: str, scheduler: str = "") -> str:
    """Give the project's show file a cache in the server's private bucket; its s3:// URL."""
    show_file = project / "feeds" / f"{SHOW}.yaml"
    target = f"s3://{PRIVATE}/{prefix}"
    show_file.write_text(
        show_file.read_text()
        + "compute:\n"
        + (f"  scheduler: {scheduler}\n" if scheduler else "")
        + f"  cache: {target}\n"
        f"  endpoint_url: {server.endpoint}\n"
        "  region: us-east-1\n"
        "  path_style: true\n",
        encoding="utf-8",
    )
    return target


def remote_objects(server: Seaweed, prefix: str) -> dict[str, tuple[bytes, str]]:
    """Every object of the cache: its bytes, and the sha256 its metadata claims."""
    client = s3_client(server.endpoint)
    found: dict[str, tuple[bytes, str]] = {}
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=PRIVATE, Prefix=prefix + "/")
    for page in pages:
        for obj in page.get("Contents", []):
            got = client.get_object(Bucket=PRIVATE, Key=obj["Key"])
            name = obj["Key"][len(prefix) + 1 :]
            found[name] = (got["Body"].read(), got.get("Metadata", {}).get("sha256", ""))
    return found


def change_by_hand(server: Seaweed, key: str, data: bytes) -> None:
    """Put other bytes under ``key``, keeping the sha256 its metadata claimed."""
    client = s3_client(server.endpoint)
    old = client.head_object(Bucket=PRIVATE, Key=key)
    client.put_object(Bucket=PRIVATE, Key=key, Body=data, Metadata=old["Metadata"])


def _a_word_changed(transcript: bytes) -> bytes:
    data = json.loads(transcript)
    assert data["words"], "a transcript with words"
    for word in data["words"]:  # [start, end, text, probability]: every word, so that
        word[2] = "Bananarama"  # any of it used would be published
    return json.dumps(data, indent=1, sort_keys=True).encode()


def test_a_cache_entry_changed_by_hand_on_disk_is_made_again_never_used(
    example_run: Run, tmp_path: Path
) -> None:
    assert example_run.returncode == 0, example_run.stderr
    project = copy_with_caches(example_run, tmp_path)
    cache = project / ".storycast" / "cache" / "v2"
    transcripts = sorted(
        p for p in cache.glob("transcripts/*.json") if json.loads(p.read_bytes()).get("words")
    )
    transcript = transcripts[0]
    transcript.write_bytes(_a_word_changed(transcript.read_bytes()))  # still good JSON
    render = sorted(cache.glob("renders/*.mp3"))[0]
    render.write_bytes(render.read_bytes()[: render.stat().st_size // 2])  # cut short

    run = storycast(project, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    for entry in (transcript, render):
        assert (
            f"cache: v2/{entry.parent.name}/{entry.name} on this machine does not match its "
            "sha256 (changed by hand, or cut short): not used, it is made again"
        ) in run.stderr
    assert published(run.public) == published(example_run.public)
    assert b"Bananarama" not in _everything_published(project)
    # made again: the entries are whole and right once more
    again = storycast(project, "publish")
    assert again.returncode == 0 and "does not match its sha256" not in again.stderr


def test_the_cache_in_object_storage_is_shared_and_verified_on_read(
    example_run: Run, seaweed: Seaweed, tmp_path: Path
) -> None:
    assert example_run.returncode == 0, example_run.stderr
    prefix = f"cache-{uuid.uuid4().hex[:8]}"
    env = s3_env()
    # a machine that has made everything before: what it has goes into the shared cache
    first = copy_with_caches(example_run, tmp_path / "first")
    target = share_cache(first, seaweed, prefix)
    run = storycast_env(first, env, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    objects = remote_objects(seaweed, prefix)
    kinds = {name.split("/")[1] for name in objects}
    assert {"probe", "loudness", "transcripts", "renders", "artwork"} <= kinds
    for name, (data, claimed) in objects.items():
        assert claimed == hashlib.sha256(data).hexdigest(), name
    assert set(objects) <= project_entries(first)  # keyed as on disk

    # changed by hand in the bucket: a word of a transcript, and a render cut short
    transcript = next(
        n for n, (d, _) in sorted(objects.items())
        if "/transcripts/" in n and json.loads(d).get("words")
    )  # fmt: skip
    render = next(n for n in sorted(objects) if n.endswith(".mp3"))
    change_by_hand(seaweed, f"{prefix}/{transcript}", _a_word_changed(objects[transcript][0]))
    change_by_hand(seaweed, f"{prefix}/{render}", objects[render][0][:1000])

    # another machine, nothing on its disk: it reads the shared cache, checks every entry
    second = copy_example(tmp_path / "second")
    share_cache(second, seaweed, prefix)
    run = storycast_env(second, env, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    for name in (transcript, render):
        assert (
            f"cache: {name} in {target} at {seaweed.endpoint} does not match its sha256 "
            "(changed by hand, or cut short): not used, it is made again"
        ) in run.stderr
    assert run.stderr.count("does not match its sha256") == 2, run.stderr
    assert published(run.public) == published(example_run.public)
    assert b"Bananarama" not in _everything_published(second)
    # what was made again replaced what was changed
    objects = remote_objects(seaweed, prefix)
    for name in (transcript, render):
        data, claimed = objects[name]
        assert claimed == hashlib.sha256(data).hexdigest()
    assert b"Bananarama" not in objects[transcript][0]


def project_entries(project: Path) -> set[str]:
    """The cache entries on the project's disk, named as in the shared cache."""
    cache = project / ".storycast" / "cache"
    return {
        str(p.relative_to(cache))
        for p in cache.rglob("*")
        if p.is_file() and not p.name.endswith(".sha256")
    }


def storycast_env(root: Path, env: dict[str, str], *args: str) -> Run:
    """`storycast` as a producer runs it, with the test server's credentials."""
    proc = sw.cli(root, *args, env=env)
    return Run(root, proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize(
    ("compute", "said"),
    [
        ("compute:\n  cache: http://cache.example.org/x\n",
         "compute.cache: `http://cache.example.org/x` is not a cache in object storage"),
        ("compute:\n  endpoint_url: http://127.0.0.1:1\n",
         "compute: needs `scheduler:` (the address of a Dask scheduler) or `cache:`"),
        ("compute:\n  scheduler: tcp://127.0.0.1:8786\n  region: eu-west-2\n",
         "compute.region: is a setting of the cache in object storage, and there is no `cache:`"),
    ],
)  # fmt: skip
def test_a_bad_compute_cache_is_named_with_its_line(
    tmp_path: Path, compute: str, said: str
) -> None:
    project = copy_example(tmp_path)
    show_file = project / "feeds" / f"{SHOW}.yaml"
    text = show_file.read_text()
    show_file.write_text(text + compute, encoding="utf-8")
    run = storycast(project, "check")
    assert run.returncode != 0
    assert re.search(rf"{re.escape(str(show_file))}:\d+: {re.escape(said)}", run.stdout), run.stdout


def test_a_cache_in_the_public_bucket_is_refused(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    show_file = project / "feeds" / f"{SHOW}.yaml"
    text = re.sub(
        r"^storage:.*$", f"storage: s3://{PUBLIC}/show", show_file.read_text(), flags=re.M
    )
    show_file.write_text(text + f"compute:\n  cache: s3://{PUBLIC}/show/.cache\n", encoding="utf-8")
    run = storycast(project, "check")
    assert run.returncode != 0
    assert f"{show_file}: compute.cache: the cache `s3://{PUBLIC}/show/.cache` is the public" in (
        run.stdout
    )
    assert "holds raw recordings, which must never be public" in run.stdout
    assert not os.path.exists(project / "public")


# --- two machines on one ------------------------------------------------------------------


def test_two_machines_on_one_share_nothing_but_the_cache(
    example_run: Run, seaweed: Seaweed, tmp_path: Path
) -> None:
    """A scheduler and two workers, each in a folder of its own (and, where the system
    allows, unable to see the producer's folder at all), with the cache in SeaweedFS:
    the published bytes are the in-process run's, file by file."""
    assert example_run.returncode == 0, example_run.stderr
    producer = copy_with_caches(example_run, tmp_path / "producer")  # probes: kept
    for kind in ("transcripts", "languages", "loudness", "renders"):  # the workers' work
        shutil.rmtree(producer / ".storycast" / "cache" / "v2" / kind, ignore_errors=True)
    env = s3_env()
    machines = start_machines(tmp_path / "elsewhere", producer, env, ROOT)
    try:
        prefix = f"cache-{uuid.uuid4().hex[:8]}"
        target = share_cache(producer, seaweed, prefix, scheduler=machines.address)
        run = storycast_env(producer, env, "publish")
        assert run.returncode == 0, run.stdout + run.stderr
        assert published(run.public) == published(example_run.public)
        said = run.stderr.splitlines()
        measured = sorted(
            line.split()[1] for line in said if "measured and transcribed on tcp://" in line
        )
        assert measured == ["advice.opus", "interview.m4a", "phone-call.3gp", "poem.m4a"]
        done = sorted(line.split()[1] for line in said if ": done on tcp://" in line)
        assert done == ["first-flat:", "open-mic:"]
        objects = remote_objects(seaweed, prefix)
        shas = {
            name: hashlib.sha256(path.read_bytes()).hexdigest()
            for name, path in (
                (p.name, p) for p in sorted(producer.glob("episodes/*/recordings/*"))
            )
        }
        for name, sha in shas.items():  # each recording put there once, by its sha256
            data, claimed = objects[f"v2/recordings/{sha}"]
            assert claimed == sha == hashlib.sha256(data).hexdigest(), name
        assert {n.split("/")[1] for n in objects} >= {"transcripts", "loudness", "renders"}
        assert not [n for n in objects if n.startswith("v2/outputs/")]  # fetched, then gone
        for folder in machines.folders:  # each task's folder went when it was done
            assert not list(folder.rglob("storycast-task-*")), folder

        # a recording changed by hand in the bucket is never used: it is put there again
        poem = f"v2/recordings/{shas['poem.m4a']}"
        change_by_hand(seaweed, f"{prefix}/{poem}", b"not the recording")
        again = storycast_env(producer, env, "publish")
        assert again.returncode == 0, again.stdout + again.stderr
        assert (
            f"cache: {poem} in {target} at {seaweed.endpoint} does not match its sha256 "
            "(changed by hand, or cut short): not used, it is put there again"
        ) in again.stderr
        assert published(again.public) == published(example_run.public)
        data, claimed = remote_objects(seaweed, prefix)[poem]
        assert claimed == shas["poem.m4a"] == hashlib.sha256(data).hexdigest()

        # a withdrawal takes the episode's recordings and all made from them out of the cache
        withdraw = storycast_env(producer, env, "withdraw", "alex", "--requested-by", "Alex")
        assert withdraw.returncode == 0, withdraw.stdout + withdraw.stderr
        down = storycast_env(producer, env, "publish")
        assert down.returncode == 0, down.stdout + down.stderr
        assert "TAKEN DOWN open-mic" in down.stdout
    finally:
        machines.stop()
    left = remote_objects(seaweed, prefix)
    for name in ("poem.m4a", "phone-call.3gp"):
        sha = shas[name]
        assert not [n for n in left if sha in n], name
        assert not [
            n for n, (data, _) in left.items() if n.endswith(".json") and sha.encode() in data
        ]
    for name in ("interview.m4a", "advice.opus"):  # the episode still published keeps its own
        assert f"v2/recordings/{shas[name]}" in left


def test_a_shared_cache_that_cannot_be_reached_is_said_and_nothing_is_published(
    example_run: Run, tmp_path: Path
) -> None:
    project = copy_with_caches(example_run, tmp_path)
    show_file = project / "feeds" / f"{SHOW}.yaml"
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    show_file.write_text(
        show_file.read_text()
        + f"compute:\n  cache: s3://{PRIVATE}/cache\n  endpoint_url: {endpoint}\n",
        encoding="utf-8",
    )
    run = storycast_env(project, s3_env(), "publish")
    assert run.returncode == 1, run.stdout + run.stderr
    assert (
        f"{show_file}: compute.cache: the cache in object storage (s3://{PRIVATE}/cache at "
        f"{endpoint}): could not "  # its first request: the check that it is private
    ) in run.stdout
    assert "not published: the cache in object storage cannot be used (above)" in run.stdout
    assert f"the endpoint {endpoint} cannot be reached" in run.stdout
    assert "Check `cache:` and `endpoint_url:` under `compute:` in the show file" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert not list(run.public.rglob("*.mp3"))
