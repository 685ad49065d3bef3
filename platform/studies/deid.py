"""De-identification per DICOM PS3.15 Annex E: the Basic Application Level Confidentiality
Profile (113100) with the Retain Longitudinal Temporal Information Modified Dates Option (113107).

What happens to one dataset:
- every attribute of Table E.1-1 gets its action (studies.deid_profile.BASIC_PROFILE): removed,
  emptied, replaced by a dummy, or (UIDs) replaced by a new UID; nested sequences too;
- private attributes, curves (50xx) and overlays (60xx) are removed (E.1.1 and Table E.1-1);
- person names outside the table are emptied (a safety net for attributes added to the standard
  after this table was written);
- the patient gets a pseudonymous ID and name; every date is shifted by a per-patient number of
  days, so intervals between a patient's studies survive (PS3.15 E.3.6, option 113107);
- the same original UID always gets the same replacement, so a study's instances stay one study;
- PatientIdentityRemoved, DeidentificationMethod(CodeSequence) and
  LongitudinalTemporalInformationModified record what was done (PS3.15 E.1.1).
Pixels are not cleaned: burned-in text is flagged at ingest (Instance.burned_in_annotation).

The replacements live in DeidentificationMap, so re-ingesting the same file gives the same
de-identified bytes (a duplicate, not a new instance) and only superusers can re-identify.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from studies.deid_profile import BASIC_PROFILE
from studies.models import DeidentificationMap

DUMMY_TEXT = "ANONYMIZED"
PSEUDONYM_PREFIX = "RL-"
_PSEUDONYM = re.compile(r"^RL-[0-9A-F]{12}$")
# Shift dates back 1 to 10 years: far enough to hide the real dates, never into the future.
_SHIFT_MIN_DAYS, _SHIFT_MAX_DAYS = 365, 3650
# DeidentificationMethod is LO (64 characters a value), so one value per profile/option.
METHOD = [
    "Basic Application Level Confidentiality Profile",
    "Retain Longitudinal Temporal Information Modified Dates Option",
]
METHOD_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
)
_TEXT_VRS = {"AE", "CS", "LO", "LT", "SH", "ST", "UC", "UT", "UR", "PN"}
_NUMBER_VRS = {"IS", "DS"}
_BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
_DATE_VRS = {"DA", "DT"}
_DUMMIES = {DUMMY_TEXT, "0", "000D"}
_META_REMOVE = (0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102)


@dataclass(frozen=True)
class PatientMapping:
    pseudonym: str
    date_shift_days: int


class DeidContext:
    """Consistent replacements, read from and written to DeidentificationMap.

    Same original UID → same replacement, whichever instance of the study comes first;
    same patient → same pseudonym and date shift, across studies and uploads.
    """

    def __init__(self) -> None:
        self._uids: dict[str, str] = {}
        self._patients: dict[str, PatientMapping] = {}

    def uid(self, original: str, *, study_uid: str) -> str:
        if original not in self._uids:
            row, _ = DeidentificationMap.objects.get_or_create(
                kind=DeidentificationMap.Kind.UID,
                original=original,
                defaults={
                    "replacement": f"2.25.{uuid.uuid4().int}",
                    "original_study_uid": study_uid,
                },
            )
            self._uids[original] = row.replacement
        return self._uids[original]

    def patient(self, key: str, *, study_uid: str) -> PatientMapping:
        if key not in self._patients:
            shift = -(_SHIFT_MIN_DAYS + secrets.randbelow(_SHIFT_MAX_DAYS - _SHIFT_MIN_DAYS + 1))
            row, _ = DeidentificationMap.objects.get_or_create(
                kind=DeidentificationMap.Kind.PATIENT,
                original=key[:200],
                defaults={
                    "replacement": f"{PSEUDONYM_PREFIX}{secrets.token_hex(6).upper()}",
                    "original_study_uid": study_uid,
                    "date_shift_days": shift,
                },
            )
            self._patients[key] = PatientMapping(row.replacement, row.date_shift_days)
        return self._patients[key]


def patient_key(ds: Dataset) -> str:
    """Who the patient is for pseudonymisation. Without a Patient ID each study stands alone,
    rather than merging every anonymous patient into one."""
    patient_id = str(ds.get("PatientID", "") or "").strip()
    if not patient_id:
        return f"study:{ds.StudyInstanceUID}"
    issuer = str(ds.get("IssuerOfPatientID", "") or "").strip()
    return f"{issuer}\\{patient_id}" if issuer else patient_id


# -- value replacement ----------------------------------------------------------------------------


def shift_date(value: str, days: int) -> str:
    """Shift a DA value (YYYYMMDD, or a partial YYYY / YYYYMM) by `days`; "" if unreadable."""
    text = value.strip()
    if not text:
        return ""
    precision = len(text)
    if precision not in (4, 6, 8) or not text.isdigit():
        return ""
    padded = (text + "0101")[:8] if precision < 8 else text
    try:
        date = dt.datetime.strptime(padded, "%Y%m%d").date() + dt.timedelta(days=days)
    except ValueError:
        return ""
    return date.strftime("%Y%m%d")[:precision]


def shift_datetime(value: str, days: int) -> str:
    """Shift the date part of a DT value, keeping time and UTC offset."""
    text = value.strip()
    if len(text) < 4:
        return ""
    digits = len(text) if len(text) < 8 else 8
    date_part = shift_date(text[:digits], days)
    return date_part + text[digits:] if date_part else ""


def _shift(element: DataElement, days: int) -> None:
    shift = shift_date if element.VR == "DA" else shift_datetime
    values = element.value
    if isinstance(values, pydicom.multival.MultiValue | list):
        element.value = [shift(str(v), days) for v in values]
    elif values not in (None, ""):
        element.value = shift(str(values), days)


def _dummy(element: DataElement) -> Any:
    vr = element.VR
    if vr in _TEXT_VRS:
        return DUMMY_TEXT
    if vr in _NUMBER_VRS:
        return "0"
    if vr == "AS":
        return "000D"
    if vr == "TM":
        return element.value  # time of day alone, with the date shifted, is kept (E.3.6)
    if vr in _BINARY_VRS:
        return b"\x00\x00"
    if vr == "SQ":
        return Sequence([])
    if vr in {"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV", "AT"}:
        return 0
    return ""


def _effective(action: str, vr: str) -> str:
    """Resolve compound codes the conservative way that still leaves a valid object."""
    if action in {"X", "Z", "D", "U"}:
        return action
    if action == "X/Z/U*":
        return "U*"  # keep the sequence, remap the references inside it
    if "D" in action and vr in _DATE_VRS:
        return "D"
    if action in {"X/D", "Z/D"}:
        return "D"
    return "Z"  # X/Z, X/Z/D: emptied keeps Type 2 attributes present


def _is_removed_group(tag: pydicom.tag.BaseTag) -> bool:
    group = tag.group
    return 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x60FF


@dataclass
class _Pass:
    context: DeidContext
    study_uid: str
    shift_days: int

    def uid(self, value: Any) -> Any:
        if isinstance(value, pydicom.multival.MultiValue | list):
            return [self.context.uid(str(v), study_uid=self.study_uid) for v in value if v]
        if not value:
            return value
        return self.context.uid(str(value), study_uid=self.study_uid)

    def clean(self, ds: Dataset) -> None:
        for element in list(ds):
            tag = element.tag
            if tag.is_private or _is_removed_group(tag):
                del ds[tag]
                continue
            action = BASIC_PROFILE.get(element.keyword)
            if action is None:
                self.keep(element)
                continue
            self.apply(ds, element, _effective(action, element.VR))

    def keep(self, element: DataElement) -> None:
        if element.VR == "SQ":
            for item in element.value or []:
                self.clean(item)
        elif element.VR in _DATE_VRS:
            _shift(element, self.shift_days)
        elif element.VR == "PN":
            element.value = ""  # a person's name the table does not know yet

    def apply(self, ds: Dataset, element: DataElement, action: str) -> None:
        if action == "X":
            del ds[element.tag]
        elif action == "U*" or (action == "U" and element.VR == "SQ"):
            for item in element.value or []:
                self.clean(item)
        elif action == "U" or (action == "D" and element.VR == "UI"):
            element.value = self.uid(element.value)
        elif element.VR in _DATE_VRS and action in {"Z", "D"}:
            _shift(element, self.shift_days)
        elif action == "Z":
            element.value = Sequence([]) if element.VR == "SQ" else None
        else:  # D
            element.value = _dummy(element)


def deidentify(ds: Dataset, *, context: DeidContext) -> Dataset:
    """De-identify `ds` in place (and return it) per the Basic profile; see the module doc."""
    study_uid = str(ds.StudyInstanceUID)
    patient = context.patient(patient_key(ds), study_uid=study_uid)
    ds.remove_private_tags()
    _Pass(context, study_uid, patient.date_shift_days).clean(ds)
    ds.PatientID = patient.pseudonym
    ds.PatientName = patient.pseudonym
    if "PatientBirthDate" in ds:
        ds.PatientBirthDate = ""
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    codes = []
    for value, meaning in METHOD_CODES:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        codes.append(item)
    ds.DeidentificationMethodCodeSequence = codes
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        for tag in _META_REMOVE:
            if tag in meta:
                del meta[tag]
    if hasattr(ds, "preamble"):
        ds.preamble = b"\x00" * 128  # a preamble can carry a whole TIFF header (PS3.10 7.5)
    return ds


def deidentify_bytes(ds: pydicom.FileDataset, context: DeidContext | None = None) -> bytes:
    """De-identify a parsed Part 10 object and write it back out in its own transfer syntax."""
    deidentify(ds, context=context or DeidContext())
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


# -- checking -------------------------------------------------------------------------------


def _is_empty(element: DataElement) -> bool:
    value = element.value
    if value is None:
        return True
    if element.VR == "SQ":
        return len(value) == 0
    if isinstance(value, pydicom.multival.MultiValue | list):
        return all(str(v).strip() == "" for v in value)
    if isinstance(value, bytes):
        return len(value.strip(b"\x00 ")) == 0
    return str(value).strip() == ""


def _values(element: DataElement) -> list[str]:
    value = element.value
    if isinstance(value, pydicom.multival.MultiValue | list):
        return [str(v) for v in value]
    return [str(value)]


def find_phi(ds: Dataset) -> list[str]:
    """Attributes in `ds` that may still identify the patient, as "Keyword (gggg,eeee)" strings.

    Empty means: nothing the Basic profile would remove or replace is left in its original
    form. A dataset that does not declare PatientIdentityRemoved=YES is judged strictly (its
    UIDs, names and dates count as identifying).
    """
    removed = str(ds.get("PatientIdentityRemoved", "")).upper() == "YES"
    dates_modified = str(ds.get("LongitudinalTemporalInformationModified", "")).upper() == (
        "MODIFIED"
    )
    found: list[str] = []
    _scan(ds, found, removed=removed, dates_modified=dates_modified, top=True)
    return found


def _label(element: DataElement, path: str) -> str:
    name = element.keyword or "private attribute"
    return f"{path}{name} ({element.tag.group:04X},{element.tag.element:04X})"


def _scan(
    ds: Dataset, found: list[str], *, removed: bool, dates_modified: bool, top: bool, path: str = ""
) -> None:
    for element in ds:
        tag = element.tag
        if tag.is_private or _is_removed_group(tag):
            found.append(_label(element, path))
            continue
        keyword = element.keyword
        if top and keyword in {"PatientName", "PatientID"}:
            if not _is_empty(element) and not (
                removed and all(_PSEUDONYM.match(v) for v in _values(element))
            ):
                found.append(_label(element, path))
            continue
        action = BASIC_PROFILE.get(keyword)
        if element.VR == "SQ":
            if action == "X" and not _is_empty(element):
                found.append(_label(element, path))
                continue
            for index, item in enumerate(element.value or []):
                _scan(
                    item,
                    found,
                    removed=removed,
                    dates_modified=dates_modified,
                    top=False,
                    path=f"{path}{keyword}[{index}].",
                )
            continue
        if _is_empty(element):
            continue
        if action is None:
            if element.VR == "PN":
                found.append(_label(element, path))
            continue
        if keyword == "PatientBirthDate":
            found.append(_label(element, path))
        elif element.VR in _DATE_VRS and action != "X":
            if not (removed and dates_modified):
                found.append(_label(element, path))
        elif element.VR == "UI" and ("U" in action or action == "D"):
            if not removed:  # replaced UIDs cannot be told from originals; trust the marker
                found.append(_label(element, path))
        elif action == "X":
            found.append(_label(element, path))
        elif element.VR == "TM":
            continue  # times of day are kept with shifted dates (E.3.6)
        elif _effective(action, element.VR) != "D" or not (
            removed and all(v in _DUMMIES for v in _values(element))
        ):
            found.append(_label(element, path))
