"""Vocabularies and batches: from ``(source, target)`` string pairs to padded id tensors.

A data set is a list of ``(source, target)`` string pairs (:mod:`attn_course.tasks`
generates the toy tasks and reads files of pairs). A :class:`Vocab` maps tokens (characters or words) to ids; ids 0-3 are always
PAD, SOS, EOS, UNK. :func:`encode_pairs` turns a whole data set into padded
tensors once (reading each source backwards if asked; :func:`reverse_source` does the same
to tensors already padded), and :func:`batches` serves batches of it by pure tensor indexing.

Shape legend: N pairs in the data set (B in a batch), S source length,
L target length (the target tokens plus one SOS or EOS).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields

import torch
from torch import Tensor

from attn_course import _validate

__all__ = [
    "PAD", "SOS", "EOS", "UNK", "PAD_ID", "SOS_ID", "EOS_ID", "UNK_ID",
    "Vocab", "Encoded", "encode_pairs", "reverse_source", "batches",
]

PAD, SOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
PAD_ID, SOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
SPECIALS = (PAD, SOS, EOS, UNK)
LEVELS = ("char", "word")

Pair = tuple[str, str]


def _check_level(level: object) -> None:
    if not isinstance(level, str) or level not in LEVELS:
        raise ValueError(f"level must be 'char' or 'word'; got {level!r}")


# ---------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Vocab:
    """Tokens <-> ids. ``tokens[i]`` is the token of id i; ids 0-3 are PAD, SOS, EOS, UNK.

    level "char": every character is a token. level "word": the text is split
    on single spaces, so ``decode(encode(s)) == s`` for single-spaced text.
    Text can never produce PAD, SOS or EOS: a word ``"<s>"`` is unknown.
    """

    tokens: tuple[str, ...]
    level: str = "char"

    def __post_init__(self) -> None:
        _check_level(self.level)
        if isinstance(self.tokens, str) or not isinstance(self.tokens, (tuple, list)):
            raise TypeError(f"tokens must be a tuple of str; got {type(self.tokens).__name__}")
        tokens = tuple(self.tokens)
        object.__setattr__(self, "tokens", tokens)  # a list (e.g. from JSON) becomes a tuple
        if tokens[:4] != SPECIALS:
            raise ValueError(f"tokens must start with the specials {SPECIALS}; got {tokens[:4]}")
        for i, token in enumerate(tokens[4:], 4):
            if not isinstance(token, str):
                raise TypeError(f"tokens[{i}] must be a str; got {type(token).__name__}")
            if self.level == "char" and len(token) != 1:
                raise ValueError(f"tokens[{i}] must be one character at level 'char'; got {token!r}")
            if self.level == "word" and (not token or " " in token):
                raise ValueError(f"tokens[{i}] must be a non-empty word without spaces; got {token!r}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("tokens must be unique; got duplicates")
        # Not a dataclass field: kept out of ==, hash, repr and dataclasses.asdict.
        object.__setattr__(self, "_ids", {t: i for i, t in enumerate(tokens) if i > EOS_ID})

    @classmethod
    def build(cls, texts: Iterable[str], level: str = "char") -> Vocab:
        """The 4 specials, then every token seen in ``texts``, sorted (the same texts, the same ids)."""
        _check_level(level)
        if isinstance(texts, str):
            raise TypeError("texts must be an iterable of str (e.g. a list of sentences), not one str")
        seen: set[str] = set()
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] must be a str; got {type(text).__name__}")
            seen.update(text if level == "char" else text.split(" "))
        seen.difference_update(SPECIALS)
        seen.discard("")  # from double spaces at level "word"
        return cls(SPECIALS + tuple(sorted(seen)), level)

    def tokenize(self, text: str) -> list[str]:
        """Characters, or the words between single spaces."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str; got {type(text).__name__}")
        if self.level == "char":
            return list(text)
        return text.split(" ") if text else []

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, unknown tokens as UNK_ID; no SOS or EOS is added."""
        get = self._ids.get
        return [get(t, UNK_ID) for t in self.tokenize(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids`` (a list or an (L,) tensor) up to the first EOS; PAD and SOS are skipped.

        UNK shows as "?" at level "char" and as "<unk>" at level "word".
        """
        if isinstance(ids, Tensor):
            if ids.dim() != 1:
                raise ValueError(f"ids must be 1-D; got a tensor of shape {tuple(ids.shape)}")
            ids = ids.tolist()
        unknown = "?" if self.level == "char" else UNK
        words = []
        for i in ids:
            i = _validate.integer("each id", i)
            if i == EOS_ID:
                break
            if i == PAD_ID or i == SOS_ID:
                continue
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"ids must lie in [0, V={len(self.tokens)}); got {i}")
            words.append(unknown if i == UNK_ID else self.tokens[i])
        return ("" if self.level == "char" else " ").join(words)

    def __len__(self) -> int:
        return len(self.tokens)

    def to_dict(self) -> dict:
        """JSON-safe: ``{"tokens": [...], "level": "char"}``."""
        return {"tokens": list(self.tokens), "level": self.level}

    @classmethod
    def from_dict(cls, d: Mapping) -> Vocab:
        """The inverse of :meth:`to_dict`."""
        if not isinstance(d, Mapping) or set(d) != {"tokens", "level"}:
            raise ValueError(f"d must be a dict with keys 'tokens' and 'level' (from Vocab.to_dict); got {d!r:.80}")
        return cls(d["tokens"], d["level"])


