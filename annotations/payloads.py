"""Typed validation of the five annotation payload kinds (docs/api.md, "Annotation payloads").

All geometry is in image pixel coordinates: x = column, y = row, origin at the top-left corner of
the top-left pixel, so a point inside the image satisfies 0 <= x <= columns and 0 <= y <= rows.
Validation is pure Python (no Django): the API, reviews, imports and exports all share it.

`validate_payload` returns the payload in canonical form (boxes as top-left / bottom-right
corners, masks with zero-length runs folded away) or raises `PayloadError` whose `errors` map a
field path to messages, the shape DRF uses for 400 responses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import numpy as np

Kind = Literal["class", "box", "polygon", "point", "mask"]
KINDS: tuple[Kind, ...] = ("class", "box", "polygon", "point", "mask")

# Which shapes each task type takes. "class" is allowed everywhere: in a detection or
# segmentation project `{"labels": []}` is how a doctor says "nothing to mark on this image".
KINDS_FOR_TASK: dict[str, frozenset[str]] = {
    "classification": frozenset({"class"}),
    "detection": frozenset({"class", "box", "point"}),
    "segmentation": frozenset({"class", "mask", "polygon"}),
}

ATTRIBUTE_TYPES = ("choice", "boolean", "number", "text")
# DICOM Rows and Columns are 16-bit (PS3.3 C.7.6.3): no image is larger along either side.
MAX_IMAGE_SIDE = 65535


class ClassPayload(TypedDict, total=False):
    labels: list[str]
    attributes: dict[str, Any]


class BoxPayload(TypedDict, total=False):
    label: str
    points: list[list[float]]  # [[x0, y0], [x1, y1]], x0 < x1, y0 < y1 once canonical
    attributes: dict[str, Any]


class PolygonPayload(TypedDict, total=False):
    label: str
    points: list[list[float]]  # >= 3 vertices, implicitly closed
    attributes: dict[str, Any]


class PointPayload(TypedDict, total=False):
    label: str
    points: list[list[float]]  # exactly one
    attributes: dict[str, Any]


class MaskPayload(TypedDict, total=False):
    label: str
    size: list[int]  # [rows, cols]
    counts: list[int]  # row-major run lengths, starting with a run of zeros
    attributes: dict[str, Any]


Payload = ClassPayload | BoxPayload | PolygonPayload | PointPayload | MaskPayload


class PayloadError(ValueError):
    """Invalid payload; `errors` maps a field path ("payload.points[2]") to messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))


@dataclass(frozen=True)
class AttributeSpec:
    """One optional per-label attribute (LabelClass.attributes entries)."""

    name: str
    type: str = "text"
    choices: tuple[str, ...] = ()
    required: bool = False

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> AttributeSpec:
        kind = str(raw.get("type", "text"))
        if kind not in ATTRIBUTE_TYPES:
            raise ValueError(f"attribute type must be one of {', '.join(ATTRIBUTE_TYPES)}")
        name = str(raw.get("name", "")).strip()
        if not name:
            raise ValueError("attribute needs a name")
        choices = tuple(str(c) for c in raw.get("choices", []) or [])
        if kind == "choice" and not choices:
            raise ValueError(f"attribute {name!r} of type choice needs choices")
        return cls(name=name, type=kind, choices=choices, required=bool(raw.get("required")))


