"""Speech engines' accuracy and speed on real speech: ``python -m pipeline.bench_accuracy``.

Reference audio: the LibriVox utterances (read by people, with human
transcripts) in the pocketsphinx *source* distribution on PyPI, fetched once
with pip into ``.storycast/bench/``. For each engine and model that can run
here offline (faster-whisper tiny.en, faster-whisper base when its model
packages are installed, openai-whisper when given a checkpoint), we report the
word error rate (jiwer, after Whisper's English text normaliser when
openai-whisper is installed, else a plain equivalent) and the real-time factor
(seconds of compute per second of audio). Also the peak Python memory of
decoding a long recording in windows. Results go to ``bench-results/``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import defaults
from .bench import machine
from .transcribe import get_engine
from .transcribe.audio import Windower, stream_16k
from .transcribe.models import installed_ct2_models

BENCH_DIR = Path(".storycast/bench")
RESULTS_DIR = Path("bench-results")


def fetch_librivox(folder: Path = BENCH_DIR) -> list[tuple[Path, str]]:
    """(wav, reference text) pairs from the pocketsphinx source distribution."""
    target = folder / "librivox"
    if not target.is_dir() or not any(target.glob("*.wav")):
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
            + ["pocketsphinx==5.1.1", "-d", str(folder), "-q"],
            check=True,
        )
        (sdist,) = folder.glob("pocketsphinx-*.tar.gz")
        target.mkdir(exist_ok=True)
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if "/test/data/librivox/" in member.name and member.isfile():
                    member.name = Path(member.name).name
                    tar.extract(member, target, filter="data")
    pairs = []
    for wav in sorted(target.glob("*.wav")):
        ref = wav.with_suffix(".txt")
        if ref.exists():
            pairs.append((wav, ref.read_text(encoding="utf-8").strip()))
    return pairs


def normaliser() -> tuple[str, Callable[[str], str]]:
    try:
        from whisper.normalizers import EnglishTextNormalizer
    except ImportError:

        def plain(text: str) -> str:
            text = re.sub(r"[^\w\s']", " ", text.lower())
            return " ".join(text.replace("'", "").split())

        return "plain (lower case, no punctuation)", plain
    english = EnglishTextNormalizer()
    return "whisper EnglishTextNormalizer", lambda text: str(english(text))


def duration_of(path: Path) -> float:
    samples = sum(len(block) for block in stream_16k(path))
    return samples / 16000


def run_engine(
    engine_name: str, model: str, pairs: list[tuple[Path, str]], norm: Callable[[str], str]
) -> dict[str, Any]:
    import jiwer

    engine: Any = get_engine(engine_name, model, "en")
    engine.transcribe_path(pairs[0][0])  # load the model and warm up, untimed
    refs: list[str] = []
    hyps: list[str] = []
    compute = 0.0
    audio = 0.0
    for wav, ref in pairs:
        started = time.perf_counter()
        tr = engine.transcribe_path(wav)
        compute += time.perf_counter() - started
        audio += duration_of(wav)
        refs.append(norm(ref))
        hyps.append(norm(" ".join(w.text for w in tr.words)))
    return {
        "engine": engine_name,
        "model": model,
        "utterances": len(pairs),
        "audio_seconds": round(audio, 2),
        "compute_seconds": round(compute, 2),
        "wer": round(float(jiwer.wer(refs, hyps)), 4),
        "rtf": round(compute / audio, 4),
        "hypotheses": hyps,
    }


def long_recording_memory(minutes: float, folder: Path = BENCH_DIR) -> dict[str, Any]:
    """Peak Python memory while decoding a long recording in windows (no model)."""
    path = folder / f"long-{minutes:g}min.opus"
    if not path.exists():
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"]
            + [f"anoisesrc=color=pink:amplitude=0.05:duration={minutes * 60}:sample_rate=48000"]
            + ["-ac", "1", "-c:a", "libopus", "-b:a", "16k", str(path)],
            check=True,
        )
    tracemalloc.start()
    started = time.perf_counter()
    count = 0
    for _window in Windower().windows(stream_16k(path)):
        count += 1
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    whole = minutes * 60 * 16000 * 4
    return {
        "recording_minutes": minutes,
        "windows": count,
        "window_seconds": defaults.TRANSCRIBE_WINDOW_SECONDS,
        "peak_python_mb": round(peak / 1e6, 1),
        "whole_recording_float32_mb": round(whole / 1e6, 1),
        "decode_seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench_accuracy")
    parser.add_argument("--openai-model", help="an openai-whisper .pt checkpoint to compare")
    parser.add_argument("--long-minutes", type=float, default=120.0)
    parser.add_argument("--out", default=str(RESULTS_DIR / "accuracy.json"))
    args = parser.parse_args(argv)

    pairs = fetch_librivox()
    norm_name, norm = normaliser()
    runs: list[tuple[str, str]] = [("faster-whisper", m) for m in installed_ct2_models()]
    skipped: list[str] = []
    try:
        import whisper  # noqa: F401

        if args.openai_model:
            runs.append(("openai-whisper", args.openai_model))
        else:
            skipped.append("openai-whisper: no checkpoint offline (give --openai-model FILE.pt)")
    except ImportError:
        skipped.append("openai-whisper: not installed")

    results = [run_engine(engine, model, pairs, norm) for engine, model in runs]
    memory = long_recording_memory(args.long_minutes)
    report = {
        "schema": "storycast.BenchAccuracy.1",
        "machine": machine(),
        "data": f"pocketsphinx 5.1.1 sdist, test/data/librivox ({len(pairs)} utterances)",
        "normaliser": norm_name,
        "results": results,
        "skipped": skipped,
        "long_recording": memory,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")

    print(f"{'engine':<16} {'model':<10} {'WER':>6} {'RTF':>7}  audio")
    for r in results:
        print(
            f"{r['engine']:<16} {r['model']:<10} {r['wer']:>6.3f} {r['rtf']:>7.3f}  "
            f"{r['audio_seconds']:.0f} s"
        )
    for s in skipped:
        print(f"skipped: {s}")
    print(
        f"{memory['recording_minutes']:g}-minute recording decoded in {memory['windows']} windows: "
        f"peak Python memory {memory['peak_python_mb']} MB "
        f"(whole recording would be {memory['whole_recording_float32_mb']} MB)"
    )
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
