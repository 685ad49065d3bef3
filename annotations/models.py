"""Projects, roles, items, leases and versioned annotations.

An annotation is never overwritten: each save adds a row with the next version for the same
client UID, and `is_current` marks the newest. Deletion is a new version with `deleted=True`.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


class TaskType(models.TextChoices):
    CLASSIFICATION = "classification"
    DETECTION = "detection"
    SEGMENTATION = "segmentation"


class WorkUnit(models.TextChoices):
    INSTANCE = "instance"
    FRAME = "frame"
    SERIES = "series"


class SuggestionMode(models.TextChoices):
    BEFORE = "before", "shown before the doctor answers"
    AFTER = "after", "shown only after the doctor answers"
    HIDDEN = "hidden", "never shown"


class ColdStart(models.TextChoices):
    RANDOM = "random"
    DIVERSITY = "diversity"


class Role(models.TextChoices):
    ADMIN = "admin"
    REVIEWER = "reviewer"
    ANNOTATOR = "annotator"


def _random_seed() -> int:
    return secrets.randbelow(2**31)


class ProjectQuerySet(models.QuerySet["Project"]):
    def for_member(self, user: AbstractBaseUser | AnonymousUser) -> ProjectQuerySet:
        from annotations.access import member_q  # access imports this module

        return self.filter(member_q(user))


class Project(models.Model):
    name = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, default="")
    task_type = models.CharField(max_length=20, choices=TaskType.choices)
    multi_label = models.BooleanField(default=False)
    unit = models.CharField(max_length=10, choices=WorkUnit.choices, default=WorkUnit.INSTANCE)
    readers_per_item = models.PositiveSmallIntegerField(default=1)
    require_review = models.BooleanField(default=False)
    suggestions = models.CharField(
        max_length=10, choices=SuggestionMode.choices, default=SuggestionMode.AFTER
    )
    deidentify = models.BooleanField(default=True)
    # Active learning
    # Random until every class has labels enough, then uncertainty with diversity (decision 0331).
    strategy = models.CharField(max_length=40, default="budget_aware")
    cold_start = models.CharField(
        max_length=10, choices=ColdStart.choices, default=ColdStart.RANDOM
    )
    retrain_every = models.PositiveIntegerField(default=50)
    batch_size = models.PositiveIntegerField(default=20)
    # Share (0..0.5) of each doctor's queue served uniformly at random instead of by priority;
    # their labels train the shadow random-sampling baseline (ml_worker.jobs.shadow).
    random_share = models.FloatField(default=0.0)
    # Image pipeline
    input_size = models.PositiveSmallIntegerField(default=64)
    window_center = models.FloatField(null=True, blank=True)
    window_width = models.FloatField(null=True, blank=True)
    architecture = models.CharField(max_length=40, default="small_cnn")
    # Channels, augmentation ranges and what to freeze when starting from uploaded weights,
    # checked against learning.model_settings (decision 0380); {} means its defaults.
    model_settings = models.JSONField(default=dict, blank=True)
    lease_seconds = models.PositiveIntegerField(default=600)
    # Review: the share of fully read items sent to review even when readers agree (0..1).
    review_sample_rate = models.FloatField(default=0.0)
    # Detection: the model's boxes scoring below this (0..1) are not shown to doctors
    # (annotations/services/suggestions.py); the stored suggestion keeps them all.
    box_threshold = models.FloatField(default=0.5)
    # Seeds the cold-start order (random priorities at attach time) and the review sample.
    queue_seed = models.PositiveIntegerField(default=_random_seed)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class LabelClass(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="label_classes")
    name = models.CharField(max_length=100)
    index = models.PositiveSmallIntegerField()
    color = models.CharField(max_length=9, default="#ff0000")
    shortcut = models.CharField(max_length=1, blank=True, default="")
    attributes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="unique_class_name"),
            models.UniqueConstraint(fields=["project", "index"], name="unique_class_index"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    can_export = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} as {self.role} in project {self.project_id}"


class Split(models.TextChoices):
    TRAIN = "train"
    VALIDATION = "val"
    TEST = "test"


class ItemQuerySet(models.QuerySet["Item"]):
    def for_member(self, user: AbstractBaseUser | AnonymousUser) -> ItemQuerySet:
        """Items of the projects the user belongs to (all for superusers, none for anonymous)."""
        from annotations.access import member_q  # access imports this module

        return self.filter(member_q(user, "project__"))


class ReviewState(models.TextChoices):
    NONE = "", "not needed (yet)"
    PENDING = "pending"
    REVIEWED = "reviewed"


class Item(models.Model):
    """The unit a doctor labels: an instance, one frame of it, or a whole series."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    instance = models.ForeignKey(
        "studies.Instance", null=True, blank=True, on_delete=models.CASCADE, related_name="items"
    )
    series = models.ForeignKey(
        "studies.Series", null=True, blank=True, on_delete=models.CASCADE, related_name="items"
    )
    frame = models.PositiveIntegerField(default=1)  # 1-based, as in WADO-RS
    # Splits are by patient and locked once assigned (see learning.splits).
    patient_key = models.CharField(max_length=128, db_index=True, default="")
    split = models.CharField(max_length=5, choices=Split.choices, blank=True, default="")
    priority = models.FloatField(default=0.0, db_index=True)
    # Leased at least once by the queue's random stream (Project.random_share).
    served_at_random = models.BooleanField(default=False)
    reads_done = models.PositiveSmallIntegerField(default=0)
    completed = models.BooleanField(default=False, db_index=True)
    # Mirrors the open lease so a concurrent claimer re-checks it on the locked row itself
    # (PostgreSQL re-evaluates the WHERE clause of a row updated since its snapshot).
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    review_state = models.CharField(
        max_length=10, choices=ReviewState.choices, blank=True, default=ReviewState.NONE
    )
    review_reason = models.CharField(max_length=20, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "instance", "frame"], name="unique_item_per_frame"
            ),
            models.UniqueConstraint(
                fields=["project", "series"],
                condition=models.Q(instance__isnull=True),
                name="unique_series_item",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "completed", "-priority"]),
            models.Index(fields=["project", "review_state"]),
            # The queue's claim reads the pool in exactly this order (services.queue), so it
            # stops at the first free rows instead of sorting the pool (docs/scale.md).
            models.Index(
                fields=["project", "-priority", "id"],
                condition=models.Q(completed=False),
                name="item_claim_order",
            ),
            # The dashboard's "leased" count: open items with a lease mirror, few of them.
            models.Index(
                fields=["project", "lease_expires_at"],
                condition=models.Q(completed=False, lease_expires_at__isnull=False),
                name="item_open_leases",
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.pk} of project {self.project_id}"


