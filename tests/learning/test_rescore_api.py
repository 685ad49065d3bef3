"""An admin asks for a rescore: the active model's pass, else the diversity cold start."""

from __future__ import annotations

import pytest

from learning.models import ModelStatus, ModelVersion
from tests.learning.conftest import sent_tasks

pytestmark = pytest.mark.django_db


def rescore(cast, who: str = "alice"):  # type: ignore[no-untyped-def]
    return cast.client(who).post(f"/api/v1/projects/{cast.project.pk}/rescore", {}, format="json")


def test_with_an_active_model_its_pass_is_queued_on_the_infer_queue(
    cast, broker, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    version = ModelVersion.objects.create(
        project=cast.project, number=1, architecture="small_cnn", status=ModelStatus.ACTIVE
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = rescore(cast)

    assert response.status_code == 202 and response.json() == {"scoring": "model"}
    assert sent_tasks(broker, "infer") == [("ml_worker.tasks.score_pool", [version.pk])]


def test_without_a_model_a_diversity_project_gets_the_cold_start_pass(
    cast, broker, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    cast.project.cold_start = "diversity"
    cast.project.save()

    with django_capture_on_commit_callbacks(execute=True):
        body = rescore(cast).json()

    assert body == {"scoring": "cold_start"}
    assert sent_tasks(broker, "infer") == [("ml_worker.tasks.score_cold_start", [cast.project.pk])]


def test_without_a_model_a_random_cold_start_keeps_the_attach_order(cast, broker):  # type: ignore[no-untyped-def]
    assert rescore(cast).json() == {"scoring": "nothing"}
    assert sent_tasks(broker, "infer") == []


@pytest.mark.parametrize(("who", "expected"), [("anna", 403), ("otto", 404)])
def test_only_admins_may_rescore(cast, who, expected):  # type: ignore[no-untyped-def]
    assert rescore(cast, who).status_code == expected
