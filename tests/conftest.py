"""Shared fixtures and paths."""

import os
import re
from pathlib import Path

import matplotlib
import pytest
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
CHECKED_PAGES = [*BOOK_PAGES, "genindex.html", "search.html"]   # every page the browser tests open
NOT_PAGES = ("_static", "_sources", "_images")                 # folders of the build that hold no pages
_BROWSER_SKIPPED = pytest.StashKey[int]()                      # how many browser tests were set aside


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


@pytest.hookimpl(trylast=True)      # after -m and -k have chosen
def pytest_collection_modifyitems(config, items):
    """Without Chromium, set the browser tests aside and say so once, at the end (never a silent pass).
    Where browsers are required (CI sets ATTN_COURSE_REQUIRE_BROWSER) they stay, and fail."""
    from browser import chromium_path

    if chromium_path() is not None or os.environ.get("ATTN_COURSE_REQUIRE_BROWSER"):
        return
    browser = [item for item in items if item.get_closest_marker("browser")]
    if browser:
        items[:] = [item for item in items if not item.get_closest_marker("browser")]
        config.hook.pytest_deselected(items=browser)
        config.stash[_BROWSER_SKIPPED] = len(browser)


def pytest_terminal_summary(terminalreporter, config):
    from browser import HOW_TO_ENABLE

    skipped = config.stash.get(_BROWSER_SKIPPED, 0)
    if skipped:
        terminalreporter.write_line(f"SKIPPED {skipped} tests: {HOW_TO_ENABLE}", yellow=True, bold=True)


@pytest.fixture(scope="session")
def lab():
    """One JupyterLab server for the whole run (tests/lab.py), on a temporary copy of the chapters
    with the learner copies in its student/ folder; the source notebooks must come out byte-identical."""
    from browser import require_chromium
    from lab import Lab

    from attn_course.student import write_student_copies

    require_chromium()                      # skip (or fail in CI) before paying for a Lab server
    before = {p: p.read_bytes() for p in CHAPTERS}
    with Lab() as server:
        write_student_copies(ROOT / "chapters", server.root_dir / "student")
        yield server
    changed = [p.name for p, data in before.items() if p.read_bytes() != data]
    assert not changed, f"JupyterLab wrote into the source notebooks: {changed}"
