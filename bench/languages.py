"""Every language, and what helps English captions: ``python -m bench.languages``.

1. Word error rate and real-time factor per language, through ``transcribe`` as a
   publish runs it (language detected first, then decoded by the model that knows it).
   No package on PyPI that we could find carries real speech with reference text in
   French, German or Spanish, so this speech is **synthetic** (espeak-ng), labelled so:
   its WER says whether captions come out in the right language and words, not how
   well real voices are recognised.
2. The real-time factor of a recording in a language other than the show's (French in
   an English show), through storycast now and the way it was before (tiny.en decoding
   French), side by side.
3. English decoding settings on real read speech (the LibriVox utterances of
   ``bench.accuracy``), scored after Whisper's English normaliser (whisper-normalizer):
   beam size, patience, voice detection, temperature fallback, hotwords.

Timings on a shared machine are noisy: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from bench.accuracy import RESULTS_DIR, duration_of, fetch_librivox
from bench.report import machine
from pipeline.media.probe import probe
from pipeline.transcribe import faster_whisper as fw
from pipeline.transcribe import get_engine, transcribe
from pipeline.transcribe.faster_whisper import FasterWhisper

from kit.media import babble as mix_babble
from kit.media import ffmpeg

# Lines read in each language (espeak-ng voices), a few sentences of ordinary talk.
LINES: dict[str, list[str]] = {
    "fr": [
        "Bonjour et bienvenue à la soirée du festival.",
        "Je m'appelle Camille et je suis bénévole au centre des jeunes depuis trois ans.",
        "Ce soir, nous allons écouter des histoires et de la musique.",
        "Beaucoup de familles sont arrivées dans le quartier cette année.",
        "Les jeunes cherchent un logement et un travail près de chez eux.",
    ],
    "de": [
        "Guten Abend und herzlich willkommen zum Festival.",
        "Heute sprechen wir über das Leben in unserem Viertel.",
        "Viele junge Menschen suchen eine Wohnung in der Stadt.",
        "Wir hören Geschichten und Musik aus dem Jugendzentrum.",
        "Vielen Dank, dass ihr heute Abend gekommen seid.",
    ],
    "es": [
        "Buenas tardes y bienvenidos al festival.",
        "Hoy hablamos de la vida en nuestro barrio.",
        "Muchos jóvenes buscan una vivienda cerca de su familia.",
        "Vamos a escuchar historias y música del centro juvenil.",
        "Muchas gracias por venir esta noche.",
    ],
    "en": [
        "Good evening and welcome to the festival.",
        "Today we talk about life in our neighbourhood.",
        "Many young people are looking for a flat in the city.",
        "We will hear stories and music from the youth centre.",
        "Thank you very much for coming tonight.",
    ],
}


def speak(lines: list[str], voice: str, out: Path) -> Path:
    """The lines spoken by espeak-ng, with a pause between them, as one WAV."""
    import subprocess

    parts: list[Path] = []
    for i, line in enumerate(lines):
        part = out.with_name(f"{out.stem}-{i}.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(part), line], check=True)
        parts.append(part)
    inputs: list[str] = []
    for p in parts:
        inputs += ["-i", str(p)]
    graph = "".join(f"[{i}:a]apad=pad_dur=0.8[p{i}];" for i in range(len(parts)))
    graph += "".join(f"[p{i}]" for i in range(len(parts))) + f"concat=n={len(parts)}:v=0:a=1"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex", graph, str(out)],
        check=True,
    )
    return out


def basic_normaliser() -> Any:
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()


def english_normaliser() -> Any:
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and the ffmpeg it ran (its threads summed):
    unlike the wall clock, barely moved by other work on a shared machine."""
    import resource

    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def per_language(folder: Path) -> list[dict[str, Any]]:
    import jiwer

    norm = basic_normaliser()
    engine = get_engine("faster-whisper", "tiny.en", "en")  # an English show's default
    rows = []
    for lang, lines in LINES.items():
        wav = speak(lines, lang, folder / f"{lang}.wav")
        recording = probe(wav, wav.name)
        transcribe(recording, engine)  # load the models, untimed
        started, cpu = time.perf_counter(), cpu_seconds()
        tr = transcribe(recording, engine)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        hyp = norm(" ".join(w.text for w in tr.words))
        rows.append(
            {
                "language": lang,
                "speech": "synthetic (espeak-ng)",
                "detected": tr.language,
                "probability": tr.language_probability,
                "model": tr.model,
                "audio_seconds": round(recording.duration, 1),
                "wer": round(float(jiwer.wer(norm(" ".join(lines)), hyp)), 3),
                "rtf": round(seconds / recording.duration, 3),
                # CPU seconds per second of audio; on 2 idle cores the wall-clock real-time
                # factor is at least half of it (the model's threads use both)
                "cpu_per_audio_second": round(cpu / recording.duration, 3),
                "hypothesis": hyp,
            }
        )
    return rows


