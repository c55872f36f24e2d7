"""Checkers for the attention decoder: its masked weights over the encoder states, and the context vector."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from attn_course.attention import masked_softmax, padding_mask
from attn_course.check._engine import exercise
from attn_course.check._verdicts import Case

CHAPTER = "4 · The attention encoder-decoder"
__all__ = ["masked_attention_weights", "context_vector"]


def _attention_inputs(seed: int, b: int, s: int, h: int, lengths: list[int]):
    g = torch.Generator().manual_seed(seed)
    state, enc = torch.randn(b, h, generator=g), torch.randn(b, s, h, generator=g)
    mask = padding_mask(lengths, s).reshape(len(lengths), s)             # (B, S), from (B, S) or (B, 1, S)
    enc = enc * mask[..., None]                                           # encoder states are 0 at padding
    return state, enc, mask


# --- the masked weights over the encoder states -----------------------------------------------

def _masked_weights_reference(state: Tensor, enc: Tensor, mask: Tensor) -> Tensor:
    scores = (enc @ state[:, :, None])[..., 0]                            # (B, S)
    return masked_softmax(scores, mask)


def _masked_weights_cases() -> list[Case]:
    cases = []
    for seed, (b, s, h, lengths) in enumerate([(3, 5, 4, [5, 3, 1]), (2, 4, 3, [2, 4])], start=30):
        state, enc, mask = _attention_inputs(seed, b, s, h, lengths)
        scores = (enc @ state[:, :, None])[..., 0]
        mistakes = (
            (scores.softmax(-1), "the padded positions get weight too: set their scores to -inf before the softmax."),
            (scores, "these are the raw scores: apply a softmax over the S source positions."),
            (scores.softmax(0) * mask, "the softmax ran over the batch (dim 0): run it over the S positions (dim -1)."),
        )
        cases.append(Case((state, enc, mask), ("state (B, H)", "enc_states (B, S, H)", "mask (B, S)"),
                          _masked_weights_reference(state, enc, mask), "(B, S)", mistakes))
    return cases


@exercise(_masked_weights_cases, _masked_weights_reference)
def masked_attention_weights(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(state (B, H), enc_states (B, S, H), mask (B, S)) -> weights (B, S)``, 0 where mask is False."""


# --- the context vector -----------------------------------------------------------------------

def _context_reference(weights: Tensor, enc: Tensor) -> Tensor:
    return (weights[:, None, :] @ enc)[:, 0]                              # (B, H)


def _context_cases() -> list[Case]:
    cases = []
    for seed, (b, s, h, lengths) in enumerate([(3, 5, 4, [5, 3, 1]), (2, 3, 6, [3, 2])], start=40):
        state, enc, mask = _attention_inputs(seed, b, s, h, lengths)
        weights = _masked_weights_reference(state, enc, mask)
        mistakes = ((enc.sum(1), "this is the plain sum of the encoder states: weight each one by its attention weight."),
                    (enc.mean(1), "this is the plain mean of the encoder states: weight each by its attention weight."))
        cases.append(Case((weights, enc), ("weights (B, S)", "enc_states (B, S, H)"),
                          _context_reference(weights, enc), "(B, H)", mistakes))
    return cases


@exercise(_context_cases, _context_reference)
def context_vector(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(weights (B, S), enc_states (B, S, H)) -> context (B, H)``: the weighted sum of the states."""
