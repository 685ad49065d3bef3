"""The AI study report: for one study in one project, each image's predicted class with its
calibrated probability, its heat map, the model version with its test metrics, and the doctors'
labels. In a detection project, each image's proposed findings (label and score, outlined on the
image; reports.services.report_findings) and the version's FROC and mAP instead. Decision
support, not a diagnosis: every rendering (HTML, PDF) says so at the top.

Probabilities are calibrated: softmax(logits / T) with the temperature fitted on the validation
split (ml_worker.calibration), from the active version's Score row (pool items) or, for every image
labelled or not, from its heat map's computation, which scores the image too. The report is
complete only once every image's heat map is computed: until then `pending` counts those still
on the infer queue and the views answer "being prepared" instead of printing "queued"
(decision 0383).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.http import Http404
from django.utils import timezone
from PIL import Image

from annotations import access
from annotations.models import Annotation, Item, Project, Role, TaskType
from learning.models import ModelVersion, Score
from learning.services.registry import active_version
from reports.models import HeatMap, HeatMapStatus
from reports.services.class_report import class_report, matrix_rows
from reports.services.heatmaps import do_request_heatmap
from reports.services.report_findings import (
    Finding,
    detection_summary,
    findings_of,
    outline_findings,
)
from studies.dicomweb.rendering import RenderOptions, render_frame
from studies.models import Study

DISCLAIMER = "Decision support, not a diagnosis"
DISCLAIMER_DETAIL = (
    "This report shows the output of a machine-learning model trained on this project's labels. "
    "It is meant to support a qualified reader's own review of the images and must not be "
    "used as a diagnosis."
)
OVERLAY_OPACITY = 0.55


@dataclass
class DoctorLabel:
    doctor: str
    labels: list[str]
    source: str


@dataclass
class ReportImage:
    item_id: int
    sop_instance_uid: str
    series_description: str
    instance_number: int | None
    frame: int
    predicted: str | None
    probability: float | None
    probabilities: dict[str, float]
    heatmap_status: str
    doctors: list[DoctorLabel] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # detection: the proposed boxes
    picture_png: bytes = b""  # the image with its heat map blended in (or alone when pending)

    @property
    def picture_data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.picture_png).decode()


@dataclass
class StudyReport:
    project: Project
    study: Study
    model: dict[str, Any] | None
    images: list[ReportImage]
    generated_at: datetime
    pending: int = 0  # heat maps still being computed: the report is not ready
    disclaimer: str = DISCLAIMER
    disclaimer_detail: str = DISCLAIMER_DETAIL


def may_read_report(user: Any, project: Project) -> bool:
    role = access.role_of(user, project)
    return role in access.REVIEW_ROLES or (
        role == Role.ANNOTATOR and project.suggestions == "before"
    )


def report_links(user: Any, study_uid: str) -> list[dict[str, Any]]:
    """The projects holding this study whose report `user` may read, with the report's address:
    what the study view and the workspace link to."""
    projects = access.member_projects(user).filter(
        items__instance__series__study__study_instance_uid=study_uid
    )
    return [
        {
            "project": project.pk,
            "project_name": project.name,
            "url": f"/api/v1/projects/{project.pk}/studies/{study_uid}/report",
            "pdf_url": f"/api/v1/projects/{project.pk}/studies/{study_uid}/report.pdf",
        }
        for project in projects.distinct().order_by("pk")
        if may_read_report(user, project)
    ]


def check_can_see_report(user: Any, project_id: int, study_uid: str) -> tuple[Project, Study]:
    """Reviewers and admins; annotators only where the project shows suggestions before an
    answer (otherwise the report would anchor them). Outsiders, and studies not in the
    project, get 404."""
    project = access.project_for_member(user, project_id)
    role = access.role_of(user, project)
    if role not in access.REVIEW_ROLES and not (
        role == Role.ANNOTATOR and project.suggestions == "before"
    ):
        access.require_reviewer(user, project)
    study = Study.objects.filter(
        study_instance_uid=study_uid, series__instances__items__project=project
    ).first()
    if study is None:
        raise Http404("no such study in this project")
    return project, study


def _model_summary(version: ModelVersion) -> dict[str, Any]:
    test = (version.metrics or {}).get("test") or {}
    return {
        "number": version.number,
        "architecture": version.architecture,
        "labels_used": version.labels_used,
        "promoted_at": version.promoted_at,
        "n_test": test.get("n", 0),
        "accuracy": test.get("accuracy"),
        "auc": test.get("auc"),
        "auc_ci": test.get("auc_ci") or [None, None],
        "macro_f1": (test.get("macro_avg") or {}).get("f1"),
        "ece_after": test.get("ece_after"),
        "class_names": test.get("class_names") or version.config.get("class_names") or [],
        "detection": detection_summary(version),
        "class_report": _class_table(test),
        "calibration": calibration_summary(test),
    }


def calibration_summary(test: dict[str, Any]) -> dict[str, Any]:
    """How far the model's stated confidence can be trusted, on the locked test split: the fitted
    temperature, ECE and Brier score before and after it, and the reliability bins (after)."""
    bins = (test.get("reliability") or {}).get("after") or []
    return {
        "temperature": test.get("temperature"),
        "ece_before": test.get("ece_before"),
        "ece_after": test.get("ece_after"),
        "brier_before": test.get("brier_before"),
        "brier_after": test.get("brier_after"),
        "bins": [b for b in bins if b.get("count")],
    }


def _class_table(test: dict[str, Any]) -> dict[str, Any] | None:
    table = class_report(test)
    return None if table is None else {**table, "matrix_rows": matrix_rows(table)}


def _picture(
    item: Item,
    heatmap: HeatMap | None,
    findings: list[Finding] | None = None,
    colors: dict[str, str] | None = None,
) -> bytes:
    instance = item.instance
    assert instance is not None
    series = instance.series
    png = render_frame(
        instance,
        item.frame,
        series.study.study_instance_uid,
        series.series_instance_uid,
        RenderOptions(media_type="image/png"),
    )
    base = Image.open(io.BytesIO(png)).convert("RGBA")
    if heatmap is not None and heatmap.status == HeatMapStatus.READY:
        overlay = Image.open(heatmap.png_path).convert("RGBA").resize(base.size)
        alpha = overlay.getchannel("A").point(lambda a: int(a * OVERLAY_OPACITY))
        overlay.putalpha(alpha)
        base = Image.alpha_composite(base, overlay)
    if findings:
        outline_findings(base, findings, colors or {})
    out = io.BytesIO()
    base.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def _doctor_labels(
    items: list[Item], viewer: Any, role: str | None
) -> dict[int, list[DoctorLabel]]:
    """The doctors' labels the viewer may see (docs/workflow.md, "Roles and access"): reviewers
    and admins every reader's; an annotator is blinded, so only their own."""
    found: dict[int, list[DoctorLabel]] = {item.pk: [] for item in items}
    annotations = (
        Annotation.objects.filter(item__in=items, is_current=True, deleted=False, kind="class")
        .exclude(source="model")
        .select_related("author")
        .order_by("item_id", "created_at")
    )
    if role not in access.REVIEW_ROLES:
        annotations = annotations.filter(author_id=viewer.pk, source="human")
    for annotation in annotations:
        doctor = annotation.author.get_username() if annotation.author else "imported"
        labels = [str(x) for x in (annotation.payload or {}).get("labels", [])]
        found[annotation.item_id].append(DoctorLabel(doctor, labels, annotation.source))
    return found


