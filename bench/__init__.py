"""Benchmarks: `make bench` runs each, prints its figures and writes them, with the machine
described, to bench-results/*.json. Outside the installed package; they share the test
kit's media makers and S3 server (tests/kit)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
