"""Saving an explorer's view (shared/snapshot.js and shared/save.js), under Node with the fake DOM:
the picture is a well-formed, standalone SVG file (its viewBox, every colour written out as
#rrggbb, no external resource, the hint and the Save buttons left out), and every explorer has
the Save buttons. A real browser saves real files in tests/browser/test_explorer_themes.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from support.node import requires_node, run_module
from support.saved_view import SVG, check_svg

EXPLORERS = {"query_key.js": "QueryKeyExplorer", "multihead.js": "MultiHeadExplorer", "stepper.js": "DecodingStepper"}

# A fake page for snapshotSvg: boxes and computed styles set by hand, everything else as a browser's defaults.
FAKE_ENV = """
const boxes = new Map(), styles = new Map();
const DEFAULTS = { display: "block", overflow: "visible", "background-color": "rgba(0, 0, 0, 0)", "background-image": "none",
  "outline-style": "none", "outline-width": "0px", color: "rgb(0, 0, 0)", "font-family": "sans-serif", "font-size": "14px",
  "font-weight": "400", "font-style": "normal", fill: "rgb(0, 0, 0)", stroke: "none", "stroke-width": "1px" };
const env = {
  box: (n) => { const [left, top, width, height] = boxes.get(n) ?? [0, 0, 0, 0]; return { left, top, width, height }; },
  style: (n) => ({ getPropertyValue: (p) => (styles.get(n) ?? {})[p] ?? DEFAULTS[p] ?? (p.endsWith("width") ? "0px" : "") }),
  shown: (n) => !(styles.get(n) ?? {}).hidden,
  lines: (t) => [{ text: t.data, x: 110, y: 220 }],
};
"""


def parse_svg(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"')
    return ET.fromstring(text.split("\n", 1)[1])                   # raises if not well-formed


@requires_node
def test_colours_are_written_as_hex_with_their_opacity():
    js = run_module("shared/snapshot.js", """
        print(["rgb(0, 114, 178)", "rgba(28, 31, 36, 0.5)", "rgb(0 114 178 / 50%)", "color(srgb 0.0863 0.4824 0.7373)",
               "color(srgb 1 1 1 / 0.25)", "#E69F00", "transparent", "none", "linear-gradient(red, blue)", "oklch(0.5 0.1 200)"]
              .map(module.parseColour));
    """)
    assert js == [{"hex": "#0072b2", "alpha": 1}, {"hex": "#1c1f24", "alpha": 0.5}, {"hex": "#0072b2", "alpha": 0.5},
                  {"hex": "#167bbc", "alpha": 1}, {"hex": "#ffffff", "alpha": 0.25}, {"hex": "#e69f00", "alpha": 1},
                  {"hex": None, "alpha": 0}, None, None, None]


@requires_node
def test_xml_text_and_attributes_are_escaped():
    js = run_module("shared/snapshot.js", r"""
        print([module.escapeXml('a < b & "c" > d\u0001'), module.tag("text", { x: 1.23456, y: null, "font-family": 'x "y"' }, "q"),
               module.tag("rect", { width: 3 })]);
    """)
    assert js == ["a &lt; b &amp; &quot;c&quot; &gt; d", '<text x="1.23" font-family="x &quot;y&quot;">q</text>',
                  '<rect width="3"/>']


@requires_node
def test_the_picture_is_a_standalone_svg_with_its_viewbox_and_colours_inlined():
    js = run_module("shared/snapshot.js", FAKE_ENV + """
        const document = installDom(), NS = "http://www.w3.org/2000/svg";
        const el = (tag, parent, box, style = {}, text = null) => {
          const node = document.createElement(tag);
          if (text !== null) node.textContent = text;
          parent?.append(node); boxes.set(node, box); styles.set(node, style); return node;
        };
        const card = el("div", document.body, [100, 200, 400, 300], { "background-color": "rgb(28, 31, 36)",
          "border-top-left-radius": "6px", "padding-bottom": "12px", "border-bottom-width": "1px",
          ...Object.fromEntries(["top", "right", "bottom", "left"].flatMap((s) => [[`border-${s}-width`, "1px"],
            [`border-${s}-style`, "solid"], [`border-${s}-color`, "rgb(58, 64, 72)"]])) });
        card.className = "ex-card";
        el("div", card, [110, 210, 380, 20], { color: "rgb(230, 232, 235)", "font-weight": "600" }, 'weights < 1 & "q"');
        const drawing = document.createElementNS(NS, "svg");
        drawing.setAttribute("viewBox", "0 0 420 420"); drawing.setAttribute("aria-hidden", "true");
        card.append(drawing); boxes.set(drawing, [110, 240, 210, 210]);
        const axis = document.createElementNS(NS, "line");
        Object.entries({ class: "ex-axis", x1: 30, y1: 30, x2: 390, y2: 30 }).forEach(([k, v]) => axis.setAttribute(k, v));
        styles.set(axis, { stroke: "rgb(116, 123, 132)" });
        const group = document.createElementNS(NS, "g");
        group.style.setProperty("--ex-arrow", "var(--ex-blue)");
        const shaft = document.createElementNS(NS, "line");
        styles.set(shaft, { stroke: "color(srgb 0.0863 0.4824 0.7373)", "stroke-width": "3px", "stroke-dasharray": "7px, 5px" });
        const label = document.createElementNS(NS, "text");
        label.textContent = "cats";
        styles.set(label, { fill: "rgb(230, 232, 235)", stroke: "rgb(28, 31, 36)", "stroke-width": "4px", "paint-order": "stroke",
                            "font-weight": "600", "dominant-baseline": "central" });
        const gone = document.createElementNS(NS, "circle");
        styles.set(gone, { display: "none" });
        group.append(shaft, gone); drawing.append(axis, group, label);
        const clipped = el("div", card, [110, 460, 100, 10], { overflow: "hidden" });
        el("span", clipped, [110, 460, 300, 10], { "background-image":
          "repeating-linear-gradient(135deg, rgb(255, 255, 255) 0px, rgb(255, 255, 255) 4px, rgb(237, 237, 237) 4px, rgb(237, 237, 237) 7px)" });
        const range = el("input", card, [330, 240, 100, 20], {});
        Object.assign(range, { type: "range", min: 0, max: 4, value: 1 });
        el("div", card, [110, 480, 300, 10], { hidden: true }, "not shown");
        el("div", card, [110, 470, 380, 20], {}, "Drag an arrow").className = "ex-hint";
        el("div", card, [110, 480, 380, 20], {}, "Save view").className = "ex-save ex-no-export";
        print(module.snapshotSvg(card, env, "query-key-view.svg"));
    """)
    assert (js["width"], js["height"]) == (400, 270 + 12 + 1)       # cropped after the last child kept, + padding, border
    text = js["text"]
    root = parse_svg(text)
    assert root.get("viewBox") == "0 0 400 283" and (root.get("width"), root.get("height")) == ("400", "283")
    assert root.find(f"{SVG}title").text == "query-key-view.svg"
    check_svg(text)
    rects = root.findall(f"{SVG}rect")
    assert rects[0].attrib == {"x": "0", "y": "0", "width": "400", "height": "283", "rx": "6", "fill": "#1c1f24"}
    assert rects[1].get("stroke") == "#3a4048" and rects[1].get("x") == "0.5"           # the border, inside the box
    words = [t.text for t in root.iter(f"{SVG}text")]
    assert words == ['weights < 1 & "q"', "cats"]                    # escaped in the file, not hint, Save or hidden
    header = root.findall(f"{SVG}text")[0]
    assert (header.get("x"), header.get("y"), header.get("fill"), header.get("font-weight")) == ("10", "20", "#e6e8eb", "600")
    drawing = root.find(f"{SVG}svg")
    assert drawing.attrib == {"x": "10", "y": "40", "width": "210", "height": "210", "viewBox": "0 0 420 420", "overflow": "hidden"}
    axis, group, label = list(drawing)
    assert axis.get("stroke") == "#747b84" and axis.get("x2") == "390"
    (shaft,) = list(group)                                           # the hidden dot left out
    assert (shaft.get("stroke"), shaft.get("stroke-width"), shaft.get("stroke-dasharray")) == ("#167bbc", "3", "7, 5")
    assert (label.get("fill"), label.get("stroke"), label.get("paint-order"), label.get("dominant-baseline")) == \
        ("#e6e8eb", "#1c1f24", "stroke", "central")
    pattern = root.find(f"{SVG}defs/{SVG}pattern")
    assert [r.get("fill") for r in pattern] == ["#ffffff", "#ededed"] and pattern.get("width") == "7"
    clip = root.find(f"{SVG}defs/{SVG}clipPath")                    # the box with overflow: hidden
    assert root.find(f"{SVG}g").get("clip-path") == f"url(#{clip.get('id')})" and clip.find(f"{SVG}rect").get("width") == "100"
    assert root.find(f"{SVG}circle").get("cx") == str(230 + 7 + (100 - 14) / 4)          # the range's thumb at 1 of 0..4


@requires_node
@pytest.mark.parametrize("entry", EXPLORERS)
def test_every_explorer_has_the_save_buttons_and_its_whole_view_serialises(entry):
    """Each explorer calls saveControl; its real view (every element at 0 px in the fake page) still
    makes a well-formed standalone file with its drawing copied."""
    js = run_module("shared/snapshot.js", FAKE_ENV + f"""
        const explorer = (await import("./widgets/{entry}")).default;
        const {{ el }} = mount(explorer, data);
        const card = el.querySelector(".ex-card");
        boxes.set(card, [0, 0, 700, 500]);
        const groups = all(card, ".ex-save");
        print({{ last: card.children.at(-1) === groups[0], groups: groups.map((g) => ({{ cls: g.className, role: g.getAttribute("role"),
                 name: g.getAttribute("aria-label"), status: all(g, "[role]").map((s) => s.getAttribute("role")),
                 buttons: all(g, "button").map((b) => [b.textContent, b.getAttribute("aria-label"), b.getAttribute("type"),
                                                      b.getAttribute("data-lm-suppress-shortcuts"), b.className]) }})),
                 svg: module.snapshotSvg(card, env).text }});
    """, _traits(EXPLORERS[entry]))
    assert js["last"] and js["groups"] == [{
        "cls": "ex-save ex-no-export", "role": "group", "name": "Save view", "status": ["status"],
        "buttons": [["SVG", "Save view as SVG", "button", "", "ex-save-button ex-ring"],
                    ["PNG", "Save view as PNG", "button", "", "ex-save-button ex-ring"]]}]
    check_svg(js["svg"])
    root = parse_svg(js["svg"])
    assert "Save view" not in js["svg"]
    if entry != "stepper.js":                                        # the planes: their drawing, copied
        (drawing,) = root.findall(f"{SVG}svg")
        assert drawing.get("viewBox") in ("0 0 420 420", "0 0 396 396") and len(list(drawing.iter())) > 20


@requires_node
def test_the_file_names():
    js = run_module("shared/save.js", 'print([module.fileName("query-key", "svg"), module.fileName("stepper", "png")]);')
    assert js == ["query-key-view.svg", "stepper-view.png"]


def _traits(class_name: str) -> dict:
    import attn_course.widgets as widgets

    explorer = getattr(widgets, class_name)()
    return {k: v for k, v in explorer.get_state().items() if not k.startswith("_") and k != "layout"}
