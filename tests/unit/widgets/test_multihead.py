"""The multi-head explorer without a kernel or a browser: its weights equal a real
MultiHeadAttention layer's and a hand computation for every mask; the ES module's
maths (run under node) equals the Python reference; bad values are refused; its view,
rendered in a fake DOM, shows the same numbers, answers the keyboard, the pointer and
the chips, and marks every focusable control for JupyterLab; the joined module
(what anywidget loads) behaves as its source."""

from __future__ import annotations

import math

import pytest
import torch
from support.node import requires_node, run_module
from support.explorers import assert_refused_and_unchanged

from attn_course.attention import causal_mask, masked_softmax, padding_mask
from attn_course.layers import MultiHeadAttention
from attn_course.widgets import ExplorerValueError
from attn_course.widgets.multihead import HEAD_W_KEY, HEAD_W_QUERY, SENTENCE, SENTENCE_EMBEDDINGS, MultiHeadExplorer
INPUTS = ["tokens", "embeddings", "w_query", "w_key", "b_query", "b_key", "head", "query_index",
          "query_offset", "mask_mode", "padding_length"]
MASKS = [("none", 6), ("padding", 4), ("padding", 1), ("causal", 6)]   # (mask_mode, padding_length)


def hand_weights(x, wq, bq, wk, bk, i, offset, allowed):
    """One head's weights of query i, written out: projections, q . k / sqrt(2), masked softmax."""
    project = lambda row, w, b: [sum(row[d] * w[d][c] for d in range(len(row))) + b[c] for c in range(2)]  # noqa: E731
    q = [v + o for v, o in zip(project(x[i], wq, bq), offset)]
    scores = [sum(a * b for a, b in zip(q, project(row, wk, bk))) / math.sqrt(2) for row in x]
    exps = [math.exp(s) if ok else 0.0 for s, ok in zip(scores, allowed)]
    return [e / sum(exps) if any(allowed) else 0.0 for e in exps]


def allowed_keys(mode, S, i, length):
    return [j <= i if mode == "causal" else j < length if mode == "padding" else True for j in range(S)]


def layer_mask(mode, S, length):
    """The same mask for MultiHeadAttention (True = may attend): (L, S) causal or (B, 1, S) padding."""
    if mode == "causal":
        return causal_mask(S)                                # (L, S)
    if mode == "padding":
        return padding_mask([length], S)[:, None, :]         # (B=1, 1, S)
    return None


def assert_close(actual, expected, tol):
    """Nested lists or tensors equal to ``tol`` (absolute), in float64."""
    as64 = lambda v: torch.as_tensor(v, dtype=torch.float64).detach()  # noqa: E731  (lists: never via float32)
    torch.testing.assert_close(as64(actual), as64(expected), atol=tol, rtol=0)


def random_layer(D, H, seed, bias=True):
    torch.manual_seed(seed)
    return MultiHeadAttention(D, H, bias=bias), torch.randn(7, D)


# ---- The reference: a real layer, and the hand computation --------------------------

@pytest.mark.parametrize("D, H, bias", [(4, 2, True), (8, 4, True), (4, 2, False)])
@pytest.mark.parametrize("mode, length", MASKS)
def test_from_layer_equals_the_layer_for_every_query_and_mask(D, H, bias, mode, length):
    layer, x = random_layer(D, H, seed=D + H, bias=bias)
    S = len(x)
    with torch.no_grad():
        _, expected = layer(x[None], x[None], x[None], layer_mask(mode, S, length), average_weights=False)  # (1, H, S, S)
        _, averaged = layer(x[None], x[None], x[None], layer_mask(mode, S, length))                          # (1, S, S)
    explorer = MultiHeadExplorer.from_layer(layer, list("abcdefg"), x, mask_mode=mode, padding_length=length)
    for i in range(S):
        explorer.query_index = i
        assert_close(explorer.weights, expected[0, :, i], 1e-6)      # (H, S)
        assert_close(explorer.average, averaged[0, i], 1e-6)         # (S,)


