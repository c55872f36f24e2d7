"""attn_course.train: TrainConfig, fit (deterministic, early stop, threads), train_on_pairs."""

import pytest
import torch

from attn_course import train as train_module
from attn_course.evaluation import Metrics
from attn_course.models import Seq2SeqConfig
from attn_course.tasks import addition_pairs, split_pairs
from attn_course.train import History, TrainConfig, build_model, fit, train_on_pairs


def test_fit_is_deterministic_bit_for_bit(task):
    config, train, valid = task
    runs = []
    for _ in range(2):
        model = build_model(config, seed=3)
        runs.append(fit(model, train, valid, TrainConfig(epochs=1, batch_size=64, seed=3), progress=False))
    assert runs[0].losses == runs[1].losses and runs[0].valid == runs[1].valid
    other = fit(build_model(config, seed=4), train, None, TrainConfig(epochs=1, batch_size=64, seed=4), progress=False)
    assert other.losses != runs[0].losses


def test_fit_learns_and_records_history(task):
    config, train, valid = task
    model = build_model(config, seed=0)
    history = fit(model, train, valid, TrainConfig(epochs=3, batch_size=32), progress=False)
    assert isinstance(history, History) and history.steps == 3 * 15
    first, last = sum(history.losses[:5]) / 5, sum(history.losses[-5:]) / 5
    assert last < 0.75 * first
    assert [step for step, _, _ in history.valid] == [15, 30, 45]
    assert history.train_seconds > 0
    assert not model.training


def test_fractional_epochs_and_early_stop(task, monkeypatch):
    config, train, valid = task
    h = fit(build_model(config), train, None, TrainConfig(epochs=0.5, batch_size=32), progress=False)
    assert h.steps == 8
    # stop_at lies in (0, 1]: a validation that reports a perfect score stops at the first evaluation
    monkeypatch.setattr(train_module, "evaluate", lambda model, data: Metrics(1.0, 1.0))
    h = fit(build_model(config), train, valid, TrainConfig(epochs=2, batch_size=32, stop_at=1.0, eval_every=3),
            progress=False)
    assert h.steps == 3 and h.valid == [(3, 1.0, 1.0)]


def test_fit_restores_the_thread_count(task):
    config, train, _ = task
    before = torch.get_num_threads()
    fit(build_model(config), train, None, TrainConfig(epochs=0.1, threads=1), progress=False)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"batch_size": 0}, {"lr": -1.0}, {"threads": 0}, {"stop_at": 0.0}])
def test_train_config_is_validated(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        TrainConfig(**bad)


def test_models_and_batches_follow_the_device(task):
    config, train, _ = task
    from attn_course.train import default_device
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(config, device=default_device())
    assert next(model.parameters()).device.type == default_device().type
    history = fit(model, train, None, TrainConfig(epochs=0.1), progress=False)
    assert history.steps >= 1


def test_train_on_pairs_is_build_model_then_fit_on_the_encoded_pairs():
    train_pairs, valid_pairs = split_pairs(addition_pairs(300, seed=3), valid_fraction=0.2)
    config = Seq2SeqConfig.for_pairs(train_pairs, decoder="peeky", embed_dim=8, hidden_dim=16, reverse_source=True)
    train_config = TrainConfig(epochs=1, batch_size=32, seed=4)
    model, history = train_on_pairs(config, train_pairs, valid_pairs, train_config, progress=False)
    by_hand = build_model(config, seed=4)
    expected = fit(by_hand, config.encode(train_pairs), config.encode(valid_pairs), train_config, progress=False)
    assert history.losses == expected.losses and history.valid == expected.valid
    for (name, a), (_, b) in zip(model.state_dict().items(), by_hand.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("n, batch_size, steps", [(1, 128, 1), (128, 128, 1), (129, 128, 2), (18000, 128, 141)])
def test_steps_per_epoch_counts_the_last_smaller_batch(n, batch_size, steps):
    assert TrainConfig(batch_size=batch_size).steps_per_epoch(n) == steps


def test_train_on_pairs_refuses_a_config_that_is_not_one():
    with pytest.raises(TypeError, match="config must be a Seq2SeqConfig .*for_pairs"):
        train_on_pairs({"decoder": "peeky"}, [("1+1", "2")])
