"""The studio's web server: the standard library's threading HTTP server, pages from Jinja2
templates (escaped by default), its own CSS and script, nothing fetched from elsewhere.

Safety:
- it listens on 127.0.0.1 unless told otherwise; on any other address every visitor must
  first give the passphrase printed at start;
- only requests naming this server (the Host header) are answered, so a web page elsewhere
  cannot reach it through a look-alike name;
- a request a browser marks as made by a page on another site (``Sec-Fetch-Site``, or an
  ``Origin`` not its own) is refused before any work, and every answer says
  ``Cross-Origin-Resource-Policy: same-origin``, so no other site can play a recording
  through it or set renders going;
- every request that changes a file carries the session's token (403 otherwise);
- it writes only the episode's EDL, corrections and approval files, inside the episode's
  folder;
- episodes a withdrawn person is in are not shown, nor their recordings.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import logging
import math
import mimetypes
import os
import re
import secrets
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, Protocol, cast
from urllib.parse import parse_qs, unquote, urlsplit

import jinja2
import yaml

from pipeline import defaults
from pipeline.cache import Cache, write_atomic
from pipeline.edl import redact
from pipeline.edl.propose import propose, retakes
from pipeline.errors import StorycastError, ToolError
from pipeline.files import open_regular, resolve_inside
from pipeline.media.runner import media_timeout, stream
from pipeline.project import approval, corrections
from pipeline.project.yamlfile import Problems, parse_time
from pipeline.records import Cue, EpisodeJob, Person, Timeline, Transcript
from pipeline.render.captions import to_webvtt
from pipeline.studio import edits, view

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TOKEN_HEADER = "X-Studio-Token"
COOKIE = "studio_pass"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
STUDIO_EDL = "edl.yaml"  # what the studio saves an episode's edit as
MAX_BODY = 5_000_000
# what answers with sound or data, not a page (its errors are said in plain text)
NOT_PAGES = ("listen", "preview.mp3", "preview.vtt", "finished")
log = logging.getLogger("storycast.studio")


@dataclass(frozen=True)
class Heard:
    """What a publish would play: the audio file, its captions and what is said of it."""

    audio: Path | None  # the published sound, when it has been made already
    cues: list[Cue]
    timeline: Timeline  # as published: redacted text scrubbed from chapter titles
    credits: list[str]
    notes: list[str]
    # episode times where words hidden elsewhere are still heard (``view.heard_again``):
    # a publish refuses the episode, so there is nothing to hear yet
    again: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Preview:
    """How the saved edit can be heard now. ``exact``: the published sound, if made;
    ``quick``: where the quick version is kept once made (``command`` makes it on its
    standard output, as it is heard, from what ``feed``'s runs write one after another on
    its standard input: the same Timeline through the same sound chain, at a lower
    bitrate, its loudness evened out by an estimate)."""

    exact: Path | None
    quick: Path
    quick_key: str
    command: list[str]
    feed: list[list[str]]
    report: dict[str, Any]  # kept beside the quick version (what it was made from)
    seconds: float
    cache: Cache
    again: list[float] = field(default_factory=list)  # as ``Heard.again``


@dataclass(frozen=True)
class TranscriptState:
    """One recording's words, or why there are none to edit with."""

    transcript: Transcript | None
    problem: str = ""  # "missing" or "mismatch"


class Project(Protocol):
    """What the studio needs from the project; `storycast studio` gives it one that runs the
    publish stages."""

    root: Path

    def episodes(self) -> list[EpisodeJob]: ...
    def open(self, slug: str) -> EpisodeJob | None: ...
    def transcripts(self, job: EpisodeJob) -> dict[str, TranscriptState]: ...
    def transcribe(self, job: EpisodeJob) -> None: ...
    def people(self, job: EpisodeJob) -> dict[str, list[Person]]: ...
    def hear(self, job: EpisodeJob) -> Heard: ...
    def preview(self, job: EpisodeJob) -> Preview: ...
    def finish(self, job: EpisodeJob) -> Path: ...
    def listen(self, job: EpisodeJob, name: str, start: float) -> list[str]: ...


def person_name(p: Person) -> str:
    """How an approval names them: as credited, or by their id in the people file."""
    return p.credited_as or p.id


def shown_name(p: Person) -> str:
    """How the page shows them: as they asked to be credited."""
    return p.credited_as or f"{p.id} (not named in the episode)"


@dataclass
class Studio:
    project: Project
    host: str = "127.0.0.1"
    port: int = 0
    passphrase: str | None = None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    cookie: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # EDL bytes the pages were made from, by sha256: to show what changed on disk since
    loaded: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # the published sound being made, by episode: one at a time each
    finishing: dict[str, threading.Thread] = field(default_factory=dict)
    finishing_lock: threading.Lock = field(default_factory=threading.Lock)
    # why the finished version of an episode's edit (EDL sha256) could not be made
    unfinished: dict[str, tuple[str, str]] = field(default_factory=dict)
    env: jinja2.Environment = field(
        default_factory=lambda: jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
    )

    def page(self, name: str, **values: Any) -> bytes:
        values.setdefault("token", self.token)
        values.setdefault("message", "")
        return self.env.get_template(name).render(clock=view.clock, **values).encode("utf-8")


