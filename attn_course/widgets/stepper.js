// Decoding stepper: step through a model's greedy decoding one output token at a
// time and see, at each step, the output so far, the attention weights over the
// source tokens and the token chosen (with the top candidates, when given).
// Plain DOM, no dependencies, no bundler: the shared code (./shared/) is joined to
// this module in Python (_esm.py).
//
// The decodings were computed in Python and arrive as traits (examples, example,
// step, separator, title); the view draws everything from them, in the browser,
// so it stays live in a static page with no kernel. Stepping sets `step` (and
// picking an input sets `example`); save_changes() sends them to Python when there
// is a kernel and does nothing otherwise. Importing this module touches no DOM
// (it is tested under node).
import { FOCUSABLE, card, consume, defineView, html, readoutLine, say, withModifier } from "./shared/dom.js";
import { fmt } from "./shared/format.js";
import { saveControl } from "./shared/save.js";

// ---- Sizes, in CSS px
const CELL_MAX = 40;                   // widest input column (short inputs stay compact)
const CELL_MIN = 18;                   // narrowest input column (then the figure scrolls sideways)
const HEAT_ROW = 13;                   // height of one step's row in the heatmap of all steps
const HEAT_GAP = 8;                    // between the input row and the heatmap
const BAR_WIDTH = 110;                 // a candidate's probability bar at probability 1

// ---- Colours: all in the CSS (stepper.css, shared/theme.css), so they follow the theme.
// A weight w colours its cell through the CSS property --ds-w: a single-hue sequential
// ramp from --ex-heat-low (0) to --ex-heat-high (1) whose lightness changes steadily, so it
// reads the same in every kind of colour vision and in greyscale; in each theme one ink
// (--ex-heat-ink) reaches 4.5:1 on every weight.

const EOS = "</s>";

// ---- Pure helpers (exported for the tests) --------------------------------

/** A weight as printed in its cell: ".82", "1" for 1.00, "" below 0.005 (too small to read). */
export function cellText(w) {
  const text = fmt(w);
  return text === "0.00" ? "" : text === "1.00" ? "1" : text.slice(1);
}

/** A probability as printed beside its bar: two decimals, "<0.01" when it would print as 0.00 but is not 0. */
export function probabilityText(p) {
  return p > 0 && p < 0.005 ? "<0.01" : fmt(p);
}

/** How a token is drawn: a space as an open box, so it can be seen. */
export function shown(token) {
  return token === " " ? "\u2423" : token;
}

/** How a token is named in the readout: in quotes, or "space". */
function quote(text) {
  return text === " " ? "space" : `'${text}'`;
}

/** Index of the largest value (the first one on ties). */
export function argmax(values) {
  let best = 0;
  values.forEach((v, i) => { if (v > values[best]) best = i; });
  return best;
}

/** Colour `node` by weight w: the CSS property --ds-w, w clamped to [0, 1] (stepper.css mixes the colour). */
export function paintWeight(node, w) {
  node.style.setProperty("--ds-w", String(Math.min(1, Math.max(0, w))));
}

/** What the readout says at `step` (0-based) of `example` ({source, output, weights,
 * target?, top?}); `separator` joins output tokens into text ("" or " ").
 * Returns {text, argmax: the source index with the most weight, weight: its weight}. */
export function describeStep(example, step, separator = "") {
  const { source, output } = example, row = example.weights[step];
  const best = argmax(row);
  const soFar = output.slice(0, step).join(separator);
  let text = `step ${step + 1} of ${output.length}: output so far ${step ? quote(soFar) : "empty"}, ` +
    `chose ${quote(output[step])}`;
  if (example.top) text += ` (probability ${fmt(example.top[step][0][1])})`;
  text += `; most weight on input ${quote(source[best])} at position ${best + 1} of ${source.length} (${fmt(row[best])})`;
  if (step === output.length - 1 && example.target != null) {
    const verdict = writtenOutput(output, separator) === example.target ? "matches" : "differs from";
    text += `; the output ${verdict} the expected ${quote(example.target)}`;
  }
  return { text, argmax: best, weight: row[best] };
}

