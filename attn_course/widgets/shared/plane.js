// The plane that the query/key and multi-head explorers draw vectors on: its grid, arrows
// from the origin with labels placed clear of each other, and handles at the tips to drag
// or to move with the arrow keys. Sizes in SVG user units (= CSS px at full size); colours
// in card.css (classes ex-gridline, ex-axis, ex-tick, ex-arrow, ex-label), so they follow the theme.
import { FOCUSABLE, announce, html, mute, svg } from "./dom.js";

const EXTENT_MIN = 2;                  // a plane shows at least [-2, 2] x [-2, 2]
const EXTENT_MARGIN = 1.15;            // room left around the longest vector
const TICKS_PER_HALF_AXIS = 4;         // about this many grid lines from 0 to the edge
const MAX_GRID_LINES = 50;             // per half axis, whatever the extent
const TICK_OFFSET = 14;                // tick labels' distance from the plane's edge
const SHAFT_WIDTH = 3;
const DOT_RADIUS = 4;                  // the dot drawn for a zero vector
const HEAD_LENGTH = 12;                // arrowhead length
const HEAD_HALF_WIDTH = 6;             // arrowhead half width
const HANDLE_RADIUS = 14;              // the grab area around a tip (.ex-handle in card.css: twice this wide)
const LABEL_GAP = 6;                   // between a handle's edge and its label
const FONT_SIZE = 14;
const TICK_FONT_SIZE = 10;

// Motion: every position snaps to multiples of 1 / SNAP (0.05), so the numbers sent to
// Python stay short (0.35, not 0.3512849).
const STEP = 0.25;                     // arrow key
const FINE_STEP = 0.05;                // Shift + arrow key
const SNAP = 20;
const KEY_DIRECTIONS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
const MOVE_KEYS = "ArrowUp ArrowDown ArrowLeft ArrowRight Shift+ArrowUp Shift+ArrowDown Shift+ArrowLeft Shift+ArrowRight";

export const snap = (v) => Math.round(v * SNAP) / SNAP;
export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/** The half-width of a plane: at least EXTENT_MIN, with a margin around maxAbs. */
export function extentFor(maxAbs) {
  return Math.max(EXTENT_MIN, Math.ceil(Math.min(maxAbs, 1e12) * EXTENT_MARGIN));
}

/** A round grid step (1, 2 or 5 times a power of ten) giving about TICKS_PER_HALF_AXIS lines. */
export function gridStep(extent) {
  const raw = extent / TICKS_PER_HALF_AXIS;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw - 1e-12);
}

/** The move [dx, dy] that an arrow key asks for (Shift: fine steps), or null for another key. */
export function keyStep(event) {
  if (!Object.hasOwn(KEY_DIRECTIONS, event.key)) return null;
  const [dx, dy] = KEY_DIRECTIONS[event.key], step = event.shiftKey ? FINE_STEP : STEP;
  return [dx * step, dy * step];
}

/** A square plane, `side` wide with a margin `pad` around it for the ticks and labels, drawn
 * in `parent` as layers: grid, keys (arrows that come and go), arrows (those that stay), labels. */
export class Plane {
  constructor(parent, { side, pad }) {
    Object.assign(this, { side, pad, view: side + 2 * pad, extent: 0 });   // shows [-extent, extent]^2
    this.drawing = svg("svg", { viewBox: `0 0 ${this.view} ${this.view}`, "aria-hidden": "true" }, parent);
    [this.grid, this.keys, this.arrows, this.labels] = [{ class: "ex-grid" }, {}, {}, {}].map((a) => svg("g", a, this.drawing));
  }

  /** The point [x, y] of the plane in the drawing's units (y up on the plane, down in SVG). */
  toPixels([x, y]) {
    const { pad, side, extent } = this;
    return [pad + ((x + extent) / (2 * extent)) * side, pad + ((extent - y) / (2 * extent)) * side];
  }

