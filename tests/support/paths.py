"""Paths and page lists shared by the suites: the project root, the chapters, the built book."""

import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(p for p in (ROOT / "chapters").glob("*.ipynb"))
# The built book; ATTN_COURSE_BUILD_HTML points the book and browser tests at another build.
BUILD_HTML = Path(os.environ.get("ATTN_COURSE_BUILD_HTML") or ROOT / "_build" / "html").resolve()


def _toc_pages() -> list[str]:
    """The built pages of every document in _toc.yml, root first (e.g. 'chapters/01_self_attention.html')."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    return [f"{f}.html" for f in files]


BOOK_PAGES = _toc_pages()
CHECKED_PAGES = [*BOOK_PAGES, "genindex.html", "search.html"]   # every page the browser tests open
NOT_PAGES = ("_static", "_sources", "_images")                 # folders of the build that hold no pages


def built_pages(build: Path) -> list[str]:
    """Every page of a built book, relative to it; not index.html, a redirect to the root page."""
    pages = []
    for p in build.rglob("*.html"):
        rel = p.relative_to(build)
        if rel.parts[0] in NOT_PAGES:
            continue
        if re.search(r'<meta http-equiv="Refresh"', p.read_text(encoding="utf-8")[:2000], re.I):
            continue
        pages.append(rel.as_posix())
    return sorted(pages)
