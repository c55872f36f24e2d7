// Multi-head attention explorer: pick a head and a query word, drag the query in
// that head's plane, and watch the weights of every head:
//   q = x_i W_Q^h + b_Q^h (+ the learner's move),   k_j = x_j W_K^h + b_K^h,
//   weights^h = masked softmax over the keys j of q . k_j / sqrt(Dh),
// with the mask none, padding (keys j >= padding_length) or causal (keys j > i).
// Plain SVG and DOM, no dependencies, no bundler.
//
// The view computes what it draws from the synced traits (tokens, embeddings,
// w_query, w_key, b_query, b_key, head, query_index, query_offset, mask_mode,
// padding_length), so it stays live in a static page with no kernel. Changes
// made here are written back with the results (weights, average); save_changes()
// sends them to Python when there is a kernel and does nothing otherwise.
// Importing this module touches no DOM (its maths is tested under node).

// ---- Sizes, in SVG user units (= CSS px when the plane is shown at full size)
const PLANE = 340;                     // side of the square plane
const PAD = 28;                        // margin around it: tick labels and arrow labels
const VIEW = PLANE + 2 * PAD;          // side of the SVG viewBox
const EXTENT_MIN = 2;                  // the plane shows at least [-2, 2] x [-2, 2]
const EXTENT_MARGIN = 1.15;            // room left around the longest vector
const TICKS_PER_HALF_AXIS = 4;         // about this many grid lines from 0 to the edge
const HEAD_LENGTH = 12;                // arrowhead length
const HEAD_HALF_WIDTH = 6;             // arrowhead half width
const HANDLE_RADIUS = 14;              // the query's grab area (see .mh-query in the CSS)
const GHOST_LABEL_DISTANCE = 48;       // the query's start is labelled once the query is this far away
const FONT_SIZE = 14;
const TICK_FONT_SIZE = 10;

// ---- Motion of the query: the move (query_offset) snaps to multiples of 1 / SNAP.
const STEP = 0.25;                     // arrow key
const FINE_STEP = 0.05;                // Shift + arrow key
const SNAP = 20;

// ---- Colours: the Okabe-Ito palette, safe for colour-blind readers
const OKABE_ITO = {
  black: "#000000", orange: "#E69F00", skyBlue: "#56B4E9", green: "#009E73",
  yellow: "#F0E442", blue: "#0072B2", vermillion: "#D55E00", purple: "#CC79A7",
};
const QUERY_COLOUR = OKABE_ITO.vermillion;
// One colour per head (keys in its plane, its bars); yellow is too pale on white.
const HEAD_COLOURS = [OKABE_ITO.blue, OKABE_ITO.green, OKABE_ITO.purple, OKABE_ITO.skyBlue, OKABE_ITO.orange];
const AVERAGE_COLOUR = OKABE_ITO.black;
const MASKED_COLOUR = "#9a9a9a";
const GRID_COLOUR = "#e4e4e4";
const AXIS_COLOUR = "#8a8a8a";
const TICK_COLOUR = "#666666";

const MASK_MODES = [["none", "None"], ["padding", "Padding"], ["causal", "Causal"]];
const INPUTS = ["tokens", "embeddings", "w_query", "w_key", "b_query", "b_key", "head", "query_index",
  "query_offset", "mask_mode", "padding_length"];
const SVG_NS = "http://www.w3.org/2000/svg";

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

/** Two decimals, and never "-0.00". */
export function fmt(x) {
  return (Math.abs(x) < 0.005 ? 0 : x).toFixed(2);
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

// ---- Drawing helpers -------------------------------------------------------

const snap = (v) => Math.round(v * SNAP) / SNAP;
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const headColour = (h) => (h < 0 ? AVERAGE_COLOUR : HEAD_COLOURS[h % HEAD_COLOURS.length]);

/** The half-width of the plane: at least EXTENT_MIN, with a margin around maxAbs. */
function extentFor(maxAbs) {
  return Math.max(EXTENT_MIN, Math.ceil(Math.min(maxAbs, 1e12) * EXTENT_MARGIN));
}

/** A round grid step (1, 2 or 5 times a power of ten) giving about TICKS_PER_HALF_AXIS lines. */
function gridStep(extent) {
  const raw = extent / TICKS_PER_HALF_AXIS;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw - 1e-12);
}

