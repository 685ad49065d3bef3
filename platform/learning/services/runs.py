"""The training-run lifecycle: queued → running → succeeded | failed | cancelled.

Every transition is a conditional UPDATE on the current status, so two workers, a retried
message or the stale-run detector racing a slow worker can never both win. Two partial unique
constraints on TrainingRun keep at most one running and one queued run per project: a request
made while a run is queued joins it, so requests coalesce into one follow-up run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, TextField, Value
from django.db.models.functions import Concat
from django.utils import timezone

from annotations.access import is_project_admin
from annotations.models import Annotation, Item, Project
from core import dispatch
from learning.models import ModelVersion, RunKind, RunStatus, TrainingRun
from learning.services.checkpoint_files import remove_orphan_checkpoints

User = AbstractBaseUser | AnonymousUser

STALE_RUN_ERROR = (
    "The worker stopped sending heartbeats (it died, was killed or lost its connection). "
    "The previous model stays active; start a new run when the worker is back."
)
SUPERSEDED_ERROR = (
    "The worker stopped sending heartbeats (it died, was killed or lost its connection). "
    "The queued run {follow_up} trains on the same labels and more, so it takes this one's place."
)


class RunError(Exception):
    """A request the caller may not make or that does not fit the run's state."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def labelled_item_count(project_id: int) -> int:
    """Items that carry at least one current, not deleted annotation (human or imported)."""
    labelled = Annotation.objects.filter(item=OuterRef("pk"), is_current=True, deleted=False)
    return Item.objects.filter(project_id=project_id).filter(Exists(labelled)).count()


# --- requests and triggers -------------------------------------------------------------------


def check_can_request_run(user: User, project: Project) -> None:
    if not is_project_admin(user, project):
        raise RunError("only the project's admins can start training", status=403)


def do_request_run(
    project: Project,
    *,
    user: User | None = None,
    trigger: str = "manual",
    config: dict[str, Any] | None = None,
) -> tuple[TrainingRun, bool]:
    """Queue a run for the project, or join the one already queued. Returns (run, created).

    Joining keeps the queued run's settings unless this request brings its own (the newest
    explicit request wins); either way one follow-up run trains on all labels present then.
    """
    fail_stale_runs()
    count = labelled_item_count(project.pk)
    requested_by = user.pk if user is not None and user.is_authenticated else None
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                project=project,
                trigger=trigger,
                requested_by_id=requested_by,
                label_count=count,
                config=config or {},
                dispatched_at=timezone.now(),
            )
            # Always send: if a run is still going, this claim fails harmlessly and the running
            # one hands over when it ends (see _hand_over), whatever the interleaving.
            dispatch.after_commit(dispatch.TRAIN, run.pk)
    except IntegrityError:
        queued = TrainingRun.objects.filter(
            project=project, status=RunStatus.QUEUED, kind=RunKind.SUPERVISED
        ).first()
        if queued is None:  # the queued run started between our insert and this read: retry
            return do_request_run(project, user=user, trigger=trigger, config=config)
        if config:
            TrainingRun.objects.filter(pk=queued.pk, status=RunStatus.QUEUED).update(config=config)
            queued.refresh_from_db()
        return queued, False
    return run, True


