"""A publish run's takedown steps, in the order the orchestrator calls them: holds for
redactions added since publication, marking the jobs, finishing (purges, audit log,
the run's problems) and recording what was published."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pipeline.cache import Cache
from pipeline.errors import Problem, StorycastError
from pipeline.project import ledger
from pipeline.project.people import Withdrawal
from pipeline.publish.manifest import read_manifest
from pipeline.publish.outgoing import Term, check_file
from pipeline.publish.takedown.decide import AUDIT_FILE, Takedown
from pipeline.publish.takedown.log import append_audit, audit_entry, problem_for, served_problem
from pipeline.publish.takedown.purge import (
    held_recordings,
    purge_caches,
    raw_copies,
    recording_shas,
)
from pipeline.records import EpisodeJob, Show
from pipeline.store import ObjectStore

# --- a publish run's takedown steps ---------------------------------------------------------


def holds(
    jobs: list[EpisodeJob],
    published: dict[str, ledger.Publication],
    takedowns: dict[str, Takedown],
) -> dict[str, Takedown]:
    """Published episodes that will not be published again this run (not approved yet, or
    failed) whose EDL now has a redaction their published version lacks."""
    holds: dict[str, Takedown] = {}
    for job in jobs:
        then = published.get(job.slug)
        if job.status not in ("skipped", "failed") or job.timeline is None or then is None:
            continue
        if job.slug in takedowns or (then.redactions and not then.redaction_spans):
            continue  # (a record from before spans were kept: nothing to compare with)
        spans = {(s, round(a, 6), round(b, 6)) for s, a, b in then.redaction_spans}
        new = [
            r
            for r in job.timeline.redactions
            if (r.source, round(r.start, 6), round(r.end, 6)) not in spans
        ]
        if new:
            holds[job.slug] = Takedown(
                job.slug,
                f"a redaction was added (EDL line {new[0].line}) after it was published, so its "
                "published version is taken down until the new edit is published",
                "hold",
                folder=job.folder,
            )
    return holds


# what of a published episode is read for names: its text files (captions, transcripts,
# chapters, pages, words); its credits come from the manifest
_TEXT_SUFFIXES = (".vtt", ".srt", ".json", ".html", ".txt")


def name_holds(
    show: Show,
    store: ObjectStore,
    jobs: list[EpisodeJob],
    takedowns: dict[str, Takedown],
    names: list[Term],
) -> dict[str, Takedown]:
    """Published episodes that will not be published again this run (not approved yet, or
    failed) whose published version names someone the people file now says must not be
    named (a credit changed to a pseudonym or to none): it comes down meanwhile, as for a
    redaction added since. Read from storage: the manifest's credits and its text files."""
    if not names:
        return {}
    waiting = [
        job.slug
        for job in jobs
        if job.status in ("skipped", "failed") and job.slug not in takedowns
    ]
    if not waiting:
        return {}
    episodes = read_manifest(store, show).get("episodes", {})
    holds: dict[str, Takedown] = {}
    for slug in waiting:
        record = episodes.get(slug) if isinstance(episodes, dict) else None
        if not isinstance(record, dict):
            continue
        said = json.dumps(
            {"credits": record.get("credits"), "episode": record.get("episode")},
            ensure_ascii=False,
        ).encode()
        found = check_file(Path("manifest.json"), names, data=said)
        for f in (record.get("files") or {}).values():
            key = str(f.get("key", "")) if isinstance(f, dict) else ""
            if found or not key.endswith(_TEXT_SUFFIXES):
                continue
            data = store.get_bytes(key)
            found = check_file(Path(key), names, data=data) if data is not None else []
        if found:
            holds[slug] = Takedown(
                slug,
                f"its published version contains {found[0].why}, so it is taken down until "
                "the episode is published again",
                "hold",
                folder=next((j.folder for j in jobs if j.slug == slug), None),
            )
    return holds


def mark_jobs(jobs: list[EpisodeJob], takedowns: dict[str, Takedown], show: Show) -> None:
    """Each takedown's episode is a job (one whose folder is gone too), not run through the
    stages when someone's voice may not be published."""
    by_slug = {job.slug: job for job in jobs}
    for slug, td in sorted(takedowns.items()):
        job = by_slug.get(slug)
        if job is None:
            job = EpisodeJob(folder=td.folder or show.episodes_dir / slug)
            jobs.append(job)
        if td.kind == "consent":
            job.status = "withdrawn"
            job.reason = td.reason
            job.requested_by = td.requested_by
        else:
            job.notes.append(td.reason)


