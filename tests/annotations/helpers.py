"""Small verbs the workflow tests share: take the next item, answer it, submit it."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework.test import APIClient


def take(client: APIClient, project_id: int, count: int = 1) -> list[dict[str, Any]]:
    response = client.post(
        f"/api/v1/projects/{project_id}/queue/next", {"count": count}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["items"]


def answer(
    client: APIClient,
    item_id: int,
    payload: dict[str, Any] | None = None,
    *,
    kind: str = "class",
    uid: str | None = None,
    version: int | None = None,
) -> Any:
    headers = {"HTTP_IF_MATCH": f'"{version}"'} if version is not None else {}
    return client.put(
        f"/api/v1/items/{item_id}/annotations/{uid or uuid.uuid4()}",
        {"kind": kind, "frame": 1, "payload": payload or {"labels": ["pneumonia"]}},
        format="json",
        **headers,
    )


def submit(client: APIClient, item_id: int, spent: int = 1500) -> Any:
    return client.post(f"/api/v1/items/{item_id}/submit", {"time_spent_ms": spent}, format="json")


def read(client: APIClient, project_id: int, label: str = "pneumonia") -> int:
    """Take one item, label it and submit it; returns the item id."""
    (item,) = take(client, project_id)
    assert answer(client, item["id"], {"labels": [label]}).status_code == 201
    assert submit(client, item["id"]).status_code == 200
    return item["id"]
