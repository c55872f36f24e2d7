"""fit, evaluate, save and load; the command line."""

import json

import pytest
import safetensors
import torch

from attn_course.__main__ import main
from attn_course.data import Vocab, encode_pairs
from attn_course.tasks import addition_pairs, split_pairs
from attn_course.models import Seq2SeqConfig
from attn_course import train as train_module
from attn_course.evaluation import Metrics, evaluate
from attn_course.model_files import MODEL_FORMAT, load_model, save_model
from attn_course.train import History, TrainConfig, build_model, fit


@pytest.fixture(scope="module")
def task():
    train_pairs, valid_pairs = split_pairs(addition_pairs(600, seed=5), valid_fraction=0.2)
    src = Vocab.build(s for s, _ in train_pairs)
    tgt = Vocab.build(t for _, t in train_pairs)
    return (Seq2SeqConfig(src, tgt, decoder="attention", embed_dim=8, hidden_dim=16),
            encode_pairs(train_pairs, src, tgt, True), encode_pairs(valid_pairs, src, tgt, True))


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


def test_evaluate_counts_exact_and_character_matches(task):
    config, _, valid = task
    model = build_model(config)
    with torch.no_grad():                                   # a model that always says EOS at once
        model.decoder.out.bias.fill_(-10.0)
        model.decoder.out.bias[2] = 10.0
    metrics = evaluate(model, valid)
    # Every target starts with a digit, so "EOS at once" gets no output and no position right.
    assert metrics == type(metrics)(exact_match=0.0, char_accuracy=0.0)


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"batch_size": 0}, {"lr": -1.0}, {"threads": 0}, {"stop_at": 0.0}])
def test_train_config_is_validated(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        TrainConfig(**bad)


def test_save_and_load_round_trip(task, tmp_path):
    config, train, valid = task
    model = build_model(config, seed=1)
    fit(model, train, None, TrainConfig(epochs=0.2), progress=False)
    path = tmp_path / "model.safetensors"
    save_model(model, path)
    with safetensors.safe_open(path, framework="pt") as f:                  # a safetensors file, with its config
        assert f.metadata()["format"] == MODEL_FORMAT
        assert json.loads(f.metadata()["config"])["hidden_dim"] == 16
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]     # no temporary file left behind
    loaded = load_model(path)
    assert loaded.config == model.config
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    (a, wa), (b, wb) = loaded.translate("12+34"), model.translate("12+34")
    assert a == b and torch.equal(wa, wb)


def test_older_torch_save_files_still_load(task, tmp_path):
    """The format of the previous save_model: {"config": JSON, "state_dict": ...} through torch.save."""
    config, _, _ = task
    model = build_model(config, seed=2)
    path = tmp_path / "old.pt"
    torch.save({"config": json.dumps(model.config.to_dict()), "state_dict": model.state_dict()}, path)
    loaded = load_model(path)
    assert loaded.config == model.config and not loaded.training
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    assert loaded.translate("12+34")[0] == model.eval().translate("12+34")[0]


def test_load_refuses_other_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="junk.pt is not a model attn_course can load"):
        load_model(tmp_path / "junk.pt")


def test_cli_train_writes_json_and_the_model_translates(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{s}\t{t}\n" for s, t in addition_pairs(300, seed=1)))
    out, model = tmp_path / "run.json", tmp_path / "m.pt"
    code = main(["train", "--model", "peeky", "--pairs", str(pairs), "--epochs", "0.5", "--hidden", "16",
                 "--json", str(out), "--save", str(model)])
    assert code == 0
    summary = json.loads(out.read_text())
    for key in ("model", "task", "epochs", "n_train", "n_valid", "params", "train_seconds", "exact_match",
                "char_accuracy"):
        assert key in summary
    assert summary["n_train"] == 270 and summary["n_valid"] == 30 and summary["model"] == "peeky"
    capsys.readouterr()
    assert main(["translate", str(model), "12+3"]) == 0
    expected, _ = load_model(model).translate("12+3")
    assert capsys.readouterr().out == expected + "\n"


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "attention", "--pairs", "/nonexistent.tsv"], "/nonexistent.tsv"),
    (["translate", "/nonexistent.pt", "x"], "does not exist"),
])
def test_cli_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and err.count("\n") == 1


def test_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--model", "attention", "--task", "date", "--epochs", "-1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--epochs: must be a number > 0" in err and err.count("\n") == 1


def test_models_and_batches_follow_the_device(task):
    config, train, _ = task
    from attn_course.train import default_device
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(config, device=default_device())
    assert next(model.parameters()).device.type == default_device().type
    history = fit(model, train, None, TrainConfig(epochs=0.1), progress=False)
    assert history.steps >= 1
