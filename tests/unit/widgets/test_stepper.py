"""The decoding stepper without a kernel or a browser: traits, validation, decodings
built from a model (equal to ``model.translate`` and to an independent teacher-forced
pass), the ES module's helpers (run under node) equal to the Python reference, and its
view, rendered in a fake DOM: it says what Python says, steps with the buttons, the
slider, the grid and the keys, and marks every focusable control for JupyterLab; the
joined module (what anywidget loads) behaves as its source."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from support.node import requires_node, run_module

from attn_course.data import EOS_ID, PAD_ID, SOS_ID, Vocab, encode_pairs
from attn_course.models import Seq2SeqConfig
from attn_course.tasks import addition_pairs, date_pairs, word_pairs
from attn_course.train import build_model
from attn_course.widgets import DecodingStepper, ExplorerValueError
from attn_course.widgets._base import fmt
from attn_course.widgets.stepper import describe_step


def example(source="16+75", output=("9", "1", "</s>"), target=None, top=None, weights=None):
    """A valid example: each step's weights peak on a different source token."""
    source, output = list(source), list(output)
    S = len(source)
    rows = weights or [[0.6 if j == t % S else 0.4 / (S - 1) for j in range(S)] for t in range(len(output))]
    e = {"source": source, "output": output, "weights": rows}
    if target is not None:
        e["target"] = target
    if top is not None:
        e["top"] = top
    return e


TOP = [[["9", 0.9], ["8", 0.05]], [["1", 0.7], ["2", 0.2]], [["</s>", 1.0]]]


# ---- Traits and validation ------------------------------------------------------

def test_defaults_show_a_consistent_example():
    stepper = DecodingStepper()
    e = stepper.examples[0]
    T, S = len(e["output"]), len(e["source"])
    assert (stepper.example, stepper.step, stepper.separator) == (0, 0, "")
    assert len(e["weights"]) == len(e["top"]) == T and all(len(row) == S for row in e["weights"])
    assert all(math.fsum(row) == pytest.approx(1, abs=1e-12) for row in e["weights"])
    assert stepper.describe().startswith("step 1 of 3: output so far empty, chose '9' (probability 0.90)")


def test_examples_are_normalised_and_steps_described():
    stepper = DecodingStepper(examples=[example(), example("999+1", "1000", target="1000")], example=1, step=3)
    assert stepper.examples[0]["target"] is None and stepper.examples[0]["top"] is None   # all five fields
    assert stepper.examples[1]["output"] == ["1", "0", "0", "0"]
    assert stepper.describe() == ("step 4 of 4: output so far '100', chose '0'; most weight on input '+' "
                                  "at position 4 of 5 (0.60); the output matches the expected '1000'")
    stepper.step = 0
    assert stepper.describe().startswith("step 1 of 4: output so far empty, chose '1';")


def test_hand_computed_readouts():
    e = example("a b", ["x", " ", "</s>"], target="x!",
                weights=[[0.25, 0.5, 0.25], [0.125, 0.125, 0.75], [0.5, 0.5, 0.0]])
    assert describe_step(e, 0) == ("step 1 of 3: output so far empty, chose 'x'; most weight on input space "
                                   "at position 2 of 3 (0.50)", 1)
    assert describe_step(e, 1)[1] == 2
    text, best = describe_step(e, 2)                           # a tie: the first index wins
    assert best == 0
    assert text == ("step 3 of 3: output so far 'x ', chose '</s>'; most weight on input 'a' at position 1 "
                    "of 3 (0.50); the output differs from the expected 'x!'")
    words = example(["the", "cat"], ["le", "chat", "</s>"], target="le chat")
    assert describe_step(words, 2, " ")[0].endswith("the output matches the expected 'le chat'")
    assert "output so far 'le chat'" in describe_step(words, 2, " ")[0]


def test_changes_made_in_python_and_from_the_view():
    stepper = DecodingStepper(examples=[example(), example("999+1", "1000")])
    stepper.step = 2
    stepper.example = 1                                        # T=4: step 2 stays
    assert (stepper.example, stepper.step) == (1, 2)
    stepper.step = 3
    stepper.example = 0                                        # T=3: step is clamped to the last one
    assert (stepper.example, stepper.step) == (0, 2)
    stepper.set_state({"example": 1, "step": 3})              # what the view sends, checked together
    assert (stepper.example, stepper.step) == (1, 3)
    stepper.examples = [example()]                             # fewer examples: both are clamped
    assert (stepper.example, stepper.step) == (0, 2)
    stepper.separator = " "
    assert stepper.separator == " "


