"""Nothing private gets out: one list of every text that leaves, and every byte checked.

A redaction's text put into every free-text field an episode has is scrubbed from all of
them; where it cannot be scrubbed (a replacement text, a credited name, the show file, the
folder name, a corrected transcript), the episode is refused with a plain message. Either
way the word is in no published byte, in UTF-8 or UTF-16. Names people asked to keep out
are treated the same way. The manifest holds no local path.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from pipeline.orchestrator import RunReport, publish_show
from pipeline.project import people
from pipeline.publish import outgoing
from pipeline.records import Person

from conftest import Run, copy_with_caches

SHOW = "riverside-voices"
WORD = "Zephyrine"


def _publish(root: Path) -> RunReport:
    return publish_show(root / "feeds" / f"{SHOW}.yaml", root, io.StringIO())


def _job(report: RunReport, slug: str) -> tuple[str, str]:
    job = next(j for j in report.jobs if j.slug == slug)
    return job.status, job.reason + " ".join(job.notes)


def _nowhere(public: Path, word: str = WORD) -> None:
    forms = [word.lower().encode(enc) for enc in ("utf-8", "utf-16-le", "utf-16-be")] + [
        word.encode(enc) for enc in ("utf-16-le", "utf-16-be")
    ]
    files = [p for p in public.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for form in forms:
            assert form not in data.lower() and form not in data, (path, form)


@pytest.fixture
def project(example_run: Run, tmp_path: Path) -> Path:
    """The example show, contributors' approval not required, first-flat with a redaction
    whose text is WORD (a word no one says)."""
    root = copy_with_caches(example_run, tmp_path / "p")
    show = root / "feeds" / f"{SHOW}.yaml"
    show.write_text(show.read_text() + "approval: optional\n")
    edl = root / "episodes" / "first-flat" / "edl.yaml"
    edl.write_text(
        edl.read_text()
        + f"""redactions:
  - source: interview.m4a
    in: 14.2
    out: 14.9
    mode: bleep
    replace_with: "[name removed]"
    text: {WORD}
