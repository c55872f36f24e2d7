"""Training and evaluation of the encoder-decoders: seeded, deterministic on the CPU.

``fit`` runs Adam with gradient clipping and a cosine learning-rate decay, shows a
``tqdm`` progress bar with the loss and the validation accuracy, and returns the
history. It stops with a :class:`DivergedError` on a non-finite (or exploding) loss,
and puts the weights back to the last ones that gave a good loss. ``evaluate`` decodes
greedily (no teacher forcing) and reports the exact-match accuracy (the whole
output right) and the per-character accuracy.

``save_model`` writes a safetensors file (tensors and a JSON header: loading it
can run no code) with the config, a format marker and a SHA-256 in its metadata;
``load_model`` checks all of them, and still reads the older ``torch.save`` files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import os
import pickle
import re
import secrets
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import safetensors
import safetensors.torch
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from attn_course.data import PAD_ID, SEED_RANGE, Encoded, _check_int, batches, encode_pairs
from attn_course.models import Seq2Seq, Seq2SeqConfig, parameter_count

__all__ = ["TrainConfig", "History", "Metrics", "DivergedError", "default_device", "build_model", "fit", "evaluate",
           "predict", "save_model", "load_model", "training_memory", "memory_available", "MODEL_FORMAT"]

MODEL_FORMAT, MODEL_FORMAT_VERSION = "attn_course.seq2seq", "1"   # in every saved file's metadata
MAX_STEPS = 10**9               # fit refuses more steps: epochs=1e300 would never end
EXPLODED = 100                  # a loss over EXPLODED x log V (a uniform guess scores log V) has diverged
MAX_THREADS = 1024


def _real(name: str, value: object, low: float, high: float | None = None) -> None:
    """A finite real number (not a bool, not a str) in (low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number (int or float); got {type(value).__name__} {value!r:.40}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if value <= low or (high is not None and value > high):
        raise ValueError(f"{name} must lie in ({low}, {'inf)' if high is None else f'{high}]'}; got {value}")


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults suit the toy tasks on a 2-core CPU."""

    epochs: float = 1.0             # may be fractional: 0.5 is half a pass over the data
    batch_size: int = 128
    lr: float = 3e-2
    clip: float = 5.0               # max gradient norm
    cosine: bool = True             # decay the learning rate to 0 along a cosine
    seed: int = 0
    eval_every: int = 0             # validate every N steps (0: once per epoch and at the end)
    stop_at: float | None = None    # stop when validation exact match reaches this
    threads: int = 1                # one thread: stable timings on a shared machine

    def __post_init__(self) -> None:
        for name in ("epochs", "lr", "clip"):
            _real(name, getattr(self, name), 0)             # finite and > 0
        for name, low, high in (("batch_size", 1, None), ("seed", 0, SEED_RANGE[1]), ("eval_every", 0, None),
                                ("threads", 1, MAX_THREADS)):
            object.__setattr__(self, name, _check_int(name, getattr(self, name), low, high))
        if not isinstance(self.cosine, bool):
            raise TypeError(f"cosine must be a bool; got {type(self.cosine).__name__}")
        if self.stop_at is not None:
            _real("stop_at", self.stop_at, 0, 1)             # (0, 1]


@dataclass(frozen=True)
class Metrics:
    exact_match: float              # fraction of outputs entirely right
    char_accuracy: float            # fraction of target tokens (EOS included) right, position by position


@dataclass
class History:
    losses: list[float] = field(default_factory=list)                       # one per step
    valid: list[tuple[int, float, float]] = field(default_factory=list)      # (step, exact, char)
    train_seconds: float = 0.0      # optimisation steps only, validation excluded
    steps: int = 0


class DivergedError(ValueError, FloatingPointError):
    """Training met a non-finite (or exploding) loss, gradient or weight; the model holds the last weights
    that gave a good loss. ``step`` is the failing step, ``history`` what was recorded before it."""

    def __init__(self, message: str, step: int = 0, history: History | None = None):
        super().__init__(message)
        self.step, self.history = step, history


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run with n intra-op threads, then restore: one thread is steadier on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_device() -> torch.device:
    """CUDA when available, the CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def memory_available() -> int:
    """Bytes of physical memory (os.sysconf), or 64 GiB where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 64 * 2**30


def training_memory(config: Seq2SeqConfig, batch_size: int = 128, src_len: int = 32, tgt_len: int = 32) -> int:
    """A rough lower bound of the bytes that training needs, by arithmetic (nothing is built).

    float32 weights, gradients, Adam's two moments and fit's copy (5 per weight),
    plus the activations kept for the backward pass: about (E + 10H) per token
    and 3V per target position, per example of a batch (B, S) and (B, L).
    """
    E, H, V = config.embed_dim, config.hidden_dim, len(config.tgt_vocab)
    activations = batch_size * ((src_len + tgt_len) * (E + 10 * H) + 3 * tgt_len * V)
    return 4 * (5 * parameter_count(config) + activations)


def gigabytes(n: int) -> str:
    """Bytes as GB for messages: '1,600.0 GB', or '1.6e+17 GB' past a million."""
    return f"{n / 1e9:,.1f} GB" if n < 1e15 else f"{n / 1e9:.2g} GB"


def _check_fits(config: Seq2SeqConfig, needed: int, what: str) -> None:
    if needed > memory_available():
        raise MemoryError(f"{what} needs about {gigabytes(needed)} ({parameter_count(config):.3g} parameters: "
                          f"embed_dim={config.embed_dim}, hidden_dim={config.hidden_dim}), more than this "
                          f"machine's {gigabytes(memory_available())} of memory")


def build_model(config: Seq2SeqConfig, seed: int = 0, device: torch.device | str = "cpu") -> Seq2Seq:
    """A model whose initial weights depend only on the config and the seed (made on the CPU, then moved).

    A MemoryError, before anything is allocated, when the weights alone would not fit in memory.
    """
    if not isinstance(config, Seq2SeqConfig):
        raise TypeError(f"config must be a Seq2SeqConfig; got {type(config).__name__}")
    seed = _check_int("seed", seed, 0, SEED_RANGE[1])
    _check_fits(config, 4 * parameter_count(config), "the model")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Seq2Seq(config).to(device)


def _on_device_of(model: Seq2Seq, batch: Encoded) -> Encoded:
    """The batch's tensors on the model's device (a no-op on the CPU)."""
    device = next(model.parameters()).device
    if batch.src.device == device:
        return batch
    return dataclasses.replace(batch, **{f.name: getattr(batch, f.name).to(device) for f in dataclasses.fields(batch)})


def _loss(model: Seq2Seq, batch: Encoded) -> Tensor:
    logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)           # (B, L, V)
    return nn.functional.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID)


@contextmanager
def _eval_mode(model: Seq2Seq) -> Iterator[None]:
    """model.eval() inside, its previous mode restored after, even after an error."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@torch.no_grad()
@_threads(1)
def evaluate(model: Seq2Seq, data: Encoded, batch_size: int = 1000) -> Metrics:
    """Greedy decoding of every example; exact match and per-character accuracy."""
    _check_model(model)
    _check_data("data", data, model)
    batch_size = _check_int("batch_size", batch_size, 1)
    with _eval_mode(model):
        exact = correct = total = 0
        for batch in batches(data, batch_size, shuffle=False):
            batch = _on_device_of(model, batch)
            target = batch.tgt_out                                           # (B, L) with EOS
            tokens, _ = model.greedy_decode(batch.src, batch.src_lengths, max_len=target.shape[1] + 1)
            width = max(tokens.shape[1], target.shape[1])
            pred = nn.functional.pad(tokens, (0, width - tokens.shape[1]), value=PAD_ID)   # (B, W)
            gold = nn.functional.pad(target, (0, width - target.shape[1]), value=PAD_ID)   # (B, W)
            real = gold != PAD_ID
            exact += ((pred == gold) | ~real).all(dim=1).sum().item()
            correct += ((pred == gold) & real).sum().item()
            total += real.sum().item()
    return Metrics(exact / len(data), correct / total)


@torch.no_grad()
@_threads(1)
def predict(model: Seq2Seq, sources: list[str], batch_size: int = 1000, max_len: int = 32) -> list[str]:
    """Greedy translations of many strings at once (batched, no teacher forcing); [] for no sources."""
    _check_model(model)
    if isinstance(sources, (str, bytes)) or not isinstance(sources, Sequence):
        hint = ": wrap one source as [source]" if isinstance(sources, str) else ""
        raise TypeError(f"sources must be a list of str; got {type(sources).__name__}{hint}")
    for i, source in enumerate(sources):
        if not isinstance(source, str):
            raise TypeError(f"sources[{i}] must be a str; got {type(source).__name__}")
        if not source:
            raise ValueError(f"sources[{i}] is an empty string; the encoder needs at least one token")
    batch_size, max_len = _check_int("batch_size", batch_size, 1), _check_int("max_len", max_len, 1)
    if not sources:
        return []
    cfg = model.config
    data = encode_pairs([(s, "") for s in sources], cfg.src_vocab, cfg.tgt_vocab, reverse_source=cfg.reverse_source)
    outputs = []
    with _eval_mode(model):
        for batch in batches(data, batch_size, shuffle=False):
            batch = _on_device_of(model, batch)
            tokens, _ = model.greedy_decode(batch.src, batch.src_lengths, max_len=max_len)
            outputs += [cfg.tgt_vocab.decode(row) for row in tokens.tolist()]
    return outputs


def _check_model(model: object) -> None:
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a Seq2Seq (from build_model or load_model); got {type(model).__name__}")


def _check_data(name: str, data: object, model: Seq2Seq) -> None:
    """An Encoded of at least one example whose ids fit the model's vocabularies (once, not per batch)."""
    if not isinstance(data, Encoded):
        raise TypeError(f"{name} must be an Encoded (from encode_pairs); got {type(data).__name__}")
    V_src, V_tgt = len(model.config.src_vocab), len(model.config.tgt_vocab)
    for part, V, vocab in (("src", V_src, "src_vocab"), ("tgt_in", V_tgt, "tgt_vocab"),
                           ("tgt_out", V_tgt, "tgt_vocab")):
        ids = getattr(data, part)
        if ids.numel() == 0:
            raise ValueError(f"{name}.{part} must hold at least one example and token; got shape {tuple(ids.shape)}")
        low, high = (int(x) for x in torch.aminmax(ids))
        if low < 0 or high >= V:
            raise ValueError(f"{name}.{part} ids must lie in [0, V={V}); got ids from {low} to {high}: encode the "
                             f"pairs with the model's vocabularies (model.config.{vocab})")
    for part, width in (("src_lengths", data.src.shape[1]), ("tgt_lengths", data.tgt_in.shape[1])):
        low, high = (int(x) for x in torch.aminmax(getattr(data, part)))
        if low < 1 or high > width:
            raise ValueError(f"{name}.{part} must lie in [1, {width}]; got lengths from {low} to {high}")


def _check_fit(model: object, train: object, valid: object, config: object, progress: object) -> tuple[int, int]:
    """fit's arguments, before any step. Returns the total number of steps and the steps per epoch."""
    _check_model(model)
    if not isinstance(config, TrainConfig):
        hint = "; build one from a dict d with TrainConfig(**d)" if isinstance(config, dict) else ""
        raise TypeError(f"config must be a TrainConfig{hint}; got {type(config).__name__}")
    _check_data("train", train, model)
    if valid is not None:
        _check_data("valid", valid, model)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool; got {type(progress).__name__}")
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    steps = config.epochs * steps_per_epoch
    if steps > MAX_STEPS:
        raise ValueError(f"epochs={config.epochs:g} makes {steps:.3g} steps of {config.batch_size} examples; "
                         f"fit runs at most {MAX_STEPS:.0e}")
    return max(1, round(steps)), steps_per_epoch


class _Guard:
    """Keeps a copy of the last weights that gave a finite loss; on a non-finite number (or a loss
    that exploded past EXPLODED x log V, far worse than guessing), restores them and raises.

    A copy per step costs little next to the step itself: these models have about 10^5 weights.
    """

    def __init__(self, model: Seq2Seq, config: TrainConfig, total_steps: int, history: History):
        self.model, self.lr, self.total, self.history = model, config.lr, total_steps, history
        self.params = list(model.parameters())
        self.saved = [p.detach().clone() for p in self.params]
        self.saved_step = 0                 # the step whose finite loss these weights gave (0: initial weights)
        self.guess = math.log(len(model.config.tgt_vocab))   # the loss of a uniform guess

    def loss(self, batch: Encoded) -> tuple[Tensor, float]:
        """The batch's loss and its value; the data are checked, so a ValueError here means non-finite numbers."""
        step = self.history.steps + 1
        try:
            loss = _loss(self.model, _on_device_of(self.model, batch))
        except ValueError as e:
            self.fail(step, f"the forward pass met non-finite numbers ({e})")
        value = loss.item()                # waits for the device, if any
        if not math.isfinite(value):
            self.fail(step, f"the loss is {value}")
        if value > EXPLODED * self.guess:
            self.fail(step, f"the loss exploded to {value:.3g}, over {EXPLODED} x log V = {EXPLODED * self.guess:.3g} "
                            f"(a uniform guess scores log V = {self.guess:.2g})")
        with torch.no_grad():
            for saved, p in zip(self.saved, self.params):
                saved.copy_(p)
        self.saved_step = step
        return loss, value

    def check_gradient(self, norm: Tensor) -> None:
        if not torch.isfinite(norm):
            self.fail(self.history.steps + 1, f"the gradient norm is {norm.item()}")

    def check_weights(self) -> None:
        if not all(bool(torch.isfinite(p).all()) for p in self.params):
            self.fail(self.history.steps, "the update made the weights non-finite")

    def evaluate(self, valid: Encoded) -> Metrics:
        self.check_weights()
        try:
            return evaluate(self.model, valid)
        except ValueError as e:
            self.fail(self.history.steps, f"validation met non-finite numbers ({e})")

    def fail(self, step: int, why: str) -> None:
        with torch.no_grad():
            for saved, p in zip(self.saved, self.params):
                p.copy_(saved)
        held = (f"the weights that gave step {self.saved_step}'s loss, the last good one" if self.saved_step
                else "its initial weights")
        message = (f"training diverged at step {step} of {self.total}: {why}. The model is back to {held}; "
                   f"try a smaller learning rate than lr={self.lr:g}, e.g. lr={self.lr / 10:g}")
        raise DivergedError(" ".join(message.split("\n")), step, self.history)


def fit(model: Seq2Seq, train: Encoded, valid: Encoded | None = None, config: TrainConfig = TrainConfig(),
        progress: bool = True) -> History:
    """Train with teacher forcing. Same seed, same data: the same losses, bit for bit (CPU).

    Raises DivergedError (a ValueError) at the first non-finite loss, gradient or weight, or a loss
    over EXPLODED x log V, with the model put back to the last weights that gave a finite loss.
    """
    total_steps, steps_per_epoch = _check_fit(model, train, valid, config, progress)
    eval_every = config.eval_every or steps_per_epoch
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / total_steps)) if config.cosine else 1.0)
    history = History()
    guard = _Guard(model, config, total_steps, history)
    bar = tqdm(total=total_steps, desc=f"{model.config.decoder}", unit="step", disable=not progress, leave=True)
    with _threads(config.threads), bar:
        try:
            model.train()
            for epoch in range(math.ceil(config.epochs)):
                seed = (config.seed * 1000 + epoch) % 2**64       # within torch's seed range
                for batch in batches(train, config.batch_size, shuffle=True, seed=seed):
                    start = time.perf_counter()
                    optimizer.zero_grad(set_to_none=True)
                    loss, value = guard.loss(batch)
                    loss.backward()
                    guard.check_gradient(nn.utils.clip_grad_norm_(model.parameters(), config.clip))
                    optimizer.step()
                    schedule.step()
                    history.losses.append(value)
                    history.train_seconds += time.perf_counter() - start
                    history.steps += 1
                    bar.update()
                    bar.set_postfix(loss=f"{history.losses[-1]:.3f}", refresh=False)
                    last = history.steps == total_steps
                    if valid is not None and (history.steps % eval_every == 0 or last):
                        metrics = guard.evaluate(valid)
                        history.valid.append((history.steps, metrics.exact_match, metrics.char_accuracy))
                        bar.set_postfix(loss=f"{history.losses[-1]:.3f}", valid=f"{metrics.exact_match:.1%}")
                        if config.stop_at is not None and metrics.exact_match >= config.stop_at:
                            return history
                    if last:
                        guard.check_weights()
                        return history
            guard.check_weights()
            return history
        finally:
            model.eval()


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
    _check_model(model)
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
