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
import operator
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "dot_product_attention",
    "scaled_dot_product_attention",
    "self_attention",
    "additive_attention",
    "masked_softmax",
    "causal_mask",
    "padding_mask",
]


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def _check_float_tensor(name: str, t: object, legend: str) -> None:
    """A floating tensor with at least 2 dims, ``legend`` naming its last two."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {legend}; got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor (e.g. torch.float32); got dtype {t.dtype}")
    if t.dim() < 2:
        raise ValueError(f"{name} must be {legend} with at least 2 dims; got shape {_shape(t)}")


def _check_qkv(
    query: Tensor, key: Tensor, value: Tensor, names: Sequence[str], query_legend: str = "(..., L, D)"
) -> None:
    """Validate the shapes shared by query (..., L, D), key (..., S, D), value (..., S, Dv)."""
    qn, kn, vn = names
    _check_float_tensor(qn, query, query_legend)
    _check_float_tensor(kn, key, "(..., S, D)")
    _check_float_tensor(vn, value, "(..., S, Dv)")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(
            f"{qn}, {kn} and {vn} must share one dtype; got {query.dtype}, {key.dtype}, {value.dtype}"
        )
    d = query.shape[-1]
    if d == 0:
        raise ValueError(f"{qn} must be {query_legend} with D >= 1; got {_shape(query)}")
    if key.shape[-1] != d:
        raise ValueError(f"{kn} must be (..., S, D) with D={d} as in {qn}; got {_shape(key)}")
    s = key.shape[-2]
    if s == 0:
        raise ValueError(f"{kn} must be (..., S, D) with S >= 1 (nothing to attend to); got {_shape(key)}")
    if value.shape[-2] != s:
        raise ValueError(f"{vn} must be (..., S, Dv) with S={s} as in {kn}; got {_shape(value)}")
    try:
        torch.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except RuntimeError:
        raise ValueError(
            f"the batch dims (...) of {qn} {_shape(query)}, {kn} {_shape(key)} and {vn} {_shape(value)} "
            "do not broadcast"
        ) from None


def _check_mask(mask: object, scores_shape: torch.Size) -> None:
    """The mask must be boolean and broadcast to the scores' shape (..., L, S) without growing it."""
    legend = f"(..., L, S) = {tuple(scores_shape)}"
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a boolean torch.Tensor broadcastable to {legend}; got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(
            f"mask must be boolean (True = may attend); got dtype {mask.dtype}. "
            "Convert with mask.bool() or build it with causal_mask / padding_mask"
        )
    try:
        ok = torch.broadcast_shapes(mask.shape, scores_shape) == scores_shape
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(f"mask must be broadcastable to {legend}; got {_shape(mask)}")


def _check_scale(scale: object) -> None:
    if isinstance(scale, Tensor):
        if not scale.is_floating_point():
            raise TypeError(f"scale must be a float or a 0-d floating tensor; got a tensor of dtype {scale.dtype}")
        if scale.dim() != 0:
            raise ValueError(f"scale must be a float or a 0-d tensor; got a tensor of shape {_shape(scale)}")
        if not torch.isfinite(scale):
            raise ValueError(f"scale must be finite; got {scale.item()}")
    elif isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TypeError(f"scale must be a float or a 0-d floating tensor; got {type(scale).__name__}")
    elif not math.isfinite(scale):
        raise ValueError(f"scale must be finite; got {scale}")


def masked_softmax(scores: Tensor, mask: Tensor | None = None) -> Tensor:
    """Softmax over the last dim (the keys), ignoring positions where ``mask`` is False.

    scores: (..., L, S); mask: boolean, broadcastable to (..., L, S), True = may attend.
    Returns weights (..., L, S): each row sums to 1 over its allowed keys, masked
    weights are exactly 0, and a row with no allowed key is all zeros (not NaN).
    """
    if mask is None:
        return scores.softmax(dim=-1)
    _check_mask(mask, scores.shape)
    # Rows with no allowed key would be softmax(all -inf) = NaN. Let such rows see
    # every key for the softmax (finite values and gradients), then zero them below.
    any_allowed = mask.any(dim=-1, keepdim=True)                 # (..., L, 1)
    visible = mask | ~any_allowed                                # (..., L, S)
    weights = scores.masked_fill(~visible, float("-inf")).softmax(dim=-1)
    return weights.masked_fill(~mask, 0.0)                       # (..., L, S)


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
    _check_qkv(query, key, value, ("query", "key", "value"))
    _check_scale(scale)
    return _attend(query, key, value, mask, scale)


