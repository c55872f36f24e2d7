"""Tests for attn_course.layers, against the real things.

References: Keras 3 on the PyTorch backend (``keras.layers.Attention`` and
``keras.layers.AdditiveAttention``, a test-only dependency), PyTorch's
``torch.nn.MultiheadAttention(batch_first=True)`` with the same weights, and
hand cases and invariants. Seeded, CPU only, float32 (as Keras) unless said.

Fully masked query rows are left out of the parity tests: Keras gives them
uniform weights and ``nn.MultiheadAttention`` NaN; separate tests pin down
what each does and assert our zeros.
"""

from __future__ import annotations

import math
import os

import pytest
import torch
from torch import nn

from attn_course.attention import causal_mask, dot_product_attention, padding_mask, scaled_dot_product_attention
from attn_course.layers import (
    AdditiveAttention, BahdanauAttention, DotProductAttention, MultiHeadAttention, to_torch_masks,
)

os.environ["KERAS_BACKEND"] = "torch"  # must be set before keras is imported
try:
    import keras
except ImportError:  # keras is in requirements-test.txt; without it only the parity tests skip
    keras = None
needs_keras = pytest.mark.skipif(
    keras is None or keras.backend.backend() != "torch",
    reason="keras 3 with the torch backend is not importable (pip install -r requirements-test.txt)",
)

B, L, S, D, H = 3, 5, 7, 12, 3
TOL = dict(atol=1e-5, rtol=1e-5)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, g: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=dtype)


LENGTHS = torch.tensor([7, 4, 1])             # per-example padding, none empty: (B,)
QUERY_MASK = torch.tensor([[True] * 5, [True, True, True, False, False], [True, False, True, True, False]])


# --- Keras parity: DotProductAttention, AdditiveAttention -------------------------------------------------

def keras_twin(ours: nn.Module, dim: int):
    """The Keras layer with the same semantics and our ``scale`` copied into its weights."""
    if isinstance(ours, DotProductAttention):
        theirs = keras.layers.Attention(use_scale=ours.use_scale, score_mode="dot")
    else:
        theirs = keras.layers.AdditiveAttention(use_scale=ours.use_scale)
    theirs.build([(B, L, dim), (B, S, dim)])
    if ours.use_scale:
        theirs.scale.assign(ours.scale.detach())
    return theirs


MASK_CASES = ["none", "value", "query", "causal", "value+causal", "query+value+causal"]


@needs_keras
@pytest.mark.parametrize("with_key", [False, True], ids=["key=value", "key"])
@pytest.mark.parametrize("case", MASK_CASES)
@pytest.mark.parametrize("use_scale", [False, True], ids=["no_scale", "scale"])
@pytest.mark.parametrize("kind", ["dot", "additive"])
def test_keras_parity(kind, use_scale, case, with_key):
    g = gen(1)
    ours = DotProductAttention(use_scale) if kind == "dot" else AdditiveAttention(D, use_scale)
    if use_scale:  # not the initial value, so that a scale ignored would show
        nn.init.uniform_(ours.scale, 0.3, 1.7, generator=g)
    theirs = keras_twin(ours, D)
    q, v, k = randn(B, L, D, g=g), randn(B, S, D, g=g), randn(B, S, D, g=g)
    qm = QUERY_MASK if "query" in case else None
    vm = padding_mask(LENGTHS, S)[:, 0] if "value" in case else None
    mask = None if qm is None and vm is None else [qm, vm]
    causal = "causal" in case
    inputs, key = ([q, v, k], k) if with_key else ([q, v], None)
    out, w = ours(q, v, key, mask=mask, return_attention_scores=True, use_causal_mask=causal)
    k_out, k_w = theirs(inputs, mask=mask, return_attention_scores=True, use_causal_mask=causal)
    torch.testing.assert_close(out, k_out.detach(), **TOL)          # zero rows at masked queries in both
    rows = QUERY_MASK if qm is not None else torch.ones(B, L, dtype=torch.bool)
    torch.testing.assert_close(w[rows], k_w.detach()[rows], **TOL)
    assert (w[~rows] == 0).all()  # Keras keeps softmax weights at masked queries; ours are zero


