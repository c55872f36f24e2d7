"""What the explorers share: the joiner (_esm.py) that inlines shared/ into each widget's one
module and style sheet, the palette (one source for Python and JS), fmt (the same two decimals
in Python and JS), the plane's helpers, and the card."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from support.node import requires_node, run_module

from attn_course import plots
from attn_course.widgets import DecodingStepper, ExplorerValueError, MultiHeadExplorer, QueryKeyExplorer
from attn_course.widgets import _esm
from attn_course.widgets._base import fmt, vector
from attn_course.widgets._esm import WIDGETS, JoinError, join_css, join_esm

EXPLORERS = {"query_key": QueryKeyExplorer, "multihead": MultiHeadExplorer, "stepper": DecodingStepper}
SHARED_JS = sorted(p.name for p in (WIDGETS / "shared").glob("*.js"))


# ---- The joiner --------------------------------------------------------------------

@pytest.mark.parametrize("name", EXPLORERS)
def test_each_explorer_gets_one_joined_module_and_style_sheet(name):
    explorer = EXPLORERS[name]()
    esm, css = explorer._esm, explorer._css
    assert esm == join_esm(f"{name}.js") and css == join_css(f"{name}.css")
    state = explorer.get_state()
    assert state["_esm"] == esm and state["_css"] == css          # what the page and Lab receive
    assert not re.search(r"^\s*import\b", esm, re.M), "an import was left in the joined module"
    assert not re.search(r"^\s*@import\b", css, re.M)
    assert esm.count("export default") == 1                       # the widget's own exports only
    for shared in ("format", "palette", "dom", "snapshot", "save"):   # each shared module once
        assert esm.count(f"const $shared${shared} = ") == 1
    # dependencies first: palette before dom (dom imports palette), dom and snapshot before save
    assert esm.index("const $shared$palette") < esm.index("const $shared$dom") < esm.index("const $shared$save")
    assert esm.index("const $shared$snapshot") < esm.index("const $shared$save")
    root = {"query_key": ".qk-explorer {", "multihead": ".mh-explorer {", "stepper": ".ds-stepper {"}[name]
    # the shared sheets first (the theme, then the card), each once; the explorer's after
    assert css.index("--ex-bg: #ffffff;") < css.index(".ex-card {\n  padding") < css.index(root)
    assert css.count("--ex-bg: #ffffff;") == 1 and css.count(".ex-card {\n  padding") == 1
    assert "keys" not in explorer.trait_names(sync=True)          # never shadow Widget.keys


def test_every_front_end_file_ships_with_the_package():
    """pip install (not only -e) must carry every file the joiner reads: pyproject's package-data."""
    pyproject = tomllib.loads((WIDGETS.parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["attn_course.widgets"]
    shipped = {p for pattern in patterns for p in WIDGETS.glob(pattern)}       # as setuptools globs them
    files = {p for p in WIDGETS.rglob("*") if p.suffix in (".js", ".css", ".json")}
    assert files and files <= shipped, sorted(p.relative_to(WIDGETS).as_posix() for p in files - shipped)


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


@pytest.fixture
def widgets(tmp_path, monkeypatch):
    """A scratch widgets folder for the joiner."""
    monkeypatch.setattr(_esm, "WIDGETS", tmp_path.resolve())
    return tmp_path


def test_join_inlines_each_module_once_in_dependency_order(widgets):
    write(widgets, {
        "w.js": 'import { b } from "./shared/b.js";\nimport { a as first } from "./shared/a.js";\n'
                "export const both = () => [first(), b()];\nexport default { render() {} };\n",
        "shared/a.js": "const secret = 1;\nexport function a() { return secret; }\n",
        "shared/b.js": 'import { a } from "./a.js";\nimport DATA from "./d.json" with { type: "json" };\n'
                       "const secret = 2;\nexport const b = () => a() + secret + DATA.x;\n",
        "shared/d.json": '{"x": 10}',
        "w.css": '@import "./shared/c.css";\n.w { color: red; }\n',
        "shared/c.css": '@import url("./d.css");\n.c { color: blue; }\n',
        "shared/d.css": ".d { margin: 0; }\n",
    })
    esm = _esm.join_esm("w.js")
    assert esm.count("const $shared$a = ") == 1 and esm.index("const $shared$a") < esm.index("const $shared$b")
    assert "const { a: first } = $shared$a;" in esm and 'const DATA = {"x": 10};' in esm
    assert "return { a };" in esm and "return { b };" in esm       # private names (secret) stay inside
    css = _esm.join_css("w.css")
    assert css.index(".d {") < css.index(".c {") < css.index(".w {") and "@import" not in css


@pytest.mark.parametrize("files, message", [
    ({"w.js": 'import { x } from "lodash";\n'}, r"w.js, line 1: cannot join an import of 'lodash': only relative paths"),
    ({"w.js": 'import { x } from "./shared/nope.js";\n'}, r"'./shared/nope.js' is missing"),
    ({"w.js": 'import { x } from "../outside.js";\n'}, r"is outside"),
    ({"w.js": 'import x from "./shared/a.js";\n', "shared/a.js": "export const x = 1;\n"}, r"import named exports"),
    ({"w.js": 'import * as all from "./shared/a.js";\n', "shared/a.js": "export const x = 1;\n"}, r"import named exports"),
    ({"w.js": 'import {\n  x } from "./shared/a.js";\n'}, r"line 1: cannot join 'import \{'"),
    ({"w.js": 'import { y } from "./shared/a.js";\n', "shared/a.js": "export const x = 1;\n"},
     r"w.js, line 1: shared/a.js does not export y \(it exports x\)"),
    ({"w.js": 'import { x } from "./shared/a.js";\n', "shared/a.js": 'import { y } from "./b.js";\nexport const x = 1;\n',
      "shared/b.js": 'import { x } from "./a.js";\nexport const y = 2;\n'}, r"import cycle: shared/a.js -> shared/b.js -> shared/a.js"),
    ({"w.js": 'import { x } from "./shared/a.js";\n', "shared/a.js": "export let x = 1;\n"}, r"shared/a.js, line 1: a shared module exports"),
    ({"w.js": 'import { x } from "./shared/a.js";\n', "shared/a.js": "export default 1;\n"}, r"a shared module exports"),
    ({"w.js": 'import { x } from "./shared/a.css";\n', "shared/a.css": ""}, r"must name a .js file"),
    ({"w.js": 'export { x } from "./shared/a.js";\n', "shared/a.js": "export const x = 1;\n"}, r"cannot join 'export \{ x \} from"),
])
def test_join_refuses_what_it_cannot_inline(widgets, files, message):
    write(widgets, files)
    with pytest.raises(JoinError, match=message):
        _esm.join_esm("w.js")


@pytest.mark.parametrize("files, message", [
    ({"w.css": "@import 'x.css';\n"}, r'w.css, line 1: write `@import "./shared/file.css";`'),
    ({"w.css": '@import "./shared/none.css";\n'}, r"is missing"),
    ({"w.css": '@import "./a.css";\n', "a.css": '@import "./w.css";\n'}, r"@import cycle: w.css -> a.css -> w.css"),
])
def test_join_css_refuses_what_it_cannot_inline(widgets, files, message):
    write(widgets, files)
    with pytest.raises(JoinError, match=message):
        _esm.join_css("w.css")


# ---- One palette, one fmt, in Python and in JS --------------------------------------------

@requires_node
def test_python_and_js_palettes_are_the_same():
    js = run_module("shared/palette.js", """
        const probe = { style: { setProperty(name, value) { this[name] = value; } } };
        module.paletteProperties(probe);
        const { setProperty, ...properties } = probe.style;
        print({ palette: module.OKABE_ITO, frozen: Object.isFrozen(module.OKABE_ITO), series: module.SERIES_COLOURS,
                names: module.SERIES, query: module.QUERY_COLOUR, ink: module.INK_COLOUR, sixth: module.seriesColour(5),
                themed: module.themed("blue"), properties });
    """)
    assert list(js["palette"].items()) == list(plots.OKABE_ITO.items())    # same names, colours and order
    # The explorers draw with the palette as the theme shows it: theme.css's --ex-<name> (test_theme.py)
    assert js["frozen"] and js["query"] == "var(--ex-vermillion)" and js["ink"] == "var(--ex-ink)"
    assert js["names"] == ["blue", "green", "purple", "sky", "orange"] and set(js["names"]) <= set(plots.OKABE_ITO)
    assert js["series"] == [f"var(--ex-{c})" for c in js["names"]] and js["themed"] == "var(--ex-blue)"
    assert js["sixth"] == js["series"][0]
    assert js["properties"] == {f"--okabe-ito-{name}": colour for name, colour in plots.OKABE_ITO.items()}


def test_no_other_copy_of_the_palette_in_the_explorers_or_plots():
    colours = {c.lower() for c in plots.OKABE_ITO.values() if c != "#000000"}
    for path in [*WIDGETS.rglob("*.js"), *WIDGETS.rglob("*.css"), *WIDGETS.glob("*.py"), Path(plots.__file__)]:
        found = {c for c in colours if c in path.read_text().lower()}
        assert not found, f"{path.name} writes the palette's {found} again: use shared/palette.json"


NUMBERS = [0, 1e-9, -1e-9, 0.004999, 0.005, -0.005, -0.004, 0.125, 0.285, 0.375, 1.005, 2.675, -2.675, 0.995,
           -0.125, 1 / 3, 2 / 3, 123.456, -7.0, 1e6 + 0.125]


@requires_node
def test_fmt_is_the_same_in_python_and_js():
    js = run_module("shared/format.js", "print(data.map(module.fmt));", NUMBERS)
    assert js == [fmt(x) for x in NUMBERS]
    assert fmt(-0.004) == "0.00" and fmt(0.125) == "0.13" and fmt(0.285) == "0.28"   # ties on the binary value


def test_vector_and_the_error():
    assert vector("query", (1, 2.5)) == [1.0, 2.5]
    with pytest.raises(ExplorerValueError, match=r"^q must be a 2-vector \[x, y\] of finite floats; got \[True, 1\]"):
        vector("q", [True, 1])
    assert issubclass(ExplorerValueError, ValueError)


# ---- The plane and the card --------------------------------------------------------------

@requires_node
def test_plane_helpers():
    js = run_module("shared/plane.js", """
        const { extentFor, gridStep, snap, clamp, keyStep } = module;
        const key = (k, shiftKey = false) => keyStep({ key: k, shiftKey });
        print({ extents: [0, 1, 1.8, 2.5, 40, 1e300].map(extentFor), steps: [2, 3, 10, 47, 1e6].map(gridStep),
                snaps: [0.3512849, -0.024, 0.026, 1.975].map(snap), clamped: [clamp(5, -2, 2), clamp(-5, -2, 2), clamp(1, -2, 2)],
                keys: [key("ArrowLeft"), key("ArrowUp", true), key("ArrowDown"), key("ArrowRight", true), key("a"), key("toString")] });
    """)
    assert js["extents"] == [2, 2, 3, 3, 46, 1150000000000]
    assert js["steps"] == [0.5, 1, 5, 20, 500000]
    assert js["snaps"] == [0.35, 0, 0.05, 2]
    assert js["clamped"] == [2, -2, 1]
    assert js["keys"] == [[-0.25, 0], [0, 0.05], [0, -0.25], [0.05, 0], None, None]


@requires_node
def test_plane_maps_points_both_ways_and_labels_stay_in_the_drawing():
    js = run_module("shared/plane.js", """
        const document = installDom();
        const box = document.createElement("div");
        const plane = new module.Plane(box, { side: 360, pad: 30 });
        plane.setExtent(2);
        document.layout = () => ({ left: 10, top: 20, width: 210, height: 210 });   // shown at half size
        const pixels = [[0, 0], [2, 2], [-1, 0.5]].map((p) => plane.toPixels(p));
        const back = pixels.map(([x, y]) => plane.fromPointer({ clientX: 10 + x / 2, clientY: 20 + y / 2 }));
        const arrows = [[2, 2], [2, 1.9], [-2, -2]].map((v, i) => {
          const a = module.makeArrow(plane.keys, plane.labels, "k", "var(--ex-blue)");
          const tip = plane.toPixels(v);
          return { label: a.label, text: `label ${i}`, tip, direction: module.placeArrow(a, plane.toPixels([0, 0]), tip) };
        });
        plane.placeLabels(arrows, plane.toPixels([0, 0]));
        const handle = document.createElement("div");
        plane.moveHandle(handle, [1, -1]);
        print({ view: plane.view, pixels, back, gridLines: plane.grid.querySelectorAll("line").length,
                labels: arrows.map((a) => [Number(a.label.getAttribute("x")), Number(a.label.getAttribute("y")), a.label.textContent,
                                           a.label.getAttribute("class")]),
                paints: plane.keys.children.map((g) => [g.getAttribute("class"), g.style["--ex-arrow"],
                                                        g.children.map((c) => c.getAttribute("fill") ?? c.getAttribute("stroke"))]),
                grid: [...new Set(plane.grid.children.map((c) => `${c.tagName}.${c.getAttribute("class")}`))].sort(),
                handle: [handle.style.left, handle.style.top], layers: plane.drawing.children.length });
    """)
    assert js["view"] == 420 and js["layers"] == 4
    assert js["pixels"] == [[210, 210], [390, 30], [120, 165]]
    assert js["back"] == [[0, 0], [2, 2], [-1, 0.5]]
    assert js["gridLines"] == 2 * 9                                 # -2..2 by 0.5, both ways
    for x, y, text, cls in js["labels"]:
        assert 0 <= x <= 420 and 0 <= y <= 420 and text.startswith("label") and cls == "ex-label"
    # Colours come from the theme's CSS: an arrow sets --ex-arrow, its parts have no colour of their own
    assert js["paints"] == [["ex-arrow k", "var(--ex-blue)", [None, None, None]]] * 3
    assert js["grid"] == ["line.ex-axis", "line.ex-gridline", "rect.ex-axis", "text.ex-tick"]
    (x0, y0, *_), (x1, y1, *_) = js["labels"][:2]
    assert abs(x0 - x1) > 10 or abs(y0 - y1) > 10                  # two tips close together: labels apart
    assert js["handle"] == ["71.42857142857143%", "71.42857142857143%"]


@requires_node
def test_card_and_readout():
    js = run_module("shared/dom.js", """
        installDom();
        const el = document.createElement("div");
        const root = module.card(el, "x-explorer");
        const readout = module.readoutLine(root, "x-readout");
        module.say(readout, "one");
        const said = [readout.textContent];
        module.mute(readout);
        const muted = readout.getAttribute("aria-live");
        module.announce(readout);
        const model = fakeModel({ a: 1 }), el2 = document.createElement("div");
        let updates = 0, listened = null;
        const { render } = module.defineView({ traits: ["a"], build: (e) => ({ e }), update: () => updates++,
                                               listen: (view, m) => { listened = [view.e === el2, m === model]; } });
        const stop = render({ model, el: el2 });
        model.set("a", 2);
        stop();
        model.set("a", 3);
        print({ cls: root.className, vermillion: root.style["--okabe-ito-vermillion"], live: readout.getAttribute("aria-live"),
                atomic: readout.getAttribute("aria-atomic"), cls2: readout.className, said, muted, text: readout.textContent,
                updates, listened, listening: model.listening(), focusable: module.FOCUSABLE,
                modifier: [event("keydown", { ctrlKey: true }), event("keydown", { shiftKey: true })].map(module.withModifier) });
    """)
    assert js["cls"] == "ex-card x-explorer" and js["vermillion"] == plots.OKABE_ITO["vermillion"]
    assert (js["live"], js["atomic"], js["cls2"]) == ("polite", "true", "ex-readout x-readout")
    assert js["said"] == ["one"] and js["muted"] == "off" and js["text"] == "one"
    assert js["listened"] == [True, True]                             # build(el), then listen(view, model)
    assert js["updates"] == 2 and js["listening"] == 0                # once at start, once on change; then stopped
    assert js["focusable"] == {"data-lm-suppress-shortcuts": ""}
    assert js["modifier"] == [True, False]


@requires_node
@pytest.mark.parametrize("name", SHARED_JS)
def test_shared_modules_import_under_node_without_a_dom(name):
    """Importing a module touches no DOM (Node has no document here), and it exports only functions and constants."""
    exports = run_module(f"shared/{name}", "print(Object.entries(module).map(([k, v]) => [k, typeof v]));")
    assert exports and all(kind in ("function", "object", "string") for _, kind in exports)
