"""The rest of Podcasting 2.0: license, txt (ai-content), image with alt, updateFrequency,
funding, block, a transcript per language and each item's page; read back with
podcastparser and lxml, checked by `validate-feed`, and refused from the show file with
file:line errors when they are wrong. And never podcast:location."""

from __future__ import annotations

import dataclasses
import io
import shutil
from datetime import UTC, datetime
from pathlib import Path

import podcastparser
import pytest
from lxml import etree
from test_validate_feed import minimal_feed, rules

from pipeline.feed.build import build_feed
from pipeline.feed.validate import validate
from pipeline.project.showfile import load_show
from pipeline.project.yamlfile import Problems
from pipeline.records import Funding, License, Show, ShowText, UpdateFrequency

from test_feed import ARTWORK, BASE, NS, make_entry, make_show, published_file

ROOT = Path(__file__).resolve().parent.parent
AI = "Captions are made by speech recognition and checked by the contributors."


def full_show(tmp_path: Path, **changes: object) -> Show:
    shutil.copyfile(ROOT / "feeds" / "riverside-voices.jpg", tmp_path / "artwork.jpg")
    fields: dict[str, object] = {
        "artwork_alt": 'Gold rings on blue & the words "Youth Voices"',
        "license": License("CC-BY-NC-4.0", "https://creativecommons.org/licenses/by-nc/4.0/"),
        "txt": (ShowText("verify-123"), ShowText(AI, "ai-content")),
        "update_frequency": UpdateFrequency("Finished: twelve episodes", "FREQ=MONTHLY", True),
        "funding": (Funding("https://example.org/give", "Support the youth council"),),
        "block": True,
    }
    return make_show(tmp_path, **{**fields, **changes})


def _entries(tmp_path: Path) -> list:  # type: ignore[type-arg]
    one = make_entry(tmp_path, "first-steps", datetime(2024, 3, 1, 9, tzinfo=UTC))
    files = dict(one.files)
    files["page"] = published_file(
        "page", "media/youth-voices/episodes/first-steps.html", 9000, "text/html"
    )
    files["captions-vtt:cy"] = published_file("captions-vtt:cy", "media/x-cy.vtt", 900, "text/vtt")
    return [dataclasses.replace(one, files=files)]


def test_channel_tags_as_written_and_read_back(tmp_path: Path) -> None:
    show = full_show(tmp_path)
    xml = build_feed(show, _entries(tmp_path), ARTWORK)
    channel = etree.fromstring(xml).find("channel")

    def one(tag: str) -> etree._Element:
        found = channel.findall(tag, NS)
        assert len(found) == 1, tag
        return found[0]

    lic = one("podcast:license")
    assert (lic.text, lic.get("url")) == (
        "cc-by-nc-4.0",
        "https://creativecommons.org/licenses/by-nc/4.0/",
    )
    txts = [(t.get("purpose"), t.text) for t in channel.findall("podcast:txt", NS)]
    assert txts == [(None, "verify-123"), ("ai-content", AI)]
    image = one("podcast:image")
    assert image.get("href") == ARTWORK.url
    assert image.get("alt") == 'Gold rings on blue & the words "Youth Voices"'
    assert (image.get("width"), image.get("aspect-ratio")) == ("1400", "1/1")
    assert channel.findall("podcast:images", NS) == []
    freq = one("podcast:updateFrequency")
    assert (freq.text, freq.get("rrule"), freq.get("complete")) == (
        "Finished: twelve episodes",
        "FREQ=MONTHLY",
        "true",
    )
    fund = one("podcast:funding")
    assert (fund.get("url"), fund.text) == ("https://example.org/give", "Support the youth council")
    assert one("podcast:block").text == "yes"
    assert one("itunes:block").text == "Yes"
    assert b"location" not in xml  # never, whatever the show says
    assert [f.rule for f in validate(xml)] == []

    parsed = podcastparser.parse(BASE + "feeds/youth-voices.xml", io.BytesIO(xml))
    assert parsed["link"] == BASE + "media/youth-voices/index.html"
    episode = parsed["episodes"][0]
    assert episode["link"] == BASE + "media/youth-voices/episodes/first-steps.html"


def test_a_show_that_is_not_blocked_says_no_and_has_no_itunes_block(tmp_path: Path) -> None:
    xml = build_feed(full_show(tmp_path, block=False), _entries(tmp_path), ARTWORK)
    channel = etree.fromstring(xml).find("channel")
    assert channel.find("podcast:block", NS).text == "no"
    assert channel.find("itunes:block", NS) is None