@needs_keras
def test_keras_gives_fully_masked_rows_uniform_weights_and_ours_zeros():
    g = gen(2)
    q, v = randn(B, L, D, g=g), randn(B, S, D, g=g)
    vm = padding_mask(torch.tensor([7, 0, 3]), S)[:, 0]                        # example 1 has no key at all
    for ours in (DotProductAttention(), AdditiveAttention(D)):
        k_out, k_w = keras_twin(ours, D)([q, v], mask=[None, vm], return_attention_scores=True)
        out, w = ours(q, v, mask=[None, vm], return_attention_scores=True)
        torch.testing.assert_close(k_w.detach()[1], torch.full((L, S), 1 / S), **TOL)  # Keras: uniform
        torch.testing.assert_close(k_out.detach()[1], v[1].mean(0).expand(L, D), **TOL)
        assert (w[1] == 0).all() and (out[1] == 0).all()                                  # ours: zeros
        torch.testing.assert_close(out[[0, 2]], k_out.detach()[[0, 2]], **TOL)


# --- DotProductAttention, AdditiveAttention by hand and invariants ---------------------------------------

def test_dot_product_hand_case():
    q = torch.tensor([[[1.0, 0.0]]])                                     # (1, 1, 2)
    kv = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])                        # (1, 2, 2)
    out, w = DotProductAttention()(q, kv, return_attention_scores=True)
    e = math.e
    torch.testing.assert_close(w, torch.tensor([[[e / (1 + e), 1 / (1 + e)]]]))
    torch.testing.assert_close(out, torch.tensor([[[e / (1 + e), 1 / (1 + e)]]]))


def test_parameters_are_named_scale_and_initialised_like_keras():
    assert dict(DotProductAttention().named_parameters()) == {}
    assert dict(AdditiveAttention(4, use_scale=False).named_parameters()) == {}
    scale = dict(DotProductAttention(use_scale=True).named_parameters())["scale"]
    assert scale.shape == () and scale.item() == 1.0
    torch.manual_seed(0)
    scale = dict(AdditiveAttention(300).named_parameters())["scale"]
    bound = math.sqrt(6 / (300 + 300))                                   # glorot_uniform, fan_in = fan_out = D
    assert scale.shape == (300,) and scale.abs().max() <= bound and scale.abs().max() > 0.9 * bound
    assert abs(scale.std().item() - bound / math.sqrt(3)) < 0.01         # uniform(-a, a) has std a / sqrt(3)


def test_scale_is_learnable_and_used():
    g = gen(3)
    q, v = randn(B, L, D, g=g), randn(B, S, D, g=g)
    layer = DotProductAttention(use_scale=True)
    with torch.no_grad():
        layer.scale.fill_(0.25)
    torch.testing.assert_close(layer(q, v), dot_product_attention(q, v, v, scale=0.25)[0])
    layer(q, v).square().sum().backward()
    assert layer.scale.grad is not None and layer.scale.grad.abs() > 0


@pytest.mark.parametrize("kind", ["dot", "additive"])
def test_single_mask_tensor_equals_the_list_form(kind):
    g = gen(4)
    layer = DotProductAttention(True) if kind == "dot" else AdditiveAttention(D)
    q, v = randn(B, L, D, g=g), randn(B, S, D, g=g)
    vm = padding_mask(LENGTHS, S)[:, 0]
    pairs = [
        ([None, vm], vm[:, None, :]),                                            # (B, 1, S)
        ([QUERY_MASK, vm], QUERY_MASK[:, :, None] & vm[:, None, :]),             # (B, L, S)
        ([QUERY_MASK, None], QUERY_MASK[:, :, None]),                            # (B, L, 1)
    ]
    for listed, single in pairs:
        a = layer(q, v, mask=listed, return_attention_scores=True, use_causal_mask=True)
        b = layer(q, v, mask=single & causal_mask(L, S), return_attention_scores=True)   # (L, S) and-ed in
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y)


