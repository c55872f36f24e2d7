"""Training and evaluation of the encoder-decoders: seeded, deterministic on the CPU.

``fit`` runs Adam with gradient clipping and a cosine learning-rate decay, shows a
``tqdm`` progress bar with the loss and the validation accuracy, and returns the
history. ``evaluate`` decodes greedily (no teacher forcing) and reports the
exact-match accuracy (the whole output right) and the per-character accuracy.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from attn_course.data import PAD_ID, Encoded, batches, encode_pairs
from attn_course.models import Seq2Seq, Seq2SeqConfig

__all__ = ["TrainConfig", "History", "Metrics", "default_device", "build_model", "fit", "evaluate", "predict", "save_model",
           "load_model"]


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
        checks = {"epochs": self.epochs > 0, "batch_size": self.batch_size >= 1, "lr": self.lr > 0,
                  "clip": self.clip > 0, "eval_every": self.eval_every >= 0, "threads": self.threads >= 1}
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{name} must be positive; got {getattr(self, name)!r}")


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


def build_model(config: Seq2SeqConfig, seed: int = 0, device: torch.device | str = "cpu") -> Seq2Seq:
    """A model whose initial weights depend only on the config and the seed (made on the CPU, then moved)."""
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


@torch.no_grad()
@_threads(1)
def evaluate(model: Seq2Seq, data: Encoded, batch_size: int = 1000) -> Metrics:
    """Greedy decoding of every example; exact match and per-character accuracy."""
    was_training = model.training
    model.eval()
    exact = correct = total = 0
    for batch in batches(data, batch_size, shuffle=False):
        batch = _on_device_of(model, batch)
        target = batch.tgt_out                                               # (B, L) with EOS
        tokens, _ = model.greedy_decode(batch.src, batch.src_lengths, max_len=target.shape[1] + 1)
        width = max(tokens.shape[1], target.shape[1])
        pred = nn.functional.pad(tokens, (0, width - tokens.shape[1]), value=PAD_ID)   # (B, W)
        gold = nn.functional.pad(target, (0, width - target.shape[1]), value=PAD_ID)   # (B, W)
        real = gold != PAD_ID
        exact += ((pred == gold) | ~real).all(dim=1).sum().item()
        correct += ((pred == gold) & real).sum().item()
        total += real.sum().item()
    model.train(was_training)
    return Metrics(exact / len(data), correct / total)


@torch.no_grad()
@_threads(1)
def predict(model: Seq2Seq, sources: list[str], batch_size: int = 1000, max_len: int = 32) -> list[str]:
    """Greedy translations of many strings at once (batched, no teacher forcing)."""
    cfg = model.config
    data = encode_pairs([(s, "") for s in sources], cfg.src_vocab, cfg.tgt_vocab, reverse_source=cfg.reverse_source)
    was_training = model.training
    model.eval()
    outputs = []
    for batch in batches(data, batch_size, shuffle=False):
        batch = _on_device_of(model, batch)
        tokens, _ = model.greedy_decode(batch.src, batch.src_lengths, max_len=max_len)
        outputs += [cfg.tgt_vocab.decode(row) for row in tokens.tolist()]
    model.train(was_training)
    return outputs


def fit(model: Seq2Seq, train: Encoded, valid: Encoded | None = None, config: TrainConfig = TrainConfig(),
        progress: bool = True) -> History:
    """Train with teacher forcing. Same seed, same data: the same losses, bit for bit (CPU)."""
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    total_steps = max(1, round(config.epochs * steps_per_epoch))
    eval_every = config.eval_every or steps_per_epoch
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / total_steps)) if config.cosine else 1.0)
    history = History()
    bar = tqdm(total=total_steps, desc=f"{model.config.decoder}", unit="step", disable=not progress, leave=True)
    with _threads(config.threads), bar:
        try:
            model.train()
            for epoch in range(math.ceil(config.epochs)):
                for batch in batches(train, config.batch_size, shuffle=True, seed=config.seed * 1000 + epoch):
                    start = time.perf_counter()
                    optimizer.zero_grad(set_to_none=True)
                    loss = _loss(model, _on_device_of(model, batch))
                    loss.backward()
                    nn.utils.clip_grad_norm_(model.parameters(), config.clip)
                    optimizer.step()
                    schedule.step()
                    history.losses.append(loss.item())                # waits for the device, if any
                    history.train_seconds += time.perf_counter() - start
                    history.steps += 1
                    bar.update()
                    bar.set_postfix(loss=f"{history.losses[-1]:.3f}", refresh=False)
                    last = history.steps == total_steps
                    if valid is not None and (history.steps % eval_every == 0 or last):
                        metrics = evaluate(model, valid)
                        history.valid.append((history.steps, metrics.exact_match, metrics.char_accuracy))
                        bar.set_postfix(loss=f"{history.losses[-1]:.3f}", valid=f"{metrics.exact_match:.1%}")
                        if config.stop_at is not None and metrics.exact_match >= config.stop_at:
                            return history
                    if last:
                        return history
            return history
        finally:
            model.eval()


def save_model(model: Seq2Seq, path: str | Path) -> None:
    """Weights and config, loadable with ``weights_only=True`` (no arbitrary pickle)."""
    torch.save({"config": json.dumps(model.config.to_dict()), "state_dict": model.state_dict()}, Path(path))


def load_model(path: str | Path) -> Seq2Seq:
    """Load a model saved by :func:`save_model`, safely (tensors and plain types only)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = Seq2Seq(Seq2SeqConfig.from_dict(json.loads(saved["config"])))
        model.load_state_dict(saved["state_dict"])
    except Exception as e:  # a wrong or corrupted file: one clear line, not a pickle traceback
        raise ValueError(f"{path} is not a model saved by attn_course ({type(e).__name__}: {e})") from None
    return model.eval()
