"""attn_course.data: vocabularies, encoding pairs as padded tensors, batches."""

import copy
import dataclasses
import json
import pickle

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

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
from attn_course.tasks import addition_pairs, date_pairs

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
    with pytest.raises(ValueError, match=r"seed must be an int in \[.*, 18446744073709551615\]"):
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