function element(namespace, tag, attributes = {}, parent = null) {
  const node = namespace ? document.createElementNS(namespace, tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (parent) parent.append(node);
  return node;
}
const svg = (tag, attributes, parent) => element(SVG_NS, tag, attributes, parent);
const html = (tag, attributes, parent) => element(null, tag, attributes, parent);

/** An arrow from the origin (SVG parts in `layer`, its label in `labelLayer`). */
function makeArrow(layer, labelLayer, className) {
  const group = svg("g", { class: `mh-arrow ${className}` }, layer);
  const shaft = svg("line", { "stroke-width": 3, "stroke-linecap": "round" }, group);
  const head = svg("polygon", {}, group);
  const dot = svg("circle", { r: 4 }, group);                      // shown for a zero vector
  const label = svg("text", {
    class: "mh-label", "font-size": FONT_SIZE, "text-anchor": "middle", "dominant-baseline": "central",
  }, labelLayer);
  return { group, shaft, head, dot, label };
}

/** Draw `arrow` from pixel point `from` to `to` in `colour`; returns its unit direction. */
function placeArrow(arrow, from, to, colour) {
  const [x0, y0] = from, [x1, y1] = to;
  const length = Math.hypot(x1 - x0, y1 - y0);
  const [ux, uy] = length > 0.5 ? [(x1 - x0) / length, (y1 - y0) / length] : [0.6, -0.8];
  const head = Math.min(HEAD_LENGTH, length);
  const [bx, by] = [x1 - ux * head, y1 - uy * head];                // base of the head
  const [nx, ny] = [-uy * HEAD_HALF_WIDTH, ux * HEAD_HALF_WIDTH];    // normal, half width
  Object.entries({ x1: x0, y1: y0, x2: bx, y2: by }).forEach(([k, v]) => arrow.shaft.setAttribute(k, v.toFixed(1)));
  arrow.head.setAttribute("points", [[x1, y1], [bx + nx, by + ny], [bx - nx, by - ny]]
    .map((p) => p.map((v) => v.toFixed(1)).join(",")).join(" "));
  arrow.dot.setAttribute("cx", x1.toFixed(1));
  arrow.dot.setAttribute("cy", y1.toFixed(1));
  arrow.dot.style.display = length > 0.5 ? "none" : "";
  arrow.shaft.setAttribute("stroke", colour);
  arrow.head.setAttribute("fill", colour);
  arrow.dot.setAttribute("fill", colour);
  arrow.label.setAttribute("fill", colour);
  return [ux, uy];
}

/** Put each label near its arrow's tip, in the free spot closest to the arrow's direction.
 * items: [{label, text, tip: [x, y], direction: [ux, uy]}] in pixels, most important first. */
function placeLabels(items, origin) {
  const placed = [];                                               // boxes [x0, y0, x1, y1]
  const overlap = (a, b) => Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])) *
    Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inside = ([x, y], box, margin) => x > box[0] - margin && x < box[2] + margin && y > box[1] - margin && y < box[3] + margin;
  const cost = (box, turns) => {
    let c = 6 * Math.abs(turns);                                   // prefer the spot beyond the tip
    c += placed.reduce((sum, other) => sum + overlap(box, other), 0);  // labels already placed
    if (box[0] < 0 || box[1] < 0 || box[2] > VIEW || box[3] > VIEW) c += 1e4;  // outside the drawing
    for (const { tip } of items) {
      if (inside(tip, box, HANDLE_RADIUS)) c += 400;               // on an arrowhead
      for (let t = 0.1; t < 1; t += 0.1) {                         // across a shaft
        if (inside([origin[0] + t * (tip[0] - origin[0]), origin[1] + t * (tip[1] - origin[1])], box, 1)) c += 25;
      }
    }
    return c;
  };
  for (const { label, text, tip, direction } of items) {
    const [halfW, halfH] = [0.31 * FONT_SIZE * text.length + 2, 0.5 * FONT_SIZE + 1];
    let best = null;
    for (const turns of [0, 1, -1, 2, -2, 3, -3, 4]) {            // 8 spots around the tip, 45 degrees apart
      const angle = (turns * Math.PI) / 4;
      const [dx, dy] = [direction[0] * Math.cos(angle) - direction[1] * Math.sin(angle),
        direction[0] * Math.sin(angle) + direction[1] * Math.cos(angle)];
      const reach = HANDLE_RADIUS + 6 + Math.min(halfW / Math.max(Math.abs(dx), 1e-9), halfH / Math.max(Math.abs(dy), 1e-9));
      const [cx, cy] = [tip[0] + dx * reach, tip[1] + dy * reach];
      const box = [cx - halfW, cy - halfH, cx + halfW, cy + halfH];
      const c = cost(box, turns);
      if (!best || c < best.c) best = { c, cx, cy, box };
    }
    placed.push(best.box);
    label.setAttribute("x", best.cx.toFixed(1));
    label.setAttribute("y", best.cy.toFixed(1));
    label.textContent = text;
  }
}

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