@pytest.mark.parametrize("Lq, Sk", [(5, 7), (7, 5), (4, 4)])
def test_causal_mask_is_top_left_aligned(Lq, Sk):
    g = gen(5)
    q, v = randn(2, Lq, D, g=g), randn(2, Sk, D, g=g)
    out, w = AdditiveAttention(D)(q, v, return_attention_scores=True, use_causal_mask=True)
    i, j = torch.meshgrid(torch.arange(Lq), torch.arange(Sk), indexing="ij")
    assert (w[:, j > i] == 0).all() and (w[:, j <= i] > 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(2, Lq))


@pytest.mark.parametrize("kind", ["dot", "additive"])
def test_fully_masked_rows_are_zero_with_finite_gradients(kind):
    g = gen(6)
    layer = DotProductAttention(True) if kind == "dot" else AdditiveAttention(D)
    q, v = randn(B, L, D, g=g).requires_grad_(), randn(B, S, D, g=g).requires_grad_()
    mask = torch.ones(B, L, S, dtype=torch.bool)
    mask[0, 2] = False
    out, w = layer(q, v, mask=mask, return_attention_scores=True)
    assert (w[0, 2] == 0).all() and (out[0, 2] == 0).all() and not out.isnan().any()
    out.sum().backward()
    assert all(t.grad.isfinite().all() for t in (q, v, layer.scale))


# --- BahdanauAttention --------------------------------------------------------------------------------

def test_bahdanau_one_query_equals_a_length_one_query():
    g = gen(7)
    layer = BahdanauAttention(query_dim=6, key_dim=4, hidden_dim=10)
    s, h = randn(B, 6, g=g), randn(B, S, 4, g=g)
    mask = padding_mask(LENGTHS, S)[:, 0]                                      # (B, S)
    context, weights = layer(s, h, mask)
    assert context.shape == (B, 4) and weights.shape == (B, S)
    context3, weights3 = layer(s[:, None], h, mask)                      # (B, 1, Dq)
    torch.testing.assert_close(context, context3[:, 0])
    torch.testing.assert_close(weights, weights3[:, 0])
    torch.testing.assert_close(weights.sum(-1), torch.ones(B))
    assert (weights[~mask] == 0).all() and (weights[mask] > 0).all()


def test_bahdanau_is_additive_attention_after_the_projections():
    g = gen(8)
    layer = BahdanauAttention(query_dim=6, key_dim=4, hidden_dim=10)
    s, h = randn(B, L, 6, g=g), randn(B, S, 4, g=g)
    mask = padding_mask(LENGTHS, S)[:, 0]
    additive = AdditiveAttention(10)
    with torch.no_grad():
        additive.scale.copy_(layer.v)
    expected = additive(layer.query_proj(s), h, key=layer.key_proj(h), mask=[None, mask], return_attention_scores=True)
    by_hand = torch.tanh(layer.query_proj(s)[:, :, None] + layer.key_proj(h)[:, None]) @ layer.v   # (B, L, S)
    for got, want in zip(layer(s, h, mask), expected):
        torch.testing.assert_close(got, want)
    torch.testing.assert_close(layer(s, h)[1], by_hand.softmax(-1))


def test_bahdanau_fully_masked_query_is_zero():
    g = gen(9)
    layer = BahdanauAttention(4, 4, 8)
    context, weights = layer(randn(B, 4, g=g), randn(B, S, 4, g=g), padding_mask(torch.tensor([3, 0, 7]), S)[:, 0])
    assert (context[1] == 0).all() and (weights[1] == 0).all() and not context.isnan().any()


# --- MultiHeadAttention against torch.nn.MultiheadAttention -------------------------------------------

def torch_twin(seed: int = 0, bias: bool = True) -> tuple[nn.MultiheadAttention, MultiHeadAttention]:
    """A randomised nn.MultiheadAttention (biases included) and our copy of it."""
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(D, H, bias=bias, batch_first=True)
    for p in theirs.parameters():
        nn.init.normal_(p, std=0.3)
    return theirs, MultiHeadAttention.from_torch(theirs)


