"""attn_course.check.encoder_decoder: the toy models the decoding checks run, what they compare, the
prediction's reading of the experiment, and the given bug as chapter 2 hands it out. The generic tests
of every exercise are in tests/unit/test_exercises.py."""

from __future__ import annotations

import pytest
import torch

from attn_course import check
from attn_course.check import encoder_decoder as ed
from attn_course.check._verdicts import Problem
from attn_course.data import EOS_ID, PAD_ID, SOS_ID, encode_pairs
from attn_course.evaluation import greedy_decode
from support.checks import chapter_function as run_chapter_function
from support.checks import one_line as _line
from support.paths import ROOT

CHAPTER = ROOT / "chapters" / "02_vanilla_encoder_decoder.ipynb"



def chapter_function(name: str, namespace: dict) -> object:
    return run_chapter_function(CHAPTER, name, namespace)


@pytest.mark.parametrize("decoder", ["vanilla", "peeky"])
def test_the_toy_models_write_every_toy_answer_with_ends_at_different_steps(decoder):
    model = ed.toy_model(decoder)
    data = encode_pairs(ed.TOY_PAIRS, ed.TOY_SRC, ed.TOY_TGT)
    tokens, _ = model.greedy_decode(data.src, data.src_lengths, max_len=8)
    assert [ed.TOY_TGT.decode(row) for row in tokens] == [t for _, t in ed.TOY_PAIRS]
    ends = {row.index(EOS_ID) for row in tokens.tolist()}
    assert len(ends) >= 3                      # rows finish at different steps: early stopping matters
    assert ed.toy_model(decoder) is not model  # a fresh copy for every case
    torch.testing.assert_close(ed.toy_model(decoder).decoder.out.weight, model.decoder.out.weight)


def test_up_to_eos_ignores_what_follows_each_rows_first_eos():
    tokens = torch.tensor([[5, EOS_ID, 7, EOS_ID], [5, 6, 7, 8], [EOS_ID, 9, 9, 9]])
    assert ed.up_to_eos(tokens).tolist() == [[5, EOS_ID, PAD_ID, PAD_ID], [5, 6, 7, 8], [EOS_ID, 0, 0, 0]]


def test_greedy_decode_accepts_any_tokens_after_eos_and_early_stopping(capsys):
    def keeps_going(model, src, src_lengths, max_len):      # never stops; writes 9s after </s>
        tokens = greedy_decode(model, src, src_lengths, max_len)
        tokens = torch.nn.functional.pad(tokens, (0, max_len - tokens.shape[1]), value=PAD_ID)
        return tokens.masked_fill(ed.up_to_eos(tokens) != tokens, 9)

    assert check.greedy_decode(keeps_going) is True
    assert check.greedy_decode(greedy_decode) is True
    capsys.readouterr()


def test_greedy_decode_names_a_decoder_that_never_writes_a_token_twice(capsys):
    def always_sos_row(model, src, src_lengths, max_len):
        return torch.full((src.shape[0], max_len), SOS_ID + 10)
    assert check.greedy_decode(always_sos_row) is False
    assert "Every step chose the same token" in _line(capsys)


def test_the_given_teacher_forcing_input_of_the_chapter_is_not_attempted_yet(capsys):
    given = chapter_function("teacher_forcing_input", {"torch": torch, "EOS_ID": EOS_ID, "PAD_ID": PAD_ID,
                                                        "SOS_ID": SOS_ID})
    assert check.teacher_forcing_input(given) is False
    assert _line(capsys).startswith("✏️ teacher_forcing_input: not attempted yet")


def test_the_greedy_decode_stub_of_the_chapter_is_not_attempted_yet(capsys):
    stub = chapter_function("greedy_decode", {"torch": torch})
    assert check.greedy_decode(stub) is False
    assert _line(capsys).startswith("✏️ greedy_decode: not attempted yet")


@pytest.mark.parametrize("acc, choice, words", [
    ([0.45, 0.3, 0.15, 0.05], "fall", "falls, from 45% with 3 digits to 5% with 6"),
    ([0.1, 0.2, 0.3, 0.4], "rise", "rises, from 10% with 3 digits to 40% with 6"),
    ([0.3, 0.2, 0.4, 0.33], "flat", "stays about level"),
])
def test_longer_operands_reads_the_trend_from_the_first_to_the_last_group(acc, choice, words):
    outcome = ed._trend(([3, 4, 5, 6], acc))
    assert outcome.choice == choice and words in outcome.evidence


@pytest.mark.parametrize("shown", [None, 0.5, ([3], [0.5]), ([3, 4], [0.5]), ([3, 4], [0.5, 50.0]),
                                   ([3, 4], ["a", "b"]), "fall", {"digits": [3, 4]}])
def test_longer_operands_refuses_what_the_experiment_did_not_compute(shown):
    with pytest.raises(Problem, match=r"pass what the experiment cell computed, \(digits, acc_by_digits\)"):
        ed._trend(shown)


def test_the_course_greedy_decode_is_the_tokens_of_the_model_s(capsys):
    model = ed.toy_model("peeky")
    data = encode_pairs(ed.TOY_PAIRS, ed.TOY_SRC, ed.TOY_TGT)
    assert torch.equal(greedy_decode(model, data.src, data.src_lengths, 4),
                       model.greedy_decode(data.src, data.src_lengths, max_len=4)[0])
    with pytest.raises(TypeError, match="model must be a Seq2Seq"):
        greedy_decode("model", data.src, data.src_lengths, 4)
