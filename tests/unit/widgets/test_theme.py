"""The explorers' two themes (shared/theme.css): every colour reaches WCAG AA contrast on the card
in its theme, the colours that tell things apart stay apart in colour-blind vision, and the
explorers' style sheets and modules take every colour from the theme.

The browser suite (tests/browser/test_explorer_themes.py) measures the same colours as the page
computes them; this file reads the sheet, so that a bad value fails fast and names itself.
"""

from __future__ import annotations

import re

import pytest
from support.colour import contrast, delta_e, mix, nearest_pair

from attn_course import plots
from attn_course.widgets._esm import WIDGETS

THEME = (WIDGETS / "shared" / "theme.css").read_text()
LIGHT_SELECTOR = ".ex-card"
DARK_SELECTORS = ('html[data-theme="dark"] .ex-card', 'body[data-jp-theme-light="false"] .ex-card')

TEXT = ["fg", "muted", "vermillion-text", "green-text"]                       # 4.5:1 on the card
TEXT_ON = {"fg": ["raised", "surface", "pressed", "vermillion-tint"], "muted": ["raised", "surface"]}
GRAPHICS = ["control", "axis", "focus", "ink", "neutral", "vermillion", "blue", "green", "purple", "sky", "orange"]
TOLD_APART = ["vermillion", "blue", "green", "purple", "sky", "orange", "ink", "neutral"]   # arrows and bars side by side
SERIES = ["blue", "green", "purple", "sky", "orange"]
MIN_DELTA_E = 10                           # CIE76; Okabe-Ito itself: 16 at worst (tritanopia, green and sky)


def blocks() -> dict[str, str]:
    """selector list -> declarations, for each rule of theme.css."""
    found = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", THEME, flags=re.S)):
        found[" | ".join(s.strip() for s in selectors.split(","))] = body
    return found


def declarations(body: str) -> dict[str, str]:
    """--ex-name -> colour (#rrggbb), with var(--okabe-ito-name) read from palette.json."""
    out = {}
    for name, value in re.findall(r"--ex-([\w-]+)\s*:\s*([^;]+);", body):
        ref = re.fullmatch(r"var\(--okabe-ito-(\w+)\)", value.strip())
        out[name] = (plots.OKABE_ITO[ref[1]] if ref else value.strip()).lower()
    return out


THEMES = {"light": declarations(blocks()[LIGHT_SELECTOR]), "dark": declarations(blocks()[" | ".join(DARK_SELECTORS)])}


def test_the_sheet_has_a_light_default_and_a_dark_theme_for_the_book_and_for_jupyterlab():
    assert list(blocks()) == [LIGHT_SELECTOR, " | ".join(DARK_SELECTORS)]
    light, dark = THEMES["light"], THEMES["dark"]
    assert light and light.keys() == dark.keys(), "each theme sets every colour"
    for theme in THEMES.values():
        bad = {k: v for k, v in theme.items() if not re.fullmatch(r"#[0-9a-f]{6}", v)}
        assert not bad, f"write a theme's colours as #rrggbb or var(--okabe-ito-name): {bad}"
    assert "color-scheme: light" in blocks()[LIGHT_SELECTOR] and "color-scheme: dark" in blocks()[" | ".join(DARK_SELECTORS)]


@pytest.mark.parametrize("theme", THEMES)
def test_text_reaches_4_5_and_graphics_3_on_the_card(theme):
    c = THEMES[theme]
    low = [f"{n} {contrast(c[n], c['bg']):.2f}" for n in TEXT if contrast(c[n], c["bg"]) < 4.5]
    low += [f"{n} on {s} {contrast(c[n], c[s]):.2f}" for n, on in TEXT_ON.items() for s in on if contrast(c[n], c[s]) < 4.5]
    low += [f"{n} {contrast(c[n], c['bg']):.2f}" for n in GRAPHICS if contrast(c[n], c["bg"]) < 3]
    assert not low, f"{theme}: under WCAG AA (text 4.5, graphics 3): {low}"
    assert contrast(c["focus"], c["focus-halo"]) >= 3                 # the ring shows over any cell or line


@pytest.mark.parametrize("theme", THEMES)
def test_the_weights_ramp_is_monotone_and_its_ink_readable_at_every_weight(theme):
    c = THEMES[theme]
    ramp = [mix(c["heat-low"], c["heat-high"], i / 100) for i in range(101)]    # as color-mix(in srgb) in stepper.css
    ink = [contrast(c["heat-ink"], cell) for cell in ramp]
    assert min(ink) >= 4.5, f"{theme}: ink {c['heat-ink']} at {min(ink):.2f} on {ramp[ink.index(min(ink))]}"
    to_bg = [contrast(cell, c["bg"]) for cell in ramp]
    assert all(a <= b + 1e-9 for a, b in zip(to_bg, to_bg[1:])), "each weight stands out more than the one below"
    assert c["heat-low"] == c["bg"] and contrast(c["heat-high"], c["bg"]) >= 3


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("vision", ["normal", "protanopia", "deuteranopia", "tritanopia"])
def test_colours_drawn_side_by_side_stay_apart_in_colour_blind_vision(theme, vision):
    distance, a, b = nearest_pair({n: THEMES[theme][n] for n in TOLD_APART}, vision)
    assert distance >= MIN_DELTA_E, f"{theme}, {vision}: {a} and {b} are {distance:.1f} apart (CIE76)"


@pytest.mark.parametrize("theme", THEMES)
def test_an_adjusted_colour_is_still_its_okabe_ito_colour(theme):
    """Lighter or darker where contrast asks for it, but nearer its own Okabe-Ito colour than any other."""
    for name in [*SERIES, "vermillion"]:
        ours = THEMES[theme][name]
        nearest = min(plots.OKABE_ITO, key=lambda k: delta_e(ours, plots.OKABE_ITO[k]))
        assert nearest == name, f"{theme} --ex-{name} {ours} looks more like Okabe-Ito {nearest}"


def test_the_explorers_take_every_colour_from_the_theme():
    """No colour literal in an explorer's sheet or module (the theme could not restyle it), and every
    --ex-* they use is set by the theme (or is the arrow's own, set by paintArrow)."""
    shared = [p for p in (WIDGETS / "shared").glob("*.js") if p.name != "snapshot.js"]   # it reads colours, sets none
    files = [*WIDGETS.glob("*.css"), *WIDGETS.glob("*.js"), *shared, WIDGETS / "shared" / "card.css"]
    used = set()
    for path in files:
        text = re.sub(r"/\*.*?\*/|//[^\n]*", "", path.read_text())
        literals = re.findall(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsla?\(", text)
        assert not literals, f"{path.name}: colours {literals}: use a --ex-* property of shared/theme.css"
        used |= set(re.findall(r"--ex-([\w-]+)", text)) | {f"{n}" for n in re.findall(r'themed\("([\w-]+)"\)', text)}
    used |= set(SERIES)                                               # SERIES.map(themed) in palette.js
    assert used - {"arrow"} <= THEMES["light"].keys(), sorted(used - {"arrow"} - THEMES["light"].keys())
