"""What a check compares and what it says: :class:`Case`, :class:`Problem`, and the verdicts on an answer.

A :class:`Mistake` is one entry of an exercise's catalogue of typical mistakes: a
function that makes exactly that mistake, and the line that names it. A
:class:`Case` is one seeded input with its reference answer and the answers the
catalogue's functions give on it (:class:`Known`); a :class:`Problem` is what is
wrong, as one line with its icon. The verdicts judge the learner's answer in this
order: its type and kind (a plain, dense, real CPU tensor like the inputs), dtype,
shape, a known mistake, NaN, a changed input, then the values. They call the
originals bound at import (:mod:`attn_course.check._originals`), on a fresh alias of
the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from attn_course.check._originals import allclose, detach, equal, is_complex, is_floating_point, isfinite, view_as

PASS, FAIL, TODO = "✅", "❌", "✏️"


GIVEN_BUG = "not attempted yet: this is the function as given, bug included. Find its one mistake and repair it."


@dataclass(frozen=True)
class Mistake:
    """One typical mistake of an exercise: a function that makes exactly that mistake, and the line naming it.

    ``make`` takes the exercise's arguments, like the learner's function. The checker runs it on each test
    input before the learner's code runs; an answer equal to its result gets ``diagnosis``. ``given`` marks
    the bug a find-the-bug exercise hands out: an answer equal to it is "not attempted yet".
    """

    diagnosis: str
    make: Callable[..., object]
    given: bool = False

    @classmethod
    def given_bug(cls, make: Callable[..., object]) -> Mistake:
        """The function a find-the-bug exercise hands out, unrepaired."""
        return cls(GIVEN_BUG, make, given=True)


@dataclass(frozen=True)
class Known:
    """The answer one catalogued mistake gives on one case, the line naming it, and its icon."""

    answer: Tensor
    message: str
    icon: str = FAIL


@dataclass(frozen=True)
class Case:
    """One seeded input for a checker, the reference answer and typical wrong answers."""

    args: tuple[object, ...]                     # tensors are copied for every call; others passed as they are
    legend: tuple[str, ...]                      # name and shape legend of each argument, e.g. "keys (S, D)"
    expected: Tensor
    out_legend: str                              # shape legend of the answer
    known: Sequence[Known] = field(default_factory=tuple)   # filled by the engine from the exercise's catalogue
    compare: Callable[[Tensor], None] | None = None   # custom value check raising Problem (default: allclose)
    canonical: Callable[[Tensor], Tensor] | None = None   # what is compared, e.g. tokens up to </s> only


class Problem(Exception):
    """What is wrong with the learner's answer, as one line, with the icon to show."""

    def __init__(self, message: str, icon: str = FAIL):
        super().__init__(message)
        self.icon = icon


def kind(obj: object) -> str:
    """'module.Type' of any object, never raising."""
    try:
        cls = type(obj)
        module, name = type.__getattribute__(cls, "__module__"), type.__getattribute__(cls, "__name__")
        return f"{module.split('.')[0]}.{name}" if type(module) is str and type(name) is str else "an object"
    except Exception:
        return "an object"


def describe_args(case: Case) -> str:
    return ", ".join(f"{leg} = {tuple(a.shape)}" if isinstance(a, Tensor) else leg
                     for a, leg in zip(case.args, case.legend))


def not_callable(name: str, fn: object) -> str:
    if fn is None:
        got = "None: did the cell that defines it run?"
    elif issubclass(type(fn), Tensor):
        got = "a tensor: did you call it, my_function(...), instead of passing it?"
    else:
        got = f"{kind(fn)}, which cannot be called."
    return f"pass your function itself, e.g. check.{name}(my_function); got {got}"


