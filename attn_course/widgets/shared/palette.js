// The course's colours: the Okabe-Ito palette, safe for colour-blind readers. Its one
// home is palette.json, which attn_course.plots reads too (a test checks that the two agree).
// The explorers draw with the palette as the card shows it in the page's theme: the CSS
// properties --ex-<name> of theme.css (a colour adjusted where it lacks contrast there).
import PALETTE from "./palette.json" with { type: "json" };

export const OKABE_ITO = Object.freeze({ ...PALETTE });

/** A colour of the card in the current theme (theme.css): a CSS value, for a style property. */
export const themed = (name) => `var(--ex-${name})`;

/** The query's colour, in every explorer. */
export const QUERY_COLOUR = themed("vermillion");

/** What the keys or heads add up to (the output, the average): black in light, near-white in dark. */
export const INK_COLOUR = themed("ink");

/** A series of arrows and bars (keys, heads); yellow is too pale on white for thin lines. */
export const SERIES = Object.freeze(["blue", "green", "purple", "sky", "orange"]);
export const SERIES_COLOURS = Object.freeze(SERIES.map(themed));

/** The colour of item i of a series: past the fifth the colours come round again. */
export const seriesColour = (i) => SERIES_COLOURS[i % SERIES_COLOURS.length];

/** The palette as CSS custom properties on `node` (--okabe-ito-blue, ...), for the style sheets. */
export function paletteProperties(node) {
  for (const [name, colour] of Object.entries(OKABE_ITO)) node.style.setProperty(`--okabe-ito-${name}`, colour);
}
