"""Explorers without a kernel or a browser: set traits, read the results; the ES
module's maths (run under node) equals the Python reference."""

from __future__ import annotations

import json
import math
import pathlib
import shutil
import subprocess

import pytest
import torch

import attn_course.widgets
from attn_course.attention import dot_product_attention
from attn_course.widgets import ExplorerValueError, QueryKeyExplorer

WIDGETS = pathlib.Path(attn_course.widgets.__file__).parent

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
    before = {name: getattr(explorer, name) for name in explorer.keys}
    with pytest.raises(ExplorerValueError) as error:
        setattr(explorer, trait, value)
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)
    assert {name: getattr(explorer, name) for name in explorer.keys} == before


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


def test_esm_and_css_come_from_the_package_files():
    explorer = QueryKeyExplorer()
    esm, css = (WIDGETS / "query_key.js").read_text(), (WIDGETS / "query_key.css").read_text()
    assert explorer._esm == esm and "export default" in esm and "export function attend" in esm
    assert explorer._css == css and ".qk-explorer" in css
    state = explorer.get_state()
    assert state["_esm"] == esm and state["_css"] == css
    assert "keys" not in explorer.trait_names(sync=True)   # never shadow Widget.keys


def test_every_focusable_element_suppresses_lab_shortcuts():
    esm = (WIDGETS / "query_key.js").read_text()
    # the handles (tabindex) and the range input are the only focusable elements
    assert esm.count('"data-lm-suppress-shortcuts": ""') == 2
    assert esm.count("tabindex: 0") == 1 and esm.count('type: "range"') == 1


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed: cannot run the ES module's maths")
def test_js_maths_equals_python(tmp_path):
    # The module has no package.json saying "type": "module", so give node a .mjs copy.
    module = tmp_path / "query_key.mjs"
    module.write_bytes((WIDGETS / "query_key.js").read_bytes())
    harness = tmp_path / "harness.mjs"
    harness.write_text(
        f"import {{ attend }} from {json.dumps(module.as_uri())};\n"
        "import view from " + json.dumps(module.as_uri()) + ";\n"
        "const cases = JSON.parse(process.argv[2]);\n"
        "const results = cases.map(([q, k, s]) => attend(q, k, s));\n"
        "console.log(JSON.stringify({ results, render: typeof view.render }));\n"
    )
    done = subprocess.run(
        [NODE, str(harness), json.dumps(CASES)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["render"] == "function"
    for (query, key_vectors, scale), js in zip(CASES, answer["results"], strict=True):
        weights, output = reference(query, key_vectors, scale)
        assert js["weights"] == pytest.approx(weights, abs=1e-9, rel=0)
        assert js["output"] == pytest.approx(output, abs=1e-9, rel=0)
        explorer = QueryKeyExplorer(key_vectors=key_vectors, query=query, scale=scale)
        assert js["weights"] == pytest.approx(explorer.weights, abs=1e-9, rel=0)
