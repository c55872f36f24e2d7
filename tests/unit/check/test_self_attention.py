"""Chapter 1's checks beyond the generic tests of test_exercises.py: what longer_key reads from the
experiment, the cases that make the catalogued mistakes show (batches where key.T runs, long vectors
where exp overflows), and the chapter's cells the checks mirror (its embedding, the given bug)."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from attn_course import check
from attn_course.attention import self_attention
from attn_course.check import self_attention as chapter
from attn_course.check._engine import registry
from attn_course.check._verdicts import FAIL, TODO
from support.checks import one_line as _line
from support.paths import ROOT

NOTEBOOK = ROOT / "chapters" / "01_self_attention.ipynb"
WHY = "the dot product grows with length"



def _cell(start: str) -> str:
    """The source of the chapter's code cell that starts with ``start``."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    found = ["".join(c["source"]) for c in cells if c["cell_type"] == "code" and "".join(c["source"]).startswith(start)]
    assert len(found) == 1, f"one cell of the chapter starts with {start!r}; found {len(found)}"
    return found[0]


# --- longer_key reads walk's row of weights from the experiment -------------------------------------

def test_the_example_is_the_chapters_experiment():
    namespace = {"torch": torch}
    exec(_cell("features = "), namespace)                 # the chapter's embedding and sentence
    assert tuple(namespace["tokens"]) == chapter.SENTENCE
    embedding = {w: torch.tensor(v) for w, v in chapter._EMBEDDING.items()}
    assert namespace["embedding"].keys() == embedding.keys()
    assert all(torch.equal(namespace["embedding"][w], embedding[w]) for w in embedding)
    x = namespace["X"].clone()
    x[namespace["tokens"].index("street")] *= 2
    torch.testing.assert_close(chapter._longer_key_example(), self_attention(x)[1][2])


@pytest.mark.parametrize("shown", [lambda w: w.tolist(), lambda w: tuple(w.tolist()), lambda w: w.double(),
                                   lambda w: w.requires_grad_()], ids=["list", "tuple", "float64", "grad"])
def test_walks_row_may_come_as_numbers_or_any_float_tensor(shown, capsys):
    assert check.longer_key("street", WHY, shown(chapter._longer_key_example())) is True
    assert "street gets the largest share of walk's attention, 0.41 (walk: 0.25)" in _line(capsys)


@pytest.mark.parametrize("shown, says", [
    (lambda w: w[None].expand(6, 6), "the row W_long[2], not the whole matrix W_long"),
    (lambda w: w[:5], "got a tensor of shape (5,)"),
    (lambda w: w * 2, "weights are positive and sum to 1; yours sum to 2"),
    (lambda w: torch.full((6,), float("nan")), "weights are positive and sum to 1"),
    (lambda w: w > 0.1, "dtype torch.bool"),
    (lambda w: "walk_long", "got builtins.str"),
    (lambda w: [0.5, 0.5, 0, 0, 0, True], "got builtins.list"),
], ids=["matrix", "five", "sum 2", "nan", "bool", "str", "list with a bool"])
def test_anything_but_walks_row_says_what_to_pass(shown, says, capsys):
    assert check.longer_key("street", WHY, shown(chapter._longer_key_example())) is False
    line = _line(capsys)
    assert line.startswith(f"{FAIL} longer_key: pass walk's weights from the experiment") and says in line


def test_an_experiment_changed_by_the_learner_is_judged_on_what_it_shows(capsys):
    x = torch.tensor([chapter._EMBEDDING[w] for w in chapter.SENTENCE])
    unchanged = self_attention(x)[1][2]                  # street not doubled: walk keeps the largest share
    assert check.longer_key("street", WHY, unchanged) is False
    line = _line(capsys)
    assert line == f"{FAIL} longer_key: you predicted 'street', and walk gets the largest share of walk's " \
                   "attention, 0.34 (cats: 0.21)."                 # the evidence only: no lesson
    assert check.longer_key("walk", WHY, unchanged) is True


def test_a_tie_for_the_largest_share_is_no_word(capsys):
    tie = torch.tensor([0.1, 0.3, 0.2, 0.0, 0.1, 0.3])      # cats and street tie
    assert check.longer_key("cats", WHY, tie) is False
    assert _line(capsys).endswith("you predicted 'cats', and cats and street tie for the largest share of "
                                  "walk's attention, 0.30.")


# --- the cases make each catalogued mistake show ---------------------------------------------------

def test_the_long_vectors_overflow_exp_in_one_sequence_only():
    long = chapter._batched_cases()[-1].args[0]             # (B, S, D)
    scores = long @ long.transpose(-2, -1)
    assert torch.isinf(torch.exp(scores[0])).any() and torch.isfinite(torch.exp(scores[1])).all()
    assert scores.max() - scores[1].max() > 200            # the batch's max underflows the second's exp


def test_a_repair_written_out_and_stabilised_passes(capsys):
    def stable(X):
        scores = X @ X.transpose(-2, -1)
        exp = torch.exp(scores - scores.amax(dim=-1, keepdim=True))
        return exp / exp.sum(dim=-1, keepdim=True) @ X
    assert check.batched_self_attention(stable) is True


def test_key_T_is_named_on_a_batch_where_it_runs_and_the_checker_itself_warns_nothing(capsys):
    first_batch = chapter._scaled_cases()[1].args[1]
    assert first_batch.dim() == 3 and len(set(first_batch.shape)) == 1    # B = S = D: key.T runs
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # computing the mistake's answer warns nothing
        assert check.scaled_attention_weights(chapter._scaled_reference) is True
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert check.scaled_attention_weights(
            lambda q, k: torch.softmax(q @ k.T / q.shape[-1] ** 0.5, dim=-1)) is False
    assert "key.T reverses every axis" in _line(capsys)


def test_the_course_version_is_the_package_function():
    from attn_course.attention import scaled_attention_weights
    assert registry()["scaled_attention_weights"].ours is scaled_attention_weights


# --- the chapter's stubs say "not attempted yet" -------------------------------------------------

@pytest.mark.parametrize("start, name", [("def batched_self_attention(", "batched_self_attention"),
                                         ("def scaled_attention_weights(", "scaled_attention_weights")])
def test_the_chapters_stub_is_not_attempted_yet(start, name, capsys):
    namespace = {"torch": torch}
    exec(_cell(start), namespace)
    assert getattr(check, name)(namespace[name]) is False
    assert _line(capsys).startswith(f"{TODO} {name}: not attempted yet")
