"""Blame: one actionable line that points at the learner's own code.

Whatever is raised while running or checking the learner's code is reported as
theirs, in one line that points at their own line (the last frame outside
torch, attn_course and the installed libraries: in a notebook, the cell). When
the gradient cannot be computed because of an in-place operation, the
:class:`InPlaceRecorder` says which operation of theirs did it, and where.
"The checker itself hit ..." is kept for errors in the checker's own set-up.
"""

from __future__ import annotations

import linecache
import os
import re
import sys
import sysconfig

import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode

from attn_course.check._time_limit import TimeUp, time_out
from attn_course.check._verdicts import TODO, Case, Problem, describe_args, kind

_ATTN_COURSE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))    # all of it, not only check/
_LIBRARIES = (os.path.dirname(torch.__file__), _ATTN_COURSE,                   # torch, attn_course, and Python's
              *(sysconfig.get_paths().get(k) or "." for k in ("stdlib", "platstdlib", "purelib", "platlib")))
_NOT_LEARNERS = tuple({os.path.join(os.path.abspath(p), "") for p in _LIBRARIES if p != "."})


def _is_learners(filename: str) -> bool:
    if filename.startswith("<"):
        return not filename.startswith("<frozen")
    return not os.path.abspath(filename).startswith(_NOT_LEARNERS)


def _line_of(filename: str, lineno: int) -> str:
    code = linecache.getline(filename, lineno).strip()
    code = code if len(code) <= 80 else code[:77] + "..."
    return f" (line {lineno}: `{code}`)" if code else f" (line {lineno})"


def _where(error: BaseException) -> str:
    """' (line N: `code`)' of the last frame of the traceback that is the learner's, else ''."""
    found, tb = None, error.__traceback__
    while tb is not None:
        if _is_learners(tb.tb_frame.f_code.co_filename):
            found = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return _line_of(*found) if found else ""


def _is_stub(error: NotImplementedError) -> bool:
    """Raised by the learner's own ``raise NotImplementedError`` line (a stub), not by torch inside their
    line, as ``bool_tensor & float_tensor`` does: the last frame is theirs and names the error, or, where
    the line cannot be read, the error carries no message (torch's always do)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or not _is_learners(tb.tb_frame.f_code.co_filename):
        return False
    line = linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno)
    return bool(re.search(r"\braise\s+NotImplementedError\b", line)) if line.strip() else not error.args


def error_text(error: BaseException, limit: int = 160) -> str:
    """'Type: first line of the message', never raising (an exception's __str__ and __repr__ may)."""
    name = kind(error).rpartition(".")[2]
    for show in (str, repr):
        try:
            text = show(error)
            if type(text) is str:
                break
        except BaseException:
            pass
    else:
        return f"{name} (whose message cannot be shown)"
    lines = text.strip().splitlines()
    line = lines[0] if lines else ""
    line = line if len(line) <= limit else line[: limit - 3] + "..."
    return f"{name}: {line}" if line else name


def _is_in_place_error(error: BaseException) -> bool:
    return isinstance(error, RuntimeError) and any(w in error_text(error, 1000) for w in ("inplace", "in-place"))


def _in_place(op: str | None, where: str) -> Problem:
    such = f" such as {op}" if op else ""
    return Problem(f"right values, but the gradient cannot be computed: avoid in-place operations{such} "
                   f"on tensors that need gradients{where}.")


def blame_call(error: BaseException, case: Case, seconds: float | None, gradients: bool) -> Problem:
    """One actionable line for an exception that the learner's function raised."""
    where = _where(error)
    if isinstance(error, TimeUp):
        return time_out(seconds)
    if isinstance(error, NotImplementedError) and _is_stub(error):
        return Problem("not attempted yet: replace `raise NotImplementedError` with your code.", TODO)
    if isinstance(error, KeyboardInterrupt):
        return Problem("interrupted (KeyboardInterrupt) before your function returned.")
    if isinstance(error, SystemExit):
        return Problem(f"your function called exit() (SystemExit){where}: return the answer instead.")
    if gradients and _is_in_place_error(error):
        return _in_place(None, where)
    hint = " Does it call itself without end?" if isinstance(error, RecursionError) else ""
    return Problem(f"your function raised {error_text(error)}{where}. It was called with {describe_args(case)}.{hint}")


def blame_checking(error: BaseException, seconds: float | None, recorder: InPlaceRecorder | None) -> Problem:
    """One line for an exception raised while checking the learner's answer (e.g. in its backward)."""
    if isinstance(error, TimeUp):
        return time_out(seconds)
    if isinstance(error, KeyboardInterrupt):
        raise error
    if _is_in_place_error(error):
        seen = recorder.culprit(error_text(error, 1000)) if recorder is not None else None
        return _in_place(*(seen or (None, _where(error))))
    where = _where(error)
    if where:
        return Problem(f"checking your answer raised {error_text(error)}{where}.")
    return Problem(f"your answer could not be checked: it raised {error_text(error)}.")


_SYMBOLS = {"add_": "+=", "sub_": "-=", "mul_": "*=", "div_": "/=", "true_divide_": "/=",
            "floor_divide_": "//=", "pow_": "**=", "__setitem__": "x[...] = ..."}
_NOT_IN_PLACE = frozenset({"requires_grad_", "retain_grad", "detach_", "share_memory_"})


class InPlaceRecorder(TorchFunctionMode):
    """Notes the learner's in-place operations on tensors that need gradients: when backward fails later,
    inside the checker, :meth:`culprit` says which line of theirs did it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[tuple[str, str], str, str]] = []    # (the tensor's grad_fn, the operation, where)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if (name == "__setitem__" or name.endswith("_") and not name.startswith("_")) and name not in _NOT_IN_PLACE \
                and len(self.seen) < 100 and args and isinstance(args[0], Tensor) and args[0].requires_grad:
            frame = sys._getframe(1)
            while frame is not None and not _is_learners(frame.f_code.co_filename):
                frame = frame.f_back
            where = _line_of(frame.f_code.co_filename, frame.f_lineno) if frame is not None else ""
            node = type(args[0].grad_fn).__name__                  # "ExpBackward0": errors say "of Exp,"
            nodes = (node, node.rstrip("0123456789").removesuffix("Backward"))
            self.seen.append((nodes, _SYMBOLS.get(name, f".{name}()"), where))
        return func(*args, **(kwargs or {}))

    def culprit(self, message: str) -> tuple[str, str] | None:
        """The operation on the tensor the error names ("... which is output 0 of Exp, ..."), else the first."""
        named = [(op, where) for nodes, op, where in self.seen if any(f" of {n}," in message for n in nodes)]
        return (named or [(op, where) for _, op, where in self.seen] or [None])[0]
