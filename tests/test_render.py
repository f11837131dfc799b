"""Rendering: faithful to the Timeline, even across phones, inside the loudness limits."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pipeline import defaults
from pipeline.cache import Cache
from pipeline.media.loudness import analyse
from pipeline.media.probe import probe
from pipeline.records import Clip, Timeline
from pipeline.render.audio import ClipSound, render, render_stems

from conftest import decoded_duration, ebur128


def _lavfi(out: Path, source: str, seconds: float, extra: str = "") -> Path:
    chain = f"{source},atrim=duration={seconds}" + (f",{extra}" if extra else "")
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            chain,
            "-ac",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            str(out),
        ],
        check=True,
    )
    return out


def _render(
    tmp_path: Path, files: dict[str, Path], clips: list[tuple[str, float, float]]
) -> tuple[Path, Timeline]:
    cache = Cache(tmp_path / "cache")
    recordings = {name: probe(path, name, cache) for name, path in files.items()}
    loudness = {name: analyse(rec, cache) for name, rec in recordings.items()}
    placed, start = [], 0.0
    for source, t_in, t_out in clips:
        placed.append(Clip(source, t_in, t_out, start))
        start += t_out - t_in
    timeline = Timeline(tmp_path / "edl.yaml", "x", tuple(placed), ())
    result = render(timeline, recordings, loudness, cache)
    return result.path, timeline


def test_quiet_and_loud_phones_come_out_alike(tmp_path: Path) -> None:
    # about -45 LUFS (a phone in a pocket) and about -9 LUFS, clipping (a shouted call)
    quiet = _lavfi(tmp_path / "quiet.m4a", "anoisesrc=color=pink:amplitude=0.03:seed=1", 8)
    loud = _lavfi(
        tmp_path / "loud.m4a",
        "anoisesrc=color=pink:amplitude=1:seed=2",
        8,
        "volume=10dB,aformat=sample_fmts=s16",
    )
    mp3, _ = _render(
        tmp_path, {"quiet.m4a": quiet, "loud.m4a": loud}, [("quiet.m4a", 0, 8), ("loud.m4a", 0, 8)]
    )
    first, _ = ebur128(mp3, 0.5, 7)
    second, _ = ebur128(mp3, 8.5, 7)
    assert analyse_gap(tmp_path) > 30  # they really were far apart
    assert abs(first - second) < 1.5, (first, second)
    integrated, true_peak = ebur128(mp3)
    assert abs(integrated + 16) <= 1.0
    assert true_peak <= -1.0


def analyse_gap(tmp_path: Path) -> float:
    cache = Cache(tmp_path / "cache")
    levels = [
        analyse(probe(tmp_path / n, n, cache), cache).integrated for n in ("quiet.m4a", "loud.m4a")
    ]
    return levels[1] - levels[0]


def test_a_clipping_recording_stays_under_the_true_peak_limit(tmp_path: Path) -> None:
    hot = _lavfi(
        tmp_path / "hot.m4a",
        "sine=frequency=997:sample_rate=44100",
        6,
        "volume=12dB,aformat=sample_fmts=s16",
    )
    mp3, _ = _render(tmp_path, {"hot.m4a": hot}, [("hot.m4a", 0.5, 5.5)])
    integrated, true_peak = ebur128(mp3)
    assert true_peak <= -1.0, true_peak
    assert abs(integrated + 16) <= 1.0, integrated


@pytest.mark.parametrize("per_run", [8, 1])
def test_markers_land_where_the_timeline_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_run: int
) -> None:
    """Beeps every second in the source; after cutting, each beep sits at its predicted time,
    whether the clips' sound is rendered in one run or one clip per run and then joined."""
    monkeypatch.setattr(defaults, "AUDIO_CLIPS_PER_RUN", per_run)
    beeps = "aevalsrc=exprs='if(lt(mod(t\\,1)\\,0.05)\\,sin(2*PI*1000*t)\\,0)':s=48000"
    source = tmp_path / "beeps.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"{beeps},atrim=duration=12",
            "-ac",
            "1",
            str(source),
        ],
        check=True,
    )
    clips = [("beeps.wav", 6.5, 9.5), ("beeps.wav", 1.25, 3.25), ("beeps.wav", 10.7, 11.9)]
    mp3, timeline = _render(tmp_path, {"beeps.wav": source}, clips)
    expected = []
    for clip in timeline.clips:
        for second in range(12):
            if clip.src_in <= second < clip.src_out - 0.05:
                expected.append(clip.start + second - clip.src_in)
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-nostats",
            "-i",
            str(mp3),
            "-af",
            "silencedetect=noise=-40dB:d=0.2",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = [float(t) for t in re.findall(r"silence_end: (-?[\d.]+)", proc.stderr)]
    onsets = [t for t in found if t < timeline.duration - 0.1]  # not the end of the file
    assert len(onsets) == len(expected), (onsets, expected)
    for got, want in zip(onsets, expected, strict=True):
        assert got == pytest.approx(want, abs=0.02), (onsets, expected)
    assert decoded_duration(mp3) == pytest.approx(timeline.duration, abs=0.03)
    # the clips' sound was rendered to work files beside the cache and they are gone
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.name.startswith(".")]


def test_many_short_clips_add_up_exactly(tmp_path: Path) -> None:
    tone = _lavfi(tmp_path / "tone.m4a", "sine=frequency=440:sample_rate=44100", 20)
    clips = [("tone.m4a", i * 1.7, i * 1.7 + 0.37) for i in range(10)]
    mp3, timeline = _render(tmp_path, {"tone.m4a": tone}, clips)
    assert timeline.duration == pytest.approx(3.7)
    assert decoded_duration(mp3) == pytest.approx(3.7, abs=0.03)


@pytest.mark.parametrize("per_run", [1, 3, 8])
def test_stems_join_sample_exactly_whatever_the_group_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_run: int
) -> None:
    monkeypatch.setattr(defaults, "AUDIO_CLIPS_PER_RUN", per_run)
    tone = _lavfi(tmp_path / "tone.m4a", "sine=frequency=440:sample_rate=44100", 20)
    samples = round(0.37 * defaults.WORK_SAMPLE_RATE)
    chain = [
        f"aresample={defaults.WORK_SAMPLE_RATE}",
        "aformat=sample_fmts=fltp:channel_layouts=stereo",
        f"atrim=end_sample={samples}",
    ]
    seeks = [["-ss", f"{i * 1.7}", "-t", "0.9", "-i", str(tone)] for i in range(10)]
    sounds = [ClipSound(seek, chain) for seek in seeks]
    work = tmp_path / "work"
    work.mkdir()
    inputs, _ = render_stems(sounds, work, None)
    assert len(list(work.glob("sound-*.nut"))) == -(-10 // per_run)
    stats = "astats=metadata=0:measure_overall=Number_of_samples:measure_perchannel=none"
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", *inputs, "-af", f"asetpts=N/SR/TB,{stats}", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert re.findall(r"Number of samples: (\d+)", proc.stderr) == [str(10 * samples)]
