"""Typed records that the stages pass to each other.

Stages talk only through these; none imports another stage's internals.
Saved records (caches, transcripts, manifests) carry a schema name and version.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import Problem


def seconds_at_most(seconds: float) -> str:
    """``seconds`` as a time to write in an EDL: to the millisecond, rounded down, so a
    message that suggests "end at ... or earlier" suggests a time that is accepted
    (5.0168 s reads 5.016, never 5.02)."""
    ms = math.floor(seconds * 1000 + 1e-6)
    return f"{ms / 1000:.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Recording:
    """One source recording, as measured (not as its headers claim)."""

    path: Path
    name: str  # how the EDL names it: a path relative to the episode's recordings/ folder
    sha256: str
    size: int
    duration: float  # seconds: the samples that decode (every audio frame decoded, counted)
    header_duration: float | None  # what the container claims; phones that crash lie
    container: str
    codec: str
    sample_rate: int
    channels: int
    # its personal tag values (place, device, owner...): what no output made from it may hold
    tags: tuple[str, ...] = ()
    video: VideoInfo | None = None  # its picture, when a video episode needs it

    # 2: probed through runner.source_input; a file the allow-lists refuse was never a
    # Recording, so an older cached probe of it must not stand in for one.
    # 3: one probe gives the sound, the tags and (for video episodes) the picture.
    # 4: the duration is the count of samples that decode, not the last timestamp.
    SCHEMA = "storycast.Recording.4"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        d["tags"] = list(self.tags)
        d["video"] = self.video.to_json() if self.video else None
        d["schema"] = self.SCHEMA
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], path: Path, name: str) -> Recording:
        return cls(
            path=path,
            name=name,
            sha256=d["sha256"],
            size=d["size"],
            duration=d["duration"],
            header_duration=d["header_duration"],
            container=d["container"],
            codec=d["codec"],
            sample_rate=d["sample_rate"],
            channels=d["channels"],
            tags=tuple(str(v) for v in d.get("tags", [])),
            video=VideoInfo.from_json(d["video"], path) if d.get("video") else None,
        )


# Colour transfer functions and primaries that make a picture HDR or wide-gamut.
HDR_TRANSFERS = {"smpte2084", "arib-std-b67"}
WIDE_PRIMARIES = {"bt2020"}


@dataclass(frozen=True)
class VideoInfo:
    """The picture of one recording, as measured (the sound is in ``Recording``)."""

    path: Path
    width: int  # as stored (coded) in the file
    height: int
    rotation: int  # display-matrix rotation as ffprobe reports it, 0..359
    display_width: int  # upright, as a player shows it (rotation and pixel aspect applied)
    display_height: int
    sample_aspect: str  # "1:1" for phones
    avg_frame_rate: float  # frames per second over the file
    r_frame_rate: float  # the stream's nominal ("real base") rate
    vfr: bool  # frame durations vary (phones do this in low light)
    codec: str
    profile: str
    pix_fmt: str
    bit_depth: int
    color_transfer: str  # "" when untagged
    color_primaries: str
    color_space: str
    has_audio: bool
    duration: float  # seconds of picture, read packet by packet (headers lie)
    header_duration: float | None
    frames: int  # picture packets read

    SCHEMA = "storycast.VideoInfo.1"

    @property
    def hdr(self) -> bool:
        return self.color_transfer in HDR_TRANSFERS

    @property
    def needs_tonemap(self) -> bool:
        """HDR or wide-gamut: must be mapped to SDR BT.709 for ordinary players."""
        return self.hdr or self.color_primaries in WIDE_PRIMARIES

    @property
    def portrait(self) -> bool:
        return self.display_height > self.display_width

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        d["schema"] = self.SCHEMA
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], path: Path) -> VideoInfo:
        if d.get("schema") != cls.SCHEMA:
            raise ValueError(f"not a {cls.SCHEMA} record")
        fields = {k: v for k, v in d.items() if k not in ("schema", "path")}
        return cls(path=path, **fields)


@dataclass(frozen=True)
class Loudness:
    """EBU R128 measurement of one recording or one rendered episode."""

    integrated: float  # LUFS
    true_peak: float  # dBTP
    lra: float  # LU
    threshold: float  # LUFS

    SCHEMA = "storycast.Loudness.2"


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class Transcript:
    """Words of one whole recording, in recording time."""

    recording_sha256: str
    engine: str
    model: str
    language: str
    words: tuple[Word, ...]
    # What the engine noticed and did about it (e.g. a repetition loop removed).
    warnings: tuple[str, ...] = ()
    # Where ``language`` came from: "detected" (by a multilingual model on the first
    # speech), "episode.yaml" (a recording's `language:`), or "show" (no detection ran).
    language_from: str = "show"
    language_probability: float = 0.0  # the detector's probability, when detected

    SCHEMA = "storycast.Transcript.1"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.SCHEMA,
            "recording_sha256": self.recording_sha256,
            "engine": self.engine,
            "model": self.model,
            "language": self.language,
            "words": [[w.start, w.end, w.text, w.probability] for w in self.words],
            "warnings": list(self.warnings),
            "language_from": self.language_from,
            "language_probability": self.language_probability,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Transcript:
        if d.get("schema") != cls.SCHEMA:
            raise ValueError(f"not a {cls.SCHEMA} record")
        return cls(
            recording_sha256=d["recording_sha256"],
            engine=d["engine"],
            model=d["model"],
            language=d["language"],
            words=tuple(Word(float(a), float(b), str(t), float(p)) for a, b, t, p in d["words"]),
            warnings=tuple(str(w) for w in d.get("warnings", [])),
            language_from=str(d.get("language_from", "show")),
            language_probability=float(d.get("language_probability", 0.0)),
        )


@dataclass(frozen=True)
class Clip:
    """One kept range of one recording, placed on the episode timeline."""

    source: str  # recording name as written in the EDL
    src_in: float
    src_out: float
    start: float  # where it starts in the episode
    fade_in: float = 0.0
    fade_out: float = 0.0
    line: int | None = None  # EDL line, for messages

    @property
    def duration(self) -> float:
        return self.src_out - self.src_in

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class Chapter:
    start: float  # episode time
    title: str
    line: int | None = None


@dataclass(frozen=True)
class Redaction:
    """A range of one recording that must not be heard or read anywhere.

    In recording time: it holds wherever that range appears in the episode, in
    every clip that uses it, and in captions, transcripts, chapters and tags.
    """

    source: str  # recording name, as clips name it
    start: float  # recording time
    end: float
    mode: Literal["bleep", "silence"] = "bleep"
    replacement: str = "[removed]"  # what captions and transcripts show instead
    line: int | None = None
    text: str | None = None  # what was said, so titles, chapters and tags can be scrubbed too


@dataclass(frozen=True)
class Timeline:
    """Exactly what will be rendered: the EDL resolved, nothing added."""

    edl_path: Path
    edl_sha256: str
    clips: tuple[Clip, ...]
    chapters: tuple[Chapter, ...]
    redactions: tuple[Redaction, ...] = ()
    soundbite: Soundbite | None = None
    # What the contributors should know about how their EDL was read: a part that plays
    # twice, events left out, a frame rate storycast had to infer. Said in `storycast
    # timeline` and as notes in the run summary; never published.
    notes: tuple[str, ...] = ()

    def redacted_spans(self) -> list[tuple[float, float, Redaction]]:
        """Every place a redaction lands in the episode: (start, end, redaction), in order."""
        spans: list[tuple[float, float, Redaction]] = []
        for clip in self.clips:
            for r in self.redactions:
                if r.source != clip.source:
                    continue
                lo, hi = max(r.start, clip.src_in), min(r.end, clip.src_out)
                if hi > lo:
                    spans.append((clip.start + lo - clip.src_in, clip.start + hi - clip.src_in, r))
        return sorted(spans, key=lambda s: (s[0], s[1]))

    @property
    def duration(self) -> float:
        return self.clips[-1].end if self.clips else 0.0

    def sources(self) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.clips:
            seen.setdefault(c.source, None)
        return list(seen)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "storycast.Timeline.1",
            "edl": str(self.edl_path),
            "edl_sha256": self.edl_sha256,
            "duration": round(self.duration, 6),
            "clips": [
                {
                    "source": c.source,
                    "in": c.src_in,
                    "out": c.src_out,
                    "start": round(c.start, 6),
                    "fade_in": c.fade_in,
                    "fade_out": c.fade_out,
                }
                for c in self.clips
            ],
            "chapters": [{"start": ch.start, "title": ch.title} for ch in self.chapters],
            "redactions": [
                {
                    "source": r.source,
                    "start": r.start,
                    "end": r.end,
                    "mode": r.mode,
                    "replacement": r.replacement,
                    "in_episode": [
                        [round(a, 6), round(b, 6)] for a, b, x in self.redacted_spans() if x is r
                    ],
                }
                for r in self.redactions
            ],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Cue:
    """One caption cue in episode time."""

    start: float
    end: float
    text: str  # already wrapped: lines joined by "\n"
    speaker: str | None = None


@dataclass(frozen=True)
class StorageTarget:
    """Where a show is published, from the show file's ``storage:``."""

    target: str  # "local:PATH" (relative to the project) or "s3://bucket/prefix"
    endpoint_url: str | None = None  # any S3-compatible service; None means AWS
    region: str | None = None
    path_style: bool = False  # bucket in the path, not the host name
    # Where raw recordings and caches may be kept remotely: never the public target.
    private: str | None = None