@contextmanager
def no_budget() -> Iterator[None]:
    """The decoding budget's limits out of reach (``faster_whisper.Budget``), as before it."""
    from pipeline import defaults

    limits = (defaults.TRANSCRIBE_BUDGET_FRUGAL, defaults.TRANSCRIBE_BUDGET_STOP)
    defaults.TRANSCRIBE_BUDGET_FRUGAL = defaults.TRANSCRIBE_BUDGET_STOP = 1e9
    try:
        yield
    finally:
        defaults.TRANSCRIBE_BUDGET_FRUGAL, defaults.TRANSCRIBE_BUDGET_STOP = limits


def other_language_cost(folder: Path) -> dict[str, Any]:
    """French in an English show: storycast now, and tiny.en decoding French as before."""
    wav = speak(LINES["fr"] + MORE_FRENCH, "fr", folder / "french-long.wav")
    recording = probe(wav, wav.name)
    engine = get_engine("faster-whisper", "tiny.en", "en")
    started = time.perf_counter()
    now = transcribe(recording, engine)  # detection + base, models already loaded
    now_s = time.perf_counter() - started
    started = time.perf_counter()
    with no_budget():  # as before: no decoding budget either
        before = FasterWhisper("tiny.en", "en").transcribe(recording)
    before_s = time.perf_counter() - started
    return {
        "audio_seconds": round(recording.duration, 1),
        "speech": "synthetic (espeak-ng French)",
        "storycast": {
            "model": now.model,
            "language": now.language,
            "rtf": round(now_s / recording.duration, 3),
        },
        "tiny_en_as_before": {
            "rtf": round(before_s / recording.duration, 3),
            "words": " ".join(w.text for w in before.words)[:200],
        },
        "before_over_now": round(before_s / now_s, 2),
    }


# More French, for a longer recording with no line said twice (a recording that repeats
# its lines sends each stretch to be decoded again on its own: see faster_whisper).
MORE_FRENCH = [
    "Le centre ouvre ses portes tous les mercredis après l'école.",
    "On prépare le repas ensemble et chacun apporte quelque chose.",
    "Ma grand-mère est arrivée ici il y a quarante ans, avec deux valises.",
    "Le plus difficile, c'était de trouver un appartement sans garant.",
    "Aujourd'hui je travaille à la bibliothèque et j'aide les nouveaux arrivants.",
    "Nous avons enregistré ces histoires pendant l'été, dans le jardin partagé.",
    "Merci à toutes les personnes qui ont accepté de parler avec nous.",
]


# Music-like tones: a melody stepping through a scale with harmonics and tremolo, a chord
# under it, and a beat twice a second (ffmpeg aevalsrc).
NOTE = "220*pow(2\\,floor(mod(t*4\\,16)*7/16)/6)"
MUSIC = (
    f"0.25*sin(2*PI*{NOTE}*t)*(0.6+0.4*sin(2*PI*2*t))+0.12*sin(4*PI*{NOTE}*t)"
    f"+0.06*sin(6*PI*{NOTE}*t)+0.08*sin(2*PI*110*t)+0.08*sin(2*PI*138.6*t)"
    "+0.08*sin(2*PI*164.8*t)+0.3*exp(-30*mod(t\\,0.5))*sin(2*PI*60*t)"
)


def music(out: Path, seconds: float = 60.0) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"aevalsrc=exprs='{MUSIC}':s=16000:d={seconds}", out)
    return out


def babble(out: Path) -> Path:
    """A minute of six voices at once in four languages over loud pink noise."""
    voices = [
        ("en", LINES["en"]),
        ("fr", LINES["fr"]),
        ("de", LINES["de"]),
        ("es", LINES["es"]),
        ("en-us", LINES["en"][::-1]),
        ("fr", MORE_FRENCH),
    ]
    parts = [
        speak(lines * 3, voice, out.with_name(f"{out.stem}-{i}.wav"))
        for i, (voice, lines) in enumerate(voices)
    ]
    mixed: Path = mix_babble(parts, out)  # (the test kit is not type-checked)
    return mixed


