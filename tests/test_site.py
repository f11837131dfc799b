"""The listeners' site in a real browser: the example show published, served by
`storycast preview`'s server, opened in Debian's Chromium and judged by axe-core, by
keyboard, with JavaScript on and off; and the pages' bad input.

One Chromium for the module; the example show is published once (from the example run's
caches, so nothing is transcribed again) and served over HTTP so the media load.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import podcastparser
import pytest
from playwright.sync_api import Browser, Page

from pipeline.project.showfile import load_show
from pipeline.project.yamlfile import Problems
from pipeline.records import Chapter, Credit, Cue, Episode, PublishedFile, base_role
from pipeline.site.build import PageFile, episode_pages
from pipeline.store.preview import make_server

from conftest import Run, copy_with_caches, storycast
from kit.browser import assert_accessible, chromium, focus_is_visible
from kit.longtalk import long_talk
from kit.serving import serving

SHOW = "riverside-voices"
EASY = "Two young people talk about their first flat. It can be quiet. Ask for help."


@dataclass
class Site:
    root: Path
    base: str  # http://127.0.0.1:PORT/

    @property
    def public(self) -> Path:
        return self.root / "public"

    def url(self, key: str) -> str:
        return self.base + key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _video_page(site: Site) -> str:
    """A video episode's page, built from records as the page stage builds it, beside a
    small real MP4 (ffmpeg) and the first episode's published WebVTT."""
    media = site.public / "media" / SHOW
    mp4 = media / "clip-0123456789abcdef.mp4"
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=6",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
            "-movflags", "+faststart", str(mp4),
        ],
        check=True,
    )  # fmt: skip
    vtt = next(media.glob("first-flat-*.vtt"))
    show = load_show(site.root / "feeds" / f"{SHOW}.yaml", Problems())
    assert show is not None
    episode = Episode(
        folder=site.root / "episodes" / "video-night",
        slug="video-night",
        show=SHOW,
        title="Video night",
        description="The open mic, filmed.",
        number=3,
        season=None,
        published=datetime(2026, 11, 20, tzinfo=UTC),
        edl=site.root / "episodes" / "video-night" / "edl.yaml",
        medium="video",
    )
    files = {
        role: PublishedFile(role, f"media/{SHOW}/{p.name}", site.url(f"media/{SHOW}/{p.name}"),
                            p.stat().st_size, ctype)
        for role, p, ctype in (("video", mp4, "video/mp4"), ("captions-vtt", vtt, "text/vtt"))
    }  # fmt: skip
    cues = [Cue(0.5, 2.5, "Welcome to the open mic."), Cue(3.0, 5.5, "Here is our first poem.")]
    words = [(0.5, 0.8, "Welcome"), (0.8, 0.9, "to"), (0.9, 1.1, "the"), (1.1, 1.5, "open"),
             (1.5, 2.0, "mic."), (3.0, 3.2, "Here"), (3.2, 3.3, "is"), (3.3, 3.5, "our"),
             (3.5, 3.9, "first"), (3.9, 4.4, "poem.")]  # fmt: skip
    pages = episode_pages(
        show,
        episode,
        duration=6.0,
        files=files,
        credits=[Credit("Alex Okafor", "guest")],
        chapters=[Chapter(0, "Welcome"), Chapter(3.0, "The first poem")],
        cues=cues,
        words=words,
    )
    _write(site, pages)
    return show.page_key("video-night")


def _write(site: Site, pages: list[PageFile]) -> str:
    """The pages and words' times written where the store would publish them; the first
    page's address."""
    for made in pages:
        path = site.public / made.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(made.data)
    return site.url(pages[0].key)


