"""Exercise checkers: one per exercise, each ``check.<name>(fn) -> bool``.

A checker runs the learner's function on seeded inputs (fresh copies for every
call), compares with the package's reference, and prints one friendly line
naming the first thing that is wrong: not attempted yet, an exception, the
wrong type, dtype or shape, NaN, a changed input, wrong values (with a hint
when the answer matches a typical mistake), then gradients. It returns True or
False and never raises, whatever the learner's code does. It never prints the
solution.

``progress()`` lists which exercises have passed in this session.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from attn_course.attention import dot_product_attention

__all__ = ["attention_weights", "self_attention_output", "progress"]

PASS, FAIL, TODO = "✅", "❌", "✏️"
_results: dict[str, bool] = {}


@dataclass(frozen=True)
class Case:
    """One seeded input for a checker, the reference answer and typical wrong answers."""

    args: tuple[Tensor, ...]
    legend: tuple[str, ...]                      # shape legend of each argument, e.g. "(S, D)"
    expected: Tensor
    out_legend: str                              # shape legend of the answer
    mistakes: Sequence[tuple[Tensor, str]] = field(default_factory=tuple)


class _Problem(Exception):
    """What is wrong with the learner's answer, as one line, with the icon to show."""

    def __init__(self, message: str, icon: str = FAIL):
        super().__init__(message)
        self.icon = icon


def _describe_args(case: Case) -> str:
    return ", ".join(f"{leg} = {tuple(a.shape)}" for a, leg in zip(case.args, case.legend))


def _call(fn: Callable, case: Case, requires_grad: bool = False) -> tuple[object, tuple[Tensor, ...]]:
    """Call fn on fresh copies of the case's inputs; turn any exception into a _Problem."""
    copies = tuple(a.detach().clone().requires_grad_(requires_grad) for a in case.args)
    try:
        return fn(*copies), copies
    except NotImplementedError:
        raise _Problem("not attempted yet: replace `raise NotImplementedError` with your code.", TODO) from None
    except (KeyboardInterrupt, SystemExit) as e:
        raise _Problem(f"your function stopped with {type(e).__name__}.") from None
    except BaseException as e:  # the learner's code may raise anything
        where = traceback.extract_tb(e.__traceback__)[-1]
        line = f" (line {where.lineno}: `{where.line.strip()}`)" if where.line else ""
        raise _Problem(
            f"your function raised {type(e).__name__}: {e}{line}. It was called with {_describe_args(case)}."
        ) from None


def _check_form(got: object, case: Case) -> Tensor:
    """Type, dtype, shape and finiteness of the answer."""
    exp = case.expected
    if got is None:
        raise _Problem("your function returned None: did you forget `return`?")
    if isinstance(got, tuple) and got and isinstance(got[0], Tensor):
        raise _Problem(f"your function returned a tuple of {len(got)}; return one tensor of shape {case.out_legend}.")
    if not isinstance(got, Tensor):
        kind = type(got).__module__.split(".")[0] + "." + type(got).__name__
        raise _Problem(f"expected a torch.Tensor, got {kind}: keep to torch operations (no NumPy, no lists).")
    if got.dtype != exp.dtype:
        raise _Problem(f"expected dtype {exp.dtype} (like the inputs), got {got.dtype}.")
    if got.shape != exp.shape:
        hint = ""
        known = [h for w, h in case.mistakes if w.shape == got.shape and torch.allclose(got.detach(), w, atol=1e-5)]
        if known:
            hint = " " + known[0][0].upper() + known[0][1:]
        elif got.shape == exp.shape[::-1] and got.dim() > 1:
            hint = " It is transposed: check the order of your matrix product."
        elif got.numel() == exp.numel():
            hint = " Same number of elements: check which axis you reduce or squeeze."
        raise _Problem(
            f"expected shape {case.out_legend} = {tuple(exp.shape)}, got {tuple(got.shape)} "
            f"(inputs: {_describe_args(case)}).{hint}"
        )
    bad = ~torch.isfinite(got.detach())
    if bad.any():
        idx = tuple(bad.nonzero()[0].tolist())
        raise _Problem(f"the answer holds NaN or inf (first at index {idx}). torch.softmax is stable; exp/sum may overflow.")
    return got


def _check_values(got: Tensor, case: Case, atol: float = 1e-5) -> None:
    exp = case.expected
    if torch.allclose(got.detach(), exp, atol=atol, rtol=1e-4):
        return
    for wrong, hint in case.mistakes:
        if wrong.shape == got.shape and torch.allclose(got.detach(), wrong, atol=atol, rtol=1e-4):
            raise _Problem(f"wrong values: {hint}")
    diff = (got.detach() - exp).abs()
    idx = tuple(torch.nonzero(diff == diff.max())[0].tolist())
    raise _Problem(
        f"wrong values: largest difference {diff.max().item():.3g} at index {idx} "
        f"(expected {exp[idx].item():.4f}, got {got[idx].item():.4f})."
    )


def _check_unchanged(copies: tuple[Tensor, ...], case: Case) -> None:
    for name, before, after in zip(case.legend, case.args, copies):
        if not torch.equal(before, after.detach()):
            raise _Problem(f"your function changed its input {name} in place (e.g. `x -= ...`, `x.exp_()`); work on a copy.")


