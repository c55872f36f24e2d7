"""attn_course.data: vocabularies, toy tasks, reading and splitting pairs, padded batches.

The book's data (/work/shared/benchmarks/dlfs2) is an external reference only:
tests that need it are skipped when it is missing.
"""

import copy
import dataclasses
import json
import pickle
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_course import tasks as tasks_module
from attn_course.data import (
    EOS,
    EOS_ID,
    PAD,
    PAD_ID,
    SOS,
    SOS_ID,
    UNK,
    UNK_ID,
    Encoded,
    Vocab,
    batches,
    encode_pairs,
)
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


# ---------------------------------------------------------------- Vocab


def test_vocab_build_sorts_after_the_specials():
    vocab = Vocab.build(["ba", "ac"])
    assert vocab.tokens == (PAD, SOS, EOS, UNK, "a", "b", "c") and len(vocab) == 7
    assert (vocab.tokens.index(PAD), vocab.tokens.index(SOS), vocab.tokens.index(EOS), vocab.tokens.index(UNK)) \
        == (PAD_ID, SOS_ID, EOS_ID, UNK_ID)
    assert Vocab.build(["ac", "ba"]) == vocab and hash(Vocab.build(iter(["ac", "ba"]))) == hash(vocab)
    assert Vocab.build(["the cat", "a  cat"], level="word").tokens[4:] == ("a", "cat", "the")


def test_vocab_round_trip_unknowns_and_eos():
    vocab = Vocab.build(["16+75", "1994-09-27"])
    assert vocab.decode(vocab.encode("57+61")) == "57+61"
    assert vocab.encode("9x") == [vocab.tokens.index("9"), UNK_ID]
    assert vocab.decode(vocab.encode("9x")) == "9?"
    ids = vocab.encode("12")
    assert vocab.decode([SOS_ID, *ids, EOS_ID, *ids, PAD_ID]) == "12"
    assert vocab.decode([PAD_ID, *ids, PAD_ID]) == "12"
    assert vocab.decode(torch.tensor([SOS_ID, *ids, EOS_ID])) == "12"
    assert vocab.encode("") == [] and vocab.decode([]) == ""


def test_word_vocab_round_trip_and_specials_as_text():
    vocab = Vocab.build(["le chat noir", "un chien"], level="word")
    assert vocab.tokenize("le chat noir") == ["le", "chat", "noir"]
    assert vocab.decode(vocab.encode("un chat noir")) == "un chat noir"
    assert vocab.decode(vocab.encode("un zebre")) == "un <unk>"
    assert vocab.encode("<s> </s> <pad> chat") == [UNK_ID, UNK_ID, UNK_ID, vocab.tokens.index("chat")]


def test_vocab_pickles_and_nests_in_dataclasses():
    vocab = Vocab.build(["16+75"])
    assert pickle.loads(pickle.dumps(vocab)) == vocab and copy.deepcopy(vocab).encode("61") == vocab.encode("61")
    assert dataclasses.asdict(vocab) == {"tokens": vocab.tokens, "level": "char"}  # the lookup dict is no field


def test_vocab_to_dict_from_dict_through_json():
    for vocab in (Vocab.build(["héllo, wörld"]), Vocab.build(["le chat"], level="word")):
        again = Vocab.from_dict(json.loads(json.dumps(vocab.to_dict())))
        assert again == vocab and again.encode("le chat") == vocab.encode("le chat")


def test_vocab_validation():
    with pytest.raises(ValueError, match="level must be 'char' or 'word'"):
        Vocab.build(["a"], level="byte")
    with pytest.raises(TypeError, match="texts must be an iterable of str"):
        Vocab.build("abc")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
        Vocab.build(["a", 3])
    with pytest.raises(ValueError, match="must start with the specials"):
        Vocab(("a", "b"))
    with pytest.raises(ValueError, match="unique"):
        Vocab((PAD, SOS, EOS, UNK, "a", "a"))
    with pytest.raises(ValueError, match="one character"):
        Vocab((PAD, SOS, EOS, UNK, "ab"))
    with pytest.raises(ValueError, match="without spaces"):
        Vocab((PAD, SOS, EOS, UNK, "a b"), level="word")
    with pytest.raises(ValueError, match=r"ids must lie in \[0, V=5\)"):
        Vocab.build(["a"]).decode([4, 5])
    with pytest.raises(ValueError, match="keys 'tokens' and 'level'"):
        Vocab.from_dict({"tokens": []})
    with pytest.raises(TypeError, match="text must be a str"):
        Vocab.build(["a"]).encode(5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=5), st.text(max_size=12))
def test_char_vocab_round_trips(texts, text):
    vocab = Vocab.build([*texts, text])
    assert vocab.decode(vocab.encode(text)) == text
    assert all(i >= 4 for i in vocab.encode(text))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcxyz-'é", min_size=1, max_size=5), max_size=6))
