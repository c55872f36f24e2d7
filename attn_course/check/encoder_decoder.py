"""Checkers for the encoder-decoder's plumbing: the decoder's input under teacher forcing, greedy
decoding, and reversing the source.

They run on a toy addition task and a small seeded model of it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from attn_course.check._engine import exercise
from attn_course.check._verdicts import Case, Problem
from attn_course.data import EOS_ID, PAD_ID, SOS_ID, Vocab, encode_pairs
from attn_course.models import Seq2SeqConfig
from attn_course.train import build_model

CHAPTER = "2 · The vanilla encoder-decoder"
__all__ = ["teacher_forcing_input", "greedy_decode", "reverse_source"]

# --- the toy task -----------------------------------------------------------------------------

_TOY_PAIRS = [("16+75", "91"), ("52+607", "659"), ("3+4", "7"), ("999+1", "1000"), ("40+2", "42")]
_TOY_SRC = Vocab.build(["0123456789+"])
_TOY_TGT = Vocab.build(["0123456789"])


def _toy_model(decoder: str = "vanilla"):
    model = build_model(Seq2SeqConfig(_TOY_SRC, _TOY_TGT, decoder=decoder, embed_dim=8, hidden_dim=16), seed=7)
    with torch.no_grad():              # <pad> and <s> are never targets: a plain argmax never picks them
        model.decoder.out.bias[[PAD_ID, SOS_ID]] = -1e4
    return model.eval()


# --- the decoder's input under teacher forcing ------------------------------------------------

def _teacher_forcing_cases() -> list[Case]:
    cases = []
    for pairs in (_TOY_PAIRS, _TOY_PAIRS[::-1][:3]):
        data = encode_pairs(pairs, _TOY_SRC, _TOY_TGT)
        out, expected = data.tgt_out, data.tgt_in                            # (B, L) each
        no_eos_swap = torch.cat([torch.full_like(out[:, :1], SOS_ID), out[:, :-1]], dim=1)
        mistakes = (
            (out, "this is the target itself. The decoder input is the target shifted right by one, after <s>."),
            (no_eos_swap, "the </s> of the shorter rows is still there: the decoder never reads </s>; put <pad> there."),
            (torch.cat([out[:, 1:], torch.full_like(out[:, :1], PAD_ID)], dim=1),
             "you shifted left. Shift right: position t of the input holds the target token t-1, and <s> comes first."),
        )
        cases.append(Case((out,), ("tgt_out (B, L)",), expected, "(B, L)", mistakes))
    return cases


@exercise(_teacher_forcing_cases)
def teacher_forcing_input(fn: Callable[[Tensor], Tensor]) -> bool:
    """Check ``fn(tgt_out (B, L)) -> tgt_in (B, L)``: <s>, then the target shifted right, </s> dropped."""


# --- greedy decoding --------------------------------------------------------------------------

def _until_eos(row: list[int]) -> list[int]:
    return row[: row.index(EOS_ID) + 1] if EOS_ID in row else row


def _compare_decoded(expected: Tensor) -> Callable[[Tensor], None]:
    def compare(got: Tensor) -> None:
        V = len(_TOY_TGT.tokens)
        for b, (e, g) in enumerate(zip(expected.tolist(), got.tolist())):
            e, g = _until_eos(e), _until_eos(g)
            outside = [t for t in g if not 0 <= t < V]
            if outside:
                raise Problem(f"token ids must lie in [0, V) = [0, {V}), the rows of the output layer; "
                              f"row {b} holds {outside[0]}. Return the argmax over the V logits.")
            if e != g:
                hint = ""
                if len(set(g)) == 1 and len(e) > 1:
                    hint = " Every step chose the same token: does each step feed back the token it just chose?"
                elif EOS_ID in e and EOS_ID not in g:
                    hint = " Yours never stops: stop a row at its first </s>."
                raise Problem(f"row {b}: expected {_TOY_TGT.decode(e)!r}, got {_TOY_TGT.decode(g)!r}.{hint}")
    return compare


def _greedy_cases() -> list[Case]:
    cases = []
    for decoder, max_len in (("vanilla", 6), ("peeky", 4)):
        model = _toy_model(decoder)
        data = encode_pairs(_TOY_PAIRS, _TOY_SRC, _TOY_TGT)
        expected, _ = model.greedy_decode(data.src, data.src_lengths, max_len=max_len)    # (B, T)
        cases.append(Case((model, data.src, data.src_lengths, max_len),
                          ("model", "src (B, S)", "src_lengths (B,)", "max_len"),
                          expected, "(B, T)", compare=_compare_decoded(expected)))
    return cases


def _any_width(got: Tensor, case: Case) -> Tensor:
    """Let the decoded tokens have any width up to max_len: pad them with <pad> to max_len."""
    max_len = case.args[3]
    if got.dim() == 2 and not got.is_floating_point() and got.shape[1] <= max_len:
        return torch.nn.functional.pad(got, (0, max_len - got.shape[1]), value=PAD_ID)
    return got                         # longer than max_len: the shape check says so


@exercise(_greedy_cases, adapt=_any_width)
def greedy_decode(fn: Callable[..., Tensor]) -> bool:
    """Check ``fn(model, src (B, S), src_lengths (B,), max_len) -> tokens (B, T)``, T <= max_len.

    Compared row by row up to the first </s>; what follows it does not matter.
    """


# --- reversing the source ---------------------------------------------------------------------

def _reverse_reference(src: Tensor, lengths: Tensor) -> Tensor:
    rows = [torch.cat([row[:n].flip(0), row[n:]]) for row, n in zip(src, lengths.tolist())]
    return torch.stack(rows)                                               # (B, S)


def _reverse_cases() -> list[Case]:
    cases = []
    for pairs in (_TOY_PAIRS, _TOY_PAIRS[2:]):
        data = encode_pairs(pairs, _TOY_SRC, _TOY_TGT)
        mistakes = ((data.src.flip(1), "the padding moved to the front: reverse only the first lengths[b] tokens "
                                       "of each row, and keep the padding after them."),
                    (data.src, "this is the source unchanged."))
        cases.append(Case((data.src, data.src_lengths), ("src (B, S)", "lengths (B,)"),
                          _reverse_reference(data.src, data.src_lengths), "(B, S)", mistakes))
    return cases


@exercise(_reverse_cases)
def reverse_source(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(src (B, S), lengths (B,)) -> (B, S)``: each row's real tokens reversed, padding kept after."""
