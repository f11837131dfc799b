"""Words that go into feeds: descriptions sanitised, sizes kept to what apps accept."""

from __future__ import annotations

import html
import re
import unicodedata

import nh3

from pipeline import defaults

# What podcast apps render in show notes; everything else (scripts, frames, styles,
# event handlers, javascript: links) is removed.
ALLOWED_TAGS = {"p", "br", "a", "b", "strong", "i", "em", "ul", "ol", "li"}
# A "<" that does not open or close one of the allowed tags is text ("I <3 it", "<and>").
_NOT_A_TAG = re.compile(r"<(?!/?(?:" + "|".join(sorted(ALLOWED_TAGS)) + r")[\s/>])", re.I)


def clean_description(text: str) -> str:
    """Text without ``<`` stays exactly as written. Otherwise it is treated as HTML:
    a ``<`` that opens no allowed tag is escaped (so it shows as written, and an
    unknown tag can carry no event handler), then only the allowed tags survive."""
    if "<" not in text:
        return text
    cleaned: str = nh3.clean(
        _NOT_A_TAG.sub("&lt;", text),
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
    )
    return cleaned.strip()


def description_problem(text: str) -> str | None:
    """A sentence if the description is longer than podcast apps accept, else None."""
    size = len(clean_description(text).encode("utf-8"))
    if size <= defaults.DESCRIPTION_MAX_BYTES:
        return None
    return (
        f"the description is {size:,} bytes; Apple Podcasts and others cut or refuse more "
        f"than {defaults.DESCRIPTION_MAX_BYTES:,}. Shorten it (put the rest on a web page and "
        "link to it)."
    )


# --- the same words, however they are written -----------------------------------------------

# Letters of other scripts that a reader cannot tell from Latin ones (Unicode's confusables
# of the Latin alphabet in Cyrillic and Greek), so "Jоrdan" with a Cyrillic о is Jordan.
_LOOK_ALIKES = str.maketrans(
    "аАвВеЕѕЅіІјЈкКмМнНоОрРсСтТуУхХԁԛԝɡαΑβΒεΕζΖηΗιΙκΚμΜνΝοΟρΡτΤυΥχΧ",
    "aAbBeEsSiIjJkKmMhHoOpPcCtTyYxXdqwgaAbBeEzZnHiIkKuMvNoOpPtTuYxX",
)
# Tags that show as a break between words; any other tag joins what is either side of it.
_BREAKING_TAGS = re.compile(r"<\s*/?\s*(?:br|p|li|ul|ol|div|h\d|tr|td|v|c)\b[^>]*>", re.I)
_ANY_TAG = re.compile(r"<[^<>]*>")
_SPACES = re.compile(r"\s+")
_JOINERS = re.compile(r"[-_./]+")


def fold(text: str) -> str:
    """``text`` as a reader sees it, for finding words in it whatever way they are typed:
    character references decoded (twice, for text escaped again in a feed), compatibility
    forms and accents composed the same way (NFKC: NFD "e\u0301" is NFC "\u00e9", full-width
    letters are letters), invisible characters (soft hyphen, zero-width space and joiners,
    word joiner, byte-order mark) removed, look-alike Cyrillic and Greek letters read as
    the Latin ones, every run of white space (no-break spaces too) one space, case folded."""
    for _ in range(2):
        text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        c for c in text if unicodedata.category(c) != "Cf" and c not in "\u034f\u115f\u1160"
    )
    text = _SPACES.sub(" ", text.translate(_LOOK_ALIKES))
    return text.casefold()


def whole_words(text: str) -> re.Pattern[str]:
    """Where ``text`` is said in another text: its words whole (never inside a longer word:
    "Sam" is not in "Samira"), in any case, with any white space between them (a line
    break, a no-break space, two spaces). The one rule by which a redaction's words are
    scrubbed (``edl.redact``), shown hidden in the studio, and looked for in everything
    published (``publish.outgoing``, over ``readings``). Text of no words matches nothing."""
    words = [re.escape(w) for w in text.split()]
    if not words:
        return re.compile(r"(?!)")
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.I)


def readings(text: str) -> tuple[str, ...]:
    """``fold(text)``; when it has tags, the same with them taken out as a page shows it
    (``Jor<b></b>dan`` reads "Jordan"; the tags themselves, a caption's ``<v Name>``, are
    still read in the first); and when it joins words with ``-``, ``_``, ``.`` or ``/``, as
    a folder name, an address or an email does, the same with spaces between them
    (``samira-haddad-open-mic`` says "samira haddad")."""
    folded = fold(text)
    found = [folded]
    if "<" in folded:
        shown = _ANY_TAG.sub("", _BREAKING_TAGS.sub(" ", folded))
        found.append(_SPACES.sub(" ", shown))
    if _JOINERS.search(folded):
        found += [_SPACES.sub(" ", _JOINERS.sub(" ", f)) for f in list(found)]
    return tuple(found)
