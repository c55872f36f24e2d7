"""Point the course at its public repository: launch links and the Colab setup cell.

The repository's URL and branch live in _config.yml (`repository.url`,
`repository.branch`). Jupyter Book builds the Colab and Binder launch links of
every chapter page from them. A notebook opened on Colab has no _config.yml, so
each chapter also carries the URL in its first cell, the setup cell: it installs
`attn_course` from the repository when the package is missing (on Colab) and does
nothing where it is installed (`make lab`, the book build, the tests).

This script writes both, so they cannot disagree (tests/book/test_launch.py checks):

    .venv/bin/python scripts/set_repository.py                       # rewrite the cells from _config.yml
    .venv/bin/python scripts/set_repository.py https://github.com/you/fork --branch main

A teacher who forks the course runs the second form once, with the fork's URL.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
CHAPTERS = ROOT / "chapters"
TAGS = ["remove-cell", "colab-setup"]       # not shown in the book; found by the tag

SETUP_CELL = '''\
# Setup for Colab: install the course package when it is missing.
# Where it is installed already (`make lab`), this does nothing.
import importlib
import importlib.util
import subprocess
import sys

REPOSITORY = "{url}"
if importlib.util.find_spec("attn_course") is None:
    package = f"attn-course[notebook] @ git+{{REPOSITORY}}@{branch}"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", package],
        check=True,
    )
    importlib.invalidate_caches()'''


def repository() -> tuple[str, str]:
    """The (url, branch) that _config.yml names."""
    repo = yaml.safe_load(CONFIG.read_text()).get("repository") or {}
    if not repo.get("url"):
        raise SystemExit(f"{CONFIG.name} has no repository.url")
    return repo["url"], repo.get("branch", "main")


def setup_source(url: str, branch: str) -> str:
    """The setup cell's source for this repository."""
    return SETUP_CELL.format(url=url, branch=branch)


def set_config(url: str, branch: str) -> None:
    """Rewrite repository.url and repository.branch in _config.yml, keeping its comments."""
    text = CONFIG.read_text()
    for key, value in (("url", url), ("branch", branch)):
        text, n = re.subn(rf"(?m)^(repository:\n(?:  .*\n)*?  {key}: ).*$", rf"\g<1>{value}", text)
        if n != 1:
            raise SystemExit(f"{CONFIG.name}: no `{key}:` under `repository:`")
    CONFIG.write_text(text)


def set_cells(url: str, branch: str) -> list[Path]:
    """Make the first cell of every chapter the setup cell; return the notebooks changed."""
    changed = []
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cell = nbformat.v4.new_code_cell(setup_source(url, branch), metadata={"tags": TAGS})
        first = nb.cells[0] if nb.cells else None
        if first is not None and "colab-setup" in first.metadata.get("tags", []):
            if first.source == cell.source and first.metadata.get("tags") == TAGS:
                continue
            cell.id = first.id
            nb.cells[0] = cell
        else:
            nb.cells.insert(0, cell)
        nbformat.write(nb, path)
        changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="the repository's URL (default: keep _config.yml's)")
    parser.add_argument("--branch", help="the branch the launch links open (default: keep _config.yml's)")
    args = parser.parse_args(argv)
    url, branch = repository()
    if args.url or args.branch:
        url, branch = (args.url or url).rstrip("/"), args.branch or branch
        set_config(url, branch)
    for path in set_cells(url, branch):
        print(f"wrote the setup cell of {path.relative_to(ROOT)}")
    print(f"repository: {url} (branch {branch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
