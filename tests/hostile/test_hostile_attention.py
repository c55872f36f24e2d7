"""Hostile input for the attention functions, the layers and the explorers.

One row a case: what is called, the error expected and words its message must hold
(the argument's name, the shapes). Never NaN, never a traceback from inside torch,
never a silent wrong answer.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attn_course.attention import (
    additive_attention, attention_weights, causal_mask, dot_product_attention, masked_softmax, padding_mask,
    scaled_attention_weights, scaled_dot_product_attention, self_attention,
)
from attn_course.layers import AdditiveAttention, BahdanauAttention, DotProductAttention, MultiHeadAttention
from attn_course.widgets import ExplorerValueError, MultiHeadExplorer, QueryKeyExplorer

INF, NAN = float("inf"), float("nan")


def t(*shape, dtype=torch.float32, fill=None):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)), dtype=dtype)
    return x if fill is None else x.index_put_((torch.tensor([0]),) * len(shape), torch.tensor(fill, dtype=dtype))


q, k, v = t(2, 3, 4), t(2, 5, 4), t(2, 5, 6)

FUNCTION_CASES = {
    # non-finite inputs are refused, naming the argument
    "NaN in query": (lambda: dot_product_attention(t(2, 3, 4, fill=NAN), k, v), ValueError, r"query must be finite; got nan"),
    "inf in key": (lambda: dot_product_attention(q, t(2, 5, 4, fill=INF), v), ValueError, r"key must be finite; got inf"),
    "-inf in value": (lambda: dot_product_attention(q, k, t(2, 5, 6, fill=-INF)), ValueError, r"value must be finite"),
    "NaN scale": (lambda: dot_product_attention(q, k, v, scale=NAN), ValueError, r"scale must be finite"),
    "inf tensor scale": (lambda: dot_product_attention(q, k, v, scale=torch.tensor(INF)), ValueError,
                         r"scale must be finite"),
    "str scale": (lambda: dot_product_attention(q, k, v, scale="2"), TypeError, r"scale must be a float"),
    "bool scale": (lambda: dot_product_attention(q, k, v, scale=True), TypeError, r"scale must be a float"),
    "NaN in x": (lambda: self_attention(t(3, 4, fill=NAN)), ValueError, r"x must be finite"),
    "NaN in sdpa key": (lambda: scaled_dot_product_attention(q, t(2, 5, 4, fill=NAN), v), ValueError, r"key must be"),
    "NaN in v of additive": (lambda: additive_attention(q, k, v, t(4, fill=NAN)), ValueError, r"v must be finite"),
    "NaN in the key of attention_weights": (lambda: attention_weights(q, t(2, 5, 4, fill=NAN)), ValueError,
                                            r"key must be finite; got nan"),
    "inf in the query of scaled_attention_weights": (lambda: scaled_attention_weights(t(2, 3, 4, fill=INF), k),
                                                     ValueError, r"query must be finite; got inf"),
    "str scale of attention_weights": (lambda: attention_weights(q, k, scale="2"), TypeError, r"scale must be a float"),
    # types, layouts, devices
    "sparse query": (lambda: dot_product_attention(q.to_sparse(), k, v), TypeError, r"query must be a dense tensor"),
    "meta key": (lambda: dot_product_attention(q, k.to("meta"), v), TypeError, r"key must hold values.*meta"),
    "int query": (lambda: dot_product_attention(q.long(), k, v), TypeError, r"query must be a floating tensor"),
    "list query": (lambda: dot_product_attention([[1.0]], k, v), TypeError, r"query must be a torch.Tensor"),
    "mixed dtypes": (lambda: dot_product_attention(q.double(), k, v), TypeError, r"must share one dtype"),
    # shapes name the argument and the legend
    "1-D query": (lambda: dot_product_attention(t(4), k, v), ValueError, r"query must be \(..., L, D\).*got shape \(4,\)"),
    "key width": (lambda: dot_product_attention(q, t(2, 5, 3), v), ValueError, r"key must be \(..., S, D\) with D=4"),
    "value length": (lambda: dot_product_attention(q, k, t(2, 4, 6)), ValueError, r"value must be \(..., S, Dv\) with S=5"),
    "no keys": (lambda: dot_product_attention(q, t(2, 0, 4), t(2, 0, 6)), ValueError, r"S >= 1"),
    "batch dims": (lambda: dot_product_attention(t(3, 3, 4), k, v), ValueError, r"do not broadcast"),
    "key width of scaled_attention_weights": (lambda: scaled_attention_weights(q, t(2, 5, 3)), ValueError,
                                              r"key must be \(..., S, D\) with D=4"),
    "batch dims of attention_weights": (lambda: attention_weights(t(3, 3, 4), k), ValueError, r"do not broadcast"),
    "float16 scores that overflow": (lambda: attention_weights(t(2, 3, 4, dtype=torch.float16) * 300,
                                                               t(2, 5, 4, dtype=torch.float16) * 300),
                                     ValueError, r"the scores query @ key\^T overflow torch.float16"),
    # masks
    "float mask": (lambda: dot_product_attention(q, k, v, mask=torch.ones(2, 3, 5)), TypeError, r"mask must be boolean"),
    "mask that grows": (lambda: dot_product_attention(q, k, v, mask=torch.ones(4, 2, 3, 5, dtype=torch.bool)),
                        ValueError, r"mask must be broadcastable to \(..., L, S\) = \(2, 3, 5\)"),
    "list mask": (lambda: dot_product_attention(q, k, v, mask=[[True]]), TypeError, r"mask must be a boolean"),
    # masked_softmax checks its scores
    "scores not a tensor": (lambda: masked_softmax([1.0, 2.0]), TypeError, r"scores must be a torch.Tensor"),
    "int scores": (lambda: masked_softmax(torch.ones(2, 3, dtype=torch.long)), TypeError, r"scores must be a floating"),
    "NaN scores": (lambda: masked_softmax(t(2, 3, fill=NAN)), ValueError, r"scores must be finite \(or -inf"),
    "+inf scores": (lambda: masked_softmax(t(2, 3, fill=INF)), ValueError, r"scores must be finite \(or -inf"),
    "0-d scores": (lambda: masked_softmax(torch.tensor(1.0)), ValueError, r"scores must be \(..., L, S\)"),
    "scores mask shape": (lambda: masked_softmax(t(2, 3), torch.ones(3, 2, dtype=torch.bool)), ValueError,
                          r"mask must be broadcastable"),
    # masks' own arguments
    "causal L float": (lambda: causal_mask(2.5), TypeError, r"L must be an int"),
    "causal L bool": (lambda: causal_mask(True), TypeError, r"L must be an int"),
    "padding S 0": (lambda: padding_mask([1], 0), ValueError, r"S must be an int >= 1"),
    "padding length > S": (lambda: padding_mask([4], 3), ValueError, r"lengths must lie in \[0, S=3\]"),
    "padding negative": (lambda: padding_mask([-1], 3), ValueError, r"lengths must lie in"),
    "padding floats": (lambda: padding_mask(torch.tensor([1.0]), 3), TypeError, r"lengths must hold integers"),
    "padding huge int": (lambda: padding_mask([10**30], 3), TypeError, r"lengths must be a 1-D tensor or sequence"),
    "padding 2-D": (lambda: padding_mask([[1]], 3), ValueError, r"lengths must be 1-D"),
}


@pytest.mark.parametrize("case", FUNCTION_CASES)
def test_functions_refuse_bad_input_naming_the_argument(case):
    call, error, pattern = FUNCTION_CASES[case]
    with pytest.raises(error, match=pattern):
        call()


LAYER_CASES = {
    "BahdanauAttention hidden_dim=0": (lambda: BahdanauAttention(4, 4, hidden_dim=0), ValueError, r"hidden_dim must be an int >= 1"),
    "BahdanauAttention query_dim str": (lambda: BahdanauAttention("4", 4, 4), TypeError, r"query_dim must be an int"),
    "BahdanauAttention key_dim float": (lambda: BahdanauAttention(4, 4.0, 4), TypeError, r"key_dim must be an int"),
    "AdditiveAttention dim=-1": (lambda: AdditiveAttention(-1), ValueError, r"dim must be an int >= 1"),
    "AdditiveAttention use_scale str": (lambda: AdditiveAttention(4, use_scale="no"), TypeError, r"use_scale must be True or False"),
    "DotProductAttention use_scale 1": (lambda: DotProductAttention(use_scale=1), TypeError, r"use_scale must be True or False"),
    "MultiHeadAttention heads 0": (lambda: MultiHeadAttention(8, 0), ValueError, r"num_heads must be an int >= 1"),
    "MultiHeadAttention not divisible": (lambda: MultiHeadAttention(8, 3), ValueError, r"divisible by num_heads=3"),
    "MultiHeadAttention bias str": (lambda: MultiHeadAttention(8, 2, bias="yes"), TypeError, r"bias must be True or False"),
    # the argument the caller passed is named: value, when the key is omitted
    "2-D value, key omitted": (lambda: DotProductAttention()(q, t(5, 4)), ValueError, r"^value \(also the key\) must be \(B, S, D\)"),
    "2-D value, key given": (lambda: DotProductAttention()(q, t(5, 6), k), ValueError, r"^value must be \(B, S, Dv\)"),
    "NaN in value, key omitted": (lambda: DotProductAttention()(q, t(2, 5, 4, fill=NAN)), ValueError,
                                  r"^value \(also the key\) must be finite"),
    # inputs against the layer's parameters: both dtypes named
    "float64 into a float32 Bahdanau": (lambda: BahdanauAttention(4, 4, 8)(q.double()[:, 0], k.double()), TypeError,
                                        r"query has dtype torch.float64 but BahdanauAttention's parameters are torch.float32"),
    "float64 into a float32 MultiHeadAttention": (lambda: MultiHeadAttention(4, 2)(q.double(), k.double(), k.double()),
                                                 TypeError, r"query has dtype torch.float64 but MultiHeadAttention's"),
    "float64 into a float32 AdditiveAttention": (lambda: AdditiveAttention(4)(q.double(), k.double()), TypeError,
                                                r"query has dtype torch.float64 but AdditiveAttention's"),
    "NaN into MultiHeadAttention": (lambda: MultiHeadAttention(4, 2)(q, t(2, 5, 4, fill=NAN), k), ValueError,
                                    r"key must be finite"),
    "need_weights str": (lambda: MultiHeadAttention(4, 2)(q, k, k, need_weights="no"), TypeError,
                         r"need_weights must be True or False"),
    "use_causal_mask int": (lambda: DotProductAttention()(q, k, use_causal_mask=1), TypeError,
                            r"use_causal_mask must be True or False"),
    "value_mask wrong shape": (lambda: DotProductAttention()(q, k, mask=[None, torch.ones(2, 4, dtype=torch.bool)]),
                               ValueError, r"mask\[1\] \(value_mask\) must be \(B, S\) = \(2, 5\)"),
}


@pytest.mark.parametrize("case", LAYER_CASES)
def test_layers_refuse_bad_input_naming_the_argument(case):
    call, error, pattern = LAYER_CASES[case]
    with pytest.raises(error, match=pattern):
        call()


# --- padding_mask means key padding wherever it is passed -----------------------------------------

@pytest.mark.parametrize("where", ["dot_product_attention", "MultiHeadAttention", "DotProductAttention value_mask",
                                   "BahdanauAttention"])
def test_padding_mask_masks_keys_when_the_batch_equals_the_queries(where):
    """B == L == S: a (B, S) mask read as (L, S) would mask queries; padding_mask's form cannot be."""
    B = L = S = 3
    lengths = [3, 1, 2]
    x = t(B, L, 4)
    mask = padding_mask(lengths, S)
    if where == "dot_product_attention":
        weights = dot_product_attention(x, x, x, mask)[1]
    elif where == "MultiHeadAttention":
        weights = MultiHeadAttention(4, 2)(x, x, x, mask)[1]
    elif where == "DotProductAttention value_mask":
        weights = DotProductAttention()(x, x, mask=[None, mask], return_attention_scores=True)[1]
    else:
        weights = BahdanauAttention(4, 4, 8)(x, x, mask)[1]
    for b, n in enumerate(lengths):
        assert (weights[b, :, n:] == 0).all() and (weights[b, :, :n] > 0).all()
        torch.testing.assert_close(weights[b].sum(-1), torch.ones(L))


