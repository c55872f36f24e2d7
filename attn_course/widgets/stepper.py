"""DecodingStepper: step through a model's greedy decoding, one output token at a time.

At each step the view shows the output so far, the attention weights of that step
over the source tokens, the token chosen and (if given) the top candidates with
their probabilities. The decodings are computed once, in Python (at build time in
the book), and stored as traits; the ES module beside this file (stepper.js) draws
everything from them, in the browser, so stepping works in the static book with no
kernel (stepper.js is joined with the shared code it imports by
:mod:`attn_course.widgets._esm`). :func:`describe_step` is the reference for what the view says at each step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import anywidget
import torch
import traitlets
from traitlets import Int, List, Unicode, observe, validate

from attn_course.data import EOS, EOS_ID
from attn_course.widgets._base import ExplorerValueError, fmt, is_real
from attn_course.widgets._esm import join_css, join_esm

__all__ = ["DecodingStepper", "describe_step"]

TOP_K = 3                # candidates listed at each step by from_model
ROW_SUM_TOL = 1e-4       # each step's weights must sum to 1 within this
FIELDS = ("source", "output", "weights", "target", "top")

# Shown by DecodingStepper() with no arguments: "16+75" -> "91", hand-made weights.
_DEMO = {
    "source": ["1", "6", "+", "7", "5"], "output": ["9", "1", EOS], "target": "91",
    "weights": [[0.06, 0.42, 0.04, 0.06, 0.42], [0.48, 0.04, 0.02, 0.44, 0.02], [0.1, 0.1, 0.6, 0.1, 0.1]],
    "top": [[["9", 0.9], ["8", 0.07], ["0", 0.02]], [["1", 0.8], ["2", 0.15], ["0", 0.03]],
            [[EOS, 0.97], ["1", 0.02], ["0", 0.01]]],
}



def _quote(text: str) -> str:
    return "space" if text == " " else f"'{text}'"


def describe_step(example: dict, step: int, separator: str = "") -> tuple[str, int]:
    """What the view's readout says at ``step`` (0-based) of ``example``, and the index of
    the source token with the most weight (the first one on ties), as stepper.js's
    describeStep() computes them. ``separator`` joins output tokens into text."""
    source, output, row = example["source"], example["output"], example["weights"][step]
    best = max(range(len(row)), key=lambda j: (row[j], -j))
    so_far = separator.join(output[:step])
    text = (f"step {step + 1} of {len(output)}: output so far {_quote(so_far) if step else 'empty'}, "
            f"chose {_quote(output[step])}")
    if example.get("top"):
        text += f" (probability {fmt(example['top'][step][0][1])})"
    text += f"; most weight on input {_quote(source[best])} at position {best + 1} of {len(source)} ({fmt(row[best])})"
    if step == len(output) - 1 and example.get("target") is not None:
        written = separator.join(output[:-1] if output[-1] == EOS else output)
        verdict = "matches" if written == example["target"] else "differs from"
        text += f"; the output {verdict} the expected {_quote(example['target'])}"
    return text, best


def _strings(where: str, value: object, empty_ok: bool = False) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, str) for t in value) or not (value or empty_ok):
        raise ExplorerValueError(f"{where} must be a non-empty list of token strings; got {value!r:.80}")
    return list(value)


def _weights(where: str, rows: object, T: int, S: int) -> list[list[float]]:
    """(T, S) finite non-negative floats, each row summing to 1."""
    if not isinstance(rows, (list, tuple)) or len(rows) != T:
        n = len(rows) if isinstance(rows, (list, tuple)) else type(rows).__name__
        raise ExplorerValueError(f"{where} must be (T, S) = ({T}, {S}): one row per output token; got {n} rows")
    checked = []
    for t, row in enumerate(rows):
        if not isinstance(row, (list, tuple)) or len(row) != S:
            n = len(row) if isinstance(row, (list, tuple)) else type(row).__name__
            raise ExplorerValueError(f"{where}[{t}] must hold S={S} floats, one per source token; got {n}")
        if not all(is_real(w) and w >= 0 for w in row):
            raise ExplorerValueError(f"{where}[{t}] must hold finite floats >= 0; got {list(row)!r:.120}")
        if abs(math.fsum(row) - 1) > ROW_SUM_TOL:
            raise ExplorerValueError(f"{where}[{t}] must sum to 1 (within {ROW_SUM_TOL}); got {math.fsum(row)!r}")
        checked.append([float(w) for w in row])
    return checked


def _top(where: str, top: object, output: list[str]) -> list[list[list]]:
    """T lists of [token, probability] pairs, the chosen token first, probabilities non-increasing."""
    if not isinstance(top, (list, tuple)) or len(top) != len(output):
        n = len(top) if isinstance(top, (list, tuple)) else type(top).__name__
        raise ExplorerValueError(f"{where} must hold one list of candidates per output token (T={len(output)}); got {n}")
    checked = []
    for t, candidates in enumerate(top):
        ok = isinstance(candidates, (list, tuple)) and candidates and all(
            isinstance(c, (list, tuple)) and len(c) == 2 and isinstance(c[0], str) and isinstance(c[1], (int, float))
            and not isinstance(c[1], bool) and 0 <= c[1] <= 1 for c in candidates)
        if not ok:
            raise ExplorerValueError(f"{where}[{t}] must be a non-empty list of [token, probability in [0, 1]] "
                                     f"pairs; got {candidates!r:.120}")
        if candidates[0][0] != output[t]:
            raise ExplorerValueError(f"{where}[{t}] must list the chosen token output[{t}]={output[t]!r} first "
                                     f"(greedy decoding chooses the most probable); got {candidates[0][0]!r}")
        probabilities = [float(p) for _, p in candidates]
        if any(a < b for a, b in zip(probabilities, probabilities[1:])):
            raise ExplorerValueError(f"{where}[{t}] must list candidates from the most probable down; "
                                     f"got probabilities {probabilities}")
        checked.append([[token, p] for (token, _), p in zip(candidates, probabilities)])
    return checked


def _example(i: int, example: object) -> dict:
    """One checked example, with all five fields (target and top None when not given)."""
    where = f"examples[{i}]"
    if not isinstance(example, dict) or not {"source", "output", "weights"} <= set(example) <= set(FIELDS):
        got = sorted(example) if isinstance(example, dict) else type(example).__name__
        raise ExplorerValueError(f"{where} must be a dict with keys source, output, weights (and optionally "
                                 f"target, top); got {got}")
    source = _strings(f"{where}.source", example["source"])
    output = _strings(f"{where}.output", example["output"])
    target, top = example.get("target"), example.get("top")
    if target is not None and not isinstance(target, str):
        raise ExplorerValueError(f"{where}.target must be a str or None; got {type(target).__name__}")
    return {"source": source, "output": output,
            "weights": _weights(f"{where}.weights", example["weights"], len(output), len(source)),
            "target": target, "top": None if top is None else _top(f"{where}.top", top, output)}


def _check_index(name: str, value: object, n: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
        raise ExplorerValueError(f"{name} must be an index in 0..{n - 1} ({what}); got {value!r}")
    return value


class DecodingStepper(anywidget.AnyWidget):
    """Step through greedy decodings: the output so far, the weights over the source, the chosen token.

    Traits are the API, synced both ways: ``stepper.step = 3`` in Python moves the
    view; the view's buttons, slider and keys set ``stepper.step`` and ``stepper.example``.

    examples: >= 1 dicts, one decoding each: ``source`` (S source tokens, in written
    order), ``output`` (T output tokens, ending with "</s>" if the decoding stopped),
    ``weights`` (T rows of S floats: the attention of each output step over the
    source, each row summing to 1), optionally ``target`` (the expected output text)
    and ``top`` (T lists of [token, probability] pairs, the chosen token first).
    example: index of the example shown.  step: 0..T-1, the output token shown.
    separator: how tokens join into text ("" for characters, " " for words).
    title: a heading (optional).
    Changing ``examples`` or ``example`` clamps ``example`` and ``step`` into range.
    Refused values raise :class:`ExplorerValueError` and leave the state unchanged.
    Build one from a trained model with :meth:`from_model`.
    """

    _esm = join_esm("stepper.js")
    _css = join_css("stepper.css")

    examples = List(default_value=[_DEMO]).tag(sync=True)       # checked by _check_examples
    example = Int(0).tag(sync=True)
    step = Int(0).tag(sync=True)
    separator = Unicode("").tag(sync=True)
    title = Unicode("").tag(sync=True)

    @classmethod
    def from_model(cls, model: torch.nn.Module, sources: Sequence[str], targets: Sequence[str] | None = None,
                   max_len: int = 32, **kwargs: object) -> DecodingStepper:
        """Decode each of ``sources`` greedily with ``model`` (a Seq2Seq with the attention
        decoder) and show the decodings; ``targets`` are the expected outputs (optional).
        The weights are ``model.translate(source, max_len)``'s; the top candidates come
        from running the decoder step by step, as greedy decoding does. Other keyword
        arguments (title, example, step) go to the constructor."""
        if isinstance(sources, str) or not isinstance(sources, Sequence) or not sources \
                or not all(isinstance(s, str) and s for s in sources):
            raise TypeError(f"sources must be a non-empty list of non-empty str; got {sources!r:.80}")
        if targets is not None and (isinstance(targets, str) or len(targets) != len(sources)):
            n = "a str" if isinstance(targets, str) else f"{len(targets)} targets"
            raise ValueError(f"targets must hold one str per source ({len(sources)}); got {n}")
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
            raise ValueError(f"max_len must be an int >= 1; got {max_len!r}")
        config = model.config
        examples = []
        for i, text in enumerate(sources):
            out, weights = model.translate(text, max_len)
            if weights is None:
                raise ValueError(f"the stepper needs a model with attention weights; this model's decoder is "
                                 f"{config.decoder!r} (model.translate returned None): use decoder='attention'")
            tokens = config.tgt_vocab.tokenize(out)
            stopped = weights.shape[0] == len(tokens) + 1                  # the last step chose </s>
            output = tokens + [EOS] if stopped else tokens
            top = _top_candidates(model, text, len(output))
            if [c[0][0] for c in top] != output:                            # a bug, not a user error
                raise RuntimeError(f"stepping the decoder of sources[{i}] gave {[c[0][0] for c in top]}, "
                                   f"but model.translate gave {output}")
            examples.append({"source": config.src_vocab.tokenize(text), "output": output,
                             "weights": weights.tolist(), "target": None if targets is None else targets[i],
                             "top": top})
        kwargs.setdefault("separator", "" if config.tgt_vocab.level == "char" else " ")
        return cls(examples=examples, **kwargs)

    def describe(self) -> str:
        """What the readout says now (the reference for the view's aria-live readout)."""
        return describe_step(self.examples[self.example], self.step, self.separator)[0]

    @validate("examples")
    def _check_examples(self, proposal: traitlets.Bunch) -> list[dict]:
        if not proposal.value:
            raise ExplorerValueError("examples must hold at least one decoding; got []")
        return [_example(i, e) for i, e in enumerate(proposal.value)]

    @validate("example")
    def _check_example(self, proposal: traitlets.Bunch) -> int:
        return _check_index("example", proposal.value, len(self.examples), f"{len(self.examples)} examples")

    @validate("step")
    def _check_step(self, proposal: traitlets.Bunch) -> int:
        T = len(self.examples[min(self.example, len(self.examples) - 1)]["output"])
        return _check_index("step", proposal.value, T, f"example {self.example} has T={T} output tokens")

    @observe("examples", "example")
    def _clamp(self, change: dict | None = None) -> None:
        with self.hold_sync():
            self.example = min(self.example, len(self.examples) - 1)
            self.step = min(self.step, len(self.examples[self.example]["output"]) - 1)


def _token_name(vocab, i: int) -> str:
    """The token of id i as the output tokens show it: "</s>" for EOS, UNK as decode() shows it."""
    return EOS if i == EOS_ID else vocab.decode([i])


def _top_candidates(model: torch.nn.Module, text: str, T: int) -> list[list[list]]:
    """The first T steps of ``model``'s greedy decoding of ``text`` (Seq2Seq.decode_steps): at each
    step the chosen (most probable) token first, then the next most probable, TOP_K in all, with
    their probabilities."""
    vocab = model.config.tgt_vocab
    src, lengths = model.encode_source(text)                                       # (1, S), (1,)
    rows = []
    with model.evaluating():
        for step in model.decode_steps(src, lengths, max_len=T):
            probs = step.logits[0].softmax(dim=-1)                                  # (V,), <pad> and <s> at 0
            chosen = int(step.token[0])
            others = [i for i in probs.topk(min(TOP_K + 1, len(vocab) - 2)).indices.tolist() if i != chosen]
            rows.append([[_token_name(vocab, i), float(probs[i])] for i in [chosen, *others][:TOP_K]])
    return rows
