"""Checkers for the vanilla encoder-decoder: the decoder's input under teacher forcing (find the bug),
greedy decoding (build), and how the exact match changes with the size of the operands (predict).

The decoding checks run small models of a toy addition task, trained for a moment the first time they
are needed: they write answers of different lengths, so that a decoding mistake shows. Chapter 3's
checks (:mod:`.peeky`) decode with them too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from attn_course.check._engine import exercise
from attn_course.check._predictions import Outcome, prediction
from attn_course.check._verdicts import Case, Mistake, Problem
from attn_course.data import EOS_ID, PAD_ID, SOS_ID, Vocab, encode_pairs
from attn_course.evaluation import greedy_decode as _package_greedy_decode
from attn_course.evaluation import threads
from attn_course.models import Seq2Seq, Seq2SeqConfig
from attn_course.train import build_model

CHAPTER = "2 · The vanilla encoder-decoder"
__all__ = ["teacher_forcing_input", "greedy_decode", "longer_operands"]

# --- the toy task -----------------------------------------------------------------------------

TOY_PAIRS = [("16+75", "91"), ("52+607", "659"), ("3+4", "7"), ("999+1", "1000"), ("40+2", "42"),
             ("8+85", "93"), ("310+9", "319"), ("77+77", "154")]
UNSEEN = [("12+34", "46"), ("5+5", "10"), ("600+60", "660"), ("1+999", "1000")]   # never trained on
TOY_SRC = Vocab.build(["0123456789+"])
TOY_TGT = Vocab.build(["0123456789"])


def one_thread(fn: Callable) -> Callable:
    """``fn`` run with one intra-op thread, as the chapters run: with two threads on a busy 2-core machine
    these small LSTMs can run ten times slower, and the learner waits for the check."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with threads(1):
            return fn(*args, **kwargs)
    return run


def _config(decoder: str, hidden_dim: int = 16) -> Seq2SeqConfig:
    return Seq2SeqConfig(TOY_SRC, TOY_TGT, decoder, embed_dim=8, hidden_dim=hidden_dim, reverse_source=False)


@functools.lru_cache(maxsize=None)
def _toy_weights(decoder: str) -> dict[str, Tensor]:
    """The weights of a small model that has learned TOY_PAIRS by heart, once per session. Plain gradient
    descent, 80 steps: no torch.optim, whose first use imports for seconds, while the learner waits."""
    model = build_model(_config(decoder), seed=7)
    data, params = encode_pairs(TOY_PAIRS, TOY_SRC, TOY_TGT), list(model.parameters())
    for _ in range(80):
        logits, _ = model(data.src, data.src_lengths, data.tgt_in)                 # (B, L, V)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), data.tgt_out.flatten(), ignore_index=PAD_ID)
        with torch.no_grad():
            for p, g in zip(params, torch.autograd.grad(loss, params)):
                p -= 2.0 * g
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _never_special(model: Seq2Seq) -> Seq2Seq:
    with torch.no_grad():              # <pad> and <s> are never targets: a plain argmax never picks them
        model.decoder.out.bias[[PAD_ID, SOS_ID]] = -1e4
    return model.eval()


def toy_model(decoder: str = "vanilla") -> Seq2Seq:
    """A fresh copy of the trained toy model (a learner's function may change the one it gets)."""
    model = build_model(_config(decoder), seed=7)
    model.load_state_dict(_toy_weights(decoder))
    return _never_special(model)


def untrained_model(decoder: str, seed: int, hidden_dim: int = 32) -> Seq2Seq:
    """A model with seeded random weights: its answers are nonsense, but every input changes them."""
    return _never_special(build_model(_config(decoder, hidden_dim), seed=seed))


# --- the decoder's input under teacher forcing: find the bug ----------------------------------

def teacher_forcing_given(tgt_out: Tensor) -> Tensor:
    """The function as chapter 2 hands it out: shifted the wrong way."""
    shifted = tgt_out[:, 1:]                                   # (B, L-1)
    shifted = shifted.masked_fill(shifted == EOS_ID, PAD_ID)
    sos = torch.full_like(tgt_out[:, :1], SOS_ID)              # (B, 1)
    return torch.cat([sos, shifted], dim=1)                    # (B, L)


def _teacher_forcing_solution(tgt_out: Tensor) -> Tensor:
    shifted = tgt_out[:, :-1]                                  # (B, L-1)
    shifted = shifted.masked_fill(shifted == EOS_ID, PAD_ID)
    return torch.cat([torch.full_like(tgt_out[:, :1], SOS_ID), shifted], dim=1)


def _eos_left_in(tgt_out: Tensor) -> Tensor:
    return torch.cat([torch.full_like(tgt_out[:, :1], SOS_ID), tgt_out[:, :-1]], dim=1)


def _pad_first(tgt_out: Tensor) -> Tensor:
    shifted = tgt_out[:, :-1].masked_fill(tgt_out[:, :-1] == EOS_ID, PAD_ID)
    return torch.nn.functional.pad(shifted, (1, 0), value=PAD_ID)          # shifted right, <pad> in front


