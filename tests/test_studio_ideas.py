"""What the studio still lacked (issue 15): retakes suggested from the words, spellings fixed
from the page, parts moved by dragging. A project of its own, its speech made with
espeak-ng and written down by the real speech model; Chromium with axe-core on each view;
then `storycast propose`, `timeline --json` and `publish` read what the page wrote."""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page
from test_studio import _shot

from pipeline.cli.studio import ProjectFiles
from pipeline.records import Word
from pipeline.studio.server import Studio, make_server

from conftest import ROOT, decoded_duration, storycast
from kit.browser import assert_accessible, chromium
from kit.media import phone_m4a, say
from kit.serving import serving

# Someone starts a sentence, stops, and says it again: the first try is a retake.
RETAKE = [
    ("en-gb", "Hello, my name is Jordan."),
    ("en-gb", "We moved in, sorry, we moved into the flat in May."),
    ("en-gb", "It was cold and empty at first, but we made it a home."),
]
# The same words said again on purpose, far apart: a chorus, not a retake.
CHORUS = [
    ("en-gb", "We are the river, and we carry the town."),
    ("en-gb", "My grandmother told me stories about the old bridge and the mill."),
    ("en-gb", "She said the water remembers everyone who crossed it."),
    ("en-gb", "We are the river, and we carry the town."),
]


@dataclass
class Project:
    root: Path
    url: str
    studio: Studio
    files: ProjectFiles
    lengths: dict[str, float]  # each episode's one part, in seconds


def _episode(root: Path, slug: str, lines: list[tuple[str, str]]) -> float:
    """An episode of one recording of ``lines``, kept whole; its length in seconds."""
    folder = root / "episodes" / slug
    (folder / "recordings").mkdir(parents=True)
    wav = say(lines, folder / "speech.wav")
    phone_m4a(wav, folder / "recordings" / "story.m4a")
    wav.unlink()
    seconds = math.floor(decoded_duration(folder / "recordings" / "story.m4a") * 10) / 10 - 0.1
    (folder / "episode.yaml").write_text(
        f"show: riverside-voices\ntitle: {slug.title()}\ndescription: A test episode.\n"
        f"published: 2026-11-20\nappearances:\n  story.m4a: [jordan]\n",
        encoding="utf-8",
    )
    (folder / "edl.yaml").write_text(
        f"clips:\n  - source: story.m4a\n    in: 0\n    out: {seconds}\n", encoding="utf-8"
    )
    return seconds


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("ideas")
    shutil.copytree(ROOT / "feeds", root / "feeds")
    (root / "episodes").mkdir()
    shutil.copyfile(ROOT / "episodes" / "people.yaml", root / "episodes" / "people.yaml")
    lengths = {
        "retake": _episode(root, "retake", RETAKE),
        "chorus": _episode(root, "chorus", CHORUS),
    }
    # an episode of three parts of the chorus's recording, to be put in another order
    parts = root / "episodes" / "parts"
    shutil.copytree(root / "episodes" / "chorus", parts)
    (parts / "episode.yaml").write_text(
        (parts / "episode.yaml").read_text().replace("title: Chorus", "title: Parts")
    )
    (parts / "edl.yaml").write_text(
        "clips:\n"
        + "".join(
            f"  - source: story.m4a\n    in: {a}\n    out: {b}\n"
            for a, b in ((0, 3.0), (3.2, 8.2), (8.4, 12.8))
        )
    )
    files = ProjectFiles(root)
    for slug in ("retake", "chorus"):
        job = files.open(slug)
        assert job is not None and job.timeline is not None, slug
        files.transcribe(job)
    studio = Studio(files, port=0)
    with serving(make_server(studio)):
        yield Project(root, f"http://127.0.0.1:{studio.port}", studio, files, lengths)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _words(project: Project, slug: str) -> list[Word]:
    job = project.files.open(slug)
    assert job is not None
    transcript = project.files.transcripts(job)["story.m4a"].transcript
    assert transcript is not None
    return list(transcript.words)