class Lease(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="leases")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, blank=True, default="")  # submitted|skipped|expired

    class Meta:
        constraints = [
            # The last line of defence against a double lease: one open lease per item.
            models.UniqueConstraint(
                fields=["item"], condition=models.Q(closed_at__isnull=True), name="one_open_lease"
            )
        ]
        indexes = [models.Index(fields=["user", "closed_at"])]

    def __str__(self) -> str:
        return f"lease of item {self.item_id} to user {self.user_id}"


class Submission(models.Model):
    """One doctor's counted read of an item. Unique per (item, user): nobody reads twice."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="submissions")
    # The item's project, copied when the row is created (save() below; items never change
    # project): the dashboard aggregates a project's reads from the indexes below without
    # joining a million items (docs/scale.md, decision 0192).
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_index=False, editable=False
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    time_spent_ms = models.PositiveIntegerField(default=0)
    # The client's Idempotency-Key for the submit request: a retried request names it again and
    # gets the first answer back (docs/decisions/0141). Empty when the client sent none.
    request_key = models.CharField(max_length=64, blank=True, default="")
    # Detection items shown a model's boxes: the doctor's edits of them, counted by the server
    # at submit time ({suggested_by, shown, accepted, moved, deleted, added, recomputed};
    # annotations/services/box_provenance.py). Null when no boxes were suggested.
    box_edits = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "user"], name="one_read_per_doctor"),
            models.UniqueConstraint(
                fields=["user", "request_key"],
                condition=~models.Q(request_key=""),
                name="one_submission_per_request_key",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "created_at"]),
            # Per doctor: count, sum and the middle values of time_spent_ms in index order.
            models.Index(
                fields=["project", "user", "time_spent_ms"], name="submission_doctor_time"
            ),
            # Per day, and the project's middle values of time_spent_ms (decision 0192).
            models.Index(fields=["project", "created_at"], name="submission_project_day"),
        ]

    def __str__(self) -> str:
        return f"read of item {self.item_id} by user {self.user_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.project_id is None:
            # Every creation path (the submit service, fixtures, get_or_create) goes through
            # save(); the item's project is its project for life.
            cached = Submission.item.is_cached(self)  # type: ignore[attr-defined]
            self.project_id = (
                self.item.project_id
                if cached
                else Item.objects.values_list("project_id", flat=True).get(pk=self.item_id)
            )
        super().save(*args, **kwargs)


class AnnotationSource(models.TextChoices):
    HUMAN = "human"
    IMPORTED = "imported"
    MODEL = "model"
    REVIEW = "review"


class Annotation(models.Model):
    """One version of one annotation. (uid, version) is unique; the newest has is_current."""

    uid = models.UUIDField(default=uuid.uuid4, db_index=True)
    version = models.PositiveIntegerField(default=1)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(
        max_length=10, choices=AnnotationSource.choices, default=AnnotationSource.HUMAN
    )
    kind = models.CharField(max_length=20)  # class | box | polygon | mask | point
    payload = models.JSONField()
    frame = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    deleted = models.BooleanField(default=False)
    time_spent_ms = models.PositiveIntegerField(default=0)
    # A mask that started from a model's suggestion: {suggested_by, accepted, pixels_added,
    # pixels_removed, suggestion_pixels}, the edit counts recomputed by the server
    # (annotations/services/provenance.py). Null for shapes drawn from scratch.
    provenance = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["uid", "version"], name="unique_annotation_version"),
            # A stale writer cannot add a second current version (optimistic concurrency).
            models.UniqueConstraint(
                fields=["uid"], condition=models.Q(is_current=True), name="one_current_version"
            ),
        ]
        indexes = [
            models.Index(fields=["item", "is_current"]),
            models.Index(fields=["author", "item"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.uid} v{self.version}"


class SkipReason(models.TextChoices):
    POOR_QUALITY = "poor_quality"
    UNSURE = "unsure"
    NOT_APPLICABLE = "not_applicable"


class Skip(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="skips")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=SkipReason.choices)
    note = models.TextField(blank=True, default="")
    request_key = models.CharField(max_length=64, blank=True, default="")  # as on Submission
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "request_key"],
                condition=~models.Q(request_key=""),
                name="one_skip_per_request_key",
            )
        ]

    def __str__(self) -> str:
        return f"skip of item {self.item_id} ({self.reason})"


class Review(models.Model):
    """A reviewer's adjudicated answer; the newest review is the item's ground truth.

    The answer is also stored as Annotation rows with source "review" so that snapshots and
    exports can cite annotation versions whatever the ground truth came from."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    payload = models.JSONField()
    note = models.TextField(blank=True, default="")
    # 1, 2, ... per item: a reviewer names the version they saw (If-Match) and a stale one is
    # refused, so an adjudication never silently replaces a newer one (decision 0940).
    version = models.PositiveIntegerField(default=1)
    # The reader whose answer was accepted as it stood (null: the reviewer's own or edited answer).
    accepted_reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "version"], name="one_review_per_version")
        ]

    def __str__(self) -> str:
        return f"review {self.version} of item {self.item_id}"


class Comment(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"comment on item {self.item_id}"
