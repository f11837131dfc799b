"""images: every published picture is drawn afresh from its pixels, carrying nothing else.

A phone photo or a designer's export carries far more than its pixels: EXIF (GPS
position, camera make and model, the time it was taken, a thumbnail of the
original picture), XMP and IPTC packets, ICC profiles naming the device, comments,
and in PNG files text, time and ``eXIf`` chunks. Removing known blocks one by one
misses the ones nobody listed, so ``clean_image`` does not copy anything: it
decodes the pixels with Pillow and encodes a new file from them alone.

- Same format as the source: a JPEG stays a JPEG, a PNG a PNG (the show file
  names the artwork by its suffix, and ``showfile.artwork_problems`` checks it).
- Upright: the EXIF orientation is applied to the pixels before the tag goes, so
  a phone photo taken sideways is not published sideways.
- Same colours: pixels described by an ICC profile (a phone's Display P3, say)
  are converted to sRGB, which is what an untagged picture is taken to be.
- Visually the same: JPEG at quality 95 without chroma subsampling; PNG lossless.
  RGB stays RGB; a PNG with transparency stays RGBA (what podcast apps accept).
- Deterministic: the same input bytes always give the same output bytes (no
  time, no random seed; libjpeg and zlib are deterministic), so re-publishing an
  unchanged show uploads nothing.

The result is checked by ``scrub.find_traces``, which allows in a JPEG only the
JFIF header and the picture's own tables and data, and in a PNG only the chunks
that make the picture.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline.errors import MediaError, Problem

VERSION = 1  # part of the cache key of a cleaned picture: bump when the encoding changes
JPEG_QUALITY = 95
JPEG_SUBSAMPLING = 0  # 4:4:4: text and thin lines in artwork keep their colour edges
PNG_COMPRESS_LEVEL = 6  # zlib's default: lossless at any level

_FORMATS = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}


def image_format(data: bytes) -> str | None:
    """ "JPEG" or "PNG" judged by the first bytes, or None."""
    for magic, fmt in _FORMATS.items():
        if data.startswith(magic):
            return fmt
    return None


def clean_image(src: Path, dst: Path) -> Path:
    """Write to ``dst`` a new JPEG or PNG (the format of ``src``) holding only its pixels.

    Raises MediaError when ``src`` is not a JPEG or PNG that Pillow can decode.
    """
    data = src.read_bytes()
    out = clean_image_bytes(data, src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(out)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def clean_image_bytes(data: bytes, where: Path | None = None) -> bytes:
    """The bytes of the clean picture (see ``clean_image``)."""
    fmt = image_format(data)
    if fmt is None:
        raise MediaError(
            Problem(where, "this is neither a JPEG nor a PNG picture.", "Use a .jpg or .png file.")
        )
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as opened:
            opened.load()
            pixels = _pixels(opened, fmt)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaError(
            Problem(where, f"the picture cannot be decoded ({exc}).", "Export it again.")
        ) from exc
    # A fresh image: no ``info`` (comments, ICC, EXIF, text, dpi) to carry over into the file.
    fresh = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    buf = io.BytesIO()
    if fmt == "JPEG":
        fresh.save(
            buf,
            "JPEG",
            quality=JPEG_QUALITY,
            subsampling=JPEG_SUBSAMPLING,
            optimize=True,
            progressive=False,
        )
    else:
        fresh.save(buf, "PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)
    return buf.getvalue()


def _pixels(img: Image.Image, fmt: str) -> Image.Image:
    """The picture upright, in sRGB, as RGB (or RGBA for a PNG with transparency)."""
    icc = img.info.get("icc_profile")
    alpha = fmt == "PNG" and (
        "A" in img.getbands() or "transparency" in img.info or img.mode == "PA"
    )
    mode = "RGBA" if alpha else "RGB"
    upright = ImageOps.exif_transpose(img)  # a copy, turned as the orientation tag says
    if upright.mode != mode:
        upright = upright.convert(mode)
    if icc:
        upright = _to_srgb(upright, icc)
    return upright


def _to_srgb(img: Image.Image, icc: bytes) -> Image.Image:
    """The pixels converted from the embedded ICC profile to sRGB; unchanged if the
    profile cannot be used (then they are taken to be sRGB already, as most are)."""
    try:
        from PIL import ImageCms  # littlecms: in every Pillow wheel, not in every build
    except ImportError:
        return img
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if profile.profile.xcolor_space.strip() != "RGB":
            return img
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        converted = ImageCms.profileToProfile(img, profile, srgb, outputMode=img.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img
    return converted if converted is not None else img
