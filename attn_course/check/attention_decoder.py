"""Checkers for the attention decoder: its weights at every step at once (build), the context of one step
with the padding masked (find the bug), and where a model that reads its source reversed looks (predict).

The cases put random numbers, not zeros, in the encoder states at padded positions: a function must not
rely on what sits there (our encoder writes zeros, others do not), and it lets the checks tell apart
mistakes that zeros would hide (no mask at all, or a padded score of 0 instead of -inf).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from attn_course.attention import masked_softmax
from attn_course.check._engine import exercise
from attn_course.check._predictions import Outcome, prediction
from attn_course.check._verdicts import Case, Mistake, Problem
from attn_course.models import dot_attention_weights

CHAPTER = "4 · The attention encoder-decoder"
__all__ = ["decoder_attention_weights", "masked_context", "alignment_as_read"]

MINUS_INF = float("-inf")


def _mask(lengths: list[int], s: int) -> Tensor:
    return torch.arange(s)[None, :] < torch.tensor(lengths)[:, None]      # (B, S), True at real tokens


def _states(g: torch.Generator, b: int, s: int, h: int) -> Tensor:
    return torch.randn(b, s, h, generator=g)                              # (B, S, H), padding not zero


# --- the weights of every decoder step at once: build ------------------------------------------

def _weights_solution(queries: Tensor, enc_states: Tensor, mask: Tensor) -> Tensor:
    scores = queries @ enc_states.transpose(1, 2)                         # (B, L, S)
    scores = scores.masked_fill(~mask[:, None, :], MINUS_INF)
    return scores.softmax(dim=-1)


def _weights_no_mask(queries, enc_states, mask):
    return torch.softmax(queries @ enc_states.transpose(1, 2), dim=-1)


def _weights_zero_fill(queries, enc_states, mask):
    scores = queries @ enc_states.transpose(1, 2)
    return scores.masked_fill(~mask[:, None, :], 0.0).softmax(dim=-1)


def _weights_masked_after(queries, enc_states, mask):
    return (queries @ enc_states.transpose(1, 2)).softmax(dim=-1) * mask[:, None, :]


def _weights_polarity(queries, enc_states, mask):
    scores = queries @ enc_states.transpose(1, 2)
    return scores.masked_fill(mask[:, None, :], MINUS_INF).softmax(dim=-1)


def _weights_over_steps(queries, enc_states, mask):
    scores = queries @ enc_states.transpose(1, 2)
    return scores.masked_fill(~mask[:, None, :], MINUS_INF).softmax(dim=1)


def _weights_mask_without_l_axis(queries, enc_states, mask):
    scores = queries @ enc_states.transpose(1, 2)                         # (B, L, S)
    return scores.masked_fill(~mask, MINUS_INF).softmax(dim=-1)           # (B, S) lines up with (L, S)


def _weights_scaled(queries, enc_states, mask):
    scores = queries @ enc_states.transpose(1, 2) / math.sqrt(queries.shape[-1])
    return scores.masked_fill(~mask[:, None, :], MINUS_INF).softmax(dim=-1)


def _weights_transposed(queries, enc_states, mask):
    scores = enc_states @ queries.transpose(1, 2)                         # (B, S, L)
    return scores.masked_fill(~mask[:, :, None], MINUS_INF).softmax(dim=1)


DECODER_WEIGHTS_MISTAKES = (
    Mistake("the padded positions get weight too: set their scores to -inf where mask is False, before the "
            "softmax.", _weights_no_mask),
    Mistake("a score of 0 still gets weight (e^0 = 1): fill the padded scores with -inf, not 0.", _weights_zero_fill),
    Mistake("the masked weights are zero but the rest no longer sums to 1: mask the scores before the softmax.",
            _weights_masked_after),
    Mistake("True means may attend: your mask hides the keys it should keep (fill where ~mask).", _weights_polarity),
    Mistake("the weights sum to 1 over the L decoder steps: take the softmax over the S source positions "
            "(dim=-1).", _weights_over_steps),
    Mistake("your (B, S) mask lined up with the (L, S) of each example's scores: give it an L axis, "
            "mask[:, None, :] of shape (B, 1, S).", _weights_mask_without_l_axis),
    Mistake("your weights are softmax(q·k/sqrt(H)); the decoder uses the unscaled dot product (Luong's 'dot' "
            "score).", _weights_scaled),
    Mistake("your weights are (B, S, L), one column per decoder step: queries @ enc_states.transpose(1, 2) "
            "gives them as (B, L, S).", _weights_transposed),
)


def _weights_cases() -> list[Case]:
    # The first case has B == L, so that a (B, S) mask lining up with (L, S) gives an answer to name.
    # L != S everywhere, so that transposed weights have the wrong shape.
    cases = []
    for seed, (b, l, s, h, lengths) in enumerate([(3, 3, 5, 4, [5, 3, 1]), (2, 4, 6, 3, [2, 6]),
                                                  (4, 2, 3, 5, [3, 1, 2, 3])], start=40):
        g = torch.Generator().manual_seed(seed)
        queries, enc, mask = torch.randn(b, l, h, generator=g), _states(g, b, s, h), _mask(lengths, s)
        cases.append(Case((queries, enc, mask), ("queries (B, L, H)", "enc_states (B, S, H)", "mask (B, S)"),
                          dot_attention_weights(queries, enc, mask), "(B, L, S)"))
    return cases


@exercise(_weights_cases, dot_attention_weights, mistakes=DECODER_WEIGHTS_MISTAKES,
          solution=_weights_solution, ours=dot_attention_weights)
def decoder_attention_weights(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(queries (B, L, H), enc_states (B, S, H), mask (B, S)) -> weights (B, L, S)``: every decoder
    step's dot-product weights over the real source positions, 0 where mask is False."""


