// Query/key explorer: drag a query q and the keys k_i on a plane and watch
//   weights = softmax(scale * [k_1.q, ..., k_S.q]),   output = sum_i weights_i k_i
// (the keys are also the values). Plain SVG and DOM, no dependencies, no bundler.
//
// The view computes what it draws from the synced traits (query, key_vectors,
// labels, scale, selected), so it stays live in a static page with no kernel.
// Changes made here are written back with the results (weights, output);
// save_changes() sends them to Python when there is a kernel and does nothing
// otherwise. Importing this module touches no DOM (it is tested under node).

// ---- Sizes, in SVG user units (= CSS px when the plane is shown at full size)
const PLANE = 360;                     // side of the square plane
const PAD = 30;                        // margin around it: tick labels and arrow labels
const VIEW = PLANE + 2 * PAD;          // side of the SVG viewBox
const EXTENT_MIN = 2;                  // the plane shows at least [-2, 2] x [-2, 2]
const EXTENT_MARGIN = 1.15;            // room left around the longest vector
const TICKS_PER_HALF_AXIS = 4;         // about this many grid lines from 0 to the edge
const HEAD_LENGTH = 12;                // arrowhead length
const HEAD_HALF_WIDTH = 6;             // arrowhead half width
const HANDLE_RADIUS = 14;              // the grab area around each tip (see .qk-handle in the CSS)
const FONT_SIZE = 14;
const TICK_FONT_SIZE = 10;

// ---- Motion: every position snaps to multiples of 1 / SNAP (0.05), so the
// numbers sent to Python stay short (0.35, not 0.3512849).
const STEP = 0.25;                     // arrow key
const FINE_STEP = 0.05;                // Shift + arrow key
const SNAP = 20;

// ---- The scale slider: min, max and step on an exact binary grid (see TOOLCHAIN)
const SCALE_MIN = 0.25;
const SCALE_MAX = 4;
const SCALE_STEP = 0.25;

// ---- Colours: the Okabe-Ito palette, safe for colour-blind readers
const OKABE_ITO = {
  black: "#000000", orange: "#E69F00", skyBlue: "#56B4E9", green: "#009E73",
  yellow: "#F0E442", blue: "#0072B2", vermillion: "#D55E00", purple: "#CC79A7",
};
const QUERY_COLOUR = OKABE_ITO.vermillion;
const OUTPUT_COLOUR = OKABE_ITO.black;
// Yellow is too pale on white for thin lines; keys past the fifth reuse the colours.
const KEY_COLOURS = [OKABE_ITO.blue, OKABE_ITO.green, OKABE_ITO.purple, OKABE_ITO.skyBlue, OKABE_ITO.orange];
const GRID_COLOUR = "#e4e4e4";
const AXIS_COLOUR = "#8a8a8a";
const TICK_COLOUR = "#666666";

const SVG_NS = "http://www.w3.org/2000/svg";

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

/** Two decimals, and never "-0.00". */
export function fmt(x) {
  return (Math.abs(x) < 0.005 ? 0 : x).toFixed(2);
}

const snap = (v) => Math.round(v * SNAP) / SNAP;
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

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
function makeArrow(layer, labelLayer, colour, className, dashed = false) {
  const group = svg("g", { class: `qk-arrow ${className}` }, layer);
  const shaft = svg("line", { stroke: colour, "stroke-width": 3, "stroke-linecap": "round" }, group);
  if (dashed) shaft.setAttribute("stroke-dasharray", "7 5");
  const head = svg("polygon", { fill: colour }, group);
  const dot = svg("circle", { r: 4, fill: colour }, group);        // shown for a zero vector
  const label = svg("text", {
    class: "qk-label", fill: colour, "font-size": FONT_SIZE, "text-anchor": "middle", "dominant-baseline": "central",
  }, labelLayer);
  return { group, shaft, head, dot, label };
}

