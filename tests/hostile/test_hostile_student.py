"""Learner copies under hostile input: overlapping or linked folders, copies in the way, malformed
notebooks, failures while writing. Every refusal is one line, through the library and the command
line alike, and leaves every file under the test's folder (chapters and copies) as it was."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from attn_course.__main__ import main
from attn_course.student import write_student_copies

Setup = Callable[[Path], tuple[Path, Path]]      # the test's folder -> (source, out)


def _notebook(*cells: dict, **top) -> bytes:
    """A notebook file of the given raw cells; ``top`` overrides its top-level keys."""
    nb = {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5, **top}
    return json.dumps(nb, indent=1).encode()


def _code(source="x = 1", **keys) -> dict:
    return {"id": "c0", "cell_type": "code", "source": source, "metadata": {}, "outputs": [],
            "execution_count": None, **keys}


GOOD = _notebook({"id": "m0", "cell_type": "markdown", "source": "# A chapter", "metadata": {}}, _code())


def _files(folder: Path, files: dict[str, bytes | str]) -> Path:
    """``folder`` holding ``files``: relative path -> bytes, or text for a link to that target."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.symlink_to(content)
        else:
            path.write_bytes(content)
    return folder


def _chapters(folder: Path, files: dict[str, bytes | str] | None = None) -> Path:
    """A source folder: a good a.ipynb, and ``files``."""
    return _files(folder, {"a.ipynb": GOOD, **(files or {})})


def _broken(content: bytes | str) -> Setup:
    """The second notebook, b.ipynb, is ``content``; out is a fresh nested folder."""
    return lambda tmp: (_chapters(tmp / "src", {"b.ipynb": content}), tmp / "new" / "out")


def _out_is_src(tmp):
    src = _chapters(tmp / "src")
    return src, src


def _out_in_src_with_its_own_chapters(tmp):        # today's bug: it overwrote src/extra/ch1.ipynb
    src = _chapters(tmp / "src", {"extra/ch1.ipynb": GOOD})
    return src, src / "extra"


def _out_in_src_fresh(tmp):                        # run twice, it used to write student/student/...
    return _chapters(tmp / "src"), tmp / "src" / "student"


def _src_in_out(tmp):
    return _chapters(tmp / "course" / "chapters"), tmp / "course"


def _out_links_to_src(tmp):
    src = _chapters(tmp / "src")
    (tmp / "link").symlink_to(src)
    return src, tmp / "link"


def _out_below_a_link_to_src(tmp):
    src = _chapters(tmp / "src")
    (tmp / "link").symlink_to(src)
    return src, tmp / "link" / "student"


def _src_is_a_link_into_out(tmp):
    _chapters(tmp / "out" / "chapters")
    (tmp / "link").symlink_to(tmp / "out" / "chapters")
    return tmp / "link", tmp / "out"


def _out_is_src_via_dotdot(tmp):
    src = _chapters(tmp / "src", {"sub/c.ipynb": GOOD})
    return src, src / "sub" / ".."


def _a_folder_of_out_links_into_src(tmp):
    src = _chapters(tmp / "src", {"sub/c.ipynb": GOOD})
    (tmp / "out").mkdir()
    (tmp / "out" / "sub").symlink_to(src / "sub")
    return src, tmp / "out"


def _copies_exist(*names: str) -> Setup:
    def setup(tmp):
        out = _files(tmp / "out", {name: b"my own notes" for name in names})
        return _chapters(tmp / "src", {"b.ipynb": GOOD}), out
    return setup


def _a_copy_links_to_the_teachers_notebook(tmp):
    src = _chapters(tmp / "src")
    (tmp / "out").mkdir()
    (tmp / "out" / "a.ipynb").symlink_to(src / "a.ipynb")
    return src, tmp / "out"


def _a_copy_is_a_folder(tmp):
    (tmp / "out" / "a.ipynb").mkdir(parents=True)
    return _chapters(tmp / "src"), tmp / "out"


def _out_is_a_file(tmp):
    (tmp / "out").write_bytes(b"not a folder")
    return _chapters(tmp / "src"), tmp / "out"


def _src_is_a_file(tmp):
    (tmp / "src").write_bytes(GOOD)
    return tmp / "src", tmp / "out"


