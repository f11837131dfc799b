"""Contributors' corrections over machine transcripts: names, misheard words, stale fixes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.project.corrections import apply, load_corrections
from pipeline.records import Transcript, Word


def transcript(*words: tuple[float, float, str]) -> Transcript:
    return Transcript("sha", "faster-whisper", "tiny.en", "en", tuple(Word(*w) for w in words))


def write(folder: Path, text: str) -> Path:
    (folder / "corrections.yaml").write_text(text, encoding="utf-8")
    return folder


ADVICE = transcript(
    (9.4, 9.7, "Your"),
    (9.8, 10.3, "personal"),
    (10.4, 11.0, "advisor"),
    (11.1, 11.3, "is"),
    (11.4, 11.8, "near,"),
    (12.0, 12.4, "Jordon."),
)


def test_names_and_timed_fix_applied(tmp_path: Path) -> None:
    write(
        tmp_path,
        "replace:\n"
        "  jordon: Jordan\n"
        "fixes:\n"
        "  - recording: advice.opus\n"
        "    at: 10.35-11.9\n"
        "    text: adviser is there,\n"
        "    was: advisor is near\n",
    )
    corrections = load_corrections(tmp_path)
    fixed, warnings = apply({"advice.opus": ADVICE}, corrections)
    assert warnings == []
    words = fixed["advice.opus"].words
    assert [w.text for w in words] == ["Your", "personal", "adviser", "is", "there,", "Jordan."]
    # The new words share the old ones' time and keep order.
    assert words[2].start == 10.4 and words[4].end == pytest.approx(11.8)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, words[1:], strict=False))


def test_fix_pointing_at_words_that_no_longer_exist_warns(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fixes:\n"
        "  - recording: advice.opus\n"
        "    at: 0:30-0:31.5\n"
        "    text: something\n"
        "  - recording: gone.m4a\n"
        "    at: 1-2\n"
        "    text: other\n"
        "replace:\n"
        "  Kingsdwon: Kingsdown\n",
    )
    fixed, warnings = apply({"advice.opus": ADVICE}, load_corrections(tmp_path))
    assert fixed["advice.opus"] == ADVICE  # nothing changed, and nothing silently
    assert len(warnings) == 3
    assert "corrections.yaml:2" in warnings[0] and "30-31.5 s" in warnings[0]
    assert "no words are there any more" in warnings[0]
    assert "corrections.yaml:5" in warnings[1] and "gone.m4a" in warnings[1]
    assert "corrections.yaml:9" in warnings[2] and "kingsdwon" in warnings[2]


def test_changed_words_under_a_fix_warn_but_apply(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fixes:\n  - recording: a\n    at: 9.5-10.5\n"
        "    text: Your personal\n    was: yer person\n",
    )
    fixed, warnings = apply({"a": ADVICE}, load_corrections(tmp_path))
    assert [w.text for w in fixed["a"].words][:3] == ["Your", "personal", "advisor"]
    assert len(warnings) == 1 and '"Your personal", not "yer person"' in warnings[0]


def test_multi_word_replacement(tmp_path: Path) -> None:
    write(tmp_path, "replace:\n  personal advisor: PA\n")
    fixed, warnings = apply({"a": ADVICE}, load_corrections(tmp_path))
    assert not warnings
    texts = [w.text for w in fixed["a"].words]
    assert texts == ["Your", "PA", "is", "near,", "Jordon."]
    assert fixed["a"].words[1].start == 9.8 and fixed["a"].words[1].end == 11.0


def test_no_file_means_no_corrections(tmp_path: Path) -> None:
    corrections = load_corrections(tmp_path)
    assert not corrections
    assert apply({"a": ADVICE}, corrections) == ({"a": ADVICE}, [])


def test_bad_file_reports_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        "replace:\n"
        "  Jordon: Jordan\n"
        "fixs:\n"
        "  - at: 1\n"
        "fixes:\n"
        "  - recording: a\n"
        "    at: 12.9-12.3\n"
        "    text: x\n"
        "  - recording: a\n"
        "    at: soon\n"
        "    text: y\n"
        "  - text: z\n",
    )
    with pytest.raises(InputError) as info:
        load_corrections(tmp_path)
    lines = {(p.line, p.message.split(" ")[0]) for p in info.value.problems}
    messages = " | ".join(str(p) for p in info.value.problems)
    assert "Did you mean `fixes`?" in messages
    assert {p.line for p in info.value.problems} == {3, 7, 10, 12}, lines
    assert "must start at 0 or later and end after it starts" in messages
    assert "`soon` is not a time range" in messages
    assert "a fix needs `recording`, `at`." in messages
