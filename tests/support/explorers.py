"""Helpers shared by the explorers' unit tests."""

import pytest

from attn_course.widgets import ExplorerValueError


def assert_refused_and_unchanged(explorer, trait: str, value: object, message: str) -> None:
    """Setting ``trait`` to ``value`` raises ExplorerValueError (a ValueError) with ``message``
    in it, and leaves every trait of ``explorer`` as it was."""
    before = {name: getattr(explorer, name) for name in explorer.keys}
    with pytest.raises(ExplorerValueError) as error:
        setattr(explorer, trait, value)
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)
    assert {name: getattr(explorer, name) for name in explorer.keys} == before