def _plain(word: Word) -> str:
    return word.text.strip(" ,.").lower()


def _timeline(project: Project, slug: str) -> dict[str, Any]:
    run = storycast(project.root, "timeline", slug, "--json")
    assert run.returncode == 0, run.stderr
    data: dict[str, Any] = json.loads(run.stdout)
    return data


def _until(page: Page, script: str, timeout: int = 10000) -> None:
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"never true: {script}"
        page.wait_for_timeout(100)


def _retake_words(words: list[Word]) -> tuple[Word, Word, Word, Word]:
    """The word before the first try, the first try's first and last words, and the word
    that starts the second try (as the speech model wrote them down)."""
    plain = [_plain(w) for w in words]
    first = plain.index("we")
    again = plain.index("we", first + 1)
    assert plain[first : first + 2] == plain[again : again + 2] == ["we", "moved"], plain
    return words[first - 1], words[first], words[again - 1], words[again]


# --- 1. retakes, suggested and never applied ------------------------------------------------


def test_propose_suggests_cutting_the_first_try_of_a_retake(project: Project) -> None:
    edl = project.root / "episodes" / "retake" / "edl.yaml"
    before = edl.read_bytes()
    run = storycast(project.root, "propose", "retake")
    assert run.returncode == 0, run.stderr
    assert "is said again just after" in run.stdout, run.stdout
    assert edl.read_bytes() == before  # a proposal only
    text = (project.root / "episodes" / "retake" / "proposal.yaml").read_text()
    assert text.startswith("# PROPOSAL - NOT APPLIED")
    prev, first, last, again = _retake_words(_words(project, "retake"))
    cut_from = round((prev.end + first.start) / 2, 3)  # half way through the pauses
    cut_to = round((last.end + again.start) / 2, 3)
    assert f"the first try could be cut ({cut_from:.2f} to {cut_to:.2f} s)" in run.stdout
    assert prev.end < cut_from < first.start and last.end < cut_to < again.start
    clips = [(c["in"], c["out"]) for c in yaml.safe_load(text)["clips"]]
    # the first try is not in it; the second try is, from the pause before it; the word
    # before the first try too (a long pause beside it may be shortened as well)
    assert not [(a, b) for a, b in clips if a < cut_to and b > cut_from], clips
    assert any(a == cut_to for a, _ in clips), clips
    assert any(a <= prev.start and prev.end <= b for a, b in clips), clips


def test_the_same_words_far_apart_are_not_a_retake(project: Project) -> None:
    words = _words(project, "chorus")
    plain = [_plain(w) for w in words]
    # the chorus really is in the words twice, more than RETAKE_WITHIN apart
    starts = [words[i].start for i in range(len(plain)) if plain[i : i + 3] == ["we", "are", "the"]]
    assert len(starts) == 2 and starts[1] - starts[0] > 6.0, plain
    run = storycast(project.root, "propose", "chorus")
    assert run.returncode == 0, run.stderr
    assert "said again" not in run.stdout
    assert "said again" not in (project.root / "episodes" / "chorus" / "proposal.yaml").read_text()


