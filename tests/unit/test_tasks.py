"""attn_course.tasks: the toy tasks (addition, dates, word order), reading and splitting files of pairs.

The book's data (/work/shared/benchmarks/dlfs2) is an external reference only:
tests that need it are skipped when it is missing.
"""

import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from attn_course import tasks as tasks_module
from attn_course.data import Vocab
from attn_course.tasks import addition_pairs, date_pairs, read_pairs, split_pairs, word_pairs

BENCH = Path("/work/shared/benchmarks/dlfs2")
GENERATORS = [addition_pairs, date_pairs, word_pairs]


def bench(name: str) -> Path:
    path = BENCH / name
    if not path.exists():
        pytest.skip(f"reference data {path} is missing")
    return path


# ---------------------------------------------------------------- generators, common


@pytest.mark.parametrize("generate", GENERATORS)
def test_generators_are_deterministic_per_seed(generate):
    assert generate(200, seed=3) == generate(200, seed=3)
    assert generate(200, seed=3) != generate(200, seed=4)
    assert generate(50, seed=3) == generate(200, seed=3)[:50]  # a prefix: n does not change the stream
    assert generate(0) == []


@pytest.mark.parametrize("generate", GENERATORS)
def test_generators_return_str_pairs(generate):
    pairs = generate(300)
    assert len(pairs) == 300
    assert all(isinstance(s, str) and isinstance(t, str) and s and t for s, t in pairs)
    assert all("\t" not in s + t and "\n" not in s + t for s, t in pairs)


@pytest.mark.parametrize("generate", GENERATORS)
@pytest.mark.parametrize("n, error", [(-1, ValueError), (2.5, TypeError), ("3", TypeError), (True, TypeError)])
def test_generators_reject_bad_n(generate, n, error):
    with pytest.raises(error, match=r"^n must"):
        generate(n)


@pytest.mark.parametrize("generate", GENERATORS)
def test_generators_reject_bad_seed(generate):
    with pytest.raises(TypeError, match="seed"):
        generate(3, seed="a")


# ---------------------------------------------------------------- addition


def test_addition_answers_are_correct():
    for source, target in addition_pairs(2000, seed=1):
        assert re.fullmatch(r"\d{1,3}\+\d{1,3}", source), source
        assert re.fullmatch(r"\d{1,4}", target), target
        assert eval(source, {"__builtins__": {}}) == int(target)  # noqa: S307 (digits and + only)
        assert not re.search(r"(^|\+)0\d", source)  # no leading zeros


def test_addition_pairs_are_unique_unordered_pairs():
    pairs = addition_pairs(3000, seed=2)
    keys = [tuple(sorted(map(int, s.split("+")))) for s, _ in pairs]
    assert len(set(keys)) == len(keys)


def test_addition_max_digits_bounds_operands_and_n():
    pairs = addition_pairs(55, max_digits=1)  # every unordered pair of digits, each once
    operands = {tuple(sorted(map(int, s.split("+")))) for s, _ in pairs}
    assert operands == {(a, b) for a in range(10) for b in range(a, 10)}
    assert max(int(x) for s, _ in addition_pairs(500, max_digits=2) for x in s.split("+")) < 100
    with pytest.raises(ValueError, match="n must be <= 55"):
        addition_pairs(56, max_digits=1)
    with pytest.raises(ValueError, match="max_digits must be an int >= 1"):
        addition_pairs(3, max_digits=0)


def digit_classes(pairs):
    counts = Counter(tuple(len(x) for x in s.split("+")) for s, _ in pairs)
    return {k: v / len(pairs) for k, v in counts.items()}


def test_addition_distribution_matches_the_book():
    book = digit_classes(read_pairs(bench("addition.tsv")))
    ours = digit_classes(addition_pairs(50_000))
    assert set(ours) == set(book)
    for k in book:  # e.g. (3, 3): 25.2% vs 25.0%, (1, 3): 8.8% vs 8.7%
        assert ours[k] == pytest.approx(book[k], abs=0.01), k


