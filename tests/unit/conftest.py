"""Fixtures shared by the unit tests."""

import pytest

from attn_course.data import Vocab, encode_pairs
from attn_course.models import Seq2SeqConfig
from attn_course.tasks import addition_pairs, split_pairs


@pytest.fixture(scope="session")
def task():
    """A tiny attention model's config and the encoded train / valid additions it learns."""
    train_pairs, valid_pairs = split_pairs(addition_pairs(600, seed=5), valid_fraction=0.2)
    src = Vocab.build(s for s, _ in train_pairs)
    tgt = Vocab.build(t for _, t in train_pairs)
    return (Seq2SeqConfig(src, tgt, decoder="attention", embed_dim=8, hidden_dim=16),
            encode_pairs(train_pairs, src, tgt, True), encode_pairs(valid_pairs, src, tgt, True))
