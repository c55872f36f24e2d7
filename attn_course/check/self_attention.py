"""Checks of chapter 1, self-attention: a longer key (predict then verify), a batched self-attention
(find the bug), and the scaled weights of a batch (build; the saturation experiment runs on them).

Each exercise keeps its seeded cases, its reference and its catalogue of typical mistakes together.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch
from torch import Tensor

from attn_course.attention import scaled_attention_weights as _scaled_weights_ours
from attn_course.attention import self_attention
from attn_course.check._engine import exercise
from attn_course.check._predictions import Outcome, prediction
from attn_course.check._verdicts import Case, Mistake, Problem, kind

CHAPTER = "1 · Self-attention"
__all__ = ["longer_key", "batched_self_attention", "scaled_attention_weights"]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- predict then verify: street, twice as long -------------------------------------------------

SENTENCE = ("the", "cats", "walk", "on", "the", "street")
# The chapter's embedding (function, living, motion, place), for the tests' example of what it shows.
_EMBEDDING = {"the": (1.0, 0.0, 0.0, 0.0), "cats": (0.0, 1.0, 0.5, 0.0), "walk": (0.0, 0.5, 1.0, 0.5),
              "on": (0.6, 0.0, 0.0, 0.5), "street": (0.0, 0.0, 0.5, 1.0)}
_WHAT_TO_PASS = "pass walk's weights from the experiment, walk_long (6 numbers, one per word of the sentence)"


def _walk_weights(shown: object) -> list[float]:
    """The 6 weights of walk's row, as floats; else a Problem saying what to pass."""
    if isinstance(shown, Tensor):
        if tuple(shown.shape) == (6, 6):
            raise Problem(f"{_WHAT_TO_PASS}, the row W_long[2], not the whole matrix W_long.")
        if shown.is_complex() or shown.dtype == torch.bool or tuple(shown.shape) != (6,):
            raise Problem(f"{_WHAT_TO_PASS}; got a tensor of shape {tuple(shown.shape)}, dtype {shown.dtype}.")
        values = shown.detach().cpu().double().tolist()
    elif isinstance(shown, (list, tuple)) and len(shown) == 6 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in shown):
        values = [float(v) for v in shown]
    else:
        raise Problem(f"{_WHAT_TO_PASS}; got {kind(shown)}.")
    if not all(math.isfinite(v) and v >= 0 for v in values) or abs(sum(values) - 1) > 1e-3:
        raise Problem(f"{_WHAT_TO_PASS}: weights are positive and sum to 1; yours sum to {sum(values):.3g}.")
    return values


def _observe_longer_key(shown: object) -> Outcome:
    weights = _walk_weights(shown)
    per_word = {w: weights[i] for i, w in enumerate(SENTENCE)}          # the two "the" have one weight
    ranked = sorted(per_word.items(), key=lambda item: -item[1])
    (top, w_top), (second, w_second) = ranked[0], ranked[1]
    if w_top - w_second < 1e-6:
        return Outcome("a tie", f"{top} and {second} tie for the largest share of walk's attention, {w_top:.2f}")
    return Outcome(top, f"{top} gets the largest share of walk's attention, {w_top:.2f} ({second}: {w_second:.2f})")


def _longer_key_example() -> Tensor:
    x = torch.tensor([_EMBEDDING[w] for w in SENTENCE])                   # (S, D)
    x[SENTENCE.index("street")] *= 2
    return self_attention(x)[1][SENTENCE.index("walk")]                  # (S,)


LONGER_KEY_WRONG = {
    "walk": "A word is most similar to itself only while the keys have similar lengths: doubled, "
            "street · walk = 2.0 exceeds walk · walk = 1.5.",
    "cats": "cats did not change: its score with walk stays 1.0, while street's doubles to 2.0.",
    "the": "the shares no feature with walk: its score stays 0, and its weight only shrinks as street's grows.",
    "on": "on shares only a little place with walk (score 0.25); doubling street raises street's score, not on's.",
}


@prediction(choices=("the", "cats", "walk", "on", "street"), expected="street", wrong=LONGER_KEY_WRONG,
            because="The dot product grows with the length of the key: doubling street doubles its score with "
                    "walk, from 1.0 to 2.0, past walk · walk = 1.5.",
            observe=_observe_longer_key, example=_longer_key_example)
def longer_key(prediction: str, why: str, shown: Tensor) -> bool:
    """Check a prediction: which word gets the largest share of walk's attention once street's vector is
    twice as long? ``shown`` is walk's row of weights (6,) the experiment computed."""


# --- find the bug: self-attention of a batch, its softmax written out ---------------------------

