"""The one way storycast runs an external program (ffmpeg, ffprobe).

Every command is logged as a copy-pasteable line, and a failure becomes a
``ToolError`` carrying the tail of stderr instead of a bare CalledProcessError.
Every run has a time limit, so one hung ffmpeg cannot stall the whole batch.

``source_input`` is the one way a contributor's file is opened by ffmpeg or
ffprobe: only the containers phones and editors write are read
(``SOURCE_DEMUXERS``), and only from the local file itself
(``-protocol_whitelist file``). A "recording" that is really a playlist, a
concat list, an image sequence, a URL or a device is refused when it is probed,
so no audio from elsewhere on the machine can reach an episode.
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import shlex
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pipeline import defaults
from pipeline.errors import Problem, ToolError
from pipeline.progress import Tick

log = logging.getLogger("storycast.run")

STDERR_TAIL_LINES = 12

# ffmpeg demuxers for what phones and editing programs write: MP4/M4A/MOV/3GP ("mov"),
# MP3, WAV, FLAC, Ogg/Opus, WebM/MKV ("matroska"), AMR (3GPP and raw) and ADTS AAC.
# Never hls, concat, image2, lavfi, or any device or network demuxer.
SOURCE_DEMUXERS = ("mov", "mp3", "wav", "flac", "ogg", "matroska", "amr", "amrnb", "amrwb", "aac")


def source_input(path: Path) -> list[str]:
    """ffmpeg/ffprobe input options that open ``path`` as a contributor's recording, and
    nothing else: put ``-ss``/``-t`` before them as usual."""
    return [
        "-protocol_whitelist", "file",
        "-format_whitelist", ",".join(SOURCE_DEMUXERS),
        "-i", "file:" + str(Path(path).absolute()),
    ]  # fmt: skip


def media_timeout(seconds: float | None) -> float:
    """The time limit for a run that processes ``seconds`` of media: the default for quick
    steps, and ``defaults.TOOL_SECONDS_PER_MEDIA_SECOND`` for each second when that is
    more (a 25-minute 1080p render runs at about 1.3 s a second on 2 cores)."""
    scaled = defaults.TOOL_SECONDS_PER_MEDIA_SECOND * max(0.0, seconds or 0.0)
    return max(defaults.TOOL_TIMEOUT, scaled)


def stopped_after(what: str, limit: float, args: Sequence[str], path: Path | None) -> ToolError:
    """The error for a program stopped at its time limit."""
    shown = f"{limit:.0f}" if limit >= 10 else f"{limit:.1f}"
    return ToolError(
        Problem(
            path,
            f"{what} did not finish within {shown} s, so {args[0]} was stopped.",
            "If the file is very long, check it plays; otherwise report this with the "
            f"command: {shlex.join(args)}",
        )
    )


def stderr_tail(stderr: str, lines: int = STDERR_TAIL_LINES) -> str:
    kept = [line for line in stderr.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


# ffmpeg starts a line with the part of it that speaks and that part's memory address:
# "[mjpeg @ 0x55d0c0a3e1c0] No JPEG data found in image".
_SPEAKER = re.compile(r"^\[([^\]\n]*?) @ 0x[0-9a-fA-F]+\]\s*")
SAID_CHARACTERS = 400


def ffmpeg_said(stderr: str, lines: int = 4, width: int = SAID_CHARACTERS) -> str:
    """What ffmpeg said, fit to quote inside one line of a message: its last ``lines``
    lines, each without its memory address ("[mjpeg @ 0x55...] No JPEG data" becomes
    "mjpeg: No JPEG data"), repeats dropped, joined with "; ", at most ``width``
    characters. Never raw stderr: a summary bullet stays one line."""
    kept: list[str] = []
    for raw in stderr.splitlines():
        line = _SPEAKER.sub(lambda m: f"{m.group(1)}: " if m.group(1) else "", raw.strip())
        line = " ".join(line.split())
        if line and line not in kept:
            kept.append(line)
    text = "; ".join(kept[-lines:])
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def working_part(stderr: str) -> str:
    """What ffmpeg said while it worked (after "Stream mapping:"), not while it opened its
    inputs: opening probes every stream, a cover picture the run never uses included, and
    a damaged one says so there."""
    _, mark, rest = stderr.partition("Stream mapping:")
    return rest if mark else stderr


def _failed(what: str, args: Sequence[str], code: int, stderr: str, path: Path | None) -> ToolError:
    """The error for a program that exited non-zero: one line, ffmpeg's words quoted in it."""
    said = ffmpeg_said(stderr)
    return ToolError(
        Problem(
            path,
            f"{what} failed ({Path(args[0]).name} exit {code}"
            + (f", saying: {said})." if said else ")."),
            f"The command was: {shlex.join(args)}",
        )
    )