def test_a_retake_is_an_idea_accepted_or_refused_one_at_a_time(
    project: Project, browser: Browser
) -> None:
    page = browser.new_page()
    page.goto(project.url + "/ep/chorus/suggestions")
    found = json.loads(page.locator("#ideas-data").text_content() or "[]")
    assert [f for f in found if f["kind"] == "retake"] == []
    assert_accessible(page, "ideas, a chorus")

    edl = project.root / "episodes" / "retake" / "edl.yaml"
    unchanged = edl.read_bytes()
    page.goto(project.url + "/ep/retake/suggestions")
    assert_accessible(page, "ideas, a retake")
    found = json.loads(page.locator("#ideas-data").text_content() or "[]")
    kinds = [f["kind"] for f in found]
    assert kinds.count("retake") == 1, found
    assert page.locator(".idea:visible").count() == 1  # one at a time
    for n, kind in enumerate(kinds):
        shown = page.locator(".idea:visible")
        assert f"Idea {n + 1} of {len(found)}" in shown.inner_text()
        if kind != "retake":  # no to the others: nothing is written
            shown.locator(".reject").focus()
            page.keyboard.press("Enter")
            assert edl.read_bytes() == unchanged
            continue
        assert "is said again just after" in shown.inner_text()
        assert "Cut the first try?" in shown.inner_text()
        _shot(page, "ideas-retake")  # its words checked for jargon too
        shown.locator(".accept").focus()
        page.keyboard.press("Enter")
        _until(page, "document.getElementById('saved').textContent.startsWith('Done')")
    page.close()
    prev, first, last, again = _retake_words(_words(project, "retake"))
    tl = _timeline(project, "retake")
    clips = [(c["in"], c["out"]) for c in tl["clips"]]
    # the first try is cut whole, half way through the pauses around it, as propose says
    cut_from = round((prev.end + first.start) / 2, 3)
    cut_to = round((last.end + again.start) / 2, 3)
    assert clips == [(0.0, cut_from), (cut_to, project.lengths["retake"])], clips


# --- 2. a word's spelling, fixed from the page ------------------------------------------------


def _mode(page: Page, value: str) -> None:
    """Choose what pressing a word does, with the keyboard: arrows in the radio group."""
    order = ["listen", "cut", "chapter", "hide", "bite", "spell"]
    page.focus('input[name="mode"]:checked')
    now = page.eval_on_selector('input[name="mode"]:checked', "e => e.value")
    for _ in range((order.index(value) - order.index(now)) % len(order)):
        page.keyboard.press("ArrowDown")
    assert page.eval_on_selector('input[name="mode"]:checked', "e => e.value") == value


def _word(page: Page, text: str) -> Any:
    return page.locator("#kept .w").filter(has_text=text).first


def _spell(page: Page, word: str, text: str, everywhere: bool) -> None:
    """Fix a word's spelling, by keyboard only."""
    _mode(page, "spell")
    _word(page, word).focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "spell-text"
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    if everywhere:
        page.focus('input[name="spell-where"]:checked')
        page.keyboard.press("ArrowDown")
    page.focus("#spell-save")
    page.keyboard.press("Enter")


def test_a_spelling_fixed_from_the_page_is_in_the_published_captions(
    project: Project, browser: Browser
) -> None:
    fixes = project.root / "episodes" / "chorus" / "corrections.yaml"
    names = project.root / "episodes" / "retake" / "corrections.yaml"
    assert not fixes.exists() and not names.exists()
    page = browser.new_page()
    stale = browser.new_page()  # a second tab, opened before the fix
    page.goto(project.url + "/ep/chorus")
    stale.goto(project.url + "/ep/chorus")
    # the model heard "the old bridge and the mill" as "... the meal."
    plain = [_plain(w) for w in _words(project, "chorus")]
    assert "meal" in plain and "mill" not in plain, plain
    _spell(page, "meal.", "mill", everywhere=False)
    _until(page, "document.getElementById('doing').textContent.startsWith('Saved')")
    assert _word(page, "mill.").count() == 1  # shown fixed at once, its full stop kept
    assert_accessible(page, "edit page, a spelling fixed")
    _shot(page, "spelling-fixed")
    saved = fixes.read_bytes()
    fix = yaml.safe_load(saved)["fixes"]
    assert [(f["recording"], f["text"]) for f in fix] == [("story.m4a", "mill.")]

    # the other tab read the spellings before: its save is refused, nothing overwritten
    _spell(stale, "river", "River", everywhere=True)
    _until(stale, "document.getElementById('spell-said').textContent.startsWith('Not saved')")
    assert "someone else changed the spellings" in stale.locator("#spell-said").inner_text()
    assert stale.locator("#spell-difference").is_visible()
    assert "+  text: mill." in (stale.locator("#spell-difference-lines").text_content() or "")
    assert fixes.read_bytes() == saved
    assert_accessible(stale, "edit page, a spelling refused")
    stale.close()

    # a name, everywhere in an episode: "Jordan" is how the speaker spells it: Jordyn
    page.goto(project.url + "/ep/retake")
    _spell(page, "Jordan.", "Jordyn", everywhere=True)
    _until(page, "document.getElementById('doing').textContent.startsWith('Saved')")
    assert "everywhere" in page.locator("#doing").inner_text()
    assert yaml.safe_load(names.read_text())["replace"] == {"Jordan": "Jordyn"}
    page.reload()  # read again from the episode's files
    assert _word(page, "Jordyn.").count() == 1 and _word(page, "Jordan").count() == 0
    page.goto(project.url + "/ep/retake/hear")
    assert "Jordyn" in page.locator("#cues").inner_text()
    page.close()

    for slug in ("chorus", "retake"):
        done = storycast(project.root, "approve", slug, "--by", "Jordan")
        assert done.returncode == 0, done.stderr
    published = storycast(project.root, "publish")
    assert "published  chorus" in published.stdout, published.stdout + published.stderr
    assert "published  retake" in published.stdout, published.stdout + published.stderr
    chorus = " ".join(next((project.root / "public").rglob("chorus*.vtt")).read_text().split())
    assert "the old bridge and the mill." in chorus and "meal" not in chorus, chorus
    retake = next((project.root / "public").rglob("retake*.vtt")).read_text()
    said = [line for line in retake.splitlines() if "my name is" in line]
    assert said and all("my name is Jordyn." in line for line in said), retake


