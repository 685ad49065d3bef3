"""A detection project's dashboard figures: FROC and mAP per model version (the registry's stored
test metrics, docs/learning.md DET contract) and how doctors edit the model's proposed boxes
(annotations.Submission.box_edits, counted by the server at submit). See docs/dashboard.md."""

from __future__ import annotations

from collections import defaultdict
from statistics import median
from typing import Any

from annotations.models import Project, Submission
from learning.models import ModelVersion

RANDOM_SAMPLING = "random"  # config["sampling"] of a shadow random-baseline version
FP_RATES = ("0.5", "1", "2", "4")


def detection_metrics(version: ModelVersion) -> dict[str, Any] | None:
    """The version's detection test figures, whether stored under "test" or at the top."""
    metrics = version.metrics or {}
    for candidate in (metrics.get("test"), metrics):
        if isinstance(candidate, dict) and candidate.get("froc_mean") is not None:
            return candidate
    return None


def _round(value: Any) -> float | None:
    return round(float(value), 4) if isinstance(value, int | float) else None


def detection_point(version: ModelVersion) -> dict[str, Any] | None:
    metrics = detection_metrics(version)
    if metrics is None:
        return None
    froc = metrics.get("froc") or {}
    per_class = metrics.get("per_class") or {}
    return {
        "version": version.number,
        "version_id": version.pk,
        "labels": version.labels_used,
        "status": version.status,
        "froc_mean": _round(metrics.get("froc_mean")),
        "froc": {rate: _round(froc.get(rate)) for rate in FP_RATES},
        "map_50": _round(metrics.get("map_50")),
        "map_50_95": _round(metrics.get("map_50_95")),
        "n_test_images": metrics.get("n_test_images"),
        "per_class": {
            name: {
                "ap_50": _round(row.get("ap_50")),
                "ap_50_95": _round(row.get("ap_50_95")),
                "support": row.get("support"),
            }
            for name, row in sorted(per_class.items())
            if isinstance(row, dict)
        },
    }


def detection_curve(project: Project) -> dict[str, Any]:
    """One point per evaluated version (FROC mean, sensitivities at 0.5/1/2/4 false positives
    per image, mAP, per-class AP) against labels used; shadow random-baseline versions apart."""
    versions = ModelVersion.objects.filter(project=project, kind="supervised").order_by(
        "labels_used", "number"
    )
    main: list[dict[str, Any]] = []
    shadow: list[dict[str, Any]] = []
    for version in versions:
        point = detection_point(version)
        if point is not None:
            sampling = (version.config or {}).get("sampling")
            (shadow if sampling == RANDOM_SAMPLING else main).append(point)
    return {
        "points": main,
        "random_baseline": shadow or None,
        "note": "FROC mean: sensitivity averaged over 0.5, 1, 2 and 4 false positives per image",
    }


def box_edit_curve(project: Project) -> dict[str, Any]:
    """Per suggesting model version: the median over doctors' reads of the edits they made to
    its proposed boxes (moved + deleted + added), and the totals of each count. Reads whose
    suggestion was no longer stored (deleted unknown) count only in `unmeasured`."""
    # Submission.project: the project's reads without a join to its items (decision 0192).
    rows = Submission.objects.filter(project=project, box_edits__isnull=False).values_list(
        "box_edits", flat=True
    )
    edits: dict[int, list[int]] = defaultdict(list)
    totals: dict[int, dict[str, int]] = defaultdict(
        lambda: {"accepted": 0, "moved": 0, "deleted": 0, "added": 0}
    )
    unmeasured: dict[int, int] = defaultdict(int)
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("suggested_by"), int):
            continue
        version_id = row["suggested_by"]
        if row.get("deleted") is None:
            unmeasured[version_id] += 1
            continue
        counts = {key: int(row.get(key) or 0) for key in ("accepted", "moved", "deleted", "added")}
        edits[version_id].append(counts["moved"] + counts["deleted"] + counts["added"])
        for key, value in counts.items():
            totals[version_id][key] += value
    versions = ModelVersion.objects.filter(
        project=project, pk__in=set(edits) | set(unmeasured)
    ).values_list("pk", "number", "labels_used")
    points = [
        {
            "version": number,
            "labels": labels_used,
            "median_edits": median(edits[pk]) if edits[pk] else None,
            "reads": len(edits[pk]),
            "unmeasured": unmeasured[pk],
            **totals[pk],
        }
        for pk, number, labels_used in versions
    ]
    points.sort(key=lambda p: (p["labels"], p["version"]))
    return {
        "points": points,
        "note": "boxes moved + deleted + added per image, median per suggesting model version",
    }
