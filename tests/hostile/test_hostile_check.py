"""Hostile learner code against the checkers: they cannot be fooled, they stop endless loops, they blame the
learner's own line, and they put back whatever the learner's code changed.

One row per case: the learner's function (or what they passed), the checker, an optional earlier cell run
before the check, the expected result and words the printed line must hold. After every row, torch, its
Tensor class, the check module, torch's global settings, the SIGALRM handler and the streams must be as before.
"""

import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch.overrides import TorchFunctionMode

from attn_course import check

TORCH_NAMES = ("softmax", "allclose", "equal", "isfinite", "tanh", "matmul")


def _scores(q, k):
    return q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5                # (..., L, S), scaled


def ref_weights(q, k):
    return torch.softmax(_scores(q, k), dim=-1)


def unscaled(q, k):                                # a catalogued mistake: "... unscaled ..."
    return torch.softmax(q @ k.transpose(-2, -1), dim=-1)


def raw(q, k):                                     # not catalogued: "wrong values"
    return q @ k.transpose(-2, -1)


def _settings() -> dict[str, object]:
    """Everything a check must leave as it found it."""
    return {
        "torch names": {n: getattr(torch, n) for n in TORCH_NAMES},
        "Tensor attributes": dict(vars(torch.Tensor)),
        "check names": {n: v for n, v in vars(check).items() if n != "TIME_LIMIT"},
        "state": (torch.is_grad_enabled(), torch.get_default_dtype(), torch.get_default_device(),
                  torch.is_anomaly_enabled(), torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()),
        "modes": (torch._C._len_torch_function_stack(), torch._C._len_torch_dispatch_stack()),
        "SIGALRM": (signal.getsignal(signal.SIGALRM), signal.getitimer(signal.ITIMER_REAL)),
        "streams": (sys.stdout, sys.stderr),
    }


@pytest.fixture(autouse=True)
def safety_net():
    """Put everything back after each test, so that one failing row cannot spoil the next."""
    before, limit = _settings(), check.TIME_LIMIT
    yield before
    check.TIME_LIMIT = limit
    for n, v in before["torch names"].items():
        setattr(torch, n, v)
    for n in set(vars(torch.Tensor)) - set(before["Tensor attributes"]):
        delattr(torch.Tensor, n)
    for n, v in before["check names"].items():
        setattr(check, n, v)
    torch.set_grad_enabled(True)
    torch.set_default_dtype(torch.float32)
    torch.set_default_device(None)
    torch.autograd.set_detect_anomaly(False)
    while torch._C._len_torch_function_stack():
        torch._C._pop_torch_function_stack()


@dataclass(frozen=True)
class Row:
    id: str
    checker: Callable[[object], bool]
    fn: object                                  # what the learner passes to the checker
    passes: bool
    words: tuple[str, ...]                      # each must be in the printed line
    earlier: Callable[[], None] | None = None   # an earlier cell, run before the check
    limit: float | None = 5.0                   # check.TIME_LIMIT for this row
    prints: bool = False                        # the learner's function prints too: read the last line
    absent: tuple[str, ...] = ()                # must not be in the printed line
    keeps_earlier: bool = False                 # what the earlier cell did is legitimate and stays


# --- learner functions: ways to fool the checker --------------------------------------------

def patches_allclose(q, k):
    torch.allclose = lambda *a, **kw: True
    return unscaled(q, k)


def patches_equal(src, lengths):
    torch.equal = lambda *a, **kw: True
    return src.clone()                           # not reversed


def patch_softmax():                              # an earlier cell
    torch.softmax = lambda x, dim=-1, **kw: x


def patches_tensor_softmax(q, k):
    torch.Tensor.softmax = lambda self, dim=-1, **kw: self
    return raw(q, k).softmax(-1)                 # raw scores, through the patch


def patch_tensor_softmax():
    torch.Tensor.softmax = lambda self, dim=-1, **kw: self


def replace_reference():
    check._scaled_reference = unscaled


def replaces_reference(q, k):
    check._scaled_reference = replaces_reference
    return unscaled(q, k)


