"""`storycast validate-feed`: our published feeds pass, feeds from the wild get sensible findings.

The sample feeds in tests/data/feeds imitate what hosts publish (Apple's own
sample, a 2012 feed with legacy values, a broken one, HTML in CDATA, Latin-1,
show notes pasted whole, no artwork). Findings are checked by rule id and by
the line they point at, found by searching the sample for the offending text.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import io
import itertools
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import podcastparser
import pytest
from PIL import Image

from pipeline.cli.validate_feed import add_parser
from pipeline.cli.validate_feed import cmd as cmd_validate_feed
from pipeline.feed.build import podcast_guid
from pipeline.feed.validate import (
    APPLE_CATEGORIES,
    RULES,
    FeedReadError,
    Finding,
    errors,
    fetch_url,
    validate,
    validate_target,
)

from conftest import Run, storycast

FEEDS = Path(__file__).parent / "data" / "feeds"
SAMPLES = sorted(FEEDS.glob("*.xml"))


def sample(name: str) -> Path:
    return FEEDS / name


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """The line of the nth occurrence of ``needle`` in a sample (1-based)."""
    seen = 0
    for number, line in enumerate(path.read_bytes().decode("latin-1").splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{needle!r} not found {nth} times in {path.name}")


def found(findings: list[Finding]) -> set[tuple[str, int | None]]:
    return {(f.rule, f.line) for f in findings}


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def minimal_feed(
    *, channel_extra: str = "", item_extra: str = "", description: str = "One item."
) -> bytes:
    """A feed that passes every rule, with room for what a test adds."""
    self_url = "https://example.org/feeds/minimal.xml"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0"
     xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>Minimal</title>
    <link>https://example.org</link>
    <description>A minimal show.</description>
    <language>en</language>
    <atom:link href="{self_url}" rel="self" type="application/rss+xml"/>
    <itunes:author>Someone</itunes:author>
    <itunes:owner><itunes:email>someone@example.org</itunes:email></itunes:owner>
    <itunes:image href="https://example.org/media/art.jpg"/>
    <itunes:category text="Arts"/>
    <itunes:explicit>false</itunes:explicit>
    <podcast:guid>{podcast_guid(self_url)}</podcast:guid>
    {channel_extra}
    <item>
      <title>One</title>
      <guid isPermaLink="false">one</guid>
      <pubDate>Sun, 01 Nov 2026 09:00:00 +0000</pubDate>
      <enclosure url="https://example.org/media/1.mp3" length="1000" type="audio/mpeg"/>
      <description>{description}</description>
      {item_extra}
    </item>
  </channel>
</rss>
""".encode()


def test_rules_are_data_with_a_fix_each() -> None:
    assert len(RULES) >= 50
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert rule.severity in ("error", "warning")
        assert rule.checks and rule.fix, rule_id
    assert "Personal Journals" in APPLE_CATEGORIES["Society & Culture"]
    assert len(APPLE_CATEGORIES) == 19


def test_minimal_feed_passes_cleanly() -> None:
    assert validate(minimal_feed()) == []


# ------------------------------------------------------------ our own feeds


def test_every_published_feed_passes(example_run: Run) -> None:
    assert example_run.returncode == 0, example_run.stdout + example_run.stderr
    feeds = sorted((example_run.public / "feeds").glob("*.xml"))
    assert feeds, "publishing wrote no feed"
    for feed in feeds:
        findings = validate_target(str(feed))
        assert errors(findings) == [], "\n".join(f.format(feed.name) for f in findings)
        # What the feed stage promises: true/false explicit, a self link, the guid rule.
        promised = {"explicit-legacy", "atom-self", "podcast-guid-missing", "podcast-guid-rule"}
        assert not rules(findings) & promised, [f.format(feed.name) for f in findings]


def test_published_artwork_is_checked_where_it_was_published(
    example_run: Run, tmp_path: Path
) -> None:
    """The artwork next to a published feed is found through its self link and measured."""
    assert example_run.returncode == 0, example_run.stderr
    public = tmp_path / "public"
    shutil.copytree(example_run.public, public)
    feed = sorted((public / "feeds").glob("*.xml"))[0]
    artwork = sorted((public / "media").rglob("artwork-*"))
    assert artwork, "no published artwork found"
    for art in artwork:
        Image.new("RGB", (800, 800), "teal").save(art, format="JPEG")
    findings = validate_target(str(feed))
    assert "artwork-size" in rules(errors(findings))
    assert "800 x 800" in next(f.message for f in findings if f.rule == "artwork-size")


