"""Shared fixtures and paths."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # plots run without a display

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p for p in (ROOT / "chapters").glob("*.ipynb"))
BUILD_HTML = ROOT / "_build" / "html"