# --- 3. parts put in another order by dragging, as by the keyboard ---------------------------


def _order(page: Page) -> list[float]:
    """Where each kept part starts in its recording, in the episode's order."""
    found: list[float] = page.eval_on_selector_all(
        "#kept > .part", "parts => parts.map(p => Number(p.dataset.in))"
    )
    return found


def _drag(page: Page, n: int, to: int, below: bool) -> None:
    """Drag kept part ``n``, by its handle, with the mouse onto part ``to`` (its lower
    half when ``below``), in small steps as a hand would."""
    handle = page.locator("#kept > .part").nth(n).locator(".drag")
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    target = page.locator("#kept > .part").nth(to).bounding_box()
    assert target is not None
    y = target["y"] + target["height"] * (0.8 if below else 0.2)
    page.mouse.move(target["x"] + 40, y, steps=12)
    page.mouse.up()


def test_a_part_dragged_is_moved_as_the_keyboard_moves_it(
    project: Project, browser: Browser
) -> None:
    keys = browser.new_page(viewport={"width": 1000, "height": 900})
    keys.goto(project.url + "/ep/parts")
    start = _order(keys)
    assert start == [0.0, 3.2, 8.4]
    # by keyboard: the last part up twice (to the top), then the new second part down once
    for _ in range(2):
        keys.locator("#kept > .part").nth(2 if _ == 0 else 1).locator(".move-up").focus()
        keys.keyboard.press("Enter")
    keys.locator("#kept > .part").nth(1).locator(".move-down").focus()
    keys.keyboard.press("Enter")
    by_keys = _order(keys)
    assert by_keys == [8.4, 3.2, 0.0]
    keys.close()

    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(project.url + "/ep/parts")
    assert page.locator("#kept > .part .drag").count() == 3
    _drag(page, 2, 0, below=False)  # the last part dropped on the first's upper half
    assert _order(page) == [8.4, 0.0, 3.2]
    assert page.locator("#doing").inner_text() == (
        "Moved. This part is now number 1. Save to keep your changes."
    )
    _drag(page, 1, 2, below=True)  # the second dropped on the last's lower half
    assert _order(page) == by_keys
    assert "now number 3" in page.locator("#doing").inner_text()
    assert page.locator("#kept > .part.dragging").count() == 0
    assert_accessible(page, "edit page, parts dragged")
    _shot(page, "parts-dragged")
    page.focus("#save")
    page.keyboard.press("Enter")
    _until(page, "document.getElementById('saved').textContent.startsWith('Saved')")
    page.close()
    clips = [(c["in"], c["out"]) for c in _timeline(project, "parts")["clips"]]
    assert clips == [(8.4, 12.8), (3.2, 8.2), (0.0, 3.0)]


