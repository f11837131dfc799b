"""Checking a podcast feed the way directories will (`storycast validate-feed FILE|URL`).

``rules`` (what is checked), ``report`` (findings and the safe parse), ``checks`` (the
document, the channel, the artwork, each item) and ``fetch`` (http(s) only, in time).

Reads any RSS feed (ours, or one from the wild) and reports every breach of
Apple Podcasts' current feed rules and the Podcasting 2.0 ``podcast:``
namespace, each as a :class:`Finding` with the rule it breaks, where (channel or
item, and the XML line), what is wrong and how to fix it.

Every rule is one row of :data:`RULES`; the value lists they check against
(Apple's categories, the person taxonomy, MIME types) are the constants below
it. The XML is parsed safely: no network, no DTD loading, entities never
expanded, libxml2's size limits kept. Malformed XML, an entity bomb or a
non-UTF-8 feed gives a finding, never a crash or a hang.

Artwork is checked with Pillow (1400 to 3000 px, square, RGB, JPEG or PNG)
when it can be read: from the local folder the feed was published to (its
``atom:link rel="self"`` tells where the feed sits under the same host), or
downloaded when ``fetch_images`` is set.

What a feed names is never opened as a local file. URLs in a feed are only
ever fetched over http(s): a ``file:``, ``ftp:`` or ``data:`` URL or a bare
path is a finding, never read, and a redirect to anything but http(s) is
refused. Local files are read only for a feed the user named on the command
line as a file, and then only inside that feed's own folder (its published
folder: for a feed in a folder named ``feeds``, as storycast publishes
``public/feeds/show.xml``, the folder above it, ``public/``), after symlinks
are followed. Artwork that would map outside it is reported and not read.
A feed fetched from a URL reads nothing from the disk.

Every fetch has a time limit from connecting to its last byte
(``defaults.FEED_FETCH_TIME_LIMIT``, redirects included), besides the timeout
on each read, so a server that trickles a byte now and then cannot hold it;
and the whole command has one (``--time-limit``), which the feed and its
artwork share. (Looking up a host name is left to the system's resolver and
its own timeouts.)
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from pipeline import defaults
from pipeline.feed.validate.checks import _check_channel, _check_document, _check_items
from pipeline.feed.validate.fetch import _read_regular_file, fetch_url
from pipeline.feed.validate.report import FeedReadError, Finding, _parse, _Report, errors
from pipeline.feed.validate.rules import APPLE_CATEGORIES, RULES, Rule

__all__ = [
    "APPLE_CATEGORIES",
    "RULES",
    "FeedReadError",
    "Finding",
    "Rule",
    "errors",
    "fetch_url",
    "validate",
    "validate_target",
]


def validate(
    xml: bytes,
    *,
    url: str | None = None,
    fetch_images: bool = False,
    source: Path | None = None,
    deadline: float | None = None,
) -> list[Finding]:
    """Every breach of :data:`RULES` in one feed, in document order.

    ``url`` is where the feed was read from (for the ``podcast:guid`` rule and
    the self link); ``source`` is the local file, so artwork published next to
    it (inside its folder only) can be checked; ``fetch_images`` downloads
    artwork that is not local, by ``deadline`` (a ``time.monotonic()`` value)
    if given. Never raises on bad input: malformed XML is one ``xml-malformed``
    finding.
    """
    report = _Report()
    root = _parse(xml, report)
    if root is not None:
        channel, names = _check_document(root, report)
        if channel is not None:
            _check_channel(
                report,
                channel,
                names,
                url=url,
                source=source,
                fetch_images=fetch_images,
                deadline=deadline,
            )
            _check_items(report, channel, names)
    return sorted(report.findings, key=lambda f: (f.line is not None, f.line or 0))


def validate_target(
    target: str,
    *,
    fetch_images: bool = False,
    time_limit: float = defaults.VALIDATE_FEED_TIME_LIMIT,
) -> list[Finding]:
    """Validate a feed file or an http(s) URL (raises :class:`FeedReadError` if unreadable).

    Everything, the feed's fetch and the artwork's, is done within ``time_limit``
    seconds; artwork not fetched in time is an ``artwork-unreadable`` finding.
    """
    deadline = time.monotonic() + time_limit
    if re.match(r"^https?://", target, re.IGNORECASE):
        xml = fetch_url(target, deadline=deadline)
        return validate(xml, url=target, fetch_images=fetch_images, deadline=deadline)
    path = Path(target)
    data = _read_regular_file(path, defaults.FEED_FETCH_MAX_BYTES)
    return validate(data, source=path.resolve(), fetch_images=fetch_images, deadline=deadline)
