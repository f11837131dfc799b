"""No recording costs more than its decoding budget, whatever its language, noise or music.

The budget is counted in model steps (``faster_whisper.Budget``), so these tests check
what a producer sees, never a time: a recording that runs past the budget still gets
captions for what was decoded, the summary says where decoding was cut short, and below
the budget the decoding is exactly faster-whisper's own. Real models, real media
(espeak-ng voices, ffmpeg noise).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import defaults
from pipeline.media.probe import probe
from pipeline.records import Word
from pipeline.transcribe import faster_whisper as fw
from pipeline.transcribe import get_engine, language_warnings, transcribe
from pipeline.transcribe.audio import decode_16k

from conftest import storycast
from kit.media import babble as mix_babble
from kit.media import ffmpeg, speech

LINES = [
    "Good evening and welcome to the festival at the youth centre.",
    "Today we talk about life in our neighbourhood and the people in it.",
    "Many young people are looking for a flat they can afford in the city.",
    "We will hear stories and music from the volunteers who run the kitchen.",
    "Thank you very much for coming tonight, and mind the step on the way out.",
]


def words_of(words: tuple[Word, ...] | list[Word]) -> list[str]:
    return [re.sub(r"[^\w']", "", w.text.lower()) for w in words]


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 40 s of English speech with pauses: two 30 s stretches for the model."""
    folder = tmp_path_factory.mktemp("talk")
    parts = [speech(line, folder / f"{i}.wav") for i, line in enumerate(LINES * 2)]
    inputs: list[str | Path] = []
    for p in parts:
        inputs += ["-i", p]
    graph = "".join(f"[{i}:a]apad=pad_dur=1.2[p{i}];" for i in range(len(parts)))
    graph += "".join(f"[p{i}]" for i in range(len(parts))) + f"concat=n={len(parts)}:v=0:a=1"
    out = folder / "talk.wav"
    ffmpeg(*inputs, "-filter_complex", graph, out)
    return out


def babble(folder: Path) -> Path:
    """A minute of six voices at once in four languages over loud pink noise: a crowded
    room, which the model hears as words it keeps decoding again."""
    texts = {
        "en": " ".join(LINES),
        "fr": "Bonjour et bienvenue à la soirée du festival. Ce soir, nous allons écouter "
        "des histoires et de la musique. Les jeunes cherchent un logement près de chez eux.",
        "de": "Guten Abend und herzlich willkommen zum Festival. Heute sprechen wir über "
        "das Leben in unserem Viertel. Viele junge Menschen suchen eine Wohnung.",
        "es": "Buenas tardes y bienvenidos al festival. Hoy hablamos de la vida en nuestro "
        "barrio. Muchos jóvenes buscan una vivienda cerca de su familia.",
    }
    voices = [("en", "en"), ("fr", "fr"), ("de", "de"), ("es", "es"), ("en-us", "en"), ("fr", "de")]
    parts = [
        speech(" ".join([texts[lang]] * 3), folder / f"voice{i}.wav", voice=voice)
        for i, (voice, lang) in enumerate(voices)
    ]
    return mix_babble(parts, folder / "babble.wav")


