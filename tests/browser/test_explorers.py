"""The query/key explorer, live in the built static page (no kernel), driven in a real browser.

Chapter 1's ``walk_explorer`` over http://127.0.0.1 and as file://: the bars'
weights (``data-weight``) must equal the Python reference,
:func:`attn_course.attention.dot_product_attention` in float64 with the keys as
the values, to 1e-6, at the start, after a mouse drag of the query, after
keyboard moves of the query and of a key, and after a keyboard change of the
scale; the readout prints the same numbers as the JS does (``toFixed(2)``).
Focus is visible, every focusable control carries ``data-lm-suppress-shortcuts``
(JupyterLab's arrow-key shortcuts), the book's theme button turns the explorer dark
and back, and the page makes no failed or external request and logs no error.

One page per mode, shared by the tests of this module (a load costs about 1 s).
Each test reads the state it starts from in the page, so the tests also pass
alone or in another order; the last one checks the page's log for everything
done before it.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pytest
import torch
from bs4 import BeautifulSoup

from attn_course.attention import dot_product_attention
from support.browser import PageLog
from support.paths import BUILD_HTML

pytestmark = [pytest.mark.book, pytest.mark.browser]

PAGE = "chapters/01_self_attention.html"
LABELS = ["the", "cats", "on", "street"]           # identifies walk_explorer among the page's widgets
ROOT_SEL = ".qk-explorer"
TOL = 1e-6
STEP, SNAP = 0.25, 0.05                            # arrow key step; positions snap to multiples of 0.05
SCALE_STEP = 0.25                                  # the slider's step
FOCUSABLE = ('a[href], area[href], button, input, select, textarea, iframe, summary, '
             '[tabindex], [contenteditable]:not([contenteditable="false"])')


# ---- Python side: the reference and the JS formatting ------------------------

def reference(query, key_vectors, scale) -> tuple[list[float], list[float]]:
    """weights (S,) and output (2,): dot_product_attention in float64, values = keys."""
    q = torch.tensor([query], dtype=torch.float64)                  # (1, 2)
    k = torch.tensor(key_vectors, dtype=torch.float64)              # (S, 2)
    output, weights = dot_product_attention(q, k, k, scale=scale)   # (1, 2), (1, S)
    return weights[0].tolist(), output[0].tolist()


def js_fmt(x: float) -> str:
    """The explorer's fmt(): Number.prototype.toFixed(2) (ties away from zero, on the
    exact binary value), and never "-0.00"."""
    x = 0.0 if abs(x) < 0.005 else x
    return str(Decimal(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def expected_readout(query, key_vectors, labels, scale) -> str:
    weights, out = reference(query, key_vectors, scale)
    pairs = ", ".join(f"{name} {js_fmt(w)}" for name, w in zip(labels, weights))
    return (f"q = ({js_fmt(query[0])}, {js_fmt(query[1])}) · weights: {pairs} · "
            f"output = ({js_fmt(out[0])}, {js_fmt(out[1])})")


def initial_state() -> dict:
    """walk_explorer's traits as the build saved them in the page (the exact floats)."""
    soup = BeautifulSoup((BUILD_HTML / PAGE).read_text(encoding="utf-8"), "html.parser")
    script = soup.find("script", type="application/vnd.jupyter.widget-state+json")
    assert script is not None, f"{PAGE} holds no widget state"
    models = [m["state"] for m in json.loads(script.string)["state"].values()]
    found = [s for s in models if s.get("labels") == LABELS]
    assert len(found) == 1, f"expected one explorer labelled {LABELS} in {PAGE}; found {len(found)}"
    return found[0]


# ---- Page side: what the view shows ------------------------------------------

@dataclass
class View:
    readout: str
    query: list[float]              # from the readout, "q = (x, y)" (exact: positions snap to 0.05)
    key_vectors: list[list[float]]  # from the key handles' aria-labels "key the = (x, y); ..."
    labels: list[str]               # the bars' labels
    weights: list[float]            # the bars' data-weight
    scale: float                    # the range input's value
    scale_text: str                 # the <output> beside it
    handles: dict                   # name -> (centre x, centre y) in CSS px, "query" and 0..S-1


READ_VIEW = """(root) => {
    const centre = (e) => { const b = e.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; };
    const slider = root.querySelector('input[type="range"]');
    return {
        readout: root.querySelector('.qk-readout').textContent,
        bars: [...root.querySelectorAll('.qk-bar[data-weight]')].map(
            (b) => [b.querySelector('.qk-bar-label').textContent, b.dataset.weight]),
        handles: [...root.querySelectorAll('.qk-handle')].map(
            (h) => [h.dataset.name, h.getAttribute('aria-label'), centre(h)]),
        scale: slider.value,
        scaleText: root.querySelector('.qk-scale-value').textContent,
    };
}"""
NUM = r"(-?\d+\.\d+)"


