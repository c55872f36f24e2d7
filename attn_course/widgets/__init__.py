"""Explorers: anywidget classes (Python traits + the reference maths) and their ES modules."""

from attn_course.widgets._base import ExplorerValueError
from attn_course.widgets.multihead import MultiHeadExplorer
from attn_course.widgets.query_key import QueryKeyExplorer
from attn_course.widgets.stepper import DecodingStepper

__all__ = ["DecodingStepper", "ExplorerValueError", "MultiHeadExplorer", "QueryKeyExplorer"]
