"""openai-whisper's load-and-transcribe path, on a tiny checkpoint the test builds.

Random weights: the words are nonsense, but loading a checkpoint through our
resolver, voice detection, windowing and the Transcript record are all real.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from pipeline.probe import probe
from pipeline.records import Transcript, Word
from pipeline.transcribe import get_engine, transcribe

from mediakit import speech

whisper = pytest.importorskip(
    "whisper", reason="openai-whisper is not installed (pip install storycast[openai-whisper])"
)
torch = pytest.importorskip("torch", reason="torch is not installed (openai-whisper needs it)")


def tiny_checkpoint(path: Path) -> Path:
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    dims = ModelDimensions(
        n_mels=80,
        n_audio_ctx=1500,
        n_audio_state=32,
        n_audio_head=2,
        n_audio_layer=1,
        n_vocab=51864,  # the English-only vocabulary
        n_text_ctx=64,  # short outputs: random weights would babble to the limit
        n_text_state=32,
        n_text_head=2,
        n_text_layer=1,
    )
    model = Whisper(dims)
    with torch.no_grad():  # some tensors start uninitialised (torch.empty): make them finite
        for parameter in model.parameters():
            if not torch.isfinite(parameter).all():
                parameter.normal_(0.0, 0.02)
        model.decoder.positional_embedding.normal_(0.0, 0.02)
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path


def test_openai_whisper_loads_a_checkpoint_and_transcribes(tmp_path: Path) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "random-tiny.pt")
    wav = speech("Thank you all for listening to Riverside Voices.", tmp_path / "clip.wav")
    recording = probe(wav, "clip.wav")
    engine = get_engine("openai-whisper", str(checkpoint), "en")
    tr = transcribe(recording, engine)
    assert isinstance(tr, Transcript)
    assert (tr.engine, tr.model, tr.language) == ("openai-whisper", str(checkpoint), "en")
    assert tr.recording_sha256 == recording.sha256
    assert isinstance(tr.words, tuple)
    for w in tr.words:
        assert isinstance(w, Word) and isinstance(w.text, str) and w.text.strip()
        assert 0 <= w.start <= w.end <= recording.duration + 1.0
        assert 0 <= w.probability <= 1
