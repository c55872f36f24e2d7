// A picture of an explorer's view as one standalone SVG file: its boxes, its text and its
// drawings where the page shows them now, with every colour, font and stroke written out from
// the computed styles. So the file looks the same outside the page, in the theme it was saved
// in, and it names no external resource (no font, image, link or script; only its own clip
// paths and patterns, url(#...)). The hint (ex-hint: how to use the controls) and elements of
// class ex-no-export (the Save buttons) are left out.
//
// snapshotSvg(root, env) reads the page only through `env` (pageEnv() in a browser; a fake
// in the tests under Node), and importing this module touches no DOM.

const SVG_NS = "http://www.w3.org/2000/svg";
const SKIP = ["ex-no-export", "ex-hint"];
// What a drawing's elements take from their computed style (card.css colours them), with the
// values that need not be written (the SVG defaults).
const SVG_PROPERTIES = {
  fill: null, stroke: null, "stroke-width": null, "stroke-dasharray": "none", "stroke-linecap": "butt",
  "stroke-linejoin": "miter", opacity: "1", "fill-opacity": "1", "stroke-opacity": "1", "paint-order": "normal",
};
const TEXT_PROPERTIES = { "font-family": null, "font-size": null, "font-weight": "400", "text-anchor": "start", "dominant-baseline": "auto" };
const COLOUR_PROPERTIES = new Set(["fill", "stroke"]);
const DROPPED_ATTRIBUTES = /^(class|style|id|role|tabindex|aria-.*|data-.*)$/;
const RANGE_TRACK = 4;                 // a range input's track height, px
const RANGE_THUMB = 7;                 // and its thumb's radius

// ---- Pure helpers (exported for the tests) --------------------------------

/** Text for XML: & < > " escaped, and the control characters that XML 1.0 forbids left out. */
export const escapeXml = (text) => String(text).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "")
  .replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

/** A number as written in the file: at most two decimals. */
const num = (v) => String(+Number(v).toFixed(2));

/** An XML element: tag(name, {attribute: value}, content); null or undefined attributes are left out. */
export function tag(name, attributes = {}, content = null) {
  const written = Object.entries(attributes).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(typeof v === "number" ? num(v) : v)}"`).join("");
  return content === null ? `<${name}${written}/>` : `<${name}${written}>${content}</${name}>`;
}

/** A computed CSS colour as {hex: "#rrggbb", alpha}: rgb(), rgba(), color(srgb ...), #rrggbb,
 * "transparent" (alpha 0); null for anything else ("none", a gradient, an unknown colour space). */
export function parseColour(value) {
  const text = String(value).trim().toLowerCase();
  if (text === "transparent") return { hex: null, alpha: 0 };
  let channels, alpha = 1;
  const hex = text.match(/^#([0-9a-f]{6})$/);
  const rgb = text.match(/^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/);
  const srgb = text.match(/^color\(\s*srgb\s+([\d.e-]+)\s+([\d.e-]+)\s+([\d.e-]+)(?:\s*\/\s*([\d.]+%?))?\s*\)$/);
  if (hex) channels = [0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16));
  else if (rgb) channels = rgb.slice(1, 4).map(Number);
  else if (srgb) channels = srgb.slice(1, 4).map((c) => Number(c) * 255);
  else return null;
  const a = (rgb ?? srgb)?.[4];
  if (a !== undefined) alpha = a.endsWith("%") ? parseFloat(a) / 100 : Number(a);
  const byte = (c) => Math.round(Math.min(255, Math.max(0, c))).toString(16).padStart(2, "0");
  return { hex: `#${channels.map(byte).join("")}`, alpha };
}

/** Paint attributes for a CSS colour: {fill: "#rrggbb", "fill-opacity": a} (none if transparent). */
function paint(property, value) {
  const c = parseColour(value);
  if (!c || c.alpha === 0) return { [property]: "none" };
  return { [property]: c.hex, [`${property}-opacity`]: c.alpha < 1 ? num(c.alpha) : null };
}

const visibleColour = (value) => { const c = parseColour(value); return c !== null && c.alpha > 0; };
const px = (value) => parseFloat(value) || 0;

// ---- The picture --------------------------------------------------------------------

