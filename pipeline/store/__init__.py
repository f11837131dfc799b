"""Object storage behind one contract, chosen by the show's ``storage`` target.

``local:PATH`` (the embedded default) is a folder; ``s3://bucket/prefix`` goes
through boto3 (a later issue). Keys are '/'-separated and never escape the root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import InputError, Problem
from ..records import StorageTarget

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


class ObjectStore(Protocol):
    description: str

    def put_file(self, key: str, path: Path, content_type: str, cache_control: str) -> None: ...
    def put_bytes(self, key: str, data: bytes, content_type: str, cache_control: str) -> None: ...
    def head(self, key: str) -> ObjectInfo | None: ...
    def get_bytes(self, key: str) -> bytes | None: ...
    def list(self, prefix: str = "") -> list[ObjectInfo]: ...
    def delete(self, key: str) -> None: ...


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/") or "//" in key:
        raise ValueError(f"unsafe object key {key!r}")
    return key


def open_store(
    storage: StorageTarget, project_root: Path, show_file: Path | None = None
) -> ObjectStore:
    target = storage.target
    if target.startswith("local:"):
        from .local import LocalStore

        folder = Path(target[len("local:") :])
        if not folder.is_absolute():
            folder = project_root / folder
        return LocalStore(folder)
    raise InputError(
        Problem(
            show_file,
            f"storage target `{target}` is not supported yet.",
            "Use `local:public` (a folder).",
            field="storage",
        )
    )
