"""The engine behind attn_course.check: run a learner's function safely and say what is wrong.

Each exercise is a list of seeded :class:`Case` objects. :func:`run` calls the
learner's function on fresh copies of each case's inputs and stops at the first
problem, in this order: not attempted, an exception, the type, dtype and shape
of the answer, NaN, a changed input, the values (naming a typical mistake when
the answer matches one), then the gradients. It prints one line, records the
result for ``check.progress()``, returns a bool, and never raises.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

PASS, FAIL, TODO = "✅", "❌", "✏️"
_results: dict[str, bool | None] = {}   # None: not attempted yet


@dataclass(frozen=True)
class Case:
    """One seeded input for a checker, the reference answer and typical wrong answers."""

    args: tuple[object, ...]                     # tensors are copied for every call; others passed as they are
    legend: tuple[str, ...]                      # name and shape legend of each argument, e.g. "keys (S, D)"
    expected: Tensor
    out_legend: str                              # shape legend of the answer
    mistakes: Sequence[tuple[Tensor, str]] = field(default_factory=tuple)
    compare: Callable[[Tensor], None] | None = None   # custom value check raising Problem (default: allclose)


class Problem(Exception):
    """What is wrong with the learner's answer, as one line, with the icon to show."""

    def __init__(self, message: str, icon: str = FAIL):
        super().__init__(message)
        self.icon = icon


def _describe_args(case: Case) -> str:
    return ", ".join(f"{leg} = {tuple(a.shape)}" if isinstance(a, Tensor) else leg
                     for a, leg in zip(case.args, case.legend))


def _copy(a: object, requires_grad: bool) -> object:
    if not isinstance(a, Tensor):
        return a
    return a.detach().clone().requires_grad_(requires_grad and a.is_floating_point())


def _call(fn: Callable, case: Case, requires_grad: bool = False) -> tuple[object, tuple[Tensor, ...]]:
    """Call fn on fresh copies of the case's inputs; turn any exception into a Problem."""
    copies = tuple(_copy(a, requires_grad) for a in case.args)
    try:
        return fn(*copies), copies
    except NotImplementedError:
        raise Problem("not attempted yet: replace `raise NotImplementedError` with your code.", TODO) from None
    except (KeyboardInterrupt, SystemExit) as e:
        raise Problem(f"your function stopped with {type(e).__name__}.") from None
    except BaseException as e:  # the learner's code may raise anything
        where = traceback.extract_tb(e.__traceback__)[-1]
        line = f" (line {where.lineno}: `{where.line.strip()}`)" if where.line else ""
        raise Problem(
            f"your function raised {type(e).__name__}: {e}{line}. It was called with {_describe_args(case)}."
        ) from None


def _check_form(got: object, case: Case) -> Tensor:
    """Type, dtype, shape and finiteness of the answer."""
    exp = case.expected
    if got is None:
        raise Problem("your function returned None: did you forget `return`?")
    if isinstance(got, tuple) and got and isinstance(got[0], Tensor):
        raise Problem(f"your function returned a tuple of {len(got)}; return one tensor of shape {case.out_legend}.")
    if not isinstance(got, Tensor):
        kind = type(got).__module__.split(".")[0] + "." + type(got).__name__
        raise Problem(f"expected a torch.Tensor, got {kind}: keep to torch operations (no NumPy, no lists).")
    if got.dtype != exp.dtype:
        raise Problem(f"expected dtype {exp.dtype} (like the inputs), got {got.dtype}.")
    if got.shape != exp.shape:
        hint = ""
        known = [h for w, h in case.mistakes if w.shape == got.shape and torch.allclose(got.detach(), w, atol=1e-5)]
        if known:
            hint = " " + known[0][0].upper() + known[0][1:]
        elif got.shape == exp.shape[::-1] and got.dim() > 1:
            hint = " It is transposed: check the order of your matrix product."
        elif got.numel() == exp.numel():
            hint = " Same number of elements: check which axis you reduce or squeeze."
        raise Problem(
            f"expected shape {case.out_legend} = {tuple(exp.shape)}, got {tuple(got.shape)} "
            f"(inputs: {_describe_args(case)}).{hint}"
        )
    bad = ~torch.isfinite(got.detach())
    if bad.any():
        idx = tuple(bad.nonzero()[0].tolist())
        raise Problem(f"the answer holds NaN or inf (first at index {idx}). torch.softmax is stable; exp/sum may overflow.")
    return got


