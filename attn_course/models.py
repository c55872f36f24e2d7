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

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attn_course.attention import additive_attention, dot_product_attention, padding_mask
from attn_course.data import EOS_ID, PAD_ID, SOS_ID, Vocab, _check_int

__all__ = [
    "DECODERS", "SCORES", "Seq2SeqConfig", "parameter_count", "Memory", "Encoder",
    "VanillaDecoder", "PeekyDecoder", "AttentionDecoder", "Seq2Seq",
]

DECODERS = ("vanilla", "peeky", "attention")
SCORES = ("dot", "general", "additive")
State = tuple[Tensor, Tensor]  # (h, c), each (1, B, H) as nn.LSTM wants them


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Everything that defines a model, vocabularies included (saved with its weights)."""

    src_vocab: Vocab
    tgt_vocab: Vocab
    decoder: str = "attention"      # one of DECODERS
    score: str = "dot"              # one of SCORES (attention decoder only)
    embed_dim: int = 16
    hidden_dim: int = 64
    reverse_source: bool = True     # feed the source backwards (Sutskever et al. 2014)

    def __post_init__(self) -> None:
        for name in ("src_vocab", "tgt_vocab"):
            if not isinstance(getattr(self, name), Vocab):
                raise TypeError(f"{name} must be a Vocab (e.g. Vocab.build(texts)); "
                                f"got {type(getattr(self, name)).__name__}")
        if not isinstance(self.decoder, str) or self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}; got {self.decoder!r}")
        if not isinstance(self.score, str) or self.score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}; got {self.score!r}")
        for name in ("embed_dim", "hidden_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        if not isinstance(self.reverse_source, bool):
            raise TypeError(f"reverse_source must be a bool; got {type(self.reverse_source).__name__}")

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


def parameter_count(config: Seq2SeqConfig) -> int:
    """The number of weights of ``Seq2Seq(config)``, by arithmetic: nothing is built or allocated.

    An LSTM from width I to H has 4H(I + H) weights and 2 x 4H biases; a Linear
    from I to O has IO weights and O biases; an embedding VE.
    """
    if not isinstance(config, Seq2SeqConfig):
        raise TypeError(f"config must be a Seq2SeqConfig; got {type(config).__name__}")
    V_src, V_tgt, E, H = len(config.src_vocab), len(config.tgt_vocab), config.embed_dim, config.hidden_dim

    def lstm(width: int) -> int:
        return 4 * H * (width + H) + 8 * H

    encoder = V_src * E + lstm(E)
    if config.decoder == "vanilla":
        return encoder + V_tgt * E + lstm(E) + (H + 1) * V_tgt
    if config.decoder == "peeky":
        return encoder + V_tgt * E + lstm(E + H) + (2 * H + 1) * V_tgt
    score = {"dot": 0, "general": H * H, "additive": 2 * H * H + 2 * H}[config.score]
    return encoder + V_tgt * E + lstm(E) + (2 * H + 1) * V_tgt + score


def _check_ids(name: str, ids: object, V: int, vocab: str, legend: str) -> None:
    """ids: (B, S) or (B, L) integer token ids, each in [0, V). One min/max per call."""
    if not isinstance(ids, Tensor):
        raise TypeError(f"{name} must be a {legend} tensor of token ids; got {type(ids).__name__}")
    if ids.dim() != 2 or 0 in ids.shape:
        raise ValueError(f"{name} must be {legend} with at least one row and column; got shape {tuple(ids.shape)}")
    if ids.dtype not in (torch.long, torch.int32):
        raise TypeError(f"{name} must hold integer token ids (torch.long); got {ids.dtype}")
    low, high = (int(x) for x in torch.aminmax(ids))
    if low < 0 or high >= V:
        raise ValueError(f"{name} ids must lie in [0, V={V}), the {vocab} vocabulary; got ids from {low} to {high}")


def _check_lengths(src_lengths: object, src: Tensor) -> None:
    """src_lengths: (B,) integers in [1, S], as many as the rows of src (B, S)."""
    B, S = src.shape
    if not isinstance(src_lengths, Tensor):
        raise TypeError(f"src_lengths must be a (B,) tensor of ints; got {type(src_lengths).__name__}")
    if src_lengths.dtype not in (torch.long, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"src_lengths must hold integers (torch.long); got {src_lengths.dtype}")
    if src_lengths.shape != (B,):
        raise ValueError(f"src_lengths must be (B,) with B={B} as in src; got shape {tuple(src_lengths.shape)}")
    low, high = (int(x) for x in torch.aminmax(src_lengths))
    if low < 1 or high > S:
        raise ValueError(f"src_lengths must lie in [1, S={S}] (src is {tuple(src.shape)}); "
                         f"got lengths from {low} to {high}")


class Memory(NamedTuple):
    """What the encoder hands to a decoder."""

    states: Tensor   # (B, S, H) every encoder state; zeros at padded positions
    mask: Tensor     # (B, S) True at real source tokens
    last: State      # encoder's last state (h, c) at each example's last real token


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


class AttentionDecoder(nn.Module):
    """At every step, attends over ALL encoder states with its LSTM state as the query.

    score "dot": s · h_j; "general": s · W h_j (Luong et al. 2015, eq. 8);
    "additive": v · tanh(W_q s + W_k h_j) (Bahdanau et al. 2015). The context
    (the weighted sum of the encoder states) and the state predict the next token.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, score: str = "dot"):
        super().__init__()
        self.score = score
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        if score == "general":
            self.w_key = nn.Linear(hidden_dim, hidden_dim, bias=False)
        elif score == "additive":
            self.w_query = nn.Linear(hidden_dim, hidden_dim, bias=False)
            self.w_key = nn.Linear(hidden_dim, hidden_dim)
            self.v = nn.Parameter(torch.empty(hidden_dim).uniform_(-hidden_dim ** -0.5, hidden_dim ** -0.5))
        self.out = nn.Linear(2 * hidden_dim, vocab_size)

    def attend(self, query: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        """query: (B, L, H) decoder states. Returns context (B, L, H) and weights (B, L, S)."""
        keys, mask = memory.states, memory.mask[:, None, :]             # (B, S, H), (B, 1, S)
        if self.score == "dot":
            return dot_product_attention(query, keys, keys, mask)
        if self.score == "general":
            return dot_product_attention(query, self.w_key(keys), keys, mask)
        return additive_attention(self.w_query(query), self.w_key(keys), keys, self.v, mask)

    def forward(self, tgt_in: Tensor, state: State, memory: Memory) -> tuple[Tensor, State, Tensor]:
        hidden, state = self.lstm(self.embed(tgt_in), state)            # (B, L, H)
        context, weights = self.attend(hidden, memory)                   # (B, L, H), (B, L, S)
        return self.out(torch.cat([context, hidden], dim=-1)), state, weights


class Seq2Seq(nn.Module):
    """Encoder + one of the three decoders, with training and greedy decoding."""

    def __init__(self, config: Seq2SeqConfig):
        if not isinstance(config, Seq2SeqConfig):
            raise TypeError(f"config must be a Seq2SeqConfig; got {type(config).__name__}")
        super().__init__()
        self.config = config
        V_src, V_tgt, E, H = len(config.src_vocab), len(config.tgt_vocab), config.embed_dim, config.hidden_dim
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
        _check_ids("tgt_in", tgt_in, len(self.config.tgt_vocab), "target", "(B, L)")
        if tgt_in.shape[0] != src.shape[0]:
            raise ValueError(f"tgt_in must be (B, L) with B={src.shape[0]} as in src; got {tuple(tgt_in.shape)}")
        memory = self.encoder(src, src_lengths)
        logits, _, weights = self.decoder(tgt_in, memory.last, memory)
        return logits, weights

    def _check_source(self, src: object, src_lengths: object) -> None:
        """Once per call, not per decoding step: a min and a max of each tensor."""
        _check_ids("src", src, len(self.config.src_vocab), "source", "(B, S)")
        _check_lengths(src_lengths, src)

    @torch.no_grad()
    def greedy_decode(self, src: Tensor, src_lengths: Tensor, max_len: int = 32) -> tuple[Tensor, Tensor | None]:
        """Free running: each step feeds back the most likely token, until EOS or max_len.

        Returns tokens (B, T) with PAD after each EOS, T <= max_len, and the weights
        (B, T, S) of the attention decoder (None otherwise). max_len: an int >= 1.
        """
        self._check_source(src, src_lengths)
        max_len = _check_int("max_len", max_len, 1)
        memory = self.encoder(src, src_lengths)
        state, token = memory.last, torch.full((src.shape[0], 1), SOS_ID, device=src.device)   # (B, 1)
        tokens, weights = [], []
        done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)                  # (B,)
        for _ in range(max_len):
            logits, state, w = self.decoder(token, state, memory)       # (B, 1, V)
            logits[..., [PAD_ID, SOS_ID]] = float("-inf")                # never targets: never chosen
            token = logits.argmax(dim=-1)                                # (B, 1)
            tokens.append(token.masked_fill(done[:, None], PAD_ID))
            weights.append(w)
            done |= token[:, 0] == EOS_ID
            if done.all():
                break
        stacked = torch.cat(weights, dim=1) if weights[0] is not None else None                 # (B, T, S)
        return torch.cat(tokens, dim=1), stacked                         # (B, T)

    def translate(self, text: str, max_len: int = 32) -> tuple[str, Tensor | None]:
        """Translate one string. Returns the output string and the weights (T, S) over the
        source tokens in their written order (T output tokens including EOS), or None."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str; got {type(text).__name__}")
        max_len = _check_int("max_len", max_len, 1)
        ids = self.config.src_vocab.encode(text)
        if not ids:
            raise ValueError("text must hold at least one token; got an empty string")
        if self.config.reverse_source:
            ids = ids[::-1]
        device = next(self.parameters()).device
        src = torch.tensor([ids], device=device)                         # (1, S)
        was_training = self.training
        self.eval()
        tokens, weights = self.greedy_decode(src, torch.tensor([len(ids)]), max_len)
        self.train(was_training)
        out = tokens[0].tolist()
        n_out = out.index(EOS_ID) + 1 if EOS_ID in out else len(out)
        if weights is not None:
            weights = weights[0, :n_out]                                 # (T, S)
            if self.config.reverse_source:
                weights = weights.flip(-1)
        return self.config.tgt_vocab.decode(out), weights
