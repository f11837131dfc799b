"""EDL importers: each format is a module with ``read(path, episode) -> Timeline``.

The importer is chosen by file suffix. Every importer returns the same
Timeline record (clip sources are recording names inside the episode's
recordings/ folder) and raises ``InputError`` listing every problem it found,
each with file and line. ``episode`` carries what some formats need: reel and
clip names mapped to recordings, the timecode rate and recordings' start
timecodes. Each module's docstring says how its format becomes a Timeline:
``yaml_edl`` (``.yaml``), ``audacity`` (label tracks, ``.txt``), ``cmx`` (CMX 3600,
``.edl``) and ``otio_file`` (OpenTimelineIO, ``.otio``). Importers do not
measure recordings; ``edit`` checks the Timeline against what was measured.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline.edl import audacity, cmx, otio_file, yaml_edl
from pipeline.errors import InputError, Problem
from pipeline.records import Episode, Timeline

Importer = Callable[[Path, Episode | None], Timeline]

IMPORTERS: dict[str, Importer] = {
    ".yaml": yaml_edl.read,
    ".yml": yaml_edl.read,
    ".txt": audacity.read,  # Audacity label tracks; any other text file is refused
    ".edl": cmx.read,  # CMX 3600
    ".otio": otio_file.read,  # OpenTimelineIO JSON
}


def read(path: Path, episode: Episode | None = None) -> Timeline:
    importer = IMPORTERS.get(path.suffix.lower())
    if importer is None:
        known = ", ".join(sorted(IMPORTERS))
        raise InputError(
            Problem(
                path,
                f"storycast cannot read EDLs of type `{path.suffix}`.",
                f"Use one of: {known}.",
            )
        )
    return importer(path, episode)
