"""Architecture diagrams: Figures with the example's tokens on them, never shown, arguments validated."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from attn_course.diagrams import KINDS, plot_seq2seq_diagram, plot_teacher_forcing


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


@pytest.mark.parametrize("kind", KINDS)
def test_seq2seq_diagram_shows_the_example(kind):
    fig = plot_seq2seq_diagram(kind)
    assert isinstance(fig, Figure)
    words = texts(fig)
    for token in ["1", "6", "+", "7", "5", "<s>", "9", "</s>", "(h, c)", "encoder", "decoder", "LSTM", "Linear"]:
        assert token in words, f"{kind}: {token!r} is not on the diagram"
    assert words.count("LSTM") == 5 + 3                      # one cell per source character and per decoder step
    assert words.count("9") == 2 and words.count("</s>") == 1  # "9" is written by step 1 and read by step 2
    assert any(kind.capitalize() in w for w in words)          # the title names the model
    assert ("attend" in words) == (kind == "attention")
    assert (kind == "attention") == any("h_{1}" in w for w in words)
    plt.close(fig)


def test_peeky_draws_h_into_every_step():
    vanilla, peeky = plot_seq2seq_diagram("vanilla"), plot_seq2seq_diagram("peeky")
    assert "h" in texts(peeky) and "h" not in texts(vanilla)
    # Two more arrows per decoder step (into the LSTM and into the Linear layer).
    assert len(peeky.axes[0].patches) - len(vanilla.axes[0].patches) == 2 * 3
    plt.close("all")


def test_diagram_grows_with_the_example():
    short, long = plot_seq2seq_diagram("vanilla", "1+2", "3"), plot_seq2seq_diagram("vanilla", "123+456", "579")
    assert long.get_size_inches()[0] > short.get_size_inches()[0]
    assert texts(long).count("LSTM") == 7 + 4
    plt.close("all")


def test_teacher_forcing_contrasts_true_and_own_inputs():
    fig = plot_teacher_forcing("91", predicted="81")
    assert isinstance(fig, Figure)
    words = texts(fig)
    assert "Training: teacher forcing" in words and "Test: greedy decoding" in words
    assert words.count("<s>") == 2 and words.count("</s>") == 3   # written by both panels, and the target
    # Training reads the true 9 after <s>; at test time the model reads its own 8.
    assert words.count("8") == 3 and words.count("9") == 2
    assert len(fig.axes) == 1
    plt.close(fig)


def test_defaults_read_the_target_in_both_panels():
    words = texts(plot_teacher_forcing())
    assert words.count("9") == 5 and "8" not in words       # target row, 2 writes, 2 reads
    plt.close("all")


@pytest.mark.parametrize("call, error, message", [
    (lambda: plot_seq2seq_diagram("transformer"), ValueError, "kind must be one of"),
    (lambda: plot_seq2seq_diagram(None), ValueError, "kind must be one of"),
    (lambda: plot_seq2seq_diagram("vanilla", source=""), ValueError, "source must hold 1 to"),
    (lambda: plot_seq2seq_diagram("vanilla", source="1" * 11), ValueError, "source must hold 1 to 10"),
    (lambda: plot_seq2seq_diagram("vanilla", source=1675), TypeError, "source must be a str; got int"),
    (lambda: plot_seq2seq_diagram("peeky", target=["9", "1"]), TypeError, "target must be a str; got list"),
    (lambda: plot_teacher_forcing(""), ValueError, "target must hold"),
    (lambda: plot_teacher_forcing(91), TypeError, "target must be a str"),
    (lambda: plot_teacher_forcing("91", predicted="8"), ValueError, "as many characters as target"),
    (lambda: plot_teacher_forcing("91", predicted=81), TypeError, "predicted must be a str"),
])
def test_bad_arguments_are_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()
    plt.close("all")
