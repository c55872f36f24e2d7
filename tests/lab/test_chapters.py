"""Every chapter and every learner copy in JupyterLab, as a learner runs it.

One Lab server for the whole run (conftest's `lab`): a temporary copy of the chapters,
with the learner copies (`python -m attn_course student`) in its student/ folder,
autosave off. For each notebook, one at a time: open it, wait until the kernel is
really connected, Run All, then check that

- no cell shows an error or writes to stderr, and every code cell ran;
- every exercise renders as a box (jupyterlab-myst), no directive shows as raw text;
  a chapter's solutions are closed dropdowns, a learner copy has none;
- the checks say "not attempted yet" for the stubs and pass for the chapter's
  solutions; in a learner copy every check says "not attempted yet" and none passes;
- each explorer answers an arrow key, the kernel sees the change, and no Lab
  shortcut fires; a widget that is no known explorer fails the test;
- the page logged no error and made no failed or external request.

Then the notebook's kernel is shut down and its panel closed (without saving). The
source notebooks must come out byte-identical (checked here and in conftest).
tests/lab/test_explorers.py drives chapter 1's explorer both ways in more detail.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

import pytest

from support.browser import chromium
from support.paths import CHAPTERS, ROOT
from support.lab import (
    active_cell_state, cell_errors, cells, close_notebook, evaluate, execute, new_page, open_notebook, page_problems,
    reveal, run_all, wait_for_kernel,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.lab]

ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOKS = [p.name for p in CHAPTERS] + [f"student/{p.name}" for p in CHAPTERS]


@dataclass(frozen=True)
class Explorer:
    """A live view in a chapter: its variable, its root element, what an arrow key moves."""

    variable: str       # the name the chapter gives it
    root: str           # CSS selector of its view
    key_target: str     # the element that takes the arrow keys
    trait: str          # the trait an arrow key changes


EXPLORERS = {
    "01_self_attention": Explorer("walk_explorer", ".qk-explorer", ".qk-query", "query"),
    "04_attention_encoder_decoder": Explorer("stepper", ".ds-stepper", ".ds-figure", "step"),
    "05_attention_layers": Explorer("explorer", ".mh-explorer", ".mh-query", "query_offset"),
}
NOT_EXPLORERS = ".widget-hprogress, .widget-hbox:has(.widget-hprogress)"     # tqdm's bars while training


@dataclass
class Opened:
    """A notebook open in Lab after Run All."""

    name: str           # its path in the served copy, e.g. 'student/01_self_attention.ipynb'
    page: object
    panel: str          # CSS selector of its panel
    cells: list[dict]   # lab.cells() right after Run All
    seconds: float      # Run All, wall time

    @property
    def stem(self) -> str:
        return self.name.rsplit("/", 1)[-1].removesuffix(".ipynb")

    @property
    def learner_copy(self) -> bool:
        return self.name.startswith("student/")


@pytest.fixture(scope="module")
def page(lab):
    with chromium() as browser:
        page = new_page(browser)
        yield page
        page.close()


@pytest.fixture(scope="module", params=NOTEBOOKS)
def notebook(request, lab, page):
    name = request.param
    source = CHAPTERS[0].parent / name.removeprefix("student/")
    before = source.read_bytes()
    page.log.clear()
    page.error_stacks.clear()
    open_notebook(page, lab, name)
    wait_for_kernel(page, name)
    start = time.monotonic()
    run_all(page, name, timeout=180)
    seconds = time.monotonic() - start
    panel = "#" + evaluate(page, name, "return notebook.id;")
    yield Opened(name, page, panel, cells(page, name), seconds)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"lab_{name.replace('/', '_').removesuffix('.ipynb')}.png"))
    close_notebook(page, name)
    assert source.read_bytes() == before, f"{source} changed while Lab ran {name}"


def exercise_labels(notebook: Opened) -> list[str]:
    return re.findall(r"\{exercise\}[^\n]*\n:label: (\S+)", "\n".join(c["source"] for c in notebook.cells))


def stdout(cell: dict) -> str:
    return "".join(o["text"] for o in cell["outputs"] if o["name"] == "stdout").strip()


def test_runs_all_cells_without_errors(notebook):
    assert cell_errors(notebook.page, notebook.name) == []
    code = [c for c in notebook.cells if c["type"] == "code"]
    assert code and all(c["execution_count"] is not None for c in code), "Run All stopped before the last cell"
    print(f"{notebook.name}: Run All in {notebook.seconds:.1f} s")


def test_exercises_render_as_boxes(notebook):
    page, labels = notebook.page, exercise_labels(notebook)
    assert len(labels) >= 3, f"{notebook.name}: expected at least three exercises"
    for label in labels:
        box = page.locator(f"{notebook.panel} .jp-MarkdownCell .myst aside.myst-exercise#{label}")
        assert box.count() == 1, f"no rendered exercise box #{label}: is jupyterlab-myst enabled?"
        reveal(box)                         # off-screen cells are not rendered: innerText would be ''
        assert re.fullmatch(r"Exercise \d+ \(.+\)", box.locator(".myst-exercise-title").inner_text().strip())
        body = box.locator(".myst-exercise-body").inner_text().strip()
        assert len(body) > 40 and ":label:" not in body and "```" not in body, f"#{label}: {body[:80]!r}"
        style = box.evaluate("e => { const s = getComputedStyle(e); return [s.display, s.boxShadow]; }")
        assert style[0] == "block" and style[1] != "none", f"#{label} is not drawn as a box: {style}"
        assert box.bounding_box()["height"] > 40
        solution = page.locator(f"{notebook.panel} .jp-MarkdownCell .myst details.myst-exercise"
                                f":has(a[href='#{label}'])")
        if notebook.learner_copy:
            assert solution.count() == 0, f"a learner copy shows the solution to #{label}"
        else:
            assert solution.count() == 1
            reveal(solution)                # a prediction's solution lies further down, after the experiment
            assert "Solution to" in solution.locator("summary").inner_text()
            assert solution.get_attribute("open") is None, f"the solution to #{label} is open on load"


def test_no_directive_shows_as_raw_text(notebook):
    rendered = notebook.page.locator(f"{notebook.panel} .jp-MarkdownCell .myst").evaluate_all(
        "els => els.map(e => e.textContent)")
    assert rendered, "no markdown cell rendered by jupyterlab-myst"
    raw = [t[:80] for t in rendered if re.search(r"\{(exercise|solution-start|solution-end|glue)", t)]
    assert not raw, f"directives shown as raw text: {raw}"


def test_checks_report_what_a_learner_needs(notebook):
    stubs, solutions, inside = {}, {}, False
    for c in notebook.cells:          # a solution's check lies between its solution-start and -end markers
        if c["type"] == "markdown":
            inside = (inside or "{solution-start}" in c["source"]) and "{solution-end}" not in c["source"]
        elif re.search(r"^(assert )?check\.(?!use\()\w+\(", c["source"], re.M):
            (solutions if inside else stubs)[c["source"].strip()] = stdout(c)
    labels = exercise_labels(notebook)
    assert len(stubs) == len(labels), f"one check per exercise: {list(stubs)}"
    for source, out in stubs.items():
        assert "not attempted yet" in out and "✅" not in out, (source, out)
    if notebook.learner_copy:
        assert not solutions
        everything = [o["text"] for c in notebook.cells if c["type"] == "code" for o in c["outputs"]]
        assert not any("✅" in t for t in everything), "a learner copy passes an exercise by itself"
    else:
        assert len(solutions) == len(labels)
        for source, out in solutions.items():
            assert out.startswith("✅"), (source, out)
    shown = notebook.page.locator(f"{notebook.panel} .jp-OutputArea-output").evaluate_all(
        "els => els.map(e => e.textContent).join('\\n')")
    for out in stubs.values():
        assert out in shown, f"a check's line is not on the page: {out}"


def kernel_trait(notebook: Opened, explorer: Explorer) -> object:
    return json.loads(execute(notebook.page, notebook.name,
                              f"import json; print(json.dumps({explorer.variable}.{explorer.trait}))"))


def wait_for_trait(notebook: Opened, explorer: Explorer, done, timeout: float = 10.0) -> object:
    """Poll the kernel until done(value) (or time is up); return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = kernel_trait(notebook, explorer)
        if done(value) or time.monotonic() > deadline:
            return value
        notebook.page.wait_for_timeout(50)