class _DoubledGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return 2 * g


def replaces_reference_for_gradients(q, k):
    check._scaled_reference = replaces_reference_for_gradients   # its own gradients would then be "right"
    return _DoubledGradient.apply(ref_weights(q, k))


def fakes_detach(q, k):
    answer = unscaled(q, k)
    answer.detach = lambda: ref_weights(q, k)    # an attribute on the returned tensor
    return answer


class LiarTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs)


class LiarMode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return func(*args, **(kwargs or {}))


def enters_a_mode(q, k):
    LiarMode().__enter__()                        # never left
    return unscaled(q, k)


def torch_rewraps_itself():
    # As importing torch._dynamo does to torch.manual_seed; done here to a function nothing calls, so that
    # the wrapper (which imports torch._dynamo when called) can stay for the rest of the session.
    torch.compiled_with_cxx11_abi = torch._disable_dynamo(torch.compiled_with_cxx11_abi)


FOOLING = [
    Row("torch.allclose patched inside", check.scaled_attention_weights, patches_allclose, False,
        ("unscaled", "changed torch.allclose", "put it back")),
    Row("torch.equal patched inside", check.reverse_source, patches_equal, False,
        ("torch.equal",)),
    Row("torch.softmax patched in an earlier cell", check.scaled_attention_weights, unscaled, False,
        ("wrong values", "torch.softmax"), earlier=patch_softmax),
    Row("torch.softmax patched earlier, used by the learner", check.scaled_attention_weights,
        lambda q, k: torch.softmax(raw(q, k), dim=-1), False, ("wrong values", "torch.softmax"), earlier=patch_softmax),
    Row("torch.softmax replaced by another torch function", check.scaled_attention_weights,
        lambda q, k: torch.softmax(raw(q, k), dim=-1), False, ("wrong values", "torch.softmax"),
        earlier=lambda: setattr(torch, "softmax", torch.nn.functional.normalize)),
    Row("torch.Tensor.softmax patched inside", check.scaled_attention_weights, patches_tensor_softmax, False,
        ("wrong values", "torch.Tensor.softmax")),
    Row("torch.Tensor.softmax patched in an earlier cell", check.batched_self_attention,
        lambda X: torch.softmax(X @ X.transpose(-2, -1), dim=-2) @ X,
        False, ("dim=-2", "torch.Tensor.softmax"), earlier=patch_tensor_softmax),
    Row("check._scaled_reference replaced in an earlier cell", check.scaled_attention_weights, unscaled, False,
        ("unscaled", "attn_course.check._scaled_reference"), earlier=replace_reference),
    Row("check._scaled_reference replaced inside", check.scaled_attention_weights, replaces_reference, False,
        ("unscaled", "_scaled_reference")),
    Row("check._scaled_reference replaced to pass the gradient check", check.scaled_attention_weights,
        replaces_reference_for_gradients, False, ("gradient with respect to query", "_scaled_reference")),
    Row("check.run replaced in an earlier cell", check.scaled_attention_weights, unscaled, False,
        ("unscaled", "attn_course.check.run"), earlier=lambda: setattr(check, "run", lambda *a, **kw: True)),
    # The same, aimed at where the reference and the engine really live in the check package.
    Row("the exercise module's reference replaced earlier", check.scaled_attention_weights, unscaled, False,
        ("unscaled", "_scaled_reference"),
        earlier=lambda: setattr(check.self_attention, "_scaled_reference", unscaled)),
    Row("the engine's run replaced earlier", check.scaled_attention_weights, unscaled, False,
        ("unscaled", "run"), earlier=lambda: setattr(check._engine, "run", lambda *a, **kw: True)),
    Row("a .detach attribute on the answer", check.scaled_attention_weights, fakes_detach, False, ("unscaled",)),
    Row("a tensor subclass whose allclose says True", check.scaled_attention_weights,
        lambda q, k: (k @ q).as_subclass(LiarTensor), False, ("plain torch.Tensor", "LiarTensor", "subclass")),
    Row("a torch function mode left entered", check.scaled_attention_weights, enters_a_mode, False,
        ("unscaled", "torch function modes")),
    Row("torch re-wrapping its own function is not the learner's doing", check.scaled_attention_weights, ref_weights, True,
        ("correct",), earlier=torch_rewraps_itself, absent=("changed",), keeps_earlier=True),
]


