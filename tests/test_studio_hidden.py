"""Words a hidden part removes everywhere (its ``text:``) are hidden in the studio wherever
else they are said, as the published words would be: shown as the replacement text, never
sent to the page, beeped when a word is pressed; and an edit that still plays them outside
a hidden part is not offered to hear, because a publish refuses it (``texts_stage``).

The example episode's words are respelled by corrections.yaml into two names found nowhere
else on any page ("your" becomes Zeldaville, "My" becomes Quorndon), so a search of what
the studio serves can only find them where the transcript put them."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_studio import _shot, _until
from test_studio_hearing import NOTCH, _check_hidden, _fetch, _mean_db

from pipeline.cli.studio import ProjectFiles
from pipeline.records import Word
from pipeline.studio import view
from pipeline.studio.server import Studio, make_server

from conftest import Run, copy_with_caches, storycast
from kit.browser import assert_accessible, chromium
from kit.serving import serving

NAMES = ("zeldaville", "quorndon")
# episode times of the first-flat edit: interview 0-5.4, 11.2-26.8, advice 0-4.9, 9-13
ADVICE_LATER = 5.4 + 15.6 + 4.9 - 9.0


@dataclass
class Named:
    root: Path
    url: str
    studio: Studio
    project: ProjectFiles
    hidden: Word  # the Zeldaville hidden in interview.m4a (at 13.9)
    first: Word  # Zeldaville said again in the first part, not hidden
    before_first: Word  # the word before it
    advice: Word  # Zeldaville said again in advice.opus, not hidden
    left_out: Word  # Quorndon said in a part that is left out


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=300) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def named(example_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Named]:
    root = copy_with_caches(example_run, tmp_path_factory.mktemp("named"))
    folder = root / "episodes" / "first-flat"
    (folder / "corrections.yaml").write_text(
        "replace:\n  your: Zeldaville\n  My: Quorndon\n", encoding="utf-8"
    )
    project = ProjectFiles(root)
    job = project.open("first-flat")
    assert job is not None
    states = project.transcripts(job)
    interview = states["interview.m4a"].transcript
    advice = states["advice.opus"].transcript
    assert interview is not None and advice is not None
    zs = [i for i, w in enumerate(interview.words) if w.text.strip() == "Zeldaville"]
    assert len(zs) == 2, [w.text for w in interview.words]
    first, hidden = interview.words[zs[0]], interview.words[zs[1]]
    assert first.end < 5.4 and 11.2 < hidden.start < 26.8  # both kept
    (later,) = [w for w in advice.words if w.text.strip() == "Zeldaville"]
    assert 9.0 < later.start < 13.0  # kept too
    (quorndon,) = [w for w in interview.words if w.text.strip() == "Quorndon"]
    assert 5.4 < quorndon.start < 11.2  # left out
    (mine,) = [w for w in advice.words if w.text.strip() == "Quorndon"]
    edl = folder / "edl.yaml"
    edl.write_text(
        edl.read_text(encoding="utf-8") + "redactions:\n"
        f"  - source: interview.m4a\n    in: {hidden.start}\n    out: {hidden.end}\n"
        '    mode: bleep\n    replace_with: "[place removed]"\n    text: Zeldaville\n'
        f"  - source: advice.opus\n    in: {mine.start}\n    out: {mine.end}\n"
        '    mode: bleep\n    replace_with: "[name removed]"\n    text: Quorndon\n',
        encoding="utf-8",
    )
    studio = Studio(ProjectFiles(root), port=0)
    with serving(make_server(studio)):
        yield Named(
            root,
            f"http://127.0.0.1:{studio.port}",
            studio,
            project,
            hidden,
            first,
            interview.words[zs[0] - 1],
            later,
            quorndon,
        )


def test_words_hidden_elsewhere_are_in_nothing_the_studio_sends(named: Named) -> None:
    n = named
    seen = {
        path: _get(n.url + path)
        for path in ("/", "/ep/first-flat", "/ep/first-flat/hear", "/ep/first-flat/preview.vtt",
                     "/ep/first-flat/approve", "/ep/first-flat/suggestions",
                     "/ep/first-flat/finished", "/ep/first-flat/preview.mp3")
    }  # fmt: skip
    for path, (_, body) in seen.items():
        for name in NAMES:
            assert name not in body.lower(), (path, name)
    page = seen["/ep/first-flat"][1]
    # said again outside the hidden part: the replacement, marked, in kept and left-out parts
    assert page.count('data-like="0"') == 2  # in the first part and in the advice
    assert page.count('data-like="1"') == 1  # in the left-out retake
    assert page.count("said again</span> [place removed]") == 2
    assert page.count("said again</span> [name removed]") == 1
    assert page.count("Words you hid are said again here") == 2  # the two kept parts
    # the page's data has none of the hidden words either (what the script reads)
    state = json.loads(re.search(r'id="state">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert all("text" not in r for r in state["redactions"])
    # what you'll hear: nothing to play, and why, with where (episode times)
    code, hear = seen["/ep/first-flat/hear"]
    assert code == 200 and "cannot be put out yet" in hear
    at_first, at_advice = view.clock(n.first.start), view.clock(ADVICE_LATER + n.advice.start)
    assert at_first in hear and at_advice in hear
    assert "<audio" not in hear
    code, said = seen["/ep/first-flat/preview.mp3"]
    assert code == 409 and "cannot be put out yet" in said
    assert json.loads(seen["/ep/first-flat/finished"][1])["ready"] is False
    # the captions it would have: as published words show them
    assert seen["/ep/first-flat/preview.vtt"][1].count("[place removed]") == 3


def test_pressing_a_word_beeps_words_hidden_elsewhere(named: Named, tmp_path: Path) -> None:
    n = named
    start = n.before_first.start
    heard = tmp_path / "listen.mp3"
    _fetch(f"{n.url}/ep/first-flat/listen/interview.m4a?at={start}", heard)
    rel = (n.first.start - start, n.first.end - start)
    if rel[1] - rel[0] > 0.24:
        _check_hidden(heard, rel, (0.0, n.before_first.end - start))
    else:  # a short word: the beep is there and nothing under it
        assert _mean_db(heard, rel[0] + 0.03, rel[1] - 0.03) > -35
        assert _mean_db(heard, rel[0] + 0.03, rel[1] - 0.03, NOTCH) < -50


def test_a_publish_refuses_what_the_page_refuses_to_play(named: Named) -> None:
    """The studio says the edit cannot be put out because a publish says so too."""
    n = named
    agreed = storycast(n.root, "approve", "first-flat", "--by", "Jordan,Sam R.")
    assert agreed.returncode == 0, agreed.stderr
    published = storycast(n.root, "publish")
    assert published.returncode != 0
    assert "outside the redaction" in published.stdout + published.stderr
    assert "published  first-flat" not in published.stdout


def test_hiding_them_there_too_by_keyboard_then_it_plays_and_publishes(
    named: Named, tmp_path: Path
) -> None:
    n = named
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.goto(n.url + "/ep/first-flat")
        page.wait_for_selector("body[data-ready='yes']")
        assert_accessible(page, "edit page, words said again")
        assert not any(name in page.content().lower() for name in NAMES)
        _shot(page, "said-again")  # the words checked for jargon first
        page.locator("input[name='mode'][value='hide']").focus()
        page.keyboard.press("Space")
        again = page.locator("#kept .w.also")
        assert again.count() == 2
        for _ in range(2):
            again.first.focus()
            page.keyboard.press("Enter")
        assert page.locator("#kept .w.also").count() == 0
        assert "Hidden here too" in page.locator("#doing").inner_text()
        assert page.locator("#hidden li").count() == 4
        # not saved yet: the saved edit still plays them, so it cannot be heard
        page.goto(n.url + "/ep/first-flat/hear")
        assert "cannot be put out yet" in page.locator("#cannot").inner_text()
        assert_accessible(page, "what you'll hear, cannot be put out yet")
        _shot(page, "cannot-be-put-out-yet")
        page.goto(n.url + "/ep/first-flat")
        page.wait_for_selector("body[data-ready='yes']")
        page.locator("input[name='mode'][value='hide']").focus()
        page.keyboard.press("Space")
        again = page.locator("#kept .w.also")
        for _ in range(2):
            again.first.focus()
            page.keyboard.press("Enter")
        page.focus("#save")
        page.keyboard.press("Enter")
        _until(page, "document.getElementById('saved').textContent.startsWith('Saved')")
        saved = (n.root / "episodes" / "first-flat" / "edl.yaml").read_text(encoding="utf-8")
        assert saved.count('text: "Zeldaville"') == 3  # the words kept on the server
        assert saved.count('text: "Quorndon"') == 1
        # now it can be heard: the quick version plays, the word said again beeped
        page.goto(n.url + "/ep/first-flat/hear")
        assert "cannot be put out" not in page.content()
        _until(page, "document.getElementById('preview').readyState >= 3", 60000)
        assert_accessible(page, "what you'll hear, words hidden there too")
        page.close()
    quick = tmp_path / "quick.mp3"
    _fetch(f"{n.url}/ep/first-flat/preview.mp3", quick)
    bleep = (n.first.start, n.first.end)
    assert _mean_db(quick, bleep[0] + 0.03, bleep[1] - 0.03, NOTCH) < -50
    assert _mean_db(quick, bleep[0] + 0.03, bleep[1] - 0.03) > -35
    # and a publish puts it out, the words nowhere in it
    agreed = storycast(n.root, "approve", "first-flat", "--by", "Jordan,Sam R.")
    assert agreed.returncode == 0, agreed.stderr
    published = storycast(n.root, "publish")
    assert "published  first-flat" in published.stdout, published.stdout + published.stderr
    vtt = next((n.root / "public").rglob("first-flat*.vtt")).read_text(encoding="utf-8")
    assert vtt.count("[place removed]") == 3 and "zeldaville" not in vtt.lower()
    mp3 = next((n.root / "public").rglob("first-flat*.mp3"))
    assert _mean_db(mp3, bleep[0] + 0.03, bleep[1] - 0.03, NOTCH) < -50
