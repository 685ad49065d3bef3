"""The shadow random-sampling baseline: with `random_share > 0`, every run also trains the same
recipe on the labels of the items the queue served at random, evaluates it on the same locked
test split and registers it as a never-served "shadow" version that the dashboard plots as the
random-sampling expectation."""

from __future__ import annotations

import pytest
from reports.services.dashboard import learning_curve
from rest_framework.test import APIClient

from annotations.models import Item
from learning.models import ModelStatus, ModelVersion, RunStatus, TrainingRun
from ml_worker.jobs.train import run_training
from tests.cast import make_project

pytestmark = pytest.mark.django_db

QUICK = {"max_epochs": 2, "min_samples_per_epoch": 64, "batch_size": 16}


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600


@pytest.fixture
def admin(make_user):  # type: ignore[no-untyped-def]
    return make_user("admin")


def served_at_random(project, every: int) -> None:  # type: ignore[no-untyped-def]
    """What the queue's random stream leaves behind: every `every`-th item marked."""
    ids = list(Item.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
    Item.objects.filter(pk__in=ids[::every]).update(served_at_random=True)


def train(project) -> TrainingRun:  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=project, config=QUICK)
    assert run_training(run.pk, worker="in-process") == RunStatus.SUCCEEDED
    run.refresh_from_db()
    return run


def test_a_run_also_registers_a_shadow_model_trained_on_the_random_picks(admin) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin=admin, images=60, labelled=60, random_share=0.3)
    served_at_random(project, every=2)

    run = train(project)

    main = run.model_version
    assert main is not None and main.status == ModelStatus.ACTIVE
    shadow = ModelVersion.objects.get(project=project, status=ModelStatus.SHADOW)
    assert shadow.config["sampling"] == "random" and shadow.config["shadow_of_run"] == run.pk
    random_train = Item.objects.filter(project=project, split="train", served_at_random=True)
    sizes = shadow.metrics["split_sizes"]
    assert sizes["train"] == random_train.count() < main.metrics["split_sizes"]["train"]
    # Same locked validation and test splits as the main model: the curves are comparable.
    assert sizes["val"] == main.metrics["split_sizes"]["val"]
    assert shadow.metrics["test"]["n"] == main.metrics["test"]["n"]
    assert shadow.labels_used == sum(sizes.values()) < main.labels_used
    assert shadow.snapshot_id == main.snapshot_id
    assert f"shadow random baseline v{shadow.number}" in run.log

    curve = learning_curve(project)
    assert [p["version"] for p in curve["points"]] == [main.number]
    assert [(p["version"], p["labels"]) for p in curve["random_baseline"]] == [
        (shadow.number, shadow.labels_used)
    ]

    client = APIClient()
    client.force_authenticate(admin)
    response = client.post(f"/api/v1/model-versions/{shadow.pk}/activate")
    assert response.status_code == 409, response.content
    assert ModelVersion.objects.get(pk=main.pk).status == ModelStatus.ACTIVE


def test_too_few_random_labels_skip_the_shadow_with_a_note(admin) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin=admin, images=40, labelled=40, random_share=0.1)
    served_at_random(project, every=10)

    run = train(project)

    assert run.model_version is not None and run.model_version.status == ModelStatus.ACTIVE
    assert not ModelVersion.objects.filter(project=project, status=ModelStatus.SHADOW).exists()
    assert "shadow random baseline skipped" in run.log
    assert learning_curve(project)["random_baseline"] is None


def test_no_shadow_when_the_project_serves_nothing_at_random(admin) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin=admin, images=40, labelled=40)
    served_at_random(project, every=2)  # marks left from an earlier setting do not matter

    train(project)

    assert list(ModelVersion.objects.filter(project=project).values_list("status", flat=True)) == [
        ModelStatus.ACTIVE
    ]
