"""The model registry and the runs that fill it. Django-side rows only: torch lives in ml_worker."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


def _visible_projects(user: AbstractBaseUser | AnonymousUser) -> models.QuerySet:
    from annotations.models import Project

    return Project.objects.for_member(user)


class DatasetSnapshot(models.Model):
    """A frozen list of (item, annotation versions, label, split); its hash names its content."""

    project = models.ForeignKey(
        "annotations.Project", on_delete=models.CASCADE, related_name="snapshots"
    )
    content_hash = models.CharField(max_length=64)
    entries = models.JSONField(default=list)
    purpose = models.CharField(max_length=10, default="training")  # training | export
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "content_hash"], name="unique_snapshot")
        ]

    def __str__(self) -> str:
        return f"snapshot {self.content_hash[:12]} of project {self.project_id}"

    @staticmethod
    def hash_of(entries: list[dict[str, Any]]) -> str:
        """The content hash: sha256 of the entries as canonical JSON. Training runs and exports
        of the same labels get the same hash, which is how an export finds its model versions."""
        canonical = json.dumps(entries, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(canonical).hexdigest()


class ModelStatus(models.TextChoices):
    CANDIDATE = "candidate"
    ACTIVE = "active"
    REJECTED = "rejected"
    RETIRED = "retired"
    # A shadow random-sampling baseline (ml_worker.jobs.shadow): measured, never served.
    SHADOW = "shadow"


class ModelKind(models.TextChoices):
    SUPERVISED = "supervised"
    # A self-supervised encoder learnt from the pool's images alone (ml_worker.jobs.pretrain):
    # it initialises the supervised runs and gives the strategies embeddings; never served.
    PRETRAINED = "pretrained"


class RunKind(models.TextChoices):
    SUPERVISED = "supervised"
    PRETRAIN = "pretrain"


class ModelVersionQuerySet(models.QuerySet["ModelVersion"]):
    def for_member(self, user: AbstractBaseUser | AnonymousUser) -> ModelVersionQuerySet:
        return self.filter(project__in=_visible_projects(user))


class ModelVersion(models.Model):
    project = models.ForeignKey(
        "annotations.Project", on_delete=models.CASCADE, related_name="model_versions"
    )
    number = models.PositiveIntegerField()
    architecture = models.CharField(max_length=40)
    config = models.JSONField(default=dict)
    snapshot = models.ForeignKey(
        DatasetSnapshot, null=True, on_delete=models.PROTECT, related_name="model_versions"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    metrics = models.JSONField(default=dict)
    checkpoint_path = models.CharField(max_length=500, blank=True, default="")
    checkpoint_sha256 = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=ModelStatus.choices, default=ModelStatus.CANDIDATE
    )
    labels_used = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=ModelKind.choices, default=ModelKind.SUPERVISED)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    # The Celery worker (hostname) that last scored the pool with this version, and when: with
    # workers on several hosts, which one did the work is otherwise lost (decision 0190).
    scored_by = models.CharField(max_length=200, blank=True, default="")
    scored_at = models.DateTimeField(null=True, blank=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="unique_model_number"),
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(status="active"),
                name="one_active_model_per_project",
            ),
        ]

    def __str__(self) -> str:
        return f"model v{self.number} of project {self.project_id} ({self.status})"


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TrainingRunQuerySet(models.QuerySet["TrainingRun"]):
    def for_member(self, user: AbstractBaseUser | AnonymousUser) -> TrainingRunQuerySet:
        return self.filter(project__in=_visible_projects(user))


class TrainingRun(models.Model):
    project = models.ForeignKey(
        "annotations.Project", on_delete=models.CASCADE, related_name="training_runs"
    )
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    trigger = models.CharField(max_length=10, default="manual")  # manual | auto | pool
    # A supervised run trains a classifier on the labels; a pretrain run learns an encoder from
    # the pool's images (ml_worker.jobs.pretrain). Both share the one-running-run rule.
    kind = models.CharField(max_length=12, choices=RunKind.choices, default=RunKind.SUPERVISED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancel_requested = models.BooleanField(default=False)
    # Overrides of the training hyper-parameters for this run (learning.training_config).
    config = models.JSONField(default=dict, blank=True)
    progress = models.JSONField(default=dict)  # {"epoch", "epochs", "history": [...], "eta_s"}
    log = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    worker = models.CharField(max_length=200, blank=True, default="")
    # Claims so far: a run whose worker died is queued again (up to TRAINING_MAX_ATTEMPTS), and a
    # worker's writes are conditional on its attempt, so a worker that was only cut off cannot
    # finish a run another worker has taken over (decision 0190).
    attempts = models.PositiveSmallIntegerField(default=0)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Labelled items when the run was last requested: the baseline for "retrain every N labels".
    label_count = models.PositiveIntegerField(default=0)
    # Last time the train task was sent for this run; a queued run not picked up for long is
    # sent again (its message may have been lost), and this keeps that from repeating every beat.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    objects = TrainingRunQuerySet.as_manager()

    class Meta:
        constraints = [
            # One run at a time per project, plus at most one queued follow-up of each kind:
            # requests coalesce, and a queued pretraining never swallows a training request.
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(status="running"),
                name="one_running_run_per_project",
            ),
            models.UniqueConstraint(
                fields=["project", "kind"],
                condition=models.Q(status="queued"),
                name="one_queued_run_per_project",
            ),
        ]

    def __str__(self) -> str:
        return f"training run {self.pk} of project {self.project_id} ({self.status})"


class Score(models.Model):
    """A model version's prediction and acquisition score for one item.

    A cold-start score (no model yet, diversity over image features) has no model version.
    """

    item = models.ForeignKey("annotations.Item", on_delete=models.CASCADE, related_name="scores")
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="scores"
    )
    strategy = models.CharField(max_length=40)
    value = models.FloatField()
    probabilities = models.JSONField(default=list)
    predicted_class = models.IntegerField(null=True, blank=True)
    # A segmentation model's mask for the item (docs/learning.md, SEG contract):
    # {"kind": "mask", "frame": f, "masks": [mask payloads]}; null for classification.
    suggestion = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "model_version"], name="unique_score"),
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(model_version__isnull=True),
                name="one_cold_start_score_per_item",
            ),
        ]

    def __str__(self) -> str:
        return f"score {self.value:.4f} of item {self.item_id} ({self.strategy})"


class PretrainedWeights(models.Model):
    """A checkpoint file an admin uploaded to start a project's models from (transfer learning).

    Weights are never downloaded: hospitals bring their own file. The newest upload of a project
    is used by its next training runs; the worker copies every tensor whose name and shape match.
    """

    project = models.ForeignKey(
        "annotations.Project", on_delete=models.CASCADE, related_name="pretrained_weights"
    )
    original_name = models.CharField(max_length=255)
    path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"
