"""Learner copies of the chapters: the same notebooks without the solution cells.

Solutions are gated in the chapters by sphinx-exercise markers, each in a
markdown cell of its own::

    ```{solution-start} ex-weights
    :class: dropdown
    ```
    ... solution cells ...
    ```{solution-end}
    ```

A learner copy drops every cell from a ``solution-start`` marker to its
``solution-end`` marker, both included, and clears all outputs. The exercise
stubs stay, so the checks in a learner copy report "not attempted yet".
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

__all__ = ["strip_solutions", "write_student_copies"]

_START = re.compile(r"\{solution-start\}")
_END = re.compile(r"\{solution-end\}")


def strip_solutions(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return a copy of ``nb`` without solution cells and without outputs."""
    nb = nbformat.from_dict(nb)  # a deep copy
    kept, inside = [], False
    for index, cell in enumerate(nb.cells):
        is_md = cell.cell_type == "markdown"
        starts, ends = is_md and bool(_START.search(cell.source)), is_md and bool(_END.search(cell.source))
        if starts and inside:
            raise ValueError(f"{name}: cell {index} opens a solution inside another one (missing solution-end)")
        if ends and not (inside or starts):
            raise ValueError(f"{name}: cell {index} closes a solution that was never opened")
        if starts or inside:
            inside = not ends
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        kept.append(cell)
    if inside:
        raise ValueError(f"{name}: a solution is never closed (missing solution-end)")
    nb.cells = kept
    return nb


def write_student_copies(source: str | Path, out: str | Path) -> list[Path]:
    """Write a learner copy of every chapter notebook under ``source`` into ``out``; return the paths."""
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise FileNotFoundError(f"source folder {source} does not exist (expected the chapters/ folder)")
    notebooks = sorted(p for p in source.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not notebooks:
        raise FileNotFoundError(f"no .ipynb notebooks found under {source}")
    if out.resolve() == source.resolve():
        raise ValueError(f"out must differ from source ({source}): learner copies would overwrite the chapters")
    written = []
    for path in notebooks:
        target = out / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        nb = strip_solutions(nbformat.read(path, as_version=4), name=str(path))
        nbformat.write(nb, target)
        written.append(target)
    return written