# --- the context of one step, padding masked: find the bug -------------------------------------

def masked_context_given(state: Tensor, enc_states: Tensor, mask: Tensor) -> Tensor:
    """The function as chapter 4 hands it out: the mask is applied after the softmax."""
    scores = (enc_states * state[:, None, :]).sum(dim=-1)                 # (B, S)
    weights = torch.softmax(scores, dim=-1) * mask                        # (B, S): 0 at the padding
    return (weights[:, :, None] * enc_states).sum(dim=1)                  # (B, H)


def _context_reference(state: Tensor, enc_states: Tensor, mask: Tensor) -> Tensor:
    weights = masked_softmax((enc_states @ state[:, :, None])[..., 0], mask)   # (B, S)
    return (weights[:, None, :] @ enc_states)[:, 0]                      # (B, H)


def _context_solution(state, enc_states, mask):
    scores = (enc_states * state[:, None, :]).sum(dim=-1)
    weights = torch.softmax(scores.masked_fill(~mask, MINUS_INF), dim=-1)
    return (weights[:, :, None] * enc_states).sum(dim=1)


def _context_no_mask(state, enc_states, mask):
    weights = torch.softmax((enc_states * state[:, None, :]).sum(dim=-1), dim=-1)
    return (weights[:, :, None] * enc_states).sum(dim=1)


def _context_zero_fill(state, enc_states, mask):
    scores = (enc_states * state[:, None, :]).sum(dim=-1)
    weights = torch.softmax(scores.masked_fill(~mask, 0.0), dim=-1)
    return (weights[:, :, None] * enc_states).sum(dim=1)


def _context_polarity(state, enc_states, mask):
    scores = (enc_states * state[:, None, :]).sum(dim=-1)
    weights = torch.softmax(scores.masked_fill(mask, MINUS_INF), dim=-1)
    return (weights[:, :, None] * enc_states).sum(dim=1)


def _context_renormalised_over_batch(state, enc_states, mask):
    scores = (enc_states * state[:, None, :]).sum(dim=-1)
    weights = torch.softmax(scores, dim=-1) * mask
    weights = weights / weights.sum(dim=0, keepdim=True)
    return (weights[:, :, None] * enc_states).sum(dim=1)


def _context_softmax_over_batch(state, enc_states, mask):
    scores = (enc_states * state[:, None, :]).sum(dim=-1)
    weights = torch.softmax(scores.masked_fill(~mask, MINUS_INF), dim=0)
    return (weights[:, :, None] * enc_states).sum(dim=1)


def _context_mean(state, enc_states, mask):
    return (enc_states * mask[:, :, None]).sum(dim=1) / mask.sum(dim=1, keepdim=True)


MASKED_CONTEXT_MISTAKES = (
    Mistake.given_bug(masked_context_given),
    Mistake("the padding gets weight again: keep the mask, but apply it to the scores (-inf) before the softmax.",
            _context_no_mask),
    Mistake("a score of 0 still gets weight (e^0 = 1): fill the padded scores with -inf, not 0.", _context_zero_fill),
    Mistake("True means may attend: your mask hides the keys it should keep (fill where ~mask).", _context_polarity),
    Mistake("you renormalised over the batch (dim=0): divide each row by its own sum over the S positions "
            "(dim=-1, keepdim=True).", _context_renormalised_over_batch),
    Mistake("the weights sum to 1 over the batch: take the softmax over the S positions (dim=-1).",
            _context_softmax_over_batch),
    Mistake("this is the plain mean of the real encoder states: weight each by its attention weight.", _context_mean),
)


