"""QueryKeyExplorer: drag a query and keys on a plane, watch the softmax weights follow.

The ES module beside this file (query_key.js, joined with the shared code it
imports by :mod:`attn_course.widgets._esm`) draws the plane and computes the
weights and the output itself, in the browser, so the explorer stays live in the
static book with no kernel. This class holds the same state as traits and
computes the same numbers with the reference maths,
:func:`attn_course.attention.dot_product_attention`, with the keys as the values.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import anywidget
import torch
import traitlets
from traitlets import Enum, Float, Int, List, Unicode, Union, observe, validate

from attn_course.attention import dot_product_attention
from attn_course.widgets._base import ExplorerValueError, is_real, vector
from attn_course.widgets._esm import join_css, join_esm

__all__ = ["QueryKeyExplorer"]


def _scale(value: object) -> float:
    if not (is_real(value) and value > 0):
        raise ExplorerValueError(f"scale must be a finite float > 0 (it multiplies the scores); got {value!r:.80}")
    return float(value)


def _attend(query: list[float], key_vectors: list[list[float]], scale: float, changed: str
            ) -> tuple[list[float], list[float]]:
    """weights (S,) and output (2,) from the reference maths, in float64; values whose scores
    overflow are refused, naming the trait that was ``changed``."""
    q = torch.tensor([query], dtype=torch.float64)                       # (L=1, D=2)
    k = torch.tensor(key_vectors, dtype=torch.float64)                   # (S, D=2)
    try:
        output, weights = dot_product_attention(q, k, k, scale=scale)   # (1, 2), (1, S)
    except ValueError as e:
        raise ExplorerValueError(f"{changed}: {e}") from None
    return weights[0].tolist(), output[0].tolist()


def _key_vectors(value: object) -> list[list[float]]:
    if not isinstance(value, (list, tuple)) or not value:
        raise ExplorerValueError(f"key_vectors must hold at least one key [x, y] (nothing to attend to); got {value!r:.80}")
    return [vector(f"key_vectors[{i}]", k) for i, k in enumerate(value)]


def _labels(value: object) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, str) for t in value):
        raise ExplorerValueError(f"labels must be a list of strings, one per key; got {value!r:.80}")
    return list(value)


def default_labels(n: int) -> list[str]:
    """Labels a, b, c, ... for n keys (k27, k28, ... past z)."""
    return [string.ascii_lowercase[i] if i < 26 else f"k{i + 1}" for i in range(n)]


class QueryKeyExplorer(anywidget.AnyWidget):
    """Drag a query q (and the keys) in 2-D; the softmax weights and the output follow.

    weights = softmax(scale * K q) over the S keys (the rows of K), and
    output = weights @ K: the keys are also the values, as in chapter 1.

    Traits are the API, synced both ways: set ``explorer.query = [1, 0]`` in Python
    and the view moves; drag in the view and the traits change in Python.

    query: [x, y].  key_vectors: S >= 1 keys [[x, y], ...].  labels: S strings
    (default a, b, c, ...).  scale: float > 0 multiplying the scores.
    selected: 'query' or a key index, the arrow that the keyboard moves.
    Results (read-only, recomputed whenever query, key_vectors or scale change):
    weights (S floats summing to 1) and output [x, y].
    Change the number of keys with :meth:`set_keys` (keys and labels at once).
    Refused values raise :class:`ExplorerValueError` and leave the state unchanged.
    """

    _esm = join_esm("query_key.js")
    _css = join_css("query_key.css")

    query = List(Float(), default_value=[1.0, 0.5]).tag(sync=True)
    key_vectors = List(List(Float()), default_value=[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]).tag(sync=True)
    labels = List(Unicode(), default_value=["a", "b", "c"]).tag(sync=True)
    scale = Float(1.0).tag(sync=True)
    selected = Union([Enum(["query"]), Int()], default_value="query").tag(sync=True)
    weights = List(Float(), read_only=True).tag(sync=True)
    output = List(Float(), read_only=True).tag(sync=True)

    def __init__(
        self,
        *,
        key_vectors: Sequence[Sequence[float]] | None = None,
        labels: Sequence[str] | None = None,
        query: Sequence[float] | None = None,
        scale: float = 1.0,
        **kwargs: object,
    ) -> None:
        # Checked here in a fixed order, so that the message names the argument that is wrong
        # (traitlets would cross-check the traits in an order of its own).
        if key_vectors is not None:
            kwargs["key_vectors"] = _key_vectors(key_vectors)
            labels = default_labels(len(kwargs["key_vectors"])) if labels is None else labels
        if labels is not None:
            kwargs["labels"] = _labels(labels)
            QueryKeyExplorer._check_counts(len(kwargs.get("key_vectors", self.key_vectors)), kwargs["labels"])
        if query is not None:
            kwargs["query"] = vector("query", query)
        kwargs["scale"] = _scale(scale)
        _attend(kwargs.get("query", self.query), kwargs.get("key_vectors", self.key_vectors), kwargs["scale"],
                "query, key_vectors and scale")
        super().__init__(**kwargs)

    def set_keys(self, key_vectors: Sequence[Sequence[float]], labels: Sequence[str] | None = None) -> None:
        """Replace the keys (any number S >= 1) and their labels together."""
        key_vectors = list(key_vectors)
        with self.hold_sync(), self.hold_trait_notifications():  # checked, rolled back and sent together
            self.key_vectors = key_vectors
            self.labels = default_labels(len(key_vectors)) if labels is None else list(labels)

    def _attend(self) -> tuple[list[float], list[float]]:
        """weights (S,) and output (2,) of the current traits."""
        return _attend(self.query, self.key_vectors, self.scale, "query")

    @traitlets.default("weights")
    def _weights_default(self) -> list[float]:
        return self._attend()[0]

    @traitlets.default("output")
    def _output_default(self) -> list[float]:
        return self._attend()[1]

    @observe("query", "key_vectors", "scale")
    def _recompute(self, change: dict | None = None) -> None:
        weights, output = self._attend()
        with self.hold_sync():
            self.set_trait("weights", weights)
            self.set_trait("output", output)
            if isinstance(self.selected, int) and self.selected >= len(self.key_vectors):
                self.selected = "query"

    @validate("query")
    def _check_query(self, proposal: traitlets.Bunch) -> list[float]:
        query = vector("query", proposal.value)
        _attend(query, self.key_vectors, self.scale, "query")           # refuse scores that overflow
        return query

    @validate("key_vectors")
    def _check_key_vectors(self, proposal: traitlets.Bunch) -> list[list[float]]:
        key_vectors = _key_vectors(proposal.value)
        self._check_counts(len(key_vectors), self.labels)
        _attend(self.query, key_vectors, self.scale, "key_vectors")
        return key_vectors

    @validate("labels")
    def _check_labels(self, proposal: traitlets.Bunch) -> list[str]:
        labels = _labels(proposal.value)
        self._check_counts(len(self.key_vectors), labels)
        return labels

    @staticmethod
    def _check_counts(n_keys: int, labels: list[str]) -> None:
        if len(labels) != n_keys:
            raise ExplorerValueError(
                f"labels must hold one label per key: {n_keys} key_vectors but {len(labels)} labels {labels!r}; "
                "change both at once with set_keys(key_vectors, labels)"
            )

    @validate("scale")
    def _check_scale(self, proposal: traitlets.Bunch) -> float:
        scale = _scale(proposal.value)
        _attend(self.query, self.key_vectors, scale, "scale")
        return scale

    @validate("selected")
    def _check_selected(self, proposal: traitlets.Bunch) -> str | int:
        s, n = proposal.value, len(self.key_vectors)
        if s != "query" and (isinstance(s, bool) or not 0 <= s < n):
            raise ExplorerValueError(f"selected must be 'query' or a key index in 0..{n - 1}; got {s!r}")
        return s
