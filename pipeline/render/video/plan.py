"""Planning a video episode's picture: the canvas (size and constant frame rate) every clip
is fitted to, each clip's frames, and the bitrate ceiling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

from pipeline import defaults
from pipeline.records import Clip, VideoInfo

# A clip may run past its file's last picture by this much (phones often stop the picture a
# frame or a few before the sound); the last picture is held. Any more is an EDL error.
Orientation = Literal["keep", "landscape", "portrait"]

HOLD_LAST_PICTURE = 1.0
STANDARD_RATES = (
    Fraction(24000, 1001),
    Fraction(24),
    Fraction(25),
    Fraction(30000, 1001),
    Fraction(30),
)


@dataclass(frozen=True)
class Canvas:
    """The episode's picture: size and constant frame rate."""

    width: int
    height: int
    fps: Fraction

    @property
    def rate(self) -> str:
        return f"{self.fps.numerator}/{self.fps.denominator}"


def nominal_rate(info: VideoInfo) -> Fraction:
    """The standard rate a clip was filmed at, at most 30 fps (60 -> 30, 50 -> 25)."""
    raw = info.avg_frame_rate if (info.vfr or not 0 < info.r_frame_rate <= 240) else 0.0
    value = raw or info.r_frame_rate or info.avg_frame_rate
    if not value or value <= 0 or value > 1000:
        return Fraction(defaults.VIDEO_DEFAULT_FPS)
    while value > defaults.VIDEO_MAX_FPS * 1.02:
        value /= 2
    best = min(STANDARD_RATES, key=lambda r: abs(float(r) - value))
    if abs(float(best) - value) / value <= 0.03:
        return best
    return Fraction(value).limit_denominator(1001)


def _even_down(x: float) -> int:
    return max(2, int(x) // 2 * 2)


def plan_canvas(
    clips: Sequence[tuple[VideoInfo, float]], orientation: Orientation = "keep"
) -> Canvas:
    """The episode's size and frame rate from its clips (video, seconds used) in EDL order."""
    if not clips:
        raise ValueError("an episode needs at least one clip")
    fps = max(nominal_rate(info) for info, _ in clips)
    totals: dict[Path, float] = {}
    first: dict[Path, VideoInfo] = {}
    for info, seconds in clips:
        totals[info.path] = totals.get(info.path, 0.0) + seconds
        first.setdefault(info.path, info)
    # The longest-running source sets the shape; the earliest wins a tie.
    lead = first[max(totals, key=lambda p: (totals[p], -list(totals).index(p)))]
    w, h = lead.display_width, lead.display_height
    portrait = h > w if orientation == "keep" else orientation == "portrait"
    box_w, box_h = (
        (defaults.VIDEO_MAX_SHORT_SIDE, defaults.VIDEO_MAX_LONG_SIDE)
        if portrait
        else (defaults.VIDEO_MAX_LONG_SIDE, defaults.VIDEO_MAX_SHORT_SIDE)
    )
    if (h > w) == portrait or w == h:
        scale = min(1.0, box_w / w, box_h / h)
        return Canvas(_even_down(w * scale), _even_down(h * scale), fps)
    # Forced to the other shape: a 16:9 (or 9:16) canvas whose short side holds the
    # source's long side, so the source is shown at its own size between black bars.
    short = min(defaults.VIDEO_MAX_SHORT_SIDE, max(w, h))
    long = _even_down(short * 16 / 9)
    return Canvas(short, long, fps) if portrait else Canvas(long, _even_down(short), fps)


def clip_frames(clip: Clip, fps: Fraction) -> int:
    """Frames clip gets: whole frames between its start and end on the episode's frame grid."""
    rate = float(fps)
    return round(clip.end * rate) - round(clip.start * rate)


def bitrate_ceiling(canvas: Canvas) -> int:
    """The most bits per second the pictures may take (x264's VBV), for this canvas."""
    share = canvas.width * canvas.height / (1920 * 1080)
    return max(defaults.VIDEO_MIN_MAX_BITRATE, round(defaults.VIDEO_MAX_BITRATE_1080P * share))
