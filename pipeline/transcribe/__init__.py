"""transcribe: words with times for one whole recording, cached by content.

Engines live in this folder, one module each, behind one contract:
``Engine.transcribe(recording) -> Transcript``. A recording is transcribed once
per (sha256, engine, model, language, settings); re-editing an EDL re-maps those
words through the new Timeline and never re-transcribes.

Engines: ``faster-whisper`` (default, CTranslate2) and ``openai-whisper``
(optional extra). Model resolution is in ``models``, windowed decoding in
``audio``.

Every language: before a recording is transcribed, its language is detected by the
multilingual model on its first 30 s of speech (or taken from the episode's
`language:`), and the recording is decoded in that language, by the show's model if it
knows the language, else by the multilingual one (``engine_for``). An English-only
model given French invents English text, and slowly (temperature fallback on every
segment): that never happens. ``Transcript.language`` is the language its words are
in; ``language_from`` and ``language_probability`` say how it was found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from pipeline import defaults
from pipeline.cache import Cache
from pipeline.progress import Tick
from pipeline.records import Recording, Transcript
from pipeline.transcribe.models import installed_ct2_models

SETTINGS_VERSION = 7  # bump when decoding options change what comes out

ENGINES = ("faster-whisper", "openai-whisper")


class Engine(Protocol):
    name: str
    model: str
    language: str

    def transcribe(self, recording: Recording, progress: Tick | None = None) -> Transcript:
        """Words with times; ``progress`` told the seconds of the recording done so far."""
        ...


def get_engine(
    name: str, model: str, language: str, hotwords: str = "", device: str = "cpu"
) -> Engine:
    """``hotwords``: names to spell as written; ``device``: "cuda" to decode on a GPU
    (faster-whisper only; openai-whisper always decodes on the CPU)."""
    if name == "faster-whisper":
        from pipeline.transcribe.faster_whisper import FasterWhisper

        return FasterWhisper(model, language, hotwords=hotwords, device=device)
    if name == "openai-whisper":
        from pipeline.transcribe.openai_whisper import OpenAIWhisper

        return OpenAIWhisper(model, language)
    raise ValueError(f"unknown transcription engine {name!r}; known: {', '.join(ENGINES)}")


def cache_key(recording: Recording, engine: Engine, device: str | None = None) -> str:
    """The transcript's key: the recording's content and everything that decides its words.

    Made on a GPU (``device`` "cuda", at ``defaults.TRANSCRIBE_GPU_COMPUTE_TYPE``), a
    transcript may differ from the CPU's int8 one in its last digits, so it is kept under
    a key of its own: an entry is the same bytes whichever worker made it. ``device``:
    the key of a transcript made on that device (default: the engine's own)."""
    ident = f"{recording.sha256}|{engine.name}|{engine.model}|{engine.language}|{SETTINGS_VERSION}"
    hotwords = getattr(engine, "hotwords", "")
    if hotwords:  # (no hotwords: the same key as before they existed)
        ident += f"|hotwords={hotwords}"
    device = device or getattr(engine, "device", "cpu")
    if device != "cpu":  # (the CPU: the same key as before GPUs were used)
        ident += f"|device={device}|compute_type={defaults.TRANSCRIBE_GPU_COMPUTE_TYPE}"
    return hashlib.sha256(ident.encode()).hexdigest()


def primary(code: str) -> str:
    """The language of a BCP 47 tag, as Whisper names it: ``en-GB`` -> ``en``."""
    return code.split("-")[0].split("_")[0].lower()


# bump when detection changes what it finds (2: its features made as transcription makes them)
DETECT_VERSION = 2


def detect(
    recording: Recording, cache: Cache | None = None, fetch: Callable[[], None] | None = None
) -> tuple[str, float] | None:
    """(language, probability) of the recording's first speech, cached by content.

    None when the multilingual model is not installed or no speech was found early
    enough to tell (then the show's language is used). ``fetch``: called just before the
    recording's file is read.
    """
    if defaults.TRANSCRIBE_DETECT_MODEL not in installed_ct2_models():
        return None
    ident = f"{recording.sha256}|{defaults.TRANSCRIBE_DETECT_MODEL}|{DETECT_VERSION}"
    key = hashlib.sha256(ident.encode()).hexdigest()
    if cache is not None and recording.sha256:
        cached = cache.get_json("languages", key)
        if cached is not None and "language" in cached:
            lang = cached["language"]
            return (str(lang), float(cached["probability"])) if lang else None
    from pipeline.transcribe.faster_whisper import detect_language

    if fetch is not None:
        fetch()
    found = detect_language(recording.path, recording.duration)
    if cache is not None and recording.sha256:
        lang, probability = found if found else ("", 0.0)
        # naming its recording, so a takedown purges it
        entry = {"language": lang, "probability": probability, "recording_sha256": recording.sha256}
        cache.put_json("languages", key, entry)
    return found


def hotwords_for(names: list[str] | tuple[str, ...]) -> str:
    """The names given to the model, in one stable order."""
    return ", ".join(sorted({n.strip() for n in names if n and n.strip()}))


def engine_for(engine: Engine, language: str, names: tuple[str, ...] = ()) -> Engine:
    """The engine to decode speech in ``language``: the show's model where it knows the
    language, else the multilingual model (``defaults.TRANSCRIBE_MULTILINGUAL_MODEL``);
    with ``names`` (people credited by name) as hotwords, where the engine takes them."""
    lang = primary(language)
    model = engine.model
    if model.endswith(".en") and lang != "en":
        model = defaults.TRANSCRIBE_MULTILINGUAL_MODEL
    hotwords = hotwords_for(names) if engine.name == "faster-whisper" else ""
    same = hotwords == getattr(engine, "hotwords", "")
    if model == engine.model and lang == primary(engine.language) and same:
        return engine
    other = get_engine(engine.name, model, lang, hotwords, getattr(engine, "device", "cpu"))
    if hasattr(engine, "compute_type"):  # the benchmark compares precisions
        other.compute_type = engine.compute_type  # type: ignore[attr-defined]
    return other


def transcribe(
    recording: Recording,
    engine: Engine,
    cache: Cache | None = None,
    progress: Tick | None = None,
    language: str | None = None,
    names: tuple[str, ...] = (),
    made_on: str = "",
    fetch: Callable[[], None] | None = None,
) -> Transcript:
    """The recording's words, in its own language.

    ``progress``: told the seconds of the recording decoded so far.
    ``names``: people's names as they write them, for the model to spell so (hotwords).

    ``language``: what the episode says the recording is in (its `language:`), which
    overrides detection. Otherwise the language is detected (``detect``); without a
    multilingual model, the engine's (the show's) language is assumed.

    ``made_on``: the device a Dask task transcribed it on ("cuda"), whose entry is looked
    for first; when it is not there, the engine's own is looked for or made. ``fetch``:
    called just before the recording's file is read (a Dask worker fetches it then),
    never when its language and words are in the cache.
    """
    if language:
        chosen, source, probability = primary(language), "episode.yaml", 0.0
    elif (found := detect(recording, cache, fetch)) is not None:
        chosen, source, probability = found[0], "detected", found[1]
    else:
        chosen, source, probability = primary(engine.language), "show", 0.0
    use = engine_for(engine, chosen, names)

    def stamp(t: Transcript) -> Transcript:
        return replace(t, language=chosen, language_from=source, language_probability=probability)

    key = cache_key(recording, use)
    if cache is not None:
        keys = [cache_key(recording, use, made_on)] if made_on else []
        for look in dict.fromkeys([*keys, key]):
            cached = cache.get_json("transcripts", look)
            if cached is not None:
                try:
                    return stamp(Transcript.from_json(cached))
                except (KeyError, TypeError, ValueError):
                    pass  # unreadable old entry: rebuild it
    if fetch is not None:
        fetch()
    transcript = stamp(use.transcribe(recording, progress))
    if cache is not None:
        cache.put_json("transcripts", key, transcript.to_json())
    return transcript


def mean_confidence(transcript: Transcript) -> float | None:
    """Mean word probability, weighted by word length; None without words."""
    total = sum(len(w.text) for w in transcript.words)
    if not total:
        return None
    return sum(w.probability * len(w.text) for w in transcript.words) / total


def doubtful(transcript: Transcript) -> bool:
    """Whether the model was too unsure of the words to publish them as captions."""
    confidence = mean_confidence(transcript)
    return confidence is not None and confidence < defaults.TRANSCRIBE_LOW_CONFIDENCE


def language_warnings(transcript: Transcript, expected: str, name: str = "") -> list[str]:
    """Plain notes for a producer: speech in another language than the show's (captioned
    in its own language), or words the model was unsure of (music, noise, a language
    detected wrongly), which are not published as captions."""
    who = f"{name}: " if name else ""
    expected = primary(expected)
    out: list[str] = []
    heard = primary(transcript.language)
    if heard and heard != expected:
        how = {
            "detected": f"detected with probability {transcript.language_probability:.2f}",
            "episode.yaml": "as episode.yaml says",
        }.get(transcript.language_from, "")
        out.append(
            f"{who}the speech is in `{heard}`{f' ({how})' if how else ''}, not the show's "
            f"`{expected}`: its captions are in `{heard}`. If that is wrong, set this "
            "recording's `language:` in episode.yaml."
        )
    confidence = mean_confidence(transcript)
    if confidence is not None and confidence < defaults.TRANSCRIBE_LOW_CONFIDENCE:
        out.append(
            f"{who}the speech model was unsure of these words (mean confidence "
            f"{confidence:.2f}), so they are left out of the captions rather than risk "
            "invented ones: the recording may be music, too noisy, or in another language "
            f"than `{heard or expected}` (set its `language:` in episode.yaml if so)."
        )
    out += [f"{who}{note}" for note in transcript.warnings]
    return out


__all__ = [
    "ENGINES",
    "Engine",
    "cache_key",
    "detect",
    "doubtful",
    "engine_for",
    "get_engine",
    "hotwords_for",
    "language_warnings",
    "mean_confidence",
    "primary",
    "transcribe",
]