def _attend(query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None, scale: float | Tensor
            ) -> tuple[Tensor, Tensor]:
    """The maths of dot_product_attention, on inputs its callers have checked."""
    scores = (query @ key.transpose(-2, -1)) * scale             # (..., L, S)
    weights = masked_softmax(scores, mask)                       # (..., L, S)
    context = weights @ value                                    # (..., L, Dv)
    return context, weights


def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Scaled dot-product attention: ``softmax(Q K^T / sqrt(D)) V`` (Vaswani et al. 2017, eq. 1).

    Shapes and mask as in :func:`dot_product_attention`. Dividing by sqrt(D)
    keeps the scores' variance near 1 whatever the width D, so the softmax does
    not saturate. Returns ``(context, weights)``: (..., L, Dv) and (..., L, S).
    """
    _check_qkv(query, key, value, ("query", "key", "value"))
    return _attend(query, key, value, mask, 1.0 / math.sqrt(query.shape[-1]))


def self_attention(x: Tensor, mask: Tensor | None = None, scale: float | Tensor = 1.0) -> tuple[Tensor, Tensor]:
    """Self-attention: every input is a query, and all inputs are the keys and the values.

    x: (..., S, D); mask: boolean, broadcastable to (..., S, S), True = may attend.
    Returns ``(outputs, weights)``: outputs (..., S, D), weights (..., S, S),
    where ``weights[..., i, j]`` is how much input i attends to input j.
    """
    _check_qkv(x, x, x, ("x", "x", "x"), query_legend="(..., S, D)")
    _check_scale(scale)
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
    _check_qkv(query, key, value, ("query", "key", "value"))
    if not isinstance(v, Tensor) or v.shape != (query.shape[-1],) or v.dtype != query.dtype:
        got = f"shape {_shape(v)}, dtype {v.dtype}" if isinstance(v, Tensor) else type(v).__name__
        raise ValueError(f"v must be (D,) = ({query.shape[-1]},) with dtype {query.dtype} as query; got {got}")
    hidden = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))  # (..., L, S, D)
    scores = hidden @ v                                          # (..., L, S)
    weights = masked_softmax(scores, mask)                       # (..., L, S)
    return weights @ value, weights                              # (..., L, Dv), (..., L, S)


def _check_length(name: str, n: object, minimum: int) -> int:
    try:
        if isinstance(n, bool):
            raise TypeError
        n = operator.index(n)  # ints, NumPy integers, 0-d integer tensors
    except TypeError:
        raise TypeError(f"{name} must be an int; got {type(n).__name__}") from None
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {n}")
    return n


def causal_mask(L: int, S: int | None = None, device: torch.device | str | None = None) -> Tensor:
    """Boolean mask (L, S), True = may attend: query i may attend to keys j <= i.

    Aligned top-left, as in Keras (``use_causal_mask``) and PyTorch
    (``is_causal``), also when L != S. S defaults to L.
    """
    L = _check_length("L", L, 1)
    S = L if S is None else _check_length("S", S, 1)
    return torch.ones(L, S, dtype=torch.bool, device=device).tril()  # (L, S)


def padding_mask(lengths: Tensor | Sequence[int], S: int) -> Tensor:
    """Boolean mask (B, S), True = may attend: position j of example b is real if j < lengths[b].

    lengths: (B,) integers in [0, S]. To mask the keys of a batched attention
    with scores (B, L, S), index it as ``padding_mask(lengths, S)[:, None, :]``
    (B, 1, S): a bare (B, S) mask would broadcast over the wrong dim.
    """
    S = _check_length("S", S, 1)
    if not isinstance(lengths, Tensor):
        try:
            lengths = torch.as_tensor(lengths) if len(lengths) else torch.zeros(0, dtype=torch.long)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"lengths must be a 1-D tensor or sequence of ints; got {type(lengths).__name__}") from None
    if lengths.dim() != 1:
        raise ValueError(f"lengths must be 1-D (B,); got shape {_shape(lengths)}")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"lengths must hold integers; got dtype {lengths.dtype}")
    if lengths.numel() and (lengths.min() < 0 or lengths.max() > S):
        raise ValueError(f"lengths must lie in [0, S={S}]; got {lengths.tolist()}")
    positions = torch.arange(S, device=lengths.device)           # (S,)
    return positions[None, :] < lengths[:, None]                 # (B, S)