@pytest.fixture(scope="module")
def site(example_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = copy_with_caches(example_run, tmp_path_factory.mktemp("site"))
    port = _free_port()
    show_file = root / "feeds" / f"{SHOW}.yaml"
    show_file.write_text(
        show_file.read_text().replace(
            "base_url: http://127.0.0.1:8000", f"base_url: http://127.0.0.1:{port}"
        )
    )
    ep = root / "episodes" / "first-flat" / "episode.yaml"
    ep.write_text(
        ep.read_text() + f"summary_easy_read: {EASY}\ncontent_notes: [living alone, loneliness]\n"
    )
    run = storycast(root, "publish")
    assert run.returncode == 0, run.stderr[-3000:] + run.stdout[-3000:]
    site = Site(root, f"http://127.0.0.1:{port}/")
    with serving(make_server(site.public, "127.0.0.1", port)):
        yield site


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def video_key(site: Site) -> str:
    return _video_page(site)


def _open(browser: Browser, url: str, **context: object) -> Page:
    page = browser.new_context(**context).new_page()  # type: ignore[arg-type]
    outside: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(url.split("/media/")[0]) else outside.append(r.url),
    )
    page.goto(url)
    page.wait_for_load_state("load")
    page.outside = outside  # type: ignore[attr-defined]
    return page


def _near(page: Page, t: float) -> None:
    """Wait until the player is within 0.3 s of ``t``."""
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('player').currentTime - {t}) < 0.3"
    )


def _ready(page: Page) -> None:
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15000)
    page.wait_for_function(  # and the words' times fetched, when the page has them
        """() => { const l = document.querySelector('.transcript[data-words]');
                   return !l || l.dataset.wordsState === 'ready'; }""",
        timeout=15000,
    )


# --- axe-core, phone width, no third party ----------------------------------------------


def test_pages_have_no_axe_violations_and_fit_a_phone(
    site: Site, browser: Browser, video_key: str
) -> None:
    views = {
        "show page": site.url(f"media/{SHOW}/index.html"),
        "audio episode page": site.url(f"media/{SHOW}/episodes/first-flat.html"),
        "second audio episode page": site.url(f"media/{SHOW}/episodes/open-mic.html"),
        "video episode page": site.url(video_key),
    }
    for view, url in views.items():
        for width in (1280, 320):  # 320 CSS px: a small phone, or 640 px at 200% zoom
            page = _open(browser, url, viewport={"width": width, "height": 800})
            assert_accessible(page, f"{view} at {width} px")
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{view} scrolls sideways at {width} px ({scroll} px wide)"
            assert page.outside == [], f"{view} asked another site for {page.outside}"  # type: ignore[attr-defined]
            assert page.context.cookies() == []
            page.context.close()
        size = len(urllib.request.urlopen(url).read())
        print(f"{view}: {size} bytes of HTML")
        assert size < 100_000


def test_easy_read_comes_first_and_notes_and_credits_are_shown(
    site: Site, browser: Browser
) -> None:
    page = _open(browser, site.url(f"media/{SHOW}/episodes/first-flat.html"))
    headings = page.locator("main h2").all_inner_texts()
    assert headings[0] == "In short (easy read)"
    assert page.locator(".easy p").inner_text() == EASY
    assert page.locator(".notes li").all_inner_texts() == ["living alone", "loneliness"]
    credits = page.locator("#credits + ul li").all_inner_texts()
    # exactly as each person asked: Jordan by name, Sam by pseudonym, Casey not at all
    assert credits == ["Jordan: host", "Sam R.: guest"]
    assert "Casey" not in page.content()
    assert "licenses/by-nc-nd/4.0" in page.locator("a[rel=license]").get_attribute("href")
    page.context.close()


# --- keyboard ------------------------------------------------------------------------


def test_keyboard_reaches_play_every_chapter_cue_and_download_with_visible_focus(
    site: Site, browser: Browser
) -> None:
    page = _open(browser, site.url(f"media/{SHOW}/episodes/first-flat.html"))
    chapters = page.locator(".chapters a").count()
    cues = page.locator(".cue .at").count()
    downloads = page.locator(".downloads a").count()
    assert chapters == 3 and cues > 5 and downloads >= 5
    page.evaluate(
        """() => document.querySelectorAll('.chapters a, .cue .at, .downloads a, #player')
            .forEach((el, i) => el.dataset.walk = i)"""
    )
    reached: set[str] = set()
    invisible: list[str] = []
    for _ in range(200):
        page.keyboard.press("Tab")
        walk = page.evaluate("document.activeElement && document.activeElement.dataset.walk")
        tag = page.evaluate("document.activeElement.tagName")
        if walk is None and tag == "BODY":
            break
        if walk is not None:
            if walk in reached and tag != "AUDIO":  # the player's controls are several stops
                break
            reached.add(walk)
            if tag != "AUDIO" and not focus_is_visible(page):  # the player's own controls
                invisible.append(page.evaluate("document.activeElement.outerHTML")[:80])
    total = page.locator("[data-walk]").count()
    assert len(reached) == total, f"reached {len(reached)} of {total} by Tab"
    assert invisible == []
    page.context.close()


