"""A doctor's "remaining" is counted up to REMAINING_CAP (decision 0185): exact below it, the cap
itself above it, in the queue's answer and on the project list alike."""

from __future__ import annotations

from typing import Any

import pytest

from annotations.services import counts
from tests.cast import add_member, make_project

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("items", "remaining"), [(2, 2), (3, 3), (5, 3)])
def test_remaining_is_exact_up_to_the_cap_and_the_cap_beyond(
    cast: Any, monkeypatch: Any, items: int, remaining: int
) -> None:
    monkeypatch.setattr(counts, "REMAINING_CAP", 3)
    project = make_project(items=items)
    add_member(project, cast.anna, "annotator")
    client = cast.client(cast.anna)
    got = client.post(f"/api/v1/projects/{project.pk}/queue/next", {"count": 1}, format="json")
    assert got.status_code == 200
    assert got.json()["progress"] == {"submitted_by_me": 0, "remaining": remaining}
    listed = {p["id"]: p for p in client.get("/api/v1/projects/").json()["results"]}
    assert listed[project.pk]["counts"]["remaining_for_me"] == remaining
