"""Toy translation data: vocabularies, generated tasks, files of pairs, padded batches.

A data set is a list of ``(source, target)`` string pairs. Three toy tasks are
generated here: addition (``"16+75" -> "91"``), dates (``"september 27, 1994"
-> "1994-09-27"``) and a tiny English -> French-like grammar whose adjectives
move after their nouns, so that the alignments cross. :func:`read_pairs` reads
the same pairs from a ``source<TAB>target`` file, such as the data of the book
"Deep Learning from Scratch 2".

A :class:`Vocab` maps tokens (characters or words) to ids; ids 0-3 are always
PAD, SOS, EOS, UNK. :func:`encode_pairs` turns a whole data set into padded
tensors once, and :func:`batches` serves batches of it by pure tensor indexing.

Shape legend: N pairs in the data set (B in a batch), S source length,
L target length (the target tokens plus one SOS or EOS).
"""

from __future__ import annotations

import operator
import os
import random
from bisect import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate

import torch
from torch import Tensor

__all__ = [
    "PAD", "SOS", "EOS", "UNK", "PAD_ID", "SOS_ID", "EOS_ID", "UNK_ID",
    "Vocab", "Encoded",
    "addition_pairs", "date_pairs", "word_pairs",
    "read_pairs", "split_pairs", "encode_pairs", "batches",
]

PAD, SOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
PAD_ID, SOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
SPECIALS = (PAD, SOS, EOS, UNK)
LEVELS = ("char", "word")
MAX_PAIRS_BYTES = 256 * 2**20   # read_pairs refuses bigger files (and endless ones such as /dev/zero)
SEED_RANGE = (-2**63, 2**64 - 1)  # what torch.Generator.manual_seed accepts

Pair = tuple[str, str]


