"""Seq2seq benchmarks on the book's data sets (../shared/benchmarks/dlfs2), beside the book's figures.

Deep Learning from Scratch 2 (Saitoh 2018), measured on this machine with the
book's own NumPy code: attention on date.tsv 99.9% exact match after 3 epochs
(about 290 s of training); on addition.tsv, vanilla 9.98% and peeky with
reversed input 98.14% (25 epochs, about 5 s each). Each row here runs
`python -m attn_course train` in-process and reads its JSON summary.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

from benchlib import Row

from attn_course.__main__ import main as cli

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "dlfs2"
ADDITION = ["--hidden", "128", "--lr", "1e-2", "--epochs", "4"]   # the book: hidden 128


def train(model: str, data: str, *extra: str, seed: int = 0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        code = cli(["train", "--model", model, "--pairs", str(DATA / data), "--seed", str(seed),
                    "--json", str(out), *extra])
        if code != 0:
            raise SystemExit(f"training {model} on {data} failed (exit {code})")
        return json.loads(out.read_text())


def rows_for(label: str, runs: list[dict], acc_target: float | None, sec_target: float | None) -> list[Row]:
    acc = [100 * r["exact_match"] for r in runs]
    sec = [r["train_seconds"] for r in runs]
    return [Row(f"{label}: exact match", statistics.median(acc), acc, "%", acc_target, higher_is_better=True),
            Row(f"{label}: training time", statistics.median(sec), sec, "s", sec_target)]


def bench_seq2seq(repeat: int) -> list[Row]:
    if not DATA.is_dir():
        print(f"skipped: {DATA} not found (the shared benchmark data)")
        return []
    rows = rows_for("attention, date.tsv, defaults, seeds 0 1 2 (book: 99.9% in ~290 s)",
                    [train("attention", "date.tsv", seed=s) for s in (0, 1, 2)], 99.9, 5.0)
    rows += rows_for("peeky, reversed, addition.tsv, 4 epochs (book: 98.14%)",
                     [train("peeky", "addition.tsv", *ADDITION)], 98.14, 30.0)
    rows += rows_for("vanilla, addition.tsv, 4 epochs (book: 9.98%)",
                     [train("vanilla", "addition.tsv", *ADDITION, "--no-reverse")], None, None)
    rows += rows_for("peeky, reversed, date.tsv, defaults", [train("peeky", "date.tsv")], None, None)
    rows += rows_for("vanilla, date.tsv, defaults", [train("vanilla", "date.tsv", "--no-reverse")], None, None)
    return rows


SUITES = {"seq2seq": bench_seq2seq}
