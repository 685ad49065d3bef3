"""Request and response shapes of the workflow API (docs/api.md; API.md is the contract)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotations import access
from annotations.markdown import render_instructions
from annotations.models import (
    Annotation,
    Comment,
    Item,
    LabelClass,
    Lease,
    Membership,
    Project,
    Role,
    SkipReason,
    Submission,
    TaskType,
)
from annotations.payloads import KINDS, parse_attribute_specs
from annotations.services.annotate import MAX_TIME_SPENT_MS
from annotations.services.projects import locked_settings
from annotations.services.queue import MAX_BATCH
from annotations.services.review import MAX_REVIEW_NOTE
from annotations.services.submit import MAX_SKIP_NOTE
from core.invitations import is_pending_invitation
from learning.strategy_names import (
    DEFAULT_STRATEGY_BY_TASK,
    STRATEGY_NAMES,
    effective_strategy,
    strategies_for,
)

MAX_INSTRUCTIONS = 20_000


class LabelClassSerializer(serializers.ModelSerializer[LabelClass]):
    # Writable: a spec naming an existing class's id is that class, so a new name renames it
    # and the stored answers follow (services.projects._write_classes).
    id = serializers.IntegerField(required=False)

    class Meta:
        model = LabelClass
        fields = ["id", "name", "index", "color", "shortcut", "attributes"]
        read_only_fields = ["index"]
        # Uniqueness per project is checked on the list as a whole (ProjectWriteSerializer).
        validators: list[Any] = []

    def validate_shortcut(self, value: str) -> str:
        # One key the workspace can bind: a letter (it wins over a tool of the same letter) or a
        # digit 1-9; space, Enter, arrows and punctuation are the workspace's own.
        if value and not (value.isascii() and (value.isalpha() or value in "123456789")):
            raise serializers.ValidationError("one letter a to z or a digit 1 to 9, or none")
        return value.lower()

    def validate_color(self, value: str) -> str:
        if not (value.startswith("#") and len(value) in (4, 7, 9)):
            raise serializers.ValidationError("a CSS hex colour such as #ff8800")
        try:
            int(value[1:], 16)
        except ValueError as exc:
            raise serializers.ValidationError("a CSS hex colour such as #ff8800") from exc
        return value

    def validate_attributes(self, value: Any) -> Any:
        try:
            parse_attribute_specs(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value or []


class ProjectSerializer(serializers.ModelSerializer[Project]):
    """Read shape. Counts come from services.counts.with_counts annotations."""

    my_role = serializers.SerializerMethodField()
    label_classes = LabelClassSerializer(many=True, read_only=True)
    counts = serializers.SerializerMethodField()
    # The instructions as safe HTML (annotations.markdown): raw HTML escaped, no script links.
    instructions_html = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id", "name", "instructions", "task_type", "multi_label", "unit",
            "readers_per_item", "require_review", "review_sample_rate", "suggestions",
            "deidentify", "strategy", "cold_start", "retrain_every", "batch_size",
            "random_share", "lease_seconds", "box_threshold", "created_at", "my_role",
            "label_classes", "counts", "instructions_html",
        ]  # fmt: skip

    def get_instructions_html(self, project: Project) -> str:
        return render_instructions(project.instructions)

    def get_my_role(self, project: Project) -> str | None:
        user = self.context["request"].user
        role = getattr(project, "member_role", None)
        if role is None and access.is_superuser(user):
            return Role.ADMIN
        return role

    def get_counts(self, project: Project) -> dict[str, int]:
        return {
            "items": getattr(project, "n_items", 0),
            "completed": getattr(project, "n_completed", 0),
            "my_submitted": getattr(project, "n_my_submitted", 0),
            "remaining_for_me": getattr(project, "n_remaining_for_me", 0),
        }


class ProjectDetailSerializer(ProjectSerializer):
    """One project, with the settings that can no longer change and why (services.projects)."""

    locked = serializers.SerializerMethodField()

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "locked"]

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_locked(self, project: Project) -> dict[str, str]:
        return locked_settings(project)


class ProjectWriteSerializer(serializers.ModelSerializer[Project]):
    label_classes = LabelClassSerializer(many=True, required=False)
    # The model column is free text; the names come from the registry the worker registers
    # (learning.strategy_names), so a typo fails here, not at the next scoring pass, and the
    # schema lists them as choices.
    strategy = serializers.ChoiceField(
        choices=STRATEGY_NAMES,
        required=False,
        error_messages={"invalid_choice": f"one of {', '.join(STRATEGY_NAMES)}"},
    )

    class Meta:
        model = Project
        fields = [
            "name", "instructions", "task_type", "multi_label", "unit", "readers_per_item",
            "require_review", "review_sample_rate", "suggestions", "deidentify", "strategy",
            "cold_start", "retrain_every", "batch_size", "random_share", "lease_seconds",
            "box_threshold", "label_classes",
        ]  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A strategy must apply to the project's task type (seg_entropy reads pixel maps a
        # classifier never produces, and vice versa). A new project that names none starts with
        # its task's default.
        task = attrs.get("task_type", getattr(self.instance, "task_type", TaskType.CLASSIFICATION))
        multi = bool(attrs.get("multi_label", getattr(self.instance, "multi_label", False)))
        if "strategy" in attrs:
            valid = strategies_for(task, multi)
            if attrs["strategy"] not in valid:
                kind = (
                    f"a multi-label {task}" if multi and task == "classification" else f"a {task}"
                )
                raise serializers.ValidationError(
                    {"strategy": f"{kind} project takes one of {', '.join(valid)}"}
                )
        elif self.instance is None and task in DEFAULT_STRATEGY_BY_TASK:
            attrs["strategy"] = effective_strategy(task, DEFAULT_STRATEGY_BY_TASK[task], multi)
        return attrs

    def validate_instructions(self, value: str) -> str:
        if len(value) > MAX_INSTRUCTIONS:
            raise serializers.ValidationError(f"at most {MAX_INSTRUCTIONS} characters")
        return value

    def validate_retrain_every(self, value: int) -> int:
        # 0 turns automatic retraining off (learning.triggers); admins can still retrain by hand.
        if value > 100_000:
            raise serializers.ValidationError("0 (never automatically) to 100000 new labels")
        return value

    def validate_readers_per_item(self, value: int) -> int:
        if not 1 <= value <= 20:
            raise serializers.ValidationError("1 to 20 readers per item")
        return value

    def validate_review_sample_rate(self, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise serializers.ValidationError("a fraction between 0 and 1")
        return value

    def validate_random_share(self, value: float) -> float:
        # Above one half the "active" queue would mostly be random: that is a random project.
        if not 0.0 <= value <= 0.5:
            raise serializers.ValidationError("a fraction between 0 and 0.5")
        return value

    def validate_box_threshold(self, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise serializers.ValidationError("a score between 0 and 1")
        return value

    def validate_lease_seconds(self, value: int) -> int:
        if not 30 <= value <= 24 * 3600:
            raise serializers.ValidationError("30 s to 24 h")
        return value

    def validate_batch_size(self, value: int) -> int:
        if value < 1:
            raise serializers.ValidationError("at least 1")
        return value

    def validate_label_classes(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [c["name"] for c in value]
        if len(set(names)) != len(names):
            raise serializers.ValidationError("class names must be unique")
        shortcuts = [c.get("shortcut") for c in value if c.get("shortcut")]
        if len(set(shortcuts)) != len(shortcuts):
            raise serializers.ValidationError("keyboard shortcuts must be unique")
        return value


class MemberSerializer(serializers.ModelSerializer[Membership]):
    """A member as the team page lists them; `pending`: invited, has not set a password yet."""

    user = serializers.IntegerField(source="user_id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    pending = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["user", "username", "role", "can_export", "pending", "created_at"]
        read_only_fields = fields

    def get_pending(self, membership: Membership) -> bool:
        return is_pending_invitation(membership.user)


class MemberAddSerializer(serializers.Serializer[Any]):
    """Who to add: exactly one of a user id, a username or an e-mail address."""

    user = serializers.IntegerField(required=False)
    username = serializers.CharField(required=False, max_length=150)
    # The address becomes an invited account's username (150 characters at most).
    email = serializers.EmailField(required=False, max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)
    can_export = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("user", "username", "email") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"username": "give one of a user id, a username or an e-mail address"}
            )
        return attrs


class MemberAddedSerializer(MemberSerializer):
    """The member, and for an invitation not yet accepted the one-time link (absolute) and
    whether the e-mail with it went out."""

    invite_link = serializers.CharField(allow_null=True, read_only=True)
    invite_email_error = serializers.CharField(allow_blank=True, read_only=True)

    class Meta(MemberSerializer.Meta):
        fields = [*MemberSerializer.Meta.fields, "invite_link", "invite_email_error"]
        read_only_fields = fields


class MemberChangeSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    can_export = serializers.BooleanField(required=False)


class _Described(serializers.Serializer[Any]):
    name = serializers.CharField()
    description = serializers.CharField()


class ProjectChoicesSerializer(serializers.Serializer[Any]):
    """Schema of GET /api/v1/project-choices (views.projects.ProjectChoices)."""

    task_types = serializers.ListField(child=serializers.CharField())
    strategies = _Described(many=True)
    strategies_by_task = serializers.DictField(child=serializers.ListField())
    default_strategy_by_task = serializers.DictField(child=serializers.CharField())
    cold_starts = _Described(many=True)
    suggestion_modes = _Described(many=True)
    roles = serializers.ListField(child=serializers.CharField())
    can_create = serializers.BooleanField()
    invite_signup = serializers.BooleanField()


class AnnotationSerializer(serializers.ModelSerializer[Annotation]):
    item = serializers.IntegerField(source="item_id", read_only=True)
    author = serializers.IntegerField(source="author_id", read_only=True, allow_null=True)
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = [
            "uid", "version", "item", "kind", "frame", "payload", "author", "author_name",
            "source", "deleted", "created_at", "time_spent_ms", "provenance",
        ]  # fmt: skip
        read_only_fields = fields

    def get_author_name(self, annotation: Annotation) -> str | None:
        author: AbstractBaseUser | None = annotation.author
        return author.get_username() if author is not None else None


class AnnotationWriteSerializer(serializers.Serializer[Any]):
    """Documents the PUT body for the schema; services.annotate validates it (payload bounds:
    settings ANNOTATION_MAX_*, docs/workflow.md "Limits")."""

    kind = serializers.ChoiceField(choices=list(KINDS))
    frame = serializers.IntegerField(min_value=1, required=False)
    payload = serializers.JSONField()
    time_spent_ms = serializers.IntegerField(
        min_value=0, max_value=MAX_TIME_SPENT_MS, required=False
    )
    # A mask started from a model's suggestion; the server recomputes the pixel counts.
    provenance = serializers.JSONField(required=False)


class CommentSerializer(serializers.ModelSerializer[Comment]):
    author = serializers.IntegerField(source="author_id", read_only=True)
    author_name = serializers.CharField(source="author.username", read_only=True)
    text = serializers.CharField(max_length=10000, trim_whitespace=True, allow_blank=False)

    class Meta:
        model = Comment
        fields = ["id", "item", "author", "author_name", "text", "created_at"]
        read_only_fields = ["id", "item", "created_at"]


class LeaseSerializer(serializers.ModelSerializer[Lease]):
    class Meta:
        model = Lease
        fields = ["id", "expires_at"]


def instance_summary(item: Item) -> dict[str, Any] | None:
    instance = item.instance
    if instance is None:
        series = item.series
        if series is None:
            return None
        return {
            "study_instance_uid": series.study.study_instance_uid,
            "series_instance_uid": series.series_instance_uid,
            "sop_instance_uid": None,
            "rows": None,
            "columns": None,
            "number_of_frames": None,
            "modality": series.modality,
        }
    series = instance.series
    return {
        "study_instance_uid": series.study.study_instance_uid,
        "series_instance_uid": series.series_instance_uid,
        "sop_instance_uid": instance.sop_instance_uid,
        "rows": instance.rows,
        "columns": instance.columns,
        "number_of_frames": instance.number_of_frames,
        "modality": series.modality,
    }


class InstanceSummarySerializer(serializers.Serializer[Any]):
    """Schema of instance_summary(): the image an item shows (a whole series has no SOP UID)."""

    study_instance_uid = serializers.CharField()
    series_instance_uid = serializers.CharField()
    sop_instance_uid = serializers.CharField(allow_null=True)
    rows = serializers.IntegerField(allow_null=True)
    columns = serializers.IntegerField(allow_null=True)
    number_of_frames = serializers.IntegerField(allow_null=True)
    modality = serializers.CharField(allow_blank=True)


class SuggestionSerializer(serializers.Serializer[Any]):
    """Schema of services.suggestions.suggestions_for(): the active model's prediction."""

    model_version = serializers.IntegerField()
    model_version_id = serializers.IntegerField()
    predicted = serializers.CharField(allow_null=True)
    probabilities = serializers.DictField(child=serializers.FloatField())
    multi_label = serializers.BooleanField()
    predicted_labels = serializers.ListField(child=serializers.CharField())
    heatmap_url = serializers.CharField()


