"""Evaluation of the encoder-decoders: greedy decoding, no teacher forcing.

``evaluate`` reports the exact-match accuracy (the whole output right) and the
per-character accuracy of an encoded data set; ``predict`` translates many strings
at once; ``accuracy_by`` and ``position_accuracy`` break the accuracy down, by a
property of each pair (its length, say) or by output position (chapters 2 and 3).
``greedy_decode`` is the course's version of what the learners write in chapter 2,
with the same signature.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from attn_course import _validate
from attn_course.data import PAD_ID, Encoded, Pair, batches
from attn_course.models import Seq2Seq

__all__ = ["Metrics", "evaluate", "predict", "greedy_decode", "exact_match", "accuracy_by",
           "position_accuracy", "threads"]


@dataclass(frozen=True)
class Metrics:
    exact_match: float              # fraction of outputs entirely right
    char_accuracy: float            # fraction of target tokens (EOS included) right, position by position


@contextmanager
def threads(n: int) -> Iterator[None]:
    """Run with n intra-op threads, then restore: one thread is steadier on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_model(model: object) -> None:
    _validate.instance("model", model, Seq2Seq, " (from build_model or load_model)")


@torch.no_grad()
@threads(1)
def evaluate(model: Seq2Seq, data: Encoded, batch_size: int = 1000) -> Metrics:
    """Greedy decoding of every example; exact match and per-character accuracy."""
    _check_model(model)
    model.check_encoded(data)
    batch_size = _validate.integer("batch_size", batch_size, 1)
    with model.evaluating():
        exact = correct = total = 0
        for batch in batches(data, batch_size, shuffle=False):
            batch = batch.to(model.device)
            target = batch.tgt_out                                           # (B, L) with EOS
            tokens, _ = model.greedy_decode(batch.src, batch.src_lengths, max_len=target.shape[1] + 1)
            width = max(tokens.shape[1], target.shape[1])
            pred = nn.functional.pad(tokens, (0, width - tokens.shape[1]), value=PAD_ID)   # (B, W)
            gold = nn.functional.pad(target, (0, width - target.shape[1]), value=PAD_ID)   # (B, W)
            real = gold != PAD_ID
            exact += ((pred == gold) | ~real).all(dim=1).sum().item()
            correct += ((pred == gold) & real).sum().item()
            total += real.sum().item()
    return Metrics(exact / len(data), correct / total)


@torch.no_grad()
@threads(1)
def predict(model: Seq2Seq, sources: list[str], batch_size: int = 1000, max_len: int = 32) -> list[str]:
    """Greedy translations of many strings at once (batched, no teacher forcing); [] for no sources."""
    _check_model(model)
    if isinstance(sources, (str, bytes)) or not isinstance(sources, Sequence):
        hint = ": wrap one source as [source]" if isinstance(sources, str) else ""
        raise TypeError(f"sources must be a list of str; got {type(sources).__name__}{hint}")
    for i, source in enumerate(sources):
        if not isinstance(source, str):
            raise TypeError(f"sources[{i}] must be a str; got {type(source).__name__}")
        if not source:
            raise ValueError(f"sources[{i}] is an empty string; the encoder needs at least one token")
    batch_size = _validate.integer("batch_size", batch_size, 1)
    max_len = _validate.integer("max_len", max_len, 1)
    if not sources:
        return []
    data = model.config.encode([(s, "") for s in sources])
    outputs = []
    with model.evaluating():
        for batch in batches(data, batch_size, shuffle=False):
            batch = batch.to(model.device)
            tokens, _ = model.greedy_decode(batch.src, batch.src_lengths, max_len=max_len)
            outputs += [model.config.tgt_vocab.decode(row) for row in tokens.tolist()]
    return outputs


def greedy_decode(model: Seq2Seq, src: Tensor, src_lengths: Tensor, max_len: int = 32) -> Tensor:
    """The tokens (B, T) of :meth:`Seq2Seq.greedy_decode`, T <= max_len, <pad> after each row's </s>.

    A function of the model, with the signature of chapter 2's exercise: src (B, S), src_lengths (B,).
    """
    _check_model(model)
    return model.greedy_decode(src, src_lengths, max_len)[0]


def exact_match(outputs: Sequence[str], targets: Sequence[str]) -> float:
    """The fraction of outputs equal to their target, whole strings (as ``evaluate``'s exact_match)."""
    if len(outputs) != len(targets) or not targets:
        raise ValueError(f"outputs and targets must be two lists of one length >= 1; got {len(outputs)} and "
                         f"{len(targets)}")
    return sum(o == t for o, t in zip(outputs, targets)) / len(targets)


def accuracy_by(key: Callable[[str, str], Hashable], pairs: Sequence[Pair], outputs: Sequence[str],
                min_size: int = 20) -> tuple[list, list[float]]:
    """Exact match per group: ``key(source, target)`` names the group of each pair.

    Returns ``(groups, accuracies)``, groups sorted, each with at least ``min_size`` pairs
    (smaller groups would give noisy numbers and are left out).
    """
    if len(pairs) != len(outputs):
        raise ValueError(f"outputs must hold one output per pair: {len(pairs)} pairs, {len(outputs)} outputs")
    groups = defaultdict(list)
    for (source, target), output in zip(pairs, outputs):
        groups[key(source, target)].append(output == target)
    names = sorted(g for g in groups if len(groups[g]) >= min_size)
    return names, [sum(groups[g]) / len(groups[g]) for g in names]


def position_accuracy(targets: Sequence[str], outputs: Sequence[str], length: int) -> list[float]:
    """The fraction right at each of ``length`` character positions, over the pairs whose
    target and output both have ``length`` characters (for sums: hundreds, tens, units).

    Raises ValueError when no pair qualifies (there would be nothing to average).
    """
    if len(targets) != len(outputs):
        raise ValueError(f"outputs must hold one output per target: {len(targets)} targets, {len(outputs)} outputs")
    length = _validate.integer("length", length, 1)
    rows = [(t, o) for t, o in zip(targets, outputs) if len(t) == length and len(o) == length]
    if not rows:
        raise ValueError(f"no target and output both have length={length} characters")
    return [sum(t[p] == o[p] for t, o in rows) / len(rows) for p in range(length)]
