"""attn_course.check.peeky: the peeky decoding check's cases, the course's reverse_source, the
prediction's reading of the four accuracies, and the given bug as chapter 3 hands it out. The generic
tests of every exercise are in tests/unit/test_exercises.py."""

from __future__ import annotations

import pytest
import torch

from attn_course import check
from attn_course.check import encoder_decoder as ed
from attn_course.check import peeky
from attn_course.check._verdicts import Problem
from attn_course.data import SOS_ID, encode_pairs, reverse_source
from support.checks import chapter_function as run_chapter_function
from support.checks import one_line as _line
from support.paths import ROOT

CHAPTER = ROOT / "chapters" / "03_peeky_encoder_decoder.ipynb"



def chapter_function(name: str, namespace: dict) -> object:
    return run_chapter_function(CHAPTER, name, namespace)


def test_the_given_peeky_decode_of_the_chapter_is_not_attempted_yet(capsys):
    given = chapter_function("peeky_decode", {"torch": torch, "SOS_ID": SOS_ID})
    assert check.peeky_decode(given) is False
    assert _line(capsys).startswith("✏️ peeky_decode: not attempted yet")


def test_the_reverse_source_stub_of_the_chapter_is_not_attempted_yet(capsys):
    assert check.reverse_source(chapter_function("reverse_source", {})) is False
    assert _line(capsys).startswith("✏️ reverse_source: not attempted yet")


def test_the_given_bug_is_right_at_the_first_step_only():
    # What the exercise teaches: the decoder's own h is the encoder's at the first step, not later. The
    # trained toy model hardly needs its peek; the untrained ones, whose answers depend on it, show the bug.
    trained, *untrained = peeky._peeky_decode_cases()
    model, src, lengths, _ = trained.args
    assert torch.equal(peeky.peeky_decode_given(model, src, lengths, 1),
                       peeky._peeky_decode_solution(model, src, lengths, 1))
    for case in untrained:
        assert not torch.equal(ed.up_to_eos(ed.any_width(peeky.peeky_decode_given(*case.args), case)),
                               ed.up_to_eos(case.expected))


@pytest.mark.parametrize("reverse", [True, False])
def test_the_course_reverse_source_is_what_encode_pairs_makes(reverse):
    pairs = ed.TOY_PAIRS + ed.UNSEEN
    as_written = encode_pairs(pairs, ed.TOY_SRC, ed.TOY_TGT)
    backwards = encode_pairs(pairs, ed.TOY_SRC, ed.TOY_TGT, reverse_source=True)
    lengths = as_written.src_lengths.to(torch.int32) if reverse else as_written.src_lengths
    assert torch.equal(reverse_source(as_written.src, lengths), backwards.src)
    assert torch.equal(reverse_source(backwards.src, backwards.src_lengths), as_written.src)


@pytest.mark.parametrize("src, lengths, error, match", [
    ([[1, 2]], torch.tensor([2]), TypeError, r"src must be a \(B, S\) tensor"),
    (torch.ones(2, dtype=torch.long), torch.tensor([1, 1]), TypeError, r"got shape \(2,\)"),
    (torch.ones(2, 3, dtype=torch.long), torch.tensor([1, 4]), ValueError, r"lengths must lie in \[1, S=3\]"),
    (torch.ones(2, 3, dtype=torch.long), torch.tensor([1]), ValueError, r"lengths must be \(B,\) with B=2"),
])
def test_the_course_reverse_source_names_a_wrong_argument(src, lengths, error, match):
    with pytest.raises(error, match=match):
        reverse_source(src, lengths)


@pytest.mark.parametrize("acc, choice", [
    ({"vanilla": 0.14, "peeky": 0.72, "vanilla reversed": 0.75, "peeky reversed": 0.87}, "vanilla"),
    ({"vanilla": 0.14, "peeky": 0.5, "vanilla reversed": 0.2, "peeky reversed": 0.7}, "peeky"),
    ({"vanilla": 0.1, "peeky": 0.5, "vanilla reversed": 0.3, "peeky reversed": 0.71}, "same"),
])
def test_reversal_gain_compares_the_two_gains(acc, choice):
    outcome = peeky._gains(acc)
    assert outcome.choice == choice
    assert f"from {acc['vanilla']:.0%} to {acc['vanilla reversed']:.0%}" in outcome.evidence


@pytest.mark.parametrize("shown", [None, [0.1, 0.2, 0.3, 0.4], {"vanilla": 0.1, "peeky": 0.5},
                                   {"vanilla": 0.1, "peeky": 0.5, "vanilla reversed": 0.3, "peeky reversed": 71}])
def test_reversal_gain_refuses_what_the_experiment_did_not_compute(shown):
    with pytest.raises(Problem, match="pass acc, the dict the experiment cell computed"):
        peeky._gains(shown)