# --- -inf means masked; narrow dtypes do not overflow where the scaled score fits ----------------

def test_minus_inf_scores_are_masked_and_a_row_of_them_gets_zero_weights():
    scores = torch.tensor([[0.0, -INF, 1.0], [-INF, -INF, -INF]])
    weights = masked_softmax(scores)
    torch.testing.assert_close(weights[0], torch.tensor([1.0, 0.0, math.e]) / (1 + math.e))
    assert (weights[1] == 0).all() and not weights.isnan().any()
    mask = torch.tensor([[False, True, True]])                      # no finite allowed score in row 1 either
    assert (masked_softmax(scores, mask)[1] == 0).all()
    assert (masked_softmax(torch.tensor([[-INF, 2.0, 1.0]]), torch.tensor([[True, False, False]])) == 0).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_narrow_dtypes_scale_before_the_product(dtype):
    """q . k = 512 * 256 = 131072 overflows float16 (max 65504); divided by sqrt(D) = 16 it fits."""
    D = 256
    query, key = torch.full((1, 1, D), 16.0, dtype=dtype), torch.full((1, 2, D), 32.0, dtype=dtype)
    key[0, 1] = 16.0
    value = torch.eye(2, dtype=dtype)[None]
    context, weights = scaled_dot_product_attention(query, key, value)
    assert torch.isfinite(weights).all() and torch.isfinite(context).all()
    reference = F.scaled_dot_product_attention(query.float(), key.float(), value.float())
    torch.testing.assert_close(context.float(), reference, atol=1e-2, rtol=1e-2)


