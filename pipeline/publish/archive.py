"""The private archive: published episodes' raw recordings kept where only the producer
can reach them (``storage: private:``), never beside the public files.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Iterable

from pipeline import defaults
from pipeline.records import EpisodeJob, Show
from pipeline.store import ObjectStore


def safe_name(name: str) -> str:
    """A recording's name as it goes into an archive key."""
    return re.sub(r"[^A-Za-z0-9._\-]+", "-", name).strip("-.") or "recording"


def recording_key(show: Show, episode: str, name: str, sha256: str) -> str:
    return f"recordings/{show.slug}/{episode}/{sha256[:16]}-{safe_name(name)}"


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
            content_type = mimetypes.guess_type(rec.path.name)[0] or "application/octet-stream"
            private.put_file(key, rec.path, content_type, defaults.PRIVATE_CACHE_CONTROL)
            sent += 1
    if sent:
        say(f"private store: {sent} recordings kept in {private.description}")
    return sent
