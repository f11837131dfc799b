"""A local folder as the object store (the embedded default, served by `make preview`).

Every write goes to a temporary file beside its target and is renamed into
place, so a reader (or a crash) never sees a half-written object.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..cache import write_atomic
from ..errors import Problem, StoreError
from . import ObjectInfo, check_key


class LocalStore:
    def __init__(self, root: Path):
        self.root = root
        self.description = f"local folder {root}"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, path: Path, content_type: str, cache_control: str) -> None:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.close(fd)
            try:
                shutil.copyfile(path, tmp)
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(
                Problem(
                    target,
                    f"could not be written ({exc.strerror}).",
                    "Check there is free disk space and the folder is writable.",
                )
            ) from exc

    def put_bytes(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        target = self._path(key)
        try:
            write_atomic(target, data)
            os.chmod(target, 0o644)
        except OSError as exc:
            raise StoreError(
                Problem(
                    target,
                    f"could not be written ({exc.strerror}).",
                    "Check there is free disk space and the folder is writable.",
                )
            ) from exc

    def head(self, key: str) -> ObjectInfo | None:
        try:
            return ObjectInfo(key, self._path(key).stat().st_size)
        except FileNotFoundError:
            return None

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        if not self.root.exists():
            return []
        found: list[ObjectInfo] = []
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(ObjectInfo(key, path.stat().st_size))
        return found

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        parent = path.parent
        while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
