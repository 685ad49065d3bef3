"""JSON shapes of the reports API (docs/api.md), for the schema: reports.services.dashboard
and reports.services.workers build the dicts; these describe them field by field so the schema
(and schemathesis, which checks every response against it) holds the services to it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from annotations.models import SkipReason, TaskType
from learning.models import ModelStatus, RunStatus
from reports.models import HeatMapStatus

S = serializers


def _shape(name: str, fields: dict[str, S.Field[Any, Any, Any, Any]]) -> type[S.Serializer[Any]]:
    return type(name, (S.Serializer,), fields)


DashboardProject = _shape(
    "DashboardProject",
    {"id": S.IntegerField(), "name": S.CharField(), "task_type": S.ChoiceField(TaskType.choices)},
)
DayCount = _shape("DayCount", {"date": S.DateField(), "count": S.IntegerField()})
DoctorLabels = _shape(
    "DoctorLabels",
    {
        "doctor": S.CharField(),
        "count": S.IntegerField(),
        "median_time_ms": S.IntegerField(),
        "mean_time_ms": S.IntegerField(),
    },
)
TimePerLabel = _shape(
    "TimePerLabel",
    {
        "n": S.IntegerField(),
        "median_ms": S.IntegerField(allow_null=True),
        "mean_ms": S.IntegerField(allow_null=True),
    },
)
DoctorAgreement = _shape(
    "DoctorAgreement",
    {
        "doctor": S.CharField(),
        "metric": S.ChoiceField(["percent_agreement", "dice"]),
        "with_other_readers": S.FloatField(allow_null=True),
        "items_shared": S.IntegerField(),
        "with_adjudication": S.FloatField(allow_null=True),
        "items_adjudicated": S.IntegerField(),
    },
)
QueueSize = _shape(
    "QueueSize",
    {
        "items": S.IntegerField(),
        "completed": S.IntegerField(),
        "remaining": S.IntegerField(),
        "leased": S.IntegerField(),
    },
)
SkipCount = _shape(
    "SkipCount", {"reason": S.ChoiceField(SkipReason.choices), "count": S.IntegerField()}
)
CurvePoint = _shape(
    "CurvePoint",
    {
        "version": S.IntegerField(),
        "version_id": S.IntegerField(),
        "labels": S.IntegerField(),
        # None when the test split held one class only (AUC undefined): a gap in the chart.
        "auc": S.FloatField(allow_null=True),
        "f1": S.DictField(child=S.FloatField()),
        "status": S.ChoiceField(ModelStatus.choices),
    },
)
LearningCurve = _shape(
    "LearningCurve",
    {
        "points": CurvePoint(many=True),
        "random_baseline": CurvePoint(many=True, allow_null=True),
        "note": S.CharField(),
    },
)
CurrentModel = _shape(
    "CurrentModel",
    {
        "id": S.IntegerField(),
        "number": S.IntegerField(),
        "architecture": S.CharField(),
        "labels_used": S.IntegerField(),
        "class_names": S.ListField(child=S.CharField()),
        "n_test": S.IntegerField(),
        "accuracy": S.FloatField(allow_null=True),
        "auc": S.FloatField(allow_null=True),
        "auc_ci": S.ListField(child=S.FloatField(allow_null=True), allow_null=True),
        "macro_f1": S.FloatField(allow_null=True),
        "ece_before": S.FloatField(allow_null=True),
        "ece_after": S.FloatField(allow_null=True),
        "temperature": S.FloatField(allow_null=True),
        "confusion_matrix": S.ListField(child=S.ListField(child=S.IntegerField()), allow_null=True),
        "roc": S.DictField(),
        "reliability": S.DictField(),
    },
)
ClassReportRow = _shape(
    "ClassReportRow",
    {
        "name": S.CharField(),
        "precision": S.FloatField(allow_null=True),
        "recall": S.FloatField(allow_null=True),
        "f1": S.FloatField(allow_null=True),
        "support": S.IntegerField(allow_null=True),
        "auc": S.FloatField(allow_null=True),
    },
)
ClassReport = _shape(
    "ClassReport",
    {
        "multi_label": S.BooleanField(),
        "n": S.IntegerField(),
        "rows": ClassReportRow(many=True),
        "averages": ClassReportRow(many=True),
        "class_names": S.ListField(child=S.CharField()),
        "confusion_matrix": S.ListField(child=S.ListField(child=S.IntegerField()), allow_null=True),
    },
)
RegistryRow = _shape(
    "RegistryRow",
    {
        "id": S.IntegerField(),
        "number": S.IntegerField(),
        "status": S.ChoiceField(ModelStatus.choices),
        "architecture": S.CharField(),
        "labels_used": S.IntegerField(),
        "auc": S.FloatField(allow_null=True),
        "accuracy": S.FloatField(allow_null=True),
        "class_report": ClassReport(allow_null=True),
        "search": S.JSONField(allow_null=True),
        "created_at": S.DateTimeField(),
        "promoted_at": S.DateTimeField(allow_null=True),
    },
)
RecentRun = _shape(
    "RecentRun",
    {
        "id": S.IntegerField(),
        "status": S.ChoiceField(RunStatus.choices),
        "trigger": S.CharField(),
        "progress": S.DictField(),
        "cancel_requested": S.BooleanField(),
        "model_version": S.IntegerField(allow_null=True),
        "created_at": S.DateTimeField(),
        "finished_at": S.DateTimeField(allow_null=True),
        "error": S.CharField(allow_blank=True),
    },
)
DetectionPoint = _shape(
    "DetectionPoint",
    {
        "version": S.IntegerField(),
        "version_id": S.IntegerField(),
        "labels": S.IntegerField(),
        "status": S.ChoiceField(ModelStatus.choices),
        "froc_mean": S.FloatField(allow_null=True),
        "froc": S.DictField(child=S.FloatField(allow_null=True)),
        "map_50": S.FloatField(allow_null=True),
        "map_50_95": S.FloatField(allow_null=True),
        "n_test_images": S.IntegerField(allow_null=True),
        "per_class": S.DictField(child=S.DictField()),
    },
)
DetectionCurve = _shape(
    "DetectionCurve",
    {
        "points": DetectionPoint(many=True),
        "random_baseline": DetectionPoint(many=True, allow_null=True),
        "note": S.CharField(),
    },
)
BoxEditPoint = _shape(
    "BoxEditPoint",
    {
        "version": S.IntegerField(),
        "labels": S.IntegerField(),
        "median_edits": S.FloatField(allow_null=True),
        "reads": S.IntegerField(),
        "unmeasured": S.IntegerField(),
        "accepted": S.IntegerField(),
        "moved": S.IntegerField(),
        "deleted": S.IntegerField(),
        "added": S.IntegerField(),
    },
)
BoxEditCurve = _shape("BoxEditCurve", {"points": BoxEditPoint(many=True), "note": S.CharField()})
Dashboard = _shape(
    "Dashboard",
    {
        "project": DashboardProject(),
        "labels_per_day": DayCount(many=True),
        "labels_per_doctor": DoctorLabels(many=True),
        "time_per_label": TimePerLabel(),
        "agreement_per_doctor": DoctorAgreement(many=True),
        "queue": QueueSize(),
        "skip_reasons": SkipCount(many=True),
        "learning_curve": LearningCurve(),
        "detection_curve": DetectionCurve(allow_null=True),
        "box_edit_curve": BoxEditCurve(allow_null=True),
        "current_model": CurrentModel(allow_null=True),
        "registry": RegistryRow(many=True),
        "runs": RecentRun(many=True),
    },
)
Worker = _shape(
    "Worker",
    {
        "name": S.CharField(),
        "queues": S.ListField(child=S.CharField()),
        "active_tasks": S.ListField(child=S.CharField(allow_null=True)),
        "devices": S.JSONField(allow_null=True),
    },
)
Workers = _shape(
    "Workers",
    {"workers": Worker(many=True), "queues": S.DictField(child=S.IntegerField())},
)
HeatmapPending = _shape(
    "HeatmapPending",
    {
        "status": S.ChoiceField(
            [HeatMapStatus.QUEUED, HeatMapStatus.RUNNING, HeatMapStatus.FAILED]
        ),
        "detail": S.CharField(required=False),
    },
)


class ReportPreparing(serializers.Serializer[Any]):
    status = serializers.CharField()
    pending_heatmaps = serializers.IntegerField()


class ReportLink(serializers.Serializer[Any]):
    project = serializers.IntegerField()
    project_name = serializers.CharField()
    url = serializers.CharField()
    pdf_url = serializers.CharField()
