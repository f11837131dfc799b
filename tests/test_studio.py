"""The contributors' studio, used as a contributor would: a real server on 127.0.0.1, Debian's
Chromium driven by the keyboard, axe-core on every view; then `storycast timeline --json`
and `storycast publish` show that exactly the page's decisions are what is published."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page

from pipeline.cli.studio import ProjectFiles
from pipeline.edl import yaml_edl
from pipeline.records import Word
from pipeline.studio import edits
from pipeline.studio.server import Studio, make_server

from conftest import Run, copy_with_caches, storycast
from kit.browser import assert_accessible, chromium, focus_is_visible
from kit.serving import serving

# The screenshots in docs/studio/ are refreshed with STORYCAST_SCREENSHOTS=docs/studio; a
# plain test run writes them to a temporary folder, leaving the working tree as it was.
SHOTS = Path(os.environ.get("STORYCAST_SCREENSHOTS") or tempfile.mkdtemp(prefix="studio-shots-"))


@dataclass
class Server:
    root: Path
    url: str
    studio: Studio
    project: ProjectFiles


def _tone(path: Path, seconds: float, freq: int) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
         "-i", f"sine=f={freq}:d={seconds}", "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip


def _add_episode(
    root: Path, slug: str, recording: str, who: str, seconds: float, freq: int
) -> Path:
    folder = root / "episodes" / slug
    (folder / "recordings").mkdir(parents=True)
    _tone(folder / "recordings" / recording, seconds, freq)
    (folder / "episode.yaml").write_text(
        f"show: riverside-voices\ntitle: {slug}\ndescription: A test episode.\n"
        f"published: 2026-11-20\nappearances:\n  {recording}: [{who}]\n",
        encoding="utf-8",
    )
    (folder / "edl.yaml").write_text(
        f"clips:\n  - source: {recording}\n    in: 0\n    out: {seconds - 0.5}\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def server(example_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = copy_with_caches(example_run, tmp_path_factory.mktemp("studio"))
    # no words written down yet: a new recording nobody has transcribed
    _add_episode(root, "no-words", "hello.m4a", "jordan", 2.5, 330)
    # a recording replaced after its words were written down (and approved)
    replaced = root / "episodes" / "replaced"
    shutil.copytree(root / "episodes" / "first-flat", replaced)
    (replaced / "episode.yaml").write_text(
        (replaced / "episode.yaml").read_text().replace("number: 1\n", ""), encoding="utf-8"
    )
    _tone(replaced / "recordings" / "interview.m4a", 30, 440)
    # a paper edit from Audacity: its label track is the EDL
    labels = root / "episodes" / "labels"
    shutil.copytree(root / "episodes" / "open-mic", labels, ignore=shutil.ignore_patterns("*.yaml"))
    (labels / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Labels\ndescription: From Audacity.\n"
        "published: 2026-11-21\nedl: labels.txt\n"
        "appearances:\n  phone-call.3gp: [sam]\n  poem.m4a: [alex]\n",
        encoding="utf-8",
    )
    (labels / "labels.txt").write_text(
        "0.000000\t9.300000\tphone-call.3gp\n0.000000\t9.500000\tpoem.m4a\n", encoding="utf-8"
    )
    # an episode with someone who withdrew: not shown at all
    people = root / "episodes" / "people.yaml"
    people.write_text(
        people.read_text()
        + "  - id: riley\n    credit: name\n    name: Riley\n    roles: [guest]\n"
        "    consent:\n      voice: 2026-10-01\n",
        encoding="utf-8",
    )
    _add_episode(root, "gone", "riley.m4a", "riley", 2.5, 550)
    done = storycast(root, "withdraw", "riley", "--requested-by", "Riley")
    assert done.returncode == 0, done.stderr
    project = ProjectFiles(root)
    studio = Studio(project, port=0)
    with serving(make_server(studio)):
        yield Server(root, f"http://127.0.0.1:{studio.port}", studio, project)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _request(
    url: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _save(server: Server, slug: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    status, body = _request(
        f"{server.url}/ep/{slug}/save",
        json.dumps(data).encode(),
        {"Content-Type": "application/json", "X-Studio-Token": server.studio.token},
    )
    return status, json.loads(body)


def _timeline(server: Server, slug: str) -> dict[str, Any]:
    run = storycast(server.root, "timeline", slug, "--json")
    assert run.returncode == 0, run.stderr
    data: dict[str, Any] = json.loads(run.stdout)
    return data


def _words(server: Server, slug: str, source: str) -> tuple[Word, ...]:
    job = server.project.open(slug)
    assert job is not None
    transcript = server.project.transcripts(job)[source].transcript
    assert transcript is not None
    return transcript.words


JARGON = re.compile(r"\b(EDL|clips?|render\w*|redact\w*|transcri\w*|soundbite)\b", re.I)


def _shot(page: Page, name: str) -> None:
    """A screenshot of the view (for docs/studio/), once its words are checked for jargon."""
    jargon = JARGON.findall(page.inner_text("body"))
    assert not jargon, f"{name}: words a contributor may not know: {jargon}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _word(page: Page, text: str, nth: int = 0) -> Any:
    exact = re.compile(rf"^\s*(cut\s+)?{re.escape(text)}\s*$")
    return page.locator("#kept .w").filter(has_text=exact).nth(nth)


def _mode(page: Page, value: str) -> None:
    """Choose what pressing a word does, with the keyboard: arrows in the radio group."""
    page.focus('input[name="mode"]:checked')
    order = ["listen", "cut", "chapter", "hide", "bite", "spell"]
    now = page.eval_on_selector('input[name="mode"]:checked', "e => e.value")
    for _ in range((order.index(value) - order.index(now)) % len(order)):
        page.keyboard.press("ArrowDown")
    assert page.eval_on_selector('input[name="mode"]:checked', "e => e.value") == value


def _until(page: Page, script: str, timeout: int = 10000) -> None:
    """Wait until ``script`` is true in the page (polled from here: the studio's own
    Content-Security-Policy forbids the in-page eval that wait_for_function uses)."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"never true: {script}"
        page.wait_for_timeout(100)