/** The output as text: its tokens joined, without the final </s>. */
function writtenOutput(output, separator) {
  return (output[output.length - 1] === EOS ? output.slice(0, -1) : output).join(separator);
}

// ---- The view: built once per example, redrawn from the traits ----------------

const TRAITS = ["examples", "example", "step", "separator", "title"];
const CAPTION = "Top row: this step's weights over the input, the largest framed. Below: the weights of every step so far, " +
  "one row per output token, this step's row framed.";
const HINT = "Step with the buttons or the slider; with focus in the explorer, \u2190 \u2192 step and Home / End jump " +
  "to the first and last step. Click a row of the grid to go to that step.";

/** The parts that stay: title, input picker, step controls, output so far, choice, figure, readout. */
function build(el) {
  const root = card(el, "ds-stepper");
  const title = html("div", { class: "ds-title" }, root);
  const toolbar = html("div", { class: "ds-toolbar" }, root);
  const pick = html("label", { class: "ds-pick" }, toolbar, "Input ");
  const select = html("select", { class: "ds-select", ...FOCUSABLE }, pick);
  const view = { root, title, select, ...buildControls(toolbar) };
  const decision = html("div", { class: "ds-decision" }, root);
  const soFarBox = html("div", { class: "ds-sofar" }, decision);
  html("span", { class: "ds-caption" }, soFarBox, "output, up to this step");
  view.tokens = html("div", { class: "ds-tokens" }, soFarBox);
  const choiceBox = html("div", { class: "ds-choice" }, decision);
  html("span", { class: "ds-caption" }, choiceBox, "chose");
  view.candidates = html("div", { class: "ds-candidates" }, choiceBox);
  view.figure = html("div", {
    class: "ds-figure", tabindex: 0, role: "group", ...FOCUSABLE, "aria-keyshortcuts": "ArrowLeft ArrowRight Home End",
  }, root);
  view.grid = html("div", { class: "ds-grid" }, view.figure);
  html("div", { class: "ds-figcaption" }, view.figure, CAPTION);
  view.target = html("div", { class: "ds-target" }, root);
  view.readout = readoutLine(root, "ds-readout");
  html("div", { class: "ex-hint ds-hint" }, root, HINT);
  saveControl(root, "stepper");
  return Object.assign(view, { shownExamples: null, shownIndex: -1, shownSeparator: null, cells: [], heatRows: [], rowFrame: null });
}

/** First, Previous, the step slider, Next, Last, and where we are. */
function buildControls(toolbar) {
  const controls = html("div", { class: "ds-controls", role: "group", "aria-label": "Decoding step" }, toolbar);
  const button = (className, text, label) =>
    html("button", { type: "button", class: `ds-button ${className}`, "aria-label": label, ...FOCUSABLE }, controls, text);
  const first = button("ds-first", "First", "First step");
  const prev = button("ds-prev", "\u25C0 Previous", "Previous step");
  const slider = html("input", { type: "range", class: "ds-slider", min: 0, step: 1, "aria-label": "Step", ...FOCUSABLE }, controls);
  const next = button("ds-next", "Next \u25B6", "Next step");
  const last = button("ds-last", "Last", "Last step");
  return { first, prev, slider, next, last, position: html("span", { class: "ds-position" }, controls) };
}

/** The grid of one example: a row of input cells (the current step's weights), a gap, then
 * one heatmap row per output step. Every item is placed explicitly, so that the frame of
 * the current row can lie over its cells. */
