"""Exercise checkers: one per exercise, each ``check.<name>(fn) -> bool``.

A checker runs the learner's function on seeded inputs (fresh copies for every
call), compares with the package's reference, and prints one friendly line
naming the first thing that is wrong: not attempted yet, an exception, the
wrong type, dtype or shape, NaN, a changed input, wrong values (with a hint
when the answer matches a typical mistake), then gradients. It returns True or
False and never raises, whatever the learner's code does. It never prints the
solution. The machinery is in :mod:`attn_course._checker`.

``progress()`` lists which exercises have passed in this session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from attn_course import _checker
from attn_course._checker import FAIL, PASS, TODO, Case, Problem, run
from attn_course.attention import dot_product_attention, masked_softmax, padding_mask
from attn_course.data import EOS_ID, PAD_ID, SOS_ID, Vocab, encode_pairs

__all__ = [
    "attention_weights", "self_attention_output",              # self-attention
    "teacher_forcing_input", "greedy_decode",                  # the vanilla encoder-decoder
    "peeky_input", "reverse_source",                           # the peeky encoder-decoder
    "masked_attention_weights", "context_vector",              # the attention encoder-decoder
    "additive_scores", "split_heads", "causal_mask",           # the three attention layers
    "progress",
]


def progress(names: Sequence[str] = ()) -> dict[str, bool]:
    """Print and return which exercises have passed in this session (all checkers by default)."""
    names = tuple(names) or tuple(n for n in __all__ if n != "progress")
    results = _checker.status()
    for n in names:
        r = results.get(n, "unchecked")
        icon, note = {True: (PASS, ""), False: (FAIL, ""), None: (TODO, " (not attempted yet)")}.get(
            r, ("·", " (not checked yet)"))
        print(f"{icon} {n}{note}")
    return {n: results.get(n) is True for n in names}


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


def attention_weights(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(query (D,), keys (S, D)) -> weights (S,)``: softmax of the dot products."""
    return run("attention_weights", fn, _weights_cases(), _weights_reference)


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


def self_attention_output(fn: Callable[[Tensor], Tensor]) -> bool:
    """Check ``fn(X (N, D)) -> outputs (N, D)``: softmax(X Xᵀ) X, the softmax over each row."""
    return run("self_attention_output", fn, _self_attention_cases(), _self_attention_reference)


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


def teacher_forcing_input(fn: Callable[[Tensor], Tensor]) -> bool:
    """Check ``fn(tgt_out (B, L)) -> tgt_in (B, L)``: <s>, then the target shifted right, </s> dropped."""
    return run("teacher_forcing_input", fn, _teacher_forcing_cases())


def _toy_model(decoder: str = "vanilla"):
    from attn_course.models import Seq2SeqConfig
    from attn_course.train import build_model

    model = build_model(Seq2SeqConfig(_TOY_SRC, _TOY_TGT, decoder=decoder, embed_dim=8, hidden_dim=16), seed=7)
    with torch.no_grad():              # <pad> and <s> are never targets: a plain argmax never picks them
        model.decoder.out.bias[[PAD_ID, SOS_ID]] = -1e4
    return model.eval()


def _until_eos(row: list[int]) -> list[int]:
    return row[: row.index(EOS_ID) + 1] if EOS_ID in row else row


def _compare_decoded(expected: Tensor) -> Callable[[Tensor], None]:
    def compare(got: Tensor) -> None:
        for b, (e, g) in enumerate(zip(expected.tolist(), got.tolist())):
            e, g = _until_eos(e), _until_eos(g)
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


def greedy_decode(fn: Callable[..., Tensor]) -> bool:
    """Check ``fn(model, src (B, S), src_lengths (B,), max_len) -> tokens (B, T)``, T <= max_len.

    Compared row by row up to the first </s>; what follows it does not matter.
    """
    try:
        cases = _greedy_cases()
    except BaseException as e:  # never let the checker's own set-up escape
        print(f"{FAIL} greedy_decode: the checker itself hit {type(e).__name__}: {e}. Please report it.")
        return False
    return run("greedy_decode", _any_width(fn), cases)


def _any_width(fn: Callable[..., Tensor]) -> Callable[..., object]:
    """Let the decoded tokens have any width up to max_len: pad or cut to the reference width."""
    def wrapped(model, src, src_lengths, max_len):
        got = fn(model, src, src_lengths, max_len)
        if isinstance(got, Tensor) and got.dim() == 2 and not got.is_floating_point() and got.shape[1] <= max_len:
            return torch.nn.functional.pad(got, (0, max_len - got.shape[1]), value=PAD_ID)
        return got                     # longer than max_len: the shape check says so
    return wrapped


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


def peeky_input(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(embedded (B, L, E), h (B, H)) -> (B, L, E + H)``: h joined to every step's input."""
    return run("peeky_input", fn, _peeky_cases(), _peeky_reference)


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


def reverse_source(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(src (B, S), lengths (B,)) -> (B, S)``: each row's real tokens reversed, padding kept after."""
    return run("reverse_source", fn, _reverse_cases())


# --- the attention encoder-decoder ----------------------------------------------------------

def _attention_inputs(seed: int, b: int, s: int, h: int, lengths: list[int]):
    g = torch.Generator().manual_seed(seed)
    state, enc = torch.randn(b, h, generator=g), torch.randn(b, s, h, generator=g)
    mask = padding_mask(lengths, s)                                       # (B, S)
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


def masked_attention_weights(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(state (B, H), enc_states (B, S, H), mask (B, S)) -> weights (B, S)``, 0 where mask is False."""
    return run("masked_attention_weights", fn, _masked_weights_cases(), _masked_weights_reference)


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


def context_vector(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(weights (B, S), enc_states (B, S, H)) -> context (B, H)``: the weighted sum of the states."""
    return run("context_vector", fn, _context_cases(), _context_reference)


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


def additive_scores(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(query (L, D), key (S, D), v (D,)) -> scores (L, S)``: ``v · tanh(q_i + k_j)``."""
    return run("additive_scores", fn, _additive_cases(), _additive_reference)


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


def split_heads(fn: Callable[[Tensor, int], Tensor]) -> bool:
    """Check ``fn(x (B, L, D), num_heads) -> (B, H, L, Dh)``: head h gets features h*Dh .. (h+1)*Dh - 1."""
    return run("split_heads", fn, _split_heads_cases(), _split_heads_reference)


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


def causal_mask(fn: Callable[[int], Tensor]) -> bool:
    """Check ``fn(L) -> mask (L, L)`` boolean, True = may attend: query i sees keys j <= i."""
    return run("causal_mask", fn, _causal_cases())