@dataclass(frozen=True)
class Reel:
    """How an editing tool's reel or clip name maps to one of the episode's recordings."""

    recording: str  # a file in the episode's recordings/ folder
    start_timecode: str | None = None  # the recording's first frame, e.g. "01:00:00:00"


@dataclass(frozen=True)
class Person:
    """One contributor, from the people file: how they are credited and what they consented to."""

    id: str
    credit: Literal["name", "pseudonym", "none"]
    name: str | None
    pseudonym: str | None
    roles: tuple[str, ...]
    voice_consent: date | None  # when consent to publish their voice was given
    face_consent: date | None
    withdrawn: date | None = None  # consent withdrawn: their episodes come down
    line: int | None = None

    @property
    def credited_as(self) -> str | None:
        """The only name that may be published for them, if any."""
        if self.credit == "name":
            return self.name
        if self.credit == "pseudonym":
            return self.pseudonym
        return None

    def may_publish_face(self) -> bool:
        return self.face_consent is not None and self.withdrawn is None


@dataclass(frozen=True)
class Credit:
    """A credited person as the feed's podcast:person shows them."""

    name: str
    role: str = "guest"
    group: str = "cast"


@dataclass(frozen=True)
class Soundbite:
    """A short part the contributors chose for apps to preview (episode time)."""

    start: float
    duration: float
    title: str | None = None


