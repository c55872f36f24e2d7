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

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attn_course.attention import additive_attention, dot_product_attention, padding_mask
from attn_course.data import EOS_ID, PAD_ID, SOS_ID, Vocab

__all__ = [
    "DECODERS", "SCORES", "Seq2SeqConfig", "Memory", "Encoder",
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
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}; got {self.decoder!r}")
        if self.score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}; got {self.score!r}")
        for name in ("embed_dim", "hidden_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["src_vocab"], d["tgt_vocab"] = self.src_vocab.to_dict(), self.tgt_vocab.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Seq2SeqConfig:
        d = dict(d)
        d["src_vocab"], d["tgt_vocab"] = Vocab.from_dict(d["src_vocab"]), Vocab.from_dict(d["tgt_vocab"])
        return cls(**d)


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
        return Memory(states, padding_mask(lengths, src.shape[1]), last)


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
        """
        memory = self.encoder(src, src_lengths)
        logits, _, weights = self.decoder(tgt_in, memory.last, memory)
        return logits, weights

    @torch.no_grad()
    def greedy_decode(self, src: Tensor, src_lengths: Tensor, max_len: int = 32) -> tuple[Tensor, Tensor | None]:
        """Free running: each step feeds back the most likely token, until EOS or max_len.

        Returns tokens (B, T) with PAD after each EOS, T <= max_len, and the weights
        (B, T, S) of the attention decoder (None otherwise).
        """
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
