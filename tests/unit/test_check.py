"""The checking engine: one line per check, the first thing wrong, catalogued mistakes named, hostile code
contained, and every exercise of the course surviving it. Each exercise's own solution and catalogue are
tested in test_exercises.py; deliberate attacks on the checks in tests/hostile/test_hostile_check.py."""

import numpy as np
import pytest
import torch

from attn_course import check
from attn_course.check._engine import registry, run, status
from attn_course.check._verdicts import GIVEN_BUG, Case, Mistake


def _line(capsys) -> str:
    out = capsys.readouterr().out.strip()
    assert "\n" not in out, f"a checker must print one line; got {out!r}"
    return out


# --- a small exercise of the tests' own: the weights of one query -------------------------

def ref_weights(query, keys):
    return torch.softmax(keys @ query, dim=-1)


def _cases():
    cases = []
    for seed, (s, d) in enumerate([(5, 3), (4, 2)]):
        g = torch.Generator().manual_seed(seed)
        q, k = torch.randn(d, generator=g), torch.randn(s, d, generator=g)
        cases.append(Case((q, k), ("query (D,)", "keys (S, D)"), ref_weights(q, k), "(S,)"))
    return cases


MISTAKES = (
    Mistake("these are the raw scores k·q: turn them into weights with a softmax.", lambda q, k: k @ q),
    Mistake("the weights favour the least similar keys: check the sign of the scores.",
            lambda q, k: torch.softmax(-(k @ q), dim=-1)),
    Mistake("every weight is 1: the softmax ran over an axis of length 1.",
            lambda q, k: torch.softmax(k @ q[:, None], dim=1)),                     # (S, 1): a shape mistake
    Mistake("the softmax overflowed: use torch.softmax.", lambda q, k: torch.exp(k @ q * 1e4) / torch.exp(
        k @ q * 1e4).sum()),                                                          # NaN: named before "NaN"
)


def weights(fn, mistakes=MISTAKES):
    return run("weights", fn, _cases, ref_weights, mistakes=mistakes)


def test_accepts_the_reference_and_an_exp_over_sum_softmax(capsys):
    assert weights(ref_weights) is True
    assert _line(capsys) == "✅ weights: correct, on 2 test inputs, gradients included."
    assert weights(lambda q, k: torch.exp(k @ q) / torch.exp(k @ q).sum()) is True


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.diagnosis[:20])
def test_a_catalogued_mistake_is_named_in_its_own_words(mistake, capsys):
    assert weights(mistake.make) is False
    assert _line(capsys) == f"❌ weights: {mistake.diagnosis}"


def test_a_given_bug_is_not_attempted_yet(capsys):
    given = (Mistake.given_bug(lambda q, k: torch.softmax(k @ q, dim=0) * 2), *MISTAKES)
    assert weights(lambda q, k: torch.softmax(k @ q, dim=0) * 2, given) is False
    assert _line(capsys) == f"✏️ weights: {GIVEN_BUG}"
    assert status()["weights"] is None


def test_a_mistake_that_equals_the_right_answer_never_blames_it(capsys):
    same = (Mistake("never shown", ref_weights), Mistake("raises", lambda q, k: 1 / 0))
    assert weights(ref_weights, same) is True


def test_a_wrong_answer_without_a_known_pattern_says_where_and_how_much(capsys):
    assert weights(lambda q, k: ref_weights(q, k) + 0.1) is False
    line = _line(capsys)
    assert "largest difference 0.1" in line and "at index" in line


# --- hostile code: nothing escapes, the message is actionable ----------------------------

def _stub(*args):
    raise NotImplementedError


def _mutates(query, keys):
    query.mul_(2)                                   # in place, on the checker's copy
    return torch.softmax(keys @ query, dim=-1)


def _raises_system_exit(*args):
    raise SystemExit(3)


def _recurses(*args):
    return _recurses(*args)