def _batched_reference(X: Tensor) -> Tensor:
    return self_attention(X)[0]                                          # (B, S, D)


def _batched_given(X):
    scores = X @ X.transpose(-2, -1)   # (B, S, S)
    exp = torch.exp(scores)            # (B, S, S)
    weights = exp / exp.sum()          # (B, S, S)  the softmax, written out
    return weights @ X                 # (B, S, D)


def _batched_solution(X):
    scores = X @ X.transpose(-2, -1)               # (B, S, S)
    weights = torch.softmax(scores, dim=-1)        # (B, S, S)  each query's row sums to 1
    return weights @ X                             # (B, S, D)


def _sum_over_queries(X):
    scores = X @ X.transpose(-2, -1)
    exp = torch.exp(scores - scores.amax(dim=-1, keepdim=True))
    return exp / exp.sum(dim=-2, keepdim=True) @ X


def _sum_without_keepdim(X):
    scores = X @ X.transpose(-2, -1)
    exp = torch.exp(scores - scores.amax(dim=-1, keepdim=True))
    return exp / exp.sum(dim=-1) @ X


def _sum_per_sequence(X):
    scores = X @ X.transpose(-2, -1)
    exp = torch.exp(scores - scores.amax(dim=-1, keepdim=True))
    return exp / exp.sum(dim=(-2, -1), keepdim=True) @ X


def _not_stabilised(X):
    scores = X @ X.transpose(-2, -1)
    exp = torch.exp(scores)
    return exp / exp.sum(dim=-1, keepdim=True) @ X


def _max_of_the_batch(X):
    scores = X @ X.transpose(-2, -1)
    exp = torch.exp(scores - scores.max())
    return exp / exp.sum(dim=-1, keepdim=True) @ X


BATCHED_SELF_ATTENTION_MISTAKES = (
    Mistake.given_bug(_batched_given),
    Mistake("your weights sum to 1 down each column, over the queries (dim=-2): sum over the keys, "
            "exp.sum(dim=-1, keepdim=True), so that each query's row sums to 1.", _sum_over_queries),
    Mistake("exp.sum(dim=-1) without keepdim=True has shape (B, S), which lines up with the columns, not "
            "the rows: keep the summed axis, exp.sum(dim=-1, keepdim=True).", _sum_without_keepdim),
    Mistake("each sequence's weights now sum to 1 all together: normalise each query's row on its own, "
            "over the keys only (dim=-1).", _sum_per_sequence),
    Mistake("each row sums to 1 now, but exp overflows to inf on long vectors, whose scores reach the "
            "hundreds (inf / inf = NaN): subtract each row's max first, or use torch.softmax(scores, dim=-1).",
            _not_stabilised),
    Mistake("subtract each row's own max, scores.amax(dim=-1, keepdim=True): the max of the whole batch "
            "makes exp underflow to 0 in the rows far below it (0 / 0 = NaN).", _max_of_the_batch),
    Mistake("a softmax over dim=-2 (dim=1 here) normalises each column, over the queries: take it over the "
            "keys, dim=-1.",
            lambda X: torch.softmax(X @ X.transpose(-2, -1), dim=-2) @ X),
    Mistake("the softmax runs over the batch (dim=0, which F.softmax also picks for a 3-D tensor when no dim "
            "is given): take it over the keys, dim=-1.",
            lambda X: torch.softmax(X @ X.transpose(-2, -1), dim=0) @ X),
)


def _batched_cases() -> list[Case]:
    cases = []
    # B == S first: exp.sum(dim=-1) without keepdim then runs (and is named) instead of raising.
    for seed, (b, s, d) in enumerate([(3, 3, 4), (2, 5, 3), (1, 4, 2)], start=10):
        x = torch.randn(b, s, d, generator=_gen(seed))
        cases.append(Case((x,), ("X (B, S, D)",), _batched_reference(x), "(B, S, D)"))
    # Long vectors: the first sequence's scores reach the hundreds (exp overflows), the second's stay small.
    g = _gen(13)
    x = torch.stack([torch.randn(4, 4, generator=g) * 10, torch.randn(4, 4, generator=g)])   # (B, S, D)
    cases.append(Case((x,), ("X (B, S, D), long vectors",), _batched_reference(x), "(B, S, D)"))
    return cases


@exercise(_batched_cases, _batched_reference, kind="bug", mistakes=BATCHED_SELF_ATTENTION_MISTAKES,
          solution=_batched_solution)
