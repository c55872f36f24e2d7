"""Chapter 4's checks beyond the generic tests (tests/unit/test_exercises.py): how the prediction reads the
weights it is shown, that the chapter hands out the bug the catalogue knows, and the cases' design choices."""

import json

import pytest
import torch

from attn_course import check
from attn_course.attention import dot_product_attention
from attn_course.check import attention_decoder as ad
from attn_course.check._verdicts import FAIL, Problem
from support.checks import one_line as _line
from support.paths import ROOT

CHAPTER = ROOT / "chapters" / "04_attention_encoder_decoder.ipynb"



# --- alignment_as_read: what observe reads -----------------------------------------------------

def test_the_anti_diagonal_is_read_from_the_weights_as_shown():
    weights = ad._anti_diagonal_example()                                # (T, S) = (11, 10)
    outcome = ad._diagonal(weights)
    assert outcome.choice == "anti-diagonal"
    assert "position 9 of 0..9" in outcome.evidence and "step 10 at position 0" in outcome.evidence
    assert ad._diagonal(weights[None]).choice == "anti-diagonal"          # (1, T, S), as greedy_decode gives
    assert ad._diagonal(weights.requires_grad_()).choice == "anti-diagonal"


def test_weights_in_the_written_order_show_the_main_diagonal():
    assert ad._diagonal(ad._anti_diagonal_example().flip(-1)).choice == "diagonal"


def test_weights_that_look_at_one_place_follow_neither_diagonal():
    weights = torch.full((5, 4), 0.1).index_fill(1, torch.tensor([2]), 0.7)   # every step looks at position 2
    outcome = ad._diagonal(weights)
    assert outcome.choice == "neither" and "neither diagonal" in outcome.evidence


@pytest.mark.parametrize("shown", [
    None, [[0.5, 0.5], [0.5, 0.5]], "as_read", torch.ones(4) / 4, torch.ones(1, 4) / 4,
    torch.ones(3, 4, dtype=torch.long), torch.ones(2, 3, 4) / 4, torch.ones(3, 4),
    torch.tensor([[1.5, -0.5], [0.5, 0.5]]), torch.tensor([[float("nan"), 1.0], [0.5, 0.5]]),
])
def test_anything_but_attention_weights_is_refused_in_one_line(shown):
    with pytest.raises(Problem, match=r"^pass the weights \(T, S\) the experiment computed, as_read"):
        ad._diagonal(shown)


def test_the_check_never_judges_a_prediction_on_what_is_not_the_experiment(capsys):
    assert check.alignment_as_read("anti-diagonal", "the year is read last", torch.ones(3, 4)) is False
    assert _line(capsys).startswith(f"{FAIL} alignment_as_read: pass the weights (T, S)")


# --- masked_context: the chapter hands out the bug the catalogue knows -------------------------

def _chapter_cell(defines: str) -> str:
    cells = json.loads(CHAPTER.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    found = [s for s in sources if s.lstrip().startswith(f"def {defines}(")]
    assert len(found) == 1, f"one cell of chapter 4 defines {defines}; found {len(found)}"
    return found[0]


def test_the_chapter_hands_out_the_catalogued_bug(capsys):
    namespace = {"torch": torch}
    exec(_chapter_cell("masked_context"), namespace)
    given = namespace["masked_context"]
    g = torch.Generator().manual_seed(0)
    state, enc = torch.randn(3, 4, generator=g), torch.randn(3, 5, 4, generator=g)
    mask = torch.arange(5)[None, :] < torch.tensor([5, 2, 3])[:, None]
    torch.testing.assert_close(given(state, enc, mask), ad.masked_context_given(state, enc, mask), rtol=0, atol=0)
    assert check.masked_context(given) is False
    assert "not attempted yet" in _line(capsys)


def test_the_chapters_build_stub_is_not_attempted_yet(capsys):
    namespace = {"torch": torch}
    exec(_chapter_cell("decoder_attention_weights"), namespace)
    assert check.decoder_attention_weights(namespace["decoder_attention_weights"]) is False
    assert "not attempted yet" in _line(capsys)


# --- decoder_attention_weights: the cases' design -----------------------------------------------

def test_a_mask_passed_without_its_l_axis_is_named_even_through_the_package(capsys):
    """The first case has B == L, so a (B, S) mask broadcasts (wrongly) instead of raising."""
    def package_without_l_axis(queries, enc_states, mask):
        return dot_product_attention(queries, enc_states, enc_states, mask)[1]
    assert check.decoder_attention_weights(package_without_l_axis) is False
    assert "give it an L axis" in _line(capsys)


def test_padding_holds_numbers_so_that_a_zero_score_is_not_a_mask():
    for case in ad._weights_cases() + ad._context_cases():
        enc, mask = case.args[1], case.args[2]
        assert (~mask).any() and torch.all(enc[~mask] != 0)
