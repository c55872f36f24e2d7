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

Writing the copies never touches a teacher's file and is all or nothing:

- ``out`` may not be ``source``, lie inside it, or hold it (paths are compared after
  resolving symbolic links), and no copy may lead into ``source`` through a link;
- an existing file in ``out`` is replaced only with ``force=True`` (``--force``);
- every notebook is read and stripped before anything is written, so a malformed
  notebook (one ``ValueError`` line naming it) leaves ``out`` as it was; then each copy
  goes to a temporary file beside its target and is moved in with ``os.replace``, and
  a failure while writing removes what this run added.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
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


def _read_text(path: Path) -> str:
    """The text of a notebook file; unreadable or non-UTF-8 bytes are one ValueError line."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                         "save it as UTF-8") from None


def _parse_json(text: str, path: Path) -> object:
    if not text.strip():
        raise ValueError(f"{path} is empty, not a notebook")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise ValueError(f"{path} is not a notebook: its JSON nests too deeply") from None


def _upgrade(data: dict, path: Path) -> dict:
    """An nbformat 3 notebook (cells in 'worksheets') as nbformat 4, as nbformat.read did."""
    try:
        return nbformat.convert(nbformat.versions[3].to_notebook_json(data), 4)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path} is an nbformat 3 notebook that cannot be converted to nbformat 4 "
                         f"({type(e).__name__}: {e})") from None


def _kind(value: object) -> str:
    return type(value).__name__


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_shape(data: object, path: Path) -> None:
    """What strip_solutions relies on: a dict of nbformat 4 whose cells all have a type and a source."""
    if not isinstance(data, dict):
        raise ValueError(f"{path} is JSON but not a notebook: a {_kind(data)} instead of an object with 'cells'")
    if "cells" not in data:
        raise ValueError(f"{path} is JSON but not a notebook: it has no 'cells'")
    if not isinstance(data["cells"], list):
        raise ValueError(f"{path}: 'cells' is a {_kind(data['cells'])}, not a list")
    if type(data.get("nbformat")) is not int or data["nbformat"] != 4:   # not 4.0, which nbformat trips on
        raise ValueError(f"{path} is not an nbformat 4 notebook ('nbformat' is {data.get('nbformat')!r})")
    if type(data.get("nbformat_minor")) is not int:
        raise ValueError(f"{path}: 'nbformat_minor' must be an integer; got {data.get('nbformat_minor')!r}")
    for index, cell in enumerate(data["cells"]):
        where = f"{path}: cell {index}"
        if not isinstance(cell, dict):
            raise ValueError(f"{where} is a {_kind(cell)}, not an object")
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise ValueError(f"{where} has cell_type {cell.get('cell_type')!r}; expected code, markdown or raw")
        source = cell.get("source")
        if source is None:
            raise ValueError(f"{where} has no 'source'")
        lines = source if isinstance(source, list) else [source]
        if not all(isinstance(line, str) for line in lines):
            raise ValueError(f"{where}: 'source' must be text or a list of lines; got {_clip(repr(source))}")


def _read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read one notebook as nbformat 4; anything malformed is one ValueError line naming the file."""
    data = _parse_json(_read_text(path), path)
    if isinstance(data, dict) and data.get("nbformat") == 3 and "worksheets" in data:
        data = _upgrade(data, path)
    _check_shape(data, path)
    nb = nbformat.from_dict(data)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:                # the first schema error, in one short line
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path).lstrip(".")
        raise ValueError(f"{path} is not a valid notebook: {where or 'top level'}: {_clip(e.message)}") from None
    return nbformat.versions[4].to_notebook_json(nb)   # line lists joined, as nbformat.read does


def _inside(inner: Path, outer: Path) -> bool:
    """Whether ``inner`` is the folder ``outer`` or below it: its real path (links and '..' resolved)
    passes through that folder, compared by device and inode so that letter case is no way round."""
    if not outer.is_dir():
        return False
    here, real = outer.stat(), inner.resolve()
    return any(os.path.samestat(p.stat(), here) for p in (real, *real.parents) if p.is_dir())


