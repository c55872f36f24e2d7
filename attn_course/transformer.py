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

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attn_course import _validate
from attn_course.attention import padding_mask
from attn_course.data import PAD_ID
from attn_course.layers import MultiHeadAttention
from attn_course.memory import Memory

__all__ = ["sinusoidal_positions", "LearnedPositions", "TransformerEncoderLayer", "TransformerDecoderLayer",
           "TransformerEncoder", "TransformerDecoder", "DecoderCache"]

KeysValues = tuple[Tensor, Tensor]     # (K, V) of the heads, (B, H, n, Dh) each


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

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        """x: (B, L, D), the positions offset .. offset + L - 1 -> (B, L, D)."""
        _validate.float_tensor("x", x, "(B, L, D)", min_dim=3)
        offset = _validate.integer("offset", offset, 0)
        max_len, d = self.embedding.weight.shape
        if x.shape[-1] != d or offset + x.shape[1] > max_len:
            raise ValueError(f"x must be (B, L, D) with D={d} and offset + L <= max_len={max_len}; got "
                             f"{_validate.shape(x)} at offset {offset}")
        return x + self.embedding.weight[offset: offset + x.shape[1]]            # (B, L, D)


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
        memory_kv = self.cross_attn.keys_values(memory, memory)
        x, _, self_weights, cross_weights = self._run(x, None, memory_kv, self_mask, memory_mask, need_weights)
        return x, self_weights, cross_weights

    def extend(self, x: Tensor, past: KeysValues | None, memory_kv: KeysValues, memory_mask: Tensor | None = None,
               need_weights: bool = False) -> tuple[Tensor, KeysValues, Tensor | None]:
        """The layer on L new target positions after the t whose self-attention keys and values ``past``
        holds ((B, H, t, Dh) each; None for t = 0), causally: new position i sees the t past ones and the
        new ones up to itself. memory_kv: ``cross_attn.keys_values(memory, memory)``, computed once.
        Returns ``(output (B, L, D), past extended to t + L, cross_weights (B, H, L, S) or None)``.
        Running it one position at a time gives what :meth:`forward` gives with a causal mask (tested).
        """
        t = 0 if past is None else past[0].shape[-2]
        causal = torch.ones(x.shape[1], t + x.shape[1], dtype=torch.bool, device=x.device).tril(t)   # (L, t+L)
        x, present, _, cross_weights = self._run(x, past, memory_kv, causal, memory_mask, need_weights)
        return x, present, cross_weights

    def _run(self, x: Tensor, past: KeysValues | None, memory_kv: KeysValues, self_mask: Tensor | None,
             memory_mask: Tensor | None, need_weights: bool) -> tuple[Tensor, KeysValues, Tensor | None, Tensor | None]:
        w, present = dict(need_weights=need_weights, average_weights=False), []

        def self_attention(h: Tensor) -> tuple[Tensor, Tensor | None]:
            k, v = self.self_attn.keys_values(h, h)                               # (B, H, L, Dh)
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)   # (B, H, t+L, Dh)
            present.append((k, v))
            return self.self_attn.attend(h, k, v, self_mask, **w)
        x, self_weights = self.residual(x, 0, self_attention)
        x, cross_weights = self.residual(x, 1, lambda h: self.cross_attn.attend(h, *memory_kv, memory_mask, **w))
        x, _ = self.residual(x, 2, lambda h: (self.feed_forward(h), None))
        return x, present[0], self_weights, cross_weights

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



# --- the stacks: embeddings, positions, N layers; the encoder and decoder of a Seq2Seq ------------

MAX_POSITIONS = 256        # learned positions: the longest sequence they cover


class _Embedding(nn.Module):
    """Token embeddings scaled by sqrt(d_model), as in the paper, plus the positions."""

    def __init__(self, vocab_size: int, d_model: int, positions: str):
        super().__init__()
        _validate.integer("vocab_size", vocab_size, 1)
        self.positions = _validate.choice("positions", positions, ("sinusoidal", "learned"))
        self.tokens = nn.Embedding(vocab_size, d_model, padding_idx=PAD_ID)
        self.learned = LearnedPositions(MAX_POSITIONS, d_model) if positions == "learned" else None
        self.scale = math.sqrt(d_model)

    def forward(self, ids: Tensor, offset: int = 0) -> Tensor:
        x = self.tokens(ids) * self.scale                                        # (B, L, D)
        if self.learned is not None:
            return self.learned(x, offset)
        table = sinusoidal_positions(offset + ids.shape[1], x.shape[-1]).to(x)  # computed, never stored
        return x + table[offset:]                                                # (B, L, D)


