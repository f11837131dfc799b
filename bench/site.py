"""`make bench`: the listeners' site's page weight and how soon a long episode's page is
usable, side by side.

A two-hour episode's pages are built from records (``kit.longtalk``: 2,400 cues, about
20,000 words, a chapter every ten minutes; the MP3 is two hours of silence at 8 kb/s), as
published now (transcript in parts, every page under ``defaults.PAGE_BUDGET_BYTES``) and,
in the same run, as one page holding the whole transcript (the budget lifted). Each page
is served over HTTP by `storycast preview`'s server and opened in Debian's Chromium:
DOM interactive (navigation timing) and the time until the words' times are fetched and
the transcript's words can be clicked. Medians of several loads. On a shared machine read
the ratios, not the absolute times.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.report import machine, write_results
from pipeline import defaults
from pipeline.project.showfile import load_show
from pipeline.project.yamlfile import Problems
from pipeline.records import Episode, PublishedFile, base_role
from pipeline.site.build import PageFile, episode_pages
from pipeline.store.preview import make_server

from kit.longtalk import long_talk  # bench/__init__ puts tests/ on the path

CHROMIUM = "/usr/bin/chromium"
SHOW = "riverside-voices"
LOADS = 5


def _pages(public: Path, slug: str, budget: int | None) -> tuple[list[PageFile], float]:
    show = load_show(ROOT / "feeds" / f"{SHOW}.yaml", Problems())
    assert show is not None
    ep = Episode(
        folder=public / slug,
        slug=slug,
        show=SHOW,
        title="Two hours",
        description="A long conversation.",
        number=None,
        season=None,
        published=datetime(2026, 12, 1, tzinfo=UTC),
        edl=public / slug / "edl.yaml",
    )
    cues, words, chapters = long_talk(7200)
    key = f"media/{SHOW}/long-0123456789abcdef.mp3"
    mp3 = public / key
    size = mp3.stat().st_size
    files = {"audio": PublishedFile("audio", key, "http://x/" + key, size, "audio/mpeg")}
    started = time.perf_counter()
    pages = episode_pages(
        show,
        ep,
        duration=7200,
        files=files,
        chapters=chapters,
        cues=cues,
        words=words,
        budget=budget,
    )
    built = time.perf_counter() - started
    for made in pages:
        path = public / made.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(made.data)
    return pages, built


def _load(browser: Any, url: str) -> tuple[float, float]:
    """DOM interactive (ms, navigation timing) and ms until the words can be clicked."""
    page = browser.new_page()
    started = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(
        "() => { const l = document.querySelector('.transcript');"
        " return l && l.dataset.wordsState === 'ready'; }",
        timeout=120_000,
        polling=5,
    )
    ready = (time.perf_counter() - started) * 1000
    interactive = float(
        page.evaluate("performance.getEntriesByType('navigation')[0].domInteractive")
    )
    page.close()
    return interactive, ready


def run() -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {"machine": machine(), "budget_bytes": defaults.PAGE_BUDGET_BYTES}
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
        results["load_average_at_start"] = [float(x) for x in load]
    except OSError:
        pass
    with tempfile.TemporaryDirectory(prefix="storycast-bench-site-") as tmp:
        public = Path(tmp)
        mp3 = public / "media" / SHOW / "long-0123456789abcdef.mp3"
        mp3.parent.mkdir(parents=True)
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
             "anullsrc=r=8000:cl=mono", "-t", "7200", "-b:a", "8k", str(mp3)],
            check=True,
        )  # fmt: skip
        variants = {"parts": _pages(public, "long", None), "one_page": _pages(public, "one", 10**9)}
        server = make_server(public, "127.0.0.1", 0)
        port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                try:
                    for name, (pages, built) in variants.items():
                        html = [m for m in pages if base_role(m.role) == "page"]
                        data = [m for m in pages if base_role(m.role) == "page-words"]
                        figures: dict[str, Any] = {
                            "pages": len(html),
                            "page_bytes": [len(m.data) for m in html],
                            "words_bytes": [len(m.data) for m in data],
                            "built_s": round(built, 3),
                        }
                        urls = [f"http://127.0.0.1:{port}/{m.key}" for m in html]
                        _load(browser, urls[0])  # warm Chromium's own start-up
                        inter: list[list[float]] = [[] for _ in urls]
                        ready: list[list[float]] = [[] for _ in urls]
                        for _ in range(LOADS):  # the variants' loads interleaved by page
                            for n, url in enumerate(urls):
                                i, r = _load(browser, url)
                                inter[n].append(i)
                                ready[n].append(r)
                        figures["dom_interactive_ms"] = [round(statistics.median(x)) for x in inter]
                        figures["words_ready_ms"] = [round(statistics.median(x)) for x in ready]
                        results[name] = figures
                finally:
                    browser.close()
        finally:
            server.shutdown()
            server.server_close()
    parts, one = results["parts"], results["one_page"]
    results["largest_page_ratio_parts_to_one"] = round(
        max(parts["page_bytes"]) / max(one["page_bytes"]), 3
    )
    results["worst_dom_interactive_ratio_parts_to_one"] = round(
        max(parts["dom_interactive_ms"]) / max(one["dom_interactive_ms"]), 3
    )
    results["worst_words_ready_ratio_parts_to_one"] = round(
        max(parts["words_ready_ms"]) / max(one["words_ready_ms"]), 3
    )
    results["goal"] = f"every page under {defaults.PAGE_BUDGET_BYTES} bytes before media"
    results["met"] = all(b < defaults.PAGE_BUDGET_BYTES for b in parts["page_bytes"])
    return results


def main() -> int:
    write_results("site", run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