# ---------------------------------------------------------------- tensors


@dataclass(frozen=True, eq=False)  # == on tensors is elementwise: compare fields with torch.equal
class Encoded:
    """A whole data set (or a batch) as padded id tensors; padding (PAD_ID) always comes after the tokens.

    src (N, S): source ids; src_lengths (N,): real source tokens (>= 1).
    tgt_in (N, L): SOS + target ids, the decoder's input (teacher forcing).
    tgt_out (N, L): target ids + EOS, what the decoder must predict.
    tgt_lengths (N,): target tokens + 1.
    """

    src: Tensor
    src_lengths: Tensor
    tgt_in: Tensor
    tgt_out: Tensor
    tgt_lengths: Tensor

    def __post_init__(self) -> None:
        for name, dims in (("src", 2), ("src_lengths", 1), ("tgt_in", 2), ("tgt_out", 2), ("tgt_lengths", 1)):
            t = getattr(self, name)
            if not isinstance(t, Tensor) or t.dtype != torch.long or t.dim() != dims:
                got = f"{t.dtype} {tuple(t.shape)}" if isinstance(t, Tensor) else type(t).__name__
                raise TypeError(f"{name} must be a {dims}-D torch.long tensor; got {got}")
        n = self.src.shape[0]
        if not (self.src_lengths.shape[0] == self.tgt_lengths.shape[0] == self.tgt_in.shape[0] == n) \
                or self.tgt_in.shape != self.tgt_out.shape:
            raise ValueError(
                "src (N, S), src_lengths (N,), tgt_in (N, L), tgt_out (N, L), tgt_lengths (N,) must agree; got "
                f"{tuple(self.src.shape)}, {tuple(self.src_lengths.shape)}, {tuple(self.tgt_in.shape)}, "
                f"{tuple(self.tgt_out.shape)}, {tuple(self.tgt_lengths.shape)}")

    def __len__(self) -> int:
        return self.src.shape[0]

    def to(self, device: torch.device | str) -> Encoded:
        """The same tensors on ``device`` (itself when they are there already)."""
        if self.src.device == torch.device(device):
            return self
        return Encoded(*(getattr(self, f.name).to(device) for f in fields(self)))

    def batch(self, index: Tensor) -> Encoded:
        """Rows ``index`` (B,), trimmed to the longest source and target among them."""
        if not isinstance(index, Tensor):
            index = torch.as_tensor(index, dtype=torch.long)
        if index.dim() != 1 or index.numel() == 0 or index.is_floating_point() or index.dtype == torch.bool:
            raise ValueError(f"index must be a non-empty 1-D integer tensor (B,); "
                             f"got {index.dtype} {tuple(index.shape)}")
        src_lengths, tgt_lengths = self.src_lengths[index], self.tgt_lengths[index]  # (B,), (B,)
        S, L = int(src_lengths.max()), int(tgt_lengths.max())
        return Encoded(self.src[index, :S], src_lengths,                         # (B, S)
                       self.tgt_in[index, :L], self.tgt_out[index, :L], tgt_lengths)  # (B, L)


def _check_pairs(pairs: object) -> None:
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise TypeError(f"pairs must be a list of (source, target) str pairs; got {type(pairs).__name__}")
    if not pairs:
        raise ValueError("pairs must hold at least one (source, target) pair; got none")
    for i, p in enumerate(pairs):
        if not (isinstance(p, (tuple, list)) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], str)):
            raise TypeError(f"pairs[{i}] must be a (source, target) pair of str; got {p!r:.80}")


