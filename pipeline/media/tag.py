"""The tag stage: strip every tag from a rendered MP3, then write only ours.

Phones and encoders leave device names, locations and creation times in tags
(ID3v1, ID3v2, APE). Published files must carry none of that, so ``tag_mp3``
first removes every tag it can find and then writes a small, known set of
frames as ID3v2.3, the version podcast apps read most reliably (Apple
Podcasts, Overcast and many car stereos handle v2.3; v2.4 support is patchier,
and v2.3 cannot hold UTF-8, so mutagen writes text as UTF-16):

- TIT2 episode title, TALB show title, TPE1 artist (only if given),
  TRCK episode number, TYER year (v2.3's TDRC), TCON "Podcast"
- APIC front cover, its MIME type taken from the artwork's magic bytes
- CHAP frames ``chp0``, ``chp1``, ... (times in ms, each with a TIT2 sub-frame)
  and one top-level, ordered CTOC ``toc`` listing them, when chapters are given

The MP3's own LAME/Xing "Info" frame is audio data, not a tag: it stays, because
players use it for exact duration, seeking and gapless playback.

The file is rewritten through a temporary copy beside it and swapped in with
``os.replace``, so a crash never leaves a half-tagged file under the real name.
"""

# mutagen ships py.typed but leaves most of its functions unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mutagen import MutagenError
from mutagen.apev2 import delete as delete_ape
from mutagen.id3 import (
    APIC,
    CHAP,
    CTOC,
    ID3,
    TALB,
    TCON,
    TIT2,
    TPE1,
    TRCK,
    TYER,
    CTOCFlags,
    Encoding,
    PictureType,
)
from mutagen.id3 import delete as delete_id3
from mutagen.id3._tags import save_frame
from mutagen.id3._util import ID3SaveConfig
from mutagen.mp3 import MP3

from pipeline.errors import InputError, MediaError, Problem
from pipeline.records import Chapter

ID3_VERSION = 3  # ID3v2.3: what podcast apps read best
GENRE = "Podcast"
TOC_ID = "toc"
_V23_SEPARATOR = "/"  # how ID3v2.3 joins several values in one text frame
# Tags can be stacked (several ID3v2 tags in a row, APE then ID3v1 at the end);
# keep stripping until nothing changes, but never loop forever on a strange file.
_MAX_STRIP_PASSES = 8

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _InOrderID3(ID3):
    """An ID3 tag that writes its frames in the order they were added.

    Plain mutagen sorts frames of one kind by their encoded size, which puts
    CHAP frames out of time order; ffmpeg and several podcast apps list
    chapters in file order and ignore the CTOC. This keeps text frames first,
    then the CTOC, then the chapters in time order, then the picture.
    """

    def _write(self, config: Any) -> bytearray:  # mutagen.id3._tags.ID3SaveConfig
        return bytearray().join(save_frame(frame, config=config) for frame in self.values())


def image_mime(path: Path) -> str:
    """The MIME type of a JPEG or PNG file, judged by its bytes, not its name."""
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise InputError.at(
            path,
            f"cannot read the artwork: {exc.strerror or exc}.",
            "Check the show's artwork path.",
        ) from exc
    if head.startswith(_JPEG_MAGIC):
        return "image/jpeg"
    if head.startswith(_PNG_MAGIC):
        return "image/png"
    raise InputError.at(
        path,
        "the artwork is neither a JPEG nor a PNG image (whatever its name says).",
        "Export it as a square RGB JPEG or PNG, 1400 to 3000 pixels a side.",
    )


def chapter_frames(chapters: Sequence[Chapter], duration: float) -> list[CHAP | CTOC]:
    """The CTOC listing the chapters, then one CHAP per chapter in time order.

    Each chapter ends where the next one starts; the last ends at ``duration``.
    """
    if not chapters:
        return []
    _check_chapters(chapters, duration)
    ends = [c.start for c in chapters[1:]] + [duration]
    ids = [f"chp{i}" for i in range(len(chapters))]
    chaps: list[CHAP] = []
    for element_id, chapter, end in zip(ids, chapters, ends, strict=True):
        chaps.append(
            CHAP(
                element_id=element_id,
                start_time=_ms(chapter.start),
                end_time=_ms(end),
                sub_frames=[TIT2(encoding=Encoding.UTF16, text=[chapter.title])],
            )
        )
    toc = CTOC(
        element_id=TOC_ID,
        flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
        child_element_ids=ids,
        sub_frames=[],
    )
    return [toc, *chaps]


