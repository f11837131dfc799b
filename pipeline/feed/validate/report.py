"""Findings, the safe XML parse, and the small readers every check shares."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from pipeline.errors import StorycastError
from pipeline.feed.validate.rules import (
    _ENTITY_DECLARATION,
    _TITLE_CHARS,
    KNOWN_NAMESPACES,
    RULES,
    UNSAFE_TAGS,
    UNSAFE_URL_SCHEMES,
    Severity,
)


@dataclass(frozen=True)
class Finding:
    """One breach of one rule, located as precisely as the XML allows."""

    severity: Severity
    rule: str
    where: str  # "document", "channel" or 'item 3 ("Title…")'
    line: int | None
    message: str
    fix: str

    def format(self, name: str) -> str:
        """``feed.xml:LINE: error [rule] where: message Fix: ...``"""
        head = f"{name}:{self.line}" if self.line is not None else name
        text = f"{head}: {self.severity} [{self.rule}] {self.where}: {self.message}"
        return f"{text} Fix: {self.fix}" if self.fix else text

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


class FeedReadError(StorycastError):
    """The feed (file or URL) could not be read at all."""


class _Report:
    """Collects findings; severity and the default fix come from :data:`RULES`."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, rule_id: str, where: str, at: Any, message: str, fix: str | None = None) -> None:
        rule = RULES[rule_id]
        line = at if isinstance(at, int) or at is None else getattr(at, "sourceline", None)
        self.findings.append(
            Finding(rule.severity, rule.id, where, line, message, rule.fix if fix is None else fix)
        )


def _parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
    )


def _parse(xml: bytes, report: _Report) -> Any | None:
    """The root element, or None after adding the one finding that explains why not."""
    has_entities = bool(_ENTITY_DECLARATION.search(xml[:65536]))
    doctype = xml.find(b"<!DOCTYPE")
    doctype_line = xml[:doctype].count(b"\n") + 1 if doctype >= 0 else 1
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        reason = str(exc.msg or exc).strip()
        if has_entities:
            report.add(
                "xml-entities",
                "document",
                doctype_line,
                "declares its own entities, the shape of an entity-expansion ('billion "
                f"laughs') attack; they were not expanded and the feed was not read ({reason}).",
            )
        else:
            message, fix = _malformed(xml, reason)
            report.add("xml-malformed", "document", line, message, fix)
        return None
    except ValueError as exc:  # lxml refuses some inputs outright rather than parsing them
        report.add("xml-malformed", "document", None, f"could not be parsed: {exc}.")
        return None
    if root is None:
        report.add("xml-malformed", "document", None, "is empty.", _EMPTY_FIX)
        return None
    tree = root.getroottree()
    dtd = tree.docinfo.internalDTD
    if dtd is not None:
        names = [e.name for e in dtd.iterentities()]
        if names:
            report.add(
                "xml-entities",
                "document",
                doctype_line,
                f"declares its own entities ({', '.join(sorted(names)[:5])}); they were not "
                "expanded, so text using them is incomplete here and in podcast apps.",
            )
    encoding = (tree.docinfo.encoding or "UTF-8").upper()
    if encoding not in ("UTF-8", "UTF8"):
        report.add(
            "xml-encoding",
            "document",
            1,
            f"is encoded as {tree.docinfo.encoding}; Apple asks for UTF-8 and some apps "
            "misread other encodings.",
        )
    return root


_UNDECLARED = re.compile(r"Namespace prefix (\S+) (?:on|for) ")
_NOT_A_FEED = "give validate-feed the podcast's RSS feed (its .xml file or URL)"
_EMPTY_FIX = "Check that this is the feed file and that it was written completely; " + _NOT_A_FEED
_ESCAPE_FIX = "Write a & in text as &amp; (and < as &lt;), or wrap HTML in <![CDATA[ ... ]]>."