def test_explorers_answer_the_keyboard_and_the_kernel_sees_it(notebook):
    page, explorer = notebook.page, EXPLORERS.get(notebook.stem)
    # Each widget output is a Lumino panel in the output area: tqdm's bars, or an explorer.
    roots = ", ".join(e.root for e in EXPLORERS.values())
    found = page.locator(f"{notebook.panel} .jp-OutputArea-output.lm-Panel").evaluate_all(
        "(els, [bars, roots]) => els.filter(e => !e.querySelector(bars))"
        ".map(e => (e.querySelector(roots) || {className: e.innerHTML.slice(0, 80)}).className)",
        [NOT_EXPLORERS, roots])
    if explorer is None:
        assert found == [], f"{notebook.name} shows a widget that is no known explorer: {found}; add it to EXPLORERS"
        return
    assert len(found) == 1 and explorer.root[1:] in found[0].split(), f"{notebook.name}: {found}"
    views = page.locator(f"{notebook.panel} {explorer.root}")
    assert views.count() == 1, f"{explorer.root} is not rendered in {notebook.name}"
    target = views.locator(explorer.key_target).first
    reveal(target)
    start = kernel_trait(notebook, explorer)
    target.focus()
    before = active_cell_state(page, notebook.name)

    page.keyboard.press("ArrowRight")
    moved = wait_for_trait(notebook, explorer, lambda v: v != start)
    assert moved != start, f"ArrowRight on {explorer.key_target} did not reach {explorer.variable}.{explorer.trait}"
    page.keyboard.press("ArrowLeft")
    assert wait_for_trait(notebook, explorer, lambda v: v == start) == start, "ArrowLeft did not undo ArrowRight"
    assert active_cell_state(page, notebook.name) == before, "a JupyterLab shortcut fired"


def test_page_logged_no_errors(notebook):
    problems = page_problems(notebook.page)
    assert not problems, "\n".join(problems)

