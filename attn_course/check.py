"""Exercise checkers: one per exercise, each ``check.<name>(fn) -> bool``.

A checker runs the learner's function on seeded inputs (fresh copies for every
call), compares with the package's reference, and prints one friendly line
naming the first thing that is wrong: not attempted yet, an exception, the
wrong type, dtype or shape, NaN, a changed input, wrong values (with a hint
when the answer matches a typical mistake), then gradients. It returns True or
False and never raises, whatever the learner's code does. It never prints the
solution. The machinery is in :mod:`attn_course._checker`.

Each call of the learner's function has ``TIME_LIMIT`` seconds (5 by default);
a function that takes longer is stopped and reported ("is there an infinite
loop?"), and the kernel stays usable. Change it with ``check.TIME_LIMIT = 20``
(``None``: no limit). A function that catches the time-out itself (``except
BaseException`` inside its loop) is stopped again every 0.1 s and still
reported as too slow; one that swallows it forever needs the kernel's stop
button or a restart.

A checker cannot be fooled by replacing torch's functions or its own: it
computes the expected answers before the learner's code runs, with the
original functions, and puts back whatever names the learner's code replaced,
saying so in its line (see :mod:`attn_course._checker`).

``progress()`` lists which exercises have passed in this session.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from attn_course import _checker
from attn_course._checker import run
from attn_course._verdicts import FAIL, PASS, TODO, Case, Problem
from attn_course.attention import dot_product_attention, masked_softmax, padding_mask
from attn_course.data import EOS_ID, PAD_ID, SOS_ID, Vocab, encode_pairs
from attn_course.models import Seq2SeqConfig
from attn_course.train import build_model

__all__ = [
    "attention_weights", "self_attention_output",              # self-attention
    "teacher_forcing_input", "greedy_decode",                  # the vanilla encoder-decoder
    "peeky_input", "reverse_source",                           # the peeky encoder-decoder
    "masked_attention_weights", "context_vector",              # the attention encoder-decoder
    "additive_scores", "split_heads", "causal_mask",           # the three attention layers
    "progress", "TIME_LIMIT",
]
_EXERCISES = tuple(n for n in __all__ if n not in ("progress", "TIME_LIMIT"))

TIME_LIMIT: float | None = _checker.DEFAULT_TIME_LIMIT   # seconds per call of the learner's function


def progress(names: str | Sequence[str] | None = None) -> dict[str, bool]:
    """Print and return which exercises have passed in this session: one name, a list, or all by default."""
    if isinstance(names, str) or callable(names):
        names = (names,)
    try:
        names = tuple(names or ()) or _EXERCISES
    except TypeError:                  # not a list: one name
        names = (names,)
    names = tuple(n if isinstance(n, str) else str(getattr(n, "__name__", n)) for n in names)
    results = _checker.status()
    for n in names:
        if n not in _EXERCISES:
            print(f"❓ {n}: no such exercise; the exercises are {', '.join(_EXERCISES)}.")
            continue
        r = results.get(n, "unchecked")
        icon, note = {True: (PASS, ""), False: (FAIL, ""), None: (TODO, " (not attempted yet)")}.get(
            r, ("·", " (not checked yet)"))
        print(f"{icon} {n}{note}")
    return {n: results.get(n) is True for n in names}


def _exercise(make_cases: Callable[[], list[Case]], reference: Callable | None = None,
              adapt: Callable[[Tensor, Case], Tensor] | None = None) -> Callable[[Callable], Callable[..., bool]]:
    """Make the decorated function, which only gives the exercise its name, signature and docstring, into
    the exercise's checker. Its cases, reference and the engine are bound here, at import: replacing
    ``check._weights_reference`` or ``check.run`` later changes nothing."""
    bound_run = run

    def decorate(stub: Callable) -> Callable[..., bool]:
        name = stub.__name__

        def checker(fn):
            return bound_run(name, fn, make_cases, reference, adapt=adapt, time_limit=TIME_LIMIT)
        return functools.update_wrapper(checker, stub)
    return decorate


# --- chapter 1: self-attention --------------------------------------------------------

def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


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


@_exercise(_weights_cases, _weights_reference)
def attention_weights(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(query (D,), keys (S, D)) -> weights (S,)``: softmax of the dot products."""


def _self_attention_reference(x: Tensor) -> Tensor:
    return dot_product_attention(x, x, x)[0]                     # (N, D)


def _self_attention_cases() -> list[Case]:
    cases = []
    for seed, (n, d) in enumerate([(6, 3), (4, 5), (3, 2)], start=10):
        x = torch.randn(n, d, generator=_gen(seed))
        scores = x @ x.T                                         # (N, N)
        w = scores.softmax(-1)
        mistakes = (
            (scores @ x, "you used the raw scores X Xᵀ as weights: apply the softmax over each row first."),
            # X Xᵀ is symmetric, so a softmax over dim 0 and Wᵀ X give the same answer.
            (w.T @ x, "the weights are transposed: the softmax runs over each query's row (dim=-1), "
                      "and the output is W X, not Wᵀ X."),
            (x, "this is the input unchanged: return the weighted sum of the inputs, W X."),
            (w, "this is the weight matrix W (N, N); return the weighted sum of the inputs, W X (N, D)."),
        )
        cases.append(Case((x,), ("X (N, D)",), _self_attention_reference(x), "(N, D)", mistakes))
    return cases


