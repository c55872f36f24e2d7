// "Save view": two buttons that save what an explorer shows as a file, SVG or PNG, in the theme
// the page shows. The SVG is snapshot.js's picture of the card; the PNG is that SVG drawn on a
// canvas at PNG_SCALE times its size. The file is made in the browser and handed to the
// browser's download (a Blob, an object URL and an <a download> click): nothing is sent
// anywhere, nothing is fetched. Importing this module touches no DOM.
import { FOCUSABLE, html } from "./dom.js";
import { pageEnv, snapshotSvg } from "./snapshot.js";

const FORMATS = ["svg", "png"];
const PNG_SCALE = 2;                   // pixels per CSS px: sharp on a slide or a printed page
const REVOKE_AFTER = 30_000;           // ms an object URL lives: the download must have started

/** The file an explorer's view is saved as, e.g. "query-key-view.svg". */
export const fileName = (name, format) => `${name}-view.${format}`;

/** The Save buttons at the end of `root` (an explorer's card), saving `root` as `name`-view.svg
 * or .png. Left out of the picture itself (ex-no-export). Returns the group. */
export function saveControl(root, name) {
  const group = html("div", { class: "ex-save ex-no-export", role: "group", "aria-label": "Save view" }, root);
  html("span", { class: "ex-save-label", "aria-hidden": "true" }, group, "Save view");
  const buttons = FORMATS.map((format) => html("button", {
    type: "button", class: "ex-save-button ex-ring", "data-format": format, ...FOCUSABLE,
    "aria-label": `Save view as ${format.toUpperCase()}`,
  }, group, format.toUpperCase()));
  const status = html("span", { class: "ex-save-status", role: "status" }, group);
  buttons.forEach((button) => button.addEventListener("click", () => {
    const file = fileName(name, button.dataset.format);
    save(root, file, button.dataset.format).then(
      () => { status.textContent = `Saved ${file}`; },
      (error) => { status.textContent = `Could not save ${file}: ${error.message}`; });
  }));
  return group;
}

/** Make the file and hand it to the browser's download. */
async function save(root, file, format) {
  const picture = snapshotSvg(root, pageEnv(), file);
  const blob = format === "svg" ? new Blob([picture.text], { type: "image/svg+xml" }) : await toPng(picture, PNG_SCALE);
  const url = URL.createObjectURL(blob);
  const link = html("a", { href: url, download: file, hidden: "" }, document.body);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER);
}

/** The SVG picture drawn on a canvas `scale` times its size, as a PNG Blob. */
async function toPng({ text, width, height }, scale) {
  const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = html("canvas", { width: Math.ceil(width * scale), height: Math.ceil(height * scale) });
    const context = canvas.getContext("2d");
    context.scale(scale, scale);
    context.drawImage(image, 0, 0, width, height);
    return await new Promise((resolve, reject) => canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error("the canvas made no PNG"))), "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}