/** Draw `arrow` from pixel point `from` to `to`; returns its unit direction (in pixels). */
function placeArrow(arrow, from, to) {
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

// ---- The view ------------------------------------------------------------

function render({ model, el }) {
  const root = html("div", { class: "qk-explorer" }, el);
  const plane = html("div", { class: "qk-plane", role: "group" }, root);
  const drawing = svg("svg", { viewBox: `0 0 ${VIEW} ${VIEW}`, "aria-hidden": "true" }, plane);
  const gridLayer = svg("g", { class: "qk-grid" }, drawing);
  const keyLayer = svg("g", {}, drawing);
  const labelLayer = svg("g", {}, null);                            // appended last: on top
  const output = makeArrow(drawing, labelLayer, OUTPUT_COLOUR, "qk-output", true);
  const query = makeArrow(drawing, labelLayer, QUERY_COLOUR, "qk-query-arrow");
  drawing.append(labelLayer);

  const side = html("div", { class: "qk-side" }, root);
  html("div", { class: "qk-title" }, side).textContent = "weights = softmax(scale · k·q)";
  const bars = html("div", { class: "qk-bars", role: "list" }, side);
  const scaleLabel = html("label", { class: "qk-scale" }, side);
  scaleLabel.append("scale ");
  const slider = html("input", {
    type: "range", min: SCALE_MIN, max: SCALE_MAX, step: SCALE_STEP, "data-lm-suppress-shortcuts": "",
  }, scaleLabel);
  const scaleValue = html("span", { class: "qk-scale-value", "aria-hidden": "true" }, scaleLabel);   // the slider announces its value
  const readout = html("div", { class: "qk-readout", "aria-live": "polite", "aria-atomic": "true" }, root);
  html("div", { class: "qk-hint" }, root).textContent =
    "Drag an arrow's tip, or click the plane to move q. Keyboard: Tab to an arrow, " +
    "arrow keys move it (Shift: fine steps), 0 picks q and 1-9 a key.";

  // Draggable, focusable handles at the arrows' tips: HTML, so the query stays on
  // top (z-index) while coming first in the Tab order.
  const makeHandle = (className, name) => {
    const handle = html("div", {
      class: `qk-handle ${className}`, tabindex: 0, role: "button", "data-lm-suppress-shortcuts": "",
      "aria-roledescription": "movable arrow",
      "aria-keyshortcuts": "ArrowUp ArrowDown ArrowLeft ArrowRight Shift+ArrowUp Shift+ArrowDown " +
        "Shift+ArrowLeft Shift+ArrowRight Q 0 1 2 3 4 5 6 7 8 9",
    }, plane);
    handle.dataset.name = name;
    return handle;
  };
  const queryHandle = makeHandle("qk-query", "query");
  let keyArrows = [], keyHandles = [], barRows = [];
  let extent = 0, drag = null;

  const toPixels = ([x, y]) => [PAD + ((x + extent) / (2 * extent)) * PLANE, PAD + ((extent - y) / (2 * extent)) * PLANE];
  const fromPointer = (event) => {
    const box = drawing.getBoundingClientRect();
    const [px, py] = [((event.clientX - box.left) * VIEW) / box.width, ((event.clientY - box.top) * VIEW) / box.height];
    return [((px - PAD) / PLANE) * 2 * extent - extent, extent - ((py - PAD) / PLANE) * 2 * extent];
  };
  const vectorOf = (name) => (name === "query" ? model.get("query") : model.get("key_vectors")[name]);
  const handleOf = (name) => (name === "query" ? queryHandle : keyHandles[name]);

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

  function rebuildKeys(count) {
    keyArrows.forEach((a) => { a.group.remove(); a.label.remove(); });
    keyHandles.forEach((h) => h.remove());
    barRows.forEach((r) => r.row.remove());
    const colour = (i) => KEY_COLOURS[i % KEY_COLOURS.length];
    keyArrows = Array.from({ length: count }, (_, i) => makeArrow(keyLayer, labelLayer, colour(i), "qk-key-arrow"));
    keyHandles = Array.from({ length: count }, (_, i) => makeHandle("qk-key", i));
    barRows = Array.from({ length: count }, (_, i) => {
      const row = html("div", { class: "qk-bar", role: "listitem" }, bars);
      const label = html("span", { class: "qk-bar-label" }, row);
      const fill = html("span", { class: "qk-bar-fill" }, html("span", { class: "qk-bar-track" }, row));
      fill.style.background = colour(i);
      const value = html("span", { class: "qk-bar-value" }, row);
      return { row, label, fill, value };
    });
  }

  /** Redraw everything from the model. */
  function update() {
    const [q, keys, labels, scale] = ["query", "key_vectors", "labels", "scale"].map((n) => model.get(n));
    const selected = model.get("selected");
    const { weights, output: out } = attend(q, keys, scale);
    const name = (i) => labels[i] ?? `k${i + 1}`;

    // The plane grows to fit what Python sets, never shrinks: it never rescales
    // under a drag (drags are clamped to it).
    const maxAbs = Math.max(...[q, out, ...keys].flat().map(Math.abs));
    if (extent === 0 || maxAbs > extent) {
      extent = extentFor(maxAbs);
      drawGrid();
    }
    if (keyArrows.length !== keys.length) rebuildKeys(keys.length);

    const origin = toPixels([0, 0]);
    const labelItems = [];
    const draw = (arrow, vector, text) => {
      const tip = toPixels(vector);
      labelItems.push({ label: arrow.label, text, tip, direction: placeArrow(arrow, origin, tip) });
    };
    const moveHandle = (handle, vector, text) => {
      const [px, py] = toPixels(vector);
      handle.style.left = `${(100 * px) / VIEW}%`;
      handle.style.top = `${(100 * py) / VIEW}%`;
      handle.setAttribute("aria-label", `${text} = (${fmt(vector[0])}, ${fmt(vector[1])}); arrow keys move it`);
    };
    keys.forEach((k, i) => {
      draw(keyArrows[i], k, name(i));
      moveHandle(keyHandles[i], k, `key ${name(i)}`);
      keyHandles[i].classList.toggle("qk-selected", selected === i);
      const bar = barRows[i];
      bar.row.dataset.weight = String(weights[i]);
      bar.label.textContent = name(i);
      bar.label.title = name(i);
      bar.fill.style.width = `${100 * weights[i]}%`;
      bar.value.textContent = fmt(weights[i]);
    });
    draw(output, out, "output");
    draw(query, q, "q");
    const [keyLabels, outputLabel, queryLabel] = [labelItems.slice(0, -2), ...labelItems.slice(-2)];
    placeLabels([queryLabel, outputLabel, ...keyLabels], origin);  // the most important first
    moveHandle(queryHandle, q, "query q");
    queryHandle.classList.toggle("qk-selected", selected === "query");

    slider.max = Math.max(SCALE_MAX, Math.ceil(scale));
    slider.value = scale;
    slider.setAttribute("aria-valuetext", `scale ${fmt(scale)}`);
    scaleValue.textContent = fmt(scale);
    const pairs = keys.map((_, i) => `${name(i)} ${fmt(weights[i])}`).join(", ");
    const text = `q = (${fmt(q[0])}, ${fmt(q[1])}) · weights: ${pairs} · output = (${fmt(out[0])}, ${fmt(out[1])})`;
    if (readout.textContent !== text) readout.textContent = text;
    const keyList = keys.map((k, i) => `${name(i)} at (${fmt(k[0])}, ${fmt(k[1])}) weight ${fmt(weights[i])}`);
    plane.setAttribute("aria-label", `Query and keys plane, scale ${fmt(scale)}. Query q at (${fmt(q[0])}, ${fmt(q[1])}). ` +
      `Keys: ${keyList.join("; ")}. Output at (${fmt(out[0])}, ${fmt(out[1])}).`);
  }

  /** A change made in this view: set it with the results and send it to Python (if any). */
  function commit(changes) {
    for (const [trait, value] of Object.entries(changes)) model.set(trait, value);
    const { weights, output: out } = attend(model.get("query"), model.get("key_vectors"), model.get("scale"));
    model.set("weights", weights);
    model.set("output", out);
    model.save_changes();
  }

  function moveTo(name, [x, y]) {
    const vector = [snap(clamp(x, -extent, extent)), snap(clamp(y, -extent, extent))];
    const old = vectorOf(name);
    if (vector[0] === old[0] && vector[1] === old[1]) return;
    if (name === "query") return commit({ query: vector });
    commit({ key_vectors: model.get("key_vectors").map((k, i) => (i === name ? vector : k)) });
  }

  const select = (name) => { if (model.get("selected") !== name) commit({ selected: name }); };
  const nameOf = (handle) => (handle.dataset.name === "query" ? "query" : Number(handle.dataset.name));

  plane.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    const handle = event.target.closest(".qk-handle");
    const name = handle ? nameOf(handle) : "query";           // a click on the plane moves q
    const at = fromPointer(event), tip = vectorOf(name);
    drag = { name, pointerId: event.pointerId, grab: handle ? [tip[0] - at[0], tip[1] - at[1]] : [0, 0] };
    plane.setPointerCapture(event.pointerId);
    event.preventDefault();                                    // no text selection, no scrolling
    readout.setAttribute("aria-live", "off");                  // no announcement at every step of a drag
    plane.querySelectorAll(".qk-keyboard").forEach((h) => h.classList.remove("qk-keyboard"));
    handleOf(name).focus({ preventScroll: true, focusVisible: false });  // no focus ring for the mouse
    select(name);
    if (!handle) moveTo(name, at);
  });
  plane.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const at = fromPointer(event);
    moveTo(drag.name, [at[0] + drag.grab[0], at[1] + drag.grab[1]]);
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

  plane.addEventListener("focusin", (event) => {
    if (event.target.classList.contains("qk-handle")) select(nameOf(event.target));
  });
  plane.addEventListener("keydown", (event) => {
    if (!event.target.classList.contains("qk-handle") || event.altKey || event.ctrlKey || event.metaKey) return;
    const name = nameOf(event.target);
    const direction = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[event.key];
    const pick = event.key === "q" ? "query" : /^[0-9]$/.test(event.key) ? (event.key === "0" ? "query" : Number(event.key) - 1) : null;
    if (direction) {
      const step = event.shiftKey ? FINE_STEP : STEP, v = vectorOf(name);
      moveTo(name, [v[0] + direction[0] * step, v[1] + direction[1] * step]);
    } else if (pick !== null && handleOf(pick)) {
      handleOf(pick).focus();
    } else {
      return;
    }
    document.activeElement.classList.add("qk-keyboard");      // show the focus ring from now on
    event.preventDefault();                                    // no page scrolling
    event.stopPropagation();
  });
  slider.addEventListener("input", () => commit({ scale: Number(slider.value) }));

  const traits = ["query", "key_vectors", "labels", "scale", "selected"];
  traits.forEach((t) => model.on(`change:${t}`, update));
  update();
  return () => traits.forEach((t) => model.off(`change:${t}`, update));
}

export default { render };
