"""What storycast published, and who is in it: a private record beside the episodes.

``episodes/publications.json`` is written by ``storycast publish`` after each
store step and read by the next one. For every episode a show has published it
keeps who is in it (people-file ids), the recordings it was made from (name and
sha256), the EDL's sha256 and the redacted texts. It is never published: ids
and recordings are private.

It is what lets a takedown work from what was *published*, not from the episode
files as they are now. An episode whose EDL was re-edited, whose recordings were
deleted, or whose folder is gone still comes down when someone in it withdraws,
and ``storycast audit`` can check a published episode against the people and
redactions it was published with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.cache import write_atomic

LEDGER_FILE = "publications.json"
SCHEMA = "storycast.Publications.1"


@dataclass(frozen=True)
class Publication:
    """One published episode, as it was published."""

    people: tuple[str, ...]  # people-file ids of everyone heard or seen in it
    faces: tuple[str, ...] = ()  # ids of everyone seen in its published video
    recordings: dict[str, str] = field(default_factory=dict)  # recording name -> sha256
    recording_people: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> ids
    edl_sha256: str = ""
    redactions: tuple[str, ...] = ()  # the redactions' `text:`, scrubbed everywhere
    # every redaction as (recording, start, end): a redaction added since is noticed
    redaction_spans: tuple[tuple[str, float, float], ...] = ()
    at: str = ""  # when it was published (ISO 8601, UTC)

    def to_json(self) -> dict[str, Any]:
        return {
            "people": list(self.people),
            "faces": list(self.faces),
            "recordings": dict(sorted(self.recordings.items())),
            "recording_people": {k: list(v) for k, v in sorted(self.recording_people.items())},
            "edl_sha256": self.edl_sha256,
            "redactions": list(self.redactions),
            "redaction_spans": [list(span) for span in self.redaction_spans],
            "at": self.at,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Publication:
        return cls(
            people=tuple(str(p) for p in d.get("people", [])),
            faces=tuple(str(p) for p in d.get("faces", [])),
            recordings={str(k): str(v) for k, v in dict(d.get("recordings", {})).items()},
            recording_people={
                str(k): tuple(str(i) for i in v)
                for k, v in dict(d.get("recording_people", {})).items()
            },
            edl_sha256=str(d.get("edl_sha256", "")),
            redactions=tuple(str(t) for t in d.get("redactions", [])),
            redaction_spans=tuple(
                (str(a), float(b), float(c)) for a, b, c in d.get("redaction_spans", [])
            ),
            at=str(d.get("at", "")),
        )


def _read_all(episodes_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((episodes_dir / LEDGER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return {}
    return data


def read(episodes_dir: Path, show: str) -> dict[str, Publication]:
    """The show's published episodes: slug -> Publication ({} when there is no record)."""
    shows = _read_all(episodes_dir).get("shows", {})
    entries = shows.get(show, {}) if isinstance(shows, dict) else {}
    found: dict[str, Publication] = {}
    for slug, d in (entries if isinstance(entries, dict) else {}).items():
        if isinstance(d, dict):
            try:
                found[str(slug)] = Publication.from_json(d)
            except (TypeError, ValueError):
                continue
    return found


def write(episodes_dir: Path, show: str, entries: dict[str, Publication]) -> None:
    """Replace the show's record (other shows' records are kept)."""
    data = _read_all(episodes_dir)
    shows = data.get("shows") if isinstance(data.get("shows"), dict) else {}
    assert isinstance(shows, dict)
    shows[show] = {slug: entries[slug].to_json() for slug in sorted(entries)}
    body = {
        "schema": SCHEMA,
        "note": "Written by storycast publish: what was published and who is in it. "
        "Private: never published. Do not edit.",
        "shows": shows,
    }
    write_atomic(
        episodes_dir / LEDGER_FILE,
        (json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"),
    )