class StudioError(Exception):
    def __init__(self, status: HTTPStatus, message: str, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.data = data or {}


def _recordings_problem(states: dict[str, TranscriptState]) -> str:
    missing = [n for n, s in states.items() if s.problem == "missing"]
    mismatch = [n for n, s in states.items() if s.problem == "mismatch"]
    if mismatch:
        return "mismatch"
    if missing:
        return "missing"
    return ""


def edit_values(studio: Studio, job: EpisodeJob) -> dict[str, Any]:
    """Everything the edit page shows of one episode."""
    assert job.episode and job.timeline
    states = studio.project.transcripts(job)
    transcripts = {n: s.transcript for n, s in states.items() if s.transcript and not s.problem}
    durations = {n: r.duration for n, r in job.recordings.items()}
    people = studio.project.people(job)
    speakers = {
        name: " and ".join(shown_name(p) for p in persons) or "nobody named"
        for name, persons in people.items()
    }
    kept, left = view.parts(job.timeline, transcripts, durations, speakers)
    chapters, bite = view.marks(job.timeline)
    raw = job.timeline.edl_path.read_bytes()
    studio.loaded[job.timeline.edl_sha256] = raw.decode("utf-8", "replace")
    spelled = _corrections_bytes(job)
    spelled_sha = hashlib.sha256(spelled).hexdigest()
    studio.loaded[spelled_sha] = spelled.decode("utf-8", "replace")
    state = {
        "slug": job.slug,
        "base": job.timeline.edl_sha256,
        "spelling_base": spelled_sha,
        "chapters": [{"source": c.source, "at": c.at, "title": c.title} for c in chapters],
        "soundbite": bite,
        "redactions": [
            {
                "source": r.source,
                "in": r.start,
                "out": r.end,
                "mode": r.mode,
                "replace_with": r.replacement,
                # never the hidden words themselves: a saved hidden part keeps its words
                # to remove on the server (``_kept_words``); only its maker saw them
            }
            for r in job.timeline.redactions
        ],
    }
    return {
        "job": job,
        "episode": job.episode,
        "kept": kept,
        "left": left,
        "chapters": chapters,
        "bite": bite,
        "states": states,
        "problem": _recordings_problem(states),
        "speakers": speakers,
        "state": state,
        "edl_name": job.timeline.edl_path.name,
        "yaml_edl": job.timeline.edl_path.suffix.lower() in (".yaml", ".yml"),
    }


def save(studio: Studio, job: EpisodeJob, data: Any) -> dict[str, Any]:
    """Write the page's decisions as the episode's YAML EDL, refusing what must not be."""
    assert job.episode and job.timeline
    states = studio.project.transcripts(job)
    if _recordings_problem(states):
        raise StudioError(
            HTTPStatus.CONFLICT,
            "This episode cannot be changed until every recording has words that match it. "
            "Make the words again first.",
        )
    transcripts = {n: s.transcript for n, s in states.items() if s.transcript}
    durations = {n: r.duration for n, r in job.recordings.items()}
    base = data.get("base") if isinstance(data, dict) else None
    current = job.timeline.edl_path
    now_raw = current.read_bytes()
    now_sha = hashlib.sha256(now_raw).hexdigest()
    if base != now_sha:
        before = studio.loaded.get(str(base), "")
        diff = "".join(
            difflib.unified_diff(
                before.splitlines(keepends=True),
                now_raw.decode("utf-8", "replace").splitlines(keepends=True),
                "what this page started from",
                f"{current.name} now",
            )
        )
        terms = _hidden_terms(before) + _hidden_terms(now_raw.decode("utf-8", "replace"))
        diff = _hide(diff, terms)
        raise StudioError(
            HTTPStatus.CONFLICT,
            "Not saved: someone else saved this episode since this page was opened (maybe "
            "in another tab). Nothing was overwritten. Here is what they changed; reload the "
            "page to see their version, then make your changes again.",
            {
                "difference": diff or "(the file was changed)",
                "summary": [
                    _hide(line, terms)
                    for line in _difference_in_words(before, now_raw.decode("utf-8", "replace"))
                ],
            },
        )
    _kept_words(data, job.timeline)
    try:
        decided = edits.decisions(data, transcripts, durations)
        text = edits.to_yaml(decided, transcripts, current.name)
    except edits.EditError as exc:
        raise StudioError(HTTPStatus.UNPROCESSABLE_ENTITY, f"Not saved: {exc}") from exc
    folder = job.folder
    target = resolve_inside(folder, STUDIO_EDL, "the episode's folder")
    if isinstance(target, str):
        raise StudioError(HTTPStatus.FORBIDDEN, f"Not saved: {STUDIO_EDL} {target}.")
    if current.resolve() != target.resolve():
        # an EDL from an editing tool: the YAML goes beside it, never over it
        if target.exists():
            raise StudioError(
                HTTPStatus.CONFLICT,
                f"Not saved: {STUDIO_EDL} is already in the episode's folder but episode.yaml "
                f"uses {current.name}. Ask your producer which one to keep.",
            )
    write_atomic(target, text.encode("utf-8"))
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    studio.loaded[sha] = text
    said = "Saved. Your changes are kept."
    if current.resolve() != target.resolve():
        said = (
            f"Saved as {STUDIO_EDL}, beside {current.name}. episode.yaml still uses "
            f"{current.name}: to use your changes, episode.yaml must say `edl: {STUDIO_EDL}` "
            "(ask your producer)."
        )
    return {"ok": True, "message": said, "base": sha, "file": target.name}


def _corrections_bytes(job: EpisodeJob) -> bytes:
    """The episode's corrections file as it is now (nothing when there is none)."""
    path = job.folder / corrections.FILE_NAME
    try:
        return path.read_bytes() if path.is_file() else b""
    except OSError:
        return b""


def save_spelling(studio: Studio, job: EpisodeJob, data: Any) -> dict[str, Any]:
    """A word's spelling, fixed from the page, written to the episode's corrections file:
    only at that word (a fix at its time) or everywhere in the episode (a replacement, for a
    name). Refused like an EDL save when the file changed since the page read it."""
    assert job.timeline
    if not isinstance(data, dict):
        raise StudioError(HTTPStatus.BAD_REQUEST, "The page sent something unreadable.")
    states = studio.project.transcripts(job)
    if _recordings_problem(states):
        raise StudioError(
            HTTPStatus.CONFLICT,
            "Not saved: the words must be written down again before they can be fixed.",
        )
    target = resolve_inside(job.folder, corrections.FILE_NAME, "the episode's folder")
    if isinstance(target, str):
        raise StudioError(HTTPStatus.FORBIDDEN, f"Not saved: {corrections.FILE_NAME} {target}.")
    now_raw = _corrections_bytes(job)
    now_sha = hashlib.sha256(now_raw).hexdigest()
    base = data.get("base")
    if base != now_sha:
        before = studio.loaded.get(str(base), "")
        now_text = now_raw.decode("utf-8", "replace")
        diff = "".join(
            difflib.unified_diff(
                before.splitlines(keepends=True),
                now_text.splitlines(keepends=True),
                "what this page started from",
                f"{corrections.FILE_NAME} now",
            )
        )
        raise StudioError(
            HTTPStatus.CONFLICT,
            "Not saved: someone else changed the spellings of this episode since this page "
            "was opened (maybe in another tab). Nothing was overwritten. Here is what they "
            "changed; reload the page to see it, then fix the word again.",
            {
                "difference": _hide(diff, _hidden_terms(job.timeline.edl_path.read_text()))
                or "(the file was changed)",
                "summary": ["The spellings were changed."],
            },
        )
    source = data.get("source")
    state = states.get(source) if isinstance(source, str) else None
    transcript = state.transcript if state is not None else None
    try:
        start = edits.seconds(data.get("in"), "The word's start")
        end = edits.seconds(data.get("out"), "The word's end")
        text = edits.plain_text(data.get("text"), "The new spelling", 120)
    except edits.EditError as exc:
        raise StudioError(HTTPStatus.UNPROCESSABLE_ENTITY, f"Not saved: {exc}") from exc
    word = next(
        (
            w
            for w in (transcript.words if transcript else ())
            if abs(w.start - start) < 1e-3 and abs(w.end - end) < 1e-3
        ),
        None,
    )
    again = (
        view.also_said(transcript.words, job.timeline.redactions, str(source)) if transcript else []
    )
    if (
        word is None
        or any(
            r.source == source and word.start < r.end and word.end > r.start
            for r in job.timeline.redactions
        )
        or any(a.start <= word.start and word.end <= a.end for a in again)
    ):
        raise StudioError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "Not saved: that word is not there any more (or it is hidden). Reload the page.",
        )
    if not text:
        raise StudioError(HTTPStatus.UNPROCESSABLE_ENTITY, "Not saved: write the new spelling.")
    was = word.text.strip()
    core = re.sub(r"^\W+|\W+$", "", was)
    try:
        loaded = yaml.safe_load(now_raw) if now_raw else None
    except yaml.YAMLError:
        loaded = None
    if now_raw and not isinstance(loaded, dict):
        raise StudioError(
            HTTPStatus.CONFLICT,
            f"Not saved: {corrections.FILE_NAME} cannot be read. Ask your producer to fix it "
            "(`storycast check` says where).",
        )
    body: dict[str, Any] = dict(loaded or {})
    everywhere = data.get("everywhere") is True
    if everywhere:
        if not core:
            raise StudioError(
                HTTPStatus.UNPROCESSABLE_ENTITY, "Not saved: that word has no letters to fix."
            )
        old_rules = body.get("replace")
        rules = dict(old_rules) if isinstance(old_rules, dict) else {}
        rules = {k: v for k, v in rules.items() if str(k).lower() != core.lower()}
        rules[core] = text
        body["replace"] = rules
        said = f"Saved: “{core}” is now written “{text}” everywhere in this episode."
    else:
        old_fixes = body.get("fixes")
        fixes = list(old_fixes) if isinstance(old_fixes, list) else []
        at = f"{edits.seconds_text(word.start)}-{edits.seconds_text(word.end)}"
        fixes = [
            f
            for f in fixes
            if not (isinstance(f, dict) and f.get("recording") == source and str(f.get("at")) == at)
        ]
        # a fix is written as said: the word's own punctuation kept, as a replacement keeps it
        lead, trail = re.match(r"^(\W*).*?(\W*)$", was, re.S).groups()  # type: ignore[union-attr]
        spelled = (text if text.startswith(lead) else lead + text) if lead else text
        spelled = spelled if not trail or spelled.endswith(trail) else spelled + trail
        fixes.append({"recording": source, "at": at, "text": spelled})
        body["fixes"] = fixes
        said = f"Saved: “{was}” is now written “{text}” here."
    head = [
        line
        for line in now_raw.decode("utf-8", "replace").splitlines()
        if line.startswith("#") and "storycast studio" not in line
    ]
    if not head:
        head = ["# Words and names written as their speakers want them (see storycast's README)."]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = (
        "\n".join([*head, f"# Saved in the storycast studio on {stamp}."])
        + "\n"
        + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    )
    check = Problems()
    corrections.parse(target, check, out.encode("utf-8"))
    if check:
        raise StudioError(HTTPStatus.UNPROCESSABLE_ENTITY, f"Not saved: {check.items[0]}")
    write_atomic(target, out.encode("utf-8"))
    sha = hashlib.sha256(out.encode("utf-8")).hexdigest()
    studio.loaded[sha] = out
    return {"ok": True, "message": said, "base": sha, "text": text, "everywhere": everywhere}


