"""What every explorer's Python class shares: its error, its number format, its checks of plain values."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import traitlets

__all__ = ["ExplorerValueError", "fmt", "is_real", "vector"]


class ExplorerValueError(traitlets.TraitError, ValueError):
    """A refused trait value. A TraitError, so traitlets rolls back grouped assignments
    (a constructor, :meth:`QueryKeyExplorer.set_keys`, ``set_state``), and a ValueError."""


def fmt(x: float) -> str:
    """Two decimals exactly as the views' fmt() (shared/format.js): JavaScript's toFixed(2),
    ties away from zero on the exact binary value, never "-0.00"."""
    return str(Decimal(0.0 if abs(x) < 0.005 else x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def is_real(v: object) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def vector(name: str, value: object) -> list[float]:
    """A 2-vector [x, y] of finite floats, or an error naming the trait and the value."""
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(is_real(v) for v in value):
        raise ExplorerValueError(f"{name} must be a 2-vector [x, y] of finite floats; got {value!r:.80}")
    return [float(v) for v in value]