BAD = [
    ("examples", [], "examples must hold at least one decoding; got []"),
    ("examples", [{"source": ["a"], "output": ["b"]}], "examples[0] must be a dict with keys source, output, weights"),
    ("examples", [{**example(), "targets": "91"}], "examples[0] must be a dict with keys"),
    ("examples", [example(), "16+75"], "examples[1] must be a dict"),
    ("examples", [example(source="")], "examples[0].source must be a non-empty list of token strings"),
    ("examples", [{**example(), "output": "91"}], "examples[0].output must be a non-empty list of token strings"),
    ("examples", [{**example(), "weights": example()["weights"][:2]}],
     "examples[0].weights must be (T, S) = (3, 5): one row per output token; got 2 rows"),
    ("examples", [{**example(), "source": list("16+7")}],
     "examples[0].weights[0] must hold S=4 floats, one per source token; got 5"),
    ("examples", [example(weights=[[0.2] * 5, [0.25] * 4, [0.2] * 5])],
     "examples[0].weights[1] must hold S=5 floats, one per source token; got 4"),
    ("examples", [example(weights=[[0.2] * 5, [0.2] * 4 + [0.21], [0.2] * 5])],
     "examples[0].weights[1] must sum to 1 (within 0.0001)"),
    ("examples", [example(weights=[[0.2] * 5, [float("nan")] + [0.2] * 4, [0.2] * 5])],
     "examples[0].weights[1] must hold finite floats >= 0"),
    ("examples", [example(weights=[[0.6, 0.6, -0.2, 0.0, 0.0]] + [[0.2] * 5] * 2)],
     "examples[0].weights[0] must hold finite floats >= 0"),
    ("examples", [example(target=91)], "examples[0].target must be a str or None; got int"),
    ("examples", [example(top=TOP[:2])], "examples[0].top must hold one list of candidates per output token (T=3)"),
    ("examples", [example(top=[TOP[0], [["2", 0.7], ["1", 0.2]], TOP[2]])],
     "examples[0].top[1] must list the chosen token output[1]='1' first"),
    ("examples", [example(top=[TOP[0], [["1", 0.2], ["2", 0.7]], TOP[2]])],
     "examples[0].top[1] must list candidates from the most probable down"),
    ("examples", [example(top=[TOP[0], TOP[1], [["</s>", 1.5]]])],
     "examples[0].top[2] must be a non-empty list of [token, probability in [0, 1]] pairs"),
    ("example", 2, "example must be an index in 0..1 (2 examples); got 2"),
    ("example", -1, "example must be an index in 0..1"),
    ("example", True, "example must be an index in 0..1"),
    ("step", 3, "step must be an index in 0..2 (example 0 has T=3 output tokens); got 3"),
    ("step", -1, "step must be an index in 0..2"),
]


@pytest.mark.parametrize("trait, value, message", BAD)
def test_bad_values_are_refused_and_change_nothing(trait, value, message):
    stepper = DecodingStepper(examples=[example(top=TOP), example("999+1", "1000")], step=1)
    traits = ("examples", "example", "step", "separator", "title")
    before = copy.deepcopy({name: getattr(stepper, name) for name in traits})
    with pytest.raises(ExplorerValueError) as error:
        setattr(stepper, trait, value)
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)
    assert {name: getattr(stepper, name) for name in traits} == before


def test_refused_constructor_and_grouped_changes():
    with pytest.raises(ExplorerValueError, match=r"step must be an index in 0\.\.2"):
        DecodingStepper(examples=[example()], step=3)
    stepper = DecodingStepper(examples=[example(), example("999+1", "1000")])
    with pytest.raises(ExplorerValueError, match=r"step must be an index in 0\.\.2"):
        stepper.set_state({"example": 0, "step": 3})
    assert (stepper.example, stepper.step) == (0, 0)          # rolled back together


