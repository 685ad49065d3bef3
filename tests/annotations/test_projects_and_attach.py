"""Project settings, label schema, members, and attaching studies (explicitly or by query)."""

from __future__ import annotations

from typing import Any

from annotations.models import Item
from annotations.services.attach import attach_instances
from tests.annotations.helpers import answer, take
from tests.cast import make_instances, make_project

P = "/api/v1/projects/"


def test_a_project_shows_its_settings_classes_role_and_counts(cast: Any) -> None:
    body = cast.client(cast.anna).get(f"{P}{cast.project.pk}/").json()
    assert body["my_role"] == "annotator"
    assert [c["name"] for c in body["label_classes"]] == ["normal", "pneumonia"]
    assert body["counts"] == {"items": 6, "completed": 0, "my_submitted": 0, "remaining_for_me": 6}
    assert body["suggestions"] == "after" and body["unit"] == "instance"


def test_an_admin_edits_the_label_schema_with_attributes(cast: Any) -> None:
    response = cast.client(cast.alice).patch(
        f"{P}{cast.project.pk}/",
        {"label_classes": [
            {"name": "normal", "color": "#00ff00", "shortcut": "n"},
            {"name": "pneumonia", "shortcut": "p", "attributes": [
                {"name": "side", "type": "choice", "choices": ["left", "right"]}]},
            {"name": "effusion", "shortcut": "e"},
        ]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    classes = response.json()["label_classes"]
    assert [(c["name"], c["index"], c["shortcut"]) for c in classes] == [
        ("normal", 0, "n"), ("pneumonia", 1, "p"), ("effusion", 2, "e"),
    ]  # fmt: skip


def test_bad_schema_edits_are_refused_with_reasons(cast: Any) -> None:
    client = cast.client(cast.alice)
    dupes = client.patch(
        f"{P}{cast.project.pk}/",
        {"label_classes": [{"name": "a", "shortcut": "x"}, {"name": "b", "shortcut": "x"}]},
        format="json",
    )
    assert dupes.status_code == 400 and "label_classes" in dupes.json()
    bad_attr = client.patch(
        f"{P}{cast.project.pk}/",
        {"label_classes": [{"name": "a", "attributes": [{"name": "x", "type": "colour"}]}]},
        format="json",
    )
    assert bad_attr.status_code == 400
    assert (
        client.patch(f"{P}{cast.project.pk}/", {"readers_per_item": 0}, format="json").status_code
        == 400
    )


def test_classes_in_use_and_the_task_type_are_frozen_once_annotated(cast: Any) -> None:
    reader = cast.client(cast.anna)
    (item,) = take(reader, cast.project.pk)
    answer(reader, item["id"], {"labels": ["normal"]})
    client = cast.client(cast.alice)
    removed = client.patch(
        f"{P}{cast.project.pk}/", {"label_classes": [{"name": "pneumonia"}]}, format="json"
    )
    assert (
        removed.status_code == 400
    )  # "normal" is in use (tests/annotations/test_project_settings.py)
    retyped = client.patch(f"{P}{cast.project.pk}/", {"task_type": "detection"}, format="json")
    assert retyped.status_code == 400 and "task_type" in retyped.json()


def test_an_admin_adds_a_member_by_username_and_changes_the_role(cast: Any) -> None:
    client = cast.client(cast.alice)
    url = f"{P}{cast.project.pk}/members/"
    added = client.post(url, {"username": "otto", "role": "annotator"}, format="json")
    assert added.status_code == 201 and added.json()["user"] == cast.otto.pk
    changed = client.post(url, {"user": cast.otto.pk, "role": "reviewer"}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "reviewer"
    assert (
        client.post(url, {"username": "nobody", "role": "annotator"}, format="json").status_code
        == 400
    )
    assert cast.client(cast.otto).get(f"{P}{cast.project.pk}/").status_code == 200


def test_attaching_by_query_creates_items_only_for_matching_visible_studies(cast: Any) -> None:
    target = make_project(items=0)
    target.memberships.create(user=cast.alice, role="admin")
    # Visible to the admin through cast.project: 6 CT instances dated 20240101.
    response = cast.client(cast.alice).post(
        f"{P}{target.pk}/attach",
        {"query": {"modality": "CT", "date_from": "20231201", "date_to": "20240131"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"studies": 4, "series": 4, "instances": 6, "items_created": 6}
    again = cast.client(cast.alice).post(
        f"{P}{target.pk}/attach", {"query": {"modality": "CT"}}, format="json"
    )
    assert again.json()["items_created"] == 0
    none = cast.client(cast.alice).post(
        f"{P}{target.pk}/attach", {"query": {"modality": "MR"}}, format="json"
    )
    assert none.json() == {"studies": 0, "series": 0, "instances": 0, "items_created": 0}


def test_attaching_an_unknown_or_invisible_study_names_it_and_changes_nothing(cast: Any) -> None:
    hidden = make_instances(1)[0].series.study.study_instance_uid  # in no project of the admin
    response = cast.client(cast.alice).post(
        f"{P}{cast.project.pk}/attach", {"study_uids": [hidden]}, format="json"
    )
    assert response.status_code == 400 and hidden in str(response.json())
    assert Item.objects.filter(project=cast.project).count() == 6


def test_frame_projects_get_an_item_per_frame_and_series_projects_one_per_series(db: None) -> None:
    frames = make_project(unit="frame")
    assert attach_instances(frames, make_instances(2, frames=3)) == 6
    assert sorted(Item.objects.filter(project=frames).values_list("frame", flat=True)) == [
        1,
        1,
        2,
        2,
        3,
        3,
    ]
    series = make_project(unit="series")
    assert attach_instances(series, make_instances(5, patients=2)) == 2
    assert Item.objects.filter(project=series, instance__isnull=True).count() == 2


def test_cold_start_priorities_are_reproducible_from_the_project_seed(db: None) -> None:
    instances = make_instances(5)
    first = make_project(queue_seed=7)
    second = make_project(queue_seed=7)
    attach_instances(first, instances)
    attach_instances(second, instances)

    def order(project: Any) -> list[int]:
        items = Item.objects.filter(project=project).order_by("-priority")
        return list(items.values_list("instance", flat=True))

    assert order(first) == order(second)
    assert len(set(Item.objects.filter(project=first).values_list("priority", flat=True))) == 5


def test_the_openapi_schema_documents_the_workflow(cast: Any) -> None:
    response = cast.client(cast.alice).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/projects/{project_id}/queue/next",
        "/api/v1/items/{item_id}/submit",
        "/api/v1/items/{item_id}/annotations/{uid}",
        "/api/v1/projects/{project_id}/agreement",
    ):
        assert path in paths