# --- the transcript follows the player ---------------------------------------------------


def test_clicking_a_word_seeks_there_and_the_spoken_cue_is_highlighted(
    site: Site, browser: Browser
) -> None:
    page = _open(browser, site.url(f"media/{SHOW}/episodes/first-flat.html"))
    _ready(page)
    words = page.locator(".cue .words span")
    assert words.count() > 20
    # the highlighted copy is hidden from screen readers; the plain copy is what they read
    assert page.locator(".cue .words").first.get_attribute("aria-hidden") == "true"
    assert page.locator(".cue .text").first.evaluate("e => e.className").endswith("sr")
    word = words.nth(17)
    t = float(word.get_attribute("data-t") or "nan")
    word.click()
    _near(page, t)
    got = page.evaluate("document.getElementById('player').currentTime")
    assert abs(got - t) < 0.3
    # the cue holding that word is the one marked, and shown beside the player
    page.evaluate("document.getElementById('player').pause()")
    on = page.locator(".cue.on")
    page.wait_for_function("() => document.querySelectorAll('.cue.on').length === 1")
    assert on.locator(".words span").filter(has_text=word.inner_text()).count() >= 1
    assert page.locator("#now").inner_text() == on.locator(".text").inner_text()
    # a chapter button seeks too
    page.locator(".chapters a").nth(2).click()
    ch = float(page.locator(".chapters a").nth(2).get_attribute("data-t") or "nan")
    _near(page, ch)
    page.context.close()


def test_video_has_captions_track_from_the_published_webvtt(
    site: Site, browser: Browser, video_key: str
) -> None:
    page = _open(browser, site.url(video_key))
    _ready(page)
    track = page.locator("video track")
    assert track.get_attribute("kind") == "captions"
    src = page.evaluate("document.querySelector('video track').src")
    body = urllib.request.urlopen(src).read().decode()
    assert body.startswith("WEBVTT")
    page.wait_for_function("() => document.querySelector('video').textTracks[0].cues.length > 0")
    page.context.close()


def test_reduced_motion_is_respected(site: Site, browser: Browser) -> None:
    page = _open(browser, site.url(f"media/{SHOW}/episodes/first-flat.html"))
    scroll = "() => getComputedStyle(document.documentElement).scrollBehavior"
    assert page.evaluate(scroll) == "smooth"
    page.emulate_media(reduced_motion="reduce")
    assert page.evaluate(scroll) == "auto"
    page.context.close()


# --- without JavaScript ------------------------------------------------------------------


def test_without_javascript_transcript_downloads_and_chapter_links_work(
    site: Site, browser: Browser
) -> None:
    page = _open(
        browser, site.url(f"media/{SHOW}/episodes/first-flat.html"), java_script_enabled=False
    )
    text = page.locator(".cue .text")
    assert text.count() > 5 and text.first.is_visible()
    assert page.locator(".cue .words").count() == 0  # only the plain transcript
    assert "Welcome to Riverside Voices." in page.locator(".transcript").inner_text()
    for a in page.locator(".chapters a").all():
        assert re.search(r"\.mp3#t=[0-9.]+$", a.get_attribute("href") or "")
        assert a.is_visible()
    hrefs = [a.get_attribute("href") or "" for a in page.locator(".downloads a").all()]
    assert any(h.endswith(".mp3") for h in hrefs) and any(h.endswith(".vtt") for h in hrefs)
    assert any(h.endswith(".srt") for h in hrefs)
    for h in hrefs:  # each one is there to download
        assert urllib.request.urlopen(page.url.rsplit("/", 1)[0] + "/" + h).status == 200
    assert page.locator(".now").is_hidden()  # the live cue needs JavaScript
    page.context.close()


# --- the feed links the pages ---------------------------------------------------------------


