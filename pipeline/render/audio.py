"""render: streamed ffmpeg filter graphs per episode, exactly as the Timeline says.

Each clip is its own input, seeked to its in point and trimmed to its exact
sample length, so ffmpeg never holds a whole recording and nothing is added,
dropped, reordered or stretched. Per clip: resample to the working format, a
gain for its recording (so quiet and loud phones sound alike), the clip's own
fades. The clips are rendered a few per ffmpeg run (``AUDIO_CLIPS_PER_RUN``)
into lossless 32-bit float parts ("stems"): every open input holds its file's
whole index (about 5 MB for an hour of AAC), so one run over a hundred clips of
a long interview would need half a gigabyte. The parts are read back in order
through the concat demuxer, then a look-ahead limiter (its delay compensated,
so nothing moves) keeps sample peaks under a ceiling. Each clip is decoded
once, not once per loudness pass.

Loudness is normalised in two passes: pass 1 measures the mix (EBU R128
integrated loudness and true peak); pass 2 applies one gain to reach -16 LUFS and
encodes the MP3, and the MP3 itself is measured, so the figure reported is what
listeners get (LAME at 128 kb/s comes out about 0.4 LU quieter than its input, a
sine as much as speech: the first gain allows for it, and a miss is corrected from
that measurement). Where the gain would lift peaks (clicks, claps, plosives)
past -1 dBTP, a look-ahead limiter after it holds them, taking the loudest peak
down by at most ``LIMITER_MAX_REDUCTION_DB``; only past that does loudness stop
short, and the note says by how much the published MP3 is short, as measured.
(ffmpeg's loudnorm does the same job but resamples to 192 kHz in both passes,
about six times slower, and may silently switch to dynamic compression.)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from pipeline import defaults
from pipeline.cache import Cache
from pipeline.errors import Problem, ToolError
from pipeline.media.loudness import MEASURE_FILTER, measure, parse_ebur128, recording_gain
from pipeline.media.runner import media_timeout, run, source_input, working_part
from pipeline.progress import Tick, part
from pipeline.records import Clip, Loudness, Recording, Timeline

RENDER_VERSION = 5  # bump when the graph changes what comes out


@dataclass(frozen=True)
class RenderResult:
    path: Path
    key: str
    note: str  # why loudness differs from the target, if it does
    loudness: Loudness  # of the MP3 itself, measured after encoding


def render_key(
    timeline: Timeline, recordings: dict[str, Recording], gains: dict[str, float]
) -> str:
    """Hash of everything that decides the rendered bytes."""
    spec = {
        "version": RENDER_VERSION,
        "clips": [
            [
                [(r.start, r.end, r.mode) for r in timeline.redactions if r.source == c.source],
                recordings[c.source].sha256,
                c.src_in,
                c.src_out,
                c.fade_in,
                c.fade_out,
                round(gains[c.source], 3),
            ]
            for c in timeline.clips
        ],
        "target": [
            defaults.LOUDNESS_TOLERANCE,
            defaults.TARGET_LUFS,
            defaults.TARGET_TRUE_PEAK,
            defaults.CODEC_PEAK_MARGIN,
            defaults.PRE_LIMIT_DBFS,
            defaults.LIMITER_MAX_REDUCTION_DB,
            defaults.MAX_ENCODES,
            defaults.MP3_LOUDNESS_LOSS,
        ],
        "output": [defaults.OUTPUT_SAMPLE_RATE, defaults.OUTPUT_CHANNELS, defaults.MP3_BITRATE],
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


BLEEP_HZ = 1000
BLEEP_LEVEL = 0.1  # -20 dBFS: clearly a bleep, never louder than speech


def redaction_filters(timeline: Timeline, clip: Clip) -> list[str]:
    """Per-sample replacement of redacted ranges inside one clip (clip-local time).

    ``enable`` switches the filter on only around the range (per frame, cheap);
    the expression then decides per sample, so the edges are exact.
    """
    filters: list[str] = []
    for r in timeline.redactions:
        if r.source != clip.source:
            continue
        lo, hi = max(r.start, clip.src_in), min(r.end, clip.src_out)
        if hi <= lo:
            continue
        a, b = lo - clip.src_in, hi - clip.src_in
        inside = f"{BLEEP_LEVEL}*sin(2*PI*{BLEEP_HZ}*t)" if r.mode == "bleep" else "0"
        # Single quotes protect the commas at the filtergraph level.
        exprs = "|".join(f"if(between(t,{a:.6f},{b:.6f}),{inside},val({ch}))" for ch in range(2))
        filters.append(
            f"aeval=exprs='{exprs}':c=same"
            f":enable='between(t,{max(0.0, a - 0.1):.6f},{b + 0.1:.6f})'"
        )
    return filters


@dataclass(frozen=True)
class ClipSound:
    """One clip's sound: ffmpeg input options (ending in ``-i FILE``) and the filters
    that take the input's first audio stream to the clip's exact samples, and how many
    seconds that is (for the run's time limit)."""

    inputs: list[str]
    chain: list[str]
    seconds: float = 0.0


def clip_chain(timeline: Timeline, clip: Clip, gain_db: float, *, fill_gaps: bool) -> list[str]:
    """The one sound chain of a clip, for the audio and the video render alike: its exact
    samples at the working rate, the recording's gain, the redactions, the fades.

    ``fill_gaps`` (a phone video's sound): gaps in the sound (a damaged packet, sound
    starting late) are filled with silence by timestamp, and a short end padded, so the
    sound lasts exactly as long as the picture.
    """
    samples = round(clip.duration * defaults.WORK_SAMPLE_RATE)
    if fill_gaps:
        head = [
            f"aresample={defaults.WORK_SAMPLE_RATE}:async=1:first_pts=0",
            "aformat=sample_fmts=fltp:channel_layouts=stereo",
            f"apad=whole_len={samples}",
        ]
    else:
        head = [
            f"aresample={defaults.WORK_SAMPLE_RATE}",
            "aformat=sample_fmts=fltp:channel_layouts=stereo",
        ]
    chain = [
        *head,
        f"atrim=end_sample={samples}",
        "asetpts=N/SR/TB",
        f"volume={gain_db:.3f}dB:precision=float",
        *redaction_filters(timeline, clip),
    ]
    if clip.fade_in > 0:
        chain.append(f"afade=t=in:st=0:d={clip.fade_in:.6f}")
    if clip.fade_out > 0:
        chain.append(f"afade=t=out:st={clip.duration - clip.fade_out:.6f}:d={clip.fade_out:.6f}")
    return chain


def clip_sounds(
    timeline: Timeline, recordings: dict[str, Recording], gains: dict[str, float]
) -> list[ClipSound]:
    sounds: list[ClipSound] = []
    for clip in timeline.clips:
        chain = clip_chain(timeline, clip, gains[clip.source], fill_gaps=False)
        # Input seek lands on the packet before `in` and decodes forward to it exactly;
        # the -t margin lets atrim cut the exact sample length.
        inputs = ["-ss", f"{clip.src_in:.6f}", "-t", f"{clip.duration + 0.5:.6f}",
                  *source_input(recordings[clip.source].path)]  # fmt: skip
        sounds.append(ClipSound(inputs, chain, clip.duration))
    return sounds


def joined(sounds: Sequence[ClipSound], tail: str) -> tuple[list[str], str]:
    """The inputs and filter graph that play ``sounds`` one after another, each through its
    own chain, joined sample-exactly; ``tail`` ends the graph (``[out]``, or more filters
    and a label)."""
    inputs: list[str] = []
    chains: list[str] = []
    for i, sound in enumerate(sounds):
        inputs += sound.inputs
        chains.append(f"[{i}:a:0]" + ",".join(sound.chain) + f"[c{i}]")
    labels = "".join(f"[c{i}]" for i in range(len(sounds)))
    return inputs, ";".join(chains) + f";{labels}concat=n={len(sounds)}:v=0:a=1{tail}"


def render_stems(
    sounds: Sequence[ClipSound],
    work: Path,
    where: Path | None,
    progress: Tick | None = None,
) -> tuple[list[str], str]:
    """Render ``sounds`` in order, ``AUDIO_CLIPS_PER_RUN`` clips per ffmpeg run, to float
    PCM parts in ``work``. Returns the ffmpeg input options that read them back as one
    stream (follow it with ``asetpts=N/SR/TB`` to number its samples without a gap), and
    what ffmpeg said while decoding (damaged packets are reported there). ``progress`` is
    told the seconds of sound rendered so far."""
    inputs, said, _ = render_stems_measured(sounds, work, where, progress, measure_mix=False)
    return inputs, said


def render_stems_measured(
    sounds: Sequence[ClipSound],
    work: Path,
    where: Path | None,
    progress: Tick | None = None,
    *,
    measure_mix: bool = True,
) -> tuple[list[str], str, Loudness | None]:
    """``render_stems``, and the loudness of the mix (``MIX_GRAPH`` over the joined
    stems) when the sound fits one run: measured there, as the part is written, so the
    mix is not read back a second time for loudness pass 1. None when it takes more runs
    (the limiter's look-ahead spans the parts: measure the joined parts then)."""
    size = max(1, defaults.AUDIO_CLIPS_PER_RUN)
    runs = (len(sounds) + size - 1) // size
    parts: list[Path] = []
    said = ""
    done = 0.0
    for k in range(runs):
        group = sounds[k * size : (k + 1) * size]
        inputs, graph = joined(group, "[out]")
        stem = work / f"sound-{k:05d}.nut"
        seconds = sum(sound.seconds for sound in group)
        measuring: list[str] = []
        if measure_mix and runs == 1:
            graph = graph.replace("[out]", ",asplit=2[out][tomix]")
            graph += f";[tomix]{MIX_CHAIN},{MEASURE_FILTER}[measured]"
            measuring = ["-map", "[measured]", "-f", "null", "-"]
        proc = run(
            ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-y", *inputs,
             "-filter_complex", graph, "-map", "[out]", "-c:a", "pcm_f32le", "-f", "nut", stem,
             *measuring],
            what=f"rendering (sound, part {k + 1} of {runs})",
            path=where,
            timeout=media_timeout(seconds),
            progress=part(progress, done, seconds, seconds),
        )  # fmt: skip
        said += working_part(proc.stderr)
        parts.append(stem)
        done += seconds
    listing = work / "sound.ffconcat"
    listing.write_text(
        "ffconcat version 1.0\n" + "".join(f"file '{p.name}'\n" for p in parts),
        encoding="utf-8",
    )
    mix = parse_ebur128(said, where) if measure_mix and runs == 1 else None
    return ["-f", "concat", "-safe", "0", "-i", str(listing)], said, mix