# ---------------------------------------------------------------- dates

MONTHS = "january february march april may june july august september october november december".split()
WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()  # date.weekday() order
# An independent parser: strptime's %b %B %a %A ignore case; %m %d accept 1 or 2 digits.
FORMATS = {
    "%m/%d/%y": "9/27/94",
    "%b %d, %Y": "Sep 27, 1994",
    "%B %d, %Y": "September 27, 1994",
    "%A, %B %d, %Y": "Tuesday, September 27, 1994",
    "%d %b %Y": "27 Sep 1994",
    "%d %B %Y": "27 September 1994",
    "%Y.%m.%d": "1994.09.27",
    "%d.%m.%y": "27.09.94",
    "%m/%d/%Y": "09/27/1994",
    "%a, %b %d, %Y": "Tue, Sep 27, 1994",
}


def parse(source: str) -> tuple[date, str]:
    """The date and the first strptime format that reads ``source``."""
    for fmt in FORMATS:
        try:
            return datetime.strptime(source, fmt).date(), fmt
        except ValueError:
            continue
    raise AssertionError(f"no format reads {source!r}")


def test_date_parser_reads_its_examples():
    for fmt, example in FORMATS.items():
        assert parse(example) == (date(1994, 9, 27), fmt)


def test_date_targets_are_iso_and_sources_parse_back():
    pairs = date_pairs(5000, seed=7)
    used = Counter()
    for source, target in pairs:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", target), target
        day = date.fromisoformat(target)
        assert date(1970, 1, 1) <= day <= date(2029, 12, 31)
        parsed, fmt = parse(source)
        assert parsed == day, (source, target)
        used[fmt] += 1
    assert set(used) == set(FORMATS)  # every format is generated
    book_formats = ("%m/%d/%y", "%b %d, %Y", "%B %d, %Y", "%A, %B %d, %Y")
    # "May 3, 1994" reads as %b before %B: count the two together
    assert sum(used[f] for f in book_formats) / len(pairs) == pytest.approx(0.8, abs=0.03)


def test_date_weekdays_are_true():
    checked = 0
    for source, target in date_pairs(5000, seed=8):
        first = source.split(",")[0].lower()
        if first.isalpha() and first[:3] in {w[:3] for w in WEEKDAYS}:
            weekday = WEEKDAYS[date.fromisoformat(target).weekday()]
            assert first in (weekday, weekday[:3]), (source, target)
            checked += 1
    assert checked > 500


def test_date_cases_and_years_vary():
    sources = [s for s, _ in date_pairs(3000, seed=9) if any(c.isalpha() for c in s)]
    cases = Counter("lower" if s.islower() else "upper" if s.isupper() else "title" for s in sources)
    assert cases["title"] / len(sources) == pytest.approx(0.5, abs=0.05)
    assert cases["lower"] / len(sources) == pytest.approx(0.25, abs=0.05)
    years = {t[:4] for _, t in date_pairs(3000, seed=9)}
    assert {"1970", "1999", "2000", "2029"} <= years


def shape(text: str) -> str:
    """Digits -> 9, capitals -> A, small letters -> a: "Sep 27, 1994" -> "Aaa 99, 9999"."""
    return re.sub(r"[a-z]", "a", re.sub(r"[A-Z]", "A", re.sub(r"\d", "9", text)))


def test_date_formats_cover_the_books_date_tsv():
    book = Counter(shape(s) for s, _ in read_pairs(bench("date.tsv")))
    ours = {shape(s) for s, _ in date_pairs(50_000)}
    covered_lines = sum(n for k, n in book.items() if k in ours) / sum(book.values())
    covered_shapes = sum(k in ours for k in book) / len(book)
    missing = [k for k in book if k not in ours]
    # Measured: all 214 shapes of date.tsv (100% of its 50,000 lines) are generated.
    assert covered_lines >= 0.99 and covered_shapes >= 0.95, (covered_lines, covered_shapes, missing[:10])


