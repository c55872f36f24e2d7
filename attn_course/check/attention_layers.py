"""Exercises of chapter 5, the three attention layers: what bigger inputs do to the dot and the additive
weights (predict then verify), splitting into heads (build), and a decoder's mask with one bug (find the bug)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from attn_course.check._engine import exercise
from attn_course.check._predictions import Outcome, prediction
from attn_course.check._verdicts import Case, Mistake, Problem
from attn_course.layers import split_heads as _split_heads_ours

CHAPTER = "5 · The three attention layers"
__all__ = ["bigger_inputs", "split_heads", "decoder_mask"]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- predict then verify: multiply the inputs by 10, then 100 --------------------------------------

ONE_HOT = 0.99          # a weight at least this large on one key, on average over the queries: one-hot
_SCORES = ("dot", "additive")


def _largest(shown: object) -> dict[str, list[float]]:
    """The experiment's `largest`: for each score, the average largest weight at each factor."""
    what = ("pass `largest`, the dict the experiment fills: {'dot': [...], 'additive': [...]}, "
            "one average largest weight per factor")
    if not isinstance(shown, dict) or not set(_SCORES) <= set(shown):
        got = (f"a dict with keys {sorted(map(str, shown))}" if isinstance(shown, dict)
               else "None" if shown is None else f"a {type(shown).__name__}")
        raise Problem(f"{what}; got {got}.")
    values = {}
    for name in _SCORES:
        row = shown[name]
        if isinstance(row, Tensor):
            row = row.tolist() if row.dim() == 1 else None
        try:                    # a list or tuple only: no generator that never ends
            row = [float(x) for x in row] if isinstance(row, (list, tuple)) and len(row) <= 1000 else None
        except (TypeError, ValueError, RuntimeError):
            row = None
        if row is None:
            raise Problem(f"{what}; largest[{name!r}] is not a list of numbers.")
        if len(row) < 2 or not all(0.0 <= x <= 1.0 + 1e-6 for x in row):
            raise Problem(f"{what}; largest[{name!r}] must hold at least two weights between 0 and 1, "
                          f"got {row[:6]}.")
        values[name] = row
    if len(values["dot"]) != len(values["additive"]):
        raise Problem(f"{what}; the two lists must be as long as the list of factors, got "
                      f"{len(values['dot'])} and {len(values['additive'])}.")
    return values


_ONE_HOT = {"dot": "only the dot weights become one-hot", "additive": "only the additive weights become one-hot",
            "both": "both become one-hot", "neither": "neither becomes one-hot"}


def _observe_bigger_inputs(shown: object) -> Outcome:
    largest = _largest(shown)
    one_hot = {name: row[-1] >= ONE_HOT for name, row in largest.items()}
    choice = {(True, True): "both", (True, False): "dot", (False, True): "additive",
              (False, False): "neither"}[one_hot["dot"], one_hot["additive"]]
    dot, additive = largest["dot"], largest["additive"]
    return Outcome(choice, f"the largest weight (averaged over the queries) goes from {dot[0]:.2f} to {dot[-1]:.2f} "
                           f"for the dot score and from {additive[0]:.2f} to {additive[-1]:.2f} for the additive "
                           f"one: {_ONE_HOT[choice]} (a largest weight of {ONE_HOT} or more)")


@prediction(
    choices=("dot", "additive", "both", "neither"),
    expected="dot",
    wrong={
        "additive": "It is the other way round: q·k grows with the square of the factor, so the dot weights head "
                    "for one-hot, while the tanh caps the additive score at ‖v‖₁.",
        "both": "The tanh saturates: with v fixed the additive score stays between -‖v‖₁ and ‖v‖₁, so its weights "
                "sharpen only so far, however large the inputs.",
        "neither": "The softmax ignores a shift of all the scores, not a factor: multiplying q and k by 10 "
                   "multiplies the dot scores by 100, and the dot weights become one-hot.",
    },
    because="The dot score grows with the inputs without limit, so its softmax sharpens to one-hot; the additive "
            "score is bounded by ‖v‖₁, so its weights stop sharpening once the tanh saturates.",
    observe=_observe_bigger_inputs,
    example=lambda: {"dot": [0.65, 1.0, 1.0], "additive": [0.74, 0.82, 0.80]},
)
def bigger_inputs(prediction: object, why: object, shown: object) -> bool:
    """Check a prediction, "dot", "additive", "both" or "neither": whose weights become one-hot when every
    query and key is multiplied by 10, then 100 (v fixed)? ``shown``: the experiment's ``largest``."""


