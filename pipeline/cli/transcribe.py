"""`storycast transcribe FILE`: one recording transcribed and printed.

For producers checking a file before it goes into an episode, and for
measuring accuracy on recordings with a human reference transcript. The
captions are built by the same code as an episode's (one clip, the whole
recording), so what is printed is what would be published.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pipeline import defaults, progress
from pipeline.cache import Cache
from pipeline.media.probe import probe
from pipeline.records import Clip, Cue, Timeline
from pipeline.render import captions
from pipeline.transcribe import ENGINES, get_engine, language_warnings, transcribe

FORMATS = ("vtt", "srt", "json", "txt", "html", "words")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``transcribe`` on the ``storycast`` command's subparsers."""
    t: argparse.ArgumentParser = subparsers.add_parser(
        "transcribe", help="transcribe one recording and print its captions or transcript"
    )
    t.add_argument("file", help="a recording (any format ffmpeg reads)")
    t.add_argument("--engine", choices=ENGINES, default=defaults.TRANSCRIBE_ENGINE)
    t.add_argument(
        "--model",
        default=defaults.TRANSCRIBE_MODEL,
        help="model name (tiny.en, base, ...), a model folder, or an openai-whisper .pt file",
    )
    t.add_argument("--language", default=defaults.TRANSCRIBE_LANGUAGE, help="expected language")
    t.add_argument(
        "--format",
        choices=FORMATS,
        default="vtt",
        help="vtt, srt, json (Podcasting 2.0), txt, html, or words (every word with its "
        "time and confidence)",
    )
    t.add_argument("--no-cache", action="store_true", help="transcribe again even if cached")
    t.set_defaults(func=cmd_transcribe)
    return t


def cmd_transcribe(args: argparse.Namespace) -> int:
    path = Path(args.file)
    root = Path(getattr(args, "root", ".")).resolve()
    cache = None if args.no_cache else Cache(root / defaults.CACHE_DIR)
    recording = probe(path, path.name, cache)
    engine = get_engine(args.engine, args.model, args.language)
    started = time.perf_counter()
    with progress.reporter().task(f"transcribing {path.name}", recording.duration) as tick:
        transcript = transcribe(recording, engine, cache, tick)
    elapsed = time.perf_counter() - started

    if args.format == "words":
        print(json.dumps(transcript.to_json(), ensure_ascii=False, indent=1))
    else:
        timeline = Timeline(
            edl_path=path,
            edl_sha256="",
            clips=(Clip(path.name, 0.0, recording.duration, start=0.0),),
            chapters=(),
        )
        cues = captions.episode_cues(timeline, {path.name: transcript})
        writers: dict[str, Callable[[list[Cue]], str]] = {
            "vtt": captions.to_webvtt,
            "srt": captions.to_srt,
            "json": captions.to_transcript_json,
            "txt": captions.to_text,
            "html": partial(captions.to_html, title=path.name),
        }
        sys.stdout.write(writers[args.format](cues))
        if args.format == "json":
            sys.stdout.write("\n")
    for warning in language_warnings(transcript, args.language, path.name):
        print(f"warning: {warning}", file=sys.stderr)
    speed = f"real-time factor {elapsed / recording.duration:.3f}" if elapsed > 0.05 else "cached"
    print(
        f"{path.name}: {recording.duration:.1f} s, {len(transcript.words)} words, "
        f"{engine.name} {engine.model}, heard `{transcript.language}`, {speed}",
        file=sys.stderr,
    )
    return 0


__all__ = ["FORMATS", "add_parser", "cmd_transcribe"]
