"""Hostile input to training: TrainConfig's fields, fit's arguments, runs that diverge, and the
functions around them (evaluate, predict, build_model, encode_pairs). One row per case:
input, error type, words of the message.
"""

import math
import re

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from attn_course import train as train_module
from attn_course.data import Encoded, Vocab, encode_pairs
from attn_course.tasks import addition_pairs
from attn_course.models import Seq2SeqConfig
from attn_course.evaluation import evaluate, predict
from attn_course.train import DivergedError, TrainConfig, build_model, fit

PAIRS = addition_pairs(64, seed=3)
SRC, TGT = Vocab.build(s for s, _ in PAIRS), Vocab.build(t for _, t in PAIRS)
CONFIG = Seq2SeqConfig(SRC, TGT, decoder="attention", embed_dim=4, hidden_dim=8)
DATA = encode_pairs(PAIRS, SRC, TGT, reverse_source=True)                   # 64 pairs: 4 steps of 16
# Punctuation sorts before the digits, so the digits get ids beyond the model's source vocabulary.
OTHER = encode_pairs(PAIRS, Vocab.build(["!\"#$%&'()*" + "0123456789+"]), TGT, reverse_source=True)
SEED_MAX = 2**64 - 1


def one_line(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message, message


# ---------------------------------------------------------------- TrainConfig

CONFIG_CASES = [  # (field, value, error, words)
    ("epochs", "1", TypeError, "epochs must be a real number .*got str"),
    ("epochs", True, TypeError, "epochs must be a real number .*got bool"),
    ("epochs", None, TypeError, "epochs must be a real number"),
    ("epochs", 0, ValueError, r"epochs must be a number > 0; got 0"),
    ("epochs", -1.5, ValueError, r"epochs must be a number > 0"),
    ("epochs", math.inf, ValueError, "epochs must be a finite number"),
    ("epochs", math.nan, ValueError, "epochs must be a finite number"),
    ("batch_size", 0, ValueError, "batch_size must be an int >= 1"),
    ("batch_size", 2.0, TypeError, "batch_size must be an int"),
    ("batch_size", True, TypeError, "batch_size must be an int; got bool"),
    ("lr", 0, ValueError, r"lr must be a number > 0"),
    ("lr", -1, ValueError, r"lr must be a number > 0"),
    ("lr", math.inf, ValueError, "lr must be a finite number"),
    ("lr", math.nan, ValueError, "lr must be a finite number"),
    ("lr", "0.1", TypeError, "lr must be a real number"),
    ("clip", 0.0, ValueError, "clip must be a number > 0"),
    ("clip", math.inf, ValueError, "clip must be a finite number"),
    ("cosine", 1, TypeError, "cosine must be True or False"),
    ("cosine", "no", TypeError, "cosine must be True or False"),
    ("seed", -1, ValueError, r"seed must be an int in \[0, "),
    ("seed", 10**30, ValueError, f"seed must be an int in \\[0, {SEED_MAX}\\]"),
    ("seed", 1.0, TypeError, "seed must be an int"),
    ("eval_every", -1, ValueError, "eval_every must be an int >= 0"),
    ("eval_every", 0.5, TypeError, "eval_every must be an int"),
    ("stop_at", 0, ValueError, r"stop_at must be a number in \(0, 1\]"),
    ("stop_at", 1.5, ValueError, r"stop_at must be a number in \(0, 1\]"),
    ("stop_at", math.nan, ValueError, "stop_at must be a finite number"),
    ("stop_at", "0.9", TypeError, "stop_at must be a real number"),
    ("threads", 0, ValueError, r"threads must be an int in \[1, 1024\]"),
    ("threads", 10**6, ValueError, r"threads must be an int in \[1, 1024\]"),
    ("threads", 1.0, TypeError, "threads must be an int"),
]


@pytest.mark.parametrize("name, value, error, words", CONFIG_CASES, ids=[f"{c[0]}={c[1]!r}" for c in CONFIG_CASES])
def test_train_config_refuses_bad_fields(name, value, error, words):
    with pytest.raises(error, match=words) as info:
        TrainConfig(**{name: value})
    one_line(str(info.value))


def test_train_config_accepts_what_the_chapters_and_numpy_give():
    TrainConfig(epochs=5, batch_size=128, lr=0.02, seed=0)                     # chapters 2 and 3
    TrainConfig(epochs=1.0, eval_every=35)                                     # chapters 4 and 5
    config = TrainConfig(epochs=np.float32(0.5), batch_size=np.int64(8), seed=SEED_MAX, stop_at=1)
    assert type(config.batch_size) is int and config.seed == SEED_MAX


def test_the_largest_seed_trains():
    """seed * 1000 + epoch would overflow torch's generator: the shuffling seed wraps around."""
    history = fit(build_model(CONFIG, seed=SEED_MAX), DATA, None, TrainConfig(epochs=0.25, batch_size=16,
                                                                              seed=SEED_MAX), progress=False)
    assert history.steps == 1


# ---------------------------------------------------------------- fit's arguments


def _encoded(**change) -> Encoded:
    fields = {f: getattr(DATA, f) for f in ("src", "src_lengths", "tgt_in", "tgt_out", "tgt_lengths")}
    return Encoded(**{**fields, **change})


FIT_CASES = [  # (id, arguments (model is filled in), error, words)
    ("model a str", {"model": "attention"}, TypeError, "model must be a Seq2Seq"),
    ("train a list", {"train": PAIRS}, TypeError, "train must be an Encoded"),
    ("valid a str", {"valid": "valid"}, TypeError, "valid must be an Encoded"),
    ("config a dict", {"config": {"epochs": 1}}, TypeError,
     r"config must be a TrainConfig; build one .*TrainConfig\(\*\*d\)"),
    ("config None", {"config": None}, TypeError, "config must be a TrainConfig"),
    ("progress a str", {"progress": "yes"}, TypeError, "progress must be True or False"),
    ("other vocabulary", {"train": OTHER}, ValueError,
     r"train.src ids must lie in \[0, V=15\).*model.config.encode"),
    ("target ids", {"valid": _encoded(tgt_out=DATA.tgt_out + 50)}, ValueError, "valid.tgt_out ids must lie in"),
    ("zero lengths", {"train": _encoded(src_lengths=DATA.src_lengths * 0)}, ValueError,
     r"train.src_lengths must lie in \[1, "),
    ("lengths too long", {"train": _encoded(tgt_lengths=DATA.tgt_lengths + 100)}, ValueError,
     "train.tgt_lengths must lie in"),
    ("no examples", {"train": _encoded(**{f: getattr(DATA, f)[:0] for f in
                                          ("src", "src_lengths", "tgt_in", "tgt_out", "tgt_lengths")})},
     ValueError, "train.src must hold at least one example"),
    ("endless epochs", {"config": TrainConfig(epochs=1e300)}, ValueError, r"epochs=1e\+300 makes .* steps"),
]


@pytest.mark.parametrize("change, error, words", [c[1:] for c in FIT_CASES], ids=[c[0] for c in FIT_CASES])
def test_fit_refuses_bad_arguments_before_any_step(change, error, words):
    model = build_model(CONFIG)
    before = [p.clone() for p in model.parameters()]
    args = {"model": model, "train": DATA, "valid": None, "config": TrainConfig(epochs=0.25, batch_size=16),
            "progress": False, **change}
    with pytest.raises(error, match=words) as info:
        fit(**args)
    one_line(str(info.value))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


# ---------------------------------------------------------------- runs that diverge


@pytest.fixture
def weights():
    """weights[k]: the model's weights after k optimizer steps (the test puts weights[0], before training)."""
    snapshots = []

    def record(optimizer, args, kwargs):
        snapshots.append([p.detach().clone() for group in optimizer.param_groups for p in group["params"]])

    handle = register_optimizer_step_post_hook(record)
    yield snapshots
    handle.remove()


def _on_call(n: int, action):
    """Wraps a function: on its n-th call, return action(result) instead of the result."""
    def wrap(function):
        calls = [0]

        def wrapped(*args, **kwargs):
            calls[0] += 1
            result = function(*args, **kwargs)
            return action(result) if calls[0] == n else result
        return wrapped
    return wrap


def _raise(message):
    def action(result):
        raise ValueError(message)
    return action


def _poison_step(n: int):
    """An optimizer hook that writes a NaN into the first weight after the n-th step."""
    def poison(optimizer, args, kwargs):
        poison.steps += 1
        if poison.steps == n:
            with torch.no_grad():
                optimizer.param_groups[0]["params"][0][0, 0] = math.nan
    poison.steps = 0
    return poison


FAULTS = [  # (id, where to inject, what, failing step, weights kept = after k updates, words)
    ("nan loss at step 1", "_loss", _on_call(1, lambda loss: loss * math.nan), 1, 0,
     "loss is nan. The model is back to its initial weights"),
    ("nan loss at step 3", "_loss", _on_call(3, lambda loss: loss * math.nan), 3, 1,
     "loss is nan.*step 2's loss, the last good"),
    ("inf loss at step 4", "_loss", _on_call(4, lambda loss: loss * math.inf), 4, 2,
     "loss is inf.*step 3's loss, the last good"),
    ("loss explodes at step 2", "_loss", _on_call(2, lambda loss: loss * 1e6), 2, 0,
     r"loss exploded to .*e\+06, over 100 x log V"),
    ("forward overflows", "_loss", _on_call(2, _raise("query must be finite; got nan")), 2, 0,
     "forward pass met non-finite numbers .query must be finite"),
    ("nan gradient at step 2", "clip", _on_call(2, lambda norm: norm * math.nan), 2, 1, "gradient norm is nan"),
    ("validation overflows", "evaluate", _on_call(1, _raise("query must be finite; got inf")), 2, 1,
     "validation met non-finite numbers"),
    ("nan weights mid-run", "update", _poison_step(2), 2, 1, "update made the weights non-finite.*step 2's loss"),
    ("nan weights at the end", "update", _poison_step(4), 4, 3, "update made the weights non-finite.*step 4's loss"),
]


@pytest.mark.parametrize("where, fault, step, kept, words", [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_a_non_finite_step_stops_training_and_restores_the_last_finite_weights(monkeypatch, weights, where, fault,
                                                                                step, kept, words):
    model = build_model(CONFIG, seed=1)
    weights.append([p.detach().clone() for p in model.parameters()])
    if where == "_loss":
        monkeypatch.setattr(train_module, "_loss", fault(train_module._loss))
    elif where == "clip":
        monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", fault(torch.nn.utils.clip_grad_norm_))
    elif where == "evaluate":
        monkeypatch.setattr(train_module, "evaluate", fault(train_module.evaluate))
    handle = register_optimizer_step_post_hook(fault) if where == "update" else None
    if where == "update":
        fault.steps = 0
    try:
        with pytest.raises(DivergedError, match=words) as info:
            fit(model, DATA, DATA if where in ("evaluate", "update") else None,
                TrainConfig(epochs=1, batch_size=16, lr=0.01, eval_every=2), progress=False)
    finally:
        if handle is not None:
            handle.remove()
    error = info.value
    assert isinstance(error, ValueError) and isinstance(error, FloatingPointError)
    assert error.step == step and f"at step {step} of 4" in str(error)
    assert "smaller learning rate than lr=0.01" in str(error)
    one_line(str(error))
    assert all(math.isfinite(loss) for loss in error.history.losses)
    for p, q in zip(model.parameters(), weights[kept]):
        assert torch.equal(p, q)                                           # the last weights with a finite loss
    assert not model.training


@pytest.mark.parametrize("lr, words", [(1e6, "the loss exploded"), (1e37, "the loss is inf")])
def test_a_huge_learning_rate_diverges_and_leaves_finite_weights(lr, words):
    model = build_model(CONFIG, seed=0)
    pattern = rf"training diverged at step \d+ of 12: {words}.*lr={re.escape(f'{lr:g}')}, e.g. lr="
    with pytest.raises(DivergedError, match=pattern):
        fit(model, DATA, DATA, TrainConfig(epochs=3, batch_size=16, lr=lr), progress=False)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert isinstance(predict(model, ["1+2"])[0], str)                     # still usable


# ---------------------------------------------------------------- evaluate, predict, build_model, encode_pairs

MODEL = build_model(CONFIG)

API_CASES = [  # (id, call, error, words)
    ("predict one str", lambda: predict(MODEL, "1+1"), TypeError,
     r"sources must be a list of str; got str: wrap one source as \[source\]"),
    ("predict bytes", lambda: predict(MODEL, b"1+1"), TypeError, "sources must be a list of str"),
    ("predict a number", lambda: predict(MODEL, 12), TypeError, "sources must be a list of str"),
    ("predict an int item", lambda: predict(MODEL, ["1+1", 2]), TypeError, r"sources\[1\] must be a str; got int"),
    ("predict an empty str", lambda: predict(MODEL, ["1+1", ""]), ValueError, r"sources\[1\] is an empty string"),
    ("predict max_len 0", lambda: predict(MODEL, ["1+1"], max_len=0), ValueError, "max_len must be an int >= 1"),
    ("predict max_len -3", lambda: predict(MODEL, ["1+1"], max_len=-3), ValueError, "max_len must be an int >= 1"),
    ("predict max_len 2.5", lambda: predict(MODEL, ["1+1"], max_len=2.5), TypeError, "max_len must be an int"),
    ("predict batch_size 0", lambda: predict(MODEL, ["1+1"], batch_size=0), ValueError, "batch_size must be an int >= 1"),
    ("predict no model", lambda: predict("model", ["1+1"]), TypeError, "model must be a Seq2Seq"),
    ("evaluate pairs", lambda: evaluate(MODEL, PAIRS), TypeError, "data must be an Encoded"),
    ("evaluate other vocabulary", lambda: evaluate(MODEL, OTHER), ValueError, "data.src ids must lie in"),
    ("evaluate batch_size -1", lambda: evaluate(MODEL, DATA, batch_size=-1), ValueError, "batch_size must be an int >= 1"),
    ("evaluate no model", lambda: evaluate(None, DATA), TypeError, "model must be a Seq2Seq"),
    ("build_model seed -1", lambda: build_model(CONFIG, seed=-1), ValueError, r"seed must be an int in \[0, "),
    ("build_model seed 10**30", lambda: build_model(CONFIG, seed=10**30), ValueError, f"seed must be an int in \\[0, {SEED_MAX}\\]"),
    ("build_model seed 1.5", lambda: build_model(CONFIG, seed=1.5), TypeError, "seed must be an int"),
    ("build_model a dict", lambda: build_model(CONFIG.to_dict()), TypeError, "config must be a Seq2SeqConfig"),
    ("encode_pairs list vocab", lambda: encode_pairs(PAIRS, list(SRC.tokens), TGT), TypeError,
     r"src_vocab must be a Vocab \(e.g. Vocab.build\(texts\)\); got list"),
    ("encode_pairs str vocab", lambda: encode_pairs(PAIRS, SRC, "0123456789"), TypeError, "tgt_vocab must be a Vocab"),
    ("encode_pairs int target", lambda: encode_pairs([("1+1", 2)], SRC, TGT), TypeError,
     r"pairs\[0\] must be a \(source, target\) pair of str"),
    ("encode_pairs one str", lambda: encode_pairs("1+1\t2", SRC, TGT), TypeError, "pairs must be a list"),
    ("encode_pairs a triple", lambda: encode_pairs([("1", "1", "2")], SRC, TGT), TypeError, r"pairs\[0\]"),
]


@pytest.mark.parametrize("call, error, words", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_training_functions_refuse_bad_arguments(call, error, words):
    with pytest.raises(error, match=words) as info:
        call()
    one_line(str(info.value))


def test_predict_of_nothing_is_nothing():
    assert predict(MODEL, []) == []
