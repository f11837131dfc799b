"""Loading the show file (feeds/<slug>.yaml) and episode files (episodes/<slug>/episode.yaml)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

from pipeline import defaults
from pipeline.project.text import description_problem
from pipeline.project.timecode import RATES
from pipeline.project.yamlfile import Node, Problems, load
from pipeline.records import (
    Episode,
    Funding,
    License,
    Reel,
    Show,
    ShowText,
    StorageTarget,
    UpdateFrequency,
)

SHOW_FIELDS = {
    "title",
    "description",
    "author",
    "owner",
    "language",
    "link",
    "artwork",
    "category",
    "subcategory",
    "explicit",
    "base_url",
    "storage",
    "episodes",
    "copyright",
    "guid",
    "approval",
    "consent",
    "burn_in_captions",
    "video_orientation",
    "video_feed",
    "video_feed_title",
    "artwork_alt",
    "license",
    "txt",
    "ai_content",
    "update_frequency",
    "funding",
    "block",
    "compute",
}
OWNER_FIELDS = {"name", "email"}
EPISODE_FIELDS = {
    "show",
    "title",
    "description",
    "number",
    "season",
    "published",
    "edl",
    "explicit",
    "type",
    "guid",
    "reels",
    "frame_rate",
    "appearances",
    "medium",
    "poster_at",
    "summary_easy_read",
    "content_notes",
    "language",
}
EPISODE_FILE = "episode.yaml"
FRAME_RATES = tuple(RATES)  # the timecode rates the CMX importer reads
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _required(fields: dict[str, Node], root: Node, name: str, what: str) -> str | None:
    if name not in fields:
        root.problem(f"is missing `{name}:` ({what}).", field=name)
        return None
    return fields[name].text()


def load_show(path: Path, problems: Problems) -> Show | None:
    feeds = f"{path.parent.name}/"
    root = load(path, problems)
    if root is None:
        return None
    fields = root.mapping(SHOW_FIELDS)
    if fields is None:
        return None
    slug = path.stem
    if not _SLUG.match(slug):
        problems.add_at(
            path,
            f"the file name `{path.name}` must be lower-case letters, digits and "
            "dashes (it becomes the feed's address).",
        )
    title = _required(fields, root, "title", "the show's name")
    description = _required(fields, root, "description", "a sentence or two about the show")
    if description and (too_long := description_problem(description)) is not None:
        fields["description"].problem(too_long)
    author = _required(fields, root, "author", "who makes it, e.g. the youth council's name")
    artwork_name = _required(fields, root, "artwork", "a square JPEG or PNG next to the show file")
    base_url = fields["base_url"].text() if "base_url" in fields else "http://127.0.0.1:8000"
    owner_name, owner_email = author or "", ""
    if "owner" in fields:
        owner = fields["owner"].mapping(OWNER_FIELDS)
        if owner is not None:
            owner_name = owner["name"].text() or "" if "name" in owner else owner_name
            owner_email = owner["email"].text() or "" if "email" in owner else ""
            if owner_email and "@" not in owner_email:
                owner["email"].problem(f"`{owner_email}` is not an email address.")
    explicit = fields["explicit"].boolean() if "explicit" in fields else False
    artwork = path.parent
    if artwork_name:
        found = fields["artwork"].path_inside(path.parent, f"the show file's folder ({feeds})")
        if found is None:
            artwork_name = None
        elif not found.is_file():
            fields["artwork"].problem(f"`{artwork_name}` was not found next to the show file.")
        else:
            artwork = found
            for message in artwork_problems(artwork):
                fields["artwork"].problem(message)
    if base_url and not re.match(r"^https?://", base_url):
        fields["base_url"].problem(f"`{base_url}` must start with http:// or https://.")
    episodes_dir = path.parent.parent / "episodes"
    if "episodes" in fields and fields["episodes"].text():
        # relative to the show file, and inside the project (the show file's folder's parent)
        chosen = fields["episodes"].path_inside(
            path.parent,
            "the project's folder",
            within=path.parent.parent,
            fix="Give a folder inside the project, such as ../episodes (from the show file).",
        )
        episodes_dir = chosen.resolve() if chosen is not None else episodes_dir
    orientation = _opt(fields, "video_orientation") or "keep"
    if orientation not in ("keep", "landscape", "portrait"):
        fields["video_orientation"].problem(
            f"`{orientation}` should be keep, landscape or portrait.",
            "`keep` (the default) leaves portrait phone videos portrait.",
        )
        orientation = "keep"
    approval_mode = _opt(fields, "approval") or "required"
    if approval_mode not in ("required", "optional"):
        fields["approval"].problem(
            f"`{approval_mode}` should be required or optional.",
            "Leave it out to require approval (the safe default).",
        )
    approval_required = approval_mode != "optional"
    consent_mode = _opt(fields, "consent") or "required"
    if consent_mode not in ("required", "optional"):
        fields["consent"].problem(f"`{consent_mode}` should be required or optional.")
    guid = _opt(fields, "guid")
    if guid is not None:
        try:
            guid = str(uuid.UUID(guid))
        except ValueError:
            fields["guid"].problem(
                f"`{guid}` is not a UUID.",
                "Copy the guid storycast suggests, or leave the line out.",
            )
    video_feed = fields["video_feed"].boolean() if "video_feed" in fields else False
    if video_feed and (path.parent / f"{slug}-video.yaml").is_file():
        fields["video_feed"].problem(
            f"the show `{slug}-video` ({slug}-video.yaml) already publishes its feed at "
            f"feeds/{slug}-video.xml, where this show's video feed would go.",
            "Rename one of the two show files, or leave `video_feed` out.",
        )
    # Kept when `video_feed` is off, so the feed can be turned off and on again.
    video_feed_title = _opt(fields, "video_feed_title")
    artwork_alt = _opt(fields, "artwork_alt")
    if artwork_alt is None and "artwork_alt" not in fields:
        (fields["artwork"] if "artwork" in fields else root).problem(
            "has no `artwork_alt:`: images need alt text, for listeners who cannot see them "
            "(it goes into the feed's podcast:image and the show's web page).",
            "Add `artwork_alt:` under `artwork:` saying in a sentence what the artwork shows.",
            field="artwork_alt",
        )
    license = _license(fields["license"]) if "license" in fields else None
    txt = _txt(fields)
    update_frequency = (
        _update_frequency(fields["update_frequency"]) if ("update_frequency" in fields) else None
    )
    funding = _funding(fields["funding"]) if "funding" in fields else ()
    block = bool(fields["block"].boolean()) if "block" in fields else False
    scheduler, compute_cache = _compute(fields["compute"]) if "compute" in fields else (None, None)
    if not (title and description and author and artwork_name and base_url) or explicit is None:
        return None
    return Show(
        path=path,
        slug=slug,
        title=title,
        description=description,
        author=author,
        owner_name=owner_name,
        owner_email=owner_email,
        language=_opt(fields, "language") or "en",
        link=_opt(fields, "link") or base_url,
        artwork=artwork,
        category=_opt(fields, "category") or "Society & Culture",
        subcategory=_opt(fields, "subcategory"),
        explicit=explicit,
        base_url=base_url,
        storage=_storage(fields["storage"])
        if "storage" in fields
        else StorageTarget("local:public"),
        episodes_dir=episodes_dir,
        copyright=_opt(fields, "copyright"),
        guid=guid,
        approval_required=approval_required,
        consent_required=consent_mode != "optional",
        burn_in_captions=bool(fields["burn_in_captions"].boolean())
        if "burn_in_captions" in fields
        else False,
        video_orientation=cast(Literal["keep", "landscape", "portrait"], orientation),
        video_feed=bool(video_feed),
        video_feed_title=video_feed_title,
        artwork_alt=artwork_alt or "",
        license=license,
        txt=txt,
        update_frequency=update_frequency,
        funding=funding,
        block=block,
        compute_scheduler=scheduler,
        compute_cache=compute_cache,
    )


# SPDX identifiers of the licenses community shows use, and where each is explained. Any
# other license is written as `license: {name: ..., url: ...}`.
KNOWN_LICENSES: dict[str, str] = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC-BY-NC-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "CC-BY-NC-SA-4.0": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    "CC-BY-ND-4.0": "https://creativecommons.org/licenses/by-nd/4.0/",
    "CC-BY-NC-ND-4.0": "https://creativecommons.org/licenses/by-nc-nd/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
}
_URL = re.compile(r"^https?://[^\s<>\"]+$")


def _license(node: Node) -> License | None:
    """``license: CC-BY-NC-4.0`` or ``license: {name: Our own terms, url: https://...}``."""
    known = ", ".join(KNOWN_LICENSES)
    if node.is_mapping():
        fields = node.mapping({"name", "url"}) or {}
        name = _opt(fields, "name")
        url = _opt(fields, "url")
        if not name or not url:
            node.problem(
                "needs both `name:` and `url:`.",
                "Give the license's name and the address of its full text.",
            )
            return None
        if not _URL.match(url):
            fields["url"].problem(f"`{url}` is not a web address (http:// or https://).")
            return None
        return License(name, url)
    value = node.text()
    if value is None:
        return None
    for spdx, url in KNOWN_LICENSES.items():
        if value.casefold() == spdx.casefold():
            return License(spdx, url)
    node.problem(
        f"`{value}` is not a license storycast recognises.",
        f"Use one of: {known}; or give its name and the address of its text: "
        "`license: {name: ..., url: https://...}`.",
    )
    return None


def _txt(fields: dict[str, Node]) -> tuple[ShowText, ...]:
    """``txt:`` (a list of texts, or of {text, purpose}) and ``ai_content:`` (a sentence on
    how AI is used in making the show, written as podcast:txt purpose="ai-content")."""
    found: list[ShowText] = []
    if "txt" in fields:
        for item in fields["txt"].items():
            if item.is_mapping():
                sub = item.mapping({"text", "purpose"}) or {}
                text = _opt(sub, "text")
                if text is None:
                    item.problem("needs `text:`.")
                    continue
                purpose = _opt(sub, "purpose")
                if purpose is not None and not re.match(r"^[A-Za-z0-9_-]{1,128}$", purpose):
                    sub["purpose"].problem(
                        f"`{purpose}` is not a purpose tag.",
                        "Use a short word of letters, digits or dashes, e.g. verify.",
                    )
                    continue
                found.append(ShowText(text, purpose))
            elif (text := item.text()) is not None:
                found.append(ShowText(text))
    if "ai_content" in fields and (text := fields["ai_content"].text()) is not None:
        found.append(ShowText(text, "ai-content"))
    for t in found:
        if len(t.text) > 4000:
            (fields.get("txt") or fields["ai_content"]).problem(
                "a text is over 4000 characters, which podcast:txt cannot carry."
            )
    return tuple(found)


_RRULE = re.compile(
    r"^FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)(;[A-Z]+=[A-Z0-9,+-]+)*$"
)


def _update_frequency(node: Node) -> UpdateFrequency | None:
    """``update_frequency: {text: Every two weeks, rrule: FREQ=WEEKLY;INTERVAL=2}``, or
    ``{text: Finished, complete: true}`` for a series with no more episodes."""
    fields = node.mapping({"text", "rrule", "complete"})
    if fields is None:
        return None
    text = _opt(fields, "text")
    if text is None:
        node.problem("needs `text:` (how often, in words, e.g. Every two weeks).")
        return None
    rrule = _opt(fields, "rrule")
    if rrule is not None and not _RRULE.match(rrule):
        fields["rrule"].problem(
            f"`{rrule}` is not an RFC 5545 recurrence rule.",
            "Write it like FREQ=WEEKLY;INTERVAL=2 or FREQ=MONTHLY.",
        )
        return None
    complete = bool(fields["complete"].boolean()) if "complete" in fields else False
    return UpdateFrequency(text, rrule, complete)


def _funding(node: Node) -> tuple[Funding, ...]:
    """``funding: [{url: https://..., text: Support the youth council}]``."""
    found: list[Funding] = []
    for item in node.items():
        sub = item.mapping({"url", "text"}) or {}
        url, text = _opt(sub, "url"), _opt(sub, "text")
        if not url or not text:
            item.problem("needs `url:` and `text:`.", "Give the address and a few words.")
            continue
        if not _URL.match(url):
            sub["url"].problem(f"`{url}` is not a web address (http:// or https://).")
            continue
        found.append(Funding(url, text))
    return tuple(found)


COMPUTE_FIELDS = {"scheduler", "cache", "endpoint_url", "region", "path_style"}
# tcp://HOST[:PORT] or tls://HOST[:PORT], as `dask scheduler` prints it
SCHEDULER_ADDRESS = re.compile(r"^(tcp|tls)://[A-Za-z0-9.\-]+(:\d{1,5})?$")
SCHEDULER_FIX = (
    "Write the address `dask scheduler` prints, such as tcp://10.0.0.5:8786, or leave "
    "`compute:` out to run on this machine."
)
CACHE_TARGET = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
CACHE_FIX = (
    "Write s3://bucket/prefix (with `endpoint_url:` for a service other than AWS), in a "
    "bucket or prefix of its own: it holds raw recordings, so never the public target."
)


def _compute(node: Node) -> tuple[str | None, StorageTarget | None]:
    """``compute: {scheduler: tcp://HOST:8786, cache: s3://bucket/prefix, endpoint_url: ...}``:
    the Dask cluster that does the episodes' work, and the cache in object storage that its
    workers share (so that they need no shared folder)."""
    fields = node.mapping(COMPUTE_FIELDS) or {}
    if "scheduler" not in fields and "cache" not in fields:
        if node.is_mapping():
            node.problem(
                "needs `scheduler:` (the address of a Dask scheduler) or `cache:` (where "
                "the workers share their results).",
                SCHEDULER_FIX,
            )
        return None, None
    address: str | None = None
    if "scheduler" in fields:
        address = fields["scheduler"].text() or ""
        if not SCHEDULER_ADDRESS.match(address):
            fields["scheduler"].problem(
                f"`{address}` is not a Dask scheduler address.", SCHEDULER_FIX
            )
            address = None
    cache: StorageTarget | None = None
    if "cache" in fields:
        target = fields["cache"].text() or ""
        if not CACHE_TARGET.match(target):
            fields["cache"].problem(f"`{target}` is not a cache in object storage.", CACHE_FIX)
        else:
            path_style = fields["path_style"].boolean() if "path_style" in fields else False
            cache = StorageTarget(
                target=target,
                endpoint_url=_opt(fields, "endpoint_url"),
                region=_opt(fields, "region"),
                path_style=bool(path_style),
            )
    else:
        for name in ("endpoint_url", "region", "path_style"):
            if name in fields:
                fields[name].problem(
                    "is a setting of the cache in object storage, and there is no `cache:`.",
                    "Add `cache: s3://bucket/prefix` beside it, or take it out.",
                )
    return address, cache


STORAGE_FIELDS = {"target", "endpoint_url", "region", "path_style", "private"}


def _storage(node: Node) -> StorageTarget:
    """``storage: local:public`` or a mapping with ``target:`` and S3 options."""
    if not node.is_mapping():
        target = node.text() or "local:public"
        _check_target(node, target)
        return StorageTarget(target)
    fields = node.mapping(STORAGE_FIELDS) or {}
    if "target" not in fields:
        node.problem("needs `target:` (local:FOLDER or s3://bucket/prefix).")
        return StorageTarget("local:public")
    target = fields["target"].text() or "local:public"
    _check_target(fields["target"], target)
    path_style = fields["path_style"].boolean() if "path_style" in fields else False
    private = _opt(fields, "private")
    if private is not None and private.rstrip("/") == target.rstrip("/"):
        fields["private"].problem(
            "is the same place as the public target.",
            "Raw recordings must never be public: give a separate bucket or prefix.",
        )
    return StorageTarget(
        target=target,
        endpoint_url=_opt(fields, "endpoint_url"),
        region=_opt(fields, "region"),
        path_style=bool(path_style),
        private=private,
    )


def _check_target(node: Node, target: str) -> None:
    if not re.match(r"^(local:.+|s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?)$", target):
        node.problem(
            f"`{target}` is not a storage target.",
            "Write local:FOLDER (e.g. local:public) or s3://bucket/prefix.",
        )


REEL_FIELDS = {"recording", "start"}


def _reels(node: Node, recordings: Path) -> dict[str, Reel]:
    reels: dict[str, Reel] = {}
    for name, value in (node.mapping() or {}).items():
        if value.is_mapping():
            fields = value.mapping(REEL_FIELDS) or {}
            if "recording" not in fields:
                value.problem("needs `recording:` (a file in recordings/).")
                continue
            recording = _recording(fields["recording"], recordings)
            if recording is not None:
                reels[name] = Reel(recording, _opt(fields, "start"))
        elif (recording := _recording(value, recordings)) is not None:
            reels[name] = Reel(recording)
    return reels


def _recording(node: Node, recordings: Path) -> str | None:
    """A reel's recording: a name inside the episode's recordings/ folder."""
    if node.path_inside(recordings, "the episode's recordings/ folder") is None:
        return None
    return node.text()


# Names people write for a language, for the fix of a bad `language:` (the codes are
# what the speech models know: Whisper's, from faster-whisper).
_LANGUAGE_NAMES = {
    "english": "en", "french": "fr", "francais": "fr", "français": "fr", "german": "de",
    "deutsch": "de", "spanish": "es", "espanol": "es", "español": "es", "welsh": "cy",
    "cymraeg": "cy", "italian": "it", "portuguese": "pt", "polish": "pl", "arabic": "ar",
    "urdu": "ur", "punjabi": "pa", "bengali": "bn", "somali": "so", "turkish": "tr",
    "romanian": "ro", "ukrainian": "uk", "russian": "ru", "chinese": "zh", "mandarin": "zh",
    "cantonese": "yue", "hindi": "hi", "dutch": "nl",
}  # fmt: skip


def language_codes() -> tuple[str, ...]:
    """The language codes the speech models know (Whisper's)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return tuple(_LANGUAGE_CODES)


def _language(node: Node) -> str | None:
    """One language code (``fr``, ``pt-BR``): its first part must be one Whisper knows."""
    code = node.text()
    if code is None:
        return None
    known = language_codes()
    first = code.split("-")[0].lower()
    if first in known and re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", code):
        return code
    named = _LANGUAGE_NAMES.get(code.strip().lower())
    hint = f"For {code}, write `{named}`. " if named in known else ""
    node.problem(
        f"`{code}` is not a language code the speech models know.",
        hint + "Write a code such as en, fr, de, es, cy, pl, ar or ur (with a region if "
        "you like: pt-BR); every code known: " + ", ".join(known) + ".",
    )
    return None


def _languages(node: Node, recordings: Path) -> dict[str, str]:
    """``language: fr`` (every recording) or ``language: {interview.m4a: fr}``."""
    found: dict[str, str] = {}
    if not node.is_mapping():
        if (code := _language(node)) is not None:
            found["*"] = code
        return found
    for recording, value in (node.mapping() or {}).items():
        if not (recordings / recording).is_file():
            value.problem(
                f"there is no recording `{recording}` in the episode's recordings/ folder.",
                "Name a file in recordings/ (as the EDL does), then its language.",
            )
        if (code := _language(value)) is not None:
            found[recording] = code
    return found


def _appearances(node: Node) -> dict[str, tuple[str, ...]]:
    """``appearances: {interview.m4a: [jordan, sam]}``: who speaks or is seen in each recording."""
    found: dict[str, tuple[str, ...]] = {}
    for recording, value in (node.mapping() or {}).items():
        if value.is_null():
            found[recording] = ()
        elif value.is_sequence():
            found[recording] = tuple(i for i in (item.text() for item in value.items()) if i)
        elif (single := value.text()) is not None:
            found[recording] = (single,)
    return found


def artwork_problems(path: Path) -> list[str]:
    """What podcast directories would refuse: size, shape, colour model, format."""
    from PIL import Image, UnidentifiedImageError

    fix = (
        f"Podcast apps need a square RGB JPEG or PNG, {defaults.ARTWORK_MIN_PX} to "
        f"{defaults.ARTWORK_MAX_PX} pixels a side."
    )
    try:
        with Image.open(path) as img:
            fmt, mode, (width, height) = img.format, img.mode, img.size
            # every pixel decoded, as the publish's clean copy will: a file cut short (a
            # copy or download that stopped early) opens and says its size, then fails
            img.load()
    except UnidentifiedImageError:
        return [f"`{path.name}` is not an image storycast can read. {fix}"]
    except (OSError, SyntaxError, ValueError) as exc:
        return [
            f"`{path.name}` is damaged: its pixels cannot all be read ({exc}). It may have "
            f"been cut short when it was copied; save or export it again. {fix}"
        ]
    problems = []
    if fmt not in ("JPEG", "PNG"):
        problems.append(f"`{path.name}` is a {fmt} image. {fix}")
    elif path.suffix.lower() not in ({".jpg", ".jpeg"} if fmt == "JPEG" else {".png"}):
        problems.append(f"`{path.name}` is really a {fmt} file; rename it to match.")
    if width != height:
        problems.append(f"`{path.name}` is {width}x{height} pixels, not square. {fix}")
    elif not defaults.ARTWORK_MIN_PX <= width <= defaults.ARTWORK_MAX_PX:
        problems.append(f"`{path.name}` is {width}x{height} pixels. {fix}")
    if mode not in ({"RGB", "RGBA"} if fmt == "PNG" else {"RGB"}):
        problems.append(f"`{path.name}` uses the {mode} colour model; save it as RGB. {fix}")
    return problems


def _opt(fields: dict[str, Node], name: str) -> str | None:
    return fields[name].text() if name in fields else None


def find_episode_folders(episodes_dir: Path) -> list[Path]:
    if not episodes_dir.is_dir():
        return []
    return sorted(p for p in episodes_dir.iterdir() if (p / EPISODE_FILE).is_file())


def load_episode(folder: Path, problems: Problems) -> Episode | None:
    path = folder / EPISODE_FILE
    root = load(path, problems)
    if root is None:
        return None
    fields = root.mapping(EPISODE_FIELDS)
    if fields is None:
        return None
    slug = folder.name
    if not _SLUG.match(slug):
        problems.add_at(
            folder,
            f"the folder name `{slug}` must be lower-case letters, digits and "
            "dashes (it becomes part of web addresses).",
        )
    elif slug == "artwork":
        problems.add_at(
            folder,
            "the folder name `artwork` is kept for the show's artwork in published addresses.",
            "Rename the episode's folder (e.g. `artwork-week`).",
        )
    show = _required(fields, root, "show", "which show this episode belongs to")
    title = _required(fields, root, "title", "the episode's title")
    description = _opt(fields, "description") or ""
    if (too_long := description_problem(description)) is not None:
        fields["description"].problem(too_long)
    number = fields["number"].integer(minimum=1) if "number" in fields else None
    season = fields["season"].integer(minimum=1) if "season" in fields else None
    published = fields["published"].timestamp() if "published" in fields else None
    if "published" not in fields:
        root.problem(
            "is missing `published:` (the date it goes out, e.g. 2026-11-29).", field="published"
        )
    explicit = fields["explicit"].boolean() if "explicit" in fields else None
    episode_type = _opt(fields, "type") or "full"
    if episode_type not in ("full", "trailer", "bonus"):
        fields["type"].problem(f"`{episode_type}` should be full, trailer or bonus.")
    medium = _opt(fields, "medium") or "audio"
    if medium not in ("audio", "video"):
        fields["medium"].problem(f"`{medium}` should be audio or video.")
    frame_rate = _opt(fields, "frame_rate")
    if frame_rate is not None and frame_rate not in FRAME_RATES:
        fields["frame_rate"].problem(
            f"`{frame_rate}` is not a timecode rate storycast knows.",
            "Use one of: " + ", ".join(FRAME_RATES) + " (29.97 means drop-frame).",
        )
    edl_name = _opt(fields, "edl")
    edl: Path | None = folder / (edl_name or "edl.yaml")
    if edl_name is not None:
        edl = fields["edl"].path_inside(folder, "the episode's folder")
    if edl is not None and not edl.is_file():
        node = fields.get("edl", root)
        node.problem(
            f"the EDL `{edl_name or 'edl.yaml'}` was not found in {folder}.",
            "Write one (see README.md) or fix the name.",
            field="edl",
        )
    reels = _reels(fields["reels"], folder / "recordings") if "reels" in fields else {}
    languages = (
        _languages(fields["language"], folder / "recordings") if "language" in fields else {}
    )
    if not (show and title and published and edl) or problems:
        return None
    return Episode(
        folder=folder,
        slug=slug,
        show=show,
        title=title,
        description=description,
        number=number,
        season=season,
        published=published.astimezone(UTC) if published else datetime.now(UTC),
        edl=edl,
        explicit=explicit,
        episode_type=cast(Literal["full", "trailer", "bonus"], episode_type),
        guid=_opt(fields, "guid"),
        reels=reels,
        appearances=_appearances(fields["appearances"]) if "appearances" in fields else {},
        appearances_line=fields["appearances"].line if "appearances" in fields else None,
        medium="video" if medium == "video" else "audio",
        poster_at=fields["poster_at"].seconds() if "poster_at" in fields else None,
        frame_rate=frame_rate,
        summary_easy_read=_opt(fields, "summary_easy_read") or "",
        content_notes=_content_notes(fields["content_notes"]) if "content_notes" in fields else (),
        languages=languages,
    )


def _content_notes(node: Node) -> tuple[str, ...]:
    """``content_notes:`` one note, or a list of them (e.g. [talk of leaving care, swearing])."""
    if node.is_sequence():
        return tuple(t for t in (item.text() for item in node.items()) if t)
    value = node.text()
    return (value,) if value else ()


def read_appearances(folder: Path) -> tuple[str | None, dict[str, tuple[str, ...]]]:
    """The episode's show and who is in each recording, read leniently.

    For takedowns: it must work when the rest of episode.yaml (or the EDL) is broken,
    so only ``show:`` and ``appearances:`` are read and every other problem is ignored.
    (None, {}) when the file cannot be read as YAML at all.
    """
    problems = Problems()
    root = load(folder / EPISODE_FILE, problems)
    if root is None or not root.is_mapping():
        return None, {}
    fields = root.mapping()
    if fields is None:
        return None, {}
    show = fields["show"].text() if "show" in fields else None
    appearances = _appearances(fields["appearances"]) if "appearances" in fields else {}
    return show, appearances