@dataclass(frozen=True)
class LabelSchema:
    """What a project accepts: its task type, class names and their attributes."""

    task_type: str
    class_names: tuple[str, ...]
    multi_label: bool = False
    attributes: Mapping[str, tuple[AttributeSpec, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PayloadLimits:
    """Size bounds on one payload (settings ANNOTATION_MAX_*, docs/workflow.md "Limits").

    Without them a 1,000,000-point polygon was stored and then made every read of its item
    slow; the defaults are far above what a doctor draws by hand."""

    max_points: int = 10_000  # vertices of one polygon
    max_mask_runs: int = 1_000_000  # run lengths of one mask (before zero-length runs fold)
    max_text_length: int = 2_000  # characters of one text attribute
    max_attributes: int = 64  # keys in one attributes object
    max_labels: int = 256  # class names in one class payload


DEFAULT_LIMITS = PayloadLimits()


@dataclass(frozen=True)
class ImageGeometry:
    """The labelled image: its matrix size and how many frames it has."""

    rows: int
    columns: int
    frames: int = 1


def parse_attribute_specs(raw: Any) -> tuple[AttributeSpec, ...]:
    """LabelClass.attributes (a JSON list) → specs; ValueError with a readable reason."""
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise ValueError("attributes must be a list of {name, type, choices, required}")
    specs = tuple(AttributeSpec.parse(entry) for entry in raw if isinstance(entry, Mapping))
    if len(specs) != len(raw):
        raise ValueError("each attribute must be an object")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("attribute names must be unique within a label")
    return specs


def validate_frame(frame: Any, image: ImageGeometry | None) -> int:
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 1:
        raise PayloadError({"frame": ["frame is a 1-based frame number"]})
    if image is not None and frame > image.frames:
        raise PayloadError({"frame": [f"the image has {image.frames} frame(s); got {frame}"]})
    return frame


def validate_payload(
    kind: Any,
    payload: Any,
    *,
    schema: LabelSchema,
    image: ImageGeometry | None,
    limits: PayloadLimits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Check one payload against the project's schema and the image; return it canonical."""
    if kind not in KINDS:
        raise PayloadError({"kind": [f"kind must be one of {', '.join(KINDS)}"]})
    allowed = KINDS_FOR_TASK.get(schema.task_type, frozenset())
    if kind not in allowed:
        raise PayloadError(
            {"kind": [f"a {schema.task_type} project takes {', '.join(sorted(allowed))}"]}
        )
    if not isinstance(payload, Mapping):
        raise PayloadError({"payload": ["payload must be an object"]})
    checker = _Checker(schema, image, limits)
    result = checker.run(kind, payload)
    if checker.errors:
        raise PayloadError(checker.errors)
    return result


class _Checker:
    def __init__(
        self, schema: LabelSchema, image: ImageGeometry | None, limits: PayloadLimits
    ) -> None:
        self.schema = schema
        self.image = image
        self.limits = limits
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def run(self, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        expected = {
            "class": {"labels", "attributes"},
            "box": {"label", "points", "attributes"},
            "polygon": {"label", "points", "attributes"},
            "point": {"label", "points", "attributes"},
            "mask": {"label", "size", "counts", "attributes"},
        }[kind]
        for key in sorted(set(payload) - expected):
            self.fail(f"payload.{key}", f"unknown field for kind {kind!r}")
        if kind == "class":
            return self.class_payload(payload)
        out: dict[str, Any] = {"label": self.label(payload.get("label"))}
        if kind == "mask":
            out.update(self.mask(payload.get("size"), payload.get("counts")))
        else:
            out["points"] = self.shape_points(kind, payload.get("points"))
        attributes = self.attributes(payload.get("attributes"), [out["label"]])
        if attributes is not None:
            out["attributes"] = attributes
        return out

    # Labels -----------------------------------------------------------------------------

    def label(self, name: Any) -> str:
        if not isinstance(name, str) or not name:
            self.fail("payload.label", "label is required (a class name of the project)")
            return ""
        if name not in self.schema.class_names:
            self.fail("payload.label", f"{name!r} is not a class of this project")
        return name

    def class_payload(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        labels = payload.get("labels")
        if not isinstance(labels, list) or len(labels) > self.limits.max_labels:
            self.fail(
                "payload.labels",
                f"labels must be a list of at most {self.limits.max_labels} class names",
            )
            return {"labels": []}
        if not all(isinstance(x, str) for x in labels):
            self.fail("payload.labels", "labels must be a list of class names")
            return {"labels": []}
        unknown = [x for x in labels if x not in self.schema.class_names]
        if unknown:
            self.fail("payload.labels", f"not classes of this project: {', '.join(unknown)}")
        if len(set(labels)) != len(labels):
            self.fail("payload.labels", "a class may appear once")
        single = self.schema.task_type == "classification" and not self.schema.multi_label
        if single and len(labels) != 1:
            self.fail("payload.labels", "this single-label project needs exactly one class")
        # Schema order, so equal answers compare equal whatever order the client sent.
        ordered = [n for n in self.schema.class_names if n in set(labels)]
        out: dict[str, Any] = {"labels": ordered}
        attributes = self.attributes(payload.get("attributes"), ordered)
        if attributes is not None:
            out["attributes"] = attributes
        return out

    def attributes(self, raw: Any, labels: Sequence[str]) -> dict[str, Any] | None:
        specs = {s.name: s for label in labels for s in self.schema.attributes.get(label, ())}
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.fail("payload.attributes", "attributes must be an object")
            return None
        if len(raw) > self.limits.max_attributes:
            self.fail("payload.attributes", f"at most {self.limits.max_attributes} attributes")
            return None
        for key in sorted(set(raw) - set(specs)):
            self.fail(f"payload.attributes.{key}", "no such attribute on this label")
        for spec in specs.values():
            path = f"payload.attributes.{spec.name}"
            if spec.name not in raw:
                if spec.required:
                    self.fail(path, "this attribute is required")
                continue
            value = raw[spec.name]
            if spec.type == "choice" and value not in spec.choices:
                self.fail(path, f"must be one of {', '.join(spec.choices)}")
            elif spec.type == "boolean" and not isinstance(value, bool):
                self.fail(path, "must be true or false")
            elif spec.type == "number" and not _is_number(value):
                self.fail(path, "must be a finite number")
            elif spec.type == "text" and not isinstance(value, str):
                self.fail(path, "must be text")
            elif spec.type == "text" and len(value) > self.limits.max_text_length:
                self.fail(path, f"at most {self.limits.max_text_length} characters")
            elif isinstance(value, str) and "\x00" in value:
                # PostgreSQL text and jsonb cannot hold NUL, and no label or note needs one.
                self.fail(path, "must not contain NUL characters")
        return dict(raw) if raw else None

    # Geometry ---------------------------------------------------------------------------

    def shape_points(self, kind: str, raw: Any) -> list[list[float]]:
        if not isinstance(raw, list):
            self.fail("payload.points", "points must be a list of [x, y]")
            return []
        if len(raw) > self.limits.max_points:
            self.fail("payload.points", f"at most {self.limits.max_points} points, got {len(raw)}")
            return []
        points: list[list[float]] = []
        for i, point in enumerate(raw):
            path = f"payload.points[{i}]"
            if (
                not isinstance(point, list | tuple)
                or len(point) != 2
                or not all(_is_number(v) for v in point)
            ):
                self.fail(path, "a point is [x, y] with finite numbers")
                continue
            x, y = float(point[0]), float(point[1])
            if self.image is None and not (0 <= x <= MAX_IMAGE_SIDE and 0 <= y <= MAX_IMAGE_SIDE):
                self.fail(path, f"coordinates are pixels, 0 to {MAX_IMAGE_SIDE}")
            if self.image is not None and not (
                0 <= x <= self.image.columns and 0 <= y <= self.image.rows
            ):
                self.fail(
                    path,
                    f"({x:g}, {y:g}) lies outside the {self.image.columns}x{self.image.rows} "
                    "image (x = column, y = row)",
                )
            points.append([_compact(x), _compact(y)])
        if len(points) != len(raw):
            return points
        if kind == "point" and len(points) != 1:
            self.fail("payload.points", "a point has exactly one [x, y]")
        elif kind == "box":
            if len(points) != 2:
                self.fail("payload.points", "a box has two opposite corners")
            else:
                (x0, y0), (x1, y1) = points
                if x0 == x1 or y0 == y1:
                    self.fail("payload.points", "a box needs a non-zero width and height")
                points = [[min(x0, x1), min(y0, y1)], [max(x0, x1), max(y0, y1)]]
        elif kind == "polygon":
            if len(points) < 3:
                self.fail("payload.points", "a polygon needs at least 3 points")
            elif polygon_area(points) == 0:
                self.fail("payload.points", "a polygon needs a non-zero area")
        return points

    def mask(self, size: Any, counts: Any) -> dict[str, Any]:
        if (
            not isinstance(size, list)
            or len(size) != 2
            or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_IMAGE_SIDE
                for v in size
            )
        ):
            self.fail("payload.size", f"size is [rows, cols], integers 1 to {MAX_IMAGE_SIDE}")
            return {"size": size, "counts": counts}
        if self.image is not None and size != [self.image.rows, self.image.columns]:
            self.fail(
                "payload.size",
                f"the mask must match the image, {self.image.rows} rows x "
                f"{self.image.columns} columns; got {size[0]} x {size[1]}",
            )
        if isinstance(counts, list) and len(counts) > self.limits.max_mask_runs:
            self.fail(
                "payload.counts",
                f"at most {self.limits.max_mask_runs} run lengths, got {len(counts)}",
            )
            return {"size": size, "counts": []}
        if (
            not isinstance(counts, list)
            or not counts
            or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)
        ):
            self.fail("payload.counts", "counts are non-negative integer run lengths")
            return {"size": size, "counts": counts}
        total = size[0] * size[1]
        if sum(counts) != total:
            self.fail("payload.counts", f"run lengths sum to {sum(counts)}, not rows*cols={total}")
        canonical = canonical_counts(counts)
        if len(canonical) < 2:
            self.fail("payload.counts", "the mask is empty (no foreground pixel)")
        return {"size": list(size), "counts": canonical}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _compact(value: float) -> float:
    """Keep integral coordinates as ints in JSON (12 rather than 12.0)."""
    return int(value) if float(value).is_integer() else value


def polygon_area(points: Sequence[Sequence[float]]) -> float:
    """Absolute shoelace area."""
    total = 0.0
    for (x0, y0), (x1, y1) in zip(points, [*points[1:], points[0]], strict=True):
        total += x0 * y1 - x1 * y0
    return abs(total) / 2


# Run-length masks ------------------------------------------------------------------------


def canonical_counts(counts: Iterable[int]) -> list[int]:
    """Fold zero-length runs into their neighbours so equal masks have equal counts."""
    runs: list[list[int]] = []  # [value, length]
    for i, count in enumerate(counts):
        value = i % 2  # runs alternate, starting with zeros
        if count == 0:
            continue
        if runs and runs[-1][0] == value:
            runs[-1][1] += count
        else:
            runs.append([value, count])
    out = [length for _, length in runs]
    if runs and runs[0][0] == 1:
        out.insert(0, 0)  # the format always starts with a run of zeros
    return out or [0]


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """A (rows, cols) boolean-ish array → {"size", "counts"} in the API's row-major RLE."""
    flat = np.asarray(mask, dtype=bool).ravel()
    if flat.size == 0:
        return {"size": list(mask.shape), "counts": [0]}
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat[0]:
        runs = [0, *runs]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": [int(r) for r in runs]}


def decode_mask(size: Sequence[int], counts: Sequence[int]) -> np.ndarray:
    """{"size", "counts"} → (rows, cols) bool array."""
    rows, cols = int(size[0]), int(size[1])
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, np.asarray(counts, dtype=np.int64))
    if flat.size != rows * cols:
        raise ValueError(f"run lengths sum to {flat.size}, not {rows}x{cols}")
    return flat.reshape(rows, cols)


def rasterize(kind: str, payload: Mapping[str, Any], rows: int, cols: int) -> np.ndarray | None:
    """The pixels a region covers, as a (rows, cols) bool array; None for class and point.

    A pixel belongs to a box or polygon when its centre (x + 0.5, y + 0.5) lies inside
    (even-odd rule), the convention pycocotools and most viewers share."""
    if kind == "mask":
        return decode_mask(payload["size"], payload["counts"])
    if kind == "box":
        (x0, y0), (x1, y1) = payload["points"]
        xs = np.arange(cols) + 0.5
        ys = np.arange(rows) + 0.5
        inside_x = (xs >= min(x0, x1)) & (xs <= max(x0, x1))
        inside_y = (ys >= min(y0, y1)) & (ys <= max(y0, y1))
        return np.outer(inside_y, inside_x)
    if kind == "polygon":
        return _polygon_pixels(payload["points"], rows, cols)
    return None


def _polygon_pixels(points: Sequence[Sequence[float]], rows: int, cols: int) -> np.ndarray:
    xs = np.arange(cols, dtype=np.float64) + 0.5
    ys = (np.arange(rows, dtype=np.float64) + 0.5)[:, None]
    inside = np.zeros((rows, cols), dtype=bool)
    vertices = [(float(p[0]), float(p[1])) for p in points]
    for (xa, ya), (xb, yb) in zip(vertices, [*vertices[1:], vertices[0]], strict=True):
        if ya == yb:
            continue
        crosses = (ya > ys) != (yb > ys)  # (rows, 1)
        x_at = xa + (ys - ya) * (xb - xa) / (yb - ya)  # (rows, 1)
        inside ^= crosses & (xs[None, :] < x_at)
    return inside


def labels_of(kind: str, payload: Mapping[str, Any]) -> list[str]:
    """The class names an annotation asserts."""
    if kind == "class":
        return list(payload.get("labels", []))
    label = payload.get("label")
    return [label] if isinstance(label, str) and label else []
