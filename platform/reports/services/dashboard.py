"""A project's dashboard figures, each a small function over the shared schema.

Labels are doctors' reads (annotations.Submission: one per submitted item per doctor); imported
labels are not work and are not counted. Model figures come from the registry's stored test
metrics (ml_worker.evaluation.evaluate, run on the locked test split at training time), so the
dashboard plots exactly what promotion decided on. See docs/dashboard.md for every series.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import median
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber, TruncDate
from django.utils import timezone

from annotations.models import (
    Annotation,
    AnnotationSource,
    Item,
    Project,
    Skip,
    Submission,
    TaskType,
)
from annotations.services.agreement_report import agreement_report
from learning.models import ModelStatus, ModelVersion, TrainingRun
from reports.services.class_report import class_report
from reports.services.detection_dashboard import box_edit_curve, detection_curve

# A model version trained by a shadow random-sampling baseline carries this in its config
# (config["sampling"] == "random"); such versions form the random-sampling expectation.
RANDOM_SAMPLING = "random"


def _usernames(user_ids: set[int]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=user_ids)
    return dict(users.values_list("pk", "username"))


def _reads(project: Project) -> QuerySet[Submission]:
    """The project's reads, from Submission.project: each section below aggregates them in SQL
    over the indexes `submission_doctor_time` and `submission_project_day`, so neither a join
    to the project's items nor one row per read leaves the database (docs/scale.md, decision
    0192). The figures are those of Python's statistics over every read, exactly."""
    return Submission.objects.filter(project=project)


@dataclass(frozen=True)
class DoctorReads:
    count: int
    spent: int  # sum of time_spent_ms
    middle: list[int]  # the one or two middle values of time_spent_ms (statistics.median's)


def _doctor_reads(project: Project) -> dict[int, DoctorReads]:
    """Per doctor, in one statement (one snapshot): the reads, their total time and the one or
    two middle values of time_spent_ms, picked by their rank in a window over the index
    `submission_doctor_time` (COUNT(*), not of a column: an index-only scan). Each median is
    then computed from exactly the values statistics.median would take, without the others."""
    by_doctor = [F("user_id")]
    ranked = (
        _reads(project)
        .annotate(
            rank=Window(RowNumber(), partition_by=by_doctor, order_by=F("time_spent_ms").asc()),
            reads=Window(Count("*"), partition_by=by_doctor),
            spent_ms=Window(Sum("time_spent_ms"), partition_by=by_doctor),
        )
        .filter(Q(rank=(F("reads") + 1) / 2) | Q(rank=F("reads") / 2 + 1))
        .values_list("user_id", "time_spent_ms", "reads", "spent_ms")
    )
    doctors: dict[int, DoctorReads] = {}
    for user_id, spent, n, total in ranked:
        doctors.setdefault(user_id, DoctorReads(n, total, [])).middle.append(spent)
    return doctors


def labels_per_day(project: Project) -> list[dict[str, Any]]:
    """Reads per calendar day in the current time zone."""
    days = (
        _reads(project)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("*"))
        .order_by("day")
        .values_list("day", "n")
    )
    return [{"date": day.isoformat(), "count": n} for day, n in days]


def labels_per_doctor(
    project: Project, doctors: dict[int, DoctorReads] | None = None
) -> list[dict[str, Any]]:
    """Reads and time per label (median and mean of the submitted time_spent_ms) per doctor."""
    doctors = _doctor_reads(project) if doctors is None else doctors
    names = _usernames(set(doctors))
    out = [
        {
            "doctor": names.get(user_id, str(user_id)),
            "count": reads.count,
            "median_time_ms": int(median(reads.middle)),
            # sum / n is correctly rounded, as statistics.mean's float is: the same round().
            "mean_time_ms": round(reads.spent / reads.count),
        }
        for user_id, reads in doctors.items()
    ]
    return sorted(out, key=lambda row: (-row["count"], row["doctor"]))


def time_per_label(
    project: Project, doctors: dict[int, DoctorReads] | None = None
) -> dict[str, Any]:
    doctors = _doctor_reads(project) if doctors is None else doctors
    n = sum(reads.count for reads in doctors.values())
    if not n:
        return {"n": 0, "median_ms": None, "mean_ms": None}
    spent = sum(reads.spent for reads in doctors.values())
    # The (n - 1) // 2-th value and, for an even n, the next: a bounded sort, not a full one.
    ordered = _reads(project).order_by("time_spent_ms").values_list("time_spent_ms", flat=True)
    first = (n - 1) // 2
    values = list(ordered[first : first + 2 - n % 2])
    return {
        "n": n,
        # Empty only if reads were deleted between the two statements (a project or an account
        # removed meanwhile): no median rather than an error.
        "median_ms": int(median(values)) if values else None,
        "mean_ms": round(spent / n),
    }


