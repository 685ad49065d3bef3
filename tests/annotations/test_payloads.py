"""Each payload kind is checked against the label schema and the image, and stored canonical."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.payloads import (
    ImageGeometry,
    LabelSchema,
    PayloadError,
    canonical_counts,
    decode_mask,
    encode_mask,
    parse_attribute_specs,
    rasterize,
    validate_frame,
    validate_payload,
)

CLASSIFY = LabelSchema("classification", ("normal", "pneumonia"))
MULTI = LabelSchema("classification", ("effusion", "nodule", "edema"), multi_label=True)
DETECT = LabelSchema(
    "detection",
    ("nodule",),
    attributes={"nodule": parse_attribute_specs([
        {"name": "malignancy", "type": "choice", "choices": ["benign", "malignant"],
         "required": True},
    ])},
)  # fmt: skip
SEGMENT = LabelSchema("segmentation", ("lesion",))
IMAGE = ImageGeometry(rows=4, columns=6, frames=2)


def errors_of(kind: str, payload: object, schema: LabelSchema = SEGMENT) -> dict:
    with pytest.raises(PayloadError) as caught:
        validate_payload(kind, payload, schema=schema, image=IMAGE)
    return caught.value.errors


def test_a_single_label_answer_names_exactly_one_class_of_the_schema() -> None:
    ok = validate_payload("class", {"labels": ["pneumonia"]}, schema=CLASSIFY, image=IMAGE)
    assert ok == {"labels": ["pneumonia"]}
    assert "payload.labels" in errors_of("class", {"labels": ["normal", "pneumonia"]}, CLASSIFY)
    assert "payload.labels" in errors_of("class", {"labels": ["cat"]}, CLASSIFY)
    assert "payload.labels" in errors_of("class", {"labels": []}, CLASSIFY)


def test_a_multi_label_answer_is_stored_in_schema_order_and_may_be_empty() -> None:
    got = validate_payload("class", {"labels": ["edema", "effusion"]}, schema=MULTI, image=None)
    assert got == {"labels": ["effusion", "edema"]}
    assert validate_payload("class", {"labels": []}, schema=MULTI, image=None) == {"labels": []}
    assert "payload.labels" in errors_of("class", {"labels": ["edema", "edema"]}, MULTI)


def test_a_box_is_stored_as_top_left_and_bottom_right_corners() -> None:
    box = {"label": "nodule", "points": [[5, 3], [1.5, 0]], "attributes": {"malignancy": "benign"}}
    got = validate_payload("box", box, schema=DETECT, image=IMAGE)
    assert got["points"] == [[1.5, 0], [5, 3]]


def test_a_box_outside_the_image_or_without_area_is_refused() -> None:
    attrs = {"malignancy": "benign"}
    outside = errors_of(
        "box", {"label": "nodule", "points": [[0, 0], [7, 2]], "attributes": attrs}, DETECT
    )
    assert "payload.points[1]" in outside
    flat = errors_of(
        "box", {"label": "nodule", "points": [[1, 1], [4, 1]], "attributes": attrs}, DETECT
    )
    assert flat == {"payload.points": ["a box needs a non-zero width and height"]}


def test_the_image_edge_itself_is_inside_because_coordinates_run_from_pixel_corners() -> None:
    box = {"label": "nodule", "points": [[0, 0], [6, 4]], "attributes": {"malignancy": "benign"}}
    assert validate_payload("box", box, schema=DETECT, image=IMAGE)["points"] == [[0, 0], [6, 4]]


def test_a_required_label_attribute_must_be_given_and_be_one_of_its_choices() -> None:
    missing = errors_of("box", {"label": "nodule", "points": [[0, 0], [2, 2]]}, DETECT)
    assert missing == {"payload.attributes.malignancy": ["this attribute is required"]}
    wrong = errors_of(
        "box",
        {"label": "nodule", "points": [[0, 0], [2, 2]], "attributes": {"malignancy": "maybe"}},
        DETECT,
    )
    assert "payload.attributes.malignancy" in wrong


def test_a_polygon_needs_three_points_and_an_area() -> None:
    assert "payload.points" in errors_of("polygon", {"label": "lesion", "points": [[0, 0], [1, 1]]})
    line = errors_of("polygon", {"label": "lesion", "points": [[0, 0], [1, 1], [2, 2]]})
    assert line == {"payload.points": ["a polygon needs a non-zero area"]}
    ok = validate_payload(
        "polygon",
        {"label": "lesion", "points": [[0, 0], [3, 0], [0, 3]]},
        schema=SEGMENT,
        image=IMAGE,
    )
    assert ok["points"] == [[0, 0], [3, 0], [0, 3]]


def test_a_point_has_one_coordinate_pair() -> None:
    assert "payload.points" in errors_of(
        "point",
        {"label": "nodule", "points": [[1, 1], [2, 2]]},
        LabelSchema("detection", ("nodule",)),
    )


def test_a_mask_must_have_the_images_size_and_cover_it_exactly() -> None:
    pixels = np.zeros((4, 6), dtype=bool)
    pixels[1:3, 2:5] = True
    good = {"label": "lesion", **encode_mask(pixels)}
    assert validate_payload("mask", good, schema=SEGMENT, image=IMAGE)["counts"] == good["counts"]
    assert "payload.size" in errors_of("mask", {**good, "size": [6, 4]})
    short = errors_of("mask", {**good, "counts": [*good["counts"][:-1], 1]})
    assert "payload.counts" in short
    empty = errors_of("mask", {"label": "lesion", "size": [4, 6], "counts": [24]})
    assert empty == {"payload.counts": ["the mask is empty (no foreground pixel)"]}


def test_mask_runs_are_stored_compactly_whatever_zero_runs_the_client_sent() -> None:
    assert canonical_counts([2, 0, 3, 1, 0, 2]) == [5, 3]
    assert canonical_counts([0, 4, 0, 2]) == [0, 6]
    payload = {"label": "lesion", "size": [4, 6], "counts": [2, 0, 3, 1, 0, 2, 16]}
    got = validate_payload("mask", payload, schema=SEGMENT, image=IMAGE)
    assert got["counts"] == [5, 3, 16]
    assert decode_mask(got["size"], got["counts"]).sum() == 3


def test_mask_encoding_round_trips_row_major() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        pixels = rng.random((5, 7)) > 0.6
        encoded = encode_mask(pixels)
        assert sum(encoded["counts"]) == 35
        assert np.array_equal(decode_mask(encoded["size"], encoded["counts"]), pixels)
    corner = np.zeros((2, 2), dtype=bool)
    corner[0, 0] = True
    assert encode_mask(corner)["counts"] == [0, 1, 3]


def test_a_shape_kind_must_suit_the_task() -> None:
    assert "kind" in errors_of("mask", {"label": "pneumonia"}, CLASSIFY)
    assert "kind" in errors_of("ellipse", {}, SEGMENT)


def test_unknown_fields_are_reported_rather_than_silently_stored() -> None:
    assert "payload.colour" in errors_of("class", {"labels": ["normal"], "colour": 1}, CLASSIFY)


def test_frames_are_one_based_and_within_the_image() -> None:
    assert validate_frame(2, IMAGE) == 2
    for bad in (0, 3, "1", True):
        with pytest.raises(PayloadError):
            validate_frame(bad, IMAGE)


def test_rasterised_boxes_and_polygons_take_the_pixels_whose_centres_lie_inside() -> None:
    box = rasterize("box", {"points": [[1, 1], [3, 2]]}, 4, 6)
    assert box.sum() == 2 and box[1, 1] and box[1, 2]
    triangle = rasterize("polygon", {"points": [[0, 0], [4, 0], [0, 4]]}, 4, 6)
    # centres (x+.5, y+.5) with x + y + 1 < 4: 6 pixels
    assert triangle.sum() == 6
