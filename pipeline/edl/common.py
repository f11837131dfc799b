"""What the EDL importers share: reading text in the encodings editing tools
write, and turning the names those tools use into recording names.

Recording names
    A name that looks like a file (``interview.m4a``, ``day1/street.opus``) is
    taken as a recording in the episode's recordings/ folder; ``edit`` checks
    later that it is there. Any other name (a reel such as ``TAPE01``, a clip
    name such as ``Sam interview``) must be listed under ``reels:`` in
    episode.yaml, which says which recording it is and, for timecode formats,
    the recording's first timecode. A name listed under ``reels:`` always wins,
    so ``reels:`` can also re-point a file name.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from pipeline.errors import InputError, Problem
from pipeline.project.yamlfile import Problems, read_bytes
from pipeline.records import Episode, Reel

# A name ending in a short extension is a file name, not a reel or clip name.
_FILE_LIKE = re.compile(r"\.[A-Za-z0-9]{2,5}$")

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def read_source(path: Path) -> tuple[str, str]:
    """An editing tool's export as text, with the sha256 of the bytes that were read.

    The hash is of exactly the bytes parsed, so an approval pins what was checked.
    A missing, unreadable or wrongly encoded file raises ``InputError``.
    """
    problems = Problems()
    raw = read_bytes(path, problems)
    text = decode_text(path, raw, problems) if raw is not None else None
    if raw is None or text is None:
        raise InputError(problems.items)
    return text, sha256(raw)


def decode_text(path: Path, raw: bytes, problems: Problems) -> str | None:
    """Text from UTF-8 (with or without a byte order mark) or UTF-16 (LE or BE).

    Windows builds of editing tools write UTF-16 with a byte order mark; a UTF-16
    file without one is recognised by its zero bytes. Anything else (Latin-1,
    Mac Roman, a binary file) is refused rather than guessed, because a wrongly
    guessed encoding turns `café.m4a` into a name that matches nothing.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return _decode(path, raw[len(bom) :], encoding, problems)
    if len(raw) >= 2 and b"\x00" in raw:
        even_zeros = raw[0::2].count(0)
        odd_zeros = raw[1::2].count(0)
        if odd_zeros > len(raw) // 4 and even_zeros * 8 < odd_zeros:
            return _decode(path, raw, "utf-16-le", problems)
        if even_zeros > len(raw) // 4 and odd_zeros * 8 < even_zeros:
            return _decode(path, raw, "utf-16-be", problems)
    return _decode(path, raw, "utf-8", problems)


def _decode(path: Path, raw: bytes, encoding: str, problems: Problems) -> str | None:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        unit = 2 if encoding.startswith("utf-16") else 1
        newline = "\n".encode(encoding) if unit == 2 else b"\n"
        before = raw[: exc.start - exc.start % unit]
        line = before.count(newline) + 1
        # The byte itself is not shown: the file may be anything, and is not quoted.
        problems.add(
            Problem(
                path,
                f"is not UTF-8 or UTF-16 text: line {line} has a byte storycast cannot read.",
                "Export it again from the editing tool, or open it in a text editor and save "
                "it as UTF-8.",
                line,
            )
        )
        return None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        problems.add(
            Problem(
                path,
                "is not a text file (it has zero bytes in it).",
                "Export the edit list again from the editing tool.",
                line,
            )
        )
        return None
    return text


def is_file_name(name: str) -> bool:
    return bool(_FILE_LIKE.search(name))


def lookup(name: str, episode: Episode | None) -> Reel | None:
    """The recording a tool's name stands for, or None if it names none.

    ``reels:`` in episode.yaml first; otherwise a file-like name is itself the
    recording (with no timecode offset).
    """
    name = name.strip()
    if not name:
        return None
    if episode is not None and name in episode.reels:
        return episode.reels[name]
    if is_file_name(name):
        return Reel(name)
    return None


def reels_hint(episode: Episode | None, example: str) -> str:
    """How to make ``example`` name a recording, listing the names already known."""
    if episode is not None and episode.reels:
        known = ", ".join(f"`{n}`" for n in sorted(episode.reels))
        return (
            f"Add it under `reels:` in episode.yaml (known there: {known}), "
            f"e.g. `{example}: interview.m4a`."
        )
    return (
        "Write the recording's file name (like `interview.m4a`), or add "
        f"`reels:` to episode.yaml, e.g. `reels: {{{example}: interview.m4a}}`."
    )


def file_name(reference: str) -> str:
    """The recording name in a media path or URL: the part after ``recordings/``, or
    the file name."""
    parsed = urlparse(reference)
    text = unquote(parsed.path) if parsed.scheme in ("file", "") else reference
    text = text.replace("\\", "/")
    if "/recordings/" in text:
        return text.rsplit("/recordings/", 1)[1]
    return os.path.basename(text)
