"""MultiHeadExplorer: pick a head and a query word, move the query, watch each head's weights.

Each head h of multi-head attention projects every word x_j (a row of the
embeddings) to its own query and key, ``q_j = x_j W_Q^h + b_Q^h`` and
``k_j = x_j W_K^h + b_K^h``, of width Dh = 2 here, so that each head has a plane
where its keys and its query can be drawn. The weights of query i in head h are
``masked_softmax(q_i . k_j / sqrt(Dh))`` over the keys j, as in
:class:`attn_course.layers.MultiHeadAttention` (which averages them over the heads
by default). The ES module beside this file (multihead.js, joined with the shared
code it imports by :mod:`attn_course.widgets._esm`) computes and draws all of it in the browser, so the explorer stays live in the static book with no kernel;
this class holds the same state as traits and computes the same numbers with
:func:`attn_course.attention.scaled_dot_product_attention`.
"""

from __future__ import annotations

from collections.abc import Sequence

import anywidget
import torch
import traitlets
from traitlets import Float, Int, List, Unicode, observe, validate

from attn_course.attention import causal_mask, padding_mask, scaled_dot_product_attention
from attn_course.layers import MultiHeadAttention
from attn_course.widgets._base import ExplorerValueError, fmt, is_real, vector
from attn_course.widgets._esm import join_css, join_esm

__all__ = ["MultiHeadExplorer", "SENTENCE", "SENTENCE_EMBEDDINGS", "HEAD_W_QUERY", "HEAD_W_KEY"]

HEAD_DIM = 2                      # Dh: each head's queries and keys live in a plane
MASK_MODES = ("none", "padding", "causal")

# Chapter 1's sentence and hand-made embeddings, features (function, living, motion, place).
SENTENCE = ["the", "cats", "walk", "on", "the", "street"]
SENTENCE_EMBEDDINGS = [
    [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.5, 0.0], [0.0, 0.5, 1.0, 0.5],
    [0.6, 0.0, 0.0, 0.5], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.5, 1.0],
]
# Two hand-made heads (H, D, Dh) = (2, 4, 2): row d of W^h maps feature d into the head's plane.
# Head 1, "who does what": keys are (living, motion); a moving word asks for something living
# and a living word asks for a motion, so walk looks at cats and cats at walk.
# Head 2, "where": keys are (place, function); a moving word asks for a place, a place asks
# for its function word, so walk looks at street (and on), street at the and on.
# "the" asks nothing in either head (a zero query: uniform weights); head 1 ignores function words.
HEAD_W_QUERY = [
    [[0.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, 0.0]],    # head 1: living -> y, motion -> x
    [[0.0, 0.0], [0.0, 0.0], [2.0, 0.0], [0.0, 2.0]],    # head 2: motion -> x, place -> y
]
HEAD_W_KEY = [
    [[0.0, 0.0], [2.0, 0.0], [0.0, 1.5], [0.0, 0.0]],    # head 1: living -> x, motion -> y
    [[0.0, 1.5], [0.0, 0.0], [0.0, 0.0], [2.0, 0.0]],    # head 2: place -> x, function -> y
]



def _matrix(name: str, value: object, rows: int | None, cols: int | None, legend: str) -> list[list[float]]:
    """A rows x cols list of lists of finite floats (None: any count >= 1), or an error naming the trait."""
    ok = isinstance(value, (list, tuple)) and len(value) >= 1 and (rows is None or len(value) == rows)
    ok = ok and all(isinstance(r, (list, tuple)) and len(r) == (cols or len(value[0])) >= 1 for r in value)
    if not ok:
        raise ExplorerValueError(f"{name} must be {legend}; got {value!r:.120}")
    if not all(is_real(v) for r in value for v in r):
        raise ExplorerValueError(f"{name} must hold finite floats (no NaN or inf); got {value!r:.120}")
    return [[float(v) for v in r] for r in value]