# ------------------------------------------------------------ sample feeds


def test_apple_style_feed_has_only_podcasting_2_warnings() -> None:
    path = sample("apple-style.xml")
    findings = validate_target(str(path))
    channel = line_of(path, "<channel>")
    assert found(findings) == {("atom-self", channel), ("podcast-guid-missing", channel)}
    assert errors(findings) == []


def test_legacy_feed_gets_warnings_not_errors() -> None:
    path = sample("legacy.xml")
    findings = validate_target(str(path))
    assert errors(findings) == []
    assert found(findings) == {
        ("namespace-podcast-old", line_of(path, "<rss ")),
        ("category", line_of(path, 'text="Podcasting"')),
        ("category", line_of(path, 'text="Leisure"')),
        ("explicit-legacy", line_of(path, "<itunes:explicit>clean")),
        ("podcast-guid-rule", line_of(path, "<podcast:guid>")),
        ("explicit-legacy", line_of(path, "<itunes:explicit>yes")),
        ("transcript-type", line_of(path, "application/srt")),
        ("chapters-type", line_of(path, "<podcast:chapters")),
        ("enclosure-type-apple", line_of(path, "audio/ogg")),
        ("explicit-legacy", line_of(path, "<itunes:explicit>no")),
    }
    # Tags in the old namespace are still read: its guid was checked against the self link.
    guid = next(f for f in findings if f.rule == "podcast-guid-rule")
    assert podcast_guid("https://feeds.example.net/garden-hour.rss") in guid.message


def test_broken_feed_reports_each_breach_where_it_is() -> None:
    path = sample("broken.xml")
    findings = validate_target(str(path))
    no_media = line_of(path, "<item>", 4)
    bad_enclosure = line_of(path, "again.mp3")
    assert found(findings) == {
        ("channel-language", line_of(path, "<language>English")),
        ("itunes-owner", line_of(path, "not-an-email")),
        ("category", line_of(path, "Society and Culture")),
        ("explicit-value", line_of(path, "sometimes")),
        ("podcast-guid", line_of(path, "<podcast:guid>")),
        ("podcast-locked", line_of(path, "<podcast:locked>")),
        ("enclosure-length", line_of(path, "3am.mp3")),
        ("item-duration", line_of(path, "45 min")),
        ("item-episode", line_of(path, "<itunes:episode>")),
        ("item-episode-type", line_of(path, "<itunes:episodeType>")),
        ("transcript", line_of(path, "<podcast:transcript")),
        ("person-role", line_of(path, 'role="driver"')),
        ("soundbite", line_of(path, "<podcast:soundbite")),
        ("item-pubdate", line_of(path, "2024-03-08")),
        ("enclosure-length", line_of(path, 'length="0"')),
        ("guid-duplicate", line_of(path, "<guid>nb-2", 2)),
        ("enclosure-url", bad_enclosure),
        ("enclosure-length", bad_enclosure),
        ("enclosure-type", bad_enclosure),
        ("item-title", no_media),
        ("item-guid", no_media),
        ("enclosure", no_media),
        ("item-pubdate-missing", no_media),
    }
    by_rule: dict[str, Finding] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule, finding)  # the first of each rule
    assert by_rule["enclosure-length"].severity == "error"
    assert by_rule["enclosure-length"].where == 'item 1 ("The 3am crowd")'
    assert "Society & Culture" in by_rule["category"].message  # a suggestion, not just "no"
    assert 'item 2 ("Missed my stop")' in by_rule["guid-duplicate"].message
    assert by_rule["item-title"].where == 'item 4 ("untitled")'


def test_entities_and_cdata_are_read_as_text_and_html_is_screened() -> None:
    path = sample("entities.xml")
    findings = validate_target(str(path))
    assert found(findings) == {
        ("description-html", line_of(path, "<script>")),
        ("description-html", line_of(path, "&lt;iframe")),
    }
    script, iframe = sorted(findings, key=lambda f: f.line or 0)
    assert "<script>" in script.message and "onerror" in script.message
    assert "<iframe>" in iframe.message and "javascript:" in iframe.message
    assert script.where == 'item 2 ("Mushy peas")'


def test_non_utf8_encoding_is_read_and_warned_about() -> None:
    path = sample("latin1.xml")
    assert b"\xe9" in path.read_bytes()  # really Latin-1 on disk
    findings = validate_target(str(path))
    channel = line_of(path, "<channel>")
    assert found(findings) == {
        ("xml-encoding", 1),
        ("atom-self", channel),
        ("podcast-guid-missing", channel),
    }
    assert "ISO-8859-1" in findings[0].message


