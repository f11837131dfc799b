"""Words that go into feeds: descriptions sanitised, sizes kept to what apps accept."""

from __future__ import annotations

import re

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