let instances = 0;                                                 // radio group names, unique on the page

// ---- The view ------------------------------------------------------------

function render({ model, el }) {
  const id = `mh${++instances}`;
  const root = html("div", { class: "mh-explorer" }, el);
  const controls = html("div", { class: "mh-controls" }, root);

  /** A labelled group of radio buttons; options: [[value, text]]. */
  const radios = (legend, className, options) => {
    const group = html("div", { class: `mh-group ${className}-group`, role: "radiogroup" }, controls);
    html("span", { class: "mh-legend", id: `${id}-${className}` }, group).textContent = legend;
    group.setAttribute("aria-labelledby", `${id}-${className}`);
    return options.map(([value, text]) => {
      const label = html("label", { class: "mh-chip" }, group);
      const input = html("input", { type: "radio", name: `${id}-${className}`, class: className, value,
        "data-lm-suppress-shortcuts": "" }, label);
      const span = html("span", {}, label);
      span.textContent = text;
      return { label, input, span };
    });
  };
  let tokenChips = [], headChips = [], barRows = [], keyArrows = [];
  const maskChips = radios("Mask", "mh-mask", MASK_MODES);
  const paddingLabel = html("label", { class: "mh-padding" }, controls);
  paddingLabel.append("real tokens ");
  const slider = html("input", { type: "range", min: 1, step: 1, "data-lm-suppress-shortcuts": "" }, paddingLabel);
  const paddingValue = html("span", { class: "mh-padding-value", "aria-hidden": "true" }, paddingLabel);

  const main = html("div", { class: "mh-main" }, root);
  const plane = html("div", { class: "mh-plane", role: "group" }, main);
  const planeTitle = html("div", { class: "mh-plane-title" }, plane);
  const canvas = html("div", { class: "mh-canvas" }, plane);        // the drawing, and the handle over it
  const drawing = svg("svg", { viewBox: `0 0 ${VIEW} ${VIEW}`, "aria-hidden": "true" }, canvas);
  const gridLayer = svg("g", { class: "mh-grid" }, drawing);
  const keyLayer = svg("g", {}, drawing);
  const labelLayer = svg("g", {}, null);                            // appended last: on top
  const ghost = makeArrow(drawing, labelLayer, "mh-ghost");         // the query before the move
  const query = makeArrow(drawing, labelLayer, "mh-query-arrow");
  drawing.append(labelLayer);
  const note = html("div", { class: "mh-note" }, canvas);
  const handle = html("div", {
    class: "mh-query", tabindex: 0, role: "button", "data-lm-suppress-shortcuts": "",
    "aria-roledescription": "movable arrow",
    "aria-keyshortcuts": "ArrowUp ArrowDown ArrowLeft ArrowRight Shift+ArrowUp Shift+ArrowDown " +
      "Shift+ArrowLeft Shift+ArrowRight 0",
  }, canvas);

  const side = html("div", { class: "mh-side" }, main);
  const barsTitle = html("div", { class: "mh-bars-title" }, side);
  const bars = html("div", { class: "mh-bars", role: "list" }, side);
  const readout = html("div", { class: "mh-readout", "aria-live": "polite", "aria-atomic": "true" }, root);
  html("div", { class: "mh-hint" }, root).textContent =
    "Pick a query word, a head and a mask. Drag the query's tip (or click the plane) to move it; " +
    "keyboard: Tab to the query, arrow keys move it (Shift: fine steps), 0 puts it back.";

  let extent = 0, fitted = 0, drag = null, shape = "";
  const traits = () => Object.fromEntries(INPUTS.map((t) => [t, model.get(t)]));
  const toPixels = ([x, y]) => [PAD + ((x + extent) / (2 * extent)) * PLANE, PAD + ((extent - y) / (2 * extent)) * PLANE];
  const fromPointer = (event) => {
    const box = drawing.getBoundingClientRect();
    const [px, py] = [((event.clientX - box.left) * VIEW) / box.width, ((event.clientY - box.top) * VIEW) / box.height];
    return [((px - PAD) / PLANE) * 2 * extent - extent, extent - ((py - PAD) / PLANE) * 2 * extent];
  };

  function drawGrid() {
    gridLayer.replaceChildren();
    const step = gridStep(extent);
    const n = Math.min(Math.floor(extent / step + 1e-9), 50);
    for (let i = -n; i <= n; i++) {
      const [px, py] = toPixels([i * step, i * step]);
      const colour = i === 0 ? AXIS_COLOUR : GRID_COLOUR;
      svg("line", { x1: px, y1: PAD, x2: px, y2: PAD + PLANE, stroke: colour }, gridLayer);
      svg("line", { x1: PAD, y1: py, x2: PAD + PLANE, y2: py, stroke: colour }, gridLayer);
      const tick = String(+(i * step).toPrecision(6));
      const tickAttributes = { fill: TICK_COLOUR, "font-size": TICK_FONT_SIZE, "text-anchor": "middle" };
      svg("text", { ...tickAttributes, x: px, y: PAD + PLANE + 14 }, gridLayer).textContent = tick;
      svg("text", { ...tickAttributes, x: PAD - 14, y: py, "dominant-baseline": "central" }, gridLayer).textContent = tick;
    }
    svg("rect", { x: PAD, y: PAD, width: PLANE, height: PLANE, fill: "none", stroke: AXIS_COLOUR }, gridLayer);
  }

  /** The parts that depend on the number of tokens and heads: token chips, head chips, bar rows. */
  function rebuild(tokens, H) {
    controls.querySelectorAll(".mh-token-group, .mh-head-group").forEach((g) => g.remove());
    tokenChips = radios("Query", "mh-token", tokens.map((t, j) => [j, t]));
    headChips = radios("Head", "mh-head", [...Array.from({ length: H }, (_, h) => [h, `Head ${h + 1}`]), [-1, "Average"]]);
    headChips.forEach(({ span }, i) => { span.style.setProperty("--mh-swatch", headColour(i < H ? i : -1)); });
    controls.prepend(tokenChips[0].label.parentNode, headChips[0].label.parentNode);
    bars.replaceChildren();
    bars.style.setProperty("--mh-keys", tokens.length);
    const header = html("div", { class: "mh-bar-row mh-bar-header", "aria-hidden": "true" }, bars);
    html("span", {}, header);
    tokens.forEach((t) => { html("span", { class: "mh-bar-token", title: t }, header).textContent = t; });
    barRows = [...Array.from({ length: H }, (_, h) => h), -1].map((h) => {
      const row = html("div", { class: "mh-bar-row", role: "listitem" }, bars);
      row.dataset.head = h < 0 ? "average" : String(h);
      html("span", { class: "mh-bar-head", "aria-hidden": "true" }, row).textContent = h < 0 ? "Average" : `Head ${h + 1}`;
      const cells = tokens.map((_, j) => {
        const cell = html("span", { class: "mh-bar", "aria-hidden": "true" }, row);
        cell.dataset.key = String(j);
        const fill = html("span", { class: "mh-bar-fill" }, html("span", { class: "mh-bar-track" }, cell));
        fill.style.background = headColour(h);
        return { cell, fill, value: html("span", { class: "mh-bar-value" }, cell) };
      });
      return { row, cells, h };
    });
    slider.max = tokens.length;
  }

  /** Redraw everything from the model. */
  function update() {
    const t = traits(), result = attendAll(t);
    const { tokens, head: h, query_index: i } = t;
    const H = t.w_query.length;
    if (shape !== `${tokens.join("\u0000")}|${H}`) {
      shape = `${tokens.join("\u0000")}|${H}`;
      rebuild(tokens, H);
    }

    // Controls
    tokenChips.forEach(({ input, label }, j) => {
      input.checked = j === i;
      label.classList.toggle("mh-padded", t.mask_mode === "padding" && j >= t.padding_length);
      label.title = t.mask_mode === "padding" && j >= t.padding_length ? "padding" : "";
    });
    headChips.forEach(({ input }) => { input.checked = Number(input.value) === h; });
    maskChips.forEach(({ input }) => { input.checked = input.value === t.mask_mode; });
    paddingLabel.classList.toggle("mh-hidden", t.mask_mode !== "padding");
    slider.value = t.padding_length;
    slider.setAttribute("aria-valuetext", `${t.padding_length} real tokens, ${tokens.length - t.padding_length} padding`);
    paddingValue.textContent = String(t.padding_length);

    // Bars: one row per head, then the average; masked keys hatched with weight 0
    barsTitle.textContent = `Weights of the query '${tokens[i]}' over the keys`;
    for (const { row, cells, h: rowHead } of barRows) {
      const w = rowHead < 0 ? result.average : result.weights[rowHead];
      row.classList.toggle("mh-selected", rowHead === h);
      cells.forEach(({ cell, fill, value }, j) => {
        cell.dataset.weight = String(w[j]);
        cell.classList.toggle("mh-masked", !result.allowed[j]);
        fill.style.height = `${100 * w[j]}%`;
        value.textContent = result.allowed[j] ? fmt(w[j]) : "0";
      });
      const pairs = tokens.map((name, j) => `${name} ${result.allowed[j] ? fmt(w[j]) : "masked"}`);
      row.setAttribute("aria-label", `${rowHead < 0 ? "Average" : `Head ${rowHead + 1}`}: ${pairs.join(", ")}`);
    }
    const text = describe(t, result);
    if (readout.textContent !== text) readout.textContent = text;

    // The plane of the selected head (none for the average). It fits every head's keys and
    // queries; it grows to fit a move set from Python, but never under a drag (drags are clamped).
    const queries = t.w_query.flatMap((wq, k) => t.embeddings.map((x) => project(x, wq, t.b_query[k])));
    const fit = extentFor(Math.max(...[...result.heads.flatMap((r) => r.keys), ...queries].flat().map(Math.abs)));
    const tip = h >= 0 ? result.heads[h].query : [0, 0];
    if (fit !== fitted || Math.max(...tip.map(Math.abs)) > extent) {
      fitted = fit;
      extent = Math.max(fit, extentFor(Math.max(...tip.map(Math.abs))));
      drawGrid();
    }
    plane.classList.toggle("mh-average", h < 0);
    note.textContent = h < 0 ? `The average of the ${H} heads' weights (what the layer returns by default). ` +
      "Each head has its own plane: pick a head to see it." : "";
    planeTitle.textContent = h < 0 ? "Average of the heads" : `Head ${h + 1}: its keys and the query '${tokens[i]}'`;
    keyArrows.forEach((a) => { a.group.remove(); a.label.remove(); });
    keyArrows = [];
    if (h < 0) {
      plane.setAttribute("aria-label", `No plane for the average of the ${H} heads; pick a head.`);
      return;
    }
    const r = result.heads[h], origin = toPixels([0, 0]);
    const draw = (arrow, vector, text, colour) => {
      const to = toPixels(vector);
      return { label: arrow.label, text, tip: to, direction: placeArrow(arrow, origin, to, colour) };
    };
    const keyItems = groupKeys(r.keys, tokens, result.allowed).map((group) => {
      const arrow = makeArrow(keyLayer, labelLayer, group.masked ? "mh-key-arrow mh-masked" : "mh-key-arrow");
      keyArrows.push(arrow);
      return draw(arrow, group.vector, group.text, group.masked ? MASKED_COLOUR : headColour(h));
    });
    const moved = t.query_offset.some((v) => v !== 0);
    ghost.group.style.display = moved ? "" : "none";
    ghost.label.textContent = "";
    const ghostItem = draw(ghost, r.projected, "before", QUERY_COLOUR);
    const queryItem = draw(query, r.query, `q ${tokens[i]}`, QUERY_COLOUR);
    const far = Math.hypot(ghostItem.tip[0] - queryItem.tip[0], ghostItem.tip[1] - queryItem.tip[1]) > GHOST_LABEL_DISTANCE;
    placeLabels([queryItem, ...(moved && far ? [ghostItem] : []), ...keyItems.reverse()], origin);  // most important first
    const [px, py] = toPixels(r.query);
    handle.style.left = `${(100 * px) / VIEW}%`;
    handle.style.top = `${(100 * py) / VIEW}%`;
    handle.setAttribute("aria-label", `query '${tokens[i]}' of head ${h + 1} at (${fmt(r.query[0])}, ` +
      `${fmt(r.query[1])}), moved by (${fmt(t.query_offset[0])}, ${fmt(t.query_offset[1])}); arrow keys move it`);
    const keyList = r.keys.map((k, j) => `${tokens[j]} at (${fmt(k[0])}, ${fmt(k[1])})${result.allowed[j] ? "" : " masked"}`);
    plane.setAttribute("aria-label", `Plane of head ${h + 1}. Query '${tokens[i]}' at (${fmt(r.query[0])}, ` +
      `${fmt(r.query[1])}). Keys: ${keyList.join("; ")}.`);
  }

  /** A change made in this view: set it with the results and send it to Python (if any). */
  function commit(changes) {
    for (const [trait, value] of Object.entries(changes)) model.set(trait, value);
    const { weights, average } = attendAll(traits());
    model.set("weights", weights);
    model.set("average", average);
    model.save_changes();
  }

  /** Move the selected head's query tip to `at` (clamped to the plane); the move snaps. */
  function moveTo(at) {
    const h = model.get("head");
    if (h < 0) return;
    const t = traits();
    const projected = project(t.embeddings[t.query_index], t.w_query[h], t.b_query[h]);
    const offset = at.map((v, c) => snap(clamp(v, -extent, extent) - projected[c]));
    if (offset[0] !== t.query_offset[0] || offset[1] !== t.query_offset[1]) commit({ query_offset: offset });
  }

  plane.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || model.get("head") < 0) return;
    const onHandle = event.target === handle;
    const at = fromPointer(event), tip = attendAll(traits()).heads[model.get("head")].query;
    drag = { pointerId: event.pointerId, grab: onHandle ? [tip[0] - at[0], tip[1] - at[1]] : [0, 0] };
    plane.setPointerCapture(event.pointerId);
    event.preventDefault();                                    // no text selection, no scrolling
    readout.setAttribute("aria-live", "off");                  // no announcement at every step of a drag
    handle.focus({ preventScroll: true, focusVisible: false });  // no focus ring for the mouse
    if (!onHandle) moveTo(at);                                 // a click on the plane moves q there
  });
  plane.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const at = fromPointer(event);
    moveTo([at[0] + drag.grab[0], at[1] + drag.grab[1]]);
  });
  const endDrag = (event) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    drag = null;
    const text = readout.textContent;                          // announce the final state once
    readout.setAttribute("aria-live", "polite");
    readout.textContent = "";
    readout.textContent = text;
  };
  plane.addEventListener("pointerup", endDrag);
  plane.addEventListener("pointercancel", endDrag);
  plane.addEventListener("lostpointercapture", endDrag);

  handle.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const direction = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[event.key];
    if (direction) {
      const step = event.shiftKey ? FINE_STEP : STEP;
      const tip = attendAll(traits()).heads[model.get("head")].query;
      moveTo([tip[0] + direction[0] * step, tip[1] + direction[1] * step]);
    } else if (event.key === "0") {
      if (model.get("query_offset").some((v) => v !== 0)) commit({ query_offset: [0, 0] });
    } else {
      return;
    }
    event.preventDefault();                                    // no page scrolling
    event.stopPropagation();
  });
  // Picking another word or head puts the query back where its projection is.
  controls.addEventListener("change", (event) => {
    const { classList, value } = event.target;
    if (classList.contains("mh-token")) commit({ query_index: Number(value), query_offset: [0, 0] });
    if (classList.contains("mh-head")) commit({ head: Number(value), query_offset: [0, 0] });
    if (classList.contains("mh-mask")) commit({ mask_mode: value });
  });
  slider.addEventListener("input", () => commit({ padding_length: Number(slider.value) }));

  INPUTS.forEach((t) => model.on(`change:${t}`, update));
  update();
  return () => INPUTS.forEach((t) => model.off(`change:${t}`, update));
}

export default { render };