def test_book_dates_parse_with_the_same_parser():
    """The parser that checks our dates also reads the book's: the formats are the same ones."""
    for source, target in read_pairs(bench("date.tsv"))[::50]:
        assert parse(source)[0] == date.fromisoformat(target), source


# ---------------------------------------------------------------- words

# An independent translator with its own lexicon: noun phrases "det adj* noun" become
# "det noun adj*" with the adjectives in mirror order; determiners and adjectives agree.
NOUNS = {"cat": "chat m", "dog": "chien m", "horse": "cheval m", "wolf": "loup m",
         "mouse": "souris f", "cow": "vache f", "girl": "fille f", "hen": "poule f"}
DETS = {"the": "le la", "a": "un une"}
ADJS = {"black": "noir noire", "white": "blanc blanche", "small": "petit petite",
        "big": "grand grande", "green": "vert verte", "red": "rouge rouge"}
OTHERS = {"sees": "voit", "likes": "aime", "follows": "suit", "chases": "chasse", "finds": "trouve",
          "watches": "regarde", "sleeps": "dort", "runs": "court", "sings": "chante",
          "here": "ici", "now": "maintenant", "often": "souvent"}


def translate(sentence: str) -> str:
    words, out, i = sentence.split(" "), [], 0
    while i < len(words):
        if words[i] in DETS:
            j = i + 1
            while words[j] in ADJS:
                j += 1
            noun, gender = NOUNS[words[j]].split()
            g = gender == "f"
            out += [DETS[words[i]].split()[g], noun] + [ADJS[a].split()[g] for a in reversed(words[i + 1:j])]
            i = j + 1
        else:
            out.append(OTHERS[words[i]])
            i += 1
    return " ".join(out)


def test_word_translator_reads_the_example():
    assert translate("the black cat sees a small dog") == "le chat noir voit un chien petit"
    assert translate("a big black cow sleeps here") == "une vache noire grande dort ici"


def test_word_pairs_follow_the_grammar():
    pairs = word_pairs(3000, seed=5)
    assert all(translate(s) == t for s, t in pairs)
    lengths = Counter(len(s.split(" ")) for s, _ in pairs)
    assert min(lengths) == 4 and max(lengths) == 9
    assert all(len(s.split(" ")) == len(t.split(" ")) for s, t in pairs)


def test_word_pairs_have_crossing_alignments():
    """English "adj noun" -> French "noun adj": the alignment lines cross."""
    crossing = 0
    for source, target in word_pairs(1000, seed=6):
        english, french = source.split(" "), target.split(" ")
        for i in range(len(english) - 1):
            if english[i] in ADJS and english[i + 1] in NOUNS:
                noun_at = french.index(NOUNS[english[i + 1]].split()[0])
                adj_at = max(k for k, w in enumerate(french) if w in ADJS[english[i]].split() and k > noun_at)
                assert noun_at < adj_at
                crossing += 1
    assert crossing > 300


def test_word_vocabularies_are_small():
    pairs = word_pairs(5000)
    src, tgt = Vocab.build((s for s, _ in pairs), "word"), Vocab.build((t for _, t in pairs), "word")
    assert len(src) - 4 == 28 and len(tgt) - 4 == 35
    assert all(tgt.decode(tgt.encode(t)) == t for _, t in pairs[:100])


# ---------------------------------------------------------------- read_pairs


def test_read_pairs_reads_the_book_dates():
    pairs = read_pairs(bench("date.tsv"))
    assert len(pairs) == 50_000
    assert pairs[0] == ("september 27, 1994", "1994-09-27")
    assert pairs[4] == ("TUESDAY, SEPTEMBER 25, 1984", "1984-09-25")
    assert read_pairs(str(bench("date.tsv"))) == pairs
    train, valid = split_pairs(pairs)  # the book's split: seed 1984, the last 10%
    assert (len(train), len(valid)) == (45_000, 5_000)