def build_report(
    project: Project, study: Study, viewer: Any, *, request_heatmaps: bool = True
) -> StudyReport:
    """The report as `viewer` may see it (their role decides whose labels it shows)."""
    items = list(
        Item.objects.filter(project=project, instance__series__study=study)
        .select_related("instance__series__study")
        .order_by("instance__series__series_number", "instance__instance_number", "frame", "pk")
    )
    version = active_version(project.pk)
    detection = project.task_type == TaskType.DETECTION
    colors = dict(project.label_classes.values_list("name", "color"))
    scores: dict[int, Score] = {}
    heatmaps: dict[int, HeatMap] = {}
    names: list[str] = []
    if version is not None:
        scores = {s.item_id: s for s in Score.objects.filter(model_version=version, item__in=items)}
        names = _model_summary(version)["class_names"]
        for item in items:
            # Grad-CAM explains a class; a detector's explanation is its boxes.
            if request_heatmaps and not detection and item.instance_id is not None:
                heatmaps[item.pk] = do_request_heatmap(item, version).heatmap
    pending = sum(
        1 for h in heatmaps.values() if h.status in (HeatMapStatus.QUEUED, HeatMapStatus.RUNNING)
    )
    if pending:  # not ready: nothing rendered until every image can show its heat map
        return StudyReport(
            project=project,
            study=study,
            model=_model_summary(version) if version is not None else None,
            images=[],
            generated_at=timezone.now(),
            pending=pending,
        )
    doctors = _doctor_labels(items, viewer, access.role_of(viewer, project))
    images = []
    for item in items:
        instance = item.instance
        if instance is None:
            continue
        score = scores.get(item.pk)
        heatmap = heatmaps.get(item.pk)
        probabilities: dict[str, float] = {}
        if score is not None and score.probabilities:
            probabilities = {
                n: round(float(p), 4) for n, p in zip(names, score.probabilities, strict=False)
            }
        elif heatmap is not None and heatmap.probabilities:
            probabilities = {n: round(float(p), 4) for n, p in heatmap.probabilities.items()}
        predicted = max(probabilities, key=probabilities.__getitem__) if probabilities else None
        findings = findings_of(project, score) if detection else []
        images.append(
            ReportImage(
                item_id=item.pk,
                sop_instance_uid=instance.sop_instance_uid,
                series_description=instance.series.description,
                instance_number=instance.instance_number,
                frame=item.frame,
                predicted=predicted,
                probability=probabilities.get(predicted) if predicted else None,
                probabilities=probabilities,
                heatmap_status=_heatmap_status(heatmap, version, detection),
                doctors=doctors.get(item.pk, []),
                findings=findings,
                picture_png=_picture(item, heatmap, findings, colors),
            )
        )
    return StudyReport(
        project=project,
        study=study,
        model=_model_summary(version) if version is not None else None,
        images=images,
        generated_at=timezone.now(),
    )


def _heatmap_status(heatmap: HeatMap | None, version: ModelVersion | None, detection: bool) -> str:
    if heatmap is None:
        if version is not None and detection:
            return "none for a detector (its proposed boxes are outlined)"
        return "no model"
    if heatmap.status == HeatMapStatus.FAILED:
        reason = heatmap.error.splitlines()[0][:120] if heatmap.error else "error"
        return f"could not be computed ({reason})"
    return str(heatmap.status)
