"""Object storage behind one contract, chosen by the show's ``storage`` target.

``local:PATH`` (the embedded default) is a folder; ``s3://bucket/prefix`` goes
through boto3 to AWS S3 or any S3-compatible service. Keys are '/'-separated
and never escape the root. The contract both keep is in ``contract``; here is how a
show's ``storage:`` picks one, and the check that its private and public targets never
overlap.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.errors import InputError, Problem, StoreError
from pipeline.records import StorageTarget
from pipeline.store.contract import ObjectInfo, ObjectStore, check_key, normal_prefix


def open_store(
    storage: StorageTarget, project_root: Path, show_file: Path | None = None
) -> ObjectStore:
    """The show's public store."""
    return _open(storage.target, storage, project_root, show_file, "storage")


def open_private_store(
    storage: StorageTarget, project_root: Path, show_file: Path | None = None
) -> ObjectStore | None:
    """Where raw recordings may be kept remotely (``storage: private:``), or None.

    Never the public target, nor inside it or around it: raw recordings must
    not become reachable through the public base URL.
    """
    if not storage.private:
        return None
    problems = storage_problems(storage, project_root, show_file)
    if problems:
        raise InputError(problems)
    return _open(storage.private, storage, project_root, show_file, "storage: private")


def _place(target: str, project_root: Path) -> tuple[str, str] | None:
    """Where a target really is: ("file", real path) or ("s3:BUCKET", prefix), compared
    case-blind (some services and disks ignore case). None for an unknown scheme."""
    if target.startswith("local:"):
        folder = Path(target[len("local:") :])
        folder = folder if folder.is_absolute() else project_root / folder
        return "file", str(folder.resolve()).lower()
    if target.startswith("s3://"):
        bucket, _, prefix = target[len("s3://") :].partition("/")
        return f"s3:{bucket.lower()}", normal_prefix(prefix).lower()
    return None


def _within(a: str, b: str, sep: str) -> bool:
    """Whether a is b, or inside it."""
    return a == b or not b or a.startswith(b.rstrip(sep) + sep)


def overlap(a: str, b: str, project_root: Path) -> bool:
    """Whether two storage targets share any place: one is the other, or inside it."""
    pa, pb = _place(a, project_root), _place(b, project_root)
    if pa is None or pb is None or pa[0] != pb[0]:
        return False
    sep = "/" if pa[0] != "file" else os.sep
    return _within(pa[1], pb[1], sep) or _within(pb[1], pa[1], sep)


def storage_problems(
    storage: StorageTarget,
    project_root: Path,
    show_file: Path | None = None,
    episodes_dir: Path | None = None,
    cache: str | None = None,
) -> list[Problem]:
    """What would make raw recordings public: the private target or the shared cache
    (``compute: cache:``) inside or around the public one (after canonicalising both), or
    a public folder holding the episodes."""
    problems: list[Problem] = []
    if cache and overlap(cache, storage.target, project_root):
        problems.append(
            Problem(
                show_file,
                f"the cache `{cache}` is the public target `{storage.target}`, or inside it, "
                "or contains it (once `//`, `.`, `..` and links are resolved).",
                "The cache holds raw recordings, which must never be public: give it a "
                "bucket of its own (best) or a prefix outside the public one.",
                field="compute.cache",
            )
        )
    if storage.private and overlap(storage.private, storage.target, project_root):
        problems.append(
            Problem(
                show_file,
                f"`{storage.private}` is the public target `{storage.target}`, or inside it, "
                "or contains it (once `//`, `.`, `..` and links are resolved).",
                "Raw recordings must never be public: give a separate bucket "
                "(best) or a prefix outside the public one.",
                field="storage.private",
            )
        )
    if episodes_dir is not None and storage.target.startswith("local:"):
        if overlap(storage.target, f"local:{episodes_dir}", project_root):
            problems.append(
                Problem(
                    show_file,
                    f"the public folder `{storage.target}` holds (or is inside) the episodes "
                    f"folder {episodes_dir}, where the raw recordings are.",
                    "Publish into a folder of its own, such as `local:public`.",
                    field="storage",
                )
            )
    return problems


def _open(
    target: str,
    storage: StorageTarget,
    project_root: Path,
    show_file: Path | None,
    field: str,
) -> ObjectStore:
    if target.startswith("local:"):
        from pipeline.store.local import LocalStore

        folder = Path(target[len("local:") :])
        if not folder.is_absolute():
            folder = project_root / folder
        return LocalStore(folder)
    if target.startswith("s3://"):
        bucket, _, prefix = target[len("s3://") :].partition("/")
        if not bucket:
            raise InputError(
                Problem(
                    show_file,
                    f"`{target}` names no bucket.",
                    "Write s3://bucket/prefix.",
                    field=field,
                )
            )
        from pipeline.store.s3 import S3Store

        return S3Store(
            bucket,
            prefix,
            endpoint_url=storage.endpoint_url,
            region=storage.region,
            path_style=storage.path_style,
        )
    raise InputError(
        Problem(
            show_file,
            f"storage target `{target}` is not supported.",
            "Use `local:public` (a folder) or `s3://bucket/prefix`.",
            field=field,
        )
    )


__all__ = [
    "ObjectInfo",
    "ObjectStore",
    "StoreError",
    "check_key",
    "open_private_store",
    "open_store",
]
