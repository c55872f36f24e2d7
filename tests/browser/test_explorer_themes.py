"""Every explorer in the book's light and dark theme, and its "Save view" buttons, in Chromium.

The explorers are shown on a standalone page (standalone.html, support/explorer_page.py) as the book shows
them: each one's joined module (_esm) imported from a Blob URL, its style sheet (_css) in the head,
render({model, el}) with its Python class's traits, served from 127.0.0.1. No built book needed.

- Both themes pass axe-core (tests/browser/vendor/axe-core), contrast included, and the colours
  that axe does not check (the drawings: arrows, axes, labels, bars; the weights' cells; the
  focus ring) reach WCAG AA on the card as the page computes them: 4.5:1 text, 3:1 graphics.
- The theme follows the page live: setting html[data-theme] (the book's switch) or
  body[data-jp-theme-light] (JupyterLab's) restyles every card at once, with no reload.
- By keyboard alone, Tab reaches "Save view as SVG" then "... PNG"; Enter downloads
  <explorer>-view.svg, a standalone well-formed SVG in the theme shown (its background, its
  text), and <explorer>-view.png, a PNG at twice the size whose pixels are that background.
- Nothing is fetched from another host, no request fails, nothing is logged as an error.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from support.browser import PageLog, chromium, serving
from support.colour import contrast, hex_of, parse
from support.explorer_page import EXPLORERS, ROOTS, write_page
from support.saved_view import check_png, check_svg, svg_text

pytestmark = [pytest.mark.browser]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
THEMES = ("light", "dark")
PNG_SCALE = 2


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    """(page, log): the standalone page of the three explorers, loaded once for this module."""
    folder = tmp_path_factory.mktemp("explorers")
    write_page(folder)
    with serving(folder) as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 900}, accept_downloads=True)
        log = PageLog("http")
        log.attach(page)
        page.goto(f"{server.url}/explorers.html", wait_until="load")
        page.wait_for_selector("html[data-explorers-ready]", timeout=15_000)
        yield page, log
        page.close()


def set_theme(page, theme: str, where: str = "book") -> None:
    """The book's switch (html[data-theme]) or JupyterLab's (body[data-jp-theme-light]); the other one unset."""
    page.evaluate("""([theme, where]) => {
        const html = document.documentElement, body = document.body;
        delete html.dataset.theme; delete body.dataset.jpThemeLight;
        if (where === 'book') html.dataset.theme = theme; else body.dataset.jpThemeLight = String(theme === 'light');
    }""", [theme, where])


def card_colours(page) -> dict:
    """name -> {background, ink (the output or average arrow)} of each explorer's card, as computed."""
    return page.evaluate("""(roots) => Object.fromEntries(Object.entries(roots).map(([name, root]) => {
        const card = document.querySelector(root);
        return [name, {background: getComputedStyle(card).backgroundColor, fg: getComputedStyle(card).color}];
    }))""", ROOTS)


# What the page draws that axe does not measure, as computed: [what, colour, colour it sits on, minimum]
MEASURE = """(roots) => {
  const out = [], style = (e) => getComputedStyle(e);
  for (const [name, selector] of Object.entries(roots)) {
    const card = document.querySelector(selector), bg = style(card).backgroundColor;
    const add = (what, colour, on, min) => out.push([`${name}: ${what}`, colour, on, min]);
    card.querySelectorAll('.ex-arrow').forEach((g) => {
      const line = g.querySelector('line');
      if (style(g).display !== 'none' && style(line).display !== 'none')
        add(`arrow ${g.getAttribute('class')}`, style(line).stroke, bg, 3);
    });
    card.querySelectorAll('.ex-label').forEach((t) => { if (t.textContent) add(`label ${t.textContent}`, style(t).fill, bg, 4.5); });
    card.querySelectorAll('.ex-axis').forEach((a, i) => { if (i < 2) add('axis', style(a).stroke, bg, 3); });
    card.querySelectorAll('.ex-tick').forEach((t, i) => { if (i < 1) add('tick label', style(t).fill, bg, 4.5); });
    card.querySelectorAll('.qk-bar-fill, .mh-bar-fill, .ds-bar').forEach((b) => add(`bar ${b.className}`, style(b).backgroundColor, bg, 3));
    card.querySelectorAll('.ds-cell, .ds-heat:not(.ds-future)').forEach((c) =>
      add(`weight ${c.style.getPropertyValue('--ds-w')} (text)`, style(c).color, style(c).backgroundColor, 4.5));
    for (const p of ['--ex-focus', '--ex-control', '--ex-neutral', '--ex-vermillion', '--ex-blue', '--ex-green',
                     '--ex-purple', '--ex-sky', '--ex-orange', '--ex-ink'])
      add(`theme ${p}`, style(card).getPropertyValue(p).trim(), bg, 3);
    for (const p of ['--ex-fg', '--ex-muted', '--ex-vermillion-text', '--ex-green-text'])
      add(`theme ${p} (text)`, style(card).getPropertyValue(p).trim(), bg, 4.5);
  }
  return out;
}"""