def test_state_is_plain_json_and_keys_is_not_a_trait():
    stepper = DecodingStepper()
    json.dumps(stepper.get_state()["examples"])               # plain JSON for the page's widget state
    assert "keys" not in stepper.trait_names(sync=True)       # never shadow Widget.keys


# ---- From a model ---------------------------------------------------------------

def tiny_model(decoder="attention", level="char", reverse_source=True, seed=0):
    pairs = word_pairs(50) if level == "word" else addition_pairs(50)
    src = Vocab.build((s for s, _ in pairs), level=level)
    tgt = Vocab.build((t for _, t in pairs), level=level)
    config = Seq2SeqConfig(src, tgt, decoder=decoder, embed_dim=8, hidden_dim=16, reverse_source=reverse_source)
    return build_model(config, seed=seed), pairs


def teacher_forced_probabilities(model, text, output_ids):
    """Probabilities (T, V) of an independent pass: the whole greedy output fed back at once."""
    cfg = model.config
    data = encode_pairs([(text, "")], cfg.src_vocab, cfg.tgt_vocab, reverse_source=cfg.reverse_source)
    tgt_in = torch.tensor([[SOS_ID] + output_ids[:-1]])                            # (1, T)
    with torch.no_grad():
        logits, _ = model(data.src, data.src_lengths, tgt_in)                      # (1, T, V)
    logits[..., [PAD_ID, SOS_ID]] = float("-inf")
    return logits[0].softmax(-1)                                                   # (T, V)


@pytest.mark.parametrize("reverse_source", [True, False])
def test_from_model_matches_translate(reverse_source):
    model, pairs = tiny_model(reverse_source=reverse_source)
    sources, targets = [s for s, _ in pairs[:3]] + ["7+x"], [t for _, t in pairs[:3]] + ["7"]   # x is unknown
    model.train()
    stepper = DecodingStepper.from_model(model, sources, targets, max_len=6, title="sums")
    assert model.training                                      # the mode is left as it was
    assert (len(stepper.examples), stepper.title, stepper.separator) == (4, "sums", "")
    vocab = model.config.tgt_vocab
    for text, target, e in zip(sources, targets, stepper.examples):
        out, weights = model.translate(text, 6)
        T, S = weights.shape
        assert e["source"] == list(text) and S == len(text) and e["target"] == target
        assert len(e["output"]) == len(e["weights"]) == len(e["top"]) == T
        assert e["weights"] == weights.tolist()                # exactly translate's weights (T, S)
        assert "".join(e["output"]).removesuffix("</s>") == out
        # The weights are in written order: the greedy decoder's own weights, flipped back if reversed.
        ids = model.config.src_vocab.encode(text)
        src = torch.tensor([ids[::-1] if reverse_source else ids])                  # (1, S)
        tokens, raw = model.greedy_decode(src, torch.tensor([S]), max_len=6)       # (1, T), (1, T, S)
        raw = raw[0, :T].flip(-1) if reverse_source else raw[0, :T]
        torch.testing.assert_close(torch.tensor(e["weights"]), raw, rtol=0, atol=0)
        # The top candidates: the chosen token first, probabilities from a teacher-forced pass.
        output_ids = tokens[0, :T].tolist()
        probs = teacher_forced_probabilities(model, text, output_ids)             # (T, V)
        for t, candidates in enumerate(e["top"]):
            assert [c[0] for c in candidates][0] == e["output"][t] and len(candidates) == 3
            ps = [p for _, p in candidates]
            assert ps == sorted(ps, reverse=True) and math.fsum(ps) <= 1 + 1e-6
            assert ps[0] == pytest.approx(probs[t].max().item(), abs=1e-5)
            names = ["</s>" if i == EOS_ID else vocab.decode([i]) for i in probs[t].topk(3).indices.tolist()]
            assert [c[0] for c in candidates] == names


def test_from_model_stops_at_end_of_sequence():
    model, _ = tiny_model()
    with torch.no_grad():
        model.decoder.out.bias[EOS_ID] = 100.0                 # </s> wins at once
    stepper = DecodingStepper.from_model(model, ["16+75"], ["91"])
    e = stepper.examples[0]
    assert e["output"] == ["</s>"] and len(e["weights"]) == 1 and len(e["weights"][0]) == 5
    assert e["top"][0][0] == ["</s>", pytest.approx(1.0)]
    assert stepper.describe().endswith("the output differs from the expected '91'")


