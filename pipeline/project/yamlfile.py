"""Reading hand-written YAML with a line number for every value.

Contributors and volunteers write the show, episode and EDL files by hand. We
compose the YAML node tree (not plain ``safe_load``) so that every error can
say which line and which field, and so that YAML 1.1 surprises (``1:30`` read
as the number 90, ``no`` read as false) never pass silently: each field is
interpreted by the code that knows what it means.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from pipeline import defaults
from pipeline.errors import InputError, Problem
from pipeline.files import NotAFile, open_regular, resolve_inside


class Problems:
    """Collects every problem in a file so a volunteer sees them all at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.items.append(problem)

    def extend(self, problems: Problems | list[Problem] | tuple[Problem, ...]) -> None:
        self.items.extend(problems.items if isinstance(problems, Problems) else problems)

    def add_at(self, path: Path, message: str, fix: str = "", line: int | None = None) -> None:
        self.items.append(Problem(path, message, fix, line))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise InputError(self.items)


class Node:
    """A YAML node plus where it came from."""

    def __init__(self, node: yaml.Node, path: Path, field: str, problems: Problems):
        self.node = node
        self.path = path
        self.field = field
        self.problems = problems

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def problem(self, message: str, fix: str = "", field: str | None = None) -> None:
        self.problems.add(Problem(self.path, message, fix, self.line, field or self.field))

    # -- structure -----------------------------------------------------------------------

    def is_mapping(self) -> bool:
        return isinstance(self.node, yaml.MappingNode)

    def is_sequence(self) -> bool:
        return isinstance(self.node, yaml.SequenceNode)

    def is_null(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag.endswith(":null")

    def mapping(
        self, allowed: set[str] | None = None, kind: str | None = None
    ) -> dict[str, Node] | None:
        """The mapping's fields; unknown names are reported with a suggestion.

        ``kind`` (for a file's top level, e.g. "a storycast EDL"): when not one field is
        known, the file is not what it should be, and one problem says so without
        quoting any of it (it may be anything: someone's notes, a key file).
        """
        if not self.is_mapping():
            self.problem(
                "expected a set of `name: value` lines here.",
                "Check the indentation: fields of one item line up under each other.",
            )
            return None
        assert isinstance(self.node, yaml.MappingNode)
        keys = [str(key.value) for key, _ in self.node.value]
        if kind is not None and allowed is not None and keys and not set(keys) & allowed:
            known = ", ".join(sorted(allowed))
            self.problem(
                f"this is not {kind}: none of its fields is one storycast knows here.",
                f"Check it is the right file; its fields can be: {known}.",
            )
            return None
        out: dict[str, Node] = {}
        for key_node, value_node in self.node.value:
            key = str(key_node.value)
            sub = f"{self.field}.{key}" if self.field else key
            child = Node(value_node, self.path, sub, self.problems)
            if key in out:
                self.problems.add(
                    Problem(
                        self.path,
                        f"`{key}` is given twice.",
                        "Keep one of them.",
                        key_node.start_mark.line + 1,
                        sub,
                    )
                )
                continue
            if allowed is not None and key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
                hint = (
                    f"Did you mean `{close[0]}`?"
                    if close
                    else ("Known fields are: " + ", ".join(sorted(allowed)) + ".")
                )
                self.problems.add(
                    Problem(
                        self.path,
                        f"`{key}` is not a field storycast knows here.",
                        hint,
                        key_node.start_mark.line + 1,
                        sub,
                    )
                )
                continue
            out[key] = child
        return out

    def items(self) -> Iterator[Node]:
        if not self.is_sequence():
            self.problem("expected a list here (lines starting with `- `).")
            return
        assert isinstance(self.node, yaml.SequenceNode)
        for i, child in enumerate(self.node.value):
            yield Node(child, self.path, f"{self.field}[{i + 1}]", self.problems)

    # -- scalars -------------------------------------------------------------------------

    def raw(self) -> str | None:
        if not isinstance(self.node, yaml.ScalarNode):
            self.problem("expected a single value here, not a list or a group of fields.")
            return None
        return str(self.node.value)

    def text(self, *, allow_empty: bool = False) -> str | None:
        value = self.raw()
        if value is None:
            return None
        if self.is_null() or (not value.strip() and not allow_empty):
            self.problem("is empty.", "Write a value after the colon.")
            return None
        bad = _CONTROL.search(value)
        if bad:
            self.problem(
                f"holds a control character (U+{ord(bad.group()):04X}), invisible, which no "
                "podcast app, caption or tag can carry.",
                "Retype the value (it was probably pasted with the character in it).",
            )
            return None
        return value.strip()

    def integer(self, minimum: int | None = None) -> int | None:
        value = self.raw()
        if value is None:
            return None
        try:
            number = int(value.strip())
        except ValueError:
            self.problem(f"`{value}` is not a whole number.")
            return None
        if minimum is not None and number < minimum:
            self.problem(f"{number} is too small; it must be at least {minimum}.")
            return None
        return number

    def boolean(self) -> bool | None:
        value = self.raw()
        if value is None:
            return None
        lowered = value.strip().lower()
        if lowered in {"true", "yes"}:
            return True
        if lowered in {"false", "no"}:
            return False
        self.problem(f"`{value}` should be true or false.")
        return None

    def seconds(self) -> float | None:
        """A time: seconds (``12.5``) or clock form (``1:02.5``, ``01:02:03.250``)."""
        value = self.raw()
        if value is None:
            return None
        result = parse_time(value)
        if result is None:
            text = str(value).strip()
            comma = re.fullmatch(r"(\d+(?::\d+)*),(\d+)", text)
            self.problem(
                f"`{value}` is not a time" + (": its decimal point is a comma." if comma else "."),
                f"Write it with a dot: `{comma[1]}.{comma[2]}`."
                if comma
                else "Write seconds (`75.5`) or minutes:seconds (`1:15.5`) or "
                "hours:minutes:seconds.",
            )
            return None
        if result < 0:
            self.problem(f"`{value}` is negative; times count from the start, so 0 or more.")
            return None
        return result

    def path_inside(
        self, folder: Path, where: str, within: Path | None = None, fix: str = ""
    ) -> Path | None:
        """This value as the name of a file in ``folder``, if it stays inside ``within``
        (default ``folder``, described as ``where``) with every link followed; otherwise
        a problem on this field, and None."""
        name = self.text()
        if name is None:
            return None
        found = resolve_inside(folder, name, where, within)
        if isinstance(found, str):
            self.problem(
                f"`{name}` {found}.",
                fix or f"Name a file inside {where}; storycast reads nothing from elsewhere.",
            )
            return None
        return found

    def timestamp(self) -> datetime | None:
        value = self.raw()
        if value is None:
            return None
        text = value.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                d = date.fromisoformat(text)
                return datetime(d.year, d.month, d.day, 9, 0, tzinfo=UTC)
            parsed = datetime.fromisoformat(text)
        except ValueError:
            self.problem(
                f"`{value}` is not a date.", "Write it as 2026-11-29 or 2026-11-29T18:00:00Z."
            )
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# Control characters no published text may hold (tabs and line breaks are allowed: a
# description may be written over several lines).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x84\x86-\x9f]")


# libyaml's C parser when PyYAML was built with it: a 10,000-clip EDL is checked in
# well under a second instead of several. It keeps line marks, which we need.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def parse_time(text: str) -> float | None:
    """Seconds from ``75.5``, ``1:15.5`` or ``0:01:15.5``; None if it is not a time."""
    t = text.strip()
    if not t:
        return None
    try:
        value = float(t)
    except ValueError:
        pass
    else:
        return value if value == value and abs(value) != float("inf") else None
    negative = t.startswith("-")
    m = _CLOCK.match(t.lstrip("-"))
    if not m:
        return None
    hours = int(m.group(1) or 0)
    minutes = int(m.group(2))
    secs = float(m.group(3))
    if minutes >= 60 and m.group(1) is not None or secs >= 60:
        return None
    total = hours * 3600 + minutes * 60 + secs
    return -total if negative else total


def read_bytes(path: Path, problems: Problems) -> bytes | None:
    """The file's bytes; a missing, unreadable or hostile file becomes a problem.

    Refused before anything is read: a link to a file outside the folder it appears in,
    anything that is not an ordinary file (a named pipe would block forever), and a
    file larger than ``defaults.MAX_INPUT_FILE_BYTES``.
    """
    limit = defaults.MAX_INPUT_FILE_BYTES
    inside = resolve_inside(path.parent, path.name, "the folder it is in")
    if isinstance(inside, str):
        problems.add(
            Problem(
                path,
                f"this file {inside}: it is a link to somewhere else.",
                "Put the file itself here; storycast reads nothing from elsewhere.",
            )
        )
        return None
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            raw = fh.read(limit + 1) if size <= limit else b""
    except FileNotFoundError:
        problems.add(Problem(path, "this file does not exist.", "Check the name and folder."))
        return None
    except NotAFile as exc:
        problems.add(
            Problem(path, f"this is {exc.kind}, not a file storycast can read.", "Check the name.")
        )
        return None
    except OSError as exc:
        problems.add(Problem(path, f"cannot be read: {exc.strerror}."))
        return None
    if size > limit or len(raw) > limit:
        problems.add(
            Problem(
                path,
                f"this file is {max(size, len(raw)) / 2**20:.1f} MB; storycast reads files like "
                f"it only up to {limit / 2**20:.0f} MB (a long EDL is well under 1 MB), so it "
                "was not read.",
                "Check it is the right file; split a very long episode into several.",
            )
        )
        return None
    return raw


@dataclass
class _Open:
    """A list or group of fields being read by ``too_many_entries``."""

    mapping: bool
    name: str  # its field name, if it is a field's value
    entries: int = 0
    nodes: int = 0
    key: str = ""


def too_many_entries(text: str, limit: int) -> tuple[int, str] | None:
    """Where the first list or group of fields in ``text`` (YAML) with more than
    ``limit`` entries reaches entry ``limit + 1``: (line, field name); None if none does.

    Read as a stream of parser events, without building anything, and only as far as
    that entry, so a file of a million clips costs what ``limit`` of them do. A block
    list puts each entry on a line of its own and a flow list separates them with
    commas, so a file with fewer lines and commas than ``limit`` is not read at all.
    """
    if text.count("\n") + text.count(",") < limit:
        return None
    starts = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    nodes = (yaml.ScalarEvent, yaml.AliasEvent, *starts)
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    stack: list[_Open] = []
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, nodes):
                name = ""
                if stack:
                    top = stack[-1]
                    entry = True
                    if top.mapping:  # keys and values alternate; a key starts an entry
                        top.nodes += 1
                        entry = top.nodes % 2 == 1
                        if entry:
                            top.key = event.value if isinstance(event, yaml.ScalarEvent) else ""
                        else:
                            name = top.key
                    if entry:
                        top.entries += 1
                        if top.entries > limit and event.start_mark is not None:
                            return event.start_mark.line + 1, top.name
                if isinstance(event, starts):
                    stack.append(_Open(isinstance(event, yaml.MappingStartEvent), name))
            elif isinstance(event, ends):
                stack.pop()
    except yaml.YAMLError:
        return None  # composing reports it, with its line
    return None


