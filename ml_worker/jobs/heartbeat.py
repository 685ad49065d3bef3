"""A background thread that proves a training job's worker is alive.

Per-epoch progress also beats the heart, but data loading, evaluation, scoring or one long epoch
on a large model can outlast TRAINING_HEARTBEAT_TIMEOUT_S; the thread keeps beating through
those. When the process dies (SIGKILL, OOM, power) the beats stop and the stale-run detector
queues the run again or marks it failed (decision 0190).
"""

from __future__ import annotations

import threading
from types import TracebackType

from django.db import connection

from learning.services.runs import heartbeat
from ml_worker.jobs.db_retry import DB_HICCUPS, with_db_retry


class Heartbeat:
    def __init__(self, run_id: int, interval_s: float, attempt: int | None = None) -> None:
        self.run_id = run_id
        self.attempt = attempt  # the claim this worker holds (learning.services.runs._ours)
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)
        self.lost = threading.Event()  # set when the run is no longer ours (failed, requeued)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    alive = with_db_retry(heartbeat, self.run_id, self.attempt)
                except DB_HICCUPS:
                    continue  # the database is still away: beat again next interval
                if not alive:
                    self.lost.set()
                    return
        finally:
            connection.close()  # this thread's own database connection

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 5)
