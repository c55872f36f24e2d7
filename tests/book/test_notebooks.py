"""The chapters as files: no outputs in git, in the table of contents, exercises well formed."""

import re

import nbformat
import pytest
import yaml

from attn_course.check._engine import registry
from support.paths import CHAPTERS, ROOT


@pytest.fixture(params=CHAPTERS, ids=lambda p: p.name)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks in chapters/"


def test_committed_without_outputs(notebook):
    path, nb = notebook
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them (the build executes the notebooks)"


def test_the_setup_cell_then_the_title(notebook):
    """The Colab setup cell (tests/book/test_launch.py) comes first, then the chapter's title."""
    path, nb = notebook
    assert "colab-setup" in nb.cells[0].metadata.get("tags", []), f"{path.name}: run scripts/set_repository.py"
    assert nb.cells[1].cell_type == "markdown" and nb.cells[1].source.startswith("# ")


def test_build_only_cells_are_collapsed_in_jupyterlab(notebook):
    """Cells the book removes (glue, the asserts that prove the prose, the setup cell) are machinery:
    JupyterLab and Notebook 7 show them collapsed (cell metadata jupyter.source_hidden), so a learner
    running a chapter, or its learner copy, sees the lesson."""
    path, nb = notebook
    open_cells = [i for i, c in enumerate(nb.cells) if "remove-cell" in c.metadata.get("tags", [])
                  and c.metadata.get("jupyter") != {"outputs_hidden": True, "source_hidden": True}]
    assert not open_cells, f"{path.name}: cells {open_cells} are removed from the book but open in JupyterLab"


def test_every_chapter_is_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {c["file"] for part in toc["parts"] for c in part["chapters"]}
    for path in CHAPTERS:
        assert f"chapters/{path.stem}" in files, f"{path.name} is missing from _toc.yml"


def _exercise_cells(nb) -> dict[str, tuple[list[str], list[str]]]:
    """Each exercise label: (the code cells before its solution, the code cells of its solution)."""
    labels = re.findall(r"\{exercise\}[^\n]*\n:label: (\S+)", "\n".join(c.source for c in nb.cells))
    found = {}
    for label in labels:
        start = next(i for i, c in enumerate(nb.cells) if f"{{solution-start}} {label}" in c.source)
        end = next(i for i, c in enumerate(nb.cells) if i > start and "{solution-end}" in c.source)
        box = max(i for i, c in enumerate(nb.cells[:start]) if f":label: {label}" in c.source)
        code = [c.source for c in nb.cells[box:start] if c.cell_type == "code"]
        found[label] = code, [c.source for c in nb.cells[start:end] if c.cell_type == "code"]
    return found


def test_every_exercise_has_a_stub_a_check_and_a_checked_solution(notebook):
    """Between its box and its solution, each exercise has its stub (by kind: a function raising
    NotImplementedError, a blank prediction `= ...`, or the function with the bug) and its check
    cell; its solution asserts the same check."""
    path, nb = notebook
    exercises = registry()
    found = _exercise_cells(nb)
    assert len(found) >= 3, f"{path.name}: at least three exercises"
    for label, (before, solution) in found.items():
        checks = [m for s in before for m in re.findall(r"^check\.(\w+)\(", s, re.M)]
        assert len(checks) == 1 and checks[0] in exercises, f"{label}: one check cell of a known exercise, got {checks}"
        entry = exercises[checks[0]]
        assert any(re.search(rf"^assert check\.{entry.name}\(", s, re.M) for s in solution), \
            f"{label}: the solution must assert check.{entry.name}(...)"
        stub = {"build": r"raise NotImplementedError",
                "predict": r"^\w+_prediction = \.\.\.",
                "bug": rf"^(@.*\n)*def {entry.name}\("}[entry.kind]
        assert any(re.search(stub, s, re.M) for s in before), f"{label}: no {entry.kind} stub ({stub})"


def test_every_exercise_of_the_package_is_in_its_chapter():
    """check.<name> for each registered exercise appears in the chapter its module names, and nowhere else."""
    where: dict[str, set[int]] = {}
    for number, path in enumerate(CHAPTERS, start=1):
        nb = nbformat.read(path, as_version=4)
        for before, _ in _exercise_cells(nb).values():
            for name in (m for s in before for m in re.findall(r"^check\.(\w+)\(", s, re.M)):
                where.setdefault(name, set()).add(number)
    expected = {n: {int(e.chapter.split()[0])} for n, e in registry().items()}
    assert where == expected


def test_every_figure_has_alt_text_and_a_caption(notebook):
    path, nb = notebook
    for cell in nb.cells:
        if cell.cell_type == "code" and re.search(r"^fig = plot_", cell.source, re.M):
            meta = cell.metadata.get("mystnb", {})
            assert meta.get("image", {}).get("alt"), f"{path.name}: a figure cell has no alt text:\n{cell.source}"
            assert meta.get("figure", {}).get("caption"), f"{path.name}: a figure cell has no caption"


def test_no_path_hacks(notebook):
    path, nb = notebook
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "sys.path" not in code and "import *" not in code and "%run" not in code


def test_visible_code_fits_the_page(notebook):
    """A code line longer than the page is wide makes its cell a horizontally scrolling region that a
    keyboard cannot reach (axe "scrollable-region-focusable"): 74 characters fit the book's column, 68 the
    narrower box of a solution."""
    path, nb = notebook
    inside, long = False, []
    for c in nb.cells:
        if c.cell_type == "markdown":
            inside = (inside or "{solution-start}" in c.source) and "{solution-end}" not in c.source
        elif "remove-cell" not in c.metadata.get("tags", []):
            width = 68 if inside else 74
            long += [(c.get("id"), width, line) for line in c.source.splitlines() if len(line) > width]
    assert not long, f"{path.name}: code lines too long for the page: {long}"
