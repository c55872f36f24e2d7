"""Every page of the built book in a real browser, over http://127.0.0.1 and as file://.

Zero failed requests, zero requests leaving the machine, zero console and page
errors; math typeset where the page has math. Screenshots go to test-artifacts/.
"""

import pytest

from support.browser import PageLog, wait_for_math
from support.paths import BOOK_PAGES, BUILD_HTML, ROOT

pytestmark = [pytest.mark.book, pytest.mark.browser]

ARTIFACTS = ROOT / "test-artifacts"
PAGES = BOOK_PAGES


@pytest.fixture(params=["http", "file"])
def base_url(request, server):
    return request.param, (server.url if request.param == "http" else BUILD_HTML.as_uri())


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_cleanly_offline(browser, base_url, path):
    mode, base = base_url
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = PageLog(mode)
    log.attach(page)
    page.goto(f"{base}/{path}", wait_until="load")
    typeset = wait_for_math(page)
    page.wait_for_timeout(300)                     # late widget and font requests
    has_math = page.evaluate("document.querySelectorAll('.math').length")
    raw_tex = page.evaluate(r"document.querySelector('main').innerText.match(/\\\(|\\\[|\\frac|\\sqrt/g)")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{path.replace('/', '_')}.{mode}.png"), full_page=True)
    page.close()
    assert log.requests > 0
    assert not log.problems(), "\n".join(log.problems())
    if has_math:
        assert typeset >= has_math, f"{path}: {has_math} formulas, {typeset} typeset by MathJax"
    assert not raw_tex, f"{path}: raw TeX left on the page: {raw_tex[:5]}"
