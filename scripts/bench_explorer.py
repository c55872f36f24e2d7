"""Benchmarks of the query/key explorer in the built static book (no kernel): ``explorer-static``.

    .venv/bin/python scripts/bench.py --only explorer-static [--repeat 5]

Builds nothing: serves the existing _build/html on 127.0.0.1 (the test suite's
StaticServer, from tests/support/browser.py) and opens chapter 1 in Debian's Chromium
with Playwright. Rows:

* **drag update (event -> DOM + layout)**, target 16 ms (one frame at 60 Hz). The
  real mouse is pressed on the query handle (so the plane holds a real pointer
  capture and the widget is in its drag state), then N synthetic ``pointermove``
  events with that pointer's id are dispatched on the plane from inside the page,
  each at a point far from the previous one so that every event moves the
  snapped query. The widget handles a move synchronously (pointermove -> model.set
  -> update(): SVG arrows, handles, bars, labels, readout), so
  ``performance.now()`` is read before ``dispatchEvent`` and again after reading
  the readout (which must have changed) and forcing style and layout
  (``getBoundingClientRect``). Paint and compositing are not included. Between
  events the page waits for an animation frame, so each update starts, as in a
  real drag, after the previous one was painted. Moves that left the readout
  unchanged are not counted. Each run reports the median over N events; the row
  is the median of the runs.
* **drag update, JS only (event -> readout updated)**: the same events, timed up to
  the synchronous readout change, without the forced layout (recorded).
* **page load -> explorer visible**: from navigation start (``performance.timeOrigin``)
  to the moment a MutationObserver installed before any page script sees
  ``.qk-explorer`` with its bars (``.qk-bar[data-weight]``), in a fresh browser
  context (empty cache) for each load, over http://127.0.0.1 (recorded).

``performance.now()`` is coarsened to 0.1 ms in a page that is not cross-origin
isolated, which is fine for the millisecond figures here.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
from pathlib import Path

from benchlib import Row

ROOT = Path(__file__).resolve().parent.parent
BUILD_HTML = ROOT / "_build" / "html"
PAGE = "chapters/01_self_attention.html"
EXPLORER = ".qk-explorer"
MOVES = 200                      # pointer moves per run
FRAME_MS = 16.0                  # target: one frame at 60 Hz

# Installed before the page's scripts: note when the explorer first has its bars.
WATCH_EXPLORER = """
(() => {
    const seen = () => document.querySelector('.qk-explorer .qk-bar[data-weight]');
    const observer = new MutationObserver(() => {
        if (seen()) { window.__qkVisibleAt = performance.now(); observer.disconnect(); }
    });
    observer.observe(document, {childList: true, subtree: true, attributes: true, attributeFilter: ['data-weight']});
})();
"""

# Runs in the page while the real mouse button is down on the query handle.
MEASURE_MOVES = """async ({moves, pointerId}) => {
    const root = document.querySelector('.qk-explorer');
    const plane = root.querySelector('.qk-plane'), readout = root.querySelector('.qk-readout');
    const handle = root.querySelector('.qk-query');
    const box = plane.querySelector('svg').getBoundingClientRect();
    const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    const js = [], withLayout = [];
    let unchanged = 0;
    for (let i = 1; i <= moves; i++) {
        // Low-discrepancy points over the middle of the plane: consecutive points are
        // far apart, so each one moves the query (positions snap to 0.05).
        const u = (i * 0.6180339887) % 1, v = (i * 0.7548776662) % 1;
        const event = new PointerEvent('pointermove', {
            pointerId, pointerType: 'mouse', isPrimary: true, buttons: 1, bubbles: true, cancelable: true,
            clientX: box.left + box.width * (0.15 + 0.7 * u), clientY: box.top + box.height * (0.15 + 0.7 * v),
        });
        await nextFrame();
        const before = readout.textContent;
        const t0 = performance.now();
        plane.dispatchEvent(event);
        const changed = readout.textContent !== before;
        const t1 = performance.now();
        handle.getBoundingClientRect();                      // force style and layout
        const t2 = performance.now();
        if (changed) { js.push(t1 - t0); withLayout.push(t2 - t0); } else { unchanged++; }
    }
    return {js, withLayout, unchanged};
}"""


def _browser_helpers():
    """tests/support/browser.py (Chromium path and flags, StaticServer), with the tests folder on sys.path."""
    if str(ROOT / "tests") not in sys.path:
        sys.path.append(str(ROOT / "tests"))
    from support import browser
    return browser


def _not_ready() -> str | None:
    """Why the benchmark cannot run, or None."""
    if not (BUILD_HTML / PAGE).exists():
        return f"explorer-static: no built {PAGE} in _build/html; build the book first (`make book`)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "explorer-static: Playwright is not installed in this venv (pip install playwright)"
    if _browser_helpers().chromium_path() is None:
        return "explorer-static: no Chromium (apt-get install -y chromium, or set CHROMIUM=/path/to/chromium)"
    return None


def _drag_run(page) -> tuple[float, float, int, int]:
    """One run of MOVES drag updates: (median ms with layout, median ms JS only, counted, unchanged)."""
    page.evaluate("() => { window.__qkPointer = null; document.addEventListener('pointerdown', "
                  "(e) => { window.__qkPointer = e.pointerId; }, {capture: true, once: true}); }")
    box = page.locator(f"{EXPLORER} .qk-query").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    try:
        pointer_id = page.evaluate("window.__qkPointer")
        if pointer_id is None:
            raise RuntimeError("the mouse press on the query handle did not reach the page")
        result = page.evaluate(MEASURE_MOVES, {"moves": MOVES, "pointerId": pointer_id})
    finally:
        page.mouse.up()
    if len(result["withLayout"]) < MOVES // 2:
        raise RuntimeError(f"only {len(result['withLayout'])} of {MOVES} pointer moves updated the explorer")
    return (statistics.median(result["withLayout"]), statistics.median(result["js"]),
            len(result["withLayout"]), result["unchanged"])


def _load_to_visible(browser, url: str) -> float:
    """Navigation start -> explorer with its bars, in ms, in a fresh context (empty cache)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.add_init_script(WATCH_EXPLORER)
        page.goto(url, wait_until="commit")
        page.wait_for_function("window.__qkVisibleAt !== undefined", timeout=30000)
        return page.evaluate("window.__qkVisibleAt")
    finally:
        context.close()


