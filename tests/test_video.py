"""Video episodes: phone videos in, an H.264/AAC MP4 out that plays upright, in time, clean.

Every source is made here with ffmpeg (testsrc2 pictures, espeak-ng or sine sound)
and dressed like a phone's file: rotation matrices, odd sizes, variable frame rate,
10-bit HDR HEVC, location and device tags. The output is checked as a player reads it.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from pipeline import defaults
from pipeline.errors import MediaError
from pipeline.media.loudness import analyse, recording_gain
from pipeline.media.probe import probe, probe_video, require_video
from pipeline.media.scrub import find_traces, source_values
from pipeline.records import Clip, Redaction, Timeline
from pipeline.render.video import (
    Canvas,
    VideoInfo,
    VideoResult,
    bitrate_ceiling,
    clip_frames,
    nominal_rate,
    plan_canvas,
    render_video,
)

from conftest import decoded_duration, ebur128
from kit.media import PHONE_TAGS, speech, speech_with_clicks

COORDS = PHONE_TAGS["location"]


def ff(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *[str(a) for a in args]], check=True)


def ffprobe(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data: dict[str, object] = json.loads(out)
    return data


def streams(path: Path, kind: str) -> list[dict[str, object]]:
    found = ffprobe(path)["streams"]
    assert isinstance(found, list)
    return [s for s in found if s["codec_type"] == kind]


def phone_video(
    out: Path,
    size: str,
    seconds: float,
    rate: int = 30,
    *,
    sound: Path | str | None = "sine",
    vf: str | None = None,
    video_args: tuple[str, ...] = (
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    ),
    tags: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
) -> Path:
    args: list[str | Path] = ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}"]
    if isinstance(sound, Path):
        args += ["-i", sound]
    elif sound == "sine":
        args += ["-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=48000:d={seconds}"]
    args += ["-map", "0:v"]
    if sound is not None:
        args += ["-map", "1:a", "-c:a", "aac", "-b:a", "96k", "-af", "apad", "-t", str(seconds)]
    if vf:
        args += ["-vf", vf]
    args += [*video_args, *extra]
    for key, value in (tags or {}).items():
        args += ["-metadata", f"{key}={value}"]
    if tags:
        args += ["-movflags", "+use_metadata_tags"]
    ff(*args, out)
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("video-media")
    voice = speech(
        "Hello from the festival field. We built the stage ourselves, with a lot of help "
        "from the volunteers.",
        d / "voice.wav",
    )
    files: dict[str, Path] = {}
    # Landscape interview, tagged as an iPhone tags it: place, device, time.
    files["landscape"] = phone_video(d / "landscape.mp4", "640x360", 3.0, sound=voice,
                                     tags=PHONE_TAGS)  # fmt: skip
    # Portrait: stored 320x180 with a 90-degree display matrix (ffmpeg 5.1 has no
    # -display_rotation; the legacy rotate tag on a stream copy writes the matrix).
    stored = phone_video(d / "stored.mp4", "320x180", 2.0)
    files["portrait"] = d / "portrait.mp4"
    ff("-i", stored, "-map", "0", "-c", "copy", "-metadata:s:v:0", "rotate=90",
       "-metadata", "make=samsung", "-metadata", "model=SM-A515F", "-movflags",
       "+use_metadata_tags", files["portrait"])  # fmt: skip
    files["odd"] = phone_video(d / "odd.mp4", "1278x720", 1.2)
    # Variable frame rate: every fifth frame dropped, timestamps kept (as phones do in low light).
    files["vfr"] = phone_video(
        d / "vfr.mp4", "320x180", 2.0, vf="select='not(eq(mod(n\\,5)\\,2))'",
        extra=("-vsync", "vfr"),
    )  # fmt: skip
    files["hdr"] = phone_video(
        d / "hdr.mp4", "256x144", 1.0,
        video_args=("-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-x265-params",
                    "log-level=none", "-color_primaries", "bt2020", "-color_trc", "smpte2084",
                    "-colorspace", "bt2020nc", "-tag:v", "hvc1"),
    )  # fmt: skip
    files["mute"] = phone_video(d / "mute.mp4", "320x180", 1.0, sound=None)
    files["audio_only"] = d / "memo.m4a"
    ff("-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", files["audio_only"])
    files["uhd60"] = phone_video(d / "uhd60.mp4", "3840x2160", 0.5, rate=60)
    # The picture stops two seconds before the sound (a recorder that stopped the camera first).
    files["short_picture"] = d / "short-picture.mp4"
    ff("-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=2",
       "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:d=4",
       "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
       files["short_picture"])  # fmt: skip
    # Damaged in the middle: a run of bytes inside the picture data overwritten.
    files["corrupt"] = phone_video(d / "corrupt.mp4", "320x180", 2.0, rate=30,
                                   video_args=("-c:v", "libx264", "-pix_fmt", "yuv420p",
                                               "-g", "300"))  # fmt: skip
    data = bytearray(files["corrupt"].read_bytes())
    rng = random.Random(6)
    mid = len(data) // 2
    data[mid : mid + 3000] = bytes(rng.randrange(256) for _ in range(3000))
    files["corrupt"].write_bytes(bytes(data))
    return files


def _timeline(tmp: Path, clips: list[tuple[str, float, float]], **kw: object) -> Timeline:
    placed, start = [], 0.0
    for source, t_in, t_out in clips:
        placed.append(Clip(source, t_in, t_out, start))
        start += t_out - t_in
    return Timeline(tmp / "edl.yaml", "x", tuple(placed), (), **kw)  # type: ignore[arg-type]


def _render(
    tmp: Path,
    media: dict[str, Path],
    clips: list[tuple[str, float, float]],
    **options: object,
) -> tuple[VideoResult, Timeline]:
    names = {c[0] for c in clips}
    sources = {n: media[n] for n in names}
    videos = {n: v for n in names if (v := probe_video(media[n])) is not None}
    gains = {n: recording_gain(analyse(probe(media[n], n))) for n in names if videos[n].has_audio}
    timeline = _timeline(tmp, clips)
    result = render_video(timeline, sources, videos, gains, tmp / "episode.mp4",
                          **options)  # type: ignore[arg-type]  # fmt: skip
    return result, timeline


def _frame_ticks(path: Path) -> list[int]:
    """The video packets' timestamps, in order of display."""
    pts = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return sorted(int(p.strip(",")) for p in pts)