def test_scores_that_overflow_even_when_scaled_are_refused_not_nan():
    big = torch.full((1, 1, 4), 300.0, dtype=torch.float16)       # 4 * 300 * 300 = 360000 > 65504
    with pytest.raises(ValueError, match=r"scores query @ key\^T overflow torch.float16.*wider dtype"):
        dot_product_attention(big, big, big)


# --- explorers: a fixed order of checks, no overflow --------------------------------------------

EXPLORER_CASES = {
    "key_vectors wrong before labels": (lambda: QueryKeyExplorer(key_vectors=[[1, 2, 3]], labels=["a", "b"]),
                                        r"^key_vectors\[0\] must be a 2-vector"),
    "labels given first, key_vectors wrong": (lambda: QueryKeyExplorer(labels=["a", "b"], key_vectors=[[1, 2, 3]]),
                                              r"^key_vectors\[0\] must be a 2-vector"),
    "labels not strings": (lambda: QueryKeyExplorer(labels=[1, 2, 3]), r"^labels must be a list of strings"),
    "query a string": (lambda: QueryKeyExplorer(query="ab"), r"^query must be a 2-vector"),
    "scale a bool": (lambda: QueryKeyExplorer(scale=True), r"^scale must be a finite float > 0"),
    "scores overflow": (lambda: QueryKeyExplorer(query=[1e200, 1e200], key_vectors=[[1e200, 1e200]]),
                        r"^query, key_vectors and scale: .*overflow torch.float64"),
    "multihead tokens not strings": (lambda: MultiHeadExplorer(tokens=["a", 2], embeddings=[[1.0]] * 2),
                                     r"^tokens must be a non-empty list of strings"),
    "multihead embeddings before tokens": (lambda: MultiHeadExplorer(embeddings=[[1.0, "x"]], tokens=["a", "b"]),
                                           r"^embeddings must hold finite floats"),
    "multihead w_query form": (lambda: MultiHeadExplorer(w_query=[[[1.0, 2.0, 3.0]]]), r"^w_query\[0\] must be"),
    "multihead overflow": (lambda: MultiHeadExplorer(embeddings=[[1e200] * 4] * 6), r"^embeddings: .*overflow"),
}


@pytest.mark.parametrize("case", EXPLORER_CASES)
def test_explorers_name_the_wrong_argument(case):
    call, pattern = EXPLORER_CASES[case]
    with pytest.raises(ExplorerValueError, match=pattern):
        call()


@pytest.mark.parametrize("trait, value", [("query", [1e300, -1e300]), ("scale", 1e308)])
def test_query_key_explorer_large_but_finite_scores_stay_finite(trait, value):
    explorer = QueryKeyExplorer(key_vectors=[[1.0, 0.0], [0.0, 1.0]])
    setattr(explorer, trait, value)
    assert all(math.isfinite(w) for w in explorer.weights) and math.isclose(sum(explorer.weights), 1.0)


def test_refused_overflow_leaves_the_explorer_unchanged():
    explorer = MultiHeadExplorer()
    before = (explorer.query_offset, explorer.weights)
    with pytest.raises(ExplorerValueError, match=r"^query_offset: .*overflow"):
        explorer.query_offset = [1e308, 1e308]
    assert (explorer.query_offset, explorer.weights) == before