class ItemPayloadSerializer(serializers.Serializer[Any]):
    """Schema-only description of one item as annotations.item_payload.item_payloads builds it."""

    id = serializers.IntegerField()
    project = serializers.IntegerField()
    frame = serializers.IntegerField()
    lease = LeaseSerializer(allow_null=True)
    instance = InstanceSummarySerializer(allow_null=True)
    annotations = AnnotationSerializer(many=True)
    suggestion = SuggestionSerializer(allow_null=True)
    reads_done = serializers.IntegerField()
    completed = serializers.BooleanField()


class SubmitSerializer(serializers.Serializer[Any]):
    """Schema of the submit body; services.submit.check_time_spent checks it (0 when absent)."""

    time_spent_ms = serializers.IntegerField(
        min_value=0, max_value=MAX_TIME_SPENT_MS, required=False, default=0
    )


class SkipSerializer(serializers.Serializer[Any]):
    """Schema of the skip body; services.submit.check_skip checks it."""

    reason = serializers.ChoiceField(choices=SkipReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_SKIP_NOTE)


class SkipResultSerializer(serializers.Serializer[Any]):
    item = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=SkipReason.choices)
    note = serializers.CharField(allow_blank=True)


class NextRequestSerializer(serializers.Serializer[Any]):
    """Schema of the queue's body; services.queue.check_count checks it."""

    count = serializers.IntegerField(min_value=1, max_value=MAX_BATCH, default=1)


