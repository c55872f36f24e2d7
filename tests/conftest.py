"""Fixtures and hooks shared by every suite; shared helpers live in the support package."""

import os

import matplotlib
import pytest

from support.paths import CHAPTERS, ROOT

matplotlib.use("Agg")  # plots run without a display

_BROWSER_SKIPPED = pytest.StashKey[int]()                      # how many browser tests were set aside


@pytest.hookimpl(trylast=True)      # after -m and -k have chosen
def pytest_collection_modifyitems(config, items):
    """Without Chromium, set the browser tests aside and say so once, at the end (never a silent pass).
    Where browsers are required (CI sets ATTN_COURSE_REQUIRE_BROWSER) they stay, and fail."""
    from support.browser import chromium_path

    if chromium_path() is not None or os.environ.get("ATTN_COURSE_REQUIRE_BROWSER"):
        return
    browser = [item for item in items if item.get_closest_marker("browser")]
    if browser:
        items[:] = [item for item in items if not item.get_closest_marker("browser")]
        config.hook.pytest_deselected(items=browser)
        config.stash[_BROWSER_SKIPPED] = len(browser)


def pytest_terminal_summary(terminalreporter, config):
    from support.browser import HOW_TO_ENABLE

    skipped = config.stash.get(_BROWSER_SKIPPED, 0)
    if skipped:
        terminalreporter.write_line(f"SKIPPED {skipped} tests: {HOW_TO_ENABLE}", yellow=True, bold=True)


@pytest.fixture(scope="session")
def lab():
    """One JupyterLab server for the whole run (tests/lab.py), on a temporary copy of the chapters
    with the learner copies in its student/ folder; the source notebooks must come out byte-identical."""
    from support.browser import require_chromium
    from support.lab import Lab

    from attn_course.student import write_student_copies

    require_chromium()                      # skip (or fail in CI) before paying for a Lab server
    before = {p: p.read_bytes() for p in CHAPTERS}
    with Lab() as server:
        write_student_copies(ROOT / "chapters", server.root_dir / "student")
        yield server
    changed = [p.name for p, data in before.items() if p.read_bytes() != data]
    assert not changed, f"JupyterLab wrote into the source notebooks: {changed}"
