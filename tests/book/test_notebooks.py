"""The chapters as files: no outputs in git, in the table of contents, exercises well formed."""

import re

import nbformat
import pytest
import yaml

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


def test_every_exercise_has_a_stub_a_check_and_a_checked_solution(notebook):
    path, nb = notebook
    labels = re.findall(r"\{exercise\}[^\n]*\n:label: (\S+)", "\n".join(c.source for c in nb.cells))
    assert len(labels) >= 2, f"{path.name}: at least two exercises"
    for label in labels:
        start = next(i for i, c in enumerate(nb.cells) if f"{{solution-start}} {label}" in c.source)
        solution = "\n".join(c.source for c in nb.cells[start:] if c.cell_type == "code").split("{solution-end}")[0]
        assert re.search(r"assert check\.\w+\(\w+_solution\)", solution), f"{label}: the solution must assert its check"
        before = [c.source for c in nb.cells[:start] if c.cell_type == "code"]
        assert any("raise NotImplementedError" in s for s in before), f"{label}: no stub cell"
        assert any(s.startswith("check.") for s in before), f"{label}: no check cell"


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
