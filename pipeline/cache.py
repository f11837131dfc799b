"""Content-keyed cache: a folder of JSON records and rendered files.

Keys are content hashes (a recording's sha256, a render's input hash), so a
cache entry can never describe different bytes than the ones it was made
from. Writes are atomic: a crash leaves either the old entry or the new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pipeline.defaults import CACHE_VERSION


class Cache:
    def __init__(self, root: Path):
        self.root = root

    def path(self, kind: str, key: str, suffix: str = ".json") -> Path:
        return self.root / f"v{CACHE_VERSION}" / kind / f"{key}{suffix}"

    def get_json(self, kind: str, key: str) -> dict[str, Any] | None:
        try:
            with self.path(kind, key).open(encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def put_json(self, kind: str, key: str, data: dict[str, Any]) -> None:
        target = self.path(kind, key)
        write_atomic(target, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))

    def remove(self, kind: str, key: str, suffix: str = ".json") -> None:
        self.path(kind, key, suffix).unlink(missing_ok=True)


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
