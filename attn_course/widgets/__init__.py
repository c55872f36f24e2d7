"""Explorers: anywidget classes (Python traits + the reference maths) and their ES modules."""

from attn_course.widgets.query_key import ExplorerValueError, QueryKeyExplorer

__all__ = ["ExplorerValueError", "QueryKeyExplorer"]