def ours_grads(m: MultiHeadAttention) -> dict[str, torch.Tensor]:
    """Our parameters' gradients, named and packed as nn.MultiheadAttention's."""
    grads = {"in_proj_weight": torch.cat([p.weight.grad for p in (m.q_proj, m.k_proj, m.v_proj)]),
             "out_proj.weight": m.out_proj.weight.grad}
    if m.out_proj.bias is not None:
        grads["in_proj_bias"] = torch.cat([p.bias.grad for p in (m.q_proj, m.k_proj, m.v_proj)])
        grads["out_proj.bias"] = m.out_proj.bias.grad
    return grads


def random_rows_mask(*shape: int, g: torch.Generator) -> torch.Tensor:
    """A random mask with at least one allowed key per row (here, the first)."""
    mask = torch.rand(*shape, generator=g) < 0.5
    mask[..., 0] = True
    return mask


def mha_cases(g: torch.Generator) -> dict[str, tuple[torch.Tensor | None, dict]]:
    """Our mask, and the masks nn.MultiheadAttention takes for it, written out by hand (True = ignore)."""
    pad = padding_mask(LENGTHS, S)[:, 0]                                       # (B, S) True = real key
    causal = causal_mask(L, S)                                           # (L, S)
    per_example = random_rows_mask(B, L, S, g=g)
    per_head = random_rows_mask(B, H, L, S, g=g)
    return {
        "none": (None, {}),
        "padding (B, 1, S)": (pad[:, None, :], {"key_padding_mask": ~pad}),
        "causal (L, S)": (causal, {"attn_mask": ~causal}),
        "padding and causal": (pad[:, None, :] & causal, {"key_padding_mask": ~pad, "attn_mask": ~causal}),
        "per example (B, L, S)": (per_example, {"attn_mask": ~per_example.repeat_interleave(H, dim=0)}),
        "per head (B, H, L, S)": (per_head, {"attn_mask": ~per_head.reshape(B * H, L, S)}),
    }