def cannot_put_out(again: list[float]) -> str:
    """Why an edit that still plays words hidden elsewhere cannot be heard or put out."""
    times = ", ".join(view.clock(t) for t in again[:5]) + (" and more" if len(again) > 5 else "")
    return (
        f"This version cannot be put out yet: words you hid are still said at {times}. "
        "Go back to “Read and choose”, choose “Hide words” and press each place marked "
        "“said again” to hide it there too (or cut it), then save and listen again."
    )


def _kept_words(data: Any, timeline: Timeline) -> None:
    """A hidden part the page sends back without its words to remove (the page is never
    given them) keeps the words the saved one has: matched by recording, start and end."""
    if not isinstance(data, dict) or not isinstance(data.get("redactions"), list):
        return
    for r in data["redactions"]:
        if not isinstance(r, dict) or "text" in r:
            continue  # a new one: its maker typed its words
        like = r.get("like")
        if isinstance(like, int) and 0 <= like < len(timeline.redactions):
            # words hidden elsewhere, hidden here too: the same words to remove
            r["text"] = timeline.redactions[like].text
            continue
        for old in timeline.redactions:
            try:
                same = (
                    old.source == r.get("source")
                    and abs(old.start - float(r.get("in", "nan"))) < 1e-6
                    and abs(old.end - float(r.get("out", "nan"))) < 1e-6
                )
            except (TypeError, ValueError):
                same = False
            if same and old.text:
                r["text"] = old.text
                break