def _check_forms(given: dict) -> None:
    """The constructor's arguments one by one, in a fixed order, before traitlets cross-checks them."""
    if "tokens" in given:
        tokens = given["tokens"]
        if not isinstance(tokens, (list, tuple)) or not tokens or not all(isinstance(t, str) for t in tokens):
            raise ExplorerValueError(f"tokens must be a non-empty list of strings; got {tokens!r:.120}")
    if "embeddings" in given:
        _matrix("embeddings", given["embeddings"], None, None, "(S, D): S rows of D >= 1 floats each")
    for name in ("w_query", "w_key"):
        if name in given:
            value = given[name]
            if not isinstance(value, (list, tuple)) or not value:
                raise ExplorerValueError(f"{name} must be (H, D, Dh) with H >= 1 heads; got {value!r:.120}")
            for h, w in enumerate(value):
                _matrix(f"{name}[{h}]", w, None, HEAD_DIM, f"(D, Dh) with Dh={HEAD_DIM}")
    for name in ("b_query", "b_key"):
        if name in given:
            _matrix(name, given[name], None, HEAD_DIM, f"(H, Dh) with Dh={HEAD_DIM}")


def _index(name: str, value: object, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ExplorerValueError(f"{name} must be {what} in {lo}..{hi}; got {value!r}")
    return value


class MultiHeadExplorer(anywidget.AnyWidget):
    """Pick a head and a query word, drag the query in that head's plane; every head's weights follow.

    Shapes (legend of the course): S words, D embedding width, H heads, Dh = 2 head width.
    tokens: S strings.  embeddings: (S, D), one row per token.
    w_query, w_key: (H, D, Dh), head h projects a row x to ``x @ w_query[h] + b_query[h]``.
    b_query, b_key: (H, Dh), default zeros.
    head: the head drawn in the plane, 0..H-1, or -1 for the average of the heads (no plane).
    query_index: the query word, 0..S-1.  query_offset: [x, y] added to the selected head's
    query (the view sets it by dragging, and back to zero when another head or word is picked).
    mask_mode: 'none'; 'padding' (keys at positions >= padding_length are padding, so
    padding_length is the number of real tokens, 1..S); 'causal' (query i sees keys j <= i).
    Masks as everywhere in the course: True = may attend; a query with no allowed key
    gets zero weights.
    Results (read-only, recomputed on every change): weights (H, S), each head's softmax
    weights of the query over the keys, and average (S,), their mean over the heads
    (what ``MultiHeadAttention`` returns with ``average_weights=True``).
    With no arguments it shows chapter 1's sentence with two hand-made heads
    (:data:`HEAD_W_QUERY`, :data:`HEAD_W_KEY`); :meth:`from_layer` takes a real layer's projections.
    Refused values raise :class:`ExplorerValueError` naming the trait and leave the state unchanged.
    """

    _esm = join_esm("multihead.js")
    _css = join_css("multihead.css")

    tokens = List(Unicode(), default_value=SENTENCE).tag(sync=True)
    embeddings = List(List(Float()), default_value=SENTENCE_EMBEDDINGS).tag(sync=True)
    w_query = List(List(List(Float())), default_value=HEAD_W_QUERY).tag(sync=True)
    w_key = List(List(List(Float())), default_value=HEAD_W_KEY).tag(sync=True)
    b_query = List(List(Float()), default_value=[[0.0, 0.0], [0.0, 0.0]]).tag(sync=True)
    b_key = List(List(Float()), default_value=[[0.0, 0.0], [0.0, 0.0]]).tag(sync=True)
    head = Int(0).tag(sync=True)
    query_index = Int(2).tag(sync=True)
    query_offset = List(Float(), default_value=[0.0, 0.0]).tag(sync=True)
    mask_mode = Unicode("none").tag(sync=True)
    padding_length = Int(6).tag(sync=True)
    weights = List(List(Float()), read_only=True).tag(sync=True)
    average = List(Float(), read_only=True).tag(sync=True)

    def __init__(self, *, tokens: Sequence[str] | None = None, embeddings: Sequence[Sequence[float]] | None = None,
                 w_query: object = None, w_key: object = None, b_query: object = None, b_key: object = None,
                 query_index: int | None = None, padding_length: int | None = None, **kwargs: object) -> None:
        given = {"tokens": tokens, "embeddings": embeddings, "w_query": w_query, "w_key": w_key,
                 "b_query": b_query, "b_key": b_key, "query_index": query_index, "padding_length": padding_length}
        given = {name: value for name, value in given.items() if value is not None}
        _check_forms(given)               # each argument alone, in a fixed order: the message names the wrong one
        kwargs.update(given)
        if tokens is not None:   # another sentence: defaults that fit it
            kwargs.setdefault("query_index", 0)
            kwargs.setdefault("padding_length", len(tokens))
        if w_query is not None:  # other heads: zero biases of their shape
            zeros = [[0.0] * HEAD_DIM for _ in w_query]
            kwargs.setdefault("b_query", zeros)
            kwargs.setdefault("b_key", zeros)
        super().__init__(**kwargs)

    @classmethod
    def from_layer(cls, layer: MultiHeadAttention, tokens: Sequence[str], embeddings: object,
                   **kwargs: object) -> MultiHeadExplorer:
        """The explorer of ``layer``'s query and key projections (weights and biases) on ``embeddings``.

        layer: a :class:`~attn_course.layers.MultiHeadAttention` with head_dim = embed_dim / num_heads = 2
        (e.g. D=4, H=2 or D=8, H=4). embeddings: (S, D), a list or a tensor. With a zero query_offset,
        ``weights`` equals ``layer(x, x, x, mask, average_weights=False)[1][0, :, query_index]``.
        Other keyword arguments (head, query_index, mask_mode, ...) are passed to the constructor.
        """
        if not isinstance(layer, MultiHeadAttention):
            raise TypeError(f"layer must be an attn_course.layers.MultiHeadAttention; got {type(layer).__name__}")
        if layer.head_dim != HEAD_DIM:
            raise ValueError(f"layer must have head_dim = embed_dim / num_heads = {HEAD_DIM} (a plane per head); "
                             f"got embed_dim={layer.embed_dim}, num_heads={layer.num_heads}")
        H, D = layer.num_heads, layer.embed_dim

        def split(proj: torch.nn.Linear) -> tuple[list, list]:
            weight = proj.weight.detach().double().view(H, HEAD_DIM, D).transpose(1, 2)   # (H, D, Dh)
            bias = torch.zeros(H, HEAD_DIM) if proj.bias is None else proj.bias.detach().double().view(H, HEAD_DIM)
            return weight.tolist(), bias.tolist()                                          # (H, D, Dh), (H, Dh)

        (w_query, b_query), (w_key, b_key) = split(layer.q_proj), split(layer.k_proj)
        if isinstance(embeddings, torch.Tensor):
            embeddings = embeddings.detach().double().tolist()
        return cls(tokens=list(tokens), embeddings=embeddings, w_query=w_query, w_key=w_key,
                   b_query=b_query, b_key=b_key, **kwargs)

    def set_data(self, **traits: object) -> None:
        """Change several of tokens, embeddings, w_query, w_key, b_query, b_key at once (checked together,
        rolled back together). Biases omitted while the number of heads changes become zeros."""
        unknown = set(traits) - {"tokens", "embeddings", "w_query", "w_key", "b_query", "b_key"}
        if unknown:
            raise TypeError(f"set_data() changes tokens, embeddings, w_query, w_key, b_query, b_key; got {sorted(unknown)}")
        if "w_query" in traits and len(traits["w_query"]) != len(self.w_query):
            for name in ("b_query", "b_key"):
                traits.setdefault(name, [[0.0] * HEAD_DIM for _ in traits["w_query"]])
        with self.hold_sync(), self.hold_trait_notifications():   # checked, rolled back and sent together
            for name, value in traits.items():
                setattr(self, name, value)

    # ---- The reference maths ---------------------------------------------

    def key_mask(self) -> torch.Tensor:
        """The keys the query may attend to, (S,) boolean, True = may attend."""
        S = len(self.tokens)
        if self.mask_mode == "causal":
            return causal_mask(S)[self.query_index]                          # (S,)
        if self.mask_mode == "padding":
            return padding_mask([self.padding_length], S)[0, 0]              # (S,)
        return torch.ones(S, dtype=torch.bool)

    def _attend(self, changed: str = "", **new: object) -> tuple[list[list[float]], list[float]]:
        """weights (H, S) and average (S,) in float64, with the package's scaled dot-product attention.

        ``new`` overrides current traits (a validator's proposal); values whose projections or
        scores overflow are refused, naming the ``changed`` trait.
        """
        t = {n: new.get(n, getattr(self, n)) for n in ("embeddings", "w_query", "w_key", "b_query", "b_key",
                                                        "query_offset")}
        x = torch.tensor(t["embeddings"], dtype=torch.float64)                           # (S, D)
        wq, wk = (torch.tensor(t[w], dtype=torch.float64) for w in ("w_query", "w_key"))  # (H, D, Dh)
        bq, bk = (torch.tensor(t[b], dtype=torch.float64)[:, None] for b in ("b_query", "b_key"))  # (H, 1, Dh)
        q = (x[self.query_index] @ wq)[:, None] + bq                                       # (H, 1, Dh)
        if 0 <= self.head < len(q):
            q[self.head, 0] += torch.tensor(t["query_offset"], dtype=torch.float64)
        k = x @ wk + bk                                                                    # (H, S, Dh)
        try:
            _, weights = scaled_dot_product_attention(q, k, k, mask=self.key_mask()[None])  # (H, 1, S)
        except ValueError as e:
            raise ExplorerValueError(f"{changed or 'embeddings, w_query, w_key, b_query, b_key'}: the projected "
                                     f"queries and keys or their scores overflow float64 ({e})") from None
        return weights[:, 0].tolist(), weights[:, 0].mean(dim=0).tolist()

    def describe(self) -> str:
        """What the view's readout says (multihead.js's describe())."""
        H = len(self.w_query)
        who = f"head {self.head + 1}" if self.head >= 0 else f"average of {H} heads"
        row = self.weights[self.head] if self.head >= 0 else self.average
        dx, dy = self.query_offset if self.head >= 0 else (0.0, 0.0)
        moved = f" moved by ({fmt(dx)}, {fmt(dy)})" if fmt(dx) != "0.00" or fmt(dy) != "0.00" else ""
        mask = f"padding ({self.padding_length} real tokens)" if self.mask_mode == "padding" else self.mask_mode
        allowed = self.key_mask().tolist()
        pairs = ", ".join(f"{t} {fmt(w)}" if ok else f"{t} masked" for t, w, ok in zip(self.tokens, row, allowed))
        return f"{who}, query '{self.tokens[self.query_index]}'{moved}, mask {mask}: {pairs}"

    @traitlets.default("weights")
    def _weights_default(self) -> list[list[float]]:
        return self._attend()[0]

    @traitlets.default("average")
    def _average_default(self) -> list[float]:
        return self._attend()[1]

    @observe("tokens", "embeddings", "w_query", "w_key", "b_query", "b_key", "head", "query_index",
             "query_offset", "mask_mode", "padding_length")
    def _recompute(self, change: dict | None = None) -> None:
        with self.hold_sync():
            S, H = len(self.tokens), len(self.w_query)
            if self.query_index >= S:          # fewer tokens or heads than before (set_data)
                self.query_index = S - 1
            if self.padding_length > S:
                self.padding_length = S
            if self.head >= H:
                self.head = 0
            weights, average = self._attend()
            self.set_trait("weights", weights)
            self.set_trait("average", average)

    # ---- Validation: each trait, and its agreement with the others -----------

    def _shapes(self, **new: object) -> None:
        """tokens (S), embeddings (S, D), w_* (H, D, Dh), b_* (H, Dh) agree; ``new`` overrides current values."""
        t = {n: new.get(n, getattr(self, n)) for n in ("tokens", "embeddings", "w_query", "w_key", "b_query", "b_key")}
        S, D, H = len(t["tokens"]), len(t["embeddings"][0]), len(t["w_query"])
        if len(t["embeddings"]) != S:
            raise ExplorerValueError(f"embeddings must be (S, D) with S={S} rows, one per token; got "
                                     f"{len(t['embeddings'])} rows. Change both at once with set_data(tokens=..., embeddings=...)")
        for name in ("w_query", "w_key"):
            if len(t[name]) != H or any(len(w) != D for w in t[name]):
                raise ExplorerValueError(f"{name} must be (H, D, Dh) with H={H} as w_query and D={D} as embeddings; "
                                         f"got {len(t[name])} heads of {[len(w) for w in t[name]]} rows")
        for name in ("b_query", "b_key"):
            if len(t[name]) != H:
                raise ExplorerValueError(f"{name} must be (H, Dh) with H={H} as w_query; got {len(t[name])} rows")

    def _refuse_overflow(self, changed: str, **new: object) -> None:
        """Refuse values whose scores overflow. Called after ``_shapes`` passed; while set_data
        shrinks the tokens, query_index is clamped only afterwards (by the observer)."""
        if self.query_index < len(self.tokens):
            self._attend(changed, **new)

    @validate("tokens")
    def _check_tokens(self, proposal: traitlets.Bunch) -> list[str]:
        if not proposal.value:
            raise ExplorerValueError("tokens must hold at least one token (nothing to attend to); got []")
        self._shapes(tokens=proposal.value)
        return proposal.value

    @validate("embeddings")
    def _check_embeddings(self, proposal: traitlets.Bunch) -> list[list[float]]:
        value = _matrix("embeddings", proposal.value, None, None, "(S, D): S rows of D >= 1 floats each")
        self._shapes(embeddings=value)
        self._refuse_overflow("embeddings", embeddings=value)
        return value

    @validate("w_query", "w_key")
    def _check_projection(self, proposal: traitlets.Bunch) -> list[list[list[float]]]:
        name, value = proposal.trait.name, proposal.value
        if not value:
            raise ExplorerValueError(f"{name} must be (H, D, Dh) with H >= 1 heads; got []")
        value = [_matrix(f"{name}[{h}]", w, None, HEAD_DIM, f"(D, Dh) with Dh={HEAD_DIM}") for h, w in enumerate(value)]
        self._shapes(**{name: value})
        self._refuse_overflow(name, **{name: value})
        return value

    @validate("b_query", "b_key")
    def _check_bias(self, proposal: traitlets.Bunch) -> list[list[float]]:
        name = proposal.trait.name
        value = _matrix(name, proposal.value, None, HEAD_DIM, f"(H, Dh) with Dh={HEAD_DIM}")
        self._shapes(**{name: value})
        self._refuse_overflow(name, **{name: value})
        return value

    @validate("head")
    def _check_head(self, proposal: traitlets.Bunch) -> int:
        return _index("head", proposal.value, -1, len(self.w_query) - 1, "a head index (-1: the average)")

    @validate("query_index")
    def _check_query_index(self, proposal: traitlets.Bunch) -> int:
        return _index("query_index", proposal.value, 0, len(self.tokens) - 1, "a token index")

    @validate("padding_length")
    def _check_padding_length(self, proposal: traitlets.Bunch) -> int:
        return _index("padding_length", proposal.value, 1, len(self.tokens), "the number of real tokens")

    @validate("mask_mode")
    def _check_mask_mode(self, proposal: traitlets.Bunch) -> str:
        if proposal.value not in MASK_MODES:
            raise ExplorerValueError(f"mask_mode must be one of {', '.join(map(repr, MASK_MODES))}; got {proposal.value!r}")
        return proposal.value

    @validate("query_offset")
    def _check_query_offset(self, proposal: traitlets.Bunch) -> list[float]:
        value = vector("query_offset", proposal.value)
        self._attend("query_offset", query_offset=value)
        return value