def maybe_request_auto_run(project_id: int) -> TrainingRun | None:
    """Queue an automatic run once `retrain_every` labels arrived since the last run started."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None or project.retrain_every == 0:
        return None
    runs = TrainingRun.objects.filter(project_id=project_id, kind=RunKind.SUPERVISED)
    if runs.filter(status=RunStatus.QUEUED).exists():
        return None  # the queued run will train on these labels too
    last = runs.order_by("-created_at", "-pk").first()
    baseline = last.label_count if last is not None else 0
    if labelled_item_count(project_id) - baseline < project.retrain_every:
        return None
    run, _ = do_request_run(project, trigger="auto")
    return run


def do_request_pretrain(project: Project, *, trigger: str = "pool") -> TrainingRun | None:
    """Queue a pretraining run (ml_worker.jobs.pretrain); None when one is already queued (it
    will read the pool as it is when it starts)."""
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                project=project,
                kind=RunKind.PRETRAIN,
                trigger=trigger,
                label_count=labelled_item_count(project.pk),
                dispatched_at=timezone.now(),
            )
            dispatch.after_commit(dispatch.PRETRAIN, run.pk)
    except IntegrityError:
        return None
    return run


# --- the worker's side -----------------------------------------------------------------------


def claim_run(run_id: int, worker: str) -> TrainingRun | None:
    """Move a queued run to running. None when it is gone, not queued, or another run is going."""
    run = TrainingRun.objects.filter(pk=run_id).only("project_id").first()
    if run is None:
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = TrainingRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
                status=RunStatus.RUNNING,
                started_at=now,
                heartbeat_at=now,
                worker=worker[:200],
                attempts=F("attempts") + 1,
                label_count=labelled_item_count(run.project_id),
            )
    except IntegrityError:
        return None  # one_running_run_per_project: the running run dispatches us when it ends
    if not claimed:
        return None
    return TrainingRun.objects.get(pk=run_id)


def _ours(run_id: int, attempt: int | None) -> Any:
    """The run while it is running under this claim. A worker passes the attempt it claimed: once
    the stale-run check queued the run again (and another worker claimed it), a worker that was
    only cut off, not dead, matches nothing and stops (decision 0190)."""
    running = TrainingRun.objects.filter(pk=run_id, status=RunStatus.RUNNING)
    return running if attempt is None else running.filter(attempts=attempt)


def heartbeat(run_id: int, attempt: int | None = None) -> bool:
    """Prove the worker is alive. False once the run is no longer running (stop working)."""
    return bool(_ours(run_id, attempt).update(heartbeat_at=timezone.now()))


def record_progress(run_id: int, progress: dict[str, Any], attempt: int | None = None) -> bool:
    """Save per-epoch progress (and beat the heart). False once the run is no longer running."""
    return bool(_ours(run_id, attempt).update(progress=progress, heartbeat_at=timezone.now()))


def should_stop(run_id: int, attempt: int | None = None) -> bool:
    """True when an admin asked to cancel, or the run was marked failed or requeued behind our
    back."""
    return not _ours(run_id, attempt).filter(cancel_requested=False).exists()


def finish_run(
    run_id: int,
    status: RunStatus,
    *,
    error: str = "",
    log: str = "",
    model_version: ModelVersion | None = None,
    attempt: int | None = None,
) -> bool:
    """Record the outcome of a running run and start the queued follow-up, if any."""
    run = TrainingRun.objects.filter(pk=run_id).only("project_id").first()
    if run is None:
        return False
    with transaction.atomic():
        done = _ours(run_id, attempt).update(
            status=status,
            error=error[:10_000],
            # After what the stale-run check noted of earlier attempts (empty otherwise).
            log=Concat(F("log"), Value(log), output_field=TextField()),
            model_version=model_version,
            finished_at=timezone.now(),
        )
        _hand_over(run.project_id)
    return bool(done)


def _hand_over(project_id: int) -> None:
    """Send every queued follow-up (one per kind): the first claim wins, the other waits for
    the next hand-over."""
    for follow_up in TrainingRun.objects.filter(
        project_id=project_id, status=RunStatus.QUEUED
    ).order_by("pk"):
        _send_train(follow_up.pk)


def mark_undispatched(run_id: int) -> None:
    """Its message never reached the broker: date the dispatch far back, so the next
    fail_stale_runs re-sends it instead of waiting TRAINING_REDISPATCH_AFTER_S."""
    never = timezone.now() - timedelta(days=365)
    TrainingRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(dispatched_at=never)


def _send_train(run_id: int) -> None:
    TrainingRun.objects.filter(pk=run_id).update(dispatched_at=timezone.now())
    kind = TrainingRun.objects.filter(pk=run_id).values_list("kind", flat=True).first()
    dispatch.after_commit(dispatch.PRETRAIN if kind == RunKind.PRETRAIN else dispatch.TRAIN, run_id)


# --- cancellation ----------------------------------------------------------------------------


def check_can_cancel(user: User, run: TrainingRun) -> None:
    if not is_project_admin(user, run.project):
        raise RunError("only the project's admins can cancel training", status=403)
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        raise RunError(f"the run is already {run.status}", status=409)


def do_cancel(run: TrainingRun) -> TrainingRun:
    """A queued run is cancelled at once; a running one at its next should_stop check."""
    now = timezone.now()
    cancelled_queued = TrainingRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.CANCELLED, cancel_requested=True, finished_at=now
    )
    if not cancelled_queued:
        TrainingRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            cancel_requested=True
        )
    run.refresh_from_db()
    return run


# --- dead workers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StaleCheck:
    failed: list[int]
    redispatched: list[int]
    requeued: list[int] = field(default_factory=list)


def fail_stale_runs(*, now: Any = None) -> StaleCheck:
    """Queue again (or fail) running runs whose heartbeat is too old; re-send forgotten queued
    runs.

    A SIGKILLed or crashed worker (or its whole host) cannot record its own end, and late
    acknowledgement cannot help: Redis hands an unacknowledged message back only after the
    visibility timeout, hours away. So this check ends the dead attempt (decision 0190):
    - a run with attempts left (TRAINING_MAX_ATTEMPTS) and no queued follow-up is queued again
      and sent, so another worker trains it from the start;
    - a run with a queued follow-up is failed: the follow-up trains on the same labels and more;
    - a run out of attempts is failed (a run that kills its worker is not looped).
    It runs periodically (beat), when a worker starts and before each new request. The previous
    model is untouched: versions are only activated after a run succeeds. Checkpoint files the
    dead attempt wrote and no version references are removed (decision 0349).
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT_S)
    failed: list[int] = []
    requeued: list[int] = []
    for run in TrainingRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff):
        stale = TrainingRun.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING, heartbeat_at__lt=cutoff
        )
        # A follow-up of the same kind (one queued run per project and kind): a queued
        # pretraining run does not supersede a supervised one, nor the other way round.
        follow_up = TrainingRun.objects.filter(
            project_id=run.project_id, status=RunStatus.QUEUED, kind=run.kind
        ).first()
        with transaction.atomic():
            if follow_up is None and run.attempts < settings.TRAINING_MAX_ATTEMPTS:
                # The row keeps its id, config and requester; the partial unique constraint
                # (one queued run per project) fails this if a follow-up was queued meanwhile.
                try:
                    with transaction.atomic():
                        marked = stale.update(
                            status=RunStatus.QUEUED,
                            worker="",
                            progress={},
                            started_at=None,
                            heartbeat_at=None,
                            log=Concat(
                                F("log"),
                                Value(f"attempt {run.attempts} lost with worker {run.worker}\n"),
                                output_field=TextField(),
                            ),
                        )
                except IntegrityError:
                    marked = 0
                if marked:
                    requeued.append(run.pk)
                    # Before the commit that lets a worker claim the run: the next attempt
                    # writes the same checkpoint path.
                    remove_orphan_checkpoints(run.project_id, run.pk)
                    _send_train(run.pk)
                    continue
                follow_up = TrainingRun.objects.filter(
                    project_id=run.project_id, status=RunStatus.QUEUED, kind=run.kind
                ).first()
            error = (
                STALE_RUN_ERROR
                if follow_up is None
                else SUPERSEDED_ERROR.format(follow_up=follow_up.pk)
            )
            if stale.update(status=RunStatus.FAILED, error=error, finished_at=now):
                failed.append(run.pk)
                _hand_over(run.project_id)
        if run.pk in failed:
            # After the commit: the run is failed for good, so no worker will register its file.
            remove_orphan_checkpoints(run.project_id, run.pk)
    # A queued run whose message was lost (broker flushed, worker crashed before acking) would
    # wait forever; sending it again is harmless because the claim is conditional.
    forgotten = (
        TrainingRun.objects.filter(
            status=RunStatus.QUEUED,
            dispatched_at__lt=now - timedelta(seconds=settings.TRAINING_REDISPATCH_AFTER_S),
        )
        .exclude(project__training_runs__status=RunStatus.RUNNING)
        .exclude(pk__in=requeued)
    )
    redispatched = list(forgotten.values_list("pk", flat=True))
    for run_id in redispatched:
        with transaction.atomic():
            _send_train(run_id)
    return StaleCheck(failed=failed, redispatched=redispatched, requeued=requeued)
