"""The sound of what was taken down, so a copy of a withdrawn recording with other bytes
(retagged, remuxed, re-encoded) is held back like the recording itself."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import StorycastError
from pipeline.media import fingerprint
from pipeline.media.probe import sha256_file
from pipeline.project import auditlog
from pipeline.project.people import Withdrawal
from pipeline.publish.takedown.decide import Takedown
from pipeline.publish.takedown.purge import raw_copies

Sound = tuple[tuple[str, ...], tuple[int, ...]]  # (ids of who withdrew, fingerprint)


def withdrawn_sounds(
    episodes_dir: Path, takedowns: dict[str, Takedown], withdrawals: list[Withdrawal]
) -> list[Sound]:
    """The fingerprint of every recording a still-withdrawn person was taken down in: from
    the audit log (earlier runs; it outlives the recordings), and of this run's takedowns'
    raw recordings, each kept on its takedown (``Takedown.sounds``) for the audit log."""
    withdrawn = {w.person.casefold() for w in withdrawals}
    found: list[Sound] = []
    for record in auditlog.read(episodes_dir):
        if record.get("action") != "takedown" or record.get("kind", "consent") != "consent":
            continue
        ids = tuple(str(p) for p in record.get("people", []) if str(p).casefold() in withdrawn)
        prints = record.get("recordings_fingerprint")
        if ids and isinstance(prints, dict):
            found += [(ids, fingerprint.from_hex(str(h))) for h in prints.values()]
    for td in takedowns.values():
        ids = tuple(p for p in td.people if p.casefold() in withdrawn)
        if td.kind != "consent" or not ids:
            continue
        for path in raw_copies(td.folder, ids):
            if path.is_symlink() or not path.is_file():
                continue
            try:
                sound = fingerprint.fingerprint(path)
                td.sounds[sha256_file(path)] = fingerprint.to_hex(sound)
            except (OSError, StorycastError):
                continue  # not a recording ffmpeg can read: nothing of it was published
            found.append((ids, sound))
    return found