def test_word_vocab_round_trips(words):
    text = " ".join(words)
    vocab = Vocab.build([text], level="word")
    assert vocab.decode(vocab.encode(text)) == text


# ---------------------------------------------------------------- encode_pairs


def test_encode_pairs_hand_case():
    pairs = [("16+75", "91"), ("5+3", "8")]
    src, tgt = Vocab.build(s for s, _ in pairs), Vocab.build(t for _, t in pairs)
    s = {c: src.tokens.index(c) for c in "13567+"}
    t = {c: tgt.tokens.index(c) for c in "189"}
    data = encode_pairs(pairs, src, tgt)
    assert data.src.tolist() == [[s["1"], s["6"], s["+"], s["7"], s["5"]], [s["5"], s["+"], s["3"], PAD_ID, PAD_ID]]
    assert data.src_lengths.tolist() == [5, 3]
    assert data.tgt_in.tolist() == [[SOS_ID, t["9"], t["1"]], [SOS_ID, t["8"], PAD_ID]]
    assert data.tgt_out.tolist() == [[t["9"], t["1"], EOS_ID], [t["8"], EOS_ID, PAD_ID]]
    assert data.tgt_lengths.tolist() == [3, 2]
    assert len(data) == 2 and all(x.dtype == torch.long for x in vars(data).values())

    reverse = encode_pairs(pairs, src, tgt, reverse_source=True)
    assert reverse.src.tolist() == [[s["5"], s["7"], s["+"], s["6"], s["1"]], [s["3"], s["+"], s["5"], PAD_ID, PAD_ID]]
    assert src.decode(reverse.src[0]) == "57+61"
    assert torch.equal(reverse.tgt_out, data.tgt_out) and torch.equal(reverse.src_lengths, data.src_lengths)


def test_encode_pairs_unknowns_and_word_level():
    pairs = [("the black cat sleeps here", "le chat noir dort ici")]
    src, tgt = Vocab.build((s for s, _ in pairs), "word"), Vocab.build((t for _, t in pairs), "word")
    data = encode_pairs([("the red cat sleeps", "le chat rouge dort")], src, tgt, reverse_source=True)
    assert src.decode(data.src[0]) == "sleeps cat <unk> the"
    assert tgt.decode(data.tgt_out[0]) == "le chat <unk> dort"


def test_encode_pairs_validation():
    vocab = Vocab.build(["ab"])
    with pytest.raises(ValueError, match="at least one"):
        encode_pairs([], vocab, vocab)
    with pytest.raises(TypeError, match=r"pairs\[1\] must be a \(source, target\) pair of str"):
        encode_pairs([("a", "b"), ("a",)], vocab, vocab)
    with pytest.raises(TypeError, match="pairs must be a list"):
        encode_pairs("ab", vocab, vocab)
    with pytest.raises(ValueError, match=r"pairs\[1\] has an empty source"):
        encode_pairs([("a", "b"), ("", "b")], vocab, vocab)
    with pytest.raises(TypeError, match="tgt_vocab must be a Vocab"):
        encode_pairs([("a", "b")], vocab, {"a": 4})
    with pytest.raises(TypeError, match="reverse_source must be True or False"):
        encode_pairs([("a", "b")], vocab, vocab, reverse_source="yes")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text("12+ ab", min_size=1, max_size=8), st.text("xyz9-", max_size=6)),
                min_size=1, max_size=8),
       st.booleans())
def test_encode_pairs_property(pairs, reverse):
    src, tgt = Vocab.build(s for s, _ in pairs), Vocab.build(t for _, t in pairs)
    data = encode_pairs(pairs, src, tgt, reverse_source=reverse)
    N, S = data.src.shape
    assert N == len(pairs) and S == max(len(s) for s, _ in pairs)
    assert data.tgt_in.shape == data.tgt_out.shape == (N, max(len(t) for _, t in pairs) + 1)
    for i, (s, t) in enumerate(pairs):
        n_src, n_tgt = int(data.src_lengths[i]), int(data.tgt_lengths[i]) - 1
        assert (n_src, n_tgt) == (len(s), len(t))
        assert src.decode(data.src[i]) == (s[::-1] if reverse else s)
        assert (data.src[i, n_src:] == PAD_ID).all() and (data.src[i, :n_src] >= 4).all()
        assert tgt.decode(data.tgt_out[i]) == t and tgt.decode(data.tgt_in[i]) == t
        assert data.tgt_in[i, 0] == SOS_ID and data.tgt_out[i, n_tgt] == EOS_ID
        assert torch.equal(data.tgt_in[i, 1:n_tgt + 1], data.tgt_out[i, :n_tgt])
        assert (data.tgt_in[i, n_tgt + 1:] == PAD_ID).all() and (data.tgt_out[i, n_tgt + 1:] == PAD_ID).all()


