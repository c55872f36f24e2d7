"""Checkers for the three attention layers: additive scores, splitting into heads, the causal mask."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from attn_course.check._engine import exercise
from attn_course.check._verdicts import Case

CHAPTER = "5 · The three attention layers"
__all__ = ["additive_scores", "split_heads", "causal_mask"]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- additive scores --------------------------------------------------------------------------

def _additive_reference(query: Tensor, key: Tensor, v: Tensor) -> Tensor:
    return torch.tanh(query[:, None, :] + key[None, :, :]) @ v           # (L, S)


def _additive_cases() -> list[Case]:
    cases = []
    for seed, (l, s, d) in enumerate([(3, 5, 4), (4, 2, 3), (2, 6, 5)], start=50):
        g = _gen(seed)
        q, k, v = torch.randn(l, d, generator=g), torch.randn(s, d, generator=g), torch.randn(d, generator=g)
        scores = _additive_reference(q, k, v)
        mistakes = (
            ((q[:, None, :] + k[None, :, :]) @ v, "the tanh is missing: the scores are v · tanh(q_i + k_j)."),
            ((torch.tanh(q) @ v)[:, None] + (torch.tanh(k) @ v)[None, :],
             "you applied tanh to q and k separately: add them first, then tanh, v · tanh(q_i + k_j)."),
            (q @ k.T, "this is the dot-product score q_i · k_j; the additive score is v · tanh(q_i + k_j)."),
            (scores.softmax(-1), "these are already weights (a softmax ran): return the scores before the softmax."),
            (torch.tanh(k[:, None, :] + q[None, :, :]) @ v,
             "the axes are swapped: row i is query i and column j is key j, (L, S)."),
            (torch.tanh(q[:, None, :] + k[None, :, :]).sum(-1),
             "v is not used: weight each tanh feature by v (a dot product with v), not a plain sum."),
        )
        cases.append(Case((q, k, v), ("query (L, D)", "key (S, D)", "v (D,)"), scores, "(L, S)", mistakes))
    return cases


@exercise(_additive_cases, _additive_reference)
def additive_scores(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(query (L, D), key (S, D), v (D,)) -> scores (L, S)``: ``v · tanh(q_i + k_j)``."""


# --- splitting into heads ---------------------------------------------------------------------

def _split_heads_reference(x: Tensor, num_heads: int) -> Tensor:
    B, L, D = x.shape
    return x.view(B, L, num_heads, D // num_heads).transpose(1, 2)       # (B, H, L, Dh)


def _split_heads_cases() -> list[Case]:
    cases = []
    for seed, (b, l, h, dh) in enumerate([(2, 5, 3, 4), (3, 4, 2, 5), (1, 6, 4, 3)], start=60):
        x = torch.randn(b, l, h * dh, generator=_gen(seed))
        mistakes = (
            (x.view(b, l, h, dh), "the heads are not in front of the positions: after the view (B, L, H, Dh), "
                                  "swap L and H with .transpose(1, 2)."),
            (x.reshape(b, h, l, dh), "a reshape straight to (B, H, L, Dh) mixes positions and features. "
                                     "View as (B, L, H, Dh) first, then transpose(1, 2)."),
            (x.view(b, l, dh, h).permute(0, 3, 1, 2), "the heads are interleaved: head h must take the Dh "
                                                      "consecutive features h*Dh .. (h+1)*Dh - 1 of each position."),
            (x.view(b, l, h, dh).permute(0, 2, 3, 1), "the last two axes are swapped: each head holds (L, Dh), "
                                                      "one row per position."),
            (x.view(b, l, h, dh).transpose(1, 2).reshape(b * h, l, dh),
             "you merged the batch and the heads: keep them apart, (B, H, L, Dh)."),
        )
        cases.append(Case((x, h), ("x (B, L, D)", f"num_heads = {h}"), _split_heads_reference(x, h),
                          "(B, H, L, Dh)", mistakes))
    return cases


@exercise(_split_heads_cases, _split_heads_reference)
def split_heads(fn: Callable[[Tensor, int], Tensor]) -> bool:
    """Check ``fn(x (B, L, D), num_heads) -> (B, H, L, Dh)``: head h gets features h*Dh .. (h+1)*Dh - 1."""


# --- the causal mask --------------------------------------------------------------------------

def _causal_cases() -> list[Case]:
    cases = []
    for n in (5, 3, 7, 1):
        ones = torch.ones(n, n, dtype=torch.bool)
        mistakes = (
            (ones.triu(), "each query sees the future and not the past: query i may attend to keys j <= i, "
                          "the lower triangle (tril)."),
            (ones.tril(-1), "the diagonal is False: a position may attend to itself (j <= i, not j < i)."),
            (ones.tril(1), "query i also sees key i + 1, one step into the future: keep j <= i (tril with no offset)."),
            (ones.triu(1), "this is the opposite polarity (True = masked, as PyTorch's attn_mask): "
                           "here True = may attend."),
            (ones, "nothing is masked: query i may attend only to keys j <= i."),
        )
        cases.append(Case((n,), (f"L = {n}",), ones.tril(), "(L, L)", mistakes))
    return cases


@exercise(_causal_cases)
def causal_mask(fn: Callable[[int], Tensor]) -> bool:
    """Check ``fn(L) -> mask (L, L)`` boolean, True = may attend: query i sees keys j <= i."""
