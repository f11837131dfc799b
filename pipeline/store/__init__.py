"""Object storage behind one contract, chosen by the show's ``storage`` target.

``local:PATH`` (the embedded default) is a folder; ``s3://bucket/prefix`` goes
through boto3 to AWS S3 or any S3-compatible service. Keys are '/'-separated
and never escape the root.

Every object carries a ``version``: a token that changes whenever the bytes
behind a key are replaced (the S3 ETag; for a folder, modification time and
size). The publish manifest records the version of everything it published,
so an object changed by hand since is noticed without reading it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import InputError, Problem, StoreError
from ..locks import Lease
from ..records import StorageTarget

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    version: str = ""  # changes whenever the object's bytes are replaced


class ObjectStore(Protocol):
    description: str

    def put_file(self, key: str, path: Path, content_type: str, cache_control: str) -> ObjectInfo:
        """Upload a file, verified (checksum or size) before returning what is now stored."""
        ...

    def put_bytes(
        self, key: str, data: bytes, content_type: str, cache_control: str
    ) -> ObjectInfo: ...

    def head(self, key: str) -> ObjectInfo | None: ...
    def get_bytes(self, key: str) -> bytes | None: ...
    def list(self, prefix: str = "") -> list[ObjectInfo]: ...
    def delete(self, key: str) -> None: ...

    def holds(self, info: ObjectInfo, path: Path) -> bool:
        """Whether the stored object ``info`` has exactly the bytes of ``path`` (no download)."""
        ...

    def allow_cross_origin(self) -> str:
        """Let browsers and web players fetch from other sites (CORS); returns what was done."""
        ...

    def lock(self, name: str) -> Lease:
        """Hold the publishing lease ``name`` (one show) until released; raises
        ``locks.LockedError`` saying who holds it if another run does."""
        ...


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/") or "//" in key:
        raise ValueError(f"unsafe object key {key!r}")
    return key


def open_store(
    storage: StorageTarget, project_root: Path, show_file: Path | None = None
) -> ObjectStore:
    """The show's public store."""
    return _open(storage.target, storage, project_root, show_file, "storage")


def open_private_store(
    storage: StorageTarget, project_root: Path, show_file: Path | None = None
) -> ObjectStore | None:
    """Where raw recordings may be kept remotely (``storage: private:``), or None.

    Never the public target, nor inside it or around it: raw recordings must
    not become reachable through the public base URL.
    """
    if not storage.private:
        return None
    if _overlaps(storage.private, storage.target):
        raise InputError(
            Problem(
                show_file,
                f"`{storage.private}` is inside (or contains) the public target "
                f"`{storage.target}`.",
                "Raw recordings must never be public: give a separate bucket "
                "(best) or a prefix outside the public one.",
                field="storage",
            )
        )
    return _open(storage.private, storage, project_root, show_file, "storage: private")


def _overlaps(a: str, b: str) -> bool:
    a_, b_ = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a_.startswith(b_) or b_.startswith(a_)


def _open(
    target: str,
    storage: StorageTarget,
    project_root: Path,
    show_file: Path | None,
    field: str,
) -> ObjectStore:
    if target.startswith("local:"):
        from .local import LocalStore

        folder = Path(target[len("local:") :])
        if not folder.is_absolute():
            folder = project_root / folder
        return LocalStore(folder)
    if target.startswith("s3://"):
        bucket, _, prefix = target[len("s3://") :].partition("/")
        if not bucket:
            raise InputError(
                Problem(
                    show_file,
                    f"`{target}` names no bucket.",
                    "Write s3://bucket/prefix.",
                    field=field,
                )
            )
        from .s3 import S3Store

        return S3Store(
            bucket,
            prefix,
            endpoint_url=storage.endpoint_url,
            region=storage.region,
            path_style=storage.path_style,
        )
    raise InputError(
        Problem(
            show_file,
            f"storage target `{target}` is not supported.",
            "Use `local:public` (a folder) or `s3://bucket/prefix`.",
            field=field,
        )
    )


__all__ = [
    "ObjectInfo",
    "ObjectStore",
    "StoreError",
    "check_key",
    "open_private_store",
    "open_store",
]