@dataclass(frozen=True)
class License:
    """``license:`` of a show: an SPDX-style identifier, or a name and its URL."""

    name: str  # "CC-BY-NC-4.0", or any name given with a URL
    url: str


@dataclass(frozen=True)
class ShowText:
    """One ``podcast:txt``: free text for machines, with an optional purpose."""

    text: str
    purpose: str | None = None


@dataclass(frozen=True)
class UpdateFrequency:
    """``podcast:updateFrequency``: how often episodes come, as words and an RFC 5545 rule."""

    text: str
    rrule: str | None = None
    complete: bool = False  # a finished series: no more episodes


@dataclass(frozen=True)
class Funding:
    """``podcast:funding``: where listeners can support the show."""

    url: str
    text: str


@dataclass(frozen=True)
class Show:
    path: Path  # the show file
    slug: str
    title: str
    description: str
    author: str
    owner_name: str
    owner_email: str
    language: str
    link: str
    artwork: Path
    category: str
    explicit: bool
    base_url: str  # public URL that the store's keys hang under
    storage: StorageTarget
    episodes_dir: Path
    subcategory: str | None = None
    copyright: str | None = None
    # Contributors must approve each episode's EDL and recordings before it is published.
    approval_required: bool = True
    # Every recording must say who is in it, and each of them must have consented.
    consent_required: bool = True
    # Video episodes: open captions burned into the picture (for social media), and
    # "keep" (portrait stays portrait), "landscape" or "portrait".
    burn_in_captions: bool = False
    video_orientation: Literal["keep", "landscape", "portrait"] = "keep"
    # podcast:guid pinned in the show file, so moving the feed (say, from the local
    # preview to a CDN) never changes it or any episode's guid.
    guid: str | None = None
    # A second feed beside the main one, listing only the video episodes (MP4 enclosures),
    # for apps and directories that want video; its title defaults to "<title> (video)".
    video_feed: bool = False
    video_feed_title: str | None = None
    # Listeners' site and the rest of Podcasting 2.0 (feed.build, site.build).
    artwork_alt: str = ""  # what the artwork shows, for anyone who cannot see it
    license: License | None = None
    txt: tuple[ShowText, ...] = ()  # podcast:txt, with purpose="ai-content" among them
    update_frequency: UpdateFrequency | None = None
    funding: tuple[Funding, ...] = ()
    block: bool = False  # itunes:block and podcast:block: directories must not list it
    # A Dask scheduler (tcp://HOST:8786) that does the episodes' work (pipeline.compute)
    compute_scheduler: str | None = None
    # The cache in object storage the workers share (``compute: cache:``), or None: on disk
    compute_cache: StorageTarget | None = None

    @property
    def feed_key(self) -> str:
        return f"feeds/{self.slug}.xml"

    @property
    def feed_url(self) -> str:
        return self.base_url.rstrip("/") + "/" + self.feed_key

    @property
    def video_feed_key(self) -> str:
        return f"feeds/{self.slug}-video.xml"

    @property
    def video_feed_url(self) -> str:
        return self.base_url.rstrip("/") + "/" + self.video_feed_key

    @property
    def site_key(self) -> str:
        """The show page: a stable address (the feed's channel <link>)."""
        return f"media/{self.slug}/index.html"

    def page_key(self, episode: str, part: int = 1) -> str:
        """An episode's page: a stable address (its feed item's <link>). A transcript too
        long for one page goes on in parts 2, 3...: SLUG.part-N.html beside it."""
        tail = "" if part == 1 else f".part-{part}"
        return f"media/{self.slug}/episodes/{episode}{tail}.html"


