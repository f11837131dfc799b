"""captions: words mapped through the Timeline, cues built to broadcast limits, files written."""

from __future__ import annotations

import html
import json
import random
import re
from pathlib import Path

import pytest
import webvtt

from pipeline import defaults
from pipeline.records import Chapter, Clip, Cue, Redaction, Timeline, Transcript, Word
from pipeline.render.captions import (
    EpisodeWord,
    build_cues,
    map_words,
    reading_ms,
    redact_words,
    render_all,
    to_chapters_json,
    to_html,
    to_srt,
    to_text,
    to_transcript_json,
    to_webvtt,
    wrap,
)

EPS = 1e-9


def timeline(
    *clips: Clip, chapters: tuple[Chapter, ...] = (), redactions: tuple[Redaction, ...] = ()
) -> Timeline:
    return Timeline(
        edl_path=Path("edl.yaml"),
        edl_sha256="x",
        clips=clips,
        chapters=chapters,
        redactions=redactions,
    )


def laid_out(*ranges: tuple[str, float, float]) -> tuple[Clip, ...]:
    """Clips placed one after another from episode time 0."""
    clips: list[Clip] = []
    t = 0.0
    for source, src_in, src_out in ranges:
        clips.append(Clip(source=source, src_in=src_in, src_out=src_out, start=t))
        t += src_out - src_in
    return tuple(clips)


def transcript(*words: tuple[float, float, str]) -> Transcript:
    return Transcript(
        recording_sha256="sha",
        engine="faster-whisper",
        model="tiny.en",
        language="en",
        words=tuple(Word(a, b, t) for a, b, t in words),
    )


def spaced(
    text: str, start: float = 0.0, step: float = 0.3, length: float = 0.25
) -> list[tuple[float, float, str]]:
    """One word every ``step`` seconds."""
    return [(start + i * step, start + i * step + length, w) for i, w in enumerate(text.split())]


def cue_words(cues: list[Cue]) -> list[str]:
    return " ".join(c.text.replace("\n", " ") for c in cues).split()


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    """A tiny WebVTT reader: header, then blocks of a timing line and text lines."""
    blocks = text.strip("\n").split("\n\n")
    assert blocks[0] == "WEBVTT"
    stamp = r"(\d\d):(\d\d):(\d\d)\.(\d\d\d)"
    out = []
    for block in blocks[1:]:
        timing, *lines = block.split("\n")
        m = re.fullmatch(stamp + " --> " + stamp, timing)
        assert m, timing
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        assert lines and all(lines)
        out.append((start, end, "\n".join(lines)))
    return out


def check_invariants(cues: list[Cue], tl: Timeline) -> None:
    previous_end = -1.0
    for cue in cues:
        lines = cue.text.split("\n")
        assert 1 <= len(lines) <= defaults.CAPTION_MAX_LINES, cue
        # A single word longer than a line is allowed, alone and unbroken.
        assert all(
            line and (len(line) <= defaults.CAPTION_MAX_LINE or " " not in line) for line in lines
        ), cue
        assert cue.end > cue.start
        assert cue.end - cue.start <= defaults.CAPTION_MAX_SECONDS + EPS, cue
        assert cue.start >= previous_end - EPS, "cues overlap or are out of order"
        previous_end = cue.end
        assert any(c.start - EPS <= cue.start and cue.end <= c.end + EPS for c in tl.clips), cue
        for ch in tl.chapters:
            assert not (cue.start < ch.start - EPS and cue.end > ch.start + EPS), (cue, ch)


# --------------------------------------------------------------------------- map_words


def test_words_in_cut_out_parts_never_appear() -> None:
    words = spaced("one two three") + [(3.0, 3.4, "secret"), (3.5, 3.9, "address")]
    words += spaced("four five six", start=5.0)
    tl = timeline(*laid_out(("a.m4a", 0.0, 2.0), ("a.m4a", 5.0, 6.0)))
    tr = {"a.m4a": transcript(*words)}

    mapped = map_words(tl, tr)
    assert [w.text for w in mapped] == ["one", "two", "three", "four", "five", "six"]
    for output in render_all(tl, tr).values():
        assert "secret" not in output and "address" not in output


def test_clip_from_middle_of_recording_is_shifted() -> None:
    tl = timeline(*laid_out(("intro.wav", 0.0, 5.0), ("story.m4a", 10.0, 20.0)))
    tr = {
        "intro.wav": transcript((1.0, 1.5, "hi")),
        "story.m4a": transcript((2.0, 2.5, "before"), (12.0, 12.4, "middle"), (25, 26, "after")),
    }
    mapped = map_words(tl, tr)
    assert mapped == [
        EpisodeWord(1.0, 1.5, "hi", 0),
        EpisodeWord(pytest.approx(7.0), pytest.approx(7.4), "middle", 1),  # type: ignore[arg-type]
    ]