def _src_has_no_notebooks(tmp):
    (tmp / "src").mkdir()
    (tmp / "src" / "notes.md").write_text("# no notebooks here")
    return tmp / "src", tmp / "out"


def _a_folder_named_like_a_notebook(tmp):
    return _chapters(tmp / "src", {"b.ipynb/notes.txt": b"x"}), tmp / "new" / "out"


def _unreadable(tmp):
    src = _chapters(tmp / "src", {"b.ipynb": GOOD})
    (src / "b.ipynb").chmod(0)
    return src, tmp / "new" / "out"


@dataclass(frozen=True)
class Case:
    name: str
    setup: Setup
    error: type[Exception]          # exactly this type, not a subclass
    words: tuple[str, ...]          # each appears in the one-line message


MARKERS_NEVER_CLOSED = _notebook({"id": "m0", "cell_type": "markdown", "source": "```{solution-start} a\n```",
                                  "metadata": {}}, _code())
AS_ROOT = os.geteuid() == 0

CASES = [pytest.param(case, id=case.name) for case in [
    # Folders: the copies may never land on a teacher's file, links and '..' included.
    Case("out is source", _out_is_src, ValueError, ("is the source folder", "overwrite")),
    Case("out inside source, with chapters of its own", _out_in_src_with_its_own_chapters, ValueError,
         ("extra is inside source", "overwrite")),
    Case("out inside source, fresh", _out_in_src_fresh, ValueError, ("student is inside source",)),
    Case("source inside out", _src_in_out, ValueError, ("source", "is inside out", "course")),
    Case("out is a link to source", _out_links_to_src, ValueError, ("link (that is", "is the source folder")),
    Case("out below a link to source", _out_below_a_link_to_src, ValueError,
         ("link/student (that is", "inside source")),
    Case("source is a link into out", _src_is_a_link_into_out, ValueError, ("link (that is", "is inside out")),
    Case("out is source via ..", _out_is_src_via_dotdot, ValueError, ("is the source folder",)),
    Case("a folder of out links into source", _a_folder_of_out_links_into_src, ValueError,
         ("sub/c.ipynb leads into source", "symbolic link")),
    # Copies in the way: replaced only with force.
    Case("every copy exists", _copies_exist("a.ipynb", "b.ipynb"), FileExistsError,
         ("a.ipynb already exists (and 1 more", "pass --force to replace them")),
    Case("one copy exists", _copies_exist("b.ipynb"), FileExistsError,
         ("b.ipynb already exists; pass --force to replace them",)),
    Case("a copy links to the teacher's notebook", _a_copy_links_to_the_teachers_notebook, FileExistsError,
         ("a.ipynb already exists", "--force")),
    Case("a copy's name is a folder", _a_copy_is_a_folder, IsADirectoryError, ("a.ipynb is a folder",)),
    Case("out is a file", _out_is_a_file, NotADirectoryError, ("out is a file, not a folder",)),
    Case("source is missing", lambda tmp: (tmp / "src", tmp / "out"), FileNotFoundError, ("src does not exist",)),
    Case("source is a file", _src_is_a_file, NotADirectoryError, ("src is a file",)),
    Case("source holds no notebooks", _src_has_no_notebooks, FileNotFoundError, ("no .ipynb notebooks",)),
    # The second notebook is malformed: one line naming it, and nothing written for the first.
    Case("not JSON", _broken(b'{"cells": [}'), ValueError, ("b.ipynb is not JSON", "line 1, column 12")),
    Case("empty file", _broken(b""), ValueError, ("b.ipynb is empty",)),
    Case("JSON list", _broken(b"[1, 2]"), ValueError, ("b.ipynb is JSON but not a notebook", "a list")),
    Case("JSON without cells", _broken(b'{"metadata": {}}'), ValueError, ("b.ipynb", "has no 'cells'")),
    Case("cells not a list", _broken(b'{"cells": {}}'), ValueError, ("b.ipynb: 'cells' is a dict, not a list",)),
    Case("nbformat 5", _broken(_notebook(nbformat=5)), ValueError, ("b.ipynb is not an nbformat 4 notebook",)),
    Case("nbformat 4.0", _broken(_notebook(nbformat=4.0)), ValueError, ("'nbformat' is 4.0",)),
    Case("nbformat_minor not a number", _broken(_notebook(nbformat_minor="5")), ValueError,
         ("b.ipynb: 'nbformat_minor' must be an integer",)),
    Case("unconvertible nbformat 3", _broken(b'{"nbformat": 3, "worksheets": [3]}'), ValueError,
         ("b.ipynb is an nbformat 3 notebook that cannot be converted",)),
    Case("cell not an object", _broken(_notebook("x = 1")), ValueError, ("b.ipynb: cell 0 is a str",)),
    Case("cell without type", _broken(_notebook({"source": "x"})), ValueError,
         ("b.ipynb: cell 0 has cell_type None",)),
    Case("cell without source", _broken(_notebook(_code(), {"cell_type": "code"})), ValueError,
         ("b.ipynb: cell 1 has no 'source'",)),
    Case("source a number", _broken(_notebook(_code(source=3))), ValueError,
         ("b.ipynb: cell 0: 'source' must be text or a list of lines; got 3",)),
    Case("source lines not text", _broken(_notebook(_code(source=["x\n", None]))), ValueError,
         ("cell 0: 'source' must be text",)),
    Case("invalid output", _broken(_notebook(_code(outputs=[{"output_type": "stream", "name": "stdout"}]))),
         ValueError, ("b.ipynb is not a valid notebook: cells[0].outputs[0]: 'text' is a required property",)),
    Case("no metadata", _broken(b'{"cells": [], "nbformat": 4, "nbformat_minor": 5}'), ValueError,
         ("b.ipynb is not a valid notebook: top level: 'metadata' is a required property",)),
    Case("not UTF-8", _broken(GOOD.replace(b"A chapter", "Ä chapter".encode("latin-1"))), ValueError,
         ("b.ipynb is not UTF-8 text", "byte 0xc4")),
    Case("nests too deeply", _broken(b"[" * 100_000), ValueError, ("b.ipynb", "nests too deeply")),
    Case("dangling link", _broken("nowhere.ipynb"), ValueError, ("b.ipynb: cannot read it", "No such file")),
    Case("a folder named like a notebook", _a_folder_named_like_a_notebook, ValueError,
         ("b.ipynb: cannot read it", "Is a directory")),
    Case("broken solution markers", _broken(MARKERS_NEVER_CLOSED), ValueError, ("b.ipynb", "never closed")),
]] + [
    pytest.param(Case("unreadable file", _unreadable, ValueError, ("b.ipynb: cannot read it", "Permission denied")),
                 marks=pytest.mark.skipif(AS_ROOT, reason="root reads a file whatever its mode"),
                 id="unreadable file"),
]


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every folder, file (with its bytes) and link (with its target) under ``root``."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            key = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_dir():
                found[key] = ("folder",)
            else:
                found[key] = ("file", path.read_bytes() if os.access(path, os.R_OK) else path.stat())
    return found


