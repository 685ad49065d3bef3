"""A project's model settings: the registry the web reads without torch, validation that refuses
unknown keys and values out of range with their reason (nothing changes), and what a run then
trains with: the project's augmentation and freezing, and LEARNING_TRAIN_DEFAULTS (decision
0380)."""

from __future__ import annotations

import io

import pytest
import torch

from annotations.models import Project
from learning.models import PretrainedWeights, RunStatus, TrainingRun
from ml_worker.checkpoint import load_model
from ml_worker.jobs.train import run_training, train_config_for
from tests.cast import make_project
from tests.ml.test_transfer_learning import torchvision_style_resnet

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600  # its own connection can't see this test's rows


def _url(project: Project) -> str:
    return f"/api/v1/projects/{project.pk}/model-settings"


def test_the_registry_lists_architectures_and_ranges(cast) -> None:  # type: ignore[no-untyped-def]
    body = cast.client("anna").get("/api/v1/model-architectures/").json()
    names = {a["name"]: a["task_type"] for a in body["architectures"]}
    assert {
        k: names[k] for k in ("small_cnn", "resnet18", "resnet50", "densenet121")
    } == dict.fromkeys(("small_cnn", "resnet18", "resnet50", "densenet121"), "classification")
    assert names["unet"] == "segmentation"
    assert body["augmentation"]["rotation_deg"] == {
        "kind": "float",
        "min": 0.0,
        "max": 180.0,
        "default": 10.0,
    }
    assert body["freeze_modes"] == ["none", "backbone_epochs", "all_but_head"]


def test_an_admin_sets_resnet18_with_flips_and_a_frozen_backbone(cast) -> None:  # type: ignore[no-untyped-def]
    change = {
        "architecture": "resnet18",
        "input_size": 32,
        "augmentation": {"flip_horizontal": True, "rotation_deg": 5},
        "freeze": {"mode": "backbone_epochs", "epochs": 2},
    }
    response = cast.client("alice").patch(_url(cast.project), change, format="json")
    assert response.status_code == 200, response.content
    body = cast.client("anna").get(_url(cast.project)).json()
    assert body["architecture"] == "resnet18" and body["input_size"] == 32
    assert body["augmentation"]["flip_horizontal"] is True
    assert body["augmentation"]["rotation_deg"] == 5.0
    assert body["augmentation"]["flip_vertical"] is False  # untouched keys keep their value
    assert body["freeze"] == {"mode": "backbone_epochs", "epochs": 2}
    project = Project.objects.get(pk=cast.project.pk)
    assert project.architecture == "resnet18" and project.input_size == 32


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"architecture": "resnet19"}, "architecture", "unknown architecture"),
        ({"architecture": "unet"}, "architecture", "segmentation network"),
        ({"input_size": 8}, "input_size", "between"),
        ({"learning_rat": 0.1}, "learning_rat", "unknown setting"),
        (
            {"augmentation": {"rotation_deg": 400}},
            "augmentation.rotation_deg",
            "between 0.0 and 180.0",
        ),
        (
            {"augmentation": {"flip_diagonal": True}},
            "augmentation.flip_diagonal",
            "unknown setting",
        ),
        ({"augmentation": {"flip_vertical": "yes"}}, "augmentation.flip_vertical", "true or false"),
        (
            {
                "augmentation": {
                    "scale_min": 1.0,
                    "scale_max": 1.0,
                    "gamma_min": 0.9,
                    "gamma_max": 1.0,
                }
            },
            None,
            None,
        ),
        ({"freeze": {"mode": "half"}}, "freeze.mode", "must be one of"),
        ({"in_channels": 2}, "in_channels", "must be one of 1, 3"),
    ],
)
def test_invalid_settings_are_refused_with_their_reason_and_nothing_changes(
    cast, change, field, reason
) -> None:  # type: ignore[no-untyped-def]
    before = cast.client("alice").get(_url(cast.project)).json()
    response = cast.client("alice").patch(_url(cast.project), change, format="json")
    if field is None:  # the boundary values are valid
        assert response.status_code == 200, response.content
        return
    assert response.status_code == 400
    assert reason in response.json()[field]
    assert cast.client("alice").get(_url(cast.project)).json() == before


