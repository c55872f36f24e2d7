"""Attention as pure functions: scores, masked softmax, weighted sums, masks.

Shape legend (batch first): B batch, L query length, S key length, D query/key
width, Dv value width. ``...`` stands for any number of leading batch dims.

One mask convention everywhere: a boolean tensor where **True = may attend**,
as in ``torch.nn.functional.scaled_dot_product_attention``. (PyTorch's
``nn.MultiheadAttention(key_padding_mask=...)`` uses the opposite polarity.)

A query whose keys are all masked gets zero weights and a zero context,
never NaN, and its gradients are finite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from attn_course import _validate

__all__ = [
    "attention_weights",
    "scaled_attention_weights",
    "dot_product_attention",
    "scaled_dot_product_attention",
    "self_attention",
    "additive_attention",
    "masked_softmax",
    "causal_mask",
    "padding_mask",
]


def masked_softmax(scores: Tensor, mask: Tensor | None = None) -> Tensor:
    """Softmax over the last dim (the keys), ignoring positions where ``mask`` is False.

    scores: (..., L, S), finite or -inf (-inf means masked, as in PyTorch);
    mask: boolean, broadcastable to (..., L, S), True = may attend.
    Returns weights (..., L, S): each row sums to 1 over its allowed keys, masked
    weights are exactly 0, and a row with no allowed key is all zeros (not NaN).
    """
    _validate.float_tensor("scores", scores, "(..., L, S)", min_dim=1, minus_inf_ok=True)
    if mask is not None:
        _validate.mask(mask, scores.shape)
    return _softmax(scores, mask)


def _softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """masked_softmax on checked inputs; a -inf score is a masked key too."""
    minus_inf = scores == float("-inf")                          # (..., L, S)
    if mask is None and not minus_inf.any():
        return scores.softmax(dim=-1)
    allowed = ~minus_inf if mask is None else mask & ~minus_inf  # (..., L, S)
    # Rows with no allowed key would be softmax(all -inf) = NaN. Let such rows see
    # every key for the softmax (finite values and gradients), then zero them below.
    any_allowed = allowed.any(dim=-1, keepdim=True)              # (..., L, 1)
    visible = allowed | ~any_allowed                             # (..., L, S)
    weights = scores.masked_fill(minus_inf, 0.0).masked_fill(~visible, float("-inf")).softmax(dim=-1)
    return weights.masked_fill(~allowed, 0.0)                    # (..., L, S)


def attention_weights(query: Tensor, key: Tensor, mask: Tensor | None = None,
                      scale: float | Tensor = 1.0) -> Tensor:
    """The weights of dot-product attention, ``softmax(scale * Q K^T)`` over the keys.

    query: (..., L, D); key: (..., S, D); mask: boolean, broadcastable to
    (..., L, S), True = may attend; scale: a float or a 0-d tensor that
    multiplies the scores (1.0: the plain dot product).
    Returns weights (..., L, S): row i holds query i's weights over the keys.
    """
    _validate.qkv(query, key, key, ("query", "key", "key"))
    _validate.scale(scale)
    return _weights(query, key, mask, scale)


def scaled_attention_weights(query: Tensor, key: Tensor, mask: Tensor | None = None) -> Tensor:
    """The weights of scaled dot-product attention, ``softmax(Q K^T / sqrt(D))`` over the keys.

    Shapes and mask as in :func:`attention_weights`; D = d_k is the width of the
    queries and keys (Vaswani et al. 2017, eq. 1). Returns weights (..., L, S).
    """
    _validate.qkv(query, key, key, ("query", "key", "key"))
    return _weights(query, key, mask, 1.0 / math.sqrt(query.shape[-1]))


def _weights(query: Tensor, key: Tensor, mask: Tensor | None, scale: float | Tensor) -> Tensor:
    """The attention weights, on inputs their callers have checked: the one place they are computed."""
    # Scale the queries before the product, as PyTorch's SDPA does: a float16 score that
    # fits once scaled must not overflow on the way.
    q = query if isinstance(scale, float) and scale == 1.0 else query * scale
    scores = q @ key.transpose(-2, -1)                           # (..., L, S)
    _no_overflow(scores, "query @ key^T")
    if mask is not None:
        _validate.mask(mask, scores.shape)
    return _softmax(scores, mask)                                # (..., L, S)


def dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    mask: Tensor | None = None,
    scale: float | Tensor = 1.0,
) -> tuple[Tensor, Tensor]:
    """Dot-product attention: ``softmax(scale * Q K^T) V`` (Luong et al. 2015, "dot").

    query: (..., L, D); key: (..., S, D); value: (..., S, Dv);
    mask: boolean, broadcastable to (..., L, S), True = may attend;
    scale: a float or a 0-d tensor (a learnable scale can be passed) that
    multiplies the scores; 1.0 is the plain dot product.
    Returns ``(context, weights)``: context (..., L, Dv), weights (..., L, S).
    """
    _validate.qkv(query, key, value, ("query", "key", "value"))
    _validate.scale(scale)
    return _attend(query, key, value, mask, scale)


def _attend(query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None, scale: float | Tensor
            ) -> tuple[Tensor, Tensor]:
    """The maths of dot_product_attention, on inputs its callers have checked."""
    weights = _weights(query, key, mask, scale)                  # (..., L, S)
    context = weights @ value                                    # (..., L, Dv)
    return context, weights


def _no_overflow(scores: Tensor, what: str) -> None:
    """Finite inputs can still give infinite scores in a narrow dtype: say so, never return NaN."""
    if not torch.isfinite(scores).all():
        wider = " or a wider dtype (float32)" if torch.finfo(scores.dtype).bits < 32 else ""
        raise ValueError(f"the scores {what} overflow {scores.dtype} (largest finite value "
                         f"{torch.finfo(scores.dtype).max:.3g}): use smaller inputs{wider}")


def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Scaled dot-product attention: ``softmax(Q K^T / sqrt(D)) V`` (Vaswani et al. 2017, eq. 1).

    Shapes and mask as in :func:`dot_product_attention`. Dividing by sqrt(D)
    keeps the scores' variance near 1 whatever the width D, so the softmax does
    not saturate. Returns ``(context, weights)``: (..., L, Dv) and (..., L, S).
    """
    _validate.qkv(query, key, value, ("query", "key", "value"))
    return _attend(query, key, value, mask, 1.0 / math.sqrt(query.shape[-1]))


