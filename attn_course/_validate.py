"""Argument checks shared by the package's public functions and layers (private).

Each check raises ``TypeError`` or ``ValueError`` whose message names the argument
as the caller wrote it, the expected shape in the legend's letters, and what was
passed, e.g. ``key must be (..., S, D) with D=8 as in query; got (2, 5, 6)``.
Kept apart so that :mod:`attn_course.attention` reads as the maths.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence

import torch
from torch import Tensor


def shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def float_tensor(name: str, t: object, legend: str, min_dim: int = 2, minus_inf_ok: bool = False) -> None:
    """A dense, finite, floating tensor with at least ``min_dim`` dims, ``legend`` naming them.

    minus_inf_ok: -inf is allowed too (in scores, where it means a masked key)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {legend}; got {type(t).__name__}")
    if t.layout != torch.strided:
        raise TypeError(f"{name} must be a dense tensor; got layout {t.layout}: convert with {name}.to_dense()")
    if t.is_meta:
        raise TypeError(f"{name} must hold values; got a tensor on the 'meta' device, which has none")
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor (e.g. torch.float32); got dtype {t.dtype}")
    if t.dim() < min_dim:
        raise ValueError(f"{name} must be {legend} with at least {min_dim} dims; got shape {shape(t)}")
    finite(name, t.masked_fill(t == float("-inf"), 0.0) if minus_inf_ok else t,
           "" if not minus_inf_ok else " (or -inf, which means masked)")


def finite(name: str, t: Tensor, allowed: str = "") -> None:
    """No NaN and no infinity in ``t``."""
    if not torch.isfinite(t).all():
        bad = tuple((~torch.isfinite(t)).nonzero()[0].tolist())
        raise ValueError(f"{name} must be finite{allowed}; got {t[bad].item()} at index {bad}")


def qkv(query: Tensor, key: Tensor, value: Tensor, names: Sequence[str], query_legend: str = "(..., L, D)") -> None:
    """query (..., L, D), key (..., S, D), value (..., S, Dv): one dtype, one device, matching widths and lengths."""
    qn, kn, vn = names
    float_tensor(qn, query, query_legend)
    float_tensor(kn, key, "(..., S, D)")
    float_tensor(vn, value, "(..., S, Dv)")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(f"{qn}, {kn} and {vn} must share one dtype; got {query.dtype}, {key.dtype}, {value.dtype}")
    if not query.device == key.device == value.device:
        raise ValueError(f"{qn}, {kn} and {vn} must be on one device; got {query.device}, {key.device}, {value.device}")
    d = query.shape[-1]
    if d == 0:
        raise ValueError(f"{qn} must be {query_legend} with D >= 1; got {shape(query)}")
    if key.shape[-1] != d:
        raise ValueError(f"{kn} must be (..., S, D) with D={d} as in {qn}; got {shape(key)}")
    s = key.shape[-2]
    if s == 0:
        raise ValueError(f"{kn} must be (..., S, D) with S >= 1 (nothing to attend to); got {shape(key)}")
    if value.shape[-2] != s:
        raise ValueError(f"{vn} must be (..., S, Dv) with S={s} as in {kn}; got {shape(value)}")
    try:
        torch.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except RuntimeError:
        raise ValueError(f"the batch dims (...) of {qn} {shape(query)}, {kn} {shape(key)} and {vn} {shape(value)} "
                         "do not broadcast") from None


def mask(m: object, scores_shape: torch.Size, name: str = "mask") -> None:
    """A boolean mask that broadcasts to the scores' shape (..., L, S) without growing it."""
    legend = f"(..., L, S) = {tuple(scores_shape)}"
    if not isinstance(m, Tensor):
        raise TypeError(f"{name} must be a boolean torch.Tensor broadcastable to {legend}; got {type(m).__name__}")
    if m.dtype != torch.bool:
        raise TypeError(f"{name} must be boolean (True = may attend); got dtype {m.dtype}. "
                        "Convert with mask.bool() or build it with causal_mask / padding_mask")
    try:
        ok = torch.broadcast_shapes(m.shape, scores_shape) == scores_shape
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be broadcastable to {legend}; got {shape(m)}")


