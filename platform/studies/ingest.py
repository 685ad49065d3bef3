"""One service every ingest path goes through: STOW-RS, browser upload, import_dicom, datasets.

ingest_bytes(data) parses and validates one Part 10 object (PS3.10), de-identifies it when the
project asks for it, stores the bytes content-addressed, then indexes patient/study/series/
instance (and the project's Items) in one transaction. It is all-or-nothing: a rejected object
leaves no row and no stored bytes, and bytes stored for an object whose indexing then failed are
removed again unless another instance refers to them. It is idempotent on SOP Instance UID:
the same bytes again are a "duplicate"; other bytes under a known UID are a "conflict" and the
stored object is kept unchanged.
"""

from __future__ import annotations

import re
import struct
import warnings
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

import pydicom
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder
from pydicom.uid import UID

from studies.frames import FrameLayoutError, compute_frame_offsets
from studies.indexing import Known, SeriesCache, image_fields, index_series, lookup
from studies.models import AuditEvent, Instance, Series, Study
from studies.new_study_rows import insert_if_new, insert_new_study
from studies.projects_seam import projects
from studies.sql_rows import insert_rows
from studies.storage import Staged, content_key, get_store, put

# A project is opaque here: studies reaches projects only through studies.projects_seam.
Project = Any

Status = Literal["stored", "duplicate", "conflict", "rejected"]

# Machine-readable reasons, so STOW-RS can map them to PS3.18 failure codes.
TOO_LARGE = "too_large"
NOT_DICOM = "not_dicom"
TRUNCATED = "truncated"
MISSING_ATTRIBUTE = "missing_attribute"
INVALID_UID = "invalid_uid"
NO_PIXEL_DATA = "no_pixel_data"
UNSUPPORTED_TRANSFER_SYNTAX = "unsupported_transfer_syntax"
UNDECODABLE = "undecodable"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
UNSAFE_ARCHIVE = "unsafe_archive"
FOREIGN_STUDY = "foreign_study"

# Digits and dots, no empty component. Leading zeros (forbidden by PS3.5 §9.1) are tolerated:
# scanners in the field emit them and refusing their studies helps no one.
_UID_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)*$")
# Modalities whose pixels commonly carry names and dates (PS3.15 E.1.1 note on burned-in text).
BURNED_IN_RISK_MODALITIES = frozenset({"US", "SC", "OT", "XC", "ES", "GM", "SM", "DOC", "IVUS"})


@dataclass
class IngestOutcome:
    status: Status
    reason: str = ""
    instance: Instance | None = None
    sop_instance_uid: str = ""
    sop_class_uid: str = ""
    source_name: str = ""
    code: str = ""  # one of the constants above; "" when stored
    study_instance_uid: str = ""
    items_created: int = 0
    # The key the object is stored under (after de-identification): a duplicate compares it.
    stored_key: str = field(default="", repr=False)
    # ingest_bytes' `finish` ran in the transaction that decided this outcome (and committed).
    finished: bool = field(default=False, repr=False)


# Called last in an object's transaction with its outcome and its unsaved audit events; returns
# the audit events to insert there and then (ingest inserts them with the object's rows).
Finish = Callable[[IngestOutcome, list[AuditEvent]], list[AuditEvent]]


@dataclass
class IngestSummary:
    outcomes: list[IngestOutcome] = field(default_factory=list)
    skipped: int = 0  # already ingested (same received sha256), not parsed again

    def add(self, outcome: IngestOutcome) -> None:
        self.outcomes.append(outcome)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def counts(self) -> dict[str, int]:
        counts = {s: self.count(s) for s in ("stored", "duplicate", "conflict", "rejected")}
        counts["skipped"] = self.skipped
        return counts

    def rejections(self) -> list[tuple[str, str]]:
        return [(o.source_name, o.reason) for o in self.outcomes if o.status == "rejected"]


class Rejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# -- validation ---------------------------------------------------------------------------------


