"""Figures of the course. Each ``plot_*`` returns a matplotlib Figure and never calls ``plt.show()``.

Colours come from the Okabe-Ito palette and heatmaps use ``cividis``, both
readable with the common forms of colour blindness.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from torch import Tensor

__all__ = [
    "OKABE_ITO", "plot_attention_arrows", "plot_attention_heatmap", "plot_softmax_saturation",
    "plot_training", "plot_accuracy_by",
    "plot_score_landscapes", "plot_scaling_effects", "plot_head_heatmaps", "plot_masks",
]

# One palette for the figures and the explorers: its home is the explorers' shared palette.json.
OKABE_ITO: dict[str, str] = json.loads((Path(__file__).parent / "widgets" / "shared" / "palette.json").read_text(encoding="utf-8"))
HEATMAP_CMAP = "cividis"


def _as_matrix(name: str, weights: Tensor | Sequence, rows: int | None, cols: int | None) -> Tensor:
    w = torch.as_tensor(weights, dtype=torch.float64).detach().cpu()
    if w.dim() != 2:
        raise ValueError(f"{name} must be 2-D (L, S); got shape {tuple(w.shape)}")
    if (rows is not None and w.shape[0] != rows) or (cols is not None and w.shape[1] != cols):
        raise ValueError(f"{name} must be (L, S) = ({rows}, {cols}) to match the labels; got {tuple(w.shape)}")
    return w


def plot_attention_arrows(tokens: Sequence[str], weights: Tensor | Sequence[float], query: int) -> Figure:
    """The sentence in a row, with an arrow from ``tokens[query]`` to every token.

    weights: (S,) the query's attention weights over the S tokens; an arrow's
    width and the number under each token show the weight.
    """
    w = torch.as_tensor(weights, dtype=torch.float64).detach().cpu()
    if w.shape != (len(tokens),):
        raise ValueError(f"weights must be (S,) with S={len(tokens)} tokens; got {tuple(w.shape)}")
    if not 0 <= query < len(tokens):
        raise ValueError(f"query must index one of the {len(tokens)} tokens; got {query}")
    fig, ax = plt.subplots(figsize=(1.05 * len(tokens) + 0.6, 2.5), layout="constrained")
    for j, (tok, wj) in enumerate(zip(tokens, w.tolist())):
        is_query = j == query
        ax.text(j, 0, tok, ha="center", va="center", fontsize=14,
                fontweight="bold" if is_query else "normal",
                color=OKABE_ITO["vermillion"] if is_query else "black")
        ax.text(j, -0.45, f"{wj:.2f}", ha="center", va="center", fontsize=12, color=OKABE_ITO["blue"])
        if is_query:  # a loop above the query word: how much it attends to itself
            start, end, rad = (j - 0.28, 0.2), (j + 0.28, 0.2), -1.6
        else:
            start, end, rad = (query, 0.22), (j, 0.22), (-0.35 if j > query else 0.35)
        ax.add_patch(FancyArrowPatch(start, end, connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                     mutation_scale=14, lw=0.5 + 12 * wj, color=OKABE_ITO["blue"],
                                     alpha=0.85, shrinkA=6, shrinkB=6))
    ax.set_xlim(-0.6, len(tokens) - 0.4)
    ax.set_ylim(-0.65, 1.3)
    ax.axis("off")
    ax.set_title(f"Attention weights of the query '{tokens[query]}'", fontsize=12)
    return fig


def plot_attention_heatmap(
    weights: Tensor | Sequence,
    query_labels: Sequence[str],
    key_labels: Sequence[str],
    title: str = "Attention weights",
    annotate: bool = True,
) -> Figure:
    """Heatmap of weights (L, S): one row per query, one column per key, values written in the cells."""
    w = _as_matrix("weights", weights, len(query_labels), len(key_labels))
    cell = min(0.75, 8.0 / max(w.shape))            # inches per cell: long inputs stay within ~10 inches
    fig, ax = plt.subplots(figsize=(cell * w.shape[1] + 2.2, cell * w.shape[0] + 1.4), layout="constrained")
    image = ax.imshow(w.numpy(), cmap=HEATMAP_CMAP, vmin=0.0, vmax=max(float(w.max()), 1e-9))
    ax.set_xticks(range(len(key_labels)), key_labels)
    ax.set_yticks(range(len(query_labels)), query_labels)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False)
    ax.xaxis.set_label_position("top")
    if annotate:
        threshold = 0.6 * float(w.max())
        for (i, j), value in zip(((i, j) for i in range(w.shape[0]) for j in range(w.shape[1])), w.flatten().tolist()):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=9,
                    color="black" if value > threshold else "white")
    fig.colorbar(image, ax=ax, shrink=0.8, label="weight")
    ax.set_title(title, fontsize=11)
    return fig


def plot_softmax_saturation(
    dims: Sequence[int], unscaled: Sequence[float], scaled: Sequence[float], num_keys: int
) -> Figure:
    """Average largest softmax weight against the width d, without and with the 1/sqrt(d) scale."""
    if not len(dims) == len(unscaled) == len(scaled):
        raise ValueError(f"dims, unscaled and scaled must have one entry each per d; got "
                         f"{len(dims)}, {len(unscaled)}, {len(scaled)}")
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    ax.plot(dims, unscaled, "o-", color=OKABE_ITO["vermillion"], label=r"softmax$(q \cdot k)$")
    ax.plot(dims, scaled, "s--", color=OKABE_ITO["blue"], label=r"softmax$(q \cdot k / \sqrt{d})$")
    ax.axhline(1.0 / num_keys, color="gray", lw=0.8, ls=":", label=f"uniform (1/{num_keys})")
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("width d of the query and key vectors")
    ax.set_ylabel("average largest weight")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


MODEL_STYLES = {  # one colour and marker per model, the same in every figure
    "vanilla": (OKABE_ITO["vermillion"], "o"), "peeky": (OKABE_ITO["orange"], "s"),
    "attention": (OKABE_ITO["blue"], "D"),
}


def _style(name: str, i: int) -> tuple[str, str]:
    fallback = list(OKABE_ITO.values())[i % len(OKABE_ITO)], "^"
    return MODEL_STYLES.get(name.split()[0], fallback)


def plot_training(histories: dict, steps_per_epoch: int | None = None) -> Figure:
    """Loss per step (left) and held-out exact match (right) for several trained models.

    histories: {name: attn_course.train.History}. With steps_per_epoch, the x axis counts epochs.
    """
    per = steps_per_epoch or 1
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9.0, 3.4), layout="constrained")
    for i, (name, h) in enumerate(histories.items()):
        colour, marker = _style(name, i)
        ax_loss.plot([(k + 1) / per for k in range(len(h.losses))], h.losses, color=colour, lw=1, label=name)
        if h.valid:
            steps, exact, _ = zip(*h.valid)
            ax_acc.plot([s / per for s in steps], [100 * e for e in exact], marker=marker, color=colour, label=name)
    unit = "epoch" if steps_per_epoch else "step"
    ax_loss.set(xlabel=unit, ylabel="training loss (cross-entropy)", yscale="log")
    ax_acc.set(xlabel=unit, ylabel="held-out exact match (%)", ylim=(-2, 102))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
    return fig


def plot_accuracy_by(groups: Sequence, accuracies: dict[str, Sequence[float]], xlabel: str) -> Figure:
    """Exact match (%) per group (e.g. input length) for several models: {name: [accuracy per group]}."""
    fig, ax = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
    for i, (name, acc) in enumerate(accuracies.items()):
        if len(acc) != len(groups):
            raise ValueError(f"accuracies[{name!r}] must have one value per group ({len(groups)}); got {len(acc)}")
        colour, marker = _style(name, i)
        ax.plot(list(groups), [100 * a for a in acc], marker=marker, color=colour, label=name)
    ax.set(xlabel=xlabel, ylabel="exact match (%)", ylim=(-2, 102))
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return fig


def plot_score_landscapes(
    xs: Sequence[float], ys: Sequence[float], surfaces: dict[str, Tensor], keys: Tensor | Sequence,
    key_labels: Sequence[str] = (),
) -> Figure:
    """One panel per scoring function: the score of a 2-D query at every point of a grid, keys marked.

    xs: (nx,) and ys: (ny,) the grid; surfaces: {title: scores (ny, nx)}, the score of the query
    (xs[i], ys[j]) at [j, i]; keys: (S, 2) the fixed keys, drawn as points with key_labels.
    """
    xs_t, ys_t = torch.as_tensor(xs, dtype=torch.float64), torch.as_tensor(ys, dtype=torch.float64)
    k = torch.as_tensor(keys, dtype=torch.float64).detach().cpu()
    if k.dim() != 2 or k.shape[1] != 2:
        raise ValueError(f"keys must be (S, 2), points of the plane; got {tuple(k.shape)}")
    if not surfaces:
        raise ValueError("surfaces must hold at least one {title: scores (ny, nx)}")
    fig, axes = plt.subplots(1, len(surfaces), figsize=(4.3 * len(surfaces), 3.8), layout="constrained",
                             squeeze=False)
    extent = (float(xs_t[0]), float(xs_t[-1]), float(ys_t[0]), float(ys_t[-1]))
    for ax, (title, z) in zip(axes[0], surfaces.items()):
        z = _as_matrix(f"surfaces[{title!r}]", z, len(ys_t), len(xs_t))
        image = ax.imshow(z.numpy(), origin="lower", extent=extent, cmap=HEATMAP_CMAP, aspect="equal")
        lines = ax.contour(xs_t.numpy(), ys_t.numpy(), z.numpy(), levels=9, colors="white", linewidths=0.7)
        ax.clabel(lines, fontsize=7, fmt="%.1f")
        ax.scatter(k[:, 0], k[:, 1], s=60, marker="*", color=OKABE_ITO["vermillion"], edgecolor="black",
                   zorder=3, label="key")
        for (x, y), label in zip(k.tolist(), key_labels):
            ax.annotate(label, (x, y), xytext=(5, 5), textcoords="offset points", color="white", fontsize=10)
        ax.set(title=title, xlabel="query, feature 1", ylabel="query, feature 2")
        fig.colorbar(image, ax=ax, shrink=0.8, label="score")
    return fig


def plot_scaling_effects(
    dims: Sequence[int], std_unscaled: Sequence[float], std_scaled: Sequence[float],
    grad_unscaled: Sequence[float], grad_scaled: Sequence[float],
) -> Figure:
    """Left: the scores' standard deviation against the width d; right: the softmax's gradient size.

    Each sequence has one value per d, without and with the 1/sqrt(d) scale.
    """
    values = (std_unscaled, std_scaled, grad_unscaled, grad_scaled)
    if any(len(v) != len(dims) for v in values):
        raise ValueError(f"every curve must have one value per d ({len(dims)}); got {[len(v) for v in values]}")
    fig, (ax_std, ax_grad) = plt.subplots(1, 2, figsize=(9.0, 3.4), layout="constrained")
    for ax, (plain, scaled), ylabel in ((ax_std, values[:2], "standard deviation of the scores"),
                                        (ax_grad, values[2:], "size of the softmax's gradient")):
        ax.plot(dims, plain, "o-", color=OKABE_ITO["vermillion"], label=r"$q \cdot k$")
        ax.plot(dims, scaled, "s--", color=OKABE_ITO["blue"], label=r"$q \cdot k / \sqrt{d}$")
        ax.set(xscale="log", xlabel="width d of the query and key vectors", ylabel=ylabel)
        ax.set_xscale("log", base=2)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
    ax_std.plot(dims, [d ** 0.5 for d in dims], ":", color="gray", lw=1, label=r"$\sqrt{d}$")
    ax_std.legend(frameon=False)
    ax_grad.set_ylim(bottom=0)
    return fig


def plot_head_heatmaps(
    weights: Tensor, query_labels: Sequence[str], key_labels: Sequence[str], titles: Sequence[str] | None = None,
) -> Figure:
    """One heatmap per head: weights (H, L, S), rows are queries, columns keys, values in the cells."""
    w = torch.as_tensor(weights, dtype=torch.float64).detach().cpu()
    if w.dim() != 3 or w.shape[1:] != (len(query_labels), len(key_labels)):
        raise ValueError(f"weights must be (H, L, S) with L={len(query_labels)}, S={len(key_labels)}; "
                         f"got {tuple(w.shape)}")
    titles = list(titles) if titles is not None else [f"head {h + 1}" for h in range(w.shape[0])]
    if len(titles) != w.shape[0]:
        raise ValueError(f"titles must have one entry per head (H={w.shape[0]}); got {len(titles)}")
    size = (0.48 * len(key_labels) + 1.0, 0.42 * len(query_labels) + 1.2)
    fig, axes = plt.subplots(1, w.shape[0], figsize=(size[0] * w.shape[0] + 0.8, size[1]), layout="constrained",
                             squeeze=False)
    for ax, wh, title in zip(axes[0], w, titles):
        image = ax.imshow(wh.numpy(), cmap=HEATMAP_CMAP, vmin=0.0, vmax=1.0)
        ax.set_xticks(range(len(key_labels)), key_labels, rotation=45, ha="left")
        ax.set_yticks(range(len(query_labels)), query_labels)
        ax.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False)
        for i in range(wh.shape[0]):
            for j in range(wh.shape[1]):
                value = float(wh[i, j])
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                        color="black" if value > 0.6 else "white")
        ax.set_title(title, fontsize=11)
    axes[0, 0].set_ylabel("query (attending)")
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="weight")
    return fig


def plot_masks(masks: dict[str, Tensor], query_labels: Sequence[str], key_labels: Sequence[str]) -> Figure:
    """One panel per boolean mask (L, S), True = may attend: allowed cells dark with a tick, masked cells pale."""
    if not masks:
        raise ValueError("masks must hold at least one {title: boolean mask (L, S)}")
    shape = (len(query_labels), len(key_labels))
    fig, axes = plt.subplots(1, len(masks), figsize=(0.4 * shape[1] * len(masks) + 1.0, 0.4 * shape[0] + 1.4),
                             layout="constrained", squeeze=False)
    cmap = plt.matplotlib.colors.ListedColormap(["#EEEEEE", OKABE_ITO["blue"]])
    for ax, (title, m) in zip(axes[0], masks.items()):
        if not isinstance(m, Tensor) or m.dtype != torch.bool or tuple(m.shape) != shape:
            got = f"{m.dtype}, {tuple(m.shape)}" if isinstance(m, Tensor) else type(m).__name__
            raise ValueError(f"masks[{title!r}] must be a boolean tensor (L, S) = {shape}; got {got}")
        ax.imshow(m.int().numpy(), cmap=cmap, vmin=0, vmax=1)
        for i in range(shape[0]):
            for j in range(shape[1]):
                ax.text(j, i, "✓" if m[i, j] else "·", ha="center", va="center", fontsize=9,
                        color="white" if m[i, j] else "gray")
        ax.set_xticks(range(shape[1]), key_labels, rotation=45, ha="left")
        ax.set_yticks(range(shape[0]), query_labels)
        ax.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False)
        ax.set_title(title, fontsize=11)
    axes[0, 0].set_ylabel("query (attending)")
    return fig
