"""Checkers for the peeky encoder-decoder and reading the source backwards: greedy decoding with the
peeky step written out (find the bug), reversing the sources (build), and which model reversal helps
more (predict).

The decoding check runs the toy models of :mod:`.encoder_decoder`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from attn_course.check._engine import exercise
from attn_course.check._predictions import Outcome, prediction
from attn_course.check._verdicts import Case, Mistake, Problem
from attn_course.check.encoder_decoder import (TOY_PAIRS, TOY_SRC, TOY_TGT, UNSEEN, any_width, decoding_cases,
                                               one_thread, toy_model, untrained_model)
from attn_course.data import SOS_ID, encode_pairs
from attn_course.data import reverse_source as _package_reverse_source

CHAPTER = "3 · The peeky encoder-decoder"
__all__ = ["peeky_decode", "reverse_source", "reversal_gain"]


# --- greedy decoding of a peeky model, its step written out: find the bug ---------------------

@one_thread
def _peeky_greedy(model, src, src_lengths, max_len, peek_at: Callable, restart: bool = False) -> Tensor:
    """Chapter 3's loop; ``peek_at(memory, state)`` is the (B, H) vector the step peeks at."""
    dec = model.decoder
    memory = model.encoder(src, src_lengths)
    state = memory.last                                      # (h, c), (1, B, H) each
    token = torch.full((src.shape[0], 1), SOS_ID)            # (B, 1)
    tokens = []
    with torch.no_grad():
        for _ in range(max_len):
            if restart:
                state = memory.last
            peek = peek_at(memory, state)[:, None, :]        # (B, 1, H)
            x = torch.cat([dec.embed(token), peek], dim=-1)  # (B, 1, E + H)
            hidden, state = dec.lstm(x, state)               # (B, 1, H)
            logits = dec.out(torch.cat([hidden, peek], dim=-1))   # (B, 1, V)
            token = logits.argmax(dim=-1)                    # (B, 1)
            tokens.append(token)
    return torch.cat(tokens, dim=1)                          # (B, T)


def peeky_decode_given(model, src, src_lengths, max_len):
    """As chapter 3 hands it out: each step peeks at the decoder's own current h."""
    return _peeky_greedy(model, src, src_lengths, max_len, lambda memory, state: state[0][0])


def _peeky_decode_solution(model, src, src_lengths, max_len):
    return _peeky_greedy(model, src, src_lengths, max_len, lambda memory, state: memory.last[0][0])


PEEKY_DECODE_MISTAKES = (
    Mistake.given_bug(peeky_decode_given),
    Mistake("you peek at the encoder's cell state c: the peek is its hidden state h, memory.last[0].",
            lambda m, s, n, t: _peeky_greedy(m, s, n, t, lambda memory, state: memory.last[1][0])),
    Mistake("memory.states[:, -1] is the state at the last column, zeros for the rows padded there: peek at "
            "memory.last[0], the state after each row's last real token.",
            lambda m, s, n, t: _peeky_greedy(m, s, n, t, lambda memory, state: memory.states[:, -1])),
    Mistake("you peek at the encoder's state after the first token: peek at its last, memory.last[0].",
            lambda m, s, n, t: _peeky_greedy(m, s, n, t, lambda memory, state: memory.states[:, 0])),
    Mistake("the peek is right now, but the LSTM restarts from the encoder's state at every step: keep "
            "carrying the decoder's own state, and peek at memory.last[0].",
            lambda m, s, n, t: _peeky_greedy(m, s, n, t, lambda memory, state: memory.last[0][0], restart=True)),
)


@one_thread
def _peeky_decode_cases() -> list[Case]:
    # The trained toy model writes answers of different lengths, but it hardly needs its peek (its first
    # state tells it enough): the untrained ones, whose every answer depends on what they peek at, catch
    # the wrong peeks.
    return decoding_cases([(toy_model("peeky"), TOY_PAIRS, 6), (untrained_model("peeky", 3), TOY_PAIRS + UNSEEN, 6),
                           (untrained_model("peeky", 0, 16), TOY_PAIRS[:5] + UNSEEN, 4)])


@exercise(_peeky_decode_cases, adapt=any_width,
          mistakes=PEEKY_DECODE_MISTAKES, kind="bug", solution=_peeky_decode_solution)
def peeky_decode(fn: Callable[..., Tensor]) -> bool:
    """Check ``fn(model, src (B, S), src_lengths (B,), max_len) -> tokens (B, T)`` on a peeky model.

    Compared row by row up to the first </s>; what follows it does not matter.
    """


# --- reversing the sources: build -------------------------------------------------------------

