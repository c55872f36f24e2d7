"""What every encoder hands its decoder: :class:`Memory`.

The LSTM encoders of :mod:`attn_course.models` and the transformer encoder of
:mod:`attn_course.transformer` both return one, and every decoder reads it, so that
:class:`~attn_course.models.Seq2Seq` trains and decodes either the same way.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from torch import Tensor

__all__ = ["Memory", "State"]

State = tuple[Tensor, Tensor]  # an LSTM's (h, c), each (1, B, H) as nn.LSTM wants them


class Memory(NamedTuple):
    """What the encoder hands to a decoder."""

    states: Tensor   # (B, S, H) every encoder state (D wide for the transformer); zeros at padded positions
    mask: Tensor     # (B, S) True at real source tokens
    last: Any        # the decoder's first state: the LSTM encoder's last (h, c); None for the transformer
