"""Architecture diagrams of the encoder-decoders, drawn with matplotlib.

Each ``plot_*`` returns a Figure and never calls ``plt.show()``. The encoder is
blue, the decoder orange, what crosses from one to the other vermillion (the
Okabe-Ito palette, readable with the common forms of colour blindness).

- :func:`plot_seq2seq_diagram`: the vanilla, peeky and attention models, unrolled
  over one example (``"16+75" -> "91"``).
- :func:`plot_teacher_forcing`: training (the decoder reads the true previous
  tokens) next to greedy decoding (it reads its own previous outputs).
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from attn_course.data import EOS, SOS
from attn_course.plots import OKABE_ITO

__all__ = ["plot_seq2seq_diagram", "plot_teacher_forcing"]

MAX_SOURCE, MAX_TARGET = 10, 6          # longer examples stop being legible at ~700 px

ENCODER = {"face": "#DCEBF7", "edge": OKABE_ITO["blue"]}
DECODER = {"face": "#FBEBCB", "edge": "#A66F00"}     # a darker orange: readable as a line
BRIDGE = OKABE_ITO["vermillion"]
TOKEN_COLOUR = "#222222"
GREY = "#666666"
BOX_W, BOX_H = 0.78, 0.5                # in column units


def _check_text(name: str, value: object, longest: int) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str; got {type(value).__name__}")
    if not 1 <= len(value) <= longest:
        raise ValueError(f"{name} must hold 1 to {longest} characters to stay legible; got {len(value)}: {value!r}")
    return value


def _box(ax, x: float, y: float, label: str, colours: dict, width: float = BOX_W, size: float = 10) -> None:
    ax.add_patch(FancyBboxPatch((x - width / 2, y - BOX_H / 2), width, BOX_H, boxstyle="round,pad=0.02,rounding_size=0.08",
                                fc=colours["face"], ec=colours["edge"], lw=1.3, zorder=2))
    ax.text(x, y, label, ha="center", va="center", fontsize=size, zorder=3)


def _arrow(ax, start, end, colour=GREY, lw=1.2, rad=0.0, style="-|>", ls="-", zorder=1, alpha=1.0) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=11, lw=lw, color=colour, ls=ls,
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=0, shrinkB=0, zorder=zorder,
                                 alpha=alpha))


def _token(ax, x: float, y: float, text: str, colour: str = TOKEN_COLOUR, weight: str = "normal") -> None:
    ax.text(x, y, text, ha="center", va="center", fontsize=13, family="monospace", color=colour, fontweight=weight)


def _region(ax, x0: float, x1: float, y0: float, y1: float, label: str, colour: str) -> None:
    ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=0.15",
                                fc="none", ec=colour, lw=1.0, ls=(0, (4, 3)), zorder=0))
    ax.text((x0 + x1) / 2, y0 - 0.12, label, ha="center", va="top", fontsize=12, color=colour, fontweight="bold")


KINDS = ("vanilla", "peeky", "attention")      # the LSTM encoder-decoders this diagram draws
_TITLES = {
    "vanilla": "Vanilla: the encoder's last state (h, c) is the only bridge",
    "peeky": "Peeky: the encoder's last h also enters every decoder step",
    "attention": "Attention: every decoder step looks at all the encoder states",
}


INCH_PER_UNIT = 0.72                    # one column is about 72 px wide at 100 dpi


def _canvas(x0: float, x1: float, y0: float, y1: float):
    """A figure whose single axes maps data units to inches at a fixed scale (equal aspect, no margins)."""
    import matplotlib.pyplot as plt  # local: importing this module needs no display

    fig = plt.figure(figsize=(INCH_PER_UNIT * (x1 - x0), INCH_PER_UNIT * (y1 - y0)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.axis("off")
    return fig, ax


def _column(ax, x: float, rows: list[tuple[float, str]], colours: dict) -> None:
    """Boxes stacked at height y with arrows between them, bottom to top."""
    for k, (y, label) in enumerate(rows):
        _box(ax, x, y, label, colours, size=9.5 if label == "embed" else 10.5)
        if k:
            _arrow(ax, (x, rows[k - 1][0] + BOX_H / 2), (x, y - BOX_H / 2))


def plot_seq2seq_diagram(kind: str, source: str = "16+75", target: str = "91") -> Figure:
    """The encoder-decoder ``kind`` ("vanilla", "peeky" or "attention"), unrolled over one example.

    The encoder (an embedding and an LSTM cell per source character) reads
    ``source``; the decoder reads <s> and the target characters and writes the
    target characters and </s>. "vanilla": the encoder's last state (h, c) starts
    the decoder and nothing else crosses. "peeky": the last h also enters every
    decoder step, beside the embedding (into the LSTM) and beside the LSTM's
    output (into the output layer). "attention": every decoder step weighs all
    the encoder states h_1 ... h_S.
    """
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    src = list(_check_text("source", source, MAX_SOURCE))
    tgt = list(_check_text("target", target, MAX_TARGET))
    inputs, outputs = [SOS, *tgt], [*tgt, EOS]
    attention = kind == "attention"
    enc_x = [float(i) for i in range(len(src))]
    dec_x = [enc_x[-1] + 2.3 + 1.25 * j for j in range(len(inputs))]
    y_tok, y_emb, y_lstm = 0.0, 1.0, 2.0
    y_att = 3.0 if attention else None
    y_out = y_lstm + (2.0 if attention else 1.0)            # the output layer ("Linear")
    y_res = y_out + 0.8                                     # the token it writes
    top = y_res + 0.4
    fig, ax = _canvas(enc_x[0] - 0.75, dec_x[-1] + 0.75, -1.05, top + 0.75)

    for i, (x, ch) in enumerate(zip(enc_x, src)):           # encoder: one column per character
        _token(ax, x, y_tok, ch)
        _arrow(ax, (x, y_tok + 0.2), (x, y_emb - BOX_H / 2))
        _column(ax, x, [(y_emb, "embed"), (y_lstm, "LSTM")], ENCODER)
        if i:
            _arrow(ax, (enc_x[i - 1] + BOX_W / 2, y_lstm), (x - BOX_W / 2, y_lstm))
        if attention:
            ax.text(x, y_lstm + BOX_H / 2 + 0.06, f"$h_{{{i + 1}}}$", ha="center", va="bottom", fontsize=11,
                    color=ENCODER["edge"])

    rows = [(y_emb, "embed"), (y_lstm, "LSTM")] + ([(y_att, "attend")] if attention else []) + [(y_out, "Linear")]
    for j, (x, tok_in, tok_out) in enumerate(zip(dec_x, inputs, outputs)):   # decoder: one column per step
        _token(ax, x, y_tok, tok_in)
        _arrow(ax, (x, y_tok + 0.2), (x, y_emb - BOX_H / 2))
        _column(ax, x, rows, DECODER)
        _arrow(ax, (x, y_out + BOX_H / 2), (x, y_res - 0.2))
        _token(ax, x, y_res, tok_out, colour=DECODER["edge"], weight="bold")
        if j:
            _arrow(ax, (dec_x[j - 1] + BOX_W / 2, y_lstm), (x - BOX_W / 2, y_lstm))

    # The bridge: the encoder's last state (h, c) is the decoder's first state.
    start, end = (enc_x[-1] + BOX_W / 2, y_lstm), (dec_x[0] - BOX_W / 2, y_lstm)
    _arrow(ax, start, end, colour=BRIDGE, lw=2.6, zorder=3)
    ax.text((start[0] + end[0]) / 2, y_lstm + 0.12, "(h, c)", ha="center", va="bottom", fontsize=12,
            color=BRIDGE, fontweight="bold")

    if kind == "peeky":  # h runs along a bus under the LSTM row and branches into every step
        bus_y, x_start = (y_emb + y_lstm) / 2, enc_x[-1] + BOX_W / 2 + 0.2
        risers = [x - 0.62 for x in dec_x]                   # in the gap left of each decoder column
        ax.plot([x_start, x_start, risers[-1]], [y_lstm, bus_y, bus_y], color=BRIDGE, lw=2, zorder=1)
        ax.text(x_start + 0.08, bus_y - 0.06, "h", ha="left", va="top", fontsize=12, color=BRIDGE,
                fontweight="bold", fontstyle="italic")
        for x, xr in zip(dec_x, risers):
            ax.plot([xr, xr], [bus_y, y_out], color=BRIDGE, lw=1.5, zorder=1)
            ax.plot([xr], [bus_y], "o", color=BRIDGE, ms=4, zorder=3)
            _arrow(ax, (xr, y_out), (x - BOX_W / 2, y_out), colour=BRIDGE, lw=1.5, zorder=3)
            _arrow(ax, (xr, bus_y), (x - 0.16, y_lstm - BOX_H / 2), colour=BRIDGE, lw=1.5, zorder=3)

    if attention:  # every decoder step weighs every encoder state
        for x in dec_x:
            for xe in enc_x:
                _arrow(ax, (xe, y_lstm + BOX_H / 2 + 0.42), (x - 0.15, y_att + BOX_H / 2), colour=BRIDGE,
                       lw=0.9, rad=-0.2, style="-", alpha=0.5)
        ax.text(enc_x[-1] * 0.5, y_att + 1.0, "each step weighs all the states $h_1, \\dots, h_S$",
                ha="center", va="bottom", fontsize=11, color=BRIDGE)

    enc_top = y_lstm + BOX_H / 2 + (0.55 if attention else 0.25)
    _region(ax, enc_x[0] - 0.55, enc_x[-1] + 0.55, -0.4, enc_top, "encoder", ENCODER["edge"])
    _region(ax, dec_x[0] - 0.7, dec_x[-1] + 0.55, -0.4, top, "decoder", DECODER["edge"])
    ax.text(enc_x[0] - 0.6, top + 0.5, _TITLES[kind], ha="left", va="center", fontsize=13)
    return fig


def _unrolled(ax, xs, inputs, outputs, targets, mode: str) -> None:
    """One panel of plot_teacher_forcing. mode "true": reads the targets; "own": reads its own outputs."""
    y_in, y_cell, y_out, y_tgt = 0.0, 1.0, 2.0, 2.6
    feed = OKABE_ITO["green"] if mode == "true" else OKABE_ITO["blue"]
    wrong_colour = OKABE_ITO["vermillion"]
    for j, x in enumerate(xs):
        wrong_in = mode == "own" and j > 0 and inputs[j] != targets[j - 1]
        _token(ax, x, y_in, inputs[j], colour=TOKEN_COLOUR if j == 0 else (wrong_colour if wrong_in else feed),
               weight="normal" if j == 0 else "bold")
        _arrow(ax, (x, y_in + 0.2), (x, y_cell - BOX_H / 2))
        _box(ax, x, y_cell, "decoder", DECODER, width=0.95, size=10.5)
        if j:
            _arrow(ax, (xs[j - 1] + 0.475, y_cell), (x - 0.475, y_cell))
        _arrow(ax, (x, y_cell + BOX_H / 2), (x, y_out - 0.2))
        wrong = outputs[j] != targets[j]
        _token(ax, x, y_out, outputs[j], colour=wrong_colour if wrong else TOKEN_COLOUR, weight="bold")
        if mode == "true":
            _token(ax, x, y_tgt, targets[j], colour=feed, weight="bold")
        if j < len(xs) - 1:   # what step j + 1 reads: the true token, or the one just written
            y_from = y_tgt if mode == "true" else y_out
            _arrow(ax, (x + 0.22, y_from - 0.17), (xs[j + 1] - 0.25, y_in + 0.2), colour=feed, lw=1.5,
                   ls=(0, (3, 2)) if mode == "true" else "-", zorder=3)


def plot_teacher_forcing(target: str = "91", predicted: str | None = None) -> Figure:
    """Training with teacher forcing (left) beside greedy decoding at test time (right).

    Left, every step reads the TRUE previous token (<s>, then ``target``), whatever
    the model wrote; all steps run in one call and the loss compares what they
    write with the target. Right, every step reads the token the model itself
    wrote at the previous step, one step at a time until </s>. ``predicted``
    (default: ``target``; as long as ``target``) is what the model writes: a
    wrong character is drawn in vermillion. In training the next step still
    reads the true character; at test time it reads the mistake.
    """
    tgt = list(_check_text("target", target, MAX_TARGET))
    pred = tgt if predicted is None else list(_check_text("predicted", predicted, MAX_TARGET))
    if len(pred) != len(tgt):
        raise ValueError(f"predicted must have as many characters as target ({len(tgt)}); got {predicted!r}")
    targets, written = [*tgt, EOS], [*pred, EOS]
    step, label_w, gap = 1.45, 1.35, 0.7
    train_xs = [label_w + step * j for j in range(len(targets))]
    test_x0 = train_xs[-1] + 0.6 + gap + label_w
    test_xs = [test_x0 + step * j for j in range(len(written))]
    fig, ax = _canvas(-0.15, test_xs[-1] + 0.7, -1.3, 3.75)
    _unrolled(ax, train_xs, [SOS, *tgt], written, targets, "true")
    _unrolled(ax, test_xs, [SOS, *pred], written, targets, "own")
    for x0, title, note in ((train_xs[0], "Training: teacher forcing",
                             "reads the TRUE previous token;\nall steps at once; loss against the target"),
                            (test_xs[0], "Test: greedy decoding",
                             "reads its OWN previous output;\none step at a time, until it writes </s>")):
        ax.text(x0 - label_w + 0.05, 3.35, title, ha="left", va="center", fontsize=12.5, fontweight="bold")
        ax.text(x0 - label_w + 0.05, -0.5, note, ha="left", va="top", fontsize=10.5, color=GREY, linespacing=1.4)
        for y, label in ((0.0, "reads"), (2.0, "writes")):
            ax.text(x0 - 0.55, y, label, ha="right", va="center", fontsize=10.5, color=GREY)
    ax.text(train_xs[0] - 0.55, 2.6, "target", ha="right", va="center", fontsize=10.5, color=OKABE_ITO["green"])
    divider = train_xs[-1] + 0.6 + gap / 2
    ax.plot([divider, divider], [-1.2, 3.6], color="#CCCCCC", lw=1)
    return fig