def test_same_recording_used_twice_maps_each_occurrence() -> None:
    tl = timeline(
        Clip("a.m4a", 4.0, 6.0, start=0.0),
        Clip("b.m4a", 0.0, 3.0, start=2.0),
        Clip("a.m4a", 0.0, 5.0, start=5.0),
    )
    tr = {
        "a.m4a": transcript((1.0, 1.2, "early"), (4.5, 4.9, "twice")),
        "b.m4a": transcript((0.5, 0.7, "bee")),
    }
    got = [(round(w.start, 6), round(w.end, 6), w.text, w.clip_index) for w in map_words(tl, tr)]
    assert got == [
        (0.5, 0.9, "twice", 0),
        (2.5, 2.7, "bee", 1),
        (6.0, 6.2, "early", 2),
        (9.5, 9.9, "twice", 2),
    ]


def test_midpoint_rule_at_clip_edges() -> None:
    tl = timeline(Clip("a", 10.0, 20.0, start=100.0))
    tr = {
        "a": transcript(
            (9.5, 10.3, "out-left"),  # midpoint 9.9
            (9.6, 10.4, "in-left"),  # midpoint 10.0: the in point is inside
            (15.0, 15.5, "middle"),
            (19.6, 20.2, "in-right"),  # midpoint 19.9
            (19.8, 20.2, "out-right"),  # midpoint 20.0: the out point is outside
        )
    }
    mapped = map_words(tl, tr)
    assert [w.text for w in mapped] == ["in-left", "middle", "in-right"]
    left, _, right = mapped
    assert left.start == pytest.approx(100.0) and left.end == pytest.approx(100.4)
    assert right.start == pytest.approx(109.6) and right.end == pytest.approx(110.0)
    assert all(100.0 <= w.start <= w.end <= 110.0 for w in mapped)


def test_whitespace_stripped_empty_dropped_missing_source_skipped() -> None:
    tl = timeline(*laid_out(("a", 0.0, 5.0), ("missing", 0.0, 5.0)))
    tr = {"a": transcript((0.0, 0.3, " Hello"), (0.4, 0.5, "  "), (0.6, 0.9, "world. "))}
    assert [w.text for w in map_words(tl, tr)] == ["Hello", "world."]


# --------------------------------------------------------------------------- build_cues


def test_long_random_episode_keeps_every_limit_and_every_word() -> None:
    rng = random.Random(7)
    vocab = ["a", "the", "story", "we", "recorded", "festival", "volunteers", "x" * 45]
    vocab += ["and", "then", "everybody", "laughed.", "why?", "wow!", "supercalifragilistic"]
    transcripts = {}
    for name in ("a", "b", "c"):
        t, words = 0.0, []
        while t < 120:
            length = rng.choice([0.05, 0.2, 0.4, 0.8, 2.5])
            words.append((t, t + length, rng.choice(vocab)))
            t += length + rng.choice([0.0, 0.05, 0.1, 0.3, 0.69, 0.71, 1.5])
        transcripts[name] = transcript(*words)
    clips = laid_out(("a", 3.3, 40.0), ("b", 10.0, 55.5), ("a", 60.0, 90.0), ("c", 0.0, 120.0))
    chapters = (Chapter(0.0, "Start"), Chapter(20.05, "Two"), Chapter(150, "3"))
    tl = timeline(*clips, chapters=chapters)

    mapped = map_words(tl, transcripts)
    cues = build_cues(mapped, tl)
    check_invariants(cues, tl)
    assert cue_words(cues) == [w.text for w in mapped]
    boundaries = [c.start for c in tl.clips[1:]] + [ch.start for ch in tl.chapters]
    for b in boundaries:
        assert not any(c.start < b - EPS and c.end > b + EPS for c in cues)


def test_no_cue_spans_clip_boundary_even_without_pause() -> None:
    tl = timeline(*laid_out(("a", 0.0, 2.0), ("b", 0.0, 2.0)))
    tr = {"a": transcript(*spaced("one two three four five six")), "b": transcript(*spaced("x y"))}
    cues = build_cues(map_words(tl, tr), tl)
    assert [c.text for c in cues] == ["one two three four five six", "x y"]
    assert cues[0].end <= 2.0 <= cues[1].start


