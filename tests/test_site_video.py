"""A published video episode's page in a real browser: a short phone video published by
`storycast publish` (speech from espeak-ng, pictures from ffmpeg, transcribed by
faster-whisper), served by `storycast preview`'s server, and its page opened in Debian's
Chromium: the published MP4 in a `<video>` with its poster, the published WebVTT as its
captions track, operable by keyboard, and axe-clean at WCAG 2.2 AA.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import podcastparser
import pytest
from playwright.sync_api import Browser, Page

from pipeline.store.preview import make_server

from conftest import ROOT, storycast
from kit.browser import assert_accessible, chromium, focus_is_visible
from kit.media import phone_mp4, say
from kit.serving import serving

SHOW = "riverside-voices"
PEOPLE = """people:
  - id: ria
    credit: name
    name: Ria
    roles: [guest]
    consent:
      voice: 2026-08-01
      face: 2026-08-01
"""
EDL = """clips:
  - source: clip.mp4
    in: 0
    out: 5.5
chapters:
  - at: 0
    title: Welcome
  - at: 2.5
    title: The music
"""


@dataclass
class Published:
    root: Path
    base: str  # http://127.0.0.1:PORT/
    page: str  # the episode page's address, from the feed

    def url(self, key: str) -> str:
        return self.base + key

    def file(self, url: str) -> Path:
        return self.root / "public" / url.removeprefix(self.base)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    root = tmp_path_factory.mktemp("site-video")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    (root / "feeds").mkdir()
    show = (ROOT / "feeds" / f"{SHOW}.yaml").read_text()
    assert "base_url: http://127.0.0.1:8000" in show
    show = show.replace("base_url: http://127.0.0.1:8000", f"base_url: http://127.0.0.1:{port}")
    (root / "feeds" / f"{SHOW}.yaml").write_text(show + "approval: optional\n")
    (root / "feeds" / f"{SHOW}.jpg").write_bytes((ROOT / "feeds" / f"{SHOW}.jpg").read_bytes())
    folder = root / "episodes" / "stage"
    (folder / "recordings").mkdir(parents=True)
    (root / "episodes" / "people.yaml").write_text(PEOPLE)
    wav = say(
        [("en-gb", "Welcome to the festival stage."), ("en-us", "The music starts very soon.")],
        root / "stage.wav",
        gap=0.5,
    )
    phone_mp4(wav, folder / "recordings" / "clip.mp4")
    wav.unlink()
    (folder / "episode.yaml").write_text(
        f"show: {SHOW}\ntitle: Festival stage\ndescription: The stage, filmed.\n"
        "published: 2026-08-20\nmedium: video\nappearances:\n  clip.mp4: [ria]\n"
    )
    (folder / "edl.yaml").write_text(EDL)
    run = storycast(root, "publish")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    base = f"http://127.0.0.1:{port}/"
    with serving(make_server(root / "public", "127.0.0.1", port)):
        feed_url = base + f"feeds/{SHOW}.xml"
        with urllib.request.urlopen(feed_url) as r:
            feed = podcastparser.parse(feed_url, r)
        (episode,) = feed["episodes"]
        yield Published(root, base, episode["link"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _open(browser: Browser, url: str, base: str, **context: object) -> Page:
    page = browser.new_context(**context).new_page()  # type: ignore[arg-type]
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
    page.goto(url)
    page.wait_for_load_state("load")
    if context.get("java_script_enabled", True):
        page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.outside = outside  # type: ignore[attr-defined]
    return page


def test_the_page_plays_the_published_video_with_its_poster_and_captions_track(
    published: Published, browser: Browser
) -> None:
    assert published.page == published.url(f"media/{SHOW}/episodes/stage.html")
    page = _open(browser, published.page, published.base)
    video = page.locator("video#player")
    assert video.count() == 1 and page.locator("audio").count() == 0
    src = page.evaluate("document.getElementById('player').currentSrc")
    mp4 = published.file(src)
    assert mp4.suffix == ".mp4" and mp4.name.startswith("stage-") and mp4.is_file()
    # the poster: the published poster frame, served as a JPEG
    poster = page.evaluate("document.getElementById('player').poster")
    assert published.file(poster).name.startswith("stage-") and poster.endswith(".poster.jpg")
    with urllib.request.urlopen(poster) as r:
        assert r.headers["Content-Type"] == "image/jpeg"
        assert r.read() == published.file(poster).read_bytes()
    # the captions: the published WebVTT as the video's captions track, loaded by Chromium
    track = page.locator("video track")
    assert track.get_attribute("kind") == "captions"
    assert track.get_attribute("srclang") == "en"
    vtt = page.evaluate("document.querySelector('video track').src")
    assert published.file(vtt).suffix == ".vtt"
    body = published.file(vtt).read_text()
    assert body.startswith("WEBVTT")
    page.wait_for_function(
        "() => { const t = document.getElementById('player').textTracks[0];"
        " return t.mode === 'showing' && t.cues && t.cues.length > 0; }"
    )
    cues = page.evaluate(
        "[...document.getElementById('player').textTracks[0].cues].map(c => c.text)"
    )
    heard = " ".join(cues).lower()
    assert "festival" in heard and "music" in heard, cues
    for text in cues:  # each cue Chromium shows is one the WebVTT holds
        assert text in body
    # the transcript on the page is the captions' text
    transcript = " ".join(page.locator(".cue .text").all_text_contents())
    assert "festival" in transcript.lower()
    assert page.outside == []  # type: ignore[attr-defined]
    page.context.close()


def test_the_video_page_is_operable_by_keyboard(published: Published, browser: Browser) -> None:
    page = _open(browser, published.page, published.base)
    # Tab reaches the video; Space plays it
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "player":
            break
    else:
        raise AssertionError("Tab never reached the video")
    page.keyboard.press("Space")
    page.wait_for_function("() => !document.getElementById('player').paused")
    page.evaluate("document.getElementById('player').pause()")
    # Tab on to the second chapter; Enter seeks there
    target = page.locator(".chapters a").nth(1)
    t = float(target.get_attribute("data-t") or "nan")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").endswith("The music"):
            break
    else:
        raise AssertionError("Tab never reached the chapter")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('player').currentTime - {t}) < 0.3"
    )
    # and a transcript time, the last one, seeks there too
    last = page.locator(".cue .at").last
    t = float(last.get_attribute("data-t") or "nan")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.t") == last.get_attribute("data-t"):
            break
    else:
        raise AssertionError("Tab never reached the last transcript time")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('player').currentTime - {t}) < 0.3"
    )
    page.context.close()


def test_the_video_page_has_no_axe_violations(published: Published, browser: Browser) -> None:
    for width in (375, 1280):
        page = _open(
            browser, published.page, published.base, viewport={"width": width, "height": 800}
        )
        assert_accessible(page, f"published video episode page at {width} px")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.context.close()


def test_without_javascript_the_video_captions_and_transcript_are_there(
    published: Published, browser: Browser
) -> None:
    # (axe-core runs as a script, so it judges the page with JavaScript on, above)
    page = _open(browser, published.page, published.base, java_script_enabled=False)
    assert page.locator("video#player track[kind=captions]").count() == 1
    assert page.locator(".cue .text").first.is_visible()
    assert page.locator(".cue .words").count() == 0
    hrefs = [a.get_attribute("href") or "" for a in page.locator(".downloads a").all()]
    assert any(h.endswith(".mp4") for h in hrefs) and any(h.endswith(".vtt") for h in hrefs)
    for a in page.locator(".chapters a").all():  # chapters are links into the video
        assert ".mp4#t=" in (a.get_attribute("href") or "")
    page.context.close()
