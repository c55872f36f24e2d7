"""Shared fixtures and paths."""

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