def test_no_cue_spans_chapter_start() -> None:
    tl = timeline(*laid_out(("a", 0.0, 10.0)), chapters=(Chapter(0.0, "A"), Chapter(1.0, "B")))
    tr = {"a": transcript(*spaced("one two three four five six"))}
    cues = build_cues(map_words(tl, tr), tl)
    # Words at 0.0, 0.3, 0.6, 0.9 (midpoint 1.025 -> after), 1.2, 1.5.
    assert [c.text for c in cues] == ["one two three", "four five six"]
    assert cues[0].end == 1.0 and cues[1].start == 1.0
    check_invariants(cues, tl)


def test_sentence_end_and_pause_start_new_cues() -> None:
    words = [(0.0, 0.3, "Hello"), (0.35, 0.6, "there."), (0.65, 0.9, "How"), (0.95, 1.2, "are")]
    words += [(1.25, 1.5, "you?"), (1.55, 1.8, "I"), (2.3, 2.5, "am"), (3.3, 3.5, "fine")]
    tl = timeline(Clip("a", 0.0, 10.0, start=0.0))
    cues = build_cues(map_words(tl, {"a": transcript(*words)}), tl)
    # 0.5 s gap stays in the cue; 0.8 s gap (longer than the pause break) does not.
    assert [c.text for c in cues] == ["Hello there.", "How are you?", "I am", "fine"]
    check_invariants(cues, tl)


def test_minimum_duration_extension_never_overlaps() -> None:
    words = [(1.0, 1.2, "Yes."), (1.5, 1.7, "No."), (5.0, 5.2, "Maybe."), (9.7, 9.8, "End.")]
    tl = timeline(*laid_out(("a", 0.0, 10.0), ("b", 0.0, 5.0)))
    tr = {"a": transcript(*words), "b": transcript((0.1, 0.3, "Next."))}
    cues = build_cues(map_words(tl, tr), tl)
    assert [(c.start, c.end, c.text) for c in cues] == [
        (1.0, 1.5, "Yes."),  # stops where the next cue starts
        (1.5, 2.5, "No."),  # extended to the minimum
        (5.0, 6.0, "Maybe."),
        (9.7, 10.0, "End."),  # stops at the clip boundary
        (10.1, 11.1, "Next."),
    ]
    check_invariants(cues, tl)


def test_maximum_duration_and_single_long_word() -> None:
    words = spaced(" ".join(["go"] * 60), step=0.4, length=0.35)  # 24 s of short words
    tl = timeline(*laid_out(("a", 0.0, 30.0), ("b", 0.0, 12.0)))
    tr = {"a": transcript(*words), "b": transcript((1.0, 10.0, "Ooooooh"))}
    cues = build_cues(map_words(tl, tr), tl)
    check_invariants(cues, tl)
    assert cues[-1].text == "Ooooooh"
    assert cues[-1].start == 31.0 and cues[-1].end == 38.0
    assert cue_words(cues).count("go") == 60


def test_lines_wrapped_balanced_and_overlong_word_alone() -> None:
    text = "young people and festival volunteers record stories on their phones"
    tl = timeline(Clip("a", 0.0, 30.0, start=0.0))
    cues = build_cues(map_words(tl, {"a": transcript(*spaced(text, step=0.1, length=0.08))}), tl)
    assert [c.text for c in cues] == [
        "young people and festival volunteers\nrecord stories on their phones"
    ]
    long = "x" * 50
    assert wrap(["a", long, "b"]) == ["a", long, "b"]
    assert wrap([long]) == [long]
    assert wrap(["short", "line"]) == ["short line"]
    lines = wrap(("word " * 12).split())
    assert len(lines) == 2 and abs(len(lines[0]) - len(lines[1])) <= 5
    tr = {"a": transcript(*spaced(f"a {long} b c"))}
    cues = build_cues(map_words(tl, tr), tl)
    assert [c.text for c in cues] == [f"a\n{long}", "b c"]


# --------------------------------------------------------------------------- writers


CUES = [
    Cue(0.0, 1.5, "Fish & chips <3\nand more"),
    Cue(1.5, 3.25, "Second > first"),
    Cue(3661.0625, 3662.5, "Late one", speaker="Sam <host>"),
]


def test_webvtt_format_escaping_and_parse_back() -> None:
    vtt = to_webvtt(CUES)
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n")
    assert "Fish &amp; chips &lt;3\nand more" in vtt
    assert "Second &gt; first" in vtt
    assert "<v Sam &lt;host&gt;>Late one" in vtt
    parsed = parse_vtt(vtt)
    assert [(s, e) for s, e, _ in parsed] == [(0.0, 1.5), (1.5, 3.25), (3661.062, 3662.5)]


