"""Model files: the weights and the config of a trained model, saved and loaded safely.

``save_model`` writes a safetensors file (tensors and a JSON header: loading it
can run no code) with the config, a format marker and a SHA-256 in its metadata,
atomically; ``load_model`` checks all of them and the sizes before building the
model, and still reads the older ``torch.save`` files with torch's weights-only loader.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import re
import secrets
import warnings
from pathlib import Path

import safetensors
import safetensors.torch
import torch
from torch import Tensor

from attn_course import _validate
from attn_course.models import Seq2Seq, Seq2SeqConfig
from attn_course.sizes import parameter_count

__all__ = ["MODEL_FORMAT", "save_model", "load_model"]

MODEL_FORMAT, MODEL_FORMAT_VERSION = "attn_course.seq2seq", "1"   # in every saved file's metadata


def _as_path(path: object) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike; got {type(path).__name__}")
    return Path(path)


def _digest(config_json: str, tensors: dict[str, Tensor]) -> str:
    """SHA-256 of the format, the config and every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256(f"{MODEL_FORMAT}/{MODEL_FORMAT_VERSION}\0{config_json}\0".encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(json.dumps([name, str(t.dtype), list(t.shape), t.numel() * t.element_size()]).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    """A temporary file in the same folder, then os.replace: a failed write leaves any old file as it was."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)     # the umask applies, as for open()
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise type(e)(f"cannot save the model to {path}: {e.strerror or e}") from None


def save_model(model: Seq2Seq, path: str | os.PathLike) -> None:
    """Write the weights and the config as a safetensors file (no pickle: loading it runs no code).

    The metadata holds a format marker and version, the config (JSON) and a SHA-256
    of both; the file is written atomically. Any name works; ``.safetensors`` says what it is.
    OSError or ValueError naming the path; non-finite weights are never saved.
    """
    _validate.instance("model", model, Seq2Seq, " (from build_model or load_model)")
    path = _as_path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot save the model to {path}: it is a folder")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save the model to {path}: the folder {path.parent} does not exist")
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ValueError(f"cannot save the model to {path}: its weight {name} holds non-finite numbers")
    config_json = json.dumps(model.config.to_dict(), sort_keys=True)
    metadata = {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION, "config": config_json,
                "sha256": _digest(config_json, tensors)}
    try:
        data = safetensors.torch.save(tensors, metadata)
    except Exception as e:   # safetensors' own error type: one line naming the path instead
        raise ValueError(f"cannot save the model to {path}: {type(e).__name__}: {e}") from None
    _write_atomically(path, data)


class _Refused(ValueError):
    """Why a file is not a loadable model (load_model adds the path)."""


def load_model(path: str | os.PathLike) -> Seq2Seq:
    """Load a model saved by :func:`save_model`, after checking it: format, config, sizes, SHA-256, finite weights.

    Also reads the older ``torch.save`` files of attn_course, with torch's weights-only loader
    (tensors and plain types only). A refused file is one line naming it and saying why:
    FileNotFoundError, IsADirectoryError or another OSError, or ValueError.
    """
    path = _as_path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {path} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"model file {path} is a folder, not a file")
    if not path.is_file():                                         # a pipe or a device would block or never end
        raise ValueError(f"model file {path} is not a regular file")
    try:
        with open(path, "rb") as f:
            head = f.read(9)
        if _looks_like_safetensors(head):
            config, tensors = _read_safetensors(path)
        elif head.startswith((b"PK\x03\x04", b"\x80")):       # a torch.save zip, or an old pickle
            config, tensors = _read_torch_save(path)
        elif not head:
            raise _Refused("the file is empty")
        else:
            raise _Refused(f"it is neither a safetensors file nor a torch.save file (it starts with {head[:8]!r})")
        return _build(config, tensors)
    except _Refused as e:
        raise ValueError(f"{path} is not a model attn_course can load: {' '.join(str(e).split())}") from None
    except OSError as e:
        raise type(e)(f"cannot read model file {path}: {e.strerror or e}") from None


def _looks_like_safetensors(head: bytes) -> bool:
    """8 bytes of header length (little-endian, under safetensors' 100 MB cap), then the JSON header's '{'."""
    return len(head) == 9 and int.from_bytes(head[:8], "little") < 100_000_000 and head[8:] == b"{"


def _read_safetensors(path: Path) -> tuple[Seq2SeqConfig, dict[str, Tensor]]:
    """Marker and version, then the SHA-256 over config and tensors (their bytes are bounded by the
    file's size), then the config and its sizes: a damaged byte anywhere says "damaged"."""
    try:
        with safetensors.safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
            if metadata.get("format") != MODEL_FORMAT:
                raise _Refused(f"a safetensors file without the format marker {MODEL_FORMAT!r} in its metadata")
            if metadata.get("format_version") != MODEL_FORMAT_VERSION:
                raise _Refused(f"format version {metadata.get('format_version')!r}; this attn_course reads "
                               f"version {MODEL_FORMAT_VERSION} (a newer attn_course may read it)")
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (_Refused, OSError):
        raise
    except Exception as e:   # safetensors' error for a damaged or truncated file
        raise _Refused(f"the file is damaged or truncated ({type(e).__name__}: {e})") from None
    if not isinstance(metadata.get("config"), str) or _digest(metadata["config"], tensors) != metadata.get("sha256"):
        raise _Refused("the file is damaged: its config and weights do not match the SHA-256 stored when it was saved")
    config = _config_from_json(metadata["config"])
    _check_sizes(config, {name: tuple(t.shape) for name, t in tensors.items()})
    return config, tensors


def _read_torch_save(path: Path) -> tuple[Seq2SeqConfig, dict[str, Tensor]]:
    """An older attn_course file, {"config": JSON str, "state_dict": {name: tensor}}, read weights-only."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                      # torch warns about pickle protocols
            with open(path, "rb") as f:                          # a file object: no guessing from the name
                saved = torch.load(f, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        what = f" ({found.group(1)})" if found else ""
        raise _Refused(f"its pickle asks for code or objects other than tensors{what}; attn_course loads only "
                       f"tensors, never code") from None
    except OSError:
        raise
    except Exception as e:   # a damaged zip or pickle: torch's message may span lines and give unsafe advice
        raise _Refused(f"an unreadable or damaged torch.save file ({type(e).__name__})") from None
    if not (isinstance(saved, dict) and set(saved) == {"config", "state_dict"} and isinstance(saved["config"], str)
            and isinstance(saved["state_dict"], dict)
            and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in saved["state_dict"].items())):
        raise _Refused("a torch.save file, but not {'config': JSON, 'state_dict': {name: tensor}} as attn_course saved")
    config = _config_from_json(saved["config"])
    tensors = saved["state_dict"]
    _check_sizes(config, {name: tuple(t.shape) for name, t in tensors.items()})
    return config, tensors


def _config_from_json(text: object) -> Seq2SeqConfig:
    try:
        return Seq2SeqConfig.from_dict(json.loads(text))
    except (TypeError, ValueError, KeyError, RecursionError) as e:
        raise _Refused(f"its config is not a valid Seq2SeqConfig ({type(e).__name__}: {str(e)[:200]})") from None


def _check_sizes(config: Seq2SeqConfig, shapes: dict[str, tuple[int, ...]]) -> None:
    """The weights the config calls for, by arithmetic, against those in the file: nothing is allocated."""
    expected, found = parameter_count(config), sum(math.prod(shape) for shape in shapes.values())
    if expected != found:
        raise _Refused(f"its config (embed_dim={config.embed_dim}, hidden_dim={config.hidden_dim}) calls for "
                       f"{expected:.6g} weights but the file holds {found}")
    with torch.device("meta"):                                   # shapes only, no memory
        wanted = {name: tuple(t.shape) for name, t in Seq2Seq(config).state_dict().items()}
    if shapes != wanted:
        name = next(n for n in sorted(set(wanted) | set(shapes)) if wanted.get(n) != shapes.get(n))
        raise _Refused(f"its weights do not fit its config: {name} is {shapes.get(name, 'missing')}, "
                       f"the config needs {wanted.get(name, 'none')}")


def _build(config: Seq2SeqConfig, tensors: dict[str, Tensor]) -> Seq2Seq:
    for name, t in tensors.items():
        if t.layout != torch.strided or t.device.type != "cpu" or t.dtype != torch.float32:
            raise _Refused(f"its weight {name} is a {t.layout} {t.dtype} tensor on {t.device.type}; attn_course "
                           f"saves dense float32 tensors")
        if not bool(torch.isfinite(t).all()):
            raise _Refused(f"its weight {name} holds non-finite numbers")
    with torch.device("meta"):
        model = Seq2Seq(config)
    model = model.to_empty(device="cpu")                           # no initialisation: every weight is loaded
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as e:   # shapes were checked; any other surprise is still one line
        raise _Refused(f"its weights do not load ({' '.join(str(e).split())[:200]})") from None
    return model.eval()