def _malformed(xml: bytes, reason: str) -> tuple[str, str | None]:
    """The message and the fix for XML that does not parse: the fix for what libxml2
    found (None: the rule's general fix), never one for another mistake."""
    said = f"is not well-formed XML: {reason}."
    start = xml.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if "Start tag expected" in reason or "Document is empty" in reason:
        if start in (b"{", b"["):
            return (
                "is JSON, not an RSS feed (a Podcasting 2.0 transcript or chapters file, or a "
                "JSON Feed, perhaps).",
                _NOT_A_FEED[0].upper() + _NOT_A_FEED[1:] + ".",
            )
        if not start:
            return "is empty.", _EMPTY_FIX
        return (
            "is not XML at all (it does not start with a tag), so it is not an RSS feed.",
            _NOT_A_FEED[0].upper() + _NOT_A_FEED[1:] + ".",
        )
    m = _UNDECLARED.search(reason)
    if m:
        prefix = m.group(1)
        uri = KNOWN_NAMESPACES.get(prefix)
        declare = (
            f'Declare it on <rss>: xmlns:{prefix}="{uri}".'
            if uri
            else f'Declare it on <rss> with its namespace\'s URI (xmlns:{prefix}="..."), or '
            f"remove the {prefix}: elements and attributes."
        )
        return f"uses the namespace prefix `{prefix}:` without declaring it ({reason}).", declare
    if "Entity '" in reason and "not defined" in reason:
        return said, (
            "HTML entities such as &nbsp; or &eacute; are not XML: write the character "
            "itself, or a number such as &#160;, or wrap the HTML in <![CDATA[ ... ]]>."
        )
    if "EntityRef" in reason or "xmlParseEntityRef" in reason:
        return said, _ESCAPE_FIX
    if "tag mismatch" in reason or "Premature end of data" in reason:
        return said, (
            "Close every tag that is opened, in order; HTML in a description (such as <br>) "
            "goes inside <![CDATA[ ... ]]>."
        )
    if "Extra content at the end" in reason:
        return said, (
            "A feed is one <rss> element: remove what follows </rss> (two feeds joined?)."
        )
    return said, None


def _text(el: Any) -> str:
    """An element's text (CDATA included, entities left unexpanded), stripped."""
    if el is None:
        return ""
    return "".join(el.itertext()).strip()


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "http://[broken" (an unclosed IPv6 literal)
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _not_http(what: str, value: str) -> str:
    """The message for a URL in a feed that is not a full http(s) URL."""
    try:
        scheme = urlsplit(value).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme and scheme not in ("http", "https"):
        return (
            f"{what} {value[:200]!r} is a {scheme}: URL, not http(s); it was not opened "
            "(validate-feed fetches only http(s), never a file or other scheme a feed names)."
        )
    return f"{what} {value[:200]!r} is not a full http(s) URL; it was not opened."


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TITLE_CHARS else text[: _TITLE_CHARS - 1] + "…"


class _Names:
    """Clark names for a tag in every namespace URI this document uses for it."""

    def __init__(self, itunes: Iterable[str], podcast: Iterable[str]) -> None:
        self._itunes = tuple(itunes)
        self._podcast = tuple(podcast)

    def itunes(self, local: str) -> tuple[str, ...]:
        return tuple(f"{{{ns}}}{local}" for ns in self._itunes)

    def podcast(self, local: str) -> tuple[str, ...]:
        return tuple(f"{{{ns}}}{local}" for ns in self._podcast)


def _all(parent: Any, tags: Iterable[str]) -> list[Any]:
    tags = tuple(tags)
    return list(parent.iterchildren(*tags)) if tags else []


def _first(parent: Any, tags: Iterable[str]) -> Any | None:
    found = _all(parent, tags)
    return found[0] if found else None


class _HtmlScan(HTMLParser):
    """Lists what in an HTML description could run code in an app or a web page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.unsafe: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in UNSAFE_TAGS:
            self.unsafe.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.unsafe.append(f"{name}= on <{tag}>")
            elif value and value.strip().lower().startswith(UNSAFE_URL_SCHEMES):
                self.unsafe.append(f'{name}="{value.strip()[:20]}…" on <{tag}>')


def _unsafe_html(text: str) -> list[str]:
    if "<" not in text:
        return []
    scan = _HtmlScan()
    try:
        scan.feed(text)
        scan.close()
    except Exception:  # html.parser is lenient; never let a description stop the check
        return scan.unsafe
    return scan.unsafe
