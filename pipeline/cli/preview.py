"""`storycast preview`: the published folder served on 127.0.0.1, as apps would fetch it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def cmd(args: argparse.Namespace) -> int:
    from pipeline.store.preview import serve

    serve(Path(args.root).resolve() / "public", port=args.port)
    return 0


def add_parser(subparsers: Any) -> None:
    v: argparse.ArgumentParser = subparsers.add_parser(
        "preview", help="serve public/ on 127.0.0.1 with Range support"
    )
    v.add_argument("--port", type=int, default=8000)
    v.set_defaults(func=cmd)
