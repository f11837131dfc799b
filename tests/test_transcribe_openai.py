"""openai-whisper's load-and-transcribe path.

On a tiny checkpoint the test builds (random weights: the words are nonsense,
but loading a checkpoint through our resolver, voice detection, windowing and
the Transcript record are all real), and on the real tiny.en weights converted
from the installed CTranslate2 package, which must hear what faster-whisper hears.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from pipeline.errors import ToolError
from pipeline.media.probe import probe
from pipeline.records import Transcript, Word
from pipeline.transcribe import get_engine, transcribe
from pipeline.transcribe.convert import convert
from pipeline.transcribe.models import resolve_ct2, resolve_pt

from kit.media import speech

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
        # short outputs: random weights babble to the limit (half of this), at every
        # temperature of the fallback; 16 rather than 64 makes the test four times quicker
        n_text_ctx=16,
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
    # Above temperature 0 the decoder samples from torch's global generator: seeded, the
    # nonsense (and so how many times it is decoded) is the same whatever ran before.
    torch.manual_seed(0)
    tr = transcribe(recording, engine)
    assert isinstance(tr, Transcript)
    assert (tr.engine, tr.model, tr.language) == ("openai-whisper", str(checkpoint), "en")
    assert tr.recording_sha256 == recording.sha256
    assert isinstance(tr.words, tuple)
    for w in tr.words:
        assert isinstance(w, Word) and isinstance(w.text, str) and w.text.strip()
        assert 0 <= w.start <= w.end <= recording.duration + 1.0
        assert 0 <= w.probability <= 1


def _norm(words: list[str]) -> list[str]:
    return ["".join(ch for ch in w.lower() if ch.isalnum()) for w in words]


def test_tiny_en_converted_from_the_installed_package_hears_what_faster_whisper_hears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORYCAST_MODEL_DIR", str(tmp_path / "models"))
    resolved = resolve_pt("tiny.en")
    assert resolved.source == "converted"
    checkpoint = torch.load(resolved.location, map_location="cpu", weights_only=True)
    assert checkpoint["dims"]["n_text_layer"] == 4 and checkpoint["dims"]["n_vocab"] == 51864
    assert checkpoint["alignment_heads"], "word-time heads from the package's config.json"
    assert resolve_pt("tiny.en").location == resolved.location  # converted once, then reused

    text = "The youth council chose every question in this interview."
    wav = speech(text, tmp_path / "clip.wav")
    recording = probe(wav, "clip.wav")
    theirs = transcribe(recording, get_engine("openai-whisper", "tiny.en", "en"))
    ours = transcribe(recording, get_engine("faster-whisper", "tiny.en", "en"))
    assert theirs.model == "tiny.en"
    expected = _norm(text.split())
    # Same weights, different arithmetic (float32 torch against int8 CTranslate2): the
    # same words, give or take one; and most of the sentence as spoken.
    heard = _norm([w.text for w in theirs.words])
    reference = _norm([w.text for w in ours.words])
    assert len(set(heard) ^ set(reference)) <= 2, (heard, reference)
    assert len(set(heard) & set(expected)) >= len(expected) - 2, heard
    # Word times come from the alignment heads the checkpoint carries: where both engines
    # heard the same word at the same place, they put it at the same time.
    same = [(a, b) for a, b in zip(theirs.words, ours.words, strict=False) if a.text == b.text]
    assert len(same) >= len(expected) - 2
    for a, b in same:
        assert abs(a.start - b.start) <= 0.15 and abs(a.end - b.end) <= 0.15, (a, b)
    assert theirs.words[-1].end <= recording.duration + 0.5


def test_converting_something_that_is_not_a_ct2_model_is_a_plain_error(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"\x06\x00\x00\x00\x0bWhisperSp")  # cut short
    with pytest.raises(ToolError) as err:
        convert(folder, tmp_path / "out.pt")
    message = str(err.value)
    assert "model.bin" in message and "ends early" in message
    assert not (tmp_path / "out.pt").exists()

    real = Path(resolve_ct2("tiny.en").location) / "model.bin"
    with real.open("rb") as fh:
        head = fh.read(200_000)  # a download that stopped part way
    (folder / "model.bin").write_bytes(head)
    with pytest.raises(ToolError, match="ends early|cut short"):
        convert(folder, tmp_path / "out.pt")
    assert not list(tmp_path.glob("*.pt")) and not list(tmp_path.glob(".*partial"))
