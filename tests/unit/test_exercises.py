"""Every exercise of the course, from the registry: its solution passes, each catalogued mistake gets its own
diagnosis, the given bug and the empty prediction say "not attempted yet", and each chapter has the three
kinds. The checkers' behaviour on hostile code is in tests/hostile/test_hostile_check.py."""

from __future__ import annotations

import pytest

from attn_course import check
from attn_course.check._engine import registry
from attn_course.check._verdicts import FAIL, PASS, TODO
from support.checks import one_line as _line

EXERCISES = registry()
CODE = {n: e for n, e in EXERCISES.items() if e.kind in ("build", "bug")}
PREDICTIONS = {n: e for n, e in EXERCISES.items() if e.kind == "predict"}
MISTAKES = [pytest.param(e, m, id=f"{n}-{i}") for n, e in CODE.items() for i, m in enumerate(e.mistakes)]
WRONG_CHOICES = [pytest.param(e, c, id=f"{n}-{c}") for n, e in PREDICTIONS.items() for c in e.prediction.wrong]



def test_every_chapter_has_three_exercises_of_the_three_kinds():
    chapters: dict[str, set[str]] = {}
    for e in EXERCISES.values():
        chapters.setdefault(e.chapter, set()).add(e.kind)
    assert len(chapters) == 5
    assert all(kinds == {"build", "predict", "bug"} for kinds in chapters.values()), chapters
    assert all(sum(e.chapter == c for e in EXERCISES.values()) >= 3 for c in chapters)


def test_the_package_exports_every_exercise():
    assert list(EXERCISES) == [n for n in check.__all__ if n not in ("progress", "use", "TIME_LIMIT")]
    assert all(getattr(check, n) is e.checker for n, e in EXERCISES.items())


@pytest.mark.parametrize("entry", CODE.values(), ids=CODE)
def test_the_solution_passes(entry, capsys):
    assert entry.checker(entry.solution) is True
    assert _line(capsys).startswith(f"{PASS} {entry.name}: correct")


@pytest.mark.parametrize("entry, mistake", MISTAKES)
def test_each_catalogued_mistake_gets_its_own_diagnosis(entry, mistake, capsys):
    assert entry.checker(mistake.make) is False
    icon = TODO if mistake.given else FAIL
    assert _line(capsys) == f"{icon} {entry.name}: {mistake.diagnosis}"


@pytest.mark.parametrize("entry", CODE.values(), ids=CODE)
def test_each_catalogue_has_its_mistakes_and_diagnoses_are_distinct(entry):
    assert len(entry.mistakes) >= 3
    assert len({m.diagnosis for m in entry.mistakes if not m.given}) == sum(not m.given for m in entry.mistakes)
    assert sum(m.given for m in entry.mistakes) == (entry.kind == "bug")


@pytest.mark.parametrize("entry", [e for e in CODE.values() if e.kind == "build"], ids=lambda e: e.name)
def test_build_exercises_fall_back_on_the_package_until_they_pass(entry, capsys):
    assert entry.ours is not None and entry.ours.__module__.startswith("attn_course.")
    assert not entry.ours.__module__.startswith("attn_course.check")
    assert entry.checker(entry.ours) is True                  # the package's version is a right answer
    capsys.readouterr()

    def stub(*args):
        raise NotImplementedError

    assert entry.checker(stub) is False
    assert check.use(entry.checker, stub) is entry.ours
    assert "the cells below use the course's version" in capsys.readouterr().out
    solution = entry.solution
    assert entry.checker(solution) is True
    assert check.use(entry.checker, solution) is solution
    assert "use your" in capsys.readouterr().out.splitlines()[-1]
    assert entry.checker(stub) is False                        # a later failing check takes it back
    assert check.use(entry.checker, solution) is entry.ours


def test_use_refuses_what_is_not_a_build_check():
    with pytest.raises(TypeError, match="checker must be the check of a build exercise"):
        check.use(print, print)


@pytest.mark.parametrize("entry", PREDICTIONS.values(), ids=PREDICTIONS)
def test_a_prediction_is_judged_against_what_the_experiment_shows(entry, capsys):
    spec = entry.prediction
    shown = spec.example()
    assert spec.observe(shown).choice == spec.expected
    assert entry.checker(..., "", shown) is False
    assert _line(capsys).startswith(f"{TODO} {entry.name}: not attempted yet")
    assert entry.checker(spec.expected, "because I think so", shown) is True
    assert spec.because in _line(capsys)
    assert entry.checker(spec.expected.upper() + " ", "because I think so", shown) is True   # case and spaces
    capsys.readouterr()
    assert entry.checker(spec.expected, "", shown) is False
    assert "say why in one line" in _line(capsys)
    assert entry.checker("not-a-choice", "because I think so", shown) is False
    assert "your prediction must be one of" in _line(capsys)
    assert entry.checker(spec.expected, "because I think so", object()) is False
    line = _line(capsys)
    assert line.startswith(f"{FAIL} {entry.name}: ") and "checker itself" not in line


@pytest.mark.parametrize("entry, choice", WRONG_CHOICES)
def test_each_wrong_prediction_gets_its_own_lesson(entry, choice, capsys):
    spec = entry.prediction
    assert entry.checker(choice, "because I think so", spec.example()) is False
    line = _line(capsys)
    assert line.startswith(f"{FAIL} {entry.name}: you predicted {choice!r}")
    assert line.endswith(spec.wrong[choice])
    assert len(set(spec.wrong.values())) == len(spec.wrong)


def test_progress_lists_every_exercise_chapter_by_chapter(capsys):
    first = next(iter(CODE.values()))
    first.checker(first.solution)
    capsys.readouterr()
    result = check.progress()
    out = capsys.readouterr().out
    assert set(result) == set(EXERCISES) and result[first.name] is True
    for n, e in EXERCISES.items():
        assert f" {n} (" in out
    assert out.count("Chapter ") == 5
    assert f"{PASS} {first.name} (" in out
