"""Model suggestions for items, shown before or only after the doctor answers (anti-anchoring).

The active model version's Score row holds the probabilities, in the order of the class names
the model was trained on (ModelVersion.config["class_names"]). A segmentation model's row holds its
masks instead (Score.suggestion: {"kind": "mask", "frame", "masks"}), served as they are with the
version's id and number. A detection model's row holds its boxes ({"kind": "boxes", "frame",
"boxes": [{label, points, score}]}); only those scoring at least the project's box_threshold are
served, each with its position in the stored list ("index") so a saved box names the one it
came from (annotations/services/box_provenance.py). A multi-label model's probabilities are
independent per label (they do not sum to one); every label at or above the threshold is
suggested."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.urls import reverse

from annotations.access import REVIEW_ROLES
from annotations.models import Project, SuggestionMode

# A multi-label model suggests each label whose calibrated probability reaches this (the same
# threshold ml_worker.multilabel counts as "predicted" in its metrics).
MULTI_LABEL_THRESHOLD = 0.5


def may_see_suggestion(project: Project, role: str | None, has_answered: bool) -> bool:
    """ "before": always; "after": once the doctor saved an answer (reviewers and admins
    always); "hidden": never."""
    mode = project.suggestions
    if mode == SuggestionMode.HIDDEN or role is None:
        return False
    return mode == SuggestionMode.BEFORE or role in REVIEW_ROLES or has_answered


def suggestions_for(project: Project, item_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """item id → the active model's prediction, for the items that have one (one query)."""
    from learning.models import ModelStatus, Score  # the registry's rows (no torch)

    scores = Score.objects.filter(
        item_id__in=list(item_ids),
        model_version__project_id=project.pk,
        model_version__status=ModelStatus.ACTIVE,
    ).select_related("model_version")
    out: dict[int, dict[str, Any]] = {}
    fallback: list[str] | None = None
    for score in scores:
        version = score.model_version
        assert version is not None
        if score.suggestion is not None:
            # A segmentation model's masks (SEG contract: ids named as the contract names them).
            out[score.item_id] = {
                "model_version": version.pk,
                "version_number": version.number,
                **shown_suggestion(project, score.suggestion),
            }
            continue
        names = list(version.config.get("class_names") or [])
        if not names:
            if fallback is None:
                fallback = list(project.label_classes.values_list("name", flat=True))
            names = fallback
        probabilities = {
            name: round(float(p), 6)
            for name, p in zip(names, score.probabilities or [], strict=False)
        }
        multi_label = bool(version.config.get("multi_label"))
        predicted_labels = [n for n, p in probabilities.items() if p >= MULTI_LABEL_THRESHOLD]
        predicted = None
        if multi_label:
            # Independent labels: every label at or above the threshold; none = "no finding".
            predicted = ", ".join(predicted_labels) if predicted_labels else "no finding"
        elif score.predicted_class is not None and 0 <= score.predicted_class < len(names):
            predicted = names[score.predicted_class]
        elif probabilities:
            predicted = max(probabilities, key=probabilities.__getitem__)
        out[score.item_id] = {
            "model_version": version.number,
            "model_version_id": version.pk,
            "predicted": predicted,
            "probabilities": probabilities,
            "multi_label": multi_label,
            "predicted_labels": predicted_labels
            if multi_label
            else [predicted]
            if predicted
            else [],
            # Grad-CAM of this prediction, computed on demand by the infer queue (reports app).
            "heatmap_url": reverse("item-heatmap", args=[score.item_id]),
        }
    return out


def shown_suggestion(project: Project, suggestion: dict[str, Any]) -> dict[str, Any]:
    """What doctors see of a stored suggestion: a detection model's boxes at or above the
    project's threshold, numbered by their place in the stored list; anything else as it is."""
    if suggestion.get("kind") != "boxes":
        return suggestion
    return {**suggestion, "boxes": shown_boxes(suggestion, project.box_threshold)}


def shown_boxes(suggestion: Mapping[str, Any], threshold: float) -> list[dict[str, Any]]:
    boxes = suggestion.get("boxes") or []
    return [
        {**box, "index": index}
        for index, box in enumerate(boxes)
        if isinstance(box, Mapping) and float(box.get("score", 0.0)) >= threshold
    ]
