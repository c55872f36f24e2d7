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


# --- the three attention layers -----------------------------------------------------------

from attn_course.plots import (  # noqa: E402
    plot_head_heatmaps, plot_masks, plot_scaling_effects, plot_score_landscapes,
)


def test_score_landscapes_one_panel_per_score():
    xs = ys = torch.linspace(-2, 2, 9)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)          # (ny, nx, 2)
    key = torch.tensor([[1.0, 0.5]])
    fig = plot_score_landscapes(xs, ys, {"dot": grid @ key[0], "additive": torch.tanh(grid + key[0]).sum(-1)},
                                key, ["k"])
    assert [ax.get_title() for ax in fig.axes[:2]] == ["dot", "additive"]
    assert any(t.get_text() == "k" for t in fig.axes[0].texts)
    plt.close(fig)


def test_scaling_effects_has_two_panels_and_the_sqrt_d_guide():
    fig = plot_scaling_effects([2, 4, 8], [1.4, 2, 2.8], [1, 1, 1], [0.5, 0.4, 0.3], [0.5, 0.5, 0.5])
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 3 and len(fig.axes[1].lines) == 2
    plt.close(fig)


def test_head_heatmaps_write_each_heads_weights():
    w = torch.softmax(torch.randn(2, 3, 3), dim=-1)
    fig = plot_head_heatmaps(w, TOKENS, TOKENS, ["who", "where"])
    assert [ax.get_title() for ax in fig.axes[:2]] == ["who", "where"]
    assert f"{w[1, 2, 0]:.2f}" in [t.get_text() for t in fig.axes[1].texts]
    plt.close(fig)


def test_masks_mark_allowed_cells():
    m = torch.ones(3, 3, dtype=torch.bool).tril()
    fig = plot_masks({"causal": m}, TOKENS, TOKENS)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("✓") == 6 and texts.count("·") == 3
    plt.close(fig)


@pytest.mark.parametrize("call, message", [
    (lambda: plot_score_landscapes([0, 1], [0, 1], {"dot": torch.ones(2, 2)}, torch.ones(3)), r"\(S, 2\)"),
    (lambda: plot_score_landscapes([0, 1], [0, 1, 2], {"dot": torch.ones(2, 2)}, torch.ones(1, 2)), r"\(3, 2\)"),
    (lambda: plot_score_landscapes([0, 1], [0, 1], {}, torch.ones(1, 2)), "at least one"),
    (lambda: plot_scaling_effects([2, 4], [1], [1, 1], [1, 1], [1, 1]), "one value per d"),
    (lambda: plot_head_heatmaps(torch.ones(2, 3, 2), TOKENS, TOKENS), "S=3"),
    (lambda: plot_head_heatmaps(torch.ones(2, 3, 3), TOKENS, TOKENS, ["one"]), "one entry per head"),
    (lambda: plot_masks({"causal": torch.ones(3, 3)}, TOKENS, TOKENS), "boolean"),
    (lambda: plot_masks({"causal": torch.ones(2, 3, dtype=torch.bool)}, TOKENS, TOKENS), r"\(3, 3\)"),
    (lambda: plot_masks({}, TOKENS, TOKENS), "at least one"),
])
def test_new_plots_refuse_mismatched_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()
