"""Attention layers (nn.Modules) built on the pure functions of :mod:`attn_course.attention`.

Shape legend (batch first): B batch, L query length, S key length, D width,
Dv value width, H heads, Dh = D / H head width.

- ``DotProductAttention`` and ``AdditiveAttention``: ``keras.layers.Attention``
  (score_mode="dot") and ``keras.layers.AdditiveAttention``, call convention included.
- ``BahdanauAttention``: the paper's ``v^T tanh(W_q q + W_k k)``, projections included.
- ``MultiHeadAttention``: ``torch.nn.MultiheadAttention`` (batch first), with our mask convention;
  ``split_heads`` is its step (B, L, D) -> (B, H, L, Dh); ``to_torch_masks`` converts a mask to
  PyTorch's ``attn_mask`` / ``key_padding_mask``.

Masks are boolean, **True = may attend**. A query row with no allowed key gets
zero weights and a zero context, never NaN. (Keras gives such a row uniform
weights, as it only subtracts 1e9 from masked scores; ``nn.MultiheadAttention``
gives NaN when it returns weights.)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attn_course import _validate
from attn_course._validate import shape as _shape
from attn_course.attention import additive_attention, causal_mask, dot_product_attention, masked_softmax

__all__ = ["DotProductAttention", "AdditiveAttention", "BahdanauAttention", "MultiHeadAttention", "split_heads",
           "to_torch_masks"]


def _check_inputs(query: Tensor, key: Tensor | None, value: Tensor, value_legend: str = "(B, S, Dv)") -> Tensor:
    """query (B, L, D), key (B, S, D) and value 3-D, then the shared checks of dtypes, widths and lengths.

    A key of None means the value, and errors about it then name ``value``, the argument
    the caller passed. Returns the key to use.
    """
    names = ("query", "key" if key is not None else "value (also the key)", "value")
    key = value if key is None else key
    for name, t, legend in zip(names, (query, key, value), ("(B, L, D)", "(B, S, D)", value_legend)):
        if isinstance(t, Tensor) and t.dim() != 3:
            raise ValueError(f"{name} must be {legend}; got {_shape(t)}")
    _validate.qkv(query, key, value, names)
    return key


def _check_flags(**flags: object) -> None:
    for name, value in flags.items():
        _validate.flag(name, value)


def _check_bool(name: str, t: object, legend: str, shape: tuple[int, ...]) -> None:
    if not isinstance(t, Tensor) or t.dtype != torch.bool:
        got = f"dtype {t.dtype}" if isinstance(t, Tensor) else type(t).__name__
        raise TypeError(f"{name} must be a boolean tensor {legend} (True = may attend); got {got}")
    if _shape(t) != shape:
        raise ValueError(f"{name} must be {legend} = {shape}; got {_shape(t)}")


def _keras_mask(mask: object, use_causal_mask: bool, query: Tensor, key: Tensor, value: Tensor) -> Tensor | None:
    """Keras's ``[query_mask (B, L), value_mask (B, S)]`` or one mask, and the causal mask, as one (B, L, S) mask.

    A False query position masks its whole row: zero weights and a zero output.
    """
    B, L, S = max(query.shape[0], key.shape[0], value.shape[0]), query.shape[1], key.shape[1]
    parts = []
    if isinstance(mask, (list, tuple)):
        if len(mask) != 2:
            raise ValueError(f"mask as a list must be [query_mask (B, L), value_mask (B, S)]; got {len(mask)} items")
        query_mask, value_mask = mask
        if query_mask is not None:
            _check_bool("mask[0] (query_mask)", query_mask, "(B, L)", (B, L))
            parts.append(query_mask[:, :, None])                 # (B, L, 1)
        if value_mask is not None:
            if isinstance(value_mask, Tensor) and value_mask.dim() == 3:   # padding_mask's (B, 1, S)
                _check_bool("mask[1] (value_mask)", value_mask, "(B, 1, S)", (B, 1, S))
                value_mask = value_mask[:, 0]
            _check_bool("mask[1] (value_mask)", value_mask, "(B, S)", (B, S))
            parts.append(value_mask[:, None, :])                 # (B, 1, S)
    elif mask is not None:
        _validate.mask(mask, torch.Size((B, L, S)))
        parts.append(mask)
    if use_causal_mask:
        parts.append(causal_mask(L, S, device=query.device))     # (L, S), top-left aligned
    combined = None
    for part in parts:
        combined = part if combined is None else combined & part  # (B, L, S) at most
    return combined


class DotProductAttention(nn.Module):
    """Luong's dot-product attention, as ``keras.layers.Attention(score_mode="dot")``.

    Scores ``q_i · k_j``, times a learnable scalar ``scale`` (initialised to 1.0)
    when ``use_scale`` is True; softmax over the keys; weighted sum of the values.
    """

    def __init__(self, use_scale: bool = False):
        super().__init__()
        self.use_scale = _validate.flag("use_scale", use_scale)
        self.scale = nn.Parameter(torch.tensor(1.0)) if use_scale else None

    def forward(self, query: Tensor, value: Tensor, key: Tensor | None = None, mask: object = None,
                return_attention_scores: bool = False, use_causal_mask: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """query: (B, L, D); value: (B, S, Dv); key: (B, S, D), default ``value``.

        mask: ``[query_mask (B, L), value_mask (B, S)]`` (either may be None) or one
        boolean tensor broadcastable to (B, L, S); True = may attend. A False query
        position gets zero weights and a zero output row. use_causal_mask: query i
        sees keys j <= i (top-left aligned, also when L != S), and-ed with ``mask``.
        Returns the context (B, L, Dv), and ``(context, weights (B, L, S))`` when asked.
        """
        key = _check_inputs(query, key, value)
        _check_flags(return_attention_scores=return_attention_scores, use_causal_mask=use_causal_mask)
        mask = _keras_mask(mask, use_causal_mask, query, key, value)  # (B, L, S) or None
        scale = 1.0 if self.scale is None else self.scale
        context, weights = dot_product_attention(query, key, value, mask, scale)  # (B, L, Dv), (B, L, S)
        return (context, weights) if return_attention_scores else context


class AdditiveAttention(nn.Module):
    """Bahdanau's additive attention, as ``keras.layers.AdditiveAttention``.

    Scores ``sum_d scale_d * tanh(q_i + k_j)_d`` with a learnable ``scale`` (D,)
    (Glorot uniform, as in Keras) when ``use_scale`` is True, else ``sum_d tanh(q_i + k_j)_d``.
    The projections W_q q and W_k k are done before the call (see :class:`BahdanauAttention`).
    """

    def __init__(self, dim: int, use_scale: bool = True):
        super().__init__()
        self.dim = _validate.integer("dim", dim, 1)   # D, the width of query and key
        self.use_scale = _validate.flag("use_scale", use_scale)
        self.scale = nn.Parameter(torch.empty(dim)) if use_scale else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.scale is not None:  # Keras's glorot_uniform on a (D,) weight: fan_in = fan_out = D
            bound = math.sqrt(6.0 / (2 * self.dim))
            nn.init.uniform_(self.scale, -bound, bound)

    def forward(self, query: Tensor, value: Tensor, key: Tensor | None = None, mask: object = None,
                return_attention_scores: bool = False, use_causal_mask: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Shapes, mask and returns as :meth:`DotProductAttention.forward`, with D = ``dim``."""
        key = _check_inputs(query, key, value)
        _check_flags(return_attention_scores=return_attention_scores, use_causal_mask=use_causal_mask)
        if query.shape[-1] != self.dim:
            raise ValueError(f"query must be (B, L, D) with D=dim={self.dim}; got {_shape(query)}")
        if self.scale is not None:
            _validate.matches_parameters("AdditiveAttention", ("query", "value"), (query, value), self.scale)
        mask = _keras_mask(mask, use_causal_mask, query, key, value)  # (B, L, S) or None
        v = query.new_ones(self.dim) if self.scale is None else self.scale  # (D,)
        context, weights = additive_attention(query, key, value, v, mask)   # (B, L, Dv), (B, L, S)
        return (context, weights) if return_attention_scores else context


