"""The people file: ids are plain slugs, names and pseudonyms one line of visible text."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import Problem
from pipeline.project.people import load_people
from pipeline.records import Person


def load(tmp_path: Path, text: str) -> tuple[dict[str, Person], list[Problem]]:
    (tmp_path / "people.yaml").write_text(text, encoding="utf-8")
    people, problems = load_people(tmp_path)
    return dict(people), problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


GOOD = "  - id: ok\n    credit: name\n    name: Okay\n"


def test_good_names_load_as_written(tmp_path: Path) -> None:
    people, problems = load(
        tmp_path,
        "people:\n"
        '  - id: Jordan_Price-2\n    credit: name\n    name: "Jordan O\'Neil & <Co>"\n'
        '  - id: sara\n    credit: pseudonym\n    pseudonym: "\u200fسارة 🌈"\n'
        "  - id: kai\n    credit: name\n    name: >-\n      Kai\n      Mensah\n",
    )
    assert problems == []
    assert people["Jordan_Price-2"].name == "Jordan O'Neil & <Co>"
    assert people["sara"].pseudonym == "\u200fسارة 🌈"
    assert people["kai"].name == "Kai Mensah"


def test_an_id_must_be_a_plain_slug(tmp_path: Path) -> None:
    for bad in ["jordan price", "jordan.price", "jo/dan", '"jo\\ndan"', "jördan", '"-->"']:
        people, problems = load(tmp_path, f"people:\n{GOOD}  - id: {bad}\n    credit: none\n")
        problem = only(problems)
        assert (problem.path, problem.line, problem.field) == (
            tmp_path / "people.yaml",
            5,
            "people[2].id",
        ), bad
        assert "is not a plain id" in problem.message
        assert "letters, digits, `-` and `_`" in problem.fix
        assert set(people) == {"ok"}  # the person with the bad id is not loaded


def test_a_name_with_a_line_break_is_refused_at_its_line(tmp_path: Path) -> None:
    people, problems = load(
        tmp_path,
        "people:\n" + GOOD + "  - id: sam\n"
        "    credit: pseudonym\n"
        '    pseudonym: "Sam\\n\\n00:00:05.000 --> 00:00:09.000\\nFORGED"\n',
    )
    problem = only(problems)
    assert (problem.line, problem.field) == (7, "people[2].pseudonym")
    assert "contains a line break (U+000A)" in problem.message
    assert "FORGED" in problem.message and "\n" not in str(problem)  # shown escaped
    assert "on one line" in problem.fix
    assert people["sam"].pseudonym is None


def test_a_block_scalar_name_is_refused(tmp_path: Path) -> None:
    _, problems = load(
        tmp_path, "people:\n  - id: a\n    credit: name\n    name: |\n      Alex\n      Okafor\n"
    )
    problem = only(problems)
    assert (problem.line, problem.field) == (4, "people[1].name")
    assert "line break" in problem.message


def test_control_characters_and_bidi_overrides_are_refused(tmp_path: Path) -> None:
    cases = {
        '"Sam\\tR"': "a tab",
        '"Sam\\x1b[31m"': "a control character (U+001B)",
        '"Sam\\0"': "a control character (U+0000)",
        '"Sam\\x85R"': "a line break (U+0085)",
        '"Sam\\LR"': "a line break (U+2028)",
        '"\\u202emaS"': "reorders the text after it (right-to-left override, U+202E)",
        '"Sam \\u2066x"': "reorders the text after it (left-to-right isolate, U+2066)",
    }
    for value, said in cases.items():
        _, problems = load(tmp_path, f"people:\n  - id: s\n    credit: none\n    name: {value}\n")
        problem = only(problems)
        assert (problem.line, problem.field) == (4, "people[1].name"), value
        assert said in problem.message, (value, problem.message)


def test_empty_or_invisible_names_are_refused(tmp_path: Path) -> None:
    cases = {
        '""': "is empty",
        '"   "': "is empty",
        '"\\u200b\\u200f"': "has no visible characters",
        "": "is empty",
    }
    for value, said in cases.items():
        _, problems = load(
            tmp_path, f"people:\n  - id: s\n    credit: pseudonym\n    pseudonym: {value}\n"
        )
        problem = only(problems)
        assert (problem.line, problem.field) == (4, "people[1].pseudonym"), value
        assert said in problem.message, (value, problem.message)
        assert problem.fix