def test_from_layer_in_float64_and_its_biases():
    layer, x = random_layer(4, 2, seed=3)
    layer = layer.double()
    explorer = MultiHeadExplorer.from_layer(layer, list("abcdefg"), x.double(), query_index=5, mask_mode="causal")
    with torch.no_grad():
        _, expected = layer(*[x[None].double()] * 3, causal_mask(7), average_weights=False)
    assert_close(explorer.weights, expected[0, :, 5], 1e-12)
    assert explorer.b_query == layer.q_proj.bias.detach().view(2, 2).tolist()
    assert explorer.w_key[1] == layer.k_proj.weight.detach()[2:4].T.tolist()     # (D, Dh): head 2's rows of W_K, transposed


@pytest.mark.parametrize("mode, length", MASKS)
@pytest.mark.parametrize("head, offset", [(0, [0.0, 0.0]), (1, [0.75, -1.25]), (-1, [0.5, 0.5])])
def test_default_heads_equal_the_hand_computation(mode, length, head, offset):
    explorer = MultiHeadExplorer(mask_mode=mode, padding_length=length, head=head, query_offset=offset)
    zeros = [0.0, 0.0]
    for i in range(len(SENTENCE)):
        explorer.query_index = i
        allowed = allowed_keys(mode, 6, i, length)
        expected = [hand_weights(SENTENCE_EMBEDDINGS, HEAD_W_QUERY[h], zeros, HEAD_W_KEY[h], zeros, i,
                                 offset if h == head else zeros, allowed) for h in range(2)]
        assert_close(explorer.weights, expected, 1e-12)
        assert explorer.average == pytest.approx([(a + b) / 2 for a, b in zip(*expected)], abs=1e-12)
        for row in explorer.weights:
            assert math.fsum(row) == pytest.approx(1.0, abs=1e-12)
            assert all(w == 0.0 for w, ok in zip(row, allowed) if not ok)   # masked: exactly 0


def test_the_heads_of_the_sentence_attend_differently():
    """What chapter 5 says: for 'walk', head 1 looks at who moves (cats), head 2 at where (street)."""
    explorer = MultiHeadExplorer()
    assert explorer.tokens == SENTENCE and explorer.query_index == SENTENCE.index("walk")
    head1, head2 = (dict(zip(SENTENCE, row)) for row in explorer.weights)
    assert max(head1, key=head1.get) == "cats" and max(head2, key=head2.get) == "street"
    assert head1["cats"] > 0.5 and head2["street"] > 0.4 and head2["cats"] < 0.05
    explorer.mask_mode = "causal"        # street comes after walk: the "where" head has no place to look at
    assert explorer.weights[1][5] == 0.0 and max(explorer.weights[1]) < 0.6


def test_causal_first_row_and_padding():
    explorer = MultiHeadExplorer(query_index=0, mask_mode="causal")
    assert explorer.weights == [[1.0, 0, 0, 0, 0, 0]] * 2                 # the first word sees only itself
    explorer.set_trait("query_offset", [3.0, -2.0])
    assert explorer.weights[0] == [1.0, 0, 0, 0, 0, 0]
    explorer.mask_mode, explorer.padding_length, explorer.query_index = "padding", 2, 5
    assert all(w[2:] == [0.0] * 4 and math.fsum(w) == pytest.approx(1.0) for w in explorer.weights)
    assert "the masked, street masked" in explorer.describe()


def test_a_fully_masked_row_gets_zero_weights():
    """Never reached by the three masks (padding_length >= 1, causal keeps j = i), but the maths holds."""
    scores = torch.tensor([[0.3, -1.0, 2.0]], dtype=torch.float64)
    assert masked_softmax(scores, torch.zeros(1, 3, dtype=torch.bool)).tolist() == [[0.0, 0.0, 0.0]]
    assert hand_weights([[1.0], [0.0], [2.0]], [[1.0, 0.0]], [0.0, 0.0], [[1.0, 1.0]], [0.0, 0.0], 0,
                        [0.0, 0.0], [False] * 3) == [0.0, 0.0, 0.0]


