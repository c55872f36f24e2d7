"""The multi-head explorer without a kernel or a browser: its weights equal a real
MultiHeadAttention layer's and a hand computation for every mask; the ES module's
maths (run under node) equals the Python reference; bad values are refused."""

from __future__ import annotations

import json
import math
import pathlib
import shutil
import subprocess

import pytest
import torch

import attn_course.widgets
from attn_course.attention import causal_mask, masked_softmax, padding_mask
from attn_course.layers import MultiHeadAttention
from attn_course.widgets.multihead import HEAD_W_KEY, HEAD_W_QUERY, SENTENCE, SENTENCE_EMBEDDINGS, MultiHeadExplorer
from attn_course.widgets.query_key import ExplorerValueError

WIDGETS = pathlib.Path(attn_course.widgets.__file__).parent
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
    before = {name: getattr(explorer, name) for name in explorer.keys}
    with pytest.raises(ExplorerValueError) as error:
        setattr(explorer, trait, value)
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)
    assert {name: getattr(explorer, name) for name in explorer.keys} == before


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
    with pytest.raises(Exception, match="read-only"):
        MultiHeadExplorer().average = [1.0] * 6


def test_esm_and_css_come_from_the_package_files():
    explorer = MultiHeadExplorer()
    esm, css = (WIDGETS / "multihead.js").read_text(), (WIDGETS / "multihead.css").read_text()
    assert explorer._esm == esm and "export default" in esm and "export function attendAll" in esm
    assert explorer._css == css and ".mh-explorer" in css
    state = explorer.get_state()
    assert state["_esm"] == esm and state["_css"] == css
    assert "keys" not in explorer.trait_names(sync=True)   # never shadow Widget.keys


def test_every_focusable_element_suppresses_lab_shortcuts():
    esm = (WIDGETS / "multihead.js").read_text()
    # the radio inputs (one creation site), the range input and the query handle are the only focusable elements
    assert esm.count('"data-lm-suppress-shortcuts": ""') == 3
    assert esm.count('type: "radio"') == 1 and esm.count('type: "range"') == 1 and esm.count("tabindex: 0") == 1
    assert esm.count('html("input"') == 2
    assert not any(f'html("{tag}"' in esm for tag in ("button", "a", "select", "textarea", "summary"))


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


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed: cannot run the ES module's maths")
def test_js_maths_equals_python(tmp_path):
    # The module has no package.json saying "type": "module", so give node a .mjs copy.
    module = tmp_path / "multihead.mjs"
    module.write_bytes((WIDGETS / "multihead.js").read_bytes())
    harness = tmp_path / "harness.mjs"
    harness.write_text(
        f"import view, {{ attendAll, describe, maskedSoftmax, keyMask }} from {json.dumps(module.as_uri())};\n"
        "import { readFileSync } from 'node:fs';\n"
        "const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));\n"
        "const results = cases.map((t) => { const r = attendAll(t); return { weights: r.weights, average: r.average, "
        "describe: describe(t, r) }; });\n"
        "const extra = { fullyMasked: maskedSoftmax([0.3, -1, 2], [false, false, false]),\n"
        "  noPadding: keyMask('padding', 3, 0, 0), causal: keyMask('causal', 4, 1, 4), none: keyMask('none', 2, 0, 1) };\n"
        "console.log(JSON.stringify({ results, extra, render: typeof view.render }));\n"
    )
    cases = js_cases()
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    done = subprocess.run([NODE, str(harness), str(tmp_path / "cases.json")],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["render"] == "function"
    for case, js in zip(cases, answer["results"], strict=True):
        assert_close(js["weights"], case["weights"], 1e-9)
        assert_close(js["average"], case["average"], 1e-9)
        assert js["describe"] == case["describe"]
    assert answer["extra"] == {"fullyMasked": [0, 0, 0], "noPadding": [False] * 3,
                               "causal": [True, True, False, False], "none": [True, True]}
