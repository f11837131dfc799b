"""Opening what contributors and producers give storycast: ordinary files only, and only
inside the folder they belong to (every symbolic link followed).

Shared ground: the project's files, the recordings and the media layer all open files
through these.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO


def resolve_inside(folder: Path, name: str, where: str, within: Path | None = None) -> Path | str:
    """``folder / name`` if, with every symbolic link followed, it is inside ``within``
    (default: ``folder`` itself); otherwise why not, as words to follow "`name` ".

    The one check for every path a show, episode, EDL or corrections file names: a
    path field may not lead out of its folder, by ``..``, an absolute path or a link.
    ``where`` describes ``within`` for the message ("the episode's folder").
    """
    if "\x00" in name:
        return "has a zero byte in it, which no file name can"
    candidate = folder / name
    try:
        real = candidate.resolve(strict=False)
        base = (folder if within is None else within).resolve(strict=False)
    except RuntimeError:  # a symbolic link loop (Python 3.11 and 3.12)
        return "cannot be looked up: it is a link that leads round in a circle"
    except OSError as exc:
        return f"cannot be looked up ({exc.strerror or exc})"
    if not real.is_relative_to(base):
        return f"leads outside {where}"
    return candidate


class NotAFile(ValueError):
    """What ``open_regular`` found instead of an ordinary file ("a folder", ...)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def not_a_file(mode: int) -> str | None:
    """What a file of this ``st_mode`` is, in words, if it is not an ordinary file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), which would make storycast wait forever"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something other than an ordinary file"


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is an ordinary file (links followed); raises
    ``NotAFile`` otherwise. Opened without blocking and checked on the open file, so a
    named pipe or a device is refused at once, never waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        kind = not_a_file(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotAFile(kind)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
