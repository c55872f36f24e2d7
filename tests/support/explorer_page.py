"""The standalone page of the explorers (tests/browser/standalone.html), filled with each explorer's
front end as anywidget sends it to the page: its joined module (_esm), its style sheet (_css) and
the synced traits of its Python class. No built book needed."""

from __future__ import annotations

import json
from pathlib import Path

from attn_course.widgets import DecodingStepper, MultiHeadExplorer, QueryKeyExplorer

__all__ = ["EXPLORERS", "ROOTS", "write_page"]

TEMPLATE = Path(__file__).resolve().parents[1] / "browser" / "standalone.html"
EMPTY = '<script type="application/json" id="explorers">[]</script>'

# name (the files' prefix, "<name>-view.svg") -> the explorer shown, in a state that draws every colour:
# five keys (the whole series), masked keys and a moved query, the last step of a decoding (every heatmap row).
EXPLORERS = {
    "query-key": lambda: QueryKeyExplorer(key_vectors=[[1, 0], [0, 1], [-1, 0], [0.5, -1], [-0.75, 0.75]],
                                          labels=["the", "cats", "walk", "on", "street"], query=[1, 1]),
    "multihead": lambda: MultiHeadExplorer(mask_mode="causal", query_index=3, query_offset=[0.5, -0.25]),
    "stepper": lambda: DecodingStepper(step=2),
}
ROOTS = {"query-key": ".qk-explorer", "multihead": ".mh-explorer", "stepper": ".ds-stepper"}


def _traits(explorer) -> dict:
    """The synced traits that the view reads (not _esm, _css, the layout)."""
    return {k: v for k, v in explorer.get_state().items() if not k.startswith("_") and k != "layout"}


def write_page(folder: Path) -> Path:
    """explorers.html in ``folder``: the standalone page with every explorer of EXPLORERS; returns its path."""
    widgets = [{"name": name, "esm": e._esm, "css": e._css, "state": _traits(e)} for name, e in
               ((name, make()) for name, make in EXPLORERS.items())]
    page = TEMPLATE.read_text(encoding="utf-8")
    assert page.count(EMPTY) == 1, f"{TEMPLATE} must hold {EMPTY} once"
    data = json.dumps(widgets).replace("</", "<\\/")              # no </script> inside the script
    path = folder / "explorers.html"
    path.write_text(page.replace(EMPTY, EMPTY.replace("[]", data)), encoding="utf-8")
    return path