def _one_column_more(tgt_out: Tensor) -> Tensor:
    shifted = tgt_out.masked_fill(tgt_out == EOS_ID, PAD_ID)               # last column kept
    return torch.cat([torch.full_like(tgt_out[:, :1], SOS_ID), shifted], dim=1)   # (B, L + 1)


TEACHER_FORCING_MISTAKES = (
    Mistake.given_bug(teacher_forcing_given),
    Mistake("this is the target itself. The decoder input is the target shifted right by one, after <s>.",
            lambda tgt_out: tgt_out.clone()),
    Mistake("the </s> of the shorter rows is still there: the decoder never reads </s>; put <pad> there.",
            _eos_left_in),
    Mistake("the first column must be <s> (SOS_ID): it is what the decoder reads at its first step.", _pad_first),
    Mistake("your input is one column longer than the target: drop the last column of tgt_out before "
            "putting <s> in front.", _one_column_more),
)


def _teacher_forcing_cases() -> list[Case]:
    cases = []
    for pairs in (TOY_PAIRS, TOY_PAIRS[::-1][:3], UNSEEN):
        data = encode_pairs(pairs, TOY_SRC, TOY_TGT)
        cases.append(Case((data.tgt_out,), ("tgt_out (B, L)",), data.tgt_in, "(B, L)"))      # (B, L) each
    return cases


@exercise(_teacher_forcing_cases, kind="bug", mistakes=TEACHER_FORCING_MISTAKES,
          solution=_teacher_forcing_solution)
def teacher_forcing_input(fn: Callable[[Tensor], Tensor]) -> bool:
    """Check ``fn(tgt_out (B, L)) -> tgt_in (B, L)``: <s>, then the target shifted right, </s> dropped."""


# --- greedy decoding: build -------------------------------------------------------------------

def up_to_eos(tokens: Tensor) -> Tensor:
    """The tokens with <pad> after each row's first </s>: what is compared (later tokens do not matter)."""
    eos = (tokens == EOS_ID).long()                            # (B, T)
    return tokens.masked_fill(eos.cumsum(1) - eos > 0, PAD_ID)


def _until_eos(row: list[int]) -> list[int]:
    return row[: row.index(EOS_ID) + 1] if EOS_ID in row else row


def compare_decoded(expected: Tensor) -> Callable[[Tensor], None]:
    """Compare decoded tokens (B, T) with ``expected`` row by row, up to each row's first </s>."""
    def compare(got: Tensor) -> None:
        V = len(TOY_TGT.tokens)
        for b, (e, g) in enumerate(zip(expected.tolist(), got.tolist())):
            e, g = _until_eos(e), _until_eos(g)
            outside = [t for t in g if not 0 <= t < V]
            if outside:
                raise Problem(f"token ids must lie in [0, V) = [0, {V}), the rows of the output layer; "
                              f"row {b} holds {outside[0]}. Return the argmax over the V logits.")
            if e != g:
                hint = ""
                if len(set(g)) == 1 and len(e) > 1:
                    hint = " Every step chose the same token: does each step feed back the token it just chose?"
                raise Problem(f"row {b}: expected {TOY_TGT.decode(e)!r}, got {TOY_TGT.decode(g)!r}.{hint}")
    return compare


def decoding_cases(plans: Sequence[tuple[Seq2Seq, Sequence[tuple[str, str]], int]]) -> list[Case]:
    """Cases for ``fn(model, src, src_lengths, max_len)``: one per (model, pairs, max_len) of ``plans``."""
    cases = []
    for model, pairs, max_len in plans:
        data = encode_pairs(pairs, TOY_SRC, TOY_TGT)
        expected, _ = model.greedy_decode(data.src, data.src_lengths, max_len=max_len)    # (B, T)
        expected = torch.nn.functional.pad(expected, (0, max_len - expected.shape[1]), value=PAD_ID)  # as any_width
        cases.append(Case((model, data.src, data.src_lengths, max_len),
                          ("model", "src (B, S)", "src_lengths (B,)", "max_len"),
                          expected, "(B, T)", compare=compare_decoded(expected), canonical=up_to_eos))
    return cases


def any_width(got: Tensor, case: Case) -> Tensor:
    """Let the decoded tokens have any width up to max_len: pad them with <pad> to max_len."""
    max_len = case.args[3]
    if got.dim() == 2 and not got.is_floating_point() and got.shape[1] <= max_len:
        return torch.nn.functional.pad(got, (0, max_len - got.shape[1]), value=PAD_ID)
    return got                         # longer than max_len: the shape check says so