@pytest.mark.parametrize("case", CASES)
def test_write_student_copies_refuses_in_one_line_and_touches_nothing(case, tmp_path):
    src, out = case.setup(tmp_path)
    before = _snapshot(tmp_path)
    with pytest.raises(case.error) as raised:
        write_student_copies(src, out)
    message = str(raised.value)
    assert type(raised.value) is case.error, f"{type(raised.value).__name__}: {message}"
    assert "\n" not in message and all(w in message for w in case.words), message
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("case", CASES)
def test_the_command_line_refuses_with_one_line_and_exit_code_2(case, tmp_path, capsys):
    src, out = case.setup(tmp_path)
    before = _snapshot(tmp_path)
    assert main(["student", str(src), str(out)]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.startswith("error: ") and printed.err.count("\n") == 1, printed.err
    assert "Traceback" not in printed.err and all(w in printed.err for w in case.words), printed.err
    assert _snapshot(tmp_path) == before


def test_force_replaces_the_copies_and_nothing_else(tmp_path):
    src = _chapters(tmp_path / "src", {"b.ipynb": GOOD})
    fresh = write_student_copies(src, tmp_path / "fresh")
    out = _files(tmp_path / "out", {"a.ipynb": b"old copy", "notes.txt": b"mine"})
    written = write_student_copies(src, out, force=True)
    assert written == [out / "a.ipynb", out / "b.ipynb"]
    assert [p.read_bytes() for p in written] == [p.read_bytes() for p in fresh]
    assert (out / "notes.txt").read_bytes() == b"mine"
    assert sorted(p.name for p in out.iterdir()) == ["a.ipynb", "b.ipynb", "notes.txt"]   # no temporary files


def test_force_replaces_a_link_to_the_teachers_notebook_not_the_notebook(tmp_path):
    src, out = _a_copy_links_to_the_teachers_notebook(tmp_path)
    write_student_copies(src, out, force=True)
    assert not (out / "a.ipynb").is_symlink()
    assert (src / "a.ipynb").read_bytes() == GOOD
    assert nbformat.reads((out / "a.ipynb").read_text(), as_version=4).cells[0].source == "# A chapter"


def test_a_second_run_refuses_until_forced(tmp_path, capsys):
    src = _chapters(tmp_path / "src", {"b.ipynb": GOOD})
    out = tmp_path / "student"
    assert main(["student", str(src), str(out)]) == 0
    first = _snapshot(tmp_path)
    capsys.readouterr()
    assert main(["student", str(src), str(out)]) == 2
    assert "pass --force to replace them" in capsys.readouterr().err
    assert _snapshot(tmp_path) == first
    assert main(["student", str(src), str(out), "--force"]) == 0
    assert _snapshot(tmp_path) == first             # the same copies, byte for byte


def _failing_on_call(n: int, real: Callable) -> Callable:
    calls = []

    def fake(*args, **kwargs):
        calls.append(args)
        if len(calls) == n:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)
    return fake


