// Multi-head attention explorer: pick a head and a query word, drag the query in
// that head's plane, and watch the weights of every head:
//   q = x_i W_Q^h + b_Q^h (+ the learner's move),   k_j = x_j W_K^h + b_K^h,
//   weights^h = masked softmax over the keys j of q . k_j / sqrt(Dh),
// with the mask none, padding (keys j >= padding_length) or causal (keys j > i).
// Plain SVG and DOM, no dependencies, no bundler: the shared code (./shared/) is
// joined to this module in Python (_esm.py).
//
// The view computes what it draws from the synced traits (tokens, embeddings,
// w_query, w_key, b_query, b_key, head, query_index, query_offset, mask_mode,
// padding_length), so it stays live in a static page with no kernel. Changes
// made here are written back with the results (weights, average); save_changes()
// sends them to Python when there is a kernel and does nothing otherwise.
// Importing this module touches no DOM (its maths is tested under node).
import { FOCUSABLE, card, consume, defineView, html, readoutLine, say, withModifier } from "./shared/dom.js";
import { fmt } from "./shared/format.js";
import { INK_COLOUR, QUERY_COLOUR, seriesColour, themed } from "./shared/palette.js";
import { Plane, clamp, dragTips, extentFor, keyStep, makeArrow, makeHandle, paintArrow, placeArrow, removeArrow, snap } from "./shared/plane.js";
import { saveControl } from "./shared/save.js";

const PLANE = { side: 340, pad: 28 };  // the square plane and its margin (ticks, labels), SVG units
const GHOST_LABEL_DISTANCE = 48;       // the query's start is labelled once the query is this far away
// One colour per head (keys in its plane, its bars, its chip's swatch): seriesColour(h).
const AVERAGE_COLOUR = INK_COLOUR;
const MASKED_COLOUR = themed("neutral");
const MASK_MODES = [["none", "None"], ["padding", "Padding"], ["causal", "Causal"]];
const INPUTS = ["tokens", "embeddings", "w_query", "w_key", "b_query", "b_key", "head", "query_index",
  "query_offset", "mask_mode", "padding_length"];
const HINT = "Pick a query word, a head and a mask. Drag the query's tip (or click the plane) to move it; " +
  "keyboard: Tab to the query, arrow keys move it (Shift: fine steps), 0 puts it back.";

// ---- The maths (pure, exported for the tests) ----------------------------

/** Row vector x (D) times w (D x Dh), plus b (Dh). */
export function project(x, w, b) {
  return b.map((bias, c) => x.reduce((sum, xd, d) => sum + xd * w[d][c], 0) + bias);
}

/** The keys that query `queryIndex` may attend to (S booleans, true = may attend). */
export function keyMask(mode, S, queryIndex, paddingLength) {
  return Array.from({ length: S }, (_, j) =>
    (mode === "causal" ? j <= queryIndex : mode === "padding" ? j < paddingLength : true));
}

/** Softmax over the allowed scores (stable: minus their maximum); masked weights are 0,
 * and a row with no allowed key is all zeros, never NaN. */