def _encode_all(vocab: Vocab, texts: Iterable[str]) -> tuple[Tensor, Tensor]:
    """All ids in one flat tensor (total,) and the number of tokens of each text (N,)."""
    get = vocab._ids.get
    # A str is already a sequence of characters: no need to tokenize at level "char" (2x faster).
    token_lists = list(texts) if vocab.level == "char" else [vocab.tokenize(text) for text in texts]
    ids = torch.tensor([get(t, UNK_ID) for tokens in token_lists for t in tokens], dtype=torch.long)
    return ids, torch.tensor([len(tokens) for tokens in token_lists], dtype=torch.long)


def _pad(ids: Tensor, lengths: Tensor, width: int, start: int = 0, reverse: bool = False) -> Tensor:
    """(N, width) PAD_ID, with row i's ``lengths[i]`` ids from ``ids`` at columns start, start+1, ..."""
    rows = torch.repeat_interleave(torch.arange(lengths.numel()), lengths)   # (total,) row of each id
    first = lengths.cumsum(0) - lengths                                      # (N,) where each row starts in ids
    cols = torch.arange(ids.numel()) - first[rows]                           # (total,) position in its row
    if reverse:
        cols = lengths[rows] - 1 - cols
    out = torch.full((lengths.numel(), width), PAD_ID, dtype=torch.long)     # (N, width)
    out[rows, cols + start] = ids
    return out


def encode_pairs(pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab, reverse_source: bool = False) -> Encoded:
    """Encode every pair once, into padded tensors (see :class:`Encoded`); unknown tokens become UNK_ID.

    ``reverse_source`` feeds the source tokens backwards ("16+75" as "57+61",
    Sutskever et al. 2014); the padding still comes after the real tokens.
    """
    _check_pairs(pairs)
    for name, vocab in (("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab)):
        if not isinstance(vocab, Vocab):
            raise TypeError(f"{name} must be a Vocab (e.g. Vocab.build(texts)); got {type(vocab).__name__}")
    _validate.flag("reverse_source", reverse_source)
    src_ids, src_lengths = _encode_all(src_vocab, (s for s, _ in pairs))     # (total,), (N,)
    tgt_ids, n_tgt = _encode_all(tgt_vocab, (t for _, t in pairs))          # (total,), (N,)
    if (src_lengths == 0).any():
        i = int((src_lengths == 0).nonzero()[0])
        raise ValueError(f"pairs[{i}] has an empty source; the encoder needs at least one token")
    N, S, L = len(pairs), int(src_lengths.max()), int(n_tgt.max()) + 1
    src = _pad(src_ids, src_lengths, S, reverse=reverse_source)             # (N, S)
    tgt_in = _pad(tgt_ids, n_tgt, L, start=1)                               # (N, L)
    tgt_in[:, 0] = SOS_ID
    tgt_out = _pad(tgt_ids, n_tgt, L)                                       # (N, L)
    tgt_out[torch.arange(N), n_tgt] = EOS_ID
    return Encoded(src, src_lengths, tgt_in, tgt_out, n_tgt + 1)


def reverse_source(src: Tensor, lengths: Tensor) -> Tensor:
    """Each row's first ``lengths[b]`` tokens backwards, the padding kept after them (B, S): the sources
    as ``encode_pairs(..., reverse_source=True)`` makes them. src (B, S), lengths (B,) in [1, S]."""
    if not isinstance(src, Tensor) or src.dim() != 2 or 0 in src.shape:
        got = f"shape {_validate.shape(src)}" if isinstance(src, Tensor) else type(src).__name__
        raise TypeError(f"src must be a (B, S) tensor of token ids with at least one row and column; got {got}")
    _validate.lengths("lengths", lengths, src)
    pos = torch.arange(src.shape[1], device=src.device)                  # (S,)
    n = lengths.to(src.device)[:, None]                                   # (B, 1)
    return src.gather(1, torch.where(pos < n, n - 1 - pos, pos))          # (B, S)


def batches(data: Encoded, batch_size: int, shuffle: bool = True, seed: int = 0) -> Iterator[Encoded]:
    """Batches of ``batch_size`` rows covering ``data`` once; the last one may be smaller.

    With ``shuffle`` the order is ``torch.randperm`` of a ``torch.Generator`` seeded with ``seed``.
    """
    if not isinstance(data, Encoded):
        raise TypeError(f"data must be an Encoded (from encode_pairs); got {type(data).__name__}")
    batch_size, seed = _validate.integer("batch_size", batch_size, 1), _validate.integer("seed", seed, *_validate.SEED_RANGE)
    _validate.flag("shuffle", shuffle)
    n = len(data)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)) if shuffle else torch.arange(n)
    return (data.batch(order[i:i + batch_size]) for i in range(0, n, batch_size))
