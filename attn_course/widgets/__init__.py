"""Explorers: anywidget classes (Python traits + the reference maths) and their ES modules.

Each explorer is <name>.py, <name>.js and <name>.css; what they share lives once in shared/
(the plane, the card, the palette and its light and dark theme, fmt, saving the view as SVG or
PNG) and _base.py (ExplorerValueError, fmt, value checks);
_esm.py joins a widget's module and sheet with the shared ones they import, for anywidget.
"""

from attn_course.widgets._base import ExplorerValueError
from attn_course.widgets.multihead import MultiHeadExplorer
from attn_course.widgets.query_key import QueryKeyExplorer
from attn_course.widgets.stepper import DecodingStepper

__all__ = ["DecodingStepper", "ExplorerValueError", "MultiHeadExplorer", "QueryKeyExplorer"]
