"""The toy translation tasks, and pairs read from files.

A data set is a list of ``(source, target)`` string pairs. Three toy tasks are
generated here: addition (``"16+75" -> "91"``), dates (``"september 27, 1994"
-> "1994-09-27"``) and a tiny English -> French-like grammar whose adjectives
move after their nouns, so that the alignments cross. :func:`read_pairs` reads
the same pairs from a ``source<TAB>target`` file, such as the data of the book
"Deep Learning from Scratch 2"; :func:`split_pairs` holds some out.
"""

from __future__ import annotations

import os
import random
from bisect import bisect
from collections.abc import Callable, Sequence
from datetime import date
from itertools import accumulate

from attn_course import _validate
from attn_course.data import Pair

__all__ = ["TASKS", "Pair", "addition_pairs", "date_pairs", "word_pairs", "read_pairs", "split_pairs"]

MAX_PAIRS_BYTES = 256 * 2**20   # read_pairs refuses bigger files (and endless ones such as /dev/zero)


# ---------------------------------------------------------------- toy tasks


def addition_pairs(n: int, seed: int = 0, max_digits: int = 3) -> list[Pair]:
    """``n`` additions ``("16+75", "91")`` drawn as in the book's addition.txt.

    Each operand first draws its number of digits uniformly in 1..max_digits,
    then a number below 10**digits; an unordered pair {a, b} appears at most
    once. So about 1 pair in 5 has a 1-digit operand (1 in 50 with uniform
    operands). n can be at most the number of unordered pairs {a, b}.
    """
    n, seed = _validate.integer("n", n, 0), _validate.integer("seed", seed)
    max_digits = _validate.integer("max_digits", max_digits, 1)
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
    n, seed = _validate.integer("n", n, 0), _validate.integer("seed", seed)
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
    n, seed = _validate.integer("n", n, 0), _validate.integer("seed", seed)
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
                         f"(attn_course.tasks.MAX_PAIRS_BYTES); use a smaller sample of pairs")
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
    seed = _validate.integer("seed", seed)
    pairs = list(pairs)
    if len(pairs) < 2:
        raise ValueError(f"pairs must hold at least 2 pairs to split; got {len(pairs)}")
    random.Random(seed).shuffle(pairs)
    n_valid = min(max(1, int(len(pairs) * valid_fraction + 1e-9)), len(pairs) - 1)
    return pairs[:-n_valid], pairs[-n_valid:]


TASKS: dict[str, Callable[..., list[Pair]]] = {"addition": addition_pairs, "date": date_pairs, "words": word_pairs}
