"""transcribe: words with times for one whole recording, cached by content.

Engines live in this folder, one module each, behind one contract:
``Engine.transcribe(recording) -> Transcript``. A recording is transcribed once
per (sha256, engine, model, language, settings); re-editing an EDL re-maps those
words through the new Timeline and never re-transcribes.

Engines: ``faster-whisper`` (default, CTranslate2) and ``openai-whisper``
(optional extra). Model resolution is in ``models``, windowed decoding in
``audio``. ``Transcript.language`` is the language the model *heard* (an
English-only model can only say English); ``language_warnings`` compares it,
and the words' confidence, with the show's language.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from pipeline import defaults
from pipeline.cache import Cache
from pipeline.progress import Tick
from pipeline.records import Recording, Transcript

SETTINGS_VERSION = 5  # bump when decoding options change what comes out

ENGINES = ("faster-whisper", "openai-whisper")


class Engine(Protocol):
    name: str
    model: str
    language: str

    def transcribe(self, recording: Recording, progress: Tick | None = None) -> Transcript:
        """Words with times; ``progress`` told the seconds of the recording done so far."""
        ...


def get_engine(name: str, model: str, language: str) -> Engine:
    if name == "faster-whisper":
        from pipeline.transcribe.faster_whisper import FasterWhisper

        return FasterWhisper(model, language)
    if name == "openai-whisper":
        from pipeline.transcribe.openai_whisper import OpenAIWhisper

        return OpenAIWhisper(model, language)
    raise ValueError(f"unknown transcription engine {name!r}; known: {', '.join(ENGINES)}")


def cache_key(recording: Recording, engine: Engine) -> str:
    ident = f"{recording.sha256}|{engine.name}|{engine.model}|{engine.language}|{SETTINGS_VERSION}"
    return hashlib.sha256(ident.encode()).hexdigest()


def transcribe(
    recording: Recording,
    engine: Engine,
    cache: Cache | None = None,
    progress: Tick | None = None,
) -> Transcript:
    key = cache_key(recording, engine)
    if cache is not None:
        cached = cache.get_json("transcripts", key)
        if cached is not None:
            try:
                return Transcript.from_json(cached)
            except (KeyError, TypeError, ValueError):
                pass  # unreadable old entry: rebuild it
    transcript = engine.transcribe(recording, progress)
    if cache is not None:
        cache.put_json("transcripts", key, transcript.to_json())
    return transcript


def mean_confidence(transcript: Transcript) -> float | None:
    """Mean word probability, weighted by word length; None without words."""
    total = sum(len(w.text) for w in transcript.words)
    if not total:
        return None
    return sum(w.probability * len(w.text) for w in transcript.words) / total


def language_warnings(transcript: Transcript, expected: str, name: str = "") -> list[str]:
    """Plain warnings for a producer: a language other than the show's, or words the
    model was unsure of (another language under an English-only model, music, noise)."""
    who = f"{name}: " if name else ""
    expected = expected.split("-")[0].lower()
    out: list[str] = []
    heard = transcript.language.split("-")[0].lower()
    if heard and heard != expected:
        out.append(
            f"{who}the speech sounds like `{heard}`, but the show's language is `{expected}`; "
            "captions may be wrong. Check the recording, or set the show's (or this "
            "recording's) language."
        )
    confidence = mean_confidence(transcript)
    if confidence is not None and confidence < defaults.TRANSCRIBE_LOW_CONFIDENCE:
        out.append(
            f"{who}the speech model was unsure of these words (mean confidence "
            f"{confidence:.2f}): the recording may be in another language than `{expected}`, "
            "music, or too noisy. Check its captions by ear before publishing."
        )
    out += [f"{who}{note}" for note in transcript.warnings]
    return out


__all__ = [
    "ENGINES",
    "Engine",
    "cache_key",
    "get_engine",
    "language_warnings",
    "mean_confidence",
    "transcribe",
]
