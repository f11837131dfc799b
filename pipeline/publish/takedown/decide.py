"""Deciding what comes down: the episodes a withdrawal, a missing consent, a face no
longer consented to or a redaction added since publication takes down, from what was
published and the people file, before any stage runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipeline.project import auditlog, ledger
from pipeline.project.people import Withdrawal
from pipeline.project.showfile import find_episode_folders, read_appearances
from pipeline.records import Person, Show

AUDIT_FILE = auditlog.AUDIT_FILE


@dataclass
class Takedown:
    """One episode that must come down, and what happened to it this run."""

    slug: str
    reason: str
    # "consent": someone's voice may not be published: the episode comes down, is not
    # published again while that holds, and its derived caches and archive copies go.
    # "face": someone seen in its published video no longer consents to their face being
    # shown: it comes down; this run may publish it again audio-only.
    # "hold": a redaction was added since it was published and the new edit cannot be
    # published yet: the published version comes down meanwhile.
    kind: Literal["consent", "face", "hold"] = "consent"
    requested_by: str = ""
    people: tuple[str, ...] = ()  # whose consent is missing or withdrawn
    folder: Path | None = None
    shas: set[str] = field(default_factory=set)  # its recordings (cache purge)
    held: set[str] = field(default_factory=set)  # the recordings ``people`` are in
    # storage, this run
    keys: list[str] = field(default_factory=list)  # every key of every version
    removed: list[str] = field(default_factory=list)  # confirmed gone
    deleted: list[str] = field(default_factory=list)  # deleted by this run
    failed: dict[str, str] = field(default_factory=dict)  # key -> why it could not be
    leftovers: list[str] = field(default_factory=list)  # keys found still there on reading back
    still_listed: list[str] = field(default_factory=list)  # feeds found still listing it
    # public addresses still answering with a removed file (a CDN or cache in front of
    # storage), address -> what answered; ``served_checked``: whether they could be asked
    served: dict[str, str] = field(default_factory=dict)
    served_checked: bool = False
    feeds: list[str] = field(default_factory=list)  # feeds rewritten without it
    archive_removed: list[str] = field(default_factory=list)
    cache_removed: list[str] = field(default_factory=list)
    raw_copies: list[str] = field(default_factory=list)  # raw recordings still kept
    # the sound (media.fingerprint, hex) of each raw recording ``people`` are in: sha -> hex
    sounds: dict[str, str] = field(default_factory=dict)
    checked: bool = False  # storage was read back

    @property
    def done(self) -> bool:
        """Read back and nothing of it found in storage, and nothing failed."""
        return self.checked and not (self.leftovers or self.still_listed or self.failed)


# --- deciding ---------------------------------------------------------------------------


def withdrawn_recordings(
    published: dict[str, ledger.Publication], withdrawals: list[Withdrawal]
) -> dict[str, list[str]]:
    """Recordings (sha256) that the record of what was published says a withdrawn person
    is in, in any episode: sha -> their ids. Another episode made from the same recording
    is theirs too, whatever its own ``appearances:`` say."""
    withdrawn = {w.person.casefold() for w in withdrawals}
    found: dict[str, list[str]] = {}
    for pub in published.values():
        for name, ids in pub.recording_people.items():
            gone = [i for i in ids if i.casefold() in withdrawn]
            sha = pub.recordings.get(name)
            if gone and sha:
                found.setdefault(sha, [])
                found[sha] += [i for i in gone if i not in found[sha]]
    return found


def find(
    show: Show,
    people: dict[str, Person],
    people_ok: bool,
    withdrawals: list[Withdrawal],
    published: dict[str, ledger.Publication],
) -> dict[str, Takedown]:
    """Every episode of the show that must come down now, with the reason.

    From what was published (the ledger) and who is in each episode folder now: anyone
    who withdrew, anyone published whose consent the people file no longer records, and
    anyone in an episode whose voice consent is missing; and any published episode made
    from a recording a withdrawn person is in by the record of another episode (its own
    ``appearances:`` may leave them out). A person the people file does not
    know, in an episode not yet published, is left to the consent stage (it fails, and
    says so), so a typo cannot take a published episode down.
    """
    withdrawn = {w.person.casefold() for w in withdrawals}
    by_whom: dict[str, list[str]] = {}
    for w in withdrawals:
        if w.requested_by:
            by_whom.setdefault(w.person.casefold(), []).append(w.requested_by)
    folders: dict[str, Path] = {}
    current: dict[str, set[str]] = {}
    for folder in find_episode_folders(show.episodes_dir):
        owner, appearances = read_appearances(folder)
        if owner != show.slug and folder.name not in published:
            continue
        folders[folder.name] = folder
        current[folder.name] = {pid for ids in appearances.values() for pid in ids}
    found: dict[str, Takedown] = {}
    shared = withdrawn_recordings(published, withdrawals)
    for slug in sorted(set(published) | set(current)):
        pub = published.get(slug)
        voice: dict[str, str] = {}
        for name, sha in sorted((pub.recordings if pub else {}).items()):
            for pid in shared.get(sha, []):
                if pid not in (pub.people if pub else ()):
                    voice[pid] = (
                        f"its recording {name} is the one {pid} is in (published in another "
                        f"episode), and consent was withdrawn for {pid}"
                    )
        for pid in sorted(set(pub.people if pub else ()) | current.get(slug, set())):
            was_published = pub is not None and pid in pub.people
            if pid.casefold() in withdrawn:
                voice[pid] = "consent was withdrawn for " + pid
            elif people_ok and pid not in people and was_published:
                voice[pid] = f"{pid} is no longer in the people file, so there is no consent"
            elif people_ok and pid in people and people[pid].voice_consent is None:
                voice[pid] = "no consent to publish the voice of " + pid
        if voice:
            found[slug] = Takedown(
                slug,
                "; ".join(voice.values()) + ". It is not published, and is taken down if it was.",
                "consent",
                "; ".join(r for pid in voice for r in by_whom.get(pid.casefold(), [])),
                tuple(voice),
                folders.get(slug, show.episodes_dir / slug),
            )
            continue
        faces = [
            pid
            for pid in (pub.faces if pub else ())
            if people_ok and (pid not in people or people[pid].face_consent is None)
        ]
        if faces:
            found[slug] = Takedown(
                slug,
                "its published video shows "
                + ", ".join(faces)
                + ", who no longer consents to their face being shown. The video is taken "
                "down; the episode can be published again audio-only.",
                "face",
                people=tuple(faces),
                folder=folders.get(slug, show.episodes_dir / slug),
            )
    return found