def _hidden_terms(edl_text: str) -> list[tuple[str, str]]:
    """The words a YAML EDL's hidden parts remove, with what is shown instead."""
    try:
        data = yaml.safe_load(edl_text)
    except yaml.YAMLError:
        return []
    found = []
    for r in (data.get("redactions") or []) if isinstance(data, dict) else []:
        if isinstance(r, dict) and str(r.get("text") or "").strip():
            shown = str(r.get("replace_with") or r.get("replacement") or "[removed]")
            found.append((str(r["text"]).strip(), shown))
    return found


def _hide(text: str, terms: list[tuple[str, str]]) -> str:
    """``text`` with every hidden part's words replaced, as published."""
    for said, shown in sorted(terms, key=lambda t: -len(t[0])):
        text = re.sub(r"(?<!\w)" + re.escape(said) + r"(?!\w)", shown, text, flags=re.I)
    return text


def _difference_in_words(before: str, now: str, agreed: bool = False) -> list[str]:
    """What another save changed, in plain sentences (the exact lines are shown too); with
    ``agreed``, what changed since ``before`` was agreed to."""

    def facts(text: str) -> tuple[int, float, list[str], int] | None:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
        if not isinstance(data, dict):
            return None
        clips = [c for c in data.get("clips") or [] if isinstance(c, dict)]
        length = 0.0
        for c in clips:
            a, b = parse_time(str(c.get("in", ""))), parse_time(str(c.get("out", "")))
            if a is not None and b is not None:
                length += b - a
        chapters = [
            str(c.get("title", "")) for c in data.get("chapters") or [] if isinstance(c, dict)
        ]
        return len(clips), length, chapters, len(data.get("redactions") or [])

    old, new = facts(before), facts(now)
    if old is None or new is None:
        return ["The file was changed in a way this page cannot describe: see the exact lines."]
    said = []
    then = " when it was agreed" if agreed else ""
    if old[0] != new[0]:
        had = f"it had {old[0]}{then}" if agreed else f"this page started with {old[0]}"
        said.append(f"It now has {new[0]} parts ({had}).")
    if abs(old[1] - new[1]) > 0.05:
        said.append(f"It now lasts {view.clock(new[1])} (it was {view.clock(old[1])}{then}).")
    if old[2] != new[2]:
        said.append("Chapters now: " + (", ".join(new[2]) or "none") + ".")
    if old[3] != new[3]:
        said.append(f"Hidden words: {new[3]} places (it was {old[3]}{then}).")
    if agreed and not said:
        said.append("Small changes: the same number of parts, length, chapters and hidden words.")
    if agreed:
        return said
    return said or ["Small changes: the same parts, length, chapters and hidden words."]