_LIMIT = 10 ** (defaults.PRE_LIMIT_DBFS / 20)
# The joined stems, numbered sample by sample, then a look-ahead limiter that keeps
# sample peaks under PRE_LIMIT_DBFS.
MIX_CHAIN = (
    f"asetpts=N/SR/TB,alimiter=limit={_LIMIT:.4f}:level=false:latency=true:attack=5:release=50"
)
# The mix of the joined stems (input 0), labelled [mix].
MIX_GRAPH = f"[0:a:0]{MIX_CHAIN}[mix]"


def measure_mix(
    inputs: list[str], where: Path | None, seconds: float, progress: Tick | None = None
) -> Loudness:
    """Loudness pass 1 over stems that took several runs: the joined mix, measured."""
    return measure(
        [*inputs, "-filter_complex", f"{MIX_GRAPH};[mix]{MEASURE_FILTER}[out]", "-map", "[out]"],
        "rendering (loudness pass 1)",
        where,
        seconds,
        progress,
    )


ENCODE_ARGS = (
    "-map_metadata -1 -map_chapters -1 -fflags +bitexact -flags:a +bitexact "
    f"-c:a libmp3lame -b:a {defaults.MP3_BITRATE} -ac {defaults.OUTPUT_CHANNELS} "
    f"-ar {defaults.OUTPUT_SAMPLE_RATE} -id3v2_version 0 -write_xing 1 -f mp3"
).split()


