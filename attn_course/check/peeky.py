"""Checkers for the peeky decoder: the encoder's summary h joined to the input of every step."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from attn_course.check._engine import exercise
from attn_course.check._verdicts import Case

CHAPTER = "3 · The peeky encoder-decoder"
__all__ = ["peeky_input"]


def _peeky_reference(embedded: Tensor, h: Tensor) -> Tensor:
    return torch.cat([embedded, h[:, None, :].expand(-1, embedded.shape[1], -1)], dim=-1)   # (B, L, E + H)


def _peeky_cases() -> list[Case]:
    cases = []
    for seed, (b, l, e, h) in enumerate([(2, 3, 4, 5), (3, 1, 2, 3), (1, 4, 3, 2)], start=20):
        g = torch.Generator().manual_seed(seed)
        emb, hid = torch.randn(b, l, e, generator=g), torch.randn(b, h, generator=g)
        expected = _peeky_reference(emb, hid)
        mistakes = ((torch.cat([hid[:, None, :].expand(-1, l, -1), emb], dim=-1),
                     "the order is swapped: the embedding first, then h, as in PeekyDecoder."),)
        cases.append(Case((emb, hid), ("embedded (B, L, E)", "h (B, H)"), expected, "(B, L, E + H)", mistakes))
    return cases


@exercise(_peeky_cases, _peeky_reference)
def peeky_input(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(embedded (B, L, E), h (B, H)) -> (B, L, E + H)``: h joined to every step's input."""