/** The view under `root` as an SVG file: {text, width, height} (CSS px). `env`: box(element)
 * -> {left, top, width, height}; style(element) -> computed style (getPropertyValue); shown(element)
 * -> whether it is rendered; lines(textNode) -> [{text, x, y}] in page coordinates, y the baseline. */
export function snapshotSvg(root, env, title = "") {
  const origin = env.box(root), width = Math.ceil(origin.width), height = Math.ceil(croppedHeight(root, env, origin));
  const picture = { env, origin, root, height, defs: [], top: [], clips: [], ids: 0 };
  const body = element(picture, root);
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n` + tag("svg", {
    xmlns: SVG_NS, version: "1.1", width, height, viewBox: `0 0 ${width} ${height}`,
  }, (title ? tag("title", {}, escapeXml(title)) : "") + tag("defs", {}, picture.defs.join("")) + body + picture.top.join(""));
  return { text, width, height };
}

/** The card's height without what is left out at its end (the hint, the Save buttons): down to
 * its last child in the picture, and its padding and border below that. */
function croppedHeight(root, env, origin) {
  const get = (p) => px(env.style(root).getPropertyValue(p));
  const kept = [...root.children].filter((c) => !SKIP.some((s) => c.classList.contains(s)) && env.shown(c));
  if (!kept.length) return origin.height;
  const bottom = Math.max(...kept.map((c) => { const b = env.box(c); return b.top + b.height; }));
  return Math.min(origin.height, bottom - origin.top + get("padding-bottom") + get("border-bottom-width"));
}

/** An element's box relative to the picture: {x, y, width, height} (the card's, cropped). */
function place(picture, node) {
  const b = picture.env.box(node);
  const height = node === picture.root ? picture.height : b.height;
  return { x: b.left - picture.origin.left, y: b.top - picture.origin.top, width: b.width, height };
}

/** An HTML element: its box, then its content (clipped if its overflow is), or a drawing. */
function element(picture, node) {
  if (SKIP.some((c) => node.classList.contains(c))) return "";
  const style = picture.env.style(node), get = (p) => style.getPropertyValue(p);
  const children = () => [...node.childNodes].map((child) => (child.nodeType === 3 ? text(picture, child, node)
    : child.nodeType === 1 ? element(picture, child) : "")).join("");
  if (get("display") === "contents") return children();
  if (!picture.env.shown(node)) return "";
  const box = place(picture, node), name = node.tagName.toLowerCase();
  if (node.namespaceURI === SVG_NS) return name === "svg" ? drawing(picture, node, box) : "";
  if (name === "input" && node.type === "range") return range(box, node, picture.env.style(node.parentNode));
  let out = background(picture, box, get) + border(box, get);
  outline(picture, box, get);
  if (name === "select") return out + selected(node, box, get);
  if (["input", "textarea", "option", "script", "style", "template"].includes(name)) return out;
  if (["visible", "visible visible"].includes(get("overflow"))) return out + children();
  const id = `ex-clip-${++picture.ids}`;                         // its content shows inside its box only
  picture.clips.push(id);
  const content = children();
  picture.clips.pop();
  picture.defs.push(tag("clipPath", { id }, tag("rect", box)));
  return out + (content && tag("g", { "clip-path": `url(#${id})` }, content));
}

/** Its background: a colour, and the stripes of a repeating-linear-gradient (masked keys, padding). */
function background(picture, box, get) {
  const radius = Math.min(box.width / 2, box.height / 2, radiusOf(get("border-top-left-radius"), box.width));
  const shape = { ...box, rx: radius || null };
  let out = visibleColour(get("background-color")) ? tag("rect", { ...shape, ...paint("fill", get("background-color")) }) : "";
  const stops = [...get("background-image").matchAll(/((?:rgba?|color)\([^)]*\))\s+(-?[\d.]+)px/g)].map((m) => [m[1], Number(m[2])]);
  if (get("background-image").startsWith("repeating-linear-gradient") && stops.length >= 2) {
    const first = stops[0][0], split = Math.max(...stops.filter(([c]) => c === first).map(([, p]) => p));
    const period = stops.at(-1)[1], stripe = stops.find(([c]) => c !== first)?.[0] ?? first;
    const id = `ex-hatch-${++picture.ids}`;
    picture.defs.push(tag("pattern", { id, width: period, height: period, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      tag("rect", { width: split, height: period, ...paint("fill", first) }) +
      tag("rect", { x: split, width: period - split, height: period, ...paint("fill", stripe) })));
    out += tag("rect", { ...shape, fill: `url(#${id})` });
  }
  return out;
}

const radiusOf = (value, width) => (String(value).trim().endsWith("%") ? (px(value) / 100) * width : px(value));

/** Its border: one rectangle when the four sides agree, else a line per side. */
function border(box, get) {
  const sides = ["top", "right", "bottom", "left"].map((s) => ({
    s, w: px(get(`border-${s}-width`)), colour: get(`border-${s}-color`), style: get(`border-${s}-style`),
  })).filter(({ w, colour, style }) => w > 0 && !["none", "hidden"].includes(style) && visibleColour(colour));
  const dashes = (style, w) => (style === "dashed" ? `${num(3 * w)} ${num(2 * w)}` : style === "dotted" ? `${num(w)} ${num(w)}` : null);
  if (sides.length === 4 && sides.every((d) => d.w === sides[0].w && d.colour === sides[0].colour && d.style === sides[0].style)) {
    const { w, colour, style } = sides[0];
    const radius = Math.max(0, Math.min(box.width / 2, box.height / 2, radiusOf(get("border-top-left-radius"), box.width)) - w / 2);
    return tag("rect", { x: box.x + w / 2, y: box.y + w / 2, width: Math.max(0, box.width - w), height: Math.max(0, box.height - w),
      rx: radius || null, fill: "none", ...paint("stroke", colour), "stroke-width": w, "stroke-dasharray": dashes(style, w) });
  }
  const { x, y, width, height } = box;
  const ends = { top: [x, y, x + width, y], right: [x + width, y, x + width, y + height],
    bottom: [x, y + height, x + width, y + height], left: [x, y, x, y + height] };
  return sides.map(({ s, w, colour, style }) => {
    const [x1, y1, x2, y2] = ends[s], inset = (s === "top" || s === "left" ? 1 : -1) * (w / 2);
    const [dx, dy] = s === "top" || s === "bottom" ? [0, inset] : [inset, 0];
    return tag("line", { x1: x1 + dx, y1: y1 + dy, x2: x2 + dx, y2: y2 + dy, ...paint("stroke", colour), "stroke-width": w,
      "stroke-dasharray": dashes(style, w) });
  }).join("");
}

/** Its outline (the largest weight's frame, a focus ring): over everything else, as the page draws it,
 * and clipped as its content is (a cell scrolled out of its figure shows no frame). */
function outline(picture, box, get) {
  const w = px(get("outline-width"));
  if (get("outline-style") === "none" || w === 0 || !visibleColour(get("outline-color"))) return;
  const grow = px(get("outline-offset")) + w / 2, clip = picture.clips.at(-1);
  const frame = tag("rect", { x: box.x - grow, y: box.y - grow, width: box.width + 2 * grow, height: box.height + 2 * grow,
    fill: "none", ...paint("stroke", get("outline-color")), "stroke-width": w });
  picture.top.push(clip ? tag("g", { "clip-path": `url(#${clip})` }, frame) : frame);
}

/** A range input: a track, and its thumb where its value is, in the text colour around it. */
function range(box, node, around) {
  const get = (p) => around.getPropertyValue(p);
  const [min, max, value] = [node.min, node.max, node.value].map(Number);
  const at = max > min ? (value - min) / (max - min) : 0;
  const [left, right] = [box.x + RANGE_THUMB, box.x + box.width - RANGE_THUMB], cy = box.y + box.height / 2;
  return tag("rect", { x: left, y: cy - RANGE_TRACK / 2, width: right - left, height: RANGE_TRACK, rx: RANGE_TRACK / 2,
    ...paint("fill", get("color")), "fill-opacity": 0.35 }) +
    tag("circle", { cx: left + at * (right - left), cy, r: RANGE_THUMB, ...paint("fill", get("color")) });
}

/** A select: the option it shows. */
function selected(node, box, get) {
  const option = node.options?.[node.selectedIndex];
  if (!option) return "";
  const x = box.x + px(get("padding-left")) + px(get("border-left-width")) + 2;
  return tag("text", { x, y: box.y + box.height / 2, "dominant-baseline": "central", ...font(get), ...paint("fill", get("color")) },
    escapeXml(option.textContent));
}

const font = (get) => ({ "font-family": get("font-family"), "font-size": get("font-size"),
  "font-weight": get("font-weight"), "font-style": get("font-style") === "normal" ? null : get("font-style") });

/** A text node: one <text> per line that the page shows, in its parent's font and colour. */
function text(picture, node, parent) {
  if (!node.data.trim()) return "";
  const get = (p) => picture.env.style(parent).getPropertyValue(p);
  const { left, top } = picture.origin;
  return picture.env.lines(node).map((line) => tag("text", {
    x: line.x - left, y: line.y - top, ...font(get), ...paint("fill", get("color")), "xml:space": "preserve",
  }, escapeXml(line.text))).join("");
}

/** A drawing (an <svg> of the view): copied where it is shown, each element with its computed paint. */
function drawing(picture, node, box) {
  const copy = (n) => {
    if (n.nodeType === 3) return escapeXml(n.data);
    if (n.nodeType !== 1 || n.namespaceURI !== SVG_NS) return "";
    const style = picture.env.style(n), get = (p) => style.getPropertyValue(p);
    if (get("display") === "none") return "";
    const name = n.tagName, attributes = {};
    for (const [k, v] of attributesOf(n)) if (!DROPPED_ATTRIBUTES.test(k)) attributes[k] = v;
    const wanted = name === "text" ? { ...SVG_PROPERTIES, ...TEXT_PROPERTIES } : name === "g" || name === "svg" ? {} : SVG_PROPERTIES;
    for (const [p, fallback] of Object.entries(wanted)) {
      const value = get(p).trim();
      if (!value || value === fallback) continue;
      Object.assign(attributes, COLOUR_PROPERTIES.has(p) ? paint(p, value) : { [p]: p.startsWith("font") ? value : value.replace(/px/g, "") });
    }
    return tag(name, attributes, [...n.childNodes].map(copy).join(""));
  };
  const inner = [...node.childNodes].map(copy).join("");
  return tag("svg", { x: box.x, y: box.y, width: box.width, height: box.height, viewBox: node.getAttribute("viewBox"),
    overflow: "hidden" }, inner);
}

/** [name, value] of each attribute, in a browser (NamedNodeMap) and in the tests' fake DOM (Map). */
const attributesOf = (node) => (node.attributes instanceof Map ? [...node.attributes] : [...node.attributes].map((a) => [a.name, a.value]));

// ---- Reading a real page ------------------------------------------------------------

/** The env of snapshotSvg in a browser: boxes, computed styles, and the lines of text as laid out. */
export function pageEnv() {
  const metrics = new Map(), context = document.createElement("canvas").getContext("2d");
  const baseline = (style) => {                                  // the font's ascent and descent, px
    const key = style.font || `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    if (!metrics.has(key)) {
      context.font = key;
      const m = context.measureText("Hg");
      metrics.set(key, [m.fontBoundingBoxAscent ?? m.actualBoundingBoxAscent, m.fontBoundingBoxDescent ?? m.actualBoundingBoxDescent]);
    }
    return metrics.get(key);
  };
  return {
    box: (node) => node.getBoundingClientRect(),
    style: (node) => getComputedStyle(node),
    shown: (node) => node.checkVisibility({ opacityProperty: true, visibilityProperty: true }),
    lines(node) {
      const style = getComputedStyle(node.parentNode), range = document.createRange(), lines = [];
      const keep = /^(pre|pre-wrap|break-spaces)$/.test(style.whiteSpace);
      for (const word of node.data.matchAll(/\S+/g)) {
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const r = range.getClientRects()[0];
        if (!r || r.width === 0) continue;
        const last = lines.at(-1);
        if (last && Math.abs(last.top - r.top) < r.height / 2) last.end = word.index + word[0].length;
        else lines.push({ start: word.index, end: word.index + word[0].length, x: r.left, top: r.top, height: r.height });
      }
      const [ascent, descent] = baseline(style);
      return lines.map((l) => {
        const raw = node.data.slice(l.start, l.end);
        return { text: keep ? raw : raw.replace(/\s+/g, " "), x: l.x, y: l.top + (l.height - ascent - descent) / 2 + ascent };
      });
    },
  };
}
