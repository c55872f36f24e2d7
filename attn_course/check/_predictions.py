"""Predict-then-verify exercises: the learner commits to a prediction, runs the experiment, and the check
compares the prediction with what the experiment shows.

The learner writes, before the experiment cell::

    prediction = "fall"          # one of the choices the exercise names
    why = "the longer sums have more digits to squeeze into the same (h, c)"

then, after it, ``check.<name>(prediction, why, shown)``, where ``shown`` is what the experiment
computed (the exercise says what to pass). The check reads the outcome from ``shown`` itself
(``observe``), so it follows the experiment if the learner changes it, and judges in this order:
no prediction yet (``...`` or None: "not attempted yet"), a prediction that is not one of the choices,
no reason given, something else than the experiment's result passed as ``shown``, then right or wrong.
A wrong prediction is named by the exercise's catalogue: one line per wrong choice, saying what that
choice overlooks. The catalogue applies when the experiment shows the course's outcome (``expected``);
if the learner changed the experiment and it shows something else, the line gives the evidence only.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from attn_course.check import _engine
from attn_course.check._blame import error_text
from attn_course.check._verdicts import FAIL, PASS, TODO, Problem, kind

_print = builtins.print
_MIN_WORDS = 3


@dataclass(frozen=True)
class Outcome:
    """What an experiment shows: the right choice, and the numbers that show it, as one clause."""

    choice: str
    evidence: str           # e.g. "the exact match falls from 41% (3 digits) to 7% (6 digits)"


@dataclass(frozen=True)
class PredictionSpec:
    """The data of one predict-then-verify exercise (the tests read it from the registry)."""

    choices: tuple[str, ...]
    expected: str                           # the outcome of the course's own experiment
    wrong: Mapping[str, str]                # the catalogue: each wrong choice -> what it overlooks
    because: str                            # the course's one-line reason, shown once the prediction is right
    observe: Callable[[object], Outcome]    # reads the outcome from what the experiment shows
    example: Callable[[], object]           # a `shown` like the course's experiment's, for the tests


def _judge(spec: PredictionSpec, prediction: object, why: object, shown: object) -> str:
    choices = " or ".join(repr(c) for c in spec.choices)
    if prediction is ... or prediction is None:
        raise Problem(f"not attempted yet: before running the experiment, set your prediction to {choices} "
                      f"and say why in one line.", TODO)
    if not isinstance(prediction, str) or prediction.strip().lower() not in spec.choices:
        got = repr(prediction) if isinstance(prediction, str) else kind(prediction)
        raise Problem(f"your prediction must be one of {choices}; got {got}.")
    if not isinstance(why, str) or len(why.split()) < _MIN_WORDS:
        raise Problem('say why in one line, a few words at least (why = "..."): the reason is what you learn '
                      "from, right or wrong.")
    try:
        outcome = spec.observe(shown)
    except Problem:
        raise
    except Exception as e:
        raise Problem(f"pass what the experiment cell computed as the third argument; reading yours raised "
                      f"{error_text(e)}.") from None
    predicted = prediction.strip().lower()
    if predicted == outcome.choice:     # the course's reason, if the experiment is the course's
        return f"right: {outcome.evidence}." + (f" {spec.because}" if outcome.choice == spec.expected else "")
    lesson = f" {spec.wrong[predicted]}" if outcome.choice == spec.expected and predicted in spec.wrong else ""
    raise Problem(f"you predicted {predicted!r}, and {outcome.evidence}.{lesson}")


def prediction(*, choices: Sequence[str], expected: str, wrong: Mapping[str, str], because: str,
               observe: Callable[[object], Outcome], example: Callable[[], object]
               ) -> Callable[[Callable], Callable[..., bool]]:
    """Make the decorated stub ``name(prediction, why, shown)`` into a predict-then-verify check.

    choices: the possible predictions (lower case). expected: the one the course's experiment shows.
    wrong: for every other choice, one line saying what that prediction overlooks. because: the reason
    for the right one. observe: from ``shown`` to an :class:`Outcome`, raising :class:`Problem` (one line
    saying what to pass) when ``shown`` is not what the experiment computed. example: a ``shown``
    value like the course's experiment's, for the tests.
    """
    choices = tuple(choices)
    if expected not in choices or set(wrong) != set(choices) - {expected}:
        raise ValueError(f"a prediction needs expected in choices and one line for each other choice; "
                         f"got choices {choices}, expected {expected!r}, wrong {sorted(wrong)}")
    spec = PredictionSpec(choices, expected, dict(wrong), because, observe, example)

    def decorate(stub: Callable) -> Callable[..., bool]:
        name = stub.__name__

        def checker(prediction: object = ..., why: object = "", shown: object = None) -> bool:
            try:
                message, icon, result = _judge(spec, prediction, why, shown), PASS, True
            except Problem as p:
                message, icon, result = str(p), p.icon, None if p.icon == TODO else False
            except BaseException as e:      # a bug in the checker must never crash the learner's kernel
                message, icon, result = f"the checker itself hit {error_text(e)}. Please report it.", FAIL, False
            _engine.record(name, result)
            _print(f"{icon} {name}: {message}")
            return result is True
        return _engine.register(stub, "predict", checker, prediction=spec)
    return decorate