def _check_int(name: str, value: object, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int; got bool")
    try:
        value = operator.index(value)  # ints, NumPy integers, 0-d integer tensors
    except TypeError:
        raise TypeError(f"{name} must be an int; got {type(value).__name__}") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {value}")
    return value


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
            i = _check_int("each id", i)
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


# ---------------------------------------------------------------- toy tasks


def addition_pairs(n: int, seed: int = 0, max_digits: int = 3) -> list[Pair]:
    """``n`` additions ``("16+75", "91")`` drawn as in the book's addition.txt.

    Each operand first draws its number of digits uniformly in 1..max_digits,
    then a number below 10**digits; an unordered pair {a, b} appears at most
    once. So about 1 pair in 5 has a 1-digit operand (1 in 50 with uniform
    operands). n can be at most the number of unordered pairs {a, b}.
    """
    n, seed = _check_int("n", n, 0), _check_int("seed", seed)
    max_digits = _check_int("max_digits", max_digits, 1)
    top = 10**max_digits
    if n > top * (top + 1) // 2:
        raise ValueError(f"n must be <= {top * (top + 1) // 2}, the number of distinct pairs {{a, b}} "
                         f"below {top}; got {n}")
    rng, seen, pairs = random.Random(seed), set(), []
    while len(pairs) < n:
        a = rng.randrange(10 ** rng.randrange(1, max_digits + 1))
        b = rng.randrange(10 ** rng.randrange(1, max_digits + 1))
        key = (a, b) if a <= b else (b, a)
        if key not in seen:
            seen.add(key)
            pairs.append((f"{a}+{b}", str(a + b)))
    return pairs


_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # date.weekday()
_FIRST_DAY, _LAST_DAY = date(1970, 1, 1).toordinal(), date(2029, 12, 31).toordinal()

# (weight, has words, format). The first four are the book's date.txt (en_US
# short / medium / long / full), 20% each; the rest are extra formats, 20% in all.
_DATE_FORMATS = (
    (12, False, lambda d, m, w: f"{d.month}/{d.day}/{d.year % 100:02d}"),     # 9/27/94
    (12, True, lambda d, m, w: f"{m[:3]} {d.day}, {d.year}"),                 # Sep 27, 1994
    (12, True, lambda d, m, w: f"{m} {d.day}, {d.year}"),                     # September 27, 1994
    (12, True, lambda d, m, w: f"{w}, {m} {d.day}, {d.year}"),                # Tuesday, September 27, 1994
    (2, True, lambda d, m, w: f"{d.day} {m[:3]} {d.year}"),                   # 27 Sep 1994
    (2, True, lambda d, m, w: f"{d.day} {m} {d.year}"),                       # 27 September 1994
    (2, False, lambda d, m, w: f"{d.year}.{d.month:02d}.{d.day:02d}"),        # 1994.09.27
    (2, False, lambda d, m, w: f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}"),  # 27.09.94
    (2, False, lambda d, m, w: f"{d.month:02d}/{d.day:02d}/{d.year}"),        # 09/27/1994
    (2, True, lambda d, m, w: f"{w[:3]}, {m[:3]} {d.day}, {d.year}"),         # Tue, Sep 27, 1994
)
_DATE_CUMULATIVE = tuple(accumulate(weight for weight, _, _ in _DATE_FORMATS))


def date_pairs(n: int, seed: int = 0) -> list[Pair]:
    """``n`` human-written dates and their ISO form, e.g. ``("TUESDAY, SEPTEMBER 25, 1984", "1984-09-25")``.

    Days are uniform in 1970-01-01..2029-12-31, so a 2-digit year is never
    ambiguous (70-99 -> 19xx, 00-29 -> 20xx). Formats, as in the book's
    date.txt (80%, 20% each): "9/27/94", "Sep 27, 1994", "September 27, 1994",
    "Tuesday, September 27, 1994"; and (20% in all) "27 Sep 1994",
    "27 September 1994", "1994.09.27", "27.09.94", "09/27/1994",
    "Tue, Sep 27, 1994". Words are Title case (50%), lower (25%) or UPPER (25%).
    """
    n, seed = _check_int("n", n, 0), _check_int("seed", seed)
    rng, total, pairs = random.Random(seed), _DATE_CUMULATIVE[-1], []
    for _ in range(n):
        day = date.fromordinal(rng.randint(_FIRST_DAY, _LAST_DAY))
        _, has_words, fmt = _DATE_FORMATS[bisect(_DATE_CUMULATIVE, rng.random() * total)]
        text = fmt(day, _MONTHS[day.month - 1], _WEEKDAYS[day.weekday()])
        if has_words:
            case = rng.random()
            text = text if case < 0.5 else text.lower() if case < 0.75 else text.upper()
        pairs.append((text, day.isoformat()))
    return pairs


# English -> French-like lexicon. Nouns carry a gender; determiners and adjectives agree.
_NOUNS = {"cat": ("chat", "m"), "dog": ("chien", "m"), "horse": ("cheval", "m"), "wolf": ("loup", "m"),
          "mouse": ("souris", "f"), "cow": ("vache", "f"), "girl": ("fille", "f"), "hen": ("poule", "f")}
_DETERMINERS = {"the": ("le", "la"), "a": ("un", "une")}
_ADJECTIVES = {"black": ("noir", "noire"), "white": ("blanc", "blanche"), "small": ("petit", "petite"),
               "big": ("grand", "grande"), "green": ("vert", "verte"), "red": ("rouge", "rouge")}
_VERBS = {"sees": "voit", "likes": "aime", "follows": "suit", "chases": "chasse", "finds": "trouve",
          "watches": "regarde"}
_INTRANSITIVE_VERBS = {"sleeps": "dort", "runs": "court", "sings": "chante"}
_ADVERBS = {"here": "ici", "now": "maintenant", "often": "souvent"}


def _noun_phrase(rng: random.Random) -> tuple[list[str], list[str]]:
    """English "det adj1 adj2 noun" -> French "det noun adj2 adj1" (the mirror image)."""
    det, noun = rng.choice(tuple(_DETERMINERS)), rng.choice(tuple(_NOUNS))
    adjectives = rng.sample(tuple(_ADJECTIVES), rng.choice((0, 0, 1, 1, 2)))
    french_noun, gender = _NOUNS[noun]
    g = 0 if gender == "m" else 1
    english = [det, *adjectives, noun]
    french = [_DETERMINERS[det][g], french_noun, *(_ADJECTIVES[a][g] for a in reversed(adjectives))]
    return english, french


def word_pairs(n: int, seed: int = 0) -> list[Pair]:
    """``n`` sentences of a tiny grammar, English -> a French-like word order.

    ``"the black cat sees a small dog" -> "le chat noir voit un chien petit"``:
    adjectives follow their noun (two adjectives in mirror order) and agree
    with its gender, so the alignments cross. 4 to 9 words, 28 English and
    35 French words. Sentences are "NP verb NP" (75%) or "NP verb adverb".
    """
    n, seed = _check_int("n", n, 0), _check_int("seed", seed)
    rng, pairs = random.Random(seed), []
    for _ in range(n):
        english, french = _noun_phrase(rng)
        if rng.random() < 0.75:
            verb = rng.choice(tuple(_VERBS))
            object_english, object_french = _noun_phrase(rng)
            english += [verb, *object_english]
            french += [_VERBS[verb], *object_french]
        else:
            verb, adverb = rng.choice(tuple(_INTRANSITIVE_VERBS)), rng.choice(tuple(_ADVERBS))
            english += [verb, adverb]
            french += [_INTRANSITIVE_VERBS[verb], _ADVERBS[adverb]]
        pairs.append((" ".join(english), " ".join(french)))
    return pairs


# ---------------------------------------------------------------- files and splits


def read_pairs(path: str | os.PathLike) -> list[Pair]:
    """Pairs from a UTF-8 file of ``source<TAB>target`` lines; empty lines at the end are skipped.

    Errors are one line naming the file (and the line): FileNotFoundError for a
    missing file, another OSError for a folder or an unreadable file, ValueError
    for an empty file, a file over MAX_PAIRS_BYTES, a line without exactly one
    tab, an empty side, or bytes that are not UTF-8.
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike; got {type(path).__name__}") from None
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_PAIRS_BYTES + 1)
    except FileNotFoundError:
        raise FileNotFoundError(f"pairs file not found: {path!r}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"pairs file {path!r} is a folder, not a file of source<TAB>target lines") from None
    except OSError as e:
        raise type(e)(f"cannot read pairs file {path!r}: {e.strerror or e}") from None
    if len(raw) > MAX_PAIRS_BYTES:
        raise ValueError(f"{path}: the file is larger than {MAX_PAIRS_BYTES // 2**20} MiB "
                         f"(attn_course.data.MAX_PAIRS_BYTES); use a smaller sample of pairs")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ValueError(f"{path}, line {line}: not UTF-8 (byte {raw[e.start]:#04x}: {e.reason})") from None
    lines = text.removeprefix("\ufeff").split("\n")
    while lines and lines[-1] in ("", "\r"):
        lines.pop()  # the newline that ends the last line, and empty lines after it
    if not lines:
        raise ValueError(f"{path}, line 1: the file is empty; expected 'source<TAB>target' lines")
    pairs = []
    for number, line in enumerate(lines, 1):
        sides = line.removesuffix("\r").split("\t")
        if len(sides) != 2:
            raise ValueError(f"{path}, line {number}: expected 'source<TAB>target' with exactly one tab; "
                             f"got {len(sides) - 1} tabs in {line!r:.80}")
        if not sides[0] or not sides[1]:
            side = "source" if not sides[0] else "target"
            raise ValueError(f"{path}, line {number}: the {side} is empty in {line!r:.80}")
        pairs.append((sides[0], sides[1]))
    return pairs


def split_pairs(pairs: Sequence[Pair], valid_fraction: float = 0.1, seed: int = 1984) -> tuple[list[Pair], list[Pair]]:
    """``(train, valid)``: shuffle a copy with ``random.Random(seed)``, hold out the last ``valid_fraction``.

    As the book does (seed 1984, the last 10%). valid gets at least 1 pair and train keeps at least 1.
    """
    if isinstance(valid_fraction, bool) or not isinstance(valid_fraction, (int, float)):
        raise TypeError(f"valid_fraction must be a float; got {type(valid_fraction).__name__}")
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must lie in (0, 1); got {valid_fraction}")
    seed = _check_int("seed", seed)
    pairs = list(pairs)
    if len(pairs) < 2:
        raise ValueError(f"pairs must hold at least 2 pairs to split; got {len(pairs)}")
    random.Random(seed).shuffle(pairs)
    n_valid = min(max(1, int(len(pairs) * valid_fraction + 1e-9)), len(pairs) - 1)
    return pairs[:-n_valid], pairs[-n_valid:]


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
    if not isinstance(reverse_source, bool):
        raise TypeError(f"reverse_source must be a bool; got {type(reverse_source).__name__}")
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


def batches(data: Encoded, batch_size: int, shuffle: bool = True, seed: int = 0) -> Iterator[Encoded]:
    """Batches of ``batch_size`` rows covering ``data`` once; the last one may be smaller.

    With ``shuffle`` the order is ``torch.randperm`` of a ``torch.Generator`` seeded with ``seed``.
    """
    if not isinstance(data, Encoded):
        raise TypeError(f"data must be an Encoded (from encode_pairs); got {type(data).__name__}")
    batch_size, seed = _check_int("batch_size", batch_size, 1), _check_int("seed", seed, *SEED_RANGE)
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be a bool; got {type(shuffle).__name__}")
    n = len(data)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)) if shuffle else torch.arange(n)
    return (data.batch(order[i:i + batch_size]) for i in range(0, n, batch_size))