class QueueProgressSerializer(serializers.Serializer[Any]):
    submitted_by_me = serializers.IntegerField()
    remaining = serializers.IntegerField(
        help_text="Items left for this doctor, counted up to 1000 (1000 means 1000 or more)."
    )


class NextResponseSerializer(serializers.Serializer[Any]):
    items = ItemPayloadSerializer(many=True)
    progress = QueueProgressSerializer()


class ReviewPayloadSerializer(serializers.Serializer[Any]):
    labels = serializers.ListField(child=serializers.CharField(), required=False)
    annotations = serializers.ListField(
        child=AnnotationWriteSerializer(),
        required=False,
        max_length=settings.ANNOTATION_MAX_SHAPES_PER_ITEM,
    )


class ReviewRequestSerializer(serializers.Serializer[Any]):
    """Schema of the adjudication body; services.review.check_review checks it. Either
    `payload` (the reviewer's answer) or `accept` (a reader's user id: their answer as is)."""

    payload = ReviewPayloadSerializer(required=False)
    accept = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_REVIEW_NOTE)


class ReviewResultSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    item = serializers.IntegerField()
    version = serializers.IntegerField()
    accepted_reader = serializers.IntegerField(allow_null=True)
    payload = serializers.JSONField()
    note = serializers.CharField(allow_blank=True)


class HistoryEntrySerializer(serializers.ModelSerializer[Submission]):
    project = serializers.IntegerField(source="item.project_id")
    frame = serializers.IntegerField(source="item.frame")
    submitted_at = serializers.DateTimeField(source="created_at")
    # DRF moves declared fields off the class, so this does not clash with Serializer.instance.
    instance = serializers.SerializerMethodField()  # type: ignore[assignment]

    class Meta:
        model = Submission
        fields = ["item", "project", "frame", "submitted_at", "time_spent_ms", "instance"]

    @extend_schema_field(InstanceSummarySerializer(allow_null=True))
    def get_instance(self, submission: Submission) -> dict[str, Any] | None:
        return instance_summary(submission.item)