@dataclass(frozen=True)
class GainPlan:
    """The last pass over the mix: one gain and, when that would lift peaks past the
    ceiling, a look-ahead limiter holding sample peaks at ``limit`` dBFS (None: none)."""

    gain: float
    limit: float | None = None


def _ceiling() -> float:
    return defaults.TARGET_TRUE_PEAK - defaults.CODEC_PEAK_MARGIN


def most_gain(mix: Loudness, limit: float) -> float:
    """The most gain a limiter at ``limit`` dBFS may be given: enough that it takes the
    mix's loudest peak down by ``LIMITER_MAX_REDUCTION_DB``, no more."""
    return limit - mix.true_peak + defaults.LIMITER_MAX_REDUCTION_DB


def plan_gain(mix: Loudness, codec_loss: float = defaults.MP3_LOUDNESS_LOSS) -> GainPlan:
    """The first plan: the gain to the target (allowing ``codec_loss``, what the encoder
    takes: the MP3's by default); the limiter only where the gain would lift the mix's
    peaks past the ceiling."""
    if mix.integrated < defaults.SILENCE_LUFS:
        return GainPlan(0.0)
    gain = defaults.TARGET_LUFS - mix.integrated
    if mix.true_peak + gain <= _ceiling():
        return GainPlan(gain + codec_loss)
    return GainPlan(min(gain + codec_loss, most_gain(mix, _ceiling())), _ceiling())