@dataclass(frozen=True)
class Episode:
    folder: Path
    slug: str
    show: str
    title: str
    description: str
    number: int | None
    season: int | None
    published: datetime
    edl: Path
    explicit: bool | None = None
    episode_type: Literal["full", "trailer", "bonus"] = "full"
    guid: str | None = None
    # For EDLs from editing tools: reel/clip names -> recordings, and timecode rate
    # ("24", "25", "29.97" for drop-frame, "30").
    reels: dict[str, Reel] = field(default_factory=dict)
    frame_rate: str | None = None
    # Who speaks or is seen in each recording: recording name -> person ids.
    appearances: dict[str, tuple[str, ...]] = field(default_factory=dict)
    appearances_line: int | None = None
    medium: Literal["audio", "video"] = "audio"  # video: rendered from the clips' pictures too
    poster_at: float | None = None  # episode time of the poster frame (video)
    # The episode's page: a summary in easy read (shown first) and content notes.
    summary_easy_read: str = ""
    content_notes: tuple[str, ...] = ()
    # The language spoken in each recording, where episode.yaml says (`language:`):
    # recording name -> code; "*" for every recording not named. Otherwise detected.
    languages: dict[str, str] = field(default_factory=dict)

    @property
    def recordings_dir(self) -> Path:
        return self.folder / "recordings"


