"""One small exception tree whose messages a producer or volunteer can act on.

Every error says where (file, line, field), what is wrong, and what to do about
it. ``str(error)`` is the line printed in the run summary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input, located as precisely as we can."""

    path: Path | None
    message: str
    fix: str = ""
    line: int | None = None
    field: str | None = None

    def where(self) -> str:
        if self.path is None:
            return ""
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
        return where

    def __str__(self) -> str:
        head = self.where()
        text = f"{head}: " if head else ""
        if self.field:
            text += f"{self.field}: "
        text += self.message
        if self.fix:
            text += f" {self.fix}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": str(self.path) if self.path else None,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
        }


class StorycastError(Exception):
    """Root of every error storycast raises on purpose."""

    def __init__(self, problems: Problem | Iterable[Problem]):
        self.problems: tuple[Problem, ...] = (
            (problems,) if isinstance(problems, Problem) else tuple(problems)
        )
        if not self.problems:
            raise ValueError("StorycastError needs at least one problem")
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(
        cls,
        path: Path | None,
        message: str,
        fix: str = "",
        line: int | None = None,
        field: str | None = None,
    ) -> StorycastError:
        return cls(Problem(path, message, fix, line, field))


class InputError(StorycastError):
    """A show file, episode file, EDL or people file is wrong."""


class MediaError(StorycastError):
    """A recording cannot be used: not media, empty, cut off, no audio."""


class ToolError(StorycastError):
    """An external tool (ffmpeg, ffprobe, a model) failed in a way input does not explain."""


class StoreError(StorycastError):
    """Storage could not be read or written."""
