"""Hostile input to the models and to model files: each case is one row (input, error type, words of the message).

Models: configs, token ids, lengths and max_len at the public boundary (Seq2Seq.forward,
greedy_decode, translate); the decoder's weights (dot_attention_weights) and the functions
Seq2Seq.attending_with swaps in. Files: every file load_model must refuse, with one line that
names the file and says why, and save_model's failures, which never damage an existing file.
"""

import json
import os
import pickle
from pathlib import Path

import pytest
import safetensors.torch
import torch

from attn_course import model_files as model_files_module
from attn_course.data import Vocab, encode_pairs
from attn_course.models import DECODERS, SCORES, Seq2Seq, Seq2SeqConfig, dot_attention_weights
from attn_course.sizes import parameter_count
from attn_course.model_files import MODEL_FORMAT, load_model, save_model
from attn_course.train import build_model

PAIRS = [("abc", "xy"), ("ba", "yyx"), ("cab", "x")]
SRC, TGT = Vocab.build(s for s, _ in PAIRS), Vocab.build(t for _, t in PAIRS)
V_SRC, V_TGT = len(SRC), len(TGT)
CONFIG = Seq2SeqConfig(SRC, TGT, decoder="attention", embed_dim=4, hidden_dim=8)


@pytest.fixture(scope="module")
def model():
    return build_model(CONFIG, seed=0).eval()


@pytest.fixture(scope="module")
def batch():
    return encode_pairs(PAIRS, SRC, TGT, reverse_source=True)          # src (3, 3), tgt_in (3, 4)