def test_a_huge_description_is_over_apples_limit() -> None:
    path = sample("huge-description.xml")
    findings = validate_target(str(path))
    assert found(findings) == {("description-length", line_of(path, "<description><![CDATA["))}
    assert findings[0].severity == "error"


def test_a_feed_without_itunes_image_has_no_artwork() -> None:
    path = sample("no-image.xml")
    findings = validate_target(str(path))
    assert found(findings) == {("itunes-image", line_of(path, "<channel>"))}
    assert "RSS <image>" in findings[0].message


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_samples_are_feeds_a_real_client_reads(path: Path) -> None:
    """The samples are realistic: gPodder's parser reads every one."""
    parsed = podcastparser.parse(f"file://{path}", io.BytesIO(path.read_bytes()))
    assert parsed["title"]
    assert parsed["episodes"]


# ---------------------------------------------------------- hostile input


def test_ten_kilobyte_description() -> None:
    findings = validate(minimal_feed(description="é" * 5000))  # 10,000 bytes in UTF-8
    assert rules(findings) == {"description-length"}
    assert "10000 bytes" in findings[0].message


def test_malformed_xml_is_one_finding_with_its_line() -> None:
    xml = minimal_feed(description="Fish &nbsp; chips")
    findings = validate(xml)
    assert len(findings) == 1
    (finding,) = findings
    assert (finding.rule, finding.severity) == ("xml-malformed", "error")
    assert (
        finding.line
        == xml.decode()
        .splitlines()
        .index(next(line for line in xml.decode().splitlines() if "&nbsp;" in line))
        + 1
    )
    assert "nbsp" in finding.message


@pytest.mark.parametrize(
    "xml",
    [
        b"",
        b"not xml at all",
        b"<html><body><h1>404 Not Found</h1></body>",
        b"<rss version='2.0'><channel><title>x</titl></channel></rss>",
        b"\xff\xfe\x00<\x00r",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<rss><channel><title>caf\xe9</title>',
        b"<rss version='2.0'><channel><itunes:author>x</itunes:author></channel></rss>",
    ],
)
def test_garbage_is_a_finding_not_a_crash(xml: bytes) -> None:
    findings = validate(xml)
    assert [f.rule for f in findings] == ["xml-malformed"]
    assert findings[0].severity == "error"


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_truncated_samples_never_crash(path: Path) -> None:
    data = path.read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 25)):
        findings = validate(data[:cut])
        assert findings and findings[0].rule in ("xml-malformed", "xml-encoding")


