"""LSTM encoder-decoders: vanilla, peeky and attention (batch first).

Shape legend: B batch, S source length, L target length, E embedding width,
H hidden width, V vocabulary size. The encoder reads the source; a decoder
writes the target one token at a time. They differ in what the decoder sees
of the source:

- ``VanillaDecoder``: only the encoder's last state (h, c), as its initial state
  (Sutskever et al. 2014).
- ``PeekyDecoder``: the same, and the encoder's last h at every step, concatenated
  to the decoder's input and to its output layer (Saitoh 2018, chapter 7).
- ``AttentionDecoder``: at every step, a softmax-weighted sum of ALL encoder
  states, weighted by their similarity with the decoder's state (Luong et al.
  2015 "dot" and "general"; Bahdanau et al. 2015 "additive").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attn_course import _validate
from attn_course.attention import masked_softmax, padding_mask
from attn_course.data import EOS_ID, PAD_ID, SOS_ID, Encoded, Pair, Vocab, encode_pairs
from attn_course.layers import BahdanauAttention
from attn_course.memory import Memory, State
from attn_course.transformer import TransformerDecoder, TransformerEncoder

__all__ = [
    "DECODERS", "SCORES", "Seq2SeqConfig", "Memory", "Step", "Encoder",
    "VanillaDecoder", "PeekyDecoder", "AttentionDecoder", "Seq2Seq", "dot_attention_weights",
]

DECODERS = ("vanilla", "peeky", "attention", "transformer")
POSITIONS = ("sinusoidal", "learned")
SCORES = ("dot", "general", "additive")
WeightsFn = Callable[[Tensor, Tensor, Tensor], Tensor]   # (query (B, L, H), keys (B, S, H), mask (B, S)) -> (B, L, S)


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Everything that defines a model, vocabularies included (saved with its weights)."""

    src_vocab: Vocab
    tgt_vocab: Vocab
    decoder: str = "attention"      # one of DECODERS
    score: str = "dot"              # one of SCORES (attention decoder only)
    embed_dim: int = 16             # E; the transformer's width D (d_model)
    hidden_dim: int = 64            # H; the transformer's feed-forward width (d_ff)
    reverse_source: bool = True     # feed the source backwards (Sutskever et al. 2014)
    layers: int = 1                 # transformer only: encoder layers, and as many decoder layers
    heads: int = 4                  # transformer only: attention heads (embed_dim must divide by it)
    positions: str = "sinusoidal"   # transformer only: one of POSITIONS

    def __post_init__(self) -> None:
        for name in ("src_vocab", "tgt_vocab"):
            if not isinstance(getattr(self, name), Vocab):
                raise TypeError(f"{name} must be a Vocab (e.g. Vocab.build(texts)); "
                                f"got {type(getattr(self, name)).__name__}")
        _validate.choice("decoder", self.decoder, DECODERS)
        _validate.choice("score", self.score, SCORES)
        for name in ("embed_dim", "hidden_dim", "layers", "heads"):
            _validate.integer(name, getattr(self, name), 1)
        _validate.flag("reverse_source", self.reverse_source)
        _validate.choice("positions", self.positions, POSITIONS)
        if self.decoder == "transformer" and self.embed_dim % self.heads:
            raise ValueError(f"embed_dim={self.embed_dim} must be divisible by heads={self.heads} for the "
                             f"transformer (each head is embed_dim / heads wide)")

    @classmethod
    def for_pairs(cls, pairs: Iterable[Pair], level: str = "char", **architecture: object) -> Seq2SeqConfig:
        """A config whose vocabularies hold the tokens of ``pairs`` (usually the training pairs).

        level: "char" or "word" tokens. architecture: the other fields (decoder, score,
        embed_dim, hidden_dim, reverse_source, and for the transformer layers, heads,
        positions), their defaults otherwise.
        """
        pairs = list(pairs)
        src_vocab = Vocab.build((s for s, _ in pairs), level=level)
        tgt_vocab = Vocab.build((t for _, t in pairs), level=level)
        return cls(src_vocab, tgt_vocab, **architecture)

    def encode(self, pairs: Sequence[Pair]) -> Encoded:
        """``pairs`` as padded id tensors, with this config's vocabularies and source order."""
        return encode_pairs(pairs, self.src_vocab, self.tgt_vocab, reverse_source=self.reverse_source)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["src_vocab"], d["tgt_vocab"] = self.src_vocab.to_dict(), self.tgt_vocab.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> Seq2SeqConfig:
        """The inverse of :meth:`to_dict`; a wrong key is a ValueError naming it."""
        if not isinstance(d, Mapping):
            raise TypeError(f"d must be a dict (from Seq2SeqConfig.to_dict); got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        if set(d) - names or not {"src_vocab", "tgt_vocab"} <= set(d):
            raise ValueError(f"d must have the keys {sorted(names)} (src_vocab and tgt_vocab required); "
                             f"got {sorted(map(str, d))}")
        d = dict(d)
        d["src_vocab"], d["tgt_vocab"] = Vocab.from_dict(d["src_vocab"]), Vocab.from_dict(d["tgt_vocab"])
        return cls(**d)


class Step(NamedTuple):
    """One step of greedy decoding (:meth:`Seq2Seq.decode_steps`)."""

    logits: Tensor           # (B, V) the decoder's scores; <pad> and <s> at -inf, as they are never targets
    token: Tensor            # (B,) the chosen (most likely) token; <pad> for rows that already wrote </s>
    weights: Tensor | None   # (B, S) the attention over the source as fed (reversed or not), or None


class Encoder(nn.Module):
    """Embedding + LSTM. Padded positions never reach the states (the batch is packed)."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)

    def forward(self, src: Tensor, lengths: Tensor) -> Memory:
        """src: (B, S) token ids padded after the tokens; lengths: (B,) real lengths >= 1."""
        x = self.embed(src)                                              # (B, S, E)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, last = self.lstm(packed)                                    # last: (1, B, H) twice
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])  # (B, S, H)
        return Memory(states, padding_mask(lengths, src.shape[1])[:, 0], last)   # mask (B, S)


class VanillaDecoder(nn.Module):
    """Starts from the encoder's last (h, c) and sees nothing else of the source."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def forward(self, tgt_in: Tensor, state: State, memory: Memory) -> tuple[Tensor, State, None]:
        """tgt_in: (B, L) previous tokens. Returns logits (B, L, V), the new state, no weights."""
        hidden, state = self.lstm(self.embed(tgt_in), state)            # (B, L, H)
        return self.out(hidden), state, None                             # (B, L, V)


class PeekyDecoder(nn.Module):
    """The encoder's last h is also concatenated to the input and to the output layer, at every step."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embed_dim + hidden_dim, hidden_dim, batch_first=True)
        self.out = nn.Linear(2 * hidden_dim, vocab_size)

    def forward(self, tgt_in: Tensor, state: State, memory: Memory) -> tuple[Tensor, State, None]:
        peek = memory.last[0][0].unsqueeze(1).expand(-1, tgt_in.shape[1], -1)   # (B, L, H)
        x = torch.cat([self.embed(tgt_in), peek], dim=-1)                # (B, L, E + H)
        hidden, state = self.lstm(x, state)                              # (B, L, H)
        return self.out(torch.cat([hidden, peek], dim=-1)), state, None  # (B, L, V)


def dot_attention_weights(query: Tensor, keys: Tensor, mask: Tensor) -> Tensor:
    """The decoder's "dot" attention weights at every step at once (Luong et al. 2015, eq. 8).

    query: (B, L, H) decoder states; keys: (B, S, H) encoder states; mask: (B, S) boolean,
    True = may attend (a real source token). Returns weights (B, L, S): the softmax over S
    of query · key, 0 where mask is False, each row summing to 1 over the real positions.
    """
    _validate.qkv(query, keys, keys, ("query", "keys", "keys"), "(B, L, H)")
    if query.dim() != 3 or keys.dim() != 3 or keys.shape[0] != query.shape[0]:
        raise ValueError(f"query must be (B, L, H) and keys (B, S, H) with the same B and H; "
                         f"got {tuple(query.shape)} and {tuple(keys.shape)}")
    B, S = keys.shape[:2]
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.shape != (B, S):
        got = f"{mask.dtype} {tuple(mask.shape)}" if isinstance(mask, Tensor) else type(mask).__name__
        raise ValueError(f"mask must be a boolean (B, S) = {(B, S)} tensor (True = may attend); got {got}")
    return masked_softmax(query @ keys.transpose(1, 2), mask[:, None, :])   # (B, L, S)


class AttentionDecoder(nn.Module):
    """At every step, attends over ALL encoder states with its LSTM state as the query.

    score "dot": s · h_j; "general": s · W h_j (Luong et al. 2015, eq. 8);
    "additive": v · tanh(W_q s + W_k h_j), the score of Bahdanau et al. 2015, computed
    by :class:`~attn_course.layers.BahdanauAttention`. The query s is the state after
    the LSTM's update, as in Luong et al. The context (the weighted sum of the encoder
    states) and the state predict the next token. The "dot" and "general" weights come
    from ``weights_fn`` (:func:`dot_attention_weights`; :meth:`Seq2Seq.attending_with`
    swaps in another, e.g. yours).
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, score: str = "dot"):
        super().__init__()
        self.score = score
        self.weights_fn: WeightsFn = dot_attention_weights
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        if score == "general":
            self.w_key = nn.Linear(hidden_dim, hidden_dim, bias=False)
        elif score == "additive":
            self.additive = BahdanauAttention(hidden_dim, hidden_dim, hidden_dim)
        self.out = nn.Linear(2 * hidden_dim, vocab_size)

    def attend(self, query: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        """query: (B, L, H) decoder states. Returns context (B, L, H) and weights (B, L, S)."""
        keys, mask = memory.states, memory.mask                          # (B, S, H), (B, S)
        if self.score == "additive":
            return self.additive(query, keys, mask)
        scored = keys if self.score == "dot" else self.w_key(keys)       # (B, S, H): h_j or W h_j
        weights = self.weights_fn(query, scored, mask)                   # (B, L, S)
        return weights @ keys, weights                                   # (B, L, H), (B, L, S)

    def forward(self, tgt_in: Tensor, state: State, memory: Memory) -> tuple[Tensor, State, Tensor]:
        hidden, state = self.lstm(self.embed(tgt_in), state)            # (B, L, H)
        context, weights = self.attend(hidden, memory)                   # (B, L, H), (B, L, S)
        return self.out(torch.cat([context, hidden], dim=-1)), state, weights


class Seq2Seq(nn.Module):
    """Encoder + one of the three decoders, with training and greedy decoding."""

    def __init__(self, config: Seq2SeqConfig):
        _validate.instance("config", config, Seq2SeqConfig)
        super().__init__()
        self.config = config
        V_src, V_tgt, E, H = len(config.src_vocab), len(config.tgt_vocab), config.embed_dim, config.hidden_dim
        if config.decoder == "transformer":       # attn_course.transformer: the same Memory, a cache as its state
            sizes = dict(d_model=E, num_heads=config.heads, d_ff=H, num_layers=config.layers,
                         positions=config.positions)
            self.encoder, self.decoder = TransformerEncoder(V_src, **sizes), TransformerDecoder(V_tgt, **sizes)
            return
        self.encoder = Encoder(V_src, E, H)
        if config.decoder == "vanilla":
            self.decoder = VanillaDecoder(V_tgt, E, H)
        elif config.decoder == "peeky":
            self.decoder = PeekyDecoder(V_tgt, E, H)
        else:
            self.decoder = AttentionDecoder(V_tgt, E, H, config.score)

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor | None]:
        """Teacher forcing: the decoder reads the true previous tokens tgt_in (B, L).

        Returns logits (B, L, V) and the attention weights (B, L, S) (None without attention).
        src (B, S) ids in [0, V_src), src_lengths (B,) in [1, S], tgt_in (B, L) ids in [0, V_tgt).
        """
        self._check_source(src, src_lengths)
        _validate.token_ids("tgt_in", tgt_in, len(self.config.tgt_vocab), "target", "(B, L)")
        if tgt_in.shape[0] != src.shape[0]:
            raise ValueError(f"tgt_in must be (B, L) with B={src.shape[0]} as in src; got {tuple(tgt_in.shape)}")
        memory = self.encoder(src, src_lengths)
        logits, _, weights = self.decoder(tgt_in, memory.last, memory)
        return logits, weights

    def _check_source(self, src: object, src_lengths: object) -> None:
        """Once per call, not per decoding step: a min and a max of each tensor."""
        _validate.token_ids("src", src, len(self.config.src_vocab), "source", "(B, S)")
        _validate.lengths("src_lengths", src_lengths, src)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @contextmanager
    def evaluating(self) -> Iterator[Seq2Seq]:
        """Eval mode inside the block (no dropout or the like), the previous mode restored after."""
        was_training = self.training
        self.eval()
        try:
            yield self
        finally:
            self.train(was_training)

    @contextmanager
    def attending_with(self, weights_fn: WeightsFn) -> Iterator[Seq2Seq]:
        """Inside the block, the attention decoder computes its weights with ``weights_fn`` instead of
        :func:`dot_attention_weights`, e.g. your own: ``weights_fn(query (B, L, H), keys (B, S, H),
        mask (B, S)) -> weights (B, L, S)``, mask True = may attend. (With the "general" score, keys
        are W h_j.) Its previous function is restored after the block."""
        if self.config.decoder != "attention" or self.config.score == "additive":
            raise ValueError(f"attending_with needs an attention decoder with the 'dot' or 'general' score; "
                             f"this model has decoder={self.config.decoder!r}, score={self.config.score!r}")
        if not callable(weights_fn):
            raise TypeError(f"weights_fn must be a function (query, keys, mask) -> weights; "
                            f"got {type(weights_fn).__name__}")
        previous = self.decoder.weights_fn
        self.decoder.weights_fn = _returning_weights(weights_fn)
        try:
            yield self
        finally:
            self.decoder.weights_fn = previous

    def check_encoded(self, data: object, name: str = "data") -> None:
        """An Encoded of at least one example whose ids fit this model's vocabularies (once, not per batch)."""
        if not isinstance(data, Encoded):
            raise TypeError(f"{name} must be an Encoded (from encode_pairs); got {type(data).__name__}")
        V_src, V_tgt = len(self.config.src_vocab), len(self.config.tgt_vocab)
        for part, V, vocab in (("src", V_src, "src_vocab"), ("tgt_in", V_tgt, "tgt_vocab"),
                               ("tgt_out", V_tgt, "tgt_vocab")):
            ids = getattr(data, part)
            if ids.numel() == 0:
                raise ValueError(f"{name}.{part} must hold at least one example and token; got shape {tuple(ids.shape)}")
            low, high = (int(x) for x in torch.aminmax(ids))
            if low < 0 or high >= V:
                raise ValueError(f"{name}.{part} ids must lie in [0, V={V}); got ids from {low} to {high}: encode "
                                 f"the pairs with the model's vocabularies (model.config.encode(pairs))")
        for part, width in (("src_lengths", data.src.shape[1]), ("tgt_lengths", data.tgt_in.shape[1])):
            low, high = (int(x) for x in torch.aminmax(getattr(data, part)))
            if low < 1 or high > width:
                raise ValueError(f"{name}.{part} must lie in [1, {width}]; got lengths from {low} to {high}")

    def encode_source(self, text: str) -> tuple[Tensor, Tensor]:
        """One string as the encoder reads it: ids (1, S), reversed if the config says so, and lengths (1,)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str; got {type(text).__name__}")
        ids = self.config.src_vocab.encode(text)
        if not ids:
            raise ValueError("text must hold at least one token; got an empty string")
        if self.config.reverse_source:
            ids = ids[::-1]
        return torch.tensor([ids], device=self.device), torch.tensor([len(ids)])      # (1, S), (1,)

    @torch.no_grad()
    def decode_steps(self, src: Tensor, src_lengths: Tensor, max_len: int = 32) -> Iterator[Step]:
        """Greedy decoding, one :class:`Step` at a time: each step feeds back the most likely token.

        Stops after max_len steps (an int >= 1), or once every row has written </s>.
        Greedy decoding, the decoding stepper and the exporters all read these steps.
        """
        self._check_source(src, src_lengths)
        max_len = _validate.integer("max_len", max_len, 1)
        memory = self.encoder(src, src_lengths)
        state, token = memory.last, torch.full((src.shape[0], 1), SOS_ID, device=src.device)   # (B, 1)
        done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)                  # (B,)
        for _ in range(max_len):
            logits, state, weights = self.decoder(token, state, memory)  # (B, 1, V), (B, 1, S) or None
            logits[..., [PAD_ID, SOS_ID]] = float("-inf")                # never targets: never chosen
            token = logits.argmax(dim=-1)                                # (B, 1)
            yield Step(logits[:, 0], token[:, 0].masked_fill(done, PAD_ID), None if weights is None else weights[:, 0])
            done |= token[:, 0] == EOS_ID
            if done.all():
                return

    def greedy_decode(self, src: Tensor, src_lengths: Tensor, max_len: int = 32) -> tuple[Tensor, Tensor | None]:
        """Free running: each step feeds back the most likely token, until EOS or max_len.

        Returns tokens (B, T) with PAD after each EOS, T <= max_len, and the weights
        (B, T, S) of the attention decoder (None otherwise). max_len: an int >= 1.
        """
        steps = list(self.decode_steps(src, src_lengths, max_len))
        tokens = torch.stack([step.token for step in steps], dim=1)                         # (B, T)
        if steps[0].weights is None:
            return tokens, None
        return tokens, torch.stack([step.weights for step in steps], dim=1)                 # (B, T, S)

    def translate(self, text: str, max_len: int = 32) -> tuple[str, Tensor | None]:
        """Translate one string. Returns the output string and the weights (T, S) over the
        source tokens in their written order (T output tokens including EOS), or None."""
        src, lengths = self.encode_source(text)                                            # (1, S), (1,)
        with self.evaluating():
            tokens, weights = self.greedy_decode(src, lengths, max_len)
        out = tokens[0].tolist()
        n_out = out.index(EOS_ID) + 1 if EOS_ID in out else len(out)
        if weights is not None:
            weights = weights[0, :n_out]                                 # (T, S)
            if self.config.reverse_source:
                weights = weights.flip(-1)
        return self.config.tgt_vocab.decode(out), weights


def _returning_weights(weights_fn: WeightsFn) -> WeightsFn:
    """weights_fn, checked to return a (B, L, S) tensor like the query's."""
    def checked(query: Tensor, keys: Tensor, mask: Tensor) -> Tensor:
        weights = weights_fn(query, keys, mask)
        shape = (query.shape[0], query.shape[1], keys.shape[1])
        if not isinstance(weights, Tensor) or weights.shape != shape or weights.dtype != query.dtype:
            got = f"{weights.dtype} {tuple(weights.shape)}" if isinstance(weights, Tensor) else type(weights).__name__
            raise ValueError(f"weights_fn must return (B, L, S) = {shape} weights of dtype {query.dtype}; got {got}")
        return weights
    return checked
