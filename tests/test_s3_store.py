"""The S3 store against a real SeaweedFS: verified uploads, multipart, retries, clear errors."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from pipeline import defaults
from pipeline.errors import InputError, StoreError
from pipeline.records import StorageTarget
from pipeline.store import open_private_store, open_store
from pipeline.store.s3 import S3Store

import kit.seaweed as sw
from kit.seaweed import PUBLIC, SECRET, Proxy, Seaweed, fetch, free_port, s3_env

seaweed = sw.seaweed  # fixtures: the session's SeaweedFS, and a proxy in front of it
proxy = sw.proxy

MiB = 1024 * 1024


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in s3_env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)


def _store(endpoint: str, prefix: str, **kw: int) -> S3Store:
    return S3Store(PUBLIC, prefix, endpoint_url=endpoint, path_style=True, **kw)


def test_open_store_builds_s3_for_s3_targets(seaweed: Seaweed, creds: None) -> None:
    target = StorageTarget(f"s3://{PUBLIC}/a/b", endpoint_url=seaweed.endpoint, path_style=True)
    store = open_store(target, Path("."))
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == (PUBLIC, "a/b")
    assert PUBLIC in store.description and seaweed.endpoint in store.description


def test_upload_is_verified_and_served_with_its_headers(
    seaweed: Seaweed, creds: None, tmp_path: Path
) -> None:
    store = _store(seaweed.endpoint, "store-headers")
    path = tmp_path / "ep.mp3"
    path.write_bytes(os.urandom(50_000))
    info = store.put_file("media/s/ep-0123456789abcdef.mp3", path, "audio/mpeg", "max-age=9")
    assert info.size == 50_000
    assert info.version == hashlib.md5(path.read_bytes()).hexdigest()
    assert store.head(info.key) == info
    assert store.holds(info, path)
    url = seaweed.public_url("store-headers") + "/" + info.key
    got = fetch(url)
    assert got.status == 200 and got.body == path.read_bytes()
    assert got.headers["content-type"] == "audio/mpeg"
    assert got.headers["cache-control"] == "max-age=9"
    part = fetch(url, headers={"Range": "bytes=1000-1999"})
    assert part.status == 206
    assert part.body == path.read_bytes()[1000:2000]
    assert part.headers["content-range"] == "bytes 1000-1999/50000"


def test_large_files_go_up_in_parts_and_are_verified(
    seaweed: Seaweed, creds: None, tmp_path: Path
) -> None:
    store = _store(
        seaweed.endpoint, "store-multipart", multipart_threshold=5 * MiB,
        multipart_chunksize=5 * MiB,
    )  # fmt: skip
    path = tmp_path / "long.mp3"
    path.write_bytes(os.urandom(11 * MiB))
    info = store.put_file("media/s/long-0123456789abcdef.mp3", path, "audio/mpeg", "max-age=9")
    assert info.size == 11 * MiB
    assert info.version.endswith("-3")  # three parts, and the ETag matched our own computation
    assert store.holds(info, path)
    other = tmp_path / "other.mp3"
    data = path.read_bytes()
    other.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit differs
    assert not store.holds(info, other)
    got = fetch(seaweed.public_url("store-multipart") + "/" + info.key)
    assert hashlib.sha256(got.body).digest() == hashlib.sha256(path.read_bytes()).digest()


def test_list_get_delete_and_missing_objects(seaweed: Seaweed, creds: None) -> None:
    store = _store(seaweed.endpoint, "store-basic")
    assert store.get_bytes("feeds/none.xml") is None
    assert store.head("feeds/none.xml") is None
    store.put_bytes("feeds/a.xml", b"<rss/>", "application/rss+xml", "max-age=300")
    store.put_bytes("media/s/b.txt", b"hello", "text/plain", "max-age=300")
    assert [o.key for o in store.list()] == ["feeds/a.xml", "media/s/b.txt"]
    assert [o.key for o in store.list("media/")] == ["media/s/b.txt"]
    assert store.get_bytes("feeds/a.xml") == b"<rss/>"
    store.delete("media/s/b.txt")
    assert store.head("media/s/b.txt") is None


def test_transient_faults_are_retried(
    seaweed: Seaweed, creds: None, proxy: Proxy, tmp_path: Path
) -> None:
    store = _store(proxy.endpoint, "store-retry")
    assert store.get_bytes("manifests/x.json") is None  # the first contact
    path = tmp_path / "ep.vtt"
    path.write_bytes(b"WEBVTT\n\n" + os.urandom(2000).hex().encode())
    proxy.faults.slow_down = 2  # 503 SlowDown twice
    proxy.faults.drop = 2  # then two connections closed without an answer
    info = store.put_file("media/s/ep-0123456789abcdef.vtt", path, "text/vtt", "max-age=9")
    assert proxy.counts["PUT"] == 5  # four refused, the fifth stored
    assert fetch(seaweed.public_url("store-retry") + "/" + info.key).body == path.read_bytes()


def test_a_request_that_times_out_is_retried(
    seaweed: Seaweed, creds: None, proxy: Proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(defaults, "S3_READ_TIMEOUT", 1.0)
    store = _store(proxy.endpoint, "store-timeout")
    assert store.get_bytes("manifests/x.json") is None  # the first contact
    path = tmp_path / "ep.vtt"
    path.write_bytes(b"WEBVTT\n\n" + os.urandom(500).hex().encode())
    proxy.faults.stall = 2  # two PUTs hang past the read timeout
    proxy.faults.stall_seconds = 3.0
    info = store.put_file("media/s/ep-0123456789abcdef.vtt", path, "text/vtt", "max-age=9")
    assert proxy.counts["PUT"] == 3  # two timed out, the third stored
    assert fetch(seaweed.public_url("store-timeout") + "/" + info.key).body == path.read_bytes()


def test_first_contact_retries_a_slow_down_too(seaweed: Seaweed, creds: None, proxy: Proxy) -> None:
    store = _store(proxy.endpoint, "store-retry-first")
    proxy.faults.slow_down = 3
    assert store.list() == []
    assert proxy.counts["GET"] == 4


def test_wrong_credentials_say_so_without_the_secret(
    seaweed: Seaweed, creds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-right-secret")
    store = _store(seaweed.endpoint, "store-creds")
    with pytest.raises(StoreError) as raised:
        store.list()
    message = str(raised.value)
    assert "refused the credentials" in message
    assert f"bucket `{PUBLIC}`" in message and seaweed.endpoint in message
    assert "AWS_SECRET_ACCESS_KEY" in message  # what to check
    assert "not-the-right-secret" not in message and SECRET not in message


def test_no_credentials_at_all(
    seaweed: Seaweed, creds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StoreError, match="no credentials were found"):
        _store(seaweed.endpoint, "store-nocreds").list()


def test_a_bucket_that_does_not_exist(seaweed: Seaweed, creds: None) -> None:
    store = S3Store("no-such-bucket", "x", endpoint_url=seaweed.endpoint, path_style=True)
    with pytest.raises(StoreError) as raised:
        store.get_bytes("manifests/x.json")
    message = str(raised.value)
    assert "the bucket `no-such-bucket` does not exist" in message
    assert "aws s3 mb s3://no-such-bucket" in message


def test_an_unreachable_endpoint_fails_fast(creds: None) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    started = time.monotonic()
    with pytest.raises(StoreError) as raised:
        _store(endpoint, "x").get_bytes("manifests/x.json")
    assert time.monotonic() - started < 10
    assert f"the endpoint {endpoint} cannot be reached" in str(raised.value)
    assert "endpoint_url" in str(raised.value)


def test_cross_origin_rules_are_added_once(seaweed: Seaweed, creds: None) -> None:
    store = _store(seaweed.endpoint, "store-cors")
    first = store.allow_cross_origin()
    assert first in ("allowed GET and HEAD from any origin", "already allowed")
    assert store.allow_cross_origin() == "already allowed"
    rules = store.client.get_bucket_cors(Bucket=PUBLIC)["CORSRules"]
    assert any("*" in r["AllowedOrigins"] and "GET" in r["AllowedMethods"] for r in rules)


def test_private_target_must_not_overlap_the_public_one(tmp_path: Path) -> None:
    inside = StorageTarget("s3://pub/show", private="s3://pub/show/raw")
    with pytest.raises(InputError, match="must never be public"):
        open_private_store(inside, tmp_path)
    around = StorageTarget("s3://pub/show", private="s3://pub")
    with pytest.raises(InputError):
        open_private_store(around, tmp_path)
    assert open_private_store(StorageTarget("s3://pub/show"), tmp_path) is None
    local = open_private_store(StorageTarget("local:public", private="local:private"), tmp_path)
    assert local is not None and "private" in local.description


@pytest.mark.parametrize(
    ("public", "private"),
    [
        ("s3://pub/podcast", "s3://pub//podcast/raw"),
        ("s3://pub/podcast", "s3://pub/./podcast/raw"),
        ("s3://pub/podcast", "s3://pub/archive/../podcast/raw"),
        ("s3://pub/podcast", "s3://pub/Podcast/raw"),
        ("s3://pub/podcast/", "s3://pub/"),
        ("local:public", "local:./public/raw"),
        ("local:public", "local:public/../public/raw"),
        ("local:public", "local:link-to-public/raw"),
        ("local:public/site", "local:public"),
    ],
)
def test_overlap_is_found_after_canonicalising(tmp_path: Path, public: str, private: str) -> None:
    (tmp_path / "public").mkdir()
    (tmp_path / "link-to-public").symlink_to(tmp_path / "public")
    with pytest.raises(InputError, match="must never be public"):
        open_private_store(StorageTarget(public, private=private), tmp_path)


def test_separate_places_are_not_an_overlap(tmp_path: Path) -> None:
    for public, private in [
        ("s3://pub/podcast", "s3://pub/podcast-raw"),
        ("s3://pub/podcast", "s3://archive/podcast"),
        ("local:public", "local:private"),
        ("local:public", "s3://pub/public"),
    ]:
        assert open_private_store(StorageTarget(public, private=private), tmp_path) is not None


def test_a_public_folder_holding_the_episodes_is_refused(tmp_path: Path) -> None:
    from pipeline.store import storage_problems

    episodes = tmp_path / "episodes"
    episodes.mkdir()
    for target in ("local:.", "local:episodes/site", f"local:{tmp_path}"):
        [problem] = storage_problems(StorageTarget(target), tmp_path, None, episodes)
        assert "where the raw recordings are" in problem.message
    assert storage_problems(StorageTarget("local:public"), tmp_path, None, episodes) == []
