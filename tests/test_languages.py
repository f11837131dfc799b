"""Every language: each recording's language detected (or set in episode.yaml), its
captions in the words that were said, and the feed's transcripts tagged with it.

Speech is made with espeak-ng in each language and run through the real models
(tiny.en and the multilingual base pack), loaded once per test process.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import podcastparser
import pytest
from lxml import etree

from pipeline.cache import Cache
from pipeline.media.probe import probe
from pipeline.records import Transcript
from pipeline.transcribe import detect, get_engine, language_warnings, transcribe
from pipeline.transcribe.models import installed_ct2_models

from conftest import copy_example, storycast
from kit.media import speech


def test_the_multilingual_model_is_installed_with_storycast() -> None:
    """A dependency, so every other test here runs: never skipped for want of it."""
    assert "base" in installed_ct2_models()


# What each voice says, and words of it that must come out (in that language).
SPOKEN = {
    # (espeak-ng's French is synthetic enough that base hears some sentences as Thai or
    # Latin; real French is detected far more surely. This one base hears as French.)
    "fr": (
        "Bonjour et bienvenue à la soirée du festival. Je m'appelle Camille et je suis "
        "bénévole au centre des jeunes depuis trois ans. Ce soir, nous allons écouter des "
        "histoires et de la musique.",
        ("bonjour", "bienvenue", "festival", "histoires", "musique"),
    ),
    "de": (
        "Guten Abend zusammen. Heute sprechen wir über das Leben in unserem Viertel, "
        "über junge Menschen, die eine Wohnung suchen.",
        ("heute", "sprechen", "leben", "viertel"),
    ),
    "es": (
        "Buenas tardes a todos. Hoy hablamos de la vida en nuestro barrio y de las "
        "familias que llegan a la ciudad.",
        ("buenas", "barrio", "ciudad"),
    ),
}
PODCAST = "https://podcastindex.org/namespace/1.0"
# Words an English-only model invents for speech it cannot understand.
ENGLISH = {"the", "and", "you", "i'm", "going", "we", "is", "that", "this"}


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("voices")
    return {
        lang: speech(text, folder / f"{lang}.wav", voice=lang) for lang, (text, _) in SPOKEN.items()
    }


def words_of(transcript: Transcript) -> list[str]:
    return [re.sub(r"[^\w']", "", w.text.lower()) for w in transcript.words]


@pytest.mark.parametrize("lang", sorted(SPOKEN))
def test_speech_in_another_language_is_captioned_in_it(voices: dict[str, Path], lang: str) -> None:
    recording = probe(voices[lang], f"{lang}.wav")
    # The show is English, with the English-only default model.
    tr = transcribe(recording, get_engine("faster-whisper", "tiny.en", "en"))
    assert (tr.language, tr.language_from) == (lang, "detected")
    assert 0 < tr.language_probability <= 1
    assert tr.model == "base"  # tiny.en knows English only
    said = words_of(tr)
    expected = SPOKEN[lang][1]
    found = [w for w in expected if w in said]
    assert len(found) >= len(expected) - 1, (said, expected)
    assert not ENGLISH & set(said), said
    (note,) = language_warnings(tr, "en", f"{lang}.wav")
    assert f"the speech is in `{lang}`" in note and f"captions are in `{lang}`" in note


def test_english_speech_stays_with_the_shows_model(tmp_path: Path) -> None:
    wav = speech(
        "Welcome to Riverside Voices. Today we talk about your first flat.", tmp_path / "en.wav"
    )
    tr = transcribe(probe(wav, "en.wav"), get_engine("faster-whisper", "tiny.en", "en"))
    assert (tr.language, tr.language_from, tr.model) == ("en", "detected", "tiny.en")
    assert {"riverside", "voices", "flat"} <= set(words_of(tr))
    assert language_warnings(tr, "en-GB") == []


def test_detection_is_cached_and_recorded(voices: dict[str, Path], tmp_path: Path) -> None:
    recording = probe(voices["de"], "de.wav")
    cache = Cache(tmp_path / "cache")
    assert detect(recording, cache) == detect(recording, cache)
    (entry,) = (tmp_path / "cache").glob("*/languages/*.json")
    assert '"language": "de"' in entry.read_text()
    tr = transcribe(recording, get_engine("faster-whisper", "tiny.en", "en"), cache)
    again = transcribe(recording, get_engine("faster-whisper", "tiny.en", "en"), cache)
    assert again == tr and tr.to_json()["language"] == "de"
    assert tr.to_json()["language_from"] == "detected"


def test_a_short_recording_is_encoded_once_to_detect_and_transcribe(
    voices: dict[str, Path],
) -> None:
    """Detection makes its stretch as transcription does: for a recording shorter than a
    window, base encodes its first stretch once, for detection and decoding alike, even
    when base is loaded again to decode; a base loaded only to detect is used as it is
    (it has drawn nothing). The words are the same either way."""
    from pipeline import defaults
    from pipeline.transcribe import faster_whisper as fw

    key = ("base", defaults.TRANSCRIBE_COMPUTE_TYPE, "cpu")
    fw._MODELS.pop(key, None)  # as in a new process, whatever ran before
    recording = probe(voices["fr"], "fr.wav")
    engine = get_engine("faster-whisper", "tiny.en", "en")
    assert detect(recording) is not None
    base, encoded = fw._MODELS[key], fw._ENCODED[key]
    detected = transcribe(recording, engine)  # detects again, then decodes in base
    assert (detected.language, detected.model) == ("fr", "base")
    assert fw._MODELS[key] is base  # loaded once
    assert fw._ENCODED[key] is encoded  # nothing encoded again: the stretch was reused
    given = transcribe(recording, engine, language="fr")  # no detection; base has decoded
    assert fw._MODELS[key] is not base  # so it was loaded again
    assert fw._ENCODED[key] is encoded
    assert given.words == detected.words


def test_language_in_episode_yaml_overrides_detection(voices: dict[str, Path]) -> None:
    recording = probe(voices["es"], "es.wav")
    engine = get_engine("faster-whisper", "tiny.en", "en")
    # Said to be Portuguese: decoded as Portuguese by the multilingual model, not detected.
    tr = transcribe(recording, engine, language="pt-BR")
    assert (tr.language, tr.language_from, tr.model) == ("pt", "episode.yaml", "base")
    # Said to be English: the show's English model, whatever the detector would say.
    forced = transcribe(recording, engine, language="en")
    assert (forced.language, forced.language_from, forced.model) == (
        "en",
        "episode.yaml",
        "tiny.en",
    )


# --- through `storycast`, as a producer runs it -------------------------------------------


def french_project(root: Path, language: str = "") -> Path:
    """The example show with one episode: a French recording (Casey speaking)."""
    copy_example(root)
    for slug in ("first-flat", "open-mic"):
        shutil.rmtree(root / "episodes" / slug)
    folder = root / "episodes" / "bonjour"
    (folder / "recordings").mkdir(parents=True)
    wav = speech(SPOKEN["fr"][0], folder / "recordings" / "bonjour.wav", voice="fr")
    out = int(probe(wav, wav.name).duration * 10) / 10
    (folder / "edl.yaml").write_text(
        f"clips:\n  - source: bonjour.wav\n    in: 0\n    out: {out}\n"
    )
    (folder / "episode.yaml").write_text(
        "show: riverside-voices\n"
        "title: Bonjour\n"
        "published: 2026-11-20\n"
        "appearances:\n"
        "  bonjour.wav: [casey]\n" + language
    )
    return root


def test_french_episode_in_english_show_publishes_french_captions(tmp_path: Path) -> None:
    root = french_project(tmp_path)
    assert storycast(root, "approve", "bonjour", "--by", "Casey").returncode == 0
    run = storycast(root, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    said = run.stdout + run.stderr
    assert "bonjour.wav: speech in `fr` (detected, probability" in said
    assert "model base" in said
    (vtt,) = (root / "public").rglob("*.vtt")
    captions = vtt.read_text(encoding="utf-8").lower()
    assert "bonjour" in captions and "festival" in captions
    (transcript,) = (root / "public" / "media").glob("*/bonjour-*.html")
    assert '<html lang="fr">' in transcript.read_text(encoding="utf-8")
    # the episode's page is in the show's language; its transcript says it is French
    (page,) = (root / "public" / "media").rglob("episodes/bonjour.html")
    text = page.read_text(encoding="utf-8")
    assert '<html lang="en' in text and '<ol class="transcript plain" lang="fr"' in text
    (feed,) = (root / "public").rglob("riverside-voices.xml")
    items = etree.parse(str(feed)).findall("channel/item")
    assert len(items) == 1
    tags = items[0].findall(f"{{{PODCAST}}}transcript")
    assert tags and {t.get("language") for t in tags} == {"fr"}
    # a podcast app reads the feed (the episode is there, with its audio)
    parsed = podcastparser.parse(feed.as_uri(), feed.open("rb"))
    assert [e["title"] for e in parsed["episodes"]] == ["Bonjour"]


def test_bad_language_code_is_refused_with_the_fix(tmp_path: Path) -> None:
    root = french_project(tmp_path, "language:\n  bonjour.wav: french\n")
    run = storycast(root, "check")
    assert run.returncode != 0
    said = run.stdout + run.stderr
    assert "bonjour/episode.yaml:7: language.bonjour.wav:" in said, said
    assert "`french` is not a language code" in said
    assert "write `fr`" in said and "cy" in said and "yue" in said


# --- names spelled as the contributors wrote them -----------------------------------------


def test_a_contributors_unusual_name_is_spelled_as_written(tmp_path: Path) -> None:
    """espeak-ng says the name; the people file's spelling is given to the model."""
    wav = speech(
        "Hello, my name is Siobhan Nwachukwu, and I run the youth club.", tmp_path / "n.wav"
    )
    recording = probe(wav, "n.wav")
    engine = get_engine("faster-whisper", "tiny.en", "en")
    named = transcribe(recording, engine, names=("Siobhan Nwachukwu", "Jordan"))
    assert "Siobhan Nwachukwu" in " ".join(w.text.strip(",.") for w in named.words)
    assert {"youth", "club"} <= set(words_of(named))
    # Without the names, tiny.en spells it by ear (measured: "Chivon N. Wachakwoo"): the
    # right spelling comes from the people file, not from the model.
    plain = transcribe(recording, engine)
    assert "nwachukwu" not in words_of(plain)


def test_only_names_that_are_published_are_given_to_the_model() -> None:
    from datetime import date

    from pipeline.records import Episode, Person
    from pipeline.stages import credited_names

    def person(pid: str, credit: str, name: str | None, pseudonym: str | None = None) -> Person:
        return Person(pid, credit, name, pseudonym, (), date(2026, 1, 1), None)  # type: ignore[arg-type]

    people = {
        "siobhan": person("siobhan", "name", "Siobhan Nwachukwu"),
        "sam": person("sam", "pseudonym", "Samuel Real", "Sam R."),
        "casey": person("casey", "none", "Casey Hidden"),
        "other": person("other", "name", "Not In This Episode"),
    }
    episode = Episode(
        Path("x"), "x", "show", "t", "", None, None, None,  # type: ignore[arg-type]
        Path("edl.yaml"),
        appearances={"a.wav": ("siobhan", "sam"), "b.wav": ("casey", "nobody")},
    )  # fmt: skip
    assert credited_names(episode, people) == ("Siobhan Nwachukwu",)
