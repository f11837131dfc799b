"""People and consent: who is in a story, how they are credited, what they agreed to.

episodes/people.yaml (written by the producer with the contributors):

    people:
      - id: jordan                # used in episode files; never published
        credit: pseudonym         # name | pseudonym | none
        name: Jordan Price        # published only when credit is name
        pseudonym: JP
        roles: [host]             # podcast:person roles
        consent:
          voice: 2026-10-01       # date consent to publish their voice was given
          face: 2026-10-01        # for video; leave out if not given

An ``id`` is a plain slug: letters, digits, ``-`` and ``_``. A ``name`` or
``pseudonym`` is one line of text as it should be shown: a line break, a tab,
another control character or a bidirectional override (which reorders the text
after it) is an error at its line, and so is a name with nothing visible in it.

episodes/withdrawals.yaml is written by `storycast withdraw PERSON`: one entry
per withdrawal (who, when, at whose request). It is a record, never edited
by hand; the next publish takes down every episode the person appears in.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal, cast

import yaml

from pipeline.cache import write_atomic
from pipeline.errors import InputError, Problem
from pipeline.project import auditlog
from pipeline.project.text import fold
from pipeline.project.yamlfile import Node, Problems, load
from pipeline.records import Credit, Person

PEOPLE_FILE = "people.yaml"
WITHDRAWALS_FILE = "withdrawals.yaml"
PERSON_FIELDS = {"id", "credit", "name", "pseudonym", "roles", "consent", "notes"}
CONSENT_FIELDS = {"voice", "face"}
ID = re.compile(r"[A-Za-z0-9_-]+")
# What no name may hold: line breaks and other control characters (C0, DEL, C1, LINE and
# PARAGRAPH SEPARATOR), and bidirectional embeddings, overrides and isolates.
_NOT_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_INVISIBLE = {"Cc", "Cf", "Cs", "Cn", "Zs", "Zl", "Zp"}
# Roles from the podcast namespace's taxonomy that fit community storytelling.
ROLES = {
    "host",
    "co-host",
    "guest",
    "guest host",
    "interviewer",
    "narrator",
    "reporter",
    "producer",
    "editor",
    "writer",
    "composer",
    "musician",
    "sound designer",
    "camera operator",
    "director",
    "researcher",
    "creative director",
    "assistant producer",
    "story editor",
}


@dataclass(frozen=True)
class Withdrawal:
    person: str
    at: datetime
    requested_by: str


def _date(node: Node) -> date | None:
    stamp = node.timestamp()
    return stamp.date() if stamp else None


def file_problems(problems: list[Problem]) -> list[Problem]:
    """Of what ``load_people`` found, the problems of the people file itself (not of the
    withdrawals it applies): while there are any, its consents cannot be trusted."""
    return [p for p in problems if p.path and p.path.name == PEOPLE_FILE]


def load_people(episodes_dir: Path) -> tuple[dict[str, Person], list[Problem]]:
    """Everyone in the people file, with withdrawals applied. ({} if there is no file.)"""
    people, _, problems = load_consent(episodes_dir)
    return people, problems


def load_consent(
    episodes_dir: Path,
) -> tuple[dict[str, Person], list[Withdrawal], list[Problem]]:
    """Everyone in the people file with withdrawals applied ({} if there is no file), and
    the withdrawals themselves (``load_withdrawals``), read once: the two always agree, even
    when a withdrawal is recorded while they are read."""
    problems = Problems()
    path = episodes_dir / PEOPLE_FILE
    people: dict[str, Person] = {}
    withdrawals, more = load_withdrawals(episodes_dir)
    if not path.exists():
        return people, withdrawals, []
    root = load(path, problems)
    top = root.mapping({"people"}) if root is not None else None
    if top is not None and "people" in top:
        for item in top["people"].items():
            person = _person(item)
            if person is None:
                continue
            if person.id in people:
                item.problem(
                    f"the id `{person.id}` is used twice.", "Give each person their own id."
                )
                continue
            people[person.id] = person
    problems.extend(more)
    by_fold = {pid.casefold(): pid for pid in people}
    for w in withdrawals:
        pid = by_fold.get(w.person.casefold())
        if pid is not None and people[pid].withdrawn is None:
            people[pid] = replace(people[pid], withdrawn=w.at.date())
    return people, withdrawals, problems.items


def _person(item: Node) -> Person | None:
    fields = item.mapping(PERSON_FIELDS)
    if fields is None:
        return None
    if "id" not in fields:
        item.problem("this person has no `id`.", "Give them a short id such as `jordan`.")
        return None
    pid = _person_id(fields["id"])
    credit = fields["credit"].text() if "credit" in fields else "none"
    if credit not in ("name", "pseudonym", "none"):
        fields["credit"].problem(
            f"`{credit}` should be name, pseudonym or none.",
            "`none` (the default) publishes no name for them anywhere.",
        )
        return None
    name = _shown_name(fields["name"]) if "name" in fields else None
    pseudonym = _shown_name(fields["pseudonym"]) if "pseudonym" in fields else None
    if credit == "name" and "name" not in fields:
        item.problem("`credit: name` but no `name:` is given.", field=f"{item.field}.name")
    if credit == "pseudonym" and "pseudonym" not in fields:
        item.problem(
            "`credit: pseudonym` but no `pseudonym:` is given.", field=f"{item.field}.pseudonym"
        )
    roles: list[str] = []
    if "roles" in fields:
        for role_node in fields["roles"].items():
            role = (role_node.text() or "").lower()
            if role not in ROLES:
                role_node.problem(
                    f"`{role}` is not a role storycast knows.",
                    "Use one of: " + ", ".join(sorted(ROLES)) + ".",
                )
            else:
                roles.append(role)
    voice = face = None
    if "consent" in fields:
        consent = fields["consent"].mapping(CONSENT_FIELDS) or {}
        voice = _date(consent["voice"]) if "voice" in consent else None
        face = _date(consent["face"]) if "face" in consent else None
    if not pid:
        return None
    return Person(
        id=pid,
        credit=cast(Literal["name", "pseudonym", "none"], credit),
        name=name,
        pseudonym=pseudonym,
        roles=tuple(roles) or ("guest",),
        voice_consent=voice,
        face_consent=face,
        line=item.line,
    )


def _person_id(node: Node) -> str | None:
    """The person's id, if it is a plain slug; else a problem at its line."""
    pid = node.text()
    if pid is None:
        return None
    if not ID.fullmatch(pid):
        node.problem(
            f"the id {_quoted(pid)} is not a plain id.",
            "Use only letters, digits, `-` and `_`, with no spaces, e.g. `jordan-price`. "
            "The id is only used in episode files and is never published.",
        )
        return None
    return pid


