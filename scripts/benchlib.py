"""Shared pieces of the benchmark scripts: a result row, repeated measurement, the table."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    name: str
    median: float
    runs: list[float]
    unit: str
    target: float | None      # same unit: an upper bound, or a lower bound when higher is better
    higher_is_better: bool = False

    @property
    def status(self) -> str:
        """Times are judged on the median; accuracies on the worst run (every seed must pass)."""
        if self.target is None:
            return "recorded"
        ok = min(self.runs) >= self.target if self.higher_is_better else self.median <= self.target
        return "met" if ok else "NOT met"


def measure(fn: Callable[[], float | None], repeat: int) -> list[float]:
    """Run fn `repeat` times; fn returns its own measurement or None to be timed from outside."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        runs.append(value if value is not None else time.perf_counter() - start)
    return runs


def table(rows: list[Row]) -> str:
    lines = ["| benchmark | median | runs | target | status |", "|---|---:|---|---:|---|"]
    for r in rows:
        runs = ", ".join(f"{x:.2f}" for x in r.runs)
        bound = "≥" if r.higher_is_better else "≤"
        target = f"{bound} {r.target:g} {r.unit}" if r.target is not None else "-"
        lines.append(f"| {r.name} | {r.median:.2f} {r.unit} | {runs} | {target} | {r.status} |")
    return "\n".join(lines)
