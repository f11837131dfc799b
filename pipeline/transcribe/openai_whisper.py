"""openai-whisper (PyTorch) engine: optional, ``pip install storycast[openai-whisper]``.

The reference implementation, kept for comparison (``python -m
pipeline.bench_accuracy``) and for checkpoints only it can read. It is installed
without triton (a GPU-only kernel package of about 1 GB that openai-whisper
asks for on Linux x86_64 but does not need on a CPU); see README.

Models come from ``models.resolve_pt``: a ``.pt`` checkpoint file or a folder
holding one, or openai-whisper's own download by name into the model home.

The same guards as the default engine: Silero voice activity detection (from
faster-whisper, a core dependency) picks the speech, which is passed to
openai-whisper as ``clip_timestamps`` so silence and noise are never decoded;
no conditioning on previous text; the temperature fallback; and skipping of
text hallucinated in long silences. Windows as in ``audio``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.errors import Problem, ToolError
from pipeline.media.runner import media_timeout
from pipeline.progress import Tick
from pipeline.records import Recording, Transcript, Word
from pipeline.transcribe.audio import (
    SAMPLE_RATE,
    Samples,
    Windower,
    collapse_loops,
    keep_word,
    merge_words,
    stream_16k,
)
from pipeline.transcribe.models import model_home, resolve_pt

OPTIONS: dict[str, Any] = {
    "word_timestamps": True,
    "condition_on_previous_text": False,
    "temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    "compression_ratio_threshold": 2.4,
    "logprob_threshold": -1.0,
    "no_speech_threshold": 0.6,
    "hallucination_silence_threshold": 2.0,
    "fp16": False,
    "beam_size": 5,
    "best_of": 5,
    "verbose": None,
}
VAD_OPTIONS: dict[str, Any] = {"min_silence_duration_ms": 500, "speech_pad_ms": 300}

_MODELS: dict[str, Any] = {}


def available() -> bool:
    try:
        import whisper  # noqa: F401
    except ImportError:
        return False
    return True


def _load(model: str) -> Any:
    if model not in _MODELS:
        try:
            import whisper
        except ImportError as exc:
            raise ToolError(
                Problem(
                    None,
                    "the openai-whisper engine is not installed.",
                    "Install it with `pip install storycast[openai-whisper]` (see README for "
                    "installing it without triton), or use --engine faster-whisper.",
                )
            ) from exc
        resolved = resolve_pt(model)
        try:
            if resolved.source == "download":
                _MODELS[model] = whisper.load_model(
                    resolved.location,
                    device="cpu",
                    download_root=str(model_home() / "openai-whisper"),
                )
            else:
                _MODELS[model] = _load_file(Path(resolved.location))
        except Exception as exc:  # torch, urllib and checksum errors
            raise ToolError(
                Problem(
                    None,
                    f"the openai-whisper model `{model}` could not be loaded ({exc}).",
                    "Give a .pt checkpoint file, or run once with network access.",
                )
            ) from exc
    return _MODELS[model]


def _load_file(path: Path) -> Any:
    """A checkpoint file, as ``whisper.load_model`` reads one, plus the alignment heads
    (which attention heads follow the words, for word times) when the checkpoint
    names them, as ``convert`` writes; otherwise openai-whisper's default heads."""
    import base64
    import gzip

    import numpy as np
    import torch
    from whisper.model import ModelDimensions, Whisper

    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    dims = ModelDimensions(**checkpoint["dims"])
    model = Whisper(dims)
    model.load_state_dict(checkpoint["model_state_dict"])
    heads = checkpoint.get("alignment_heads") or []
    if heads:
        mask = np.zeros((dims.n_text_layer, dims.n_text_head), dtype=bool)
        for layer, head in heads:
            mask[layer, head] = True
        model.set_alignment_heads(base64.b85encode(gzip.compress(mask.tobytes())))
    return model.to("cpu")


def speech_clips(samples: Samples) -> list[float]:
    """Silero speech regions as openai-whisper ``clip_timestamps`` (start, end, ...)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(samples, VadOptions(**VAD_OPTIONS))
    out: list[float] = []
    for span in spans:
        out += [span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE]
    return out


class OpenAIWhisper:
    name = "openai-whisper"

    def __init__(self, model: str, language: str, window: Windower | None = None):
        self.model = model
        self.language = language
        self.window = window or Windower()

    def transcribe(self, recording: Recording, progress: Tick | None = None) -> Transcript:
        return self.transcribe_path(recording.path, recording.sha256, recording.duration, progress)

    def transcribe_path(
        self, path: Path, sha256: str = "", seconds: float = 0.0, progress: Tick | None = None
    ) -> Transcript:
        """``progress`` is told how far through the recording it is, window by window."""
        model = _load(self.model)
        multilingual = bool(model.is_multilingual)
        detected: str | None = None
        words: list[Word] = []
        for window in self.window.windows(stream_16k(path, timeout=media_timeout(seconds))):
            clips = speech_clips(window.samples)
            if not clips:
                continue
            if multilingual and detected is None:
                detected = self._detect(model, window.samples, clips)
            result = model.transcribe(
                window.samples,
                language=self.language if multilingual else "en",
                clip_timestamps=clips,
                **OPTIONS,
            )
            found: list[Word] = []
            for segment in result["segments"]:
                for w in segment.get("words", []):
                    text = str(w["word"]).strip()
                    if keep_word(text):
                        found.append(
                            Word(
                                round(float(w["start"]) + window.start, 3),
                                round(float(w["end"]) + window.start, 3),
                                text,
                                round(float(w["probability"]), 3),
                            )
                        )
            words = merge_words(words, found)
            if progress is not None:
                progress(window.start + len(window.samples) / SAMPLE_RATE)
        words, loop_notes = collapse_loops(words)
        return Transcript(
            recording_sha256=sha256,
            engine=self.name,
            model=self.model,
            language=detected or (self.language if multilingual else "en"),
            words=tuple(words),
            warnings=tuple(loop_notes),
        )

    def _detect(self, model: Any, samples: Samples, clips: list[float]) -> str | None:
        import numpy as np
        import whisper

        first = int(clips[0] * SAMPLE_RATE)
        audio = whisper.pad_or_trim(np.ascontiguousarray(samples[first:]))
        mel = whisper.log_mel_spectrogram(audio, model.dims.n_mels).to(model.device)
        _tokens, probs = model.detect_language(mel)
        return str(max(probs, key=probs.get))


__all__ = ["OPTIONS", "OpenAIWhisper", "available", "speech_clips"]
