"""List endpoints run a fixed number of queries, however many rows they return."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import Item
from tests.annotations.helpers import answer, read, submit
from tests.cast import add_member, make_project


def queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def test_the_project_list_does_not_grow_with_projects(cast: Any) -> None:
    client = cast.client(cast.anna)
    one = queries(client, "/api/v1/projects/")
    for _ in range(4):
        add_member(make_project(items=3), cast.anna, "annotator")
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
    assert queries(reviewing, url) == one == 7
    history = f"/api/v1/me/history?project={project.pk}"
    assert queries(reading, history) == 3
    assert len(reading.get(history).json()["results"]) == 7


def test_members_and_comments_lists_are_fixed_cost(cast: Any, make_user: Any) -> None:
    client = cast.client(cast.alice)
    url = f"/api/v1/projects/{cast.project.pk}/members/"
    before = queries(client, url)
    for i in range(5):
        add_member(cast.project, make_user(f"extra{i}"), "annotator")
    assert queries(client, url) == before == 2
    item = cast.project.items.first()
    comments = f"/api/v1/items/{item.pk}/comments"
    client.post(comments, {"text": "one"}, format="json")
    before = queries(client, comments)
    for i in range(5):
        client.post(comments, {"text": f"more {i}"}, format="json")
    assert queries(client, comments) == before == 2


def test_next_with_three_items_costs_no_more_than_with_one(cast: Any) -> None:
    def cost(user: Any, count: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = cast.client(user).post(
                f"/api/v1/projects/{cast.project.pk}/queue/next", {"count": count}, format="json"
            )
        assert len(response.json()["items"]) == count
        return len(captured.captured_queries)

    one = cost(cast.anna, 1)
    # PostgreSQL claims all items in one statement. Without row locks (SQLite) each candidate
    # is its own short transaction: savepoint, conditional UPDATE, closing a lapsed lease,
    # INSERT, release.
    per_item = 0 if connection.vendor == "postgresql" else 5
    assert cost(cast.ben, 3) == one + 2 * per_item


def cycle_costs(client: Any, project_id: int) -> tuple[int, int, int]:
    """Queries of one next -> save -> submit (the test client logs in without a token query)."""
    with CaptureQueriesContext(connection) as taking:
        response = client.post(f"/api/v1/projects/{project_id}/queue/next", format="json")
    item = response.json()["items"][0]["id"]
    with CaptureQueriesContext(connection) as saving:
        assert answer(client, item, {"labels": ["normal"]}).status_code == 201
    with CaptureQueriesContext(connection) as submitting:
        assert submit(client, item).json()["counted"] is True
    return (
        len(taking.captured_queries),
        len(saving.captured_queries),
        len(submitting.captured_queries),
    )


def test_the_labelling_cycle_runs_a_pinned_number_of_queries(db: None, make_user: Any) -> None:
    from rest_framework.test import APIClient

    project = make_project(items=4, readers_per_item=2)
    clients = []
    for name in ("first", "second"):
        add_member(project, user := make_user(name), "annotator")
        clients.append(APIClient())
        clients[-1].force_authenticate(user)
    Item.objects.filter(project=project).update(priority=0)  # both doctors take the same item
    # next: project + role + progress + "holds leases?" in one query, the claim in one
    # statement (decision 0202), the payload's items and annotations. SQLite has no row locks:
    # it reads candidates, then claims one in its own transaction (savepoint, conditional
    # UPDATE, closing a lapsed lease, INSERT, release).
    # save: the item with its lease check, the label schema, the INSERT in a transaction.
    # submit: lock the item, the caller's lease with "already read?" and "answered?",
    # INSERT the read, count it, close the lease, in a transaction; the second reader's
    # submit also reads both answers (item, reads, annotations) and sets the review state.
    first = (4, 5, 7) if connection.vendor == "postgresql" else (9, 5, 7)
    assert cycle_costs(clients[0], project.pk) == first
    assert cycle_costs(clients[1], project.pk) == (first[0], first[1], first[2] + 4)


def test_the_learning_hook_after_submit_is_one_query_until_a_run_is_due(cast: Any) -> None:
    from learning.models import TrainingRun
    from learning.triggers import on_labels_submitted

    cast.project.retrain_every = 3
    cast.project.save()
    client = cast.client(cast.anna)
    for _ in range(2):
        read(client, cast.project.pk)
        with CaptureQueriesContext(connection) as captured:
            on_labels_submitted(cast.project.pk)
        assert len(captured.captured_queries) == 1
    assert not TrainingRun.objects.exists()
    read(client, cast.project.pk)
    on_labels_submitted(cast.project.pk)
    assert TrainingRun.objects.get().trigger == "auto"