def _check_gradients(fn: Callable, case: Case, reference: Callable) -> None:
    got, copies = _call(fn, case, requires_grad=True)
    if not isinstance(got, Tensor) or not got.requires_grad:
        raise _Problem("right values, but no gradient flows back to the inputs: avoid .detach(), .item(), .numpy().")
    weight = torch.linspace(-1.0, 1.0, got.numel(), dtype=got.dtype).reshape(got.shape)
    grads = torch.autograd.grad((got * weight).sum(), copies, allow_unused=True)
    ref_inputs = tuple(a.detach().clone().requires_grad_(True) for a in case.args)
    ref_grads = torch.autograd.grad((reference(*ref_inputs) * weight).sum(), ref_inputs)
    for name, g, r in zip(case.legend, grads, ref_grads):
        if g is None or not torch.allclose(g, r, atol=1e-4, rtol=1e-3):
            raise _Problem(f"right values, but the gradient with respect to {name} is wrong: is some step detached?")


def _run(name: str, fn: object, cases: Sequence[Case], reference: Callable) -> bool:
    """Run every check on every case; print one line; return whether all passed."""
    try:
        if not callable(fn):
            raise _Problem(f"pass your function itself, e.g. check.{name}(my_function); got {type(fn).__name__}.")
        for case in cases:
            got, copies = _call(fn, case)
            got = _check_form(got, case)
            _check_unchanged(copies, case)
            _check_values(got, case)
        _check_gradients(fn, cases[0], reference)
    except _Problem as p:
        print(f"{p.icon} {name}: {p}")
        _results[name] = False
        return False
    except BaseException as e:  # a bug in the checker must never crash the learner's kernel
        print(f"{FAIL} {name}: the checker itself hit {type(e).__name__}: {e}. Please report it.")
        _results[name] = False
        return False
    print(f"{PASS} {name}: correct, on {len(cases)} test inputs, gradients included.")
    _results[name] = True
    return True


def progress(names: Sequence[str] = ()) -> dict[str, bool]:
    """Print and return which exercises have passed in this session (all checkers by default)."""
    names = tuple(names) or tuple(n for n in __all__ if n != "progress")
    status = {n: _results.get(n, False) for n in names}
    for n, ok in status.items():
        tried = n in _results
        print(f"{PASS if ok else (FAIL if tried else '·')} {n}" + ("" if tried else " (not checked yet)"))
    return status


# --- chapter 1: self-attention --------------------------------------------------------

def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _weights_reference(query: Tensor, keys: Tensor) -> Tensor:
    return torch.softmax(keys @ query, dim=-1)                  # (S,)


def _weights_cases() -> list[Case]:
    cases = []
    for seed, (s, d) in enumerate([(5, 3), (4, 2), (7, 6)]):
        g = _gen(seed)
        q, k = torch.randn(d, generator=g), torch.randn(s, d, generator=g)
        scores = k @ q                                           # (S,)
        mistakes = (
            (scores, "these are the raw scores k·q. Turn them into weights with a softmax."),
            (scores / scores.sum(), "you divided the scores by their sum; use the softmax (exp, then normalise)."),
            (torch.ones(s), "every weight is 1: the softmax ran over an axis of length 1. Apply it over the S keys."),
            (torch.ones(s, 1), "every weight is 1: the softmax ran over an axis of length 1. Apply it over the S keys."),
            (torch.full((s,), 1.0 / s), "all weights are equal: did the softmax see the scores (k·q) at all?"),
            (torch.softmax(-scores, -1), "the weights favour the least similar keys: check the sign of the scores."),
        )
        cases.append(Case((q, k), ("query (D,)", "keys (S, D)"), _weights_reference(q, k), "(S,)", mistakes))
    return cases


def attention_weights(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(query (D,), keys (S, D)) -> weights (S,)``: softmax of the dot products."""
    return _run("attention_weights", fn, _weights_cases(), _weights_reference)


def _self_attention_reference(x: Tensor) -> Tensor:
    return dot_product_attention(x, x, x)[0]                     # (N, D)


def _self_attention_cases() -> list[Case]:
    cases = []
    for seed, (n, d) in enumerate([(6, 3), (4, 5), (3, 2)], start=10):
        x = torch.randn(n, d, generator=_gen(seed))
        scores = x @ x.T                                         # (N, N)
        w = scores.softmax(-1)
        mistakes = (
            (scores @ x, "you used the raw scores X Xᵀ as weights: apply the softmax over each row first."),
            # X Xᵀ is symmetric, so a softmax over dim 0 and Wᵀ X give the same answer.
            (w.T @ x, "the weights are transposed: the softmax runs over each query's row (dim=-1), "
                      "and the output is W X, not Wᵀ X."),
            (x, "this is the input unchanged: return the weighted sum of the inputs, W X."),
            (w, "this is the weight matrix W (N, N); return the weighted sum of the inputs, W X (N, D)."),
        )
        cases.append(Case((x,), ("X (N, D)",), _self_attention_reference(x), "(N, D)", mistakes))
    return cases


def self_attention_output(fn: Callable[[Tensor], Tensor]) -> bool:
    """Check ``fn(X (N, D)) -> outputs (N, D)``: softmax(X Xᵀ) X, the softmax over each row."""
    return _run("self_attention_output", fn, _self_attention_cases(), _self_attention_reference)
