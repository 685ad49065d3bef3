"""Where a mask came from: a model's suggestion the doctor accepted, then corrected.
(A box's provenance is checked and recomputed in box_provenance, through the same seam.)

The save body may carry "provenance": {suggested_by, accepted, pixels_added, pixels_removed}
(docs/workflow.md, "Suggested masks"). The client's counts are never trusted: when the
suggestion of that model version for the item is still stored (learning.Score.suggestion), the
server recomputes the pixels added and removed from the two masks; otherwise it keeps the
client's numbers, marked `recomputed: false`. The stored record also keeps how many pixels the
suggestion had for this label, the denominator of the dashboard's correction rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from annotations.models import Item
from annotations.payloads import decode_mask
from annotations.services import box_provenance
from annotations.services.errors import Invalid

FIELDS = ("suggested_by", "accepted", "pixels_added", "pixels_removed")


def parse_provenance(raw: Any, kind: str) -> dict[str, Any] | None:
    """The body's "provenance", shape-checked; None when absent. 400 on anything else."""
    if raw is None:
        return None
    if kind not in ("mask", "box"):
        raise Invalid({"provenance": ["only a mask or a box starts from a model's suggestion"]})
    if not isinstance(raw, Mapping):
        fields = FIELDS if kind == "mask" else box_provenance.FIELDS
        raise Invalid({"provenance": [f"send {{{', '.join(fields)}}}"]})
    if kind == "box":
        return box_provenance.parse_box_provenance(raw)
    errors: dict[str, list[str]] = {}
    for key in sorted(set(raw) - set(FIELDS)):
        errors[f"provenance.{key}"] = ["unknown field"]
    for key in ("suggested_by", "pixels_added", "pixels_removed"):
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            errors[f"provenance.{key}"] = ["a non-negative integer"]
    if not isinstance(raw.get("accepted"), bool):
        errors["provenance.accepted"] = ["true or false"]
    if errors:
        raise Invalid(errors)
    return {key: raw[key] for key in FIELDS}


def suggested_mask(suggestion: Any, label: str, frame: int) -> np.ndarray | None:
    """The suggestion's mask for one class on one frame (all False when the model saw none
    there); None when the stored suggestion is not a mask suggestion for this frame."""
    if not isinstance(suggestion, Mapping) or suggestion.get("kind") != "mask":
        return None
    if suggestion.get("frame", 1) != frame:
        return None
    masks = suggestion.get("masks") or []
    for mask in masks:
        if isinstance(mask, Mapping) and mask.get("label") == label:
            return decode_mask(mask["size"], mask["counts"])
    return np.zeros(0, dtype=bool)  # sized by the caller: the model found nothing of this class


def edit_counts(suggested: np.ndarray, saved: np.ndarray) -> tuple[int, int]:
    """(pixels added, pixels removed) from the suggested mask to the saved one."""
    if suggested.size == 0:
        suggested = np.zeros_like(saved)
    if suggested.shape != saved.shape:
        raise Invalid({"provenance": ["the suggestion and the mask differ in size"]})
    added = int(np.count_nonzero(saved & ~suggested))
    removed = int(np.count_nonzero(suggested & ~saved))
    return added, removed


def recompute(
    claimed: dict[str, Any], suggestion: Any, frame: int, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """The provenance to store: the server's own counts when the suggestion is known."""
    suggested = suggested_mask(suggestion, str(payload.get("label", "")), frame)
    if suggested is None:
        return {**claimed, "recomputed": False}
    saved = decode_mask(payload["size"], payload["counts"])
    added, removed = edit_counts(suggested, saved)
    return {
        **claimed,
        "pixels_added": added,
        "pixels_removed": removed,
        "suggestion_pixels": int(np.count_nonzero(suggested)),
        "recomputed": True,
    }


def stored_suggestion(item: Item, model_version_id: int) -> Any:
    """The Score.suggestion that model version wrote for this item, or None. A version id of
    another project is refused: provenance names the model that suggested *this* mask."""
    from learning.models import ModelVersion, Score  # registry rows (no torch)

    versions = ModelVersion.objects.filter(pk=model_version_id)
    project_of_version = versions.values_list("project_id", flat=True).first()
    if project_of_version is not None and project_of_version != item.project_id:
        raise Invalid({"provenance.suggested_by": ["not a model version of this project"]})
    score = Score.objects.filter(item=item, model_version_id=model_version_id).first()
    return getattr(score, "suggestion", None) if score is not None else None


def provenance_for_save(
    item: Item, kind: str, frame: int, payload: Mapping[str, Any], raw: Any
) -> dict[str, Any] | None:
    claimed = parse_provenance(raw, kind)
    if claimed is None:
        return None
    suggestion = stored_suggestion(item, claimed["suggested_by"])
    if kind == "box":
        return box_provenance.recompute_box(claimed, suggestion, frame, payload)
    return recompute(claimed, suggestion, frame, payload)