def under_music(speech: Path, tones: Path, out: Path) -> Path:
    """Speech with the music as loud as it, mixed."""
    graph = "[0:a]aresample=16000[s];[s][1:a]amix=inputs=2:duration=shortest:normalize=0"
    ffmpeg("-i", speech, "-i", tones, "-filter_complex", graph, out)
    return out


def worst_inputs(folder: Path) -> dict[str, Any]:
    """The inputs that cost most, through ``transcribe`` with and without the decoding budget
    (``faster_whisper.Budget``; "without" sets its limits out of reach), side by side:
    CPU seconds per audio second (this process and its ffmpeg), the wall-clock real-time
    factor, the budget's own estimate, where it acted, and WER where the words are known."""
    import os

    import jiwer

    norm = basic_normaliser()
    french = LINES["fr"] + MORE_FRENCH
    pairs = zip(LINES["en"], LINES["en"][1:] + LINES["en"][:1], strict=True)
    english = [f"{a} {b}" for a, b in pairs]
    tones = music(folder / "music.wav")
    en = speak(english + LINES["en"], "en", folder / "english.wav")
    fr = speak(french, "fr", folder / "french.wav")
    inputs: dict[str, tuple[Path, str, str]] = {
        "French speech (synthetic)": (fr, " ".join(french), "espeak-ng fr"),
        "French, lines said 4 times": (
            speak(LINES["fr"] * 4, "fr", folder / "french-4x.wav"),
            " ".join(LINES["fr"] * 4),
            "espeak-ng fr, a chant or a read list",
        ),
        "music-like tones": (tones, "", "ffmpeg aevalsrc, 60 s"),
        "babble over loud noise": (babble(folder / "babble.wav"), "", "6 voices + pink noise"),
        "English under music": (
            under_music(en, tones, folder / "en-music.wav"),
            " ".join(english + LINES["en"]),
            "espeak-ng en + the tones",
        ),
        "French under music": (
            under_music(fr, tones, folder / "fr-music.wav"),
            " ".join(french),
            "espeak-ng fr + the tones",
        ),
    }
    engine = get_engine("faster-whisper", "tiny.en", "en")  # an English show's default
    transcribe(probe(en, en.name), engine)  # load the models, untimed
    work: list[Any] = []
    original = fw.FasterWhisper.transcribe_path

    def spy(self: fw.FasterWhisper, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        work.append(self.work)
        return out

    rows = []
    fw.FasterWhisper.transcribe_path = spy  # type: ignore[method-assign]
    try:
        for name, (wav, reference, made) in inputs.items():
            recording = probe(wav, wav.name)
            for budgeted in (False, True):
                with nullcontext() if budgeted else no_budget():
                    started, cpu = time.perf_counter(), cpu_seconds()
                    tr = transcribe(recording, engine)
                    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
                budget = work[-1]
                hyp = norm(" ".join(w.text for w in tr.words))
                rows.append(
                    {
                        "input": name,
                        "made": made,
                        "budget": budgeted,
                        "audio_seconds": round(recording.duration, 1),
                        "language": tr.language,
                        "model": tr.model,
                        "cpu_per_audio_second": round(cpu / recording.duration, 3),
                        "rtf": round(seconds / recording.duration, 3),
                        "estimated_cpu_per_audio_second": round(
                            budget.spent / recording.duration, 3
                        ),
                        "frugal_from": budget.frugal_at,
                        "skipped": budget.skipped,
                        "words": len(tr.words),
                        "wer": round(float(jiwer.wer(norm(reference), hyp)), 3)
                        if reference
                        else None,
                        "load_average": round(os.getloadavg()[0], 1),
                    }
                )
    finally:
        fw.FasterWhisper.transcribe_path = original  # type: ignore[method-assign]
    return {
        "note": "one whole recording through transcribe, as a publish runs it (language "
        "detected, model loaded afresh, no cache); CPU s per audio s is this process and "
        "its ffmpeg; the machine may be shared: see load_average",
        "rows": rows,
    }


# English decoding settings compared (each a change to fw.OPTIONS, or hotwords).
SETTINGS: dict[str, dict[str, Any]] = {
    "storycast default (beam 5, VAD, fallback to 1.0)": {},
    "beam 1 (greedy)": {"beam_size": 1},
    "beam 5, patience 2": {"patience": 2.0},
    "beam 8": {"beam_size": 8},
    "no voice detection": {"vad_filter": False},
    "no temperature fallback": {"temperature": (0.0,)},
    "fallback to 0.4 only": {"temperature": (0.0, 0.2, 0.4)},
}
HOTWORDS = "Alex Okafor, Jordan, Siobhan Nwachukwu"  # a show's people credited by name


def english_settings() -> dict[str, Any]:
    import jiwer

    pairs = fetch_librivox()
    norm = english_normaliser()
    refs = [norm(ref) for _wav, ref in pairs]
    audio = sum(duration_of(wav) for wav, _ref in pairs)
    saved = dict(fw.OPTIONS)
    rows = []
    runs: list[tuple[str, dict[str, Any], str]] = [(n, o, "") for n, o in SETTINGS.items()]
    runs.append(("default + the people's names as hotwords", {}, HOTWORDS))
    try:
        for name, change, hotwords in runs:
            fw.OPTIONS.clear()
            fw.OPTIONS.update(saved, **change)
            engine = FasterWhisper("tiny.en", "en", hotwords=hotwords)
            engine.transcribe_path(pairs[0][0])  # warm up, untimed
            started = time.perf_counter()
            hyps = [
                norm(" ".join(w.text for w in engine.transcribe_path(wav).words))
                for wav, _ in pairs
            ]
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "setting": name,
                    "wer": round(float(jiwer.wer(refs, hyps)), 4),
                    "rtf": round(seconds / audio, 3),
                }
            )
    finally:
        fw.OPTIONS.clear()
        fw.OPTIONS.update(saved)
    return {
        "data": f"LibriVox utterances, pocketsphinx 5.1.1 sdist ({len(pairs)}, {audio:.0f} s)",
        "normaliser": "whisper-normalizer EnglishTextNormalizer",
        "model": "tiny.en int8",
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.languages")
    parser.add_argument("--out", default=str(RESULTS_DIR / "languages.json"))
    parser.add_argument(
        "--only-worst",
        action="store_true",
        help="only the costliest inputs, with and without the budget",
    )
    args = parser.parse_args(argv)
    if args.only_worst:
        with tempfile.TemporaryDirectory() as tmp:
            worst = worst_inputs(Path(tmp))
        only = {"schema": "storycast.BenchLanguagesWorst.1", "machine": machine(), "worst": worst}
        text = json.dumps(only, indent=1, ensure_ascii=False)
        out = Path(args.out).with_name("languages-worst.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
        print(text)
        print(f"written to {out}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        languages = per_language(folder)
        cost = other_language_cost(folder)
        worst = worst_inputs(folder)
    english = english_settings()
    report = {
        "schema": "storycast.BenchLanguages.1",
        "machine": machine(),
        "per_language": languages,
        "other_language_cost": cost,
        "worst_inputs": worst,
        "english_settings": english,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("per language (synthetic espeak-ng speech, an English show):")
    for r in languages:
        print(
            f"  {r['language']}: detected {r['detected']} ({r['probability']:.2f}), "
            f"model {r['model']}, WER {r['wer']:.3f}, RTF {r['rtf']:.3f}, "
            f"CPU s per audio s {r['cpu_per_audio_second']:.3f}"
        )
    print(
        f"French in an English show ({cost['audio_seconds']:.0f} s): RTF "
        f"{cost['storycast']['rtf']:.3f} now, {cost['tiny_en_as_before']['rtf']:.3f} with "
        f"tiny.en as before ({cost['before_over_now']}x)"
    )
    print("the costliest inputs, without and with the decoding budget (load average at the end):")
    for r in worst["rows"]:
        acted = (
            f"skipped {r['skipped']}"
            if r["skipped"]
            else (f"frugal from {r['frugal_from']} s" if r["frugal_from"] is not None else "-")
        )
        wer = f"WER {r['wer']:.3f}" if r["wer"] is not None else "WER -    "
        print(
            f"  {r['input']:<26} {'budget' if r['budget'] else 'none  '} {r['model']:<7} "
            f"CPU/s {r['cpu_per_audio_second']:.3f}  RTF {r['rtf']:.3f}  "
            f"est {r['estimated_cpu_per_audio_second']:.3f}  {wer}  words {r['words']:>3}  "
            f"load {r['load_average']}  {acted}"
        )
    print(f"English settings ({english['data']}, {english['normaliser']}):")
    for r in english["rows"]:
        print(f"  {r['setting']:<45} WER {r['wer']:.4f}  RTF {r['rtf']:.3f}")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
