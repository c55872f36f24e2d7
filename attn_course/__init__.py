"""attn_course: the tested PyTorch package behind "Attention, from intuition to code".

Shape legend, used in every docstring and right-margin comment (batch first):

    B  batch size           L  query (target) length    S  key (source) length
    D  model / query width  Dv value width              H  number of heads
    Dh head width           V  vocabulary size

In the LSTM encoder-decoders (attn_course.models, chapters 2-4), which have no
heads, H is the hidden width of the LSTMs and E the embedding width.

Masks are boolean with **True = may attend**, everywhere.
"""

from attn_course.attention import (
    additive_attention,
    causal_mask,
    dot_product_attention,
    masked_softmax,
    padding_mask,
    scaled_dot_product_attention,
    self_attention,
)

__version__ = "0.1.0"

__all__ = [
    "additive_attention",
    "causal_mask",
    "dot_product_attention",
    "masked_softmax",
    "padding_mask",
    "scaled_dot_product_attention",
    "self_attention",
]
