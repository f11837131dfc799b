"""`make bench`: how quickly the studio answers a contributor.

1. Opening an episode with a 30-minute recording until its words can be used (goal: under
   1 s from cached transcripts): the page served, loaded in Chromium and its script ready.
2. After an edit of a 10-minute episode, until Chromium can play it (goal: under 3 s):
   the whole episode rendered first, as the studio did until now, and the quick version
   streamed while it is made, side by side in one run (``_hearing``).
3. The same for a paper edit of 200 short parts (``_many``, ``python -m bench.studio
   many`` runs only this): the quick version made a few parts per ffmpeg run, beside one
   ffmpeg run opening all 200 parts (the quick version's old way, until its first byte)
   and the finished render (what the studio played past 64 parts until now); and how loud
   the quick version is beside the finished one.

The long recordings loop the example show's interview; their cached transcripts are the
interview's real transcript (made once here) repeated at the loop times, which is what the
speech model would write for them, without minutes of transcribing. Figures come from one
run on a shared machine: read them as rough, and compare side by side.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.report import machine, write_results
from pipeline.cli.studio import ProjectFiles
from pipeline.media.loudness import MEASURE_FILTER, measure, recording_gain
from pipeline.media.runner import stream
from pipeline.records import Transcript, Word
from pipeline.render.audio import (
    MIX_CHAIN,
    clip_sounds,
    estimated_mix,
    joined,
    mixdown,
    plan_gain,
    preview_encode_args,
)
from pipeline.studio import edits
from pipeline.studio.server import Studio, make_server
from pipeline.transcribe import cache_key, transcribe

ROOT = Path(__file__).resolve().parent.parent
INTERVIEW = ROOT / "episodes" / "first-flat" / "recordings" / "interview.m4a"
CHROMIUM = "/usr/bin/chromium"


def _looped(out: Path, loops: int) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", str(loops - 1),
         "-i", str(INTERVIEW), "-c:a", "aac", "-b:a", "48k", "-ac", "1", str(out)],
        check=True,
    )  # fmt: skip


def _episode(root: Path, slug: str, loops: int, clips: int, parts: int = 0) -> None:
    folder = root / "episodes" / slug
    (folder / "recordings").mkdir(parents=True)
    _looped(folder / "recordings" / "memo.m4a", loops)
    (folder / "episode.yaml").write_text(
        f"show: riverside-voices\ntitle: {slug}\ndescription: Benchmark.\n"
        "published: 2026-11-22\nappearances:\n  memo.m4a: [jordan]\n",
        encoding="utf-8",
    )
    lines = ["clips:"]
    for n in range(clips):  # one clip per loop, each from its first word to its last
        lines += [
            "  - source: memo.m4a",
            f"    in: {n * 27.55 + 0.2:.3f}",
            f"    out: {n * 27.55 + 26.9:.3f}",
        ]
    if parts:  # a paper edit: ``parts`` parts of 3 s, taken from all over, out of order
        lines = ["clips:"]
        span = loops * 27.55 - 4.0
        for n in range(parts):
            at = (n * 7919 % parts) * span / parts
            lines += ["  - source: memo.m4a", f"    in: {at:.3f}", f"    out: {at + 3.0:.3f}"]
    (folder / "edl.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _seed(project: ProjectFiles, slug: str, base: Transcript, period: float, loops: int) -> None:
    job = project.open(slug)
    assert job is not None, slug
    ctx = project._context(job)
    rec = job.recordings["memo.m4a"]
    words = tuple(
        Word(w.start + k * period, w.end + k * period, w.text, w.probability)
        for k in range(loops)
        for w in base.words
        if w.end + k * period <= rec.duration
    )
    long = replace(base, recording_sha256=rec.sha256, words=words)
    ctx.cache.put_json("transcripts", cache_key(rec, ctx.engine), long.to_json())


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=600) as resp:
            body: bytes = resp.read()
            return body
    except urllib.error.HTTPError as exc:
        said = re.sub(r"<[^>]+>|\s+", " ", exc.read().decode("utf-8", "replace"))
        raise SystemExit(f"{url}: {exc.code}: {said.strip()}") from exc


def run(only: str = "") -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="storycast-bench-studio-") as tmp:
        root = Path(tmp)
        shutil.copytree(ROOT / "feeds", root / "feeds")
        shutil.copytree(ROOT / "episodes", root / "episodes")
        _episode(root, "paper", loops=22, clips=0, parts=200)  # 10.0 minutes, 200 parts
        project = ProjectFiles(root)
        first = project.open("first-flat")
        assert first is not None
        ctx = project._context(first)
        base = transcribe(first.recordings["interview.m4a"], ctx.engine, ctx.cache)
        period = first.recordings["interview.m4a"].duration
        _seed(project, "paper", base, period, 22)
        if only == "many":
            return {**results, **_many(root)}
        _episode(root, "thirty", loops=66, clips=66)  # 30.4 minutes
        _episode(root, "ten", loops=22, clips=22)  # 10.1 minutes
        _seed(project, "thirty", base, period, 66)
        _seed(project, "ten", base, period, 22)

        studio = Studio(project, port=0)
        httpd = make_server(studio)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{studio.port}"
        try:
            _get(url + "/ep/thirty")  # warm: the recording probed once, as on any first visit
            started = time.perf_counter()
            page = _get(url + "/ep/thirty")
            served = time.perf_counter() - started
            results["open_30min_served_s"] = round(served, 3)
            results["open_30min_words"] = page.count(b'class="w')
            results["open_30min_page_bytes"] = len(page)
            results["open_30min_interactive_s"] = _interactive(url + "/ep/thirty")

            results.update(_hearing(url, project, studio))
        finally:
            httpd.shutdown()
            httpd.server_close()
        results.update(_many(root))
    results["goals"] = {"open_30min_interactive_s": 1.0, "edit_10min_playable_s": 3.0}
    return results


def _save(url: str, project: ProjectFiles, studio: Studio, leave_out: int) -> None:
    """The edit: one part of the 10-minute episode left out, saved as the page saves."""
    job = project.open("ten")
    assert job is not None and job.timeline is not None
    data = edits.page_data(job.timeline)
    data["parts"].pop(leave_out)
    req = urllib.request.Request(
        url + "/ep/ten/save",
        json.dumps(data).encode(),
        {"Content-Type": "application/json", "X-Studio-Token": studio.token},
    )
    with urllib.request.urlopen(req, timeout=600) as resp:
        assert json.loads(resp.read())["ok"]


def _hearing(url: str, project: ProjectFiles, studio: Studio) -> dict[str, Any]:
    """Seconds from saving an edit of the 10-minute episode until Chromium can play it
    (the media element's readyState reaches HAVE_FUTURE_DATA: its ``canplay``), two ways
    side by side in one run, each after its own edit (one part left out, 21 of 22 kept):

    - before: the whole episode rendered as a publish renders it, then played (what the
      studio did until now, inside the request for the page);
    - after: the page opened at once; the quick version plays while ffmpeg makes it.

    Then: until the finished version (the publish's own render, made in the background)
    is ready, and a second listen to the same edit."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if not Path(CHROMIUM).exists():
        return {}
    found: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(url + "/")  # the browser's own start-up, not measured

            def playable(path: str) -> float:
                started = time.perf_counter()
                page.goto(url + path, wait_until="commit")
                while not page.evaluate(
                    "(document.getElementById('preview') || {readyState: 0}).readyState >= 3"
                ):
                    page.wait_for_timeout(10)
                return time.perf_counter() - started

            warm = project.open("ten")
            assert warm is not None
            project.preview(warm)  # its recording measured once, as on any first visit
            _save(url, project, studio, 3)
            started = time.perf_counter()
            job = project.open("ten")
            assert job is not None
            project.finish(job)  # the old way: all of it rendered before anything plays
            playable("/ep/ten/hear")
            found["edit_10min_playable_before_s"] = round(time.perf_counter() - started, 3)

            _save(url, project, studio, 5)
            started = time.perf_counter()
            playable("/ep/ten/hear")
            found["edit_10min_playable_s"] = round(time.perf_counter() - started, 3)
            quiet = page.locator("#version-note").inner_text()
            found["edit_10min_playable_is_quick"] = "quick version" in quiet
            page.locator("#use-finished").wait_for(timeout=900_000)
            found["edit_10min_finished_s"] = round(time.perf_counter() - started, 3)
            found["edit_10min_second_listen_s"] = round(playable("/ep/ten/hear"), 3)
            found.update(_loudness_apart(project))
        finally:
            browser.close()
    return found


def _loudness_apart(project: ProjectFiles) -> dict[str, Any]:
    """How loud the quick version of the last edit is beside the finished one (EBU R128
    integrated, LUFS, and true peak): the one thing the quick version only estimates."""
    job = project.open("ten")
    assert job is not None
    preview = project.preview(job)
    finished = project.finish(job)
    if not preview.quick.exists():
        return {}
    quick = measure(["-i", preview.quick, "-af", MEASURE_FILTER], "measuring", None, 700)
    done = measure(["-i", finished, "-af", MEASURE_FILTER], "measuring", None, 700)
    return {
        "edit_10min_quick_lufs": quick.integrated,
        "edit_10min_finished_lufs": done.integrated,
        "edit_10min_quick_true_peak_dbtp": quick.true_peak,
        "edit_10min_finished_true_peak_dbtp": done.true_peak,
    }


def _first_byte(command: list[str], feed: list[list[str]] | None = None) -> tuple[float, float]:
    """Seconds until ``command`` (fed by ``feed``'s runs) writes its first byte of sound,
    and until it has written all of it."""
    started = time.perf_counter()
    first = None
    for block in stream(command, what="the preview", block_bytes=1, feed=feed or ()):
        if first is None and block:
            first = time.perf_counter() - started
            break
    for _ in stream(command, what="the preview", feed=feed or ()):
        pass
    return round(first or 0.0, 3), round(time.perf_counter() - started, 3)


def _many(root: Path) -> dict[str, Any]:
    """A paper edit of 200 parts (10 minutes from a 10-minute recording, out of order):
    from saving an edit until Chromium can play it, the quick version made 8 parts per
    ffmpeg run; beside it one ffmpeg run over all 200 parts (the quick version's old way,
    stopped at 64 parts: its first byte, and all of it) and the finished render (what the
    studio played past 64 parts). Then the quick version's loudness beside the finished."""
    found: dict[str, Any] = {}
    project = ProjectFiles(root)
    studio = Studio(project, port=0)
    httpd = make_server(studio)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{studio.port}"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(url + "/")
            job = project.open("paper")
            assert job is not None and job.timeline is not None
            started = time.perf_counter()
            project.preview(job)  # its recording measured once, as on any first visit
            found["paper_first_visit_measuring_s"] = round(time.perf_counter() - started, 3)
            found["paper_parts"] = len(job.timeline.clips)
            found["paper_seconds"] = round(job.timeline.duration, 1)
            data = edits.page_data(job.timeline)
            data["parts"].pop(7)
            _post_edit(url, "paper", studio, data)
            started = time.perf_counter()
            page.goto(url + "/ep/paper/hear", wait_until="commit")
            while not page.evaluate(
                "(document.getElementById('preview') || {readyState: 0}).readyState >= 3"
            ):
                page.wait_for_timeout(10)
            found["paper_playable_s"] = round(time.perf_counter() - started, 3)
            found["paper_playable_is_quick"] = (
                "quick version" in page.locator("#version-note").inner_text()
            )
            browser.close()
        job = project.open("paper")
        assert job is not None and job.timeline is not None
        made = project.preview(job)
        found["paper_grouped_first_byte_s"], found["paper_grouped_all_s"] = _first_byte(
            made.command, made.feed
        )
        sounds = clip_sounds(
            job.timeline,
            job.recordings,
            {n: recording_gain(job.loudness[n]) for n in job.timeline.sources()},
        )
        inputs, graph = joined(sounds, f",{MIX_CHAIN}[mix]")
        plan = plan_gain(estimated_mix(job.timeline, job.loudness, {
            n: recording_gain(job.loudness[n]) for n in job.timeline.sources()}))  # fmt: skip
        one = ["ffmpeg", "-nostdin", "-v", "error", *inputs, "-filter_complex",
               mixdown(graph, plan), "-map", "[out]", *preview_encode_args(), "-flush_packets",
               "1", "pipe:1"]  # fmt: skip
        found["paper_one_run_first_byte_s"], found["paper_one_run_all_s"] = _first_byte(one)
        started = time.perf_counter()
        finished = project.finish(job)
        found["paper_finished_s"] = round(time.perf_counter() - started, 3)
        while not made.quick.exists():
            time.sleep(0.5)  # kept by the page's listen
        quick = measure(["-i", made.quick, "-af", MEASURE_FILTER], "measuring", None, 700)
        done = measure(["-i", finished, "-af", MEASURE_FILTER], "measuring", None, 700)
        found["paper_quick_lufs"] = quick.integrated
        found["paper_finished_lufs"] = done.integrated
    finally:
        httpd.shutdown()
        httpd.server_close()
    return found


def _post_edit(url: str, slug: str, studio: Studio, data: dict[str, Any]) -> None:
    req = urllib.request.Request(
        url + f"/ep/{slug}/save",
        json.dumps(data).encode(),
        {"Content-Type": "application/json", "X-Studio-Token": studio.token},
    )
    with urllib.request.urlopen(req, timeout=600) as resp:
        assert json.loads(resp.read())["ok"]


def _interactive(url: str) -> float | None:
    """Seconds from asking Chromium for the page until its script has made the words
    usable (None when Chromium or Playwright is missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).exists():
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(url)  # warm the browser's own start-up
            started = time.perf_counter()
            page.goto(url, wait_until="load")
            while not page.evaluate("document.body.dataset.ready === 'yes'"):
                page.wait_for_timeout(5)
            return round(time.perf_counter() - started, 3)
        finally:
            browser.close()


def main() -> int:
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    write_results("studio-many" if only == "many" else "studio", run(only))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
