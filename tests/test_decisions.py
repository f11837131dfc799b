"""The contributors' decisions as functions: approval, consent and takedowns, redaction,
proposals. The same rules are tested end to end elsewhere (test_authority, test_consent,
test_takedown); here each is called directly, in milliseconds, on small records."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.edl import propose, redact
from pipeline.project import approval
from pipeline.project.ledger import Publication
from pipeline.project.people import Withdrawal
from pipeline.project.yamlfile import Problems
from pipeline.publish import takedown
from pipeline.records import (
    Chapter,
    Clip,
    Episode,
    Person,
    Recording,
    Redaction,
    Show,
    Soundbite,
    StorageTarget,
    Timeline,
)


def _recording(name: str, sha: str, path: Path = Path("x.m4a")) -> Recording:
    return Recording(path, name, sha, 10, 10.0, 10.0, "mov", "aac", 48000, 1)


def _timeline(edl: Path, *sources: str, redactions: tuple[Redaction, ...] = ()) -> Timeline:
    clips = tuple(Clip(s, 0.0, 2.0, 2.0 * i) for i, s in enumerate(sources))
    return Timeline(edl, "e" * 64, clips, (), redactions)


# --- approval -------------------------------------------------------------------------------


def test_approval_pins_the_edl_and_every_recording(tmp_path: Path) -> None:
    edl = tmp_path / "edl.yaml"
    timeline = _timeline(edl, "a.m4a", "b.m4a")
    recordings = {"a.m4a": _recording("a.m4a", "1" * 64), "b.m4a": _recording("b.m4a", "2" * 64)}
    approval.record(tmp_path, timeline, recordings, ("Sam", "Alex"))
    pinned = approval.read(tmp_path, Problems())
    assert pinned is not None and pinned.who() == "Sam, Alex"
    assert approval.changes(pinned, timeline, recordings) == []
    edited = replace(timeline, edl_sha256="f" * 64)
    assert approval.changes(pinned, edited, recordings) == ["the EDL edl.yaml was changed"]
    swapped = {**recordings, "b.m4a": _recording("b.m4a", "3" * 64)}
    assert approval.changes(pinned, timeline, swapped) == [
        "the recording b.m4a was replaced or changed"
    ]
    fewer = _timeline(edl, "a.m4a")
    assert approval.changes(pinned, fewer, recordings) == ["the recording b.m4a is no longer used"]
    with pytest.raises(ValueError):
        approval.parse_names(" , ")


def test_approval_pins_the_spellings_published_in_the_captions(tmp_path: Path) -> None:
    """A spelling changed after the contributors agreed (a name, or words slipped into
    the captions) stops the episode until they agree again, as an edited EDL does."""
    edl = tmp_path / "edl.yaml"
    timeline = _timeline(edl, "a.m4a")
    recordings = {"a.m4a": _recording("a.m4a", "1" * 64)}
    fixes = tmp_path / "corrections.yaml"
    fixes.write_text("replace:\n  Jordan: Jordyn\n", encoding="utf-8")
    approval.record(tmp_path, timeline, recordings, ("Sam",))
    pinned = approval.read(tmp_path, Problems())
    assert pinned is not None
    assert approval.changes(pinned, timeline, recordings, tmp_path) == []
    fixes.write_text("replace:\n  Jordan: somebody else\n", encoding="utf-8")
    assert approval.changes(pinned, timeline, recordings, tmp_path) == [
        "the spellings in corrections.yaml were changed"
    ]
    fixes.unlink()
    assert approval.changes(pinned, timeline, recordings, tmp_path) == [
        "corrections.yaml was removed"
    ]
    # no corrections when agreed, one added since
    approval.record(tmp_path, timeline, recordings, ("Sam",))
    bare = approval.read(tmp_path, Problems())
    assert bare is not None and bare.corrections_sha256 == ""
    fixes.write_text("replace:\n  a: b\n", encoding="utf-8")
    assert approval.changes(bare, timeline, recordings, tmp_path) == ["corrections.yaml was added"]
    # an approval from before spellings were pinned does not cover a corrections file
    older = replace(bare, corrections_sha256=None)
    assert approval.changes(older, timeline, recordings, tmp_path) == [
        "the spellings in corrections.yaml were not part of the approval "
        "(it was made by an older storycast)"
    ]
    fixes.unlink()
    assert approval.changes(older, timeline, recordings, tmp_path) == []


# --- consent: what must come down -----------------------------------------------------------


def _person(pid: str, voice: bool = True, face: bool = False) -> Person:
    day = datetime(2026, 1, 1).date()
    return Person(pid, "name", pid.title(), None, ("guest",), day if voice else None,
                  day if face else None)  # fmt: skip


def _show(tmp_path: Path) -> Show:
    episodes = tmp_path / "episodes"
    episodes.mkdir(exist_ok=True)
    return Show(tmp_path / "s.yaml", "show", "Show", "d", "a", "a", "", "en", "http://x",
                tmp_path / "a.jpg", "Arts", False, "http://x", StorageTarget("local:public"),
                episodes)  # fmt: skip


def _episode_folder(show: Show, slug: str, appearances: str) -> None:
    folder = show.episodes_dir / slug
    folder.mkdir()
    (folder / "episode.yaml").write_text(f"show: show\nappearances:\n{appearances}")


def test_who_must_come_down(tmp_path: Path) -> None:
    show = _show(tmp_path)
    _episode_folder(show, "kept", "  a.m4a: [ana]\n")
    _episode_folder(show, "gone", "  a.m4a: [ana, bo]\n")
    _episode_folder(show, "unconsented", "  a.m4a: [cy]\n")
    _episode_folder(show, "typo", "  a.m4a: [anna]\n")  # not in the people file: not ours
    people = {"ana": _person("ana"), "bo": _person("bo"), "cy": _person("cy", voice=False)}
    withdrawals = [Withdrawal("Bo", datetime.now(UTC), "Bo, by text")]  # any case
    published = {
        "deleted-folder": Publication(("bo",)),
        "dropped-person": Publication(("dee",)),  # published with dee, who left the file
        "video": Publication(("ana",), faces=("ana",)),
    }
    found = takedown.find(show, people, True, withdrawals, published)
    assert sorted(found) == ["deleted-folder", "dropped-person", "gone", "unconsented", "video"]
    assert found["gone"].kind == "consent" and found["gone"].requested_by == "Bo, by text"
    assert "consent was withdrawn for bo" in found["gone"].reason
    assert "no consent to publish the voice of cy" in found["unconsented"].reason
    assert "no longer in the people file" in found["dropped-person"].reason
    assert found["video"].kind == "face"  # ana consented to her voice, not her face
    # with the people file unreadable, only the withdrawals can be trusted
    assert sorted(takedown.find(show, {}, False, withdrawals, published)) == [
        "deleted-folder",
        "gone",
    ]


def test_the_audit_log_is_kept_twice_and_each_copy_mends_the_other(tmp_path: Path) -> None:
    """episodes/audit.jsonl and storycast's own copy: both written, both read; a line one
    lacks (the folder put back from an older copy, a line cut short by hand) goes back."""
    import json

    from pipeline.project import auditlog

    episodes = tmp_path / "episodes"
    episodes.mkdir()
    auditlog.append(episodes, {"action": "withdraw", "person": "alex"})
    auditlog.append(episodes, {"action": "takedown", "people": ["alex"]})
    mine, copy = episodes / "audit.jsonl", auditlog.copy_path(episodes)
    assert copy == tmp_path / ".storycast" / "audit" / "episodes.jsonl"
    assert mine.read_text() == copy.read_text() and len(mine.read_text().splitlines()) == 2
    first, second = mine.read_text().splitlines()
    mine.write_text(second[: len(second) // 2])  # the withdrawal gone, the takedown cut short
    assert [r["action"] for r in auditlog.read(episodes)] == ["withdraw", "takedown"]
    assert auditlog.restore(episodes) == 2
    lines = mine.read_text().splitlines()
    assert lines[1:] == [first, second]  # back, each on a line of its own
    assert [json.loads(line)["action"] for line in lines[1:]] == ["withdraw", "takedown"]
    assert auditlog.restore(episodes) == 0  # nothing left to mend
    copy.unlink()  # a log from before the copy was kept: the copy is made from it
    assert auditlog.restore(episodes) == 0
    assert copy.read_text().splitlines() == lines
    assert len(auditlog.read(episodes)) == 2  # each record once, the cut line skipped


def test_a_takedown_keeps_what_a_live_episode_shares(tmp_path: Path) -> None:
    from pipeline.cache import Cache

    cache = Cache(tmp_path / "cache")
    for sha in ("gone", "shared"):
        cache.put_json("probe", sha, {"x": 1})
        cache.put_json("transcripts", f"{sha}-tiny", {"recording_sha256": sha})
        cache.put_json("fingerprints", sha, {"recording_sha256": sha})
        cache.put_json("languages", f"{sha}-base", {"recording_sha256": sha, "language": "fr"})
    cache.put_json("languages", "older", {"language": "en"})  # names no recording
    removed = takedown.purge_caches(cache, {"gone", "shared"}, keep={"shared"})
    assert sorted(removed) == [
        "fingerprints/gone.json",
        "languages/gone-base.json",
        "languages/older.json",
        "probe/gone.json",
        "transcripts/gone-tiny.json",
    ]
    kept = (("probe", "shared"), ("fingerprints", "shared"), ("languages", "shared-base"))
    for kind, key in kept:
        assert cache.get_json(kind, key) is not None, kind


# --- redaction ------------------------------------------------------------------------------


def test_redaction_text_is_scrubbed_from_every_published_free_text_field(tmp_path: Path) -> None:
    episode = Episode(tmp_path, "ep", "show", "Jordan's flat", "JORDAN moved in.", None, None,
                      datetime.now(UTC), tmp_path / "edl.yaml")  # fmt: skip
    timeline = replace(
        _timeline(tmp_path / "edl.yaml", "a.m4a"),
        chapters=(Chapter(0.0, "Hi"), Chapter(1.0, "Jordan talks")),
        redactions=(Redaction("a.m4a", 0.5, 0.9, replacement="[name]", text="Jordan"),),
        soundbite=Soundbite(0.0, 1.0, "Ask jordan"),
    )
    scrubbed, cut, notes = redact.apply(episode, timeline)
    assert scrubbed.title == "[name]'s flat" and scrubbed.description == "[name] moved in."
    assert [c.title for c in cut.chapters] == ["Hi", "[name] talks"]
    assert cut.soundbite is not None and cut.soundbite.title == "Ask [name]"
    assert len(notes) == 4 and "chapter 2's title" in " ".join(notes)
    assert redact.scrub("Jordanna stays", timeline) == "Jordanna stays"  # whole words only


def test_a_longer_redaction_is_scrubbed_whole_and_however_it_is_spaced(tmp_path: Path) -> None:
    """A redaction of "Sam" before "Sam Haddad" in the EDL must not leave "[name] Haddad" in a
    title, and a name broken across a line or by a no-break space is still the name. The
    studio shows texts by the same rule, so what it shows hidden is what is published."""
    from pipeline.publish.outgoing import Term
    from pipeline.studio import view

    timeline = replace(
        _timeline(tmp_path / "edl.yaml", "a.m4a"),
        redactions=(
            Redaction("a.m4a", 0.5, 0.9, replacement="[name]", text="Sam"),
            Redaction("a.m4a", 1.5, 1.9, replacement="[removed]", text="Sam Haddad"),
        ),
    )
    for written in ("Sam Haddad's flat", "Sam\nHaddad's flat", "Sam\u00a0Haddad's flat",
                    "SAM  HADDAD's flat"):  # fmt: skip
        scrubbed = redact.scrub(written, timeline)
        assert scrubbed == "[removed]'s flat", (written, scrubbed)
        assert redact.hide_said(written, timeline.redactions) == scrubbed
    assert redact.scrub("Sam said hi to Samira", timeline) == "[name] said hi to Samira"
    assert not hasattr(view, "hide_said")  # one rule, in edl.redact, for both
    term = Term("Sam Haddad", "a redaction")
    assert term.found_in("met sam\u00a0 haddad") and not term.found_in("Sam Haddadi")


# --- proposals ------------------------------------------------------------------------------


def test_a_proposal_suggests_cutting_a_long_pause_and_changes_nothing(tmp_path: Path) -> None:
    wav = tmp_path / "pause.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
         "sine=f=300:d=1.5,apad=pad_dur=2.5[a];sine=f=300:d=1.5[b];[a][b]concat=v=0:a=1",
         wav],
        check=True,
    )  # fmt: skip
    recording = replace(_recording("pause.wav", "9" * 64, wav), duration=5.5)
    timeline = Timeline(tmp_path / "edl.yaml", "e" * 64, (Clip("pause.wav", 0.0, 5.5, 0.0),), ())
    data, reasons = propose.propose(timeline, {"pause.wav": recording})
    assert reasons and "could be shortened" in " ".join(reasons)
    clips = data["clips"]
    assert isinstance(clips, list) and len(clips) == 2  # the one clip, split around the pause
    assert timeline.clips == (Clip("pause.wav", 0.0, 5.5, 0.0),)  # the Timeline itself untouched