@dataclass(frozen=True)
class Role:
    """What one kind of published file is called and how it is served."""

    suffix: str  # after the episode's name: first-flat.chapters.json
    content_type: str


# Every kind of file an episode publishes, by its role: the one table the stages name files
# by, the store serves them as, and the preview answers with.
ROLES: dict[str, Role] = {
    "audio": Role(".mp3", "audio/mpeg"),
    "video": Role(".mp4", "video/mp4"),
    "poster": Role(".poster.jpg", "image/jpeg"),
    "captions-vtt": Role(".vtt", "text/vtt"),
    "captions-srt": Role(".srt", "application/x-subrip"),
    "transcript-json": Role(".json", "application/json"),
    "chapters": Role(".chapters.json", "application/json+chapters"),
    "transcript-html": Role(".html", "text/html; charset=utf-8"),
    "transcript-txt": Role(".txt", "text/plain; charset=utf-8"),
    # The episode's page on the listeners' site: a stable address (Show.page_key), not
    # content-addressed, replaced when it changes, short-cached like a feed.
    "page": Role(".page.html", "text/html; charset=utf-8"),
    # The words' times of the page's transcript, fetched by the page's own script.
    "page-words": Role(".words.json", "application/json"),
}
# Roles whose key never changes when their bytes do (the others carry their content hash).
MUTABLE_ROLES = frozenset({"page"})


def base_role(role: str) -> str:
    """The role a file has in ``ROLES``: a qualified one (``captions-vtt:fr``, a language;
    ``page:2``, a page's part) without its qualifier."""
    return role.partition(":")[0]


# How a feed is served.
FEED_TYPE = "application/rss+xml; charset=utf-8"


@dataclass
class Output:
    """One file to publish: where it is staged and the key it gets."""

    path: Path
    key: str
    content_type: str
    role: str  # "audio", "captions-vtt", "captions-srt", "transcript-json", "chapters"
    size: int = 0
    sha256: str = ""


# "withdrawn": consent is missing or was withdrawn; the episode comes down everywhere.
EpisodeStatus = Literal["pending", "ready", "published", "skipped", "failed", "withdrawn"]


@dataclass
class EpisodeJob:
    """Everything one episode accumulates as it moves through the stages.

    Skipping or failing is data (``status`` and ``reason``), not an exception
    that unwinds the whole batch.
    """

    folder: Path
    episode: Episode | None = None
    timeline: Timeline | None = None
    recordings: dict[str, Recording] = field(default_factory=dict)
    loudness: dict[str, Loudness] = field(default_factory=dict)
    transcripts: dict[str, Transcript] = field(default_factory=dict)
    cues: list[Cue] = field(default_factory=list)
    videos: dict[str, VideoInfo] = field(default_factory=dict)  # video episodes' pictures
    outputs: dict[str, Output] = field(default_factory=dict)  # role -> output
    rendered_loudness: Loudness | None = None
    credits: tuple[Credit, ...] = ()
    speakers: dict[str, str] = field(default_factory=dict)  # recording -> credited name
    # The language of each recording's captions (recording name -> code), and of the
    # episode's captions and transcripts as a whole (the language most of its clips are in).
    languages: dict[str, str] = field(default_factory=dict)
    captions_language: str = ""
    requested_by: str = ""  # for a withdrawal: at whose request
    duration: float = 0.0
    status: EpisodeStatus = "pending"
    reason: str = ""
    problems: list[Problem] = field(default_factory=list)  # when failed on bad input
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    renders: set[str] = field(default_factory=set)  # cache keys of the renders it uses
    # recording sha256 -> the device a Dask task transcribed it on, where not a CPU
    # ("cuda"): its episode's own stages look for that transcript in the cache first
    transcribed_on: dict[str, str] = field(default_factory=dict)
    # Every word heard in the episode, in episode time (start, end, text), redactions applied:
    # for the episode page's transcript, where a click on a word seeks there.
    words: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.episode.slug if self.episode else self.folder.name


