"""analyse: loudness of each recording (EBU R128), cached by sha256.

The per-recording measurement sets a gain so that a quiet voice memo and a loud
phone call sound alike before the episode is normalised as a whole.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any

from . import defaults
from .cache import Cache
from .errors import Problem, ToolError
from .records import Loudness, Recording
from .runner import run

_JSON_BLOCK = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}", re.S)


def parse_loudnorm(stderr: str) -> dict[str, Any]:
    """The JSON block that ``loudnorm=print_format=json`` prints last on stderr."""
    blocks = _JSON_BLOCK.findall(stderr)
    if not blocks:
        raise ToolError(Problem(None, "ffmpeg loudnorm printed no measurement."))
    data: dict[str, Any] = json.loads(blocks[-1])
    return data


def _num(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float("-inf")
    return number


def loudness_from(data: dict[str, Any], prefix: str = "input") -> Loudness:
    return Loudness(
        integrated=_num(data[f"{prefix}_i"]),
        true_peak=_num(data[f"{prefix}_tp"]),
        lra=_num(data[f"{prefix}_lra"]),
        threshold=_num(data[f"{prefix}_thresh"]),
    )


def measure_filter() -> str:
    return (
        f"loudnorm=I={defaults.TARGET_LUFS}:TP={defaults.TARGET_TRUE_PEAK}"
        f":LRA={defaults.TARGET_LRA}:print_format=json"
    )


def analyse(recording: Recording, cache: Cache | None = None) -> Loudness:
    if cache is not None:
        cached = cache.get_json("loudness", recording.sha256)
        if cached and cached.get("schema") == Loudness.SCHEMA:
            return Loudness(
                cached["integrated"], cached["true_peak"], cached["lra"], cached["threshold"]
            )
    proc = run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-nostats",
            "-i",
            recording.path,
            "-map",
            "0:a:0",
            "-af",
            measure_filter(),
            "-f",
            "null",
            "-",
        ],
        what="measuring loudness",
        path=recording.path,
    )
    loudness = loudness_from(parse_loudnorm(proc.stderr))
    if cache is not None:
        cache.put_json(
            "loudness", recording.sha256, {"schema": Loudness.SCHEMA, **asdict(loudness)}
        )
    return loudness


def recording_gain(loudness: Loudness) -> float:
    """dB to bring one recording to the target before mixing (0 for near-silence)."""
    if loudness.integrated == float("-inf") or loudness.integrated < defaults.SILENCE_LUFS:
        return 0.0
    gain = defaults.TARGET_LUFS - loudness.integrated
    return max(-defaults.MAX_RECORDING_GAIN_DB, min(defaults.MAX_RECORDING_GAIN_DB, gain))