# --- time limits ------------------------------------------------------------------------------

def loops(q, k):
    while True:
        pass


def sleeps(q, k):
    time.sleep(30)


def swallows_the_time_out(q, k):
    caught = 0
    while True:
        try:
            while True:
                pass
        except BaseException:                     # the corner case: it catches the time-out itself
            caught += 1
            if caught == 2:
                return ref_weights(q, k)          # right, but too late


class _EndlessBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        while True:
            pass


TIME = [
    Row("an infinite loop", check.scaled_attention_weights, loops, False,
        ("did not return within 0.3 s", "infinite loop", "check.TIME_LIMIT"), limit=0.3),
    Row("a long sleep", check.batched_self_attention, lambda X: sleeps(X, X), False,
        ("did not return within 0.3 s",), limit=0.3),
    Row("a loop that catches the time-out", check.scaled_attention_weights, swallows_the_time_out, False,
        ("did not return within 0.3 s",), limit=0.3),
    Row("an endless backward", check.scaled_attention_weights, lambda q, k: _EndlessBackward.apply(ref_weights(q, k)),
        False, ("did not return within 0.3 s",), limit=0.3),
    Row("no limit", check.scaled_attention_weights, ref_weights, True, ("correct",), limit=None),
]


# --- blame: one line, about the learner's code ----------------------------------------------

def divides_in_place(q, k):
    s = _scores(q, k)
    e = s.exp()
    e /= e.sum(-1, keepdim=True)
    return e


def changes_a_copy_then_divides_in_place(q, k):
    s = _scores(q, k).clone()
    s.mul_(1.0)                                   # harmless: nothing saved s for backward
    e = s.exp()
    e /= e.sum(-1, keepdim=True)
    return e


def assigns_in_place(q, k):
    e = _scores(q, k).exp()
    e[..., 0] = e[..., 0] * 1
    return e / e.sum(-1, keepdim=True)


def decoded_then(value):
    def decode(model, src, lengths, max_len):
        tokens, _ = model.greedy_decode(src, lengths, max_len=max_len)
        after_eos = (tokens == 2).int().cumsum(1) - (tokens == 2).int() > 0      # EOS_ID == 2
        return tokens.masked_fill(after_eos, value)
    return decode


class Unprintable(Exception):
    def __str__(self):
        raise ValueError("no str")


class Unshowable(Unprintable):
    def __repr__(self):
        raise ValueError("no repr")


def raises(error):
    def fn(*args):
        raise error
    return fn


def helper(x):
    return x / 0


def calls_a_helper(q, k):
    return helper(1)


class _BrokenBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        raise ValueError("my backward is broken")


def prints_a_lot(q, k):
    for _ in range(1000):
        print("x" * 1000)
    return ref_weights(q, k)


def stub(q, k):
    raise NotImplementedError  # your code here


