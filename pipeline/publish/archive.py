"""The private archive: published episodes' raw recordings kept where only the producer
can reach them (``storage: private:``), never beside the public files; and a copy of the
show's audit log (``project.auditlog``), so a withdrawal recorded by a run on one machine
holds on every other that publishes the show, whatever its episodes folder says.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Iterable

from pipeline import defaults
from pipeline.errors import Problem, StoreError
from pipeline.records import EpisodeJob, Show
from pipeline.store import ObjectStore


def safe_name(name: str) -> str:
    """A recording's name as it goes into an archive key."""
    return re.sub(r"[^A-Za-z0-9._\-]+", "-", name).strip("-.") or "recording"


def recording_key(show: Show, episode: str, name: str, sha256: str) -> str:
    return f"recordings/{show.slug}/{episode}/{sha256[:16]}-{safe_name(name)}"


def refuse_if_open(private: ObjectStore, show: Show) -> None:
    """Raw recordings (and the audit log) go only where nobody without credentials can read
    them: a private archive in a public bucket (another prefix of the public one, say) is
    refused. The store answers once a run (``ObjectStore.open_to_anyone``)."""
    if private.open_to_anyone():
        raise StoreError(
            Problem(
                show.path,
                f"the private archive {private.description} can be read by anyone: a request "
                "with no credentials read a file written there. Nothing was put there (no "
                "raw recording, no copy of the audit log).",
                "Raw recordings must never be public: give `private:` a bucket of its own "
                "with no public access (best), or remove the public-read policy or ACL that "
                "covers it, then publish again.",
                field="storage.private",
            )
        )


def archive_recordings(
    show: Show,
    jobs: Iterable[EpisodeJob],
    private: ObjectStore,
    say: Callable[[str], None],
) -> int:
    """Keep published episodes' raw recordings in the private store; withdrawn ones come out.

    ``private`` comes from ``store.open_private_store``, which refuses any target
    inside or around the public one. Returns the number of files uploaded.
    """
    prefix = f"recordings/{show.slug}/"
    stored = {o.key: o for o in private.list(prefix)}
    sent = 0
    for job in jobs:
        if job.status not in ("ready", "published"):  # a takedown purges its own copies
            continue
        for name, rec in job.recordings.items():
            key = recording_key(show, job.slug, name, rec.sha256)
            have = stored.get(key)
            if have is not None and have.size == rec.size:
                continue
            refuse_if_open(private, show)  # before any raw recording goes there
            content_type = mimetypes.guess_type(rec.path.name)[0] or "application/octet-stream"
            private.put_file(key, rec.path, content_type, defaults.PRIVATE_CACHE_CONTROL)
            sent += 1
    if sent:
        say(f"private store: {sent} recordings kept in {private.description}")
    return sent


def audit_key(show: Show) -> str:
    return f"audit/{show.slug}.jsonl"


def archived_audit(private: ObjectStore, show: Show) -> list[str]:
    """The lines of the audit log the private archive keeps ([] when it keeps none)."""
    data = private.get_bytes(audit_key(show))
    return data.decode("utf-8", errors="replace").splitlines() if data else []


def keep_audit(private: ObjectStore, show: Show, lines: list[str]) -> None:
    """Keep ``lines`` (the whole audit log) in the private archive, where nobody without
    credentials can read it: it names who withdrew and at whose request."""
    refuse_if_open(private, show)
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    private.put_bytes(audit_key(show), data, "application/x-ndjson", defaults.PRIVATE_CACHE_CONTROL)
