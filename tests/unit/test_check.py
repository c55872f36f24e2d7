"""Every checker accepts the reference, names typical mistakes, and survives hostile code."""

import numpy as np
import pytest
import torch

from attn_course import check


def _line(capsys) -> str:
    out = capsys.readouterr().out.strip()
    assert "\n" not in out, f"a checker must print one line; got {out!r}"
    return out


# --- reference answers ------------------------------------------------------------------

def ref_weights(query, keys):
    return torch.softmax(keys @ query, dim=-1)


def ref_self_attention(X):
    return torch.softmax(X @ X.T, dim=-1) @ X


CHECKERS = {
    check.attention_weights: ref_weights,
    check.self_attention_output: ref_self_attention,
}


@pytest.mark.parametrize("checker, reference", CHECKERS.items(), ids=lambda f: getattr(f, "__name__", ""))
def test_accepts_the_reference(checker, reference, capsys):
    assert checker(reference) is True
    assert _line(capsys).startswith("✅")


def test_accepts_an_exp_over_sum_softmax(capsys):
    assert check.attention_weights(lambda q, k: torch.exp(k @ q) / torch.exp(k @ q).sum())


# --- typical mistakes, each with its own message -----------------------------------------

WEIGHT_MISTAKES = [
    (lambda q, k: k @ q, "raw scores"),
    (lambda q, k: (k @ q) / (k @ q).sum(), "divided the scores by their sum"),
    (lambda q, k: torch.softmax(k @ q[:, None], dim=1), "axis of length 1"),        # wrong axis, (S, 1)
    (lambda q, k: torch.softmax(k @ q[:, None], dim=1).squeeze(1), "axis of length 1"),
    (lambda q, k: torch.softmax(q @ k, dim=-1), "RuntimeError"),                    # transposed product
    (lambda q, k: torch.softmax(-(k @ q), dim=-1), "sign of the scores"),
]


@pytest.mark.parametrize("fn, message", WEIGHT_MISTAKES)
def test_attention_weights_names_the_mistake(fn, message, capsys):
    assert check.attention_weights(fn) is False
    line = _line(capsys)
    assert line.startswith("❌") and message in line


SELF_ATTENTION_MISTAKES = [
    (lambda X: (X @ X.T) @ X, "raw scores"),
    (lambda X: torch.softmax(X @ X.T, dim=0) @ X, "transposed"),                    # wrong axis
    (lambda X: X.T @ torch.softmax(X @ X.T, dim=-1), "transposed"),                  # transposed product
    (lambda X: torch.softmax(X @ X.T, dim=-1), "weight matrix"),                     # forgot @ X
    (lambda X: X.clone(), "unchanged"),
]


@pytest.mark.parametrize("fn, message", SELF_ATTENTION_MISTAKES)
def test_self_attention_output_names_the_mistake(fn, message, capsys):
    assert check.self_attention_output(fn) is False
    line = _line(capsys)
    assert line.startswith("❌") and message in line


def test_a_wrong_answer_without_a_known_pattern_says_where_and_how_much(capsys):
    assert not check.self_attention_output(lambda X: ref_self_attention(X) + 0.1)
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
    assert check.attention_weights(fn) is False
    assert message in _line(capsys)


def test_not_a_function(capsys):
    assert check.attention_weights(torch.ones(3)) is False
    assert "pass your function itself" in _line(capsys)


def test_mutation_does_not_corrupt_later_checks(capsys):
    check.attention_weights(_mutates)
    capsys.readouterr()
    assert check.attention_weights(ref_weights)          # the checker's own inputs are intact


def test_the_solution_is_never_printed(capsys):
    check.attention_weights(lambda q, k: k @ q)
    check.self_attention_output(_stub)
    out = capsys.readouterr().out
    assert "softmax(keys @ query" not in out and "@ X" not in out.replace("W X", "")


def test_progress_reports_what_passed(capsys):
    check.attention_weights(ref_weights)
    check.self_attention_output(lambda X: X.clone())
    status = check.progress(["attention_weights", "self_attention_output"])
    assert status == {"attention_weights": True, "self_attention_output": False}
    out = capsys.readouterr().out
    assert "✅ attention_weights" in out and "❌ self_attention_output" in out


# --- the seq2seq exercises ----------------------------------------------------------------

from attn_course.data import EOS_ID, PAD_ID, SOS_ID  # noqa: E402


