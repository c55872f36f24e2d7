"""Colour arithmetic for the explorers' theme tests: WCAG contrast, sRGB mixing (CSS color-mix),
and how colours look in colour-blind vision.

Contrast: WCAG 2.x relative luminance and ratio. Colour vision: the simulation of Machado,
Oliveira and Fernandes (2009), severity 1 (protanopia, deuteranopia, tritanopia), on linear
sRGB, compared by the CIE76 distance in CIELAB (D65); a distance under about 10 is hard to
tell apart for thin lines. Colours are "#rrggbb", or CSS computed values (rgb(), rgba(),
color(srgb ...)) through :func:`parse`.
"""

from __future__ import annotations

import itertools
import math
import re

__all__ = ["CVD", "contrast", "delta_e", "hex_of", "luminance", "mix", "nearest_pair", "parse"]

# Machado et al. 2009, severity 1.0, on linear RGB
CVD = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
    "normal": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
}


def parse(value: str) -> tuple[float, float, float, float]:
    """A CSS colour as (r, g, b, alpha), channels 0-255: #rrggbb, rgb(), rgba(), color(srgb ...)."""
    text = value.strip().lower()
    if m := re.fullmatch(r"#([0-9a-f]{6})", text):
        return (*(int(m[1][i:i + 2], 16) for i in (0, 2, 4)), 1.0)
    if m := re.fullmatch(r"rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[,/]\s*([\d.]+))?\s*\)", text):
        return (float(m[1]), float(m[2]), float(m[3]), float(m[4] or 1))
    if m := re.fullmatch(r"color\(\s*srgb\s+([\d.e-]+)\s+([\d.e-]+)\s+([\d.e-]+)(?:\s*/\s*([\d.]+))?\s*\)", text):
        return (float(m[1]) * 255, float(m[2]) * 255, float(m[3]) * 255, float(m[4] or 1))
    raise ValueError(f"not a colour this test reads: {value!r}")


def hex_of(value: str) -> str:
    """'#rrggbb' of a CSS colour (its alpha ignored)."""
    r, g, b, _ = parse(value)
    return "#" + "".join(f"{round(c):02x}" for c in (r, g, b))


def _linear(colour: str) -> tuple[float, ...]:
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in parse(colour)[:3]))


def luminance(colour: str) -> float:
    """WCAG relative luminance."""
    r, g, b = _linear(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio, 1 to 21."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def mix(a: str, b: str, t: float) -> str:
    """color-mix(in srgb, b t*100%, a): each sRGB channel from a (t=0) to b (t=1)."""
    ca, cb = parse(a), parse(b)
    return "#" + "".join(f"{round(x + t * (y - x)):02x}" for x, y in zip(ca[:3], cb[:3]))


def _lab(rgb_linear) -> tuple[float, float, float]:
    r, g, b = (min(1.0, max(0.0, c)) for c in rgb_linear)
    x, y, z = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b, \
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def delta_e(a: str, b: str, vision: str = "normal") -> float:
    """CIE76 distance between a and b as seen with `vision` (a key of CVD)."""
    m = CVD[vision]
    seen = [_lab([sum(row[j] * c[j] for j in range(3)) for row in m]) for c in (_linear(a), _linear(b))]
    return math.dist(*seen)


def nearest_pair(colours: dict[str, str], vision: str) -> tuple[float, str, str]:
    """The two colours hardest to tell apart with `vision`: (distance, name, name)."""
    return min((delta_e(colours[p], colours[q], vision), p, q) for p, q in itertools.combinations(colours, 2))
