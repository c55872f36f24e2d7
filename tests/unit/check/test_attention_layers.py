"""Chapter 5's exercises beyond the generic tests of tests/unit/test_exercises.py: what the prediction
reads from the experiment, the given bug as the chapter hands it out, right answers written other ways,
and the package's split_heads (the build exercise's `ours`, which MultiHeadAttention calls)."""

from __future__ import annotations

import re

import nbformat
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_course import check
from attn_course.attention import additive_attention
from attn_course.check import attention_layers as ex
from attn_course.check._verdicts import FAIL, GIVEN_BUG, PASS, TODO, Problem
from attn_course.layers import MultiHeadAttention, split_heads
from support.checks import one_line as _line
from support.paths import CHAPTERS

CHAPTER = next(p for p in CHAPTERS if p.stem == "05_attention_layers")
EXPERIMENT = {"dot": [0.65, 1.0, 1.0], "additive": [0.74, 0.82, 0.80]}



def _cell(cell_id: str) -> str:
    nb = nbformat.read(CHAPTER, as_version=4)
    return next(c.source for c in nb.cells if c.get("id") == cell_id)


# --- bigger_inputs: the outcome is read from what the experiment shows ----------------------------

@pytest.mark.parametrize("dot, additive, choice", [
    ([0.65, 1.0], [0.74, 0.80], "dot"),
    ([0.65, 1.0], [0.74, 0.995], "both"),
    ([0.65, 0.70], [0.74, 0.995], "additive"),
    ([0.65, 0.70], [0.74, 0.80], "neither"),
    ([0.65, 0.98, 0.99], [0.5, 0.5, 0.5], "dot"),          # 0.99 counts as one-hot: the last factor decides
])
def test_the_outcome_is_what_the_last_factor_shows(dot, additive, choice):
    outcome = ex._observe_bigger_inputs({"dot": dot, "additive": additive})
    assert outcome.choice == choice
    assert f"{dot[-1]:.2f}" in outcome.evidence and f"{additive[-1]:.2f}" in outcome.evidence


def test_the_experiment_may_pass_tensors_and_more_scores():
    shown = {"dot": torch.tensor([0.65, 1.0]), "additive": (0.74, 0.80), "general": [0.5, 1.0]}
    assert ex._observe_bigger_inputs(shown).choice == "dot"


@pytest.mark.parametrize("shown, says", [
    (None, "got None"),
    ([0.65, 1.0], "got a list"),
    ({"dot": [0.65, 1.0]}, "got a dict with keys ['dot']"),
    ({"dot": [0.65, 1.0], "additive": "high"}, "largest['additive'] is not a list of numbers"),
    ({"dot": 0.65, "additive": [0.74, 0.80]}, "largest['dot'] is not a list of numbers"),
    ({"dot": iter(lambda: 1.0, None), "additive": [0.74, 0.80]}, "largest['dot'] is not a list of numbers"),
    ({"dot": torch.ones(2, 2), "additive": [0.74, 0.80]}, "largest['dot'] is not a list of numbers"),
    ({"dot": [torch.ones(2), 1.0], "additive": [0.74, 0.80]}, "largest['dot'] is not a list of numbers"),
    ({"dot": [1.0], "additive": [0.8]}, "at least two weights between 0 and 1"),
    ({"dot": [0.65, 4.0], "additive": [0.74, 0.80]}, "at least two weights between 0 and 1"),
    ({"dot": [0.65, float("nan")], "additive": [0.74, 0.80]}, "at least two weights between 0 and 1"),
    ({"dot": [0.65, 1.0, 1.0], "additive": [0.74, 0.80]}, "as long as the list of factors, got 3 and 2"),
])
def test_anything_but_the_experiments_result_is_refused_in_one_line(shown, says):
    with pytest.raises(Problem, match=re.escape(says)) as refused:
        ex._observe_bigger_inputs(shown)
    assert str(refused.value).startswith("pass `largest`")


def test_a_changed_experiment_is_judged_on_what_it_shows_without_the_lesson(capsys):
    assert check.bigger_inputs("dot", "the dot score is unbounded", {"dot": [0.6, 0.7], "additive": [0.7, 0.8]}) \
        is False
    line = _line(capsys)
    assert line.startswith(f"{FAIL} bigger_inputs: you predicted 'dot'") and line.endswith("neither becomes one-hot "
                                                                                          "(a largest weight of "
                                                                                          "0.99 or more).")
    assert check.bigger_inputs("neither", "the softmax is scale-free", {"dot": [0.6, 0.7], "additive": [0.7, 0.8]})
    assert _line(capsys).startswith(f"{PASS} bigger_inputs: right")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), S=st.integers(2, 8), D=st.integers(1, 6),
       factor=st.sampled_from([1.0, 10.0, 100.0, 1e4]))
def test_the_additive_weights_never_pass_the_bound_the_chapter_states(seed, S, D, factor):
    g = torch.Generator().manual_seed(seed)
    q, k, v = torch.randn(3, D, generator=g), torch.randn(S, D, generator=g), torch.randn(D, generator=g)
    _, w = additive_attention(factor * q, factor * k, k, v)                 # (L, S)
    bound = 1 / (1 + (S - 1) * torch.exp(-2 * v.abs().sum()))
    assert float(w.max()) <= float(bound) + 1e-6