def scale(s: object) -> None:
    """A finite float, or a finite 0-d floating tensor (a learnable scale)."""
    if isinstance(s, Tensor):
        if not s.is_floating_point():
            raise TypeError(f"scale must be a float or a 0-d floating tensor; got a tensor of dtype {s.dtype}")
        if s.dim() != 0:
            raise ValueError(f"scale must be a float or a 0-d tensor; got a tensor of shape {shape(s)}")
        finite("scale", s)
    elif isinstance(s, bool) or not isinstance(s, (int, float)):
        raise TypeError(f"scale must be a float or a 0-d floating tensor; got {type(s).__name__}")
    elif not math.isfinite(s):
        raise ValueError(f"scale must be finite; got {s}")


SEED_RANGE = (-2**63, 2**64 - 1)   # what torch.manual_seed and torch.Generator.manual_seed accept


def integer(name: str, n: object, minimum: int | None = None, maximum: int | None = None) -> int:
    """An int (NumPy and 0-d integer tensors too, not bool) in [minimum, maximum], as a Python int."""
    try:
        if isinstance(n, bool):
            raise TypeError
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"{name} must be an int; got {type(n).__name__}") from None
    if (minimum is not None and n < minimum) or (maximum is not None and n > maximum):
        interval = (f">= {minimum}" if maximum is None else f"<= {maximum}" if minimum is None
                    else f"in [{minimum}, {maximum}]")
        raise ValueError(f"{name} must be an int {interval}; got {n}")
    return n


def real(name: str, value: object, low: float, high: float | None = None) -> float:
    """A finite real number (not a bool, not a str) in (low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number (int or float); got {type(value).__name__} {value!r:.40}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value}")
    if value <= low or (high is not None and value > high):
        interval = f"> {low}" if high is None else f"in ({low}, {high}]"
        raise ValueError(f"{name} must be a number {interval}; got {value}")
    return value


def choice(name: str, value: object, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}; got {value!r:.40}")
    return value


def token_ids(name: str, ids: object, V: int, vocab: str, legend: str) -> None:
    """ids: (B, S) or (B, L) integer token ids, each in [0, V). One min/max per call."""
    if not isinstance(ids, Tensor):
        raise TypeError(f"{name} must be a {legend} tensor of token ids; got {type(ids).__name__}")
    if ids.dim() != 2 or 0 in ids.shape:
        raise ValueError(f"{name} must be {legend} with at least one row and column; got shape {shape(ids)}")
    if ids.dtype not in (torch.long, torch.int32):
        raise TypeError(f"{name} must hold integer token ids (torch.long); got {ids.dtype}")
    low, high = (int(x) for x in torch.aminmax(ids))
    if low < 0 or high >= V:
        raise ValueError(f"{name} ids must lie in [0, V={V}), the {vocab} vocabulary; got ids from {low} to {high}")


def lengths(name: str, n: object, src: Tensor) -> None:
    """n: (B,) integers in [1, S], as many as the rows of src (B, S)."""
    B, S = src.shape
    if not isinstance(n, Tensor):
        raise TypeError(f"{name} must be a (B,) tensor of ints; got {type(n).__name__}")
    if n.dtype not in (torch.long, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"{name} must hold integers (torch.long); got {n.dtype}")
    if n.shape != (B,):
        raise ValueError(f"{name} must be (B,) with B={B} as in src; got shape {shape(n)}")
    low, high = (int(x) for x in torch.aminmax(n))
    if low < 1 or high > S:
        raise ValueError(f"{name} must lie in [1, S={S}] (src is {shape(src)}); got lengths from {low} to {high}")


def instance(name: str, value: object, cls: type, hint: str = "") -> None:
    """``value`` is a ``cls``; the message names the argument, the class and what came instead."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__}{hint}; got {type(value).__name__}")


def flag(name: str, b: object) -> bool:
    if not isinstance(b, bool):
        raise TypeError(f"{name} must be True or False; got {b!r:.40}")
    return b


def matches_parameters(layer: str, names: Sequence[str], tensors: Sequence[Tensor], parameter: Tensor) -> None:
    """The inputs have the dtype and device of the layer's parameters: a message naming both."""
    for name, t in zip(names, tensors):
        if t.dtype != parameter.dtype:
            raise TypeError(f"{name} has dtype {t.dtype} but {layer}'s parameters are {parameter.dtype}: "
                            f"convert the input ({name}.to({parameter.dtype})) or the layer (layer.to({t.dtype}))")
        if t.device != parameter.device:
            raise ValueError(f"{name} is on {t.device} but {layer}'s parameters are on {parameter.device}: "
                             f"move one of them (layer.to({str(t.device)!r}))")