def gain_chain(plan: GainPlan) -> str:
    """The filters of the last pass over the mix: the plan's gain, then its limiter (if
    any), ending in a comma for what follows (the resampler)."""
    limiter = ""
    if plan.limit is not None:
        limiter = (
            f"alimiter=limit={10 ** (plan.limit / 20):.4f}:level=false:latency=true"
            ":attack=5:release=50,"
        )
    return f"volume={plan.gain:.3f}dB:precision=float,{limiter}"


def next_plan(
    mix: Loudness, plan: GainPlan, produced: Loudness, *, last: bool = False
) -> GainPlan | None:
    """The correction after measuring what ``plan`` encoded, or None when it is as good as
    the limits allow. The encoder takes a little loudness and lifts true peaks a little,
    so the encoded file decides. ``last``: no encode follows the next one, so it never
    lets the limiter's peaks up (a miss could not be put right)."""
    if mix.integrated < defaults.SILENCE_LUFS:
        return None
    miss = defaults.TARGET_LUFS - produced.integrated
    over = produced.true_peak - defaults.TARGET_TRUE_PEAK
    step = miss if abs(miss) > defaults.LOUDNESS_TOLERANCE else 0.0
    if plan.limit is None:
        room = defaults.TARGET_TRUE_PEAK - defaults.CODEC_PEAK_MARGIN / 2 - produced.true_peak
        if over <= 0 and step == 0:
            return None
        if over <= 0 and step <= room:
            return GainPlan(plan.gain + step)  # one gain still does it
        limit = _ceiling()
    elif over > 0:
        limit = plan.limit - over - defaults.LOUDNESS_TOLERANCE / 2
    else:
        # still short with true-peak room left (the codec's low-pass took some peaks
        # down): let the peaks up into it, never past the ceiling itself
        room = defaults.TARGET_TRUE_PEAK - defaults.CODEC_PEAK_MARGIN / 2 - produced.true_peak
        rise = room if step > 0 and room > defaults.LOUDNESS_TOLERANCE / 2 and not last else 0.0
        limit = min(plan.limit + rise, defaults.TARGET_TRUE_PEAK)
    better = GainPlan(round(min(plan.gain + step, most_gain(mix, limit)), 3), round(limit, 3))
    unchanged = abs(better.gain - plan.gain) < 0.05 and better.limit == plan.limit
    if plan.limit is not None and unchanged:
        return None  # the limiter is at its most and the peaks are in: as loud as allowed
    return better


