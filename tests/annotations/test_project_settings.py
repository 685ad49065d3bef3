"""Creating and configuring a project through the API the settings page uses: who may, every
validation rule with its field, the task type locked once studies are attached, class renames
that carry every stored answer along, and deleting a class in use refused with its count."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from annotations.markdown import render_instructions
from annotations.models import Annotation, LabelClass, Review
from learning.models import DatasetSnapshot, ModelVersion
from learning.strategy_names import STRATEGY_DESCRIPTIONS, STRATEGY_NAMES
from tests.annotations.helpers import answer, submit, take
from tests.cast import make_project

P = "/api/v1/projects/"
SEG = {
    "name": "Liver lesions",
    "task_type": "segmentation",
    "label_classes": [
        {"name": "liver", "color": "#3fb950", "shortcut": "l"},
        {"name": "lesion", "color": "#f85149", "shortcut": "k"},
        {"name": "vessel", "color": "#58a6ff", "shortcut": "v"},
    ],
}


def test_a_superuser_creates_a_project_and_administers_it(cast: Any) -> None:
    response = cast.client(cast.sam).post(P, SEG, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(c["name"], c["color"], c["shortcut"]) for c in body["label_classes"]] == [
        ("liver", "#3fb950", "l"), ("lesion", "#f85149", "k"), ("vessel", "#58a6ff", "v"),
    ]  # fmt: skip
    assert body["strategy"] == "seg_budget_aware"  # the task's default when none is chosen
    assert body["my_role"] == "admin"


def test_project_creation_needs_the_add_project_permission_or_superuser(cast: Any) -> None:
    assert cast.client(cast.alice).post(P, SEG, format="json").status_code == 403
    assert cast.client(cast.alice).get("/api/v1/project-choices").json()["can_create"] is False
    cast.alice.user_permissions.add(Permission.objects.get(codename="add_project"))
    alice = type(cast.alice).objects.get(pk=cast.alice.pk)  # permissions are cached per object
    assert cast.client(alice).get("/api/v1/project-choices").json()["can_create"] is True
    created = cast.client(alice).post(P, SEG, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["my_role"] == "admin"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("name", "  ", "may not be blank"),
        ("task_type", "captioning", "not a valid choice"),
        ("readers_per_item", 0, "1 to 20 readers per item"),
        ("readers_per_item", 21, "1 to 20 readers per item"),
        ("review_sample_rate", 1.5, "a fraction between 0 and 1"),
        ("suggestions", "always", "not a valid choice"),
        ("strategy", "entropy", "a segmentation project takes one of"),
        ("strategy", "guess", "one of bald"),
        ("cold_start", "kmeans", "not a valid choice"),
        ("retrain_every", -1, "greater than or equal to 0"),
        ("retrain_every", 100_001, "0 (never automatically) to 100000"),
        ("lease_seconds", 10, "30 s to 24 h"),
        ("deidentify", "perhaps", "Must be a valid boolean"),
        ("instructions", "x" * 20_001, "at most 20000 characters"),
    ],
)
def test_each_invalid_setting_is_refused_with_its_field_and_reason(
    cast: Any, field: str, value: Any, reason: str
) -> None:
    response = cast.client(cast.sam).post(P, {**SEG, field: value}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field], body
    assert reason in " ".join(map(str, body[field])), body


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"name": "x", "color": "red"}, "a CSS hex colour"),
        ({"name": "x", "shortcut": "?"}, "one letter a to z or a digit 1 to 9"),
        ({"name": "x", "shortcut": "ab"}, "no more than 1 character"),
        ({"name": " "}, "may not be blank"),
    ],
)
def test_an_invalid_class_is_refused_with_its_position_and_reason(
    cast: Any, spec: dict[str, Any], reason: str
) -> None:
    classes = [{"name": "liver"}, spec]
    response = cast.client(cast.sam).post(P, {**SEG, "label_classes": classes}, format="json")
    assert response.status_code == 400
    errors = response.json()["label_classes"]
    # DRF keys a nested list's errors by position, only for the entries that failed.
    assert list(errors) == ["1"] and reason in str(errors["1"]), errors


def test_settings_are_for_the_projects_admins(cast: Any) -> None:
    url = f"{P}{cast.project.pk}/"
    for who, code in (("anna", 403), ("rita", 403), ("olga", 404), ("otto", 404)):
        assert cast.client(who).patch(url, {"name": "mine"}, format="json").status_code == code
    assert cast.client(cast.sam).patch(url, {"name": "renamed"}, format="json").status_code == 200
    response = cast.client(cast.alice).patch(
        url, {"retrain_every": 0, "lease_seconds": 900, "deidentify": False}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["retrain_every"], body["lease_seconds"]) == ("renamed", 0, 900)
    assert body["deidentify"] is False


def test_the_task_type_is_locked_once_studies_are_attached_and_says_why(cast: Any) -> None:
    empty = make_project(admin=cast.alice)
    url = f"{P}{empty.pk}/"
    assert cast.client(cast.alice).get(url).json()["locked"] == {}
    changed = cast.client(cast.alice).patch(url, {"task_type": "segmentation"}, format="json")
    assert changed.status_code == 200 and changed.json()["task_type"] == "segmentation"

    locked = cast.client(cast.alice).get(f"{P}{cast.project.pk}/").json()["locked"]
    assert "studies are attached" in locked["task_type"]
    refused = cast.client(cast.alice).patch(
        f"{P}{cast.project.pk}/", {"task_type": "detection"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["task_type"] == [locked["task_type"]]


def test_instructions_render_as_safe_html(cast: Any) -> None:
    text = (
        "# Read me\n\nMark **every** lesion. <script>alert(1)</script>\n\n"
        "[bad](javascript:alert(1)) [guide](https://example.org/guide) "
        '<img src=x onerror="alert(1)">'
    )
    url = f"{P}{cast.project.pk}/"
    body = cast.client(cast.alice).patch(url, {"instructions": text}, format="json").json()
    html = body["instructions_html"]
    assert body["instructions"] == text  # the Markdown itself is kept as written
    assert "<h1>Read me</h1>" in html and "<strong>every</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "javascript:" not in html.split("[bad]")[0]
    assert 'href="javascript' not in html
    assert (
        '<a href="https://example.org/guide" rel="noopener noreferrer" target="_blank">guide</a>'
        in html
    )
    assert render_instructions("") == ""


def test_the_choices_list_every_strategy_with_a_line_and_which_apply_per_task(cast: Any) -> None:
    body = cast.client(cast.anna).get("/api/v1/project-choices").json()
    assert [s["name"] for s in body["strategies"]] == list(STRATEGY_NAMES)
    assert all(s["description"] for s in body["strategies"])
    assert set(STRATEGY_DESCRIPTIONS) == set(STRATEGY_NAMES)
    assert "seg_entropy" in body["strategies_by_task"]["segmentation"]
    assert "seg_entropy" not in body["strategies_by_task"]["classification"]
    assert [c["name"] for c in body["cold_starts"]] == ["random", "diversity"]
    assert body["can_create"] is False and body["invite_signup"] is True
    assert cast.client(None).get("/api/v1/project-choices").status_code == 401


def _classes(cast: Any) -> list[dict[str, Any]]:
    return cast.client(cast.alice).get(f"{P}{cast.project.pk}/").json()["label_classes"]


def test_renaming_a_class_carries_every_stored_answer_review_and_model_along(cast: Any) -> None:
    reader = cast.client(cast.anna)
    (item,) = take(reader, cast.project.pk)
    first = answer(reader, item["id"], {"labels": ["pneumonia"]})
    assert first.status_code in (200, 201), first.content
    assert submit(reader, item["id"]).status_code == 200
    Review.objects.create(item_id=item["id"], reviewer=cast.rita, payload={"labels": ["pneumonia"]})
    snapshot = DatasetSnapshot.objects.create(project=cast.project, content_hash="1" * 64)
    model = ModelVersion.objects.create(
        project=cast.project, number=1, architecture="tiny", snapshot=snapshot,
        config={"class_names": ["normal", "pneumonia"]},
    )  # fmt: skip
    normal, pneumonia = _classes(cast)

    # Swap a rename with a reorder: pneumonia becomes "consolidation" and moves first.
    response = cast.client(cast.alice).patch(
        f"{P}{cast.project.pk}/",
        {"label_classes": [
            {"id": pneumonia["id"], "name": "consolidation", "color": "#ff8800"},
            {"id": normal["id"], "name": "normal"},
        ]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    after = response.json()["label_classes"]
    assert [(c["id"], c["name"], c["index"]) for c in after] == [
        (pneumonia["id"], "consolidation", 0), (normal["id"], "normal", 1),
    ]  # fmt: skip
    stored = Annotation.objects.get(item_id=item["id"], is_current=True)
    assert stored.payload["labels"] == ["consolidation"]
    assert Review.objects.get(item_id=item["id"]).payload == {"labels": ["consolidation"]}
    model.refresh_from_db()
    assert model.config["class_names"] == ["normal", "consolidation"]
    # The renamed class is the answer's class: it cannot be deleted now either.
    refused = cast.client(cast.alice).patch(
        f"{P}{cast.project.pk}/", {"label_classes": [{"name": "normal"}]}, format="json"
    )
    assert refused.status_code == 400
    assert "cannot delete 'consolidation': 1 annotation(s) use it" in str(refused.json())


def test_two_names_swapped_in_one_edit_stay_apart(cast: Any) -> None:
    reader = cast.client(cast.anna)
    items = take(reader, cast.project.pk, count=2)
    answer(reader, items[0]["id"], {"labels": ["normal"]})
    answer(reader, items[1]["id"], {"labels": ["pneumonia"]})
    normal, pneumonia = _classes(cast)
    response = cast.client(cast.alice).patch(
        f"{P}{cast.project.pk}/",
        {"label_classes": [
            {"id": normal["id"], "name": "pneumonia"}, {"id": pneumonia["id"], "name": "normal"},
        ]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    labels = {a.item_id: a.payload["labels"] for a in Annotation.objects.filter(is_current=True)}
    assert labels == {items[0]["id"]: ["pneumonia"], items[1]["id"]: ["normal"]}


def test_deleting_classes_in_use_is_refused_with_the_count_and_changes_nothing(
    cast: Any,
) -> None:
    seg = make_project(task_type="segmentation", classes=("liver", "lesion", "vessel"), items=3)
    cast.join(seg, "alice", "anna")
    reader = cast.client(cast.anna)
    for item in take(reader, seg.pk, count=2):
        polygon = {"label": "lesion", "points": [[1, 1], [9, 1], [9, 9]]}
        assert answer(reader, item["id"], polygon, kind="polygon").status_code in (200, 201)
    response = cast.client(cast.alice).patch(
        f"{P}{seg.pk}/", {"label_classes": [{"name": "liver"}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "label_classes": [
            "cannot delete 'lesion': 2 annotation(s) use it; rename it instead or change "
            "those answers first"
        ]
    }
    assert list(LabelClass.objects.filter(project=seg).values_list("name", flat=True)) == [
        "liver", "lesion", "vessel",
    ]  # fmt: skip
    # A class nobody used goes.
    kept = cast.client(cast.alice).patch(
        f"{P}{seg.pk}/", {"label_classes": [{"name": "liver"}, {"name": "lesion"}]}, format="json"
    )
    assert kept.status_code == 200
    assert [c["name"] for c in kept.json()["label_classes"]] == ["liver", "lesion"]


def test_a_class_id_from_another_project_is_refused(cast: Any) -> None:
    other = make_project(classes=("x",))
    foreign = LabelClass.objects.get(project=other).pk
    response = cast.client(cast.alice).patch(
        f"{P}{cast.project.pk}/", {"label_classes": [{"id": foreign, "name": "x"}]}, format="json"
    )
    assert response.status_code == 400
    assert f"class id {foreign} is not a class of this project" in str(response.json())
