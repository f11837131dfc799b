"""A red-team pass over the safeguarding promises: attacks the other tests do not try.

Each test is one way someone could keep a withdrawn story up, leak a raw recording or a
trace of where it was made, or make a redacted word readable somewhere. The example show
is published (its caches reused, so nothing is transcribed again), the attack is made
with real files, and what a listener could fetch is read back: the published folder, the
feed as podcastparser reads it, the pages. Each test says whether the promise held when
it was first tried, and what was fixed where it broke.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from pipeline.orchestrator import RunReport, publish_show

from conftest import Run, copy_with_caches, storycast

SHOW = "riverside-voices"
MEDIA = Path("media") / SHOW


def _publish(root: Path) -> RunReport:
    return publish_show(root / "feeds" / f"{SHOW}.yaml", root, io.StringIO())


def _status(report: RunReport, slug: str) -> tuple[str, str]:
    return next((j.status, j.reason) for j in report.jobs if j.slug == slug)


def _public(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root / "public")): p.read_bytes()
        for p in sorted((root / "public").rglob("*"))
        if p.is_file()
    }


def _audit(root: Path) -> tuple[int, dict[str, object]]:
    run = storycast(root, "audit", "--json")
    [report] = json.loads(run.stdout)
    return run.returncode, report


@pytest.fixture
def project(example_run: Run, tmp_path: Path) -> Path:
    """The example show, published into its own folder."""
    root = copy_with_caches(example_run, tmp_path / "p")
    report = _publish(root)
    assert report.ok, [(j.slug, j.status, j.reason) for j in report.jobs]
    return root


# --- the manifest ------------------------------------------------------------------------------


def test_no_published_file_carries_a_hash_of_a_raw_recording_or_edl(project: Path) -> None:
    """BROKE: the public manifest listed each episode's raw recordings by sha256 (and its
    EDL's), so anyone holding a copy of a recording could prove it is in the show and tie
    episodes together. Fixed: publish.plan keeps them only in the private ledger, which
    the audit's approval check now reads."""
    hashes = {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((project / "episodes").rglob("*"))
        if p.is_file() and (p.parent.name == "recordings" or p.name == "edl.yaml")
    }
    assert len(hashes) == 6
    for key, data in _public(project).items():
        for path, sha in hashes.items():
            assert sha[:12].encode() not in data, f"{key} has the sha256 of {path.name}"
    # the approval check still proves each published episode matches its approval
    code, report = _audit(project)
    assert code == 0 and report["ok"] is True, report
    approval = project / "episodes" / "first-flat" / "approval.yaml"
    text = approval.read_text()
    start = text.index("edl_sha256: ") + len("edl_sha256: ")
    approval.write_text(text[:start] + "0" * 64 + text[start + 64 :])
    code, report = _audit(project)
    assert code != 0
    assert any(
        f["check"] == "approval" and f["where"] == "first-flat"
        for f in report["findings"]  # type: ignore[attr-defined]
    ), report
