"""Training the encoder-decoders: seeded, deterministic on the CPU.

``fit`` runs Adam with gradient clipping and a cosine learning-rate decay, shows a
``tqdm`` progress bar with the loss and the validation accuracy, and returns the
history. It stops with a :class:`DivergedError` on a non-finite (or exploding) loss,
and puts the weights back to the last ones that gave a good loss. ``train_on_pairs``
is the one entry point the chapters and the command line use: string pairs in, a
trained model and its history out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from attn_course import _validate
from attn_course.data import PAD_ID, Encoded, Pair, batches
from attn_course.evaluation import Metrics, evaluate, threads
from attn_course.models import Seq2Seq, Seq2SeqConfig
from attn_course.sizes import check_fits, parameter_count

__all__ = ["TrainConfig", "History", "DivergedError", "default_device", "build_model", "fit", "train_on_pairs"]

MAX_STEPS = 10**9               # fit refuses more steps: epochs=1e300 would never end
EXPLODED = 100                  # a loss over EXPLODED x log V (a uniform guess scores log V) has diverged
MAX_THREADS = 1024


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
            _validate.real(name, getattr(self, name), 0)             # finite and > 0
        for name, low, high in (("batch_size", 1, None), ("seed", 0, _validate.SEED_RANGE[1]),
                                ("eval_every", 0, None), ("threads", 1, MAX_THREADS)):
            object.__setattr__(self, name, _validate.integer(name, getattr(self, name), low, high))
        _validate.flag("cosine", self.cosine)
        if self.stop_at is not None:
            _validate.real("stop_at", self.stop_at, 0, 1)             # (0, 1]

    def steps_per_epoch(self, n_examples: int) -> int:
        """Optimisation steps in one pass over ``n_examples`` (the last batch may be smaller)."""
        return math.ceil(n_examples / self.batch_size)


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


def default_device() -> torch.device:
    """CUDA when available, the CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_model(config: Seq2SeqConfig, seed: int = 0, device: torch.device | str = "cpu") -> Seq2Seq:
    """A model whose initial weights depend only on the config and the seed (made on the CPU, then moved).

    A MemoryError, before anything is allocated, when the weights alone would not fit in memory.
    """
    _validate.instance("config", config, Seq2SeqConfig)
    seed = _validate.integer("seed", seed, 0, _validate.SEED_RANGE[1])
    check_fits(config, 4 * parameter_count(config), "the model")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Seq2Seq(config).to(device)


def _loss(model: Seq2Seq, batch: Encoded) -> Tensor:
    logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)           # (B, L, V)
    return nn.functional.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID)


def _check_fit(model: object, train: object, valid: object, config: object, progress: object) -> tuple[int, int]:
    """fit's arguments, before any step. Returns the total number of steps and the steps per epoch."""
    _validate.instance("model", model, Seq2Seq, " (from build_model or load_model)")
    _validate.instance("config", config, TrainConfig,
                       "; build one from a dict d with TrainConfig(**d)" if isinstance(config, dict) else "")
    model.check_encoded(train, "train")
    if valid is not None:
        model.check_encoded(valid, "valid")
    _validate.flag("progress", progress)
    steps_per_epoch = config.steps_per_epoch(len(train))
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
            loss = _loss(self.model, batch.to(self.model.device))
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
    with threads(config.threads), bar:
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


def train_on_pairs(config: Seq2SeqConfig, train_pairs: Sequence[Pair], valid_pairs: Sequence[Pair] | None = None,
                   train_config: TrainConfig = TrainConfig(), progress: bool = True) -> tuple[Seq2Seq, History]:
    """Train a new model on string pairs: encode them with ``config`` (its vocabularies and its
    source order), build the model with ``train_config.seed``, and :func:`fit` it.

    Make the config from the training pairs with :meth:`Seq2SeqConfig.for_pairs`.
    Returns ``(model, history)``; the model is in eval mode, on the default device.
    """
    _validate.instance("config", config, Seq2SeqConfig, " (e.g. Seq2SeqConfig.for_pairs(train_pairs))")
    _validate.instance("train_config", train_config, TrainConfig)
    train = config.encode(train_pairs)
    valid = None if valid_pairs is None else config.encode(valid_pairs)
    model = build_model(config, seed=train_config.seed, device=default_device())
    return model, fit(model, train, valid, train_config, progress)
