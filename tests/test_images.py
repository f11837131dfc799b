"""Published pictures: drawn afresh from their pixels, with nothing a phone or an editor
put around them, upright, the same to the eye, and the same bytes every time."""

from __future__ import annotations

import json
import math
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mutagen.id3 import ID3
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageOps, ImageStat, PngImagePlugin

from pipeline.errors import MediaError
from pipeline.media.images import clean_image
from pipeline.media.scrub import assert_clean, find_traces

from conftest import Run, copy_with_caches, storycast
from kit.media import exif_traces

# What the dirty pictures below carry, as it could appear in any byte of a file.
SECRETS = (
    b"Apple", b"iPhone 13 mini", b"2026:10:03", b"Kingsdown", b"Jordan", b"Bristol",
    b"Snapseed", b"http://ns.adobe.com", b"Exif\x00", b"ICC_PROFILE", b"Photoshop",
    b"iCCP", b"tEXt", b"iTXt", b"eXIf", b"tIME",
)  # fmt: skip
# ExifTool's description of a clean picture: the file itself, JFIF's pixel density and the
# PNG header. Anything else it finds (EXIF, GPS, XMP, IPTC, ICC, comments, text) fails.
CLEAN_TAGS = {
    "File": {
        "FileType", "FileTypeExtension", "MIMEType", "ImageWidth", "ImageHeight",
        "EncodingProcess", "BitsPerSample", "ColorComponents", "YCbCrSubSampling",
    },
    "JFIF": {"JFIFVersion", "ResolutionUnit", "XResolution", "YResolution"},
    "PNG": {"ImageWidth", "ImageHeight", "BitDepth", "ColorType", "Compression", "Filter",
            "Interlace"},
    "Composite": {"ImageSize", "Megapixels"},
}  # fmt: skip


def exiftool(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["exiftool", "-j", "-a", "-G1", "-b", str(path)], capture_output=True, text=True, check=True
    ).stdout
    (tags,) = json.loads(out)
    return {k: v for k, v in tags.items() if k != "SourceFile"}


def exif_leftovers(path: Path) -> dict[str, Any]:
    """What ExifTool reads in ``path`` beyond the description of a clean picture."""
    left = {}
    for key, value in exiftool(path).items():
        group, _, name = key.partition(":")
        if group in ("ExifTool", "System") or name in CLEAN_TAGS.get(group, set()):
            continue
        left[key] = value
    return left


