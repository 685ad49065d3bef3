"""Project and item → the plain descriptions annotations.payloads validates against."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from annotations.models import Item, LabelClass, Project
from annotations.payloads import (
    ImageGeometry,
    LabelSchema,
    PayloadError,
    PayloadLimits,
    parse_attribute_specs,
    validate_frame,
    validate_payload,
)
from annotations.services.errors import Invalid


def label_schema(project: Project) -> LabelSchema:
    classes = list(LabelClass.objects.filter(project=project).order_by("index"))
    attributes = {}
    for cls in classes:
        try:
            attributes[cls.name] = parse_attribute_specs(cls.attributes)
        except ValueError:
            attributes[cls.name] = ()  # stored before validation existed; accept no attributes
    return LabelSchema(
        task_type=project.task_type,
        class_names=tuple(c.name for c in classes),
        multi_label=project.multi_label,
        attributes=attributes,
    )


def payload_limits() -> PayloadLimits:
    """The ANNOTATION_MAX_* settings (docs/workflow.md, "Limits")."""
    return PayloadLimits(
        max_points=settings.ANNOTATION_MAX_POINTS,
        max_mask_runs=settings.ANNOTATION_MAX_MASK_RUNS,
        max_text_length=settings.ANNOTATION_MAX_TEXT_LENGTH,
    )


def image_geometry(item: Item) -> ImageGeometry | None:
    """The image the item shows; None for a series item (its instances differ in size)."""
    instance = item.instance
    if instance is None or not instance.rows or not instance.columns:
        return None
    # A frame item is one frame: annotations on it reference frame = item.frame.
    return ImageGeometry(
        rows=instance.rows, columns=instance.columns, frames=instance.number_of_frames or 1
    )


def checked_shape(
    item: Item, schema: LabelSchema, kind: Any, frame: Any, payload: Any
) -> tuple[str, int, dict[str, Any]]:
    """Validate one (kind, frame, payload) for this item; Invalid (400) with field errors."""
    image = image_geometry(item)
    try:
        frame_number = validate_frame(frame, image)
        if item.project.unit == "frame" and frame_number != item.frame:
            raise PayloadError({"frame": [f"this item is frame {item.frame}"]})
        clean = validate_payload(kind, payload, schema=schema, image=image, limits=payload_limits())
    except PayloadError as exc:
        raise Invalid(exc.errors) from exc
    return str(kind), frame_number, clean
