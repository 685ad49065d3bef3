"""STOW-RS (PS3.18 §10.5): store the application/dicom parts of a multipart/related request.

Every part goes through the one ingest service (studies.ingest.ingest_bytes), so STOW-RS
rejects, de-identifies and deduplicates exactly like the other ingest paths. The response is
the Store Instances Response Module (PS3.18 §10.5.3, Table 10.5.3-3) as DICOM JSON:
- ReferencedSOPSequence (0008,1199): stored instances (a byte-identical resend counts as
  stored: STOW is idempotent), each with its RetrieveURL;
- FailedSOPSequence (0008,1198): the others, each with a FailureReason (0008,1197);
- RetrieveURL (0008,1190) of the study when all stored instances belong to one.
HTTP status (PS3.18 Table 10.5.3-1): 200 all stored, 202 some stored and some failed,
409 none stored. The human-readable reason of each failure goes into a `Warning: 299` header.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pydicom

from studies.dicomweb import multipart
from studies.dicomweb.errors import DicomwebError, bad_request
from studies.dicomweb.links import instance_path, study_path
from studies.dicomweb.media import DICOM

# FailureReason values (PS3.18 §10.5.3 and the Storage Service statuses of PS3.4 §B.2.3 and
# PS3.7 §C.4): the nearest standard code for each of ingest's machine-readable reasons.
PROCESSING_FAILURE = 0x0110
NOT_AUTHORIZED = 0x0124  # PS3.7 C.4: Refused, not authorized
DUPLICATE_SOP_INSTANCE = 0x0111  # PS3.7 C.4: same UID already held (with other content)
OUT_OF_RESOURCES = 0xA700
DATA_SET_DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000
TRANSFER_SYNTAX_NOT_SUPPORTED = 0xC122

_REASON_CODES = {
    "too_large": OUT_OF_RESOURCES,
    "not_dicom": CANNOT_UNDERSTAND,
    "truncated": CANNOT_UNDERSTAND,
    "missing_attribute": DATA_SET_DOES_NOT_MATCH,
    "invalid_uid": DATA_SET_DOES_NOT_MATCH,
    "no_pixel_data": DATA_SET_DOES_NOT_MATCH,
    "unsupported_transfer_syntax": TRANSFER_SYNTAX_NOT_SUPPORTED,
    "undecodable": TRANSFER_SYNTAX_NOT_SUPPORTED,
    "conflict": DUPLICATE_SOP_INSTANCE,
    "study_mismatch": DATA_SET_DOES_NOT_MATCH,
    "wrong_media_type": CANNOT_UNDERSTAND,
    "foreign_study": NOT_AUTHORIZED,
}


@dataclass
class StowResult:
    referenced: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)

    @property
    def status(self) -> int:
        if not self.failed:
            return 200
        return 202 if self.referenced else 409

    def dataset(self, root: str) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if len(self.studies) == 1:
            body["00081190"] = {"vr": "UR", "Value": [root + study_path(self.studies[0])]}
        if self.failed:
            body["00081198"] = {"vr": "SQ", "Value": self.failed}
        if self.referenced:
            body["00081199"] = {"vr": "SQ", "Value": self.referenced}
        return body


def _sop_item(sop_class: str, sop_instance: str) -> dict[str, Any]:
    item: dict[str, Any] = {}
    item["00081150"] = {"vr": "UI", "Value": [sop_class]} if sop_class else {"vr": "UI"}
    item["00081155"] = {"vr": "UI", "Value": [sop_instance]} if sop_instance else {"vr": "UI"}
    return item


def _peek_uids(data: bytes) -> tuple[str, str, str]:
    """(SOPClassUID, SOPInstanceUID, StudyInstanceUID) if readable, else empty strings."""
    try:
        ds = pydicom.dcmread(
            BytesIO(data),
            stop_before_pixels=True,
            specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"],
        )
        return (
            str(ds.get("SOPClassUID", "")),
            str(ds.get("SOPInstanceUID", "")),
            str(ds.get("StudyInstanceUID", "")),
        )
    except Exception:
        return "", "", ""


def _fail(result: StowResult, code: str, reason: str, uids: tuple[str, str], index: int) -> None:
    item = _sop_item(*uids)
    item["00081197"] = {"vr": "US", "Value": [_REASON_CODES.get(code, PROCESSING_FAILURE)]}
    result.failed.append(item)
    label = uids[1] or f"part {index + 1}"
    result.reasons.append(f"{label}: {reason}")


def store_parts(
    parts: list[multipart.Part],
    *,
    root: str,
    user: Any,
    project: Any = None,
    study: str | None = None,
    audit: Callable[[StowResult], list[Any]] | None = None,
) -> StowResult:
    """Ingest the parts (together, studies.ingest_batch); never raises for a bad part (each gets
    its own failure item). `audit(result)` gives the request's access events (unsaved); they
    are inserted with the parts' ingest events in the transaction that stores the parts, so a
    request commits once (decision 0125)."""
    from studies.ingest_batch import ingest_many

    if not parts:
        raise bad_request("the multipart body holds no parts")
    refused: dict[int, tuple[str, str, tuple[str, str]]] = {}
    sources: list[tuple[int, bytes]] = []
    for index, part in enumerate(parts):
        part_type = part.content_type.split(";")[0].strip().lower()
        if part_type and part_type != DICOM:
            reason = f"part media type {part_type!r} is not {DICOM}"
            refused[index] = ("wrong_media_type", reason, ("", ""))
            continue
        if study is not None:
            sop_class, sop_instance, part_study = _peek_uids(part.body)
            if part_study and part_study != study:
                reason = f"StudyInstanceUID {part_study} is not the target study {study}"
                refused[index] = ("study_mismatch", reason, (sop_class, sop_instance))
                continue
        sources.append((index, part.body))
    answer: list[StowResult] = []

    def respond(outcomes: list[Any]) -> list[Any]:
        # Built afresh each call: a transaction that failed at its commit is tried again
        # (ingest's retry after a lost race), and this runs again with the final outcomes.
        result = StowResult()
        by_part = dict(zip((index for index, _ in sources), outcomes, strict=True))
        for index in range(len(parts)):
            if index in refused:
                _fail(result, *refused[index], index)
            else:
                _add(result, by_part[index], root, index)
        answer[:] = [result]
        return audit(result) if audit is not None else []

    ingest_many(
        [(f"STOW-RS part {index + 1}", data) for index, data in sources],
        user=user,
        project=project,
        finish=respond,
    )
    return answer[0]


def _add(result: StowResult, outcome: Any, root: str, index: int) -> None:
    uids = (outcome.sop_class_uid, outcome.sop_instance_uid)
    if outcome.status in ("stored", "duplicate") and outcome.instance is not None:
        series_uid = outcome.instance.series.series_instance_uid
        item = _sop_item(*uids)
        path = instance_path(outcome.study_instance_uid, series_uid, outcome.sop_instance_uid)
        item["00081190"] = {"vr": "UR", "Value": [root + path]}
        result.referenced.append(item)
        if outcome.study_instance_uid not in result.studies:
            result.studies.append(outcome.study_instance_uid)
    else:
        _fail(result, outcome.code or outcome.status, outcome.reason, uids, index)


def check_stow_request(content_type: str, scope_can_store: bool) -> str:
    """Validate the request before reading its body; returns the multipart boundary."""
    if not scope_can_store:
        raise DicomwebError(403, "storing needs a superuser, or an admin of this project")
    return multipart.boundary_of(content_type, expected_type=DICOM)
