"""attn_course.model_files: safetensors files with the config and a SHA-256; older torch.save files."""

import json

import pytest
import safetensors
import torch

from attn_course.model_files import MODEL_FORMAT, load_model, save_model
from attn_course.train import TrainConfig, build_model, fit


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