def _shown_name(node: Node) -> str | None:
    """A name or pseudonym as it will be published: one line of visible text, or a problem."""
    value = node.text()
    if value is None:
        return None  # empty or not a single value: already reported
    bad = _NOT_IN_NAMES.search(value)
    if bad:
        node.problem(
            f"{_quoted(value)} contains {_character(bad.group())}, which would break the "
            "captions and transcripts it is shown in.",
            "Write the name on one line, exactly as it should be shown, without tabs or "
            "invisible characters.",
        )
        return None
    if all(unicodedata.category(c) in _INVISIBLE for c in value):
        node.problem("has no visible characters in it.", "Write the name as it should be shown.")
        return None
    return value


def _quoted(text: str) -> str:
    """Text for a message: in backticks, or with its invisible characters escaped."""
    return f"`{text}`" if text.isprintable() else repr(text)


def _character(c: str) -> str:
    if c in "\n\r\x85\u2028\u2029":
        return f"a line break (U+{ord(c):04X})"
    if c == "\t":
        return "a tab"
    if unicodedata.category(c) == "Cc":
        return f"a control character (U+{ord(c):04X})"
    return (
        f"an invisible character that reorders the text after it "
        f"({unicodedata.name(c, 'a bidirectional control').lower()}, U+{ord(c):04X})"
    )


