"""Launching a chapter elsewhere: the Colab setup cell, scripts/set_repository.py, Binder's files.

Each chapter's first cell installs the package from the repository when `attn_course`
is missing (Colab) and does nothing where it is installed (here). The cell is run
for real by the book build and by JupyterLab in tests/lab/test_chapters.py; here it runs in
this process with `subprocess.run` replaced by a recorder, so no pip ever starts.
The launch links on the built pages are checked in tests/book/test_book.py.
"""

import importlib.util
import shutil
import subprocess
import sys
import tomllib

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement

from support.paths import CHAPTERS, ROOT


def _load_script():
    spec = importlib.util.spec_from_file_location("set_repository", ROOT / "scripts" / "set_repository.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


set_repository = _load_script()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def setup_cell(path):
    return nbformat.read(path, as_version=4).cells[0]


def run_setup_cell(source, monkeypatch, *, installed):
    """Execute the cell's source as a kernel would; return the commands it ran."""
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: commands.append((cmd, kw)))
    if not installed:
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: None if name == "attn_course" else real(name, *a))
    exec(compile(source, "<setup cell>", "exec"), {})
    return commands


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_starts_with_the_configured_setup_cell(path):
    cell = setup_cell(path)
    url, branch = set_repository.repository()
    assert cell.cell_type == "code" and cell.source == set_repository.setup_source(url, branch), (
        f"{path.name}: its setup cell differs from _config.yml's repository; run scripts/set_repository.py")
    assert set(cell.metadata["tags"]) == {"remove-cell", "colab-setup"}     # not shown in the book


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_setup_cell_is_a_no_op_where_the_package_is_installed(path, monkeypatch):
    assert importlib.util.find_spec("attn_course") is not None
    assert run_setup_cell(setup_cell(path).source, monkeypatch, installed=True) == []


def test_setup_cell_installs_the_package_from_the_repository_when_missing(monkeypatch):
    commands = run_setup_cell(setup_cell(CHAPTERS[0]).source, monkeypatch, installed=False)
    assert len(commands) == 1
    cmd, kw = commands[0]
    assert cmd[:5] == [sys.executable, "-m", "pip", "install", "-q"] and kw == {"check": True}
    requirement = Requirement(cmd[5])                       # a valid PEP 508 direct reference
    url, branch = set_repository.repository()
    assert requirement.name == PYPROJECT["project"]["name"]
    assert requirement.url == f"git+{url}@{branch}"
    assert requirement.extras == {"notebook"}
    # The extra brings what the chapters import beyond the package itself.
    assert any(Requirement(r).name == "myst-nb" for r in PYPROJECT["project"]["optional-dependencies"]["notebook"])


def test_set_repository_points_config_and_cells_at_a_fork(tmp_path, monkeypatch, capsys):
    config = tmp_path / "_config.yml"
    shutil.copy(ROOT / "_config.yml", config)
    shutil.copytree(ROOT / "chapters", tmp_path / "chapters", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    monkeypatch.setattr(set_repository, "CONFIG", config)
    monkeypatch.setattr(set_repository, "CHAPTERS", tmp_path / "chapters")
    monkeypatch.setattr(set_repository, "ROOT", tmp_path)

    assert set_repository.main(["https://github.com/teacher/fork/", "--branch", "spring"]) == 0
    settings = yaml.safe_load(config.read_text())
    assert settings["repository"]["url"] == "https://github.com/teacher/fork"
    assert settings["repository"]["branch"] == "spring"
    before, after = (ROOT / "_config.yml").read_text(), config.read_text()
    assert [line for line in before.splitlines() if line.lstrip().startswith("#")] == \
           [line for line in after.splitlines() if line.lstrip().startswith("#")], "comments were lost"
    for path in sorted((tmp_path / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert 'REPOSITORY = "https://github.com/teacher/fork"' in nb.cells[0].source
        assert "@spring" in nb.cells[0].source
        original = nbformat.read(ROOT / "chapters" / path.name, as_version=4)
        assert [c.source for c in nb.cells[1:]] == [c.source for c in original.cells[1:]]
        assert nb.cells[0].id == original.cells[0].id
    # A second run with the same settings changes nothing.
    capsys.readouterr()
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "chapters").glob("*.ipynb")}
    assert set_repository.main([]) == 0
    assert "wrote" not in capsys.readouterr().out
    assert stamps == {p: p.stat().st_mtime_ns for p in (tmp_path / "chapters").glob("*.ipynb")}


def test_set_repository_refuses_a_config_without_a_repository(tmp_path, monkeypatch):
    config = tmp_path / "_config.yml"
    config.write_text("title: x\n")
    monkeypatch.setattr(set_repository, "CONFIG", config)
    with pytest.raises(SystemExit, match="no repository.url"):
        set_repository.main([])


def test_binder_installs_the_pinned_cpu_set_and_the_package():
    requirements = (ROOT / "binder" / "requirements.txt").read_text().split()
    assert "-r" in requirements and requirements[requirements.index("-r") + 1] == "../requirements.txt"
    assert "https://download.pytorch.org/whl/cpu" in requirements    # not PyPI's CUDA build of torch
    post_build = ROOT / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    assert "pip install --no-deps -e ." in post_build.read_text()
    python = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert python == f"python-{PYPROJECT['project']['requires-python'].removeprefix('>=')}"