def approve_values(studio: Studio, job: EpisodeJob, said: str = "") -> dict[str, Any]:
    assert job.timeline
    problems = Problems()
    earlier = approval.read(job.folder, problems)
    changed = approval.changes(earlier, job.timeline, job.recordings, job.folder) if earlier else []
    agreed = set(earlier.approved_by) if earlier and not changed else set()
    # the edit agreed to, if this studio has seen it (it keeps what its pages were made
    # from, in memory only): what is different now, in words, hidden words hidden
    how: list[str] = []
    now = job.timeline.edl_path.read_bytes().decode("utf-8", "replace")
    studio.loaded.setdefault(job.timeline.edl_sha256, now)  # what an approval here pins
    if earlier and earlier.edl_sha256 != job.timeline.edl_sha256:
        before = studio.loaded.get(earlier.edl_sha256)
        if before is not None:
            terms = _hidden_terms(before) + _hidden_terms(now)
            how = [_hide(line, terms) for line in _difference_in_words(before, now, agreed=True)]
    persons = list(
        {p.id: p for persons in studio.project.people(job).values() for p in persons}.values()
    )
    return {
        "job": job,
        "episode": job.episode,
        "persons": [(p, shown_name(p), person_name(p) in agreed) for p in persons],
        "earlier": earlier,
        # in plain words: the page never names the file ("the EDL edl.yaml was changed")
        "changed": [
            "what is kept, and in what order, was changed" if c.startswith("the EDL ") else c
            for c in changed
        ],
        "how": how,
        "sha": job.timeline.edl_sha256,
        "message": said,
    }


def approve(studio: Studio, job: EpisodeJob, form: dict[str, str]) -> str:
    assert job.timeline
    if form.get("sha") != job.timeline.edl_sha256:
        raise StudioError(
            HTTPStatus.CONFLICT,
            "Not agreed: the episode was changed after this page was opened. Listen to it "
            "again, then agree.",
        )
    persons = {p.id: p for ps in studio.project.people(job).values() for p in ps}
    who = persons.get(form.get("person", ""))
    if who is None:
        raise StudioError(HTTPStatus.BAD_REQUEST, "Only people in this episode can agree to it.")
    problems = Problems()
    earlier = approval.read(job.folder, problems)
    names: tuple[str, ...] = ()
    if earlier and not approval.changes(earlier, job.timeline, job.recordings, job.folder):
        names = earlier.approved_by
    names = tuple(dict.fromkeys((*names, person_name(who))))
    approval.record(job.folder, job.timeline, job.recordings, names)
    return f"Thank you, {person_name(who)}. You agreed to this version."


def suggestions(studio: Studio, job: EpisodeJob) -> list[dict[str, Any]]:
    """What `storycast propose` suggests, one change each: shorter silences, retakes (the
    first try of something said again) and chapters."""
    assert job.timeline
    data, _ = propose(job.timeline, job.recordings)  # silences and chapters: no words needed
    clips = data.get("clips")
    found: list[dict[str, Any]] = []
    proposed: list[tuple[str, float, float]] = []
    if isinstance(clips, list):
        proposed = [(str(c["source"]), float(c["in"]), float(c["out"])) for c in clips]
    for (s1, _a1, b1), (s2, a2, _b2) in zip(proposed, proposed[1:], strict=False):
        inside = any(
            c.source == s1 and c.src_in <= b1 and a2 <= c.src_out for c in job.timeline.clips
        )
        if s1 == s2 and a2 > b1 and inside:
            found.append(
                {
                    "kind": "quiet",
                    "source": s1,
                    "in": b1,
                    "out": a2,
                    "text": f"There is a long quiet gap in {s1} at {view.clock(b1)}. "
                    f"Take out {a2 - b1:.1f} seconds of the quiet?",
                }
            )
    states = studio.project.transcripts(job)
    words = {n: st.transcript for n, st in states.items() if st.transcript and not st.problem}
    for rt in retakes(job.timeline, words):
        found.append(
            {
                "kind": "retake",
                "source": rt.source,
                # the first try's words: the studio cuts them whole, into the pauses
                "in": rt.first.start,
                "out": rt.last.end,
                "text": redact.hide_said(
                    f"In {rt.source} at {view.clock(rt.first.start)}, “{rt.said}” is "
                    f"said again just after: “{rt.said_again}”. Cut the first try?",
                    job.timeline.redactions,
                ),
            }
        )
    have = {round(c.start, 1) for c in job.timeline.chapters}
    chapters = data.get("chapters")
    if isinstance(chapters, list) and not job.timeline.chapters:
        t = 0.0
        starts = []
        for s, a, b in proposed:
            starts.append((t, s, a))
            t += b - a
        for ch in chapters:
            at = float(ch["at"])
            if round(at, 1) in have:
                continue
            place = next(((s, a + at - t0) for t0, s, a in reversed(starts) if t0 <= at), None)
            if place:
                found.append(
                    {
                        "kind": "chapter",
                        "source": place[0],
                        "at": round(place[1], 3),
                        "title": str(ch["title"]),
                        "text": f"Start a chapter called “{ch['title']}” after a long pause "
                        f"in {place[0]} at {view.clock(place[1])}?",
                    }
                )
    return found


