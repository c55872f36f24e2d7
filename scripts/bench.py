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
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class Row:
    name: str
    median: float
    runs: list[float]
    unit: str
    target: float | None      # upper bound, same unit

    @property
    def status(self) -> str:
        if self.target is None:
            return "recorded"
        return "met" if self.median <= self.target else "NOT met"


def measure(fn: Callable[[], float | None], repeat: int) -> list[float]:
    """Run fn `repeat` times; fn returns its own measurement or None to be timed from outside."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        runs.append(value if value is not None else time.perf_counter() - start)
    return runs


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


def table(rows: list[Row]) -> str:
    lines = ["| benchmark | median | runs | target | status |", "|---|---:|---|---:|---|"]
    for r in rows:
        runs = ", ".join(f"{x:.2f}" for x in r.runs)
        target = f"≤ {r.target:g} {r.unit}" if r.target is not None else "-"
        lines.append(f"| {r.name} | {r.median:.2f} {r.unit} | {runs} | {target} | {r.status} |")
    return "\n".join(lines)


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