def read_view(page) -> View:
    raw = page.eval_on_selector(ROOT_SEL, READ_VIEW)
    match = re.match(rf"q = \({NUM}, {NUM}\) · ", raw["readout"])
    assert match, f"unexpected readout: {raw['readout']!r}"
    keys, handles = {}, {}
    for name, aria, centre in raw["handles"]:
        handles["query" if name == "query" else int(name)] = tuple(centre)
        if name != "query":
            m = re.search(rf"= \({NUM}, {NUM}\)", aria)
            assert m, f"unexpected aria-label on key handle {name}: {aria!r}"
            keys[int(name)] = [float(m[1]), float(m[2])]
    return View(
        readout=raw["readout"], query=[float(match[1]), float(match[2])],
        key_vectors=[keys[i] for i in range(len(keys))],
        labels=[label for label, _ in raw["bars"]], weights=[float(w) for _, w in raw["bars"]],
        scale=float(raw["scale"]), scale_text=raw["scaleText"], handles=handles,
    )


def assert_matches_python(view: View, query, key_vectors, scale) -> None:
    """The bars equal the reference to 1e-6, and the readout prints them as the JS does."""
    weights, _ = reference(query, key_vectors, scale)
    assert view.labels == LABELS
    assert len(view.weights) == len(weights)
    worst = max(abs(a - b) for a, b in zip(view.weights, weights))
    assert worst <= TOL, f"bars {view.weights} != Python {weights} (max diff {worst:.2e}) at q={query}, scale={scale}"
    assert view.readout == expected_readout(query, key_vectors, LABELS, scale)
    assert view.scale_text == js_fmt(scale)


def to_pixels(view: View):
    """The plane's data -> CSS px map, fitted on the handles' centres (x right, y up)."""
    points = [(view.query, view.handles["query"])] + [(k, view.handles[i]) for i, k in enumerate(view.key_vectors)]
    fx = statistics.linear_regression([d[0] for d, _ in points], [p[0] for _, p in points])
    fy = statistics.linear_regression([d[1] for d, _ in points], [p[1] for _, p in points])
    assert fx.slope > 0 > fy.slope, "the plane's x axis must point right and its y axis up"
    return lambda x, y: (fx.slope * x + fx.intercept, fy.slope * y + fy.intercept)


def wait_for_change(page, readout: str) -> None:
    page.wait_for_function("(old) => document.querySelector('.qk-explorer .qk-readout').textContent !== old",
                           arg=readout, timeout=5000)


def focus_state(page) -> dict:
    return page.evaluate("""() => {
        const e = document.activeElement, style = getComputedStyle(e);
        return {className: e.className, name: e.dataset.name ?? null, tag: e.tagName,
                outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
                focusVisible: e.matches(':focus-visible')};
    }""")


def assert_focus_visible(state: dict) -> None:
    """A focus ring on the focused control: the CSS outline of :focus-visible, or of a
    handle focused by the mouse and then used with the keyboard (qk-keyboard); a plain
    :focus has none. Not the qk-selected class: the selected handle keeps it when focus
    is elsewhere, so it does not show focus."""
    assert state["outline"] != "none" and state["outlineWidth"] > 0, (
        f"no visible focus ring on the focused control: {state}")


def on_grid(value: float) -> bool:
    return abs(value / SNAP - round(value / SNAP)) < 1e-9


# ---- Fixtures --------------------------------------------------------------

@pytest.fixture(scope="module")
def built_page(browser):
    if not (BUILD_HTML / PAGE).exists():
        pytest.skip(f"no built {PAGE} in _build/html: run `make book` first (make test builds it)")
    return PAGE


@pytest.fixture(scope="module", params=["http", "file"])
def explorer(request, browser, server, built_page):
    """(page, log): chapter 1 loaded once per mode, with its explorer rendered."""
    mode = request.param
    base = server.url if mode == "http" else BUILD_HTML.as_uri()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = PageLog(mode)
    log.attach(page)
    page.goto(f"{base}/{PAGE}", wait_until="load")
    page.wait_for_selector(f"{ROOT_SEL} .qk-bar[data-weight]", timeout=15000)
    page.locator(ROOT_SEL).scroll_into_view_if_needed()
    yield page, log
    page.close()


# ---- Tests -------------------------------------------------------------------

def test_initial_bars_and_readout_match_python(explorer):
    page, _ = explorer
    state = initial_state()
    view = read_view(page)
    if view.query != state["query"] or view.key_vectors != state["key_vectors"]:
        pytest.skip("an earlier test of this module moved the explorer (run this test first)")
    assert state["query"] == [1.0, 1.0] and state["scale"] == 1.0    # the chapter's walk_explorer
    assert view.scale == state["scale"]
    assert_matches_python(view, state["query"], state["key_vectors"], state["scale"])
    assert max(abs(a - b) for a, b in zip(view.weights, state["weights"])) <= TOL   # Python's saved weights


