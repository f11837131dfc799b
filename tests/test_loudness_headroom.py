"""Loudness with headroom left (issue 13): where one plain gain would lift loud clicks past
-1 dBTP, the look-ahead limiter holds them and the episode still reaches -16 LUFS; where
even the limiter cannot (its most reduction reached), the note states the shortfall the
published MP3 really has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import defaults
from pipeline.cache import Cache
from pipeline.media.loudness import analyse
from pipeline.media.probe import probe
from pipeline.records import Clip, Loudness, Timeline
from pipeline.render.audio import GainPlan, RenderResult, next_plan, plan_gain, render

from conftest import ebur128
from kit.media import speech, speech_with_clicks

WORDS = (
    "This is a story about moving into my first flat. The hardest part was the paperwork, "
    "and then the neighbours started knocking on the wall every single night. We sorted it "
    "out in the end, with a cup of tea and a long chat."
)


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speech(WORDS, tmp_path_factory.mktemp("voice") / "voice.wav")


def _render_whole(tmp_path: Path, source: Path) -> tuple[RenderResult, dict[str, object]]:
    cache = Cache(tmp_path / "cache")
    recording = probe(source, source.name, cache)
    loudness = {source.name: analyse(recording, cache)}
    clip = Clip(source.name, 0.0, recording.duration, 0.0)
    timeline = Timeline(tmp_path / "edl.yaml", "x", (clip,), ())
    result = render(timeline, {source.name: recording}, loudness, cache)
    report = cache.get_json("renders", result.key)
    assert report is not None
    return result, report


def test_clicks_over_quiet_speech_still_reach_the_target(tmp_path: Path, voice: Path) -> None:
    source = speech_with_clicks(voice, tmp_path / "clicks.m4a", speech_db=-10, every=2.1)
    result, report = _render_whole(tmp_path, source)
    mix = Loudness(**report["mix"])  # type: ignore[arg-type]
    # the input is what the issue describes: one plain gain to -16 LUFS would lift the
    # clicks past the -1 dBTP ceiling (the mix's own peak plus that gain)
    assert mix.true_peak + (defaults.TARGET_LUFS - mix.integrated) > defaults.TARGET_TRUE_PEAK
    integrated, true_peak = ebur128(result.path)  # the published MP3, measured apart
    assert abs(integrated - defaults.TARGET_LUFS) <= 0.5, integrated
    assert true_peak <= defaults.TARGET_TRUE_PEAK, true_peak
    assert result.note == ""
    assert report["limit_db"] is not None  # the limiter did it, not a lucky gain


def test_when_the_limiter_is_at_its_most_the_note_tells_the_real_shortfall(
    tmp_path: Path, voice: Path
) -> None:
    # very quiet speech under clicks three times a second: reaching -16 LUFS would take
    # the clicks down far more than the limiter is allowed to
    source = speech_with_clicks(voice, tmp_path / "claps.m4a", speech_db=-16, every=0.7)
    result, _ = _render_whole(tmp_path, source)
    integrated, true_peak = ebur128(result.path)
    assert true_peak <= defaults.TARGET_TRUE_PEAK, true_peak
    found = re.search(r"loudness stops (\d+\.\d) LU under the target", result.note)
    assert found, result.note
    stated = float(found.group(1))
    assert stated > 0.5
    assert stated == pytest.approx(defaults.TARGET_LUFS - integrated, abs=0.1)
    assert f"{defaults.LIMITER_MAX_REDUCTION_DB:g} dB" in result.note


def test_the_plan_limits_only_where_peaks_need_it() -> None:
    ceiling = defaults.TARGET_TRUE_PEAK - defaults.CODEC_PEAK_MARGIN
    codec = defaults.MP3_LOUDNESS_LOSS  # what LAME takes, allowed for in the first gain
    # room for the whole gain: no limiter, the plain gain
    assert plan_gain(Loudness(-17.0, -6.0, 3, -27)) == GainPlan(1.0 + codec)
    # the gain would lift peaks past the ceiling: the limiter holds them there
    assert plan_gain(Loudness(-19.0, -3.0, 3, -29)) == GainPlan(3.0 + codec, ceiling)
    # more than the limiter may take: the gain stops at its most
    plan = plan_gain(Loudness(-30.0, -3.0, 3, -40))
    assert plan.limit == ceiling
    assert plan.gain == pytest.approx(ceiling + 3.0 + defaults.LIMITER_MAX_REDUCTION_DB)


def test_a_plain_gain_is_corrected_as_before_and_the_limiter_joins_only_when_short() -> None:
    mix = Loudness(-16.3, -3.0, 3, -26)
    # the MP3 came out 0.4 LU quiet with peaks well in: the one gain goes up by 0.4
    plain = next_plan(mix, GainPlan(0.3), Loudness(-16.4, -2.6, 3, -26))
    assert plain is not None and plain.limit is None and plain.gain == pytest.approx(0.7)
    # within the tolerance: nothing more
    assert next_plan(mix, GainPlan(0.3), Loudness(-16.1, -2.6, 3, -26)) is None
    # short, with the peaks already at the ceiling: the limiter comes in
    better = next_plan(mix, GainPlan(0.3), Loudness(-16.6, -1.2, 3, -26))
    assert better is not None and better.limit is not None and better.gain > 0.3
    # the codec lifted the peaks past -1 dBTP under the limiter: it holds them lower
    lowered = next_plan(mix, GainPlan(2.0, -1.5), Loudness(-16.0, -0.8, 3, -26))
    assert lowered is not None and lowered.limit is not None and lowered.limit < -1.5
