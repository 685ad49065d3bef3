"""A detection model's proposed findings in the study report: each box the doctors would be
shown (score at or above the project's box_threshold) with its label and score, outlined on the
image in its class colour; and the version's detection test figures (FROC, mAP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from annotations.models import Project
from annotations.services.suggestions import shown_boxes
from learning.models import ModelVersion, Score
from reports.services.detection_dashboard import detection_metrics


@dataclass
class Finding:
    label: str
    score: float
    points: list[list[float]]  # [[x0, y0], [x1, y1]] in image pixels


def findings_of(project: Project, score: Score | None) -> list[Finding]:
    suggestion = score.suggestion if score is not None else None
    if not isinstance(suggestion, dict) or suggestion.get("kind") != "boxes":
        return []
    return [
        Finding(str(box["label"]), round(float(box["score"]), 4), box["points"])
        for box in shown_boxes(suggestion, project.box_threshold)
    ]


def outline_findings(base: Image.Image, findings: list[Finding], colors: dict[str, str]) -> None:
    """Draw each finding's box on `base` (an RGBA image at the instance's own size)."""
    draw = ImageDraw.Draw(base)
    for finding in findings:
        (x0, y0), (x1, y1) = finding.points
        color = colors.get(finding.label, "#ffb000")
        draw.rectangle([x0, y0, x1, y1], outline=color, width=max(1, base.width // 200))
        draw.text((x0 + 2, max(0, y0 - 12)), f"{finding.label} {finding.score:.2f}", fill=color)


def detection_summary(version: ModelVersion) -> dict[str, Any] | None:
    metrics = detection_metrics(version)
    if metrics is None:
        return None
    froc = metrics.get("froc") or {}
    return {
        "froc_mean": metrics.get("froc_mean"),
        "sensitivity_at_1": froc.get("1"),
        "map_50": metrics.get("map_50"),
        "map_50_95": metrics.get("map_50_95"),
        "n_test_images": metrics.get("n_test_images"),
    }
