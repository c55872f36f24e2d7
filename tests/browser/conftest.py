"""Fixtures of the browser suite: one Chromium and one static server of the built book per module."""

import pytest

from support.browser import chromium, require_chromium, serving
from support.paths import BUILD_HTML


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    if not (BUILD_HTML / "intro.html").exists():
        pytest.skip(f"no built book in {BUILD_HTML}: run `make book` first (make test builds it), "
                    "or point ATTN_COURSE_BUILD_HTML at a build")
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def server():
    with serving(BUILD_HTML) as s:
        yield s
