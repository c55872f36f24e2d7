"""Hostile input to the command line, through attn_course.__main__.main([...]): every error is
exit code 2 and ONE line on stderr, never a traceback; numbers, files and sizes are checked
before training starts; a diverging run saves nothing; nothing a user made is replaced unasked.
One row per case: the arguments, then words the message must hold.
"""

import json
import os
import pickle
import re
from pathlib import Path

import pytest
import torch

from attn_course import tasks as tasks_module
from attn_course import train as train_module
from attn_course.__main__ import main
from attn_course.tasks import addition_pairs
from attn_course.model_files import load_model

SEED_MAX = 2**64 - 1


@pytest.fixture
def pairs(tmp_path) -> Path:
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in addition_pairs(120, seed=1)))
    return path


def tiny(pairs: Path, *extra) -> list[str]:
    """A training run of well under a second: 108 pairs, 7 steps of 16 per epoch, a tiny model."""
    return ["train", "--model", "attention", "--pairs", str(pairs), "--epochs", "0.3", "--hidden", "8",
            "--embed", "4", "--batch-size", "16", *map(str, extra)]


def run(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:                     # argparse's usage errors exit from parse_args
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, err: str, words: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "weights_only" not in err, err
    assert re.search(words, err), err


@pytest.fixture
def never_trains(monkeypatch):
    """Training must not start: fit's step guard is built only after every check passed."""
    def started(*args, **kwargs):
        raise AssertionError("training started")
    monkeypatch.setattr(train_module, "_Guard", started)


# ---------------------------------------------------------------- numeric flags

FLAG_CASES = [  # (flag, value, words)
    ("--epochs", "inf", "--epochs: must be a finite number; got inf"),
    ("--epochs", "nan", "--epochs: must be a finite number"),
    ("--epochs", "0", "--epochs: must be a number > 0; got 0"),
    ("--epochs", "-1", "--epochs: must be a number > 0"),
    ("--epochs", "abc", "--epochs: must be a number; got 'abc'"),
    ("--epochs", "1e300", r"epochs=1e\+300 makes .* steps"),
    ("--hidden", "0", "--hidden: must be an int >= 1; got 0"),
    ("--hidden", "1.5", "--hidden: must be an int; got '1.5'"),
    ("--hidden", str(10**12), r"--hidden 1000000000000 .*need about .* GB .*parameters.*more than this machine's"),
    ("--embed", str(10**12), r"--embed 1000000000000 .*GB"),
    ("--embed", "-4", "--embed: must be an int >= 1"),
    ("--batch-size", "0", "--batch-size: must be an int >= 1"),
    ("--batch-size", "2.5", "--batch-size: must be an int"),
    ("--seed", str(10**30), rf"--seed: must be an int in \[0, {SEED_MAX}\]"),
    ("--seed", "-1", rf"--seed: must be an int in \[0, {SEED_MAX}\]"),
    ("--seed", "1e3", "--seed: must be an int"),
    ("--seed", "9" * 5000, "--seed: must be an int"),
    ("--lr", "0", "--lr: must be a number > 0"),
    ("--lr", "-1", "--lr: must be a number > 0"),
    ("--lr", "inf", "--lr: must be a finite number"),
    ("--lr", "nan", "--lr: must be a finite number"),
    ("--stop-at", "0", r"--stop-at: must be a number in \(0, 1\]"),
    ("--stop-at", "1.01", r"--stop-at: must be a number in \(0, 1\]"),
    ("--stop-at", "nan", "--stop-at: must be a finite number"),
    ("--eval-every", "-1", "--eval-every: must be an int >= 0"),
    ("--eval-every", "x", "--eval-every: must be an int"),
    ("--model", "lstm", "--model: invalid choice"),
    ("--layers", "0", "--layers: must be an int >= 1"),
    ("--heads", "2.5", "--heads: must be an int"),
]


@pytest.mark.parametrize("flag, value, words", FLAG_CASES, ids=[f"{f} {v:.20}" for f, v, _ in FLAG_CASES])
def test_numeric_flags_are_checked_before_training(pairs, capsys, never_trains, flag, value, words):
    code, out, err = run(tiny(pairs, flag, value), capsys)
    assert_refused(code, err, words)
    assert out == ""


# ---------------------------------------------------------------- output files, checked before training


def _sys_is_read_only() -> bool:
    try:
        open("/sys/attn_course_probe", "wb").close()
        return False
    except OSError:
        return os.path.isdir("/sys")


OUTPUT_CASES = [  # (id, extra arguments (t: tmp folder, p: pairs file), words)
    ("--save a folder", lambda t, p: ["--save", t], "--save .* is a folder"),
    ("--save in a missing folder", lambda t, p: ["--save", t / "no" / "m.safetensors"],
     "--save .*: the folder .*no does not exist"),
    ("--save in a folder with a line break", lambda t, p: ["--save", t / "a\nb" / "m.safetensors"],
     "the folder .* does not exist"),
    ("--save an existing file", lambda t, p: ["--save", p], "--save .*pairs.tsv exists; pass --force"),
    ("--save is --pairs, forced", lambda t, p: ["--save", p, "--force"], "--pairs and --save name the same file"),
    ("--json a folder", lambda t, p: ["--json", t], "--json .* is a folder"),
    ("--json is --save", lambda t, p: ["--json", t / "x", "--save", t / "x"], "--json and --save name the same file"),
    ("--json is --pairs", lambda t, p: ["--json", p], "--pairs and --json name the same file"),
]


@pytest.mark.parametrize("extra, words", [c[1:] for c in OUTPUT_CASES], ids=[c[0] for c in OUTPUT_CASES])
def test_output_files_are_checked_before_training(tmp_path, pairs, capsys, never_trains, extra, words):
    before = pairs.read_bytes()
    code, _, err = run(tiny(pairs, *extra(tmp_path, pairs)), capsys)
    assert_refused(code, err, words)
    assert pairs.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.tsv"]


@pytest.mark.skipif(not _sys_is_read_only(), reason="needs a folder nobody may write in, such as /sys")
def test_a_read_only_save_folder_is_refused_before_training(pairs, capsys, never_trains):
    code, _, err = run(tiny(pairs, "--save", "/sys/m.safetensors"), capsys)
    assert_refused(code, err, "--save /sys/m.safetensors: cannot write in the folder /sys")


# ---------------------------------------------------------------- --pairs files

PAIRS_CASES = [  # (id, file content, or None for no file / a folder, words)
    ("missing", None, "pairs file not found"),
    ("a folder", "folder", "is a folder, not a file of source<TAB>target lines"),
    ("not UTF-8", b"1+1\t2\n\xff\xfe+1\t2\n", r"line 2: not UTF-8 \(byte 0xff"),
    ("no tab", b"1+1\t2\n1+1 2\n", "line 2: expected 'source<TAB>target' with exactly one tab; got 0 tabs"),
    ("two tabs", b"1+1\t2\t3\n", "exactly one tab; got 2 tabs"),
    ("empty", b"", "line 1: the file is empty"),
    ("only newlines", b"\n\n\r\n", "the file is empty"),
    ("an empty source", b"1+1\t2\n\t3\n", "line 2: the source is empty"),
    ("one pair", b"1+1\t2\n", "bad.tsv: holds 1 pair; training needs at least 2 pairs"),
]


@pytest.mark.parametrize("content, words", [c[1:] for c in PAIRS_CASES], ids=[c[0] for c in PAIRS_CASES])
def test_bad_pairs_files_are_one_line(tmp_path, capsys, never_trains, content, words):
    path = tmp_path / "bad.tsv"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    code, _, err = run(tiny(path), capsys)
    assert_refused(code, err, words)
    assert "bad.tsv" in err


def test_a_pairs_file_too_big_to_read_is_refused(pairs, capsys, monkeypatch, never_trains):
    monkeypatch.setattr(tasks_module, "MAX_PAIRS_BYTES", 100)
    code, _, err = run(tiny(pairs), capsys)
    assert_refused(code, err, "pairs.tsv: the file is larger than")


# ---------------------------------------------------------------- a run that diverges saves nothing


def test_a_diverging_run_exits_2_and_saves_nothing(tmp_path, pairs, capsys):
    model, summary = tmp_path / "m.safetensors", tmp_path / "run.json"
    code, _, err = run(tiny(pairs, "--lr", "1e6", "--epochs", "1", "--save", model, "--json", summary), capsys)
    assert_refused(code, err, r"training diverged at step \d+ of 7: the loss exploded .*smaller learning rate")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.tsv"]          # no model, no summary, no temp file


def test_a_diverging_run_leaves_an_existing_model_untouched_even_with_force(tmp_path, pairs, capsys):
    model = tmp_path / "m.safetensors"
    assert run(tiny(pairs, "--save", model), capsys)[0] == 0
    before = model.read_bytes()
    code, _, err = run(tiny(pairs, "--lr", "1e37", "--epochs", "1", "--save", model, "--force"), capsys)
    assert_refused(code, err, "training diverged at step .*: the loss is inf")
    assert model.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors", "pairs.tsv"]


def test_an_existing_model_is_kept_without_force_and_replaced_with_it(tmp_path, pairs, capsys):
    model = tmp_path / "m.safetensors"
    assert run(tiny(pairs, "--save", model), capsys)[0] == 0
    before = model.read_bytes()
    code, _, err = run(tiny(pairs, "--save", model, "--seed", "1"), capsys)
    assert_refused(code, err, "exists; pass --force to replace it")
    assert model.read_bytes() == before
    code, out, _ = run(tiny(pairs, "--save", model, "--seed", "1", "--force"), capsys)
    assert code == 0 and f"saved the model to {model}" in out
    assert model.read_bytes() != before and load_model(model).config.hidden_dim == 8


def test_a_failing_save_is_one_line_and_keeps_the_old_file(tmp_path, pairs, capsys, monkeypatch):
    model = tmp_path / "m.safetensors"
    assert run(tiny(pairs, "--save", model), capsys)[0] == 0
    before = model.read_bytes()

    def cross_device(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "replace", cross_device)
    code, _, err = run(tiny(pairs, "--save", model, "--force"), capsys)
    assert_refused(code, err, "cannot save the model to .*m.safetensors: Invalid cross-device link")
    assert model.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors", "pairs.tsv"]


def test_an_interrupted_run_is_one_line(pairs, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(train_module, "fit", interrupted)
    code, _, err = run(tiny(pairs), capsys)
    assert code == 130 and err == "error: interrupted\n"


# ---------------------------------------------------------------- translate with a bad model file


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _good(t: Path) -> Path:
    path = t / "good.safetensors"
    if not path.exists():
        pairs = t / "p.tsv"
        pairs.write_text("".join(f"{s}\t{u}\n" for s, u in addition_pairs(40, seed=2)))
        assert main(tiny(pairs, "--epochs", "0.1", "--save", path)) == 0
    return path


def _flipped(t: Path) -> Path:
    data = bytearray(_good(t).read_bytes())
    data[-7] ^= 0x01
    (t / "flipped.safetensors").write_bytes(bytes(data))
    return t / "flipped.safetensors"


def _evil(t: Path) -> Path:
    torch.save({"config": "{}", "state_dict": {}, "x": _RunsCode(t / "pwned")}, t / "evil.pt")
    return t / "evil.pt"


def _file(t: Path, name: str, content: bytes) -> Path:
    (t / name).write_bytes(content)
    return t / name


TRANSLATE_CASES = [  # (id, make(tmp) -> model file, text, words)
    ("missing", lambda t: t / "nope.safetensors", "1+1", "model file .*nope.safetensors does not exist"),
    ("a folder", lambda t: t, "1+1", "is a folder, not a file"),
    ("a text file", lambda t: _file(t, "notes.txt", b"my notes\n"), "1+1", "notes.txt is not a model .*neither"),
    ("a pairs file", lambda t: _file(t, "p.tsv", b"1+1\t2\n"), "1+1", "neither a safetensors file nor"),
    ("a flipped byte", _flipped, "1+1", "flipped.safetensors .*damaged.*SHA-256"),
    ("truncated", lambda t: _file(t, "cut.safetensors", _good(t).read_bytes()[:-50]), "1+1", "damaged or truncated"),
    ("a pickle that runs code", _evil, "1+1", "evil.pt .*pickle asks for code"),
    ("a pickle of a raw object", lambda t: _file(t, "raw.pkl", pickle.dumps(_RunsCode(t / "pwned"))), "1+1",
     "raw.pkl .*pickle asks for code"),
    ("empty text", _good, "", "text must hold at least one token"),
]


@pytest.mark.parametrize("make, text, words", [c[1:] for c in TRANSLATE_CASES], ids=[c[0] for c in TRANSLATE_CASES])
def test_translate_refuses_bad_model_files_in_one_line(tmp_path, capsys, make, text, words):
    path = make(tmp_path)
    capsys.readouterr()
    code, out, err = run(["translate", str(path), text], capsys)
    assert_refused(code, err, words)
    assert out == ""
    assert not (tmp_path / "pwned").exists()


def test_translate_reads_models_of_the_previous_format(tmp_path, capsys):
    """Files written by the previous save_model (torch.save of a dict) still translate."""
    model = load_model(_good(tmp_path))
    old = tmp_path / "old.pt"
    torch.save({"config": json.dumps(model.config.to_dict()), "state_dict": model.state_dict()}, old)
    capsys.readouterr()
    code, out, err = run(["translate", str(old), "12+3"], capsys)
    assert code == 0 and err == "" and out == model.translate("12+3")[0] + "\n"