def test_an_atom_feed_is_not_rss() -> None:
    findings = validate(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>')
    assert [(f.rule, f.line) for f in findings] == [("rss-root", 1)]
    assert "Atom" in findings[0].message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><description>&lol9;</description></channel></rss>
"""


def test_billion_laughs_is_not_expanded() -> None:
    started = time.perf_counter()
    findings = validate(BILLION_LAUGHS)
    assert time.perf_counter() - started < 5
    assert [f.rule for f in findings] == ["xml-entities"]
    assert findings[0].severity == "error"
    assert "not expanded" in findings[0].message


def test_declared_entities_are_reported_and_left_unexpanded() -> None:
    """A small entity that libxml2 accepts: reported, and its text never expanded."""
    xml = (
        minimal_feed()
        .replace(
            b'<?xml version="1.0" encoding="UTF-8"?>\n',
            b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE rss [<!ENTITY big "'
            + b"x" * 3000
            + b'">]>\n',
        )
        .replace(b"<description>One item.</description>", b"<description>&big;&big;</description>")
    )
    findings = validate(xml)
    assert rules(findings) == {"xml-entities"}  # 6000 bytes expanded would breach 4000
    assert "big" in findings[0].message


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("channel_extra", "item_extra", "expected"),
    [
        ("", "<itunes:duration>1:02:03</itunes:duration>", set()),
        ("", "<itunes:duration>62:03</itunes:duration>", set()),
        ("", "<itunes:duration>3723</itunes:duration>", set()),
        ("", "<itunes:duration>-5</itunes:duration>", {"item-duration"}),
        ("", "<itunes:episode>3</itunes:episode>", set()),
        ("", "<itunes:episode>three</itunes:episode>", {"item-episode"}),
        ("", "<itunes:season>-1</itunes:season>", {"item-season"}),
        ("", "<itunes:episodeType>bonus</itunes:episodeType>", set()),
        ("", "<itunes:explicit>explicit</itunes:explicit>", {"explicit-legacy"}),
        (
            "",
            '<podcast:transcript url="https://e.org/t.vtt" type="text/vtt" rel="captions"/>',
            set(),
        ),
        (
            "",
            '<podcast:chapters url="https://e.org/c.json" type="application/json+chapters"/>',
            set(),
        ),
        ("", '<podcast:chapters type="application/json+chapters"/>', {"chapters"}),
        (
            "",
            '<podcast:person role="Cover Art Designer" group="Visuals">Bo</podcast:person>',
            set(),
        ),
        ("", '<podcast:person role="host" group="writing">Bo</podcast:person>', {"person-role"}),
        ("", '<podcast:person role="guest"> </podcast:person>', {"person"}),
        ("", '<podcast:soundbite startTime="73.0" duration="60.0">Why</podcast:soundbite>', set()),
        ("", '<podcast:soundbite startTime="73.0" duration="0"/>', {"soundbite"}),
        ("", '<podcast:soundbite startTime="nan" duration="5"/>', {"soundbite"}),
        ("<podcast:locked>no</podcast:locked>", "", set()),
        ("<podcast:medium>podcast</podcast:medium>", "", set()),
        ("<podcast:medium>radio</podcast:medium>", "", {"podcast-medium"}),
        ('<itunes:category text="History"/>', "", {"category"}),
    ],
)
def test_single_rules(channel_extra: str, item_extra: str, expected: set[str]) -> None:
    findings = validate(minimal_feed(channel_extra=channel_extra, item_extra=item_extra))
    assert rules(findings) == expected, [f.format("feed") for f in findings]


def test_urls_python_cannot_split_are_findings() -> None:
    xml = minimal_feed().replace(b"https://example.org/media/1.mp3", b"http://[broken")
    xml = xml.replace(b"https://example.org/feeds/minimal.xml", b"https://[also-broken/feed")
    assert rules(validate(xml)) == {"enclosure-url", "atom-self"}


def test_wrong_case_itunes_namespace_is_an_error_but_tags_are_still_read() -> None:
    xml = minimal_feed().replace(
        b"http://www.itunes.com/dtds/podcast-1.0.dtd", b"http://www.itunes.com/DTDs/Podcast-1.0.dtd"
    )
    findings = validate(xml)
    assert rules(findings) == {"namespace-itunes"}
    assert "case-sensitive" in findings[0].message


def test_guid_rule_uses_the_url_the_feed_was_read_from() -> None:
    xml = minimal_feed()
    assert validate(xml, url="https://example.org/feeds/minimal.xml") == []
    moved = validate(xml, url="https://new.example.org/minimal.xml")
    assert rules(moved) == {"podcast-guid-rule", "atom-self"}
    assert all(f.severity == "warning" for f in moved)


# ------------------------------------------------------------ artwork


def feed_with_local_art(tmp_path: Path, name: str, image: Image.Image, fmt: str) -> Path:
    """A feed in public/feeds/ whose artwork sits in public/media/, as we publish them."""
    (tmp_path / "feeds").mkdir(exist_ok=True)
    (tmp_path / "media").mkdir(exist_ok=True)
    image.save(tmp_path / "media" / name, format=fmt)
    feed = tmp_path / "feeds" / "minimal.xml"
    feed.write_bytes(
        minimal_feed().replace(
            b"https://example.org/media/art.jpg", f"https://example.org/media/{name}".encode()
        )
    )
    return feed


@pytest.mark.parametrize(
    ("name", "image", "fmt", "expected"),
    [
        ("art.jpg", Image.new("RGB", (1400, 1400), "navy"), "JPEG", set()),
        ("art.png", Image.new("RGB", (3000, 3000), "navy"), "PNG", set()),
        ("art.jpg", Image.new("RGB", (800, 800), "navy"), "JPEG", {"artwork-size"}),
        ("art.jpg", Image.new("RGB", (3200, 3200), "navy"), "JPEG", {"artwork-size"}),
        ("art.jpg", Image.new("RGB", (1600, 1400), "navy"), "JPEG", {"artwork-square"}),
        ("art.jpg", Image.new("CMYK", (1400, 1400)), "JPEG", {"artwork-colour"}),
        ("art.jpg", Image.new("RGB", (1400, 1400), "navy"), "PNG", {"artwork-extension"}),
        ("art.png", Image.new("RGBA", (1400, 1400)), "PNG", {"artwork-alpha"}),
        ("art.gif", Image.new("P", (1400, 1400)), "GIF", {"artwork-format", "artwork-alpha"}),
    ],
    ids=[
        "ok-jpeg",
        "ok-png",
        "800px",
        "too-big",
        "not-square",
        "cmyk",
        "png-named-jpg",
        "alpha",
        "gif",
    ],
)
def test_artwork_rules(
    tmp_path: Path, name: str, image: Image.Image, fmt: str, expected: set[str]
) -> None:
    feed = feed_with_local_art(tmp_path, name, image, fmt)
    findings = validate_target(str(feed))
    assert rules(findings) == expected, [f.format("feed") for f in findings]


def test_artwork_that_is_not_an_image(tmp_path: Path) -> None:
    feed = feed_with_local_art(tmp_path, "art.jpg", Image.new("RGB", (1, 1)), "JPEG")
    (tmp_path / "media" / "art.jpg").write_text("<html>not found</html>")
    assert rules(validate_target(str(feed))) == {"artwork-format"}


# ------------------------------------------------------- URLs and the CLI


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A folder served over HTTP on 127.0.0.1 (never the internet)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="storycast")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(list(argv))
    code: int = args.func(args)
    return code


def test_url_served_from_localhost(served: tuple[str, Path]) -> None:
    base, folder = served
    shutil.copy(sample("broken.xml"), folder / "broken.xml")
    url = f"{base}/broken.xml"
    from_file = found(validate_target(str(sample("broken.xml"))))
    # Read from another URL than its self link says: that is worth a warning too.
    self_link = ("atom-self", line_of(sample("broken.xml"), "<atom:link"))
    assert found(validate_target(url)) == from_file | {self_link}


def test_fetch_images_downloads_the_artwork(served: tuple[str, Path]) -> None:
    base, folder = served
    Image.new("RGB", (1000, 1000), "olive").save(folder / "art.jpg", format="JPEG")
    self_url = f"{base}/feed.xml"
    xml = (
        minimal_feed()
        .replace(b"https://example.org/media/art.jpg", f"{base}/art.jpg".encode())
        .replace(b"https://example.org/feeds/minimal.xml", self_url.encode())
        .replace(
            podcast_guid("https://example.org/feeds/minimal.xml").encode(),
            podcast_guid(self_url).encode(),
        )
    )
    (folder / "feed.xml").write_bytes(xml)
    assert validate_target(self_url) == []  # artwork not looked at without --fetch-images
    findings = validate_target(self_url, fetch_images=True)
    assert rules(findings) == {"artwork-size"}
    (folder / "art.jpg").unlink()
    missing = validate_target(self_url, fetch_images=True)
    assert rules(missing) == {"artwork-unreadable"}
    assert "404" in missing[0].message


def test_fetch_has_a_size_cap_and_reports_http_errors(served: tuple[str, Path]) -> None:
    base, folder = served
    (folder / "big.xml").write_bytes(b"x" * 5000)
    with pytest.raises(FeedReadError, match="larger than 1000 bytes"):
        fetch_url(f"{base}/big.xml", max_bytes=1000)
    with pytest.raises(FeedReadError, match="404"):
        fetch_url(f"{base}/missing.xml")
    with pytest.raises(FeedReadError, match="only http and https"):
        fetch_url("file:///etc/passwd")


def test_cli_prints_findings_with_lines_and_exits_1_on_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = sample("broken.xml")
    assert run_cli("validate-feed", str(path)) == 1
    out = capsys.readouterr().out.splitlines()
    line = line_of(path, "3am.mp3")
    assert (
        f'{path}:{line}: error [enclosure-length] item 1 ("The 3am crowd"): <enclosure> has no '
        'length. Fix: Set length="..." to the media file\'s size in bytes.'
    ) in out
    assert out[-1] == f"{path}: fails: 19 errors, 4 warnings."


def test_cli_exits_0_with_only_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    path = sample("legacy.xml")
    assert run_cli("validate-feed", str(path)) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{path}: passes: 0 errors, 10 warnings."


def test_cli_json(capsys: pytest.CaptureFixture[str], served: tuple[str, Path]) -> None:
    base, folder = served
    shutil.copy(sample("no-image.xml"), folder / "no-image.xml")
    assert run_cli("validate-feed", f"{base}/no-image.xml", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    # Read from 127.0.0.1, not the URL in its self link (which its guid was made from).
    assert (report["errors"], report["warnings"]) == (1, 2)
    assert {f["rule"] for f in report["findings"]} == {
        "itunes-image",
        "atom-self",
        "podcast-guid-rule",
    }
    first = report["findings"][0]
    assert set(first) == {"severity", "rule", "where", "line", "message", "fix"}


def test_storycast_command(tmp_path: Path) -> None:
    """Through the real `storycast` command."""
    run = storycast(tmp_path, "validate-feed", str(sample("legacy.xml")))
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1].endswith("passes: 0 errors, 10 warnings.")
    broken = storycast(tmp_path, "validate-feed", str(sample("broken.xml")), "--json")
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["errors"] == 19


def test_cli_unreadable_feed_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(feed=str(tmp_path / "nope.xml"), json=False, fetch_images=False)
    assert cmd_validate_feed(args) == 2
    assert "cannot be read" in capsys.readouterr().err


# ------------------------------------------------- hostile servers and feeds
#
# Everything is served from 127.0.0.1 by the test itself. Reads of local files
# are watched with an audit hook, which sees every open() in this process.

_OPENED: list[object] | None = None


def _record_open(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and _OPENED is not None:
        _OPENED.append(args[0])


sys.addaudithook(_record_open)  # cannot be removed; does nothing outside the fixture


@pytest.fixture
def opened() -> Iterator[list[object]]:
    """Every path opened in this process while the test runs (clear it to start afresh)."""
    global _OPENED
    _OPENED = []
    try:
        yield _OPENED
    finally:
        _OPENED = None


def was_opened(opened: list[object], path: Path) -> bool:
    """Whether ``path`` was opened, by its own name or through a link to it."""
    real = os.path.realpath(path)
    return any(
        isinstance(p, str | bytes) and os.path.realpath(os.fsdecode(p)) == real for p in opened
    )


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A valid 800 x 800 JPEG outside every feed's folder: read, it would be an
    ``artwork-size`` finding saying 800 x 800."""
    outside = tmp_path / "outside"
    outside.mkdir()
    path = outside / "secret.jpg"
    Image.new("RGB", (800, 800), "red").save(path, format="JPEG")
    return path


class Trickler:
    """An HTTP server that reads a request, sends ``head`` at once, then ``drip`` one
    byte every ``every`` seconds, then ``y``: a server that never times out. It hangs
    up after ``LIFETIME`` seconds, so a client without a time limit fails the test
    rather than hanging it."""

    LIFETIME = 8.0

    def __init__(
        self,
        head: bytes,
        drip: bytes = b"",
        every: float = 0.05,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.head, self.drip, self.every, self.tls = head, drip, every, tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5)
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                conn.sendall(self.head)
                hang_up = time.monotonic() + self.LIFETIME
                for byte in itertools.chain(self.drip, itertools.repeat(ord("y"))):
                    if self.stopped.wait(self.every) or time.monotonic() > hang_up:
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return  # the client gave up: what it should do

    def stop(self) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.listener.close()


@pytest.fixture
def trickler() -> Iterator[Callable[..., Trickler]]:
    started: list[Trickler] = []

    def start(
        head: bytes, drip: bytes = b"", every: float = 0.05, tls: ssl.SSLContext | None = None
    ) -> Trickler:
        started.append(Trickler(head, drip, every, tls))
        return started[-1]

    yield start
    for server in started:
        server.stop()


TRICKLED_BODY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n"
)
TRICKLED_HEAD = b"HTTP/1.1 200 OK\r\nX-Slow: "  # then "y" forever: headers never end