def test_the_move_applies_to_the_selected_head_only():
    explorer = MultiHeadExplorer(head=1)
    before = explorer.weights
    explorer.query_offset = [0.0, 1.0]
    assert explorer.weights[0] == before[0] and explorer.weights[1] != before[1]
    explorer.head = -1                                                   # the average: no head is moved
    assert explorer.weights == before
    assert explorer.describe().startswith("average of 2 heads, query 'walk', mask none: the 0.05, cats 0.33")


def test_describe():
    explorer = MultiHeadExplorer(head=1, mask_mode="causal", query_offset=[0.25, -0.5])
    assert explorer.describe() == ("head 2, query 'walk' moved by (0.25, -0.50), mask causal: "
                                   "the 0.22, cats 0.13, walk 0.65, on masked, the masked, street masked")


# ---- Traits: changes, the view's changes, refusals ----------------------------------

def test_changes_from_the_view_are_recomputed_in_python():
    explorer = MultiHeadExplorer()
    explorer.set_state({"head": 1, "query_offset": [0.5, 0.25], "weights": [[1.0] * 6] * 2, "average": [9.0] * 6})
    expected = MultiHeadExplorer(head=1, query_offset=[0.5, 0.25])
    assert (explorer.weights, explorer.average) == (expected.weights, expected.average)


def test_set_data_changes_the_sentence_and_the_heads_together():
    explorer = MultiHeadExplorer(query_index=5, padding_length=6, head=1)
    explorer.set_data(tokens=["a", "b", "c"], embeddings=[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]])
    assert (explorer.query_index, explorer.padding_length) == (2, 3)    # clamped to the new S
    w = [[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]]               # one head (H=1)
    explorer.set_data(w_query=w, w_key=w)
    assert (explorer.head, explorer.b_query, len(explorer.weights)) == (0, [[0.0, 0.0]], 1)
    before = {name: getattr(explorer, name) for name in explorer.keys}
    with pytest.raises(ExplorerValueError, match=r"embeddings must be \(S, D\) with S=2 rows"):
        explorer.set_data(tokens=["x", "y"])
    assert {name: getattr(explorer, name) for name in explorer.keys} == before   # rolled back
    with pytest.raises(TypeError, match="set_data"):
        explorer.set_data(head=1)


