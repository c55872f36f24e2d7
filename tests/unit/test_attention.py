"""Tests for attn_course.attention, against independent references.

References: tiny cases worked out by hand with math.exp, PyTorch's
``torch.nn.functional.scaled_dot_product_attention`` (same mask convention:
boolean, True = may attend), finite differences / ``torch.autograd.gradcheck``,
and invariants checked with hypothesis. Seeded, CPU only, float64 unless said.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_course.attention import (
    additive_attention,
    attention_weights,
    causal_mask,
    dot_product_attention,
    masked_softmax,
    padding_mask,
    scaled_attention_weights,
    scaled_dot_product_attention,
    self_attention,
)

F64 = torch.float64
HYPOTHESIS = settings(max_examples=50, deadline=None, derandomize=True, database=None)


def randn(*shape: int, gen: torch.Generator, dtype: torch.dtype = F64) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=dtype)


def random_mask(*shape: int, gen: torch.Generator, p: float = 0.6) -> torch.Tensor:
    """Boolean mask, True with probability p (some rows may be fully masked)."""
    return torch.rand(*shape, generator=gen) < p


def with_one_key_per_row(mask: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Allow one random key in every row that has none, so no row is fully masked."""
    mask = mask.clone()
    empty = ~mask.any(dim=-1)                                    # (..., L)
    pick = torch.randint(mask.shape[-1], empty.shape, generator=gen)
    mask[empty, pick[empty]] = True
    return mask


