"""Audio for the speech engines: mono 16 kHz float32, streamed from ffmpeg in windows.

A two-hour recording is 460 MB as float32; we never hold it whole. ffmpeg's
output is read in blocks and handed on as windows of about
``defaults.TRANSCRIBE_WINDOW_SECONDS``, each cut at the quietest moment of its
last few seconds so that no word is cut in half. Each window is transcribed on
its own and its words shifted by the window's start time; ``merge_words`` drops
any word a window repeats from the one before.

The windowing (``Windower``) is a pure function of the samples, so tests check
it with a tiny window on a short file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import defaults
from pipeline.media.runner import source_input, stream
from pipeline.records import Word

log = logging.getLogger("storycast.run")

SAMPLE_RATE = 16000
Samples = np.ndarray[Any, np.dtype[np.float32]]

READ_BLOCK_SECONDS = 10.0
QUIET_FRAME_SECONDS = 0.1  # resolution of the search for a quiet cut point


@dataclass(frozen=True)
class Window:
    start: float  # seconds from the start of the recording
    samples: Samples

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _ffmpeg_cmd(path: Path) -> list[str]:
    return [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        *source_input(path),
        "-map",
        "0:a:0",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "-f",
        "f32le",
        "-",
    ]


def stream_16k(
    path: Path, block_seconds: float = READ_BLOCK_SECONDS, timeout: float | None = None
) -> Iterator[Samples]:
    """Blocks of mono 16 kHz float32 samples as ffmpeg decodes them, through
    ``runner.stream`` (logged, time-limited while waiting for ffmpeg only, failures as
    ToolErrors): pass ``runner.media_timeout`` of the recording's length."""
    block_bytes = int(block_seconds * SAMPLE_RATE) * 4
    pending = b""
    for chunk in stream(
        _ffmpeg_cmd(path),
        what="decoding for transcription",
        path=path,
        block_bytes=block_bytes,
        timeout=timeout,
    ):
        data = pending + chunk
        usable = len(data) - len(data) % 4
        pending = data[usable:]
        if usable:
            yield np.frombuffer(data[:usable], dtype=np.float32)


def decode_16k(path: Path) -> Samples:
    """The whole recording at once: only for short clips (tests, language checks)."""
    blocks = list(stream_16k(path))
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


def quietest_cut(samples: Samples, search_from: int) -> int:
    """Index of the start of the quietest ``QUIET_FRAME_SECONDS`` frame at or after
    ``search_from`` (the latest one among equals, to keep windows long)."""
    frame = int(QUIET_FRAME_SECONDS * SAMPLE_RATE)
    region = samples[search_from:]
    count = len(region) // frame
    if count < 2:
        return len(samples)
    frames = region[: count * frame].reshape(count, frame)
    energy = np.einsum("ij,ij->i", frames, frames)
    best = int(count - 1 - np.argmin(energy[::-1]))
    return search_from + best * frame + frame // 2


class Windower:
    """Cuts a stream of sample blocks into windows at quiet points.

    A window is emitted once ``window`` seconds are buffered: it ends at the
    quietest moment of its last ``search`` seconds; what follows is carried
    into the next window. The buffer never holds more than one window and one
    block, so memory is bounded whatever the recording's length.
    """

    def __init__(
        self,
        window: float = defaults.TRANSCRIBE_WINDOW_SECONDS,
        search: float = defaults.TRANSCRIBE_WINDOW_SEARCH_SECONDS,
    ):
        if not 0 < search < window:
            raise ValueError("the search span must be shorter than the window")
        self.window = int(window * SAMPLE_RATE)
        self.search = int(search * SAMPLE_RATE)

    def windows(self, blocks: Iterable[Samples]) -> Iterator[Window]:
        buffer = np.zeros(0, dtype=np.float32)
        start = 0  # sample index of buffer[0] in the recording
        for block in blocks:
            buffer = np.concatenate([buffer, block])
            while len(buffer) >= self.window:
                cut = quietest_cut(buffer[: self.window], self.window - self.search)
                yield Window(start / SAMPLE_RATE, buffer[:cut].copy())
                buffer = buffer[cut:]
                start += cut
        if len(buffer):
            yield Window(start / SAMPLE_RATE, buffer)