def _watch_progress(stream: IO[bytes], progress: Tick) -> None:
    """Read ffmpeg's ``-progress`` lines and tick the seconds of output it has made."""
    for raw in stream:
        key, _, value = raw.decode("ascii", "replace").strip().partition("=")
        if key in ("out_time_us", "out_time_ms") and value.isdigit():  # both are microseconds
            try:
                progress(int(value) / 1_000_000)
            except Exception:  # a progress display must never stop the work
                log.debug("progress display failed", exc_info=True)


def _run_watched(
    args: list[str], limit: float, progress: Tick
) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run`` for ffmpeg, telling ``progress`` how far it has got: ffmpeg writes
    ``-progress`` to a pipe of its own, read by a thread as it comes, so stdout and stderr
    stay as they were (and the command a message quotes can be typed again by hand)."""
    read_end, write_end = os.pipe()
    watched = [args[0], "-progress", f"pipe:{write_end}", *args[1:]]
    log.debug("run: %s", shlex.join(watched))
    with os.fdopen(read_end, "rb") as reader:
        watcher = threading.Thread(target=_watch_progress, args=(reader, progress), daemon=True)
        watcher.start()
        try:
            raw = subprocess.run(
                watched,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=limit,
                pass_fds=(write_end,),
            )
        finally:
            os.close(write_end)  # the thread reads to the end of the pipe, then stops
            watcher.join(timeout=5)
    return subprocess.CompletedProcess(args, raw.returncode, raw.stdout, raw.stderr)


def run(
    cmd: Sequence[str | Path],
    *,
    what: str,
    path: Path | None = None,
    check: bool = True,
    text: bool = True,
    timeout: float | None = None,
    progress: Tick | None = None,
) -> subprocess.CompletedProcess[Any]:
    """Run ``cmd``; return its output. ``what`` names the step for the error message.

    ``timeout`` (seconds; ``defaults.TOOL_TIMEOUT`` when None) bounds the run: past it the
    program is killed and a ToolError says so. Long steps pass ``media_timeout`` of the
    seconds of media they process. ``progress``, for an ffmpeg run: told the seconds of
    output made so far, as ffmpeg goes (``pipeline.progress``).

    A failure is one line: ffmpeg's own words are quoted in it (``ffmpeg_said``), never
    its raw stderr, so a run summary's bullet stays one bullet.
    """
    args = [str(c) for c in cmd]
    limit = defaults.TOOL_TIMEOUT if timeout is None else timeout
    watched = progress is not None and Path(args[0]).name == "ffmpeg"
    try:
        if watched:
            assert progress is not None
            raw = _run_watched(args, limit, progress)
        else:
            log.debug("run: %s", shlex.join(args))
            raw = subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL, timeout=limit)
    except subprocess.TimeoutExpired as exc:
        raise stopped_after(what, limit, args, path) from exc
    except FileNotFoundError as exc:
        raise ToolError(
            Problem(
                path,
                f"{args[0]} is not installed, so {what} cannot run.",
                "Run `make publish` (it installs ffmpeg) or install it with your package manager.",
            )
        ) from exc
    stderr = raw.stderr.decode("utf-8", "replace")
    stdout: str | bytes = raw.stdout.decode("utf-8", "replace") if text else raw.stdout
    proc = subprocess.CompletedProcess(args, raw.returncode, stdout, stderr)
    if check and proc.returncode != 0:
        raise _failed(what, args, proc.returncode, stderr, path)
    return proc


class _Feeder:
    """Runs ``feed``'s commands one after another, each writing its standard output into
    ``sink`` (another program's standard input), which it closes after the last; so
    ``sink``'s reader sees their outputs joined, in order, as one stream."""

    def __init__(
        self, feed: Sequence[Sequence[str | Path]], sink: IO[bytes], what: str, path: Path | None
    ):
        self.feed = [[str(c) for c in cmd] for cmd in feed]
        self.sink = sink
        self.what = what
        self.path = path
        self.error: ToolError | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._now: subprocess.Popen[bytes] | None = None
        self.thread = threading.Thread(target=self._run, name="feed", daemon=True)

    def _run(self) -> None:
        try:
            for n, args in enumerate(self.feed, 1):
                log.debug("run (part %d of %d): %s", n, len(self.feed), shlex.join(args))
                with tempfile.TemporaryFile() as err:
                    with self._lock:
                        if self._stop.is_set():
                            return
                        try:
                            proc = subprocess.Popen(
                                args, stdin=subprocess.DEVNULL, stdout=self.sink, stderr=err
                            )
                        except FileNotFoundError:
                            self.error = ToolError(
                                Problem(self.path, f"{args[0]} is not installed, so "
                                        f"{self.what} cannot run.", "Run `make publish`.")
                            )  # fmt: skip
                            return
                        self._now = proc
                    # no time limit of its own: a part that hangs starves the reader,
                    # whose limit stops everything (``stop``)
                    code = proc.wait()
                    if code != 0:
                        if not self._stop.is_set():
                            err.seek(0)
                            said = err.read().decode("utf-8", "replace")
                            self.error = _failed(self.what, args, code, said, self.path)
                        return
        finally:
            self.sink.close()

    def stop(self) -> None:
        """Start nothing more and end what runs now (the reader left or failed)."""
        with self._lock:
            self._stop.set()
            if self._now is not None and self._now.poll() is None:
                self._now.kill()


class _Stalled(Exception):
    """The program used up its time limit without delivering."""


def stream(
    cmd: Sequence[str | Path],
    *,
    what: str,
    path: Path | None = None,
    block_bytes: int = 1 << 20,
    timeout: float | None = None,
    feed: Sequence[Sequence[str | Path]] = (),
) -> Iterator[bytes]:
    """Run ``cmd`` and yield its standard output in blocks of ``block_bytes`` (fewer only at
    the end), as it comes: a long recording is never held whole.

    ``feed``: commands run one after another while ``cmd`` runs, their standard outputs
    joined in order as ``cmd``'s standard input (several small ffmpeg runs making one
    stream: each holds only its own inputs open). A part that fails fails the whole.

    Like ``run``: the command is logged and a failure becomes a ToolError with the tail of
    stderr. The time limit (``timeout``, default ``defaults.TOOL_TIMEOUT``) counts only the
    time spent waiting for the program, not the time the caller takes over each block (a
    speech model is much slower than decoding), so a hung program is stopped and a slow
    caller never is. stderr goes to a temporary file, so a chatty program never blocks on
    a full pipe.
    """
    args = [str(c) for c in cmd]
    log.debug("run: %s", shlex.join(args))
    limit = defaults.TOOL_TIMEOUT if timeout is None else timeout
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        except FileNotFoundError as exc:
            raise ToolError(
                Problem(
                    path,
                    f"{args[0]} is not installed, so {what} cannot run.",
                    "Run `make publish` (it installs ffmpeg) or install it with your "
                    "package manager.",
                )
            ) from exc
        assert proc.stdout is not None
        feeder = None
        if feed:
            assert proc.stdin is not None
            feeder = _Feeder(feed, proc.stdin, what, path)
            feeder.thread.start()
        fd = proc.stdout.fileno()
        waiting = selectors.DefaultSelector()
        waiting.register(fd, selectors.EVENT_READ)
        waited = 0.0  # seconds spent waiting for the program, in all
        stalled = False

        def read_block() -> bytes:
            nonlocal waited
            data = bytearray()
            while len(data) < block_bytes:
                chunk = b""
                started = time.monotonic()
                ready = waiting.select(max(0.0, limit - waited))
                if ready:
                    chunk = os.read(fd, block_bytes - len(data))
                waited += time.monotonic() - started
                if not ready or waited > limit:
                    raise _Stalled
                if not chunk:
                    break
                data += chunk
            return bytes(data)

        try:
            while block := read_block():
                yield block
        except _Stalled:
            stalled = True
        finally:
            if feeder is not None:
                # at the end every part has been run (``cmd`` read them all); stopped
                # early, the parts still to come are not wanted
                feeder.stop()
            waiting.close()
            proc.stdout.close()
            try:
                code = proc.wait(timeout=max(1.0, limit - waited) if not stalled else 0.01)
            except subprocess.TimeoutExpired:
                stalled = True
            if stalled:
                proc.kill()
                code = proc.wait()
            if feeder is not None:
                feeder.thread.join()
        if feeder is not None and feeder.error is not None:
            raise feeder.error  # the stream ended early: a part is missing
        if stalled:
            raise stopped_after(what, limit, args, path)
        if code != 0:
            err.seek(0)
            raise _failed(what, args, code, err.read().decode("utf-8", "replace"), path)
