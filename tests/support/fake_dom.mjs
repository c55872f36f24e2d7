// A tiny fake DOM, enough to run an explorer's render({ model, el }) under Node and
// drive it: elements record their attributes, children, styles and listeners;
// events bubble; focus() moves document.activeElement (and sends focusin).
// Selectors: comma lists of tag, .class, #id, [attr] and [attr="value"] parts, with the
// descendant combinator (a space). Not a browser: no layout, no CSS, no sanitising of values.

const HTML_NS = "http://www.w3.org/1999/xhtml";
const PROPERTIES = ["max", "min", "step", "title", "id", "name", "type"];   // reflected as attributes

class FakeText {
  constructor(text) { this.nodeType = 3; this.data = String(text); this.parentNode = null; }
  get textContent() { return this.data; }
  set textContent(text) { this.data = String(text); }
  remove() { this.parentNode?._drop(this); }
}

class FakeEvent {
  constructor(type, init = {}) {
    Object.assign(this, { key: "", button: 0, pointerId: 1, clientX: 0, clientY: 0, shiftKey: false,
      altKey: false, ctrlKey: false, metaKey: false }, init);
    this.type = type;
    this.defaultPrevented = false;
    this.stopped = false;
  }
  preventDefault() { this.defaultPrevented = true; }
  stopPropagation() { this.stopped = true; }
}

