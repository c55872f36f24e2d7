"""The transformer's pieces (Vaswani et al. 2017), built on the course's own :class:`~attn_course.layers.MultiHeadAttention`.

- :func:`sinusoidal_positions`: the paper's fixed positional encodings, a pure function;
  :class:`LearnedPositions`: one learned vector per position.
- :class:`TransformerEncoderLayer`: self-attention, then a position-wise feed-forward network,
  each inside a residual connection with a LayerNorm.
- :class:`TransformerDecoderLayer`: causal self-attention over the target, cross-attention from
  the target (queries) to the encoder's output (keys and values), then the feed-forward network.

Batch first; masks are boolean with True = may attend, as everywhere in the course (PyTorch's
``src_mask`` and ``*_key_padding_mask`` use the opposite polarity). ``norm_first=True`` is
**pre-norm**, ``x + f(LayerNorm(x))``; ``norm_first=False`` is the paper's **post-norm**,
``LayerNorm(x + f(x))``. Each layer's ``from_torch`` copies a ``torch.nn.TransformerEncoderLayer`` /
``TransformerDecoderLayer`` (ReLU; either norm placement), and the two agree in outputs and gradients
(tests/unit/test_transformer.py). There is no dropout: the course's models are small and trained briefly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attn_course import _validate
from attn_course.layers import MultiHeadAttention

__all__ = ["sinusoidal_positions", "LearnedPositions", "TransformerEncoderLayer", "TransformerDecoderLayer"]


def sinusoidal_positions(length: int, d_model: int, base: float = 10000.0) -> Tensor:
    """The paper's positional encodings, (length, d_model).

    ``PE[pos, 2i] = sin(pos / base^(2i / d_model))`` and ``PE[pos, 2i+1] = cos(pos / base^(2i / d_model))``:
    each pair of features turns at its own speed, from once every 2π positions (i = 0) to once
    every 2π·base positions. An odd d_model ends with a sine.
    """
    _validate.integer("length", length, 0)
    _validate.integer("d_model", d_model, 1)
    base = _validate.real("base", base, 1.0)                                     # > 1
    pos = torch.arange(length, dtype=torch.float64)[:, None]                     # (length, 1)
    rates = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (ceil(d/2),)
    pe = torch.zeros(length, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * rates)
    pe[:, 1::2] = torch.cos(pos * rates[: d_model // 2])
    return pe.to(torch.get_default_dtype())                                      # (length, d_model)


class LearnedPositions(nn.Module):
    """One learned vector per position, added to the inputs: ``x + P[:L]``, for up to ``max_len`` positions."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        _validate.integer("max_len", max_len, 1)
        _validate.integer("d_model", d_model, 1)
        self.embedding = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.embedding.weight, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, L, D) -> (B, L, D)."""
        _validate.float_tensor("x", x, "(B, L, D)", min_dim=3)
        max_len, d = self.embedding.weight.shape
        if x.shape[-1] != d or x.shape[1] > max_len:
            raise ValueError(f"x must be (B, L, D) with D={d} and L <= max_len={max_len}; got {_validate.shape(x)}")
        return x + self.embedding.weight[: x.shape[1]]                            # (B, L, D)


class _Block(nn.Module):
    """What both layers share: sizes, the feed-forward network, residual connections with a LayerNorm."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, norm_first: bool, n_norms: int, eps: float):
        super().__init__()
        _validate.integer("d_model", d_model, 1)
        _validate.integer("num_heads", num_heads, 1)
        _validate.integer("d_ff", d_ff, 1)
        self.norm_first = _validate.flag("norm_first", norm_first)
        self.d_model = d_model
        self.linear1, self.linear2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.norms = nn.ModuleList(nn.LayerNorm(d_model, eps=eps) for _ in range(n_norms))

    def feed_forward(self, x: Tensor) -> Tensor:
        return self.linear2(F.relu(self.linear1(x)))                              # (B, L, D)

    def residual(self, x: Tensor, i: int, sublayer) -> tuple[Tensor, Tensor | None]:
        """Pre-norm ``x + f(LN(x))`` or post-norm ``LN(x + f(x))``; sublayer returns (output, weights)."""
        if self.norm_first:
            out, weights = sublayer(self.norms[i](x))
            return x + out, weights
        out, weights = sublayer(x)
        return self.norms[i](x + out), weights

    def _check_input(self, name: str, x: object, legend: str) -> None:
        _validate.float_tensor(name, x, legend, min_dim=3)
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"{name} must be {legend} with D=d_model={self.d_model}; got {_validate.shape(x)}")

    def _copy_common(self, module: nn.Module, norms: tuple[str, ...]) -> None:
        activation = module.activation
        if not (activation is F.relu or isinstance(activation, nn.ReLU)):
            raise ValueError(f"module must use the ReLU activation (ours does); got {module.activation}")
        with torch.no_grad():
            for name in ("linear1", "linear2"):
                getattr(self, name).load_state_dict(getattr(module, name).state_dict())
            for ours, theirs in zip(self.norms, norms):
                ours.load_state_dict(getattr(module, theirs).state_dict())


