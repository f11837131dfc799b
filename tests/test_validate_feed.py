"""`storycast validate-feed`: our published feeds pass, feeds from the wild get sensible findings.

The sample feeds in tests/data/feeds imitate what hosts publish (Apple's own
sample, a 2012 feed with legacy values, a broken one, HTML in CDATA, Latin-1,
show notes pasted whole, no artwork). Findings are checked by rule id and by
the line they point at, found by searching the sample for the offending text.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import io
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import podcastparser
import pytest
from PIL import Image

from pipeline.feed import podcast_guid
from pipeline.validate_feed import (
    APPLE_CATEGORIES,
    RULES,
    FeedReadError,
    Finding,
    add_parser,
    cmd_validate_feed,
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