function buildGrid(view, example) {
  const { grid } = view, S = example.source.length, T = example.output.length;
  grid.replaceChildren();
  // Columns at least as wide as their token (and CELL_MIN, the cells' min-width), up to CELL_MAX to fill the width.
  grid.style.gridTemplateColumns = `max-content repeat(${S}, minmax(max-content, ${CELL_MAX}px))`;
  grid.style.gridTemplateRows = `auto ${HEAT_GAP}px repeat(${T}, ${HEAT_ROW}px)`;
  const place = (node, row, column, span = 1) => { node.style.gridArea = `${row} / ${column} / span 1 / span ${span}`; return node; };
  place(html("span", { class: "ds-rowlabel ds-input-label" }, grid, "input"), 1, 1);
  view.cells = example.source.map((token, j) => {
    const cell = place(html("div", { class: "ds-cell", role: "img" }, grid), 1, j + 2);
    cell.style.minWidth = `${CELL_MIN}px`;
    html("span", { class: "ds-char" }, cell, shown(token));
    return { cell, value: html("span", { class: "ds-value" }, cell), token };
  });
  view.heatRows = example.output.map((token, t) => {
    const label = place(html("span", { class: "ds-rowlabel ds-heat-label", "aria-hidden": "true" }, grid), t + 3, 1);
    label.dataset.step = t;
    const heat = Array.from({ length: S }, (_, j) => {
      const c = place(html("span", { class: "ds-heat", "aria-hidden": "true" }, grid), t + 3, j + 2);
      c.dataset.step = t;
      return c;
    });
    return { label, heat, token };
  });
  view.rowFrame = html("span", { class: "ds-row-frame", "aria-hidden": "true" }, grid);
  view.figure.setAttribute("aria-label", `Attention weights of ${T} output steps over ${S} input tokens`);
}

function buildOptions(view, examples, separator) {
  view.select.replaceChildren(...examples.map((e, i) => html("option", { value: i }, null, `${i + 1}. ${e.source.join(separator)}`)));
}

/** The example and the step shown, clamped into range. */
function current(model) {
  const examples = model.get("examples");
  const index = Math.min(Math.max(model.get("example"), 0), examples.length - 1);
  const example = examples[index];
  const step = Math.min(Math.max(model.get("step"), 0), example.output.length - 1);
  return { examples, index, example, step };
}

/** Redraw everything from the model. */
function update(view, model) {
  const { examples, index, example, step } = current(model);
  const separator = model.get("separator");
  if (examples !== view.shownExamples || separator !== view.shownSeparator) buildOptions(view, examples, separator);
  if (examples !== view.shownExamples || index !== view.shownIndex) buildGrid(view, example);
  Object.assign(view, { shownExamples: examples, shownIndex: index, shownSeparator: separator });
  view.title.textContent = model.get("title");
  view.title.hidden = !model.get("title");
  view.select.value = String(index);
  const { text, argmax: best } = describeStep(example, step, separator);
  updateControls(view, step, example.output.length);
  updateCells(view, example.weights[step], best);
  updateHeat(view, example, step);
  updateDecision(view, example, step);
  updateTarget(view, example, step, separator);
  say(view.readout, text);
}

function updateControls(view, step, T) {
  view.slider.max = T - 1;
  view.slider.value = step;
  view.slider.setAttribute("aria-valuetext", `step ${step + 1} of ${T}`);
  view.position.textContent = `step ${step + 1} / ${T}`;
  const { first, prev, next, last } = view;
  for (const [b, off] of [[first, step === 0], [prev, step === 0], [next, step === T - 1], [last, step === T - 1]]) {
    b.setAttribute("aria-disabled", String(off));   // not `disabled`: a focused button would lose focus
  }
}

/** The input cells: this step's weights, the largest framed. */
function updateCells(view, weights, best) {
  weights.forEach((w, j) => {
    const { cell, value, token } = view.cells[j];
    cell.dataset.weight = String(w);
    paintWeight(cell, w);
    cell.classList.toggle("ds-argmax", j === best);
    value.textContent = cellText(w);
    cell.title = `${shown(token)}: ${fmt(w)}`;
    cell.setAttribute("aria-label", `input ${quote(token)} at position ${j + 1}: weight ${fmt(w)}`);
  });
}

