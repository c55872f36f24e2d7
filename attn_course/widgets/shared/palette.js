// The course's colours: the Okabe-Ito palette, safe for colour-blind readers. Its one
// home is palette.json, which attn_course.plots reads too (a test checks that the two agree).
import PALETTE from "./palette.json" with { type: "json" };

export const OKABE_ITO = Object.freeze({ ...PALETTE });

/** The query's colour, in every explorer. */
export const QUERY_COLOUR = OKABE_ITO.vermillion;

/** A series of arrows and bars (keys, heads); yellow is too pale on white for thin lines. */
export const SERIES_COLOURS = [OKABE_ITO.blue, OKABE_ITO.green, OKABE_ITO.purple, OKABE_ITO.sky, OKABE_ITO.orange];

/** The colour of item i of a series: past the fifth the colours come round again. */
export const seriesColour = (i) => SERIES_COLOURS[i % SERIES_COLOURS.length];

/** The palette as CSS custom properties on `node` (--okabe-ito-blue, ...), for the style sheets. */
export function paletteProperties(node) {
  for (const [name, colour] of Object.entries(OKABE_ITO)) node.style.setProperty(`--okabe-ito-${name}`, colour);
}
