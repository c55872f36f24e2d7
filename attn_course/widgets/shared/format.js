// How the explorers print numbers (attn_course.widgets._base.fmt says the same in Python).

/** Two decimals, and never "-0.00". */
export function fmt(x) {
  return (Math.abs(x) < 0.005 ? 0 : x).toFixed(2);
}