const camelToData = (name) => `data-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function makeStyle() {
  const style = {};
  Object.defineProperties(style, {
    setProperty: { value: (name, value) => { style[name] = String(value); } },
    getPropertyValue: { value: (name) => style[name] ?? "" },
    removeProperty: { value: (name) => { delete style[name]; } },
  });
  return style;
}

/** Does `node` match one compound selector such as `input.mh-token[type="radio"]`? */
function matchesCompound(node, selector) {
  const parts = selector.match(/^[a-zA-Z][\w-]*|\.[\w-]+|#[\w-]+|\[[^\]]+\]/g) ?? [];
  if (parts.join("") !== selector) throw new Error(`fake DOM: unsupported selector ${JSON.stringify(selector)}`);
  return parts.every((part) => {
    if (part[0] === ".") return node.classList.contains(part.slice(1));
    if (part[0] === "#") return node.getAttribute("id") === part.slice(1);
    if (part[0] === "[") {
      const [, name, value] = part.match(/^\[([\w-]+)(?:="?([^"]*)"?)?\]$/);
      return value === undefined ? node.hasAttribute(name) : node.getAttribute(name) === value;
    }
    return node.tagName.toLowerCase() === part.toLowerCase();
  });
}

/** What querySelectorAll returns: like a NodeList, forEach and indexing but no map (spread it). */
class FakeNodeList {
  constructor(items) { items.forEach((item, i) => { this[i] = item; }); this.length = items.length; }
  forEach(fn) { Array.prototype.forEach.call(this, fn); }
  item(i) { return this[i] ?? null; }
  *[Symbol.iterator]() { for (let i = 0; i < this.length; i++) yield this[i]; }
}

/** Does `node` match `selector`, compound parts separated by spaces (descendants)? */
function matchesDescendant(node, selector) {
  const parts = selector.split(/\s+/);
  if (!matchesCompound(node, parts.pop())) return false;
  for (let n = node.parentNode; n && parts.length; n = n.parentNode) {
    if (n.nodeType === 1 && matchesCompound(n, parts.at(-1))) parts.pop();
  }
  return parts.length === 0;
}

class FakeElement {
  constructor(document, tagName, namespaceURI = HTML_NS) {
    Object.assign(this, { ownerDocument: document, tagName, namespaceURI, nodeType: 1, parentNode: null });
    this.attributes = new Map();
    this.childNodes = [];
    this.listeners = {};
    this.style = makeStyle();
    this.checked = false;
    this.hidden = false;
    this.dataset = new Proxy({}, {
      get: (_, key) => this.getAttribute(camelToData(key)) ?? undefined,
      set: (_, key, value) => { this.setAttribute(camelToData(key), value); return true; },
      has: (_, key) => this.hasAttribute(camelToData(key)),
    });
    for (const name of PROPERTIES) {
      Object.defineProperty(this, name, { get: () => this.getAttribute(name) ?? "", set: (v) => this.setAttribute(name, v) });
    }
  }

  // ---- Attributes and classes
  setAttribute(name, value) { this.attributes.set(name, String(value)); }
  getAttribute(name) { return this.attributes.has(name) ? this.attributes.get(name) : null; }
  hasAttribute(name) { return this.attributes.has(name); }
  removeAttribute(name) { this.attributes.delete(name); }
  get className() { return this.getAttribute("class") ?? ""; }
  set className(value) { this.setAttribute("class", value); }
  get classList() {
    const names = () => this.className.split(/\s+/).filter(Boolean);
    const write = (list) => this.setAttribute("class", list.join(" "));
    return {
      contains: (c) => names().includes(c),
      add: (...cs) => write([...new Set([...names(), ...cs])]),
      remove: (...cs) => write(names().filter((n) => !cs.includes(n))),
      toggle: (c, force) => {
        const on = force === undefined ? !names().includes(c) : Boolean(force);
        if (on) write([...new Set([...names(), c])]); else write(names().filter((n) => n !== c));
        return on;
      },
    };
  }
  get value() { return this._value ?? this.getAttribute("value") ?? ""; }
  set value(v) { this._value = String(v); }

  // ---- The tree
  get children() { return this.childNodes.filter((n) => n.nodeType === 1); }
  get firstChild() { return this.childNodes[0] ?? null; }
  get parentElement() { return this.parentNode; }
  _adopt(node) {
    if (typeof node === "string") node = new FakeText(node);
    node.parentNode?._drop(node);
    node.parentNode = this;
    return node;
  }
  _drop(node) { this.childNodes = this.childNodes.filter((n) => n !== node); node.parentNode = null; }
  append(...nodes) { for (const n of nodes) { const node = this._adopt(n); this.childNodes.push(node); } }
  appendChild(node) { this.append(node); return node; }
  prepend(...nodes) { const adopted = nodes.map((n) => this._adopt(n)); this.childNodes.unshift(...adopted); }
  replaceChildren(...nodes) { [...this.childNodes].forEach((n) => this._drop(n)); this.append(...nodes); }
  remove() { this.parentNode?._drop(this); }
  contains(node) { for (let n = node; n; n = n.parentNode) if (n === this) return true; return false; }
  get textContent() { return this.childNodes.map((n) => n.textContent).join(""); }
  set textContent(text) { this.replaceChildren(...(text === "" || text == null ? [] : [String(text)])); }
  get isConnected() { return this.ownerDocument.body.contains(this); }

  // ---- Selectors
  matches(selector) { return selector.split(",").some((s) => matchesDescendant(this, s.trim())); }
  closest(selector) { for (let n = this; n; n = n.parentNode) if (n.matches(selector)) return n; return null; }
  querySelectorAll(selector) {
    const found = [];
    const walk = (node) => node.children.forEach((c) => { if (c.matches(selector)) found.push(c); walk(c); });
    walk(this);
    return new FakeNodeList(found);
  }
  querySelector(selector) { return this.querySelectorAll(selector)[0] ?? null; }

  // ---- Events, focus, pointer capture, layout
  addEventListener(type, fn) { (this.listeners[type] ??= []).push(fn); }
  removeEventListener(type, fn) { this.listeners[type] = (this.listeners[type] ?? []).filter((f) => f !== fn); }
  dispatchEvent(event) {
    event.target ??= this;
    for (let n = this; n && !event.stopped; n = n.parentNode) {
      event.currentTarget = n;
      for (const fn of [...(n.listeners?.[event.type] ?? [])]) fn.call(n, event);
    }
    return !event.defaultPrevented;
  }
  focus(options) {
    this.ownerDocument.activeElement = this;
    this.lastFocusOptions = options ?? null;
    this.dispatchEvent(new FakeEvent("focusin"));
  }
  click() { this.dispatchEvent(new FakeEvent("click")); }
  setPointerCapture(id) { this.capturedPointer = id; }
  releasePointerCapture() { this.capturedPointer = null; }
  getBoundingClientRect() { return this.ownerDocument.layout(this); }
}

class FakeDocument {
  constructor() {
    this.body = new FakeElement(this, "BODY");
    this.activeElement = this.body;
    this.layout = () => ({ left: 0, top: 0, x: 0, y: 0, width: 0, height: 0 });   // tests may replace it
  }
  createElement(tag) { return new FakeElement(this, tag.toUpperCase()); }
  createElementNS(namespace, tag) { return new FakeElement(this, tag, namespace); }
}

/** A fresh document as globalThis.document; returns it. */
export function installDom() {
  globalThis.document = new FakeDocument();
  return globalThis.document;
}

/** An event to dispatch: event("keydown", { key: "ArrowRight" }). */
export const event = (type, init) => new FakeEvent(type, init);

/** A model as anywidget gives the view: get/set/on/off/save_changes. set() sends change:<name>
 * at once when the value changes (as Backbone does); `calls` records every set and save. */
export function fakeModel(traits) {
  const values = structuredClone(traits), handlers = {}, calls = [];
  const model = {
    calls,
    get: (name) => values[name],
    set(name, value) {
      calls.push(["set", name, value]);
      const changed = JSON.stringify(values[name]) !== JSON.stringify(value);
      values[name] = value;
      if (changed) (handlers[`change:${name}`] ?? []).forEach((fn) => fn());
    },
    /** A message from Python: every value set first, then one change event per changed trait. */
    receive(state) {
      const changed = Object.keys(state).filter((n) => JSON.stringify(values[n]) !== JSON.stringify(state[n]));
      Object.assign(values, structuredClone(state));
      changed.forEach((n) => (handlers[`change:${n}`] ?? []).forEach((fn) => fn()));
    },
    save_changes: () => calls.push(["save"]),
    on: (name, fn) => (handlers[name] ??= []).push(fn),
    off: (name, fn) => { handlers[name] = (handlers[name] ?? []).filter((f) => f !== fn); },
    listening: () => Object.values(handlers).reduce((n, fns) => n + fns.length, 0),
  };
  return model;
}

/** Render `view` (an anywidget module's default export) into a fresh document with a model
 * holding `traits`: { document, el, model, cleanup }. */
export function mount(view, traits) {
  const document = installDom();
  const el = document.createElement("div");
  document.body.append(el);
  const model = fakeModel(traits);
  const cleanup = view.render({ model, el });
  return { document, el, model, cleanup };
}

const FOCUSABLE = "a[href], area[href], button, input, select, textarea, iframe, summary, [tabindex], [contenteditable]";

/** Every element that can take the keyboard focus under `root`, as an array. */
export const focusable = (root) => [...root.querySelectorAll(FOCUSABLE)];

/** querySelectorAll as an array. */
export const all = (root, selector) => [...root.querySelectorAll(selector)];

/** A plain-JSON picture of a subtree (tag, attributes, styles, text, children), for comparisons. */
export function snapshot(node) {
  if (node.nodeType === 3) return node.data;
  const props = Object.fromEntries(["value", "checked", "hidden"].map((p) => [p, node[p]]));
  return { tag: node.tagName, attributes: Object.fromEntries([...node.attributes].sort()),
    style: { ...node.style }, props, children: node.childNodes.map(snapshot) };
}