def test_mouse_drag_of_the_query(explorer):
    page, _ = explorer
    before = read_view(page)
    pixels = to_pixels(before)
    target = (-0.6, 0.85) if before.query != [-0.6, 0.85] else (0.4, -0.35)
    page.mouse.move(*before.handles["query"])
    page.mouse.down()
    page.mouse.move(*pixels(*target), steps=8)
    page.mouse.up()
    wait_for_change(page, before.readout)

    after = read_view(page)
    assert after.readout != before.readout
    assert all(on_grid(v) for v in after.query), f"the query must snap to 0.05: {after.query}"
    assert max(abs(a - t) for a, t in zip(after.query, target)) <= SNAP, f"dragged to {target}, got {after.query}"
    assert after.key_vectors == before.key_vectors and after.scale == before.scale
    # The handle sits where the readout says the query is (within a pixel).
    x, y = pixels(*after.query)
    hx, hy = after.handles["query"]
    assert abs(x - hx) <= 1 and abs(y - hy) <= 1, f"query handle at {(hx, hy)}, expected {(x, y)}"
    assert_matches_python(after, after.query, after.key_vectors, after.scale)
    assert "qk-selected" in page.get_attribute(".qk-query", "class")   # the keyboard now moves q


def test_keyboard_moves_the_query(explorer):
    page, _ = explorer
    before = read_view(page)
    page.focus(f"{ROOT_SEL} .qk-query")
    for key in ["ArrowUp", "ArrowUp", "ArrowLeft"]:
        page.keyboard.press(key)
    wait_for_change(page, before.readout)

    after = read_view(page)
    dx, dy = after.query[0] - before.query[0], after.query[1] - before.query[1]
    assert abs(dx + STEP) < 1e-9 and abs(dy - 2 * STEP) < 1e-9, f"q moved by {(dx, dy)}, expected (-0.25, +0.5)"
    assert_matches_python(after, after.query, after.key_vectors, after.scale)
    state = focus_state(page)
    assert state["name"] == "query", f"focus left the query handle: {state}"
    assert_focus_visible(state)


def test_keyboard_moves_a_key(explorer):
    page, _ = explorer
    page.focus(f"{ROOT_SEL} .qk-query")
    page.keyboard.press("Tab")                      # the query comes first in the Tab order, then the keys
    state = focus_state(page)
    assert state["name"] == "0" and "qk-key" in state["className"], f"Tab from q went to {state}"
    assert_focus_visible(state)
    before = read_view(page)
    page.keyboard.press("ArrowRight")
    wait_for_change(page, before.readout)

    after = read_view(page)
    moved = [before.key_vectors[0][0] + STEP, before.key_vectors[0][1]]
    assert after.key_vectors == [moved] + before.key_vectors[1:]
    assert after.query == before.query
    assert_matches_python(after, after.query, after.key_vectors, after.scale)
    assert "qk-selected" in page.get_attribute(f'{ROOT_SEL} .qk-key[data-name="0"]', "class")


def test_keyboard_sets_the_scale(explorer):
    page, _ = explorer
    slider = f'{ROOT_SEL} input[type="range"]'
    before = read_view(page)
    assert before.scale + SCALE_STEP <= float(page.get_attribute(slider, "max"))
    page.focus(slider)
    page.keyboard.press("ArrowRight")
    wait_for_change(page, before.readout)

    after = read_view(page)
    assert after.scale == before.scale + SCALE_STEP
    assert after.query == before.query and after.key_vectors == before.key_vectors
    assert_matches_python(after, after.query, after.key_vectors, after.scale)
    assert_focus_visible(focus_state(page))


def test_every_focusable_control_suppresses_lab_shortcuts(explorer):
    page, _ = explorer
    controls = page.eval_on_selector(ROOT_SEL, """(root, selector) =>
        [...root.querySelectorAll(selector)].filter((e) => e.tabIndex >= 0).map((e) => ({
            what: e.tagName + '.' + e.className, suppressed: e.hasAttribute('data-lm-suppress-shortcuts')}))""",
        FOCUSABLE)
    assert len(controls) == 1 + len(LABELS) + 1 + 2, f"expected q, {len(LABELS)} keys, the slider and Save view: {controls}"
    missing = [c["what"] for c in controls if not c["suppressed"]]
    assert not missing, f"focusable without data-lm-suppress-shortcuts: {missing}"


def test_the_explorer_follows_the_book_theme_switch(explorer):
    """The reader toggles the theme with the book's own button (pydata-sphinx-theme sets
    html[data-theme]): the explorer's card turns dark and back, without a reload."""
    page, _ = explorer
    card = f"document.querySelector('{ROOT_SEL}')"
    read = f"() => [document.documentElement.dataset.theme, getComputedStyle({card}).backgroundColor, {card}.isConnected]"

    def switch_to(theme: str) -> list:
        for _ in range(3):                                      # the button cycles light, dark, auto
            if page.evaluate("document.documentElement.dataset.theme") == theme:
                break
            page.locator(".theme-switch-button").first.click()
        return page.evaluate(read)

    first = page.evaluate(read)
    assert first[0] == "light" and first[1] == "rgb(255, 255, 255)"
    dark = switch_to("dark")
    assert dark[0] == "dark" and dark[1] != first[1] and dark[2], dark   # the same card, restyled
    assert switch_to("light") == first


def test_page_log_is_clean(explorer):
    """Runs last in each mode: covers the load and every interaction above."""
    _, log = explorer
    assert log.requests > 0
    assert not log.problems(), "\n".join(log.problems())
