"""A local folder as the object store (the embedded default, served by `make preview`).

Every write goes to a temporary file beside its target and is renamed into
place, so a reader (or a crash) never sees a half-written object.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import tempfile
from pathlib import Path

from pipeline.cache import write_atomic
from pipeline.errors import Problem, StoreError
from pipeline.store.contract import ObjectInfo, check_key
from pipeline.store.locks import FileLease, Lease


class LocalStore:
    def __init__(self, root: Path):
        self.root = root
        self.description = f"local folder {root}"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, path: Path, content_type: str, cache_control: str) -> ObjectInfo:
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
            raise _write_error(target, exc) from exc
        return self._verified(key, path.stat().st_size)

    def put_bytes(self, key: str, data: bytes, content_type: str, cache_control: str) -> ObjectInfo:
        target = self._path(key)
        try:
            write_atomic(target, data)
            os.chmod(target, 0o644)
        except OSError as exc:
            raise _write_error(target, exc) from exc
        return self._verified(key, len(data))

    def _verified(self, key: str, size: int) -> ObjectInfo:
        info = self.head(key)
        if info is None or info.size != size:
            raise StoreError(
                Problem(
                    self._path(key),
                    f"holds {info.size if info else 'nothing'} bytes after writing {size}.",
                    "Check the disk (is it full or failing?) and publish again.",
                )
            )
        return info

    def head(self, key: str) -> ObjectInfo | None:
        try:
            return _info(key, self._path(key).stat())
        except FileNotFoundError:
            return None

    def holds(self, info: ObjectInfo, path: Path) -> bool:
        try:
            return filecmp.cmp(self._path(info.key), path, shallow=False)
        except OSError:
            return False

    def lock(self, name: str) -> Lease:
        """A file lock on the folder itself: one publish writes into it at a time."""
        return FileLease(self.root, f"`{name}`", f"the folder {self.root}", folder=True)

    def open_to_anyone(self) -> bool | None:
        """Whether anyone can read this folder cannot be told from here (a web server may
        serve it); ``store.storage_problems`` refuses one inside the public folder."""
        return None

    def allow_cross_origin(self) -> str:
        return "not needed: `storycast preview` sends Access-Control-Allow-Origin itself"

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def get_file(self, key: str, dest: Path) -> bool:
        try:
            shutil.copyfile(self._path(key), dest)
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        if not self.root.exists():
            return []
        found: list[ObjectInfo] = []
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(_info(key, path.stat()))
        return found

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        parent = path.parent
        while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def _info(key: str, st: os.stat_result) -> ObjectInfo:
    return ObjectInfo(key, st.st_size, f"{st.st_mtime_ns:x}-{st.st_size:x}")


def _write_error(target: Path, exc: OSError) -> StoreError:
    return StoreError(
        Problem(
            target,
            f"could not be written ({exc.strerror or exc}).",
            "Check there is free disk space and the folder is writable, then publish again.",
        )
    )
