// Building an explorer's view: elements, the card it sits in, its live readout, the
// keyboard rules every explorer follows, and the link from the model's traits to update().
import { paletteProperties } from "./palette.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/** On every focusable element itself (not a wrapper): JupyterLab then leaves its keys alone. */
export const FOCUSABLE = Object.freeze({ "data-lm-suppress-shortcuts": "" });

function element(node, attributes, parent, text) {
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  if (parent) parent.append(node);
  return node;
}

/** An HTML element with these attributes (and text), appended to `parent` if given. */
export const html = (tag, attributes = {}, parent = null, text = null) =>
  element(document.createElement(tag), attributes, parent, text);

/** An SVG element with these attributes, appended to `parent` if given. */
export const svg = (tag, attributes = {}, parent = null) =>
  element(document.createElementNS(SVG_NS, tag), attributes, parent, null);

/** The card an explorer draws in (styled by shared/card.css), with the palette as CSS properties. */
export function card(el, className) {
  const root = html("div", { class: `ex-card ${className}` }, el);
  paletteProperties(root);
  return root;
}

/** The line that says the explorer's state to screen readers (and to everyone). */
export const readoutLine = (parent, className) =>
  html("div", { class: `ex-readout ${className}`, "aria-live": "polite", "aria-atomic": "true" }, parent);

/** Say `text`, unless it is already said (no announcement for an unchanged state). */
export function say(readout, text) {
  if (readout.textContent !== text) readout.textContent = text;
}

/** During a drag, the readout keeps quiet... */
export const mute = (readout) => readout.setAttribute("aria-live", "off");

/** ...and at its end announces the final state, once. */
export function announce(readout) {
  const text = readout.textContent;
  readout.setAttribute("aria-live", "polite");
  readout.textContent = "";
  readout.textContent = text;
}

/** Alt, Ctrl or Meta: the browser's or JupyterLab's shortcut, not the explorer's. */
export const withModifier = (event) => event.altKey || event.ctrlKey || event.metaKey;

/** A key the explorer used: no page scrolling, and nothing else acts on it. */
export function consume(event) {
  event.preventDefault();
  event.stopPropagation();
}

/** An explorer's view, as anywidget wants it ({ render }): build(el) makes the parts that stay,
 * listen(view, model) wires the controls, update(view, model) redraws from the traits, now and
 * on every change of `traits`; render returns the cleanup that stops it. */
export function defineView({ traits, build, listen, update }) {
  function render({ model, el }) {
    const view = build(el);
    listen(view, model);
    const redraw = () => update(view, model);
    traits.forEach((t) => model.on(`change:${t}`, redraw));
    redraw();
    return () => traits.forEach((t) => model.off(`change:${t}`, redraw));
  }
  return { render };
}