@one_thread
@torch.no_grad()
def _decode(model, src, src_lengths, max_len, *, carry=True, feed_back=True, zero_state=False, first=SOS_ID,
            dim=-1, stop_at_any=False, append_last=True, keep_sos=False):
    """The learner's loop; each keyword but the defaults makes one catalogued mistake."""
    memory = model.encoder(src, src_lengths)
    h, c = memory.last                                                      # (1, B, H) each
    state = (torch.zeros_like(h), torch.zeros_like(c)) if zero_state else (h, c)
    token = torch.full((src.shape[0], 1), first)                           # (B, 1)
    done = torch.zeros(src.shape[0], dtype=torch.bool)                     # (B,)
    tokens = [token] if keep_sos else []
    for _ in range(max_len):
        logits, new_state, _ = model.decoder(token, state, memory)        # (B, 1, V)
        state = new_state if carry else state
        chosen = logits.argmax(dim=dim)                                     # (B, 1)
        token = chosen if feed_back else token
        done |= chosen[:, 0] == EOS_ID
        if not append_last and done.all():
            break                                                           # before appending this step
        tokens.append(chosen)
        if done.all() or (stop_at_any and done.any()):
            break
    return torch.cat(tokens, dim=1)                                         # (B, T)


def _greedy_solution(model, src, src_lengths, max_len):
    return _decode(model, src, src_lengths, max_len)


GREEDY_MISTAKES = (
    Mistake("the first step is right but later ones are not: carry the LSTM state to the next step "
            "(logits, state, _ = model.decoder(token, state, memory)).", functools.partial(_decode, carry=False)),
    Mistake("every step reads <s>: feed back the token each step chose (token = logits.argmax(dim=-1)).",
            functools.partial(_decode, feed_back=False)),
    Mistake("the decoder starts from zeros: start it from the encoder's last state, memory.last, the only "
            "bridge between the two.", functools.partial(_decode, zero_state=True)),
    Mistake("the first step reads <pad> (id 0): start from <s>, torch.full((B, 1), SOS_ID).",
            functools.partial(_decode, first=PAD_ID)),
    Mistake("you took the argmax over the step axis (dim=1, of size 1): take it over the V scores, dim=-1.",
            functools.partial(_decode, dim=1)),
    Mistake("you stop as soon as one row writes </s>, before the others are done: stop once every row has "
            "written it.", functools.partial(_decode, stop_at_any=True)),
    Mistake("the last row to finish has no </s>: append each step's token before you stop.",
            functools.partial(_decode, append_last=False)),
    Mistake("your tokens start with <s>: return only what the decoder wrote, not the <s> it read first.",
            functools.partial(_decode, keep_sos=True)),
)


def _greedy_cases() -> list[Case]:
    # Rows of different lengths; max_len=4 cuts "1000</s>" short; the peeky decoder and unseen sums too.
    return decoding_cases([(toy_model("vanilla"), TOY_PAIRS, 6), (toy_model("peeky"), TOY_PAIRS[:5] + UNSEEN, 4),
                           (toy_model("vanilla"), UNSEEN, 5)])


@exercise(_greedy_cases, adapt=any_width, mistakes=GREEDY_MISTAKES,
          solution=_greedy_solution, ours=_package_greedy_decode)
def greedy_decode(fn: Callable[..., Tensor]) -> bool:
    """Check ``fn(model, src (B, S), src_lengths (B,), max_len) -> tokens (B, T)``, T <= max_len.

    Compared row by row up to the first </s>; what follows it does not matter.
    """


# --- longer operands: predict then verify ------------------------------------------------------

FLAT = 0.05                            # a change of less than 5 points is "flat"


def _groups_and_accuracies(shown: object, what: str) -> tuple[list, list[float]]:
    """(groups, accuracies) as accuracy_by returns them; else a Problem saying what to pass."""
    try:
        groups, acc = shown
        groups, acc = list(groups), [float(a) for a in acc]
    except (TypeError, ValueError):
        groups, acc = [], []
    if len(groups) < 2 or len(groups) != len(acc) or not all(0 <= a <= 1 for a in acc):
        raise Problem(f"pass what the experiment cell computed, {what}: the groups and their exact matches, "
                      f"two lists of one length; got {type(shown).__name__}.")
    return groups, acc


def _trend(shown: object) -> Outcome:
    digits, acc = _groups_and_accuracies(shown, "(digits, acc_by_digits)")
    first, last = acc[0], acc[-1]
    choice = "fall" if last < first - FLAT else "rise" if last > first + FLAT else "flat"
    verb = {"fall": "falls", "rise": "rises", "flat": "stays about level"}[choice]
    return Outcome(choice, f"the exact match {verb}, from {first:.0%} with {digits[0]} digits "
                           f"to {last:.0%} with {digits[-1]}")


@prediction(
    choices=("rise", "fall", "flat"), expected="fall",
    wrong={"rise": "More digits do not give the decoder more to go on: they give it more to lose, since all "
                   "of them must pass through the same (h, c).",
           "flat": "The bridge (h, c) has the same size whatever the input: the more digits it must carry, "
                   "the more of them are lost."},
    because="Everything the decoder knows about the sum passes through one fixed-size (h, c): the more "
            "digits there are to pack into it, the more are lost.",
    observe=_trend, example=lambda: ([3, 4, 5, 6], [0.45, 0.3, 0.15, 0.05]))
def longer_operands(prediction: object, why: object, shown: object) -> bool:
    """Check a prediction: does the vanilla model's exact match rise, fall or stay flat as the operands
    get more digits? ``shown``: ``(digits, acc_by_digits)``, as the experiment computes them."""