def _parse(data: bytes) -> pydicom.FileDataset:
    if len(data) > settings.DICOM_MAX_UPLOAD_BYTES:
        raise Rejected(
            TOO_LARGE,
            f"file is {len(data)} bytes, over the {settings.DICOM_MAX_UPLOAD_BYTES} byte limit",
        )
    if len(data) < 132 or data[128:132] != b"DICM":
        raise Rejected(NOT_DICOM, "not a DICOM Part 10 file (no 'DICM' prefix at byte 128)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = pydicom.dcmread(BytesIO(data))
        except InvalidDicomError as exc:
            raise Rejected(NOT_DICOM, f"not a DICOM file: {exc}") from exc
        except (EOFError, struct.error) as exc:
            raise Rejected(TRUNCATED, f"file is truncated: {exc}") from exc
        except Exception as exc:  # pydicom raises many types for malformed input
            raise Rejected(NOT_DICOM, f"cannot parse DICOM: {exc}") from exc
    for warning in caught:
        if "End of file reached" in str(warning.message):
            raise Rejected(TRUNCATED, f"file is truncated: {warning.message}")
    # A defined-length element whose value is cut short: pydicom keeps the short value silently.
    # Elements are read in order until the bytes run out, so only the last one read can be
    # short: checking it alone (as read, unconverted) costs nothing per element.
    tags = list(ds.keys())
    last = tags[-1] if tags else None
    element = ds.get_item(last) if last is not None else None
    length = getattr(element, "length", None)
    value = getattr(element, "value", None)
    if (
        isinstance(length, int)
        and length != 0xFFFFFFFF
        and isinstance(value, bytes)
        and len(value) < length
    ):
        raise Rejected(
            TRUNCATED,
            f"file is truncated inside element {last} ({len(value)} of {length} bytes present)",
        )
    return ds


def _require_uid(ds: pydicom.Dataset, keyword: str, source: Any = None) -> str:
    value = str((source if source is not None else ds).get(keyword, "") or "").strip()
    if not value:
        raise Rejected(MISSING_ATTRIBUTE, f"required attribute {keyword} is missing")
    if len(value) > 64 or not _UID_PATTERN.match(value):
        raise Rejected(INVALID_UID, f"{keyword} {value!r} is not a valid UID (PS3.5 §9.1)")
    return value


def _validate(ds: pydicom.FileDataset) -> tuple[str, str]:
    meta = getattr(ds, "file_meta", None)
    syntax = _require_uid(ds, "TransferSyntaxUID", meta) if meta is not None else ""
    if not syntax:
        raise Rejected(MISSING_ATTRIBUTE, "file meta information has no TransferSyntaxUID")
    sop_instance_uid = _require_uid(ds, "SOPInstanceUID")
    _require_uid(ds, "SOPClassUID")
    _require_uid(ds, "StudyInstanceUID")
    _require_uid(ds, "SeriesInstanceUID")
    if "PixelData" not in ds:
        raise Rejected(NO_PIXEL_DATA, "no Pixel Data (7FE0,0010): not an image")
    for keyword in ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation"):
        if ds.get(keyword) in (None, ""):
            raise Rejected(MISSING_ATTRIBUTE, f"image attribute {keyword} is missing")
    try:
        decoder = get_decoder(UID(syntax))
    except NotImplementedError as exc:
        raise Rejected(
            UNSUPPORTED_TRANSFER_SYNTAX,
            f"unsupported transfer syntax {syntax} ({UID(syntax).name}): no decoder",
        ) from exc
    if not decoder.is_available:
        raise Rejected(
            UNSUPPORTED_TRANSFER_SYNTAX,
            f"unsupported transfer syntax {syntax} ({UID(syntax).name}): decoder not installed",
        )
    return sop_instance_uid, syntax


def _check_decodes(ds: pydicom.FileDataset) -> None:
    """Decode the first frame: proves a codec here can read the object before we keep it."""
    from pydicom.pixels import pixel_array

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pixel_array(ds, index=0)
    except Exception as exc:
        raise Rejected(UNDECODABLE, f"pixel data cannot be decoded: {exc}") from exc


def burned_in_flag(ds: pydicom.Dataset) -> str:
    stated = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    if stated in {"YES", "NO"}:
        return stated
    modality = str(ds.get("Modality", "") or "").upper()
    return "YES" if modality in BURNED_IN_RISK_MODALITIES else ""


# -- indexing -----------------------------------------------------------------------------------


def new_instance(
    ds: pydicom.FileDataset,
    *,
    series: Series | None,
    key: str,
    data: bytes,
    received_sha256: str,
    offsets: list[list[int]],
    deidentified: bool,
) -> Instance:
    """The Instance row for a checked object (not saved: ingest_many inserts many at once;
    series None: indexing.insert_new_study inserts it with its new series)."""
    return Instance(
        series=series,
        transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
        burned_in_annotation=burned_in_flag(ds),
        frame_offsets=offsets,
        source="local",
        storage_key=key,
        sha256=key,
        received_sha256=received_sha256,
        deidentified=deidentified,
        size_bytes=len(data),
        **image_fields(ds),
    )


def ingest_event(user: Any, outcome: IngestOutcome, sop_instance_uid: str) -> AuditEvent | None:
    """The `ingest` audit row of a stored object, unsaved (studies.audit.record's row for a
    user); None for operators' imports (no user)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return AuditEvent(
        user=user,
        action="ingest",
        study_instance_uid=outcome.study_instance_uid[:64],
        detail={"sop_instance_uid": sop_instance_uid, "source": outcome.source_name},
    )


def attach_to_project(instance: Instance, project: Project) -> int:
    """Create the project's Items for this instance (idempotent); returns how many are new.
    The project's side makes them (annotations.items.create_items, through the seam)."""
    return projects().create_items(project, [instance])


# -- the service --------------------------------------------------------------------------------


def check_object(data: bytes) -> tuple[pydicom.FileDataset, list[list[int]]]:
    """Parse and validate one object, raising Rejected with the per-file reason; returns the
    dataset and its frame offsets."""
    ds = _parse(data)
    _validate(ds)
    try:
        offsets = compute_frame_offsets(data, ds)
    except FrameLayoutError as exc:
        raise Rejected(TRUNCATED, f"pixel data is truncated or malformed: {exc}") from exc
    _check_decodes(ds)
    return ds, offsets


def _existing(sop_instance_uid: str) -> Instance | None:
    # Almost every object is new: ask the cheap question first. The four-table join below
    # costs PostgreSQL ~0.8 ms just to plan (EXPLAIN ANALYZE), more than the whole lookup.
    found = (
        Instance.objects.filter(sop_instance_uid=sop_instance_uid)
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        return None
    return Instance.objects.select_related("series__study__patient").filter(pk=found).first()


def _known(
    instance: Instance, key: str, project: Project | None, outcome: IngestOutcome
) -> IngestOutcome:
    outcome.instance = instance
    outcome.study_instance_uid = instance.series.study.study_instance_uid
    if instance.sha256 != key:
        outcome.status = "conflict"
        outcome.code = CONFLICT
        outcome.reason = (
            f"SOP Instance UID {instance.sop_instance_uid} is already stored with different "
            "content; the stored object was kept"
        )
        return outcome
    outcome.status = "duplicate"
    outcome.code = DUPLICATE
    outcome.reason = "already stored (same SOP Instance UID and content)"
    if project is not None:
        outcome.items_created = attach_to_project(instance, project)
    return outcome


def is_trusted(user: Any) -> bool:
    """Operators (no user: the import command, datasets) and superusers may ingest anywhere."""
    return projects().may_store(user, None)


def check_study_owner(study_instance_uid: str, project: Project) -> None:
    """A project's STOW or upload may only add to a study that is new or already this project's
    alone: access is decided per study, so adding a series to another project's study would
    show that study to this project (and the new series to the other one). Decision 0150."""
    study = Study.objects.filter(study_instance_uid=study_instance_uid).values("pk").first()
    if study is None:
        return
    holders = projects().projects_holding(study["pk"])
    if holders != {project.pk}:
        raise Rejected(
            FOREIGN_STUDY,
            f"StudyInstanceUID {study_instance_uid} is already held outside this project; a "
            "study is never shared across projects by a store (ask a superuser to attach it)",
        )


def remove_if_unreferenced(key: str) -> None:
    if not Instance.objects.filter(storage_key=key).exists():
        get_store().delete(key)


def ingest_bytes(
    data: bytes,
    *,
    source_name: str = "",
    user: Any = None,
    project: Project | None = None,
    cache: SeriesCache | None = None,
    checked: tuple[pydicom.FileDataset, list[list[int]]] | None = None,
    staged: Staged | None = None,
    finish: Finish | None = None,
) -> IngestOutcome:
    """Validate, (de-identify,) store and index one DICOM Part 10 object.

    `cache`: the series this request already indexed (one SeriesCache per request, upload or
    import), so that the objects after a series' first cost no index round trip.
    `checked`: check_object(data)'s result when the caller has it (ingest_many checked the
    object already: parsing it again cost a STOW request ~2 ms). `staged`: the bytes, already
    being written (storage.stage); placed when the object is stored, else left to the caller.
    `finish(outcome, events)`: called inside the object's transaction once the object is
    stored (or found stored) there, with its ingest event unsaved; it returns the events to
    insert in that transaction (ingest_many adds the request's own, decision 0125), which go in
    the same statement as a new study's rows (decision 0129). Not called when the outcome is
    decided outside a transaction; called again when a rolled-back transaction is retried."""
    outcome = IngestOutcome(status="rejected", source_name=source_name)
    try:
        ds, offsets = checked if checked is not None else check_object(data)
    except Rejected as exc:
        outcome.code, outcome.reason = exc.code, exc.reason
        return outcome
    # Index inserts take no savepoint (decision 0180): a concurrent ingest that created the
    # same patient, study or series first fails this object's transaction with an
    # IntegrityError, and the object is indexed once more, now finding those rows.
    # The winner of a race commits its patient, study and series together, so one retry finds
    # them all; a third attempt covers a racer that arrived during the retry.
    known: Known | None = None
    if _alone(project):
        try:
            known = _store_alone(data, ds, offsets, outcome, user, staged, finish)
        except IntegrityError:  # a concurrent ingest of the same study: the ordinary path
            outcome.finished, outcome.status, outcome.instance = False, "rejected", None
        else:
            if known is None:
                if cache is not None and outcome.instance is not None:
                    cache.remember(outcome.instance.series)
                return outcome
        staged = None  # placed by _store_alone, with its key stored in outcome.stored_key
        placed = outcome.stored_key
        outcome = _ingest_with_retries(
            data, ds, offsets, outcome, user, project, cache, staged, finish, known
        )
        if outcome.status != "stored":
            remove_if_unreferenced(placed)
        return outcome
    return _ingest_with_retries(data, ds, offsets, outcome, user, project, cache, staged, finish)


def _alone(project: Project | None) -> bool:
    """Whether an object goes first through `_store_alone`: on PostgreSQL and outside a project
    (whose Items and study-owner check need a transaction of several statements)."""
    return connection.vendor == "postgresql" and project is None


def _store_alone(
    data: bytes,
    ds: pydicom.FileDataset,
    offsets: list[list[int]],
    outcome: IngestOutcome,
    user: Any,
    staged: Staged | None,
    finish: Finish | None,
) -> Known | None:
    """Store a new study's object with one statement (new_study_rows.insert_if_new, decision
    0129): in autocommit that statement is the transaction, so the object and its audit events
    commit together or not at all. None when stored (the outcome says so); otherwise what of the
    object already exists, and nothing was written (the file stays placed: the caller removes it
    unless the ordinary path stores the object)."""
    key = put(data, content_key(data), staged)  # in place before its row can commit
    outcome.stored_key = key
    outcome.sop_instance_uid = str(ds.SOPInstanceUID)
    outcome.sop_class_uid = str(ds.SOPClassUID)
    outcome.study_instance_uid = str(ds.StudyInstanceUID)
    instance = new_instance(
        ds,
        series=None,
        key=key,
        data=data,
        received_sha256=key,
        offsets=offsets,
        deidentified=False,
    )
    try:
        # Inside a caller's transaction (tests, a management command) a savepoint keeps a
        # failed statement from aborting it.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            known = insert_if_new(ds, instance, lambda: _finished(outcome, instance, user, finish))
    except IntegrityError:
        raise
    except BaseException:
        remove_if_unreferenced(key)
        raise
    if known is not None:
        outcome.status, outcome.instance = "rejected", None
        return known
    outcome.finished = finish is not None
    return None


def _ingest_with_retries(
    data: bytes,
    ds: pydicom.FileDataset,
    offsets: list[list[int]],
    outcome: IngestOutcome,
    user: Any,
    project: Project | None,
    cache: SeriesCache | None,
    staged: Staged | None,
    finish: Finish | None,
    known: Known | None = None,
) -> IngestOutcome:
    attempts = 3
    for attempt in range(1, attempts + 1):
        outcome.finished = False  # a rolled-back attempt's finish wrote nothing
        try:
            return _store_and_index(
                data, ds, offsets, outcome, user, project, cache, staged, finish, known
            )
        except IntegrityError:
            # Nothing of the attempt stays: neither its rows nor what it said of the object.
            outcome.finished, outcome.status, outcome.instance = False, "rejected", None
            existing = _existing(outcome.sop_instance_uid)
            if existing is not None:
                # Another ingest of the same UID committed first: report against what it stored.
                return _known(existing, outcome.stored_key, project, outcome)
            if attempt == attempts:
                raise
            known = None  # found afresh: the race changed what exists
    raise AssertionError("unreachable")  # pragma: no cover


def _store_and_index(
    data: bytes,
    ds: pydicom.FileDataset,
    offsets: list[list[int]],
    outcome: IngestOutcome,
    user: Any,
    project: Project | None,
    cache: SeriesCache | None,
    staged: Staged | None = None,
    finish: Finish | None = None,
    known: Known | None = None,
) -> IngestOutcome:
    deidentify = project is not None and project.deidentify
    received_key = content_key(data)
    key = ""
    final, final_key = data, received_key
    outcome.stored_key = final_key
    try:
        # One transaction (one commit: STOW-RS pays a disk flush per commit) for the
        # de-identification map rows, the index rows, the Items and the audit event: a failure
        # anywhere leaves none of them.
        with transaction.atomic():
            if deidentify:
                from studies.deid import deidentify_bytes

                final = deidentify_bytes(ds)
                final_key = content_key(final)
                outcome.stored_key = final_key
                ds = pydicom.dcmread(BytesIO(final))
                offsets = compute_frame_offsets(final, ds)
            outcome.sop_instance_uid = str(ds.SOPInstanceUID)
            outcome.sop_class_uid = str(ds.SOPClassUID)
            outcome.study_instance_uid = str(ds.StudyInstanceUID)
            if project is not None and not is_trusted(user):
                check_study_owner(outcome.study_instance_uid, project)
            # The instance, series, study and patient rows, one round trip (unless the caller's
            # statement just probed them).
            known = known or lookup(ds)
            if known.instance is not None:
                existing = _existing(outcome.sop_instance_uid)
                if existing is not None:
                    _known(existing, final_key, project, outcome)
                    if finish is not None:
                        insert_rows(finish(outcome, []))
                        outcome.finished = True  # unless the commit fails: then retried
                    return outcome
            key = put(final, final_key, staged)
            # A new study (its series unknown too, and not in this request's cache) on
            # PostgreSQL: patient, study, series and instance in one statement (decision 0126).
            one_statement = (
                connection.vendor == "postgresql"
                and known.study is None
                and known.series is None
                and (cache is None or cache.get(str(ds.SeriesInstanceUID)) is None)
            )
            instance = new_instance(
                ds,
                series=None if one_statement else index_series(ds, cache, known),
                key=key,
                data=final,
                received_sha256=received_key,
                offsets=offsets,
                deidentified=deidentify,
            )
            if one_statement:
                # The events are decided first (the object is stored if the statement succeeds,
                # and nothing is if it fails), so that they go in the rows' statement.
                insert_new_study(
                    ds, known, instance, lambda: _finished(outcome, instance, user, finish)
                )
                if project is not None:
                    outcome.items_created = attach_to_project(instance, project)
            else:
                instance.save(force_insert=True)
                if project is not None:
                    outcome.items_created = attach_to_project(instance, project)
                insert_rows(_finished(outcome, instance, user, finish))
            outcome.finished = finish is not None
    except Rejected as exc:
        # Raised inside the transaction: the de-identification rows it wrote are rolled back.
        outcome.code, outcome.reason = exc.code, exc.reason
        return outcome
    except BaseException:
        if key:
            remove_if_unreferenced(key)
        raise
    if cache is not None:
        cache.remember(instance.series)  # committed (or released into the caller's transaction)
    outcome.status = "stored"
    outcome.instance = instance
    return outcome


def _finished(
    outcome: IngestOutcome, instance: Instance, user: Any, finish: Finish | None
) -> list[AuditEvent]:
    """The audit events to insert with a stored object: its ingest event (for a user), passed
    through `finish` when there is one."""
    outcome.status, outcome.instance = "stored", instance
    event = ingest_event(user, outcome, instance.sop_instance_uid)
    events = [event] if event is not None else []
    return finish(outcome, events) if finish is not None else events


def ingest_paths(
    paths: Iterable[str | Path],
    *,
    project: Project | None = None,
    user: Any = None,
    progress: Callable[[IngestOutcome | None, str], None] | None = None,
    skip_known: bool = True,
    workers: int = 1,
) -> IngestSummary:
    """Ingest files, folders (recursively) and zip archives (safely, see studies.archives).

    With skip_known, a file whose bytes were already ingested (same received sha256, and already
    in the project when one is given) is skipped without parsing: rerunning an interrupted
    import continues where it stopped. `progress(outcome_or_None, name)` is called per file.
    With workers > 1, parsing and checking run in that many processes (studies.import_pool);
    the database work stays here, in the same batches, so the outcomes are the same.
    """
    from studies.import_pool import CheckPool
    from studies.ingest_batch import Batcher
    from studies.ingest_sources import iter_sources

    summary = IngestSummary()

    def add(outcome: IngestOutcome) -> None:
        summary.add(outcome)
        if progress:
            progress(outcome, outcome.source_name)

    # Files are ingested in batches (decision 0180): one transaction per batch, each object
    # still all-or-nothing.
    batcher = Batcher(add, user=user, project=project)
    # Files wait here in groups of SKIP_CHECK_GROUP so that "ingested before?" is one query per
    # group, not one round trip per file.
    waiting: list[tuple[str, bytes | IngestOutcome]] = []

    def release(pool: CheckPool) -> None:
        known = (
            known_contents([d for _, d in waiting if isinstance(d, bytes)], project)
            if skip_known
            else set()
        )
        for name, data in waiting:
            if isinstance(data, IngestOutcome):
                pool.put_outcome(data)
            elif content_key(data) in known:
                summary.skipped += 1
                if progress:
                    progress(None, name)
            else:
                pool.put(name, data)
        waiting.clear()

    with CheckPool(workers, batcher) as pool:
        for name, load in iter_sources(paths, summary):
            data = load()
            # None: the source reported its own rejection into the summary; keep its place.
            waiting.append((name, summary.outcomes.pop() if data is None else data))
            if len(waiting) >= SKIP_CHECK_GROUP:
                release(pool)
        release(pool)
    batcher.flush()
    return summary


SKIP_CHECK_GROUP = 32


def known_contents(datas: list[bytes], project: Project | None) -> set[str]:
    """The content keys (sha256) among these files' that were ingested before (and are in the
    project, when one is given): what already_ingested says for each, in one query."""
    from django.db.models import Q

    digests = {content_key(data) for data in datas}
    if not digests:
        return set()
    instances = Instance.objects.filter(Q(received_sha256__in=digests) | Q(sha256__in=digests))
    if project is not None:
        in_project = Q(items__project=project)
        if project.unit == "series":
            in_project |= Q(series__items__project=project)
        instances = instances.filter(in_project)
    found = instances.values_list("received_sha256", "sha256").distinct()
    return {key for pair in found for key in pair} & digests