def test_from_model_without_stopping_runs_to_max_len():
    model, _ = tiny_model()
    with torch.no_grad():
        model.decoder.out.bias[EOS_ID] = -100.0                # </s> never wins
    e = DecodingStepper.from_model(model, ["16+75"], max_len=4).examples[0]
    assert len(e["output"]) == len(e["weights"]) == 4 and "</s>" not in e["output"] and e["target"] is None


def test_from_model_with_words():
    model, pairs = tiny_model(level="word")
    stepper = DecodingStepper.from_model(model, [pairs[0][0]], max_len=5)
    e = stepper.examples[0]
    assert stepper.separator == " " and e["source"] == pairs[0][0].split(" ")
    out, weights = model.translate(pairs[0][0], 5)
    assert " ".join(e["output"]).removesuffix(" </s>") == out and e["weights"] == weights.tolist()


def test_from_model_refuses_models_without_attention_and_bad_arguments():
    vanilla, _ = tiny_model(decoder="vanilla")
    with pytest.raises(ValueError, match="the stepper needs a model with attention weights; .* 'vanilla'"):
        DecodingStepper.from_model(vanilla, ["16+75"])
    model, _ = tiny_model()
    with pytest.raises(TypeError, match="sources must be a non-empty list of non-empty str"):
        DecodingStepper.from_model(model, "16+75")
    with pytest.raises(TypeError, match="sources must be a non-empty list"):
        DecodingStepper.from_model(model, ["16+75", ""])
    with pytest.raises(ValueError, match=r"targets must hold one str per source \(2\); got 1 targets"):
        DecodingStepper.from_model(model, ["1+1", "2+2"], ["2"])
    with pytest.raises(ValueError, match="max_len must be an int >= 1; got 0"):
        DecodingStepper.from_model(model, ["1+1"], max_len=0)


# ---- The ES module's helpers equal Python's, under node -----------------------------

def js_cases():
    model, pairs = tiny_model()
    built = DecodingStepper.from_model(model, [s for s, _ in pairs[:2]], [t for _, t in pairs[:2]], max_len=5)
    cases = [(e, t, "") for e in built.examples for t in range(len(e["output"]))]
    demo = DecodingStepper().examples[0]
    cases += [(demo, t, "") for t in range(3)]
    ties = example("a b", ["x", " ", "</s>"], target="x ", weights=[[0.25, 0.5, 0.25], [0.125, 0.125, 0.75],
                                                                    [0.5, 0.5, 0.0]])
    cases += [(ties, t, "") for t in range(3)]
    words = example(["the", "cat"], ["le", "chat", "</s>"], target="le chat", weights=[[0.995, 0.005]] * 3)
    cases += [(words, t, " ") for t in range(3)]
    rounding = example("abcd", ["1", "2"], weights=[[0.285, 0.715, 0, 0], [0.125, 0.375, 0.4949, 0.0051]])
    cases += [(rounding, t, "") for t in range(2)]
    return cases


@requires_node
def test_js_helpers_equal_python():
    answer = run_module("stepper.js", """
        const { describeStep, paintWeight, cellText } = module;
        const weight = (w) => { const node = { style: { setProperty(name, value) { this[name] = value; } } };
                                paintWeight(node, w); return node.style["--ds-w"]; };
        print({ steps: data.map(([e, t, sep]) => describeStep(e, t, sep)), render: typeof view.render,
                weights: [0, 0.25, 1 / 3, 1, -0.5, 1.5].map(weight),
                cells: [0, 0.004, 0.005, 0.125, 0.285, 0.995, 0.996, 1].map(cellText) });
    """, js_cases())
    cases = js_cases()
    assert answer["render"] == "function"                      # importing it touched no DOM
    for (e, t, sep), js in zip(cases, answer["steps"], strict=True):
        text, best = describe_step(e, t, sep)
        assert js["text"] == text and js["argmax"] == best and js["weight"] == e["weights"][t][best]
    assert answer["cells"] == ["", "", ".01", ".13", ".28", ".99", "1", "1"]   # toFixed on the exact binary value
    # A weight colours its cell through --ds-w in [0, 1]; the CSS mixes the colour of the theme
    # (test_theme.py checks the ramp's contrast, the browser tests the colours shown).
    assert answer["weights"] == ["0", "0.25", str(1 / 3), "1", "0", "1"]