def test_webvtt_parse_back_from_built_cues() -> None:
    tl = timeline(*laid_out(("a", 1.0, 30.0)), chapters=(Chapter(0, "A"), Chapter(12.5, "B")))
    words = spaced(" ".join(f"w{i}." if i % 7 == 6 else f"w{i}" for i in range(80)), step=0.33)
    cues = build_cues(map_words(tl, {"a": transcript(*words)}), tl)
    parsed = parse_vtt(to_webvtt(cues))
    assert len(parsed) == len(cues)
    for (start, end, text), cue in zip(parsed, cues, strict=True):
        assert start == pytest.approx(cue.start, abs=5e-4)
        assert end == pytest.approx(cue.end, abs=5e-4)
        assert text == cue.text


def test_srt_numbering_and_format() -> None:
    srt = to_srt(CUES)
    blocks = srt.strip("\n").split("\n\n")
    assert [b.split("\n")[0] for b in blocks] == ["1", "2", "3"]
    assert blocks[0] == "1\n00:00:00,000 --> 00:00:01,500\nFish & chips <3\nand more"
    assert blocks[2].split("\n")[1] == "01:01:01,062 --> 01:01:02,500"
    for b in blocks:
        assert re.fullmatch(r"\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n.+", b, re.S)


def test_transcript_json() -> None:
    data = json.loads(to_transcript_json(CUES))
    assert data["version"] == "1.0.0"
    assert data["segments"][0] == {
        "startTime": 0.0,
        "endTime": 1.5,
        "body": "Fish & chips <3 and more",
    }
    assert data["segments"][2]["speaker"] == "Sam <host>"
    assert data["segments"][2]["startTime"] == 3661.062
    assert "speaker" not in data["segments"][1]
    assert to_text(CUES).splitlines() == [
        "Fish & chips <3 and more",
        "Second > first",
        "Sam <host>: Late one",
    ]


def test_chapters_json() -> None:
    tl = timeline(
        *laid_out(("a", 0.0, 100.0)),
        chapters=(Chapter(0.0, "Welcome"), Chapter(42.1234, "Café stories")),
    )
    text = to_chapters_json(tl)
    assert "Café" in text  # not \u-escaped
    assert json.loads(text) == {
        "version": "1.2.0",
        "chapters": [
            {"startTime": 0.0, "title": "Welcome"},
            {"startTime": 42.123, "title": "Café stories"},
        ],
    }
    renamed = json.loads(to_chapters_json(tl, {42.1234: "Stories"}))
    assert [c["title"] for c in renamed["chapters"]] == ["Welcome", "Stories"]


def test_render_all_roles() -> None:
    tr = {"a": transcript(*spaced("hello & welcome"))}
    plain = render_all(timeline(*laid_out(("a", 0.0, 5.0))), tr)
    assert set(plain) == {"captions-vtt", "captions-srt", "transcript-json", "transcript-html"}
    assert "hello &amp; welcome" in plain["captions-vtt"]
    tl = timeline(*laid_out(("a", 0.0, 5.0)), chapters=(Chapter(0.0, "Only"),))
    with_chapters = render_all(tl, tr)
    assert set(with_chapters) == set(plain) | {"chapters"}
    assert json.loads(with_chapters["chapters"])["chapters"][0]["title"] == "Only"
    assert json.loads(with_chapters["transcript-json"])["segments"][0]["body"] == "hello & welcome"


# --------------------------------------------------------------------------- redactions


def test_redacted_word_appears_in_no_output_and_replacement_does() -> None:
    words = spaced("my name is Jordan Smith and I live near the river", step=0.4)
    # "Jordan Smith" is at 1.2-1.85 in recording time; the clip starts 0.4 s in.
    redaction = Redaction("a.m4a", 1.2, 1.9, replacement="[name removed]")
    tl = timeline(
        *laid_out(("intro", 0.0, 2.0), ("a.m4a", 0.4, 5.0)),
        redactions=(redaction,),
    )
    tr = {"a.m4a": transcript(*words), "intro": transcript(*spaced("welcome back"))}
    outputs = render_all(tl, tr, title="Jordan's story")
    cues = build_cues(redact_words(map_words(tl, tr), tl), tl)
    outputs["text"] = to_text(cues)
    for role, text in outputs.items():
        body = text.split("<h1>")[-1].split("</h1>")[-1] if role == "transcript-html" else text
        assert "Jordan" not in body and "Smith" not in body, role
        assert body.count("[name removed]") == 1, role
        assert "river" in body and "welcome" in body, role
    # The token sits where the name was said, in episode time.
    token = [w for w in redact_words(map_words(tl, tr), tl) if w.redacted]
    assert [(round(w.start, 3), round(w.end, 3), w.text) for w in token] == [
        (2.8, 3.5, "[name removed]")
    ]
    check_invariants(cues, tl)


