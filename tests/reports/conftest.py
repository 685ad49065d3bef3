"""A project with a trained, active model (trained in-process by the real training job) and the
personas the dashboard, heat map and report tests speak about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from annotations.models import Membership, Project, Role
from learning.models import ModelStatus, ModelVersion, TrainingRun
from ml_worker.jobs.score import score_with_version
from ml_worker.jobs.train import run_training
from tests.learning.factories import make_project


@dataclass
class TrainedProject:
    project: Project
    version: ModelVersion
    admin: Any
    reviewer: Any
    annotator: Any
    outsider: Any

    def client(self, who: str | None) -> APIClient:
        client = APIClient()
        if who is not None:
            client.force_authenticate(getattr(self, who))
        return client


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
def trained(make_user, settings) -> TrainedProject:  # type: ignore[no-untyped-def]
    # The run trains in this test's open transaction: the heartbeat thread's own connection
    # cannot see the run row and would report it lost (→ cancelled) if it beat mid-training.
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600
    admin = make_user("admin-f")
    project = make_project(admin, n_items=40, n_labelled=30, suggestions="after")
    people = {"reviewer": make_user("reviewer-f"), "annotator": make_user("annotator-f")}
    Membership.objects.create(project=project, user=people["reviewer"], role=Role.REVIEWER)
    Membership.objects.create(project=project, user=people["annotator"], role=Role.ANNOTATOR)
    version = train_active_model(project)
    return TrainedProject(project, version, admin, outsider=make_user("outsider-f"), **people)