def shortfall_note(mix: Loudness, plan: GainPlan, produced: Loudness) -> str:
    """Why the published file is not at the target, from what it measures; "" if it is."""
    if mix.integrated < defaults.SILENCE_LUFS:
        return "the episode is almost silent; no loudness gain was applied"
    short = defaults.TARGET_LUFS - produced.integrated
    tp = f"{defaults.TARGET_TRUE_PEAK:g} dBTP"
    if produced.true_peak > defaults.TARGET_TRUE_PEAK:
        return f"its true peak is {produced.true_peak:.1f} dBTP, over the {tp} ceiling"
    if short <= defaults.LOUDNESS_TOLERANCE:
        return ""
    why = (
        f"the look-ahead limiter already takes its loudest peaks down by "
        f"{defaults.LIMITER_MAX_REDUCTION_DB:g} dB, its most, to keep them under {tp}"
        if plan.limit is not None
        else f"peaks must stay under {tp}"
    )
    return f"loudness stops {short:.1f} LU under the target: {why}"


def mixdown(graph: str, plan: GainPlan) -> str:
    """``graph`` (labelling its mix [mix]) followed by the last pass: the plan's gain, its
    limiter if any, the output sample rate, labelled [out]."""
    return f"{graph};[mix]{gain_chain(plan)}aresample={defaults.OUTPUT_SAMPLE_RATE}[out]"


def _encode(
    inputs: list[str],
    graph: str,
    plan: GainPlan,
    tmp: Path,
    where: Path,
    seconds: float,
    progress: Tick | None = None,
) -> Loudness:
    """The last pass: the graph, the plan's gain (and limiter), MP3. Returns the loudness
    of the MP3 as encoded. ``seconds``: the episode's length, for the time limits;
    ``progress``: told how far through the encoding and then the measuring it is, each
    half of its span."""
    run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-nostats",
            "-y",
            *inputs,
            "-filter_complex",
            mixdown(graph, plan),
            "-map",
            "[out]",
            *ENCODE_ARGS,
            tmp,
        ],
        what="rendering (loudness pass 2 and MP3 encode)",
        path=where,
        timeout=media_timeout(seconds),
        progress=part(progress, 0, seconds / 2, seconds),
    )
    if not tmp.exists() or tmp.stat().st_size == 0:
        raise ToolError(Problem(where, "ffmpeg wrote no audio for this episode."))
    return measure(
        ["-i", tmp, "-af", MEASURE_FILTER],
        "measuring the episode",
        where,
        seconds,
        part(progress, seconds / 2, seconds / 2, seconds),
    )


def rendered(
    timeline: Timeline,
    recordings: dict[str, Recording],
    loudness: dict[str, Loudness],
    cache: Cache,
) -> RenderResult | None:
    """The Timeline's render if the cache already holds it (nothing is rendered here)."""
    gains = {name: recording_gain(loudness[name]) for name in timeline.sources()}
    key = render_key(timeline, recordings, gains)
    out = cache.path("renders", key, ".mp3")
    report = cache.get_json("renders", key)
    if (
        report is not None
        and report.get("schema") == "storycast.Render.2"
        and cache.get_file("renders", key, ".mp3") is not None  # its bytes checked
    ):
        return RenderResult(out, key, report["note"], Loudness(**report["loudness"]))
    return None


