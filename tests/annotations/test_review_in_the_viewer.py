"""What the review screen needs from the API: the queue with every reader in one call, accepting
one reader's answer, saving an edited adjudication, versions that never overwrite a newer one,
and agreement figures that follow the adjudication. anna and ben read, rita reviews."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from annotations.ground_truth import ground_truth_for
from annotations.models import Annotation, Review
from tests.annotations.helpers import answer, submit, take
from tests.cast import Cast, make_project

BOX_A = {"label": "nodule", "points": [[10, 10], [30, 30]]}
BOX_B = {"label": "mass", "points": [[40, 40], [60, 60]]}


def read_shapes(client: Any, project_id: int, shapes: list[tuple[str, dict[str, Any]]]) -> int:
    (item,) = take(client, project_id)
    for kind, payload in shapes:
        assert answer(client, item["id"], payload, kind=kind).status_code == 201
    assert submit(client, item["id"]).status_code == 200
    return int(item["id"])


@pytest.fixture
def disputed(cast: Cast) -> Cast:
    """A detection item two readers marked differently (anna first, then ben)."""
    project = make_project(
        items=1, readers_per_item=2, task_type="detection", classes=("nodule", "mass")
    )
    cast.on(project, "alice", "rita", "anna", "ben")
    read_shapes(cast.client("anna"), project.pk, [("box", BOX_A)])
    read_shapes(cast.client("ben"), project.pk, [("box", BOX_B)])
    return cast


def review_url(cast: Cast) -> str:
    return f"/api/v1/items/{cast.project.items.get().pk}/review"


def test_the_queue_shows_each_reader_with_their_shapes_in_one_call(disputed: Cast) -> None:
    cast = disputed
    item = cast.project.items.get()
    cast.client("anna").post(
        f"/api/v1/items/{item.pk}/comments", {"text": "Left apex?"}, format="json"
    )
    body = cast.client("rita").get(f"/api/v1/projects/{cast.project.pk}/review/").json()
    (row,) = body["results"]
    assert (row["id"], row["review_state"], row["review_reason"]) == (
        item.pk, "pending", "disagreement",
    )  # fmt: skip
    assert [r["username"] for r in row["readers"]] == ["anna", "ben"]
    assert [r["id"] for r in row["readers"]] == [cast.anna.pk, cast.ben.pk]
    shapes = {a["author_name"]: (a["kind"], a["payload"]) for a in row["annotations"]}
    assert shapes == {"anna": ("box", BOX_A), "ben": ("box", BOX_B)}
    assert row["adjudication"] is None and row["comments"] == 1


def test_the_queue_filters_by_state_and_refuses_an_unknown_one(disputed: Cast) -> None:
    cast = disputed
    rita = cast.client("rita")
    url = f"/api/v1/projects/{cast.project.pk}/review/"
    assert rita.post(review_url(cast), {"accept": cast.anna.pk}, format="json").status_code == 201
    assert rita.get(url).json()["results"] == []
    (done,) = rita.get(url + "?state=reviewed").json()["results"]
    assert done["adjudication"]["version"] == 1
    assert done["adjudication"]["accepted_reader"] == cast.anna.pk
    assert done["adjudication"]["reviewer_name"] == "rita"
    assert len(rita.get(url + "?state=all").json()["results"]) == 1
    bad = rita.get(url + "?state=later")
    assert bad.status_code == 400 and "state" in bad.json()


def test_accepting_a_reader_makes_their_answer_the_ground_truth(disputed: Cast) -> None:
    cast = disputed
    response = cast.client("rita").post(review_url(cast), {"accept": cast.ben.pk}, format="json")
    assert response.status_code == 201, response.content
    assert response["ETag"] == '"1"'
    assert (response.json()["version"], response.json()["accepted_reader"]) == (1, cast.ben.pk)
    truth = ground_truth_for(cast.project)[cast.project.items.get().pk]
    assert truth.source == "review"
    assert [(s["kind"], s["label"], s["points"]) for s in truth.shapes] == [
        ("box", "mass", BOX_B["points"])
    ]
    # The readers' own annotations are untouched: the adjudication is a copy.
    assert Annotation.objects.filter(source="human", is_current=True).count() == 2


def test_an_edited_adjudication_is_validated_like_an_annotation(disputed: Cast) -> None:
    cast = disputed
    rita = cast.client("rita")
    outside = {"annotations": [{"kind": "box", "frame": 1, "payload": {
        "label": "nodule", "points": [[10, 10], [300, 30]]}}]}  # fmt: skip
    refused = rita.post(review_url(cast), {"payload": outside}, format="json")
    assert refused.status_code == 400
    assert "payload.annotations[0]" in refused.json()
    assert not Review.objects.exists() and not Annotation.objects.filter(source="review").exists()
    moved = {"label": "nodule", "points": [[12, 14], [32, 34]]}
    edited = {"annotations": [{"kind": "box", "frame": 1, "payload": moved}]}
    saved = rita.post(review_url(cast), {"payload": edited, "note": "moved"}, format="json")
    assert saved.status_code == 201
    truth = ground_truth_for(cast.project)[cast.project.items.get().pk]
    assert [s["points"] for s in truth.shapes] == [moved["points"]]


def test_an_adjudication_never_silently_replaces_a_newer_one(disputed: Cast) -> None:
    cast = disputed
    rita, alice = cast.client("rita"), cast.client("alice")
    url = review_url(cast)
    assert rita.post(url, {"accept": cast.anna.pk}, format="json").status_code == 201
    # alice opened the item before rita's adjudication and saves without a version.
    blind = alice.post(url, {"accept": cast.ben.pk}, format="json")
    assert blind.status_code == 412 and blind.json()["current_version"] == 1
    second = alice.post(url, {"accept": cast.ben.pk}, format="json", HTTP_IF_MATCH='"1"')
    assert second.status_code == 201 and second["ETag"] == '"2"'
    stale = rita.post(url, {"accept": cast.anna.pk}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale.json()["current_version"] == 2
    truth = ground_truth_for(cast.project)[cast.project.items.get().pk]
    assert truth.shapes[0]["label"] == "mass"  # alice's (ben's answer) stands
    assert list(Review.objects.order_by("version").values_list("version", flat=True)) == [1, 2]
    garbled = rita.post(url, {"accept": cast.anna.pk}, format="json", HTTP_IF_MATCH="two")
    assert garbled.status_code == 400 and "If-Match" in garbled.json()


def test_annotators_cannot_adjudicate_and_only_readers_can_be_accepted(disputed: Cast) -> None:
    cast = disputed
    url = review_url(cast)
    for who in ("anna", "ben"):
        refused = cast.client(who).post(url, {"accept": cast.anna.pk}, format="json")
        assert refused.status_code == 403
    assert cast.client("otto").post(url, {"accept": cast.anna.pk}, format="json").status_code == 404
    rita = cast.client("rita")
    stranger = rita.post(url, {"accept": cast.alice.pk}, format="json")
    assert stranger.status_code == 400 and "accept" in stranger.json()
    both = rita.post(url, {"accept": cast.anna.pk, "payload": {"labels": []}}, format="json")
    assert both.status_code == 400 and "accept" in both.json()
    for wrong in ("anna", 2**63, True):
        assert rita.post(url, {"accept": wrong}, format="json").status_code == 400
    assert not Review.objects.exists()


def test_agreement_and_the_dashboard_follow_the_adjudication(cast: Cast) -> None:
    project = make_project(items=2, readers_per_item=2)
    cast.on(project, "alice", "rita", "anna", "ben")
    anna, ben, rita = cast.client("anna"), cast.client("ben"), cast.client("rita")
    items = []
    for a, b in (("normal", "pneumonia"), ("pneumonia", "normal")):
        (item,) = take(anna, project.pk)
        answer(anna, item["id"], {"labels": [a]})
        submit(anna, item["id"])
        (same,) = take(ben, project.pk)
        assert same["id"] == item["id"]
        answer(ben, item["id"], {"labels": [b]}, uid=str(uuid.uuid4()))
        submit(ben, item["id"])
        items.append(item["id"])

    def figures() -> tuple[dict[str, Any], dict[str, Any]]:
        agreement = rita.get(f"/api/v1/projects/{project.pk}/agreement").json()
        dashboard = rita.get(f"/api/v1/projects/{project.pk}/dashboard").json()
        per_doctor = {row["doctor"]: row for row in dashboard["agreement_per_doctor"]}
        vs = {
            row["reader"]: row["accuracy"]["estimate"]
            for row in agreement["classification"]["readers_vs_adjudication"]
        }
        return {"reviewed": agreement["items_reviewed"], **vs}, per_doctor

    before, doctors = figures()
    assert before == {"reviewed": 0}
    assert doctors["anna"]["with_adjudication"] is None
    rita.post(f"/api/v1/items/{items[0]}/review", {"accept": cast.anna.pk}, format="json")
    after_one, doctors = figures()
    assert after_one == {"reviewed": 1, "anna": 1.0, "ben": 0.0}
    assert (doctors["anna"]["with_adjudication"], doctors["ben"]["with_adjudication"]) == (1.0, 0.0)
    assert doctors["anna"]["items_adjudicated"] == 1
    rita.post(
        f"/api/v1/items/{items[1]}/review", {"payload": {"labels": ["normal"]}}, format="json"
    )
    after_two, doctors = figures()
    assert after_two == {"reviewed": 2, "anna": 0.5, "ben": 0.5}
    assert doctors["ben"]["items_adjudicated"] == 2


def test_a_flag_sends_an_item_to_review_and_survives_its_last_read(cast: Cast) -> None:
    project = make_project(items=1, readers_per_item=2)
    cast.on(project, "alice", "rita", "anna", "ben")
    anna, ben, rita = cast.client("anna"), cast.client("ben"), cast.client("rita")
    (item,) = take(anna, project.pk)
    answer(anna, item["id"], {"labels": ["normal"]})
    submit(anna, item["id"])
    flag = f"/api/v1/items/{item['id']}/flag"
    flagged = anna.post(flag, {"note": "Is that a nodule behind the heart?"}, format="json")
    assert flagged.status_code == 200
    assert (flagged.json()["review_state"], flagged.json()["review_reason"]) == (
        "pending", "flagged",
    )  # fmt: skip
    # ben agrees with anna: without the flag the item would need no review.
    (same,) = take(ben, project.pk)
    answer(ben, same["id"], {"labels": ["normal"]}, uid=str(uuid.uuid4()))
    submit(ben, same["id"])
    (row,) = rita.get(f"/api/v1/projects/{project.pk}/review/").json()["results"]
    assert (row["id"], row["review_reason"], row["comments"]) == (item["id"], "flagged", 1)
    comments = rita.get(f"/api/v1/items/{item['id']}/comments").json()
    assert [(c["author_name"], c["text"]) for c in comments] == [
        ("anna", "Is that a nodule behind the heart?")
    ]
    adjudicated = rita.post(
        f"/api/v1/items/{item['id']}/review", {"accept": cast.anna.pk}, format="json"
    )
    assert adjudicated.status_code == 201
    assert rita.get(f"/api/v1/projects/{project.pk}/review/").json()["results"] == []
    # Flagged again after the adjudication: back in the queue, for a second look.
    assert ben.post(flag, {}, format="json").json()["review_state"] == "pending"
    assert len(rita.get(f"/api/v1/projects/{project.pk}/review/").json()["results"]) == 1
    assert anna.post(flag, {"note": "x" * 3000}, format="json").status_code == 400
    assert cast.client("otto").post(flag, {}, format="json").status_code == 404
