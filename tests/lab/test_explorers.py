"""Chapter 1's query/key explorer in JupyterLab, driven both ways, in detail.

tests/lab/test_chapters.py runs every chapter and learner copy in Lab and presses one key on
each explorer. Here the session's Lab server (conftest's `lab`) runs chapter 1 again
and drives its explorer both ways: Python -> view (set `walk_explorer.query` in the
kernel, read the view, compare with the package's weights) and view -> Python (arrow
keys on the query handle and on the scale slider, read the traits in the kernel), and
Lab's own arrow-key shortcuts must not fire while the explorer has the focus.
"""

import json
import time

import pytest
import torch

from attn_course.attention import dot_product_attention
from support.browser import chromium
from support.lab import (
    active_cell_state, cell_errors, close_notebook, execute, new_page, open_notebook, page_problems, reveal, run_all,
    wait_for_kernel,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.lab]

NB = "01_self_attention.ipynb"
STATE = ("import json; print(json.dumps({t: getattr(walk_explorer, t) for t in "
         "('query', 'weights', 'key_vectors', 'labels', 'scale')}))")


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def page(lab, browser):
    """Chapter 1 open in Lab, kernel connected, all cells run."""
    page = new_page(browser)
    open_notebook(page, lab, NB)
    wait_for_kernel(page, NB)
    run_all(page, NB)
    assert cell_errors(page, NB) == []
    yield page
    close_notebook(page, NB)
    page.close()


def kernel_state(page) -> dict:
    return json.loads(execute(page, NB, STATE))


def reference_weights(state: dict) -> list[float]:
    """The package's weights for the explorer's state: keys are also the values, as in the class."""
    q = torch.tensor([state["query"]], dtype=torch.float64)           # (1, 2)
    k = torch.tensor(state["key_vectors"], dtype=torch.float64)       # (S, 2)
    _, weights = dot_product_attention(q, k, k, scale=state["scale"])  # (1, S)
    return weights[0].tolist()


def wait_for_kernel_state(page, trait: str, expected: object, timeout: float = 10.0) -> dict:
    """Poll the kernel until walk_explorer.<trait> == expected (or time is up); return the state."""
    deadline = time.monotonic() + timeout
    while True:
        state = kernel_state(page)
        if state[trait] == expected or time.monotonic() > deadline:
            return state
        page.wait_for_timeout(50)


def test_python_to_view(page):
    assert page.locator(".qk-explorer").count() == 1
    execute(page, NB, "walk_explorer.query = [0.0, 2.0]")
    page.wait_for_function("() => document.querySelector('.qk-readout').textContent.startsWith('q = (0.00, 2.00)')",
                           timeout=10_000)
    state = kernel_state(page)
    assert state["query"] == [0.0, 2.0]
    bars = page.locator(".qk-explorer .qk-bar").evaluate_all(
        "els => els.map(e => [e.querySelector('.qk-bar-label').textContent, Number(e.dataset.weight)])")
    assert [label for label, _ in bars] == state["labels"] == ["the", "cats", "on", "street"]
    view = [w for _, w in bars]
    assert view == pytest.approx(state["weights"], abs=1e-9)
    assert view == pytest.approx(reference_weights(state), abs=1e-9)


def test_view_to_python_without_lab_shortcuts(page):
    start = kernel_state(page)["query"]
    handle = page.locator(".qk-explorer .qk-query")
    reveal(handle)
    handle.focus()
    before = active_cell_state(page, NB)

    page.keyboard.press("ArrowRight")
    moved = [start[0] + 0.25, start[1]]
    state = wait_for_kernel_state(page, "query", moved)
    assert state["query"] == pytest.approx(moved, abs=1e-12)
    assert state["weights"] == pytest.approx(reference_weights(state), abs=1e-6)
    page.wait_for_function(
        "(q) => document.querySelector('.qk-readout').textContent.startsWith(q)",
        arg=f"q = ({moved[0]:.2f}, {moved[1]:.2f})", timeout=10_000)

    for key in ["ArrowDown", "ArrowUp", "ArrowLeft"]:        # down, up (not up first: q may sit on the edge) and back
        page.keyboard.press(key)
    assert wait_for_kernel_state(page, "query", start)["query"] == start
    assert page.evaluate("document.activeElement.classList.contains('qk-query')"), "the handle lost the focus"
    after = active_cell_state(page, NB)
    assert after == before, f"a JupyterLab shortcut fired: {before} -> {after}"
    assert after["collapsed"] == [] and after["hidden"] == []

    # The scale slider: the browser moves it (Lab would swallow the key if it had a shortcut).
    scale = kernel_state(page)["scale"]
    slider = page.locator(".qk-explorer .qk-scale input[type=range]")
    slider.focus()
    page.keyboard.press("ArrowRight")
    assert wait_for_kernel_state(page, "scale", scale + 0.25)["scale"] == scale + 0.25
    page.keyboard.press("ArrowLeft")
    assert wait_for_kernel_state(page, "scale", scale)["scale"] == scale
    assert active_cell_state(page, NB) == before, "a JupyterLab shortcut fired on the scale slider"
    unguarded = page.locator(".qk-explorer").evaluate(
        "root => Array.from(root.querySelectorAll('[tabindex], input, button, select, textarea, a[href]'))"
        ".filter(e => !e.hasAttribute('data-lm-suppress-shortcuts')).map(e => e.outerHTML.slice(0, 80))")
    assert not unguarded, f"focusable without data-lm-suppress-shortcuts: {unguarded}"

    # Control: the same keys do reach Lab's shortcuts from the notebook itself.
    page.locator(".jp-Notebook").first.focus()
    page.keyboard.press("ArrowDown")
    assert active_cell_state(page, NB)["active"] > before["active"]   # down (past collapsed machinery cells)


def test_page_has_no_errors(page):
    problems = page_problems(page)
    assert not problems, "\n".join(problems)
