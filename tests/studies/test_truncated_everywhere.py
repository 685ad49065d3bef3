"""Every proper prefix of a real file is refused, wherever it is cut: in the file meta, between
or inside header elements, or inside the pixel data. ingest._parse checks only the last element
read for a short value (decision 0128); this sweep is what shows that is enough."""

from __future__ import annotations

import pytest

from studies.ingest import Rejected, check_object
from tests.studies.ingest_support import pydicom_file


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small_RLE.dcm", "SC_rgb_rle_2frame.dcm", "JPEG2000.dcm"]
)
def test_a_file_cut_anywhere_is_rejected(name: str) -> None:
    data = pydicom_file(name).read_bytes()
    check_object(data)  # the whole file is accepted
    cuts = sorted({*range(1, 1200), *range(1200, len(data), 53), len(data) - 1})
    accepted = []
    for cut in cuts:
        try:
            check_object(data[:cut])
        except Rejected:
            continue
        accepted.append(cut)
    assert accepted == [], f"{name}: prefixes of {accepted[:5]} bytes were accepted"