def render(
    timeline: Timeline,
    recordings: dict[str, Recording],
    loudness: dict[str, Loudness],
    cache: Cache,
    progress: Tick | None = None,
    fetch: Callable[[], None] | None = None,
) -> RenderResult:
    """Render the Timeline to a normalised MP3 in the cache; reuse it if already made.
    ``fetch``: called just before the recordings are read (not when the render is cached).

    ``progress`` is told how far the render is, in seconds of the episode: the clips (and
    the mix measured as they are written) a quarter, the mix measured apart when the clips
    took several runs a quarter, the MP3 and its measuring the second half."""
    done = rendered(timeline, recordings, loudness, cache)
    if done is not None:
        return done
    if fetch is not None:
        fetch()
    gains = {name: recording_gain(loudness[name]) for name in timeline.sources()}
    key = render_key(timeline, recordings, gains)
    out = cache.path("renders", key, ".mp3")
    where = timeline.edl_path
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".stems-", dir=out.parent))
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp.mp3")
    try:
        length = timeline.duration
        sounds = clip_sounds(timeline, recordings, gains)
        inputs, _, mix = render_stems_measured(
            sounds, work, where, part(progress, 0, length / 4, length)
        )
        if mix is None:
            mix = measure_mix(inputs, where, length, part(progress, length / 4, length / 4, length))
        plan = plan_gain(mix)
        last_half = part(progress, length / 2, length / 2, length)
        produced = _encode(inputs, MIX_GRAPH, plan, tmp, where, length, last_half)
        for encode in range(2, defaults.MAX_ENCODES + 1):
            better = next_plan(mix, plan, produced, last=encode == defaults.MAX_ENCODES)
            if better is None:
                break
            plan = better
            produced = _encode(inputs, MIX_GRAPH, plan, tmp, where, length)
        note = shortfall_note(mix, plan, produced)
        os.replace(tmp, out)
        cache.put_file("renders", key, ".mp3")
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    cache.put_json(
        "renders",
        key,
        {
            "schema": "storycast.Render.2",
            # which recordings went in, so a takedown can purge this render
            "recordings": sorted({recordings[c.source].sha256 for c in timeline.clips}),
            "note": note,
            "gain_db": round(plan.gain, 3),
            "limit_db": plan.limit,
            "loudness": asdict(produced),
            "mix": asdict(mix),
        },
    )
    return RenderResult(out, key, note, produced)


# --- hearing it before it is published: streamed, never held whole ---------------------
#
# The studio plays an edit while ffmpeg makes it: the same clips, the same sound chain per
# clip (gain, redactions, fades), the same mix limiter and last pass as ``render``, encoded
# at a low bitrate to a pipe. One thing cannot be measured before the end: the loudness of
# the whole mix, which decides the last pass's gain (loudness pass 1). Streamed, that
# gain is planned from the mix's loudness worked out from each recording's loudness in
# 400 ms blocks, measured once per recording and cached (``loudness_blocks``,
# ``blocks_mix``): EBU R128's own gating over the blocks the parts keep, after each
# recording's gain. The published file's is planned from the mix measured. Everything
# else is the same Timeline through the same code.

PREVIEW_VERSION = 2  # 2: the parts made a few per ffmpeg run, joined on a pipe


def preview_encode_args() -> list[str]:
    """``ENCODE_ARGS`` at the preview's bitrate (``defaults.PREVIEW_MP3_BITRATE``)."""
    args = list(ENCODE_ARGS)
    args[args.index("-b:a") + 1] = defaults.PREVIEW_MP3_BITRATE
    return args


def estimated_mix(
    timeline: Timeline, loudness: dict[str, Loudness], gains: dict[str, float]
) -> Loudness:
    """The mix's loudness as it can be known before the mix is made: each recording's
    measured loudness after its gain, weighted by the seconds of it the Timeline keeps
    (energies added, as EBU R128 does); its true peak, the loudest of theirs."""
    energy, seconds = 0.0, 0.0
    peak, lra, threshold = -99.0, 0.0, -70.0
    for clip in timeline.clips:
        level = loudness[clip.source]
        if level.integrated < defaults.SILENCE_LUFS:
            seconds += clip.duration
            continue
        energy += clip.duration * 10 ** ((level.integrated + gains[clip.source]) / 10)
        seconds += clip.duration
        peak = max(peak, level.true_peak + gains[clip.source])
        lra = max(lra, level.lra)
        threshold = max(threshold, level.threshold + gains[clip.source])
    if energy <= 0 or seconds <= 0:
        return Loudness(-99.0, -99.0, 0.0, -70.0)
    return Loudness(round(10 * math.log10(energy / seconds), 2), round(peak, 2), lra, threshold)