# ---- The view, in a fake DOM ----------------------------------------------------------

def traits(stepper) -> dict:
    return {name: getattr(stepper, name) for name in ("examples", "example", "step", "separator", "title")}


READ = """
    const read = (el) => ({
      readout: el.querySelector(".ds-readout").textContent,
      position: el.querySelector(".ds-position").textContent,
      disabled: all(el, ".ds-button").map((b) => b.getAttribute("aria-disabled")),
      cells: all(el, ".ds-cell").map((c) => [Number(c.dataset.weight), c.querySelector(".ds-value").textContent,
                                            c.classList.contains("ds-argmax"), c.getAttribute("aria-label")]),
      tokens: all(el, ".ds-tokens .ds-token").map((t) => t.textContent),
      candidates: all(el, ".ds-candidate").map((c) => [c.querySelector(".ds-token").textContent, c.dataset.probability ?? null]),
      target: [el.querySelector(".ds-target").hidden, el.querySelector(".ds-target").textContent],
      title: [el.querySelector(".ds-title").hidden, el.querySelector(".ds-title").textContent],
      options: all(el, "option").map((o) => o.textContent),
    });
    const calls = (model) => model.calls.splice(0);
"""


def two_examples(**kwargs) -> DecodingStepper:
    return DecodingStepper(examples=[example(top=TOP, target="91"), example("a b", ["x", " ", "</s>"], target="x ")],
                           **kwargs)


@requires_node
def test_every_focusable_control_is_marked_for_lab_and_there_is_one_range_input():
    js = run_module("stepper.js", """
        const { el } = mount(view, data);
        print(focusable(el).map((e) => ({ tag: e.tagName, type: e.getAttribute("type"), cls: e.className,
            tabindex: e.getAttribute("tabindex"), marked: e.getAttribute("data-lm-suppress-shortcuts") })));
    """, traits(two_examples()))
    assert all(e["marked"] == "" for e in js), js              # on the element itself, as JupyterLab looks for it
    assert [e["tag"] for e in js] == ["SELECT", "BUTTON", "BUTTON", "INPUT", "BUTTON", "BUTTON", "DIV", "BUTTON", "BUTTON"]
    assert [e["cls"] for e in js[-2:]] == ["ex-save-button ex-ring"] * 2                 # Save view: SVG, PNG
    assert [e["type"] for e in js if e["tag"] == "INPUT"] == ["range"]
    assert [e["cls"] for e in js if e["tabindex"] == "0"] == ["ds-figure"]      # the grid takes the arrow keys


@requires_node
def test_the_view_shows_what_python_says():
    stepper = two_examples(step=2, title="sums")
    js = run_module("stepper.js", READ + "const { el } = mount(view, data); print(read(el));", traits(stepper))
    e = stepper.examples[0]
    assert js["readout"] == stepper.describe() and js["position"] == "step 3 / 3"
    assert js["disabled"] == ["false", "false", "true", "true"]
    assert [c[0] for c in js["cells"]] == e["weights"][2]
    best = describe_step(e, 2)[1]
    assert [c[2] for c in js["cells"]] == [j == best for j in range(5)]
    assert js["cells"][best][3] == f"input '{e['source'][best]}' at position {best + 1}: weight {fmt(e['weights'][2][best])}"
    assert js["tokens"] == ["9", "1", "</s>"] and js["candidates"] == [["</s>", "1"]]
    assert js["target"] == [False, "expected 91 \u2713 the output matches"]
    assert js["title"] == [False, "sums"] and js["options"] == ["1. 16+75", "2. a b"]