def test_a_transcript_per_language(tmp_path: Path) -> None:
    xml = build_feed(full_show(tmp_path), _entries(tmp_path), ARTWORK)
    item = etree.fromstring(xml).find("channel/item")
    vtts = [
        (t.get("url"), t.get("language"))
        for t in item.findall("podcast:transcript", NS)
        if t.get("type") == "text/vtt"
    ]
    assert vtts == [
        (BASE + "media/first-steps/captions-vtt.vtt", "en-gb"),
        (BASE + "media/x-cy.vtt", "cy"),
    ]
    # one language only: no language attribute needed (the channel's language holds)
    plain = build_feed(full_show(tmp_path), [make_entry(tmp_path, "a", datetime.now(UTC))], ARTWORK)
    assert b'language="' not in plain
    assert "transcript-language" not in rules(validate(xml))


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        ("<podcast:license>my-own-terms</podcast:license>", "podcast-license"),
        ('<podcast:license url="ftp://x">x</podcast:license>', "podcast-license"),
        ("<podcast:txt></podcast:txt>", "podcast-txt"),
        (f"<podcast:txt>{'x' * 4001}</podcast:txt>", "podcast-txt"),
        ('<podcast:image href="art.jpg" alt="a" width="1" aspect-ratio="1/1"/>', "podcast-image"),
        ('<podcast:image href="https://example.org/a.jpg"/>', "podcast-image-alt"),
        (
            '<podcast:image href="https://example.org/a.jpg" alt="a" width="big" '
            'aspect-ratio="1/1"/>',
            "podcast-image-alt",
        ),
        ('<podcast:images srcset="https://example.org/a.jpg 1400w"/>', "podcast-images"),
        (
            '<podcast:updateFrequency rrule="every week">Weekly</podcast:updateFrequency>',
            "podcast-update-frequency",
        ),
        (
            '<podcast:updateFrequency complete="yes">Done</podcast:updateFrequency>',
            "podcast-update-frequency",
        ),
        ('<podcast:funding url="give.html">Give</podcast:funding>', "podcast-funding"),
        ("<podcast:block>maybe</podcast:block>", "podcast-block"),
        ("<itunes:block>true</itunes:block>", "itunes-block"),
        (
            '<podcast:location geo="geo:51.5,-0.1">Riverside youth hub</podcast:location>',
            "podcast-location",
        ),
    ],
)
def test_validate_feed_rules_for_the_new_tags(extra: str, rule: str) -> None:
    assert rule in rules(validate(minimal_feed(channel_extra=extra)))


def test_validate_feed_passes_them_when_right() -> None:
    good = (
        '<podcast:license url="https://example.org/terms">Our terms</podcast:license>'
        '<podcast:txt purpose="ai-content">None.</podcast:txt>'
        '<podcast:image href="https://example.org/a.jpg" alt="Art" width="3000" '
        'aspect-ratio="1/1"/>'
        '<podcast:updateFrequency rrule="FREQ=WEEKLY;INTERVAL=2" complete="false">Fortnightly'
        "</podcast:updateFrequency>"
        '<podcast:funding url="https://example.org/give">Give</podcast:funding>'
        "<podcast:block>no</podcast:block><itunes:block>Yes</itunes:block>"
    )
    assert validate(minimal_feed(channel_extra=good)) == []


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        ("<link>episodes/one.html</link>", "item-link"),
        (
            '<podcast:transcript url="https://e.org/a.vtt" type="text/vtt"/>'
            '<podcast:transcript url="https://e.org/b.vtt" type="text/vtt" language="cy"/>',
            "transcript-language",
        ),
    ],
)
def test_validate_feed_item_rules(item: str, rule: str) -> None:
    assert rule in rules(validate(minimal_feed(item_extra=item)))


# --- the show file ----------------------------------------------------------------------------


def _show_file(tmp_path: Path, extra: str) -> tuple[Path, Problems, Show | None]:
    feeds = tmp_path / "feeds"
    feeds.mkdir(parents=True)
    shutil.copyfile(ROOT / "feeds" / "riverside-voices.jpg", feeds / "riverside-voices.jpg")
    text = (ROOT / "feeds" / "riverside-voices.yaml").read_text()
    for field in ("license:", "ai_content:", "update_frequency:", "  text:", "  rrule:"):
        text = "\n".join(s for s in text.splitlines() if not s.startswith(field)) + "\n"
    path = feeds / "riverside-voices.yaml"
    path.write_text(text + extra)
    problems = Problems()
    return path, problems, load_show(path, problems)


def test_show_file_fields(tmp_path: Path) -> None:
    path, problems, show = _show_file(
        tmp_path,
        "license: {name: Our own terms, url: 'https://example.org/terms'}\n"
        "txt: [verify-abc, {text: Made with care, purpose: note}]\n"
        "ai_content: Nothing here is made by AI.\n"
        "update_frequency: {text: Finished, complete: true}\n"
        "funding:\n  - url: https://example.org/give\n    text: Support us\n"
        "block: true\n",
    )
    assert not problems, [str(p) for p in problems.items]
    assert show is not None
    assert show.license == License("Our own terms", "https://example.org/terms")
    assert show.txt == (
        ShowText("verify-abc"),
        ShowText("Made with care", "note"),
        ShowText("Nothing here is made by AI.", "ai-content"),
    )
    assert show.update_frequency == UpdateFrequency("Finished", None, True)
    assert show.funding == (Funding("https://example.org/give", "Support us"),)
    assert show.block is True
    _, _, lower = _show_file(tmp_path / "b", "license: cc-by-4.0\n")
    assert lower is not None and lower.license is not None
    assert lower.license.name == "CC-BY-4.0"


@pytest.mark.parametrize(
    ("extra", "field", "says"),
    [
        ("license: {name: Ours}\n", "license", "needs both `name:` and `url:`"),
        (
            "update_frequency: {text: Weekly, rrule: every tuesday}\n",
            "update_frequency.rrule",
            "is not an RFC 5545 recurrence rule",
        ),
        ("funding:\n  - url: give.html\n    text: Give\n", "funding[1].url", "not a web address"),
    ],
)
def test_show_file_errors_name_file_line_and_field(
    tmp_path: Path, extra: str, field: str, says: str
) -> None:
    path, problems, _ = _show_file(tmp_path, extra)
    said = [str(p) for p in problems.items]
    lines = path.read_text().splitlines()
    first = lines.index(extra.splitlines()[0]) + 1
    assert any(s.startswith(f"{path}:") and f": {field}: " in s and says in s for s in said), said
    line = int(said[0].split(":")[1])
    assert first <= line <= first + 2
