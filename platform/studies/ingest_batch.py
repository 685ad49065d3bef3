"""Many objects of one request (a STOW-RS body, an upload) indexed in one transaction.

ingest_bytes costs every object its own transaction: a lookup, its inserts and a commit (a disk
flush). A request's objects usually share one series, so here they are checked first (parsing
and decoding need no database), then their index rows, Instances, Items and audit events are
written in one transaction with one INSERT per table (decision 0180). Each object still ends
all-or-nothing: a rejected object never reaches the database, and if anything in the batch
fails (a unique-key race with a concurrent ingest, a foreign study, a store error) the batch
rolls back whole and every object goes through ingest_bytes on its own, which reports each
one's own outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydicom
from django.conf import settings
from django.db import transaction

from studies.indexing import SeriesCache, index_series
from studies.ingest import (
    Finish,
    IngestOutcome,
    Project,
    Rejected,
    check_object,
    check_study_owner,
    ingest_bytes,
    ingest_event,
    is_trusted,
    new_instance,
    remove_if_unreferenced,
)
from studies.models import AuditEvent, Instance
from studies.projects_seam import projects
from studies.sql_rows import insert_rows
from studies.storage import Staged, content_key, put, stage

PIXEL_DATA = pydicom.tag.Tag(0x7FE0, 0x0010)
# What checking one object gave: its dataset and frame offsets, or why it is rejected.
Check = tuple[pydicom.FileDataset, list[list[int]]] | Rejected


def check_for_batch(data: bytes) -> tuple[pydicom.FileDataset, list[list[int]]] | tuple[str, str]:
    """check_object for a worker process of a folder import (the CPU part: parsing, validation,
    frame offsets, decoding the first frame). The dataset comes back as indexing reads it: the
    header's public attributes, without pixel data, source buffer or top-level private elements
    (hundreds in a vendor's MR header; unpickling them cost the parent more than parsing), so
    what crosses the pipe is ~12 KB. A rejection comes back as (code, reason): Rejected does not
    pickle. tests/studies/test_import_workers.py checks the index rows equal a one-process
    import's."""
    try:
        ds, offsets = check_object(data)
    except Rejected as exc:
        return exc.code, exc.reason
    tags = list(ds.keys())  # the keys: iterating the dataset would convert every raw element
    for tag in tags:
        if tag.is_private or tag == PIXEL_DATA:
            del ds[tag]
    ds.buffer = None
    return ds, offsets


def as_check(result: tuple[pydicom.FileDataset, list[list[int]]] | tuple[str, str]) -> Check:
    if isinstance(result[0], str):
        return Rejected(result[0], str(result[1]))
    return result  # type: ignore[return-value]


@dataclass
class _Checked:
    index: int
    name: str
    data: bytes
    ds: pydicom.FileDataset
    offsets: list[list[int]]
    # check_object ran here, so `ds` is whole (a worker process's is stripped of pixel data,
    # which de-identification needs): ingest_bytes may reuse it instead of parsing again.
    whole: bool
    staged: Staged | None


def ingest_many(
    sources: list[tuple[str, bytes]],
    *,
    user: Any = None,
    project: Project | None = None,
    cache: SeriesCache | None = None,
    checks: list[Check | None] | None = None,
    finish: Callable[[list[IngestOutcome]], list[AuditEvent]] | None = None,
) -> list[IngestOutcome]:
    """One outcome per (name, bytes) source, in order; the same outcomes ingest_bytes gives.

    `checks`, aligned with `sources`, are check_object's results computed elsewhere (a folder
    import's worker processes); None entries are checked here.

    Every object's rows are written in one transaction, committed once (decision 0125): each
    object is still all-or-nothing inside it (the batch, or each object on its own, is a
    savepoint), and `finish(outcomes)` runs last in the same transaction; the audit events it
    returns (STOW-RS: the request's own) are inserted with the objects' ingest events.

    While the objects are checked, their bytes are already being written and flushed to the
    disk in background threads (storage.stage): a refused object's copy is removed, a stored
    one's renamed into place."""
    deidentify = project is not None and project.deidentify
    outcomes: list[IngestOutcome | None] = [None] * len(sources)
    checked: list[_Checked] = []
    staged: list[Staged] = []
    placed: list[str] = []  # keys stored by this call: removed again if its transaction fails
    try:
        for index, (name, data) in enumerate(sources):
            check = checks[index] if checks is not None else None
            early = (
                _stage(data, begin_now=len(sources) == 1)
                if not deidentify and not isinstance(check, Rejected)
                else None
            )
            if early is not None:
                staged.append(early)
            try:
                if check is None:
                    ds, offsets = check_object(data)
                elif isinstance(check, Rejected):
                    raise check
                else:
                    ds, offsets = check
            except Rejected as exc:
                outcomes[index] = IngestOutcome(
                    status="rejected", source_name=name, code=exc.code, reason=exc.reason
                )
                continue
            checked.append(_Checked(index, name, data, ds, offsets, check is None, early))
        cache = cache if cache is not None else SeriesCache()
        events: list[AuditEvent] = []  # the ingest events, written last with the request's

        def results() -> list[IngestOutcome]:
            return [outcome for outcome in outcomes if outcome is not None]

        def all_events(ingest_events: list[AuditEvent]) -> list[AuditEvent]:
            extra = finish(results()) if finish is not None else []
            return [*ingest_events, *extra]

        def write_events(ingest_events: list[AuditEvent]) -> None:
            insert_rows(all_events(ingest_events))

        def later(_outcome: IngestOutcome, ingest_events: list[AuditEvent]) -> list[AuditEvent]:
            events.extend(ingest_events)  # written once every object of the batch is stored
            return []

        def store_alone(item: _Checked, then: Finish) -> IngestOutcome:
            def decided(
                outcome: IngestOutcome, ingest_events: list[AuditEvent]
            ) -> list[AuditEvent]:
                outcomes[item.index] = outcome
                return then(outcome, ingest_events)

            outcome = ingest_bytes(
                item.data,
                source_name=item.name,
                user=user,
                project=project,
                cache=cache,
                checked=(item.ds, item.offsets) if item.whole else None,
                staged=item.staged,
                finish=decided,
            )
            outcomes[item.index] = outcome
            if outcome.status == "stored" and outcome.instance is not None:
                placed.append(outcome.instance.storage_key)
            return outcome

        if len(checked) == 1:
            # One object: its own transaction is the request's (no savepoint round trips); the
            # events are written in it, or after it when it stored nothing.
            only = store_alone(checked[0], lambda _outcome, ingest: all_events(ingest))
            if not only.finished:
                with transaction.atomic():
                    write_events([])
        else:
            with transaction.atomic():
                # De-identification rewrites each object inside its transaction: one at a time.
                if len(checked) > 1 and not deidentify:
                    stored = _store_batch(checked, user, project, cache, events)
                    for item, outcome in zip(checked, stored, strict=True):
                        outcomes[item.index] = outcome
                        if outcome is not None and outcome.instance is not None:
                            placed.append(outcome.instance.storage_key)
                for item in checked:
                    if outcomes[item.index] is None:
                        store_alone(item, later)
                write_events(events)
    except BaseException:
        # Rolled back: the objects stored before the failure have no rows any more.
        _forget(placed)
        raise
    finally:
        for early in staged:
            early.discard()  # refused, known, or left over: placed ones are untouched
    return results()


def _stage(data: bytes, *, begin_now: bool) -> Staged | None:
    # Only what can be a Part 10 object within the size limit is written ahead of its checks.
    if len(data) > settings.DICOM_MAX_UPLOAD_BYTES or data[128:132] != b"DICM":
        return None
    return stage(data, content_key(data), begin_now=begin_now)


def _store_batch(
    checked: list[_Checked],
    user: Any,
    project: Project | None,
    cache: SeriesCache,
    events: list[AuditEvent],
) -> list[IngestOutcome | None]:
    """Outcomes of the objects stored together; None for those left to ingest_bytes (known
    UIDs, a UID twice in the request) or for all of them when the batch failed. Their ingest
    events are added to `events` (unsaved) once the batch is written."""
    sops = [str(item.ds.SOPInstanceUID) for item in checked]
    batch_cache, keys = SeriesCache(), []
    try:
        with transaction.atomic():
            known = set(
                Instance.objects.filter(sop_instance_uid__in=sops).values_list(
                    "sop_instance_uid", flat=True
                )
            )
            fresh = []
            for item, sop in zip(checked, sops, strict=True):
                if sop not in known:  # a UID twice in the request: its second copy waits
                    known.add(sop)
                    fresh.append(item)
            if project is not None and not is_trusted(user):
                for study in dict.fromkeys(str(item.ds.StudyInstanceUID) for item in fresh):
                    check_study_owner(study, project)
            instances, batch_events = [], []
            for item in fresh:
                key = put(item.data, content_key(item.data), item.staged)
                keys.append(key)
                series = cache.get(str(item.ds.SeriesInstanceUID)) or index_series(
                    item.ds, batch_cache
                )
                batch_cache.remember(series)
                instances.append(
                    new_instance(
                        item.ds,
                        series=series,
                        key=key,
                        data=item.data,
                        received_sha256=key,
                        offsets=item.offsets,
                        deidentified=False,
                    )
                )
                batch_events.append(_audit_event(user, item))
            Instance.objects.bulk_create(instances)
            # The seam counts new Items per call; one call per object keeps each file's count.
            items_created = {
                instance.sop_instance_uid: projects().create_items(project, [instance])
                for instance in instances
                if project is not None
            }
    except Rejected:
        _forget(keys)
        return [None] * len(checked)  # ingest_bytes reports each object's own reason
    except BaseException:
        _forget(keys)
        raise
    events.extend(event for event in batch_events if event is not None)
    for series in batch_cache.all():
        cache.remember(series)
    by_sop = {instance.sop_instance_uid: instance for instance in instances}
    results: list[IngestOutcome | None] = []
    for item, sop in zip(checked, sops, strict=True):
        instance = by_sop.pop(sop, None)
        if instance is None:
            results.append(None)
            continue
        results.append(
            IngestOutcome(
                status="stored",
                instance=instance,
                sop_instance_uid=sop,
                sop_class_uid=instance.sop_class_uid,
                source_name=item.name,
                study_instance_uid=str(item.ds.StudyInstanceUID),
                items_created=items_created.get(sop, 0),
            )
        )
    return results


def _audit_event(user: Any, item: _Checked) -> AuditEvent | None:
    """studies.audit.record's row for an ingest, unsaved."""
    outcome = IngestOutcome(
        status="stored", source_name=item.name, study_instance_uid=str(item.ds.StudyInstanceUID)
    )
    return ingest_event(user, outcome, str(item.ds.SOPInstanceUID))


def _forget(keys: list[str]) -> None:
    for key in keys:
        remove_if_unreferenced(key)


class Batcher:
    """Collects a request's or an import's objects and ingests them `size` at a time, so that a
    folder or an archive is batched without holding all of its bytes at once. Outcomes reach
    `add` in the order the objects came; call `flush` at the end."""

    def __init__(
        self,
        add: Callable[[IngestOutcome], None],
        *,
        user: Any = None,
        project: Project | None = None,
        size: int = 64,
    ) -> None:
        self._add, self._user, self._project, self._size = add, user, project, size
        self._cache = SeriesCache()
        self._pending: list[tuple[str, bytes]] = []
        self._checks: list[Check | None] = []

    def put(self, name: str, data: bytes, check: Check | None = None) -> None:
        """Queue one object; `check` is check_object's result when it was computed already."""
        self._pending.append((name, data))
        self._checks.append(check)
        if len(self._pending) >= self._size:
            self.flush()

    def put_outcome(self, outcome: IngestOutcome) -> None:
        """An outcome decided without ingesting (a refused file): after those already queued."""
        self.flush()
        self._add(outcome)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        checks, self._checks = self._checks, []
        if pending:
            for outcome in ingest_many(
                pending, user=self._user, project=self._project, cache=self._cache, checks=checks
            ):
                self._add(outcome)
