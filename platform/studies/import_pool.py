"""Parse and check a folder import's files in several processes (decision 0190).

Reading, validating and decoding a DICOM file (studies.ingest.check_object) is CPU work that
needs no database; indexing is database work that must stay in one process to keep its
batching and transactions (studies.ingest_batch). So the import hands the files' bytes to a
pool of processes, CHUNK files per task (one task per file spent more time in the pool's
hand-offs than in checking), and feeds their results, in the files' order, to the same Batcher a
one-process import uses: the same batches, the same transactions, the same outcomes.

At most `workers * 2` chunks are in flight, so memory stays bounded whatever the folder's size.
A process that dies or hangs costs its chunk's files (rejected with the reason) after
DICOM_IMPORT_CHECK_TIMEOUT_S, not the import.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from multiprocessing.pool import AsyncResult, Pool
from types import TracebackType
from typing import Any

from django.conf import settings

from studies import import_worker
from studies.ingest import IngestOutcome
from studies.ingest_batch import Batcher, as_check

CHECK_FAILED = "check-failed"
CHUNK = 16

# A file waiting for its check: (name, bytes), or an outcome decided without checking.
Entry = tuple[str, bytes] | IngestOutcome


class CheckPool:
    def __init__(self, workers: int, batcher: Batcher) -> None:
        self._batcher = batcher
        self._workers = max(1, workers)
        self._pool: Pool | None = None
        self._chunk: list[Entry] = []
        self._window: deque[tuple[list[Entry], AsyncResult[list[Any]] | None]] = deque()

    def __enter__(self) -> CheckPool:
        if self._workers > 1:
            # Fresh interpreters ("spawn"), not forks: a forked child inherits the parent's
            # sockets and runs multiprocessing's after-fork hooks, and kombu's hook closes the
            # inherited Redis channel by reading the reply of a BRPOP the parent (an in-process
            # Celery consumer) is waiting on: the child hangs for ever and the import with it.
            # A spawned child shares nothing but the task pipe; it sets Django up once (the
            # check imports the studies app) and never touches the database.
            self._pool = multiprocessing.get_context("spawn").Pool(
                self._workers, initializer=import_worker.init
            )
        return self

    def put(self, name: str, data: bytes) -> None:
        if self._pool is None:
            self._batcher.put(name, data)  # checked in ingest_many, in this process
            return
        self._add((name, data))

    def put_outcome(self, outcome: IngestOutcome) -> None:
        """An outcome decided without checking (a refused source), kept in the files' order."""
        if self._pool is None:
            self._batcher.put_outcome(outcome)
            return
        self._add(outcome)

    def _add(self, entry: Entry) -> None:
        self._chunk.append(entry)
        if len(self._chunk) >= CHUNK:
            self._submit()
            self._drain(self._workers * 2)

    def _submit(self) -> None:
        chunk, self._chunk = self._chunk, []
        if not chunk:
            return
        datas = [entry[1] for entry in chunk if not isinstance(entry, IngestOutcome)]
        assert self._pool is not None
        pending = self._pool.apply_async(import_worker.check_chunk, (datas,)) if datas else None
        self._window.append((chunk, pending))

    def _drain(self, keep: int) -> None:
        timeout = settings.DICOM_IMPORT_CHECK_TIMEOUT_S
        while len(self._window) > keep:
            chunk, pending = self._window.popleft()
            try:
                results = iter(pending.get(timeout=timeout) if pending is not None else [])
                failed = ""
            except multiprocessing.TimeoutError:
                results = iter([])
                failed = f"checking the file took over {timeout} s (its process hung or died)"
            for entry in chunk:
                if isinstance(entry, IngestOutcome):
                    self._batcher.put_outcome(entry)
                elif failed:
                    self._batcher.put_outcome(
                        IngestOutcome(
                            status="rejected",
                            source_name=entry[0],
                            code=CHECK_FAILED,
                            reason=failed,
                        )
                    )
                else:
                    self._batcher.put(entry[0], entry[1], as_check(next(results)))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and self._pool is not None:
                self._submit()
                self._drain(0)
        finally:
            if self._pool is not None:
                self._pool.terminate() if exc_type is not None else self._pool.close()
                self._pool.join()