def plain(got: object, case: Case) -> Tensor:
    """The answer as a plain dense CPU tensor, without attributes of its own; else what to return instead."""
    cls = type(got)
    if got is None:
        raise Problem("your function returned None: did you forget `return`?")
    if issubclass(cls, tuple) and tuple.__len__(got) and issubclass(type(tuple.__getitem__(got, 0)), Tensor):
        raise Problem(f"your function returned a tuple of {tuple.__len__(got)}; "
                      f"return one tensor of shape {case.out_legend}.")
    if not issubclass(cls, Tensor):
        raise Problem(f"expected a torch.Tensor, got {kind(got)}: keep to torch operations (no NumPy, no lists).")
    if cls is not Tensor:
        raise Problem(f"expected a plain torch.Tensor, got {kind(got)} (a subclass of it): build the answer "
                      f"from the inputs with torch operations, or return x.as_subclass(torch.Tensor).")
    if got.is_nested:
        raise Problem(f"your answer is a nested tensor: return one ordinary tensor of shape {case.out_legend}.")
    if got.layout is not torch.strided:
        raise Problem(f"your answer is a {str(got.layout).replace('torch.', '')} tensor: return a dense one "
                      f"(call .to_dense()).")
    if got.is_meta:
        raise Problem("your answer is a meta tensor: it has a shape but no values. "
                      "Compute it from the inputs (no device='meta').")
    if got.device != case.expected.device:
        raise Problem(f"your answer is on {got.device}, the inputs on {case.expected.device}: "
                      f"keep it there (no .to(device), no .cuda()).")
    if is_complex(got):
        raise Problem(f"your answer is complex ({got.dtype}): return real numbers, {case.expected.dtype} "
                      f"like the inputs.")
    if got.is_quantized:
        raise Problem(f"your answer is a quantized tensor: return an ordinary {case.expected.dtype} tensor.")
    return view_as(got, got)   # a fresh alias: attributes set on the returned object stay behind


def _same(a: Tensor, b: Tensor, atol: float = 1e-5, equal_nan: bool = False) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return allclose(a, b, atol=atol, rtol=1e-4, equal_nan=equal_nan) if is_floating_point(b) else equal(a, b)


def same_answer(got: Tensor, expected: Tensor, case: Case, equal_nan: bool = False) -> bool:
    """Whether two answers agree on what the case compares (after ``case.canonical``)."""
    if case.canonical is not None and got.shape == expected.shape and got.dtype == expected.dtype:
        got, expected = case.canonical(got), case.canonical(expected)
    return _same(got, expected, equal_nan=equal_nan)


def _known_mistake(got: Tensor, case: Case) -> None:
    """Raise the diagnosis of the catalogued mistake the answer matches, if any (never for a right answer)."""
    got = detach(got)
    if same_answer(got, case.expected, case):
        return
    for known in case.known:
        if same_answer(got, known.answer, case, equal_nan=True):
            raise Problem(known.message, known.icon)


def check_form(got: Tensor, case: Case) -> None:
    """Dtype, shape and finiteness of a plain tensor answer."""
    exp = case.expected
    if got.dtype != exp.dtype:
        raise Problem(f"expected dtype {exp.dtype} (like the inputs), got {got.dtype}.")
    if got.shape != exp.shape:
        _known_mistake(got, case)
        hint = ""
        if got.shape == exp.shape[::-1] and got.dim() > 1:
            hint = " It is transposed: check the order of your matrix product."
        elif got.numel() == exp.numel():
            hint = " Same number of elements: check which axis you reduce or squeeze."
        raise Problem(
            f"expected shape {case.out_legend} = {tuple(exp.shape)}, got {tuple(got.shape)} "
            f"(inputs: {describe_args(case)}).{hint}"
        )
    _known_mistake(got, case)
    bad = ~isfinite(detach(got))
    if bad.any():
        idx = tuple(bad.nonzero()[0].tolist())
        raise Problem(f"the answer holds NaN or inf (first at index {idx}). torch.softmax is stable; exp/sum may overflow.")


def _check_unchanged(copies: tuple[object, ...], case: Case) -> None:
    for name, before, after in zip(case.legend, case.args, copies):
        if isinstance(before, Tensor) and not equal(before, detach(after)):
            raise Problem(f"your function changed its input {name} in place (e.g. `x -= ...`, `x.exp_()`); work on a copy.")


def _check_values(got: Tensor, case: Case, atol: float = 1e-5) -> None:
    exp, got = case.expected, detach(got)
    if case.compare is not None:
        case.compare(got)
        return
    if same_answer(got, exp, case):
        return
    if not is_floating_point(exp):
        idx = tuple((got != exp).nonzero()[0].tolist())
        raise Problem(f"wrong values: first difference at index {idx}: expected {exp[idx].item()}, got {got[idx].item()}.")
    diff = (got - exp).abs()
    idx = tuple((diff == diff.max()).nonzero()[0].tolist())
    raise Problem(
        f"wrong values: largest difference {diff.max().item():.3g} at index {idx} "
        f"(expected {exp[idx].item():.4f}, got {got[idx].item():.4f})."
    )


def check_answer(got: object, copies: tuple[object, ...], case: Case,
                 adapt: Callable[[Tensor, Case], Tensor] | None) -> Tensor:
    """Every verdict on one answer, in order; ``adapt`` is applied once it is a plain tensor."""
    got = plain(got, case)
    if adapt is not None:
        got = adapt(got, case)
    check_form(got, case)
    _check_unchanged(copies, case)
    _check_values(got, case)
    return got