def test_partly_overlapping_word_is_dropped_and_each_use_redacted() -> None:
    words = [(0.0, 0.4, "call"), (0.5, 1.1, "Jordan"), (1.2, 1.5, "now")]
    redaction = Redaction("a", 0.8, 1.0)  # only part of the word
    tl = timeline(*laid_out(("a", 0.0, 2.0), ("a", 0.0, 2.0)), redactions=(redaction,))
    cues = build_cues(redact_words(map_words(tl, {"a": transcript(*words)}), tl), tl)
    assert cue_words(cues) == ["call", "[removed]", "now", "call", "[removed]", "now"]


def test_no_redactions_leaves_words_alone() -> None:
    tl = timeline(*laid_out(("a", 0.0, 2.0)))
    mapped = map_words(tl, {"a": transcript(*spaced("one two"))})
    assert redact_words(mapped, tl) == mapped


# --------------------------------------------------------------------------- reading speed


def test_fast_speech_stays_up_longer_into_following_silence() -> None:
    # 40 characters said in 1.2 s (33 cps); then 3 s of silence.
    words = spaced("quickly said words need time to be read.", step=0.15, length=0.12)
    words += [(5.0, 5.4, "Next.")]
    tl = timeline(Clip("a", 0.0, 10.0, start=0.0))
    cues = build_cues(map_words(tl, {"a": transcript(*words)}), tl)
    first = cues[0]
    chars = len(first.text.replace("\n", ""))
    assert chars / (first.end - first.start) <= defaults.CAPTION_MAX_CPS + 1e-6
    assert first.end - first.start == pytest.approx(reading_ms([first.text]) / 1000, abs=0.002)
    check_invariants(cues, tl)


def test_reading_speed_never_pushes_over_next_cue_or_clip_end() -> None:
    words = spaced("quickly said words need time to be read.", step=0.15, length=0.12)
    words += [(1.4, 1.6, "Next.")]
    tl = timeline(*laid_out(("a", 0.0, 2.0), ("b", 0.0, 2.0)))
    tr = {"a": transcript(*words), "b": transcript((0.0, 0.3, "Hi."))}
    cues = build_cues(map_words(tl, tr), tl)
    assert cues[0].end == cues[1].start == 1.4
    assert cues[1].end == 2.0 and cues[2].start == 2.0
    check_invariants(cues, tl)


def test_overlong_cue_splits_after_a_clause() -> None:
    text = "when I moved into my first flat, everything was quiet and I did not know anyone"
    tl = timeline(Clip("a", 0.0, 30.0, start=0.0))
    cues = build_cues(map_words(tl, {"a": transcript(*spaced(text, step=0.2))}), tl)
    assert cues[0].text.replace("\n", " ") == "when I moved into my first flat,"
    assert cue_words(cues) == text.split()
    check_invariants(cues, tl)
    # Balanced would be "my advice is simple, ask for" / "help early ...": the comma wins.
    assert wrap("my advice is simple, ask for help early and keep every letter".split()) == [
        "my advice is simple,",
        "ask for help early and keep every letter",
    ]


# --------------------------------------------------------------------------- speakers, HTML


def test_speaker_voice_tags_only_for_named_speakers() -> None:
    tl = timeline(*laid_out(("sam.m4a", 0.0, 3.0), ("anon.m4a", 0.0, 3.0)))
    tr = {
        "sam.m4a": transcript(*spaced("Hello from Sam.")),
        "anon.m4a": transcript(*spaced("And hello from me.")),
    }
    out = render_all(tl, tr, speakers={"sam.m4a": "Sam <MC>"})
    vtt = parse_vtt(out["captions-vtt"])
    assert [t for _, _, t in vtt] == ["<v Sam &lt;MC&gt;>Hello from Sam.", "And hello from me."]
    segments = json.loads(out["transcript-json"])["segments"]
    assert segments[0]["speaker"] == "Sam <MC>" and "speaker" not in segments[1]
    assert out["captions-srt"].split("\n")[2] == "Sam <MC>: Hello from Sam."


