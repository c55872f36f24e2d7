"""Benchmarks of the query/key explorer live in JupyterLab, with a kernel: ``explorer-lab``.

    .venv/bin/python scripts/bench.py --only explorer-lab [--repeat 3]

Starts one JupyterLab (tests/support/lab.py: a temporary copy of the chapters, autosave
off), opens chapter 1 in Debian's Chromium with Playwright, waits for a really
connected kernel and runs all cells. Then, for each of ``repeat`` batches of
SAMPLES round trips (after WARMUP unrecorded ones):

* **Python -> view**: from the page's own clock (``performance.now()``), the time
  from sending ``walk_explorer.query = [x, y]`` to the kernel
  (``kernel.requestExecute``) until a MutationObserver on ``.qk-readout`` sees it
  read ``q = (x, y)``, i.e. the view's DOM updated (the paint follows at the next
  frame). The queries cycle through QUERIES so each one changes the readout.
  Timed inside the page, so Playwright's own latency is not included.
* **view -> Python**: a real key press (ArrowRight, then ArrowLeft, alternately) on
  the focused query handle ``.qk-query``. A capture-phase keydown listener in the
  page notes the wall-clock time of the key event (``performance.timeOrigin +
  performance.now()``); an observer registered on ``walk_explorer`` in the kernel
  notes ``time.time()`` when the trait changes there, i.e. when the kernel has
  applied the view's update. Browser and kernel run on this machine and read the
  same system clock, so the difference is the one-way latency. After each press
  the kernel is polled (a tiny execute request, queued behind the widget's
  message, so it cannot overtake it) until the change is recorded, then the next
  press waits PAUSE_MS, as a user would: ipywidgets holds back a view's update
  while its previous one is still being processed.

Each row's median is over all samples of all batches; its runs are the batch
medians. The 90th percentiles are recorded without a target.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from benchlib import Row

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
NB = "01_self_attention.ipynb"
SAMPLES = 30                      # round trips per batch and direction
WARMUP = 3                        # unrecorded round trips before each batch
PAUSE_MS = 100                    # rest between round trips
TARGET_MS = 100.0
QUERIES = [[0.0, 2.0], [1.0, 1.0], [1.5, -0.5], [-1.0, 0.5]]   # on the 0.05 grid, inside the plane

# In the page: SAMPLES times, set the query from Python and time it to the readout.
PYTHON_TO_VIEW = """
    const kernel = notebook.sessionContext.session.kernel;
    const readout = notebook.node.querySelector('.qk-explorer .qk-readout');
    const fmt = (x) => (Math.abs(x) < 0.005 ? 0 : x).toFixed(2);
    const samples = [];
    for (let i = 0; i < arg.n; i++) {
        const q = arg.queries[i % arg.queries.length];
        const expected = `q = (${fmt(q[0])}, ${fmt(q[1])})`;
        if (readout.textContent.startsWith(expected)) throw new Error(`the readout already shows ${expected}`);
        const shown = new Promise((resolve, reject) => {
            const observer = new MutationObserver(() => {
                if (readout.textContent.startsWith(expected)) { observer.disconnect(); resolve(performance.now()); }
            });
            observer.observe(readout, {childList: true, characterData: true, subtree: true});
            setTimeout(() => { observer.disconnect(); reject(new Error(`the readout never showed ${expected}`)); }, 10000);
        });
        const start = performance.now();
        const future = kernel.requestExecute({code: `walk_explorer.query = [${q[0]}, ${q[1]}]`, store_history: false});
        samples.push((await shown) - start);
        const reply = await future.done;
        if (reply.content.status !== 'ok') throw new Error(`setting the query failed: ${reply.content.evalue}`);
        await new Promise((r) => setTimeout(r, arg.pause));
    }
    return samples;
"""

# In the page: note the wall-clock time of every arrow key pressed on the query handle.
WATCH_KEYS = """
    window.__benchKeyTimes = [];
    if (!window.__benchKeyListener) {
        window.__benchKeyListener = (e) => {
            if (e.key.startsWith('Arrow') && e.target.classList && e.target.classList.contains('qk-query'))
                window.__benchKeyTimes.push(performance.timeOrigin + performance.now());
        };
        document.addEventListener('keydown', window.__benchKeyListener, {capture: true});
    }
"""

# In the kernel: note time.time() whenever the query changes.
WATCH_QUERY = """
import time as _bench_time
_bench_seen = []
def _bench_record(change):
    _bench_seen.append((_bench_time.time(), list(change["new"])))
