"""The query/key explorer without a kernel or a browser: set traits, read the results; the ES
module's maths (run under node) equals the Python reference; its view, rendered in a fake DOM,
shows the same numbers, answers the keyboard and the pointer, and marks every focusable control
for JupyterLab; the joined module (what anywidget loads) behaves as its source."""

from __future__ import annotations

import math

import pytest
import torch
from support.node import requires_node, run_module
from support.explorers import assert_refused_and_unchanged

from attn_course.attention import dot_product_attention
from attn_course.widgets import ExplorerValueError, QueryKeyExplorer
from attn_course.widgets._base import fmt

CASES = [  # (query, key_vectors, scale)
    ([0.5, 0.5], [[1.0, 0.0], [0.0, 1.0]], 1.0),
    ([1.0, 0.5], [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], 1.0),
    ([-0.35, 1.2], [[0.3, -0.7], [1.5, 1.5], [-2.0, 0.25], [0.0, 0.0]], 0.25),
    ([2.0, -1.0], [[1.0, 1.0], [-1.0, 2.0], [0.5, -0.5]], 4.0),
    ([3.0, 4.0], [[10.0, 10.0], [-10.0, 5.0]], 50.0),   # scores ~3500: a naive softmax overflows
    ([0.0, 0.0], [[1.0, 2.0], [3.0, -4.0]], 1.0),        # no preference: uniform weights
]


def reference(query, key_vectors, scale):
    """weights (S,) and output (2,) from dot_product_attention, values = keys, in float64."""
    q = torch.tensor([query], dtype=torch.float64)                     # (1, 2)
    k = torch.tensor(key_vectors, dtype=torch.float64)                 # (S, 2)
    output, weights = dot_product_attention(q, k, k, scale=scale)      # (1, 2), (1, S)
    return weights[0].tolist(), output[0].tolist()


def assert_results(explorer, query, key_vectors, scale, tol=1e-6):
    weights, output = reference(query, key_vectors, scale)
    assert explorer.weights == pytest.approx(weights, abs=tol)
    assert explorer.output == pytest.approx(output, abs=tol)
    assert math.fsum(explorer.weights) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("query, key_vectors, scale", CASES)
def test_constructor_traits_in_results_out(query, key_vectors, scale):
    explorer = QueryKeyExplorer(key_vectors=key_vectors, query=query, scale=scale)
    assert explorer.labels == ["a", "b", "c", "d"][: len(key_vectors)]
    assert_results(explorer, query, key_vectors, scale)


def test_hand_computed_case():
    explorer = QueryKeyExplorer(key_vectors=[[1, 0], [0, 1]], labels=["a", "b"], query=[1, 0], scale=1.0)
    e = math.e
    assert explorer.weights == pytest.approx([e / (e + 1), 1 / (e + 1)], abs=1e-12)
    assert explorer.output == pytest.approx([e / (e + 1), 1 / (e + 1)], abs=1e-12)


def test_defaults_are_consistent():
    explorer = QueryKeyExplorer()
    assert len(explorer.key_vectors) == len(explorer.labels) == len(explorer.weights) >= 2
    assert explorer.selected == "query"
    assert_results(explorer, explorer.query, explorer.key_vectors, explorer.scale)


def test_results_follow_changes_made_in_python():
    explorer = QueryKeyExplorer(key_vectors=[[1, 0], [0, 1]], labels=["a", "b"], query=[0.5, 0.5], scale=1.0)
    explorer.query = [1, 0]
    assert_results(explorer, [1, 0], [[1, 0], [0, 1]], 1.0)
    explorer.key_vectors = [[2, 0], [-1, 1]]
    assert_results(explorer, [1, 0], [[2, 0], [-1, 1]], 1.0)
    explorer.scale = 2.5
    assert_results(explorer, [1, 0], [[2, 0], [-1, 1]], 2.5)
    explorer.set_keys([[1, 1], [0, -1], [-1, 0]], ["x", "y", "z"])
    assert explorer.labels == ["x", "y", "z"]
    assert_results(explorer, [1, 0], [[1, 1], [0, -1], [-1, 0]], 2.5)