def test_html_transcript_escaped_paragraphs_and_times() -> None:
    cues = [
        Cue(0.0, 1.5, "Fish & chips <script>", speaker="Sam"),
        Cue(1.6, 3.0, "on Fridays.", speaker="Sam"),
        Cue(3.1, 4.0, "Really?", speaker="Ali"),
        Cue(65.0, 66.0, "Later."),
    ]
    page = to_html(cues, "Food <&> us")
    from lxml import html as lxml_html

    doc = lxml_html.fromstring(page)
    assert doc.findtext(".//h1") == "Food <&> us"
    paragraphs = doc.findall(".//p")
    assert len(paragraphs) == 3
    assert paragraphs[0].text_content().split("\n", 1)[1] == "Fish & chips <script> on Fridays."
    assert paragraphs[0].findtext(".//strong") == "Sam"
    assert paragraphs[1].findtext(".//strong") == "Ali"
    assert paragraphs[2].findtext(".//time") == "1:05"
    assert paragraphs[2].find(".//strong") is None
    assert "<script>" not in page


# ------------------------------------------------------------------ text that breaks formats
#
# Each format is read back the way a client reads it: WebVTT by webvtt-py in strict mode
# (blocks and timings) and the WebVTT cue text tokenizer below (tags, voice, character
# references); SRT by its block structure; JSON with json; HTML with lxml's HTML parser.

_TIMING_SRT = re.compile(r"\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}")
WJ = "\u2060"  # WORD JOINER: invisible; SRT's "-->" in text is written "--\u2060>"


def vtt_cue_text(payload: str) -> tuple[str | None, str]:
    """(voice, visible text) of a WebVTT cue payload, by the spec's cue text tokenizer:
    a `<` opens a tag that runs to the next `>` (across lines) or the end; a tag's name
    ends at whitespace, `.` or `>`, and after whitespace comes its annotation (character
    references decoded, whitespace collapsed). Text has character references decoded."""
    voice: str | None = None
    shown: list[str] = []
    i = 0
    while i < len(payload):
        if payload[i] != "<":
            end = payload.find("<", i)
            end = len(payload) if end < 0 else end
            shown.append(html.unescape(payload[i:end]))
            i = end
            continue
        end = payload.find(">", i + 1)
        tag = payload[i + 1 :] if end < 0 else payload[i + 1 : end]
        i = len(payload) if end < 0 else end + 1
        m = re.match(r"([^\s.]*)((?:\.[^\s.]*)*)(?:[\t\n\f ](.*))?\Z", tag, re.S)
        assert m, tag
        if m.group(1) == "v":
            voice = " ".join(html.unescape(m.group(3) or "").split())
    return voice, "".join(shown)


def read_vtt(text: str) -> list[tuple[str, str, str | None, str]]:
    """(start, end, voice, visible text) of every cue, as a client reads the file."""
    assert text.startswith("WEBVTT\n")
    parsed = webvtt.WebVTT.from_string(text, strict=True)
    out = []
    for caption in parsed.captions:
        assert caption.lines and all(line.strip() for line in caption.lines), caption.lines
        assert not any("-->" in line for line in caption.lines), caption.lines
        out.append((caption.start, caption.end, *vtt_cue_text("\n".join(caption.lines))))
    # The file as a whole: blocks are separated by exactly one blank line, and every block
    # after the header is a timing line and its payload.
    blocks = text.rstrip("\n").split("\n\n")
    assert len(blocks) == len(out) + 1 and all(b and not b.startswith("\n") for b in blocks)
    return out


def read_srt(text: str) -> list[tuple[str, list[str]]]:
    """(timing line, text lines) of every SubRip block, checking the structure strictly:
    number, timing line, then text lines, none blank and none that holds `-->`."""
    out = []
    if not text:
        return out
    assert text.endswith("\n") and "\r" not in text
    for number, block in enumerate(text.rstrip("\n").split("\n\n"), start=1):
        index, timing, *lines = block.split("\n")
        assert index == str(number), block
        assert _TIMING_SRT.fullmatch(timing), block
        assert lines and all(line.strip() for line in lines), block
        assert not any("-->" in line for line in lines), block
        out.append((timing, [line.replace(WJ, "") for line in lines]))
    return out


def read_html(page: str) -> list[tuple[str | None, str]]:
    """(speaker, visible words) of every paragraph of the HTML transcript."""
    from lxml import html as lxml_html

    doc = lxml_html.document_fromstring(page)
    out = []
    for p in doc.findall(".//body/p"):
        speaker = p.findtext(".//strong")
        body = p.text_content().split("\n", 1)[1]
        out.append((speaker, body))
    return out