@pytest.mark.parametrize(
    ("head", "drip"), [(TRICKLED_BODY, b"<rss>"), (b"", TRICKLED_HEAD)], ids=["body", "headers"]
)
def test_a_trickling_server_cannot_hold_a_fetch(
    trickler: Callable[..., Trickler], head: bytes, drip: bytes
) -> None:
    """A byte every 0.05 s never trips the 5 s read timeout; the 1 s time limit ends it."""
    server = trickler(head, drip)
    started = time.monotonic()
    with pytest.raises(FeedReadError, match=r"gave up after 1\.0 s, the time limit") as caught:
        fetch_url(f"{server.url}/feed.xml", timeout=5, time_limit=1.0)
    took = time.monotonic() - started
    assert 0.9 < took < 2.0
    assert "--time-limit" in str(caught.value)


@pytest.fixture
def tls_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 that the client trusts."""
    openssl = shutil.which("openssl")
    # `make test` installs it: without it this https test would not run at all
    assert openssl is not None, "the openssl command is needed to make a certificate"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # what ssl.create_default_context trusts
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_a_trickling_https_server_cannot_hold_a_fetch(
    trickler: Callable[..., Trickler], tls_context: ssl.SSLContext
) -> None:
    whole = trickler(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n<rss>", tls=tls_context)
    assert whole.url.startswith("https://")
    assert fetch_url(f"{whole.url}/feed.xml", time_limit=5) == b"<rss>"  # TLS itself works
    server = trickler(TRICKLED_BODY, b"<rss>", tls=tls_context)
    started = time.monotonic()
    with pytest.raises(FeedReadError, match=r"gave up after 1\.0 s"):
        fetch_url(f"{server.url}/feed.xml", timeout=5, time_limit=1.0)
    assert 0.9 < time.monotonic() - started < 2.0


def test_a_stalled_tls_handshake_is_bounded_too(trickler: Callable[..., Trickler]) -> None:
    """A server that takes the connection and never answers the TLS hello."""
    server = trickler(b"")
    started = time.monotonic()
    with pytest.raises(FeedReadError, match=r"gave up after 1\.0 s"):
        fetch_url(f"{server.url.replace('http:', 'https:')}/feed.xml", timeout=5, time_limit=1.0)
    assert 0.9 < time.monotonic() - started < 2.0


def test_the_command_has_one_time_limit(
    trickler: Callable[..., Trickler], capsys: pytest.CaptureFixture[str]
) -> None:
    server = trickler(TRICKLED_BODY, b"<rss>")
    started = time.monotonic()
    assert run_cli("validate-feed", f"{server.url}/feed.xml", "--time-limit", "1") == 2
    assert time.monotonic() - started < 2.0
    err = capsys.readouterr().err
    assert "storycast validate-feed:" in err
    assert "gave up after 1.0 s" in err


def test_artwork_shares_the_commands_time_limit(
    trickler: Callable[..., Trickler], served: tuple[str, Path]
) -> None:
    """The feed comes at once; its artwork trickles. The command still ends on time,
    with a finding for the artwork, not an error for the feed."""
    base, folder = served
    art = trickler(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n")
    self_url = f"{base}/feed.xml"
    (folder / "feed.xml").write_bytes(feed_at(self_url, artwork=f"{art.url}/art.jpg".encode()))
    started = time.monotonic()
    findings = validate_target(self_url, fetch_images=True, time_limit=1.5)
    assert time.monotonic() - started < 2.5
    assert rules(findings) == {"artwork-unreadable"}
    assert "gave up after" in findings[0].message


def test_a_server_that_is_not_http_is_a_read_error(trickler: Callable[..., Trickler]) -> None:
    """http.client's own exceptions (here BadStatusLine) are not OSErrors."""
    server = trickler(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    with pytest.raises(FeedReadError, match="could not be fetched"):
        fetch_url(f"{server.url}/feed.xml", time_limit=2)


def feed_at(self_url: str, *, artwork: bytes, enclosure: bytes | None = None) -> bytes:
    """The minimal feed, published at ``self_url``, with this artwork (and enclosure)."""
    xml = (
        minimal_feed()
        .replace(b"https://example.org/media/art.jpg", artwork)
        .replace(b"https://example.org/feeds/minimal.xml", self_url.encode())
        .replace(
            podcast_guid("https://example.org/feeds/minimal.xml").encode(),
            podcast_guid(self_url).encode(),
        )
    )
    if enclosure is not None:
        xml = xml.replace(b"https://example.org/media/1.mp3", enclosure)
    return xml


@contextlib.contextmanager
def redirecting(routes: dict[str, tuple[int, str]]) -> Iterator[str]:
    """A server that answers each path in ``routes`` with (status, Location)."""

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/feed.xml":
                body = minimal_feed()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            status, location = routes[self.path]
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_go_to_http_only(status: int, secret: Path, opened: list[object]) -> None:
    routes = {
        "/file": (status, secret.as_uri()),
        "/file-relative": (status, f"file:{secret}"),
        "/ftp": (status, "ftp://127.0.0.1/feed.xml"),
        "/data": (status, "data:application/rss+xml,<rss/>"),
        "/http": (status, "/feed.xml"),
    }
    with redirecting(routes) as base:
        opened.clear()
        for path in ("/file", "/file-relative", "/ftp", "/data"):
            with pytest.raises(FeedReadError, match="which is not an http.s. URL; not followed"):
                fetch_url(base + path, time_limit=5)
        assert fetch_url(base + "/http", time_limit=5) == minimal_feed()
    assert not was_opened(opened, secret)


def test_urls_in_a_fetched_feed_never_reach_the_disk(
    served: tuple[str, Path], secret: Path, opened: list[object]
) -> None:
    base, folder = served
    self_url = f"{base}/feed.xml"
    for artwork in (secret.as_uri(), str(secret), f"file://localhost{secret}"):
        (folder / "feed.xml").write_bytes(
            feed_at(self_url, artwork=artwork.encode(), enclosure=b"file:///etc/passwd")
        )
        opened.clear()
        findings = validate_target(self_url, fetch_images=True, time_limit=5)
        assert rules(findings) == {"itunes-image", "enclosure-url"}, artwork
        image = next(f for f in findings if f.rule == "itunes-image")
        assert "it was not opened" in image.message
        enclosure = next(f for f in findings if f.rule == "enclosure-url")
        assert "is a file: URL, not http(s); it was not opened" in enclosure.message
        assert not was_opened(opened, secret)
        assert not was_opened(opened, Path("/etc/passwd"))


def local_feed(folder: Path, self_url: str, artwork: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    feed = folder / "feed.xml"
    feed.write_bytes(feed_at(self_url, artwork=artwork.encode()))
    return feed


def test_a_deep_self_link_cannot_walk_a_local_feed_out_of_its_folder(
    tmp_path: Path, secret: Path, opened: list[object]
) -> None:
    """The artwork is mapped relative to the self link; twenty folders up from the
    feed is the root of the disk, and from there anywhere. Once this read the secret."""
    deep = "/".join(["d"] * 20)
    feed = local_feed(
        tmp_path / "show",
        f"https://example.org/{deep}/feed.xml",
        f"https://example.org{secret}",
    )
    opened.clear()
    findings = validate_target(str(feed))
    assert rules(findings) == {"artwork-unreadable"}
    assert "outside the feed's folder" in findings[0].message
    assert "not read" in findings[0].message
    assert was_opened(opened, feed)  # the hook does see what is read
    assert not was_opened(opened, secret)


def test_a_symlink_cannot_lead_a_local_feed_out_of_its_folder(
    tmp_path: Path, secret: Path, opened: list[object]
) -> None:
    public = tmp_path / "public"
    feed = local_feed(
        public / "feeds",
        "https://example.org/feeds/feed.xml",
        "https://example.org/media/art.jpg",
    )
    (public / "media").mkdir()
    (public / "media" / "art.jpg").symlink_to(secret)
    opened.clear()
    findings = validate_target(str(feed))
    assert rules(findings) == {"artwork-unreadable"}
    assert "outside the feed's folder" in findings[0].message
    assert not was_opened(opened, secret)


def test_a_local_feed_reads_artwork_in_its_own_published_folder(
    tmp_path: Path, secret: Path, opened: list[object]
) -> None:
    """public/feeds/feed.xml may read public/media/; a copy of the secret there is read."""
    public = tmp_path / "public"
    feed = local_feed(
        public / "feeds",
        "https://example.org/feeds/feed.xml",
        "https://example.org/media/art.jpg",
    )
    (public / "media").mkdir()
    shutil.copy(secret, public / "media" / "art.jpg")
    opened.clear()
    findings = validate_target(str(feed))
    assert rules(findings) == {"artwork-size"}
    assert "800 x 800" in findings[0].message
    assert was_opened(opened, public / "media" / "art.jpg")
    assert not was_opened(opened, secret)


def test_a_feed_path_that_is_not_a_regular_file_is_not_read(tmp_path: Path) -> None:
    """A pipe would block the read for ever; a device such as /dev/zero never ends."""
    pipe = tmp_path / "feed.xml"
    os.mkfifo(pipe)
    for path in (pipe, tmp_path, Path("/dev/zero")):
        outcome: list[BaseException | None] = []

        def attempt(target: Path = path, out: list[BaseException | None] = outcome) -> None:
            try:
                validate_target(str(target))
            except BaseException as exc:
                out.append(exc)
            else:
                out.append(None)

        thread = threading.Thread(target=attempt, daemon=True)
        thread.start()
        thread.join(timeout=2)
        if thread.is_alive() and path == pipe:  # blocked opening the pipe: let it go
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        assert not thread.is_alive(), f"reading {path} did not end"
        assert isinstance(outcome[0], FeedReadError), outcome
        assert "not a regular file" in str(outcome[0])
