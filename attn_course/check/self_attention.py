"""Checkers for self-attention: the weights of one query, and the outputs of a whole sequence."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from attn_course.attention import dot_product_attention
from attn_course.check._engine import exercise
from attn_course.check._verdicts import Case

CHAPTER = "1 · Self-attention"
__all__ = ["attention_weights", "self_attention_output"]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- the weights of one query -----------------------------------------------------------------

def _weights_reference(query: Tensor, keys: Tensor) -> Tensor:
    return torch.softmax(keys @ query, dim=-1)                  # (S,)


def _weights_cases() -> list[Case]:
    cases = []
    for seed, (s, d) in enumerate([(5, 3), (4, 2), (7, 6)]):
        g = _gen(seed)
        q, k = torch.randn(d, generator=g), torch.randn(s, d, generator=g)
        scores = k @ q                                           # (S,)
        mistakes = (
            (scores, "these are the raw scores k·q. Turn them into weights with a softmax."),
            (scores / scores.sum(), "you divided the scores by their sum; use the softmax (exp, then normalise)."),
            (torch.ones(s), "every weight is 1: the softmax ran over an axis of length 1. Apply it over the S keys."),
            (torch.ones(s, 1), "every weight is 1: the softmax ran over an axis of length 1. Apply it over the S keys."),
            (torch.full((s,), 1.0 / s), "all weights are equal: did the softmax see the scores (k·q) at all?"),
            (torch.softmax(-scores, -1), "the weights favour the least similar keys: check the sign of the scores."),
        )
        cases.append(Case((q, k), ("query (D,)", "keys (S, D)"), _weights_reference(q, k), "(S,)", mistakes))
    return cases


@exercise(_weights_cases, _weights_reference)
def attention_weights(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(query (D,), keys (S, D)) -> weights (S,)``: softmax of the dot products."""


# --- the outputs of a whole sequence ----------------------------------------------------------

def _self_attention_reference(x: Tensor) -> Tensor:
    return dot_product_attention(x, x, x)[0]                     # (S, D)


def _self_attention_cases() -> list[Case]:
    cases = []
    for seed, (n, d) in enumerate([(6, 3), (4, 5), (3, 2)], start=10):
        x = torch.randn(n, d, generator=_gen(seed))
        scores = x @ x.T                                         # (S, S)
        w = scores.softmax(-1)
        mistakes = (
            (scores @ x, "you used the raw scores X Xᵀ as weights: apply the softmax over each row first."),
            # X Xᵀ is symmetric, so a softmax over dim 0 and Wᵀ X give the same answer.
            (w.T @ x, "the weights are transposed: the softmax runs over each query's row (dim=-1), "
                      "and the output is W X, not Wᵀ X."),
            (x, "this is the input unchanged: return the weighted sum of the inputs, W X."),
            (w, "this is the weight matrix W (S, S); return the weighted sum of the inputs, W X (S, D)."),
        )
        cases.append(Case((x,), ("X (S, D)",), _self_attention_reference(x), "(S, D)", mistakes))
    return cases


@exercise(_self_attention_cases, _self_attention_reference)
def self_attention_output(fn: Callable[[Tensor], Tensor]) -> bool:
    """Check ``fn(X (S, D)) -> outputs (S, D)``: softmax(X Xᵀ) X, the softmax over each row."""