HOSTILE_SPEAKER = "Sam\n\n00:00:05.000 --> 00:00:09.000\n<v Evil>FORGED"
HOSTILE = [
    Cue(0.0, 2.0, "line one & <b>two</b>\n\nline --> three\r\n", speaker=HOSTILE_SPEAKER),
    Cue(2.0, 4.0, "\x1b[31mred\x00 \u2028 tab\there &amp; &lt;", speaker="Jo> & \"Al\" 'Bo'"),
    Cue(4.0, 6.0, "سلام \u200fعليكم 🌈👩🏽‍🎤", speaker="\u202eevil\u202c سارة\u200f"),
    Cue(6.0, 8.0, "\n\x07\n \t", speaker="Nobody"),  # nothing visible: written nowhere
    Cue(8.0, 9.0, "</v></c><00:00:01.000><i>x</i>"),
    Cue(9.0, 10.0, "\n\n2\n00:00:20,000 --> 00:00:30,000\nforged srt", speaker="Kai 🏳️‍🌈"),
]
# What a listener must see for each cue that has text: (speaker, lines).
HOSTILE_SHOWN: list[tuple[str | None, list[str]]] = [
    (
        "Sam 00:00:05.000 --> 00:00:09.000 <v Evil>FORGED",
        ["line one & <b>two</b>", "line --> three"],
    ),
    ("Jo> & \"Al\" 'Bo'", ["[31mred tab here &amp; &lt;"]),
    ("evil سارة\u200f", ["سلام \u200fعليكم 🌈👩🏽‍🎤"]),
    (None, ["</v></c><00:00:01.000><i>x</i>"]),
    ("Kai 🏳️‍🌈", ["2", "00:00:20,000 --> 00:00:30,000", "forged srt"]),
]
HOSTILE_TIMES = [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0), (8.0, 9.0), (9.0, 10.0)]


def test_webvtt_keeps_hostile_text_as_text() -> None:
    vtt = to_webvtt(HOSTILE)
    cues = read_vtt(vtt)
    assert [(voice, text) for _, _, voice, text in cues] == [
        (speaker, "\n".join(lines)) for speaker, lines in HOSTILE_SHOWN
    ]
    assert [(s, e) for s, e, _, _ in cues] == [
        ("00:00:00.000", "00:00:02.000"),
        ("00:00:02.000", "00:00:04.000"),
        ("00:00:04.000", "00:00:06.000"),
        ("00:00:08.000", "00:00:09.000"),
        ("00:00:09.000", "00:00:10.000"),
    ]
    assert "\u202e" not in vtt and "\x1b" not in vtt and "\x00" not in vtt
    # The voice tag is closed by its own `>`, never by the name's.
    assert "<v Jo&gt; &amp; \"Al\" 'Bo'>[31mred tab here &amp;amp; &amp;lt;\n" in vtt


def test_srt_keeps_hostile_text_as_text() -> None:
    blocks = read_srt(to_srt(HOSTILE))
    expected = []
    for speaker, lines in HOSTILE_SHOWN:
        expected.append([f"{speaker}: {lines[0]}", *lines[1:]] if speaker else lines)
    assert [lines for _, lines in blocks] == expected
    assert [timing for timing, _ in blocks] == [
        f"{_srt_stamp(a)} --> {_srt_stamp(b)}" for a, b in HOSTILE_TIMES
    ]


def _srt_stamp(seconds: float) -> str:
    return f"00:00:{int(seconds):02d},{round(seconds % 1 * 1000):03d}"


def test_json_text_and_html_transcripts_keep_hostile_text_as_text() -> None:
    segments = json.loads(to_transcript_json(HOSTILE))["segments"]
    assert [(s.get("speaker"), s["body"]) for s in segments] == [
        (speaker, " ".join(lines)) for speaker, lines in HOSTILE_SHOWN
    ]
    assert [(s["startTime"], s["endTime"]) for s in segments] == HOSTILE_TIMES

    text = to_text(HOSTILE)
    assert text.endswith("\n")
    assert text[:-1].split("\n") == [
        f"{speaker}: {' '.join(lines)}" if speaker else " ".join(lines)
        for speaker, lines in HOSTILE_SHOWN
    ]

    title = 'Our <script>alert(1)</script> & "story"\n<h1>forged'
    page = to_html(HOSTILE, title)
    from lxml import html as lxml_html

    doc = lxml_html.document_fromstring(page)
    shown = 'Our <script>alert(1)</script> & "story" <h1>forged'
    assert doc.findtext(".//h1") == shown and doc.findtext(".//title") == f"{shown}: transcript"
    assert len(doc.findall(".//h1")) == 1 and doc.find(".//script") is None
    assert doc.find(".//b") is None and doc.find(".//i") is None and doc.find(".//v") is None
    # One paragraph per cue here (speakers change, or a pause of 2 s or more).
    assert read_html(page) == [(speaker, " ".join(lines)) for speaker, lines in HOSTILE_SHOWN]