@requires_node
def test_buttons_slider_grid_and_keys_step_and_send_the_step():
    js = run_module("stepper.js", READ + """
        const { el, model } = mount(view, data);
        const figure = el.querySelector(".ds-figure"), slider = el.querySelector('input[type="range"]'), steps = [];
        const note = (what, e = null) => steps.push({ what, calls: calls(model), prevented: e?.defaultPrevented ?? null,
                                                      view: read(el) });
        const key = (target, k, init = {}) => { const e = event("keydown", { key: k, ...init }); target.dispatchEvent(e); note(k, e); };
        el.querySelector(".ds-next").click(); note("next");
        el.querySelector(".ds-last").click(); note("last");
        el.querySelector(".ds-next").click(); note("next at the end");
        el.querySelector(".ds-first").click(); note("first");
        figure.focus();
        key(figure, "ArrowRight"); key(figure, "End"); key(figure, "Home"); key(figure, "ArrowLeft");
        key(figure, "ArrowRight", { metaKey: true });
        key(slider, "ArrowRight");                                 // the slider moves itself
        slider.value = "2"; slider.dispatchEvent(event("input")); note("slider");
        all(el, ".ds-heat")[5].click(); note("grid row 2");           // S=5: the 6th cell is in step 2's row
        const select = el.querySelector("select");
        select.value = "1"; select.dispatchEvent(event("change")); note("example 2");
        print(steps);
    """, traits(two_examples()))
    by = {}
    for s in js:
        by.setdefault(s["what"], s)                            # the first of each
    assert by["next"]["calls"] == [["set", "step", 1], ["save"]] and by["next"]["view"]["position"] == "step 2 / 3"
    assert by["last"]["calls"] == [["set", "step", 2], ["save"]]
    assert by["next at the end"]["calls"] == []
    assert by["first"]["calls"] == [["set", "step", 0], ["save"]]
    assert by["ArrowRight"]["calls"] == [["set", "step", 1], ["save"]] and by["ArrowRight"]["prevented"]
    assert by["End"]["calls"][0] == ["set", "step", 2] and by["Home"]["calls"][0] == ["set", "step", 0]
    assert by["ArrowLeft"]["calls"] == [] and by["ArrowLeft"]["prevented"]     # at the first step already
    moves = [s for s in js if s["what"] == "ArrowRight"]
    assert [m["calls"] for m in moves[1:]] == [[], []] and not any(m["prevented"] for m in moves[1:])  # Meta; the slider
    assert by["slider"]["calls"] == [["set", "step", 2], ["save"]]
    assert by["grid row 2"]["calls"] == [["set", "step", 1], ["save"]]
    assert by["example 2"]["calls"] == [["set", "example", 1], ["set", "step", 0], ["save"]]
    stepper = two_examples(example=1)
    assert by["example 2"]["view"]["readout"] == stepper.describe() and by["example 2"]["view"]["tokens"] == ["x"]


DRIVE = READ + """
    const { el, model } = mount(view, data);
    const log = [], record = () => log.push({ view: read(el), calls: calls(model), dom: snapshot(el) });
    el.querySelector(".ds-figure").dispatchEvent(event("keydown", { key: "End" })); record();
    el.querySelector(".ds-prev").click(); record();
    model.receive({ example: 1, step: 2, separator: " ", title: "" }); record();
    print({ exports: Object.keys(module).sort(), log });
"""


@requires_node
def test_the_joined_module_is_self_contained_and_behaves_as_its_source():
    """anywidget receives _esm, the module joined with shared/: alone in a folder it imports, exports
    what the tests use and renders and answers exactly as the source files do."""
    stepper = two_examples(title="demo")
    source = run_module("stepper.js", DRIVE, traits(stepper))
    joined = run_module("stepper.js", DRIVE, traits(stepper), source=stepper._esm)
    assert joined["exports"] == ["argmax", "cellText", "default", "describeStep", "paintWeight", "probabilityText", "shown"]
    assert joined == source


def test_the_stepper_decodes_a_transformer_too():
    """The stepper reads Seq2Seq.decode_steps, so the transformer (its cross-attention weights) fits as is."""
    pairs = date_pairs(30)
    model = build_model(Seq2SeqConfig.for_pairs(pairs, decoder="transformer", embed_dim=16, hidden_dim=32,
                                                reverse_source=False))
    stepper = DecodingStepper.from_model(model, [s for s, _ in pairs[:2]], [t for _, t in pairs[:2]])
    assert len(stepper.examples) == 2