@pytest.mark.parametrize(
    "trait, value, message",
    [
        ("tokens", [], "tokens must hold at least one token"),
        ("tokens", ["a", "b"], "embeddings must be (S, D) with S=2 rows"),
        ("embeddings", [[1.0, 0.0, 0.0, 0.0]] * 5, "embeddings must be (S, D) with S=6 rows"),
        ("embeddings", [[1.0, 0.0]] * 6, "w_query must be (H, D, Dh) with H=2 as w_query and D=2"),
        ("embeddings", [[1.0, 0.0, 0.0, 0.0]] * 5 + [[1.0, 0.0]], "embeddings must be (S, D)"),
        ("embeddings", [[float("nan"), 0.0, 0.0, 0.0]] * 6, "embeddings must hold finite floats"),
        ("w_query", [], "w_query must be (H, D, Dh) with H >= 1"),
        ("w_query", [[[1.0, 0.0, 0.0]] * 4] * 2, "w_query[0] must be (D, Dh) with Dh=2"),
        ("w_query", [[[1.0, 0.0]] * 4], "w_key must be (H, D, Dh) with H=1 as w_query"),
        ("w_key", [[[1.0, 0.0]] * 3] * 2, "w_key must be (H, D, Dh) with H=2 as w_query and D=4"),
        ("w_key", [[[float("inf"), 0.0]] * 4] * 2, "w_key[0] must hold finite floats"),
        ("b_query", [[0.0, 0.0]], "b_query must be (H, Dh) with H=2"),
        ("b_key", [[0.0, 0.0, 0.0]] * 2, "b_key must be (H, Dh) with Dh=2"),
        ("head", 2, "head must be a head index (-1: the average) in -1..1; got 2"),
        ("head", -2, "head must be a head index (-1: the average) in -1..1; got -2"),
        ("head", True, "head must be a head index"),
        ("query_index", 6, "query_index must be a token index in 0..5; got 6"),
        ("query_index", -1, "query_index must be a token index in 0..5; got -1"),
        ("padding_length", 0, "padding_length must be the number of real tokens in 1..6; got 0"),
        ("padding_length", 7, "padding_length must be the number of real tokens in 1..6; got 7"),
        ("mask_mode", "future", "mask_mode must be one of 'none', 'padding', 'causal'; got 'future'"),
        ("query_offset", [1.0, 2.0, 3.0], "query_offset must be a 2-vector [x, y]"),
        ("query_offset", [float("nan"), 0.0], "query_offset must be a 2-vector [x, y] of finite floats; got [nan, 0.0]"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(trait, value, message):
    explorer = MultiHeadExplorer(head=1, query_offset=[0.25, 0.5], mask_mode="padding", padding_length=5)
    assert_refused_and_unchanged(explorer, trait, value, message)


def test_refused_constructor_and_layers():
    with pytest.raises(ExplorerValueError, match="embeddings must be"):
        MultiHeadExplorer(tokens=["a", "b"])
    with pytest.raises(ExplorerValueError, match="query_index must be a token index in 0..5; got 9"):
        MultiHeadExplorer(query_index=9)
    with pytest.raises(ValueError, match="head_dim = embed_dim / num_heads = 2"):
        MultiHeadExplorer.from_layer(MultiHeadAttention(8, 2), list("ab"), torch.zeros(2, 8))
    with pytest.raises(TypeError, match="MultiHeadAttention"):
        MultiHeadExplorer.from_layer(torch.nn.MultiheadAttention(4, 2), list("ab"), torch.zeros(2, 4))
    with pytest.raises(ExplorerValueError, match="w_query must be .* D=5 as embeddings"):
        MultiHeadExplorer.from_layer(MultiHeadAttention(4, 2), list("ab"), torch.zeros(2, 5))


def test_results_are_read_only():
    explorer = MultiHeadExplorer()
    with pytest.raises(Exception, match="read-only"):
        explorer.average = [1.0] * 6
    assert "keys" not in explorer.trait_names(sync=True)   # never shadow Widget.keys


# ---- The ES module's maths under node --------------------------------------------

def js_cases() -> list[dict]:
    """Explorer states covering every mask, head (and the average), moves, biases, H = 1, 2, 4."""
    cases = []
    for k, (mode, length) in enumerate(MASKS):
        for head in (-1, 0, 1):
            cases.append(MultiHeadExplorer(mask_mode=mode, padding_length=length, head=head, query_index=(k + 2) % 6,
                                           query_offset=[0.35 * head, -1.05 * k]))
    for seed, (D, H) in enumerate([(8, 4), (4, 2), (2, 1)]):
        layer, x = random_layer(D, H, seed=seed)
        for mode, length in MASKS:
            cases.append(MultiHeadExplorer.from_layer(layer, [f"t{j}" for j in range(7)], x * 3, head=H - 1,
                                                      query_index=seed + 1, query_offset=[0.05, 0.8],
                                                      mask_mode=mode, padding_length=min(length, 7)))
    cases.append(MultiHeadExplorer(tokens=["big"] * 2, embeddings=[[40.0, 0, 0, 0], [0, 0, 0, 40.0]],
                                   w_query=[[[1.0, 1.0]] * 4], w_key=[[[1.0, -1.0]] * 4]))   # scores ~1e3: stable softmax
    return [{name: getattr(e, name) for name in INPUTS} | {"weights": e.weights, "average": e.average,
                                                           "describe": e.describe()} for e in cases]


@requires_node
def test_js_maths_equals_python():
    cases = js_cases()
    answer = run_module("multihead.js", """
        const { attendAll, describe, maskedSoftmax, keyMask } = module;
        const results = data.map((t) => { const r = attendAll(t); return { weights: r.weights, average: r.average, describe: describe(t, r) }; });
        const extra = { fullyMasked: maskedSoftmax([0.3, -1, 2], [false, false, false]),
          noPadding: keyMask("padding", 3, 0, 0), causal: keyMask("causal", 4, 1, 4), none: keyMask("none", 2, 0, 1) };
        print({ results, extra, render: typeof view.render });
    """, cases)
    assert answer["render"] == "function"                        # importing it touched no DOM
    for case, js in zip(cases, answer["results"], strict=True):
        assert_close(js["weights"], case["weights"], 1e-9)
        assert_close(js["average"], case["average"], 1e-9)
        assert js["describe"] == case["describe"]
    assert answer["extra"] == {"fullyMasked": [0, 0, 0], "noPadding": [False] * 3,
                               "causal": [True, True, False, False], "none": [True, True]}


# ---- The view, in a fake DOM ----------------------------------------------------------

def traits(explorer) -> dict:
    """What the view receives: the synced traits, without anywidget's own."""
    return {name: getattr(explorer, name) for name in (*INPUTS, "weights", "average")}


READ = """
    const read = (el) => ({
      readout: el.querySelector(".mh-readout").textContent,
      live: el.querySelector(".mh-readout").getAttribute("aria-live"),
      rows: all(el, ".mh-bar-row[data-head]").map((r) => ({ head: r.dataset.head, selected: r.classList.contains("mh-selected"),
        label: r.getAttribute("aria-label"), weights: all(r, ".mh-bar").map((c) => Number(c.dataset.weight)),
        masked: all(r, ".mh-bar").map((c) => c.classList.contains("mh-masked")) })),
      checked: all(el, "input").filter((i) => i.checked).map((i) => [i.className, i.value]),
      plane: el.querySelector(".mh-plane").getAttribute("aria-label"),
      handle: el.querySelector(".mh-query").getAttribute("aria-label"),
      average: el.querySelector(".mh-plane").classList.contains("mh-average"),
      keyArrows: all(el, ".mh-key-arrow").length,
    });
    const calls = (model) => model.calls.splice(0);
"""


@requires_node
def test_every_focusable_control_is_marked_for_lab_and_there_is_one_range_input():
    js = run_module("multihead.js", """
        const { el } = mount(view, data);
        print(focusable(el).map((e) => ({ tag: e.tagName, type: e.getAttribute("type"), cls: e.className,
            tabindex: e.getAttribute("tabindex"), marked: e.getAttribute("data-lm-suppress-shortcuts") })));
    """, traits(MultiHeadExplorer()))
    assert all(e["marked"] == "" for e in js), js              # on the element itself, as JupyterLab looks for it
    radios = [e for e in js if e["type"] == "radio"]
    assert [e["cls"] for e in radios] == ["mh-token"] * 6 + ["mh-head"] * 3 + ["mh-mask"] * 3
    assert [e["type"] for e in js if e["tag"] == "INPUT" and e["type"] != "radio"] == ["range"]
    assert [e for e in js if e["tabindex"] == "0"] == [e for e in js if "mh-query" in e["cls"]]   # the query's handle
    buttons = [e for e in js if e["tag"] == "BUTTON"]
    assert [e["cls"] for e in buttons] == ["ex-save-button ex-ring"] * 2 and js[-2:] == buttons   # Save view, last
    assert len(js) == 12 + 1 + 1 + 2 and not any(e["tag"] in ("SELECT", "TEXTAREA", "A") for e in js)


@requires_node
@pytest.mark.parametrize("head, mode", [(0, "none"), (1, "causal"), (-1, "padding")])
def test_the_view_shows_what_python_computes(head, mode):
    explorer = MultiHeadExplorer(head=head, mask_mode=mode, padding_length=4, query_index=3,
                                 query_offset=[0.25, -0.5] if head >= 0 else [0.0, 0.0])
    js = run_module("multihead.js", READ + "const { el } = mount(view, data); print(read(el));", traits(explorer))
    assert js["readout"] == explorer.describe() and js["live"] == "polite"
    rows = {r["head"]: r for r in js["rows"]}
    for h, row in enumerate(explorer.weights):
        assert_close(rows[str(h)]["weights"], row, 1e-12)
        assert rows[str(h)]["selected"] == (h == head)
    assert_close(rows["average"]["weights"], explorer.average, 1e-12)
    allowed = explorer.key_mask().tolist()
    assert rows["average"]["masked"] == [not ok for ok in allowed]
    assert ["mh-head", str(head)] in js["checked"] and ["mh-mask", mode] in js["checked"] and ["mh-token", "3"] in js["checked"]
    assert js["average"] == (head < 0)
    if head < 0:
        assert js["plane"] == "No plane for the average of the 2 heads; pick a head." and js["keyArrows"] == 0
    else:
        assert js["plane"].startswith(f"Plane of head {head + 1}. Query 'on' at (")
        assert js["handle"].startswith(f"query 'on' of head {head + 1} at (") and js["keyArrows"] >= 1


@requires_node
def test_keyboard_moves_the_query_and_0_puts_it_back():
    explorer = MultiHeadExplorer(head=1)
    moved = MultiHeadExplorer(head=1, query_offset=[0.25, -0.05])
    js = run_module("multihead.js", READ + """
        const { el, model } = mount(view, data);
        const handle = el.querySelector(".mh-query"), steps = [];
        const press = (key, init = {}) => {
          const e = event("keydown", { key, ...init });
          handle.dispatchEvent(e);
          steps.push({ prevented: e.defaultPrevented, calls: calls(model), view: read(el) });
        };
        handle.focus();
        press("ArrowRight"); press("ArrowDown", { shiftKey: true }); press("ArrowUp", { altKey: true }); press("x"); press("0");
        model.receive({ head: -1 });                           // the average: no query to move
        press("ArrowRight");
        print(steps);
    """, traits(explorer))
    assert js[0]["calls"][0] == ["set", "query_offset", [0.25, 0]] and js[0]["calls"][-1] == ["save"] and js[0]["prevented"]
    assert js[1]["calls"][0] == ["set", "query_offset", [0.25, -0.05]]
    sent = {c[1]: c[2] for c in js[1]["calls"] if c[0] == "set"}
    assert_close(sent["weights"], moved.weights, 1e-9)
    assert_close(sent["average"], moved.average, 1e-9)
    assert js[1]["view"]["readout"] == moved.describe()
    assert js[2]["calls"] == [] and not js[2]["prevented"]           # Alt: the browser's or Lab's key
    assert js[3]["calls"] == [] and not js[3]["prevented"]
    assert js[4]["calls"][0] == ["set", "query_offset", [0, 0]] and js[4]["view"]["readout"] == explorer.describe()
    assert js[5]["calls"] == [] and not js[5]["prevented"]


@requires_node
def test_chips_and_slider_set_the_traits():
    explorer = MultiHeadExplorer(query_offset=[0.5, 0.5])
    js = run_module("multihead.js", READ + """
        const { el, model } = mount(view, data);
        const steps = [];
        const pick = (cls, value) => {
          const input = el.querySelector(`.${cls}[value="${value}"]`);
          input.checked = true;
          input.dispatchEvent(event("change"));
          steps.push({ calls: calls(model), view: read(el) });
        };
        pick("mh-head", 1); pick("mh-token", 5); pick("mh-mask", "padding");
        const slider = el.querySelector('input[type="range"]');
        slider.value = "3"; slider.dispatchEvent(event("input"));
        steps.push({ calls: calls(model), view: read(el), valuetext: slider.getAttribute("aria-valuetext") });
        pick("mh-head", -1);
        print(steps);
    """, traits(explorer))
    assert js[0]["calls"][:2] == [["set", "head", 1], ["set", "query_offset", [0, 0]]]   # another head: the move is undone
    assert js[1]["calls"][:2] == [["set", "query_index", 5], ["set", "query_offset", [0, 0]]]
    assert js[2]["calls"][0] == ["set", "mask_mode", "padding"]
    assert js[3]["calls"][0] == ["set", "padding_length", 3] and js[3]["valuetext"] == "3 real tokens, 3 padding"
    expected = MultiHeadExplorer(head=1, query_index=5, mask_mode="padding", padding_length=3)
    assert js[3]["view"]["readout"] == expected.describe()
    assert js[4]["view"]["average"] and js[4]["view"]["readout"] == MultiHeadExplorer(
        head=-1, query_index=5, mask_mode="padding", padding_length=3).describe()


@requires_node
def test_pointer_drags_the_query_and_the_readout_speaks_once_at_the_end():
    js = run_module("multihead.js", READ + """
        const { el, model, document } = mount(view, data);
        document.layout = () => ({ left: 0, top: 0, width: 396, height: 396 });   // the drawing at full size
        const plane = el.querySelector(".mh-plane");
        plane.dispatchEvent(event("pointerdown", { clientX: 198, clientY: 198, pointerId: 2 }));  // the origin
        const during = { calls: calls(model), live: read(el).live, focused: document.activeElement.className };
        plane.dispatchEvent(event("pointermove", { clientX: 198 + 34, clientY: 198, pointerId: 2 }));
        const moved = calls(model);
        plane.dispatchEvent(event("pointerup", { pointerId: 2 }));
        const after = read(el).live;
        model.receive({ head: -1 });
        plane.dispatchEvent(event("pointerdown", { clientX: 100, clientY: 100, pointerId: 3 }));   // the average: nothing to drag
        print({ during, moved, after, average: calls(model) });
    """, traits(MultiHeadExplorer(head=0, query_index=2)))
    projected = (torch.tensor(SENTENCE_EMBEDDINGS[2]) @ torch.tensor(HEAD_W_QUERY[0])).tolist()   # walk's query, head 1
    assert js["during"]["calls"][0] == ["set", "query_offset", [-projected[0], -projected[1]]]   # dragged to the origin
    assert js["during"]["live"] == "off" and "mh-query" in js["during"]["focused"]
    assert js["moved"][0][:2] == ["set", "query_offset"] and js["after"] == "polite"
    assert js["average"] == []


DRIVE = READ + """
    const { el, model, document } = mount(view, data);
    document.layout = () => ({ left: 0, top: 0, width: 396, height: 396 });
    const handle = el.querySelector(".mh-query"), log = [];
    const record = () => log.push({ view: read(el), calls: calls(model), dom: snapshot(el) });
    handle.focus(); handle.dispatchEvent(event("keydown", { key: "ArrowLeft" })); record();
    const chip = el.querySelector('.mh-mask[value="causal"]'); chip.checked = true; chip.dispatchEvent(event("change")); record();
    el.querySelector(".mh-plane").dispatchEvent(event("pointerdown", { clientX: 300, clientY: 90, pointerId: 1 })); record();
    model.receive({ tokens: ["a", "b", "c"], embeddings: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]], query_index: 1,
      padding_length: 3, w_query: [[[1, 0], [0, 1], [1, 1], [0, 0]]], w_key: [[[1, 0], [0, 1], [1, 1], [0, 0]]],
      b_query: [[0, 0]], b_key: [[0, 0]], head: 0 }); record();
    print({ exports: Object.keys(module).sort(), log });
"""


@requires_node
def test_the_joined_module_is_self_contained_and_behaves_as_its_source():
    """anywidget receives _esm, the module joined with shared/: alone in a folder it imports, exports
    what the tests use and renders and answers exactly as the source files do."""
    explorer = MultiHeadExplorer(head=1)
    source = run_module("multihead.js", DRIVE, traits(explorer))
    joined = run_module("multihead.js", DRIVE, traits(explorer), source=explorer._esm)
    assert joined["exports"] == ["attendAll", "default", "describe", "headWeights", "keyMask", "maskedSoftmax", "project"]
    assert joined == source
