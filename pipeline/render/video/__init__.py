"""Video episodes: the same Timeline rendered from the phones' pictures too.

``plan`` (the canvas every clip is fitted to), ``graph`` (each clip's picture chain, the
runs), ``check`` (the sources, before anything is rendered) and ``render`` (pictures a few
clips per ffmpeg run, the shared sound, captions, the poster, the cache key).
"""

from __future__ import annotations

from pipeline.records import VideoInfo
from pipeline.render.video.check import check_sources
from pipeline.render.video.graph import burnable_vtt, ffmpeg_filters
from pipeline.render.video.plan import (
    HOLD_LAST_PICTURE,
    STANDARD_RATES,
    Canvas,
    Orientation,
    bitrate_ceiling,
    clip_frames,
    nominal_rate,
    plan_canvas,
)
from pipeline.render.video.render import (
    VIDEO_RENDER_VERSION,
    VideoResult,
    extract_poster,
    render_video,
    video_render_key,
)

__all__ = [
    "HOLD_LAST_PICTURE",
    "STANDARD_RATES",
    "VIDEO_RENDER_VERSION",
    "Canvas",
    "Orientation",
    "VideoInfo",
    "VideoResult",
    "bitrate_ceiling",
    "burnable_vtt",
    "check_sources",
    "clip_frames",
    "extract_poster",
    "ffmpeg_filters",
    "nominal_rate",
    "plan_canvas",
    "render_video",
    "video_render_key",
]