  /** The point of the plane under a pointer event. */
  fromPointer(event) {
    const { pad, side, view, extent } = this, box = this.drawing.getBoundingClientRect();
    const [px, py] = [((event.clientX - box.left) * view) / box.width, ((event.clientY - box.top) * view) / box.height];
    return [((px - pad) / side) * 2 * extent - extent, extent - ((py - pad) / side) * 2 * extent];
  }

  /** Show [-extent, extent]^2: redraw the grid, its axes and ticks. */
  setExtent(extent) {
    const { pad, side } = this;
    this.extent = extent;
    this.grid.replaceChildren();
    const step = gridStep(extent);
    const n = Math.min(Math.floor(extent / step + 1e-9), MAX_GRID_LINES);
    const tickAttributes = { class: "ex-tick", "font-size": TICK_FONT_SIZE, "text-anchor": "middle" };
    for (let i = -n; i <= n; i++) {
      const [px, py] = this.toPixels([i * step, i * step]);
      const line = { class: i === 0 ? "ex-axis" : "ex-gridline" };
      svg("line", { ...line, x1: px, y1: pad, x2: px, y2: pad + side }, this.grid);
      svg("line", { ...line, x1: pad, y1: py, x2: pad + side, y2: py }, this.grid);
      const tick = String(+(i * step).toPrecision(6));
      svg("text", { ...tickAttributes, x: px, y: pad + side + TICK_OFFSET }, this.grid).textContent = tick;
      svg("text", { ...tickAttributes, x: pad - TICK_OFFSET, y: py, "dominant-baseline": "central" }, this.grid).textContent = tick;
    }
    svg("rect", { class: "ex-axis", x: pad, y: pad, width: side, height: side }, this.grid);
  }

  /** Put `handle` (an HTML element over the drawing) on the point `vector`. */
  moveHandle(handle, vector) {
    const [px, py] = this.toPixels(vector);
    handle.style.left = `${(100 * px) / this.view}%`;
    handle.style.top = `${(100 * py) / this.view}%`;
  }

  /** Put each label near its arrow's tip, in the free spot closest to the arrow's direction.
   * items: [{label, text, tip: [x, y], direction: [ux, uy]}] in pixels, most important first. */
  placeLabels(items, origin) {
    const placed = [];                                             // boxes [x0, y0, x1, y1]
    for (const { label, text, tip, direction } of items) {
      const best = bestLabelSpot(text, tip, direction, (box, turns) => labelCost(box, turns, placed, items, origin, this.view));
      placed.push(best.box);
      label.setAttribute("x", best.cx.toFixed(1));
      label.setAttribute("y", best.cy.toFixed(1));
      label.textContent = text;
    }
  }
}

/** Of 8 spots around `tip`, 45 degrees apart from `direction`, the one of least cost: {c, cx, cy, box}. */
function bestLabelSpot(text, tip, direction, cost) {
  const [halfW, halfH] = [0.31 * FONT_SIZE * text.length + 2, 0.5 * FONT_SIZE + 1];
  let best = null;
  for (const turns of [0, 1, -1, 2, -2, 3, -3, 4]) {
    const angle = (turns * Math.PI) / 4;
    const [dx, dy] = [direction[0] * Math.cos(angle) - direction[1] * Math.sin(angle),
      direction[0] * Math.sin(angle) + direction[1] * Math.cos(angle)];
    const reach = HANDLE_RADIUS + LABEL_GAP + Math.min(halfW / Math.max(Math.abs(dx), 1e-9), halfH / Math.max(Math.abs(dy), 1e-9));
    const [cx, cy] = [tip[0] + dx * reach, tip[1] + dy * reach];
    const box = [cx - halfW, cy - halfH, cx + halfW, cy + halfH];
    const c = cost(box, turns);
    if (!best || c < best.c) best = { c, cx, cy, box };
  }
  return best;
}

const overlap = (a, b) => Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])) *
  Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
const inside = ([x, y], box, margin) => x > box[0] - margin && x < box[2] + margin && y > box[1] - margin && y < box[3] + margin;