@pytest.mark.parametrize("step, call", [("open", 3), ("replace", 2)])
def test_a_failure_while_writing_leaves_out_as_it_was(step, call, tmp_path, monkeypatch):
    """The third temporary file (in a new folder) cannot be made, or the second copy cannot be moved
    in: what this run wrote (temporary files, copies moved in, new folders) goes, what was there stays."""
    src = _chapters(tmp_path / "src", {"c.ipynb": GOOD, "sub/b.ipynb": GOOD})
    out = _files(tmp_path / "out", {"notes.txt": b"mine"})
    before = _snapshot(tmp_path)
    monkeypatch.setattr(os, step, _failing_on_call(call, getattr(os, step)))
    with pytest.raises(OSError, match="No space left"):
        write_student_copies(src, out / "new")
    monkeypatch.undo()
    assert _snapshot(tmp_path) == before


def test_a_failure_while_forcing_keeps_the_files_it_did_not_reach(tmp_path, monkeypatch):
    """Replaced files are not restored (no backups are kept), but the rest are left alone."""
    src = _chapters(tmp_path / "src", {"b.ipynb": GOOD})
    out = _files(tmp_path / "out", {"a.ipynb": b"old a", "b.ipynb": b"old b"})
    monkeypatch.setattr(os, "replace", _failing_on_call(2, os.replace))
    with pytest.raises(OSError, match="No space left"):
        write_student_copies(src, out, force=True)
    monkeypatch.undo()
    assert (out / "a.ipynb").read_bytes() != b"old a" and (out / "b.ipynb").read_bytes() == b"old b"
    assert sorted(p.name for p in out.iterdir()) == ["a.ipynb", "b.ipynb"]      # no temporary files left


def test_copies_get_the_usual_file_mode(tmp_path):
    (tmp_path / "plain").write_bytes(b"")        # made with open(), under the same umask
    [copy] = write_student_copies(_chapters(tmp_path / "src"), tmp_path / "out")
    assert copy.stat().st_mode == (tmp_path / "plain").stat().st_mode


def test_an_nbformat_3_notebook_is_converted(tmp_path):
    v3 = nbformat.v3
    old = v3.new_notebook(worksheets=[v3.new_worksheet(cells=[v3.new_code_cell(input="x = 3")])])
    src = _chapters(tmp_path / "src", {"old.ipynb": v3.writes_json(old).encode()})
    [_, copy] = write_student_copies(src, tmp_path / "out")
    nb = nbformat.reads(copy.read_text(), as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4 and [c.source for c in nb.cells] == ["x = 3"]


def test_a_byte_order_mark_is_read_and_dropped(tmp_path):
    src = _chapters(tmp_path / "src", {"b.ipynb": b"\xef\xbb\xbf" + GOOD})
    _, copy = write_student_copies(src, tmp_path / "out")
    assert copy.read_bytes() == (tmp_path / "out" / "a.ipynb").read_bytes()