BLOCK_SECONDS = 0.1  # ebur128 says the last 400 ms block's loudness this often
BLOCK_LENGTH = 0.4
BLOCKS_SCHEMA = "storycast.LoudnessBlocks.1"
_BLOCK = re.compile(r"\bt:\s*[\d.]+\s+TARGET:\S+ LUFS\s+M:\s*(-?[\d.]+|-inf)")


def loudness_blocks(recording: Recording, cache: Cache) -> list[float]:
    """The recording's momentary loudness (LUFS of the 400 ms block ending at each tenth of
    a second: block ``i`` ends at ``(i + 1) * BLOCK_SECONDS``) as the render's chain has it
    (the working rate, in stereo), before any gain. Measured once (one decoding pass, no
    true peak) and kept with the renders, naming its recording, so a takedown purges it
    with them."""
    key = f"blocks-{recording.sha256}"
    cached = cache.get_json("renders", key)
    if cached is not None and cached.get("schema") == BLOCKS_SCHEMA:
        return [float(m) for m in cached["m"]]
    proc = run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", *source_input(recording.path),
         "-map", "0:a:0", "-af",
         f"aresample={defaults.WORK_SAMPLE_RATE},"
         "aformat=sample_fmts=fltp:channel_layouts=stereo,ebur128=framelog=info",
         "-f", "null", "-"],
        what="measuring loudness (for the quick version)",
        path=recording.path,
        timeout=media_timeout(recording.duration),
    )  # fmt: skip
    blocks = [-120.7 if m == "-inf" else float(m) for m in _BLOCK.findall(proc.stderr)]
    cache.put_json(
        "renders",
        key,
        {"schema": BLOCKS_SCHEMA, "recordings": [recording.sha256], "m": blocks},
    )
    return blocks


def blocks_mix(
    timeline: Timeline,
    loudness: dict[str, Loudness],
    gains: dict[str, float],
    blocks: dict[str, list[float]],
) -> Loudness:
    """``estimated_mix`` worked out as EBU R128 measures the mix: its 400 ms blocks, each
    raised by its recording's gain, gated at -70 LUFS and then 10 LU under their mean, their
    energies averaged. The blocks wholly inside a part are the recording's own; the three
    across each join between parts are taken as the energies of the blocks either side,
    in proportion to how much of each they hold. Sample peaks are at most the mix
    limiter's (``PRE_LIMIT_DBFS``). What it leaves out: what bleeps, fades and the mix
    limiter take from the loudness (measured by ``tests/test_studio_hearing``). Without a
    recording's blocks, the estimate from whole recordings."""
    guess = estimated_mix(timeline, loudness, gains)
    powers: list[float] = []
    per_block = round(BLOCK_LENGTH / BLOCK_SECONDS)
    for clip in timeline.clips:
        m = blocks.get(clip.source)
        if m is None:
            return guess
        first = math.ceil((clip.src_in + BLOCK_LENGTH) / BLOCK_SECONDS - 1e-6) - 1
        last = min(math.floor(clip.src_out / BLOCK_SECONDS + 1e-6) - 1, len(m) - 1)
        gain = gains[clip.source]
        inside = [10 ** ((m[i] + gain) / 10) for i in range(max(first, 0), last + 1)]
        if powers and inside:  # the blocks across the join
            before, after = powers[-1], inside[0]
            powers += [
                ((per_block - k) * before + k * after) / per_block for k in range(1, per_block)
            ]
        powers += inside

    def level(values: list[float]) -> float:
        return 10 * math.log10(sum(values) / len(values))

    heard = [v for v in powers if v > 10 ** (-70.0 / 10)]
    if not heard:
        return guess
    threshold = level(heard) - 10.0
    gated = [v for v in heard if v > 10 ** (threshold / 10)]
    return replace(
        guess,
        integrated=round(level(gated), 2),
        threshold=round(threshold, 2),
        true_peak=min(guess.true_peak, defaults.PRE_LIMIT_DBFS),
    )


