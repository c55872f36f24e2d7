"""Plots return Figures, never show them, and refuse inputs that do not match their labels."""

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from attn_course.plots import plot_attention_arrows, plot_attention_heatmap, plot_softmax_saturation

TOKENS = ["the", "cats", "walk"]


def test_arrows_and_heatmap_return_figures():
    w = torch.softmax(torch.randn(3, 3), dim=-1)
    for fig in (plot_attention_arrows(TOKENS, w[1], query=1), plot_attention_heatmap(w, TOKENS, TOKENS)):
        assert isinstance(fig, Figure)
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert f"{w[1, 0]:.2f}" in texts                       # the weights are written on the figure
        plt.close(fig)


def test_saturation_plot_has_both_curves():
    fig = plot_softmax_saturation([2, 4], [0.3, 0.5], [0.2, 0.2], num_keys=8)
    assert len(fig.axes[0].lines) == 3
    plt.close(fig)


@pytest.mark.parametrize("call, message", [
    (lambda: plot_attention_arrows(TOKENS, torch.ones(4) / 4, 0), "S=3"),
    (lambda: plot_attention_arrows(TOKENS, torch.ones(3) / 3, 5), "query"),
    (lambda: plot_attention_heatmap(torch.ones(3), TOKENS, TOKENS), "2-D"),
    (lambda: plot_attention_heatmap(torch.ones(3, 2), TOKENS, TOKENS), r"\(3, 3\)"),
    (lambda: plot_softmax_saturation([1, 2], [0.1], [0.1, 0.2], 4), "one entry each"),
])
def test_mismatched_inputs_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