BLAME = [
    Row("an in-place /= that breaks backward", check.scaled_attention_weights, divides_in_place, False,
        ("avoid in-place operations such as /= on tensors that need gradients", "`e /= e.sum(-1, keepdim=True)`", "(line ")),
    Row("the in-place operation that breaks backward, not a harmless one", check.scaled_attention_weights,
        changes_a_copy_then_divides_in_place, False, ("such as /=", "`e /= e.sum(-1, keepdim=True)`")),
    Row("an in-place change of an input that needs gradients", check.scaled_attention_weights,
        lambda q, k: ref_weights(q.mul_(1.0), k), False, ("avoid in-place operations", "q.mul_(1.0)")),
    Row("an in-place assignment that breaks backward", check.scaled_attention_weights, assigns_in_place, False,
        ("in-place", "`e[..., 0] = e[..., 0] * 1`")),
    Row("negative token ids", check.greedy_decode, lambda m, s, n, t: torch.full((s.shape[0], t), -1), False,
        ("token ids must lie in [0, V)", "row 0 holds -1")),
    Row("token ids >= V", check.greedy_decode, lambda m, s, n, t: torch.full((s.shape[0], t), 99), False,
        ("[0, V)", "holds 99")),
    Row("any ids after </s>", check.greedy_decode, decoded_then(-1), True, ("correct",)),
    Row("a sparse tensor", check.scaled_attention_weights, lambda q, k: ref_weights(q, k).to_sparse(), False,
        ("sparse_coo", "return a dense one", ".to_dense()")),
    Row("a meta tensor", check.scaled_attention_weights, lambda q, k: torch.empty(k.shape[0], device="meta"), False,
        ("meta tensor", "no values", "Compute it from the inputs")),
    Row("a complex tensor", check.scaled_attention_weights, lambda q, k: ref_weights(q, k).to(torch.complex64), False,
        ("complex", "return real numbers")),
    Row("a nested tensor", check.scaled_attention_weights, lambda q, k: torch.nested.nested_tensor([q, k]), False,
        ("nested tensor", "one ordinary tensor")),
    Row("an exception whose str raises", check.scaled_attention_weights, raises(Unprintable("x")), False,
        ("your function raised Unprintable", "Unprintable(")),
    Row("an exception whose str and repr raise", check.scaled_attention_weights, raises(Unshowable()), False,
        ("your function raised Unshowable", "cannot be shown")),
    Row("a message of many lines", check.scaled_attention_weights, raises(ValueError("first\nsecond\nthird")), False,
        ("ValueError: first", "raise error")),
    Row("an error in the learner's helper", check.scaled_attention_weights, calls_a_helper, False,
        ("ZeroDivisionError", "`return x / 0`")),
    Row("an error in the learner's backward", check.scaled_attention_weights,
        lambda q, k: _BrokenBackward.apply(ref_weights(q, k)), False,
        ("checking your answer raised ValueError: my backward is broken", 'raise ValueError("my backward')),
    Row("SystemExit", check.scaled_attention_weights, raises(SystemExit(3)), False, ("SystemExit", "return the answer")),
    Row("KeyboardInterrupt", check.scaled_attention_weights, raises(KeyboardInterrupt()), False, ("interrupted",)),
    Row("a million characters printed", check.scaled_attention_weights, prints_a_lot, True,
        ("correct", "more characters, not shown"), prints=True),
    Row("a stub", check.scaled_attention_weights, stub, False, ("not attempted yet",)),
    Row("a bad time limit", check.scaled_attention_weights, ref_weights, False, ("check.TIME_LIMIT must be", "builtins.str"),
        limit="soon"),
    Row("a negative time limit", check.scaled_attention_weights, ref_weights, False, ("> 0", "got -1"), limit=-1),
]

NOT_CALLABLE = [
    Row(f"passed {name}", check.scaled_attention_weights, value, False,
        ("pass your function itself, e.g. check.scaled_attention_weights(my_function)", got))
    for name, value, got in [
        ("a tensor", torch.ones(3), "a tensor"),
        ("the result of calling it", ref_weights(torch.ones(2), torch.ones(3, 2)), "did you call it"),
        ("None", None, "None"),
        ("an instance", object(), "builtins.object"),
    ]
]


# --- global state the learner's code changes --------------------------------------------------

def switches_grad_off(q, k):
    torch.set_grad_enabled(False)
    return ref_weights(q, k)


def switches_to_float64(q, k):
    torch.set_default_dtype(torch.float64)
    return ref_weights(q, k)


def moves_to_meta(q, k):
    torch.set_default_device("meta")
    return ref_weights(q, k)


def turns_on_anomaly_detection(q, k):
    torch.autograd.set_detect_anomaly(True)
    return ref_weights(q, k)