@pytest.mark.parametrize(("who", "expected"), [("rita", 403), ("anna", 403), ("otto", 404)])
def test_only_project_admins_change_model_settings(cast, who, expected) -> None:  # type: ignore[no-untyped-def]
    response = cast.client(who).patch(
        _url(cast.project), {"architecture": "resnet18"}, format="json"
    )
    assert response.status_code == expected
    assert Project.objects.get(pk=cast.project.pk).architecture == "small_cnn"


def test_a_segmentation_project_takes_a_unet_only(cast) -> None:  # type: ignore[no-untyped-def]
    project = make_project(task_type="segmentation", admin=cast.alice)
    client = cast.client("alice")
    assert (
        client.patch(_url(project), {"architecture": "resnet50"}, format="json").status_code == 400
    )
    assert (
        client.patch(_url(project), {"architecture": "basic_unet"}, format="json").status_code
        == 200
    )


def test_a_run_trains_with_the_projects_augmentation_and_the_settings_defaults(
    cast, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.LEARNING_TRAIN_DEFAULTS = {"max_epochs": 7, "learning_rate": 1e-3}
    cast.client("alice").patch(
        _url(cast.project),
        {"augmentation": {"flip_horizontal": True, "flip_vertical": True, "rotation_deg": 0}},
        format="json",
    )
    run = TrainingRun.objects.create(project=cast.project, config={"max_epochs": 3})
    config = train_config_for(TrainingRun.objects.get(pk=run.pk))  # as the worker reads it
    assert config.max_epochs == 3  # the run's override wins over the settings' default
    assert config.learning_rate == 1e-3  # the settings' default applies
    assert config.augment is not None
    assert config.augment.flip_horizontal and config.augment.flip_vertical
    assert config.augment.rotation_deg == 0.0

    cast.client("alice").patch(
        _url(cast.project), {"augmentation": {"enabled": False}}, format="json"
    )
    assert train_config_for(TrainingRun.objects.get(pk=run.pk)).augment is None


def test_an_unknown_key_in_the_settings_defaults_fails_the_run_with_its_reason(
    cast, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.LEARNING_TRAIN_DEFAULTS = {"max_epoch": 7}
    project = make_project(admin=cast.alice, images=12, labelled=12)
    run = TrainingRun.objects.create(project=project, config={})
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "max_epoch" in run.error and "unknown training setting" in run.error


@pytest.mark.slow
def test_resnet18_from_an_uploaded_torchvision_checkpoint_with_the_backbone_frozen(
    cast, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Through the real job: settings by the API, an uploaded torchvision-style checkpoint, a
    run; the version records the weights' sha256 and its backbone is the uploaded one, unchanged."""
    project = make_project(admin=cast.alice, images=30, labelled=24)
    client = cast.client("alice")
    change = {
        "architecture": "resnet18",
        "input_size": 32,
        "in_channels": 3,
        "augmentation": {"flip_horizontal": True},
        "freeze": {"mode": "all_but_head"},
    }
    assert client.patch(_url(project), change, format="json").status_code == 200
    source = torchvision_style_resnet(tmp_path / "rn18.pth", 18)
    upload = io.BytesIO((tmp_path / "rn18.pth").read_bytes())
    upload.name = "resnet18-imagenet.pth"
    response = client.post(
        f"/api/v1/projects/{project.pk}/pretrained-weights/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 201, response.content

    run = TrainingRun.objects.create(
        project=project, config={"max_epochs": 2, "min_samples_per_epoch": 32, "batch_size": 16}
    )
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    version = run.model_version
    weights = PretrainedWeights.objects.get(project=project)
    assert version.config["pretrained"]["sha256"] == weights.sha256 == response.json()["sha256"]
    assert version.config["training"]["freeze"] == "all_but_head"
    assert version.config["training"]["augment"]["flip_horizontal"] is True
    assert version.config["model"]["architecture"] == "resnet18"
    saved = load_model(version.checkpoint_path, version.checkpoint_sha256)
    state = saved.model.state_dict()
    for name in ("conv1.weight", "layer1.0.conv1.weight", "layer4.1.bn2.running_mean"):
        assert torch.equal(state[f"backbone.{name}"], source[name]), name

    # That version, in turn, seeds another project (our own versions as a source).
    other = make_project(admin=cast.alice, images=8, labelled=8)
    reply = client.post(
        f"/api/v1/projects/{other.pk}/pretrained-weights/",
        {"model_version": version.pk},
        format="json",
    )
    assert reply.status_code == 201, reply.content
    assert reply.json()["sha256"] == version.checkpoint_sha256