def keep_word(text: str) -> bool:
    """Whisper emits bare punctuation and music notes as "words" in noise."""
    return any(ch.isalnum() for ch in text)


def merge_words(previous: list[Word], shifted: list[Word]) -> list[Word]:
    """Words of the next window appended, minus any that start before the last one
    kept ended (a word a window boundary made the model hear twice)."""
    if not previous:
        return list(shifted)
    last_end = previous[-1].end
    return previous + [w for w in shifted if w.start >= last_end - 0.05]


__all__ = [
    "SAMPLE_RATE",
    "Window",
    "Windower",
    "decode_16k",
    "merge_words",
    "quietest_cut",
    "stream_16k",
]


def _norm(word: Word) -> str:
    return "".join(ch for ch in word.text.lower() if ch.isalnum())


def _loops(words: list[Word]) -> list[tuple[int, int, int, int]]:
    """(first index, end index, phrase length, repeats) of each repetition loop."""
    found: list[tuple[int, int, int, int]] = []
    i = 0
    while i < len(words):
        for n in range(1, LOOP_MAX_PHRASE + 1):
            gram = [_norm(w) for w in words[i : i + n]]
            if len(gram) < n or not all(gram):
                continue
            j, reps = i + n, 1
            while (
                j + n <= len(words)
                and [_norm(w) for w in words[j : j + n]] == gram
                and words[j].start - words[j - 1].end < LOOP_MAX_GAP
            ):
                j, reps = j + n, reps + 1
            if reps >= (LOOP_MIN_REPEATS_WORD if n == 1 else LOOP_MIN_REPEATS_PHRASE):
                found.append((i, j, n, reps))
                i = j
                break
        else:
            i += 1
    return found


def repetitive(words: list[Word], n: int = 3, times: int = 3) -> bool:
    """Whether some phrase of ``n`` words occurs ``times`` or more in these words."""
    counts: dict[tuple[str, ...], int] = {}
    keys = [_norm(w) for w in words]
    for i in range(len(keys) - n + 1):
        gram = tuple(keys[i : i + n])
        counts[gram] = counts.get(gram, 0) + 1
        if counts[gram] >= times:
            return True
    return False


def loop_spans(words: list[Word]) -> list[tuple[float, float]]:
    """Where in time the model looped (to decode those stretches again)."""
    return [(words[i].start, words[j - 1].end) for i, j, _, _ in _loops(words)]


def collapse_loops(words: list[Word]) -> tuple[list[Word], list[str]]:
    """Whisper's repetition loops ("him ni, him ni, him ni, ...") cut to one occurrence.

    A loop is a phrase of one to five words said again and again back to back, with
    no pause between: six times or more for one word, four for a phrase. People
    repeat sentences with pauses between (kept); models loop without pausing.
    """
    kept: list[Word] = []
    notes: list[str] = []
    done = 0
    for i, j, n, reps in _loops(words):
        kept += words[done:i] + words[i : i + n]
        phrase = " ".join(w.text for w in words[i : i + n])
        notes.append(
            f"the speech model repeated {phrase!r} {reps} times from {words[i].start:.1f} s; "
            "the repeats were removed. Loops like this usually mean another language than "
            "the show's, music, or noise."
        )
        done = j
    kept += words[done:]
    return kept, notes


LOOP_MAX_PHRASE = 5
LOOP_MAX_GAP = 0.3  # seconds: a pause longer than this between repeats is real speech
LOOP_MIN_REPEATS_WORD = 6
LOOP_MIN_REPEATS_PHRASE = 4