def mark_not_done(jobs: list[EpisodeJob], td: Takedown) -> None:
    for job in jobs:
        if job.slug == td.slug and job.status in ("withdrawn", "pending"):
            job.status = "failed"
            job.reason = problem_for(td).message


def finish(
    show: Show,
    root: Path,
    cache: Cache,
    jobs: list[EpisodeJob],
    takedowns: dict[str, Takedown],
    published: dict[str, ledger.Publication],
    withdrawals: list[Withdrawal],
    withdrawn_recordings: dict[str, list[str]],
) -> list[Problem]:
    """Purge what storycast derived from the withdrawn recordings (except what an episode
    still being published uses), say where raw copies remain, record it all in the audit
    log, and say TAKEN DOWN only of what storage was read back without. Returns what
    could not be finished."""
    problems: list[Problem] = []
    live = [job for job in jobs if job.status in ("ready", "published")]
    keep = {rec.sha256 for job in live for rec in job.recordings.values()}
    renders = {key for job in live for key in job.renders}
    withdrawn = {w.person for w in withdrawals}
    for td in takedowns.values():
        if td.kind == "consent":
            td.shas = recording_shas(td, published.get(td.slug))
            td.held = held_recordings(td, published.get(td.slug))
            try:
                td.cache_removed = purge_caches(cache, td.shas, keep, renders)
            except StorycastError as exc:  # the cache in object storage did not answer
                td.failed["cache"] = str(exc).splitlines()[0]
            raw = raw_copies(td.folder, set(td.people) & withdrawn)
            td.raw_copies = [str(p.relative_to(root)) for p in raw if p.is_relative_to(root)]
        new = td.kind == "consent" and bool(td.held - set(withdrawn_recordings))
        entry = audit_entry(show, td, new)
        if entry is not None:
            append_audit(show.episodes_dir, entry)
        job = next((j for j in jobs if j.slug == td.slug), None)
        if not td.done:
            problems.append(problem_for(td))
            mark_not_done(jobs, td)
            continue
        if td.served:  # out of storycast's reach: said, and the run does not succeed
            problems.append(served_problem(td))
        if job is None:
            continue
        if td.removed or td.cache_removed or td.archive_removed:
            job.notes.append(
                f"taken down: {len(td.removed)} published files, {len(td.archive_removed)} "
                f"archived recordings and {len(td.cache_removed)} cached files removed; "
                f"recorded in {show.episodes_dir.name}/{AUDIT_FILE}"
            )
        if td.raw_copies:
            ids = sorted(set(td.people) & withdrawn)
            job.notes.append(
                "raw recordings with "
                + ", ".join(ids)
                + " are still kept here (never published): "
                + ", ".join(td.raw_copies)
                + ". To delete them: storycast withdraw "
                + " ".join(ids)
                + " --erase-recordings"
            )
    return problems


def record_publications(
    show: Show,
    jobs: list[EpisodeJob],
    before: dict[str, ledger.Publication],
    takedowns: dict[str, Takedown],
    *,
    provisional: bool,
) -> None:
    """Keep the private record of who is in each published episode.

    Written before the store step too (``provisional``), with every episode about to go
    out, so a run killed mid-publish still leaves a record a later takedown can use.
    """
    entries = {s: p for s, p in before.items() if not (s in takedowns and takedowns[s].done)}
    at = datetime.now(UTC).replace(microsecond=0).isoformat()
    for job in jobs:
        if job.status not in (("ready", "published") if provisional else ("published",)):
            continue
        if job.episode is None or job.timeline is None:
            continue
        used = job.timeline.sources()
        ids = tuple(
            dict.fromkeys(pid for name in used for pid in job.episode.appearances.get(name, ()))
        )
        entries[job.slug] = ledger.Publication(
            people=ids,
            faces=ids if "video" in job.outputs else (),
            recording_people={name: tuple(job.episode.appearances.get(name, ())) for name in used},
            recordings={
                name: job.recordings[name].sha256 for name in used if name in job.recordings
            },
            edl_sha256=job.timeline.edl_sha256,
            redactions=tuple(r.text for r in job.timeline.redactions if r.text),
            redaction_spans=tuple((r.source, r.start, r.end) for r in job.timeline.redactions),
            at=at,
        )
    if entries != before:
        ledger.write(show.episodes_dir, show.slug, entries)