def test_changes_from_the_view_are_recomputed_in_python():
    """What the front end sends (set_state) is checked and recomputed with the reference."""
    explorer = QueryKeyExplorer()
    explorer.set_state({"query": [0.25, -0.5], "weights": [1.0, 0.0, 0.0], "output": [9.0, 9.0], "selected": 1})
    assert explorer.selected == 1
    assert_results(explorer, [0.25, -0.5], explorer.key_vectors, explorer.scale, tol=1e-12)


def test_selected_resets_when_its_key_goes():
    explorer = QueryKeyExplorer(key_vectors=[[1, 0], [0, 1], [1, 1]], selected=2)
    explorer.set_keys([[1, 0]])
    assert explorer.selected == "query"
    assert explorer.labels == ["a"]


@pytest.mark.parametrize(
    "trait, value, message",
    [
        ("query", [1.0, 2.0, 3.0], "query must be a 2-vector"),
        ("query", [float("nan"), 0.0], "query must be a 2-vector [x, y] of finite floats; got [nan, 0.0]"),
        ("key_vectors", [], "key_vectors must hold at least one key"),
        ("key_vectors", [[1.0, 0.0], [0.0, float("inf")]], "key_vectors[1] must be a 2-vector"),
        ("key_vectors", [[1.0, 0.0, 0.0], [0.0, 1.0]], "key_vectors[0] must be a 2-vector"),
        ("key_vectors", [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], "3 key_vectors but 2 labels"),
        ("labels", ["a"], "labels must hold one label per key: 2 key_vectors but 1 labels"),
        ("scale", 0.0, "scale must be a finite float > 0"),
        ("scale", -1.0, "scale must be a finite float > 0"),
        ("scale", float("nan"), "scale must be a finite float > 0"),
        ("selected", 2, "selected must be 'query' or a key index in 0..1; got 2"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(trait, value, message):
    explorer = QueryKeyExplorer(key_vectors=[[1, 0], [0, 1]], labels=["a", "b"], query=[0.5, 0.25], scale=1.5)
    assert_refused_and_unchanged(explorer, trait, value, message)


def test_refused_set_keys_and_constructor():
    explorer = QueryKeyExplorer(key_vectors=[[1, 0], [0, 1]], labels=["a", "b"])
    before = (explorer.key_vectors, explorer.labels, explorer.weights)
    with pytest.raises(ExplorerValueError, match="3 key_vectors but 2 labels"):
        explorer.set_keys([[1, 0], [0, 1], [1, 1]], ["x", "y"])
    assert (explorer.key_vectors, explorer.labels, explorer.weights) == before   # rolled back
    with pytest.raises(ExplorerValueError, match="1 key_vectors but 2 labels"):
        QueryKeyExplorer(key_vectors=[[1, 0]], labels=["a", "b"])
    with pytest.raises(ExplorerValueError, match=r"scale must be a finite float > 0 .*; got -2.0"):
        QueryKeyExplorer(scale=-2.0)


def test_results_are_read_only():
    explorer = QueryKeyExplorer()
    with pytest.raises(Exception, match="read-only"):
        explorer.weights = [1.0, 0.0, 0.0]
    assert "keys" not in explorer.trait_names(sync=True)   # never shadow Widget.keys


# ---- The ES module under node ----------------------------------------------------------

@requires_node
def test_js_maths_equals_python():
    answer = run_module("query_key.js", """
        print({ results: data.map(([q, k, s]) => module.attend(q, k, s)), render: typeof view.render });
    """, CASES)
    assert answer["render"] == "function"                        # importing it touched no DOM
    for (query, key_vectors, scale), js in zip(CASES, answer["results"], strict=True):
        weights, output = reference(query, key_vectors, scale)
        assert js["weights"] == pytest.approx(weights, abs=1e-9, rel=0)
        assert js["output"] == pytest.approx(output, abs=1e-9, rel=0)
        explorer = QueryKeyExplorer(key_vectors=key_vectors, query=query, scale=scale)
        assert js["weights"] == pytest.approx(explorer.weights, abs=1e-9, rel=0)


def traits(explorer) -> dict:
    """What the view receives: the synced traits, without anywidget's own."""
    return {name: getattr(explorer, name) for name in ("query", "key_vectors", "labels", "scale", "selected",
                                                        "weights", "output")}


# Shared by the tests below: render, then read what the view shows. `view` is the module's default export.
READ = """
    const read = (el) => ({
      readout: el.querySelector(".qk-readout").textContent,
      live: el.querySelector(".qk-readout").getAttribute("aria-live"),
      bars: all(el, ".qk-bar").map((b) => [b.querySelector(".qk-bar-label").textContent, Number(b.dataset.weight),
                                                        b.querySelector(".qk-bar-value").textContent]),
      handles: all(el, ".qk-handle").map((h) => [h.dataset.name, h.getAttribute("aria-label"),
                                                             h.classList.contains("qk-selected")]),
      scale: [el.querySelector("input").value, el.querySelector(".qk-scale-value").textContent],
      plane: el.querySelector(".qk-plane").getAttribute("aria-label"),
      focused: document.activeElement.dataset?.name ?? null,
    });
    const calls = (model) => model.calls.splice(0);
"""


@requires_node
def test_every_focusable_control_is_marked_for_lab_and_there_is_one_range_input():
    explorer = QueryKeyExplorer(key_vectors=[[1, 0], [0, 1], [-1, 0.5]], labels=["the", "cats", "street"])
    js = run_module("query_key.js", """
        const { el } = mount(view, data);
        print(focusable(el).map((e) => ({ tag: e.tagName, type: e.getAttribute("type"), cls: e.className,
            tabindex: e.getAttribute("tabindex"), marked: e.getAttribute("data-lm-suppress-shortcuts") })));
    """, traits(explorer))
    assert all(e["marked"] == "" for e in js), js             # on the element itself, as JupyterLab looks for it
    assert [e["type"] for e in js if e["tag"] == "INPUT"] == ["range"]
    handles = [e for e in js if e["tabindex"] == "0"]
    buttons = [e for e in js if e["tag"] == "BUTTON"]
    assert [e["cls"] for e in buttons] == ["ex-save-button ex-ring"] * 2 and js[-2:] == buttons   # Save view, last
    assert len(handles) == 1 + 3 and len(js) == len(handles) + 1 + 2   # the handles (q first), the range input, Save
    assert "qk-query" in handles[0]["cls"]


def expected_readout(explorer) -> str:
    pairs = ", ".join(f"{n} {fmt(w)}" for n, w in zip(explorer.labels, explorer.weights))
    q, out = explorer.query, explorer.output
    return f"q = ({fmt(q[0])}, {fmt(q[1])}) · weights: {pairs} · output = ({fmt(out[0])}, {fmt(out[1])})"


@requires_node
def test_the_view_shows_what_python_computes():
    explorer = QueryKeyExplorer(key_vectors=[[1, 0], [0, 1], [-1, 0.5]], labels=["the", "cats", "street"],
                                query=[0.35, -1.2], scale=2.5, selected=1)
    js = run_module("query_key.js", READ + "const { el } = mount(view, data); print(read(el));", traits(explorer))
    assert [label for label, _, _ in js["bars"]] == explorer.labels
    assert [w for _, w, _ in js["bars"]] == pytest.approx(explorer.weights, abs=1e-12, rel=0)
    assert [text for _, _, text in js["bars"]] == [fmt(w) for w in explorer.weights]
    assert js["readout"] == expected_readout(explorer) and js["live"] == "polite"
    assert js["handles"][0] == ["query", "query q = (0.35, -1.20); arrow keys move it", False]
    assert js["handles"][2] == ["1", "key cats = (0.00, 1.00); arrow keys move it", True]   # selected
    assert js["scale"] == ["2.5", "2.50"]
    assert js["plane"].startswith("Query and keys plane, scale 2.50. Query q at (0.35, -1.20). Keys: the at (1.00, 0.00) weight")


@requires_node
def test_keyboard_moves_the_selected_arrow_and_sends_it_with_the_results():
    explorer = QueryKeyExplorer(key_vectors=[[1, 0], [0, 1]], labels=["a", "b"], query=[0.5, 0.25])
    js = run_module("query_key.js", READ + """
        const { el, model } = mount(view, data);
        const q = el.querySelector(".qk-query");
        const steps = [];
        const press = (target, key, init = {}) => {
          const e = event("keydown", { key, ...init });
          target.dispatchEvent(e);
          steps.push({ key, prevented: e.defaultPrevented, calls: calls(model), view: read(el) });
        };
        q.focus(); calls(model);
        press(q, "ArrowRight");
        press(q, "ArrowUp", { shiftKey: true });
        press(q, "2");                                   // picks key b: focus moves, selected follows
        press(document.activeElement, "ArrowLeft");
        press(document.activeElement, "ArrowLeft", { ctrlKey: true });   // Lab's or the browser's: left alone
        press(document.activeElement, "x");
        press(document.activeElement, "0");
        print({ steps, keyboardRing: document.activeElement.classList.contains("ex-keyboard") });
    """, traits(explorer))
    s = js["steps"]
    assert s[0]["calls"][0] == ["set", "query", [0.75, 0.25]] and s[0]["calls"][-1] == ["save"] and s[0]["prevented"]
    weights, output = reference([0.75, 0.25], [[1, 0], [0, 1]], 1.0)
    sent = {c[1]: c[2] for c in s[0]["calls"][1:3]}
    assert sent["weights"] == pytest.approx(weights, abs=1e-12) and sent["output"] == pytest.approx(output, abs=1e-12)
    assert s[1]["calls"][0] == ["set", "query", [0.75, 0.3]]           # Shift: a fine step
    assert s[2]["view"]["focused"] == "1" and ["set", "selected", 1] in s[2]["calls"]
    assert s[3]["calls"][0] == ["set", "key_vectors", [[1, 0], [-0.25, 1]]]
    assert s[3]["view"]["handles"][2][1] == "key b = (-0.25, 1.00); arrow keys move it"
    assert s[3]["view"]["readout"].startswith("q = (0.75, 0.30) · weights: a ")
    assert s[4]["calls"] == [] and not s[4]["prevented"]
    assert s[5]["calls"] == [] and not s[5]["prevented"]
    assert s[6]["view"]["focused"] == "query" and ["set", "selected", "query"] in s[6]["calls"]
    assert js["keyboardRing"]                                          # the focus ring shows for the keyboard


@requires_node
def test_pointer_drags_a_tip_and_the_readout_speaks_once_at_the_end():
    explorer = QueryKeyExplorer(key_vectors=[[1, 0], [0, 1]], labels=["a", "b"], query=[0.5, 0.25])
    js = run_module("query_key.js", READ + """
        const { el, model, document } = mount(view, data);
        document.layout = () => ({ left: 0, top: 0, width: 420, height: 420 });   // the drawing at full size
        const plane = el.querySelector(".qk-plane");
        const down = event("pointerdown", { clientX: 300, clientY: 120, pointerId: 7 });
        plane.dispatchEvent(down);                                  // on the plane: q jumps there
        const during = { calls: calls(model), view: read(el), prevented: down.defaultPrevented, captured: plane.capturedPointer };
        plane.dispatchEvent(event("pointermove", { clientX: 330, clientY: 120, pointerId: 8 }));   // another pointer
        const other = calls(model);
        plane.dispatchEvent(event("pointermove", { clientX: 330, clientY: 120, pointerId: 7 }));
        const moved = calls(model);
        plane.dispatchEvent(event("pointerup", { pointerId: 7 }));
        const after = read(el);
        const key = el.querySelector('.qk-key[data-name="0"]');    // grab key a's handle: it keeps its offset
        key.dispatchEvent(event("pointerdown", { clientX: 250, clientY: 210, pointerId: 9 }));
        plane.dispatchEvent(event("pointermove", { clientX: 250, clientY: 170, pointerId: 9 }));
        const keyMove = calls(model);
        print({ during, other, moved, after, keyMove });
    """, traits(explorer))
    extent = 2                                                      # the plane shows [-2, 2]^2: 360 px for 4 units
    to_plane = lambda px, py: [round(((px - 30) / 360 * 2 * extent - extent) * 20) / 20,   # noqa: E731
                               round((extent - (py - 30) / 360 * 2 * extent) * 20) / 20]
    assert js["during"]["calls"][0] == ["set", "query", to_plane(300, 120)]   # q was selected already
    assert js["during"]["prevented"] and js["during"]["captured"] == 7
    assert js["during"]["view"]["live"] == "off"                    # quiet during the drag
    assert js["other"] == []
    assert js["moved"][0] == ["set", "query", to_plane(330, 120)]
    assert js["after"]["live"] == "polite"                          # and says the final state once
    assert ["set", "selected", 0] in js["keyMove"]
    assert ["set", "key_vectors", [[1, 0.45], [0, 1]]] in js["keyMove"]   # moved up by 40 px = 0.44 -> snapped


@requires_node
def test_changes_from_python_redraw_and_cleanup_stops_listening():
    explorer = QueryKeyExplorer(key_vectors=[[1, 0], [0, 1]], labels=["a", "b"])
    bigger = QueryKeyExplorer(key_vectors=[[1, 1], [0, 0], [-2, 1], [0.5, -3]], labels=list("wxyz"), query=[3.7, -2.2])
    js = run_module("query_key.js", READ + """
        const { el, model, cleanup } = mount(view, data.before);
        model.receive(data.after);
        const after = read(el);
        cleanup();
        print({ after, arrows: el.querySelectorAll(".qk-key-arrow").length, listening: model.listening(),
                ticks: all(el, ".ex-grid text").map((t) => Number(t.textContent)) });
    """, {"before": traits(explorer), "after": traits(bigger)})
    assert js["after"]["readout"] == expected_readout(bigger)
    assert [label for label, _, _ in js["after"]["bars"]] == list("wxyz") and js["arrows"] == 4
    assert len(js["after"]["handles"]) == 5 and js["listening"] == 0
    assert max(js["ticks"]) == 4                                   # the plane grew to fit q = (3.7, -2.2): [-5, 5]


DRIVE = READ + """
    const { el, model, document } = mount(view, data);
    document.layout = () => ({ left: 0, top: 0, width: 420, height: 420 });
    const q = el.querySelector(".qk-query"), log = [];
    const record = () => log.push({ view: read(el), calls: calls(model), dom: snapshot(el) });
    q.focus(); q.dispatchEvent(event("keydown", { key: "ArrowRight" })); record();
    q.dispatchEvent(event("keydown", { key: "3" })); document.activeElement.dispatchEvent(event("keydown", { key: "ArrowDown" })); record();
    const slider = el.querySelector("input"); slider.value = "2.25"; slider.dispatchEvent(event("input")); record();
    el.querySelector(".qk-plane").dispatchEvent(event("pointerdown", { clientX: 100, clientY: 300, pointerId: 1 })); record();
    print({ exports: Object.keys(module).sort(), attend: module.attend([1, 2], [[3, 4], [-1, 0.5]], 0.5), log });
"""


@requires_node
def test_the_joined_module_is_self_contained_and_behaves_as_its_source():
    """anywidget receives _esm, the module joined with shared/: alone in a folder it imports, exports
    what the tests use and renders and answers exactly as the source files do."""
    explorer = QueryKeyExplorer(key_vectors=[[1, 0], [0, 1], [-1, 0.5]])
    source = run_module("query_key.js", DRIVE, traits(explorer))
    joined = run_module("query_key.js", DRIVE, traits(explorer), source=explorer._esm)
    assert joined["exports"] == ["attend", "default", "softmax"]
    assert joined == source
