"""Where a box came from: one of a detection model's suggested boxes the doctor accepted, then
maybe moved or resized; and, per submitted read, how the doctor edited the suggestion.

The save body of a box may carry "provenance": {suggested_by, accepted, box_index, score?,
moved?} (docs/api.md, "Box provenance"). `box_index` is the box's place in the stored suggestion
(served as "index"). When that model version's Score for the item still holds the suggestion,
the server takes the score from it and computes the IoU of the saved box with the suggested one
(moved: IoU < 1); otherwise it keeps the client's score and moved, marked `recomputed: false`.

At submit, `item_box_edits` counts the doctor's edits of the boxes shown (those at or above the
project's threshold) from the current annotations, never from a client's counts: accepted
(current boxes from the suggestion), moved (of those, not where the model put them), deleted
(shown boxes the doctor did not keep) and added (boxes drawn from scratch).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from annotations.models import Annotation, Item, Project, SuggestionMode
from annotations.services.errors import Invalid

FIELDS = ("suggested_by", "accepted", "box_index", "score", "moved")
REQUIRED = ("suggested_by", "accepted", "box_index")


def parse_box_provenance(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The body's box provenance, shape-checked; 400 with the field and reason otherwise."""
    errors: dict[str, list[str]] = {}
    for key in sorted(set(raw) - set(FIELDS)):
        errors[f"provenance.{key}"] = ["unknown field"]
    for key in ("suggested_by", "box_index"):
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            errors[f"provenance.{key}"] = ["a non-negative integer"]
    if not isinstance(raw.get("accepted"), bool):
        errors["provenance.accepted"] = ["true or false"]
    score = raw.get("score")
    if score is not None and not _is_unit_number(score):
        errors["provenance.score"] = ["a number between 0 and 1"]
    if "moved" in raw and not isinstance(raw["moved"], bool):
        errors["provenance.moved"] = ["true or false"]
    if errors:
        raise Invalid(errors)
    return {key: raw[key] for key in FIELDS if key in raw}


def _is_unit_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0.0 <= value <= 1.0
    )


def suggested_boxes(suggestion: Any, frame: int) -> list[Mapping[str, Any]] | None:
    """The stored boxes of a detection suggestion on this frame; None when it is not one."""
    if not isinstance(suggestion, Mapping) or suggestion.get("kind") != "boxes":
        return None
    if suggestion.get("frame", 1) != frame:
        return None
    return [b for b in suggestion.get("boxes") or [] if isinstance(b, Mapping)]


def box_iou(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    """Intersection over union of two boxes given as two opposite corners."""
    ax0, ax1 = sorted((float(a[0][0]), float(a[1][0])))
    ay0, ay1 = sorted((float(a[0][1]), float(a[1][1])))
    bx0, bx1 = sorted((float(b[0][0]), float(b[1][0])))
    by0, by1 = sorted((float(b[0][1]), float(b[1][1])))
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 0.0


def recompute_box(
    claimed: dict[str, Any], suggestion: Any, frame: int, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """The box provenance to store: score, IoU and moved from the stored suggestion if known."""
    boxes = suggested_boxes(suggestion, frame)
    if boxes is None:
        return {**claimed, "recomputed": False}
    index = claimed["box_index"]
    if index >= len(boxes):
        raise Invalid({"provenance.box_index": [f"the suggestion has {len(boxes)} box(es)"]})
    suggested = boxes[index]
    iou = box_iou(suggested["points"], payload["points"])
    return {
        **claimed,
        "score": round(float(suggested.get("score", 0.0)), 6),
        "iou": round(iou, 6),
        # Exactly where the model put it: the browser sends the suggested corners unchanged.
        "moved": iou < 1.0 - 1e-9,
        "suggested_label": suggested.get("label"),
        "recomputed": True,
    }


def item_box_edits(item: Item, user_id: int, project: Project) -> dict[str, Any] | None:
    """The doctor's edits of the model's boxes on this item, from what is saved now; None when
    no box came from a suggestion and no active model's boxes were shown here (none stored, or
    the project hides suggestions)."""
    threshold = project.box_threshold
    from annotations.services.provenance import stored_suggestion

    boxes = list(
        Annotation.objects.filter(
            item=item, author_id=user_id, is_current=True, deleted=False, kind="box"
        ).values_list("provenance", flat=True)
    )
    origins = [p for p in boxes if isinstance(p, Mapping) and "box_index" in p]
    if origins:
        version_id = Counter(p["suggested_by"] for p in origins).most_common(1)[0][0]
    else:
        hidden = project.suggestions == SuggestionMode.HIDDEN
        version_id = None if hidden else _active_box_suggester(item)
        if version_id is None:
            return None
    kept = [p for p in origins if p["suggested_by"] == version_id]
    stored = suggested_boxes(stored_suggestion(item, version_id), item.frame)
    edits: dict[str, Any] = {
        "suggested_by": version_id,
        "accepted": len({p["box_index"] for p in kept}),
        "moved": sum(1 for p in kept if p.get("moved")),
        "added": len(boxes) - len(kept),
        "recomputed": stored is not None and all(p.get("recomputed") for p in kept),
    }
    if stored is None:
        edits.update(shown=None, deleted=None)  # the suggestion is gone: not known here
    else:
        shown = {i for i, b in enumerate(stored) if float(b.get("score", 0.0)) >= threshold}
        edits.update(shown=len(shown), deleted=len(shown - {p["box_index"] for p in kept}))
    return edits


def _active_box_suggester(item: Item) -> int | None:
    """The active model version that stored boxes for this item, if any."""
    from learning.models import ModelStatus, Score  # registry rows (no torch)

    score = (
        Score.objects.filter(
            item=item,
            model_version__project_id=item.project_id,
            model_version__status=ModelStatus.ACTIVE,
            suggestion__kind="boxes",
        )
        .only("model_version_id")
        .first()
    )
    return score.model_version_id if score is not None else None