def _reverse_reference(src: Tensor, lengths: Tensor) -> Tensor:
    rows = [torch.cat([row[:n].flip(0), row[n:]]) for row, n in zip(src, lengths.tolist())]
    return torch.stack(rows)                                               # (B, S)


def _not_assigned(src: Tensor, lengths: Tensor) -> Tensor:
    out = src.clone()
    for b, n in enumerate(lengths.tolist()):
        out[b, :n].flip(0)                                  # flip returns a new tensor, dropped here
    return out


def _reversed_rows(src: Tensor, lengths: Tensor, cut: Callable[[int], int]) -> Tensor:
    out = src.clone()
    for b, n in enumerate(lengths.tolist()):
        out[b, :cut(n)] = src[b, :cut(n)].flip(0)
    return out


REVERSE_MISTAKES = (
    Mistake("the padding moved to the front: reverse only the first lengths[b] tokens of each row, and keep "
            "the padding after them.", lambda src, lengths: src.flip(1)),
    Mistake("this is the source unchanged: flip(0) returns a new tensor; assign it back, out[b, :n] = ....",
            _not_assigned),
    Mistake("the last real token stayed in place: reverse all n = lengths[b] tokens, src[b, :n], not n - 1.",
            lambda src, lengths: _reversed_rows(src, lengths, lambda n: n - 1)),
    Mistake("a <pad> came to the front of the shorter rows: reverse src[b, :n], the n = lengths[b] real "
            "tokens, not n + 1.", lambda src, lengths: _reversed_rows(src, lengths, lambda n: n + 1)),
    Mistake("you reversed the order of the rows (dim 0): reverse the tokens within each row.",
            lambda src, lengths: src.flip(0)),
)


def _reverse_cases() -> list[Case]:
    cases = []
    for pairs in (TOY_PAIRS, UNSEEN, TOY_PAIRS[2:5]):
        data = encode_pairs(pairs, TOY_SRC, TOY_TGT)
        cases.append(Case((data.src, data.src_lengths), ("src (B, S)", "lengths (B,)"),
                          _reverse_reference(data.src, data.src_lengths), "(B, S)"))
    return cases


@exercise(_reverse_cases, mistakes=REVERSE_MISTAKES, solution=_reverse_reference, ours=_package_reverse_source)
def reverse_source(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(src (B, S), lengths (B,)) -> (B, S)``: each row's real tokens reversed, padding kept after."""


# --- which model does reversal help more: predict then verify ----------------------------------

MODELS = ("vanilla", "peeky", "vanilla reversed", "peeky reversed")
SAME = 0.02                            # gains within 2 points of each other are "the same"


def _gains(shown: object) -> Outcome:
    if not isinstance(shown, Mapping) or set(shown) != set(MODELS) or not all(
            isinstance(a, (int, float)) and 0 <= a <= 1 for a in shown.values()):
        got = sorted(map(str, shown)) if isinstance(shown, Mapping) else type(shown).__name__
        raise Problem(f"pass acc, the dict the experiment cell computed: the exact match of each of "
                      f"{', '.join(MODELS)}; got {got}.")
    vanilla, peeky = (shown[f"{m} reversed"] - shown[m] for m in ("vanilla", "peeky"))
    choice = "same" if abs(vanilla - peeky) < SAME else "vanilla" if vanilla > peeky else "peeky"
    return Outcome(choice, f"reading backwards takes the vanilla model from {shown['vanilla']:.0%} to "
                           f"{shown['vanilla reversed']:.0%} ({100 * vanilla:+.0f} points) and the peeky model "
                           f"from {shown['peeky']:.0%} to {shown['peeky reversed']:.0%} ({100 * peeky:+.0f} points)")


@prediction(
    choices=("vanilla", "peeky", "same"), expected="vanilla",
    wrong={"peeky": "The peeky decoder already re-reads the input's summary at every step: it has less left "
                    "to repair than the vanilla one, which loses its units digits.",
           "same": "The two models do not start from the same place: the vanilla one loses far more digits, "
                   "so it has far more to gain."},
    because="Reversal helps most where digits were lost: the vanilla model loses its units digits, while the "
            "peeky decoder already re-reads the summary at every step.",
    observe=_gains,
    example=lambda: {"vanilla": 0.14, "peeky": 0.72, "vanilla reversed": 0.75, "peeky reversed": 0.87})
def reversal_gain(prediction: object, why: object, shown: object) -> bool:
    """Check a prediction: reading the sources backwards, which model's exact match gains more, the
    'vanilla' one or the 'peeky' one, or about the 'same'? ``shown``: ``acc``, the four exact matches."""