walk_explorer.observe(_bench_record, "query")
"""
UNWATCH_QUERY = 'walk_explorer.unobserve(_bench_record, "query")'


def _lab_helpers():
    """tests/support/lab.py and browser.py, with the tests folder on sys.path (as pytest has it)."""
    if str(TESTS) not in sys.path:
        sys.path.append(str(TESTS))
    from support import browser, lab
    return browser, lab


def _not_ready() -> str | None:
    """Why the benchmark cannot run, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "explorer-lab: Playwright is not installed in this venv (pip install playwright)"
    if _lab_helpers()[0].chromium_path() is None:
        return "explorer-lab: no Chromium (apt-get install -y chromium, or set CHROMIUM=/path/to/chromium)"
    return None


def _python_to_view(page, lab, n: int) -> list[float]:
    return lab.evaluate(page, NB, PYTHON_TO_VIEW, {"n": n, "queries": QUERIES, "pause": PAUSE_MS})


def _view_to_python(page, lab, n: int) -> list[float]:
    """n arrow-key round trips from the focused query handle to the kernel; ms each."""
    lab.execute(page, NB, "walk_explorer.query = [1.0, 1.0]")          # away from the plane's edge
    page.wait_for_function("() => document.querySelector('.qk-readout').textContent.startsWith('q = (1.00, 1.00)')")
    handle = page.locator(".qk-explorer .qk-query")
    lab.reveal(handle)
    handle.focus()
    page.evaluate(f"() => {{ {WATCH_KEYS} }}")
    lab.execute(page, NB, WATCH_QUERY)
    try:
        for i in range(n):
            page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
            for _ in range(500):                                            # about 10 s at most
                if int(lab.execute(page, NB, "print(len(_bench_seen))")) > i:
                    break
                page.wait_for_timeout(20)
            else:
                raise RuntimeError(f"the kernel never saw key press {i + 1}")
            page.wait_for_timeout(PAUSE_MS)
        seen = json.loads(lab.execute(page, NB, "import json; print(json.dumps(_bench_seen))"))
    finally:
        lab.execute(page, NB, UNWATCH_QUERY)
    pressed = page.evaluate("window.__benchKeyTimes")
    expected = [[1.25, 1.0] if i % 2 == 0 else [1.0, 1.0] for i in range(n)]
    if len(pressed) != n or [q for _, q in seen] != expected:
        raise RuntimeError(f"{n} key presses, {len(pressed)} keydown events, kernel saw {[q for _, q in seen]}")
    return [1000 * t - key for (t, _), key in zip(seen, pressed)]


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def bench_lab(repeat: int) -> list[Row]:
    """The explorer in JupyterLab: ms from Python to the view and from a key press to Python."""
    reason = _not_ready()
    if reason:
        print(reason, file=sys.stderr)
        return []
    browser, lab = _lab_helpers()
    from playwright.sync_api import sync_playwright

    repeat = max(1, repeat)
    to_view: list[list[float]] = []
    to_python: list[list[float]] = []
    with lab.Lab() as server, sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=browser.chromium_path(), args=browser.CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            lab.open_notebook(page, server, NB)
            lab.wait_for_kernel(page, NB)
            lab.run_all(page, NB)
            errors = lab.cell_errors(page, NB)
            if errors:
                raise RuntimeError("chapter 1 failed in Lab:\n" + "\n".join(errors))
            lab.reveal(page.locator(".qk-explorer"))
            for _ in range(repeat):
                _python_to_view(page, lab, WARMUP)
                to_view.append(_python_to_view(page, lab, SAMPLES))
                _view_to_python(page, lab, WARMUP)
                to_python.append(_view_to_python(page, lab, SAMPLES))
        finally:
            chromium.close()

    print(f"explorer-lab: {repeat} batch(es) of {SAMPLES} round trips each way", file=sys.stderr)
    rows = []
    for name, batches in [("Python -> view (set query -> readout)", to_view),
                          ("view -> Python (key press -> kernel trait)", to_python)]:
        pooled = [x for batch in batches for x in batch]
        medians = [statistics.median(batch) for batch in batches]
        rows.append(Row(f"explorer in Lab, {name}", statistics.median(pooled), medians, "ms", TARGET_MS))
        rows.append(Row(f"explorer in Lab, {name}, p90", _p90(pooled), [_p90(b) for b in batches], "ms", None))
    return rows


SUITES = {"explorer-lab": bench_lab}
