"""A withdrawn episode's recordings are hashed once while they stay as they are
(``probe.sha256_memo``, in the project's private cache), not re-read on every publish."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.cache import Cache
from pipeline.media.probe import HASH_MEMO, sha256_file, sha256_memo
from pipeline.publish.takedown import Takedown, recording_shas


def _swap_keeping_stamp(path: Path, data: bytes) -> None:
    """New bytes of the same size, with the old modification time put back: only a
    program that reads the file can tell."""
    stat = path.stat()
    assert len(data) == stat.st_size
    path.write_bytes(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_an_unchanged_file_is_not_read_again_and_a_changed_one_is(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    path = tmp_path / "talk.m4a"
    path.write_bytes(b"A" * 5000)
    first = sha256_memo(path, cache)
    assert first == sha256_file(path)
    assert len(list(cache.path(HASH_MEMO, "x").parent.glob("*.json"))) == 1
    _swap_keeping_stamp(path, b"B" * 5000)
    # the memo answered: had the file been read, this would be the hash of the B's
    assert sha256_memo(path, cache) == first
    # any change of modification time (or size) reads it afresh
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert sha256_memo(path, cache) == sha256_file(path) != first
    path.write_bytes(b"C" * 5001)
    assert sha256_memo(path, cache) == sha256_file(path)
    # without a cache there is nothing to remember
    _swap_keeping_stamp(path, b"D" * 5001)
    assert sha256_memo(path, None) == sha256_file(path)


def test_a_takedown_hashes_its_recordings_once_across_publishes(tmp_path: Path) -> None:
    cache = Cache(tmp_path / ".storycast" / "cache")
    folder = tmp_path / "episodes" / "first-flat"
    (folder / "recordings").mkdir(parents=True)
    talk = folder / "recordings" / "talk.m4a"
    talk.write_bytes(b"x" * 4096)
    td = Takedown(slug="first-flat", reason="consent withdrawn", folder=folder, people=("sam",))
    first = recording_shas(td, None, cache)  # the first publish after the withdrawal
    assert first == {sha256_file(talk)}
    _swap_keeping_stamp(talk, b"y" * 4096)
    # the next publish: the recording is as it was (same size and time), so it is not read
    assert recording_shas(td, None, cache) == first
    talk.write_bytes(b"z" * 4097)  # the producer replaced it: read again
    assert recording_shas(td, None, cache) == {sha256_file(talk)}
