"""transcribe: words with times for one whole recording, cached by content.

Engines live in this folder, one module each, behind one contract:
``Engine.transcribe(recording) -> Transcript``. A recording is transcribed once
per (sha256, engine, model, settings); re-editing an EDL re-maps those words
through the new Timeline and never re-transcribes.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from ..cache import Cache
from ..records import Recording, Transcript

SETTINGS_VERSION = 2  # bump when decoding options change what comes out


class Engine(Protocol):
    name: str
    model: str
    language: str

    def transcribe(self, recording: Recording) -> Transcript: ...


def get_engine(name: str, model: str, language: str) -> Engine:
    if name == "faster-whisper":
        from .faster_whisper import FasterWhisper

        return FasterWhisper(model, language)
    raise ValueError(f"unknown transcription engine {name!r}; known: faster-whisper")


def cache_key(recording: Recording, engine: Engine) -> str:
    ident = f"{recording.sha256}|{engine.name}|{engine.model}|{engine.language}|{SETTINGS_VERSION}"
    return hashlib.sha256(ident.encode()).hexdigest()


def transcribe(recording: Recording, engine: Engine, cache: Cache | None = None) -> Transcript:
    key = cache_key(recording, engine)
    if cache is not None:
        cached = cache.get_json("transcripts", key)
        if cached is not None:
            try:
                return Transcript.from_json(cached)
            except (KeyError, TypeError, ValueError):
                pass  # unreadable old entry: rebuild it
    transcript = engine.transcribe(recording)
    if cache is not None:
        cache.put_json("transcripts", key, transcript.to_json())
    return transcript
