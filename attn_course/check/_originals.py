"""The originals a check relies on, and putting back what a learner's call changed.

At import, :func:`protect` takes a snapshot of the names the checkers rely on:
the functions, classes and submodules of ``torch``, ``torch.nn.functional`` and
``torch.autograd``; every attribute of ``torch.Tensor``, ``torch.nn.Module`` and
the ``torch.nn`` layers; the functions of the attn_course modules the checkers
call, and everything in the ``check`` package and its modules (a name added to
one of these is taken away again, as is one added to a class). A check
first puts every original back, then computes the expected answers, the
mistakes and the reference gradients, all before the learner's code runs. The
learner's function is called in the learner's own setting (names they had
replaced stay replaced during the call); after each call the originals go back
for good, and the line says which names were put back. The verdicts call
functions bound in this module at import, on a fresh alias of the answer, with
``__torch_function__`` (subclasses and modes) turned off, so neither a replaced
name, an attribute set on the returned tensor nor a mode changes them. This is
a safety net against honest accidents and casual tricks, not a sandbox: code in
the kernel can always reach the checker's internals (and ``builtins`` are not
protected).

A :class:`Session` also puts back what the learner's call changed: the grad
mode, the default dtype and device, deterministic algorithms, anomaly
detection, the number of threads, torch function and dispatch modes left
entered, and ``sys.stdout``/``sys.stderr``. The learner's own output is shown up
to 10,000 characters per check; the rest is counted, not shown. The global
random state is left alone (the cases use their own generators).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from types import FunctionType, ModuleType

import torch
import torch.nn.functional
from torch import Tensor

_OUTPUT_BUDGET = 10_000        # characters of the learner's own output shown per check

# --- originals the verdicts call, bound at import --------------------------------------------

allclose, equal, isfinite, linspace = torch.allclose, torch.equal, torch.isfinite, torch.linspace
grad, enable_grad, no_torch_function = torch.autograd.grad, torch.enable_grad, torch._C.DisableTorchFunction
detach, clone, view_as, requires_grad_ = Tensor.detach, Tensor.clone, Tensor.view_as, Tensor.requires_grad_
is_complex, is_floating_point = Tensor.is_complex, Tensor.is_floating_point
_len_f, _pop_f = torch._C._len_torch_function_stack, torch._C._pop_torch_function_stack
_len_d, _pop_d = torch._C._len_torch_dispatch_stack, torch._C._pop_torch_dispatch_stack
_CPU = torch.device("cpu")

# Global settings a learner's call may change, and how to put each back: (name, get, set).
_STATE = (
    ("the grad mode", torch.is_grad_enabled, torch.set_grad_enabled),
    ("the default dtype", torch.get_default_dtype, torch.set_default_dtype),
    ("the default device", torch.get_default_device, lambda d: torch.set_default_device(None if d == _CPU else d)),
    ("deterministic algorithms",
     lambda: (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()),
     lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1])),
    ("anomaly detection", lambda: (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
     lambda v: torch.autograd.set_detect_anomaly(*v)),
    ("the number of threads", torch.get_num_threads, torch.set_num_threads),
)

# --- the original names: snapshot, put back, say which changed -------------------------------

_MISSING = object()
_TORCH_DIR = os.path.join(os.path.dirname(os.path.abspath(torch.__file__)), "")


def _from_torch(value: object, original: object) -> bool:
    """Torch wrapping its own function (torch._dynamo wraps torch.manual_seed), or reloading its own module,
    makes a new original; any other replacement, even by another torch function, is put back."""
    if type(value) is FunctionType:
        file, same = value.__code__.co_filename, getattr(value, "__wrapped__", None) is original
    elif issubclass(type(value), ModuleType):
        file, same = getattr(value, "__file__", None), getattr(value, "__name__", 0) == getattr(original, "__name__", 1)
    else:
        return False
    return same and isinstance(file, str) and os.path.abspath(file).startswith(_TORCH_DIR)


def _put(space: object, name: str, value: object) -> None:
    if value is _MISSING:
        try:
            delattr(space, name)
        except AttributeError:
            pass
    else:
        setattr(space, name, value)


class _Guard:
    """The original names the checkers rely on (see the module docstring)."""

    def __init__(self) -> None:
        # (label, space, originals, the names that may be added: None for any, else only these (a module of ours))
        self._spaces: list[tuple[str, object, dict[str, object], frozenset[str] | None]] = []

    def protect(self, space: object, label: str, everything: bool, skip: frozenset[str]) -> None:
        is_class = isinstance(space, type)
        names = {k: v for k, v in vars(space).items()
                 if k not in skip and (is_class or not k.startswith("__"))
                 and (is_class or everything or callable(v) or isinstance(v, ModuleType))}
        may_add = skip if everything and not is_class else None
        self._spaces = [s for s in self._spaces if s[1] is not space] + [(label, space, names, may_add)]

    def changes(self) -> list[tuple[str, object, dict[str, object], str, object]]:
        """(label, space, originals, name, current value) of each protected name that differs."""
        found = []
        for label, space, originals, may_add in self._spaces:
            now = vars(space)
            for name, original in originals.items():
                value = now.get(name, _MISSING)
                if value is not original:
                    found.append((label, space, originals, name, value))
            if isinstance(space, type):           # a new class attribute that hides an inherited one
                found += [(label, space, originals, name, now[name]) for name in now.keys() - originals.keys()
                          if any(name in vars(base) for base in space.__mro__[1:])]
            elif may_add is not None:             # a new name in a module of ours, e.g. check.run = ...
                found += [(label, space, originals, name, now[name]) for name in now.keys() - originals.keys()
                          if not name.startswith("__") and name not in may_add]
        for change in [c for c in found if _from_torch(c[4], c[2].get(c[3], _MISSING))]:
            change[2][change[3]] = change[4]
            found.remove(change)
        return found

    def restore(self) -> tuple[list, list[str]]:
        """Put every original back; return the changes (to re-apply) and the dotted names changed."""
        changes = self.changes()
        for _, space, originals, name, _ in changes:
            _put(space, name, originals.get(name, _MISSING))
        return changes, [f"{label}.{name}" for label, _, _, name, _ in changes]

    @staticmethod
    def reapply(changes: list) -> None:
        for _, space, _, name, value in changes:
            _put(space, name, value)


GUARD = _Guard()


def protect(space: object, *, everything: bool = False, skip: Sequence[str] = ()) -> None:
    """Snapshot a module's functions, classes and submodules (everything: every name but __dunders__; one added
    is taken away), or a class's attributes, as the originals a check puts back; ``skip`` names settings the
    learner may change."""
    label = getattr(space, "__qualname__" if isinstance(space, type) else "__name__", "?")
    module = getattr(space, "__module__", "") if isinstance(space, type) else ""
    GUARD.protect(space, f"{module}.{label}" if module and module != "builtins" else label, everything,
                  frozenset(skip))


# --- one check: what it saves, and puts back after each call of the learner's code --------------

class _Budget:
    def __init__(self, chars: int) -> None:
        self.left, self.dropped = chars, 0


class _Bounded:
    """A stream that passes on what the learner prints until the budget runs out, then counts it."""

    def __init__(self, stream: object, budget: _Budget) -> None:
        self._stream, self._budget, self.mid_line = stream, budget, False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        shown = text[: max(self._budget.left, 0)]
        self._budget.left -= len(shown)
        self._budget.dropped += len(text) - len(shown)
        if shown:
            self._stream.write(shown)
            self.mid_line = not shown.endswith("\n")
        return len(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


class Session:
    """Saves what the learner's calls may change; :meth:`tidy` puts it back and remembers what it put back."""

    def __init__(self, earlier: list, earlier_names: list[str]) -> None:
        self.earlier, self.notes = earlier, list(earlier_names)   # names replaced before the check
        self.state, self.depths = tuple(get() for _, get, _ in _STATE), (_len_f(), _len_d())
        self.streams, self.budget = (sys.stdout, sys.stderr), _Budget(_OUTPUT_BUDGET)
        self.bounded = (_Bounded(sys.stdout, self.budget), _Bounded(sys.stderr, self.budget))
        sys.stdout, sys.stderr = self.bounded
        self.ours: object = None            # our own mode (the recorder), not the learner's

    def tidy(self) -> None:
        _, names = GUARD.restore()
        for (label, get, put), saved in zip(_STATE, self.state):
            if get() != saved:
                put(saved)
                names.append(label)
        while _len_f() > self.depths[0]:
            if _pop_f() is not self.ours:
                names.append("the torch function modes")
        while _len_d() > self.depths[1]:
            _pop_d(None)
            names.append("the torch dispatch modes")
        sys.stdout, sys.stderr = self.bounded
        self.notes += [n for i, n in enumerate(names) if n not in self.notes and n not in names[:i]]

    def close(self) -> tuple[str, str]:
        """Tidy, give the streams back; return what goes before the line (a newline if the learner's output
        left one open) and the note for its end."""
        try:
            self.tidy()
        finally:
            sys.stdout, sys.stderr = self.streams
        note = ""
        if self.notes:
            names = self.notes[:3] + ([f"{len(self.notes) - 3} more"] if len(self.notes) > 3 else [])
            shown = " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
            note += f" (Your code changed {shown}; the checker put {'it' if len(self.notes) == 1 else 'them'} back.)"
        if self.budget.dropped:
            note += f" (Your function printed {self.budget.dropped:,} more characters, not shown.)"
        return "\n" if self.bounded[0].mid_line else "", note


for _space in (torch, torch.nn.functional, torch.autograd, torch.Tensor, torch.nn.Module,
               *(c for c in vars(torch.nn).values() if isinstance(c, type) and issubclass(c, torch.nn.Module))):
    protect(_space, skip=("Storage",) if _space is torch else ())   # set_default_dtype rebinds torch.Storage
