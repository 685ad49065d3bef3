"""The cast of the workflow tests plays on a six-item project (tests/cast.py): alice administers
it, rita reviews, anna and ben annotate; otto is in no project."""

from __future__ import annotations

import pytest

from tests.cast import Cast, make_project


@pytest.fixture
def cast(cast: Cast) -> Cast:
    cast.person("otto")  # exists from the start: an admin may add him by username
    return cast.on(make_project(items=6), "alice", "rita", "anna", "ben")
