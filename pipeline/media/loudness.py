"""analyse: loudness of each recording (EBU R128), cached by sha256.

The per-recording measurement sets a gain so that a quiet voice memo and a loud
phone call sound alike before the episode is normalised as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from pipeline import defaults
from pipeline.cache import Cache
from pipeline.errors import Problem, ToolError
from pipeline.media.runner import media_timeout, run, source_input
from pipeline.progress import Tick
from pipeline.records import Loudness, Recording

_SUMMARY = re.compile(
    r"Summary:.*?I:\s+(?P<i>-?[\d.]+|-inf) LUFS\s+Threshold:\s+(?P<thresh>-?[\d.]+|-inf) LUFS"
    r".*?LRA:\s+(?P<lra>-?[\d.]+) LU"
    r".*?True peak:\s+Peak:\s+(?P<tp>-?[\d.]+|-inf) dBFS",
    re.S,
)

# EBU R128 measurement with true peak (4x oversampled). It is about six times
# faster than a loudnorm measuring pass, which resamples everything to 192 kHz.
MEASURE_FILTER = "ebur128=peak=true:framelog=verbose"


def parse_ebur128(stderr: str, path: Path | None = None) -> Loudness:
    """The summary that ffmpeg's ebur128 filter prints last on stderr."""
    found = list(_SUMMARY.finditer(stderr))
    if not found:
        raise ToolError(Problem(path, "ffmpeg's ebur128 filter printed no loudness summary."))
    m = found[-1]
    return Loudness(
        integrated=float(m["i"]),
        true_peak=float(m["tp"]),
        lra=float(m["lra"]),
        threshold=float(m["thresh"]),
    )


def measure(
    args: list[str | Path],
    what: str,
    path: Path | None,
    seconds: float = 0.0,
    progress: Tick | None = None,
) -> Loudness:
    """Run ffmpeg with ``args`` (inputs and a graph ending in MEASURE_FILTER) and read it.
    ``seconds``: how much media it measures, for its time limit; ``progress`` is told how
    far through it ffmpeg is."""
    proc = run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", *args, "-f", "null", "-"],
        what=what,
        path=path,
        timeout=media_timeout(seconds),
        progress=progress,
    )
    return parse_ebur128(proc.stderr, path)


def remember(cache: Cache, sha256: str, loudness: Loudness) -> None:
    """Keep a recording's loudness, by its content, for ``analyse`` (``probe`` measures it
    in its own decoding pass)."""
    cache.put_json("loudness", sha256, {"schema": Loudness.SCHEMA, **asdict(loudness)})


def analyse(
    recording: Recording,
    cache: Cache | None = None,
    progress: Tick | None = None,
    fetch: Callable[[], None] | None = None,
) -> Loudness:
    """The recording's loudness, from the cache or measured. ``fetch``: called just before
    the recording's file is read (a Dask worker fetches it then), never on a cache hit."""
    if cache is not None:
        cached = cache.get_json("loudness", recording.sha256)
        if cached and cached.get("schema") == Loudness.SCHEMA:
            return Loudness(
                cached["integrated"], cached["true_peak"], cached["lra"], cached["threshold"]
            )
    if fetch is not None:
        fetch()
    loudness = measure(
        [*source_input(recording.path), "-map", "0:a:0", "-af", MEASURE_FILTER],
        "measuring loudness",
        recording.path,
        recording.duration,
        progress,
    )
    if cache is not None:
        remember(cache, recording.sha256, loudness)
    return loudness


def recording_gain(loudness: Loudness) -> float:
    """dB to bring one recording to the target before mixing (0 for near-silence)."""
    if loudness.integrated < defaults.SILENCE_LUFS:
        return 0.0
    gain = defaults.TARGET_LUFS - loudness.integrated
    return max(-defaults.MAX_RECORDING_GAIN_DB, min(defaults.MAX_RECORDING_GAIN_DB, gain))
