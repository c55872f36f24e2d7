"""Learner copies: solutions removed, stubs kept, and the copies run top to bottom."""

import re

import nbclient
import nbformat
import pytest

from attn_course.__main__ import main
from attn_course.student import strip_solutions, write_student_copies
from support.browser import chromium_path
from support.paths import CHAPTERS, ROOT


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s) if kind == "md" else nbformat.v4.new_code_cell(s) for kind, s in cells]
    return nb


GATED = _nb(
    ("md", "```{exercise} E\n:label: ex-e\n```"),
    ("code", "def f():\n    raise NotImplementedError"),
    ("code", "check.f(f);"),
    ("md", "````{solution-start} ex-e\n:class: dropdown\n````\nWhy it works."),
    ("code", "def f_solution():\n    return 1"),
    ("md", "````{solution-end}\n````\n\n## Next section"),
    ("code", "x = 1"),
)


def test_strip_solutions_drops_exactly_the_solution():
    stripped = strip_solutions(GATED)
    sources = [c.source for c in stripped.cells]
    # The heading after the end marker shares its cell, and stays.
    assert sources == [GATED.cells[i].source for i in (0, 1, 2)] + ["## Next section", "x = 1"]
    assert stripped.cells[3].id == GATED.cells[5].id
    assert len(GATED.cells) == 7 and GATED.cells[5].source.startswith("````{solution-end}")   # input unchanged


def test_strip_solutions_keeps_text_before_a_start_marker():
    nb = _nb(("md", "Try it first.\n\n:::{solution-start} ex-e\n:class: dropdown\n:::\nThe answer."),
             ("code", "f_solution = 1"),
             ("md", ":::{solution-end}\n:::"))
    assert [c.source for c in strip_solutions(nb).cells] == ["Try it first."]


def test_strip_solutions_clears_outputs():
    nb = _nb(("code", "1 + 1"))
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
    nb.cells[0].execution_count = 1
    cell = strip_solutions(nb).cells[0]
    assert cell.outputs == [] and cell.execution_count is None


START, END = "```{solution-start} a\n```", "```{solution-end}\n```"


@pytest.mark.parametrize("cells, message", [
    ([("md", START), ("code", "x")], "never closed"),
    ([("md", END)], "never opened"),
    ([("md", START), ("md", START.replace(" a", " b")), ("md", END)], "inside another"),
    ([("md", f"{START}\n\n{START}"), ("md", END)], "inside another"),
    ([("md", "{solution-start} a"), ("md", END)], "not a fenced directive"),
    ([("md", START), ("md", "text ```{solution-end}```")], "not a fenced directive"),
])
def test_strip_solutions_rejects_broken_markers(cells, message):
    with pytest.raises(ValueError, match=message):
        strip_solutions(_nb(*cells), name="ch.ipynb")


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["student", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: source folder") and err.count("\n") == 1
    assert main(["student", str(ROOT / "chapters"), str(ROOT / "chapters")]) == 2
    assert "overwrite" in capsys.readouterr().err


def test_learner_copies_of_the_chapters_go_into_a_fresh_folder(tmp_path):
    """As the Lab fixture does it: each copy is its chapter stripped, the chapters stay byte-identical,
    and a second run refuses to replace the copies unless forced (tests/hostile/ tries harder)."""
    before = {p: p.read_bytes() for p in CHAPTERS}
    out = tmp_path / "root" / "student"
    written = write_student_copies(ROOT / "chapters", out)
    assert written == [out / p.name for p in CHAPTERS]
    for path, copy in zip(CHAPTERS, written):
        assert nbformat.read(copy, as_version=4) == strip_solutions(nbformat.read(path, as_version=4))
    assert sorted(out.iterdir()) == written                                     # no temporary files left
    with pytest.raises(FileExistsError, match=re.escape(f"{written[0]} already exists (and {len(written) - 1} more")):
        write_student_copies(ROOT / "chapters", out)
    assert write_student_copies(ROOT / "chapters", out, force=True) == written
    assert {p: p.read_bytes() for p in CHAPTERS} == before


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_learner_copies_keep_every_heading_and_exercise(path):
    nb = nbformat.read(path, as_version=4)
    copy = "\n".join(c.source for c in strip_solutions(nb).cells if c.cell_type == "markdown")
    original = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    headings = re.findall(r"(?m)^#{1,6} .+$", original)
    exercises = re.findall(r"\{exercise\}[^\n]*\n:label: \S+", original)
    assert headings and exercises
    for line in headings + exercises:
        assert line in copy, f"{path.name}: the learner copy lost {line!r}"
    assert "{solution" not in copy


def test_every_chapter_solution_is_gated():
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        code = "\n".join(c.source for c in strip_solutions(nb).cells if c.cell_type == "code")
        assert "_solution" not in code, f"{path.name}: a solution escapes the solution-start/end markers"


@pytest.mark.slow
def test_learner_copies_run_top_to_bottom(tmp_path):
    """Each copy executes in a fresh kernel; every check says 'not attempted yet'.

    Where Chromium is installed, tests/lab/test_chapters.py runs the same copies in JupyterLab,
    as a learner does, and checks the same; this kernel-only run is then skipped.
    """
    if chromium_path():
        pytest.skip("learner copies run in JupyterLab instead (tests/lab/test_chapters.py)")
    written = write_student_copies(ROOT / "chapters", tmp_path)
    assert [p.name for p in written] == [p.name for p in CHAPTERS]
    for path in written:
        nb = nbformat.read(path, as_version=4)
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
        texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("check.")]
        assert checks, f"{path.name} has no exercise checks"
        for cell in checks:
            out = "".join(o.get("text", "") for o in cell.outputs)
            assert "not attempted yet" in out, f"{path.name}: {cell.source!r} printed {out!r}"
        assert not any("✅" in t for t in texts), "a learner copy should pass no exercise by itself"


def test_learner_copies_keep_the_colab_setup_cell():
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        copy = strip_solutions(nb)
        assert copy.cells[0].source == nb.cells[0].source and "colab-setup" in copy.cells[0].metadata["tags"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_learner_copies_keep_the_machinery_collapsed(path):
    """The build-only cells (glue, asserts, setup) stay collapsed in JupyterLab in the learner copies too."""
    chapter = nbformat.read(path, as_version=4)
    copy = strip_solutions(chapter, name=path.name)
    hidden = [c for c in copy.cells if "remove-cell" in c.metadata.get("tags", [])]
    assert hidden and all(c.metadata.get("jupyter", {}).get("source_hidden") for c in hidden)