def _mid(a: Word, b: Word) -> float:
    return round((a.end + b.start) / 2, 3)


def test_an_edit_made_by_keyboard_is_exactly_what_is_published(
    server: Server, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(server.url + "/")
    assert_accessible(page, "episode list")
    assert page.locator("a[href='/ep/first-flat']").count() == 1
    assert page.locator("a[href='/ep/gone']").count() == 0  # Riley withdrew
    _shot(page, "episodes")

    page.goto(server.url + "/ep/first-flat")
    assert_accessible(page, "edit page")
    # speakers as they asked to be credited: Sam by pseudonym, Casey not named
    assert "Jordan and Sam R." in page.locator("#kept .part").first.inner_text()
    assert "casey (not named in the episode)" in page.locator("#kept .part").nth(2).inner_text()
    _shot(page, "read-and-choose")

    # listen from a word
    _word(page, "Today").focus()
    page.keyboard.press("Enter")
    _until(page, "document.getElementById('player').currentTime > 1.5", 15000)
    assert "from 0:0" in page.locator("#playing").inner_text()

    # cut one word, and a whole sentence, by keyboard
    _mode(page, "cut")
    _word(page, "Today").focus()
    page.keyboard.press("Enter")
    today = _word(page, "Today")
    assert "cut" in today.get_attribute("class")
    assert (today.text_content() or "").startswith("cut")  # labelled, not colour only
    assert today.evaluate("e => getComputedStyle(e).textDecorationLine") == "line-through"
    sentence = page.locator("#kept .sentence", has_text="Honestly,")
    sentence.locator(".cut-sentence").focus()
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    assert sentence.locator(".cut-sentence").inner_text() == "Keep sentence"

    # reorder: the first part of the advice moves up, before the question and answer
    advice = page.locator("#kept .part").nth(2)
    advice.locator(".move-up").focus()
    page.keyboard.press("Enter")
    assert "My advice" in page.locator("#kept .part").nth(1).inner_text()

    # hide a word (bleep) with its replacement text
    _mode(page, "hide")
    _word(page, "Sundays.").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # first and last word: the same one
    page.fill("#hide-with", "[day removed]")
    page.fill("#hide-said", "Sundays")
    page.focus("#hide-add")
    page.keyboard.press("Enter")
    assert page.locator("#kept .hidden-part", has_text="[day removed]").count() == 1
    assert not _word(page, "Sundays.").is_visible()  # shown only as its replacement

    # a chapter at a word
    _mode(page, "chapter")
    _word(page, "Your").focus()
    page.keyboard.press("Enter")
    page.keyboard.type("Your adviser")
    page.focus("#chapter-add")
    page.keyboard.press("Enter")
    assert "Your adviser" in page.locator("#chapters").inner_text()

    # the short preview (soundbite): from its first word to its last
    _mode(page, "bite")
    _word(page, "What").focus()
    page.keyboard.press("Enter")
    _word(page, "place?").focus()
    page.keyboard.press("Enter")
    page.keyboard.type("The hardest part")
    page.focus("#bite-add")
    page.keyboard.press("Enter")
    assert "The hardest part" in page.locator("#bite").inner_text()
    assert_accessible(page, "edit page, edited")

    page.focus("#save")
    page.keyboard.press("Enter")
    _until(page, "document.getElementById('saved').textContent.startsWith('Saved')")
    _shot(page, "edited")

    # what was saved is an ordinary EDL, with each clip's words quoted
    text = (server.root / "episodes" / "first-flat" / "edl.yaml").read_text()
    assert '# "Welcome to Riverside Voices."' in text
    assert "[day removed]" in text

    words = _words(server, "first-flat", "interview.m4a")
    by = {w.text.strip(): w for w in words}
    w_voices, w_today = by["Voices."], by["Today"]
    w_we = words[words.index(w_today) + 1]
    w_huge, w_honestly = by["huge."], by["Honestly,"]
    w_silence = by["silence."]
    w_after = words[words.index(w_silence) + 1]
    w_sundays = by["Sundays."]
    assert w_huge.start > w_silence.end
    expected = [
        ("interview.m4a", 0.0, _mid(w_voices, w_today)),
        ("interview.m4a", _mid(w_today, w_we), 5.4),
        ("advice.opus", 0.0, 4.9),
        ("interview.m4a", 11.2, _mid(words[words.index(w_honestly) - 1], w_honestly)),
        ("interview.m4a", _mid(w_silence, w_after), 26.8),
        ("advice.opus", 9.0, 13.0),
    ]
    tl = _timeline(server, "first-flat")
    assert [(c["source"], c["in"], c["out"]) for c in tl["clips"]] == expected
    assert tl["clips"][0]["fade_in"] == 0.2 and tl["clips"][-1]["fade_out"] == 1.5
    assert [
        (r["source"], r["start"], r["end"], r["mode"], r["replacement"]) for r in tl["redactions"]
    ] == [("interview.m4a", w_sundays.start, w_sundays.end, "bleep", "[day removed]")]
    titles = [c["title"] for c in tl["chapters"]]
    assert titles == ["Welcome", "Advice", "Moving in", "Your adviser"]
    lengths = [c["out"] - c["in"] for c in tl["clips"]]
    advice_at = sum(lengths[:2])
    adviser_at = (
        sum(lengths[:5])
        + (by_advice := _words(server, "first-flat", "advice.opus"))[
            [w.text.strip() for w in by_advice].index("Your")
        ].start
        - 9.0
    )
    starts = {c["title"]: c["start"] for c in tl["chapters"]}
    bite = yaml_edl.read(server.root / "episodes" / "first-flat" / "edl.yaml").soundbite
    w_what, w_place = by["What"], by["place?"]
    assert bite is not None and bite.title == "The hardest part"
    assert bite.start == pytest.approx(sum(lengths[:3]) + w_what.start - 11.2, abs=0.002)
    assert bite.duration == pytest.approx(w_place.end - w_what.start, abs=0.002)
    assert starts["Advice"] == pytest.approx(advice_at, abs=0.002)
    assert starts["Your adviser"] == pytest.approx(adviser_at, abs=0.002)

    # what you'll hear: the same render a publish makes, with its captions and facts
    page.goto(server.url + "/ep/first-flat/hear")
    assert_accessible(page, "what you'll hear")
    assert page.locator("#credits").inner_text() == "Jordan, Sam R."
    assert "[day removed]" in page.locator("#cues").inner_text()
    assert "Sundays" not in page.locator("#cues").inner_text()
    assert "Your adviser" in page.locator("#chapter-list").inner_text()
    # the quick version plays while it is made; then the finished one, exactly as published
    assert "quick version" in page.locator("#version-note").inner_text()
    page.focus("#preview")
    page.evaluate("document.getElementById('preview').play()")
    _until(page, "document.getElementById('preview').currentTime > 0.5", 15000)
    page.locator("#use-finished").wait_for(timeout=300_000)
    page.focus("#use-finished")
    page.keyboard.press("Enter")
    _until(page, "document.getElementById('preview').currentTime > 0.5", 15000)
    assert "exactly what will be put out" in page.locator("#version-note").inner_text()
    heard = page.evaluate("document.getElementById('preview').duration")
    assert heard == pytest.approx(tl["duration"], abs=0.1)
    assert_accessible(page, "what you'll hear, finished")
    _shot(page, "what-youll-hear")

    # agree, as two of the three people in it
    page.goto(server.url + "/ep/first-flat/approve")
    assert_accessible(page, "agree page")
    assert "Changed since Jordan, Sam R. agreed" in page.inner_text("main")
    for name in ("Jordan", "Sam R."):
        page.locator("button", has_text=f"I am {name} and I agree").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
    people = page.locator("#people").inner_text()
    assert "Jordan: agreed" in people and "Sam R.: agreed" in people
    assert "casey (not named in the episode): not yet" in people
    assert_accessible(page, "agree page, agreed")
    _shot(page, "agree")
    pinned = yaml.safe_load((server.root / "episodes" / "first-flat" / "approval.yaml").read_text())
    assert pinned["approved_by"] == ["Jordan", "Sam R."]
    assert pinned["edl_sha256"] == tl["edl_sha256"]

    # at 320 px wide nothing needs scrolling sideways
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto(server.url + "/ep/first-flat")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert_accessible(page, "edit page at 320 px")
    page.close()

    published = storycast(server.root, "publish")
    assert "published  first-flat" in published.stdout, published.stdout + published.stderr
    vtt = next((server.root / "public").rglob("first-flat*.vtt")).read_text()
    assert "[day removed]" in vtt and "Sundays" not in vtt
    assert "Honestly" not in vtt and "Today" not in vtt
    chapters = json.loads(
        next((server.root / "public").rglob("first-flat*.chapters.json")).read_text()
    )
    assert [c["title"] for c in chapters["chapters"]] == titles


def test_bad_requests_are_refused(server: Server) -> None:
    # no token: 403, nothing written
    edl = server.root / "episodes" / "open-mic" / "edl.yaml"
    before = edl.read_bytes()
    status, body = _request(
        f"{server.url}/ep/open-mic/save", b"{}", {"Content-Type": "application/json"}
    )
    assert status == 403 and "did not carry the page's key" in body
    status, body = _request(f"{server.url}/ep/open-mic/approve", b"person=sam&sha=x&token=wrong")
    assert status == 403
    # paths outside the episode: recordings and episodes by name only
    for path in ("/ep/open-mic/listen/..%2F..%2Fpeople.yaml?at=0",
                 "/ep/open-mic/listen/%2Fetc%2Fpasswd?at=0",
                 "/ep/..%2F..%2Ffeeds/", "/static/..%2F..%2Fcli%2Fstudio.py"):  # fmt: skip
        status, body = _request(server.url + path)
        assert status in (403, 404), path
        assert "root:" not in body and "people:" not in body
    data = edits.page_data(_open_timeline(server, "open-mic"))
    data["parts"][0]["source"] = "../../people.yaml"
    status, said = _save(server, "open-mic", data)
    assert status == 422 and "not one of this episode's recordings" in said["error"]
    # another site's page cannot reach the studio through a look-alike name
    status, _ = _request(server.url + "/", headers={"Host": "evil.example:80"})
    assert status == 421
    assert edl.read_bytes() == before


def _open_timeline(server: Server, slug: str) -> Any:
    job = server.project.open(slug)
    assert job is not None and job.timeline is not None
    return job.timeline


def test_an_empty_episode_and_a_cut_inside_hidden_words_are_refused(server: Server) -> None:
    edl = server.root / "episodes" / "open-mic" / "edl.yaml"
    before = edl.read_bytes()
    timeline = _open_timeline(server, "open-mic")
    data = edits.page_data(timeline)
    data["parts"] = []
    status, said = _save(server, "open-mic", data)
    assert status == 422 and "Nothing would be left to hear" in said["error"]

    clip = timeline.clips[0]
    words = edits.words_in(_words(server, "open-mic", clip.source), clip.src_in, clip.src_out)
    assert len(words) >= 4
    data = edits.page_data(timeline)
    data["redactions"].append(
        {"source": clip.source, "in": words[1].start, "out": words[3].end, "replace_with": "[x]"}
    )
    data["parts"][0]["cut"] = [[words[2].start, words[2].end]]
    status, said = _save(server, "open-mic", data)
    assert status == 422 and "inside a hidden part" in said["error"]
    assert edl.read_bytes() == before


def test_two_tabs_saving_the_same_episode(server: Server, browser: Browser) -> None:
    edl = server.root / "episodes" / "open-mic" / "edl.yaml"
    first, second = browser.new_page(), browser.new_page()
    for page in (first, second):
        page.goto(server.url + "/ep/open-mic")
    _mode(first, "cut")
    first.locator("#kept .w").nth(1).focus()
    first.keyboard.press("Enter")
    first.click("#save")
    _until(first, "document.getElementById('saved').textContent.startsWith('Saved')")
    saved = edl.read_bytes()

    second.locator("#kept .part").nth(1).locator(".move-up").click()
    second.click("#save")
    _until(second, "document.getElementById('saved').textContent.startsWith('Not saved')")
    assert "someone else saved this episode" in second.locator("#saved").inner_text()
    difference = second.locator("#difference")
    assert difference.is_visible()
    assert "+# Saved in the storycast studio" in (
        second.locator("#difference-lines").text_content() or ""
    )
    assert "It now lasts" in difference.inner_text()  # said in words, the lines beside
    assert edl.read_bytes() == saved  # nothing overwritten
    assert_accessible(second, "edit page, save refused")
    _shot(second, "save-refused")
    first.close()
    second.close()


def test_no_words_yet_offers_to_write_them_down(server: Server, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(server.url + "/ep/no-words")
    assert_accessible(page, "no words yet")
    assert page.locator("h2", has_text="No words written down yet").count() == 1
    assert page.locator("#kept").count() == 0  # nothing to edit with
    _shot(page, "no-words-yet")
    status, said = _save(server, "no-words", edits.page_data(_open_timeline(server, "no-words")))
    assert status == 409 and "cannot be changed" in said["error"]
    page.locator("button", has_text="Write down the words").click()
    page.wait_for_selector("#kept", timeout=300_000)
    assert page.locator("#kept .part").count() == 1  # a tone: a part with no words in it
    page.close()


def test_words_from_a_replaced_recording_cannot_be_edited(server: Server, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(server.url + "/ep/replaced")
    assert_accessible(page, "words out of date")
    assert page.locator("h2", has_text="The words are out of date").count() == 1
    assert "interview.m4a was changed" in page.inner_text("main")
    assert page.locator("#kept").count() == 0
    status, said = _save(server, "replaced", edits.page_data(_open_timeline(server, "replaced")))
    assert status == 409 and "cannot be changed" in said["error"]
    page.close()


def test_ideas_are_shown_one_at_a_time_and_applied_only_when_accepted(
    server: Server, browser: Browser
) -> None:
    edl = server.root / "episodes" / "open-mic" / "edl.yaml"
    before = _timeline(server, "open-mic")
    page = browser.new_page()
    page.goto(server.url + "/ep/open-mic/suggestions")
    assert_accessible(page, "ideas")
    _shot(page, "ideas")
    found = json.loads(page.locator("#ideas-data").text_content() or "[]")
    quiet = [f for f in found if f["kind"] == "quiet"]
    assert len(quiet) >= 2, found  # the example's phone call and poem both have long pauses
    assert page.locator(".idea:visible").count() == 1
    unchanged = edl.read_bytes()
    page.locator(".idea:visible .reject").focus()
    page.keyboard.press("Enter")  # no to the first: nothing is written
    assert "Left as it was" in page.locator("#saved").inner_text()
    assert edl.read_bytes() == unchanged
    assert page.locator(".idea:visible").count() == 1
    page.keyboard.press("Enter")  # focus is on the second idea's yes
    _until(page, "document.getElementById('saved').textContent.startsWith('Done')")
    page.close()
    after = _timeline(server, "open-mic")
    pairs = list(zip(after["clips"], after["clips"][1:], strict=False))
    gaps = [(a["source"], a["out"], b["in"]) for a, b in pairs if a["source"] == b["source"]]
    accepted, rejected = found[1], found[0]
    assert (accepted["source"], accepted["in"], accepted["out"]) in gaps
    assert (rejected["source"], rejected["in"], rejected["out"]) not in gaps
    assert len(after["clips"]) == len(before["clips"]) + 1


def test_off_this_computer_everyone_needs_the_passphrase(server: Server) -> None:
    """`--host` other than 127.0.0.1 makes a passphrase; here a second studio with one."""
    studio = Studio(server.project, port=0, passphrase="river-otter-comet-tulip")
    httpd = make_server(studio)  # binds, and so gives the studio its port
    url = f"http://127.0.0.1:{studio.port}"
    with serving(httpd):
        status, body = _request(url + "/ep/first-flat")
        assert status == 200 and "Enter the passphrase" in body and "Welcome" not in body
        status, body = _request(url + "/login", b"passphrase=river-otter")
        assert status == 403 and "not the passphrase" in body
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(url + "/login", b"passphrase=river-otter-comet-tulip") as resp:
            assert "Your episodes" in resp.read().decode()
        with opener.open(url + "/ep/first-flat") as resp:
            assert "Welcome" in resp.read().decode()
    run = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "--root", str(server.root), "studio",
         "--host", "0.0.0.0", "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert run.stdout is not None
        said = run.stdout.readline() + run.stdout.readline()
        assert re.search(r"passphrase (\w+-){3}\w+", said), said
    finally:
        run.terminate()
        run.wait(timeout=30)


def test_a_paper_edit_from_audacity_is_saved_as_yaml_beside_it(
    server: Server, browser: Browser
) -> None:
    folder = server.root / "episodes" / "labels"
    labels = (folder / "labels.txt").read_bytes()
    page = browser.new_page()
    page.goto(server.url + "/ep/labels")
    assert "a new file beside labels.txt" in page.inner_text("main")
    assert page.locator("#kept .part").count() == 2
    page.locator("#kept .part").nth(1).locator(".move-up").click()
    page.click("#save")
    _until(page, "document.getElementById('saved').textContent.startsWith('Saved')")
    said = page.locator("#saved").inner_text()
    assert "Saved as edl.yaml, beside labels.txt" in said
    assert "episode.yaml still uses labels.txt" in said
    page.close()
    assert (folder / "labels.txt").read_bytes() == labels  # never overwritten
    saved = yaml_edl.read(folder / "edl.yaml")
    assert [(c.source, c.src_in, c.src_out) for c in saved.clips] == [
        ("poem.m4a", 0.0, 9.5),
        ("phone-call.3gp", 0.0, 9.3),
    ]
    assert [c["source"] for c in _timeline(server, "labels")["clips"]] == [
        "phone-call.3gp",
        "poem.m4a",
    ]  # still the label track: episode.yaml names it