def ref_teacher_forcing(out):
    x = torch.cat([torch.full_like(out[:, :1], SOS_ID), out[:, :-1]], dim=1)
    return x.masked_fill(x == EOS_ID, PAD_ID)


def ref_greedy(model, src, lengths, max_len, feed_back=True):
    memory = model.encoder(src, lengths)
    state, token, out = memory.last, torch.full((src.shape[0], 1), SOS_ID), []
    for _ in range(max_len):
        logits, state, _ = model.decoder(token if feed_back else torch.full_like(token, SOS_ID), state, memory)
        token = logits.argmax(-1)
        out.append(token)
    return torch.cat(out, dim=1)


def ref_peeky(e, h):
    return torch.cat([e, h[:, None].expand(-1, e.shape[1], -1)], dim=-1)


def ref_reverse(src, lengths):
    out = src.clone()
    for b, n in enumerate(lengths.tolist()):
        out[b, :n] = src[b, :n].flip(0)
    return out


def ref_masked_weights(state, enc, mask):
    scores = (enc @ state[:, :, None]).squeeze(-1)
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def ref_context(w, enc):
    return (w[:, :, None] * enc).sum(1)


SEQ2SEQ = {
    check.teacher_forcing_input: (ref_teacher_forcing, [
        (lambda o: o, "shifted right"),
        (lambda o: torch.cat([torch.full_like(o[:, :1], SOS_ID), o[:, :-1]], 1), "</s> of the shorter rows"),
        (lambda o: torch.cat([o[:, 1:], torch.full_like(o[:, :1], PAD_ID)], 1), "you shifted left"),
    ]),
    check.greedy_decode: (ref_greedy, [
        (lambda m, s, n, t: ref_greedy(m, s, n, t, feed_back=False), "feed back the token"),
        (lambda m, s, n, t: ref_greedy(m, s, n, t + 2), "expected shape"),
        (lambda m, s, n, t: ref_greedy(m, s, n, t).float(), "dtype"),
    ]),
    check.peeky_input: (ref_peeky, [
        (lambda e, h: torch.cat([h[:, None].expand(-1, e.shape[1], -1), e], -1), "order is swapped"),
        (lambda e, h: torch.cat([e, h], -1), "RuntimeError"),
        (lambda e, h: e, "expected shape"),
    ]),
    check.reverse_source: (ref_reverse, [
        (lambda s, n: s.flip(1), "padding moved to the front"),
        (lambda s, n: s.clone(), "source unchanged"),
        (lambda s, n: s.flip(0), "first difference"),
    ]),
    check.masked_attention_weights: (ref_masked_weights, [
        (lambda st, enc, m: torch.softmax((enc @ st[:, :, None]).squeeze(-1), -1), "padded positions"),
        (lambda st, enc, m: (enc @ st[:, :, None]).squeeze(-1), "raw scores"),
        (lambda st, enc, m: ref_masked_weights(st, enc, m).T, "transposed"),
    ]),
    check.context_vector: (ref_context, [
        (lambda w, enc: enc.sum(1), "plain sum"),
        (lambda w, enc: enc.mean(1), "plain mean"),
        (lambda w, enc: w @ enc, "expected shape"),
    ]),
}


@pytest.mark.parametrize("checker", SEQ2SEQ, ids=lambda f: f.__name__)
def test_seq2seq_checkers_survive_hostile_code(checker, capsys):
    for fn, message in [(_stub, "not attempted yet"), (lambda *a: None, "returned None"),
                        (lambda *a: 1 / 0, "ZeroDivisionError"), (_raises_system_exit, "SystemExit"),
                        (lambda *a: "text", "builtins.str")]:
        assert checker(fn) is False
        assert message in _line(capsys)


def test_progress_marks_not_attempted(capsys):
    check.peeky_input(_stub)
    capsys.readouterr()
    check.progress(["peeky_input"])
    assert "✏️ peeky_input (not attempted yet)" in capsys.readouterr().out


# --- the three attention layers -----------------------------------------------------------

def ref_additive_scores(q, k, v):
    return (torch.tanh(q[:, None, :] + k[None, :, :]) * v).sum(-1)


