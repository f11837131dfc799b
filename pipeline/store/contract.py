"""The one contract every object store keeps (a local folder, S3), and what a key may be.

Every object carries a ``version``: a token that changes whenever the bytes behind a key
are replaced (the S3 ETag; for a folder, modification time and size). The publish
manifest records the version of everything it published, so an object changed by hand
since is noticed without reading it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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

    def open_to_anyone(self) -> bool | None:
        """Whether a request without credentials can read what is written here (None:
        it cannot be told). Asked before raw recordings are written; a store may answer
        once for its life."""
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