def bench_static(repeat: int) -> list[Row]:
    """The explorer in the static page: ms per drag update, and page load to explorer visible."""
    reason = _not_ready()
    if reason:
        print(reason, file=sys.stderr)
        return []
    helpers = _browser_helpers()
    from playwright.sync_api import sync_playwright

    repeat = max(1, repeat)
    server = helpers.StaticServer(BUILD_HTML)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=helpers.chromium_path(), args=helpers.CHROMIUM_ARGS)
            try:
                url = f"{server.url}/{PAGE}"
                loads = [_load_to_visible(browser, url) for _ in range(repeat)]
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: m.type == "error" and errors.append(m.text))
                page.goto(url, wait_until="load")
                page.wait_for_selector(f"{EXPLORER} .qk-bar[data-weight]", timeout=30000)
                page.locator(EXPLORER).scroll_into_view_if_needed()
                runs = [_drag_run(page) for _ in range(repeat)]
                if errors:
                    raise RuntimeError("the page logged errors during the benchmark:\n" + "\n".join(errors))
            finally:
                browser.close()
    finally:
        server.stop()

    counted = sum(r[2] for r in runs)
    unchanged = sum(r[3] for r in runs)
    print(f"explorer-static: {counted} drag updates timed over {repeat} run(s) of {MOVES} moves"
          f" ({unchanged} moves left the query unchanged and were not counted)", file=sys.stderr)
    layout, js = [r[0] for r in runs], [r[1] for r in runs]
    return [
        Row("explorer drag update, static page (event -> DOM + layout)", statistics.median(layout), layout, "ms", FRAME_MS),
        Row("explorer drag update, static page (JS only)", statistics.median(js), js, "ms", None),
        Row("chapter 1 load -> explorer visible (http, cold cache)", statistics.median(loads), loads, "ms", None),
    ]


SUITES = {"explorer-static": bench_static}
