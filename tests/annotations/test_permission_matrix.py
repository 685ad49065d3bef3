"""Every workflow endpoint x {admin, reviewer, annotator, outsider, anonymous}.

Outsiders never learn a project exists (404); members lacking the role or the lease get 403;
anonymous callers are refused authentication (401 with a Token challenge)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from annotations.models import Item
from learning.models import ModelVersion, Score
from tests.annotations.helpers import answer, take
from tests.cast import Cast

# alice administers, rita reviews, anna annotates, otto is in no project (tests/cast.py).
PERSONAS = ("alice", "rita", "anna", "otto", "anonymous")


@dataclass
class World:
    cast: Cast
    item: int  # leased to the annotator, who saved `uid` (version 1) on it
    uid: str
    study_uid: str


@dataclass
class Case:
    name: str
    method: str
    url: Callable[[World], str]
    body: Callable[[World], Any] | None
    expect: dict[str, int]
    headers: dict[str, str] | None = None


def _expect(admin: int, reviewer: int, annotator: int, outsider: int = 404) -> dict[str, int]:
    return {"alice": admin, "rita": reviewer, "anna": annotator, "otto": outsider,
            "anonymous": 401}  # fmt: skip


P = "/api/v1/projects/"
CASES = [
    Case("list projects", "get", lambda w: P, None, _expect(200, 200, 200, 200)),
    Case("create project", "post", lambda w: P,
         lambda w: {"name": "x", "task_type": "classification"}, _expect(403, 403, 403, 403)),
    Case("project detail", "get", lambda w: f"{P}{w.cast.project.pk}/", None,
         _expect(200, 200, 200)),
    Case("edit project", "patch", lambda w: f"{P}{w.cast.project.pk}/",
         lambda w: {"instructions": "Look at the lungs."}, _expect(200, 403, 403)),
    Case("list members", "get", lambda w: f"{P}{w.cast.project.pk}/members/", None,
         _expect(200, 200, 200)),
    Case("add member", "post", lambda w: f"{P}{w.cast.project.pk}/members/",
         lambda w: {"user": w.cast.otto.pk, "role": "annotator"}, _expect(201, 403, 403)),
    Case("remove member", "delete",
         lambda w: f"{P}{w.cast.project.pk}/members/{w.cast.ben.pk}/", None,
         _expect(204, 403, 403)),
    Case("attach studies", "post", lambda w: f"{P}{w.cast.project.pk}/attach",
         lambda w: {"study_uids": [w.study_uid]}, _expect(200, 403, 403)),
    Case("next items", "post", lambda w: f"{P}{w.cast.project.pk}/queue/next",
         lambda w: {"count": 1}, _expect(200, 200, 200)),
    Case("item detail", "get", lambda w: f"/api/v1/items/{w.item}/", None, _expect(200, 200, 200)),
    Case("save annotation", "put",
         lambda w: f"/api/v1/items/{w.item}/annotations/{uuid.uuid4()}",
         lambda w: {"kind": "class", "frame": 1, "payload": {"labels": ["normal"]}},
         _expect(403, 403, 201)),
    Case("delete annotation", "delete", lambda w: f"/api/v1/items/{w.item}/annotations/{w.uid}",
         None, _expect(403, 403, 200), headers={"HTTP_IF_MATCH": '"1"'}),
    Case("annotation history", "get", lambda w: f"/api/v1/annotations/{w.uid}/history", None,
         _expect(200, 200, 200)),
    Case("submit", "post", lambda w: f"/api/v1/items/{w.item}/submit",
         lambda w: {"time_spent_ms": 10}, _expect(403, 403, 200)),
    Case("skip", "post", lambda w: f"/api/v1/items/{w.item}/skip",
         lambda w: {"reason": "unsure"}, _expect(403, 403, 201)),
    Case("list comments", "get", lambda w: f"/api/v1/items/{w.item}/comments", None,
         _expect(200, 200, 200)),
    Case("add comment", "post", lambda w: f"/api/v1/items/{w.item}/comments",
         lambda w: {"text": "Please look at the apex."}, _expect(201, 201, 201)),
    Case("suggestion", "get", lambda w: f"/api/v1/items/{w.item}/suggestion", None,
         _expect(200, 200, 200)),
    Case("review queue", "get", lambda w: f"{P}{w.cast.project.pk}/review/", None,
         _expect(200, 200, 403)),
    Case("adjudicate", "post", lambda w: f"/api/v1/items/{w.item}/review",
         lambda w: {"payload": {"labels": ["normal"]}}, _expect(201, 201, 403)),
    Case("flag for review", "post", lambda w: f"/api/v1/items/{w.item}/flag",
         lambda w: {"note": "Is that a nodule?"}, _expect(200, 200, 200)),
    Case("agreement", "get", lambda w: f"{P}{w.cast.project.pk}/agreement", None,
         _expect(200, 200, 403)),
    Case("my history", "get", lambda w: f"/api/v1/me/history?project={w.cast.project.pk}", None,
         _expect(200, 200, 200)),
]  # fmt: skip


@pytest.fixture
def world(cast: Cast) -> World:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    uid = str(uuid.uuid4())
    assert answer(client, item["id"], {"labels": ["normal"]}, uid=uid).status_code == 201
    version = ModelVersion.objects.create(
        project=cast.project, number=1, architecture="small_cnn", status="active",
        config={"class_names": ["normal", "pneumonia"]},
    )  # fmt: skip
    Score.objects.create(
        item_id=item["id"], model_version=version, strategy="entropy", value=0.9,
        probabilities=[0.2, 0.8], predicted_class=1,
    )  # fmt: skip
    study_uid = Item.objects.get(pk=item["id"]).instance.series.study.study_instance_uid
    return World(cast=cast, item=item["id"], uid=uid, study_uid=study_uid)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_persona_gets_the_expected_answer(world: World, case: Case, persona: str) -> None:
    user = None if persona == "anonymous" else getattr(world.cast, persona)
    client = world.cast.client(user)
    call = getattr(client, case.method)
    kwargs: dict[str, Any] = dict(case.headers or {})
    if case.body is not None:
        kwargs.update(data=case.body(world), format="json")
    response = call(case.url(world), **kwargs)
    assert response.status_code == case.expect[persona], (persona, response.content[:300])


def test_an_outsider_lists_no_projects(world: World) -> None:
    body = world.cast.client(world.cast.otto).get(P).json()
    assert body["count"] == 0 and body["results"] == []


def test_a_superuser_sees_every_project_and_creates_them(world: World, make_user: Any) -> None:
    root = world.cast.client("sam")
    assert root.get(f"{P}{world.cast.project.pk}/").json()["my_role"] == "admin"
    created = root.post(
        P, {"name": "Chest", "task_type": "classification",
            "label_classes": [{"name": "normal"}, {"name": "pneumonia", "shortcut": "p"}]},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201
    assert [c["name"] for c in created.json()["label_classes"]] == ["normal", "pneumonia"]
