"""Exercise checkers: one per exercise, each ``check.<name>(fn) -> bool``.

A checker runs the learner's function on seeded inputs (fresh copies for every
call), compares with the package's reference, and prints one friendly line
naming the first thing that is wrong: not attempted yet, an exception, the
wrong type, dtype or shape, NaN, a changed input, wrong values (with a hint
when the answer matches a typical mistake), then gradients. It returns True or
False and never raises, whatever the learner's code does. It never prints the
solution.

The checkers live in modules named by concept (:mod:`.self_attention`,
:mod:`.encoder_decoder`, :mod:`.peeky`, :mod:`.attention_decoder`,
:mod:`.attention_layers`); each keeps its exercises' seeded cases, references
and catalogues of typical mistakes together. The machinery is in the private
modules, starting from :mod:`attn_course.check._engine`.

Each call of the learner's function has ``TIME_LIMIT`` seconds (5 by default);
a function that takes longer is stopped and reported ("is there an infinite
loop?"), and the kernel stays usable. Change it with ``check.TIME_LIMIT = 20``
(``None``: no limit). A function that catches the time-out itself (``except
BaseException`` inside its loop) is stopped again every 0.1 s and still
reported as too slow; one that swallows it forever needs the kernel's stop
button or a restart.

A checker cannot be fooled by replacing torch's functions or its own: it
computes the expected answers before the learner's code runs, with the
original functions, and puts back whatever names the learner's code replaced,
saying so in its line (see :mod:`attn_course.check._originals`).

``progress()`` lists which exercises have passed in this session.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from attn_course.check._engine import DEFAULT_TIME_LIMIT, status
from attn_course.check._originals import protect
from attn_course.check._verdicts import FAIL, PASS, TODO
from attn_course.check.attention_decoder import context_vector, masked_attention_weights
from attn_course.check.attention_layers import additive_scores, causal_mask, split_heads
from attn_course.check.encoder_decoder import greedy_decode, reverse_source, teacher_forcing_input
from attn_course.check.peeky import peeky_input
from attn_course.check.self_attention import attention_weights, self_attention_output

__all__ = [
    "attention_weights", "self_attention_output",              # self-attention
    "teacher_forcing_input", "greedy_decode",                  # the vanilla encoder-decoder
    "peeky_input", "reverse_source",                           # the peeky encoder-decoder
    "masked_attention_weights", "context_vector",              # the attention encoder-decoder
    "additive_scores", "split_heads", "causal_mask",           # the three attention layers
    "progress", "TIME_LIMIT",
]
_EXERCISES = tuple(n for n in __all__ if n not in ("progress", "TIME_LIMIT"))

TIME_LIMIT: float | None = DEFAULT_TIME_LIMIT   # seconds per call of the learner's function


def progress(names: str | Sequence[str] | None = None) -> dict[str, bool]:
    """Print and return which exercises have passed in this session: one name, a list, or all by default."""
    if isinstance(names, str) or callable(names):
        names = (names,)
    try:
        names = tuple(names or ()) or _EXERCISES
    except TypeError:                  # not a list: one name
        names = (names,)
    names = tuple(n if isinstance(n, str) else str(getattr(n, "__name__", n)) for n in names)
    results = status()
    for n in names:
        if n not in _EXERCISES:
            print(f"❓ {n}: no such exercise; the exercises are {', '.join(_EXERCISES)}.")
            continue
        r = results.get(n, "unchecked")
        icon, note = {True: (PASS, ""), False: (FAIL, ""), None: (TODO, " (not attempted yet)")}.get(
            r, ("·", " (not checked yet)"))
        print(f"{icon} {n}{note}")
    return {n: results.get(n) is True for n in names}


# The originals a check puts back (check._originals): the functions of the modules the references call;
# every name of every module of this package (the engine's own modules also name themselves in
# check._engine, so that the time limit never interrupts them); and every name of this package but the
# setting TIME_LIMIT. A name added to any of these is taken away again.
for _module in ("attn_course.attention", "attn_course.layers", "attn_course.data", "attn_course.models",
                "attn_course.train"):
    protect(sys.modules[_module])
for _module in [m for n, m in sys.modules.items() if n.startswith(__name__ + ".")]:
    protect(_module, everything=True)
protect(sys.modules[__name__], everything=True, skip=("TIME_LIMIT",))