def test_feed_links_resolve_to_the_pages_served_by_preview(site: Site) -> None:
    url = site.url(f"feeds/{SHOW}.xml")
    with urllib.request.urlopen(url) as r:
        feed = podcastparser.parse(url, r)
    assert feed["link"] == site.url(f"media/{SHOW}/index.html")
    with urllib.request.urlopen(feed["link"]) as r:
        show_html = r.read().decode()
        assert r.headers["Content-Type"].startswith("text/html")
    for ep in feed["episodes"]:
        assert ep["link"].startswith(site.base + f"media/{SHOW}/episodes/")
        with urllib.request.urlopen(ep["link"]) as r:
            html = r.read().decode()
        assert f">{ep['title']}</h1>" in html
        assert ep["link"].rsplit("/", 1)[1] in show_html  # listed on the show page


# --- a takedown takes the page down ---------------------------------------------------------


def test_withdrawal_removes_the_episode_page_and_the_show_page_stops_listing_it(
    example_run: Run, tmp_path: Path
) -> None:
    root = copy_with_caches(example_run, tmp_path)
    assert storycast(root, "publish").returncode == 0
    media = root / "public" / "media" / SHOW
    assert (media / "episodes" / "open-mic.html").is_file()
    assert "episodes/open-mic.html" in (media / "index.html").read_text()

    withdraw = storycast(root, "withdraw", "alex", "--requested-by", "Alex")
    assert withdraw.returncode == 0, withdraw.stderr
    again = storycast(root, "publish")
    assert "TAKEN DOWN" in again.stdout, again.stdout + again.stderr
    assert not (media / "episodes" / "open-mic.html").exists()
    index = (media / "index.html").read_text()
    assert "open-mic" not in index and "Open mic night" not in index
    assert "episodes/first-flat.html" in index
    audit = storycast(root, "audit")
    assert audit.returncode == 0, audit.stdout