def _key(text: str) -> str:
    """How a person is named, for matching a withdrawal to them: as a reader sees it
    (``text.fold``: case, Unicode form, invisible characters, look-alike letters, spaces)
    and without accents (a withdrawal written "Zoe" is Zoë's)."""
    decomposed = unicodedata.normalize("NFKD", fold(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def _named(episodes_dir: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Every id in the people file by its own ``_key``, and by the ``_key`` of each name and
    pseudonym. Read leniently: a people file with problems still names its people."""
    try:
        data = yaml.safe_load((episodes_dir / PEOPLE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return {}, {}
    entries = data.get("people") if isinstance(data, dict) else None
    by_id: dict[str, list[str]] = {}
    by_name: dict[str, list[str]] = {}
    for entry in entries if isinstance(entries, list) else []:
        pid = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(pid, str) or not ID.fullmatch(pid):
            continue
        for field, found in (("id", by_id), ("name", by_name), ("pseudonym", by_name)):
            value = entry.get(field)
            if isinstance(value, str) and _key(value):
                ids = found.setdefault(_key(value), [])
                ids += [pid] if pid not in ids else []
    return by_id, by_name


def resolve(episodes_dir: Path, written: str) -> list[str]:
    """The people-file ids a withdrawal's ``person:`` means: the id as written; else the id
    it is however it is typed (case, accents, spaces, Unicode form, look-alike letters);
    else everyone whose name or pseudonym it is, typed any of those ways. A withdrawal must
    never miss someone because it was written as they are credited, or typed another way.
    [] if it names nobody there."""
    by_id, by_name = _named(episodes_dir)
    if any(written in ids for ids in by_id.values()):
        return [written]
    return list(by_id.get(_key(written)) or by_name.get(_key(written)) or [])


def _same_name(episodes_dir: Path) -> dict[str, list[str]]:
    """Each id, and every id in the people file with the same ``name:`` (``_key``): one
    person listed twice (under a nickname or pseudonym in some episodes)."""
    try:
        data = yaml.safe_load((episodes_dir / PEOPLE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    entries = data.get("people") if isinstance(data, dict) else None
    by_name: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        pid, name = entry.get("id"), entry.get("name")
        if isinstance(pid, str) and isinstance(name, str) and _key(name):
            names[pid] = _key(name)
            by_name.setdefault(_key(name), []).append(pid)
    return {pid: by_name[key] for pid, key in names.items()}


def _resolved(episodes_dir: Path, found: list[Withdrawal]) -> list[Withdrawal]:
    """Each withdrawal under the id(s) it means, and the ids of anyone listed with the same
    real name (the same person, listed again under a nickname); as written if it names
    nobody in the people file (someone since removed from it: their published episodes
    still come down by the record of what was published)."""
    same = _same_name(episodes_dir)
    out: list[Withdrawal] = []
    seen: set[str] = set()
    for w in found:
        meant = resolve(episodes_dir, w.person) or [w.person]
        for pid in [*meant, *(other for m in meant for other in same.get(m, []))]:
            if pid.casefold() not in seen:
                seen.add(pid.casefold())
                out.append(replace(w, person=pid))
    return out


def load_withdrawals(episodes_dir: Path) -> tuple[list[Withdrawal], list[Problem]]:
    """Every withdrawal: ``withdrawals.yaml``, and the audit log's record of each one (so
    a withdrawal holds even if the file is deleted or edited by hand), each under the
    people-file id it means (``resolve``)."""
    found, problems = _load_withdrawals_file(episodes_dir)
    listed = {w.person.casefold() for w in found}
    for record in auditlog.read(episodes_dir):
        person = str(record.get("person") or "")
        if record.get("action") == "withdraw" and person and person.casefold() not in listed:
            try:
                at = datetime.fromisoformat(str(record.get("at")))
            except ValueError:
                at = datetime.now(UTC)
            found.append(Withdrawal(person, at, str(record.get("requested_by") or "")))
            listed.add(person.casefold())
    return _resolved(episodes_dir, found), problems


def _load_withdrawals_file(episodes_dir: Path) -> tuple[list[Withdrawal], list[Problem]]:
    problems = Problems()
    path = episodes_dir / WITHDRAWALS_FILE
    if not path.exists():
        return [], []
    root = load(path, problems)
    found: list[Withdrawal] = []
    if root is None:
        # Not readable as YAML (damaged by hand?): whoever it names still counts as
        # withdrawn, so their episodes come down while the file is put right.
        text = path.read_bytes().decode("utf-8", "replace") if path.is_file() else ""
        for pid in dict.fromkeys(re.findall(r"(?m)^[\s-]*person:\s*['\"]?([\w-]+)", text)):
            found.append(Withdrawal(pid, datetime.now(UTC), ""))
        return found, problems.items
    top = root.mapping({"withdrawals"})
    if top is not None and "withdrawals" in top:
        for item in top["withdrawals"].items():
            # A damaged entry still withdraws whoever it names: a takedown must never
            # depend on the record being tidy. What is wrong is reported too.
            fields = item.mapping({"person", "at", "requested_by"}) or {}
            person = fields["person"].text() if "person" in fields else None
            at = fields["at"].timestamp() if "at" in fields else None
            by = fields["requested_by"].text() if "requested_by" in fields else ""
            if not person:
                item.problem(
                    "this withdrawal does not say whose it is (`person:`).",
                    "Put back the person's id from people.yaml, or run `storycast withdraw "
                    "ID --requested-by NAME` again.",
                )
                continue
            if at is None:
                item.problem(
                    f"this withdrawal of `{person}` has no valid date (`at:`); it still counts.",
                    "Put back the date it was recorded, e.g. 2026-11-29T18:00:00+00:00.",
                )
            found.append(Withdrawal(person, at or datetime.now(UTC), by or ""))
    return found, problems.items


def withdraw(episodes_dir: Path, person_id: str, requested_by: str) -> Withdrawal:
    """Record a withdrawal; raises InputError for a person the people file does not list."""
    people, problems = load_people(episodes_dir)
    if problems:
        raise InputError(problems)
    meant = resolve(episodes_dir, person_id)
    if len(meant) > 1:
        raise InputError(
            Problem(
                episodes_dir / PEOPLE_FILE,
                f"`{person_id}` is the name of {len(meant)} people ({', '.join(meant)}), so "
                "nothing was withdrawn.",
                "Give the id of the person who withdrew, e.g. `storycast withdraw "
                f"{meant[0]} --requested-by NAME`.",
            )
        )
    person_id = meant[0] if meant else person_id
    if person_id not in people:
        known = ", ".join(sorted(people)) or "nobody (there is no people file)"
        raise InputError(
            Problem(
                episodes_dir / PEOPLE_FILE,
                f"there is no person with the id `{person_id}`, so nothing was withdrawn.",
                f"The people file lists: {known}.",
            )
        )
    existing, _ = load_withdrawals(episodes_dir)
    entry = Withdrawal(person_id, datetime.now(UTC).replace(microsecond=0), requested_by)
    records = [
        {"person": w.person, "at": w.at.isoformat(), "requested_by": w.requested_by}
        for w in [*existing, entry]
    ]
    header = (
        "# Written by `storycast withdraw`: a record of withdrawn consent. Do not edit.\n"
        "# The next publish takes down every episode these people appear in.\n"
    )
    text = header + yaml.safe_dump({"withdrawals": records}, sort_keys=False, allow_unicode=True)
    write_atomic(episodes_dir / WITHDRAWALS_FILE, text.encode("utf-8"))
    auditlog.append(
        episodes_dir, {"action": "withdraw", "person": person_id, "requested_by": requested_by}
    )
    return entry


def credits_for(people: list[Person]) -> tuple[Credit, ...]:
    """podcast:person credits: only people credited by name or pseudonym, once each."""
    credits: list[Credit] = []
    for person in people:
        shown = person.credited_as
        if shown:
            credits += [Credit(shown, role) for role in person.roles]
    return tuple(dict.fromkeys(credits))
