"""The work queue: lease the highest-priority items to a doctor, never one item to two doctors.

Invariants (tests/annotations/test_queue_concurrency.py checks them under load):
- at most one open lease per item (also a partial unique index, Lease "one_open_lease");
- an item gets at most `readers_per_item` reads, never two by the same doctor
  (Submission "one_read_per_doctor");
- a doctor who skipped an item is not offered it again;
- an expired lease returns its item to the pool: the next claimer closes it as "expired".

PostgreSQL: candidates are locked with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent doctors
take different rows without waiting (the Label Studio next_task pattern). The claim also writes
Item.lease_expires_at; PostgreSQL re-checks the WHERE clause on a row that changed after the
statement's snapshot, so a claimer that read an old snapshot cannot lease it a second time.
Other databases (SQLite): each candidate is claimed by a conditional UPDATE that only succeeds
while the item is still free; SQLite runs one writer at a time, so the UPDATE is the arbiter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from annotations.models import Item, Lease, Project, Skip, Submission

MAX_BATCH = 3
# Rounds of "fetch a few free candidates, try each" before the SQLite path gives up: each
# round re-reads the pool, so only heavy contention needs more than one.
CLAIM_ROUNDS = 20


@dataclass
class Progress:
    submitted_by_me: int
    remaining: int


def free_now(now: datetime) -> Q:
    return Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)


def eligible_items(project: Project, user: AbstractBaseUser) -> QuerySet[Item]:
    """Items this doctor may still read, leased by someone or not."""
    return (
        Item.objects.filter(
            project=project, completed=False, reads_done__lt=project.readers_per_item
        )
        .exclude(Exists(Submission.objects.filter(item=OuterRef("pk"), user_id=user.pk)))
        .exclude(Exists(Skip.objects.filter(item=OuterRef("pk"), user_id=user.pk)))
    )


def next_leases(project: Project, user: AbstractBaseUser, count: int) -> list[Lease]:
    """Up to `count` leases: the caller's unexpired ones first (oldest first), then new ones."""
    now = timezone.now()
    held = list(
        Lease.objects.filter(
            item__project=project, user_id=user.pk, closed_at__isnull=True, expires_at__gt=now
        )
        .select_related("item")
        .order_by("created_at", "pk")[:count]
    )
    need = count - len(held)
    if need <= 0:
        return held
    expires = now + timedelta(seconds=project.lease_seconds)
    candidates = eligible_items(project, user).filter(free_now(now)).order_by("-priority", "pk")
    if connection.vendor == "postgresql":
        fresh = _claim_with_row_locks(candidates, user, need, now, expires)
    else:
        fresh = _claim_with_conditional_update(project, candidates, user, need, now, expires)
    return held + fresh


def _claim_with_row_locks(
    candidates: QuerySet[Item], user: AbstractBaseUser, need: int, now: datetime, expires: datetime
) -> list[Lease]:
    with transaction.atomic():
        items = list(candidates.select_for_update(skip_locked=True, of=("self",))[:need])
        return [_grant(item, user, now, expires) for item in items]


def _claim_with_conditional_update(
    project: Project,
    candidates: QuerySet[Item],
    user: AbstractBaseUser,
    need: int,
    now: datetime,
    expires: datetime,
) -> list[Lease]:
    leases: list[Lease] = []
    tried: set[int] = set()
    for _ in range(CLAIM_ROUNDS):
        ids = [
            pk
            for pk in candidates.exclude(pk__in=tried).values_list("pk", flat=True)[: need * 4]
            if pk not in tried
        ]
        if not ids:
            break
        for pk in ids:
            tried.add(pk)
            # The UPDATE is the transaction's first statement, so SQLite takes its write lock
            # before reading anything and the condition is evaluated under that lock.
            with transaction.atomic():
                claimed = (
                    Item.objects.filter(
                        pk=pk, completed=False, reads_done__lt=project.readers_per_item
                    )
                    .filter(free_now(now))
                    .update(lease_expires_at=expires)
                )
                if claimed:
                    item = Item(pk=pk, project_id=project.pk)
                    leases.append(_grant(item, user, now, expires, already_marked=True))
            if len(leases) == need:
                return leases
    return leases


def _grant(
    item: Item,
    user: AbstractBaseUser,
    now: datetime,
    expires: datetime,
    *,
    already_marked: bool = False,
) -> Lease:
    """Close the item's expired lease (if any) and open one for `user`; caller holds the row."""
    Lease.objects.filter(item=item, closed_at__isnull=True).update(closed_at=now, outcome="expired")
    if not already_marked:
        Item.objects.filter(pk=item.pk).update(lease_expires_at=expires)
    item.lease_expires_at = expires
    return Lease.objects.create(item=item, user_id=user.pk, expires_at=expires)


def progress(project: Project, user: AbstractBaseUser) -> Progress:
    return Progress(
        submitted_by_me=Submission.objects.filter(item__project=project, user_id=user.pk).count(),
        remaining=eligible_items(project, user).count(),
    )