/** How bad a label's box is: turned away from its arrow, over other labels, out of the drawing,
 * on an arrowhead or across a shaft. */
function labelCost(box, turns, placed, items, origin, view) {
  let c = 6 * Math.abs(turns);                                     // prefer the spot beyond the tip
  c += placed.reduce((sum, other) => sum + overlap(box, other), 0);  // labels already placed
  if (box[0] < 0 || box[1] < 0 || box[2] > view || box[3] > view) c += 1e4;  // outside the drawing
  for (const { tip } of items) {
    if (inside(tip, box, HANDLE_RADIUS)) c += 400;                 // on an arrowhead
    for (let t = 0.1; t < 1; t += 0.1) {                           // across a shaft
      if (inside([origin[0] + t * (tip[0] - origin[0]), origin[1] + t * (tip[1] - origin[1])], box, 1)) c += 25;
    }
  }
  return c;
}

/** An arrow from the origin: shaft, head and dot in `layer`, its label in `labelLayer`
 * (class ex-arrow and `className`); in `colour` if given, else paint it later. */
export function makeArrow(layer, labelLayer, className, colour = null) {
  const group = svg("g", { class: `ex-arrow ${className}` }, layer);
  const arrow = {
    group,
    shaft: svg("line", { "stroke-width": SHAFT_WIDTH, "stroke-linecap": "round" }, group),
    head: svg("polygon", {}, group),
    dot: svg("circle", { r: DOT_RADIUS }, group),
    label: svg("text", { class: "ex-label", "font-size": FONT_SIZE, "text-anchor": "middle", "dominant-baseline": "central" }, labelLayer),
  };
  if (colour) paintArrow(arrow, colour);
  return arrow;
}

/** Give `arrow` `colour`, a CSS value such as themed("blue") (its label keeps the text colour). */
export function paintArrow(arrow, colour) {
  arrow.group.style.setProperty("--ex-arrow", colour);
}

/** Take `arrow` and its label out of the drawing. */
export function removeArrow(arrow) {
  arrow.group.remove();
  arrow.label.remove();
}

/** Draw `arrow` from pixel point `from` to `to`; returns its unit direction (in pixels). */
export function placeArrow(arrow, from, to) {
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

/** A focusable handle to drag an arrow's tip (HTML over the drawing, so that its z-index and
 * its place in the Tab order are its own); `keys`: the keys it takes besides the arrow keys. */
export function makeHandle(parent, className, keys) {
  return html("div", {
    class: `ex-handle ex-ring ${className}`, tabindex: 0, role: "button", ...FOCUSABLE,
    "aria-roledescription": "movable arrow", "aria-keyshortcuts": `${MOVE_KEYS} ${keys}`,
  }, parent);
}

/** Drag tips on `surface` (the plane and the handles over it). grab(event) says what a press
 * takes, {tip, onHandle, ...}, or null to leave it; press(target, at) starts the drag (focus,
 * select; a press off the handle moves the tip there); move(target, at) follows the pointer,
 * `at` keeping the tip where it was grabbed. The readout keeps quiet until the drag ends. */
export function dragTips(surface, plane, readout, { grab, press, move }) {
  let drag = null;
  surface.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    const target = grab(event);
    if (!target) return;
    const at = plane.fromPointer(event);
    const offset = target.onHandle ? [target.tip[0] - at[0], target.tip[1] - at[1]] : [0, 0];
    drag = { target, offset, pointerId: event.pointerId };
    surface.setPointerCapture(event.pointerId);
    event.preventDefault();                                        // no text selection, no scrolling
    mute(readout);                                                 // no announcement at every step
    press(target, at);
  });
  surface.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const at = plane.fromPointer(event);
    move(drag.target, [at[0] + drag.offset[0], at[1] + drag.offset[1]]);
  });
  const end = (event) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    drag = null;
    announce(readout);                                             // the final state, once
  };
  ["pointerup", "pointercancel", "lostpointercapture"].forEach((type) => surface.addEventListener(type, end));
}
