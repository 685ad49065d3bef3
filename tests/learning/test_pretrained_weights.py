"""Transfer learning from a checkpoint an admin uploads (weights are never downloaded)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import torch
from django.conf import settings

from learning.models import ModelVersion, PretrainedWeights, RunStatus, TrainingRun
from ml_worker.jobs.train import _load_pretrained, run_training
from ml_worker.models import ModelSpec, build_model
from tests.cast import make_project

pytestmark = pytest.mark.django_db

QUICK = {"max_epochs": 1, "min_samples_per_epoch": 32, "batch_size": 16}


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600  # its own connection can't see this test's rows


def _checkpoint(state: dict[str, torch.Tensor]) -> bytes:
    out = io.BytesIO()
    torch.save({"state_dict": state}, out)
    return out.getvalue()


def _upload(client, project, data: bytes, name: str = "chest-pretrained.pt"):  # type: ignore[no-untyped-def]
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(
        f"/api/v1/projects/{project.pk}/pretrained-weights/", {"file": upload}, format="multipart"
    )


@pytest.fixture
def source_state() -> dict[str, torch.Tensor]:
    return build_model(ModelSpec(num_classes=2, input_size=28), seed=123).state_dict()


def test_an_admin_uploads_a_checkpoint_and_the_next_model_starts_from_it(
    cast, source_state
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin=cast.alice, images=30, labelled=24)
    data = _checkpoint(source_state)

    response = _upload(cast.client("alice"), project, data)

    assert response.status_code == 201, response.content
    row = PretrainedWeights.objects.get(project=project)
    assert response.json()["sha256"] == row.sha256 == hashlib.sha256(data).hexdigest()
    assert Path(row.path).read_bytes() == data

    fresh = build_model(ModelSpec(num_classes=2, input_size=28), seed=7)
    report = _load_pretrained(project.pk, fresh)
    assert report is not None and report["loaded"] > 0 and report["sha256"] == row.sha256
    copied = fresh.state_dict()
    conv = next(
        name for name in source_state if name.endswith("weight") and source_state[name].ndim == 4
    )
    assert torch.equal(copied[conv], source_state[conv])

    run = TrainingRun.objects.create(project=project, config=QUICK)
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.model_version.config["pretrained"]["sha256"] == row.sha256


def test_a_file_that_is_not_a_checkpoint_is_refused_and_nothing_is_kept(cast) -> None:  # type: ignore[no-untyped-def]
    folder = Path(settings.MODEL_STORAGE_DIR) / "pretrained"
    before = set(folder.glob("*"))
    response = _upload(cast.client("alice"), cast.project, b"not a checkpoint at all" * 100)

    assert response.status_code == 400
    assert "not a PyTorch checkpoint" in response.json()["file"]
    assert not PretrainedWeights.objects.exists()
    assert set(folder.glob("*")) == before  # no checkpoint and no leftover .part file


def test_weights_that_fit_nothing_fail_the_run_and_no_model_is_registered(cast) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin=cast.alice, images=30, labelled=24)
    assert (
        _upload(cast.client("alice"), project, _checkpoint({"x.weight": torch.ones(3)})).status_code
        == 201
    )

    run = TrainingRun.objects.create(project=project, config=QUICK)
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()

    assert run.status == RunStatus.FAILED
    assert "matches this small_cnn model" in run.error
    assert not ModelVersion.objects.filter(project=project).exists()


@pytest.mark.parametrize(
    ("who", "expected"), [("rita", 403), ("anna", 403), ("otto", 404), (None, 401)]
)
def test_only_project_admins_upload_weights(cast, source_state, who, expected) -> None:  # type: ignore[no-untyped-def]
    response = _upload(cast.client(who), cast.project, _checkpoint(source_state))
    assert response.status_code == expected
    assert not PretrainedWeights.objects.exists()