class BahdanauAttention(nn.Module):
    """Additive attention with its projections: ``e_ij = v^T tanh(W_q q_i + W_k k_j)``.

    Bahdanau et al. 2015, appendix A.1.2 (``v_a^T tanh(W_a s_{i-1} + U_a h_j)``):
    the query is a decoder state, the keys are the encoder states, which are also
    the values. W_q (query_dim -> hidden_dim) and W_k (key_dim -> hidden_dim) have
    no bias, as in the paper. Equals ``AdditiveAttention(hidden_dim)`` with
    ``scale = v`` applied to ``(W_q q, keys, key=W_k keys)``.
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int):
        super().__init__()
        for name, n in (("query_dim", query_dim), ("key_dim", key_dim), ("hidden_dim", hidden_dim)):
            _validate.integer(name, n, 1)
        self.query_proj = nn.Linear(query_dim, hidden_dim, bias=False)  # W_q
        self.key_proj = nn.Linear(key_dim, hidden_dim, bias=False)      # W_k
        self.v = nn.Parameter(torch.empty(hidden_dim).uniform_(-hidden_dim ** -0.5, hidden_dim ** -0.5))

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """query: (B, Dq) one decoder state, or (B, L, Dq); keys: (B, S, Dk), also the values.

        mask: boolean, True = may attend: (B, S) (the real keys, for every query), or
        broadcastable to (B, L, S) for a 3-D query. Returns ``(context, weights)``:
        (B, Dk) and (B, S) for a 2-D query, (B, L, Dk) and (B, L, S) for a 3-D one.
        """
        self._check(query, keys, mask)
        one_step = query.dim() == 2
        q = query[:, None, :] if one_step else query                       # (B, L, Dq)
        if isinstance(mask, Tensor) and mask.dim() == 2:
            mask = mask[:, None, :]                                        # (B, 1, S)
        context, weights = additive_attention(self.query_proj(q), self.key_proj(keys), keys, self.v, mask)
        return (context[:, 0], weights[:, 0]) if one_step else (context, weights)  # (B, [L,] Dk), (B, [L,] S)

    def _check(self, query: Tensor, keys: Tensor, mask: object) -> None:
        _validate.float_tensor("query", query, "(B, Dq) or (B, L, Dq)")
        _validate.float_tensor("keys", keys, "(B, S, Dk)")
        _validate.matches_parameters("BahdanauAttention", ("query", "keys"), (query, keys), self.v)
        dq, dk = self.query_proj.in_features, self.key_proj.in_features
        if query.dim() not in (2, 3) or query.shape[-1] != dq:
            raise ValueError(f"query must be (B, Dq) or (B, L, Dq) with Dq=query_dim={dq}; got {_shape(query)}")
        if keys.dim() != 3 or keys.shape[-1] != dk or keys.shape[0] != query.shape[0]:
            raise ValueError(f"keys must be (B, S, Dk) with B={query.shape[0]} as in query and Dk=key_dim={dk}; "
                             f"got {_shape(keys)}")
        if isinstance(mask, Tensor) and mask.dim() == 2 and _shape(mask) != (keys.shape[0], keys.shape[1]):
            raise ValueError(f"mask (2-D) must be (B, S) = {(keys.shape[0], keys.shape[1])}; got {_shape(mask)}")


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """x (B, L, D) as H = ``num_heads`` heads (B, H, L, Dh), Dh = D / H: head h holds the features
    h*Dh .. (h+1)*Dh - 1 of each position. A view of x where its strides allow (always for a
    contiguous x), so no number is copied."""
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (B, L, D); got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"x must be (B, L, D); got {_shape(x)}")
    H = _validate.integer("num_heads", num_heads, 1)
    B, L, D = x.shape
    if D % H:
        raise ValueError(f"D={D}, the last dim of x {_shape(x)}, must be divisible by num_heads={H} (Dh = D / H)")
    return x.reshape(B, L, H, D // H).transpose(1, 2)                    # (B, H, L, Dh)


def _heads_mask(mask: object, B: int, H: int, L: int, S: int) -> Tensor:
    """Our mask as a 4-D mask broadcastable to (B, H, L, S): (L, S), (B, L, S) or (B, 1, S), or (B, H, L, S)."""
    legend = f"(L, S), (B, L, S), (B, 1, S) or (B, H, L, S) with B={B}, H={H}, L={L}, S={S}"
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        got = f"dtype {mask.dtype}" if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"mask must be a boolean tensor (True = may attend) {legend}; got {got}")
    given = _shape(mask)
    if mask.dim() in (2, 3):
        mask = mask[None, None] if mask.dim() == 2 else mask[:, None]      # (1, 1, L, S) or (B, 1, L, S)
    try:
        ok = mask.dim() == 4 and torch.broadcast_shapes(mask.shape, (B, H, L, S)) == (B, H, L, S)
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(f"mask must be broadcastable to {legend}; got {given} "
                         "(a 2-D mask is (L, S): pass key padding (B, S) as mask[:, None, :])")
    return mask


def to_torch_masks(mask: Tensor, batch_size: int, num_heads: int, L: int, S: int) -> tuple[Tensor | None, Tensor | None]:
    """Our mask (True = may attend) as ``(attn_mask, key_padding_mask)`` for ``nn.MultiheadAttention``.

    Both of PyTorch's boolean masks use the opposite polarity: True = may NOT attend.
    Our mask, read as in :meth:`MultiHeadAttention.forward`, becomes the smallest form:
    the same for every head and query, e.g. (B, 1, S) -> ``key_padding_mask = ~mask[:, 0]`` (B, S);
    the same for every example and head, e.g. (L, S) -> ``attn_mask = ~mask`` (L, S);
    otherwise ``attn_mask`` (B*H, L, S), example b and head h at row ``b * H + h``.
    """
    m = _heads_mask(mask, batch_size, num_heads, L, S)                   # 4-D
    if m.shape[1] == m.shape[2] == 1:
        return None, ~m[:, 0, 0, :].expand(batch_size, S)                # (B, S)
    if m.shape[0] == m.shape[1] == 1:
        return ~m[0, 0].expand(L, S), None                               # (L, S)
    return ~m.expand(batch_size, num_heads, L, S).reshape(-1, L, S), None  # (B*H, L, S)


class MultiHeadAttention(nn.Module):
    """Multi-head attention (Vaswani et al. 2017, section 3.2.2), batch first.

    ``MultiHead(Q, K, V) = Concat(head_1..head_H) W_o`` with
    ``head_h = softmax(Q W_q^h (K W_k^h)^T / sqrt(Dh)) V W_v^h``. The same maths and
    parameters as ``torch.nn.MultiheadAttention(batch_first=True)``: see :meth:`from_torch`.
    With ``need_weights=True`` the weights come from :func:`~attn_course.attention.masked_softmax`;
    with ``need_weights=False`` PyTorch's fused ``scaled_dot_product_attention`` computes
    the same context faster (it also gives fully masked rows a zero context: tested).
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True):
        super().__init__()
        for name, n in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            _validate.integer(name, n, 1)
        _validate.flag("bias", bias)
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim={embed_dim} must be divisible by num_heads={num_heads} (Dh = D / H)")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(embed_dim, embed_dim, bias=bias)
                                                                for _ in range(4))

    def forward(self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None,
                need_weights: bool = True, average_weights: bool = True) -> tuple[Tensor, Tensor | None]:
        """query: (B, L, D); key: (B, S, D); value: (B, S, D).

        mask: boolean, True = may attend: (L, S) for every example; (B, L, S) or
        (B, 1, S) per example (the same for every head); or (B, H, L, S); any dim may be 1.
        Returns ``(output (B, L, D), weights)``: weights (B, L, S) averaged over the heads,
        (B, H, L, S) with ``average_weights=False``, None with ``need_weights=False``.
        A query with no allowed key gets zero weights and a zero context, so its
        output is the output projection's bias.
        """
        self._check(query, key, value)
        return self.attend(query, *self.keys_values(key, value), mask, need_weights, average_weights)

    def keys_values(self, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """The heads' keys and values, K W_k^h and V W_v^h, as (B, H, S, Dh) each: what a decoder's
        key/value cache keeps, so that each new step projects only its own token."""
        H = self.num_heads
        return split_heads(self.k_proj(key), H), split_heads(self.v_proj(value), H)   # (B, H, S, Dh)

    def attend(self, query: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None,
               need_weights: bool = True, average_weights: bool = True) -> tuple[Tensor, Tensor | None]:
        """:meth:`forward` with the keys and values already projected (:meth:`keys_values`), e.g. from a cache:
        query (B, L, D); k, v (B, H, S, Dh). Same mask and results as :meth:`forward`."""
        B, L, S = query.shape[0], query.shape[1], k.shape[-2]
        want = (B, self.num_heads, S, self.head_dim)
        if query.dim() != 3 or query.shape[-1] != self.embed_dim or _shape(k) != want or _shape(v) != want:
            raise ValueError(f"attend needs query (B, L, D) with D={self.embed_dim} and k, v (B, H, S, Dh) = "
                             f"{want}; got query {_shape(query)}, k {_shape(k)}, v {_shape(v)}")
        _check_flags(need_weights=need_weights, average_weights=average_weights)
        mask = None if mask is None else _heads_mask(mask, B, self.num_heads, L, S)  # 4-D
        # Scale q by 1/sqrt(Dh) before the product, as PyTorch does: cheaper than scaling the (B, H, L, S) scores.
        q = split_heads(self.q_proj(query), self.num_heads) * self.head_dim ** -0.5   # (B, H, L, Dh)
        if need_weights:
            weights = masked_softmax(q @ k.transpose(-2, -1), mask)                    # (B, H, L, S)
            context = weights @ v                                                      # (B, H, L, Dh)
        else:  # PyTorch's fused kernel: same maths, zeros for fully masked rows too (tested)
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)
        output = self.out_proj(context.transpose(1, 2).reshape(B, L, self.embed_dim))  # (B, L, D)
        if not need_weights:
            return output, None
        return output, weights.mean(dim=1) if average_weights else weights            # (B, [H,] L, S)

    def _check(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[int, int, int]:
        _check_inputs(query, key, value, value_legend="(B, S, D)")
        for name, x in zip(("query", "key", "value"), (query, key, value)):
            if x.shape[-1] != self.embed_dim or x.shape[0] != query.shape[0]:
                raise ValueError(f"{name} must be (B, {'L' if name == 'query' else 'S'}, D) with D=embed_dim="
                                 f"{self.embed_dim} and B={query.shape[0]} as in query; got {_shape(x)}")
        _validate.matches_parameters("MultiHeadAttention", ("query", "key", "value"), (query, key, value),
                                     self.q_proj.weight)
        return query.shape[0], query.shape[1], key.shape[1]

    @classmethod
    def from_torch(cls, module: nn.MultiheadAttention) -> MultiHeadAttention:
        """A copy of ``module``'s weights and biases: ``in_proj_weight`` split into W_q, W_k, W_v; ``out_proj``.

        Needs kdim = vdim = embed_dim, no bias_k/bias_v, no add_zero_attn. Ours is batch
        first and has no dropout: compare with ``batch_first=True`` and dropout 0 (or eval mode).
        """
        if not isinstance(module, nn.MultiheadAttention):
            raise TypeError(f"module must be a torch.nn.MultiheadAttention; got {type(module).__name__}")
        if not module._qkv_same_embed_dim or module.bias_k is not None or module.add_zero_attn:
            raise ValueError("module must have kdim = vdim = embed_dim, add_bias_kv=False and add_zero_attn=False")
        weight, bias = module.in_proj_weight, module.in_proj_bias
        layer = cls(module.embed_dim, module.num_heads, bias=bias is not None).to(weight)
        with torch.no_grad():
            for i, proj in enumerate((layer.q_proj, layer.k_proj, layer.v_proj)):
                proj.weight.copy_(weight.chunk(3)[i])
                if bias is not None:
                    proj.bias.copy_(bias.chunk(3)[i])
            layer.out_proj.load_state_dict(module.out_proj.state_dict())
        return layer
