"""Consent and credits: who is heard and named is the contributors' decision."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import podcastparser
import pytest
from lxml import etree

from pipeline.feed.build import PODCAST_NS

from conftest import Run, copy_example, copy_with_caches, storycast

SPECIAL_NAME = "Jordan & <Jo> \U0001f399\ufe0f \u05d2\u05f3\u05d5\u05e8\u05d3\u05df"
SPECIAL_TITLE = "Flats & <keys>: \U0001f511 \u0645\u0641\u062a\u0627\u062d"


def _people(root: Path, text: str) -> None:
    (root / "episodes" / "people.yaml").write_text(text)


@pytest.fixture(scope="module")
def consent_run(example_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """open-mic with Alex (the poet) having given no voice consent; first-flat normal."""
    root = copy_with_caches(example_run, tmp_path_factory.mktemp("consent"))
    people = (root / "episodes" / "people.yaml").read_text()
    people = people.replace(
        "    name: Alex Okafor\n    roles: [guest]\n    consent:\n      voice: 2026-11-01\n",
        "    name: Alex Okafor\n    roles: [guest]\n",
    )
    # a name with markup characters, emoji and right-to-left script
    people = people.replace("    name: Jordan\n", f"    name: {SPECIAL_NAME}\n")
    _people(root, people)
    episode = root / "episodes" / "first-flat" / "episode.yaml"
    episode.write_text(
        episode.read_text().replace("title: Getting your first flat", f'title: "{SPECIAL_TITLE}"')
    )
    return storycast(root, "publish")


def test_no_voice_consent_means_not_published(consent_run: Run) -> None:
    assert consent_run.returncode == 0, consent_run.stdout
    assert "TAKEN DOWN open-mic" in consent_run.stdout
    assert "no consent to publish the voice of alex" in consent_run.stdout
    assert "published  first-flat" in consent_run.stdout
    feed = (consent_run.public / "feeds" / "riverside-voices.xml").read_text()
    assert "Open mic night" not in feed
    assert not list(consent_run.public.rglob("open-mic-*"))


def test_only_chosen_credits_are_published(consent_run: Run) -> None:
    """Jordan by name, Sam by pseudonym, Casey not at all, anywhere."""
    feed = (consent_run.public / "feeds" / "riverside-voices.xml").read_text()
    root = etree.fromstring(feed.encode())
    persons = root.xpath("//podcast:person", namespaces={"podcast": PODCAST_NS})
    assert [(p.text, p.get("role")) for p in persons] == [
        (SPECIAL_NAME, "host"),
        ("Sam R.", "guest"),
    ]
    parsed = podcastparser.parse(
        "http://127.0.0.1:8000/feeds/riverside-voices.xml", io.BytesIO(feed.encode())
    )
    assert [e["title"] for e in parsed["episodes"]] == [SPECIAL_TITLE]
    for path in consent_run.public.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for hidden in ("casey", "Casey"):
                assert hidden.encode() not in data, path
                assert hidden.encode("utf-16-le") not in data, path


def test_a_person_missing_from_the_people_file_is_named(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    shutil.rmtree(root / "episodes" / "first-flat")
    episode = root / "episodes" / "open-mic" / "episode.yaml"
    episode.write_text(episode.read_text().replace("[alex]", "[alex, robin]"))
    run = storycast(root, "check")
    assert run.returncode == 1
    assert "episode.yaml:" in run.stdout
    assert "not in the people file: robin" in run.stdout


def test_a_recording_with_nobody_listed_cannot_be_published(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    shutil.rmtree(root / "episodes" / "first-flat")
    episode = root / "episodes" / "open-mic" / "episode.yaml"
    episode.write_text(episode.read_text().replace("  poem.m4a: [alex]\n", ""))
    run = storycast(root, "check")
    assert run.returncode == 1
    assert "say who speaks or is seen in poem.m4a" in run.stdout


def test_withdrawing_an_unknown_person_changes_nothing(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    run = storycast(root, "withdraw", "jordon", "--requested-by", "Jordan")
    assert run.returncode == 2
    assert "no person with the id `jordon`" in run.stderr
    assert "jordan" in run.stderr  # the ids that do exist
    assert not (root / "episodes" / "withdrawals.yaml").exists()


def test_people_file_mistakes_are_reported_with_lines(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    _people(
        root,
        "people:\n  - id: a\n    credit: nickname\n  - id: b\n    credit: name\n"
        "    roles: [hero]\n",
    )
    run = storycast(root, "check")
    assert run.returncode == 1
    assert "people.yaml:3: people[1].credit: `nickname` should be name" in run.stdout
    assert "people.yaml:4: people[2].name: `credit: name` but no `name:`" in run.stdout
    assert "people.yaml:6" in run.stdout and "`hero` is not a role" in run.stdout


def test_a_mistake_in_the_withdrawals_file_is_said_once_per_episode(tmp_path: Path) -> None:
    """Said once under each episode it stops (it was said twice: the people file's reading
    applies the withdrawals, and the run read them again)."""
    root = copy_example(tmp_path)
    (root / "episodes" / "withdrawals.yaml").write_text(
        "withdrawals:\n  - person: alex\n    requested_by: Alex\n    at: tomorrow\n"
    )
    run = storycast(root, "check")
    assert run.returncode == 1
    for slug in ("first-flat", "open-mic"):
        said = run.stdout[run.stdout.index(f"FAILED     {slug}") :].split("took ")[0]
        assert said.count("withdrawals.yaml:4: withdrawals[1].at: `tomorrow` is not a date") == 1
        assert said.count("this withdrawal of `alex` has no valid date") == 1, said


def test_withdrawal_takes_the_episode_down_everywhere(example_run: Run, tmp_path: Path) -> None:
    import hashlib
    import json

    root = copy_with_caches(example_run, tmp_path)
    first = storycast(root, "publish")
    assert first.returncode == 0, first.stdout
    assert list(first.public.rglob("open-mic-*.mp3"))
    poem = root / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    poem_sha = hashlib.sha256(poem.read_bytes()).hexdigest()
    cache = root / ".storycast" / "cache"
    assert any(poem_sha in p.read_text() for p in cache.rglob("transcripts/*.json"))

    said = storycast(root, "withdraw", "alex", "--requested-by", "Alex, by email to the council")
    assert said.returncode == 0, said.stderr
    run = storycast(root, "publish")
    assert run.returncode == 0, run.stdout
    assert "TAKEN DOWN open-mic" in run.stdout
    assert "consent was withdrawn for alex" in run.stdout
    assert "published  first-flat" in run.stdout

    feed = (run.public / "feeds" / "riverside-voices.xml").read_text()
    assert "Open mic night" not in feed and "Alex Okafor" not in feed
    assert not list(run.public.rglob("open-mic-*"))  # audio, captions, transcripts, chapters
    manifest = (run.public / "manifests" / "riverside-voices.json").read_text()
    assert "open-mic" not in manifest
    # nothing derived from the poet's recording is kept in the caches either
    for path in cache.rglob("*.json"):
        assert poem_sha not in path.read_text(), path
    log = [
        json.loads(line) for line in (root / "episodes" / "audit.jsonl").read_text().splitlines()
    ]
    withdrawal, entry = log  # the withdrawal, recorded as it was made; then the takedown
    assert withdrawal["action"] == "withdraw" and withdrawal["person"] == "alex"
    assert entry["action"] == "takedown" and entry["episode"] == "open-mic"
    assert entry["requested_by"] == "Alex, by email to the council"
    assert any(k.endswith(".mp3") for k in entry["removed_from_storage"])
    assert entry["at"]


def test_a_description_too_long_for_podcast_apps_is_named(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    episode = root / "episodes" / "open-mic" / "episode.yaml"
    text = episode.read_text().replace(
        "description: >-", "description: " + "Our story. " * 1000 + "\nold: >-"
    )
    episode.write_text(
        text.replace(
            "\nold: >-\n  Sam phones in from the open mic night at the "
            "youth hub, where everyone wrote\n  something about home.",
            "",
        )
    )
    run = storycast(root, "check")
    assert run.returncode == 1
    assert "episode.yaml:4: description: the description is 10,999 bytes" in run.stdout


def test_superseded_media_stays_for_apps_holding_the_old_feed(
    example_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-edit replaces an episode's files; the old ones stay until the grace period ends.
    A withdrawal (above) removes files at once."""
    import io as _io

    from pipeline import defaults
    from pipeline.orchestrator import publish_show

    root = copy_with_caches(example_run, tmp_path)
    shutil.rmtree(root / "episodes" / "first-flat")
    show_file = root / "feeds" / "riverside-voices.yaml"
    show_file.write_text(show_file.read_text() + "approval: optional\n")
    assert publish_show(show_file, root, _io.StringIO()).ok
    (old_mp3,) = list((root / "public").rglob("open-mic-*.mp3"))
    edl = root / "episodes" / "open-mic" / "edl.yaml"
    edl.write_text(edl.read_text().replace("out: 17.0", "out: 16.5"))

    assert publish_show(show_file, root, _io.StringIO()).ok
    feed = (root / "public" / "feeds" / "riverside-voices.xml").read_text()
    assert old_mp3.name not in feed  # the feed lists the new version...
    assert old_mp3.exists()  # ...and the old file is still there for a stale feed
    again = publish_show(show_file, root, _io.StringIO())
    assert again.uploaded == again.deleted == 0  # nothing changes within the grace period
    assert old_mp3.exists()

    monkeypatch.setattr(defaults, "RETIRE_SECONDS", 0)
    gone = publish_show(show_file, root, _io.StringIO())
    assert gone.deleted >= 1 and not old_mp3.exists()
    assert len(list((root / "public").rglob("open-mic-*.mp3"))) == 1
