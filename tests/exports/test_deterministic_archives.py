"""The same snapshot always gives a byte-identical archive."""

from __future__ import annotations

from annotations.exports.runner import write_archive
from annotations.exports.snapshots import freeze_snapshot
from tests.exports.conftest import ALL_SEGMENTATION_FORMATS


def test_two_exports_of_one_snapshot_are_byte_identical(segmentation_project, tmp_path) -> None:
    snapshot = freeze_snapshot(segmentation_project)
    first = write_archive(snapshot, ALL_SEGMENTATION_FORMATS, tmp_path / "one.zip")
    second = write_archive(snapshot, list(reversed(ALL_SEGMENTATION_FORMATS)), tmp_path / "two.zip")
    assert first.sha256 == second.sha256
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_refreezing_unchanged_labels_exports_the_same_bytes(
    classification_project, tmp_path
) -> None:
    formats = ["csv", "json", "imagefolder", "coco", "monai"]
    one = write_archive(freeze_snapshot(classification_project), formats, tmp_path / "1.zip")
    two = write_archive(freeze_snapshot(classification_project), formats, tmp_path / "2.zip")
    assert one.sha256 == two.sha256


def test_no_partial_file_is_left_when_an_export_stops(segmentation_project, tmp_path) -> None:
    from annotations.exports.runner import ExportCancelled

    snapshot = freeze_snapshot(segmentation_project)
    calls = []

    def stop_after_two() -> bool:
        calls.append(1)
        return len(calls) > 2

    try:
        write_archive(snapshot, ["nifti"], tmp_path / "x.zip", should_stop=stop_after_two)
    except ExportCancelled:
        pass
    else:
        raise AssertionError("the export did not stop")
    assert list(tmp_path.iterdir()) == []
