"""progress: how far through the recording a long step is, and about how long it has left.

The rooms that do long work (``media.runner`` for ffmpeg, the speech engines) never print:
they call a ``Tick`` with how many seconds of the recording they have done. A stage opens
a task on the run's ``Reporter`` (``Context.progress``) and hands its tick down; the
reporter decides what a producer sees:

- ``Bars`` on a terminal: one tqdm bar per task (tqdm: small, thread-safe, already pulled
  in by faster-whisper, and ``tqdm.write`` keeps messages from breaking a bar);
- ``Lines`` anywhere else (a CI log, a pipe, a file): a plain line at every tenth of the
  way, with no carriage return and no escape code, so a log reads top to bottom;
- ``Silent``: nothing (tests, or a worker that reports elsewhere).

A task that finishes within ``delay`` seconds shows nothing, so a quick or cached step
adds no noise. A reporter is an ordinary object passed in, never a global print, so a
Dask worker (or anything else) can put its own in its place.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TextIO

from pipeline import defaults

# Seconds of the recording (or of the episode) done so far: called as work goes on, from
# any thread, never going backwards in what is shown.
Tick = Callable[[float], None]

MODES = ("auto", "bars", "lines", "off")


class Reporter(Protocol):
    def say(self, text: str) -> None:
        """A message of its own line (a stage starting, a file uploaded)."""

    def task(self, label: str, total: float) -> AbstractContextManager[Tick]:
        """The ``Tick`` of a step over ``total`` seconds of media, while the step runs."""


def clock(seconds: float) -> str:
    """``m:ss`` for a position in a recording, ``h:mm:ss`` past an hour."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration(seconds: float) -> str:
    """A span of time in words a producer reads at a glance: ``8 s``, ``3 min 20 s``."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def part(tick: Tick | None, start: float, width: float, length: float) -> Tick | None:
    """The tick of one part of a task: the part reports its own position (0 to ``length``
    seconds), which lands from ``start`` to ``start + width`` of the task's total. A render
    of several passes over the same episode gives each pass its share this way."""
    if tick is None:
        return None
    scale = width / length if length > 0 else 0.0

    def sub(done: float) -> None:
        tick(start + min(max(done, 0.0), length) * scale)

    return sub


class _Task:
    """What every reporter keeps of a task: its total, when it started, the furthest tick."""

    def __init__(self, label: str, total: float):
        self.label = label
        self.total = max(0.0, total)
        self.started = time.monotonic()
        self.done = 0.0
        self.lock = threading.Lock()

    def advance(self, done: float) -> bool:
        """Record a tick (holding ``lock``); whether it went further than before."""
        done = min(max(done, 0.0), self.total)
        if done <= self.done:
            return False
        self.done = done
        return True

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float | None:
        """Seconds still to go, at the pace so far; None before there is a pace."""
        if self.done <= 0 or self.total <= 0:
            return None
        return self.elapsed() * (self.total - self.done) / self.done

    def percent(self) -> int:
        """How far, in whole percent: 100 only at the end."""
        share = self.done / self.total if self.total > 0 else 0.0
        return min(99, round(100 * share)) if share < 1 else 100

    def eta(self) -> str:
        """The time left at the pace so far, in words."""
        left = self.left()
        if left is None:
            return "working out the time left"
        return "almost done" if left < 1 else f"about {duration(left)} left"


class Silent:
    """Says what it is told to say and shows no progress."""

    def __init__(self, out: TextIO | None = None):
        self.out = out

    def say(self, text: str) -> None:
        if self.out is not None:
            print(text, file=self.out, flush=True)

    @contextmanager
    def task(self, label: str, total: float) -> Iterator[Tick]:
        yield lambda done: None


class Lines:
    """Plain progress lines for logs: one each time a task passes another tenth of the way
    (``defaults.PROGRESS_STEP``), then one when it is done, each a whole line."""

    def __init__(self, out: TextIO, delay: float = defaults.PROGRESS_DELAY):
        self.out = out
        self.delay = delay
        self._write = threading.Lock()

    def say(self, text: str) -> None:
        with self._write:
            print(text, file=self.out, flush=True)

    @contextmanager
    def task(self, label: str, total: float) -> Iterator[Tick]:
        state = _Task(label, total)
        shown = [0]  # tenths already said
        step = defaults.PROGRESS_STEP

        def tick(done: float) -> None:
            with state.lock:
                if not state.advance(done) or state.total <= 0:
                    return
                reached = int(state.done / state.total / step + 1e-9)
                if reached <= shown[0] or reached * step >= 1.0:
                    return  # the end is said once, when the task closes
                if state.elapsed() < self.delay:
                    return
                shown[0] = reached
                self.say(f"    {label}: {state.percent()}% of {clock(state.total)}, {state.eta()}")

        try:
            yield tick
        except BaseException:
            if shown[0]:
                self.say(f"    {label}: stopped after {duration(state.elapsed())}")
            raise
        if shown[0]:
            self.say(f"    {label}: done in {duration(state.elapsed())}")


class Bars:
    """A tqdm bar per task, on a terminal; messages written above the bars."""

    def __init__(self, out: TextIO, delay: float = defaults.PROGRESS_DELAY):
        self.out = out
        self.delay = delay

    def say(self, text: str) -> None:
        from tqdm import tqdm

        tqdm.write(text, file=self.out)

    @contextmanager
    def task(self, label: str, total: float) -> Iterator[Tick]:
        from tqdm import tqdm

        state = _Task(label, total)
        bar = tqdm(
            total=round(state.total, 1),
            desc=f"    {label}",
            unit="s",
            file=self.out,
            delay=self.delay,
            leave=False,
            dynamic_ncols=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f} of {total:.0f} s "
            "[{elapsed} so far, about {remaining} left]",
        )

        def tick(done: float) -> None:
            with state.lock:
                if state.advance(done):
                    bar.update(round(state.done, 1) - bar.n)

        try:
            yield tick
        finally:
            bar.close()


_settings: dict[str, Any] = {"mode": "auto", "delay": defaults.PROGRESS_DELAY}


def configure(mode: str = "auto", delay: float | None = None) -> None:
    """How the command's reporters show progress (the ``--progress`` options)."""
    if mode not in MODES:
        raise ValueError(f"unknown progress mode {mode!r}; known: {', '.join(MODES)}")
    _settings["mode"] = mode
    _settings["delay"] = defaults.PROGRESS_DELAY if delay is None else max(0.0, delay)


def reporter(out: TextIO | None = None) -> Reporter:
    """The reporter for ``out`` (stderr when None), as ``configure`` set: bars on a
    terminal and plain lines elsewhere, unless told otherwise."""
    stream = out if out is not None else sys.stderr
    mode, delay = _settings["mode"], float(_settings["delay"])
    if mode == "auto":
        mode = "bars" if _is_terminal(stream) else "lines"
    if mode == "bars":
        return Bars(stream, delay)
    if mode == "lines":
        return Lines(stream, delay)
    return Silent(stream)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = [
    "MODES",
    "Bars",
    "Lines",
    "Reporter",
    "Silent",
    "Tick",
    "clock",
    "configure",
    "duration",
    "part",
    "reporter",
]