def _check_values(got: Tensor, case: Case, atol: float = 1e-5) -> None:
    exp = case.expected
    if case.compare is not None:
        return case.compare(got)
    if not exp.is_floating_point():
        if torch.equal(got, exp):
            return
        for wrong, hint in case.mistakes:
            if wrong.shape == got.shape and torch.equal(got, wrong):
                raise Problem(f"wrong values: {hint}")
        idx = tuple((got != exp).nonzero()[0].tolist())
        raise Problem(f"wrong values: first difference at index {idx}: expected {exp[idx].item()}, got {got[idx].item()}.")
    if torch.allclose(got.detach(), exp, atol=atol, rtol=1e-4):
        return
    for wrong, hint in case.mistakes:
        if wrong.shape == got.shape and torch.allclose(got.detach(), wrong, atol=atol, rtol=1e-4):
            raise Problem(f"wrong values: {hint}")
    diff = (got.detach() - exp).abs()
    idx = tuple(torch.nonzero(diff == diff.max())[0].tolist())
    raise Problem(
        f"wrong values: largest difference {diff.max().item():.3g} at index {idx} "
        f"(expected {exp[idx].item():.4f}, got {got[idx].item():.4f})."
    )


def _check_unchanged(copies: tuple[Tensor, ...], case: Case) -> None:
    for name, before, after in zip(case.legend, case.args, copies):
        if isinstance(before, Tensor) and not torch.equal(before, after.detach()):
            raise Problem(f"your function changed its input {name} in place (e.g. `x -= ...`, `x.exp_()`); work on a copy.")


def _check_gradients(fn: Callable, case: Case, reference: Callable) -> None:
    got, copies = _call(fn, case, requires_grad=True)
    if not isinstance(got, Tensor) or not got.requires_grad:
        raise Problem("right values, but no gradient flows back to the inputs: avoid .detach(), .item(), .numpy().")
    weight = torch.linspace(-1.0, 1.0, got.numel(), dtype=got.dtype).reshape(got.shape)
    differentiable = [i for i, a in enumerate(copies) if isinstance(a, Tensor) and a.requires_grad]
    grads = torch.autograd.grad((got * weight).sum(), [copies[i] for i in differentiable], allow_unused=True)
    ref_inputs = tuple(_copy(a, True) for a in case.args)
    ref_grads = torch.autograd.grad((reference(*ref_inputs) * weight).sum(), [ref_inputs[i] for i in differentiable])
    for name, g, r in zip([case.legend[i] for i in differentiable], grads, ref_grads):
        if g is None or not torch.allclose(g, r, atol=1e-4, rtol=1e-3):
            raise Problem(f"right values, but the gradient with respect to {name} is wrong: is some step detached?")


def run(name: str, fn: object, cases: Sequence[Case], reference: Callable | None = None) -> bool:
    """Run every check on every case; print one line; return whether all passed.

    reference: the differentiable reference function, for the gradient check (None: no gradients).
    """
    try:
        if not callable(fn):
            raise Problem(f"pass your function itself, e.g. check.{name}(my_function); got {type(fn).__name__}.")
        for case in cases:
            got, copies = _call(fn, case)
            got = _check_form(got, case)
            _check_unchanged(copies, case)
            _check_values(got, case)
        if reference is not None:
            _check_gradients(fn, cases[0], reference)
    except Problem as p:
        print(f"{p.icon} {name}: {p}")
        _results[name] = None if p.icon == TODO else False
        return False
    except BaseException as e:  # a bug in the checker must never crash the learner's kernel
        print(f"{FAIL} {name}: the checker itself hit {type(e).__name__}: {e}. Please report it.")
        _results[name] = False
        return False
    extra = ", gradients included" if reference is not None else ""
    print(f"{PASS} {name}: correct, on {len(cases)} test inputs{extra}.")
    _results[name] = True
    return True


def status() -> dict[str, bool | None]:
    """The result of the last check of each exercise in this session (None: not attempted yet)."""
    return dict(_results)
