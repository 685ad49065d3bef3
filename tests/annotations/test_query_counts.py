"""List endpoints run a fixed number of queries, however many rows they return."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.annotations.factories import add_member, make_project
from tests.annotations.helpers import read


def queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def test_the_project_list_does_not_grow_with_projects(team: Any) -> None:
    client = team.client(team.annotator)
    one = queries(client, "/api/v1/projects/")
    for _ in range(4):
        add_member(make_project(items=3), team.annotator, "annotator")
    assert queries(client, "/api/v1/projects/") == one == 3  # count, page, label classes


def test_the_review_queue_does_not_grow_with_items(db: None, make_user: Any) -> None:
    from rest_framework.test import APIClient

    project = make_project(items=8, review_sample_rate=1.0)
    reader, reviewer = make_user("reader"), make_user("reviewer")
    add_member(project, reader, "annotator")
    add_member(project, reviewer, "reviewer")
    reading, reviewing = APIClient(), APIClient()
    reading.force_authenticate(reader)
    reviewing.force_authenticate(reviewer)
    url = f"/api/v1/projects/{project.pk}/review/"
    read(reading, project.pk)
    one = queries(reviewing, url)
    for _ in range(6):
        read(reading, project.pk)
    assert len(reviewing.get(url).json()["results"]) == 7
    assert queries(reviewing, url) == one == 5
    history = f"/api/v1/me/history?project={project.pk}"
    assert queries(reading, history) == 3
    assert len(reading.get(history).json()["results"]) == 7


def test_members_and_comments_lists_are_fixed_cost(team: Any, make_user: Any) -> None:
    client = team.client(team.admin)
    url = f"/api/v1/projects/{team.project.pk}/members/"
    before = queries(client, url)
    for i in range(5):
        add_member(team.project, make_user(f"extra{i}"), "annotator")
    assert queries(client, url) == before == 2
    item = team.project.items.first()
    comments = f"/api/v1/items/{item.pk}/comments"
    client.post(comments, {"text": "one"}, format="json")
    before = queries(client, comments)
    for i in range(5):
        client.post(comments, {"text": f"more {i}"}, format="json")
    assert queries(client, comments) == before == 2


def test_next_with_three_items_costs_no_more_than_with_one(team: Any) -> None:
    def cost(user: Any, count: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = team.client(user).post(
                f"/api/v1/projects/{team.project.pk}/queue/next", {"count": count}, format="json"
            )
        assert len(response.json()["items"]) == count
        return len(captured.captured_queries)

    one = cost(team.annotator, 1)
    # Per extra item: close its expired lease, mark the item, insert the lease; without row
    # locks (SQLite) each candidate is also its own short transaction (savepoint + release).
    per_item = 3 if connection.vendor == "postgresql" else 5
    assert cost(team.second_annotator, 3) == one + 2 * per_item
