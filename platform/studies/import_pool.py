"""Parse and check a folder import's files in several processes (decision 0190).

Reading, validating and decoding a DICOM file (studies.ingest.check_object) is CPU work that
needs no database; indexing is database work that must stay in one process to keep its
batching and transactions (studies.ingest_batch). So the import hands each file's bytes to a
pool of processes and feeds their results, in the files' order, to the same Batcher a one-process
import uses: the same batches, the same transactions, the same outcomes.

At most `workers * 8` files are in flight, so memory stays bounded whatever the folder's size.
A process that dies or hangs on one file costs that file (rejected with the reason) after
DICOM_IMPORT_CHECK_TIMEOUT_S, not the import.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from multiprocessing.pool import AsyncResult, Pool
from types import TracebackType

from django.conf import settings
from django.db import connections

from studies.ingest import IngestOutcome
from studies.ingest_batch import Batcher, as_check, check_for_batch

CHECK_FAILED = "check-failed"


class CheckPool:
    def __init__(self, workers: int, batcher: Batcher) -> None:
        self._batcher = batcher
        self._workers = max(1, workers)
        self._limit = self._workers * 8
        self._pool: Pool | None = None
        # (name, data, pending result) or (name, None, an outcome decided without checking)
        self._window: deque[tuple[str, bytes | None, AsyncResult[object] | IngestOutcome]] = (
            deque()
        )

    def __enter__(self) -> CheckPool:
        if self._workers > 1:
            # Forked children never touch the database (and exit without finalizers, so they
            # never close the parent's session). Outside a transaction the parent closes its
            # connections anyway, so no child even holds a copy of a live socket; it reconnects
            # on its next query. Inside one (a caller's atomic block) the session must stay.
            if not any(c.in_atomic_block for c in connections.all(initialized_only=True)):
                connections.close_all()
            self._pool = multiprocessing.get_context("fork").Pool(self._workers)
        return self

    def put(self, name: str, data: bytes) -> None:
        if self._pool is None:
            self._batcher.put(name, data)  # checked in ingest_many, in this process
            return
        self._window.append((name, data, self._pool.apply_async(check_for_batch, (data,))))
        self._drain(self._limit)

    def put_outcome(self, outcome: IngestOutcome) -> None:
        """An outcome decided without checking (a refused source), kept in the files' order."""
        if self._pool is None:
            self._batcher.put_outcome(outcome)
            return
        self._window.append((outcome.source_name, None, outcome))
        self._drain(self._limit)

    def _drain(self, keep: int) -> None:
        while len(self._window) > keep:
            name, data, pending = self._window.popleft()
            if isinstance(pending, IngestOutcome):
                self._batcher.put_outcome(pending)
                continue
            assert data is not None
            timeout = settings.DICOM_IMPORT_CHECK_TIMEOUT_S
            try:
                result = pending.get(timeout=timeout)
            except multiprocessing.TimeoutError:
                self._batcher.put_outcome(
                    IngestOutcome(
                        status="rejected",
                        source_name=name,
                        code=CHECK_FAILED,
                        reason=f"checking the file took over {timeout} s (its process hung or died)",
                    )
                )
                continue
            self._batcher.put(name, data, as_check(result))  # type: ignore[arg-type]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._drain(0)
        finally:
            if self._pool is not None:
                self._pool.terminate() if exc_type is not None else self._pool.close()
                self._pool.join()