def id3_tag(
    *,
    title: str,
    show_title: str,
    artist: str | None,
    episode_number: int | None,
    year: int | None,
    artwork: Path,
    chapters: Sequence[Chapter],
    duration: float,
) -> ID3:
    """The ID3v2.3 tag storycast writes for these values: exactly these frames, in order."""
    mime = image_mime(artwork)
    picture = artwork.read_bytes()
    chaps = chapter_frames(chapters, duration)
    tags = _InOrderID3()
    tags.add(TIT2(encoding=Encoding.UTF16, text=[title]))
    tags.add(TALB(encoding=Encoding.UTF16, text=[show_title]))
    if artist:
        tags.add(TPE1(encoding=Encoding.UTF16, text=[artist]))
    if episode_number is not None:
        tags.add(TRCK(encoding=Encoding.LATIN1, text=[str(episode_number)]))
    if year is not None:
        tags.add(TYER(encoding=Encoding.LATIN1, text=[f"{year:04d}"]))  # v2.4 says TDRC
    tags.add(TCON(encoding=Encoding.LATIN1, text=[GENRE]))
    for frame in chaps:
        tags.add(frame)
    tags.add(
        APIC(
            encoding=Encoding.LATIN1,
            mime=mime,
            type=PictureType.COVER_FRONT,
            desc="",
            data=picture,
        )
    )
    tags.update_to_v23()  # a no-op for these frames today; keeps the tag valid v2.3
    return tags


def frame_bytes(tags: ID3) -> list[bytes]:
    """Each frame of ``tags`` exactly as ``ID3.save`` writes it in an ID3v2.3 tag
    (mutagen leaves an empty text frame out)."""
    config = ID3SaveConfig(ID3_VERSION, _V23_SEPARATOR)
    return [raw for frame in tags.values() if (raw := save_frame(frame, config=config))]


def written_frames(
    *,
    title: str,
    show_title: str,
    artist: str | None,
    episode_number: int | None,
    year: int | None,
    artwork: Path,
    chapters: Sequence[Chapter],
    duration: float,
) -> list[bytes]:
    """The raw frames ``tag_mp3`` writes for these values, rebuilt without touching an MP3:
    what ``scrub.find_traces`` compares an episode's tag with, frame by frame."""
    return frame_bytes(
        id3_tag(
            title=title,
            show_title=show_title,
            artist=artist,
            episode_number=episode_number,
            year=year,
            artwork=artwork,
            chapters=chapters,
            duration=duration,
        )
    )


def tag_mp3(
    path: Path,
    *,
    title: str,
    show_title: str,
    artist: str | None,
    episode_number: int | None,
    year: int | None,
    artwork: Path,
    chapters: Sequence[Chapter],
    duration: float,
) -> list[bytes]:
    """Remove every tag from the MP3 at ``path`` and write only storycast's frames.

    Returns the frames written, byte for byte (see ``written_frames``).
    """
    tags = id3_tag(
        title=title,
        show_title=show_title,
        artist=artist,
        episode_number=episode_number,
        year=year,
        artwork=artwork,
        chapters=chapters,
        duration=duration,
    )
    _check_mp3(path)

    tmp = path.with_name(f".{path.name}.tagging")
    try:
        shutil.copy(path, tmp)  # data and permission bits
        strip_tags(tmp)
        tags.save(tmp, v1=0, v2_version=ID3_VERSION, v23_sep=_V23_SEPARATOR)
        os.replace(tmp, path)
    except MutagenError as exc:
        raise MediaError.at(
            path,
            f"could not write tags: {exc}.",
            "Check the rendered file is a complete MP3 and the disk is not full.",
        ) from exc
    except OSError as exc:
        raise MediaError.at(
            path, f"could not write tags: {exc.strerror or exc}.", "Check the disk is not full."
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return frame_bytes(tags)


def strip_tags(path: Path) -> None:
    """Remove every ID3v1, ID3v2 and APE tag from ``path``, in place."""
    for _ in range(_MAX_STRIP_PASSES):
        before = path.stat().st_size
        delete_ape(path)
        delete_id3(path, delete_v1=True, delete_v2=True)
        if path.stat().st_size == before:
            return
    raise MediaError.at(
        path,
        f"still found tags after {_MAX_STRIP_PASSES} passes of removing them.",
        "Re-render the episode; the file is malformed.",
    )


def _check_mp3(path: Path) -> None:
    try:
        MP3(path)
    except (MutagenError, OSError) as exc:
        raise MediaError.at(
            path, f"is not a readable MP3 ({exc}).", "Re-render the episode."
        ) from exc


def _check_chapters(chapters: Sequence[Chapter], duration: float) -> None:
    problems: list[Problem] = []
    previous: float | None = None
    for chapter in chapters:
        where = f"chapter {chapter.title!r}" + (
            f" (EDL line {chapter.line})" if chapter.line is not None else ""
        )
        if chapter.start < 0 or chapter.start >= duration:
            problems.append(
                Problem(
                    None,
                    f"{where} starts at {chapter.start:.3f} s, outside the episode "
                    f"(0 to {duration:.3f} s).",
                    "Move the chapter inside the edited episode.",
                )
            )
        elif previous is not None and chapter.start <= previous:
            problems.append(
                Problem(
                    None,
                    f"{where} starts at {chapter.start:.3f} s, not after the chapter "
                    f"before it ({previous:.3f} s).",
                    "List chapters in time order, each starting later than the last.",
                )
            )
        previous = chapter.start
    if problems:
        raise InputError(problems)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