# --- split_heads: right answers written other ways pass ---------------------------------------------

@pytest.mark.parametrize("answer", [
    lambda x, h: x.reshape(x.shape[0], x.shape[1], h, -1).permute(0, 2, 1, 3),
    lambda x, h: torch.stack(x.chunk(h, dim=-1), dim=1),
    lambda x, h: x.unflatten(-1, (h, -1)).transpose(1, 2).contiguous(),
])
def test_other_right_splits_pass(answer, capsys):
    assert check.split_heads(answer) is True
    assert _line(capsys).startswith(f"{PASS} split_heads: correct")


def test_a_split_that_loses_the_gradient_is_told_so(capsys):
    assert check.split_heads(lambda x, h: split_heads(x.detach(), h)) is False
    assert "no gradient flows back" in _line(capsys)


# --- decoder_mask: the given bug is the chapter's cell, and other repairs pass ---------------------

def test_the_catalogues_given_bug_is_the_function_the_chapter_hands_out(capsys):
    space: dict = {"torch": torch}
    exec(_cell("c51"), space)                                            # the chapter's cell, as given
    assert check.decoder_mask(space["decoder_mask"]) is False
    assert _line(capsys) == f"{TODO} decoder_mask: {GIVEN_BUG}"
    for lengths, L in ((torch.tensor([5, 3, 1]), 5), (torch.tensor([2, 7]), 7)):
        assert torch.equal(space["decoder_mask"](lengths, L), ex._given_decoder_mask(lengths, L))


@pytest.mark.parametrize("repair", [
    lambda n, L: (torch.arange(L) < n[:, None])[:, None, :] & ~torch.ones(L, L, dtype=torch.bool).triu(1),
    lambda n, L: (torch.arange(L)[None, None, :] < n[:, None, None])
    & (torch.arange(L)[:, None] >= torch.arange(L)[None, :]),
])
def test_other_repairs_pass(repair, capsys):
    assert check.decoder_mask(repair) is True
    assert _line(capsys).startswith(f"{PASS} decoder_mask: correct")


def test_a_float_mask_is_told_its_dtype(capsys):
    assert check.decoder_mask(lambda n, L: ex._decoder_mask_reference(n, L).float()) is False
    assert "expected dtype torch.bool" in _line(capsys)


# --- the package's split_heads ---------------------------------------------------------------------

def test_split_heads_puts_feature_h_dh_plus_j_of_position_l_at_head_h_row_l():
    B, L, H, Dh = 2, 5, 3, 4
    x = torch.arange(B * L * H * Dh, dtype=torch.float32).view(B, L, H * Dh)
    heads = split_heads(x, H)                                            # (B, H, L, Dh)
    assert heads.shape == (B, H, L, Dh)
    for b, h, pos, j in ((0, 0, 0, 0), (1, 2, 4, 3), (0, 1, 3, 2)):
        assert heads[b, h, pos, j] == x[b, pos, h * Dh + j]
    assert heads.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()   # a view: nothing copied
    torch.testing.assert_close(heads.transpose(1, 2).reshape(B, L, H * Dh), x)   # the merge undoes it


def test_split_heads_takes_a_non_contiguous_input():
    x = torch.randn(2, 6, 5).transpose(1, 2)                             # (B, L, D) = (2, 5, 6), strided
    torch.testing.assert_close(split_heads(x, 2), split_heads(x.contiguous(), 2))


def test_multi_head_attention_splits_with_split_heads(monkeypatch):
    calls = []
    import attn_course.layers as layers
    monkeypatch.setattr(layers, "split_heads", lambda x, h: calls.append(h) or split_heads(x, h))
    layer = MultiHeadAttention(embed_dim=6, num_heads=3)
    layer(torch.randn(2, 4, 6), torch.randn(2, 5, 6), torch.randn(2, 5, 6))
    assert calls == [3, 3, 3]


@pytest.mark.parametrize("x, num_heads, error, message", [
    ([[1.0]], 1, TypeError, r"x must be a torch.Tensor of shape \(B, L, D\); got list"),
    (torch.randn(4, 6), 2, ValueError, r"x must be \(B, L, D\); got \(4, 6\)"),
    (torch.randn(1, 4, 6), 4, ValueError, r"D=6, the last dim of x \(1, 4, 6\), must be divisible by num_heads=4"),
    (torch.randn(1, 4, 6), 0, ValueError, r"num_heads must be an int >= 1; got 0"),
    (torch.randn(1, 4, 6), 2.0, TypeError, r"num_heads must be an int; got float"),
    (torch.randn(1, 4, 6), True, TypeError, r"num_heads must be an int; got bool"),
])
def test_split_heads_refuses_what_it_cannot_split(x, num_heads, error, message):
    with pytest.raises(error, match=message):
        split_heads(x, num_heads)
