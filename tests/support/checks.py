"""Helpers for the tests of the exercise checks: the one line a check prints, and the chapter's own
stub or given function, run as the chapter defines it."""

from __future__ import annotations

from pathlib import Path

import nbformat


def one_line(capsys) -> str:
    """The one line a check printed (asserting that it printed exactly one)."""
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return out[0]


def chapter_function(chapter: Path, name: str, namespace: dict) -> object:
    """Run the chapter's code cell that defines ``name`` (its stub or given function, not the solution)
    in ``namespace`` and return the function."""
    nb = nbformat.read(chapter, as_version=4)
    [source] = [c.source for c in nb.cells if c.cell_type == "code" and f"def {name}(" in c.source
                and "_solution" not in c.source]
    exec(source, namespace)
    return namespace[name]