STATE = [
    Row("grad mode switched off", check.scaled_attention_weights, switches_grad_off, False,
        ("no gradient flows", "the grad mode")),
    Row("default dtype changed", check.scaled_attention_weights, switches_to_float64, True,
        ("correct", "the default dtype")),
    Row("default device changed", check.scaled_attention_weights, moves_to_meta, True, ("correct", "the default device")),
    Row("anomaly detection turned on", check.scaled_attention_weights, turns_on_anomaly_detection, True,
        ("correct", "anomaly detection")),
    Row("grad mode off in an earlier cell", check.scaled_attention_weights, ref_weights, True, ("correct",),
        earlier=lambda: torch.set_grad_enabled(False), absent=("changed",), keeps_earlier=True),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("row", FOOLING + TIME + BLAME + NOT_CALLABLE + STATE, ids=lambda r: r.id)
def test_hostile_row(row, capsys, safety_net):
    check.TIME_LIMIT = row.limit
    if row.earlier is not None:
        row.earlier()
    before = _settings() if row.keeps_earlier else dict(safety_net, streams=(sys.stdout, sys.stderr))
    started = time.monotonic()
    assert row.checker(row.fn) is row.passes
    assert time.monotonic() - started < 5, "a time-out must not wait long"
    out = capsys.readouterr().out
    line = out.rstrip("\n").rsplit("\n", 1)[-1]
    if row.prints:
        assert len(out) < 20_000, "the learner's output is bounded"
    else:
        assert line == out.strip(), f"a checker prints one line; got {out!r}"
    assert line.startswith("✅" if row.passes else ("✏️" if row.fn is stub else "❌")), line
    for words in row.words:
        assert words in line, line
    for words in row.absent:
        assert words not in line, line
    after = _settings()
    for key in before:
        assert after[key] == before[key], f"{key} not put back after: {line}"


def test_a_check_after_a_time_out_works(capsys):
    check.TIME_LIMIT = 0.3
    assert check.scaled_attention_weights(loops) is False
    assert check.scaled_attention_weights(ref_weights) is True
    first, second = capsys.readouterr().out.splitlines()
    assert "did not return within 0.3 s" in first and second.startswith("✅")


def test_a_time_out_outside_the_main_thread(capsys, safety_net):
    check.TIME_LIMIT = 0.3
    results = []
    thread = threading.Thread(target=lambda: results.extend([check.scaled_attention_weights(loops),
                                                             check.scaled_attention_weights(ref_weights)]))
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and results == [False, True]
    first, second = capsys.readouterr().out.splitlines()
    assert "did not return within 0.3 s" in first and second.startswith("✅")
    assert signal.getsignal(signal.SIGALRM) == safety_net["SIGALRM"][0]


def test_a_mode_from_an_earlier_cell_cannot_fool_the_verdict(capsys):
    LiarMode().__enter__()                        # an earlier cell; the learner's setting, left in place
    assert check.scaled_attention_weights(unscaled) is False
    assert "unscaled" in capsys.readouterr().out
    assert torch._C._len_torch_function_stack() == 1


@pytest.mark.parametrize("names, shown", [
    ("scaled_attention_weights", ["scaled_attention_weights"]),
    (["scaled_attention_weights", "longer_key"], ["scaled_attention_weights", "longer_key"]),
    (check.scaled_attention_weights, ["scaled_attention_weights"]),
])
def test_progress_takes_one_name_or_a_list(names, shown, capsys):
    check.scaled_attention_weights(ref_weights)
    capsys.readouterr()
    assert list(check.progress(names)) == shown
    lines = [ln.strip() for ln in capsys.readouterr().out.splitlines() if not ln.startswith(("Chapter", f"{1} of"))]
    lines = [ln for ln in lines if " of " not in ln or "(" in ln]
    assert len(lines) == len(shown) and all(n in line for n, line in zip(shown, lines))
    assert lines[0] == "✅ scaled_attention_weights (build): passed"


def test_progress_names_an_unknown_exercise(capsys):
    assert check.progress("scaled_attention_weight") == {"scaled_attention_weight": False}
    line = capsys.readouterr().out.strip().splitlines()[0]
    assert "scaled_attention_weight: no such exercise" in line and "scaled_attention_weights" in line