/** The heatmap of the steps so far, this step's row framed; later steps stay blank. */
function updateHeat(view, example, step) {
  view.heatRows.forEach(({ label, heat, token }, t) => {
    const reached = t <= step;
    label.textContent = reached ? shown(token) : "";
    label.classList.toggle("ds-current", t === step);
    heat.forEach((c, j) => {
      c.classList.toggle("ds-future", !reached);
      paintWeight(c, reached ? example.weights[t][j] : 0);
    });
  });
  view.rowFrame.style.gridArea = `${step + 3} / 2 / span 1 / span ${view.cells.length}`;
}

const tokenClass = (token, current) => `ds-token${current ? " ds-current" : ""}${token === EOS ? " ds-eos" : ""}`;

/** The output so far, the current token last; then the choice and its candidates. */
function updateDecision(view, example, step) {
  view.tokens.replaceChildren(...example.output.slice(0, step + 1).map((token, t) => {
    const node = html("span", { class: tokenClass(token, t === step) }, null, shown(token));
    node.title = `step ${t + 1}`;
    return node;
  }));
  const top = example.top ? example.top[step] : [[example.output[step], null]];
  view.candidates.replaceChildren(...top.map(([token, p], k) => {
    const row = html("div", { class: `ds-candidate${k === 0 ? " ds-chosen" : ""}` });
    html("span", { class: tokenClass(token, k === 0) }, row, shown(token));
    if (p !== null) {
      row.dataset.probability = String(p);
      const track = html("span", { class: "ds-track" }, row);
      track.style.width = `${BAR_WIDTH}px`;
      const bar = html("span", { class: "ds-bar" }, track);
      bar.style.width = `${Math.max(1, p * BAR_WIDTH)}px`;      // coloured by .ds-chosen in the CSS
      html("span", { class: "ds-probability" }, row, probabilityText(p));
    }
    return row;
  }));
}

/** The expected output and, at the last step, whether the output matches it. */
function updateTarget(view, example, step, separator) {
  const expected = example.target, { target } = view;
  target.hidden = expected == null;
  if (expected == null) return;
  const done = step === example.output.length - 1;
  const verdict = !done ? "" : writtenOutput(example.output, separator) === expected ? " \u2713 the output matches" : " \u2717 the output differs";
  target.textContent = `expected ${expected}${verdict}`;
  target.classList.toggle("ds-match", done && verdict.includes("matches"));
  target.classList.toggle("ds-differ", done && !verdict.includes("matches"));
}

// ---- Changes made in the view ---------------------------------------------------

/** Go to `step` (clamped) and send it to Python (if any). */
function go(model, step) {
  const { example, step: now } = current(model);
  step = Math.min(Math.max(step, 0), example.output.length - 1);
  if (step === now && model.get("step") === now) return;
  model.set("step", step);
  model.save_changes();
}

function listen(view, model) {
  const { first, prev, next, last, slider, select } = view;
  first.addEventListener("click", () => go(model, 0));
  prev.addEventListener("click", () => go(model, current(model).step - 1));
  next.addEventListener("click", () => go(model, current(model).step + 1));
  last.addEventListener("click", () => go(model, Infinity));
  slider.addEventListener("input", () => go(model, Number(slider.value)));
  select.addEventListener("change", () => {
    model.set("example", Number(select.value));
    model.set("step", 0);                  // a new input starts from its first step
    model.save_changes();
  });
  view.grid.addEventListener("click", (event) => {
    const hit = event.target.closest("[data-step]");
    if (hit) go(model, Number(hit.dataset.step));
  });
  view.root.addEventListener("keydown", (event) => {
    // The select and the slider handle their own arrow keys.
    if (event.target === select || event.target === slider || withModifier(event)) return;
    const { step } = current(model);
    const to = { ArrowLeft: step - 1, ArrowRight: step + 1, Home: 0, End: Infinity }[event.key];
    if (to === undefined) return;
    go(model, to);
    consume(event);
  });
}

export default defineView({ traits: TRAITS, build, listen, update });