@pytest.mark.parametrize("content", [b"a\tb\nc d\te\n", b"a\tb\nc d\te", b"a\tb\r\nc d\te\r\n",
                                     b"a\tb\nc d\te\n\n\n", b"\xef\xbb\xbfa\tb\nc d\te\n"])
def test_read_pairs_accepts_endings_crlf_and_bom(tmp_path, content):
    path = tmp_path / "ok.tsv"
    path.write_bytes(content)
    assert read_pairs(path) == [("a", "b"), ("c d", "e")]


@pytest.mark.parametrize("content, line, words", [
    (b"", 1, "empty"),
    (b"a\tb\nno tab here\nc\td\n", 2, "exactly one tab"),
    (b"a\tb\nc\td\ne\tf\tg\n", 3, "exactly one tab"),
    (b"a\tb\n\tx\n", 2, "source is empty"),
    (b"a\tb\nc\td\nx\t\n", 3, "target is empty"),
    (b"a\tb\n\nc\td\n", 2, "exactly one tab"),  # only a final empty line is skipped
    (b"a\tb\nc\td\nOK \xe9t\xe9\t1\n", 3, "not UTF-8"),  # Latin-1, not UTF-8
])
def test_read_pairs_errors_name_file_and_line(tmp_path, content, line, words):
    path = tmp_path / "bad pairs.tsv"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        read_pairs(path)
    message = str(info.value)
    assert str(path) in message and f"line {line}:" in message and words in message, message


def test_read_pairs_missing_file(tmp_path):
    path = tmp_path / "nowhere.tsv"
    with pytest.raises(FileNotFoundError, match="nowhere.tsv"):
        read_pairs(path)


def test_read_pairs_refuses_folders_and_endless_or_huge_files(tmp_path, monkeypatch):
    with pytest.raises(IsADirectoryError, match="is a folder, not a file of source<TAB>target lines"):
        read_pairs(tmp_path)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike; got int"):
        read_pairs(3)
    monkeypatch.setattr(tasks_module, "MAX_PAIRS_BYTES", 1000)
    with pytest.raises(ValueError, match="zero: the file is larger than"):
        read_pairs("/dev/zero") if Path("/dev/zero").exists() else pytest.skip("no /dev/zero")


# ---------------------------------------------------------------- split_pairs


def test_split_pairs_holds_out_the_last_fraction():
    pairs = addition_pairs(1000)
    original = list(pairs)
    train, valid = split_pairs(pairs)
    assert pairs == original  # the input is not shuffled in place
    assert (len(train), len(valid)) == (900, 100)
    assert sorted(train + valid) == sorted(pairs)
    assert train + valid != pairs  # shuffled
    assert split_pairs(pairs) == (train, valid)
    assert split_pairs(pairs, seed=1) != (train, valid)
    assert split_pairs(pairs, 0.25)[1] != valid and len(split_pairs(pairs, 0.25)[1]) == 250


def test_split_pairs_keeps_one_on_each_side():
    assert [len(x) for x in split_pairs([("a", "b"), ("c", "d"), ("e", "f")])] == [2, 1]
    assert [len(x) for x in split_pairs([("a", "b"), ("c", "d")], 0.99)] == [1, 1]
    with pytest.raises(ValueError, match="at least 2"):
        split_pairs([("a", "b")])


@pytest.mark.parametrize("fraction, error", [(0, ValueError), (1, ValueError), (-0.1, ValueError),
                                             (1.5, ValueError), ("0.1", TypeError), (True, TypeError)])
def test_split_pairs_rejects_bad_fractions(fraction, error):
    with pytest.raises(error, match="valid_fraction"):
        split_pairs(addition_pairs(10), fraction)
