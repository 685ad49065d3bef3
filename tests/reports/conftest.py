"""The reports tests' cast plays on a project with a trained, active model (trained in-process
by the real training job): alice administers it, rita reviews, anna annotates, otto is outside."""

from __future__ import annotations

from typing import Any

import pytest

from annotations.models import Project
from learning.models import ModelStatus, ModelVersion, TrainingRun
from ml_worker.jobs.score import score_with_version
from ml_worker.jobs.train import run_training
from tests.cast import Cast, make_project


def computed_heatmaps(cast: Cast, version: ModelVersion, url: str) -> None:
    """Open a study report once (which requests its heat maps), then compute them in-process: the
    report answers 202 "preparing" until they are done (decision 0383)."""
    from reports.models import HeatMap

    from ml_worker.explain_tasks import compute_heatmap

    cast.client("rita").get(url)
    for heatmap in HeatMap.objects.filter(model_version=version):
        compute_heatmap(heatmap.pk)


def train_active_model(project: Project) -> ModelVersion:
    run = TrainingRun.objects.create(project=project, config={"max_epochs": 4, "seed": 0})
    assert run_training(run.pk, worker="test") == "succeeded", TrainingRun.objects.get(
        pk=run.pk
    ).error
    version = ModelVersion.objects.get(runs=run)
    assert version.status == ModelStatus.ACTIVE
    score_with_version(version.pk)
    return version


@pytest.fixture
def cast(cast: Cast, settings: Any) -> Cast:
    # The run trains in this test's open transaction: the heartbeat thread's own connection
    # cannot see the run row and would report it lost (→ cancelled) if it beat mid-training.
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600
    project = make_project(admin=cast.alice, images=40, labelled=30, suggestions="after")
    cast.on(project, "rita", "anna")
    train_active_model(project)
    return cast


@pytest.fixture
def version(cast: Cast) -> ModelVersion:
    """The project's active model version."""
    return ModelVersion.objects.get(project=cast.project, status=ModelStatus.ACTIVE)
