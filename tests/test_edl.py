"""The native YAML EDL and the rules around it, read as a volunteer writes them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline import edl
from pipeline.edl.check import resolve_source
from pipeline.errors import InputError
from pipeline.project.yamlfile import parse_time
from pipeline.records import Timeline


def _read(tmp_path: Path, text: str) -> Timeline:
    path = tmp_path / "edl.yaml"
    path.write_text(text)
    return edl.read(path)


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        _read(tmp_path, text)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("12", 12.0),
        ("12.5", 12.5),
        ("1:02.5", 62.5),
        ("01:02:03.250", 3723.25),
        ("0:00", 0.0),
        ("90:00", 5400.0),
    ],
)
def test_times_in_the_forms_people_write(text: str, seconds: float) -> None:
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "1:75", "1::2", "nan", "inf", "1:2:3:4"])
def test_things_that_are_not_times(text: str) -> None:
    assert parse_time(text) is None


def test_clips_play_in_order_and_add_up(tmp_path: Path) -> None:
    timeline = _read(
        tmp_path,
        """
clips:
  - source: a.m4a
    in: 1:00
    out: 1:10.5
    fade_in: 0.5
  - source: b.opus
    in: 3
    out: 5
chapters:
  - at: 0
    title: Start
  - at: 10.5
    title: Second
""",
    )
    assert [(c.source, c.src_in, c.src_out, c.start) for c in timeline.clips] == [
        ("a.m4a", 60.0, 70.5, 0.0),
        ("b.opus", 3.0, 5.0, 10.5),
    ]
    assert timeline.duration == pytest.approx(12.5)
    assert timeline.clips[0].fade_in == 0.5
    assert [c.line for c in timeline.clips] == [3, 7]
    assert [(ch.start, ch.title) for ch in timeline.chapters] == [(0, "Start"), (10.5, "Second")]
    assert len(timeline.edl_sha256) == 64


def test_a_typo_in_a_field_name_is_named_with_a_suggestion(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "clips:\n  - source: a.m4a\n    in: 0\n    ouut: 3\n")
    assert any("edl.yaml:4: clips[1].ouut:" in e and "Did you mean `out`?" in e for e in errors)


@pytest.mark.parametrize(("written", "meant"), [("5,4", "5.4"), ("1:02,5", "1:02.5")])
def test_a_decimal_comma_is_named_with_the_time_meant(
    tmp_path: Path, written: str, meant: str
) -> None:
    """Written as many volunteers write decimals: the message says how, with their time."""
    errors = _errors(tmp_path, f"clips:\n  - source: a.m4a\n    in: 0\n    out: {written}\n")
    [error] = [e for e in errors if "clips[1].out" in e]
    assert f"`{written}` is not a time: its decimal point is a comma." in error, error
    assert f"Write it with a dot: `{meant}`." in error, error
    assert parse_time(meant) is not None


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        """clips:
  - source: a.m4a
    in: 5
    out: 2
  - source: b.m4a
    in: -1
    out: 3
  - source: c.m4a
    in: 0
    out: 1
    fade_in: 2
chapters:
  - at: 3
    title: B
  - at: 1
    title: A
""",
    )
    joined = "\n".join(errors)
    assert "edl.yaml:4: clips[1].out:" in joined
    assert "edl.yaml:6: clips[2].in:" in joined
    assert "edl.yaml:8: clips[3]: the fades" in joined
    assert "edl.yaml:15: chapters[2].at:" in joined
    assert len(errors) == 4


def test_missing_fields_and_empty_lists(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "clips:\n  - source: a.m4a\n    in: 0\n")
    assert any("no `out`" in e for e in errors)
    assert any("empty list" in e for e in _errors(tmp_path, "clips: []\n"))
    assert any("has no `clips:`" in e for e in _errors(tmp_path, "chapters: []\n"))
    assert any("is empty" in e for e in _errors(tmp_path, "\n"))


def test_a_tab_or_bad_indent_names_the_line(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "clips:\n  - source: a.m4a\n\tin: 0\n")
    assert any("edl.yaml:3" in e and "not valid YAML" in e for e in errors)


def test_a_control_character_is_named_with_its_line(tmp_path: Path) -> None:
    """A file with a NUL or bell in it (a binary file saved under the name, or a copy cut
    off by a phone): named as not text, with the line, not as a YAML error's class name."""
    errors = _errors(tmp_path, "clips:\n  - source: a.m4a\n    in: 0\x00\n    out: 3\n")
    assert any(
        "edl.yaml:3" in e
        and "not a text file: it holds a control character (code 0)" in e
        and "save it as plain text" in e
        for e in errors
    ), errors


def test_not_utf8_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "edl.yaml"
    path.write_bytes("clips:\n  - source: caf\u00e9.m4a\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        edl.read(path)
    assert "edl.yaml:2: is not UTF-8" in str(info.value)


def test_an_unknown_edl_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "edl.txt"
    path.write_text("x")
    with pytest.raises(InputError, match="cannot read EDLs of type `.txt`"):
        edl.read(path)


def test_sources_cannot_leave_the_recordings_folder(tmp_path: Path) -> None:
    rec = tmp_path / "ep" / "recordings"
    rec.mkdir(parents=True)
    (rec / "ok.m4a").write_bytes(b"x")
    outside = tmp_path / "secret.m4a"
    outside.write_bytes(b"x")
    os.symlink(outside, rec / "link.m4a")
    assert resolve_source(rec, "ok.m4a") == rec / "ok.m4a"
    assert "outside" in str(resolve_source(rec, "../../secret.m4a"))
    assert "absolute" in str(resolve_source(rec, str(outside)))
    assert "outside" in str(resolve_source(rec, "link.m4a"))


@pytest.mark.parametrize(
    ("size", "mode", "fmt", "name", "expected"),
    [
        ((800, 800), "RGB", "JPEG", "art.jpg", "800x800 pixels"),
        ((1400, 1200), "RGB", "JPEG", "art.jpg", "not square"),
        ((1400, 1400), "CMYK", "JPEG", "art.jpg", "CMYK colour model"),
        ((1400, 1400), "RGB", "PNG", "art.jpg", "really a PNG file"),
        ((1400, 1400), "RGB", "GIF", "art.gif", "is a GIF image"),
    ],
)
def test_artwork_podcast_apps_would_refuse(
    tmp_path: Path, size: tuple[int, int], mode: str, fmt: str, name: str, expected: str
) -> None:
    from PIL import Image

    from pipeline.project.showfile import artwork_problems

    path = tmp_path / name
    Image.new(mode, size).save(path, fmt)
    problems = artwork_problems(path)
    assert any(expected in p for p in problems), problems
    good = tmp_path / "good.jpg"
    Image.new("RGB", (1400, 1400)).save(good, "JPEG")
    assert artwork_problems(good) == []


def test_artwork_cut_short_is_refused_by_check_naming_the_file(tmp_path: Path) -> None:
    """A JPEG copy that stopped early opens and says its size; only decoding finds it."""
    from PIL import Image

    from pipeline.project.showfile import artwork_problems

    whole = tmp_path / "whole.jpg"
    Image.effect_noise((1400, 1400), 60).convert("RGB").save(whole, "JPEG", quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with Image.open(cut) as img:  # what a size-and-format check alone would see
        assert img.size == (1400, 1400)
    (problem,) = artwork_problems(cut)
    assert "`cut.jpg` is damaged" in problem and "export it again" in problem
    assert artwork_problems(whole) == []