# --- 4. what changed since it was agreed, in words ---------------------------------------------


def test_the_agree_page_says_in_words_what_changed_since_it_was_agreed(
    project: Project, browser: Browser
) -> None:
    page = browser.new_page()
    page.goto(project.url + "/ep/parts/approve")
    page.locator("button", has_text="I am Jordan and I agree").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Jordan: agreed" in page.locator("#people").inner_text()
    assert page.locator("#how-changed").count() == 0

    page.goto(project.url + "/ep/parts")  # leave the last part out, and save
    page.locator("#kept > .part").nth(2).locator(".leave-out").focus()
    page.keyboard.press("Enter")
    page.focus("#save")
    page.keyboard.press("Enter")
    _until(page, "document.getElementById('saved').textContent.startsWith('Saved')")

    page.goto(project.url + "/ep/parts/approve")
    main = page.inner_text("main")
    assert "Changed since Jordan agreed" in main and "Jordan: not yet" in main
    how = page.locator("#how-changed").inner_text()
    assert "It now has 2 parts (it had 3 when it was agreed)." in how, how
    clips = _timeline(project, "parts")["clips"]
    now = sum(c["out"] - c["in"] for c in clips)
    assert f"It now lasts {int(now // 60)}:{now % 60:04.1f}" in how, how
    assert_accessible(page, "agree page, changed since agreed")
    _shot(page, "agree-changed")
    page.close()


def test_what_counts_as_a_retake() -> None:
    """The rule on its own, over words with times: the same first words, each try starting
    a phrase (after a pause or punctuation), close together."""
    from pipeline.edl.propose import retakes
    from pipeline.records import Clip, Redaction, Timeline, Transcript

    def words(spec: str) -> tuple[Word, ...]:
        out, t = [], 0.0
        for token in spec.split():
            pause = token.startswith("|")  # a pause of 0.5 s before this word
            t += 0.5 if pause else 0.05
            text = token.lstrip("|")
            out.append(Word(round(t, 3), round(t + 0.3, 3), text))
            t += 0.3
        return tuple(out)

    def found(spec: str, hidden: tuple[Redaction, ...] = ()) -> list[str]:
        ws = words(spec)
        clips = (Clip("a.m4a", 0.0, 60.0, 0.0),)
        timeline = Timeline(Path("edl.yaml"), "e" * 64, clips, (), redactions=hidden)
        transcript = Transcript("s" * 64, "faster-whisper", "tiny.en", "en", ws)
        return [r.said for r in retakes(timeline, {"a.m4a": transcript})]

    assert found("We moved in, sorry, we moved into the flat.") == ["We moved in, sorry,"]
    assert found("Well, I went |I went to the shop.") == ["I went"]  # a pause, no comma
    # the same little words mid-phrase are not a restart
    assert found("I live in the city and work in the park.") == []
    # a chorus far apart is not one; a single word said twice is not one
    chorus = "We are the river. " + "and on and on " * 6 + "|We are the river."
    assert found(chorus) == []
    assert found("No, no, it was fine.") == []
    # hidden words are never part of one (their text is not shown in a suggestion)
    ws = words("We moved in, sorry, we moved into the flat.")
    assert (
        found(
            "We moved in, sorry, we moved into the flat.",
            (Redaction("a.m4a", ws[0].start, ws[1].end, "bleep", "[removed]"),),
        )
        == []
    )


def test_a_spelling_needs_the_page_key(project: Project) -> None:
    import urllib.error
    import urllib.request

    body = json.dumps({"base": "", "source": "story.m4a", "in": 0, "out": 1, "text": "x"})
    request = urllib.request.Request(
        project.url + "/ep/chorus/spelling",
        body.encode(),
        {"Content-Type": "application/json"},
    )
    spellings = project.root / "episodes" / "chorus" / "corrections.yaml"
    before = spellings.read_bytes() if spellings.exists() else None
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403
    assert (spellings.read_bytes() if spellings.exists() else None) == before
