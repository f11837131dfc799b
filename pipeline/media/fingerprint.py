"""The sound of a recording, whatever its bytes: Chromaprint fingerprints (ffmpeg's
``chromaprint`` muxer) and whether two recordings are the same sound.

A recording taken down because someone withdrew is held back by its sha256; a copy of it
with other bytes (its tags changed, remuxed into another container, re-encoded) has
another sha256 but the same sound. Its fingerprint, one 32-bit number per 1/8 s or so,
differs from the original's in a few percent of its bits; two different recordings
differ in about 35 to 40 % (chance is 50 %).
"""

from __future__ import annotations

from pathlib import Path

from pipeline import defaults
from pipeline.cache import Cache
from pipeline.media.runner import run, source_input

SCHEMA = "storycast.Fingerprint.1"


def fingerprint(path: Path) -> tuple[int, ...]:
    """The Chromaprint fingerprint of ``path``'s first sound stream (raw, 32-bit words)."""
    out = run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            *source_input(path),
            "-map",
            "0:a:0",
            "-f",
            "chromaprint",
            "-fp_format",
            "raw",
            "-",
        ],
        what="fingerprinting the sound",
        path=path,
        text=False,
    ).stdout
    assert isinstance(out, bytes)
    return tuple(int.from_bytes(out[i : i + 4], "little") for i in range(0, len(out) - 3, 4))


def of_recording(path: Path, sha256: str, cache: Cache | None) -> tuple[int, ...]:
    """``fingerprint(path)``, kept in the cache by the recording's sha256 (named in the
    entry, so a takedown purges it with the recording's other entries): once a withdrawn
    recording's sound is known, every recording is compared with it on every publish."""
    if cache is not None:
        cached = cache.get_json("fingerprints", sha256)
        if cached is not None and cached.get("schema") == SCHEMA:
            return from_hex(str(cached["fingerprint"]))
    sound = fingerprint(path)
    if cache is not None:
        entry = {"schema": SCHEMA, "recording_sha256": sha256, "fingerprint": to_hex(sound)}
        cache.put_json("fingerprints", sha256, entry)
    return sound


def to_hex(fp: tuple[int, ...]) -> str:
    return "".join(f"{v:08x}" for v in fp)


def from_hex(text: str) -> tuple[int, ...]:
    return tuple(int(text[i : i + 8], 16) for i in range(0, len(text) - 7, 8))


def difference(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """The least share of bits that differ between ``a`` and ``b``, over the shifts of one
    against the other of up to ``FINGERPRINT_MAX_SHIFT`` words where they overlap by at
    least half the shorter (1.0 when they cannot be compared)."""
    shortest = min(len(a), len(b))
    if shortest < defaults.FINGERPRINT_MIN_WORDS or max(len(a), len(b)) > 2 * shortest:
        return 1.0
    best = 1.0
    for shift in range(-defaults.FINGERPRINT_MAX_SHIFT, defaults.FINGERPRINT_MAX_SHIFT + 1):
        x, y = a[max(0, shift) :], b[max(0, -shift) :]
        n = min(len(x), len(y))
        if n * 2 < shortest or n < defaults.FINGERPRINT_MIN_WORDS:
            continue
        bits = sum((p ^ q).bit_count() for p, q in zip(x[:n], y[:n], strict=False))
        best = min(best, bits / (32 * n))
    return best


def same_sound(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return difference(a, b) <= defaults.FINGERPRINT_SAME_SOUND
