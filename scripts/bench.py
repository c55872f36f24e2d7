"""The course's benchmark table: ``make bench`` (or ``.venv/bin/python scripts/bench.py``).

Targets from the issues are checked here, not in timed tests: the machine is
shared and timings vary by about 30% from run to run, so each row reports the
median of several runs, and the table says whether the target is met.

    python scripts/bench.py                 # everything
    python scripts/bench.py --only chapters --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import nbclient
import nbformat

from benchlib import Row, measure, table

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def execute_chapter(path: Path) -> None:
    """Execute one chapter top to bottom in a fresh kernel, as the build does."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()


def bench_chapters(repeat: int) -> list[Row]:
    rows = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        target = 20.0 if path.stem.startswith("01_") else 60.0
        runs = measure(lambda: execute_chapter(path), repeat)
        rows.append(Row(f"execute {path.name} (fresh kernel)", statistics.median(runs), runs, "s", target))
    return rows


def bench_build(repeat: int) -> list[Row]:
    """A clean, strict build into a temporary folder (the project's _build is left alone)."""
    def build() -> None:
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([str(BIN / "jupyter-book"), "build", str(ROOT), "-W", "--keep-going", "--path-output", out],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = measure(build, repeat)
    return [Row("clean strict book build", statistics.median(runs), runs, "s", 300.0)]


SUITES: dict[str, Callable[[int], list[Row]]] = {"chapters": bench_chapters, "build": bench_build}
# Further suites live in their own modules (scripts/bench_*.py), each exposing SUITES.
for _module in sorted(Path(__file__).parent.glob("bench_*.py")):
    SUITES.update(__import__(_module.stem).SUITES)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SUITES), action="append", help="run only these suites")
    parser.add_argument("--repeat", type=int, default=3, help="runs per benchmark (median reported)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    args = parser.parse_args()
    rows = []
    for name in args.only or SUITES:
        print(f"running {name}...", file=sys.stderr, flush=True)
        rows += SUITES[name](args.repeat if name != "build" else max(1, args.repeat // 3))
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
