"""The cache in object storage (``compute: cache: s3://bucket/prefix`` in the show file):
the ``cache.Blobs`` that ``cache.Cache`` reads through and writes through.

Every object carries the sha256 of its bytes in its metadata (``x-amz-meta-sha256``); the
cache hashes what it downloads and uses nothing that does not match. Requests go through
``S3Store``'s calls, so credentials, retries and error messages are the store's own.
It crosses to Dask workers as its settings: each process opens its own connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.exceptions as bx

from pipeline.errors import Problem, StoreError
from pipeline.records import StorageTarget
from pipeline.store.contract import ObjectInfo
from pipeline.store.s3 import S3Store, _code, _etag

_CHUNK = 1024 * 1024


class S3Blobs:
    def __init__(self, target: StorageTarget, where: Path | None = None) -> None:
        self.where = where  # the show file that names it
        bucket, _, prefix = target.target[len("s3://") :].partition("/")
        self.target = target
        self.bucket = bucket
        self.prefix = prefix
        self._store: S3Store | None = None
        self._private = False  # checked that no one without credentials can read it
        self.description = target.target + (
            f" at {target.endpoint_url}" if target.endpoint_url else ""
        )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_store": None}  # boto3 clients do not cross processes

    @property
    def store(self) -> S3Store:
        if self._store is None:
            self._store = S3Store(
                self.bucket,
                self.prefix,
                endpoint_url=self.target.endpoint_url,
                region=self.target.region,
                path_style=self.target.path_style,
            )
        return self._store

    def _said(self, exc: StoreError) -> StoreError:
        """The store's words, said of the cache (set under ``compute:``, not ``storage:``)."""
        first = exc.problems[0]
        message = first.message.removeprefix("storage: ")
        return StoreError(
            Problem(
                self.where,
                f"the cache in object storage ({self.description}): {message}",
                "Check `cache:` and `endpoint_url:` under `compute:` in the show file, the "
                "credentials and the network; or take `cache:` out to keep the cache on this "
                "machine's disk.",
                field="compute.cache",
            )
        )

    def put(self, key: str, path: Path, sha256: str) -> None:
        if not self._private:
            self.refuse_if_open()
        try:
            self._put(key, path, sha256)
        except StoreError as exc:
            raise self._said(exc) from exc

    def refuse_if_open(self) -> None:
        """The cache holds raw recordings (and what is made from them before anyone
        approved it): before the first thing goes there, a file is read back with no
        credentials; where that works, nothing is put there."""
        try:
            anyone = self.store.open_to_anyone()
        except StoreError as exc:
            raise self._said(exc) from exc
        if anyone:
            raise StoreError(
                Problem(
                    self.where,
                    f"the cache in object storage ({self.description}) can be read by "
                    "anyone: a request with no credentials read a file written there. Nothing "
                    "else was put there.",
                    "The cache holds raw recordings, which must never be public: give "
                    "`cache:` a bucket of its own with no public access (best), or remove "
                    "the public-read policy or ACL that covers it, then publish again.",
                    field="compute.cache",
                )
            )
        self._private = True

    def has(self, key: str, sha256: str, path: Path) -> bool | None:
        try:
            return self._has(key, sha256, path)
        except StoreError as exc:
            raise self._said(exc) from exc

    def fetch(self, key: str, dest: Path) -> str | None:
        try:
            return self._fetch(key, dest)
        except StoreError as exc:
            raise self._said(exc) from exc

    def keys(self, prefix: str) -> list[str]:
        try:
            return [info.key for info in self.store.list(prefix)]
        except StoreError as exc:
            raise self._said(exc) from exc

    def delete(self, key: str) -> None:
        try:
            self.store.delete(key)
        except StoreError as exc:
            raise self._said(exc) from exc

    def _put(self, key: str, path: Path, sha256: str) -> None:
        s = self.store
        full = s._full(key)
        extra = {"Metadata": {"sha256": sha256}, "ContentType": "application/octet-stream"}
        s._call(
            "upload to the cache",
            key,
            lambda c: c.upload_file(str(path), s.bucket, full, ExtraArgs=extra, Config=s.transfer),
        )

    def _has(self, key: str, sha256: str, path: Path) -> bool | None:
        s = self.store

        def call(client: Any) -> dict[str, Any] | None:
            try:
                return client.head_object(  # type: ignore[no-any-return]
                    Bucket=s.bucket, Key=s._full(key)
                )
            except bx.ClientError as exc:
                if _code(exc)[1] == 404 and _code(exc)[0] != "NoSuchBucket":
                    return None
                raise

        found = s._call("read from the cache", key, call)
        if found is None:
            return None
        info = ObjectInfo(key, int(found["ContentLength"]), _etag(found))
        # its claim, and its bytes as the service sums them (ETag), against the file here
        return bool(found.get("Metadata", {}).get("sha256") == sha256 and s.holds(info, path))

    def _fetch(self, key: str, dest: Path) -> str | None:
        s = self.store

        def call(client: Any) -> str | None:
            try:
                response = client.get_object(Bucket=s.bucket, Key=s._full(key))
            except bx.ClientError as exc:
                if _code(exc)[0] in ("NoSuchKey", "404"):
                    return None
                raise
            with dest.open("wb") as fh:
                body = response["Body"]
                while chunk := body.read(_CHUNK):
                    fh.write(chunk)
            return str(response.get("Metadata", {}).get("sha256", ""))

        return s._call("read from the cache", key, call)
