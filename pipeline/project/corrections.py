"""Contributors' corrections, applied over the machine transcript.

One optional file per episode, ``episodes/<slug>/corrections.yaml``::

    # Names and words the speech model gets wrong, everywhere in this episode.
    replace:
      Jordon: Jordan
      personal advisor: personal adviser

    # What was really said at a time in one recording (recording time, so a
    # fix survives re-editing the EDL and re-transcribing with another model).
    fixes:
      - recording: advice.opus
        at: 9.4-12.5              # seconds, or 0:09.4-0:12.5
        text: Your personal adviser is there for you, so use them.
        was: your personal advisor  # optional: what the machine wrote, checked

``replace`` matches whole words (and runs of words), ignoring case and the
punctuation around them, which is kept. A fix replaces every word whose middle
lies in the range, spreading the new words over the same time. A correction
that points at words that are no longer there (the recording was changed, or a
new model already gets it right) is reported as a warning with its line, never
dropped silently. Parsing errors carry the file's line numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.project.yamlfile import Node, Problems, load, parse_time
from pipeline.records import Transcript, Word

FILE_NAME = "corrections.yaml"

_RANGE = re.compile(r"^\s*(\S+?)\s*(?:-|–|\bto\b)\s*(\S+)\s*$")
_EDGE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


@dataclass(frozen=True)
class Replacement:
    find: tuple[str, ...]  # words, lower case, no punctuation
    words: tuple[str, ...]
    line: int | None = None


@dataclass(frozen=True)
class Fix:
    recording: str
    start: float  # recording time
    end: float
    words: tuple[str, ...]
    was: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Corrections:
    path: Path | None = None
    replacements: tuple[Replacement, ...] = ()
    fixes: tuple[Fix, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.replacements or self.fixes)


def _core(text: str) -> str:
    m = _EDGE.match(text)
    return (m.group(2) if m else text).lower()


def _key(words: list[str] | tuple[str, ...]) -> str:
    return " ".join(_core(w) for w in words if _core(w))


def load_corrections(folder: Path) -> Corrections:
    """The episode folder's corrections file, or no corrections when there is none.

    Raises ``InputError`` listing every problem (with line numbers) in the file.
    """
    path = folder / FILE_NAME
    if not path.exists():
        return Corrections()
    problems = Problems()
    corrections = parse(path, problems)
    problems.raise_if_any()
    return corrections


def parse(path: Path, problems: Problems, raw: bytes | None = None) -> Corrections:
    """The corrections file at ``path`` (or ``raw``: its bytes, e.g. before they are
    written), its problems added to ``problems``."""
    root = load(path, problems, raw)
    if root is None:
        return Corrections(path)
    fields = root.mapping({"replace", "fixes"}, kind="a corrections file")
    if fields is None:
        return Corrections(path)
    replacements: list[Replacement] = []
    fixes: list[Fix] = []
    if "replace" in fields:
        replacements = _replacements(fields["replace"])
    if "fixes" in fields:
        for item in fields["fixes"].items():
            fix = _fix(item)
            if fix is not None:
                fixes.append(fix)
    return Corrections(path, tuple(replacements), tuple(fixes))


def _replacements(node: Node) -> list[Replacement]:
    out: list[Replacement] = []
    pairs = node.mapping()
    if pairs is None:
        return out
    for find, value in pairs.items():
        text = value.text()
        words = tuple(find.split())
        if text is None:
            continue
        if not _key(words):
            value.problem("the words to replace are empty or only punctuation.")
            continue
        out.append(Replacement(tuple(_core(w) for w in words), tuple(text.split()), value.line))
    return out


def _fix(node: Node) -> Fix | None:
    fields = node.mapping({"recording", "at", "text", "was"})
    if fields is None:
        return None
    missing = [k for k in ("recording", "at", "text") if k not in fields]
    if missing:
        node.problem(
            "a fix needs " + ", ".join(f"`{k}`" for k in missing) + ".",
            "Write the recording's file name, the time range (`at: 12.3-12.9`) and the "
            "right words (`text:`).",
        )
        return None
    recording = fields["recording"].text()
    text = fields["text"].text()
    span = _span(fields["at"])
    was = fields["was"].text() if "was" in fields else None
    if recording is None or text is None or span is None:
        return None
    return Fix(recording, span[0], span[1], tuple(text.split()), was, node.line)


def _span(node: Node) -> tuple[float, float] | None:
    raw = node.raw()
    if raw is None:
        return None
    m = _RANGE.match(raw)
    start = parse_time(m.group(1)) if m else None
    end = parse_time(m.group(2)) if m else None
    if start is None or end is None:
        node.problem(
            f"`{raw}` is not a time range.",
            "Write it as start-end in the recording's own time, e.g. `12.3-12.9` or `1:02.5-1:04`.",
        )
        return None
    if not 0 <= start < end:
        node.problem(f"`{raw}`: the range must start at 0 or later and end after it starts.")
        return None
    return start, end


# --------------------------------------------------------------------------- applying


def _spread(texts: tuple[str, ...], start: float, end: float) -> list[Word]:
    """New words over [start, end], each given time in proportion to its length."""
    total = sum(len(t) for t in texts) or 1
    out: list[Word] = []
    t = start
    for text in texts:
        step = (end - start) * len(text) / total
        out.append(Word(round(t, 3), round(t + step, 3), text, 1.0))
        t += step
    return out


def _with_edges(original_first: str, original_last: str, texts: tuple[str, ...]) -> tuple[str, ...]:
    """Keep the punctuation around the replaced words (``Jordon,`` -> ``Jordan,``)."""
    if not texts:
        return texts
    lead = _EDGE.match(original_first)
    trail = _EDGE.match(original_last)
    words = list(texts)
    if lead and lead.group(1) and not words[0].startswith(lead.group(1)):
        words[0] = lead.group(1) + words[0]
    if trail and trail.group(3) and not words[-1].endswith(trail.group(3)):
        words[-1] = words[-1] + trail.group(3)
    return tuple(words)


def _replace_all(words: list[Word], rule: Replacement) -> tuple[list[Word], int]:
    n = len(rule.find)
    out: list[Word] = []
    count = 0
    i = 0
    while i < len(words):
        window = words[i : i + n]
        if len(window) == n and tuple(_core(w.text) for w in window) == rule.find:
            texts = _with_edges(window[0].text, window[-1].text, rule.words)
            if n == len(texts):
                out += [
                    replace(w, text=t, probability=1.0) for w, t in zip(window, texts, strict=True)
                ]
            else:
                out += _spread(texts, window[0].start, window[-1].end)
            count += 1
            i += n
        else:
            out.append(words[i])
            i += 1
    return out, count


def _where(corrections: Corrections, line: int | None) -> str:
    if corrections.path is None:
        return "corrections"
    return f"{corrections.path}:{line}" if line else str(corrections.path)


def apply(
    transcripts: dict[str, Transcript], corrections: Corrections
) -> tuple[dict[str, Transcript], list[str]]:
    """Transcripts (by recording name) with the corrections applied, and warnings.

    Fixes by time come first (they say exactly what was said), then replacements.
    """
    warnings: list[str] = []
    words = {name: list(t.words) for name, t in transcripts.items()}

    for fix in corrections.fixes:
        where = _where(corrections, fix.line)
        span = f"{fix.start:g}-{fix.end:g} s"
        if fix.recording not in words:
            known = ", ".join(sorted(words)) or "none"
            warnings.append(
                f"{where}: the fix for `{fix.recording}` at {span} was not applied: this episode "
                f"has no transcript of that recording (it uses: {known}). Check the file name."
            )
            continue
        current = words[fix.recording]
        inside = [i for i, w in enumerate(current) if fix.start <= (w.start + w.end) / 2 <= fix.end]
        if not inside:
            warnings.append(
                f"{where}: the fix at {span} in `{fix.recording}` was not applied: no words "
                f"are there any more (the recording may have changed). Find the new time with "
                f"`storycast transcribe` and update it, or remove the fix."
            )
            continue
        old = [current[i] for i in inside]
        if fix.was is not None and _key(fix.was.split()) != _key([w.text for w in old]):
            warnings.append(
                f"{where}: at {span} in `{fix.recording}` the transcript now says "
                f'"{" ".join(w.text for w in old)}", not "{fix.was}"; the fix was applied, '
                "check it still belongs there."
            )
        new = _spread(fix.words, old[0].start, old[-1].end)
        words[fix.recording] = current[: inside[0]] + new + current[inside[-1] + 1 :]

    for rule in corrections.replacements:
        total = 0
        for name in words:
            words[name], count = _replace_all(words[name], rule)
            total += count
        if not total:
            warnings.append(
                f"{_where(corrections, rule.line)}: `{' '.join(rule.find)}` is not in any "
                "transcript of this episode, so the replacement did nothing (perhaps the model "
                "now gets it right); remove it if it is no longer needed."
            )

    out = {
        name: replace(t, words=tuple(words[name])) if words[name] != list(t.words) else t
        for name, t in transcripts.items()
    }
    return out, warnings


__all__ = ["FILE_NAME", "Corrections", "Fix", "Replacement", "apply", "load_corrections", "parse"]