def psnr(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size and a.mode == b.mode
    rms = ImageStat.Stat(ImageChops.difference(a, b)).rms
    mse = sum(r * r for r in rms) / len(rms)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A picture with edges, gradients and text-like detail, so a bad encode shows."""
    img = Image.new(mode, size, (24, 70, 96, 255)[: len(mode)])
    draw = ImageDraw.Draw(img)
    w, h = size
    for x in range(0, w, 4):
        draw.line((x, 0, x, h // 2), fill=(x * 255 // w, 120, 255 - x * 255 // w, 200)[: len(mode)])
    draw.ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), outline=(240, 170, 60, 255)[: len(mode)])
    draw.text((4, h - 14), "Riverside", fill=(255, 255, 255, 255)[: len(mode)])
    return img


def phone_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 13 mini"  # Model
    exif[0x0131] = "Snapseed 2.21"  # Software
    exif[0x0132] = "2026:10:03 14:22:05"  # DateTime
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = "2026:10:03 14:22:05"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 27.0, 16.2)
    gps[3], gps[4] = "W", (2.0, 35.0, 16.44)
    return exif


SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def tag_with_exiftool(path: Path, *args: str) -> None:
    subprocess.run(["exiftool", "-q", "-overwrite_original", *args, str(path)], check=True)


@pytest.fixture(scope="module")
def dirty_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A phone photo: EXIF (GPS, make, model, software, dates, orientation, a thumbnail),
    XMP, IPTC, an ICC profile and a comment."""
    d = tmp_path_factory.mktemp("images")
    thumb = d / "thumb.jpg"
    picture((32, 24)).save(thumb, "JPEG")
    path = d / "artwork.jpg"
    picture((120, 80)).save(
        path,
        "JPEG",
        quality=90,
        exif=phone_exif(orientation=6),
        icc_profile=SRGB_ICC,
        comment=b"Taken at Kingsdown youth hub",
    )
    tag_with_exiftool(
        path,
        "-XMP:Creator=Jordan", "-XMP:GPSLatitude=51.4545", "-XMP:GPSLongitude=-2.5879",
        "-IPTC:City=Bristol", "-IPTC:By-line=Jordan", f"-ThumbnailImage<={thumb}",
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def dirty_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A designer's export: tEXt, eXIf, iCCP, tIME and an XMP iTXt chunk, with transparency."""
    path = tmp_path_factory.mktemp("images") / "artwork.png"
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "Kingsdown youth hub")
    text.add_text("Author", "Jordan")
    picture((96, 96), "RGBA").save(
        path, "PNG", pnginfo=text, exif=phone_exif(), icc_profile=SRGB_ICC
    )
    tag_with_exiftool(path, "-XMP:CreatorTool=Snapseed", "-PNG:ModifyDate=2026:10:03 14:22:05")
    return path


@pytest.mark.parametrize("name", ["dirty_jpeg", "dirty_png"])
def test_a_clean_copy_carries_nothing_but_pixels(
    request: pytest.FixtureRequest, tmp_path: Path, name: str
) -> None:
    src: Path = request.getfixturevalue(name)
    before = exif_leftovers(src)
    # the test pictures really carry what phones and editors write
    assert any(k.startswith("GPS:") for k in before) and "IFD0:Model" in before
    assert any(k.startswith("XMP") for k in before) and "ICC_Profile:ProfileDescription" in before
    assert exif_traces(src)

    clean = clean_image(src, tmp_path / f"clean{src.suffix}")
    assert exif_leftovers(clean) == {}
    assert exif_traces(clean) == []
    data = clean.read_bytes()
    for secret in SECRETS:
        assert secret not in data, secret
    assert find_traces(clean, ["Kingsdown youth hub", "Jordan"]) == []
    assert_clean(clean)
    with Image.open(clean) as img:
        assert img.format == ("JPEG" if src.suffix == ".jpg" else "PNG")


def test_jpeg_pixels_are_upright_and_near_the_original(dirty_jpeg: Path, tmp_path: Path) -> None:
    clean = clean_image(dirty_jpeg, tmp_path / "clean.jpg")
    with Image.open(dirty_jpeg) as src, Image.open(clean) as out:
        assert src.size == (120, 80) and out.size == (80, 120)  # orientation 6: turned
        upright = src.transpose(Image.Transpose.ROTATE_270)  # 90 degrees clockwise
        assert out.mode == "RGB"
        assert psnr(upright.convert("RGB"), out) > 38
        # the same pixels stored sideways would be far off
        sideways = src.resize((80, 120))
        assert psnr(sideways.convert("RGB"), out) < 25


def test_png_pixels_are_kept_exactly_with_their_transparency(
    dirty_png: Path, tmp_path: Path
) -> None:
    clean = clean_image(dirty_png, tmp_path / "clean.png")
    with Image.open(dirty_png) as src, Image.open(clean) as out:
        assert out.mode == "RGBA"
        assert ImageChops.difference(src, out).getbbox() is None  # lossless, alpha too


def test_orientation_turns_the_pixels_the_way_the_phone_meant(tmp_path: Path) -> None:
    """Stored top red, bottom blue; orientation 6 (turn 90 degrees clockwise to view)
    puts the red on the right and the blue on the left."""
    stored = Image.new("RGB", (64, 32), (220, 20, 20))
    stored.paste((20, 20, 220), (0, 16, 64, 32))
    src = tmp_path / "sideways.png"
    stored.save(src, exif=phone_exif(orientation=6))
    with Image.open(clean_image(src, tmp_path / "upright.png")) as out:
        assert out.size == (32, 64)
        assert out.getpixel((28, 32)) == (220, 20, 20)
        assert out.getpixel((3, 32)) == (20, 20, 220)
        assert "exif" not in out.info


@pytest.mark.parametrize("name", ["dirty_jpeg", "dirty_png"])
def test_the_same_input_gives_the_same_bytes(
    request: pytest.FixtureRequest, tmp_path: Path, name: str
) -> None:
    src: Path = request.getfixturevalue(name)
    first = clean_image(src, tmp_path / f"a{src.suffix}").read_bytes()
    second = clean_image(src, tmp_path / f"b{src.suffix}").read_bytes()
    assert first == second
    # and the clean picture is a fixed point: cleaning it again changes nothing visible
    third = clean_image(tmp_path / f"a{src.suffix}", tmp_path / f"c{src.suffix}")
    with Image.open(tmp_path / f"a{src.suffix}") as a, Image.open(third) as c:
        assert psnr(a, c) > 40


def test_traces_in_pictures_are_named(dirty_jpeg: Path, dirty_png: Path) -> None:
    jpeg = "\n".join(find_traces(dirty_jpeg, ["Taken at Kingsdown youth hub"]))
    for what in ("EXIF", "XMP", "IPTC", "ICC profile", "comment", "GPSLatitude", "iPhone"):
        assert what in jpeg, what
    assert "the source's value 'Taken at Kingsdown youth hub'" in jpeg
    png = "\n".join(find_traces(dirty_png))
    for what in ("'tEXt' chunk", "'eXIf' chunk", "'iCCP' chunk", "'tIME' chunk", "'iTXt' chunk"):
        assert what in png, what


def test_anything_after_the_picture_is_a_trace(tmp_path: Path) -> None:
    """Phones append their own data after a JPEG's end (a Samsung trailer, a motion
    photo's video); nothing may follow the picture."""
    clean = clean_image(_saved(picture((40, 40)), tmp_path / "a.jpg"), tmp_path / "clean.jpg")
    assert find_traces(clean) == []
    trailer = tmp_path / "trailer.jpg"
    trailer.write_bytes(clean.read_bytes() + b"SEFHSamsung Motion Photo")
    assert any("after the end of the JPEG picture" in t for t in find_traces(trailer))
    png = clean_image(_saved(picture((40, 40)), tmp_path / "a.png"), tmp_path / "clean.png")
    assert find_traces(png) == []
    tail = tmp_path / "tail.png"
    tail.write_bytes(png.read_bytes() + b"Kingsdown")
    traces = find_traces(tail, ["Kingsdown"])
    assert any("after the end of the PNG picture" in t for t in traces)
    assert any("'Kingsdown'" in t for t in traces)


def test_the_coded_picture_is_not_searched(tmp_path: Path) -> None:
    """Like an MP3's frames, a JPEG's scan data is near random: a chance match there
    must not stop a show being published. The blocks around it are searched."""
    clean = clean_image(_saved(picture((64, 64)), tmp_path / "a.jpg"), tmp_path / "clean.jpg")
    data = bytearray(clean.read_bytes())
    sos = data.index(b"\xff\xda")
    at = (sos + len(data)) // 2
    data[at : at + 4] = b"\xa9xyz"  # no 0xFF: still valid scan data
    chance = tmp_path / "chance.jpg"
    chance.write_bytes(bytes(data))
    assert find_traces(chance) == []


def test_something_that_is_not_a_picture_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "artwork.jpg"
    fake.write_bytes(b"GIF89a not a picture we publish")
    with pytest.raises(MediaError, match="neither a JPEG nor a PNG"):
        clean_image(fake, tmp_path / "out.jpg")
    assert not (tmp_path / "out.jpg").exists()


def _saved(img: Image.Image, path: Path) -> Path:
    img.save(path)
    return path


def test_exif_transpose_agrees(dirty_jpeg: Path, tmp_path: Path) -> None:
    """Pillow's own reading of the orientation gives the picture storycast publishes."""
    clean = clean_image(dirty_jpeg, tmp_path / "clean.jpg")
    with Image.open(dirty_jpeg) as src, Image.open(clean) as out:
        assert psnr(ImageOps.exif_transpose(src).convert("RGB"), out) > 38


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)


