"""A withdrawal always takes down, completely, and says so only when it is true.

Each test publishes the example show (reusing the example run's caches, so nothing is
transcribed again), then tries one way a withdrawn episode could stay up: an EDL changed
after approval, a deleted recording or folder, a broken EDL, another episode breaking
the store step, hand edits, a run interrupted in the middle, a file that will not
delete, an earlier version kept for stale feeds, a damaged withdrawals file. Afterwards
the feed is read by podcastparser, the published folder is searched, and the audit log
is read.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import podcastparser
import pytest

from pipeline.errors import Problem, StoreError
from pipeline.orchestrator import RunReport, publish_show
from pipeline.project import auditlog, people
from pipeline.store.local import LocalStore

from conftest import Run, copy_with_caches, storycast

SHOW = "riverside-voices"
FEED = Path("feeds") / f"{SHOW}.xml"
MANIFEST = Path("manifests") / f"{SHOW}.json"


def _show_file(root: Path) -> Path:
    return root / "feeds" / f"{SHOW}.yaml"


def _publish(root: Path) -> RunReport:
    return publish_show(_show_file(root), root, io.StringIO())


@pytest.fixture
def project(example_run: Run, tmp_path: Path) -> Path:
    """The example show, published into its own folder."""
    root = copy_with_caches(example_run, tmp_path / "p")
    report = _publish(root)
    assert report.ok, [(j.slug, j.status, j.reason) for j in report.jobs]
    assert list((root / "public").rglob("open-mic-*.mp3"))
    return root


def _withdraw_alex(root: Path) -> None:
    people.withdraw(root / "episodes", "alex", "Alex, by phone")


def _files(root: Path, slug: str) -> list[Path]:
    return sorted((root / "public").rglob(f"{slug}-*"))


def _audit(root: Path) -> list[dict[str, object]]:
    """What was done (the audit log without its records of what was asked)."""
    return [e for e in auditlog.read(root / "episodes") if e["action"] != "withdraw"]


def _status(report: RunReport, slug: str) -> str:
    return next(j.status for j in report.jobs if j.slug == slug)


def assert_open_mic_gone(root: Path) -> None:
    """Nothing of the poet's episode in the feed (as an app reads it), the files or the
    manifest."""
    feed = (root / "public" / FEED).read_bytes()
    parsed = podcastparser.parse("http://127.0.0.1:8000/feeds/x.xml", io.BytesIO(feed))
    assert [e["title"] for e in parsed["episodes"]] == ["Getting your first flat"]
    assert b"open-mic" not in feed and b"Alex Okafor" not in feed
    assert _files(root, "open-mic") == []
    assert b"open-mic" not in (root / "public" / MANIFEST).read_bytes()


def test_a_withdrawal_beats_an_edl_changed_since_approval(project: Path) -> None:
    edl = project / "episodes" / "open-mic" / "edl.yaml"
    edl.write_text(edl.read_text() + "\n# re-edited after approval\n")
    _withdraw_alex(project)
    report = _publish(project)
    assert _status(report, "open-mic") == "withdrawn"
    assert report.ok
    assert_open_mic_gone(project)


def test_a_withdrawal_beats_a_deleted_recording_and_purges_its_caches(project: Path) -> None:
    poem = project / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    sha = hashlib.sha256(poem.read_bytes()).hexdigest()
    cache = project / ".storycast" / "cache"
    assert any(sha in p.read_text() for p in cache.rglob("*.json"))
    poem.unlink()
    _withdraw_alex(project)
    report = _publish(project)
    assert _status(report, "open-mic") == "withdrawn", report.jobs
    assert_open_mic_gone(project)
    # the approval and the record of what was published still name the recording
    assert not any(sha in p.read_text() for p in cache.rglob("*.json"))
    assert not list(cache.rglob(f"*{sha}*"))


@pytest.mark.parametrize("damage", ["broken EDL", "folder deleted"])
def test_a_withdrawal_needs_no_valid_edl_nor_the_episode_folder(project: Path, damage: str) -> None:
    folder = project / "episodes" / "open-mic"
    if damage == "broken EDL":
        (folder / "edl.yaml").write_text("clips: [\n  - source: poem.m4a\n")
    else:
        shutil.rmtree(folder)
    _withdraw_alex(project)
    report = _publish(project)
    assert _status(report, "open-mic") == "withdrawn"
    assert report.ok
    assert_open_mic_gone(project)
    [entry] = _audit(project)
    assert entry["episode"] == "open-mic" and entry["complete"] is True
    assert any(str(k).endswith(".mp3") for k in entry["removed_from_storage"])  # type: ignore[attr-defined]


def test_another_episodes_store_failure_cannot_keep_it_up(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    episode = project / "episodes" / "first-flat" / "episode.yaml"
    _set_title(episode, "Getting your first flat (updated)")
    _withdraw_alex(project)

    def broken(self: LocalStore, key: str, path: Path, *args: object) -> object:
        raise StoreError(Problem(None, "the disk is full"))

    monkeypatch.setattr(LocalStore, "put_file", broken)  # the store step for the others
    report = _publish(project)
    assert not report.ok and "the disk is full" in report.publish_error
    assert _status(report, "open-mic") == "withdrawn"  # taken down, and that is true:
    feed = (project / "public" / FEED).read_bytes()
    assert b"open-mic" not in feed and b"Open mic night" not in feed
    assert b"Getting your first flat</title>" in feed  # the previous version of the other
    assert _files(project, "open-mic") == []


def test_a_control_character_in_a_title_is_refused_at_its_line(project: Path) -> None:
    episode = project / "episodes" / "first-flat" / "episode.yaml"
    _set_title(episode, '"Getting your first flat\\a"')
    run = storycast(project, "check")
    assert run.returncode == 1
    assert "episode.yaml:3: title: holds a control character (U+0007)" in run.stdout


def _set_title(episode: Path, title: str) -> None:
    text = episode.read_text()
    assert "title: Getting your first flat\n" in text
    episode.write_text(text.replace("title: Getting your first flat\n", f"title: {title}\n"))


def test_hand_edits_elsewhere_cannot_stop_it(project: Path) -> None:
    mp3 = next(p for p in _files(project, "first-flat") if p.suffix == ".mp3")
    mp3.write_bytes(mp3.read_bytes() + b"edited by hand")
    poem = project / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    sha = hashlib.sha256(poem.read_bytes()).hexdigest()
    _withdraw_alex(project)
    run = storycast(project, "publish")
    assert run.returncode == 1  # the hand edit is reported...
    assert mp3.name in run.stdout and "changed by hand" in run.stdout
    assert mp3.read_bytes().endswith(b"edited by hand")  # ...and left alone
    assert "TAKEN DOWN open-mic" in run.stdout
    assert _files(project, "open-mic") == []
    [entry] = _audit(project)
    assert entry["removed_from_storage"] and entry["removed_from_cache"]
    cache = project / ".storycast" / "cache"
    assert not any(sha in p.read_text() for p in cache.rglob("*.json"))
    again = storycast(project, "publish")
    assert len(_audit(project)) == 1  # nothing more to do, so nothing more recorded
    assert "TAKEN DOWN open-mic" in again.stdout


def test_a_feed_changed_by_hand_loses_the_episode_but_keeps_the_change(project: Path) -> None:
    feed = project / "public" / FEED
    feed.write_text(feed.read_text().replace("Stories from young people", "HAND EDIT Stories"))
    _withdraw_alex(project)
    report = _publish(project)
    assert _status(report, "open-mic") == "withdrawn"
    text = feed.read_text()
    assert "HAND EDIT Stories" in text and "open-mic" not in text
    assert "Getting your first flat" in text
    assert not report.ok and "changed by hand" in report.publish_error
    # the next publish reports it again and still does not overwrite it
    again = _publish(project)
    assert not again.ok and "HAND EDIT Stories" in feed.read_text()


def test_an_interrupted_takedown_is_finished_by_the_next_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = json.loads((project / "public" / MANIFEST).read_text())
    keys = {f["key"] for f in manifest["episodes"]["open-mic"]["files"].values()}
    assert len(keys) >= 5
    _withdraw_alex(project)
    real_delete = LocalStore.delete
    calls: list[str] = []

    def killed_after_two(self: LocalStore, key: str) -> None:
        if len(calls) == 2:
            raise KeyboardInterrupt  # the producer pressed Ctrl-C mid-takedown
        calls.append(key)
        real_delete(self, key)

    monkeypatch.setattr(LocalStore, "delete", killed_after_two)
    with pytest.raises(KeyboardInterrupt):
        _publish(project)
    monkeypatch.setattr(LocalStore, "delete", real_delete)
    left = _files(project, "open-mic")
    assert left and len(left) == len(keys) - 2
    assert b"open-mic" not in (project / "public" / FEED).read_bytes()  # the feed went first

    report = _publish(project)
    assert _status(report, "open-mic") == "withdrawn" and report.ok
    assert_open_mic_gone(project)
    removed = {k for e in _audit(project) for k in e["removed_from_storage"]}  # type: ignore[attr-defined]
    assert keys <= removed


def test_a_file_that_will_not_delete_stops_nothing_else(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mp3 = next(p for p in _files(project, "open-mic") if p.suffix == ".mp3")
    _withdraw_alex(project)
    real_delete = LocalStore.delete

    def stuck(self: LocalStore, key: str) -> None:
        if key.endswith(mp3.name):
            raise StoreError(Problem(None, "permission denied"))
        real_delete(self, key)

    monkeypatch.setattr(LocalStore, "delete", stuck)
    report = _publish(project)
    assert not report.ok
    job = next(j for j in report.jobs if j.slug == "open-mic")
    assert job.status == "failed" and "NOT fully taken down" in job.reason
    assert mp3.name in job.reason
    assert _files(project, "open-mic") == [mp3]  # everything else went
    assert b"open-mic" not in (project / "public" / FEED).read_bytes()
    assert _audit(project)[-1]["complete"] is False

    monkeypatch.setattr(LocalStore, "delete", real_delete)
    report = _publish(project)
    assert _status(report, "open-mic") == "withdrawn" and report.ok
    assert_open_mic_gone(project)
    assert _audit(project)[-1]["complete"] is True


def test_every_earlier_version_goes_at_once(project: Path) -> None:
    show_file = _show_file(project)
    show_file.write_text(show_file.read_text() + "approval: optional\n")
    edl = project / "episodes" / "open-mic" / "edl.yaml"
    edl.write_text(edl.read_text().replace("out: 17.0", "out: 16.5"))
    assert _publish(project).ok
    assert len([p for p in _files(project, "open-mic") if p.suffix == ".mp3"]) == 2  # retired
    _withdraw_alex(project)
    report = _publish(project)
    assert _status(report, "open-mic") == "withdrawn" and report.ok
    assert_open_mic_gone(project)
    assert "open-mic" not in json.dumps(json.loads((project / "public" / MANIFEST).read_text()))


def test_a_damaged_withdrawals_file_still_takes_down(project: Path) -> None:
    (project / "episodes" / "withdrawals.yaml").write_text(
        "withdrawals:\n  - person: alex\n    at: [not a date\n"
    )
    report = _publish(project)
    assert _status(report, "open-mic") == "withdrawn"
    assert_open_mic_gone(project)
    assert not report.ok  # nothing else goes out while the record is damaged
    assert _status(report, "first-flat") == "failed"


def test_raw_recordings_are_named_then_erased_on_request(project: Path) -> None:
    poem = project / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    said = storycast(project, "withdraw", "alex", "--requested-by", "Alex")
    assert said.returncode == 0, said.stderr
    run = storycast(project, "publish")
    assert "TAKEN DOWN open-mic" in run.stdout
    assert "episodes/open-mic/recordings/poem.m4a" in run.stdout
    assert "--erase-recordings" in run.stdout
    assert poem.exists()

    refused = storycast(project, "withdraw", "alex", "--requested-by", "Alex", "--erase-recordings")
    assert refused.returncode == 1 and "--yes" in refused.stderr and poem.exists()
    erased = storycast(
        project, "withdraw", "alex", "--requested-by", "Alex", "--erase-recordings", "--yes"
    )
    assert erased.returncode == 0, erased.stdout + erased.stderr
    assert "already withdrawn" in erased.stdout
    assert not poem.exists()
    assert (project / "episodes" / "first-flat" / "recordings" / "interview.m4a").exists()
    entry = _audit(project)[-1]
    assert entry["action"] == "erase_recordings" and entry["person"] == "alex"
    assert any(str(d).endswith("poem.m4a") for d in entry["deleted"])  # type: ignore[attr-defined]
    assert len(people.load_withdrawals(project / "episodes")[0]) == 1  # recorded once


def test_editing_the_records_by_hand_cannot_bring_it_back(project: Path) -> None:
    """After a takedown: the withdrawals file deleted, and the person taken out of the
    episode's appearances. The recording they are in still never goes out."""
    _withdraw_alex(project)
    assert _status(_publish(project), "open-mic") == "withdrawn"
    (project / "episodes" / "withdrawals.yaml").unlink()
    episode = project / "episodes" / "open-mic" / "episode.yaml"
    episode.write_text(episode.read_text().replace("poem.m4a: [alex]", "poem.m4a: []"))
    report = _publish(project)
    status = next(j for j in report.jobs if j.slug == "open-mic")
    assert status.status == "withdrawn", status.reason
    assert "poem.m4a was taken down because alex withdrew" in status.reason
    assert_open_mic_gone(project)
    # and the withdrawal itself still holds for everything else alex is in
    assert [w.person for w in people.load_withdrawals(project / "episodes")[0]] == ["alex"]