def preview_key(
    timeline: Timeline, recordings: dict[str, Recording], gains: dict[str, float]
) -> str:
    """The preview's cache key: the render's, the preview's own version and bitrate."""
    spec = [render_key(timeline, recordings, gains), PREVIEW_VERSION, defaults.PREVIEW_MP3_BITRATE]
    return "preview-" + hashlib.sha256(json.dumps(spec).encode()).hexdigest()


@dataclass(frozen=True)
class PreviewCommands:
    """How the preview is made: ``feed`` runs one after another, each the sound of
    ``AUDIO_CLIPS_PER_RUN`` parts as raw float samples on its standard output (as
    ``render_stems`` makes them); ``encode`` reads them all, joined, on its standard input
    and writes the MP3 on its standard output as it goes (``media.runner.stream``)."""

    feed: list[list[str]]
    encode: list[str]
    plan: GainPlan  # from ``blocks_mix``


# The parts' sound between the runs: what ``render_stems`` writes, without a container.
PCM = ["-c:a", "pcm_f32le", "-f", "f32le"]
PCM_IN = ["-f", "f32le", "-ar", str(defaults.WORK_SAMPLE_RATE), "-ac", "2"]


def preview_command(
    timeline: Timeline,
    recordings: dict[str, Recording],
    loudness: dict[str, Loudness],
    blocks: dict[str, list[float]] | None = None,
) -> PreviewCommands:
    """The ffmpeg runs that make the preview's MP3 as it goes. The parts are made a few per
    run, as the render makes them: one run over every part would open every part's file
    at once (each holds its file's whole index: 2.7 MB for 30 minutes of AAC, so 200 parts
    took 610 MB) and play nothing until all were opened (12 s for 200 parts). None of it
    is decoded here: the caller copies the encoded bytes as they come."""
    gains = {name: recording_gain(loudness[name]) for name in timeline.sources()}
    sounds = clip_sounds(timeline, recordings, gains)
    size = max(1, defaults.AUDIO_CLIPS_PER_RUN)
    quiet = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "error"]
    feed = []
    for k in range(0, len(sounds), size):
        inputs, graph = joined(sounds[k : k + size], "[out]")
        feed.append([*quiet, *inputs, "-filter_complex", graph, "-map", "[out]", *PCM, "pipe:1"])
    plan = plan_gain(blocks_mix(timeline, loudness, gains, blocks or {}))
    encode = [*quiet, *PCM_IN, "-i", "pipe:0", "-filter_complex", mixdown(MIX_GRAPH, plan),
              "-map", "[out]", *preview_encode_args(), "-flush_packets", "1", "pipe:1"]  # fmt: skip
    return PreviewCommands(feed, encode, plan)


def listen_command(
    timeline: Timeline, recording: Recording, start: float, seconds: float, gain_db: float
) -> list[str]:
    """One ffmpeg run that plays ``recording`` from ``start`` for ``seconds`` (to its end at
    most) as the episode would: the render's own sound chain for a clip of that range, so
    the episode's redactions in it are bleeped or silent exactly as published, then the mix
    limiter; a low-bitrate MP3 on standard output."""
    start = max(0.0, min(start, recording.duration))
    end = min(recording.duration, start + seconds)
    clip = Clip(recording.name, start, end, 0.0)
    chain = clip_chain(timeline, clip, gain_db, fill_gaps=False)
    return ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "error",
            "-ss", f"{start:.6f}", "-t", f"{clip.duration + 0.5:.6f}",
            *source_input(recording.path),
            "-filter_complex",
            f"[0:a:0]{','.join(chain)},{MIX_CHAIN},aresample={defaults.OUTPUT_SAMPLE_RATE}[out]",
            "-map", "[out]", *preview_encode_args(), "-flush_packets", "1",
            "pipe:1"]  # fmt: skip