def _torch_sizes(module: nn.Module, cls: type, attention: str) -> tuple[int, int, int, float]:
    _validate.instance("module", module, cls)
    mha = getattr(module, attention)
    return mha.embed_dim, mha.num_heads, module.linear1.out_features, module.norm1.eps


class TransformerEncoderLayer(_Block):
    """One encoder layer: self-attention, then the feed-forward network, each in a residual connection.

    ``TransformerEncoderLayer(d_model, num_heads, d_ff, norm_first=True)``; LayerNorm eps 1e-5.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, norm_first: bool = True, eps: float = 1e-5):
        super().__init__(d_model, num_heads, d_ff, norm_first, n_norms=2, eps=eps)
        self.self_attn = MultiHeadAttention(d_model, num_heads)

    def forward(self, x: Tensor, mask: Tensor | None = None, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """x: (B, S, D). mask: True = may attend, e.g. key padding (B, 1, S), or any mask
        :class:`~attn_course.layers.MultiHeadAttention` takes. Returns ``(output (B, S, D), weights)``:
        the self-attention weights (B, H, S, S) with ``need_weights=True``, else None."""
        self._check_input("x", x, "(B, S, D)")
        _validate.flag("need_weights", need_weights)

        def attend(h: Tensor) -> tuple[Tensor, Tensor | None]:
            return self.self_attn(h, h, h, mask, need_weights=need_weights, average_weights=False)
        x, weights = self.residual(x, 0, attend)
        x, _ = self.residual(x, 1, lambda h: (self.feed_forward(h), None))
        return x, weights

    @classmethod
    def from_torch(cls, module: nn.TransformerEncoderLayer) -> TransformerEncoderLayer:
        """A copy of a ``torch.nn.TransformerEncoderLayer``'s weights (ReLU, either norm placement).

        Ours is batch first and has no dropout: compare with ``batch_first=True`` and dropout 0 (or
        eval mode), and pass our masks where PyTorch takes ``~mask`` (True = masked)."""
        d_model, heads, d_ff, eps = _torch_sizes(module, nn.TransformerEncoderLayer, "self_attn")
        layer = cls(d_model, heads, d_ff, norm_first=module.norm_first, eps=eps).to(module.linear1.weight)
        layer.self_attn = MultiHeadAttention.from_torch(module.self_attn)
        layer._copy_common(module, ("norm1", "norm2"))
        return layer


class TransformerDecoderLayer(_Block):
    """One decoder layer: causal self-attention, cross-attention to the encoder's output, feed-forward.

    In cross-attention the queries come from the target, the keys and values from the encoder's
    output (``memory``), as the attention decoder of chapter 4 compared its state with every
    encoder state.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, norm_first: bool = True, eps: float = 1e-5):
        super().__init__(d_model, num_heads, d_ff, norm_first, n_norms=3, eps=eps)
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.cross_attn = MultiHeadAttention(d_model, num_heads)

    def forward(self, x: Tensor, memory: Tensor, self_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, need_weights: bool = False
                ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """x: (B, L, D) the target so far; memory: (B, S, D) the encoder's output.

        self_mask: True = may attend, usually causal (L, L), combined with target padding;
        memory_mask: e.g. source padding (B, 1, S). Returns ``(output (B, L, D), self_weights
        (B, H, L, L), cross_weights (B, H, L, S))``, the weights None unless ``need_weights=True``.
        """
        self._check_input("x", x, "(B, L, D)")
        self._check_input("memory", memory, "(B, S, D)")
        if memory.shape[0] != x.shape[0]:
            raise ValueError(f"memory must be (B, S, D) with B={x.shape[0]} as in x; got {_validate.shape(memory)}")
        _validate.flag("need_weights", need_weights)
        w = dict(need_weights=need_weights, average_weights=False)
        x, self_weights = self.residual(x, 0, lambda h: self.self_attn(h, h, h, self_mask, **w))
        x, cross_weights = self.residual(x, 1, lambda h: self.cross_attn(h, memory, memory, memory_mask, **w))
        x, _ = self.residual(x, 2, lambda h: (self.feed_forward(h), None))
        return x, self_weights, cross_weights

    @classmethod
    def from_torch(cls, module: nn.TransformerDecoderLayer) -> TransformerDecoderLayer:
        """A copy of a ``torch.nn.TransformerDecoderLayer``'s weights (ReLU, either norm placement):
        ``self_attn``, ``multihead_attn`` (our ``cross_attn``), the feed-forward network and three norms."""
        d_model, heads, d_ff, eps = _torch_sizes(module, nn.TransformerDecoderLayer, "self_attn")
        layer = cls(d_model, heads, d_ff, norm_first=module.norm_first, eps=eps).to(module.linear1.weight)
        layer.self_attn = MultiHeadAttention.from_torch(module.self_attn)
        layer.cross_attn = MultiHeadAttention.from_torch(module.multihead_attn)
        layer._copy_common(module, ("norm1", "norm2", "norm3"))
        return layer

