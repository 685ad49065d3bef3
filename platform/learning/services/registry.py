"""The model registry: numbered versions per project, one active at a time, promotion, rollback.

Activation retires the previous active version and activates the new one in one transaction
(the partial unique constraint `one_active_model_per_project` forbids two actives), then asks an
inference worker to rescore the pool with the newly active version.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from annotations.access import is_project_admin
from annotations.models import Project
from core import dispatch
from learning.models import DatasetSnapshot, ModelKind, ModelStatus, ModelVersion

User = AbstractBaseUser | AnonymousUser


class RegistryError(Exception):
    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def active_version(project_id: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(project_id=project_id, status=ModelStatus.ACTIVE).first()


def register_version(
    project: Project,
    *,
    architecture: str,
    config: dict[str, Any],
    snapshot: DatasetSnapshot | None,
    parent: ModelVersion | None,
    metrics: dict[str, Any],
    checkpoint_path: str,
    checkpoint_sha256: str,
    labels_used: int,
    kind: str = ModelKind.SUPERVISED,
) -> ModelVersion:
    """Add a candidate version with the next number (retrying if two runs race for it)."""
    for _ in range(5):
        number = (
            ModelVersion.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0
        ) + 1
        try:
            with transaction.atomic():
                return ModelVersion.objects.create(
                    project=project,
                    number=number,
                    architecture=architecture,
                    config=config,
                    snapshot=snapshot,
                    parent=parent,
                    metrics=metrics,
                    checkpoint_path=checkpoint_path,
                    checkpoint_sha256=checkpoint_sha256,
                    labels_used=labels_used,
                    kind=kind,
                )
        except IntegrityError:
            continue
    raise RuntimeError(f"could not number a new model version for project {project.pk}")


def current_pretrained_version(project_id: int) -> ModelVersion | None:
    """The project's newest self-supervised encoder (ml_worker.jobs.pretrain), if any."""
    return (
        ModelVersion.objects.filter(project_id=project_id, kind=ModelKind.PRETRAINED)
        .exclude(checkpoint_path="")
        .order_by("-number")
        .first()
    )


def reject(version: ModelVersion) -> None:
    ModelVersion.objects.filter(pk=version.pk, status=ModelStatus.CANDIDATE).update(
        status=ModelStatus.REJECTED
    )


def mark_shadow(version: ModelVersion) -> None:
    ModelVersion.objects.filter(pk=version.pk, status=ModelStatus.CANDIDATE).update(
        status=ModelStatus.SHADOW
    )


def activate(version: ModelVersion) -> ModelVersion:
    """Make this version the project's active one and rescore the pool with it after commit."""
    if version.kind == ModelKind.PRETRAINED:
        raise ValueError("a pretrained encoder has no classifier head: it is never served")
    with transaction.atomic():
        # Lock the project's versions so two activations serialise instead of failing on the
        # one-active constraint.
        list(ModelVersion.objects.select_for_update().filter(project_id=version.project_id))
        ModelVersion.objects.filter(
            project_id=version.project_id, status=ModelStatus.ACTIVE
        ).exclude(pk=version.pk).update(status=ModelStatus.RETIRED)
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelStatus.ACTIVE, promoted_at=timezone.now()
        )
        dispatch.after_commit(dispatch.SCORE, version.pk)
    version.refresh_from_db()
    return version


def check_can_activate(user: User, version: ModelVersion) -> None:
    if not is_project_admin(user, version.project):
        raise RegistryError("only the project's admins can activate a model version", status=403)
    if version.status == ModelStatus.ACTIVE:
        raise RegistryError("this version is already active", status=409)
    if version.status == ModelStatus.SHADOW:
        raise RegistryError(
            "a shadow random-sampling baseline is a yardstick, never served: "
            "it cannot be activated",
            status=409,
        )
    if version.kind == ModelKind.PRETRAINED:
        raise RegistryError(
            "a pretrained encoder starts the supervised models and gives the strategies "
            "embeddings; it predicts nothing, so it cannot be activated",
            status=409,
        )
    if not version.checkpoint_path:
        raise RegistryError("this version has no checkpoint to serve", status=409)


def add_metrics(version_id: int, key: str, value: Any) -> None:
    """Store one more entry in a registered version's metrics (a search's trials)."""
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        version.metrics = {**version.metrics, key: value}
        version.save(update_fields=["metrics"])