# ---------------------------------------------------------------- batching


@pytest.fixture(scope="module")
def additions():
    pairs = addition_pairs(1003, seed=4)  # unique sources: a batch row says which pair it is
    src, tgt = Vocab.build(s for s, _ in pairs), Vocab.build(t for _, t in pairs)
    return pairs, src, tgt, encode_pairs(pairs, src, tgt, reverse_source=True)


def test_batch_is_trimmed_rows(additions):
    pairs, src, tgt, data = additions
    short = [i for i, (s, t) in enumerate(pairs) if len(s) <= 3 and len(t) <= 2][:5]
    batch = data.batch(torch.tensor(short))
    assert isinstance(batch, Encoded) and len(batch) == len(short)
    assert batch.src.shape[1] == int(batch.src_lengths.max()) < data.src.shape[1]
    assert batch.tgt_in.shape[1] == batch.tgt_out.shape[1] == int(batch.tgt_lengths.max()) < data.tgt_in.shape[1]
    assert torch.equal(batch.src, data.src[short, :batch.src.shape[1]])
    assert (data.src[short, batch.src.shape[1]:] == PAD_ID).all()  # only padding was cut
    assert (data.tgt_out[short, batch.tgt_out.shape[1]:] == PAD_ID).all()
    assert [src.decode(row)[::-1] for row in batch.src] == [pairs[i][0] for i in short]
    assert data.batch([0, 1]).src.shape[0] == 2
    with pytest.raises(ValueError, match="index must be a non-empty 1-D integer tensor"):
        data.batch(torch.tensor([], dtype=torch.long))


def test_batches_cover_every_row_once(additions):
    pairs, src, tgt, data = additions
    seen, sizes = [], []
    for batch in batches(data, 100, seed=3):
        sizes.append(len(batch))
        assert batch.src.shape[1] == int(batch.src_lengths.max())
        assert batch.tgt_out.shape[1] == int(batch.tgt_lengths.max())
        seen += [(src.decode(s)[::-1], tgt.decode(t)) for s, t in zip(batch.src, batch.tgt_out)]
    assert sizes == [100] * 10 + [3]  # the last, smaller batch is kept
    assert sorted(seen) == sorted(pairs)
    assert seen != pairs  # shuffled


def test_batches_order(additions):
    pairs, src, tgt, data = additions
    first = lambda **kw: next(iter(batches(data, 7, **kw))).src  # noqa: E731
    assert torch.equal(first(seed=1), first(seed=1))
    assert not torch.equal(first(seed=1), first(seed=2))
    in_order = [src.decode(s)[::-1] for b in batches(data, 400, shuffle=False) for s in b.src]
    assert in_order == [s for s, _ in pairs]


def test_batches_validate_eagerly(additions):
    data = additions[3]
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        batches(data, 0)  # raised at the call, not at the first next()
    with pytest.raises(TypeError, match="batch_size must be an int"):
        batches(data, 2.0)
    with pytest.raises(TypeError, match="data must be an Encoded"):
        batches([("a", "b")], 2)
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        batches(data, 2, shuffle=None)
    with pytest.raises(ValueError, match="seed must be an int in \[.*, 18446744073709551615\]"):
        batches(data, 2, seed=2**64)                  # torch.Generator.manual_seed's range
    with pytest.raises(ValueError, match="seed must be an int in \\[-9223372036854775808, "):
        batches(data, 2, seed=-2**63 - 1)
    assert len(list(batches(data, 2, seed=2**64 - 1))) == len(list(batches(data, 2, seed=0)))


def test_encoded_validates_its_tensors():
    ok = torch.zeros(2, 3, dtype=torch.long)
    lengths = torch.ones(2, dtype=torch.long)
    Encoded(ok, lengths, ok, ok, lengths)
    with pytest.raises(TypeError, match="src must be a 2-D torch.long tensor"):
        Encoded(ok.float(), lengths, ok, ok, lengths)
    with pytest.raises(ValueError, match="must agree"):
        Encoded(ok, lengths, ok, ok[:, :2], lengths)


# ---------------------------------------------------------------- size


def test_fifty_thousand_pairs_encode_and_batch_completely():
    # Their speed is a benchmark (scripts/bench_seq2seq.py trains on 50,000 pairs), not a test.
    pairs = date_pairs(50_000)
    src, tgt = Vocab.build(s for s, _ in pairs), Vocab.build(t for _, t in pairs)
    data = encode_pairs(pairs, src, tgt, reverse_source=True)
    assert sum(len(batch) for batch in batches(data, 128)) == 50_000
