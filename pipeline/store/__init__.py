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

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipeline.errors import InputError, Problem, StoreError
from pipeline.records import StorageTarget
from pipeline.store.locks import Lease

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

    def get_file(self, key: str, dest: Path) -> bool:
        """Download the object to ``dest`` (streamed, never whole in memory); False if absent."""
        ...

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
    problems = storage_problems(storage, project_root, show_file)
    if problems:
        raise InputError(problems)
    return _open(storage.private, storage, project_root, show_file, "storage: private")


def normal_prefix(prefix: str) -> str:
    """An S3 key prefix as S3 and S3-compatible servers may read it: ``//`` and ``.`` gone,
    ``..`` taken back a level (some servers map keys onto folders and do just that)."""
    parts: list[str] = []
    for part in prefix.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _place(target: str, project_root: Path) -> tuple[str, str] | None:
    """Where a target really is: ("file", real path) or ("s3:BUCKET", prefix), compared
    case-blind (some services and disks ignore case). None for an unknown scheme."""
    if target.startswith("local:"):
        folder = Path(target[len("local:") :])
        folder = folder if folder.is_absolute() else project_root / folder
        return "file", str(folder.resolve()).lower()
    if target.startswith("s3://"):
        bucket, _, prefix = target[len("s3://") :].partition("/")
        return f"s3:{bucket.lower()}", normal_prefix(prefix).lower()
    return None


def _within(a: str, b: str, sep: str) -> bool:
    """Whether a is b, or inside it."""
    return a == b or not b or a.startswith(b.rstrip(sep) + sep)


def overlap(a: str, b: str, project_root: Path) -> bool:
    """Whether two storage targets share any place: one is the other, or inside it."""
    pa, pb = _place(a, project_root), _place(b, project_root)
    if pa is None or pb is None or pa[0] != pb[0]:
        return False
    sep = "/" if pa[0] != "file" else os.sep
    return _within(pa[1], pb[1], sep) or _within(pb[1], pa[1], sep)


def storage_problems(
    storage: StorageTarget,
    project_root: Path,
    show_file: Path | None = None,
    episodes_dir: Path | None = None,
) -> list[Problem]:
    """What would make raw recordings public: the private target inside or around the
    public one (after canonicalising both), or a public folder holding the episodes."""
    problems: list[Problem] = []
    if storage.private and overlap(storage.private, storage.target, project_root):
        problems.append(
            Problem(
                show_file,
                f"`{storage.private}` is the public target `{storage.target}`, or inside it, "
                "or contains it (once `//`, `.`, `..` and links are resolved).",
                "Raw recordings must never be public: give a separate bucket "
                "(best) or a prefix outside the public one.",
                field="storage.private",
            )
        )
    if episodes_dir is not None and storage.target.startswith("local:"):
        if overlap(storage.target, f"local:{episodes_dir}", project_root):
            problems.append(
                Problem(
                    show_file,
                    f"the public folder `{storage.target}` holds (or is inside) the episodes "
                    f"folder {episodes_dir}, where the raw recordings are.",
                    "Publish into a folder of its own, such as `local:public`.",
                    field="storage",
                )
            )
    return problems


def _open(
    target: str,
    storage: StorageTarget,
    project_root: Path,
    show_file: Path | None,
    field: str,
) -> ObjectStore:
    if target.startswith("local:"):
        from pipeline.store.local import LocalStore

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
        from pipeline.store.s3 import S3Store

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