def test_a_feed_broken_by_hand_is_rebuilt_without_the_episode(project: Path) -> None:
    feed = project / "public" / FEED
    feed.write_bytes(feed.read_bytes()[: len(feed.read_bytes()) // 2])  # cut off mid-way
    assert b"open-mic" in feed.read_bytes()
    _withdraw_alex(project)
    report = _publish(project)
    assert _status(report, "open-mic") == "withdrawn"
    text = feed.read_text()
    assert "open-mic" not in text and "Getting your first flat" in text
    assert text.rstrip().endswith("</rss>")  # whole again, from what the manifest records
    assert_open_mic_gone(project)


def test_a_redaction_added_after_publishing_holds_at_once(project: Path) -> None:
    """The contributors add a redaction; the new edit waits for their approval. Meanwhile
    the published version, which lacks it, comes down; approved, the new edit goes out."""
    edl = project / "episodes" / "open-mic" / "edl.yaml"
    edl.write_text(
        edl.read_text() + "redactions:\n  - source: poem.m4a\n    in: 2.0\n    out: 2.6\n"
    )
    report = _publish(project)
    job = next(j for j in report.jobs if j.slug == "open-mic")
    assert job.status == "skipped" and "changed since" in job.reason
    assert any("a redaction was added" in n for n in job.notes), job.notes
    assert_open_mic_gone(project)
    assert storycast(project, "audit").returncode == 0
    assert storycast(project, "approve", "open-mic", "--by", "Sam,Alex").returncode == 0
    again = _publish(project)
    assert _status(again, "open-mic") == "published" and again.ok
    assert len([p for p in _files(project, "open-mic") if p.suffix == ".mp3"]) == 1


def test_a_manifest_edited_by_hand_cannot_make_a_takedown_delete_anything_else(
    project: Path,
) -> None:
    manifest = project / "public" / MANIFEST
    data = json.loads(manifest.read_text())
    others = [f["key"] for f in data["episodes"]["first-flat"]["files"].values()]
    data["takedowns"] = {"open-mic": {"keys": [*others, f"feeds/{SHOW}.xml", "../outside"]}}
    data["retired"] = {others[0]: {"episode": "open-mic", "since": "2020-01-01T00:00:00+00:00"}}
    manifest.write_text(json.dumps(data))
    report = _publish(project)
    # a takedown once begun is finished (here, one the manifest claims), but only ever of
    # the episode's own files
    assert _status(report, "open-mic") == "withdrawn"
    for key in others:
        assert (project / "public" / key).exists(), key
    assert (project / "public" / FEED).exists()
    assert "Getting your first flat" in (project / "public" / FEED).read_text()
    # with nothing pending and no one withdrawn, the next publish puts it back
    assert _status(_publish(project), "open-mic") == "published"


def test_a_recording_shared_with_an_episode_the_person_is_not_in_stays(
    project: Path,
) -> None:
    """Alex is in open-mic's poem only. Sam's phone call, copied into a new episode of
    Sam's own, is not held back by Alex's withdrawal, nor measured or transcribed again."""
    call = project / "episodes" / "open-mic" / "recordings" / "phone-call.3gp"
    folder = project / "episodes" / "sams-call"
    (folder / "recordings").mkdir(parents=True)
    shutil.copy(call, folder / "recordings" / "phone-call.3gp")
    (folder / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Sam calls in\npublished: 2026-11-20\n"
        "appearances:\n  phone-call.3gp: [sam]\n"
    )
    (folder / "edl.yaml").write_text(
        "clips:\n  - source: phone-call.3gp\n    in: 0\n    out: 9.3\n"
    )
    show = project / "feeds" / f"{SHOW}.yaml"
    show.write_text(show.read_text() + "approval: optional\n")
    assert _publish(project).ok
    _withdraw_alex(project)
    report = _publish(project)
    assert _status(report, "open-mic") == "withdrawn"
    assert _status(report, "sams-call") == "published", report.jobs
    cache = project / ".storycast" / "cache"
    sha = hashlib.sha256(call.read_bytes()).hexdigest()
    assert any(sha in p.read_text() for p in cache.rglob("transcripts/*.json"))
    stamps = {p: p.stat().st_mtime_ns for p in cache.rglob("*")}
    again = _publish(project)  # nothing made again after the takedown
    assert _status(again, "sams-call") == "published"
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*")} == stamps
