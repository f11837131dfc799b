"""Transcription with the real tiny.en model: the known Whisper failures and bad input.

Each test makes its own media (espeak-ng speech, ffmpeg noise and tones) and runs
the real engine on it. Nothing here mocks Whisper or ffmpeg.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.media.probe import probe
from pipeline.records import Clip, Timeline, Transcript, Word
from pipeline.render.captions import episode_cues, to_text, to_webvtt
from pipeline.transcribe import get_engine, language_warnings, transcribe
from pipeline.transcribe.audio import SAMPLE_RATE, Windower, decode_16k, merge_words, stream_16k
from pipeline.transcribe.faster_whisper import FasterWhisper
from pipeline.transcribe.models import installed_ct2_models, resolve_ct2, resolve_pt

from kit.media import ffmpeg, phone_3gp, say, speech


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


def run(path: Path, language: str = "en", engine: FasterWhisper | None = None) -> Transcript:
    recording = probe(path, path.name)
    return transcribe(recording, engine or get_engine("faster-whisper", "tiny.en", language))


def words_of(transcript: Transcript) -> str:
    return " ".join(w.text for w in transcript.words).lower()


def captions_of(path: Path, transcript: Transcript) -> str:
    timeline = Timeline(path, "", (Clip(path.name, 0.0, 3600.0, start=0.0),), ())
    return to_text(episode_cues(timeline, {path.name: transcript}))


def test_english_speech_words_times_and_shape(media: Path) -> None:
    wav = speech(
        "Welcome to Riverside Voices. Today we talk about getting your first flat.",
        media / "welcome.wav",
    )
    recording = probe(wav, "welcome.wav")
    tr = transcribe(recording, get_engine("faster-whisper", "tiny.en", "en"))
    assert tr.recording_sha256 == recording.sha256
    assert (tr.engine, tr.model, tr.language) == ("faster-whisper", "tiny.en", "en")
    text = words_of(tr)
    for word in ("welcome", "riverside", "voices", "first", "flat"):
        assert word in text
    assert all(isinstance(w, Word) and 0 <= w.start <= w.end for w in tr.words)
    assert all(a.start <= b.start for a, b in zip(tr.words, tr.words[1:], strict=False))
    assert tr.words[-1].end <= recording.duration + 0.05
    assert 0 < min(w.probability for w in tr.words) <= 1
    assert language_warnings(tr, "en") == []
    assert Transcript.from_json(json.loads(json.dumps(tr.to_json()))) == tr


@pytest.mark.parametrize("color", ["pink", "brown"])
def test_thirty_seconds_of_room_noise_yield_no_caption_text(media: Path, color: str) -> None:
    noise = media / f"{color}.m4a"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"anoisesrc=color={color}:amplitude=0.08:duration=30:seed=11",
        "-ac",
        "1",
        "-c:a",
        "aac",
        noise,
    )
    tr = run(noise)
    assert tr.words == ()
    assert captions_of(noise, tr) == ""


def test_music_without_speech_invents_no_text(media: Path) -> None:
    music = media / "chords.wav"
    notes = [(262, 330, 392), (220, 262, 330), (175, 220, 262), (196, 247, 294)]
    inputs: list[str | Path] = []
    for chord in notes:
        for freq in chord:
            inputs += ["-f", "lavfi", "-i", f"sine=frequency={freq}:duration=5"]
    chords = "".join(f"[{i * 3}][{i * 3 + 1}][{i * 3 + 2}]amix=inputs=3[c{i}];" for i in range(4))
    graph = chords + "[c0][c1][c2][c3]concat=n=4:v=0:a=1,tremolo=f=4:d=0.5[out]"
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[out]", "-ar", "44100", music)
    tr = run(music)
    # No invented text, or (if the model says anything) a clear low-confidence warning.
    assert tr.words == () or any("unsure" in w for w in language_warnings(tr, "en"))


def test_repeated_phrase_neither_loops_nor_drops_lines(media: Path) -> None:
    line = "Ask for help early, and keep every letter."
    wav = say([("en-gb", line)] * 10, media / "repeat.wav", gap=0.8)
    tr = run(wav)
    text = words_of(tr)
    assert 9 <= text.count("help") <= 11, text
    assert 9 <= text.count("early") <= 11, text
    starts = [w.start for w in tr.words if "help" in w.text.lower()]
    assert starts == sorted(starts) and starts[-1] - starts[0] > 30  # spread over the recording


def test_another_language_than_the_shows_is_warned(media: Path) -> None:
    wav = speech(
        "Guten Tag und willkommen. Heute sprechen wir über die erste eigene Wohnung.",
        media / "deutsch.wav",
        voice="de",
    )
    tr = run(wav)
    # Detected and transcribed in German (test_languages has the rest).
    assert (tr.language, tr.language_from) == ("de", "detected")
    warnings = language_warnings(tr, "en", "deutsch.wav")
    assert warnings and warnings[0].startswith("deutsch.wav: ")
    assert "the speech is in `de`" in warnings[0] and "not the show's `en`" in warnings[0]


def test_language_mismatch_reported_from_detected_language() -> None:
    tr = Transcript("s", "faster-whisper", "base", "de", (Word(0, 1, "Hallo", 0.9),))
    (warning,) = language_warnings(tr, "en-GB")
    assert "speech is in `de`" in warning and "show's `en`" in warning
    assert "set this recording's `language:`" in warning


def test_eight_khz_telephone_audio(media: Path) -> None:
    call = phone_3gp(
        speech(
            "Hi, this is Sam calling in from the open mic night at the youth hub.",
            media / "call.wav",
            voice="en-us",
        ),
        media / "call.3gp",
    )
    assert probe(call, "call.3gp").sample_rate == 8000
    tr = run(call)
    text = words_of(tr)
    assert len(tr.words) >= 6
    assert "calling" in text and "open mic" in text


# --------------------------------------------------------------------------- long recordings


def test_windows_cut_at_quiet_points_and_lose_no_sample(media: Path) -> None:
    wav = say(
        [("en-gb", "The first line of the story."), ("en-gb", "And here is the second line.")] * 3,
        media / "lines.wav",
        gap=0.8,
    )
    whole = decode_16k(wav)
    windower = Windower(window=3.0, search=1.0)
    blocks = list(stream_16k(wav, block_seconds=0.7))
    assert max(len(b) for b in blocks) <= int(0.7 * SAMPLE_RATE)
    windows = list(windower.windows(blocks))
    assert len(windows) >= 5
    assert np.array_equal(np.concatenate([w.samples for w in windows]), whole)
    assert all(w.duration <= 3.0 for w in windows)
    for a, b in zip(windows, windows[1:], strict=False):
        assert b.start == pytest.approx(a.start + a.duration)
        assert a.duration >= 2.0  # cut in the last second of the window
    # Cut points sit in quiet: the 50 ms either side is much quieter than the speech.
    loud = float(np.sqrt(np.mean(whole**2)))
    for w in windows[1:]:
        i = int(w.start * SAMPLE_RATE)
        assert float(np.sqrt(np.mean(whole[i - 800 : i + 800] ** 2))) < loud / 4


def test_small_windows_transcribe_like_one_window(media: Path) -> None:
    wav = say(
        [
            ("en-gb", "My advice is simple."),
            ("en-gb", "Ask for help early."),
            ("en-gb", "Keep every letter you are sent."),
            ("en-gb", "Your personal adviser is there for you."),
        ],
        media / "advice.wav",
        gap=1.0,
    )
    whole = run(wav)
    windowed = run(wav, engine=FasterWhisper("tiny.en", "en", Windower(window=5.0, search=2.0)))
    # Each window hears less context, so a word or two may differ; none is lost or doubled.
    for text in (whole, windowed):
        said = words_of(text)
        for word in ("advice", "simple", "help", "early", "personal", "there"):
            assert said.count(word) == 1, said
        starts = [w.start for w in text.words]
        assert starts == sorted(starts)


def test_merge_words_drops_what_a_window_repeats() -> None:
    first = [Word(0.0, 0.5, "one"), Word(0.6, 1.0, "two")]
    second = [Word(0.7, 0.9, "two"), Word(1.2, 1.5, "three")]
    assert [w.text for w in merge_words(first, second)] == ["one", "two", "three"]
    assert merge_words([], second) == second


# --------------------------------------------------------------------------- models, CLI


def test_model_resolution_offline_and_by_name(tmp_path: Path) -> None:
    assert "tiny.en" in installed_ct2_models()
    packaged = resolve_ct2("tiny.en")
    assert packaged.source == "package" and (Path(packaged.location) / "model.bin").exists()
    assert resolve_ct2(packaged.location).source == "directory"
    assert resolve_ct2("large-v3").source == "download"
    checkpoint = tmp_path / "mine.pt"
    checkpoint.write_bytes(b"x")
    assert resolve_pt(str(checkpoint)).source == "file"
    assert resolve_pt(str(tmp_path)).location == str(checkpoint)
    assert resolve_pt("small.en").source == "download"
    with pytest.raises(ValueError, match="known: faster-whisper, openai-whisper"):
        get_engine("whisper.cpp", "tiny", "en")


def test_transcribe_command_prints_captions(
    media: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli.transcribe import add_parser

    wav = speech("Thank you all for listening.", media / "thanks.wav")
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=".")
    add_parser(parser.add_subparsers())
    for fmt in ("vtt", "json"):
        args = parser.parse_args(["--root", str(tmp_path), "transcribe", str(wav), "--format", fmt])
        assert args.func(args) == 0
        out, err = capsys.readouterr()
        if fmt == "vtt":
            assert out.startswith("WEBVTT\n\n00:00:00") and "listening" in out.lower()
            assert "real-time factor" in err and "tiny.en" in err
        else:
            assert "listening" in json.loads(out)["segments"][-1]["body"].lower()
            assert "cached" in err  # the second run reads the transcript cache
    assert to_webvtt([]) == "WEBVTT\n"


def _words(text: str, gap: float = 0.05) -> list[Word]:
    found, t = [], 0.0
    for token in text.split():
        found.append(Word(t, t + 0.3, token, 0.9))
        t += 0.3 + gap
    return found


def test_model_loops_are_cut_to_one_and_reported() -> None:
    from pipeline.transcribe.audio import collapse_loops

    kept, notes = collapse_loops(
        _words("Good morning. him ni, him ni, him ni, him ni, him ni, end")
    )
    assert [w.text for w in kept] == ["Good", "morning.", "him", "ni,", "end"]
    assert len(notes) == 1 and "repeated 'him ni,' 5 times" in notes[0]
    single, _ = collapse_loops(_words("mi " * 9 + "done"))
    assert [w.text for w in single] == ["mi", "done"]


def test_people_repeating_themselves_are_kept() -> None:
    from pipeline.transcribe.audio import collapse_loops

    said = "no no no no, I said"  # four times, as people do
    kept, notes = collapse_loops(_words(said))
    assert [w.text for w in kept] == said.split() and notes == []
    sentence = " ".join(["ask for help early and keep every letter"] * 6)  # a whole sentence
    kept, notes = collapse_loops(_words(sentence))
    assert len(kept) == 48 and notes == []
    paused = _words("thank you thank you thank you thank you", gap=0.8)  # with pauses
    kept, notes = collapse_loops(paused)
    assert len(kept) == 8 and notes == []