def load(path: Path, problems: Problems, raw: bytes | None = None) -> Node | None:
    """Compose ``path`` (or ``raw``, its bytes already read) into a Node tree;
    unreadable or malformed files become problems."""
    if raw is None:
        raw = read_bytes(path, problems)
        if raw is None:
            return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        problems.add(
            Problem(path, "is not UTF-8 text.", "Save it as UTF-8 in your editor.", bad_line)
        )
        return None
    limit = defaults.MAX_EDL_CLIPS
    crowded = too_many_entries(text, limit)
    if crowded is not None:
        at, name = crowded
        problems.add(
            Problem(
                path,
                f"this list (or group of fields) has more than {limit:,} entries; storycast "
                f"reads at most {limit:,} in any file like this, so the file was not read.",
                "Check it is the right file; an episode of that many clips would be days long.",
                at,
                name or None,
            )
        )
        return None
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or "the YAML is malformed"
        problems.add(
            Problem(
                path,
                f"this is not valid YAML ({what}).",
                "Check that line for a missing colon, a stray tab, or uneven indentation.",
                line,
            )
        )
        return None
    except yaml.reader.ReaderError as exc:  # a character no text file holds
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character
        code = char if isinstance(char, int) else ord(char) if len(char) == 1 else -1
        problems.add(
            Problem(
                path,
                f"this is not a text file: it holds a control character (code {code}), "
                "which no text file should.",
                "Check it is the right file, then open it in a text editor and save it as plain "
                "text (UTF-8).",
                line,
            )
        )
        return None
    except yaml.YAMLError as exc:
        problems.add(Problem(path, f"this is not valid YAML ({type(exc).__name__})."))
        return None
    except RecursionError:
        problems.add(
            Problem(path, "this is not valid YAML (it is nested too deeply).", "Check the file.")
        )
        return None
    if node is None:
        problems.add(Problem(path, "is empty.", "See README.md for what goes in it."))
        return None
    return Node(node, path, "", problems)