def _shown(path: Path) -> str:
    """A path as given, with where it leads when links or '..' change that."""
    real = path.resolve()
    return str(path) if path.absolute() == real else f"{path} (that is {real})"


def _check_folders(source: Path, out: Path) -> None:
    if _inside(out, source) and _inside(source, out):
        raise ValueError(f"out {_shown(out)} is the source folder {_shown(source)}: learner copies "
                         "would overwrite the chapters; choose another folder")
    if _inside(out, source):
        raise ValueError(f"out {_shown(out)} is inside source {_shown(source)}: learner copies would "
                         "overwrite or mix with the notebooks there; choose a folder outside it")
    if _inside(source, out):
        raise ValueError(f"source {_shown(source)} is inside out {_shown(out)}: learner copies could "
                         "overwrite the chapters; choose an out folder that does not hold them")


def _check_targets(targets: list[Path], source: Path, force: bool) -> None:
    """Refuse a copy that would go into ``source``, land on a folder, or replace a file without ``force``.

    A target that is itself a link is an existing file like any other: ``force`` replaces the link.
    """
    for target in targets:
        if _inside(target.parent, source):
            raise ValueError(f"{target} leads into source {source} through a symbolic link: "
                             "learner copies would overwrite the chapters")
        if target.is_dir():
            raise IsADirectoryError(f"{target} is a folder; move it away, a learner copy needs that name")
        folder = next(p for p in (target.parent, *target.parents) if p.exists())
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder} is a file, not a folder: {target} cannot be written")
    existing = [t for t in targets if os.path.lexists(t)]
    if existing and not force:
        more = f" (and {len(existing) - 1} more of the learner copies)" if len(existing) > 1 else ""
        raise FileExistsError(f"{existing[0]} already exists{more}; pass --force to replace them")


def _make_folders(folder: Path, made: list[Path]) -> None:
    """Create ``folder`` and its missing parents, recording in ``made`` each folder created here."""
    for p in reversed([p for p in (folder, *folder.parents) if not p.exists()]):
        with contextlib.suppress(FileExistsError):     # made by someone else meanwhile: not ours to remove
            p.mkdir()
            made.append(p)


def _write_all(copies: dict[Path, str]) -> None:
    """Write every copy to a temporary file beside its target, then move each into place;
    on any failure remove the temporary files, the new copies and the folders made here."""
    made, temps, added = [], [], []
    try:
        for target, text in copies.items():
            _make_folders(target.parent, made)
            temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # the umask applies, as for open()
            temps.append(temp)
            with os.fdopen(fd, "wb") as f:
                f.write(text.encode("utf-8"))
        for temp, target in zip(temps, copies):
            new = not os.path.lexists(target)
            os.replace(temp, target)
            if new:
                added.append(target)
    except BaseException:
        for path in [*temps, *added]:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def write_student_copies(source: str | Path, out: str | Path, force: bool = False) -> list[Path]:
    """Write a learner copy of every chapter notebook under ``source`` into ``out``; return the paths.

    All or nothing, and never onto a teacher's file (see the module docstring): raises ValueError
    for folders that overlap or a malformed notebook, FileExistsError for copies that exist
    already unless ``force``, and writes nothing in either case.
    """
    source, out = Path(source), Path(out)
    if source.exists() and not source.is_dir():
        raise NotADirectoryError(f"source {source} is a file, not a folder of notebooks")
    if not source.is_dir():
        raise FileNotFoundError(f"source folder {source} does not exist (expected the chapters/ folder)")
    _check_folders(source, out)
    notebooks = sorted(p for p in source.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not notebooks:
        raise FileNotFoundError(f"no .ipynb notebooks found under {source}")
    copies = {}
    for path in notebooks:
        nb = strip_solutions(_read_notebook(path), name=str(path))
        text = nbformat.writes(nb)
        copies[out / path.relative_to(source)] = text if text.endswith("\n") else text + "\n"
    _check_targets(list(copies), source, force)
    _write_all(copies)
    return list(copies)