def _context_cases() -> list[Case]:
    cases = []
    for seed, (b, s, h, lengths) in enumerate([(3, 5, 4, [5, 3, 1]), (2, 4, 3, [2, 4]),
                                               (4, 6, 2, [6, 1, 4, 2])], start=50):
        g = torch.Generator().manual_seed(seed)
        state, enc, mask = torch.randn(b, h, generator=g), _states(g, b, s, h), _mask(lengths, s)
        cases.append(Case((state, enc, mask), ("state (B, H)", "enc_states (B, S, H)", "mask (B, S)"),
                          _context_reference(state, enc, mask), "(B, H)"))
    return cases


@exercise(_context_cases, _context_reference, kind="bug", mistakes=MASKED_CONTEXT_MISTAKES,
          solution=_context_solution)
def masked_context(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(state (B, H), enc_states (B, S, H), mask (B, S)) -> context (B, H)``: the attention-weighted
    sum of the real encoder states, the weights a softmax over the real positions only."""


# --- where a model that reads reversed looks: predict then verify ------------------------------

CLEAR = 0.5                            # |correlation of step and position| above which a diagonal is clear


def _weights_shown(shown: object) -> Tensor:
    """``shown`` as attention weights (T, S); else a Problem saying what to pass."""
    if isinstance(shown, Tensor) and shown.dim() == 3 and shown.shape[0] == 1:
        shown = shown[0]                                                   # (1, T, S) from greedy_decode
    what = "pass the weights (T, S) the experiment computed, as_read"
    if not isinstance(shown, Tensor):
        raise Problem(f"{what}; got {type(shown).__name__}.")
    if shown.dim() != 2 or min(shown.shape) < 2 or not shown.is_floating_point():
        raise Problem(f"{what}: a floating tensor of at least 2 steps and 2 positions; got "
                      f"{shown.dtype} {tuple(shown.shape)}.")
    w = shown.detach().cpu().double()
    if not torch.isfinite(w).all() or (w < 0).any() or not torch.allclose(w.sum(-1), torch.ones_like(w[:, 0]), atol=1e-3):
        raise Problem(f"{what}: each row should be attention weights, >= 0 and summing to 1; yours are not.")
    return w


def _diagonal(shown: object) -> Outcome:
    w = _weights_shown(shown)
    steps, where = torch.arange(len(w), dtype=torch.float64), w.argmax(-1).double()       # (T,), (T,)
    corr = float(torch.corrcoef(torch.stack([steps, where]))[0, 1].nan_to_num(0.0))       # 0: a constant argmax
    choice = "anti-diagonal" if corr < -CLEAR else "diagonal" if corr > CLEAR else "neither"
    runs = {"anti-diagonal": "the bright cells run along the anti-diagonal",
            "diagonal": "the bright cells run along the main diagonal",
            "neither": "the bright cells follow neither diagonal"}[choice]
    S, T = w.shape[1], len(w)
    return Outcome(choice, f"{runs} (step 0 looks most at position {int(where[0])} of 0..{S - 1} as read, "
                           f"step {T - 1} at position {int(where[-1])}; step and position correlate at {corr:+.2f})")


def _anti_diagonal_example() -> Tensor:
    """Weights like the experiment's: 11 steps over 10 positions, each output looking at its own source
    character, which the model reads in reverse order."""
    steps, positions = torch.arange(11.0)[:, None], torch.arange(10.0)[None, :]
    return torch.softmax(-2.0 * (positions - (9 - steps).clamp(min=0)).abs(), dim=-1)   # (T, S)


@prediction(
    choices=("diagonal", "anti-diagonal"), expected="anti-diagonal",
    wrong={"diagonal": "Attention does not walk along the input in step with the output: each output "
                       "character looks for the source character it copies, wherever the reversed reading put it."},
    because="Each output character looks at the source character it copies, whatever the order of reading: "
            "the first ones written, '1994', are the last ones read.",
    observe=_diagonal, example=_anti_diagonal_example)
def alignment_as_read(prediction: object, why: object, shown: object) -> bool:
    """Check a prediction: in the order the model reads '1994.09.27' (reversed), do the bright cells of its
    attention run along the main diagonal or the anti-diagonal? ``shown``: the weights (T, S) as read."""