def _publish(root: Path, budget: int) -> subprocess.CompletedProcess[str]:
    """`storycast publish` with a page budget this small (defaults.PAGE_BUDGET_BYTES), so
    the example show's short episodes go in parts as a two-hour one would."""
    code = (
        "import sys; from pipeline import defaults; "
        "defaults.PAGE_BUDGET_BYTES = int(sys.argv[1]); "
        "from pipeline.cli import main; raise SystemExit(main(sys.argv[2:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(budget), "--root", str(root), "publish"],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_takedown_removes_every_part_and_the_audit_finds_one_left(
    example_run: Run, tmp_path: Path
) -> None:
    root = copy_with_caches(example_run, tmp_path)
    run = _publish(root, 11_800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    media = root / "public" / "media" / SHOW
    parts = sorted((media / "episodes").glob("open-mic.part-*.html"))
    assert parts, sorted(p.name for p in (media / "episodes").iterdir())
    pages = [media / "episodes" / "open-mic.html", *parts]
    assert all(p.stat().st_size < 11_800 for p in pages), [p.stat().st_size for p in pages]
    words = sorted(media.glob("open-mic-*.words.json"))
    assert len(words) == len(pages)
    manifest = json.loads((root / "public" / "manifests" / f"{SHOW}.json").read_text())
    recorded = {f["key"] for f in manifest["episodes"]["open-mic"]["files"].values()}
    assert {f"media/{SHOW}/{p.relative_to(media).as_posix()}" for p in pages + words} <= recorded
    audit = storycast(root, "audit")
    assert audit.returncode == 0, audit.stdout  # every part accounted for
    kept = parts[-1].read_bytes()

    withdraw = storycast(root, "withdraw", "alex", "--requested-by", "Alex")
    assert withdraw.returncode == 0, withdraw.stderr
    again = _publish(root, 11_800)
    assert "TAKEN DOWN" in again.stdout, again.stdout + again.stderr
    assert not list((media / "episodes").glob("open-mic*")), "a part of the page was left"
    assert not list(media.glob("open-mic-*.words.json"))
    assert "open-mic" not in (media / "index.html").read_text()
    assert (media / "episodes" / "first-flat.html").is_file()
    assert storycast(root, "audit").returncode == 0

    parts[-1].write_bytes(kept)  # a part put back by hand is found
    audit = storycast(root, "audit")
    assert audit.returncode != 0
    part_key = f"media/{SHOW}/episodes/{parts[-1].name}"
    said = [line for line in audit.stdout.splitlines() if part_key in line]
    assert any("looks like a copy of open-mic" in line for line in said), audit.stdout


# --- bad input ------------------------------------------------------------------------------


def _episode(site: Site, **changes: object) -> tuple[object, Episode]:
    show = load_show(site.root / "feeds" / f"{SHOW}.yaml", Problems())
    assert show is not None
    ep = Episode(
        folder=site.root / "episodes" / "odd",
        slug="odd",
        show=SHOW,
        title="Odd",
        description="",
        number=None,
        season=None,
        published=datetime(2026, 11, 2, tzinfo=UTC),
        edl=site.root / "episodes" / "odd" / "edl.yaml",
    )
    return show, replace(ep, **changes)  # type: ignore[arg-type]


def _audio_files(site: Site) -> dict[str, PublishedFile]:
    mp3 = next((site.public / "media" / SHOW).glob("first-flat-*.mp3"))
    key = f"media/{SHOW}/{mp3.name}"
    return {"audio": PublishedFile("audio", key, site.url(key), mp3.stat().st_size, "audio/mpeg")}


def test_markup_rtl_and_emoji_are_escaped_and_shown_as_written(
    site: Site, browser: Browser
) -> None:
    title = '<img src=x onerror="window.hit=1">بيتي الأول 🏠 & "home"'
    name = "<b>Zaïd</b> زيد 🎤"
    show, ep = _episode(
        site, slug="odd-text", title=title, description="<script>window.hit=2</script> نص"
    )
    pages = episode_pages(
        show,  # type: ignore[arg-type]
        ep,
        duration=30,
        files=_audio_files(site),
        credits=[Credit(name, "host")],
        chapters=[Chapter(0, "<i>Start</i> البداية")],
        cues=[Cue(0.0, 2.0, "<u>Hello</u> مرحبا 👋", speaker=name)],
    )
    html = pages[0].data.decode()
    assert "<img src=x" not in html and "<script>window" not in html
    page = _open(browser, _write(site, pages))
    assert page.locator("h1").inner_text() == title
    assert page.locator("h1").get_attribute("dir") == "auto"
    assert page.evaluate("window.hit") is None
    assert page.locator("#credits + ul li span").inner_text() == name
    assert page.locator(".cue .who").inner_text() == name + ":"
    assert "<u>Hello</u> مرحبا 👋" in page.locator(".cue").inner_text()
    assert_accessible(page, "page with markup, RTL text and emoji")
    page.context.close()


def test_an_episode_without_a_transcript_says_captions_are_coming(
    site: Site, browser: Browser
) -> None:
    show, ep = _episode(site, slug="odd-none", title="Not transcribed yet")
    pages = episode_pages(show, ep, duration=30, files=_audio_files(site))  # type: ignore[arg-type]
    assert [p.role for p in pages] == ["page"]  # no words' times to fetch
    page = _open(browser, _write(site, pages))
    assert "captions and a transcript for this episode are coming" in page.content().lower()
    assert page.locator(".transcript").count() == 0  # never an empty box
    assert page.locator(".now").count() == 0
    assert_accessible(page, "page without a transcript")
    page.context.close()


def test_a_two_hour_episode_is_in_parts_each_under_the_page_budget(
    site: Site, browser: Browser
) -> None:
    """A two-hour episode's pages, built from records: every page (and every words' times
    file) under 100 KB, the transcript whole and in order across the parts, each part
    reached by keyboard from the others, axe-clean, and a word late in the episode seeks."""
    show, ep = _episode(site, slug="odd-long", title="Two hours")
    cues, words, chapters = long_talk(7200)
    mp3 = site.public / "media" / SHOW / "long-0123456789abcdef.mp3"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "anullsrc=r=8000:cl=mono", "-t", "7200", "-b:a", "8k", str(mp3)],
        check=True,
    )  # fmt: skip
    key = f"media/{SHOW}/{mp3.name}"
    files = {"audio": PublishedFile("audio", key, site.url(key), mp3.stat().st_size, "audio/mpeg")}
    started = time.perf_counter()
    pages = episode_pages(
        show,  # type: ignore[arg-type]
        ep,
        duration=7200,
        files=files,
        chapters=chapters,
        cues=cues,
        words=words,
    )
    built = time.perf_counter() - started
    html = [p for p in pages if base_role(p.role) == "page"]
    assert len(html) >= 2, [len(p.data) for p in pages]
    assert [p.key for p in html] == [
        show.page_key("odd-long", n)  # type: ignore[attr-defined]
        for n in range(1, len(html) + 1)
    ]
    sizes = {p.key: len(p.data) for p in pages}
    assert all(size < 100_000 for size in sizes.values()), sizes
    url = _write(site, pages)

    read: list[str] = []
    timings = []
    for n, part in enumerate(html, 1):
        page = _open(browser, site.url(part.key))
        timings.append(
            page.evaluate("performance.getEntriesByType('navigation')[0].domInteractive")
        )
        _ready(page)
        heading = page.locator("#transcript").inner_text()
        assert heading == f"Transcript, part {n} of {len(html)}"
        links = page.locator(".parts a")
        assert links.count() == len(html)
        assert links.nth(n - 1).get_attribute("aria-current") == "page"
        read += page.locator(".cue .text").all_text_contents()
        assert page.outside == []  # type: ignore[attr-defined]  # the words came from here
        if n in (1, 2, len(html)):  # the first, a middle and the last: axe takes a while
            assert_accessible(page, f"two-hour episode, transcript part {n} of {len(html)}")
        page.context.close()
    assert read == [" ".join(c.text.split()) for c in cues]  # whole, in order, once

    # by keyboard from the first page to the second: Tab to its link, Enter
    page = _open(browser, url)
    second = site.url(html[1].key)
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.href") == second:
            break
    else:
        raise AssertionError("Tab never reached the link to part 2")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_url(second)
    assert page.locator("h2#transcript").inner_text() == f"Transcript, part 2 of {len(html)}"
    page.context.close()

    # the last part: a click on a word late in the episode seeks there
    page = _open(browser, site.url(html[-1].key))
    _ready(page)
    started = time.perf_counter()
    word = page.locator(".cue").nth(-2).locator(".words span").nth(3)
    t = float(word.get_attribute("data-t") or "nan")
    assert t > 7000
    word.click()
    _near(page, t)
    seek = time.perf_counter() - started
    page.context.close()
    print(
        f"two-hour transcript: {len(cues)} cues, {len(words)} words in {len(html)} parts; "
        f"bytes {sorted(sizes.values())}; built in {built:.2f} s; DOM interactive "
        f"{[round(t) for t in timings]} ms; a late word seeked in {seek:.2f} s"
    )


