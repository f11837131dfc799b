"""The one way storycast runs an external program (ffmpeg, ffprobe).

Every command is logged as a copy-pasteable line, and a failure becomes a
``ToolError`` carrying the tail of stderr instead of a bare CalledProcessError.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import Problem, ToolError

log = logging.getLogger("storycast.run")

STDERR_TAIL_LINES = 12


def stderr_tail(stderr: str, lines: int = STDERR_TAIL_LINES) -> str:
    kept = [line for line in stderr.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run(
    cmd: Sequence[str | Path],
    *,
    what: str,
    path: Path | None = None,
    check: bool = True,
    text: bool = True,
) -> subprocess.CompletedProcess[Any]:
    """Run ``cmd``; return its output. ``what`` names the step for the error message."""
    args = [str(c) for c in cmd]
    log.debug("run: %s", shlex.join(args))
    try:
        raw = subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL)
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
        raise ToolError(
            Problem(
                path,
                f"{what} failed ({args[0]} exit {proc.returncode}): {stderr_tail(stderr)}",
                f"The command was: {shlex.join(args)}",
            )
        )
    return proc