def matrix_profile(red: tuple[float, float, float], blue: tuple[float, float, float]) -> bytes:
    """A minimal ICC v2 RGB display profile (gamma 2.2) with sRGB's green and the given
    red and blue primaries (D50 XYZ): a device whose colours are not sRGB's."""
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0233) + bytes(2)
    d50 = (0.9642, 1.0, 0.8249)
    tags = [
        (b"wtpt", _xyz(*d50)), (b"rXYZ", _xyz(*red)), (b"gXYZ", _xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", _xyz(*blue)), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
    ]  # fmt: skip
    start = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        table += sig + struct.pack(">II", start + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    header = (
        struct.pack(">I4sI", start + len(body), bytes(4), 0x02100000) + b"mntrRGB XYZ "
        + bytes(12) + b"acsp" + bytes(28) + _s15(d50[0]) + _s15(d50[1]) + _s15(d50[2])
        + bytes(48)
    )  # fmt: skip
    return header + table + body


SRGB_RED, SRGB_BLUE = (0.4361, 0.2225, 0.0139), (0.1431, 0.0606, 0.7141)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_colours_described_by_a_profile_are_converted_to_srgb(tmp_path: Path, fmt: str) -> None:
    """Dropping a profile must not change the colours: a device whose red and blue are
    swapped stores sRGB blue as (255, 0, 0); published, it is blue."""
    swapped = matrix_profile(red=SRGB_BLUE, blue=SRGB_RED)
    src = tmp_path / f"swapped.{fmt.lower()}"
    Image.new("RGB", (16, 16), (255, 0, 0)).save(src, fmt, icc_profile=swapped)
    with Image.open(clean_image(src, tmp_path / f"clean.{fmt.lower()}")) as out:
        assert "icc_profile" not in out.info
        r, g, b = out.getpixel((8, 8))  # type: ignore[misc]
        assert r < 8 and g < 8 and b > 247, (r, g, b)


def test_publishing_cleans_the_artwork_everywhere(example_run: Run, tmp_path: Path) -> None:
    """The example show with its artwork as a phone would leave it: the same coded
    picture (ExifTool does not re-encode it) wrapped in EXIF, XMP, IPTC and a comment.
    Every episode is published, and the artwork as published and as embedded in each
    MP3 is the very file the example run published from the untouched artwork."""
    assert example_run.returncode == 0, example_run.stdout + example_run.stderr
    root = copy_with_caches(example_run, tmp_path / "show")
    art = root / "feeds" / "riverside-voices.jpg"
    tag_with_exiftool(
        art,
        "-EXIF:Make=Apple", "-EXIF:Model=iPhone 13 mini", "-EXIF:Software=Snapseed",
        "-EXIF:GPSLatitude=51.4545", "-EXIF:GPSLatitudeRef=N",
        "-EXIF:GPSLongitude=2.5879", "-EXIF:GPSLongitudeRef=W",
        "-EXIF:DateTimeOriginal=2026:10:03 14:22:05", "-XMP:Creator=Jordan",
        "-IPTC:City=Bristol", "-Comment=Taken at Kingsdown youth hub",
    )  # fmt: skip
    dirty = art.read_bytes()
    assert "GPS:GPSLatitude" in exif_leftovers(art) and "File:Comment" in exif_leftovers(art)

    run = storycast(root, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "All 2 episodes published." in run.stdout
    assert art.read_bytes() == dirty  # the producer's own file is left alone

    def artwork_key(project: Run) -> str:
        manifest = project.public / "manifests" / "riverside-voices.json"
        key: str = json.loads(manifest.read_text())["artwork"]["key"]
        return key

    key = artwork_key(run)
    published = run.public / key
    assert exif_leftovers(published) == {}
    clean = published.read_bytes()
    for secret in SECRETS:
        assert secret not in clean, secret
    # deterministic, and the metadata made no difference to what is published
    assert key == artwork_key(example_run)
    assert clean == (example_run.public / key).read_bytes()
    feed = (run.public / "feeds" / "riverside-voices.xml").read_text()
    assert key in feed
    mp3s = sorted((run.public / "media").rglob("*.mp3"))
    assert len(mp3s) == 2
    for mp3 in mp3s:
        assert [apic.data for apic in ID3(mp3).getall("APIC")] == [clean], mp3.name