def reference_weights(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Softmax over allowed keys; rows with no allowed key set to 0 (what the docs promise)."""
    if mask is None:
        return scores.softmax(-1)
    mask = mask.expand(scores.shape)
    w = scores.masked_fill(~mask, float("-inf")).softmax(-1)
    return torch.where(mask.any(-1, keepdim=True), w, torch.zeros_like(w))


def assert_exact_zero(t: torch.Tensor) -> None:
    assert torch.equal(t, torch.zeros_like(t)), t


# ---------------------------------------------------------------------------
# 1. Hand-computed tiny cases
# ---------------------------------------------------------------------------

Q2 = [[1.0, 0.0], [0.0, 1.0]]
K2 = [[1.0, 0.0], [0.0, 1.0]]
V2 = [[1.0, 2.0], [3.0, 4.0]]


def hand_2x2(s: float) -> tuple[list[list[float]], list[list[float]]]:
    """Q = K = I, V = [[1, 2], [3, 4]], scores = s * Q K^T = [[s, 0], [0, s]].

    Row 0: weights [e^s, e^0] / (e^s + 1) = [a, b];  row 1: [b, a].
    Context row 0 = a*[1, 2] + b*[3, 4] = [a + 3b, 2a + 4b]; row 1 = [b + 3a, 2b + 4a].
    """
    a = math.exp(s) / (math.exp(s) + math.exp(0.0))
    b = math.exp(0.0) / (math.exp(s) + math.exp(0.0))
    weights = [[a, b], [b, a]]
    context = [[a + 3 * b, 2 * a + 4 * b], [b + 3 * a, 2 * b + 4 * a]]
    return context, weights


def test_dot_product_attention_hand_2x2():
    q, k, v = (torch.tensor(t, dtype=F64) for t in (Q2, K2, V2))
    context, weights = dot_product_attention(q, k, v, scale=1.0)
    want_context, want_weights = hand_2x2(1.0)
    # e / (e + 1) = 0.7310585786300049, for a reader checking by eye.
    assert want_weights[0][0] == pytest.approx(0.7310585786300049)
    torch.testing.assert_close(weights, torch.tensor(want_weights, dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(context, torch.tensor(want_context, dtype=F64), rtol=0, atol=1e-12)
    assert context.shape == (2, 2) and weights.shape == (2, 2)


def test_dot_product_attention_default_scale_is_one():
    q, k, v = (torch.tensor(t, dtype=F64) for t in (Q2, K2, V2))
    want_context, _ = hand_2x2(1.0)
    torch.testing.assert_close(dot_product_attention(q, k, v)[0], torch.tensor(want_context, dtype=F64))


def test_scaled_dot_product_attention_hand_2x2_divides_by_sqrt_d():
    q, k, v = (torch.tensor(t, dtype=F64) for t in (Q2, K2, V2))
    context, weights = scaled_dot_product_attention(q, k, v)
    want_context, want_weights = hand_2x2(1.0 / math.sqrt(2.0))  # D = 2
    torch.testing.assert_close(weights, torch.tensor(want_weights, dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(context, torch.tensor(want_context, dtype=F64), rtol=0, atol=1e-12)


def test_attention_weights_hand_2x2():
    q, k = (torch.tensor(t, dtype=F64) for t in (Q2, K2))
    for s in (1.0, 2.5):
        torch.testing.assert_close(attention_weights(q, k, scale=s), torch.tensor(hand_2x2(s)[1], dtype=F64),
                                   rtol=0, atol=1e-12)
    torch.testing.assert_close(scaled_attention_weights(q, k),                     # D = 2
                               torch.tensor(hand_2x2(1.0 / math.sqrt(2.0))[1], dtype=F64), rtol=0, atol=1e-12)


def test_hand_2x2_with_mask():
    q, k, v = (torch.tensor(t, dtype=F64) for t in (Q2, K2, V2))
    mask = torch.tensor([[True, False], [True, True]])
    context, weights = dot_product_attention(q, k, v, mask=mask)
    # Row 0 sees only key 0: weight 1, context = v[0]. Row 1 is unmasked: as in hand_2x2.
    a = math.exp(1.0) / (math.exp(1.0) + math.exp(0.0))      # row 1: [1 - a, a]
    want_w = torch.tensor([[1.0, 0.0], [1 - a, a]], dtype=F64)
    want_c = torch.tensor([[1.0, 2.0], [(1 - a) * 1 + a * 3, (1 - a) * 2 + a * 4]], dtype=F64)
    torch.testing.assert_close(weights, want_w, rtol=0, atol=1e-12)
    torch.testing.assert_close(context, want_c, rtol=0, atol=1e-12)


def test_self_attention_hand_case():
    # x = [[1, 0], [0, 2]]: scores x x^T = [[1, 0], [0, 4]].
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=F64)
    a = math.exp(1) / (math.exp(1) + math.exp(0))  # row 0: [a, 1 - a]
    c = math.exp(4) / (math.exp(0) + math.exp(4))  # row 1: [1 - c, c]
    want_weights = torch.tensor([[a, 1 - a], [1 - c, c]], dtype=F64)
    # outputs = weights @ x: row 0 = a*[1, 0] + (1-a)*[0, 2]; row 1 = (1-c)*[1, 0] + c*[0, 2]
    want_outputs = torch.tensor([[a, 2 * (1 - a)], [1 - c, 2 * c]], dtype=F64)
    outputs, weights = self_attention(x)
    torch.testing.assert_close(weights, want_weights, rtol=0, atol=1e-12)
    torch.testing.assert_close(outputs, want_outputs, rtol=0, atol=1e-12)


def test_self_attention_hand_case_with_scale_and_causal_mask():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=F64)
    # scale 0.5: scores [[0.5, 0], [0, 2]]; causal: row 0 sees only itself.
    c = math.exp(2.0) / (math.exp(0.0) + math.exp(2.0))
    outputs, weights = self_attention(x, mask=causal_mask(2), scale=0.5)
    torch.testing.assert_close(weights, torch.tensor([[1.0, 0.0], [1 - c, c]], dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(outputs, torch.tensor([[1.0, 0.0], [1 - c, 2 * c]], dtype=F64), rtol=0, atol=1e-12)


@pytest.mark.parametrize("s", [2.0, -0.5, 0.0])
def test_scale_as_float_and_as_0d_tensor(s):
    q, k, v = (torch.tensor(t, dtype=F64) for t in (Q2, K2, V2))
    want_context, want_weights = hand_2x2(s)
    for scale in (s, torch.tensor(s, dtype=F64)):
        context, weights = dot_product_attention(q, k, v, scale=scale)
        torch.testing.assert_close(weights, torch.tensor(want_weights, dtype=F64), rtol=0, atol=1e-12)
        torch.testing.assert_close(context, torch.tensor(want_context, dtype=F64), rtol=0, atol=1e-12)


def test_scale_int_is_accepted_as_a_number():
    q, k, v = (torch.tensor(t, dtype=F64) for t in (Q2, K2, V2))
    want_context, _ = hand_2x2(2.0)
    torch.testing.assert_close(dot_product_attention(q, k, v, scale=2)[0], torch.tensor(want_context, dtype=F64))


def test_learnable_scale_gradient_by_hand():
    # context[0, 0] = a*1 + (1 - a)*3 = 3 - 2a with a = sigmoid(s), so d/ds = -2 a (1 - a).
    q, k, v = (torch.tensor(t, dtype=F64) for t in (Q2, K2, V2))
    s = 0.7
    scale = torch.tensor(s, dtype=F64, requires_grad=True)
    context, _ = dot_product_attention(q, k, v, scale=scale)
    context[0, 0].backward()
    a = math.exp(s) / (math.exp(s) + 1.0)
    assert scale.grad is not None
    assert scale.grad.item() == pytest.approx(-2 * a * (1 - a), abs=1e-12)
    # And a central finite difference agrees.
    h = 1e-6
    plus = dot_product_attention(q, k, v, scale=s + h)[0][0, 0].item()
    minus = dot_product_attention(q, k, v, scale=s - h)[0][0, 0].item()
    assert scale.grad.item() == pytest.approx((plus - minus) / (2 * h), abs=1e-8)


def test_learnable_scale_gradcheck():
    gen = torch.Generator().manual_seed(1)
    q, k, v = randn(2, 3, 4, gen=gen), randn(2, 5, 4, gen=gen), randn(2, 5, 3, gen=gen)
    mask = with_one_key_per_row(random_mask(2, 3, 5, gen=gen), gen)
    mask[0, 1] = False  # and one fully masked row
    scale = torch.tensor(0.8, dtype=F64, requires_grad=True)

    def f(scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return dot_product_attention(q, k, v, mask=mask, scale=scale)

    assert torch.autograd.gradcheck(f, (scale,))


# ---------------------------------------------------------------------------
# 2. Parity with torch.nn.functional.scaled_dot_product_attention
# ---------------------------------------------------------------------------

# (query batch dims, key/value batch dims, L, S, D, Dv)
PARITY_SHAPES = [
    ((), (), 3, 3, 4, 4),
    ((), (), 2, 7, 3, 5),
    ((4,), (4,), 5, 2, 6, 1),
    ((2, 3), (2, 3), 4, 6, 8, 5),         # (B, H, L, S)
    ((2, 3), (1, 3), 1, 5, 2, 3),         # key/value batch dims broadcast
]


@pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "mask"])
@pytest.mark.parametrize("qb, kb, L, S, D, Dv", PARITY_SHAPES)
def test_sdpa_parity_with_pytorch(qb, kb, L, S, D, Dv, masked):
    gen = torch.Generator().manual_seed(100 * L + 10 * S + D)
    q, k, v = randn(*qb, L, D, gen=gen), randn(*kb, S, D, gen=gen), randn(*kb, S, Dv, gen=gen)
    batch = torch.broadcast_shapes(qb, kb)
    mask = with_one_key_per_row(random_mask(*batch, L, S, gen=gen), gen) if masked else None
    context, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    want = F.scaled_dot_product_attention(q, k.expand(*batch, S, D), v.expand(*batch, S, Dv), attn_mask=mask)
    assert context.shape == (*batch, L, Dv) and weights.shape == (*batch, L, S)
    torch.testing.assert_close(context, want, rtol=0, atol=1e-6)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    torch.testing.assert_close(weights, reference_weights(scores, mask), rtol=0, atol=1e-6)


@pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "mask"])
@pytest.mark.parametrize("qb, kb, L, S, D, Dv", PARITY_SHAPES)
def test_weights_alone_match_pytorch_and_the_attention_functions(qb, kb, L, S, D, Dv, masked):
    """attention_weights and scaled_attention_weights: PyTorch's SDPA with the identity as values returns
    the weights; and they are the weights that dot_product_attention and scaled_dot_product_attention return."""
    gen = torch.Generator().manual_seed(100 * L + 10 * S + D + 1)
    q, k, v = randn(*qb, L, D, gen=gen), randn(*kb, S, D, gen=gen), randn(*kb, S, Dv, gen=gen)
    batch = torch.broadcast_shapes(qb, kb)
    mask = with_one_key_per_row(random_mask(*batch, L, S, gen=gen), gen) if masked else None
    identity = torch.eye(S, dtype=F64).expand(*batch, S, S)
    scaled = scaled_attention_weights(q, k, mask=mask)
    assert scaled.shape == (*batch, L, S)
    torch.testing.assert_close(scaled, F.scaled_dot_product_attention(q, k.expand(*batch, S, D), identity,
                                                                      attn_mask=mask), rtol=0, atol=1e-6)
    torch.testing.assert_close(scaled, scaled_dot_product_attention(q, k, v, mask=mask)[1], rtol=0, atol=0)
    plain = attention_weights(q, k, mask=mask, scale=0.7)
    torch.testing.assert_close(plain, F.scaled_dot_product_attention(q, k.expand(*batch, S, D), identity,
                                                                     attn_mask=mask, scale=0.7), rtol=0, atol=1e-6)
    torch.testing.assert_close(plain, dot_product_attention(q, k, v, mask=mask, scale=0.7)[1], rtol=0, atol=0)


@pytest.mark.parametrize("mask_shape", ["(L, S)", "(B, 1, 1, S)"])
def test_sdpa_parity_with_broadcast_masks(mask_shape):
    gen = torch.Generator().manual_seed(3)
    B, H, L, S, D = 3, 2, 4, 6, 5
    q, k, v = randn(B, H, L, D, gen=gen), randn(B, H, S, D, gen=gen), randn(B, H, S, D, gen=gen)
    if mask_shape == "(L, S)":
        mask = with_one_key_per_row(random_mask(L, S, gen=gen), gen)
    else:
        mask = padding_mask([1, 6, 3], S)[:, None]   # (B, 1, 1, S)
    context, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    torch.testing.assert_close(context, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), rtol=0, atol=1e-6)


def test_sdpa_parity_leaves_out_fully_masked_rows():
    # Observed with torch 2.13.0 CPU (float32 and float64): a fully masked row of
    # F.scaled_dot_product_attention comes out as zeros, not NaN (older versions gave
    # NaN). We do not depend on that: such rows are left out of the parity check and
    # compared with the zero that our docs promise.
    gen = torch.Generator().manual_seed(4)
    q, k, v = randn(2, 3, 5, 4, gen=gen), randn(2, 3, 6, 4, gen=gen), randn(2, 3, 6, 7, gen=gen)
    mask = with_one_key_per_row(random_mask(2, 3, 5, 6, gen=gen), gen)
    mask[0, 1, 2] = False
    mask[1, 2, 0] = False
    context, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    rows = mask.any(-1)                                           # (B, H, L)
    torch.testing.assert_close(context[rows], theirs[rows], rtol=0, atol=1e-6)
    assert_exact_zero(context[~rows])
    assert_exact_zero(weights[~rows])
    assert (~rows).sum() == 2


@pytest.mark.parametrize("s", [0.1, 1.0, 2.5, -1.0])
def test_dot_product_attention_scale_matches_pytorch_scale(s):
    gen = torch.Generator().manual_seed(5)
    q, k, v = randn(2, 3, 4, gen=gen), randn(2, 6, 4, gen=gen), randn(2, 6, 2, gen=gen)
    mask = with_one_key_per_row(random_mask(2, 3, 6, gen=gen), gen)
    for m in (None, mask):
        context, _ = dot_product_attention(q, k, v, mask=m, scale=s)
        torch.testing.assert_close(context, F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=s),
                                   rtol=0, atol=1e-6)
        context_t, _ = dot_product_attention(q, k, v, mask=m, scale=torch.tensor(s, dtype=F64))
        torch.testing.assert_close(context_t, context, rtol=0, atol=1e-12)


def test_float32_parity_with_pytorch():
    gen = torch.Generator().manual_seed(6)
    q, k, v = (randn(2, 4, 3, 8, gen=gen, dtype=torch.float32) for _ in range(3))
    context, weights = scaled_dot_product_attention(q, k, v, mask=causal_mask(3))
    assert context.dtype == weights.dtype == torch.float32
    torch.testing.assert_close(context, F.scaled_dot_product_attention(q, k, v, is_causal=True))


# ---------------------------------------------------------------------------
# 3. Masks
# ---------------------------------------------------------------------------

def test_causal_mask_hand_case():
    want = torch.tensor([[True, False, False, False],
                         [True, True, False, False]])
    got = causal_mask(2, 4)
    assert got.dtype == torch.bool
    assert torch.equal(got, want)


@pytest.mark.parametrize("L, S", [(1, 1), (4, 4), (2, 5), (5, 2), (3, 1)])
def test_causal_mask_is_lower_triangle(L, S):
    got = causal_mask(L, S)
    assert got.dtype == torch.bool and got.shape == (L, S)
    assert torch.equal(got, torch.ones(L, S, dtype=torch.bool).tril())


def test_causal_mask_square_by_default():
    assert torch.equal(causal_mask(3), torch.ones(3, 3, dtype=torch.bool).tril())


@pytest.mark.parametrize("L, S", [(4, 4), (2, 5), (5, 2), (1, 3)])
def test_causal_mask_matches_pytorch_is_causal(L, S):
    # PyTorch's docs build is_causal as torch.ones(L, S).tril(diagonal=0): aligned
    # top-left, so for L != S query i sees keys 0..i (not the bottom-right
    # alignment used by FlashAttention >= 2.1's causal=True).
    gen = torch.Generator().manual_seed(7)
    q, k, v = randn(2, 3, L, 4, gen=gen), randn(2, 3, S, 4, gen=gen), randn(2, 3, S, 2, gen=gen)
    context, _ = scaled_dot_product_attention(q, k, v, mask=causal_mask(L, S))
    torch.testing.assert_close(context, F.scaled_dot_product_attention(q, k, v, is_causal=True), rtol=0, atol=1e-6)


def test_padding_mask_hand_case():
    want = torch.tensor([[True, True, False, False],
                         [False, False, False, False],
                         [True, True, True, True],
                         [True, False, False, False]])
    for lengths in ([2, 0, 4, 1], torch.tensor([2, 0, 4, 1]), torch.tensor([2, 0, 4, 1], dtype=torch.int32),
                    (2, 0, 4, 1), np.array([2, 0, 4, 1])):
        got = padding_mask(lengths, 4)
        assert got.dtype == torch.bool and got.shape == (4, 1, 4)      # (B, 1, S): the 1 is the queries
        assert torch.equal(got[:, 0], want), lengths


@pytest.mark.parametrize("S", [1, 3, 6])
def test_padding_mask_lengths_zero_and_full(S):
    got = padding_mask([0, S], S)[:, 0]
    assert got.shape == (2, S)
    assert not got[0].any()
    assert got[1].all()


@pytest.mark.parametrize("L", [3, 2])   # L == B is the case a (B, S) mask would silently get wrong
def test_padding_mask_masks_keys_when_batch_equals_queries(L):
    gen = torch.Generator().manual_seed(9)
    lengths = [3, 1, 2]
    q, k, v = randn(3, L, 2, gen=gen), randn(3, 3, 2, gen=gen), randn(3, 3, 2, gen=gen)
    _, weights = dot_product_attention(q, k, v, mask=padding_mask(lengths, 3))
    for b, n in enumerate(lengths):
        assert_exact_zero(weights[b, :, n:])
        torch.testing.assert_close(weights[b].sum(-1), torch.ones(L, dtype=F64))


def test_padding_mask_masks_keys_of_a_batch():
    # Used as padding_mask(lengths, S) on (B, L, S) scores: example b
    # attends exactly to its first lengths[b] keys, whatever the query.
    gen = torch.Generator().manual_seed(8)
    lengths = [3, 1, 5]
    q, k, v = randn(3, 4, 2, gen=gen), randn(3, 5, 2, gen=gen), randn(3, 5, 2, gen=gen)
    _, weights = dot_product_attention(q, k, v, mask=padding_mask(lengths, 5))
    for b, n in enumerate(lengths):
        assert (weights[b, :, :n] > 0).all()
        assert_exact_zero(weights[b, :, n:])


# ---------------------------------------------------------------------------
# 4. Fully masked rows and huge scores
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_fully_masked_rows_give_exact_zeros_and_no_nan(dtype):
    gen = torch.Generator().manual_seed(9)
    q, k, v = randn(2, 3, 4, gen=gen, dtype=dtype), randn(2, 5, 4, gen=gen, dtype=dtype), \
        randn(2, 5, 3, gen=gen, dtype=dtype)
    mask = torch.ones(2, 3, 5, dtype=torch.bool)
    mask[0, 1] = False                  # one fully masked row
    mask[1] = False                     # a whole example fully masked
    context, weights = dot_product_attention(q, k, v, mask=mask)
    assert torch.isfinite(context).all() and torch.isfinite(weights).all()
    assert_exact_zero(weights[0, 1])
    assert_exact_zero(context[0, 1])
    assert_exact_zero(weights[1])
    assert_exact_zero(context[1])
    torch.testing.assert_close(weights[0, [0, 2]].sum(-1), torch.ones(2, dtype=dtype))


def test_masked_softmax_fully_masked_row():
    scores = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=F64)
    mask = torch.tensor([[True, False, True], [False, False, False]])
    got = masked_softmax(scores, mask)
    e1, e3 = math.exp(1.0), math.exp(3.0)
    want = torch.tensor([[e1 / (e1 + e3), 0.0, e3 / (e1 + e3)], [0.0, 0.0, 0.0]], dtype=F64)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    assert_exact_zero(got[1])
    torch.testing.assert_close(masked_softmax(scores), scores.softmax(-1), rtol=0, atol=0)


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled:UserWarning")
def test_fully_masked_rows_have_finite_gradients():
    gen = torch.Generator().manual_seed(10)
    q = randn(2, 3, 4, gen=gen).requires_grad_()
    k = randn(2, 5, 4, gen=gen).requires_grad_()
    v = randn(2, 5, 3, gen=gen).requires_grad_()
    mask = with_one_key_per_row(random_mask(2, 3, 5, gen=gen), gen)
    mask[0, 1] = False
    mask[1] = False
    # detect_anomaly raises if any backward step makes a NaN, even one that a later
    # masked_fill would hide (softmax over an all -inf row is NaN).
    with torch.autograd.detect_anomaly():
        context, weights = scaled_dot_product_attention(q, k, v, mask=mask)
        ((context ** 2).sum() + (weights * torch.arange(5.0, dtype=F64)).sum()).backward()
    for t in (q, k, v):
        assert t.grad is not None and torch.isfinite(t.grad).all()
    # A query that attends to nothing does not influence the loss.
    assert_exact_zero(q.grad[0, 1])
    assert_exact_zero(q.grad[1])
    assert_exact_zero(k.grad[1])
    assert_exact_zero(v.grad[1])
    assert q.grad[0, 0].abs().sum() > 0


def test_gradcheck_with_fully_masked_row():
    gen = torch.Generator().manual_seed(11)
    q = randn(2, 3, 4, gen=gen).requires_grad_()
    k = randn(2, 5, 4, gen=gen).requires_grad_()
    v = randn(2, 5, 3, gen=gen).requires_grad_()
    mask = with_one_key_per_row(random_mask(2, 3, 5, gen=gen), gen)
    mask[1, 2] = False
    assert not mask.any(-1).all()
    assert torch.autograd.gradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, mask=mask), (q, k, v))
    x_mask = torch.tensor([[False, False, False], [True, True, False], [True, False, True]])
    assert torch.autograd.gradcheck(lambda x: self_attention(x, mask=x_mask), (randn(3, 2, gen=gen).requires_grad_(),))


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_huge_scores_stay_finite_and_normalised(dtype):
    gen = torch.Generator().manual_seed(12)
    q = randn(2, 4, 8, gen=gen, dtype=dtype) * 40
    k = randn(2, 6, 8, gen=gen, dtype=dtype) * 40
    v = randn(2, 6, 3, gen=gen, dtype=dtype)
    scores = q @ k.transpose(-2, -1)
    assert scores.abs().max() > 5e3                     # scores of order 1e4
    mask = with_one_key_per_row(random_mask(2, 4, 6, gen=gen), gen)
    for m in (None, mask):
        context, weights = dot_product_attention(q, k, v, mask=m)
        assert torch.isfinite(context).all() and torch.isfinite(weights).all()
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, dtype=dtype))
        assert ((weights >= 0) & (weights <= 1)).all()
        # Softmax saturates: each row puts (almost) all its weight on its best allowed key.
        best = scores.masked_fill(~m, float("-inf")) if m is not None else scores
        torch.testing.assert_close(weights.argmax(-1), best.argmax(-1))


# ---------------------------------------------------------------------------
# 5. Invariants (hypothesis)
# ---------------------------------------------------------------------------

dims = st.integers(min_value=1, max_value=6)
seeds = st.integers(min_value=0, max_value=2**31 - 1)
mask_kinds = st.sampled_from(["none", "random", "causal"])


def make_mask(kind: str, L: int, S: int, gen: torch.Generator) -> torch.Tensor | None:
    if kind == "none":
        return None
    if kind == "causal":
        return causal_mask(L, S)
    return random_mask(2, L, S, gen=gen, p=0.5)     # fully masked rows are likely for small S


@HYPOTHESIS
@given(L=dims, S=dims, D=dims, Dv=dims, seed=seeds, kind=mask_kinds)
def test_weights_invariants(L, S, D, Dv, seed, kind):
    gen = torch.Generator().manual_seed(seed)
    q, k, v = randn(2, L, D, gen=gen), randn(2, S, D, gen=gen), randn(2, S, Dv, gen=gen)
    mask = make_mask(kind, L, S, gen)
    context, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert weights.shape == (2, L, S) and context.shape == (2, L, Dv)
    assert torch.isfinite(weights).all() and torch.isfinite(context).all()
    assert ((weights >= 0) & (weights <= 1)).all()
    full = torch.ones(2, L, S, dtype=torch.bool) if mask is None else mask.expand(2, L, S)
    allowed = full.any(-1)                                        # (2, L)
    sums = weights.sum(-1)
    torch.testing.assert_close(sums[allowed], torch.ones_like(sums[allowed]), rtol=0, atol=1e-12)
    assert_exact_zero(sums[~allowed])
    assert_exact_zero(weights[~full])
    torch.testing.assert_close(context, weights @ v, rtol=0, atol=1e-12)
    torch.testing.assert_close(weights, reference_weights(q @ k.transpose(-2, -1) / math.sqrt(D), mask),
                               rtol=0, atol=1e-12)


@HYPOTHESIS
@given(S=dims, D=dims, seed=seeds, kind=mask_kinds, data=st.data())
def test_self_attention_is_permutation_equivariant(S, D, seed, kind, data):
    gen = torch.Generator().manual_seed(seed)
    x = randn(S, D, gen=gen)
    mask = make_mask(kind, S, S, gen)
    mask = None if mask is None else mask[0] if mask.dim() == 3 else mask
    perm = torch.tensor(data.draw(st.permutations(range(S)), label="perm"))
    outputs, weights = self_attention(x, mask=mask, scale=0.5)
    # Permuting the inputs (and both axes of the mask) permutes the outputs and both axes of the weights.
    p_mask = None if mask is None else mask[perm][:, perm]
    p_outputs, p_weights = self_attention(x[perm], mask=p_mask, scale=0.5)
    torch.testing.assert_close(p_outputs, outputs[perm], rtol=0, atol=1e-12)
    torch.testing.assert_close(p_weights, weights[perm][:, perm], rtol=0, atol=1e-12)
    torch.testing.assert_close(outputs, weights @ x, rtol=0, atol=1e-12)


@HYPOTHESIS
@given(L=dims, S=dims, D=dims, seed=seeds)
def test_masked_weights_are_exactly_zero_even_with_huge_scores(L, S, D, seed):
    gen = torch.Generator().manual_seed(seed)
    q, k, v = randn(L, D, gen=gen) * 100, randn(S, D, gen=gen) * 100, randn(S, D, gen=gen)
    mask = random_mask(L, S, gen=gen, p=0.5)
    context, weights = dot_product_attention(q, k, v, mask=mask)
    assert torch.isfinite(weights).all() and torch.isfinite(context).all()
    assert_exact_zero(weights[~mask])
    sums = weights.sum(-1)
    allowed = mask.any(-1)
    torch.testing.assert_close(sums[allowed], torch.ones_like(sums[allowed]), rtol=0, atol=1e-12)
    assert_exact_zero(context[~allowed])


# ---------------------------------------------------------------------------
# 6. Bad input: the right exception, naming the argument and showing shapes
# ---------------------------------------------------------------------------

def qkv(L: int = 3, S: int = 5, D: int = 4, Dv: int = 7, dtype: torch.dtype = torch.float32):
    gen = torch.Generator().manual_seed(13)
    return randn(2, L, D, gen=gen, dtype=dtype), randn(2, S, D, gen=gen, dtype=dtype), \
        randn(2, S, Dv, gen=gen, dtype=dtype)


def shape(*dims: int) -> str:
    return re.escape(str(tuple(dims)))


@pytest.mark.parametrize("fn", [dot_product_attention, scaled_dot_product_attention])
def test_mismatched_width_names_key(fn):
    q, _, v = qkv()
    k = torch.randn(2, 5, 6)
    with pytest.raises(ValueError, match=rf"^key .*D=4 as in query.*{shape(2, 5, 6)}"):
        fn(q, k, v)


@pytest.mark.parametrize("fn", [dot_product_attention, scaled_dot_product_attention])
def test_mismatched_length_names_value(fn):
    q, k, _ = qkv()
    v = torch.randn(2, 4, 7)
    with pytest.raises(ValueError, match=rf"^value .*S=5 as in key.*{shape(2, 4, 7)}"):
        fn(q, k, v)


@pytest.mark.parametrize("fn", [attention_weights, scaled_attention_weights])
def test_weights_alone_name_the_argument(fn):
    q, k, _ = qkv()
    with pytest.raises(ValueError, match=rf"^key .*D=4 as in query.*{shape(2, 5, 6)}"):
        fn(q, torch.randn(2, 5, 6))
    with pytest.raises(TypeError, match=r"^query must be a floating tensor"):
        fn(q.long(), k)
    with pytest.raises(ValueError, match=r"^mask must be broadcastable to \(..., L, S\) = \(2, 3, 5\)"):
        fn(q, k, torch.ones(2, 5, 3, dtype=torch.bool))


def test_batch_dims_that_do_not_broadcast():
    q, _, _ = qkv()
    k, v = torch.randn(3, 5, 4), torch.randn(3, 5, 7)
    with pytest.raises(ValueError, match=rf"batch dims.*query {shape(2, 3, 4)}.*key {shape(3, 5, 4)}"):
        dot_product_attention(q, k, v)


@pytest.mark.parametrize("mask_shape", [(3, 3), (2, 5), (4, 3, 5), (2, 2, 3, 5)])
def test_mask_that_does_not_broadcast(mask_shape):
    # (4, 3, 5) and (2, 2, 3, 5) would broadcast only by growing the (2, 3, 5) scores.
    q, k, v = qkv()
    mask = torch.ones(mask_shape, dtype=torch.bool)
    with pytest.raises(ValueError, match=rf"^mask .*{shape(2, 3, 5)}.*got {shape(*mask_shape)}"):
        dot_product_attention(q, k, v, mask=mask)


@pytest.mark.parametrize("mask", [torch.ones(3, 5), torch.ones(3, 5, dtype=torch.int64)], ids=["float", "int"])
def test_non_boolean_mask(mask):
    q, k, v = qkv()
    with pytest.raises(TypeError, match=rf"^mask must be boolean.*{re.escape(str(mask.dtype))}"):
        scaled_dot_product_attention(q, k, v, mask=mask)
    with pytest.raises(TypeError, match=r"^mask must be boolean"):
        masked_softmax(torch.zeros(3, 5), mask)


def test_mask_that_is_not_a_tensor():
    q, k, v = qkv()
    with pytest.raises(TypeError, match=rf"^mask .*{shape(2, 3, 5)}.*got list"):
        dot_product_attention(q, k, v, mask=[[True] * 5] * 3)


@pytest.mark.parametrize("name", ["query", "key", "value"])
def test_integer_tensor_names_the_argument(name):
    args = dict(zip(("query", "key", "value"), qkv()))
    args[name] = args[name].round().long()
    with pytest.raises(TypeError, match=rf"^{name} must be a floating tensor.*torch.int64"):
        dot_product_attention(**args)


def test_mixed_dtypes():
    q, k, v = qkv()
    with pytest.raises(TypeError, match=r"share one dtype.*torch.float32, torch.float64, torch.float32"):
        dot_product_attention(q, k.double(), v)


def test_empty_key_length():
    q, _, _ = qkv()
    k, v = torch.randn(2, 0, 4), torch.randn(2, 0, 7)
    with pytest.raises(ValueError, match=rf"^key .*S >= 1.*{shape(2, 0, 4)}"):
        dot_product_attention(q, k, v)


def test_query_with_zero_width():
    q, k, v = torch.randn(2, 3, 0), torch.randn(2, 5, 0), torch.randn(2, 5, 7)
    with pytest.raises(ValueError, match=rf"^query .*D >= 1.*{shape(2, 3, 0)}"):
        scaled_dot_product_attention(q, k, v)


@pytest.mark.parametrize("name", ["query", "key", "value"])
def test_numpy_array_instead_of_tensor(name):
    args = dict(zip(("query", "key", "value"), qkv()))
    args[name] = args[name].numpy()
    with pytest.raises(TypeError, match=rf"^{name} must be a torch.Tensor.*got ndarray"):
        scaled_dot_product_attention(**args)


@pytest.mark.parametrize("name", ["query", "key", "value"])
def test_one_dimensional_tensor(name):
    args = dict(zip(("query", "key", "value"), qkv()))
    args[name] = torch.randn(4)
    with pytest.raises(ValueError, match=rf"^{name} .*at least 2 dims.*{shape(4)}"):
        dot_product_attention(**args)


@pytest.mark.parametrize(
    "scale, error, pattern",
    [
        (torch.tensor([2.0]), ValueError, rf"0-d.*shape {shape(1)}"),
        (torch.ones(2, 2), ValueError, rf"0-d.*shape {shape(2, 2)}"),
        ("2.0", TypeError, r"got str"),
        (None, TypeError, r"got NoneType"),
        (True, TypeError, r"got bool"),
        (float("nan"), ValueError, r"finite; got nan"),
        (float("inf"), ValueError, r"finite; got inf"),
        # A 0-d integer tensor is refused with a ValueError (a str gets a TypeError).
        (torch.tensor(2), TypeError, r"torch.int64"),
    ],
    ids=["1d_tensor", "2d_tensor", "str", "None", "bool", "nan", "inf", "int_tensor"],
)
def test_bad_scale(scale, error, pattern):
    q, k, v = qkv()
    with pytest.raises(error, match=rf"^scale .*{pattern}"):
        dot_product_attention(q, k, v, scale=scale)
    with pytest.raises(error, match=rf"^scale .*{pattern}"):
        self_attention(q, scale=scale)


def test_nan_scale_tensor_is_refused():
    q, k, v = qkv()
    with pytest.raises(ValueError, match=r"^scale .*finite"):
        dot_product_attention(q, k, v, scale=torch.tensor(float("nan")))


@pytest.mark.parametrize(
    "x, error, pattern",
    [
        (torch.ones(2, 3, dtype=torch.int64), TypeError, r"floating tensor.*torch.int64"),
        (np.ones((2, 3)), TypeError, r"torch.Tensor.*got ndarray"),
        (torch.ones(3), ValueError, rf"at least 2 dims.*{shape(3)}"),
        (torch.ones(3, 0), ValueError, rf"D >= 1.*{shape(3, 0)}"),
        (torch.ones(2, 0, 3), ValueError, rf"S >= 1.*{shape(2, 0, 3)}"),
    ],
    ids=["int", "numpy", "1d", "zero_width", "zero_length"],
)
def test_self_attention_errors_name_x(x, error, pattern):
    with pytest.raises(error, match=rf"^x .*{pattern}"):
        self_attention(x)


def test_self_attention_bad_mask():
    with pytest.raises(ValueError, match=rf"^mask .*{shape(3, 3)}.*got {shape(3, 4)}"):
        self_attention(torch.randn(3, 2), mask=torch.ones(3, 4, dtype=torch.bool))


@pytest.mark.parametrize(
    "args, error, pattern",
    [
        ((0,), ValueError, r"^L must be an int >= 1; got 0"),
        ((-2,), ValueError, r"^L must be an int >= 1; got -2"),
        ((3, 0), ValueError, r"^S must be an int >= 1; got 0"),
        ((3, -1), ValueError, r"^S must be an int >= 1; got -1"),
        ((2.0,), TypeError, r"^L must be an int; got float"),
        ((3, 2.5), TypeError, r"^S must be an int; got float"),
        (("3",), TypeError, r"^L must be an int; got str"),
        ((True,), TypeError, r"^L must be an int; got bool"),
    ],
)
def test_causal_mask_bad_sizes(args, error, pattern):
    with pytest.raises(error, match=pattern):
        causal_mask(*args)


@pytest.mark.parametrize(
    "lengths, S, error, pattern",
    [
        ([1, 4], 3, ValueError, r"^lengths must lie in \[0, S=3\]; got \[1, 4\]"),
        (torch.tensor([5]), 4, ValueError, r"^lengths must lie in \[0, S=4\]; got \[5\]"),
        ([2, -1], 3, ValueError, r"^lengths must lie in \[0, S=3\]; got \[2, -1\]"),
        ([[1, 2]], 3, ValueError, rf"^lengths must be 1-D.*{shape(1, 2)}"),
        (torch.tensor(2), 3, ValueError, r"^lengths must be 1-D.*\(\)"),
        ([1.0, 2.0], 3, TypeError, r"^lengths must hold integers.*torch.float32"),
        (torch.tensor([1.5]), 3, TypeError, r"^lengths must hold integers.*torch.float32"),
        ([True, False], 3, TypeError, r"^lengths must hold integers.*torch.bool"),
        ("abc", 3, TypeError, r"^lengths must be a 1-D tensor or sequence of ints; got str"),
        ([1, 2], 0, ValueError, r"^S must be an int >= 1; got 0"),
        ([1, 2], 3.0, TypeError, r"^S must be an int; got float"),
    ],
)
def test_padding_mask_bad_input(lengths, S, error, pattern):
    with pytest.raises(error, match=pattern):
        padding_mask(lengths, S)


def test_sizes_accept_numpy_and_tensor_integers():
    assert causal_mask(np.int64(3)).shape == (3, 3)
    assert causal_mask(torch.tensor(2), S=np.int32(4)).shape == (2, 4)


def test_padding_mask_of_an_empty_batch():
    assert padding_mask([], 3).shape == (0, 1, 3)


# --- additive attention -------------------------------------------------------------------

def test_additive_attention_hand_case():
    q = torch.tensor([[0.5, -1.0]], dtype=torch.float64)                 # (L, D) = (1, 2)
    k = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)      # (S, D) = (2, 2)
    val = torch.tensor([[1.0], [3.0]], dtype=torch.float64)              # (S, Dv) = (2, 1)
    v = torch.tensor([2.0, 1.0], dtype=torch.float64)
    s0 = 2 * math.tanh(1.5) + 1 * math.tanh(-1.0)
    s1 = 2 * math.tanh(0.5) + 1 * math.tanh(1.0)
    a0 = math.exp(s0) / (math.exp(s0) + math.exp(s1))
    context, weights = additive_attention(q, k, val, v)
    torch.testing.assert_close(weights, torch.tensor([[a0, 1 - a0]], dtype=torch.float64))
    torch.testing.assert_close(context, torch.tensor([[a0 * 1 + (1 - a0) * 3]], dtype=torch.float64))


def test_additive_attention_matches_a_loop_with_masks_and_batches():
    g = torch.Generator().manual_seed(3)
    q, k, val = (torch.randn(2, n, 4, generator=g, dtype=torch.float64) for n in (3, 5, 5))
    v = torch.randn(4, generator=g, dtype=torch.float64)
    mask = padding_mask([5, 2], 5)                           # (B, 1, S)
    context, weights = additive_attention(q, k, val, v, mask)
    for b in range(2):
        for i in range(3):
            scores = torch.stack([(v * torch.tanh(q[b, i] + k[b, j])).sum() for j in range(5)])
            scores = scores.masked_fill(~mask[b, 0], float("-inf"))
            torch.testing.assert_close(weights[b, i], scores.softmax(-1))
    torch.testing.assert_close(context, weights @ val)
    assert torch.autograd.gradcheck(lambda *t: additive_attention(*t, mask)[0],
                                    tuple(t.clone().requires_grad_() for t in (q, k, val, v)))


@pytest.mark.parametrize("v, error, message", [
    (torch.ones(3, dtype=torch.float64), ValueError, r"v must be \(D,\) = \(4,\).*got shape \(3,\)"),
    (torch.ones(4), ValueError, r"dtype torch.float64.*torch.float32"),
    ([1.0] * 4, TypeError, "v must be a torch.Tensor.*got list"),
])
def test_additive_attention_checks_v(v, error, message):
    q = torch.ones(2, 4, dtype=torch.float64)
    with pytest.raises(error, match=message):
        additive_attention(q, q, q, v)