def batched_self_attention(fn: Callable[[Tensor], Tensor]) -> bool:
    """Check the repaired ``fn(X (B, S, D)) -> (B, S, D)``: softmax(X Xᵀ) X for each sequence, the softmax
    over each query's row."""


# --- build: the scaled weights of a batch ---------------------------------------------------------

def _scaled_reference(query: Tensor, key: Tensor) -> Tensor:
    d_k = query.shape[-1]
    return torch.softmax(query @ key.transpose(-2, -1) / math.sqrt(d_k), dim=-1)   # (..., L, S)


def _scores(query: Tensor, key: Tensor) -> Tensor:
    return query @ key.transpose(-2, -1)                                           # (..., L, S)


def _with_T(query, key):
    with warnings.catch_warnings():       # torch warns that .T on more than 2 dims is deprecated
        warnings.simplefilter("ignore")
        return torch.softmax(query @ key.T / math.sqrt(query.shape[-1]), dim=-1)


SCALED_ATTENTION_WEIGHTS_MISTAKES = (
    Mistake("your weights are softmax(Q Kᵀ), unscaled: divide the scores by sqrt(d_k) before the softmax, "
            "d_k being the width D of the queries and keys.",
            lambda q, k: torch.softmax(_scores(q, k), dim=-1)),
    Mistake("you divided the scores by d_k: divide them by its square root, sqrt(d_k).",
            lambda q, k: torch.softmax(_scores(q, k) / q.shape[-1], dim=-1)),
    Mistake("you multiplied the scores by sqrt(d_k): divide them by it, so that wide vectors do not saturate "
            "the softmax.",
            lambda q, k: torch.softmax(_scores(q, k) * math.sqrt(q.shape[-1]), dim=-1)),
    Mistake("you scaled by the square root of the number of keys S: d_k is the width D of the vectors, "
            "query.shape[-1].",
            lambda q, k: torch.softmax(_scores(q, k) / math.sqrt(k.shape[-2]), dim=-1)),
    Mistake("you took d_k from query.shape[1], which is L in a batch (..., L, D): take the width from the "
            "last axis, query.shape[-1].",
            lambda q, k: torch.softmax(_scores(q, k) / math.sqrt(q.shape[1]), dim=-1)),
    Mistake("the weights sum to 1 over the queries (dim=-2): take the softmax over the keys, dim=-1, so that "
            "each query's row sums to 1.",
            lambda q, k: torch.softmax(_scores(q, k) / math.sqrt(q.shape[-1]), dim=-2)),
    Mistake("you divided the weights, after the softmax: divide the scores, before it, so that each row "
            "still sums to 1.",
            lambda q, k: torch.softmax(_scores(q, k), dim=-1) / math.sqrt(q.shape[-1])),
    Mistake("this is the output, the weights times the keys (..., L, D): return the weights themselves, "
            "(..., L, S).",
            lambda q, k: _scaled_reference(q, k) @ k),
    Mistake("key.T reverses every axis of a batched key (..., S, D): swap only the last two, "
            "key.transpose(-2, -1) (or key.mT).", _with_T),
    Mistake("key.transpose(0, 1) swaps the batch and the keys of a batched key (..., S, D): swap the last two "
            "axes, key.transpose(-2, -1).",
            lambda q, k: torch.softmax(q @ k.transpose(0, 1) / math.sqrt(q.shape[-1]), dim=-1)),
)


def _scaled_cases() -> list[Case]:
    legend = ("query (..., L, D)", "key (..., S, D)")
    cases = []
    # One sequence (L, D) first, then batches. B = S = D = 3 second: there key.T and key.transpose(0, 1)
    # run and give wrong weights (elsewhere they raise); L, S and D differ in every case but that one.
    shapes = [((3, 4), (5, 4)), ((3, 2, 3), (3, 3, 3)), ((2, 4, 5), (2, 6, 5)), ((2, 3, 2, 8), (2, 3, 4, 8)),
              ((2, 3, 64), (2, 7, 64))]
    for seed, (q_shape, k_shape) in enumerate(shapes, start=20):
        g = _gen(seed)
        q, k = torch.randn(q_shape, generator=g), torch.randn(k_shape, generator=g)
        cases.append(Case((q, k), legend, _scaled_reference(q, k), "(..., L, S)"))
    return cases


@exercise(_scaled_cases, _scaled_reference, kind="build", mistakes=SCALED_ATTENTION_WEIGHTS_MISTAKES,
          ours=_scaled_weights_ours)
def scaled_attention_weights(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(query (..., L, D), key (..., S, D)) -> weights (..., L, S)``: softmax(Q Kᵀ / sqrt(d_k))
    over the keys, d_k = D."""