def self_attention(x: Tensor, mask: Tensor | None = None, scale: float | Tensor = 1.0) -> tuple[Tensor, Tensor]:
    """Self-attention: every input is a query, and all inputs are the keys and the values.

    x: (..., S, D); mask: boolean, broadcastable to (..., S, S), True = may attend.
    Returns ``(outputs, weights)``: outputs (..., S, D), weights (..., S, S),
    where ``weights[..., i, j]`` is how much input i attends to input j.
    """
    _validate.qkv(x, x, x, ("x", "x", "x"), query_legend="(..., S, D)")
    _validate.scale(scale)
    return _attend(x, x, x, mask, scale)


def additive_attention(
    query: Tensor, key: Tensor, value: Tensor, v: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Additive attention: scores ``v · tanh(q_i + k_j)`` (Bahdanau et al. 2015, eq. 6).

    The projections W_q q and W_k k of the paper are done before the call (as in
    ``keras.layers.AdditiveAttention``), so query and key already share the width D.
    query: (..., L, D); key: (..., S, D); value: (..., S, Dv); v: (D,);
    mask: boolean, broadcastable to (..., L, S), True = may attend.
    Returns ``(context, weights)``: (..., L, Dv) and (..., L, S).
    """
    _validate.qkv(query, key, value, ("query", "key", "value"))
    _validate.float_tensor("v", v, f"(D,) = ({query.shape[-1]},)", min_dim=1)
    if v.shape != (query.shape[-1],) or v.dtype != query.dtype:
        raise ValueError(f"v must be (D,) = ({query.shape[-1]},) with dtype {query.dtype} as query; "
                         f"got shape {_validate.shape(v)}, dtype {v.dtype}")
    return _additive(query, key, value, v, mask)


def _additive(query: Tensor, key: Tensor, value: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """The maths of additive_attention, on inputs its callers have checked."""
    hidden = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))  # (..., L, S, D)
    scores = hidden @ v                                          # (..., L, S)
    _no_overflow(scores, "v · tanh(query + key)")
    if mask is not None:
        _validate.mask(mask, scores.shape)
    weights = _softmax(scores, mask)                             # (..., L, S)
    return weights @ value, weights                              # (..., L, Dv), (..., L, S)


def causal_mask(L: int, S: int | None = None, device: torch.device | str | None = None) -> Tensor:
    """Boolean mask (L, S), True = may attend: query i may attend to keys j <= i.

    Aligned top-left, as in Keras (``use_causal_mask``) and PyTorch
    (``is_causal``), also when L != S. S defaults to L.
    """
    L = _validate.integer("L", L, 1)
    S = L if S is None else _validate.integer("S", S, 1)
    return torch.ones(L, S, dtype=torch.bool, device=device).tril()  # (L, S)


def padding_mask(lengths: Tensor | Sequence[int], S: int) -> Tensor:
    """Key padding mask (B, 1, S), True = may attend: key j of example b is real if j < lengths[b].

    lengths: (B,) integers in [0, S]. The middle dim of size 1 stands for the
    queries, so the mask broadcasts over them and always masks keys, whatever B
    and L are: pass it as it comes to scores (B, L, S), or as ``mask[:, None]``
    (B, 1, 1, S) to scores with heads (B, H, L, S). ``mask[:, 0]`` is the (B, S)
    "real token" table.
    """
    S = _validate.integer("S", S, 1)
    if not isinstance(lengths, Tensor):
        try:
            lengths = torch.as_tensor(lengths) if len(lengths) else torch.zeros(0, dtype=torch.long)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            raise TypeError(f"lengths must be a 1-D tensor or sequence of ints; got {type(lengths).__name__}") from None
    if lengths.dim() != 1:
        raise ValueError(f"lengths must be 1-D (B,); got shape {_validate.shape(lengths)}")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"lengths must hold integers; got dtype {lengths.dtype}")
    if lengths.numel() and (lengths.min() < 0 or lengths.max() > S):
        raise ValueError(f"lengths must lie in [0, S={S}]; got {lengths.tolist()}")
    positions = torch.arange(S, device=lengths.device)           # (S,)
    return (positions[None, :] < lengths[:, None])[:, None, :]   # (B, 1, S)