def one_line(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message, message


# ---------------------------------------------------------------- configs

CONFIG_CASES = [  # (keyword arguments, error, words)
    ({"src_vocab": ["a", "b"]}, TypeError, "src_vocab must be a Vocab"),
    ({"tgt_vocab": "xy"}, TypeError, "tgt_vocab must be a Vocab"),
    ({"decoder": 3}, ValueError, "decoder must be one of"),
    ({"decoder": ["attention"]}, ValueError, "decoder must be one of"),
    ({"score": "cos"}, ValueError, "score must be one of"),
    ({"hidden_dim": True}, TypeError, "hidden_dim must be an int; got bool"),
    ({"embed_dim": -1}, ValueError, "embed_dim must be an int >= 1"),
    ({"embed_dim": 2.0}, TypeError, "embed_dim must be an int; got float"),
    ({"reverse_source": "yes"}, TypeError, "reverse_source must be True or False"),
]


@pytest.mark.parametrize("kwargs, error, words", CONFIG_CASES, ids=[str(c[0]) for c in CONFIG_CASES])
def test_bad_configs_are_refused(kwargs, error, words):
    with pytest.raises(error, match=words):
        Seq2SeqConfig(**{"src_vocab": SRC, "tgt_vocab": TGT, **kwargs})


FROM_DICT_CASES = [
    ([1, 2], TypeError, "d must be a dict"),
    ({"src_vocab": SRC.to_dict()}, ValueError, "src_vocab and tgt_vocab required"),
    ({**CONFIG.to_dict(), "dropout": 0.1}, ValueError, "dropout"),
    ({**CONFIG.to_dict(), "src_vocab": ["a"]}, ValueError, "Vocab.to_dict"),
]


@pytest.mark.parametrize("d, error, words", FROM_DICT_CASES, ids=["list", "missing", "unknown key", "bad vocab"])
def test_bad_config_dicts_are_refused(d, error, words):
    with pytest.raises(error, match=words):
        Seq2SeqConfig.from_dict(d)


def test_a_model_needs_a_config():
    with pytest.raises(TypeError, match="config must be a Seq2SeqConfig"):
        Seq2Seq({"decoder": "attention"})
    with pytest.raises(TypeError, match="config must be a Seq2SeqConfig"):
        build_model(CONFIG.to_dict())


@pytest.mark.parametrize("layers, heads, positions", [(1, 2, "sinusoidal"), (3, 4, "learned")])
def test_the_transformers_parameter_count_is_exact_without_building(layers, heads, positions):
    config = Seq2SeqConfig(SRC, TGT, decoder="transformer", embed_dim=8, hidden_dim=12, layers=layers, heads=heads,
                           positions=positions)
    assert parameter_count(config) == sum(p.numel() for p in Seq2Seq(config).parameters())
    huge = Seq2SeqConfig(SRC, TGT, decoder="transformer", embed_dim=10**12, heads=1)
    assert parameter_count(huge) > 8 * 10**24                           # arithmetic only: instant, no memory


@pytest.mark.parametrize("decoder, score", [(d, "dot") for d in DECODERS if d != "transformer"]
                         + [("attention", s) for s in SCORES[1:]])
def test_parameter_count_is_exact_without_building(decoder, score):
    config = Seq2SeqConfig(SRC, TGT, decoder=decoder, score=score, embed_dim=5, hidden_dim=7)
    assert parameter_count(config) == sum(p.numel() for p in Seq2Seq(config).parameters())
    huge = Seq2SeqConfig(SRC, TGT, decoder=decoder, score=score, hidden_dim=10**12)
    assert parameter_count(huge) > 4 * 10**24                           # arithmetic only: instant, no memory


def test_a_model_too_big_for_memory_is_refused_before_allocating():
    with pytest.raises(MemoryError, match=r"GB .*parameters.*hidden_dim=1000000000.*more than this machine"):
        build_model(Seq2SeqConfig(SRC, TGT, hidden_dim=10**9))


# ---------------------------------------------------------------- token ids, lengths, max_len


def _ids(rows):
    return torch.tensor(rows)


FORWARD_CASES = [  # (what to replace: src, src_lengths, tgt_in), error, words
    ({"src": _ids([[-1, 4, 5], [4, 5, 0], [6, 4, 5]])}, ValueError, rf"src ids must lie in \[0, V={V_SRC}\).* -1 "),
    ({"src": _ids([[V_SRC, 4, 5], [4, 5, 0], [6, 4, 5]])}, ValueError, rf"src ids must lie in \[0, V={V_SRC}\)"),
    ({"src": _ids([[4, 5, 6]]).float().expand(3, 3)}, TypeError, "src must hold integer token ids"),
    ({"src": [[4, 5, 6]] * 3}, TypeError, "src must be a"),
    ({"src": _ids([4, 5, 6])}, ValueError, r"src must be \(B, S\)"),
    ({"src": torch.zeros(3, 0, dtype=torch.long)}, ValueError, "at least one row and column"),
    ({"src_lengths": _ids([3, 0, 3])}, ValueError, r"src_lengths must lie in \[1, S=3\]"),
    ({"src_lengths": _ids([3, 4, 3])}, ValueError, r"src_lengths must lie in \[1, S=3\]"),
    ({"src_lengths": _ids([3, 2])}, ValueError, r"src_lengths must be \(B,\) with B=3"),
    ({"src_lengths": _ids([[3], [2], [3]])}, ValueError, r"src_lengths must be \(B,\)"),
    ({"src_lengths": torch.tensor([3.0, 2.0, 3.0])}, TypeError, "src_lengths must hold integers"),
    ({"src_lengths": [3, 2, 3]}, TypeError, "src_lengths must be a"),
    ({"tgt_in": _ids([[1, 4, -2, 0]] * 3)}, ValueError, rf"tgt_in ids must lie in \[0, V={V_TGT}\).* -2 "),
    ({"tgt_in": _ids([[1, 4, V_TGT + 5, 0]] * 3)}, ValueError, rf"tgt_in ids must lie in \[0, V={V_TGT}\)"),
    ({"tgt_in": _ids([[1, 4, 5, 0]] * 2)}, ValueError, r"tgt_in must be \(B, L\) with B=3"),
    ({"tgt_in": _ids([[1, 4, 5, 0]] * 3).to(torch.float16)}, TypeError, "tgt_in must hold integer token ids"),
]


@pytest.mark.parametrize("change, error, words", FORWARD_CASES, ids=range(len(FORWARD_CASES)))
def test_forward_refuses_bad_ids_and_lengths(model, batch, change, error, words):
    args = {"src": batch.src, "src_lengths": batch.src_lengths, "tgt_in": batch.tgt_in, **change}
    with pytest.raises(error, match=words) as info:
        model(args["src"], args["src_lengths"], args["tgt_in"])
    one_line(str(info.value))


@pytest.mark.parametrize("change, error, words", [c for c in FORWARD_CASES if "tgt_in" not in c[0]],
                         ids=range(len([c for c in FORWARD_CASES if "tgt_in" not in c[0]])))
def test_greedy_decode_refuses_bad_ids_and_lengths(model, batch, change, error, words):
    args = {"src": batch.src, "src_lengths": batch.src_lengths, **change}
    with pytest.raises(error, match=words):
        model.greedy_decode(args["src"], args["src_lengths"], max_len=3)


MAX_LEN_CASES = [(0, ValueError, "max_len must be an int >= 1"), (-5, ValueError, "max_len must be an int >= 1"),
                 (1.5, TypeError, "max_len must be an int"), (True, TypeError, "max_len must be an int"),
                 ("3", TypeError, "max_len must be an int"), (None, TypeError, "max_len must be an int")]


@pytest.mark.parametrize("max_len, error, words", MAX_LEN_CASES)
def test_decoding_refuses_a_bad_max_len(model, batch, max_len, error, words):
    with pytest.raises(error, match=words):
        model.greedy_decode(batch.src, batch.src_lengths, max_len=max_len)
    with pytest.raises(error, match=words):
        model.translate("abc", max_len=max_len)


@pytest.mark.parametrize("text, error, words", [(5, TypeError, "text must be a str"),
                                                (["abc"], TypeError, "text must be a str"),
                                                ("", ValueError, "at least one token")])
def test_translate_refuses_what_is_not_text(model, text, error, words):
    with pytest.raises(error, match=words):
        model.translate(text)


def test_the_smallest_valid_input_gives_finite_answers(model):
    """One unknown token, length 1, max_len 1: no NaN, no crash."""
    logits, weights = model(torch.tensor([[3]]), torch.tensor([1]), torch.tensor([[1]]))
    assert torch.isfinite(logits).all() and torch.isfinite(weights).all()
    tokens, _ = model.greedy_decode(torch.tensor([[3]], dtype=torch.int32), torch.tensor([1]), max_len=1)
    assert tokens.shape == (1, 1)


# ---------------------------------------------------------------- the decoder's weights, and swapping them

_Q, _K, _M = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.ones(2, 5, dtype=torch.bool)
WEIGHTS_CASES = [  # (query, keys, mask), error, words
    ((_Q[0], _K, _M), ValueError, r"query must be \(B, L, H\) and keys \(B, S, H\)"),
    ((_Q, _K[:1], _M), ValueError, r"the same B and H; got \(2, 3, 4\) and \(1, 5, 4\)"),
    ((_Q, _K[..., :3], _M), ValueError, "keys must be"),
    ((_Q.long(), _K, _M), TypeError, "query must be a floating tensor"),
    ((_Q, _K, _M.float()), ValueError, r"mask must be a boolean \(B, S\) = \(2, 5\) tensor \(True = may attend\); "
                                       r"got torch.float32 \(2, 5\)"),
    ((_Q, _K, _M[:, None, :]), ValueError, r"mask must be a boolean \(B, S\).*got torch.bool \(2, 1, 5\)"),
    ((_Q, _K, _M[0]), ValueError, r"mask must be a boolean \(B, S\)"),
    ((_Q, _K, [[True] * 5] * 2), ValueError, "mask must be a boolean .* got list"),
    ((_Q, _K.masked_fill(_M[..., None], float("nan")), _M), ValueError, "keys must be finite"),
]


@pytest.mark.parametrize("args, error, words", WEIGHTS_CASES, ids=range(len(WEIGHTS_CASES)))
def test_dot_attention_weights_refuses_bad_inputs(args, error, words):
    with pytest.raises(error, match=words) as info:
        dot_attention_weights(*args)
    one_line(str(info.value))


def test_a_masked_row_gets_zero_weights_not_nan():
    weights = dot_attention_weights(_Q, _K, torch.tensor([[True] * 5, [False] * 5]))
    assert torch.isfinite(weights).all() and torch.all(weights[1] == 0)


@pytest.mark.parametrize("decoder, score", [("vanilla", "dot"), ("peeky", "dot"), ("attention", "additive")])
def test_attending_with_needs_dot_or_general_attention(decoder, score):
    model = Seq2Seq(Seq2SeqConfig(SRC, TGT, decoder=decoder, score=score, embed_dim=4, hidden_dim=8))
    with pytest.raises(ValueError, match="attending_with needs an attention decoder with the 'dot' or 'general'"):
        with model.attending_with(dot_attention_weights):
            pass


@pytest.mark.parametrize("fn", [None, "dot", torch.ones(3)])
def test_attending_with_needs_a_function(model, fn):
    with pytest.raises(TypeError, match="weights_fn must be a function"):
        with model.attending_with(fn):
            pass
    assert model.decoder.weights_fn is dot_attention_weights


@pytest.mark.parametrize("returns, words", [
    (lambda q, k, m: None, "got NoneType"),
    (lambda q, k, m: dot_attention_weights(q, k, m)[:, :, :-1], r"\(B, L, S\) = \(1, 1, 3\) .*got torch.float32 \(1, 1, 2\)"),
    (lambda q, k, m: dot_attention_weights(q, k, m).transpose(1, 2), r"got torch.float32 \(1, 3, 1\)"),
    (lambda q, k, m: dot_attention_weights(q, k, m).double(), "of dtype torch.float32; got torch.float64"),
    (lambda q, k, m: (dot_attention_weights(q, k, m), None), "got tuple"),
])
def test_a_swapped_function_must_return_weights_of_the_right_shape(model, returns, words):
    with model.attending_with(returns), pytest.raises(ValueError, match=words) as info:
        model.translate("abc")
    one_line(str(info.value))
    assert model.decoder.weights_fn is dot_attention_weights


# ---------------------------------------------------------------- model files: what load_model refuses


def _write(path: Path, tensors: dict, config: dict | str, **metadata) -> Path:
    """A safetensors file as save_model writes it, but with any tensors and config (and a matching SHA-256)."""
    config_json = config if isinstance(config, str) else json.dumps(config, sort_keys=True)
    meta = {"format": MODEL_FORMAT, "format_version": "1", "config": config_json,
            "sha256": model_files_module._digest(config_json, tensors), **metadata}
    path.write_bytes(safetensors.torch.save(tensors, meta))
    return path


def _saved(tmp: Path, model) -> Path:
    path = tmp / "good.safetensors"
    save_model(model, path)
    return path


def _flip(path: Path, offset_from_end: int) -> Path:
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0x10                                   # the tensors sit at the end of the file
    out = path.with_name("flipped.safetensors")
    out.write_bytes(bytes(data))
    return out


def _flip_config(path: Path) -> Path:
    data = path.read_bytes()
    at = data.index(b'\\"hidden_dim\\": 8')                          # JSON inside the JSON header
    out = path.with_name("flipped_config.safetensors")
    out.write_bytes(data[:at] + data[at:].replace(b'\\"hidden_dim\\": 8', b'\\"hidden_dim\\": 9', 1))
    return out


def _state(model) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _transposed(tmp, model):
    tensors = _state(model)                                           # as many numbers, in other shapes
    tensors["decoder.out.weight"] = tensors["decoder.out.weight"].t().contiguous()
    return _write(tmp / "shapes.safetensors", tensors, CONFIG.to_dict())


def _missing_tensor(tmp, model):
    tensors = _state(model)
    del tensors["decoder.out.bias"]
    return _write(tmp / "fewer.safetensors", tensors, CONFIG.to_dict())


def _text(tmp: Path, name: str, content: bytes) -> Path:
    (tmp / name).write_bytes(content)
    return tmp / name


def _plain_safetensors(tmp, model):
    safetensors.torch.save_file(_state(model), tmp / "plain.safetensors")
    return tmp / "plain.safetensors"


def _huge_config(tmp, model):
    return _write(tmp / "huge.safetensors", _state(model), {**CONFIG.to_dict(), "hidden_dim": 10**9})


def _nan_weights(tmp, model):
    tensors = _state(model)
    tensors["decoder.out.bias"][0] = float("nan")
    return _write(tmp / "nan.safetensors", tensors, CONFIG.to_dict())


def _float64(tmp, model):
    return _write(tmp / "f64.safetensors", {k: v.double() for k, v in _state(model).items()}, CONFIG.to_dict())


def _legacy_with(tmp, model, change):
    tensors = _state(model)
    tensors["decoder.out.bias"] = change(tensors["decoder.out.bias"])
    return _legacy(tmp, {"config": json.dumps(CONFIG.to_dict()), "state_dict": tensors})


def _legacy(tmp, payload, name="legacy.pt"):
    torch.save(payload, tmp / name)
    return tmp / name


def _truncated(path: Path, keep: int) -> Path:
    out = path.with_name(f"cut{keep}{path.suffix}")
    out.write_bytes(path.read_bytes()[:keep])
    return out


REFUSED_FILES = [  # (id, make(tmp, model) -> path, error, words)
    ("missing", lambda t, m: t / "nope.safetensors", FileNotFoundError, "does not exist"),
    ("folder", lambda t, m: t, IsADirectoryError, "is a folder"),
    ("a named pipe", lambda t, m: os.mkfifo(t / "pipe") or t / "pipe", ValueError, "is not a regular file"),
    ("empty", lambda t, m: _text(t, "e.pt", b""), ValueError, "the file is empty"),
    ("json text", lambda t, m: _text(t, "c.json", b'{"config": {}}'), ValueError,
     "neither a safetensors file nor a torch.save file"),
    ("words", lambda t, m: _text(t, "notes.txt", b"hello\n"), ValueError, "neither"),
    ("random bytes", lambda t, m: _text(t, "r.bin", bytes(range(256)) * 4), ValueError, "neither"),
    ("flipped tensor byte", lambda t, m: _flip(_saved(t, m), 10), ValueError, "damaged.*SHA-256"),
    ("flipped config byte", lambda t, m: _flip_config(_saved(t, m)), ValueError, "damaged.*SHA-256"),
    ("truncated data", lambda t, m: _truncated(_saved(t, m), -100), ValueError, "damaged or truncated"),
    ("truncated header", lambda t, m: _truncated(_saved(t, m), 40), ValueError, "damaged or truncated"),
    ("no marker", _plain_safetensors, ValueError, "without the format marker"),
    ("newer version", lambda t, m: _write(t / "v2.safetensors", _state(m), CONFIG.to_dict(), format_version="2"),
     ValueError, "format version '2'"),
    ("bad config", lambda t, m: _write(t / "cfg.safetensors", _state(m), '{"decoder": "gru"}'), ValueError,
     "config is not a valid Seq2SeqConfig"),
    ("config not JSON", lambda t, m: _write(t / "cfg.safetensors", _state(m), "{{{"), ValueError,
     "config is not a valid Seq2SeqConfig"),
    ("transposed weight", _transposed, ValueError, r"do not fit its config: decoder.out.weight is \(16, 6\)"),
    ("a tensor missing", _missing_tensor, ValueError, "calls for .* weights but the file holds"),
    ("hidden_dim 10**9", _huge_config, ValueError, "hidden_dim=1000000000.* calls for"),
    ("NaN weights", _nan_weights, ValueError, "decoder.out.bias holds non-finite"),
    ("float64", _float64, ValueError, "float64"),
    ("legacy, not a model", lambda t, m: _legacy(t, [1, 2, 3]), ValueError, "not {'config'"),
    ("legacy, bad config", lambda t, m: _legacy(t, {"config": "[]", "state_dict": _state(m)}), ValueError,
     "config is not a valid"),
    ("legacy, wrong sizes", lambda t, m: _legacy(t, {"config": json.dumps({**CONFIG.to_dict(), "hidden_dim": 9}),
                                                      "state_dict": _state(m)}), ValueError, "calls for"),
    ("legacy, a sparse tensor", lambda t, m: _legacy_with(t, m, torch.Tensor.to_sparse), ValueError,
     "decoder.out.bias is a torch.sparse_coo"),
    ("legacy, a tensor without data", lambda t, m: _legacy_with(t, m, lambda b: torch.empty_like(b, device="meta")),
     ValueError, "decoder.out.bias is .* on meta"),
    ("legacy, truncated zip", lambda t, m: _truncated(_legacy(t, {"config": "{}", "state_dict": _state(m)}), 300),
     ValueError, "neither|damaged"),
]


@pytest.mark.parametrize("make, error, words", [c[1:] for c in REFUSED_FILES], ids=[c[0] for c in REFUSED_FILES])
def test_load_model_refuses_each_bad_file_in_one_line(tmp_path, model, make, error, words):
    path = make(tmp_path, model)
    with pytest.raises(error, match=words) as info:
        load_model(path)
    message = str(info.value)
    one_line(message)
    assert str(path) in message                                          # names the file
    assert "weights_only" not in message                                 # never advises an unsafe load
    assert not isinstance(info.value, RuntimeError)


class _RunsCode:
    """Unpickling this creates the marker file: what a hostile 'model' would do with a plain pickle load."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("kind", ["torch.save zip", "raw pickle"])
def test_a_pickle_that_runs_code_is_refused_and_runs_nothing(tmp_path, model, kind):
    proof = tmp_path / "proof"                  # the payload is live: a plain pickle.loads does run it
    pickle.loads(pickle.dumps(_RunsCode(proof)))
    assert proof.exists()
    marker, path = tmp_path / "pwned", tmp_path / "evil.pt"
    payload = {"config": json.dumps(CONFIG.to_dict()), "state_dict": _state(model), "x": _RunsCode(marker)}
    if kind == "raw pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path)
    with pytest.raises(ValueError, match="pickle asks for code") as info:
        load_model(path)
    one_line(str(info.value))
    assert str(path) in str(info.value) and "weights_only" not in str(info.value)
    assert not marker.exists()


def test_save_and_load_round_trip_under_any_name(tmp_path, model):
    for name in ("m.safetensors", "m.pt", "m"):
        save_model(model, tmp_path / name)
        loaded = load_model(tmp_path / name)
        for (key, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
            assert torch.equal(a, b), key
        assert loaded.translate("abc")[0] == model.translate("abc")[0]


# ---------------------------------------------------------------- save_model's failures


def _nan_model():
    m = build_model(CONFIG)
    with torch.no_grad():
        m.decoder.out.bias[0] = float("inf")
    return m


SAVE_CASES = [  # (id, model, path(tmp), error, words)
    ("a folder", None, lambda t: t, IsADirectoryError, "is a folder"),
    ("missing folder", None, lambda t: t / "no" / "m.safetensors", FileNotFoundError, "does not exist"),
    ("not a model", "state", lambda t: t / "m.safetensors", TypeError, "model must be a Seq2Seq"),
    ("not a path", None, lambda t: 42, TypeError, "path must be a str"),
    ("non-finite weights", "nan", lambda t: t / "m.safetensors", ValueError, "non-finite"),
]


@pytest.mark.parametrize("which, where, error, words", [c[1:] for c in SAVE_CASES], ids=[c[0] for c in SAVE_CASES])
def test_save_model_refuses_in_one_line(tmp_path, model, which, where, error, words):
    target = {None: model, "state": model.state_dict(), "nan": _nan_model()}[which]
    with pytest.raises(error, match=words) as info:
        save_model(target, where(tmp_path))
    one_line(str(info.value))
    assert not (tmp_path / "m.safetensors").exists()


def test_a_failed_save_leaves_the_existing_file_as_it_was(tmp_path, model, monkeypatch):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"the user's precious bytes")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="cannot save the model to .*m.safetensors: No space left") as info:
        save_model(model, path)
    one_line(str(info.value))
    assert path.read_bytes() == b"the user's precious bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]     # no temporary file left


def test_saving_in_a_read_only_folder_is_one_line():
    try:
        open("/sys/attn_course_probe", "wb").close()
        pytest.skip("needs a folder nobody may write in, such as /sys")
    except OSError:
        pass
    with pytest.raises(OSError, match="cannot save the model to /sys/m.safetensors") as info:
        save_model(build_model(CONFIG), "/sys/m.safetensors")
    one_line(str(info.value))
