"""API input out of range is a 4xx with a reason, never a 500 (issue 14): deeply nested JSON,
ids of 40 digits, offsets past what a database can page to."""

from __future__ import annotations

import pytest

from tests.annotations.helpers import take


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.django_db
def test_a_deeply_nested_json_body_is_a_400(cast) -> None:  # type: ignore[no-untyped-def]
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    url = f"/api/v1/items/{item['id']}/annotations/7d8c1c4e-2b7f-4a39-9f53-3c9c3b1d2e11"
    for depth in (100_000, 40):
        body = '{"kind": "class", "frame": 1, "payload": ' + _nested(depth) + "}"
        response = client.generic("PUT", url, body, content_type="application/json")
        assert response.status_code == 400, (depth, response.content[:200])
        assert "nested deeper" in response.json()["detail"]


@pytest.mark.django_db
def test_a_member_id_of_40_digits_is_a_404(cast) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/projects/{cast.project.pk}/members/{'9' * 40}/"
    assert cast.client(cast.alice).delete(url).status_code == 404
    assert cast.client(cast.alice).get(f"/api/v1/projects/{'1' * 40}/").status_code == 404


@pytest.mark.django_db
def test_paging_is_bounded(cast) -> None:  # type: ignore[no-untyped-def]
    client = cast.client(cast.alice)
    huge = client.get("/api/v1/projects/", {"offset": "1" + "0" * 40})
    assert huge.status_code == 400 and "offset" in huge.json()
    assert client.get("/api/v1/projects/", {"offset": "1e40"}).status_code == 400
    listed = client.get("/api/v1/projects/", {"limit": 10**9})
    assert listed.status_code == 200