class _Stack(nn.Module):
    """What the encoder and the decoder share: embeddings and positions, ``num_layers`` layers of
    ``layer_type``, and a final LayerNorm when pre-norm (whose sublayers leave the residual stream
    unnormalised)."""

    layer_type: type[nn.Module]

    def __init__(self, vocab_size: int, d_model: int, num_heads: int, d_ff: int, num_layers: int = 1,
                 positions: str = "sinusoidal", norm_first: bool = True):
        super().__init__()
        _validate.integer("num_layers", num_layers, 1)
        self.embed = _Embedding(vocab_size, d_model, positions)
        self.layers = nn.ModuleList(self.layer_type(d_model, num_heads, d_ff, norm_first)
                                    for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()


class TransformerEncoder(_Stack):
    """Embeddings and positions, then ``num_layers`` :class:`TransformerEncoderLayer` and a final LayerNorm
    when pre-norm."""

    layer_type = TransformerEncoderLayer

    def forward(self, src: Tensor, lengths: Tensor) -> Memory:
        """src: (B, S) ids padded after the tokens; lengths: (B,) real lengths >= 1. The states (B, S, D)
        are zero at padded positions, as the LSTM encoder's; the decoder's first state is None (no cache)."""
        return self.encode(src, lengths)[0]

    def encode(self, src: Tensor, lengths: Tensor, need_weights: bool = False
               ) -> tuple[Memory, list[Tensor | None]]:
        """:meth:`forward`, and each layer's self-attention weights (B, H, S, S) (None unless need_weights)."""
        mask = padding_mask(lengths, src.shape[1])                               # (B, 1, S)
        x, weights = self.embed(src), []                                         # (B, S, D)
        for layer in self.layers:
            x, w = layer(x, mask, need_weights)
            weights.append(w)
        states = self.norm(x) * mask[:, 0, :, None]                             # (B, S, D), 0 at padding
        return Memory(states, mask[:, 0], None), weights


class DecoderCache(NamedTuple):
    """What greedy decoding keeps between steps: each layer's self-attention keys and values of the
    positions decoded so far, (B, H, t, Dh), and its cross-attention keys and values of the encoder's
    output, (B, H, S, Dh), computed once."""

    past: tuple[KeysValues, ...]
    memory: tuple[KeysValues, ...]

    @property
    def length(self) -> int:
        return self.past[0][0].shape[-2]


class TransformerDecoder(_Stack):
    """Embeddings and positions, ``num_layers`` :class:`TransformerDecoderLayer`, a final LayerNorm when
    pre-norm, and the output layer to V scores. Its state between calls is a :class:`DecoderCache`."""

    layer_type = TransformerDecoderLayer

    def __init__(self, vocab_size: int, d_model: int, num_heads: int, d_ff: int, num_layers: int = 1,
                 positions: str = "sinusoidal", norm_first: bool = True):
        super().__init__(vocab_size, d_model, num_heads, d_ff, num_layers, positions, norm_first)
        self.out = nn.Linear(d_model, vocab_size)

    def forward(self, tgt_in: Tensor, state: DecoderCache | None, memory: Memory
                ) -> tuple[Tensor, DecoderCache, Tensor]:
        """tgt_in: (B, L) the next L target tokens, after the ``state.length`` already decoded (none when
        state is None): all L at once under teacher forcing, one at a time when decoding. Returns the
        logits (B, L, V), the cache extended by L positions, and the last layer's cross-attention
        weights averaged over the heads (B, L, S), as the LSTM attention decoder returns its weights."""
        logits, cache, weights = self.decode(tgt_in, state, memory, need_weights=True)
        return logits, cache, weights[-1].mean(dim=1)                            # (B, L, S)

    def decode(self, tgt_in: Tensor, state: DecoderCache | None, memory: Memory, need_weights: bool = False
               ) -> tuple[Tensor, DecoderCache, list[Tensor | None]]:
        """:meth:`forward` with each layer's cross-attention weights (B, H, L, S) (None unless need_weights)."""
        mask = memory.mask[:, None, :]                                           # (B, 1, S)
        memory_kv = state.memory if state is not None else tuple(
            layer.cross_attn.keys_values(memory.states, memory.states) for layer in self.layers)  # once
        x, past, weights = self.embed(tgt_in, 0 if state is None else state.length), [], []   # (B, L, D)
        for i, layer in enumerate(self.layers):
            x, present, w = layer.extend(x, None if state is None else state.past[i], memory_kv[i], mask,
                                         need_weights)
            past.append(present)
            weights.append(w)
        return self.out(self.norm(x)), DecoderCache(tuple(past), memory_kv), weights   # (B, L, V)