class Handler(BaseHTTPRequestHandler):
    studio: Studio
    server_version = "storycast-studio"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    # --- answers ----------------------------------------------------------------------
    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, body: bytes, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, body, "text/html; charset=utf-8")

    def _json(self, data: dict[str, Any], status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(data).encode("utf-8"), "application/json")

    def _plain(self, status: HTTPStatus, text: str) -> None:
        self._send(status, (text + "\n").encode("utf-8"), "text/plain; charset=utf-8")

    def _redirect(self, where: str) -> None:
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": where})

    def _file(self, path: Path, content_type: str) -> None:
        """A file, with byte ranges so a player can start from any word."""
        try:
            fh = open_regular(path)
        except (OSError, ValueError):
            self._plain(HTTPStatus.NOT_FOUND, "That file is not there.")
            return
        with fh:
            size = fh.seek(0, 2)
            start, end = 0, size - 1
            status = HTTPStatus.OK
            wanted = self.headers.get("Range", "")
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", wanted.strip())
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:
                    start = max(0, size - int(m.group(2)))
                if start > end or start >= size:
                    self._send(
                        HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                        b"",
                        content_type,
                        {"Content-Range": f"bytes */{size}"},
                    )
                    return
                status = HTTPStatus.PARTIAL_CONTENT
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            if status == HTTPStatus.PARTIAL_CONTENT:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if self.command == "HEAD":
                return
            fh.seek(start)
            left = end - start + 1
            try:
                while left > 0:
                    chunk = fh.read(min(65536, left))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return

    def _stream(
        self,
        command: list[str],
        what: str,
        where: Path,
        seconds: float,
        keep: Preview | None = None,
        feed: list[list[str]] | None = None,
    ) -> bool:
        """Send the MP3 ``command`` writes on its standard output as it comes, so it plays
        while it is made; the encoded bytes pass through, nothing is decoded here. With
        ``keep``, the same bytes go to the cache as they are sent (and on to the end if the
        listener leaves), so hearing it again is instant. True when all of it was made."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return False
        tmp: Path | None = None
        kept: IO[bytes] | None = None
        if keep is not None:
            keep.quick.parent.mkdir(parents=True, exist_ok=True)
            tmp = keep.quick.with_name(
                f".{keep.quick.name}.{os.getpid()}.{threading.get_ident()}.tmp.mp3"
            )
            kept = tmp.open("wb")
        listening, complete = True, False
        blocks = cast(
            Generator[bytes, None, None],
            stream(
                command,
                what=what,
                path=where,
                block_bytes=defaults.PREVIEW_STREAM_BLOCK,
                timeout=media_timeout(seconds),
                feed=feed or (),
            ),
        )
        try:
            for block in blocks:
                if kept is not None:
                    kept.write(block)
                if listening:
                    try:
                        self.wfile.write(block)
                    except OSError:  # the listener left (or pressed another word)
                        listening = False
                if not listening and kept is None:
                    blocks.close()  # ffmpeg stopped: nobody is listening
                    break
            else:
                complete = True
        except ToolError as exc:
            log.warning("%s", exc)
        finally:
            if kept is not None and tmp is not None and keep is not None:
                kept.close()
                if complete:
                    keep.cache.put_json("renders", keep.quick_key, keep.report)
                    os.replace(tmp, keep.quick)
                else:
                    tmp.unlink(missing_ok=True)
        return complete

    def _finish_later(self, job: EpisodeJob) -> None:
        """Make the published sound of the saved edit in the background (one at a time
        per episode), so the page can offer exactly what will be put out."""
        s = self.studio

        assert job.timeline
        edit = job.timeline.edl_sha256

        def work() -> None:
            try:
                s.project.finish(job)
            except StorycastError as exc:
                log.warning("the finished version of %s was not made: %s", job.slug, exc)
                with s.finishing_lock:
                    s.unfinished[job.slug] = (edit, str(exc))

        with s.finishing_lock:
            running = s.finishing.get(job.slug)
            if running is not None and running.is_alive():
                return
            if s.unfinished.get(job.slug, ("", ""))[0] == edit:
                return  # it failed for this edit: not again and again (the page says why)
            thread = threading.Thread(target=work, name=f"finish-{job.slug}", daemon=True)
            s.finishing[job.slug] = thread
            thread.start()

    # --- checks -----------------------------------------------------------------------
    def _host_ok(self) -> bool:
        s = self.studio
        if s.passphrase is not None:  # on a network: reached by any of its names, passphrase first
            return True
        host = (self.headers.get("Host") or "").lower()
        allowed = {f"{h}:{s.port}" for h in (*LOOPBACK, "[::1]", s.host.lower())}
        return host in allowed

    def _same_origin(self) -> bool:
        """Not a request a page on another site made: a browser says where a request comes
        from (``Sec-Fetch-Site``; ``Origin`` on anything but a plain GET, unless the page's
        Referrer-Policy hides it). Without them (an older browser, a script on this machine)
        the Host check and the key still hold."""
        if self.headers.get("Sec-Fetch-Site", "").lower() in ("cross-site", "same-site"):
            return False
        # (its own forms send ``Origin: null``, as the pages' Referrer-Policy asks)
        origin = (self.headers.get("Origin") or "null").lower()
        return origin == "null" or origin == f"http://{self.headers.get('Host', '')}".lower()

    def _passed(self) -> bool:
        s = self.studio
        if s.passphrase is None:
            return True
        cookies = self.headers.get("Cookie", "")
        m = re.search(rf"(?:^|;\s*){COOKIE}=([\w-]+)", cookies)
        return bool(m and hmac.compare_digest(m.group(1), s.cookie))

    def _token_ok(self, form: dict[str, str]) -> bool:
        sent = self.headers.get(TOKEN_HEADER) or form.get("token", "")
        return bool(sent) and hmac.compare_digest(sent, self.studio.token)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise StudioError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "That is too much to save.")
        return self.rfile.read(length) if length > 0 else b""

    def _episode(self, slug: str) -> EpisodeJob:
        job = self.studio.project.open(slug)
        if job is None:
            raise StudioError(
                HTTPStatus.NOT_FOUND,
                "There is no episode with that name here (or it cannot be shown).",
            )
        return job

    def _ready(self, job: EpisodeJob) -> None:
        if job.timeline is None or job.status == "failed":
            problems = [str(p) for p in job.problems] or [job.reason]
            raise StudioError(
                HTTPStatus.CONFLICT,
                "This episode cannot be opened yet. Your producer needs to fix: "
                + " ".join(problems),
            )

    # --- routes -----------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self._route(self._get)

    def do_POST(self) -> None:
        self._route(self._post)

    def _route(self, handler: Callable[[list[str], dict[str, list[str]]], None]) -> None:
        if not self._host_ok():
            self._plain(
                HTTPStatus.MISDIRECTED_REQUEST, "This studio answers only on its own address."
            )
            return
        if not self._same_origin():
            self._plain(
                HTTPStatus.FORBIDDEN,
                "This studio answers only its own pages, not a page on another site. Open "
                "it yourself at its own address.",
            )
            return
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        try:
            handler(parts, parse_qs(url.query))
        except StudioError as exc:
            if self.command == "POST" or (len(parts) > 2 and parts[2] in NOT_PAGES):
                if "json" in (self.headers.get("Content-Type") or ""):
                    self._json({"ok": False, "error": exc.message, **exc.data}, exc.status)
                else:
                    self._plain(exc.status, exc.message)
            else:
                self._html(
                    self.studio.page("message.html", title="Sorry", text=exc.message), exc.status
                )
        except StorycastError as exc:
            self._html(
                self.studio.page("message.html", title="Sorry", text=str(exc)),
                HTTPStatus.INTERNAL_SERVER_ERROR,
            )

    def _get(self, parts: list[str], query: dict[str, list[str]]) -> None:
        s = self.studio
        if parts[:1] == ["static"] and len(parts) == 2:
            where = resolve_inside(STATIC, parts[1], "the studio's files")
            if isinstance(where, str) or not where.is_file():
                self._plain(HTTPStatus.NOT_FOUND, "No such file.")
                return
            kind = mimetypes.guess_type(where.name)[0] or "application/octet-stream"
            self._send(HTTPStatus.OK, where.read_bytes(), kind)
            return
        if parts == ["login"] or not self._passed():
            self._html(s.page("login.html", title="Enter the passphrase"))
            return
        if not parts:
            jobs = s.project.episodes()
            self._html(s.page("index.html", title="Your episodes", jobs=jobs))
            return
        if parts[0] != "ep" or len(parts) < 2:
            raise StudioError(HTTPStatus.NOT_FOUND, "There is no page here.")
        job = self._episode(parts[1])
        rest = parts[2:]
        self._ready(job)
        assert job.episode and job.timeline
        if rest[:1] == ["listen"] and len(rest) == 2:
            self._listen(job, rest[1], query)
            return
        if not rest:
            values = edit_values(s, job)
            self._html(s.page("episode.html", title=job.episode.title, **values))
        elif rest == ["hear"]:
            heard = s.project.hear(job)
            problem = cannot_put_out(heard.again) if heard.again else ""
            self._html(
                s.page(
                    "hear.html",
                    title=job.episode.title,
                    job=job,
                    episode=job.episode,
                    heard=heard,
                    problem=problem,
                )
            )
        elif rest == ["preview.mp3"]:
            preview = s.project.preview(job)
            if preview.again:
                raise StudioError(HTTPStatus.CONFLICT, cannot_put_out(preview.again))
            if preview.exact is not None:
                self._file(preview.exact, "audio/mpeg")
            elif preview.quick.exists() and preview.cache.get_json("renders", preview.quick_key):
                self._file(preview.quick, "audio/mpeg")
                self._finish_later(job)
            elif self._stream(
                preview.command, "making the preview", job.timeline.edl_path, preview.seconds,
                preview, preview.feed,
            ):  # fmt: skip
                self._finish_later(job)
        elif rest == ["finished"]:
            heard = s.project.hear(job)
            if heard.again:  # a publish would refuse it: nothing is made
                self._json({"ready": False, "problem": cannot_put_out(heard.again)})
                return
            ready = heard.audio is not None
            if not ready:
                self._finish_later(job)
            with s.finishing_lock:
                edit, why = s.unfinished.get(job.slug, ("", ""))
            if not ready and edit == job.timeline.edl_sha256:
                self._json({"ready": False, "problem": why})
            else:
                self._json({"ready": ready})
        elif rest == ["preview.vtt"]:
            body = to_webvtt(s.project.hear(job).cues).encode("utf-8")
            self._send(HTTPStatus.OK, body, "text/vtt; charset=utf-8")
        elif rest == ["approve"]:
            said = (query.get("said") or [""])[0]
            messages = {"ok": "Thank you. You agreed to this version."}
            values = approve_values(s, job, messages.get(said, ""))
            self._html(s.page("approve.html", title=job.episode.title, **values))
        elif rest == ["suggestions"]:
            found = suggestions(s, job)
            self._html(
                s.page(
                    "suggestions.html",
                    title=job.episode.title,
                    job=job,
                    episode=job.episode,
                    found=found,
                )
            )
        else:
            raise StudioError(HTTPStatus.NOT_FOUND, "There is no page here.")

    def _listen(self, job: EpisodeJob, name: str, query: dict[str, list[str]]) -> None:
        """A recording from a word on, as the episode would play it: its hidden parts
        beeped or quiet as published (never the recording's own bytes)."""
        if name not in job.recordings:
            raise StudioError(HTTPStatus.NOT_FOUND, "That recording is not in this episode.")
        try:
            at = float((query.get("at") or ["0"])[0])
        except ValueError:
            at = -1.0
        if not math.isfinite(at) or at < 0:
            raise StudioError(HTTPStatus.BAD_REQUEST, "Listen from which word? Press a word.")
        assert job.timeline
        command = self.studio.project.listen(job, name, at)
        self._stream(
            command, f"playing {name}", job.timeline.edl_path, defaults.STUDIO_LISTEN_SECONDS
        )

    def _post(self, parts: list[str], query: dict[str, list[str]]) -> None:
        s = self.studio
        raw = self._body()
        is_json = "json" in (self.headers.get("Content-Type") or "")
        form: dict[str, str] = {}
        data: Any = None
        if is_json:
            try:
                data = json.loads(raw or b"null")
            except ValueError as exc:
                raise StudioError(
                    HTTPStatus.BAD_REQUEST, "The page sent something unreadable."
                ) from exc
        else:
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        if parts == ["login"]:
            given = form.get("passphrase", "")
            if s.passphrase and hmac.compare_digest(given.strip(), s.passphrase):
                self._send(
                    HTTPStatus.SEE_OTHER,
                    b"",
                    "text/plain",
                    {
                        "Location": "/",
                        "Set-Cookie": f"{COOKIE}={s.cookie}; HttpOnly; SameSite=Strict; Path=/",
                    },
                )
            else:
                self._html(
                    s.page(
                        "login.html",
                        title="Enter the passphrase",
                        message="That is not the passphrase.",
                    ),
                    HTTPStatus.FORBIDDEN,
                )
            return
        if not self._passed():
            raise StudioError(HTTPStatus.FORBIDDEN, "Enter the passphrase first.")
        if not self._token_ok(form):
            raise StudioError(
                HTTPStatus.FORBIDDEN,
                "Refused: this request did not carry the page's key, so nothing was changed. "
                "Reload the studio page and try again.",
            )
        if len(parts) != 3 or parts[0] != "ep":
            raise StudioError(HTTPStatus.NOT_FOUND, "There is nothing to change here.")
        with s.lock:
            job = self._episode(parts[1])
            if parts[2] == "transcribe":
                if job.timeline is None:
                    self._ready(job)
                s.project.transcribe(job)
                self._redirect(f"/ep/{job.slug}")
                return
            self._ready(job)
            if parts[2] == "save":
                self._json(save(s, job, data))
            elif parts[2] == "spelling":
                self._json(save_spelling(s, job, data))
            elif parts[2] == "idea":
                base = data.get("base") if isinstance(data, dict) else None
                assert job.timeline
                if base != job.timeline.edl_sha256:
                    raise StudioError(
                        HTTPStatus.CONFLICT,
                        "Not done: the episode was changed since this page was opened. "
                        "Reload the page.",
                    )
                try:
                    changed = edits.with_idea(job.timeline, data.get("idea"))
                except edits.EditError as exc:
                    raise StudioError(HTTPStatus.UNPROCESSABLE_ENTITY, f"Not done: {exc}") from exc
                self._json(save(s, job, changed))
            elif parts[2] == "approve":
                said = approve(s, job, form)
                if is_json:
                    self._json({"ok": True, "message": said})
                else:
                    self._redirect(f"/ep/{job.slug}/approve?said=ok")
            else:
                raise StudioError(HTTPStatus.NOT_FOUND, "There is nothing to change here.")


def make_server(studio: Studio) -> ThreadingHTTPServer:
    """The server, bound (port 0: a free one, written back into ``studio.port``)."""
    handler = type("StudioHandler", (Handler,), {"studio": studio})
    server = ThreadingHTTPServer((studio.host, studio.port), handler)
    server.daemon_threads = True
    studio.port = server.server_address[1]
    return server
