"""A real browser for page tests: Debian's Chromium driven by Playwright, checked by axe-core.

Playwright's own browser download is blocked on these machines, so the Debian build at
/usr/bin/chromium (installed by `make test`) is launched instead. axe-core comes bundled
with axe-playwright-python. Pages are judged at WCAG 2.2 AA (and the levels below it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """One Chromium for as long as the block runs."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core finds wrong with the page as it stands, at WCAG 2.2 AA."""
    # resultTypes: only the violations carry every node; passes and the rest carry one each
    # (axe-playwright-python's own default, lost when options are given). On a page of
    # 20,000 words that is most of axe's time; every rule still runs on every node.
    options = {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]}
    result = Axe().run(page, options=options)
    violations: list[dict[str, Any]] = result.response["violations"]
    return violations


def assert_accessible(page: Page, view: str) -> None:
    """Fail with axe-core's own words for every rule the page breaks."""
    found = axe_violations(page)
    if found:
        lines = [f"{view}: axe-core found {len(found)} problem(s) at WCAG 2.2 AA"]
        for rule in found:
            targets = [" ".join(map(str, node["target"])) for node in rule["nodes"][:5]]
            lines.append(f"- {rule['id']} ({rule['impact']}): {rule['help']} at {targets}")
        raise AssertionError("\n".join(lines))


def focus_is_visible(page: Page) -> bool:
    """Whether the focused element shows a focus indicator (outline or box shadow)."""
    return bool(
        page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el === document.body) return false;
                const s = getComputedStyle(el);
                const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
                return outline || (s.boxShadow && s.boxShadow !== 'none');
            }"""
        )
    )