# ---- Themes -------------------------------------------------------------------------

@pytest.mark.parametrize("theme", THEMES)
def test_both_themes_pass_axe(standalone, theme):
    page, _ = standalone
    set_theme(page, theme)
    if not page.evaluate("!!window.axe"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\\s+/g, ' '))}))""")
    problems = [f"{v['id']} ({v['impact']}: {v['help']}) {n}" for v in violations if v["impact"] in FAILING_IMPACTS
                for n in v["nodes"]]
    assert not problems, f"{theme}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("theme", THEMES)
def test_drawings_and_weights_reach_aa_contrast_on_the_card(standalone, theme, record_property):
    page, _ = standalone
    set_theme(page, theme)
    measured = page.evaluate(MEASURE, ROOTS)
    ratios = [(what, contrast(hex_of(colour), hex_of(on)), minimum) for what, colour, on, minimum in measured]
    record_property(f"contrast_{theme}", {what: round(r, 2) for what, r, _ in ratios})
    for what, r, minimum in ratios:
        print(f"{theme:5} {r:5.2f} (>= {minimum}) {what}")
    kinds = {re.sub(r" .*", "", what.split(": ", 1)[1]) for what, _, _ in ratios}
    assert {"arrow", "label", "axis", "tick", "bar", "weight", "theme"} <= kinds, kinds   # all were measured
    low = [f"{what}: {r:.2f} < {minimum}" for what, r, minimum in ratios if r < minimum]
    assert not low, f"{theme}:\n  " + "\n  ".join(low)


def test_the_theme_follows_the_page_live(standalone):
    page, _ = standalone
    seen = {}
    for where, theme in [("book", "light"), ("book", "dark"), ("book", "light"), ("lab", "dark"), ("lab", "light")]:
        set_theme(page, theme, where)
        seen[(where, theme)] = card_colours(page)              # no reload: the same page, restyled
    for name in EXPLORERS:
        light, dark = seen[("book", "light")][name], seen[("book", "dark")][name]
        assert hex_of(light["background"]) == "#ffffff" and contrast(hex_of(dark["background"]), "#ffffff") > 12
        assert contrast(hex_of(dark["fg"]), hex_of(dark["background"])) >= 4.5
        assert seen[("lab", "dark")][name] == dark and seen[("lab", "light")][name] == light, name
    assert page.evaluate("document.documentElement.dataset.explorersReady") == "true"  # still the first load


def test_the_drawings_switch_colour_with_the_theme(standalone):
    """The SVG drawings take their colours from the theme too: the output arrow is black on white and
    light on dark, the labels' halo is the card's background."""
    page, _ = standalone
    read = """() => { const s = (q) => getComputedStyle(document.querySelector(q));
        return {output: s('.qk-explorer .qk-output line').stroke, halo: s('.qk-explorer .ex-label').stroke,
                card: s('.qk-explorer').backgroundColor, grid: s('.qk-explorer .ex-gridline').stroke}; }"""
    set_theme(page, "light")
    light = page.evaluate(read)
    set_theme(page, "dark")
    dark = page.evaluate(read)
    assert hex_of(light["output"]) == "#000000" and contrast(hex_of(dark["output"]), hex_of(dark["card"])) >= 3
    assert light["halo"] == light["card"] and dark["halo"] == dark["card"]
    assert light["grid"] != dark["grid"]


# ---- Save view ---------------------------------------------------------------------------

def tab_to_save(page, root: str) -> dict:
    """From the control just before the Save buttons, Tab once; the focused element's name, ring and class."""
    page.evaluate("""(root) => {
        const card = document.querySelector(root), save = card.querySelector('.ex-save');
        const before = [...card.querySelectorAll('button, input, select, [tabindex]')]
            .filter((e) => e.tabIndex >= 0 && !save.contains(e) && e.checkVisibility({visibilityProperty: true})
                           && (e.type !== 'radio' || e.checked));
        before.at(-1).focus();
    }""", root)
    page.keyboard.press("Tab")
    return page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
        return {name: e.getAttribute('aria-label'), text: e.textContent, visible: e.matches(':focus-visible'),
                outline: s.outlineStyle, outlineColour: s.outlineColor}; }""")


def download(page, key: str = "Enter"):
    with page.expect_download(timeout=10_000) as info:
        page.keyboard.press(key)
    d = info.value
    return d.suggested_filename, Path(d.path()).read_bytes()


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("name", EXPLORERS)
def test_save_view_as_svg_and_png_by_keyboard(standalone, name, theme):
    page, _ = standalone
    set_theme(page, theme)
    root = ROOTS[name]
    colours = card_colours(page)[name]
    background = hex_of(colours["background"])
    box = page.locator(root).bounding_box()
    readout = page.locator(f"{root} .ex-readout").text_content()
    hint = page.locator(f"{root} .ex-hint").text_content()

    focused = tab_to_save(page, root)
    assert (focused["name"], focused["text"]) == ("Save view as SVG", "SVG"), focused
    assert focused["visible"] and focused["outline"] != "none"
    assert contrast(hex_of(focused["outlineColour"]), background) >= 3        # the focus ring shows in this theme
    file, data = download(page)
    assert file == f"{name}-view.svg"
    svg = check_svg(data.decode("utf-8"))
    width, height = (int(v) for v in svg.get("viewBox").split()[2:])
    assert abs(width - box["width"]) <= 1 and 0.5 * box["height"] < height <= box["height"] + 1
    card = svg.find("{http://www.w3.org/2000/svg}rect")
    assert card.get("fill") == background, f"the file's card is {card.get('fill')}, the page's {background}"
    words = re.sub(r"\s+", " ", svg_text(svg))
    assert re.sub(r"\s+", " ", readout) in words, "the readout, as the page shows it"
    assert "Save view" not in words and " ".join(hint.split()[:4]) not in words        # no buttons, no hint
    page.wait_for_function(f"() => document.querySelector('{root} .ex-save-status').textContent === 'Saved {file}'")

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Save view as PNG"
    file, data = download(page)
    assert file == f"{name}-view.png"
    assert check_png(data) == (PNG_SCALE * width, PNG_SCALE * height)
    image = Image.open(io.BytesIO(data)).convert("RGBA")
    inside = image.getpixel((PNG_SCALE * 6, PNG_SCALE * height // 2))           # in the card's left padding
    assert max(abs(a - b) for a, b in zip(inside[:3], parse(background)[:3])) <= 2 and inside[3] == 255, inside
    assert len(image.getcolors(maxcolors=1 << 24)) > 20, "a drawing, not a blank canvas"
    page.wait_for_function(f"() => document.querySelector('{root} .ex-save-status').textContent === 'Saved {file}'")


def test_page_log_is_clean(standalone):
    """Runs last: nothing of the above fetched anything from another host, failed, or logged an error."""
    _, log = standalone
    assert log.requests > 0
    assert not log.problems(), "\n".join(log.problems())