def test_past_the_first_limit_each_stretch_is_decoded_once_and_still_captioned(
    talk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = probe(talk, "talk.wav")
    engine = get_engine("faster-whisper", "tiny.en", "en")
    monkeypatch.setattr(defaults, "TRANSCRIBE_BUDGET_FRUGAL", 0.0)  # passed at once
    tr = transcribe(recording, engine, language="en")
    work = engine.work  # type: ignore[attr-defined]
    assert work.frugal_at == 0.0 and work.skipped == []
    said = words_of(tr.words)
    assert {"festival", "neighbourhood", "flat", "volunteers", "step"} <= set(said), said
    assert tr.words[-1].end > recording.duration - 8  # captioned to the end
    notes = language_warnings(tr, "en", "talk.wav")
    (note,) = [n for n in notes if "decoded once, without retries" in n]
    assert note.startswith("talk.wav: decoding this recording took more work")
    assert "from 0.0 s" in note


def test_past_the_stop_limit_the_rest_is_skipped_and_said(
    talk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = probe(talk, "talk.wav")
    engine = get_engine("faster-whisper", "tiny.en", "en")
    # The first stretch is decoded (nothing spent yet); after it the work is over the limit.
    monkeypatch.setattr(defaults, "TRANSCRIBE_BUDGET_FIRST_SECONDS", 1.0)
    monkeypatch.setattr(defaults, "TRANSCRIBE_BUDGET_STOP", 0.001)
    tr = transcribe(recording, engine, language="en")
    work = engine.work  # type: ignore[attr-defined]
    ((lo, hi),) = work.skipped
    assert 5 < lo < recording.duration - 5 and hi == pytest.approx(recording.duration, abs=0.1)
    assert tr.words and "festival" in words_of(tr.words)  # the first stretch has captions
    assert all(w.end <= lo + 0.5 for w in tr.words)  # and nothing after the stop
    notes = language_warnings(tr, "en", "talk.wav")
    (note,) = [n for n in notes if "no captions for" in n]
    assert f"no captions for {lo:.1f}-{hi:.1f} s" in note


def test_under_the_budget_decoding_is_faster_whispers_own(tmp_path: Path) -> None:
    """The budgeted fallback loop (one temperature at a time, to count each decode) makes
    the same choices as faster-whisper's: French through tiny.en falls back on every
    stretch, and gives the same text at the same temperatures either way."""
    import ctranslate2

    wav = speech(
        "Bonjour et bienvenue à la soirée du festival. Je m'appelle Camille et je suis "
        "bénévole au centre des jeunes depuis trois ans. Ce soir, nous allons écouter des "
        "histoires et de la musique.",
        tmp_path / "fr.wav",
        voice="fr",
    )
    samples = decode_16k(wav)
    runs = []
    for budget in (None, fw.Budget(0.0016, 1e9, 1e9)):
        for key in [k for k in fw._MODELS if k[0] == "tiny.en"]:  # a fresh model, freshly seeded
            del fw._MODELS[key]
        model = fw._load("tiny.en", defaults.TRANSCRIBE_COMPUTE_TYPE)
        model.budget = budget
        ctranslate2.set_random_seed(defaults.TRANSCRIBE_SEED)
        segments, _ = model.transcribe(samples, language="en", **fw.OPTIONS)
        runs.append([(s.text, s.temperature, s.start, s.end) for s in segments])
        model.budget = None
    stock, budgeted = runs
    assert stock == budgeted
    assert any(t > 0 for _, t, _, _ in stock)  # the fallback really ran


def test_babble_is_cut_short_with_a_note_through_storycast_transcribe(tmp_path: Path) -> None:
    """A minute of a crowded room, as a producer checks a file: no invented captions, and
    the warning says which seconds were not decoded."""
    wav = babble(tmp_path)
    run = storycast(tmp_path, "transcribe", str(wav), "--no-cache", "--format", "txt")
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning: babble.wav")]
    assert any("no captions for" in w or "decoded once, without retries" in w for w in warnings)
    summary = run.stderr.strip().splitlines()[-1]
    assert summary.startswith("babble.wav: 60.0 s"), summary
    # Whatever was kept is few words, not a minute of invented text.
    assert len(run.stdout.split()) < 40, run.stdout


def test_the_budget_needs_no_clock() -> None:
    """The same work gives the same decisions: limits are counted from steps and seconds
    reached, never from how long anything took."""
    budget = fw.Budget(0.004, 0.12, 0.2)
    budget.spend(800)  # 3.2 estimated CPU s, under 0.12 x 30 s
    assert not budget.frugal() and not budget.exhausted()
    budget.spend(200)  # 4.0: past the first limit (3.6), not the second (6.0)
    assert budget.frugal() and not budget.exhausted() and budget.frugal_at == 0.0
    budget.reached = 40.0
    budget.spend(1100)  # 8.4 > 0.2 x 40
    assert budget.exhausted()
    budget.skip(40.0, 55.0)
    assert budget.reached == 55.0 and not budget.exhausted()  # the skipped seconds pay for it
    assert budget.skipped == [(40.0, 55.0)] and len(budget.notes()) == 2
