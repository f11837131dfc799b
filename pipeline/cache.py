"""Content-keyed cache: a folder of JSON records and rendered files, verified on read, and
optionally shared through object storage.

Keys are content hashes (a recording's sha256, a render's input hash), so a cache entry
can never describe different bytes than the ones it was made from. Writes are atomic: a
crash leaves either the old entry or the new one.

Every entry also carries the sha256 of its own bytes: on disk in a file beside it
(``NAME.sha256``, written after the entry), in object storage as the object's metadata.
Every read hashes the bytes again; an entry that no longer matches (changed by hand,
truncated, half-written) is never used: the read finds nothing, so the entry is made
again, and ``notice`` says so.

With a ``remote`` (``compute: cache: s3://...`` in the show file; ``store.cachestore``
keeps it), the folder is this machine's copy of a cache that lives in object storage under
the same keys: what is not here is fetched (and verified) from there, and what is made
here (or found here, made before the cache was shared) goes there too, so every machine
working on a show finds what any other made. The
``recordings`` kind holds raw recordings by their sha256, so that machines that cannot see
the producer's folder can fetch them; ``outputs/SHOW/`` what a worker made for the store
step, until the publishing process has fetched it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from pipeline.defaults import CACHE_VERSION

log = logging.getLogger(__name__)

SEAL = ".sha256"  # the suffix of the file holding an entry's own sha256


class Blobs(Protocol):
    """Object storage under the cache's keys (``store.cachestore.S3Blobs``)."""

    description: str

    def put(self, key: str, path: Path, sha256: str) -> None:
        """Upload the file with its sha256 in the object's metadata."""
        ...

    def has(self, key: str, sha256: str, path: Path) -> bool | None:
        """Whether the object holds the bytes of ``path`` (whose sha256 is given), checked
        without downloading it: True, False (it is there, with other bytes), or None (it
        is not there)."""
        ...

    def fetch(self, key: str, dest: Path) -> str | None:
        """Download the object to ``dest``; the sha256 its metadata claims ("" when it
        claims none), or None when there is no such object."""
        ...

    def keys(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...

    def refuse_if_open(self) -> None:
        """Raise ``StoreError`` when anyone without credentials can read what is put there
        (asked once; every ``put`` asks first)."""
        ...


class Cache:
    def __init__(
        self,
        root: Path,
        remote: Blobs | None = None,
        notice: Callable[[str], None] | None = None,
    ):
        self.root = root
        self.remote = remote
        self.notice = notice  # where "made again" is said (the run's ``say``)

    def __getstate__(self) -> dict[str, Any]:
        # what crosses to a Dask worker: not the run's ``say`` (the worker brings its own)
        return {**self.__dict__, "notice": None}

    def path(self, kind: str, key: str, suffix: str = ".json") -> Path:
        return self.root / self.name(kind, key, suffix)

    @staticmethod
    def name(kind: str, key: str, suffix: str = ".json") -> str:
        """The entry's name under the cache's root, locally and in object storage."""
        return f"v{CACHE_VERSION}/{kind}/{key}{suffix}"

    # --- reading: verified -------------------------------------------------------------

    def get_json(self, kind: str, key: str) -> dict[str, Any] | None:
        path = self.get_file(kind, key, ".json")
        if path is None:
            return None
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def get_file(self, kind: str, key: str, suffix: str = ".json") -> Path | None:
        """The entry's file on this machine, its bytes checked against its sha256; fetched
        from the remote cache when it is not here (or not right here). None: make it."""
        path = self.path(kind, key, suffix)
        if path.exists() or _seal(path).exists():
            found = _sealed_sha(path)
            if found is not None and found == _sha256_file(path):
                if self.remote is not None:  # made before the cache was shared: share it
                    self._share(self.name(kind, key, suffix), path, found)
                return path
            self._said(
                f"cache: {self.name(kind, key, suffix)} on this machine does not match its "
                "sha256 (changed by hand, or cut short): not used, it is made again"
            )
        if self.remote is not None and self._fetch(kind, key, suffix, path):
            return path
        return None

    def _fetch(self, kind: str, key: str, suffix: str, path: Path) -> bool:
        assert self.remote is not None
        name = self.name(kind, key, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".get")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            claimed = self.remote.fetch(name, tmp)
            if claimed is None:
                return False
            actual = _sha256_file(tmp)
            if claimed != actual:
                self._said(
                    f"cache: {name} in {self.remote.description} does not match its sha256 "
                    "(changed by hand, or cut short): not used, it is made again"
                )
                return False
            os.replace(tmp, path)
            _write_seal(path, actual)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def _said(self, text: str) -> None:
        if self.notice is not None:
            self.notice(text)
        else:
            log.warning("%s", text)

    # --- writing ----------------------------------------------------------------------

    def put_json(self, kind: str, key: str, data: dict[str, Any]) -> None:
        target = self.path(kind, key)
        write_atomic(target, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))
        self.put_file(kind, key, ".json")

    def put_file(self, kind: str, key: str, suffix: str = ".json") -> Path:
        """Record the sha256 of the entry just written at ``path(kind, key, suffix)`` (it
        was written under a name of its own and renamed into place), and share it."""
        path = self.path(kind, key, suffix)
        digest = _sha256_file(path)
        if digest is None:
            raise FileNotFoundError(f"cache: {path} was not written")
        _write_seal(path, digest)
        if self.remote is not None:
            self.remote.put(self.name(kind, key, suffix), path, digest)
        return path

    def remove(self, kind: str, key: str, suffix: str = ".json") -> None:
        path = self.path(kind, key, suffix)
        path.unlink(missing_ok=True)
        _seal(path).unlink(missing_ok=True)

    # --- raw recordings and workers' outputs, by their sha256 ------------------------

    def share(self, kind: str, path: Path, sha256: str) -> str:
        """Put the file into the remote cache under its sha256 (once: not again if it is
        there already); returns its name there."""
        name = self.name(kind, sha256, "")
        self._share(name, path, sha256)
        return name

    def _share(self, name: str, path: Path, sha256: str) -> None:
        assert self.remote is not None
        there = self.remote.has(name, sha256, path)
        if there:
            return
        if there is False:
            self._said(
                f"cache: {name} in {self.remote.description} does not match its sha256 "
                "(changed by hand, or cut short): not used, it is put there again"
            )
        self.remote.put(name, path, sha256)

    def fetch_shared(self, kind: str, sha256: str, dest: Path) -> None:
        """Fetch what ``share`` put there to ``dest``, its bytes checked: raises
        ``SharedMissing`` when it is not there or not these bytes."""
        assert self.remote is not None
        name = self.name(kind, sha256, "")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.get")
        try:
            claimed = self.remote.fetch(name, tmp)
            if claimed is None:
                raise SharedMissing(f"{name} is not in {self.remote.description}")
            actual = _sha256_file(tmp)
            if actual != sha256 or claimed != sha256:
                raise SharedMissing(
                    f"{name} in {self.remote.description} does not match its sha256 "
                    "(changed by hand, or cut short): not used"
                )
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def forget_shared(self, prefix: str) -> None:
        """Delete every remote object under the cache's ``PREFIX/`` (what no one needs any
        more)."""
        if self.remote is None:
            return
        for name in self.remote.keys(self.name(prefix, "", "")):
            self.remote.delete(name)

    # --- takedowns ------------------------------------------------------------------

    def purge_remote(
        self, shas: set[str], keep: Iterable[str] = (), renders: Iterable[str] = ()
    ) -> list[str]:
        """Delete from the remote cache everything made from these recordings, and the
        recordings themselves, as ``publish.takedown.purge_caches`` does on disk: what an
        episode published now uses stays (``keep``: recordings, ``renders``: render keys)."""
        if self.remote is None or not shas:
            return []
        gone = shas - set(keep)
        kept_renders = set(renders)
        removed: list[str] = []
        base = f"v{CACHE_VERSION}/"
        for name in self.remote.keys(base):
            kind, _, file = name[len(base) :].partition("/")
            stem = file.split(".")[0]
            hit = False
            if kind in ("probe", "loudness", "fingerprints", "recordings"):
                hit = stem in gone
            elif kind == "transcripts" and file.endswith(".json"):
                hit = self._remote_json(name).get("recording_sha256") in gone
            elif kind == "languages" and file.endswith(".json") and gone:
                named = self._remote_json(name).get("recording_sha256", "")
                hit = not named or named in gone  # older entries did not name it
            elif kind in ("renders", "videos") and stem not in kept_renders:
                record = name if file.endswith(".json") else f"{base}{kind}/{stem}.json"
                hit = bool(shas & set(self._remote_json(record).get("recordings", [])))
            if hit:
                self.remote.delete(name)
                removed.append(f"{self.remote.description}: {name}")
        return removed

    def _remote_json(self, name: str) -> dict[str, Any]:
        assert self.remote is not None
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder) / "entry.json"
            try:
                if self.remote.fetch(name, tmp) is None:
                    return {}
                data = json.loads(tmp.read_bytes())
            except (OSError, ValueError):
                return {}
        return data if isinstance(data, dict) else {}


class SharedMissing(RuntimeError):
    """A shared recording or output is not in the remote cache, or not its bytes."""


def _seal(path: Path) -> Path:
    return path.with_name(path.name + SEAL)


def _sealed_sha(path: Path) -> str | None:
    try:
        return _seal(path).read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None


def _write_seal(path: Path, digest: str) -> None:
    write_atomic(_seal(path), digest.encode("ascii"))


def _sha256_file(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