def _show_file(site: Site, tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    shutil.copyfile(site.root / "feeds" / f"{SHOW}.jpg", feeds / f"{SHOW}.jpg")
    text = (site.root / "feeds" / f"{SHOW}.yaml").read_text()
    assert old in text
    text = text.replace(old, new)
    path = feeds / f"{SHOW}.yaml"
    path.write_text(text)
    field = (new or "artwork:").split(":")[0] + ":"
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith(field))
    return path, line


def test_artwork_without_alt_text_is_refused_at_its_line(site: Site, tmp_path: Path) -> None:
    text = (site.root / "feeds" / f"{SHOW}.yaml").read_text()
    alt = next(s for s in text.splitlines() if s.startswith("artwork_alt:"))
    path, line = _show_file(site, tmp_path, alt + "\n", "")  # line: the artwork's
    problems = Problems()
    assert load_show(path, problems) is None or problems
    said = [str(p) for p in problems.items]
    assert any(
        s.startswith(f"{path}:{line}: artwork_alt:") and "images need alt text" in s for s in said
    ), said


def test_an_unknown_license_names_the_known_ones_or_asks_for_a_url(
    site: Site, tmp_path: Path
) -> None:
    path, line = _show_file(site, tmp_path, "license: CC-BY-NC-ND-4.0", "license: Free-ish")
    problems = Problems()
    load_show(path, problems)
    said = [str(p) for p in problems.items]
    assert len(said) == 1, said
    assert said[0].startswith(f"{path}:{line}: license: `Free-ish` is not a license")
    assert "CC-BY-4.0" in said[0] and "CC0-1.0" in said[0] and "url:" in said[0]
