"""attn_course.evaluation: evaluate, predict and the accuracy breakdowns, against hand-counted cases."""

import pytest
import torch

from attn_course.evaluation import accuracy_by, evaluate, exact_match, position_accuracy
from attn_course.train import build_model


def test_evaluate_counts_exact_and_character_matches(task):
    config, _, valid = task
    model = build_model(config)
    with torch.no_grad():                                   # a model that always says EOS at once
        model.decoder.out.bias.fill_(-10.0)
        model.decoder.out.bias[2] = 10.0
    metrics = evaluate(model, valid)
    # Every target starts with a digit, so "EOS at once" gets no output and no position right.
    assert metrics == type(metrics)(exact_match=0.0, char_accuracy=0.0)


PAIRS = [("1+1", "2"), ("2+2", "4"), ("10+5", "15"), ("50+50", "100"), ("9+9", "18")]


def test_exact_match_counts_whole_strings():
    assert exact_match(["2", "5", "15", "100", "81"], [t for _, t in PAIRS]) == 3 / 5
    with pytest.raises(ValueError, match="two lists of one length"):
        exact_match(["2"], ["2", "4"])


def test_accuracy_by_groups_pairs_and_drops_small_groups():
    outputs = ["2", "5", "15", "100", "81"]
    answer_length = lambda source, target: len(target)          # noqa: E731
    assert accuracy_by(answer_length, PAIRS, outputs, min_size=1) == ([1, 2, 3], [0.5, 0.5, 1.0])
    assert accuracy_by(answer_length, PAIRS, outputs, min_size=2) == ([1, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="one output per pair"):
        accuracy_by(answer_length, PAIRS, outputs[:2])


def test_position_accuracy_counts_each_position_of_same_length_answers():
    targets, outputs = ["123", "456", "789", "12"], ["124", "456", "719", "1"]
    assert position_accuracy(targets, outputs, 3) == [1.0, 2 / 3, 2 / 3]   # "12" vs "1" is left out
    with pytest.raises(ValueError, match="no target and output both have length=4"):
        position_accuracy(targets, outputs, 4)