"""
    )
    return root


def _set(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def test_every_free_text_field_is_scrubbed(project: Path) -> None:
    episode = project / "episodes" / "first-flat" / "episode.yaml"
    _set(episode, "title: Getting your first flat", f"title: {WORD} gets a first flat")
    _set(episode, "description: >-\n", f"description: >-\n  {WORD.upper()} says:\n")
    edl = project / "episodes" / "first-flat" / "edl.yaml"
    _set(edl, "title: Moving in", f"title: {WORD} moves in")
    _set(edl, "title: The hardest part of moving in", f"title: What {WORD.lower()} found hard")
    report = _publish(project)
    status, said = _job(report, "first-flat")
    assert status == "published", said
    for where in ("episode title", "episode description", "chapter 2's title", "soundbite title"):
        assert f"redacted text was removed from the {where}" in said or where in said, said
    _nowhere(project / "public")
    feed = (project / "public" / "feeds" / f"{SHOW}.xml").read_text()
    assert "[name removed] gets a first flat" in feed
    assert "What [name removed] found hard" in feed  # podcast:soundbite


@pytest.mark.parametrize(
    "where",
    ["replacement", "corrections", "show author", "pseudonym", "folder name"],
)
def test_a_field_that_cannot_be_scrubbed_stops_the_episode(project: Path, where: str) -> None:
    folder = project / "episodes" / "first-flat"
    slug = "first-flat"
    if where == "replacement":
        _set(folder / "edl.yaml", '"[name removed]"', f'"[{WORD} removed]"')
        expect = "a redaction's replacement text"
    elif where == "corrections":
        _set(folder / "corrections.yaml", "Ask for help early", f"Ask {WORD} for help early")
        expect = "heard at 0:"
    elif where == "show author":
        _set(
            project / "feeds" / f"{SHOW}.yaml", "author: Riverside", f"author: {WORD} and Riverside"
        )
        expect = "the show's author"
    elif where == "pseudonym":
        # (a redaction holds for its episode: Sam's chosen credit may stand in another one)
        shutil.rmtree(project / "episodes" / "open-mic")
        _set(project / "episodes" / "people.yaml", "pseudonym: Sam R.", f"pseudonym: {WORD} R.")
        expect = "a credited name"
    else:
        slug = f"{WORD.lower()}-flat"
        shutil.move(folder, project / "episodes" / slug)
        expect = "folder name"
    report = _publish(project)
    status, said = _job(report, slug)
    assert status == "failed", said
    assert expect in said and "redaction at edl.yaml line" in said, said
    assert WORD not in said  # the message says where, never the word itself
    if where == "show author":  # the show's texts go with every episode: nothing goes out
        assert not report.ok and "Nothing was written" in report.publish_error
        assert not (project / "public" / "feeds").exists()
        return
    _nowhere(project / "public")
    if where != "pseudonym":
        assert _job(report, "open-mic")[0] == "published"  # one episode's problem stops no other


def test_names_people_asked_to_keep_out_are_published_nowhere(project: Path) -> None:
    roster = project / "episodes" / "people.yaml"
    _set(
        roster,
        "  - id: casey\n    credit: none\n",
        "  - id: casey\n    credit: none\n    name: Casey Morgan\n",
    )
    episode = project / "episodes" / "first-flat" / "episode.yaml"
    _set(episode, "description: >-\n", "description: >-\n  With thanks to casey morgan.\n")
    report = _publish(project)
    status, said = _job(report, "first-flat")
    assert status == "failed" and "a name the person asked not to be published" in said, said
    assert "people.yaml line" in said and "Casey" not in said
    _nowhere(project / "public", "Casey Morgan")


def test_a_withdrawn_persons_name_in_a_kept_episode_takes_it_down(
    example_run: Run, tmp_path: Path
) -> None:
    root = copy_with_caches(example_run, tmp_path / "p")
    show = root / "feeds" / f"{SHOW}.yaml"
    show.write_text(show.read_text() + "approval: optional\n")
    episode = root / "episodes" / "first-flat" / "episode.yaml"
    _set(episode, "description: >-\n", "description: >-\n  Alex Okafor reads next week.\n")
    assert _publish(root).ok
    people.withdraw(root / "episodes", "alex", "Alex")
    report = _publish(root)
    assert _job(report, "open-mic")[0] == "withdrawn"  # the takedown is not held up
    assert _job(report, "first-flat")[0] == "failed"
    # its kept version names the person: it comes down meanwhile (takedown.name_holds), so
    # the feed is written without it and the name is published nowhere
    notes = next(j.notes for j in report.jobs if j.slug == "first-flat")
    assert any("asked not to be published" in n and "taken down" in n for n in notes), notes
    assert report.publish_error == ""
    _nowhere(root / "public", "Alex Okafor")


def test_the_manifest_holds_no_local_path(example_run: Run) -> None:
    manifest = (example_run.public / "manifests" / f"{SHOW}.json").read_text()
    assert str(example_run.root) not in manifest and "/tmp" not in manifest
    for episode in json.loads(manifest)["episodes"].values():
        assert "folder" not in episode["episode"] and "edl" not in episode["episode"]


def test_name_terms_follow_the_credit_rules() -> None:
    def person(pid: str, credit: str, name: str | None, pseudonym: str | None) -> Person:
        return Person(pid, credit, name, pseudonym, ("guest",), None, None, line=3)  # type: ignore[arg-type]

    roster = [
        person("a", "name", "Ann Lee", "Annie"),
        person("b", "pseudonym", "Bo Tan", "BT"),
        person("c", "none", "Cy Ray", "Cee"),
    ]
    texts = {t.text for t in outgoing.name_terms(roster)}
    assert texts == {"Bo Tan", "Cy Ray", "Cee"}  # a pseudonym stays a secret for credit: none
    gone = {t.text for t in outgoing.name_terms(roster, withdrawn={"a"})}
    assert {"Ann Lee", "Annie"} <= gone  # nothing of someone who withdrew
    [term] = [t for t in outgoing.name_terms(roster) if t.text == "Cy Ray"]
    assert term.pattern().search("thanks to CY RAY!") and not term.pattern().search("Cy Rayner")
