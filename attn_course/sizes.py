"""How big a model is and how much memory it needs, by arithmetic: nothing is built or allocated.

The command line, :func:`attn_course.train.build_model` and :func:`attn_course.model_files.load_model`
use these to refuse sizes that cannot fit before allocating anything.
"""

from __future__ import annotations

import os

from attn_course import _validate
from attn_course.models import Seq2SeqConfig
from attn_course.transformer import MAX_POSITIONS

__all__ = ["parameter_count", "training_memory", "memory_available", "gigabytes", "check_fits"]


def parameter_count(config: Seq2SeqConfig) -> int:
    """The number of weights of ``Seq2Seq(config)``.

    An LSTM from width I to H has 4H(I + H) weights and 2 x 4H biases; a Linear
    from I to O has IO weights and O biases; an embedding VE.
    """
    _validate.instance("config", config, Seq2SeqConfig)
    V_src, V_tgt, E, H = len(config.src_vocab), len(config.tgt_vocab), config.embed_dim, config.hidden_dim
    if config.decoder == "transformer":
        return _transformer_count(config, V_src, V_tgt)

    def lstm(width: int) -> int:
        return 4 * H * (width + H) + 8 * H

    encoder = V_src * E + lstm(E)
    if config.decoder == "vanilla":
        return encoder + V_tgt * E + lstm(E) + (H + 1) * V_tgt
    if config.decoder == "peeky":
        return encoder + V_tgt * E + lstm(E + H) + (2 * H + 1) * V_tgt
    score = {"dot": 0, "general": H * H, "additive": 2 * H * H + H}[config.score]   # additive: W_q, W_k, v
    return encoder + V_tgt * E + lstm(E) + (2 * H + 1) * V_tgt + score


def _transformer_count(config: Seq2SeqConfig, V_src: int, V_tgt: int) -> int:
    """D = embed_dim wide, F = hidden_dim feed-forward: attention 4(D² + D) (W_q, W_k, W_v, W_o and biases),
    feed-forward 2DF + F + D, a LayerNorm 2D; the encoder layer has one attention and two norms, the
    decoder layer two and three; a final norm each; the output layer (D + 1)V; learned positions P x D."""
    D, F, N = config.embed_dim, config.hidden_dim, config.layers
    attention, feed_forward, norm = 4 * (D * D + D), 2 * D * F + F + D, 2 * D
    positions = MAX_POSITIONS * D if config.positions == "learned" else 0
    encoder = V_src * D + positions + N * (attention + feed_forward + 2 * norm) + norm
    decoder = V_tgt * D + positions + N * (2 * attention + feed_forward + 3 * norm) + norm + (D + 1) * V_tgt
    return encoder + decoder


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


def check_fits(config: Seq2SeqConfig, needed: int, what: str) -> None:
    if needed > memory_available():
        raise MemoryError(f"{what} needs about {gigabytes(needed)} ({parameter_count(config):.3g} parameters: "
                          f"embed_dim={config.embed_dim}, hidden_dim={config.hidden_dim}), more than this "
                          f"machine's {gigabytes(memory_available())} of memory")