# --- build: split into heads ----------------------------------------------------------------------

def _split_heads_reference(x: Tensor, num_heads: int) -> Tensor:
    B, L, D = x.shape
    return x.view(B, L, num_heads, D // num_heads).transpose(1, 2)       # (B, H, L, Dh)


def _split_no_transpose(x, num_heads):
    B, L, D = x.shape
    return x.view(B, L, num_heads, D // num_heads)


def _split_reshape_straight(x, num_heads):
    B, L, D = x.shape
    return x.reshape(B, num_heads, L, D // num_heads)


def _split_interleaved(x, num_heads):
    B, L, D = x.shape
    return x.view(B, L, D // num_heads, num_heads).permute(0, 3, 1, 2)


def _split_heads_and_width_swapped(x, num_heads):
    B, L, D = x.shape
    return x.view(B, L, D // num_heads, num_heads).transpose(1, 2)


def _split_wrong_pair_swapped(x, num_heads):
    B, L, D = x.shape
    return x.view(B, L, num_heads, D // num_heads).transpose(2, 3)


def _split_transpose_first(x, num_heads):
    B, L, D = x.shape
    return x.transpose(1, 2).reshape(B, num_heads, L, D // num_heads)


def _split_last_two_swapped(x, num_heads):
    B, L, D = x.shape
    return x.view(B, L, num_heads, D // num_heads).permute(0, 2, 3, 1)


def _split_batch_and_heads_merged(x, num_heads):
    B, L, D = x.shape
    return x.view(B, L, num_heads, D // num_heads).transpose(1, 2).reshape(B * num_heads, L, D // num_heads)


SPLIT_HEADS_MISTAKES = (
    Mistake("the heads are not in front of the positions: after the view (B, L, H, Dh), swap L and H with "
            ".transpose(1, 2).", _split_no_transpose),
    Mistake("a reshape straight to (B, H, L, Dh) mixes positions and features: view as (B, L, H, Dh) first, "
            "then transpose(1, 2).", _split_reshape_straight),
    Mistake("the heads are interleaved: head h must take the Dh consecutive features h*Dh .. (h+1)*Dh - 1 of "
            "each position.", _split_interleaved),
    Mistake("you cut D into (Dh, H): num_heads is the number of heads H, each D // num_heads wide, so view "
            "(B, L, H, Dh).", _split_heads_and_width_swapped),
    Mistake("you swapped the wrong pair of axes: after the view (B, L, H, Dh), the positions L and the heads H "
            "(axes 1 and 2) change places.", _split_wrong_pair_swapped),
    Mistake("you moved the features before cutting them: cut the last axis into (H, Dh) first, then swap the "
            "positions and the heads.", _split_transpose_first),
    Mistake("the last two axes are swapped: each head holds (L, Dh), one row per position.",
            _split_last_two_swapped),
    Mistake("you merged the batch and the heads: keep them apart, (B, H, L, Dh).", _split_batch_and_heads_merged),
)


def _split_heads_cases() -> list[Case]:
    cases = []
    for seed, (b, l, h, dh) in enumerate([(2, 5, 3, 4), (3, 4, 2, 5), (1, 6, 4, 3)], start=60):
        x = torch.randn(b, l, h * dh, generator=_gen(seed))
        cases.append(Case((x, h), ("x (B, L, D)", f"num_heads = {h}"), _split_heads_reference(x, h),
                          "(B, H, L, Dh)"))
    return cases


@exercise(_split_heads_cases, _split_heads_reference, mistakes=SPLIT_HEADS_MISTAKES, ours=_split_heads_ours)
def split_heads(fn: Callable[[Tensor, int], Tensor]) -> bool:
    """Check ``fn(x (B, L, D), num_heads) -> (B, H, L, Dh)``: head h gets features h*Dh .. (h+1)*Dh - 1."""


# --- find the bug: a decoder's mask, padding and causal -------------------------------------------

def _decoder_mask_reference(lengths: Tensor, L: int) -> Tensor:
    real = torch.arange(L) < lengths[:, None]                    # (B, S) key j is no padding
    return real[:, None, :] & torch.ones(L, L, dtype=torch.bool).tril()   # (B, L, L)


def _given_decoder_mask(lengths, L):       # as the chapter hands it out, bug included
    real = torch.arange(L) < lengths[:, None]              # (B, S) key j is real
    ones = torch.ones(L, L, dtype=torch.bool)
    causal = torch.triu(ones, diagonal=1)                  # (L, L)
    return real[:, None, :] & causal                       # (B, L, L)


def _mask_parts(lengths, L, diagonal=0, lower=True):
    real = torch.arange(L) < lengths[:, None]                  # (B, L)
    ones = torch.ones(L, L, dtype=torch.bool)
    return real, ones.tril(diagonal) if lower else ones.triu(diagonal)


def _mask_all_negated(lengths, L):
    real, causal = _mask_parts(lengths, L, 1, lower=False)
    return ~(real[:, None, :] & causal)


def _mask_upper_with_diagonal(lengths, L):
    real, causal = _mask_parts(lengths, L, 0, lower=False)
    return real[:, None, :] & causal


def _mask_diagonal_dropped(lengths, L):
    real, causal = _mask_parts(lengths, L, -1)
    return real[:, None, :] & causal


def _mask_one_step_ahead(lengths, L):
    real, causal = _mask_parts(lengths, L, 1)
    return real[:, None, :] & causal


def _mask_causal_dropped(lengths, L):
    real, _ = _mask_parts(lengths, L)
    return real[:, None, :].expand(len(lengths), L, L)


def _mask_padding_dropped(lengths, L):
    _, causal = _mask_parts(lengths, L)
    return causal.expand(len(lengths), L, L)


def _mask_or(lengths, L):
    real, causal = _mask_parts(lengths, L)
    return real[:, None, :] | causal


def _mask_torch_polarity(lengths, L):
    real, causal = _mask_parts(lengths, L, 1, lower=False)
    return ~real[:, None, :] | causal


def _mask_padding_on_queries(lengths, L):
    real, causal = _mask_parts(lengths, L)
    return real[:, :, None] & causal


def _mask_one_padding_key_too_many(lengths, L):
    real = torch.arange(L) <= lengths[:, None]
    return real[:, None, :] & torch.ones(L, L, dtype=torch.bool).tril()


DECODER_MASK_MISTAKES = (
    Mistake.given_bug(_given_decoder_mask),
    Mistake("you negated the whole mask, so every padding key is allowed now: negate (or rewrite) the causal part "
            "only.", _mask_all_negated),
    Mistake("query i now sees itself and the keys after it, not those before: True = may attend, so keep the "
            "lower triangle, j <= i.", _mask_upper_with_diagonal),
    Mistake("the diagonal is False: a position may attend to itself (j <= i, not j < i).", _mask_diagonal_dropped),
    Mistake("query i also sees key i + 1, one step into the future: keep j <= i (tril with no offset).",
            _mask_one_step_ahead),
    Mistake("nothing hides the future now: query i may attend only to keys j <= i, so keep a causal part.",
            _mask_causal_dropped),
    Mistake("the padding keys are allowed now: keep the padding part (key j is real when j < lengths[b]).",
            _mask_padding_dropped),
    Mistake("a key must be real AND not in the future: combine the two parts with &, not |.", _mask_or),
    Mistake("your mask is the exact opposite, True = hidden, as PyTorch's attn_mask: here True = may attend.",
            _mask_torch_polarity),
    Mistake("you hid the rows of the padding queries, not the columns of the padding keys: the padding part "
            "is (B, 1, S), real[:, None, :].", _mask_padding_on_queries),
    Mistake("one padding key too many is allowed: key j is real when j < lengths[b], not j <= lengths[b].",
            _mask_one_padding_key_too_many),
)


def _decoder_mask_cases() -> list[Case]:
    cases = []
    for lengths, L in (([5, 3, 1], 5), ([2, 4], 4), ([6, 3, 6, 5], 7), ([1], 1)):
        lengths = torch.tensor(lengths)
        cases.append(Case((lengths, L), ("lengths (B,)", f"L = {L}"),
                          _decoder_mask_reference(lengths, L), "(B, L, L)"))
    return cases


@exercise(_decoder_mask_cases, kind="bug", mistakes=DECODER_MASK_MISTAKES, solution=_decoder_mask_reference)
def decoder_mask(fn: Callable[[Tensor, int], Tensor]) -> bool:
    """Check the repaired ``fn(lengths (B,), L) -> mask (B, L, L)``, True = may attend: query i of example b
    sees key j when j <= i and j < lengths[b]."""
