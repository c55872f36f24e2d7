"""Shared fixtures and paths."""

from pathlib import Path

import matplotlib
import yaml

matplotlib.use("Agg")  # plots run without a display

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p for p in (ROOT / "chapters").glob("*.ipynb"))
BUILD_HTML = ROOT / "_build" / "html"


def _toc_pages() -> list[str]:
    """The built pages of every document in _toc.yml, root first (e.g. 'chapters/01_self_attention.html')."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    return [f"{f}.html" for f in files]


BOOK_PAGES = _toc_pages()
