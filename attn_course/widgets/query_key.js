// Query/key explorer: drag a query q and the keys k_i on a plane and watch
//   weights = softmax(scale * [k_1.q, ..., k_S.q]),   output = sum_i weights_i k_i
// (the keys are also the values). Plain SVG and DOM, no dependencies, no bundler:
// the shared code (./shared/) is joined to this module in Python (_esm.py).
//
// The view computes what it draws from the synced traits (query, key_vectors,
// labels, scale, selected), so it stays live in a static page with no kernel.
// Changes made here are written back with the results (weights, output);
// save_changes() sends them to Python when there is a kernel and does nothing
// otherwise. Importing this module touches no DOM (it is tested under node).
import { FOCUSABLE, card, consume, defineView, html, readoutLine, say, withModifier } from "./shared/dom.js";
import { fmt } from "./shared/format.js";
import { INK_COLOUR, QUERY_COLOUR, seriesColour } from "./shared/palette.js";
import { Plane, clamp, dragTips, extentFor, keyStep, makeArrow, makeHandle, placeArrow, removeArrow, snap } from "./shared/plane.js";
import { saveControl } from "./shared/save.js";

const PLANE = { side: 360, pad: 30 };  // the square plane and its margin (ticks, labels), SVG units
// The scale slider: min, max and step on an exact binary grid (see TOOLCHAIN)
const SCALE_MIN = 0.25;
const SCALE_MAX = 4;
const SCALE_STEP = 0.25;
const OUTPUT_COLOUR = INK_COLOUR;
const OUTPUT_DASHES = "7 5";
const PICK_KEYS = "Q 0 1 2 3 4 5 6 7 8 9";   // the handles' keys besides the arrow keys
const TITLE = "weights = softmax(scale · k·q)";
const HINT = "Drag an arrow's tip, or click the plane to move q. Keyboard: Tab to an arrow, " +
  "arrow keys move it (Shift: fine steps), 0 picks q and 1-9 a key.";
const TRAITS = ["query", "key_vectors", "labels", "scale", "selected"];

// ---- The maths (pure, exported for the tests) ----------------------------