@dataclass(frozen=True)
class PublishedFile:
    """A file as listeners' apps will fetch it."""

    role: str  # "audio", "captions-vtt", "captions-srt", "transcript-json", "chapters", "artwork"
    key: str  # object key in the store
    url: str  # public URL
    size: int  # bytes
    content_type: str


@dataclass(frozen=True)
class FeedEntry:
    """One episode as the feed presents it."""

    episode: Episode
    duration: float  # seconds
    files: dict[str, PublishedFile]  # role -> file; "audio" is the enclosure
    credits: tuple[Credit, ...] = ()
    soundbite: Soundbite | None = None
    captions_language: str = ""  # the `language` of its podcast:transcript tags


# --- the contributors' free text that is published -----------------------------------------
# One list of every free-text field the contributors write that storycast publishes. The
# redaction scrub (``edl.redact``) rewrites exactly these; ``publish.outgoing`` lists every
# other text that goes out, and reads back every published byte.


@dataclass(frozen=True)
class Field:
    """A free-text field of an episode that is published: how to read and rewrite it."""

    name: str
    get: Callable[[Episode, Timeline], list[str]]
    put: Callable[[Episode, Timeline, list[str]], tuple[Episode, Timeline]]


def _title(e: Episode, t: Timeline) -> list[str]:
    return [e.title]


def _description(e: Episode, t: Timeline) -> list[str]:
    return [e.description]


def _chapters(e: Episode, t: Timeline) -> list[str]:
    return [c.title for c in t.chapters]


def _soundbite(e: Episode, t: Timeline) -> list[str]:
    return [t.soundbite.title] if t.soundbite and t.soundbite.title else []


def _put_title(e: Episode, t: Timeline, v: list[str]) -> tuple[Episode, Timeline]:
    return replace(e, title=v[0]), t


def _put_description(e: Episode, t: Timeline, v: list[str]) -> tuple[Episode, Timeline]:
    return replace(e, description=v[0]), t


def _put_chapters(e: Episode, t: Timeline, v: list[str]) -> tuple[Episode, Timeline]:
    chapters = tuple(replace(c, title=x) for c, x in zip(t.chapters, v, strict=True))
    return e, replace(t, chapters=chapters)


def _summary(e: Episode, t: Timeline) -> list[str]:
    return [e.summary_easy_read] if e.summary_easy_read else []


def _notes(e: Episode, t: Timeline) -> list[str]:
    return list(e.content_notes)


def _put_summary(e: Episode, t: Timeline, v: list[str]) -> tuple[Episode, Timeline]:
    return replace(e, summary_easy_read=v[0]), t


def _put_notes(e: Episode, t: Timeline, v: list[str]) -> tuple[Episode, Timeline]:
    return replace(e, content_notes=tuple(v)), t


def _put_soundbite(e: Episode, t: Timeline, v: list[str]) -> tuple[Episode, Timeline]:
    return e, replace(t, soundbite=replace(t.soundbite, title=v[0]) if t.soundbite else None)


SCRUBBED: tuple[Field, ...] = (
    Field("the episode title", _title, _put_title),
    Field("the episode description", _description, _put_description),
    Field("chapter titles", _chapters, _put_chapters),
    Field("the soundbite title", _soundbite, _put_soundbite),
    Field("the easy-read summary", _summary, _put_summary),
    Field("the content notes", _notes, _put_notes),
)
