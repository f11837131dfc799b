"""Timecode rates: the frame rates an editing tool's EDL can count in, as episode.yaml
names them (`frame_rate:`).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RATE = "25"  # what an EDL that names no rate is read at
DROP_FRAME_RATE = "29.97"


@dataclass(frozen=True)
class Rate:
    name: str  # as episode.yaml writes it
    fps: float  # what opentimelineio computes with
    nominal: int  # frames counted per timecode second
    drop: bool


RATES: dict[str, Rate] = {
    "23.976": Rate("23.976", 24000 / 1001, 24, False),
    "24": Rate("24", 24.0, 24, False),
    "25": Rate("25", 25.0, 25, False),
    "29.97": Rate("29.97", 30000 / 1001, 30, True),
    "30": Rate("30", 30.0, 30, False),
}