/** Softmax of a list of numbers, stable: subtract the maximum before exp. */
export function softmax(scores) {
  const top = Math.max(...scores);
  const exps = scores.map((s) => Math.exp(s - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/** Dot-product attention of one 2-D query over S 2-D keys, with values = keys.
 * query: [x, y]; keys: [[x, y], ...] (S >= 1); scale: number multiplying the scores.
 * Returns {scores (S), weights (S), output [x, y]}. */
export function attend(query, keys, scale) {
  const scores = keys.map((k) => (query[0] * k[0] + query[1] * k[1]) * scale);
  const weights = softmax(scores);
  const output = [0, 1].map((d) => weights.reduce((sum, w, i) => sum + w * keys[i][d], 0));
  return { scores, weights, output };
}

// ---- The view: built once, redrawn from the traits ---------------------------

/** The parts that stay: the plane with q and the output, the bars' list, the scale, the readout. */
function build(el) {
  const root = card(el, "qk-explorer");
  const planeBox = html("div", { class: "ex-plane qk-plane", role: "group" }, root);
  const plane = new Plane(planeBox, PLANE);
  const output = makeArrow(plane.arrows, plane.labels, "qk-output", OUTPUT_COLOUR);
  output.shaft.setAttribute("stroke-dasharray", OUTPUT_DASHES);
  const query = makeArrow(plane.arrows, plane.labels, "qk-query-arrow", QUERY_COLOUR);
  const side = html("div", { class: "qk-side" }, root);
  html("div", { class: "qk-title" }, side, TITLE);
  const bars = html("div", { class: "qk-bars", role: "list" }, side);
  const scaleLabel = html("label", { class: "qk-scale" }, side, "scale ");
  const slider = html("input", {
    type: "range", class: "ex-ring", min: SCALE_MIN, max: SCALE_MAX, step: SCALE_STEP, ...FOCUSABLE,
  }, scaleLabel);
  const scaleValue = html("span", { class: "qk-scale-value", "aria-hidden": "true" }, scaleLabel);  // the slider says its value
  const readout = readoutLine(root, "qk-readout");
  html("div", { class: "ex-hint qk-hint" }, root, HINT);
  saveControl(root, "query-key");
  // The query's handle comes first in the Tab order (and on top, in the CSS).
  const queryHandle = keyHandle(planeBox, "qk-query", "query");
  return { planeBox, plane, output, query, bars, slider, scaleValue, readout, queryHandle,
    keyArrows: [], keyHandles: [], barRows: [] };
}

function keyHandle(parent, className, name) {
  const handle = makeHandle(parent, `qk-handle ${className}`, PICK_KEYS);
  handle.dataset.name = name;
  return handle;
}

/** The parts that depend on the number of keys: their arrows, handles and bars. */
function rebuildKeys(view, count) {
  view.keyArrows.forEach(removeArrow);
  view.keyHandles.forEach((h) => h.remove());
  view.barRows.forEach((r) => r.row.remove());
  const { plane, planeBox, bars } = view;
  view.keyArrows = Array.from({ length: count }, (_, i) => makeArrow(plane.keys, plane.labels, "qk-key-arrow", seriesColour(i)));
  view.keyHandles = Array.from({ length: count }, (_, i) => keyHandle(planeBox, "qk-key", i));
  view.barRows = Array.from({ length: count }, (_, i) => {
    const row = html("div", { class: "qk-bar", role: "listitem" }, bars);
    const label = html("span", { class: "qk-bar-label" }, row);
    const fill = html("span", { class: "qk-bar-fill" }, html("span", { class: "qk-bar-track" }, row));
    fill.style.background = seriesColour(i);
    return { row, label, fill, value: html("span", { class: "qk-bar-value" }, row) };
  });
}

/** Redraw everything from the model. */
function update(view, model) {
  const t = Object.fromEntries(TRAITS.map((n) => [n, model.get(n)]));
  const result = attend(t.query, t.key_vectors, t.scale);
  const name = (i) => t.labels[i] ?? `k${i + 1}`;
  // The plane grows to fit what Python sets, never shrinks: it never rescales
  // under a drag (drags are clamped to it).
  const maxAbs = Math.max(...[t.query, result.output, ...t.key_vectors].flat().map(Math.abs));
  if (view.plane.extent === 0 || maxAbs > view.plane.extent) view.plane.setExtent(extentFor(maxAbs));
  if (view.keyArrows.length !== t.key_vectors.length) rebuildKeys(view, t.key_vectors.length);
  drawArrows(view, t, result.output, name);
  drawBars(view, result.weights, name);
  view.slider.max = Math.max(SCALE_MAX, Math.ceil(t.scale));
  view.slider.value = t.scale;
  view.slider.setAttribute("aria-valuetext", `scale ${fmt(t.scale)}`);
  view.scaleValue.textContent = fmt(t.scale);
  describe(view, t, result, name);
}

/** The arrows, their labels and their handles (the selected one marked). */
function drawArrows(view, t, out, name) {
  const { plane } = view, origin = plane.toPixels([0, 0]);
  const item = (arrow, vector, text) => {
    const tip = plane.toPixels(vector);
    return { label: arrow.label, text, tip, direction: placeArrow(arrow, origin, tip) };
  };
  const place = (handle, vector, text, selected) => {
    plane.moveHandle(handle, vector);
    handle.setAttribute("aria-label", `${text} = (${fmt(vector[0])}, ${fmt(vector[1])}); arrow keys move it`);
    handle.classList.toggle("qk-selected", selected);
  };
  const keyItems = t.key_vectors.map((k, i) => {
    place(view.keyHandles[i], k, `key ${name(i)}`, t.selected === i);
    return item(view.keyArrows[i], k, name(i));
  });
  const outputItem = item(view.output, out, "output"), queryItem = item(view.query, t.query, "q");
  plane.placeLabels([queryItem, outputItem, ...keyItems], origin);   // the most important first
  place(view.queryHandle, t.query, "query q", t.selected === "query");
}

function drawBars(view, weights, name) {
  view.barRows.forEach((bar, i) => {
    bar.row.dataset.weight = String(weights[i]);
    bar.label.textContent = name(i);
    bar.label.title = name(i);
    bar.fill.style.width = `${100 * weights[i]}%`;
    bar.value.textContent = fmt(weights[i]);
  });
}

/** What the readout and the plane's label say. */
function describe(view, { query: q, key_vectors: keys, scale }, { weights, output: out }, name) {
  const pairs = keys.map((_, i) => `${name(i)} ${fmt(weights[i])}`).join(", ");
  say(view.readout, `q = (${fmt(q[0])}, ${fmt(q[1])}) · weights: ${pairs} · output = (${fmt(out[0])}, ${fmt(out[1])})`);
  const keyList = keys.map((k, i) => `${name(i)} at (${fmt(k[0])}, ${fmt(k[1])}) weight ${fmt(weights[i])}`);
  view.planeBox.setAttribute("aria-label", `Query and keys plane, scale ${fmt(scale)}. Query q at (${fmt(q[0])}, ` +
    `${fmt(q[1])}). Keys: ${keyList.join("; ")}. Output at (${fmt(out[0])}, ${fmt(out[1])}).`);
}

// ---- Changes made in the view ---------------------------------------------------

/** Set `changes` with the results and send them to Python (if any). */
function commit(model, changes) {
  for (const [trait, value] of Object.entries(changes)) model.set(trait, value);
  const { weights, output } = attend(model.get("query"), model.get("key_vectors"), model.get("scale"));
  model.set("weights", weights);
  model.set("output", output);
  model.save_changes();
}

const vectorOf = (model, name) => (name === "query" ? model.get("query") : model.get("key_vectors")[name]);
const nameOf = (handle) => (handle.dataset.name === "query" ? "query" : Number(handle.dataset.name));
const handleOf = (view, name) => (name === "query" ? view.queryHandle : view.keyHandles[name]);
const select = (model, name) => { if (model.get("selected") !== name) commit(model, { selected: name }); };

/** Move the arrow `name` ("query" or a key index) to `at`, clamped to the plane, snapped. */
function moveTo(view, model, name, [x, y]) {
  const { extent } = view.plane;
  const vector = [snap(clamp(x, -extent, extent)), snap(clamp(y, -extent, extent))];
  const old = vectorOf(model, name);
  if (vector[0] === old[0] && vector[1] === old[1]) return;
  if (name === "query") return commit(model, { query: vector });
  commit(model, { key_vectors: model.get("key_vectors").map((k, i) => (i === name ? vector : k)) });
}

/** On a handle: arrow keys move its arrow (Shift: fine steps); q or 0 picks q, 1-9 a key. */
function onKey(view, model, event) {
  if (!event.target.classList.contains("qk-handle") || withModifier(event)) return;
  const name = nameOf(event.target), move = keyStep(event);
  const pick = event.key === "q" || event.key === "0" ? "query" : /^[1-9]$/.test(event.key) ? Number(event.key) - 1 : null;
  if (move) {
    const v = vectorOf(model, name);
    moveTo(view, model, name, [v[0] + move[0], v[1] + move[1]]);
  } else if (pick !== null && handleOf(view, pick)) {
    handleOf(view, pick).focus();
  } else {
    return;
  }
  document.activeElement.classList.add("ex-keyboard");      // show the focus ring from now on
  consume(event);
}

function listen(view, model) {
  const { planeBox, slider } = view;
  dragTips(planeBox, view.plane, view.readout, {
    grab(event) {
      const handle = event.target.closest(".qk-handle");
      const name = handle ? nameOf(handle) : "query";          // a press on the plane moves q
      return { name, onHandle: Boolean(handle), tip: vectorOf(model, name) };
    },
    press({ name, onHandle }, at) {
      planeBox.querySelectorAll(".ex-keyboard").forEach((h) => h.classList.remove("ex-keyboard"));
      handleOf(view, name).focus({ preventScroll: true, focusVisible: false });  // no focus ring for the mouse
      select(model, name);
      if (!onHandle) moveTo(view, model, name, at);
    },
    move: ({ name }, at) => moveTo(view, model, name, at),
  });
  planeBox.addEventListener("focusin", (event) => {
    if (event.target.classList.contains("qk-handle")) select(model, nameOf(event.target));
  });
  planeBox.addEventListener("keydown", (event) => onKey(view, model, event));
  slider.addEventListener("input", () => commit(model, { scale: Number(slider.value) }));
}

export default defineView({ traits: TRAITS, build, listen, update });
