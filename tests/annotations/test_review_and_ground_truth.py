"""Disagreements go to review; the adjudicated answer becomes the ground truth."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from annotations.datasets import import_labelled_arrays
from annotations.ground_truth import ground_truth_for
from annotations.models import Annotation, Item
from tests.annotations.helpers import read
from tests.cast import add_member, make_project


def clients_for(project: Any, make_user: Any, n: int, role: str = "annotator") -> list[APIClient]:
    out = []
    for i in range(n):
        user = make_user(f"{role}{project.pk}-{i}")
        add_member(project, user, role)
        client = APIClient()
        client.force_authenticate(user)
        out.append(client)
    return out


@pytest.fixture
def two_reader_project(db: None) -> Any:
    return make_project(items=1, readers_per_item=2)


def test_readers_who_disagree_send_the_item_to_review_and_it_has_no_truth_yet(
    two_reader_project: Any, make_user: Any
) -> None:
    project = two_reader_project
    first, second = clients_for(project, make_user, 2)
    item_id = read(first, project.pk, "normal")
    read(second, project.pk, "pneumonia")
    item = Item.objects.get(pk=item_id)
    assert (item.review_state, item.review_reason) == ("pending", "disagreement")
    assert ground_truth_for(project) == {}
    (reviewer,) = clients_for(project, make_user, 1, "reviewer")
    queue = reviewer.get(f"/api/v1/projects/{project.pk}/review/").json()
    assert [row["id"] for row in queue["results"]] == [item_id]
    assert sorted(a["payload"]["labels"][0] for a in queue["results"][0]["annotations"]) == [
        "normal", "pneumonia",
    ]  # fmt: skip


def test_the_adjudicated_answer_becomes_the_ground_truth(
    two_reader_project: Any, make_user: Any
) -> None:
    project = two_reader_project
    first, second = clients_for(project, make_user, 2)
    item_id = read(first, project.pk, "normal")
    read(second, project.pk, "pneumonia")
    (reviewer,) = clients_for(project, make_user, 1, "reviewer")
    response = reviewer.post(
        f"/api/v1/items/{item_id}/review", {"payload": {"labels": ["pneumonia"]}, "note": "RLL"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201
    truth = ground_truth_for(project)[item_id]
    assert (truth.labels, truth.source, truth.readers) == (["pneumonia"], "review", 2)
    review_rows = Annotation.objects.filter(item_id=item_id, source="review")
    assert truth.annotation_ids == [review_rows.get().pk]
    assert reviewer.get(f"/api/v1/projects/{project.pk}/review/").json()["results"] == []


def test_a_second_review_replaces_the_first_as_truth_and_keeps_it_in_history(
    two_reader_project: Any, make_user: Any
) -> None:
    project = two_reader_project
    first, second = clients_for(project, make_user, 2)
    item_id = read(first, project.pk, "normal")
    read(second, project.pk, "pneumonia")
    (reviewer,) = clients_for(project, make_user, 1, "reviewer")
    for version, label in enumerate(("pneumonia", "normal")):
        # The second names the version it replaces (If-Match), as annotation edits do.
        headers = {"HTTP_IF_MATCH": f'"{version}"'} if version else {}
        response = reviewer.post(
            f"/api/v1/items/{item_id}/review",
            {"payload": {"labels": [label]}},
            format="json",
            **headers,
        )
        assert response.status_code == 201
    assert ground_truth_for(project)[item_id].labels == ["normal"]
    assert Annotation.objects.filter(item_id=item_id, source="review").count() == 2


def test_readers_who_agree_make_a_consensus_truth(two_reader_project: Any, make_user: Any) -> None:
    project = two_reader_project
    first, second = clients_for(project, make_user, 2)
    item_id = read(first, project.pk, "pneumonia")
    read(second, project.pk, "pneumonia")
    truth = ground_truth_for(project)[item_id]
    assert (truth.labels, truth.source, truth.readers, len(truth.annotation_ids)) == (
        ["pneumonia"], "consensus", 2, 2,
    )  # fmt: skip
    assert Item.objects.get(pk=item_id).review_state == ""


def test_a_single_reader_is_the_truth_unless_the_project_requires_review(
    db: None, make_user: Any
) -> None:
    plain = make_project(items=1)
    (client,) = clients_for(plain, make_user, 1)
    item_id = read(client, plain.pk, "normal")
    assert ground_truth_for(plain)[item_id].source == "single"

    strict = make_project(items=1, require_review=True)
    (client,) = clients_for(strict, make_user, 1)
    item_id = read(client, strict.pk, "normal")
    item = Item.objects.get(pk=item_id)
    assert (item.completed, item.review_state, item.review_reason) == (False, "pending", "required")
    assert ground_truth_for(strict) == {}


def test_a_half_read_item_has_no_truth(two_reader_project: Any, make_user: Any) -> None:
    (client,) = clients_for(two_reader_project, make_user, 1)
    read(client, two_reader_project.pk, "normal")
    assert ground_truth_for(two_reader_project) == {}


def test_imported_labels_are_truth_without_readers(db: None) -> None:
    import numpy as np

    project = make_project(classes=("normal", "pneumonia"))
    images = np.zeros((2, 8, 8), dtype=np.uint8)
    import_labelled_arrays(project, images, np.array([1, 0]), ["normal", "pneumonia"])
    truths = ground_truth_for(project)
    assert sorted((t.labels[0], t.source) for t in truths.values()) == [
        ("normal", "imported"), ("pneumonia", "imported"),
    ]  # fmt: skip


def test_a_review_payload_is_validated_like_an_annotation(
    two_reader_project: Any, make_user: Any
) -> None:
    (reviewer,) = clients_for(two_reader_project, make_user, 1, "reviewer")
    item = Item.objects.get(project=two_reader_project)
    response = reviewer.post(
        f"/api/v1/items/{item.pk}/review", {"payload": {"labels": ["cat"]}}, format="json"
    )
    assert response.status_code == 400
    assert not Annotation.objects.filter(item=item).exists()


def test_a_sample_of_agreed_items_is_reviewed_too(db: None, make_user: Any) -> None:
    project = make_project(items=6, review_sample_rate=1.0)
    (client,) = clients_for(project, make_user, 1)
    item_id = read(client, project.pk)
    assert Item.objects.get(pk=item_id).review_reason == "sample"
    assert ground_truth_for(project)[item_id].source == "single"


def test_the_agreement_report_gives_kappa_per_pair_and_against_adjudication(
    db: None, make_user: Any
) -> None:
    from sklearn.metrics import cohen_kappa_score

    project = make_project(items=12, readers_per_item=2)
    first, second = clients_for(project, make_user, 2)
    labels_a = ["normal", "pneumonia"] * 6
    labels_b = ["normal", "pneumonia", "pneumonia", "normal"] * 3
    for a, b in zip(labels_a, labels_b, strict=True):
        # The second reader is offered the item the first just read: highest priority first.
        item_id = read(first, project.pk, a)
        assert read(second, project.pk, b) == item_id
    (reviewer,) = clients_for(project, make_user, 1, "reviewer")
    report = reviewer.get(f"/api/v1/projects/{project.pk}/agreement")
    assert report.status_code == 200
    body = report.json()["classification"]
    pairs = list(zip(labels_a, labels_b, strict=True))
    expected = cohen_kappa_score([p[0] for p in pairs], [p[1] for p in pairs])
    assert body["pairs"][0]["cohen_kappa"]["estimate"] == pytest.approx(expected, abs=1e-4)
    assert body["pairs"][0]["cohen_kappa"]["n"] == len(pairs)
    assert body["fleiss_kappa"]["n"] == len(pairs)
    assert body["readers_vs_adjudication"] == []
    annotator_view = first.get(f"/api/v1/projects/{project.pk}/agreement")
    assert annotator_view.status_code == 403
