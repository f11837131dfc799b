"""One publish at a time: leases that make a second `storycast publish` of the same show
stop with a clear message (or wait) instead of interleaving with the first.

Two `storycast publish` runs of one show used to delete each other's staging, and one
lost an episode from the feed. Each run now holds two leases for its whole length:

- the project's (``.storycast/locks/SHOW.lock``), a file lock (``flock``) that guards the
  staging folder and the caches on this machine;
- the store's (``ObjectStore.lock``): a file lock in a local folder, or for S3 a lock
  object written with a conditional put (``If-None-Match: *``), carrying its owner and an
  expiry that the holder renews while it runs, so a run that was killed cannot block the
  show for longer than the expiry.

A file lock is released by the operating system when its process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pipeline.errors import Problem, StoreError


class LockedError(StoreError):
    """Another run holds the lease."""


class Lease(Protocol):
    def check(self) -> None:
        """Raise StoreError if the lease was lost (it could not be renewed in time)."""
        ...

    def release(self) -> None: ...


def holder(extra: dict[str, Any] | None = None, *, host: bool = True) -> dict[str, Any]:
    """Who holds a lease: a run id, the process, when it started (and the host name, for
    locks that are never published)."""
    return {
        "run": uuid.uuid4().hex[:12],
        "pid": os.getpid(),
        **({"host": socket.gethostname()} if host else {}),
        "started": datetime.now(UTC).replace(microsecond=0).isoformat(),
        **(extra or {}),
    }


def machine_id() -> str:
    """This machine, as a hash: the same for every run here, telling nothing of it."""
    try:
        ident = Path("/etc/machine-id").read_text().strip()
    except OSError:
        ident = ""
    return hashlib.sha256(f"storycast:{socket.gethostname()}:{ident}".encode()).hexdigest()[:16]


def process_alive(pid: object) -> bool:
    """Whether a process of this machine with this id still runs."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe(info: dict[str, Any]) -> str:
    """'started 2026-12-02 17:20:05 UTC, process 1234 on laptop' from a holder record."""
    parts = []
    if info.get("started"):
        parts.append(f"started {str(info['started']).replace('T', ' ').replace('+00:00', ' UTC')}")
    if info.get("pid"):
        parts.append(f"process {info['pid']}" + (f" on {info['host']}" if info.get("host") else ""))
    return ", ".join(parts) or "no details recorded"


def locked_error(what: str, where: str, info: dict[str, Any], after: str) -> LockedError:
    return LockedError(
        Problem(
            None,
            f"another `storycast publish` of {what} is running ({describe(info)}), so this one "
            f"stopped before changing anything in {where}.",
            f"Wait for it to finish, then publish again (or use --wait SECONDS). {after}",
        )
    )


class FileLease:
    """An exclusive ``flock`` on a file, held until release or the end of the process.

    On a folder (``folder=True``) the folder itself is locked: nothing is written into it,
    so a published folder is not touched by a run that changes nothing, and no lock file
    can be synced or served with it."""

    def __init__(self, path: Path, what: str, where: str, *, folder: bool = False) -> None:
        if folder:
            path.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._folder = folder
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                info = {} if folder else json.loads(os.pread(fd, 4096, 0) or b"{}")
            except ValueError:
                info = {}
            os.close(fd)
            raise locked_error(
                what,
                where,
                info if isinstance(info, dict) else {},
                "The lock is released as soon as that process ends.",
            ) from None
        if not folder:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder()).encode(), 0)
        self._fd: int | None = fd

    def check(self) -> None:
        return None

    def release(self) -> None:
        if self._fd is not None:
            if not self._folder:
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def acquire(take: Callable[[], Lease], wait: float = 0.0, poll: float = 1.0) -> Lease:
    """``take()``, retried until ``wait`` seconds have passed while another run holds it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return take()
        except LockedError:
            if time.monotonic() + poll > deadline:
                raise
            time.sleep(poll)