export function maskedSoftmax(scores, allowed) {
  const kept = scores.filter((_, j) => allowed[j]);
  if (kept.length === 0) return scores.map(() => 0);
  const top = Math.max(...kept);
  const exps = scores.map((s, j) => (allowed[j] ? Math.exp(s - top) : 0));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/** One head: embeddings (S x D), its projections wq, wk (D x Dh) and biases bq, bk (Dh),
 * the query row, the move added to its query (Dh), and the allowed keys (S booleans).
 * Returns {projected, query, keys, scores, weights}: the query before and after the move
 * (Dh), the keys (S x Dh), the scaled scores q . k_j / sqrt(Dh) and the weights (S). */
export function headWeights(embeddings, wq, bq, wk, bk, queryIndex, offset, allowed) {
  const projected = project(embeddings[queryIndex], wq, bq);
  const query = projected.map((v, c) => v + offset[c]);
  const keys = embeddings.map((x) => project(x, wk, bk));
  const scale = 1 / Math.sqrt(query.length);
  const scores = keys.map((k) => k.reduce((sum, kc, c) => sum + kc * query[c], 0) * scale);
  return { projected, query, keys, scores, weights: maskedSoftmax(scores, allowed) };
}

/** Every head from the traits (an object holding them): {allowed (S), heads (H results
 * of headWeights), weights (H x S), average (S)}. The move applies to the selected head. */
export function attendAll(t) {
  const allowed = keyMask(t.mask_mode, t.tokens.length, t.query_index, t.padding_length);
  const heads = t.w_query.map((wq, h) => headWeights(t.embeddings, wq, t.b_query[h], t.w_key[h], t.b_key[h],
    t.query_index, h === t.head ? t.query_offset : wq[0].map(() => 0), allowed));
  const weights = heads.map((r) => r.weights);
  const average = t.tokens.map((_, j) => weights.reduce((sum, w) => sum + w[j], 0) / weights.length);
  return { allowed, heads, weights, average };
}

/** What the readout says, e.g. "head 2, query 'walk', mask causal: the 0.36, ..., on masked". */
export function describe(t, result) {
  const selected = t.head >= 0;
  const who = selected ? `head ${t.head + 1}` : `average of ${t.w_query.length} heads`;
  const row = selected ? result.weights[t.head] : result.average;
  const [dx, dy] = selected ? t.query_offset.map(fmt) : ["0.00", "0.00"];
  const moved = dx !== "0.00" || dy !== "0.00" ? ` moved by (${dx}, ${dy})` : "";
  const mask = t.mask_mode === "padding" ? `padding (${t.padding_length} real tokens)` : t.mask_mode;
  const pairs = t.tokens.map((name, j) => `${name} ${result.allowed[j] ? fmt(row[j]) : "masked"}`);
  return `${who}, query '${t.tokens[t.query_index]}'${moved}, mask ${mask}: ${pairs.join(", ")}`;
}

// ---- The view: built once, redrawn from the traits ---------------------------

/** Keys drawn as one arrow per distinct (vector, masked) pair, labelled with their tokens:
 * [{vector, masked, text}], the masked ones first (drawn underneath). */
function groupKeys(keys, tokens, allowed) {
  const groups = new Map();
  keys.forEach((k, j) => {
    const id = `${!allowed[j]}:${k.map((v) => v.toFixed(6)).join(",")}`;
    if (!groups.has(id)) groups.set(id, { vector: k, masked: !allowed[j], names: [] });
    if (!groups.get(id).names.includes(tokens[j])) groups.get(id).names.push(tokens[j]);
  });
  return [...groups.values()].sort((a, b) => b.masked - a.masked).map((g) => ({ ...g, text: g.names.join(", ") }));
}

const headColour = (h) => (h < 0 ? AVERAGE_COLOUR : seriesColour(h));
const traits = (model) => Object.fromEntries(INPUTS.map((t) => [t, model.get(t)]));
let instances = 0;                                                 // radio group names, unique on the page

/** The parts that stay: the mask's chips and the padding slider, the plane with the query
 * (and its start, the ghost), the bars' box, the readout. */
function build(el) {
  const id = `mh${++instances}`;
  const root = card(el, "mh-explorer");
  const controls = html("div", { class: "mh-controls" }, root);
  const maskChips = radios(controls, id, "Mask", "mh-mask", MASK_MODES);
  const paddingLabel = html("label", { class: "mh-padding" }, controls, "real tokens ");
  const slider = html("input", { type: "range", class: "ex-ring", min: 1, step: 1, ...FOCUSABLE }, paddingLabel);
  const paddingValue = html("span", { class: "mh-padding-value", "aria-hidden": "true" }, paddingLabel);
  const main = html("div", { class: "mh-main" }, root);
  const planeBox = html("div", { class: "ex-plane mh-plane", role: "group" }, main);
  const planeTitle = html("div", { class: "mh-plane-title" }, planeBox);
  const canvas = html("div", { class: "mh-canvas" }, planeBox);      // the drawing, and the handle over it
  const plane = new Plane(canvas, PLANE);
  const ghost = makeArrow(plane.arrows, plane.labels, "mh-ghost");   // the query before the move
  const query = makeArrow(plane.arrows, plane.labels, "mh-query-arrow");
  const note = html("div", { class: "mh-note" }, canvas);
  const handle = makeHandle(canvas, "mh-query", "0");
  const side = html("div", { class: "mh-side" }, main);
  const barsTitle = html("div", { class: "mh-bars-title" }, side);
  const bars = html("div", { class: "mh-bars", role: "list" }, side);
  const readout = readoutLine(root, "mh-readout");
  html("div", { class: "ex-hint mh-hint" }, root, HINT);
  saveControl(root, "multihead");
  return { id, controls, maskChips, paddingLabel, slider, paddingValue, planeBox, planeTitle, plane, ghost, query,
    note, handle, barsTitle, bars, readout, tokenChips: [], headChips: [], barRows: [], keyArrows: [], shape: "", fitted: 0 };
}

/** A labelled group of radio buttons, drawn as chips; options: [[value, text]]. */
function radios(parent, id, legend, className, options) {
  const group = html("div", { class: `mh-group ${className}-group`, role: "radiogroup" }, parent);
  html("span", { class: "mh-legend", id: `${id}-${className}` }, group, legend);
  group.setAttribute("aria-labelledby", `${id}-${className}`);
  return options.map(([value, text]) => {
    const label = html("label", { class: "mh-chip" }, group);
    const input = html("input", { type: "radio", name: `${id}-${className}`, class: className, value, ...FOCUSABLE }, label);
    return { label, input, span: html("span", {}, label, text) };
  });
}

/** The chips that depend on the tokens and the heads: the query word's, the head's. */
function rebuildChips(view, tokens, H) {
  view.controls.querySelectorAll(".mh-token-group, .mh-head-group").forEach((g) => g.remove());
  view.tokenChips = radios(view.controls, view.id, "Query", "mh-token", tokens.map((t, j) => [j, t]));
  const heads = [...Array.from({ length: H }, (_, h) => [h, `Head ${h + 1}`]), [-1, "Average"]];
  view.headChips = radios(view.controls, view.id, "Head", "mh-head", heads);
  view.headChips.forEach(({ span }, i) => {
    const swatch = html("span", { class: "mh-swatch", "aria-hidden": "true" });
    swatch.style.background = headColour(i < H ? i : -1);
    span.prepend(swatch);
  });
  view.controls.prepend(view.tokenChips[0].label.parentNode, view.headChips[0].label.parentNode);
  view.slider.max = tokens.length;
}

/** Small multiples: a header of the keys, then a row of bars per head and one for the average. */
function rebuildBars(view, tokens, H) {
  view.bars.replaceChildren();
  view.bars.style.setProperty("--mh-keys", tokens.length);
  const header = html("div", { class: "mh-bar-row mh-bar-header", "aria-hidden": "true" }, view.bars);
  html("span", {}, header);
  tokens.forEach((t) => html("span", { class: "mh-bar-token", title: t }, header, t));
  view.barRows = [...Array.from({ length: H }, (_, h) => h), -1].map((h) => {
    const row = html("div", { class: "mh-bar-row", role: "listitem" }, view.bars);
    row.dataset.head = h < 0 ? "average" : String(h);
    html("span", { class: "mh-bar-head", "aria-hidden": "true" }, row, h < 0 ? "Average" : `Head ${h + 1}`);
    const cells = tokens.map((_, j) => {
      const cell = html("span", { class: "mh-bar", "aria-hidden": "true" }, row);
      cell.dataset.key = String(j);
      const fill = html("span", { class: "mh-bar-fill" }, html("span", { class: "mh-bar-track" }, cell));
      fill.style.background = headColour(h);
      return { cell, fill, value: html("span", { class: "mh-bar-value" }, cell) };
    });
    return { row, cells, h };
  });
}

/** Redraw everything from the model. */
function update(view, model) {
  const t = traits(model), result = attendAll(t);
  const shape = `${t.tokens.join("\u0000")}|${t.w_query.length}`;
  if (view.shape !== shape) {
    view.shape = shape;
    rebuildChips(view, t.tokens, t.w_query.length);
    rebuildBars(view, t.tokens, t.w_query.length);
  }
  updateControls(view, t);
  updateBars(view, t, result);
  updatePlane(view, t, result);
  updateAria(view, t, result);
}

function updateControls(view, t) {
  const padded = (j) => t.mask_mode === "padding" && j >= t.padding_length;
  view.tokenChips.forEach(({ input, label }, j) => {
    input.checked = j === t.query_index;
    label.classList.toggle("mh-padded", padded(j));
    label.title = padded(j) ? "padding" : "";
  });
  view.headChips.forEach(({ input }) => { input.checked = Number(input.value) === t.head; });
  view.maskChips.forEach(({ input }) => { input.checked = input.value === t.mask_mode; });
  view.paddingLabel.classList.toggle("mh-hidden", t.mask_mode !== "padding");
  view.slider.value = t.padding_length;
  view.slider.setAttribute("aria-valuetext", `${t.padding_length} real tokens, ${t.tokens.length - t.padding_length} padding`);
  view.paddingValue.textContent = String(t.padding_length);
}

/** One row per head, then the average; masked keys hatched with weight 0. */
function updateBars(view, t, result) {
  view.barsTitle.textContent = `Weights of the query '${t.tokens[t.query_index]}' over the keys`;
  for (const { row, cells, h } of view.barRows) {
    const w = h < 0 ? result.average : result.weights[h];
    row.classList.toggle("mh-selected", h === t.head);
    cells.forEach(({ cell, fill, value }, j) => {
      cell.dataset.weight = String(w[j]);
      cell.classList.toggle("mh-masked", !result.allowed[j]);
      fill.style.height = `${100 * w[j]}%`;
      value.textContent = result.allowed[j] ? fmt(w[j]) : "0";
    });
    const pairs = t.tokens.map((name, j) => `${name} ${result.allowed[j] ? fmt(w[j]) : "masked"}`);
    row.setAttribute("aria-label", `${h < 0 ? "Average" : `Head ${h + 1}`}: ${pairs.join(", ")}`);
  }
}

/** The plane of the selected head; for the average, a note instead. */
function updatePlane(view, t, result) {
  const h = t.head, H = t.w_query.length;
  fitPlane(view, t, result);
  view.planeBox.classList.toggle("mh-average", h < 0);
  view.note.textContent = h < 0 ? `The average of the ${H} heads' weights (what the layer returns by default). ` +
    "Each head has its own plane: pick a head to see it." : "";
  view.planeTitle.textContent = h < 0 ? "Average of the heads" : `Head ${h + 1}: its keys and the query '${t.tokens[t.query_index]}'`;
  view.keyArrows.forEach(removeArrow);
  view.keyArrows = [];
  if (h >= 0) drawHead(view, t, result);
}

/** The plane fits every head's keys and queries; it grows to fit a move set from Python,
 * but never under a drag (drags are clamped to it). */
function fitPlane(view, t, result) {
  const queries = t.w_query.flatMap((wq, k) => t.embeddings.map((x) => project(x, wq, t.b_query[k])));
  const fit = extentFor(Math.max(...[...result.heads.flatMap((r) => r.keys), ...queries].flat().map(Math.abs)));
  const tip = t.head >= 0 ? result.heads[t.head].query : [0, 0];
  if (fit !== view.fitted || Math.max(...tip.map(Math.abs)) > view.plane.extent) {
    view.fitted = fit;
    view.plane.setExtent(Math.max(fit, extentFor(Math.max(...tip.map(Math.abs)))));
  }
}

/** Head h's keys (grouped where they coincide), its query, and the query's start if it moved. */
function drawHead(view, t, result) {
  const { plane, ghost, query } = view, h = t.head, r = result.heads[h], origin = plane.toPixels([0, 0]);
  const item = (arrow, vector, text, colour) => {
    const tip = plane.toPixels(vector);
    paintArrow(arrow, colour);
    return { label: arrow.label, text, tip, direction: placeArrow(arrow, origin, tip) };
  };
  const keyItems = groupKeys(r.keys, t.tokens, result.allowed).map((group) => {
    const arrow = makeArrow(plane.keys, plane.labels, group.masked ? "mh-key-arrow mh-masked" : "mh-key-arrow");
    arrow.label.classList.toggle("mh-masked", group.masked);       // a masked key's label is muted too
    view.keyArrows.push(arrow);
    return item(arrow, group.vector, group.text, group.masked ? MASKED_COLOUR : headColour(h));
  });
  const moved = t.query_offset.some((v) => v !== 0);
  ghost.group.style.display = moved ? "" : "none";
  ghost.label.textContent = "";
  const ghostItem = item(ghost, r.projected, "before", QUERY_COLOUR);
  const queryItem = item(query, r.query, `q ${t.tokens[t.query_index]}`, QUERY_COLOUR);
  const far = Math.hypot(ghostItem.tip[0] - queryItem.tip[0], ghostItem.tip[1] - queryItem.tip[1]) > GHOST_LABEL_DISTANCE;
  plane.placeLabels([queryItem, ...(moved && far ? [ghostItem] : []), ...keyItems.reverse()], origin);  // most important first
  plane.moveHandle(view.handle, r.query);
}

/** What the readout, the plane and the query's handle say. */
function updateAria(view, t, result) {
  say(view.readout, describe(t, result));
  const h = t.head, token = t.tokens[t.query_index];
  if (h < 0) {
    view.planeBox.setAttribute("aria-label", `No plane for the average of the ${t.w_query.length} heads; pick a head.`);
    return;
  }
  const r = result.heads[h];
  view.handle.setAttribute("aria-label", `query '${token}' of head ${h + 1} at (${fmt(r.query[0])}, ` +
    `${fmt(r.query[1])}), moved by (${fmt(t.query_offset[0])}, ${fmt(t.query_offset[1])}); arrow keys move it`);
  const keyList = r.keys.map((k, j) => `${t.tokens[j]} at (${fmt(k[0])}, ${fmt(k[1])})${result.allowed[j] ? "" : " masked"}`);
  view.planeBox.setAttribute("aria-label", `Plane of head ${h + 1}. Query '${token}' at (${fmt(r.query[0])}, ` +
    `${fmt(r.query[1])}). Keys: ${keyList.join("; ")}.`);
}

// ---- Changes made in the view ---------------------------------------------------

/** Set `changes` with the results and send them to Python (if any). */
function commit(model, changes) {
  for (const [trait, value] of Object.entries(changes)) model.set(trait, value);
  const { weights, average } = attendAll(traits(model));
  model.set("weights", weights);
  model.set("average", average);
  model.save_changes();
}

const queryTip = (model) => attendAll(traits(model)).heads[model.get("head")].query;

/** Move the selected head's query tip to `at` (clamped to the plane); the move snaps. */
function moveTo(view, model, at) {
  const h = model.get("head");
  if (h < 0) return;
  const t = traits(model), { extent } = view.plane;
  const projected = project(t.embeddings[t.query_index], t.w_query[h], t.b_query[h]);
  const offset = at.map((v, c) => snap(clamp(v, -extent, extent) - projected[c]));
  if (offset[0] !== t.query_offset[0] || offset[1] !== t.query_offset[1]) commit(model, { query_offset: offset });
}

/** On the query's handle: arrow keys move it (Shift: fine steps), 0 puts it back. */
function onKey(view, model, event) {
  if (withModifier(event)) return;
  const move = keyStep(event);
  if (move && model.get("head") >= 0) {                       // the average has no query to move
    const tip = queryTip(model);
    moveTo(view, model, [tip[0] + move[0], tip[1] + move[1]]);
  } else if (event.key === "0") {
    if (model.get("query_offset").some((v) => v !== 0)) commit(model, { query_offset: [0, 0] });
  } else {
    return;
  }
  consume(event);
}

function listen(view, model) {
  const { handle, slider } = view;
  dragTips(view.planeBox, view.plane, view.readout, {
    grab: (event) => (model.get("head") < 0 ? null : { onHandle: event.target === handle, tip: queryTip(model) }),
    press({ onHandle }, at) {
      handle.focus({ preventScroll: true, focusVisible: false });  // no focus ring for the mouse
      if (!onHandle) moveTo(view, model, at);                       // a press on the plane moves q there
    },
    move: (_, at) => moveTo(view, model, at),
  });
  handle.addEventListener("keydown", (event) => onKey(view, model, event));
  // Picking another word or head puts the query back where its projection is.
  view.controls.addEventListener("change", (event) => {
    const { classList, value } = event.target;
    if (classList.contains("mh-token")) commit(model, { query_index: Number(value), query_offset: [0, 0] });
    if (classList.contains("mh-head")) commit(model, { head: Number(value), query_offset: [0, 0] });
    if (classList.contains("mh-mask")) commit(model, { mask_mode: value });
  });
  slider.addEventListener("input", () => commit(model, { padding_length: Number(slider.value) }));
}

export default defineView({ traits: INPUTS, build, listen, update });