def agreement_per_doctor(project: Project) -> list[dict[str, Any]]:
    """Each doctor's agreement with the other readers of the same items (classification: share
    of items with the same answer; shapes: mean Dice), pooled over their reader pairs, and
    against adjudicated answers where reviewers adjudicated (annotations.agreement_report)."""
    # Items read once and not reviewed compare nobody: not loaded (docs/scale.md).
    report = agreement_report(project, compared_only=True)
    section = report.get("classification") or report.get("shapes") or {}
    metric = "percent_agreement" if "classification" in report else "dice"
    pooled: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for pair in section.get("pairs", []):
        value = pair[metric]
        if value["estimate"] is None:
            continue
        for doctor in (pair["reader_a"], pair["reader_b"]):
            pooled[doctor].append((value["estimate"], value["n"]))
    versus = {row["reader"]: row for row in section.get("readers_vs_adjudication", [])}
    out = []
    for doctor in sorted(set(pooled) | set(versus)):
        units = pooled.get(doctor, [])
        n = sum(count for _, count in units)
        adjudicated = versus.get(doctor, {})
        vs_review = adjudicated.get("accuracy" if metric == "percent_agreement" else "dice", {})
        out.append(
            {
                "doctor": doctor,
                "metric": metric,
                "with_other_readers": (round(sum(v * c for v, c in units) / n, 4) if n else None),
                "items_shared": n,
                "with_adjudication": vs_review.get("estimate"),
                "items_adjudicated": vs_review.get("n", 0),
            }
        )
    return out


def queue_size(project: Project) -> dict[str, int]:
    """Three counts, each from an index (docs/scale.md): all items (index-only), the completed
    ones, the leased ones (Item "item_open_leases"); remaining is their difference, as
    `completed` is never null."""
    items = Item.objects.filter(project=project)
    now = timezone.now()
    total = items.count()
    completed = items.filter(completed=True).count()
    return {
        "items": total,
        "completed": completed,
        "remaining": total - completed,
        "leased": items.filter(completed=False, lease_expires_at__gt=now).count(),
    }


def skip_reasons(project: Project) -> list[dict[str, Any]]:
    rows = (
        Skip.objects.filter(item__project=project)
        .values("reason")
        .annotate(count=Count("id"))
        .order_by("-count", "reason")
    )
    return [{"reason": row["reason"], "count": row["count"]} for row in rows]


def _point(version: ModelVersion) -> dict[str, Any] | None:
    test = (version.metrics or {}).get("test") or {}
    if not test.get("n"):
        return None
    per_class = test.get("per_class") or {}
    return {
        "version": version.number,
        "version_id": version.pk,
        "labels": version.labels_used,
        "auc": test.get("auc"),
        "f1": {name: round(float(v["f1"]), 4) for name, v in per_class.items()},
        "status": version.status,
    }


def learning_curve(project: Project) -> dict[str, Any]:
    """One point per model version (test AUC and per-class F1 against labels used); the
    random-sampling expectation only when shadow random-baseline versions exist."""
    versions = list(
        ModelVersion.objects.filter(project=project, kind="supervised").order_by(
            "labels_used", "number"
        )
    )
    main: list[dict[str, Any]] = []
    shadow: list[dict[str, Any]] = []
    for version in versions:
        point = _point(version)
        if point is None:
            continue
        sampling = (version.config or {}).get("sampling")
        (shadow if sampling == RANDOM_SAMPLING else main).append(point)
    note = (
        "random sampling: shadow models trained with the same recipe on the labels of the items "
        "the queue served at random (project setting random_share)"
        if shadow
        else "no random-sampling baseline: set the project's random_share above 0 to run one"
    )
    return {"points": main, "random_baseline": shadow or None, "note": note}


def current_model(project: Project) -> dict[str, Any] | None:
    version = ModelVersion.objects.filter(project=project, status=ModelStatus.ACTIVE).first()
    if version is None:
        return None
    test = (version.metrics or {}).get("test") or {}
    return {
        "id": version.pk,
        "number": version.number,
        "architecture": version.architecture,
        "labels_used": version.labels_used,
        "class_names": test.get("class_names") or version.config.get("class_names") or [],
        "n_test": test.get("n", 0),
        "accuracy": test.get("accuracy"),
        "auc": test.get("auc"),
        "auc_ci": test.get("auc_ci"),
        "macro_f1": (test.get("macro_avg") or {}).get("f1"),
        "ece_before": test.get("ece_before"),
        "ece_after": test.get("ece_after"),
        "temperature": test.get("temperature"),
        "confusion_matrix": test.get("confusion_matrix"),
        "roc": test.get("roc") or {},
        "reliability": test.get("reliability") or {},
    }


