"""attn_course.__main__: the command line, end to end on a tiny file of pairs."""

import json

import pytest

from attn_course.__main__ import main
from attn_course.model_files import load_model
from attn_course.tasks import addition_pairs


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



def test_the_transformer_trains_saves_and_translates_from_the_command_line(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{s}\t{t}\n" for s, t in addition_pairs(200, seed=2)))
    out, model = tmp_path / "run.json", tmp_path / "t.safetensors"
    code = main(["train", "--model", "transformer", "--pairs", str(pairs), "--epochs", "0.5", "--embed", "16",
                 "--hidden", "32", "--layers", "2", "--heads", "2", "--no-reverse", "--json", str(out),
                 "--save", str(model)])
    assert code == 0
    summary = json.loads(out.read_text())
    assert summary["model"] == "transformer" and summary["layers"] == 2 and summary["heads"] == 2
    capsys.readouterr()
    assert main(["translate", str(model), "12+3"]) == 0
    expected, _ = load_model(model).translate("12+3")
    assert capsys.readouterr().out == expected + "\n"


def test_the_transformers_width_must_divide_by_its_heads(capsys):
    assert main(["train", "--model", "transformer", "--task", "date", "--embed", "30", "--heads", "4"]) == 2
    assert capsys.readouterr().err == "error: --embed 30 must be divisible by --heads 4: each head is embed / heads wide\n"
