"""Self-supervised pretraining on the pool (ml_worker.jobs.pretrain), on 200 real PneumoniaMNIST
images: the job registers a `pretrained` encoder that separates the two classes better than the
same network before pretraining, it is never served, and the next supervised run starts from it
and records its sha256."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from annotations.models import Item
from learning.models import (
    ModelKind,
    ModelStatus,
    ModelVersion,
    RunKind,
    RunStatus,
    Score,
    TrainingRun,
)
from learning.services import registry
from learning.services.registry import RegistryError, check_can_activate
from learning.services.runs import do_request_pretrain
from learning.triggers import pretrain_due
from ml_worker.checkpoint import load_checkpoint
from ml_worker.jobs.pretrain import pool_images, run_pretraining
from ml_worker.jobs.score import score_cold_start
from ml_worker.jobs.train import _load_pretrained, run_training
from ml_worker.models import ModelSpec, build_model
from ml_worker.pretraining import encoder_embeddings, encoder_state
from ml_worker.pretraining.probe import knn_accuracy, linear_probe
from tests.cast import dicom_images, label, make_project

pytestmark = pytest.mark.django_db

POOL = 200
SEED = 2  # fixed, so the measured margin is the same on every run (CPU determinism)
RECIPE = {"epochs": 15, "batch_size": 64, "seed": SEED}
QUICK = {"max_epochs": 1, "min_samples_per_epoch": 32, "batch_size": 16}


@pytest.fixture(autouse=True)
def _settings(settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600  # its own connection can't see this test's rows
    settings.LEARNING_PRETRAIN_GROWTH = 0.25
    settings.LEARNING_PRETRAIN_MIN_POOL = 100


@pytest.fixture
def pneumonia(shared_data):  # type: ignore[no-untyped-def]
    data = np.load(shared_data / "classification/pneumoniamnist/pneumoniamnist.npz")
    return (
        data["train_images"][:POOL],
        data["train_labels"][:POOL].ravel(),
        data["val_images"][:300],
        data["val_labels"][:300].ravel(),
    )


@pytest.fixture
def project(cast, pneumonia):  # type: ignore[no-untyped-def]
    images = pneumonia[0]
    return make_project(admin=cast.alice, dicom=dicom_images(images), input_size=28)


def _pretrain(project, recipe: dict[str, int] = RECIPE) -> ModelVersion:  # type: ignore[no-untyped-def]
    assert pretrain_due(project.pk)
    run = do_request_pretrain(project)
    assert run is not None and run.kind == RunKind.PRETRAIN
    TrainingRun.objects.filter(pk=run.pk).update(config=recipe)
    assert run_pretraining(run.pk, worker="in-process") == RunStatus.SUCCEEDED
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.model_version is not None
    return run.model_version


def test_the_pretrained_encoder_separates_the_classes_better_than_the_untrained_network(
    project, pneumonia
) -> None:  # type: ignore[no-untyped-def]
    _, labels, val_images, val_labels = pneumonia
    version = _pretrain(project)

    assert version.kind == ModelKind.PRETRAINED and version.status == ModelStatus.CANDIDATE
    assert version.labels_used == 0 and version.config["pool_size"] == POOL
    payload = load_checkpoint(version.checkpoint_path, version.checkpoint_sha256)
    assert not any(name.startswith("head.") for name in payload["state_dict"])
    losses = version.metrics["pretraining"]["losses"]
    assert len(losses) == RECIPE["epochs"] and losses[-1] < losses[0]

    # The pool as the worker reads it (DICOM -> windowed, 28 px); item order = label order.
    items = list(Item.objects.filter(project=project).order_by("pk"))
    assert len(items) == POOL
    pool, size = pool_images(project)
    assert size == POOL and pool_images(project, limit=50)[0].shape[0] == 50
    val = val_images[:, None].astype(np.float32) / 255.0
    spec = ModelSpec.from_dict(payload["spec"])
    trained = payload["state_dict"]
    untrained = encoder_state(build_model(spec, seed=SEED))  # the same network before pretraining
    scores = {}
    for name, state in (("pretrained", trained), ("untrained", untrained)):
        fit = encoder_embeddings(pool, spec, state)
        held_out = encoder_embeddings(val, spec, state)
        _, auc = linear_probe(fit, labels, held_out, val_labels)
        scores[name] = (auc, knn_accuracy(fit, labels, held_out, val_labels))
    # The same recipe and seed on the raw npz arrays gave linear-probe AUC 0.972 vs 0.952 (seeds
    # 0 and 1: 0.960 vs 0.933, 0.941 vs 0.925; decision 0410). The margin asserted is what a real
    # improvement must at least show.
    assert scores["pretrained"][0] >= scores["untrained"][0] + 0.01, scores
    assert scores["pretrained"][1] >= scores["untrained"][1], scores


def test_a_supervised_run_starts_from_the_encoder_and_records_its_sha256(project) -> None:  # type: ignore[no-untyped-def]
    version = _pretrain(project, {"epochs": 2, "batch_size": 64})
    # Before any model, the cold start orders the pool by TypiClust on the encoder's embeddings.
    project.strategy, project.cold_start = "typiclust", "diversity"
    project.save(update_fields=["strategy", "cold_start"])
    outcome = score_cold_start(project.pk)
    assert outcome is not None and outcome.scored == POOL
    cold = Score.objects.filter(item__project=project, model_version=None)
    assert set(cold.values_list("strategy", flat=True)) == {"typiclust"}
    with pytest.raises(RegistryError, match="cannot be activated"):
        check_can_activate(project.memberships.first().user, version)
    with pytest.raises(ValueError):
        registry.activate(version)

    # Really loaded: a fresh network's backbone equals the encoder's after _load_pretrained.
    fresh = build_model(ModelSpec(num_classes=2, input_size=28), seed=99)
    record = _load_pretrained(project.pk, fresh)
    assert record is not None and record["source"] == "pretrained_version"
    assert record["sha256"] == version.checkpoint_sha256 and record["loaded"] > 0
    encoder = load_checkpoint(version.checkpoint_path)["state_dict"]
    for name, tensor in fresh.state_dict().items():
        if name.startswith("backbone."):
            assert torch.equal(tensor, encoder[name]), name

    for item in Item.objects.filter(project=project).order_by("pk")[:60]:
        label(item, "pneumonia" if item.pk % 2 else "normal")
    run = TrainingRun.objects.create(project=project, config=QUICK)
    assert run_training(run.pk, worker="in-process") == RunStatus.SUCCEEDED
    run.refresh_from_db()
    used = run.model_version.config["pretrained"]
    assert used["sha256"] == version.checkpoint_sha256 and used["id"] == version.pk
    assert run.model_version.kind == ModelKind.SUPERVISED

    # A tampered encoder file fails the next run instead of training from something else.
    with open(version.checkpoint_path, "ab") as fh:
        fh.write(b"tampered")
    again = TrainingRun.objects.create(project=project, config=QUICK)
    assert run_training(again.pk, worker="in-process") == RunStatus.FAILED
    again.refresh_from_db()
    assert "sha256" in again.error


def test_pretraining_is_due_on_import_and_again_after_the_pool_grows_by_the_set_fraction(
    cast, settings
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin=cast.alice, items=POOL)  # rows only: no pixels needed here
    settings.LEARNING_PRETRAIN_GROWTH = 0.0
    assert not pretrain_due(project.pk)  # off
    settings.LEARNING_PRETRAIN_GROWTH = 0.25
    settings.LEARNING_PRETRAIN_MIN_POOL = POOL + 1
    assert not pretrain_due(project.pk)  # too small a pool
    settings.LEARNING_PRETRAIN_MIN_POOL = 100
    run = do_request_pretrain(project)
    assert run is not None
    assert not pretrain_due(project.pk)  # one is queued
    assert do_request_pretrain(project) is None  # and a second request joins nothing
    # A queued pretraining never swallows a training request (one queued run per kind).
    from learning.services.runs import do_request_run

    supervised, created = do_request_run(project)
    assert created and supervised.kind == RunKind.SUPERVISED
    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)
    ModelVersion.objects.create(
        project=project,
        number=1,
        architecture="small_cnn",
        kind=ModelKind.PRETRAINED,
        config={"pool_size": 180},
        checkpoint_path="/nonexistent",
    )
    assert not pretrain_due(project.pk)  # 200 < 180 * 1.25
    ModelVersion.objects.filter(project=project).update(config={"pool_size": 160})
    assert pretrain_due(project.pk)  # 200 >= 160 * 1.25


def test_an_import_that_commits_new_items_queues_a_pretraining_run(
    cast, broker, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from tests.learning.conftest import sent_tasks

    with django_capture_on_commit_callbacks(execute=True):
        project = make_project(admin=cast.alice, items=POOL)
    run = TrainingRun.objects.get(project=project, kind=RunKind.PRETRAIN)
    assert run.status == RunStatus.QUEUED and run.trigger == "pool"
    assert ("ml_worker.tasks.train_pretrained_encoder", [run.pk]) in [
        (name, args) for name, args in sent_tasks(broker, "train")
    ]