def registry(project: Project) -> list[dict[str, Any]]:
    versions = ModelVersion.objects.filter(project=project).order_by("-number")
    out = []
    for version in versions:
        test = (version.metrics or {}).get("test") or {}
        out.append(
            {
                "id": version.pk,
                "number": version.number,
                "status": version.status,
                "architecture": version.architecture,
                "labels_used": version.labels_used,
                "auc": test.get("auc"),
                "accuracy": test.get("accuracy"),
                "class_report": class_report(test),
                "search": (version.metrics or {}).get("search"),
                "created_at": version.created_at.isoformat(),
                "promoted_at": version.promoted_at.isoformat() if version.promoted_at else None,
            }
        )
    return out


def recent_runs(project: Project, limit: int = 20) -> list[dict[str, Any]]:
    runs = (
        TrainingRun.objects.filter(project=project)
        .select_related("model_version")
        .order_by("-pk")[:limit]
    )
    return [
        {
            "id": run.pk,
            "status": run.status,
            "trigger": run.trigger,
            "progress": run.progress,
            "cancel_requested": run.cancel_requested,
            "model_version": run.model_version.number if run.model_version else None,
            "created_at": run.created_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "error": run.error.splitlines()[0] if run.error else "",
        }
        for run in runs
    ]


def correction_curve(project: Project) -> dict[str, Any]:
    """How much of a suggested mask doctors change, as the model improves: per suggesting model
    version (x = the labels it was trained on), the median over the doctors' current masks that
    started from its suggestion of (pixels added + removed) / pixels suggested. The counts are
    the server's own (annotations/services/provenance.py); a mask whose suggestion was not
    stored, or was empty for that class, has no ratio and only counts in `unmeasured`."""
    rows = Annotation.objects.filter(
        item__project=project,
        kind="mask",
        is_current=True,
        deleted=False,
        source=AnnotationSource.HUMAN,
        provenance__isnull=False,
    ).values_list("provenance", flat=True)
    ratios: dict[int, list[float]] = defaultdict(list)
    unmeasured: dict[int, int] = defaultdict(int)
    for provenance in rows:
        if not isinstance(provenance, dict) or not isinstance(provenance.get("suggested_by"), int):
            continue
        version_id = provenance["suggested_by"]
        suggested = provenance.get("suggestion_pixels") or 0
        if not provenance.get("recomputed") or suggested <= 0:
            unmeasured[version_id] += 1
            continue
        changed = int(provenance.get("pixels_added", 0)) + int(provenance.get("pixels_removed", 0))
        ratios[version_id].append(changed / suggested)
    versions = ModelVersion.objects.filter(
        project=project, pk__in=set(ratios) | set(unmeasured)
    ).values_list("pk", "number", "labels_used")
    points = [
        {
            "version": number,
            "labels": labels_used,
            "median_correction": round(median(ratios[pk]), 4) if ratios[pk] else None,
            "masks": len(ratios[pk]),
            "unmeasured": unmeasured[pk],
        }
        for pk, number, labels_used in versions
    ]
    points.sort(key=lambda p: (p["labels"], p["version"]))
    return {
        "points": points,
        "note": "pixels the doctor changed / pixels the model suggested, median per model version",
    }


def project_dashboard(project: Project) -> dict[str, Any]:
    detection = project.task_type == TaskType.DETECTION
    doctors = _doctor_reads(project)
    return {
        "project": {"id": project.pk, "name": project.name, "task_type": project.task_type},
        "labels_per_day": labels_per_day(project),
        "labels_per_doctor": labels_per_doctor(project, doctors),
        "time_per_label": time_per_label(project, doctors),
        "agreement_per_doctor": agreement_per_doctor(project),
        "queue": queue_size(project),
        "skip_reasons": skip_reasons(project),
        "learning_curve": learning_curve(project),
        "correction_curve": correction_curve(project),
        # Detection projects only (null otherwise): FROC/mAP per version, edits of boxes.
        "detection_curve": detection_curve(project) if detection else None,
        "box_edit_curve": box_edit_curve(project) if detection else None,
        "current_model": current_model(project),
        "registry": registry(project),
        "runs": recent_runs(project),
    }