@pytest.mark.parametrize("need_weights", [True, False], ids=["weights", "no_weights"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("case", list(mha_cases(gen())))
def test_mha_matches_torch_outputs_weights_and_gradients(case, bias, need_weights):
    g = gen(10)
    theirs, ours = torch_twin(bias=bias)
    mask, torch_masks = mha_cases(g)[case]
    q, k, v = (randn(B, n, D, g=g) for n in (L, S, S))
    results = []
    for model, kwargs in ((theirs, dict(average_attn_weights=False, **torch_masks)),
                          (ours, dict(mask=mask, average_weights=False))):
        inputs = [x.clone().requires_grad_() for x in (q, k, v)]
        out, w = model(*inputs, need_weights=need_weights, **kwargs)
        loss = out.sin().sum()
        if need_weights:
            loss = loss + (w * torch.linspace(-1, 1, S)).sum()             # the weights' gradients too
        loss.backward()
        results.append((out, w, [x.grad for x in inputs]))
    (out_t, w_t, grads_t), (out_o, w_o, grads_o) = results
    torch.testing.assert_close(out_o, out_t, **TOL)
    if need_weights:
        torch.testing.assert_close(w_o, w_t, **TOL)                      # per head (B, H, L, S)
    else:
        assert w_o is None and w_t is None
    for got, want in zip(grads_o, grads_t):
        torch.testing.assert_close(got, want, **TOL)
    for name, grad in ours_grads(ours).items():
        torch.testing.assert_close(grad, dict(theirs.named_parameters())[name].grad, **TOL)
    averaged = ours(q, k, v, mask=mask)[1]
    torch.testing.assert_close(averaged, theirs(q, k, v, **torch_masks)[1], **TOL)   # (B, L, S)
    assert averaged.shape == (B, L, S)


@pytest.mark.parametrize("case", list(mha_cases(gen()))[1:])          # every mask but "none"
def test_to_torch_masks_matches_the_hand_conversion(case):
    mask, torch_masks = mha_cases(gen(10))[case]
    theirs, ours = torch_twin()
    attn_mask, key_padding_mask = to_torch_masks(mask, B, H, L, S)
    q, k, v = (randn(B, n, D, g=gen(11)) for n in (L, S, S))
    for need_weights in (True, False):  # False: PyTorch's SDPA path
        out_t = theirs(q, k, v, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=need_weights)[0]
        torch.testing.assert_close(ours(q, k, v, mask=mask, need_weights=need_weights)[0], out_t, **TOL)
        torch.testing.assert_close(theirs(q, k, v, need_weights=need_weights, **torch_masks)[0], out_t, **TOL)


def test_to_torch_masks_picks_the_smallest_form_with_the_opposite_polarity():
    pad, causal = padding_mask(LENGTHS, S)[:, 0], causal_mask(L, S)
    attn, kpm = to_torch_masks(pad[:, None, :], B, H, L, S)
    assert attn is None and torch.equal(kpm, ~pad)                       # (B, S), True = ignore
    attn, kpm = to_torch_masks(causal, B, H, L, S)
    assert kpm is None and torch.equal(attn, ~causal)                    # (L, S), True = not allowed
    attn, kpm = to_torch_masks(pad[:, None, :] & causal, B, H, L, S)
    assert kpm is None and attn.shape == (B * H, L, S)
    assert torch.equal(attn[1 * H + 2], ~(pad[1, None, :] & causal))      # example 1, head 2


def test_torch_boolean_attn_mask_means_not_allowed():
    """PyTorch 2.13: in nn.MultiheadAttention a boolean attn_mask True = may NOT attend (ours: may attend)."""
    theirs, _ = torch_twin()
    x = randn(B, L, D, g=gen(12))
    blocked = torch.zeros(L, L, dtype=torch.bool)
    blocked[:, 0] = True
    w = theirs(x, x, x, attn_mask=blocked)[1]
    assert (w[..., 0] == 0).all() and (w[..., 1:] > 0).all()


@pytest.mark.parametrize("need_weights", [True, False], ids=["weights", "no_weights"])
def test_fully_masked_rows_torch_gives_nan_ours_the_output_bias(need_weights):
    theirs, ours = torch_twin()
    g = gen(13)
    q, k, v = (randn(B, n, D, g=g) for n in (L, S, S))
    pad = padding_mask(torch.tensor([7, 0, 3]), S)[:, 0]                       # example 1: no key at all
    out_t, w_t = theirs(q, k, v, key_padding_mask=~pad)
    assert out_t[1].isnan().all() and w_t[1].isnan().all()               # PyTorch 2.13, need_weights=True
    out_sdpa = theirs(q, k, v, key_padding_mask=~pad, need_weights=False)[0]  # its SDPA path: zero context
    torch.testing.assert_close(out_sdpa[1], theirs.out_proj.bias.detach().expand(L, D))
    inputs = [x.clone().requires_grad_() for x in (q, k, v)]
    out, w = ours(*inputs, mask=pad[:, None, :], need_weights=need_weights, average_weights=False)
    assert not out.isnan().any() and (not need_weights or (w[1] == 0).all())
    torch.testing.assert_close(out[1], ours.out_proj.bias.expand(L, D))
    torch.testing.assert_close(out[[0, 2]], out_t[[0, 2]], **TOL)        # parity on the other rows
    out.sum().backward()
    assert all(x.grad.isfinite().all() for x in inputs) and (inputs[0].grad[1] == 0).all()
    assert all(p.grad.isfinite().all() for p in ours.parameters())


def reference_mha(m: MultiHeadAttention, q, k, v, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The maths written out, mask (B, H, L, S); rows with no allowed key set to zero weights."""
    def split(x):
        return x.view(B, -1, H, D // H).transpose(1, 2)                  # (B, H, n, Dh)
    scores = split(m.q_proj(q)) @ split(m.k_proj(k)).transpose(-2, -1) / math.sqrt(D // H)
    weights = scores.masked_fill(~mask, float("-inf")).softmax(-1).nan_to_num(0.0)   # (B, H, L, S)
    context = weights @ split(m.v_proj(v))                               # (B, H, L, Dh)
    return m.out_proj(context.transpose(1, 2).reshape(B, L, D)), weights


def test_mha_fully_masked_rows_of_every_mask_form_are_zero():
    """Rows with no allowed key, in every mask form, get zero weights and a zero context, on both paths."""
    g = gen(17)
    m = MultiHeadAttention(D, H)
    q, k, v = (randn(B, n, D, g=g) for n in (L, S, S))
    late_causal = torch.ones(L, S, dtype=torch.bool).tril(-2)            # (L, S): query rows 0 and 1 see nothing
    per_head = random_rows_mask(B, H, L, S, g=g)
    per_head[2, 1, 3] = False                                            # one head of one query
    for mask in (late_causal, padding_mask(torch.tensor([0, 3, 0]), S), per_head):
        full = mask[None, None] if mask.dim() == 2 else mask[:, None] if mask.dim() == 3 else mask
        want_out, want_w = reference_mha(m, q, k, v, full.expand(B, H, L, S))
        out, w = m(q, k, v, mask=mask, average_weights=False)
        torch.testing.assert_close(w, want_w, **TOL)
        torch.testing.assert_close(out, want_out, **TOL)
        torch.testing.assert_close(m(q, k, v, mask=mask, need_weights=False)[0], want_out, **TOL)  # SDPA path
        empty = ~full.expand(B, H, L, S).any(-1)                         # (B, H, L) no allowed key
        assert empty.any() and (w[empty] == 0).all()
        no_head = empty.all(1)                                           # (B, L) in no head: output = bias
        torch.testing.assert_close(out[no_head], m.out_proj.bias.detach().expand(int(no_head.sum()), D))


def test_one_head_is_scaled_dot_product_attention_after_the_projections():
    g = gen(14)
    m = MultiHeadAttention(D, 1)
    q, k, v = (randn(B, n, D, g=g) for n in (L, S, S))
    mask = padding_mask(LENGTHS, S) & causal_mask(L, S)
    context, weights = scaled_dot_product_attention(m.q_proj(q), m.k_proj(k), m.v_proj(v), mask)
    out, w = m(q, k, v, mask=mask)
    torch.testing.assert_close(out, m.out_proj(context))
    torch.testing.assert_close(w, weights)


def test_self_attention_is_permutation_equivariant():
    g = gen(15)
    m = MultiHeadAttention(D, H)
    x, perm = randn(B, S, D, g=g), torch.randperm(S, generator=g)
    out, w = m(x, x, x)
    out_p, w_p = m(x[:, perm], x[:, perm], x[:, perm])
    torch.testing.assert_close(out_p, out[:, perm])
    torch.testing.assert_close(w_p, w[:, perm][:, :, perm])


def test_need_weights_false_returns_none_and_the_same_output():
    m = MultiHeadAttention(D, H)
    x = randn(B, L, D, g=gen(16))
    out, w = m(x, x, x, need_weights=False)
    assert w is None
    torch.testing.assert_close(out, m(x, x, x)[0])


# --- validation ---------------------------------------------------------------------------------------

x3 = torch.zeros(B, L, D)
kv3 = torch.zeros(B, S, D)


@pytest.mark.parametrize("call, error, match", [
    (lambda: DotProductAttention()(torch.zeros(L, D), kv3), ValueError, r"query must be \(B, L, D\); got \(5, 12\)"),
    (lambda: DotProductAttention()(x3, kv3, key=torch.zeros(B, S, 4)), ValueError, r"key must be .*D=12.*\(3, 7, 4\)"),
    (lambda: DotProductAttention()(x3, kv3, mask=torch.ones(B, L, S)), TypeError, r"mask must be boolean"),
    (lambda: DotProductAttention()(x3, kv3, mask=torch.ones(B, S, dtype=torch.bool)), ValueError,
     r"mask must be broadcastable to .*\(3, 5, 7\); got \(3, 7\)"),
    (lambda: DotProductAttention()(x3, kv3, mask=[None]), ValueError, r"\[query_mask \(B, L\), value_mask"),
    (lambda: DotProductAttention()(x3, kv3, mask=[torch.ones(B, S, dtype=torch.bool), None]), ValueError,
     r"query_mask\) must be \(B, L\) = \(3, 5\); got \(3, 7\)"),
    (lambda: DotProductAttention()(x3, kv3, mask=[None, torch.ones(B, S)]), TypeError, r"value_mask.*boolean"),
    (lambda: AdditiveAttention(8)(x3, kv3), ValueError, r"query must be \(B, L, D\) with D=dim=8; got \(3, 5, 12\)"),
    (lambda: AdditiveAttention(0), ValueError, r"dim must be an int >= 1; got 0"),
    (lambda: BahdanauAttention(6, 4, 8)(torch.zeros(B, 5), torch.zeros(B, S, 4)), ValueError, r"Dq=query_dim=6"),
    (lambda: BahdanauAttention(6, 4, 8)(torch.zeros(B, 6), torch.zeros(B, 4)), ValueError, r"keys must be \(B, S, Dk\)"),
    (lambda: BahdanauAttention(6, 4, 8)(torch.zeros(B, 6), torch.zeros(B, S, 4), torch.ones(B, 2, dtype=torch.bool)),
     ValueError, r"mask \(2-D\) must be \(B, S\) = \(3, 7\); got \(3, 2\)"),
    (lambda: BahdanauAttention(6, 4, 8)(torch.zeros(B, 6, dtype=torch.long), torch.zeros(B, S, 4)), TypeError,
     r"query must be a floating tensor"),
    (lambda: MultiHeadAttention(10, 3), ValueError, r"embed_dim=10 must be divisible by num_heads=3"),
    (lambda: MultiHeadAttention(D, 0), ValueError, r"num_heads must be an int >= 1; got 0"),
    (lambda: MultiHeadAttention(D, H)(torch.zeros(B, L, 8), torch.zeros(B, S, 8), torch.zeros(B, S, 8)), ValueError,
     r"query must be \(B, L, D\) with D=embed_dim=12 .*got \(3, 5, 8\)"),
    (lambda: MultiHeadAttention(D, H)(x3, kv3, torch.zeros(B, S, 6)), ValueError, r"value must be .*got \(3, 7, 6\)"),
    (lambda: MultiHeadAttention(D, H)(x3, kv3, torch.zeros(B, 6, D)), ValueError, r"value must be \(..., S, Dv\) with S=7"),
    (lambda: MultiHeadAttention(D, H)(x3, torch.zeros(2, S, D), torch.zeros(2, S, D)), ValueError, r"do not broadcast"),
    (lambda: MultiHeadAttention(D, H)(x3, torch.zeros(1, S, D), kv3), ValueError, r"key must be .*B=3 .*\(1, 7, 12\)"),
    (lambda: MultiHeadAttention(D, H)(x3, kv3, kv3, mask=torch.ones(B, S, dtype=torch.bool)), ValueError,
     r"mask must be broadcastable to \(L, S\).*B=3, H=3, L=5, S=7; got \(3, 7\) \(a 2-D mask is \(L, S\)"),
    (lambda: MultiHeadAttention(D, H)(x3, kv3, kv3, mask=torch.ones(1, 1, 1, 1, S, dtype=torch.bool)), ValueError,
     r"mask must be broadcastable"),
    (lambda: MultiHeadAttention(D, H)(x3, kv3, kv3, mask=torch.ones(L, S)), TypeError, r"mask must be a boolean tensor"),
    (lambda: MultiHeadAttention.from_torch(nn.Linear(2, 2)), TypeError, r"torch.nn.MultiheadAttention; got Linear"),
    (lambda: MultiHeadAttention.from_torch(nn.MultiheadAttention(D, H, kdim=4)), ValueError, r"kdim = vdim"),
])
def test_bad_input_raises_naming_the_argument_and_shapes(call, error, match):
    with pytest.raises(error, match=match):
        call()
