"""The browser kit itself: Chromium starts, and axe-core can tell a bad page from a good one
(a checker that cannot fail would make every page test hollow)."""

from __future__ import annotations

import pytest

from kit.browser import assert_accessible, axe_violations, chromium, focus_is_visible

GOOD = """<!doctype html><html lang="en"><head><title>Good</title>
<style>button:focus-visible{outline:3px solid #000}</style></head>
<body><main><h1>An episode</h1><img src="data:," alt="Two people talking">
<button type="button">Play</button></main></body></html>"""

BAD = """<!doctype html><html><head></head>
<body><img src="data:,"><button type="button"></button>
<p style="color:#bbb;background:#fff">hard to read</p></body></html>"""


def test_axe_passes_a_good_page_and_names_what_is_wrong_with_a_bad_one() -> None:
    with chromium() as browser:
        page = browser.new_page()
        page.set_content(GOOD)
        assert axe_violations(page) == []
        assert_accessible(page, "good page")

        page.set_content(BAD)
        rules = {v["id"] for v in axe_violations(page)}
        assert {"image-alt", "button-name", "html-has-lang", "color-contrast"} <= rules
        with pytest.raises(AssertionError, match="image-alt"):
            assert_accessible(page, "bad page")


def test_keyboard_focus_can_be_seen() -> None:
    with chromium() as browser:
        page = browser.new_page()
        page.set_content(GOOD)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Play"
        assert focus_is_visible(page)
