"""Making test media the way phones make it: espeak-ng speech, ffmpeg encodes.

Used by the tests (each makes its own media) and, run as a script, to rebuild
the example show's committed recordings:

    .venv/bin/python tests/mediakit.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from pipeline.publish import audit

ROOT = Path(__file__).resolve().parent.parent.parent

# What a phone writes into a recording besides the sound. None of it may survive publishing.
PHONE_TAGS = {
    "location": "+51.4545-002.5879/",
    "location-eng": "+51.4545-002.5879/",
    "creation_time": "2026-10-03T14:22:05Z",
    "make": "Apple",
    "model": "iPhone 13 mini",
    "encoder": "com.apple.VoiceMemos (iPhone Version 17.1)",
    "comment": "Recorded at Kingsdown youth hub",
}


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *[str(a) for a in args]],
        check=True,
    )


def speech(text: str, out: Path, voice: str = "en-gb", speed: int = 150, pitch: int = 50) -> Path:
    """espeak-ng speech as a WAV file."""
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), text],
        check=True,
    )
    return out


def join_with_gaps(parts: list[Path], out: Path, gap: float = 0.8) -> Path:
    """Concatenate WAVs with `gap` seconds of silence between them (mono 22.05 kHz)."""
    inputs: list[str | Path] = []
    chains: list[str] = []
    labels = ""
    for i, p in enumerate(parts):
        inputs += ["-i", p]
        chains.append(
            f"[{i}:a]aformat=sample_rates=22050:channel_layouts=mono,apad=pad_dur={gap}[p{i}]"
        )
        labels += f"[p{i}]"
    graph = ";".join(chains) + f";{labels}concat=n={len(parts)}:v=0:a=1[out]"
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[out]", out)
    return out


def say(lines: list[tuple[str, str]], out: Path, gap: float = 0.8) -> Path:
    """Several spoken lines (voice, text) with pauses between them, as one WAV."""
    with tempfile.TemporaryDirectory() as tmp:
        parts = [
            speech(text, Path(tmp) / f"{i}.wav", voice) for i, (voice, text) in enumerate(lines)
        ]
        return join_with_gaps(parts, out, gap)


def speech_with_clicks(wav: Path, out: Path, speech_db: float, every: float) -> Path:
    """``wav`` at ``speech_db`` with a loud click (1.5 ms of 3 kHz at -0.3 dBFS) every
    ``every`` seconds mixed in, as a phone AAC: highly dynamic speech whose true peak is
    set by the clicks, so one plain gain to -16 LUFS would lift them past -1 dBTP."""
    click = f"if(lt(mod(t\\,{every})\\,0.0015)\\,0.97*sin(2*PI*3000*t)\\,0)"
    ffmpeg(
        "-i", wav, "-f", "lavfi", "-i", f"aevalsrc=exprs='{click}':s=22050:d=600",
        "-filter_complex",
        f"[0:a]aformat=sample_rates=22050,volume={speech_db}dB[s];"
        "[s][1:a]amix=inputs=2:duration=first:normalize=0",
        "-ac", "1", "-c:a", "aac", "-b:a", "96k", out,
    )  # fmt: skip
    return out


def phone_m4a(
    wav: Path,
    out: Path,
    gain_db: float = -12.0,
    noise: float = 0.002,
    tags: dict[str, str] | None = None,
) -> Path:
    """An iPhone-style voice memo: AAC mono in .m4a, quiet, a little room noise, location tags."""
    meta: list[str] = []
    for k, v in (PHONE_TAGS if tags is None else tags).items():
        meta += ["-metadata", f"{k}={v}"]
    ffmpeg(
        "-i",
        wav,
        "-f",
        "lavfi",
        "-i",
        f"anoisesrc=color=pink:amplitude={noise}:seed=7",
        "-filter_complex",
        f"[0:a]aresample=44100,volume={gain_db}dB[v];[1:a]aresample=44100[n];"
        "[v][n]amix=inputs=2:duration=first:normalize=0[m]",
        "-map",
        "[m]",
        "-ac",
        "1",
        "-c:a",
        "aac",
        "-b:a",
        "48k",
        *meta,
        "-movflags",
        "+use_metadata_tags",
        out,
    )
    return out


def phone_opus(wav: Path, out: Path, gain_db: float = -4.0) -> Path:
    """An Android/WhatsApp-style Opus voice note at 48 kHz."""
    ffmpeg(
        "-i",
        wav,
        "-af",
        f"aresample=48000,volume={gain_db}dB",
        "-ac",
        "1",
        "-c:a",
        "libopus",
        "-b:a",
        "24k",
        "-metadata",
        "encoder=Recorder 2.1 (Pixel 7)",
        out,
    )
    return out


def phone_3gp(wav: Path, out: Path, gain_db: float = 16.0) -> Path:
    """A loud, narrow-band phone-call recording: 8 kHz AAC in .3gp, peaks near clipping."""
    ffmpeg(
        "-i",
        wav,
        "-af",
        f"highpass=f=300,lowpass=f=3400,volume={gain_db}dB,"
        "alimiter=limit=0.97:level=false,aresample=8000",
        "-ac",
        "1",
        "-c:a",
        "aac",
        "-b:a",
        "24k",
        "-metadata",
        "model=SM-A515F",
        out,
    )
    return out


def phone_mp4(wav: Path, out: Path, size: str = "640x360") -> Path:
    """A phone video clip: H.264 + AAC in .mov-style MP4 with location and device tags."""
    meta: list[str] = []
    for key, value in PHONE_TAGS.items():
        meta += ["-metadata", f"{key}={value}"]
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate=30",
        "-i",
        wav,
        "-shortest",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        *meta,
        # a camera app's time code: the time of day it was filmed, in a track of its own
        "-timecode",
        "14:22:05:00",
        "-write_tmcd",
        "1",
        "-movflags",
        "+use_metadata_tags",
        out,
    )
    return out


# The place, device and time as ExifTool writes them, in the boxes where phones put them
# and ffmpeg cannot write: Apple's ``Keys`` (the iPhone camera), QuickTime ``UserData``
# (Android), an XMP packet, and the movie, track and media header times.
EXIF_PHONE_TAGS = (
    "-Keys:GPSCoordinates=51.4545 N, 2.5879 W, 12 m",
    "-Keys:Make=Apple",
    "-Keys:Model=iPhone 15 Pro",
    "-Keys:Software=17.5.1",
    "-Keys:CreationDate=2026:10:03 14:22:05+01:00",
    "-UserData:GPSCoordinates=51.4545 N, 2.5879 W",
    "-UserData:Make=samsung",
    "-UserData:Model=SM-S918B",
    "-XMP:GPSLatitude=51.4545",
    "-XMP:GPSLongitude=-2.5879",
    "-XMP:Make=Apple",
    "-XMP:Model=iPhone 15 Pro",
    "-XMP:CreateDate=2026:10:03 14:22:05",
    "-QuickTime:CreateDate=2026:10:03 14:22:05",
    "-QuickTime:ModifyDate=2026:10:03 14:22:05",
    "-QuickTime:TrackCreateDate=2026:10:03 14:22:05",
    "-QuickTime:MediaCreateDate=2026:10:03 14:22:05",
)
# Values of the tags above as they could appear in any published byte.
EXIF_SECRETS = (b"51.4545", b"2.5879", b"SM-S918B", b"iPhone", b"samsung", b"2026:10:03")


def exif_phone_tags(path: Path) -> Path:
    """Write ``EXIF_PHONE_TAGS`` into an MP4 or MOV in place, with ExifTool."""
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", *EXIF_PHONE_TAGS, str(path)], check=True
    )
    return path


# ExifTool, the independent reader: the same check `storycast audit` runs on what is published.
exif_traces = audit.exif_traces


def babble(voices: list[Path], out: Path) -> Path:
    """A minute of these voices all at once, each started 0.7 s after the one before, over
    loud pink noise (a fixed seed, so the same input every time), at 16 kHz: what a speech
    model hears words in where none can be read."""
    inputs: list[str | Path] = []
    for voice in voices:
        inputs += ["-i", voice]
    n = len(voices)
    graph = "".join(f"[{i}:a]aresample=16000,adelay={i * 700},atrim=0:60[v{i}];" for i in range(n))
    graph += "anoisesrc=d=60:c=pink:a=0.25:r=16000:seed=1[nz];"
    graph += "".join(f"[v{i}]" for i in range(n))
    graph += f"[nz]amix=inputs={n + 1}:duration=longest:normalize=0,volume=1.5,"
    graph += "alimiter=limit=0.95,atrim=0:60"
    ffmpeg(*inputs, "-filter_complex", graph, out)
    return out


def tone(out: Path, seconds: float, freq: int = 440, rate: int = 44100) -> Path:
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={freq}:duration={seconds}:sample_rate={rate}",
        "-ac",
        "1",
        out,
    )
    return out


def artwork(out: Path, size: int = 1400, fmt: str = "JPEG") -> Path:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (size, size), (24, 70, 96))
    draw = ImageDraw.Draw(img)
    for i in range(0, size, size // 14):
        draw.ellipse(
            (size // 2 - i, size // 2 - i, size // 2 + i, size // 2 + i),
            outline=(240, 170, 60),
            width=6,
        )
    font = ImageFont.load_default(size=size // 9)
    draw.rectangle((0, size * 0.62, size, size * 0.86), fill=(24, 70, 96))
    draw.text(
        (size // 2, int(size * 0.74)),
        "Riverside Voices",
        fill=(255, 255, 255),
        font=font,
        anchor="mm",
    )
    img.save(out, fmt, quality=85)
    return out


def build_example_show() -> None:
    """The committed example show: two episodes from phone-like recordings."""
    feeds = ROOT / "feeds"
    feeds.mkdir(exist_ok=True)
    artwork(feeds / "riverside-voices.jpg")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ep1 = ROOT / "episodes" / "first-flat" / "recordings"
        ep1.mkdir(parents=True, exist_ok=True)
        phone_m4a(
            say(
                [
                    (
                        "en-gb",
                        "Welcome to Riverside Voices. Today we talk about getting your first flat.",
                    ),
                    ("en-us", "Um, sorry, can we start that again? My phone buzzed."),
                    ("en-gb", "What was the hardest part of moving into your own place?"),
                    (
                        "en-us",
                        "Honestly, the silence. After years in a busy house, the quiet felt huge.",
                    ),
                    ("en-us", "But I learned to cook, and now friends come round on Sundays."),
                ],
                tmp / "memo.wav",
            ),
            ep1 / "interview.m4a",
        )
        phone_opus(
            say(
                [
                    (
                        "en-gb-scotland",
                        "My advice is simple. Ask for help early, and keep every letter.",
                    ),
                    ("en-gb-scotland", "Oh, wait, is this thing still recording?"),
                    ("en-gb-scotland", "Your personal adviser is there for you, so use them."),
                ],
                tmp / "street.wav",
            ),
            ep1 / "advice.opus",
        )

        ep2 = ROOT / "episodes" / "open-mic" / "recordings"
        ep2.mkdir(parents=True, exist_ok=True)
        phone_3gp(
            say(
                [
                    (
                        "en-us",
                        "Hi, this is Sam calling in from the open mic night at the youth hub.",
                    ),
                    ("en-us", "The room is packed and the first poet is about to start."),
                    ("en-us", "Testing, testing, one two three."),
                    ("en-us", "Everyone here wrote something about home."),
                ],
                tmp / "call.wav",
            ),
            ep2 / "phone-call.3gp",
        )
        phone_m4a(
            say(
                [
                    (
                        "en-gb-x-rp",
                        "Home is not a building. Home is the people who remember your birthday.",
                    ),
                    ("en-gb-x-rp", "That was our last poem. Thank you all for listening."),
                ],
                tmp / "poem.wav",
            ),
            ep2 / "poem.m4a",
            gain_db=-8.0,
        )


if __name__ == "__main__":
    build_example_show()