def ref_split_heads(x, num_heads):
    B, L, D = x.shape
    return x.reshape(B, L, num_heads, D // num_heads).permute(0, 2, 1, 3)


def ref_causal_mask(L):
    return torch.arange(L)[None, :] <= torch.arange(L)[:, None]


def _split(x, h):
    return x.view(x.shape[0], x.shape[1], h, -1)


LAYERS = {
    check.additive_scores: (ref_additive_scores, [
        (lambda q, k, v: (q[:, None] + k[None]) @ v, "tanh is missing"),
        (lambda q, k, v: (torch.tanh(q) @ v)[:, None] + (torch.tanh(k) @ v)[None], "separately"),
        (lambda q, k, v: q @ k.T, "dot-product score"),
        (lambda q, k, v: torch.softmax(ref_additive_scores(q, k, v), -1), "already weights"),
        (lambda q, k, v: torch.tanh(k[:, None] + q[None]) @ v, "axes are swapped"),
        (lambda q, k, v: torch.tanh(q[:, None] + k[None]).sum(-1), "v is not used"),
        (lambda q, k, v: torch.tanh(q @ k.T) * v.sum(), "largest difference"),
    ]),
    check.split_heads: (ref_split_heads, [
        (lambda x, h: _split(x, h), "transpose(1, 2)"),
        (lambda x, h: x.reshape(x.shape[0], h, x.shape[1], -1), "mixes positions and features"),
        (lambda x, h: x.view(x.shape[0], x.shape[1], -1, h).permute(0, 3, 1, 2), "interleaved"),
        (lambda x, h: _split(x, h).permute(0, 2, 3, 1), "last two axes are swapped"),
        (lambda x, h: _split(x, h).transpose(1, 2).reshape(-1, x.shape[1], x.shape[2] // h), "merged the batch"),
        (lambda x, h: _split(x, h).transpose(1, 2).detach(), "no gradient"),
    ]),
    check.causal_mask: (ref_causal_mask, [
        (lambda L: torch.ones(L, L, dtype=torch.bool).triu(), "the future"),
        (lambda L: torch.ones(L, L, dtype=torch.bool).tril(-1), "attend to itself"),
        (lambda L: torch.ones(L, L, dtype=torch.bool).tril(1), "one step into the future"),
        (lambda L: torch.ones(L, L, dtype=torch.bool).triu(1), "opposite polarity"),
        (lambda L: torch.ones(L, L, dtype=torch.bool), "nothing is masked"),
        (lambda L: torch.ones(L, L).tril(), "dtype torch.bool"),
        (lambda L: torch.ones(L, L + 1, dtype=torch.bool).tril(), "expected shape (L, L)"),
    ]),
}


@pytest.mark.parametrize("checker", {**SEQ2SEQ, **LAYERS}, ids=lambda f: f.__name__)
def test_checkers_accept_the_reference_and_name_mistakes(checker, capsys):
    reference, mistakes = {**SEQ2SEQ, **LAYERS}[checker]
    assert checker(reference) is True
    assert _line(capsys).startswith("✅")
    for fn, message in mistakes:
        assert checker(fn) is False
        line = _line(capsys)
        assert line.startswith("❌") and message in line, line


@pytest.mark.parametrize("checker", LAYERS, ids=lambda f: f.__name__)
def test_layer_checkers_survive_hostile_code(checker, capsys):
    for fn, message in [(_stub, "not attempted yet"), (lambda *a: None, "returned None"),
                        (lambda *a: 1 / 0, "ZeroDivisionError"), (_raises_system_exit, "SystemExit"),
                        (_recurses, "RecursionError"), (lambda *a: [[True]], "builtins.list"),
                        (lambda *a: np.ones((2, 2)), "numpy.ndarray"), (lambda *a: "text", "builtins.str")]:
        assert checker(fn) is False
        assert message in _line(capsys)


def test_split_heads_checker_catches_in_place_changes(capsys):
    def mutates(x, h):
        x.zero_()
        return _split(x, h).transpose(1, 2)
    assert check.split_heads(mutates) is False
    assert "changed its input" in _line(capsys)


def test_layer_checkers_never_print_the_solution(capsys):
    check.additive_scores(lambda q, k, v: q @ k.T)
    check.split_heads(_stub)
    check.causal_mask(lambda L: torch.ones(L, L, dtype=torch.bool).triu())
    out = capsys.readouterr().out
    assert "torch.tanh(query" not in out and ".tril()" not in out and ".view(" not in out