HOSTILE = [
    (_stub, "not attempted yet"),
    (lambda q, k: None, "returned None"),
    (lambda q, k: "weights", "expected a torch.Tensor, got builtins.str"),
    (lambda q, k: ref_weights(q, k).numpy(), "got numpy.ndarray"),
    (lambda q, k: np.ones(3), "got numpy.ndarray"),
    (lambda q, k: ref_weights(q, k).tolist(), "got builtins.list"),
    (lambda q, k: ref_weights(q, k) * float("nan"), "NaN"),
    (lambda q, k: ref_weights(q, k).double(), "dtype"),
    (lambda q, k: (k @ q).long(), "dtype"),
    (lambda q, k: (ref_weights(q, k), k), "tuple"),
    (lambda q, k: 1 / 0, "ZeroDivisionError"),
    (_mutates, "changed its input"),
    (_raises_system_exit, "SystemExit"),
    (_recurses, "RecursionError"),
    (lambda q, k: ref_weights(q, k).detach(), "no gradient"),
    (lambda q, k: torch.tensor(ref_weights(q, k).tolist()), "no gradient"),
]


@pytest.mark.parametrize("fn, message", HOSTILE)
def test_hostile_code_never_escapes(fn, message, capsys):
    assert weights(fn) is False
    assert message in _line(capsys)


def test_the_error_points_at_the_learners_line(capsys):
    def learner(q, k):
        scores = k @ q
        return scores.softmax(dim=3)              # the learner's line
    assert weights(learner) is False
    line = _line(capsys)
    assert "IndexError" in line and "return scores.softmax(dim=3)" in line and "torch/" not in line


def test_not_a_function(capsys):
    assert weights(torch.ones(3)) is False
    assert "pass your function itself" in _line(capsys)


def test_mutation_does_not_corrupt_later_checks(capsys):
    weights(_mutates)
    capsys.readouterr()
    assert weights(ref_weights)          # the checker's own inputs are intact


CODE = {n: e for n, e in registry().items() if e.kind in ("build", "bug")}


@pytest.mark.parametrize("entry", CODE.values(), ids=CODE)
def test_every_exercise_survives_hostile_code(entry, capsys):
    for fn, message in [(_stub, "not attempted yet"), (lambda *a: None, "returned None"),
                        (lambda *a: "text", "expected a torch.Tensor"), (lambda *a: 1 / 0, "ZeroDivisionError"),
                        (_raises_system_exit, "SystemExit"), (_recurses, "RecursionError"), (None, "did the cell")]:
        assert entry.checker(fn) is False
        assert message in _line(capsys), (entry.name, message)


@pytest.mark.parametrize("entry", CODE.values(), ids=CODE)
def test_no_check_prints_its_solution(entry, capsys):
    import inspect
    body = [ln.strip() for ln in inspect.getsource(entry.solution).splitlines()[1:] if len(ln.strip()) > 12]
    for mistake in entry.mistakes:
        entry.checker(mistake.make)
    out = capsys.readouterr().out
    assert not [ln for ln in body if ln in out]


def test_progress_reports_what_passed_and_what_is_not_attempted(capsys):
    assert weights(ref_weights) is True
    first, second = list(CODE.values())[:2]
    first.checker(first.solution)
    second.checker(_stub)
    capsys.readouterr()
    result = check.progress([first.name, second.name, "no_such_exercise"])
    assert result == {first.name: True, second.name: False, "no_such_exercise": False}
    out = capsys.readouterr().out
    assert f"✅ {first.name} (" in out and f"✏️ {second.name} (" in out and "not attempted yet" in out
    assert "❓ no_such_exercise: no such exercise" in out


def test_torchs_own_not_implemented_error_is_not_a_stub(capsys):
    def learner(q, k):
        mask = torch.ones(k.shape[0], dtype=torch.bool)
        return ref_weights(q, k) & mask.float()          # torch raises NotImplementedError inside this line
    assert weights(learner) is False
    line = _line(capsys)
    assert "not attempted yet" not in line and "NotImplementedError" in line and "mask.float()" in line
