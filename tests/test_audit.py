"""`storycast audit`: proof on what is actually published.

The example show is published, then one thing at a time is done to what is published (or
to the people, approvals and redactions behind it) the way a careless hand, a hostile
file or an unfinished takedown would, and the audit must find it: named by its check,
the file and what to do, with a non-zero exit. It reads the store, never the caches.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from mutagen.id3 import ID3, TXXX
from PIL import Image

from pipeline.orchestrator import publish_show
from pipeline.project import people
from pipeline.publish.audit import CHECKS as AUDIT_CHECKS

from conftest import Run, copy_with_caches, storycast
from kit.seaweed import PUBLIC, Seaweed, cli, configure, s3_client, s3_env
from kit.seaweed import seaweed as seaweed

SHOW = "riverside-voices"
CHECKS = ("consent", "text", "traces", "raw", "accounted", "approval")
PROMISES = dict(AUDIT_CHECKS)


def _audit(root: Path) -> tuple[int, dict[str, object]]:
    run = storycast(root, "audit", "--json")
    [report] = json.loads(run.stdout)
    return run.returncode, report


def _found(report: dict[str, object]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in report["findings"]:  # type: ignore[attr-defined]
        found.setdefault(f["check"], []).append(f"{f['where']}: {f['detail']}")
    return found


def test_the_example_show_passes_every_check(example_run: Run) -> None:
    assert "audit: all promises hold" in example_run.stdout
    run = storycast(example_run.root, "audit")
    assert run.returncode == 0, run.stdout
    assert "FOUND" not in run.stdout
    for line in (
        "OK     nothing of a withdrawn person",
        "OK     no redacted text",
        "OK     no location, device or time trace",
        "OK     no raw recording in public storage",
        "OK     every public file is in the manifest",
        "OK     every episode in the feed matches the contributors' approval",
    ):
        assert line in run.stdout, run.stdout
    code, report = _audit(example_run.root)
    assert code == 0 and report["ok"] is True
    assert report["episodes"] == ["first-flat", "open-mic"]
    assert report["read"] == report["objects"] - 2  # every file but the feed and manifest


@pytest.fixture
def project(example_run: Run, tmp_path: Path) -> Path:
    root = copy_with_caches(example_run, tmp_path / "p")
    assert publish_show(root / "feeds" / f"{SHOW}.yaml", root, io.StringIO()).ok
    return root


def _media(root: Path, pattern: str) -> Path:
    return next((root / "public" / "media" / SHOW).glob(pattern))


def _raw_recording(root: Path) -> str:
    poem = root / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    shutil.copy(poem, root / "public" / "media" / SHOW / "poem.m4a")
    return "raw"


def _raw_in_disguise(root: Path) -> str:
    poem = root / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    shutil.copy(poem, root / "public" / "media" / SHOW / "extra-0123456789abcdef.mp3")
    return "raw"


def _stray_file(root: Path) -> str:
    (root / "public" / "notes.txt").write_text("draft running order")
    return "accounted"


def _gps_in_an_mp3(root: Path) -> str:
    mp3 = _media(root, "first-flat-*.mp3")
    tags = ID3(mp3)
    tags.add(TXXX(encoding=3, desc="location", text=["+51.4545-002.5879/"]))
    tags.save(mp3)
    return "traces"


def _exif_in_the_artwork(root: Path) -> str:
    art = _media(root, "artwork-*.jpg")
    with Image.open(art) as img:
        exif = Image.Exif()
        exif[0x010F] = "Apple"  # Make
        exif[0x0110] = "iPhone 15"  # Model
        img.save(art, "JPEG", exif=exif.tobytes())
    return "traces"


def _a_name_kept_out(root: Path) -> str:
    roster = root / "episodes" / "people.yaml"
    roster.write_text(
        roster.read_text().replace(
            "  - id: casey\n    credit: none\n",
            "  - id: casey\n    credit: none\n    name: Casey Morgan\n",
        )
    )
    srt = _media(root, "first-flat-*.srt")
    srt.write_text(srt.read_text() + "\n99\n00:00:30,000 --> 00:00:31,000\nThanks, casey morgan.\n")
    return "text"


def _a_withdrawal_not_yet_published(root: Path) -> str:
    people.withdraw(root / "episodes", "alex", "Alex")
    return "consent"


def _an_approval_that_changed(root: Path) -> str:
    approval = root / "episodes" / "first-flat" / "approval.yaml"
    text = approval.read_text()
    start = text.index("edl_sha256: ") + len("edl_sha256: ")
    approval.write_text(text[:start] + "0" * 64 + text[start + 64 :])
    return "approval"


def _a_redaction_added_since(root: Path) -> str:
    edl = root / "episodes" / "first-flat" / "edl.yaml"
    edl.write_text(
        edl.read_text() + "redactions:\n  - source: interview.m4a\n    in: 14.2\n    out: 14.9\n"
    )
    return "text"


@pytest.mark.parametrize(
    "harm",
    [
        _raw_recording,
        _raw_in_disguise,
        _stray_file,
        _gps_in_an_mp3,
        _exif_in_the_artwork,
        _a_name_kept_out,
        _a_withdrawal_not_yet_published,
        _an_approval_that_changed,
        _a_redaction_added_since,
    ],
)
def test_each_broken_promise_is_found(project: Path, harm: Callable[[Path], str]) -> None:
    check = harm(project)
    code, report = _audit(project)
    found = _found(report)
    assert code == 1 and report["ok"] is False
    assert check in found, found
    assert set(found) <= set(CHECKS)
    text = storycast(project, "audit").stdout
    assert f"FOUND  {PROMISES[check]}" in text, text


def test_publish_reports_what_the_audit_finds(project: Path) -> None:
    _stray_file(project)
    run = storycast(project, "publish")
    assert run.returncode == 1
    assert "audit: FOUND 1 problems" in run.stdout
    assert "accounted: notes.txt" in run.stdout


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in s3_env().items():
        monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("s3_credentials")
def test_the_audit_reads_the_bucket(example_run: Run, tmp_path: Path, seaweed: Seaweed) -> None:
    root = copy_with_caches(example_run, tmp_path / "s3")
    configure(root, seaweed, "audit")
    run = cli(root, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "audit: all promises hold" in run.stdout
    clean = cli(root, "audit", "--json")
    assert clean.returncode == 0, clean.stdout
    poem = root / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    key = f"audit/media/{SHOW}/open-mic-feedfeedfeedfeed.mp3"
    client = s3_client(seaweed.endpoint)
    client.put_object(Bucket=PUBLIC, Key=key, Body=poem.read_bytes())
    shutil.rmtree(root / ".storycast")  # the audit never needs the caches
    try:
        found = cli(root, "audit", "--json")
    finally:
        client.delete_object(Bucket=PUBLIC, Key=key)  # the bucket is shared with other tests
    assert found.returncode == 1
    [report] = json.loads(found.stdout)
    checks = _found(report)
    assert any("is the raw recording open-mic/recordings/poem.m4a" in f for f in checks["raw"])
    assert "accounted" in checks
