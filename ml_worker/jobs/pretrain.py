"""Self-supervised pretraining of a classification project's encoder on its whole pool.

Queued by learning.triggers when the pool is imported or has grown by LEARNING_PRETRAIN_GROWTH.
The run has the life of a training run (claim, heartbeat, progress, cancel, failure; the task in
ml_worker.tasks claims it), learns the project's network's backbone from every image of the
project with ml_worker.pretraining (labels unused), writes the encoder atomically and registers
it as a model version of kind "pretrained": never active, never promoted; the next supervised
runs start from it (ml_worker.jobs.train._load_pretrained) and the cold start and TypiClust
cluster its embeddings (ml_worker.embeddings.pretrained_embeddings).
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import fields, replace
from typing import Any

import numpy as np
import torch
from django.conf import settings

from annotations.models import Item, Project
from learning.models import ModelKind, ModelVersion, RunStatus, TrainingRun
from learning.services import registry, runs
from learning.services.checkpoint_files import run_checkpoint_path
from learning.services.project_model import model_settings_of
from learning.services.scoring_requests import do_request_rescore
from ml_worker.checkpoint import save_checkpoint
from ml_worker.jobs.data import load_items_by_id, preprocess_config
from ml_worker.jobs.db_retry import with_db_retry
from ml_worker.jobs.heartbeat import Heartbeat
from ml_worker.jobs.snapshot import NotTrainable
from ml_worker.jobs.train import ProgressReporter
from ml_worker.models import ModelSpec
from ml_worker.pretraining import PretrainConfig, encoder_state, pretrain_model
from ml_worker.pretraining.contrastive import Cancelled
from ml_worker.training import TrainConfig, TrainingCancelled, select_device

logger = logging.getLogger(__name__)

CHUNK = 2048  # items decoded at a time while reading the pool


def pretrain_config(run: TrainingRun) -> PretrainConfig:
    """Defaults, then LEARNING_PRETRAIN_DEFAULTS, then the run's config; unknown keys fail."""
    overrides = {**dict(settings.LEARNING_PRETRAIN_DEFAULTS), **dict(run.config or {})}
    overrides.pop("seed", None)  # the run's seed (pretrain_seed), not the recipe's
    known = {f.name for f in fields(PretrainConfig)} - {"augment"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise NotTrainable(f"unknown pretraining settings: {', '.join(unknown)}")
    return replace(PretrainConfig(), **overrides)


def pretrain_seed(run: TrainingRun) -> int:
    """The run's `seed` if its config sets one, else its id (as a training run's)."""
    return int((run.config or {}).get("seed", run.pk))


def pool_images(
    project: Project, limit: int | None = None, seed: int = 0
) -> tuple[np.ndarray, int]:
    """The project's images (labelled or not: pretraining reads no labels), in [0, 1], and the
    pool's size. Above `limit` items a seeded sample is read, so memory stays bounded."""
    ids = list(Item.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
    total = len(ids)
    if limit is not None and total > limit:
        keep = np.random.default_rng(seed).choice(total, size=limit, replace=False)
        ids = [ids[i] for i in np.sort(keep)]
    config = preprocess_config(project)
    parts = [
        load_items_by_id(project, ids[i : i + CHUNK], config).images
        for i in range(0, len(ids), CHUNK)
    ]
    images = np.concatenate(parts) if parts else np.zeros((0, 1, 1, 1), np.float32)
    return images, total


def run_pretraining(run_id: int, worker: str) -> str:
    """Claim and execute a queued pretraining run. Returns its final status (or "not-claimed")."""
    run = with_db_retry(runs.claim_run, run_id, worker)
    if run is None:
        return "not-claimed"
    with_db_retry(lambda: run.project)
    # Every write is conditional on this claim's attempt, as in a training run (decision 0190):
    # after the stale-run check gave the run to another worker, this one registers nothing.
    attempt = run.attempts
    reporter = ProgressReporter(run.pk, attempt)
    with Heartbeat(run.pk, settings.TRAINING_HEARTBEAT_INTERVAL_S, attempt) as beat:

        def should_stop() -> bool:
            return (
                reporter.lost
                or beat.lost.is_set()
                or with_db_retry(runs.should_stop, run.pk, attempt)
            )

        try:
            version = pretrain_and_register(run, reporter, should_stop)
        except (Cancelled, TrainingCancelled) as exc:
            with_db_retry(
                runs.finish_run, run.pk, RunStatus.CANCELLED, log=str(exc), attempt=attempt
            )
            return RunStatus.CANCELLED
        except NotTrainable as exc:
            with_db_retry(
                runs.finish_run, run.pk, RunStatus.FAILED, error=str(exc), attempt=attempt
            )
            return RunStatus.FAILED
        except Exception as exc:
            logger.exception("pretraining run %s failed", run.pk)
            detail = "".join(traceback.format_exception(exc))
            with_db_retry(
                runs.finish_run,
                run.pk,
                RunStatus.FAILED,
                error=f"{exc!r}\n\n{detail}",
                attempt=attempt,
            )
            return RunStatus.FAILED
    with_db_retry(
        runs.finish_run,
        run.pk,
        RunStatus.SUCCEEDED,
        model_version=version,
        log="\n".join(reporter.notes),
        attempt=attempt,
    )
    return RunStatus.SUCCEEDED


def pretrain_and_register(
    run: TrainingRun, reporter: ProgressReporter, should_stop: Any
) -> ModelVersion:
    project = run.project
    if project.task_type != "classification":
        raise NotTrainable("pretraining is for classification projects only (for now)")
    config = pretrain_config(run)
    reporter.phase("loading data")
    images, pool_size = with_db_retry(pool_images, project, config.max_images, pretrain_seed(run))
    if len(images) < 8:
        raise NotTrainable(f"the pool holds {len(images)} images; pretraining needs 8 or more")
    spec = ModelSpec(
        architecture=project.architecture,
        num_classes=max(2, project.label_classes.count()),
        in_channels=int(model_settings_of(project)["in_channels"]),
        input_size=project.input_size,
    )
    device = select_device()
    if device.type == "cpu":
        torch.set_num_threads(TrainConfig().num_threads)  # as a training run: one job per worker
    reporter.phase("pretraining", epochs=config.epochs)

    def on_epoch(epoch: int, loss: float) -> None:
        reporter.history.append({"epoch": epoch, "train_loss": loss})
        reporter.phase("pretraining", epochs=config.epochs)

    model, report = pretrain_model(
        images,
        spec,
        seed=pretrain_seed(run),
        config=config,
        device=device,
        on_epoch=on_epoch,
        should_stop=should_stop,
    )
    if should_stop():
        raise TrainingCancelled(report.epochs)
    reporter.phase("registering", epochs=config.epochs)
    path = run_checkpoint_path(project.pk, run.pk)
    # The encoder only (input statistics and backbone): the supervised model's head belongs to
    # the project's classes. A Radloop-style payload, so load_pretrained reads it by name.
    sha256 = save_checkpoint(
        path,
        {
            "spec": model.spec.to_dict(),
            "state_dict": encoder_state(model),
            "extra": {"run": run.pk, "kind": "pretrained", "method": config.method},
        },
    )
    config_dict = config.to_dict()
    version = with_db_retry(
        registry.register_version,
        project,
        architecture=spec.architecture,
        config={
            "model": model.spec.to_dict(),
            "pretraining": config_dict,
            "pool_size": pool_size,
            "seed": pretrain_seed(run),
        },
        snapshot=None,
        parent=None,
        metrics={"pretraining": report.to_dict()},
        checkpoint_path=str(path),
        checkpoint_sha256=sha256,
        labels_used=0,
        kind=ModelKind.PRETRAINED,
    )
    # The queue's order rests on embeddings: reorder it with the new encoder's (the cold start,
    # or the active model's pass for TypiClust).
    with_db_retry(do_request_rescore, project)
    return version