@_exercise(_self_attention_cases, _self_attention_reference)
def self_attention_output(fn: Callable[[Tensor], Tensor]) -> bool:
    """Check ``fn(X (N, D)) -> outputs (N, D)``: softmax(X Xᵀ) X, the softmax over each row."""


# --- the vanilla encoder-decoder ------------------------------------------------------------

_TOY_PAIRS = [("16+75", "91"), ("52+607", "659"), ("3+4", "7"), ("999+1", "1000"), ("40+2", "42")]
_TOY_SRC = Vocab.build(["0123456789+"])
_TOY_TGT = Vocab.build(["0123456789"])


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


@_exercise(_teacher_forcing_cases)
def teacher_forcing_input(fn: Callable[[Tensor], Tensor]) -> bool:
    """Check ``fn(tgt_out (B, L)) -> tgt_in (B, L)``: <s>, then the target shifted right, </s> dropped."""


def _toy_model(decoder: str = "vanilla"):
    model = build_model(Seq2SeqConfig(_TOY_SRC, _TOY_TGT, decoder=decoder, embed_dim=8, hidden_dim=16), seed=7)
    with torch.no_grad():              # <pad> and <s> are never targets: a plain argmax never picks them
        model.decoder.out.bias[[PAD_ID, SOS_ID]] = -1e4
    return model.eval()


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


@_exercise(_greedy_cases, adapt=_any_width)
def greedy_decode(fn: Callable[..., Tensor]) -> bool:
    """Check ``fn(model, src (B, S), src_lengths (B,), max_len) -> tokens (B, T)``, T <= max_len.

    Compared row by row up to the first </s>; what follows it does not matter.
    """


# --- the peeky encoder-decoder ------------------------------------------------------------

def _peeky_reference(embedded: Tensor, h: Tensor) -> Tensor:
    return torch.cat([embedded, h[:, None, :].expand(-1, embedded.shape[1], -1)], dim=-1)   # (B, L, E + H)


def _peeky_cases() -> list[Case]:
    cases = []
    for seed, (b, l, e, h) in enumerate([(2, 3, 4, 5), (3, 1, 2, 3), (1, 4, 3, 2)], start=20):
        g = torch.Generator().manual_seed(seed)
        emb, hid = torch.randn(b, l, e, generator=g), torch.randn(b, h, generator=g)
        expected = _peeky_reference(emb, hid)
        mistakes = ((torch.cat([hid[:, None, :].expand(-1, l, -1), emb], dim=-1),
                     "the order is swapped: the embedding first, then h, as in PeekyDecoder."),)
        cases.append(Case((emb, hid), ("embedded (B, L, E)", "h (B, H)"), expected, "(B, L, E + H)", mistakes))
    return cases


@_exercise(_peeky_cases, _peeky_reference)
def peeky_input(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(embedded (B, L, E), h (B, H)) -> (B, L, E + H)``: h joined to every step's input."""


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


@_exercise(_reverse_cases)
def reverse_source(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(src (B, S), lengths (B,)) -> (B, S)``: each row's real tokens reversed, padding kept after."""


# --- the attention encoder-decoder ----------------------------------------------------------

def _attention_inputs(seed: int, b: int, s: int, h: int, lengths: list[int]):
    g = torch.Generator().manual_seed(seed)
    state, enc = torch.randn(b, h, generator=g), torch.randn(b, s, h, generator=g)
    mask = padding_mask(lengths, s).reshape(len(lengths), s)             # (B, S), from (B, S) or (B, 1, S)
    enc = enc * mask[..., None]                                           # encoder states are 0 at padding
    return state, enc, mask


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


@_exercise(_masked_weights_cases, _masked_weights_reference)
def masked_attention_weights(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(state (B, H), enc_states (B, S, H), mask (B, S)) -> weights (B, S)``, 0 where mask is False."""


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


@_exercise(_context_cases, _context_reference)
def context_vector(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(weights (B, S), enc_states (B, S, H)) -> context (B, H)``: the weighted sum of the states."""


# --- the three attention layers ---------------------------------------------------------------

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


@_exercise(_additive_cases, _additive_reference)
def additive_scores(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(query (L, D), key (S, D), v (D,)) -> scores (L, S)``: ``v · tanh(q_i + k_j)``."""


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


@_exercise(_split_heads_cases, _split_heads_reference)
def split_heads(fn: Callable[[Tensor, int], Tensor]) -> bool:
    """Check ``fn(x (B, L, D), num_heads) -> (B, H, L, Dh)``: head h gets features h*Dh .. (h+1)*Dh - 1."""


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


@_exercise(_causal_cases)
def causal_mask(fn: Callable[[int], Tensor]) -> bool:
    """Check ``fn(L) -> mask (L, L)`` boolean, True = may attend: query i sees keys j <= i."""


# The originals a check puts back (attn_course._originals): this module's names but the settings,
# and the functions of the modules its references call.
for _module in ("attn_course.attention", "attn_course.layers", "attn_course.data", "attn_course.models",
                "attn_course.train"):
    _checker.protect(sys.modules[_module])
_checker.protect(sys.modules[__name__], everything=True, skip=("TIME_LIMIT",))
