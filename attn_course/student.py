"""Learner copies of the chapters: the same notebooks without the solutions.

Solutions are gated in the chapters by sphinx-exercise markers, fenced directives
in markdown cells::

    ````{solution-start} ex-weights
    :class: dropdown
    ````
    Why it works (prose of the solution).

    ... solution code cells ...

    ````{solution-end}
    ````

    ## The next section

A learner copy drops everything from a ``solution-start`` marker to its
``solution-end`` marker, markers included: whole cells in between, and the part of
a markdown cell after a start marker or before an end marker. Text outside the
markers stays, so a heading or an exercise that shares a cell with a marker is
kept. All outputs are cleared. The exercise stubs stay, so the checks in a learner
copy report "not attempted yet".
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

__all__ = ["strip_solutions", "write_student_copies"]

# A fenced marker: the opening line, option lines (`:class: dropdown`), the closing fence.
_MARKER = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{solution-(?P<kind>start|end)\}[^\n]*\n"
    r"(?:[ \t]*:[^\n]*\n)*"
    r"(?P=fence)[ \t]*$",
    re.M,
)
_ANY_MARKER = re.compile(r"\{solution-(start|end)\}")


def _split(source: str, where: str) -> list[tuple[str, str]]:
    """A markdown cell as [(kind, text)]: kind 'text', 'start' or 'end' (markers carry no text)."""
    parts, pos = [], 0
    for m in _MARKER.finditer(source):
        parts += [("text", source[pos:m.start()]), (m["kind"], "")]
        pos = m.end()
    parts.append(("text", source[pos:]))
    if any(_ANY_MARKER.search(text) for kind, text in parts if kind == "text"):
        raise ValueError(f"{where} has a solution marker that is not a fenced directive "
                         "(```{solution-start} label ... ``` or ```{solution-end} ```)")
    return parts


def strip_solutions(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return a copy of ``nb`` without its solutions and without outputs."""
    nb = nbformat.from_dict(nb)  # a deep copy
    kept, inside = [], False
    for index, cell in enumerate(nb.cells):
        where = f"{name}: cell {index}"
        parts = _split(cell.source, where) if cell.cell_type == "markdown" else [("text", cell.source)]
        if len(parts) == 1:                         # no marker: the whole cell is in or out
            if not inside:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
                kept.append(cell)
            continue
        text = []
        for kind, piece in parts:
            if kind == "start":
                if inside:
                    raise ValueError(f"{where} opens a solution inside another one (missing solution-end)")
                inside = True
            elif kind == "end":
                if not inside:
                    raise ValueError(f"{where} closes a solution that was never opened")
                inside = False
            elif not inside and piece.strip():
                text.append(piece.strip("\n"))
        if text:                                    # what the cell says outside the solution
            cell.source = "\n\n".join(text)
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
