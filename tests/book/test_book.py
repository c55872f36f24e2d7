"""The built book (after `jupyter-book build`): every chapter page, its numbers and its figures.

Run by `make test` after the clean strict build; they skip with one line if no build exists.
"""

import re

import pytest
import yaml
from bs4 import BeautifulSoup

from support.paths import BUILD_HTML, CHAPTERS, CHECKED_PAGES, ROOT, built_pages

pytestmark = pytest.mark.book


def _page(stem: str) -> BeautifulSoup:
    path = BUILD_HTML / "chapters" / f"{stem}.html"
    if not BUILD_HTML.exists():
        pytest.skip("no built book in _build/html: run `make book` (make test builds it first)")
    assert path.exists(), f"{path} was not built"
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.fixture(params=[p.stem for p in CHAPTERS])
def page(request):
    return request.param, _page(request.param)


def test_no_cell_failed(page):
    stem, soup = page
    assert not soup.select(".output.error, .output.traceback"), f"{stem}: a cell shows an error"
    assert "Traceback (most recent call last)" not in soup.get_text()


def test_every_glued_number_was_filled_in(page):
    stem, soup = page
    text = soup.select_one("main").get_text()
    assert "{glue" not in text and "glue:text" not in text, f"{stem}: a glue role was not resolved"


def test_launch_and_download_links_point_into_the_repository(page):
    """Colab and Binder open this chapter from the configured repository; the download is the notebook."""
    stem, soup = page
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    slug, branch = repo["url"].removeprefix("https://github.com/"), repo["branch"]
    notebook = f"chapters/{stem}.ipynb"
    links = {a.get("title"): a["href"] for a in soup.select("a.dropdown-item[href]")}
    assert links.get("Launch on Colab") == f"https://colab.research.google.com/github/{slug}/blob/{branch}/{notebook}"
    assert links.get("Launch on Binder") == f"https://mybinder.org/v2/gh/{slug}/{branch}?urlpath=lab/tree/{notebook}"
    download = links.get("Download source file")
    assert download and download.endswith(".ipynb"), f"{stem}: no notebook download ({links})"
    target = BUILD_HTML / "chapters" / download
    assert target.resolve() == (BUILD_HTML / "_sources" / notebook).resolve()
    assert target.read_bytes() == (ROOT / notebook).read_bytes(), "the download is not the chapter's notebook"


def test_the_setup_cell_is_not_shown(page):
    stem, soup = page
    assert "find_spec" not in soup.get_text(), f"{stem}: the Colab setup cell shows in the book"


def test_every_image_has_alt_text(page):
    stem, soup = page
    images = soup.select("main img")
    assert images, f"{stem}: no figures"
    for img in images:
        assert img.get("alt", "").strip(), f"{stem}: an image without alt text: {img.get('src')}"


def test_checks_show_not_attempted_for_stubs_and_pass_for_solutions(page):
    stem, soup = page
    outputs = [o.get_text() for o in soup.select(".cell_output")]
    todo = [o for o in outputs if "not attempted yet" in o]
    passed = [o for o in outputs if "✅" in o]
    assert todo and len(todo) == len(passed), f"{stem}: {len(todo)} stub checks, {len(passed)} passing solutions"
    assert not any("❌" in o for o in outputs), f"{stem}: a check failed in the built page"


def test_solutions_are_collapsed_dropdowns(page):
    stem, soup = page
    solutions = soup.select(".solution")
    assert solutions and all("dropdown" in s.get("class", []) for s in solutions)


def test_the_worked_example_states_its_numbers():
    soup = _page("01_self_attention")
    text = re.sub(r"\s+", " ", soup.select_one("main").get_text())
    match = re.search(r"Walk gives (\d\.\d\d) of its attention to cats and (\d\.\d\d) to street, but only (\d\.\d\d)", text)
    assert match, "the worked example's sentence is missing"
    cats, street, the = map(float, match.groups())
    assert cats > the and street > the


def test_the_browser_tests_open_every_page_of_the_build():
    if not (BUILD_HTML / "intro.html").exists():
        pytest.skip(f"no built book in {BUILD_HTML}: run `make book` (make test builds it first)")
    missing = sorted(set(built_pages(BUILD_HTML)) - set(CHECKED_PAGES))
    assert not missing, (f"pages in the build that the browser tests do not open: {missing} "
                         "(add them to CHECKED_PAGES in conftest.py)")