def test_chapter_titles_are_one_line_of_text() -> None:
    tl = timeline(
        *laid_out(("a", 0.0, 100.0)),
        chapters=(
            Chapter(0.0, 'Intro\n\n00:00:00.000 --> 00:00:09.000\n<v X>forged & "q"\\'),
            Chapter(10.0, "\u202eRTL trick 🎉\u2029"),
        ),
    )
    data = json.loads(to_chapters_json(tl, {10.0: "\x00Renamed\ttitle"}))
    assert [c["title"] for c in data["chapters"]] == [
        'Intro 00:00:00.000 --> 00:00:09.000 <v X>forged & "q"\\',
        "Renamed title",
    ]
    assert [c["title"] for c in json.loads(to_chapters_json(tl))["chapters"]][1] == "RTL trick 🎉"


def test_hostile_names_replacements_titles_corrections_and_words_in_every_format(
    tmp_path: Path,
) -> None:
    """Everything that reaches the writers from contributors' files and the speech model."""
    from pipeline.project import corrections

    a = transcript(*spaced("Hi Jordon, this is --> <i>not</i> &amp; a tag."))
    b_words = ["\x1b[2Jclear", "emoji", "🌈👩🏽‍🎤", "line\u2028break", 'quote"s', "and", "secret"]
    b = transcript(*spaced(" ".join(f"w{i}" for i in range(len(b_words)))))
    b = Transcript(
        b.recording_sha256, b.engine, b.model, b.language,
        tuple(Word(w.start, w.end, t) for w, t in zip(b.words, b_words, strict=True)),
    )  # fmt: skip
    (tmp_path / "corrections.yaml").write_text(
        'replace:\n  jordon: "Jordan --> <v Evil> & co\\n\\n1"\n', encoding="utf-8"
    )
    fixed, warnings = corrections.apply(
        {"a.m4a": a, "b.m4a": b}, corrections.load_corrections(tmp_path)
    )
    assert warnings == []
    replacement = "[name\n\n1\n00:00:00,000 --> 00:00:01,000\nremoved]"
    tl = timeline(
        *laid_out(("a.m4a", 0.0, 4.0), ("b.m4a", 0.0, 4.0)),
        chapters=(Chapter(0.0, "Intro\n\nforged"), Chapter(4.0, "\u202eTwo")),
        redactions=(Redaction("b.m4a", 1.8, 2.05, replacement=replacement),),
    )
    speakers = {"a.m4a": HOSTILE_SPEAKER, "b.m4a": "\u202eevil\u202c سارة"}
    out = render_all(tl, fixed, speakers=speakers, title="T\n<b>")
    cues = build_cues(redact_words(map_words(tl, fixed), tl), tl, speakers)
    out["text"] = to_text(cues)

    words_a = "Hi Jordan --> <v Evil> & co 1, this is --> <i>not</i> &amp; a tag.".split()
    words_b = '[2Jclear emoji 🌈👩🏽‍🎤 line break quote"s and'.split()
    words_b += "[name 1 00:00:00,000 --> 00:00:01,000 removed]".split()
    voice_a = "Sam 00:00:05.000 --> 00:00:09.000 <v Evil>FORGED"
    voice_b = "evil سارة"
    n = len(cues)
    assert n >= 2

    vtt = read_vtt(out["captions-vtt"])
    assert len(vtt) == n
    assert [t.replace("\n", " ") for _, _, _, t in vtt] == [c.text.replace("\n", " ") for c in cues]
    assert " ".join(t for _, _, _, t in vtt).split() == words_a + words_b
    assert {v for _, _, v, _ in vtt} == {voice_a, voice_b}

    srt = read_srt(out["captions-srt"])
    assert len(srt) == n
    srt_text = []
    for (_, lines), (_, _, voice, _) in zip(srt, vtt, strict=True):
        first = lines[0]
        assert voice is not None and first.startswith(voice + ": ")
        srt_text.append(" ".join([first[len(voice) + 2 :], *lines[1:]]))
    assert " ".join(srt_text).split() == words_a + words_b

    segments = json.loads(out["transcript-json"])["segments"]
    assert len(segments) == n
    assert " ".join(s["body"] for s in segments).split() == words_a + words_b
    assert {s["speaker"] for s in segments} == {voice_a, voice_b}

    lines = out["text"].rstrip("\n").split("\n")
    assert len(lines) == n
    assert all(line.startswith((voice_a + ": ", voice_b + ": ")) for line in lines)

    paragraphs = read_html(out["transcript-html"])
    assert {speaker for speaker, _ in paragraphs} == {voice_a, voice_b}
    assert " ".join(body for _, body in paragraphs).split() == words_a + words_b

    chapters = json.loads(out["chapters"])["chapters"]
    assert [c["title"] for c in chapters] == ["Intro forged", "Two"]
