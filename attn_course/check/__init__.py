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

There are three kinds of exercise (``KINDS``): *build* a piece the chapter then uses
(``check.use(check.<name>, fn)`` hands the next cells your function once it passes,
the course's own until then); *predict then verify*, ``check.<name>(prediction, why,
shown)``, where you commit to a prediction before running an experiment; and *find the
bug*, where you repair a given function. Every check knows its exercise's typical
mistakes (a catalogue, kept as data beside the checker) and names them.

``progress()`` lists every exercise of every chapter: passed, failing, not attempted yet,
or not checked yet in this session.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from attn_course.check._engine import DEFAULT_TIME_LIMIT, KINDS, registry, status, use
from attn_course.check._originals import protect
from attn_course.check._verdicts import FAIL, PASS, TODO
# One module per chapter's concept, in the order of the chapters; each exercise is named in its module's __all__.
from attn_course.check.self_attention import batched_self_attention, longer_key, scaled_attention_weights
from attn_course.check.encoder_decoder import greedy_decode, longer_operands, teacher_forcing_input
from attn_course.check.peeky import peeky_decode, reversal_gain, reverse_source
from attn_course.check.attention_decoder import alignment_as_read, decoder_attention_weights, masked_context
from attn_course.check.attention_layers import bigger_inputs, decoder_mask, split_heads

_EXERCISES = tuple(registry())          # in the order of the chapters, as the modules' CHAPTER says
__all__ = [
    "longer_key", "batched_self_attention", "scaled_attention_weights",           # 1 self-attention
    "teacher_forcing_input", "greedy_decode", "longer_operands",                  # 2 the vanilla encoder-decoder
    "peeky_decode", "reverse_source", "reversal_gain",                            # 3 the peeky encoder-decoder
    "decoder_attention_weights", "masked_context", "alignment_as_read",           # 4 the attention encoder-decoder
    "bigger_inputs", "split_heads", "decoder_mask",                               # 5 the three attention layers
    "progress", "use", "TIME_LIMIT",
]

TIME_LIMIT: float | None = DEFAULT_TIME_LIMIT   # seconds per call of the learner's function


def progress(names: str | Sequence[str] | None = None) -> dict[str, bool]:
    """Print and return where each exercise stands in this session, chapter by chapter: passed, failing,
    not attempted yet, or not checked yet. One name, a list, or all exercises by default."""
    if isinstance(names, str) or callable(names):
        names = (names,)
    try:
        names = tuple(names or ()) or _EXERCISES
    except TypeError:                  # not a list: one name
        names = (names,)
    names = tuple(n if isinstance(n, str) else str(getattr(n, "__name__", n)) for n in names)
    results, exercises, chapter = status(), registry(), None
    for n in names:
        if n not in exercises:
            print(f"❓ {n}: no such exercise; the exercises are {', '.join(_EXERCISES)}.")
            continue
        entry = exercises[n]
        if entry.chapter != chapter:
            chapter = entry.chapter
            print(f"Chapter {chapter}")
        r = results.get(n, "unchecked")
        icon, note = {True: (PASS, "passed"), False: (FAIL, "failing"), None: (TODO, "not attempted yet")}.get(
            r, ("·", "not checked yet"))
        print(f"  {icon} {n} ({KINDS[entry.kind]}): {note}")
    done = sum(results.get(n) is True for n in names if n in exercises)
    print(f"{done} of {sum(n in exercises for n in names)} passed.")
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