_FRAMES: dict[tuple[Path, int, str, tuple[int, int] | None], Image.Image] = {}


def _frame(path: Path, at: float, size: tuple[int, int] | None = None) -> Image.Image:
    """The picture shown at ``at`` seconds, extracted once per file version and time."""
    key = (path, path.stat().st_mtime_ns, f"{at:.3f}", size)
    if key not in _FRAMES:
        png = path.with_name(f"{path.stem}-{at:.3f}.png")
        vf = ["-vf", f"scale={size[0]}:{size[1]}"] if size else []
        ff("-ss", f"{at}", "-i", path, "-frames:v", "1", *vf, png)
        with Image.open(png) as image:
            _FRAMES[key] = image.convert("RGB")
    return _FRAMES[key]


def _pixel(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    value = image.getpixel((x, y))
    assert isinstance(value, tuple)
    return tuple(int(v) for v in value)


def _difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


# ---------------------------------------------------------------------- probing


def test_probe_reads_rotation_rate_and_depth(media: dict[str, Path]) -> None:
    land = require_video(media["landscape"])
    assert (land.width, land.height, land.rotation) == (640, 360, 0)
    assert not land.portrait and not land.vfr and land.has_audio
    assert land.duration == pytest.approx(3.0, abs=0.04)

    portrait = require_video(media["portrait"])
    assert (portrait.width, portrait.height) == (320, 180)
    assert portrait.rotation in (90, 270)
    assert (portrait.display_width, portrait.display_height) == (180, 320)
    assert portrait.portrait

    vfr = require_video(media["vfr"])
    assert vfr.vfr and vfr.r_frame_rate == 30

    hdr = require_video(media["hdr"])
    assert hdr.codec == "hevc" and hdr.bit_depth == 10
    assert hdr.hdr and hdr.needs_tonemap and hdr.color_transfer == "smpte2084"

    assert not require_video(media["mute"]).has_audio
    assert probe_video(media["audio_only"]) is None
    with pytest.raises(MediaError, match="audio only") as err:
        require_video(media["audio_only"])
    assert str(media["audio_only"]) in str(err.value)


def test_video_info_round_trips_as_json(media: dict[str, Path]) -> None:
    info = require_video(media["portrait"])
    assert VideoInfo.from_json(json.loads(json.dumps(info.to_json())), info.path) == info


def _info(w: int, h: int, rate: float, rotation: int = 0, path: str = "a.mp4") -> VideoInfo:
    shown = (h, w) if rotation % 180 == 90 else (w, h)
    return VideoInfo(Path(path), w, h, rotation, shown[0], shown[1], "1:1", rate, rate, False,
                     "h264", "High", "yuv420p", 8, "", "", "", True, 1.0, 1.0,
                     int(rate))  # fmt: skip


def test_canvas_fits_1080p_keeps_shape_and_halves_fast_rates() -> None:
    # 4K 60 fps: down to 1080p, 30 fps.
    assert plan_canvas([(_info(3840, 2160, 60), 1.0)]) == Canvas(1920, 1080, Fraction(30))
    # iPhone portrait: 1920x1080 stored, rotated: stays portrait.
    assert plan_canvas([(_info(1920, 1080, 30, 90), 1.0)]) == Canvas(1080, 1920, Fraction(30))
    # Odd sizes: never enlarged, always even.
    assert plan_canvas([(_info(1278, 720, 30), 1.0)]) == Canvas(1278, 720, Fraction(30))
    assert plan_canvas([(_info(1279, 721, 25), 1.0)]) == Canvas(1278, 720, Fraction(25))
    # NTSC-style rates are kept, not rounded to 30.
    assert nominal_rate(_info(1280, 720, 59.94)) == Fraction(30000, 1001)
    assert nominal_rate(_info(1280, 720, 50)) == Fraction(25)
    # The longest-running source sets the shape; the show can force one.
    mixed = [(_info(640, 360, 30, 0, "l"), 1.0), (_info(320, 180, 24, 90, "p"), 5.0)]
    assert plan_canvas(mixed) == Canvas(180, 320, Fraction(30))
    assert plan_canvas(mixed, "landscape") == Canvas(568, 320, Fraction(30))
    assert plan_canvas([(_info(1920, 1080, 30), 1.0)], "portrait") == Canvas(
        1080, 1920, Fraction(30)
    )


def test_frames_follow_the_episode_grid_so_cuts_never_drift() -> None:
    fps = Fraction(30)
    clips = [Clip("a", 0, 0.51, 0.0), Clip("a", 1, 1.51, 0.51), Clip("a", 2, 2.51, 1.02)]
    counts = [clip_frames(c, fps) for c in clips]
    assert sum(counts) == round(1.53 * 30)
    assert all(abs(n - 0.51 * 30) <= 1 for n in counts)


# ---------------------------------------------------------------------- the episode


@pytest.fixture(scope="module")
def episode(
    media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[VideoResult, Timeline, Path]:
    tmp = tmp_path_factory.mktemp("video-episode")
    vtt = tmp / "captions.vtt"
    vtt.write_text(
        "WEBVTT\n\n00:00:00.200 --> 00:00:02.000\nHello from the festival field.\n\n"
        "00:00:02.100 --> 00:00:04.000\nWe built the stage ourselves.\n",
        encoding="utf-8",
    )
    result, timeline = _render(
        tmp,
        media,
        [("landscape", 0.4, 2.9), ("portrait", 0.0, 1.5), ("odd", 0.0, 1.0), ("vfr", 0.2, 1.7)],
        captions_vtt=vtt,
        captions_language="en",
        poster=tmp / "poster.jpg",
    )
    return result, timeline, tmp


def test_episode_is_h264_high_cfr_at_most_1080p(
    episode: tuple[VideoResult, Timeline, Path],
) -> None:
    result, timeline, _ = episode
    (video,) = streams(result.path, "video")
    assert video["codec_name"] == "h264" and video["profile"] == "High"
    assert video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"]) == (640, 360)  # the landscape clip runs longest
    assert video["r_frame_rate"] == video["avg_frame_rate"] == "30/1"
    assert "side_data_list" not in video  # no rotation matrix for players to apply again
    # Constant frame rate: every frame lasts exactly one tick of 1/30 s.
    ticks = _frame_ticks(result.path)
    assert len({b - a for a, b in zip(ticks, ticks[1:], strict=False)}) == 1
    assert len(ticks) == result.frames == round(timeline.duration * 30)


def test_episode_duration_is_the_sum_of_clips(
    episode: tuple[VideoResult, Timeline, Path],
) -> None:
    result, timeline, _ = episode
    assert timeline.duration == pytest.approx(6.5)
    assert decoded_duration(result.path) == pytest.approx(timeline.duration, abs=1 / 30)
    assert result.duration == pytest.approx(timeline.duration, abs=1 / 30)
    fmt = ffprobe(result.path)["format"]
    assert isinstance(fmt, dict)
    assert float(fmt["duration"]) == pytest.approx(timeline.duration, abs=1 / 30)


def test_episode_sound_meets_the_loudness_target(
    episode: tuple[VideoResult, Timeline, Path],
) -> None:
    result, _, _ = episode
    (audio,) = streams(result.path, "audio")
    assert audio["codec_name"] == "aac" and audio["sample_rate"] == "48000"
    integrated, peak = ebur128(result.path)
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0 + 0.3
    assert result.loudness.integrated == pytest.approx(integrated, abs=0.2)


def test_clicks_over_quiet_speech_reach_the_target_in_the_video_too(tmp_path: Path) -> None:
    """As the audio episode (test_loudness_headroom): where one gain would lift loud
    clicks past -1 dBTP, the look-ahead limiter holds them and the MP4's sound still
    reaches -16 LUFS, measured on the published file."""
    voice = speech(
        "We filmed the interviews on our phones at the festival, and the claps were loud.",
        tmp_path / "voice.wav",
    )
    sound = speech_with_clicks(voice, tmp_path / "clicks.m4a", speech_db=-10, every=1.3)
    media = {"clip.mp4": phone_video(tmp_path / "clip.mp4", "320x180", 4.0, sound=sound)}
    mix = analyse(probe(media["clip.mp4"], "clip.mp4"))
    assert mix.true_peak + (defaults.TARGET_LUFS - mix.integrated) > defaults.TARGET_TRUE_PEAK
    result, _ = _render(tmp_path, media, [("clip.mp4", 0.0, 4.0)])
    integrated, true_peak = ebur128(result.path)
    assert abs(integrated - defaults.TARGET_LUFS) <= 0.5, integrated
    assert true_peak <= defaults.TARGET_TRUE_PEAK, true_peak
    assert not any("LU" in n or "loud" in n for n in result.notes), result.notes


def test_episode_has_soft_captions_and_a_poster(
    episode: tuple[VideoResult, Timeline, Path],
) -> None:
    result, _, _ = episode
    (subs,) = streams(result.path, "subtitle")
    assert subs["codec_name"] == "mov_text"
    tags = subs["tags"]
    assert isinstance(tags, dict) and tags["language"] == "eng"
    text = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(result.path), "-map", "0:s:0",
         "-f", "webvtt", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "We built the stage ourselves." in text
    assert result.poster is not None and result.poster.read_bytes()[:3] == b"\xff\xd8\xff"
    with Image.open(result.poster) as poster:
        assert poster.size == (640, 360)
    # The poster is the first frame of the first clip: closer to it than to the frames after.
    poster_rgb = Image.open(result.poster).convert("RGB")
    first = _difference(poster_rgb, _frame(result.path, 0.0))
    assert first < 10
    assert first < _difference(poster_rgb, _frame(result.path, 0.1)) - 2


def test_episode_carries_no_location_device_or_time(
    episode: tuple[VideoResult, Timeline, Path], media: dict[str, Path]
) -> None:
    result, _, _ = episode
    needles = source_values(media["landscape"]) + source_values(media["portrait"])
    assert COORDS in needles and "iPhone 13 mini" in needles and "SM-A515F" in needles
    for out in (result.path, result.poster):
        assert out is not None
        assert find_traces(out, needles) == []
        raw = out.read_bytes()
        for value in (COORDS, "51.4545", "iPhone", "Apple", "SM-A515F", "2026-10-03", "Lavf5"):
            assert value.encode() not in raw, (out.name, value)
            assert value.encode("utf-16-le") not in raw
    fmt = ffprobe(result.path)["format"]
    assert isinstance(fmt, dict)
    assert set(fmt.get("tags", {})) <= {"major_brand", "minor_version", "compatible_brands"}
    for stream in streams(result.path, "video") + streams(result.path, "audio"):
        assert "creation_time" not in stream.get("tags", {})  # type: ignore[operator]


def test_portrait_plays_upright(media: dict[str, Path], tmp_path: Path) -> None:
    result, _ = _render(tmp_path, media, [("portrait", 0.0, 1.5)])
    (video,) = streams(result.path, "video")
    assert (video["width"], video["height"]) == (180, 320)
    assert "side_data_list" not in video
    # The picture matches the source as a player shows it (display matrix applied), and
    # not the source as stored.
    shown = _frame(media["portrait"], 0.5)
    out = _frame(result.path, 0.5)
    assert out.size == shown.size == (180, 320)
    assert _difference(out, shown) < 8
    assert _difference(out, shown.transpose(Image.Transpose.ROTATE_180)) > 20


def test_show_can_force_landscape(media: dict[str, Path], tmp_path: Path) -> None:
    result, _ = _render(tmp_path, media, [("portrait", 0.0, 1.0)], orientation="landscape")
    assert (result.canvas.width, result.canvas.height) == (568, 320)
    frame = _frame(result.path, 0.5)
    # Black bars either side of the upright picture.
    assert max(_pixel(frame, 10, 160)) < 24
    assert max(_pixel(frame, 557, 160)) < 24
    assert max(_pixel(frame, 284, 160)) > 60


def test_burned_in_captions_change_the_picture(media: dict[str, Path], tmp_path: Path) -> None:
    vtt = tmp_path / "c.vtt"
    vtt.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nBURNED IN CAPTION\n")
    plain, _ = _render(tmp_path / "a", media, [("odd", 0.0, 1.0)])
    burned, _ = _render(tmp_path / "b", media, [("odd", 0.0, 1.0)], captions_vtt=vtt,
                        burn_in=True)  # fmt: skip
    assert burned.burned_in and burned.subtitles
    (video,) = streams(burned.path, "video")
    assert (video["width"], video["height"]) == (1278, 720)
    a, b = _frame(plain.path, 0.5), _frame(burned.path, 0.5)
    box = (0, int(720 * 0.7), 1278, 720)  # captions sit in the lower part
    assert _difference(a.crop(box), b.crop(box)) > 1.0
    assert _difference(a.crop((0, 0, 1278, 300)), b.crop((0, 0, 1278, 300))) < 1.0


def test_redaction_silences_the_sound_in_video(media: dict[str, Path], tmp_path: Path) -> None:
    sources = {"odd": media["odd"]}
    videos = {"odd": require_video(media["odd"])}
    timeline = replace(
        _timeline(tmp_path, [("odd", 0.0, 1.2)]),
        redactions=(Redaction("odd", 0.3, 0.9, mode="silence"),),
    )
    result = render_video(timeline, sources, videos, {"odd": 0.0}, tmp_path / "r.mp4",
                          final_gain_db=0.0)  # fmt: skip
    quiet = tmp_path / "quiet.wav"
    ff("-ss", "0.4", "-t", "0.4", "-i", result.path, "-map", "0:a", quiet)
    loud = tmp_path / "loud.wav"
    ff("-ss", "0.0", "-t", "0.25", "-i", result.path, "-map", "0:a", loud)
    assert ebur128(quiet)[1] < -60 < ebur128(loud)[1]


def test_hdr_hevc_is_tone_mapped_to_sdr(media: dict[str, Path], tmp_path: Path) -> None:
    result, _ = _render(tmp_path, media, [("hdr", 0.0, 1.0)])
    (video,) = streams(result.path, "video")
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert video["color_transfer"] == "bt709" and video["color_primaries"] == "bt709"
    frame = _frame(result.path, 0.5)
    assert ImageStat.Stat(frame).mean[0] > 20  # a picture, not black


def test_4k_60fps_becomes_1080p_30(media: dict[str, Path], tmp_path: Path) -> None:
    result, _ = _render(tmp_path, media, [("uhd60", 0.0, 0.5)])
    (video,) = streams(result.path, "video")
    assert (video["width"], video["height"], video["r_frame_rate"]) == (1920, 1080, "30/1")
    assert result.frames == 15


def test_video_without_sound_is_refused_unless_the_show_allows(
    media: dict[str, Path], tmp_path: Path
) -> None:
    sources, videos = {"mute": media["mute"]}, {"mute": require_video(media["mute"])}
    timeline = _timeline(tmp_path, [("mute", 0.0, 1.0)])
    with pytest.raises(MediaError, match="no sound track") as err:
        render_video(timeline, sources, videos, {}, tmp_path / "m.mp4")
    assert str(media["mute"]) in str(err.value)
    result = render_video(timeline, sources, videos, {}, tmp_path / "m.mp4", allow_silent=True)
    assert decoded_duration(result.path) == pytest.approx(1.0, abs=1 / 30)
    assert any("almost silent" in n for n in result.notes)


def test_audio_only_file_listed_as_video_is_named(media: dict[str, Path], tmp_path: Path) -> None:
    timeline = _timeline(tmp_path, [("memo", 0.0, 1.0)])
    with pytest.raises(MediaError, match="no picture") as err:
        render_video(timeline, {"memo": media["audio_only"]}, {}, {}, tmp_path / "x.mp4")
    assert str(media["audio_only"]) in str(err.value)
    assert not (tmp_path / "x.mp4").exists()


def test_damaged_frames_are_reported_and_the_rest_rendered(
    media: dict[str, Path], tmp_path: Path
) -> None:
    result, timeline = _render(tmp_path, media, [("corrupt", 0.0, 1.9)])
    assert any("damaged" in n and "corrupt.mp4" in n for n in result.notes), result.notes
    assert decoded_duration(result.path) == pytest.approx(timeline.duration, abs=1 / 30)
    assert result.frames == round(1.9 * 30)


def test_a_clip_past_the_last_picture_is_an_edl_error(
    media: dict[str, Path], tmp_path: Path
) -> None:
    name = "short_picture"
    clip = Clip(name, 0.5, 3.5, 0.0, line=7)
    timeline = Timeline(tmp_path / "edl.yaml", "x", (clip,), ())
    sources, videos = {name: media[name]}, {name: require_video(media[name])}
    with pytest.raises(MediaError) as err:
        render_video(timeline, sources, videos, {name: 0.0}, tmp_path / "x.mp4")
    text = str(err.value)
    assert f"{tmp_path / 'edl.yaml'}:7: out:" in text
    assert "runs to 3.5 s, but the picture in that file ends at 2 s" in text
    assert "End the clip at 2 s or earlier" in text
    assert not (tmp_path / "x.mp4").exists()


def test_a_clip_a_little_past_the_last_picture_holds_it_in_step(
    media: dict[str, Path], tmp_path: Path
) -> None:
    # 0.5 s past the last picture (within HOLD_LAST_PICTURE), then a clip of another file:
    # the second clip's pictures must start exactly where its sound does.
    clips = [("short_picture", 1.0, 2.5), ("landscape", 0.0, 1.0)]
    result, timeline = _render(tmp_path, media, clips)
    assert result.frames == 45 + 30
    ticks = _frame_ticks(result.path)
    assert len(ticks) == 75 and len({b - a for a, b in zip(ticks, ticks[1:], strict=False)}) == 1
    assert decoded_duration(result.path) == pytest.approx(timeline.duration, abs=1 / 30)
    last, held = _frame(result.path, 0.99), _frame(result.path, 1.45)
    assert _difference(_frame(result.path, 0.5), last) > 5.0  # the picture moves until then
    assert _difference(held, last) < 1.0  # the last picture, held
    assert _difference(_frame(result.path, 1.55), held) > 5.0  # the next clip's picture


def _video_bits(path: Path) -> int:
    sizes = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return 8 * sum(int(x.strip(",")) for x in sizes)


def test_grainy_low_light_footage_stays_under_the_bitrate_ceiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grain = phone_video(tmp_path / "grain.mp4", "640x360", 3.0,
                        vf="noise=alls=40:allf=t+u",
                        video_args=("-c:v", "libx264", "-preset", "ultrafast", "-crf", "12",
                                    "-pix_fmt", "yuv420p"))  # fmt: skip
    media = {"grain": grain}
    capped, _ = _render(tmp_path, media, [("grain", 0.0, 3.0)])
    ceiling = bitrate_ceiling(capped.canvas)
    assert ceiling == defaults.VIDEO_MIN_MAX_BITRATE  # 640x360 is under the floor's share
    # x264's buffer (twice the ceiling) may be spent once on top of the ceiling's rate
    most = ceiling * capped.duration + 2 * ceiling
    assert _video_bits(capped.path) <= most
    monkeypatch.setattr(defaults, "VIDEO_MIN_MAX_BITRATE", 10**9)
    free = tmp_path / "free"
    free.mkdir()
    uncapped, _ = _render(free, media, [("grain", 0.0, 3.0)])
    assert _video_bits(uncapped.path) > 1.5 * most  # without the ceiling the grain costs more


def test_the_same_episode_renders_to_the_same_bytes_every_time(tmp_path: Path) -> None:
    """Grainy pictures that press on the bit-rate ceiling, in two groups of clips encoded
    side by side: two renders give the same MP4, byte for byte (x264 with its ceiling and
    several threads did not: its rate control depended on the threads' timing)."""
    grain = phone_video(tmp_path / "grain.mp4", "640x360", 6.0,
                        vf="noise=alls=40:allf=t+u",
                        video_args=("-c:v", "libx264", "-preset", "ultrafast", "-crf", "12",
                                    "-pix_fmt", "yuv420p"))  # fmt: skip
    clips = [("grain", t, t + 1.0) for t in (0.0, 1.0, 2.0, 3.0, 4.0)]  # 2 groups of pictures
    digests = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        result, _ = _render(folder, {"grain": grain}, clips)
        digests.append(hashlib.sha256(result.path.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_many_clips_render_in_groups_in_order_on_the_frame_grid(
    media: dict[str, Path], tmp_path: Path
) -> None:
    """More clips than one ffmpeg run takes (defaults.VIDEO_CLIPS_PER_RUN): the pictures
    are rendered in groups and joined, so memory does not grow with the EDL. The joins
    must not show: every clip in EDL order, whole frames, captions at episode time."""
    long = phone_video(tmp_path / "long.mp4", "320x180", 10.0)
    media = {**media, "long": long}
    starts = [8.0, 1.0, 5.0, 3.0, 9.0, 0.2, 6.5, 2.0, 4.0, 7.3]  # out of source order
    clips = [("long", t, t + 0.4) for t in starts]
    assert len(clips) > 2 * defaults.VIDEO_CLIPS_PER_RUN  # three groups at least
    last = 0.4 * (len(clips) - 1)  # where the last clip starts in the episode
    vtt = tmp_path / "c.vtt"
    vtt.write_text(
        f"WEBVTT\n\n00:00:{last + 0.05:06.3f} --> 00:00:{last + 0.35:06.3f}\nLAST CLIP\n"
    )
    result, timeline = _render(tmp_path, media, clips, captions_vtt=vtt, burn_in=True)

    assert result.frames == sum(clip_frames(c, Fraction(30)) for c in timeline.clips) == 120
    assert decoded_duration(result.path) == pytest.approx(timeline.duration, abs=1 / 30)
    ticks = _frame_ticks(result.path)
    assert len(ticks) == 120 and len({b - a for a, b in zip(ticks, ticks[1:], strict=False)}) == 1

    upper = (0, 0, 320, 110)  # above where captions sit
    for clip in timeline.clips:
        shown = _frame(result.path, clip.start + 0.2).crop(upper)
        right = _difference(shown, _frame(long, clip.src_in + 0.2).crop(upper))
        others = [
            _difference(shown, _frame(long, other.src_in + 0.2).crop(upper))
            for other in timeline.clips
            if abs(other.src_in - clip.src_in) > 1.0
        ]
        assert right < 6 and right < min(others) - 2, (clip, right, min(others))

    caption = (100, 145, 220, 170)  # where the one-line caption is drawn at this size

    def burned(at: float, src: float) -> float:
        return _difference(_frame(result.path, at).crop(caption), _frame(long, src).crop(caption))

    final = timeline.clips[-1]  # in the third group: its caption is timed in episode time
    assert burned(final.start + 0.2, final.src_in + 0.2) > 7
    assert burned(final.start - 0.2, timeline.clips[-2].src_in + 0.2) < 4  # not before
    assert burned(0.2, starts[0] + 0.2) < 4  # nor in the first group
    integrated, _ = ebur128(result.path)
    assert integrated == pytest.approx(-16.0, abs=1.0)


def test_burned_captions_draw_what_was_written_and_nothing_else() -> None:
    """libass and ffmpeg's WebVTT reader read markup in captions: a name or word holding
    `&`, `<`, `{\\an8}` or `\\N` must be drawn as written, never obeyed."""
    from pipeline.render.video import burnable_vtt

    vtt = (
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.000\n"
        "<v Sam &amp; Jo>hello &lt;b&gt;bold&lt;/b&gt; {\\an8} up\\Nhere\n"
        "second line &amp; more\n\n2\n00:00:02.000 --> 00:00:03.000\nplain\n"
    )
    out = burnable_vtt(vtt)
    cues = out.split("\n\n")
    assert cues[0] == "WEBVTT" and len(cues) == 3
    assert cues[1].splitlines()[1] == "00:00:00.000 --> 00:00:02.000"
    assert cues[1].splitlines()[2] == (
        "Sam \uff06 Jo: hello \u2039b\u203abold\u2039/b\u203a \uff5b\uff3can8\uff5d up\uff3cNhere"
    )
    assert cues[1].splitlines()[3] == "second line \uff06 more"
    assert cues[2].rstrip().endswith("plain")
    assert not any(c in out.split("\n", 1)[1].replace("-->", "") for c in "<>&{}\\")
