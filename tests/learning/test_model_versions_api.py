"""Model versions: members read them; admins promote a candidate or roll back to an older one."""

from __future__ import annotations

import pytest

from learning.models import ModelStatus, ModelVersion
from tests.learning.conftest import sent_tasks

pytestmark = pytest.mark.django_db


def version(project, number: int, status: str, auc: float = 0.9) -> ModelVersion:  # type: ignore[no-untyped-def]
    return ModelVersion.objects.create(
        project=project,
        number=number,
        architecture="small_cnn",
        status=status,
        metrics={"test": {"n": 20, "auc": auc, "accuracy": 0.8, "roc": {"big": [1, 2, 3]}}},
        checkpoint_path=f"/models/v{number}.pt",
        checkpoint_sha256="0" * 64,
    )


def activate(cast, who: str, target: ModelVersion):  # type: ignore[no-untyped-def]
    return cast.client(who).post(f"/api/v1/model-versions/{target.pk}/activate", {}, format="json")


def test_members_list_versions_newest_first_without_the_bulky_curves(cast):  # type: ignore[no-untyped-def]
    version(cast.project, 1, ModelStatus.RETIRED)
    version(cast.project, 2, ModelStatus.ACTIVE)

    body = cast.client("anna").get(f"/api/v1/projects/{cast.project.pk}/model-versions/")

    assert body.status_code == 200
    assert [(v["number"], v["status"]) for v in body.json()] == [(2, "active"), (1, "retired")]
    assert body.json()[0]["metrics"]["test"] == {"n": 20, "auc": 0.9, "accuracy": 0.8}


def test_the_detail_carries_all_metrics(cast):  # type: ignore[no-untyped-def]
    v1 = version(cast.project, 1, ModelStatus.ACTIVE)

    body = cast.client("rita").get(f"/api/v1/model-versions/{v1.pk}/").json()

    assert body["metrics"]["test"]["roc"] == {"big": [1, 2, 3]}


def test_an_admin_rolls_back_to_an_older_version_and_the_pool_is_rescored(
    cast, broker, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    old = version(cast.project, 1, ModelStatus.RETIRED)
    current = version(cast.project, 2, ModelStatus.ACTIVE)

    with django_capture_on_commit_callbacks(execute=True):
        response = activate(cast, "alice", old)

    assert response.status_code == 200 and response.json()["status"] == "active"
    current.refresh_from_db()
    assert current.status == ModelStatus.RETIRED
    assert ModelVersion.objects.filter(status=ModelStatus.ACTIVE).get() == old
    assert sent_tasks(broker, "infer") == [("ml_worker.tasks.score_pool", [old.pk])]


def test_an_admin_promotes_a_rejected_candidate_by_hand(cast):  # type: ignore[no-untyped-def]
    version(cast.project, 1, ModelStatus.ACTIVE)
    candidate = version(cast.project, 2, ModelStatus.REJECTED, auc=0.7)

    assert activate(cast, "alice", candidate).json()["status"] == "active"


def test_activating_the_active_version_is_a_conflict(cast):  # type: ignore[no-untyped-def]
    current = version(cast.project, 1, ModelStatus.ACTIVE)

    assert activate(cast, "alice", current).status_code == 409


@pytest.mark.parametrize(
    ("who", "expected"), [("rita", 403), ("anna", 403), ("otto", 404), (None, 401)]
)
def test_only_admins_may_activate(cast, who, expected):  # type: ignore[no-untyped-def]
    old = version(cast.project, 1, ModelStatus.RETIRED)
    current = version(cast.project, 2, ModelStatus.ACTIVE)

    assert activate(cast, who, old).status_code == expected
    current.refresh_from_db()
    assert current.status == ModelStatus.ACTIVE


def test_outsiders_cannot_see_versions(cast):  # type: ignore[no-untyped-def]
    v1 = version(cast.project, 1, ModelStatus.ACTIVE)

    client = cast.client("otto")
    assert client.get(f"/api/v1/projects/{cast.project.pk}/model-versions/").status_code == 404
    assert client.get(f"/api/v1/model-versions/{v1.pk}/").status_code == 404
