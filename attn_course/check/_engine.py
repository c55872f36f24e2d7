"""The engine behind attn_course.check: run a learner's function safely and say what is wrong.

Each exercise gives :func:`exercise` a function that builds seeded :class:`Case`
objects, and the reference it differentiates for the gradients. :func:`run`
calls the learner's function on fresh copies of each case's inputs and stops at
the first problem, in this order: not attempted, an exception or a time-out, the
type, kind, dtype and shape of the answer, NaN, a changed input, the values
(naming a typical mistake when the answer matches one), then the gradients. It
prints one line, records the result for ``check.progress()``, returns a bool, and
never raises.

What keeps the verdict honest, each in its own module:

- **Originals** (:mod:`attn_course.check._originals`): the names the checkers rely on
  are snapshotted at import and put back before a check and after each call of
  the learner's code, with the global torch state and the output streams.
- **A time limit** (:mod:`attn_course.check._time_limit`), ``check.TIME_LIMIT``
  seconds per call of the learner's code.
- **Blame** (:mod:`attn_course.check._blame`): whatever is raised while running or
  checking the learner's code is reported as theirs, in one line that points at
  their own line.

The verdicts on an answer, :class:`Case` and :class:`Problem` are in
:mod:`attn_course.check._verdicts`.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import Tensor

from attn_course.check import _blame, _originals, _time_limit, _verdicts
from attn_course.check._blame import InPlaceRecorder, blame_call, blame_checking, error_text
from attn_course.check._originals import (GUARD, Session, allclose, clone, detach, enable_grad, grad,
                                          is_floating_point, linspace, no_torch_function, protect, requires_grad_)
from attn_course.check._time_limit import Limit, as_seconds, never_interrupt, time_out
from attn_course.check._verdicts import (FAIL, PASS, TODO, Case, Known, Mistake, Problem, check_answer,
                                         check_form, not_callable, plain, same_answer)

DEFAULT_TIME_LIMIT = 5.0       # seconds per call of the learner's function; check.TIME_LIMIT sets it
_results: dict[str, bool | None] = {}   # None: not attempted yet
_passed: dict[str, Callable] = {}       # the function that last passed each exercise's check
KINDS = {"build": "build", "predict": "predict then verify", "bug": "find the bug"}
_print = builtins.print                 # bound at import, like the originals the verdicts call


class _CheckerBug(Exception):
    """The checker's own set-up failed: not the learner's fault."""


# --- calling the learner's function, and checking its answer ------------------------------------

def _copy(a: object, requires_grad: bool) -> object:
    if not isinstance(a, Tensor):
        return a
    return requires_grad_(clone(detach(a)), requires_grad and is_floating_point(a))


def _call(fn: Callable, case: Case, session: Session, seconds: float | None,
          recorder: InPlaceRecorder | None = None) -> tuple[object, tuple[object, ...]]:
    """Call fn on fresh copies of the case's inputs, in the learner's setting, under the time limit."""
    copies = tuple(_copy(a, recorder is not None) for a in case.args)
    limit, grad_mode = Limit(seconds), enable_grad() if recorder else nullcontext()
    session.ours = recorder
    try:
        try:
            GUARD.reapply(session.earlier)     # judged in the learner's own setting
            with (recorder or nullcontext()), grad_mode, limit:
                got = fn(*copies)
        finally:
            session.tidy()
    except BaseException as e:  # the learner's code may raise anything (after catching a time-out, too)
        raise time_out(seconds) if limit.fired else blame_call(e, case, seconds, recorder is not None) from None
    if limit.fired:             # it caught the time-out and returned anyway
        raise time_out(seconds)
    return got, copies


def _checking(step: Callable[[], object], session: Session, seconds: float | None,
              recorder: InPlaceRecorder | None = None) -> object:
    """Run one step of checking the learner's answer; whatever it raises is the learner's (Problem)."""
    try:
        try:
            with no_torch_function(), enable_grad():     # whatever grad mode the learner's notebook is in
                return step()
        finally:
            session.tidy()
    except Problem:
        raise
    except BaseException as e:
        raise blame_checking(e, seconds, recorder) from None


# --- the gradients ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Gradients:
    """The reference's gradients of sum(weight * answer), computed before the learner's code runs."""

    weight: Tensor
    positions: tuple[int, ...]             # which arguments are differentiable
    expected: tuple[Tensor, ...]


def _reference_gradients(case: Case, reference: Callable) -> _Gradients:
    inputs = tuple(_copy(a, True) for a in case.args)
    exp = case.expected
    weight = linspace(-1.0, 1.0, exp.numel(), dtype=exp.dtype).reshape(exp.shape)
    positions = tuple(i for i, a in enumerate(inputs) if isinstance(a, Tensor) and a.requires_grad)
    expected = grad((reference(*inputs) * weight).sum(), [inputs[i] for i in positions])
    return _Gradients(weight, positions, tuple(expected))


def _check_gradients(fn: Callable, case: Case, plan: _Gradients, adapt, session: Session,
                     seconds: float | None) -> None:
    recorder = InPlaceRecorder()
    got, copies = _call(fn, case, session, seconds, recorder)

    def gradients():
        answer = plain(got, case)
        answer = adapt(answer, case) if adapt is not None else answer
        check_form(answer, case)
        if not answer.requires_grad:
            raise Problem("right values, but no gradient flows back to the inputs: avoid .detach(), .item(), .numpy().")
        with Limit(seconds):        # the learner's own backward code, if any, runs in here
            return grad((answer * plan.weight).sum(), [copies[i] for i in plan.positions], allow_unused=True)
    found = _checking(gradients, session, seconds, recorder)
    for i, g, r in zip(plan.positions, found, plan.expected):
        if g is None or not allclose(g, r, atol=1e-4, rtol=1e-3):
            raise Problem(f"right values, but the gradient with respect to {case.legend[i]} is wrong: "
                          f"is some step detached?")


# --- one check, from start to the printed line --------------------------------------------------

def _known(case: Case, mistakes: Sequence[Mistake], adapt: Callable | None) -> Case:
    """The case with the answer each catalogued mistake gives on it (those that differ from the right one)."""
    known = list(case.known)
    for mistake in mistakes:
        try:
            with torch.no_grad():
                answer = plain(mistake.make(*(_copy(a, False) for a in case.args)), case)
            answer = adapt(answer, case) if adapt is not None else answer
        except Exception:           # this mistake cannot happen on this input (e.g. it raises here)
            continue
        if not same_answer(answer, case.expected, case):
            known.append(Known(detach(answer), mistake.diagnosis, TODO if mistake.given else FAIL))
    return dataclasses.replace(case, known=tuple(known))


def _judge(name: str, fn: object, make_cases: Callable[[], Sequence[Case]], reference: Callable | None,
           adapt: Callable | None, mistakes: Sequence[Mistake], time_limit: object, session: Session) -> str:
    if not callable(fn):
        raise Problem(not_callable(name, fn))
    seconds = as_seconds(time_limit)
    try:        # the expected answers, mistakes and gradients, before any of the learner's code runs
        with no_torch_function(), enable_grad():
            dtype = torch.get_default_dtype()
            torch.set_default_dtype(torch.float32)
            try:
                cases = tuple(_known(c, mistakes, adapt) for c in make_cases())
                plan = _reference_gradients(cases[0], reference) if reference is not None else None
            finally:
                torch.set_default_dtype(dtype)
    except KeyboardInterrupt:
        raise
    except BaseException as e:
        raise _CheckerBug(error_text(e)) from e
    for case in cases:
        got, copies = _call(fn, case, session, seconds)
        _checking(lambda: check_answer(got, copies, case, adapt), session, seconds)
    if plan is not None:
        _check_gradients(fn, cases[0], plan, adapt, session, seconds)
    extra = ", gradients included" if plan is not None else ""
    return f"correct, on {len(cases)} test inputs{extra}."


def run(name: str, fn: object, make_cases: Callable[[], Sequence[Case]], reference: Callable | None = None, *,
        adapt: Callable[[Tensor, Case], Tensor] | None = None, mistakes: Sequence[Mistake] = (),
        time_limit: object = DEFAULT_TIME_LIMIT,
        _restore: Callable[[], tuple[list, list[str]]] = GUARD.restore) -> bool:
    """Check ``fn`` on the cases ``make_cases()`` builds; print one line; return whether all passed.

    reference: the differentiable reference function, for the gradient check (None: no gradients).
    adapt: applied to each answer, once it is a plain tensor (e.g. padding it to a fixed width).
    mistakes: the exercise's catalogue of typical mistakes, each named when the answer matches it.
    time_limit: seconds per call of fn; None for no limit.
    """
    session, before, note = None, "", ""
    try:
        try:
            session = Session(*_restore())     # first of all: the original names back (bound at import)
            message = _judge(name, fn, make_cases, reference, adapt, mistakes, time_limit, session)
            icon, result = PASS, True
        finally:
            if session is not None:
                before, note = session.close()
    except Problem as p:
        message, icon, result = str(p), p.icon, None if p.icon == TODO else False
    except KeyboardInterrupt:
        message, icon, result = "interrupted (KeyboardInterrupt) before the check finished.", FAIL, False
    except _CheckerBug as bug:
        message, icon, result = f"the checker itself hit {bug}. Please report it.", FAIL, False
    except BaseException as e:  # a bug in the checker must never crash the learner's kernel
        message, icon, result = f"the checker itself hit {error_text(e)}. Please report it.", FAIL, False
    record(name, result, fn)
    _print(f"{before}{icon} {name}: {message}{note}")
    return result is True


def record(name: str, result: bool | None, fn: object = None) -> None:
    _results[name] = result
    if result is True and callable(fn):
        _passed[name] = fn
    else:
        _passed.pop(name, None)


def status() -> dict[str, bool | None]:
    """The result of the last check of each exercise in this session (None: not attempted yet)."""
    return dict(_results)


@dataclass(frozen=True)
class Exercise:
    """What the course knows about one exercise: its checker, chapter, kind and catalogue of mistakes."""

    name: str
    chapter: str                         # e.g. "1 · Self-attention", from its module's CHAPTER
    kind: str                            # "build", "predict" or "bug" (see KINDS)
    checker: Callable[..., bool]
    mistakes: tuple[Mistake, ...] = ()   # build and bug exercises
    solution: Callable | None = None     # a right answer, for the tests (build and bug exercises)
    ours: Callable | None = None         # build exercises: the package's version, which use() falls back on
    prediction: object = None            # predict exercises: their PredictionSpec (check._predictions)


_registry: dict[str, Exercise] = {}


def registry() -> dict[str, Exercise]:
    """Every exercise, in the order of the chapters, and within one in the order of its module."""
    return dict(sorted(_registry.items(), key=lambda item: int(item[1].chapter.split()[0])))


def register(stub: Callable, kind: str, checker: Callable, **details: object) -> Callable:
    name, module = stub.__name__, sys.modules[stub.__module__]
    functools.update_wrapper(checker, stub)
    _registry[name] = Exercise(name, module.CHAPTER, kind, checker, **details)
    return checker


def exercise(make_cases: Callable[[], Sequence[Case]], reference: Callable | None = None,
             adapt: Callable[[Tensor, Case], Tensor] | None = None, *, kind: str = "build",
             mistakes: Sequence[Mistake] = (), solution: Callable | None = None,
             ours: Callable | None = None) -> Callable[[Callable], Callable[..., bool]]:
    """Make the decorated function, which only gives the exercise its name, signature and docstring, into
    the exercise's checker, and register it. Its cases, reference, catalogue and :func:`run` are bound
    here, at import: replacing ``check.self_attention._weights_reference`` or ``check._engine.run`` later
    changes nothing. The time limit is read from the package at each call, where the learner sets it:
    ``check.TIME_LIMIT = 20``.

    kind: "build" (the chapter then uses the learner's function, see :func:`use`) or "bug" (the learner
    repairs a given function; its catalogue holds ``Mistake.given_bug(the_given_function)``).
    solution: a right answer (default: the reference), which the tests run. ours: the package's own
    version, for :func:`use`.
    """
    if kind not in ("build", "bug"):
        raise ValueError(f"kind must be 'build' or 'bug'; got {kind!r}")
    bound_run, package, mistakes = run, sys.modules[__package__], tuple(mistakes)   # attn_course.check

    def decorate(stub: Callable) -> Callable[..., bool]:
        name = stub.__name__

        def checker(fn):
            return bound_run(name, fn, make_cases, reference, adapt=adapt, mistakes=mistakes,
                             time_limit=package.TIME_LIMIT)
        return register(stub, kind, checker, mistakes=mistakes, solution=solution or reference, ours=ours)
    return decorate


def use(checker: object, fn: object) -> Callable:
    """``fn`` if it is the function that last passed ``checker``'s exercise in this session, else the
    package's own version (the exercise's ``ours``); prints one line saying which the next cells use."""
    name = getattr(checker, "__name__", None)
    entry = _registry.get(name) if isinstance(name, str) else None
    if entry is None or entry.ours is None:
        builds = ", ".join(f"check.{n}" for n, e in _registry.items() if e.ours is not None)
        raise TypeError(f"check.use(checker, fn): checker must be the check of a build exercise ({builds}); "
                        f"got {plain_name(checker)}")
    ours = f"{entry.ours.__module__}.{entry.ours.__qualname__}"
    if callable(fn) and _passed.get(name) is fn:
        _print(f"{PASS} the cells below use your {getattr(fn, '__name__', name)}.")
        return fn
    _print(f"ℹ️ the cells below use the course's version, {ours}, until your {name} passes its check "
           f"(then run this cell again).")
    return entry.ours


def plain_name(obj: object) -> str:
    return getattr(obj, "__name__", None) or type(obj).__name__


# The checker's own modules: everything in them is an original a check puts back, and the time limit
# never interrupts their code.
for _module in (_originals, _verdicts, _time_limit, _blame, sys.modules[__name__]):
    protect(_module, everything=True)
    never_interrupt(_module)
