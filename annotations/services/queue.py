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
The lock, the mark, closing a stale lease and the new leases are one SQL statement (one round
trip, whether 1 or 3 items).
Other databases (SQLite): each candidate is claimed by a conditional UPDATE that only succeeds
while the item is still free; SQLite runs one writer at a time, so the UPDATE is the arbiter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Random
from django.http import Http404
from django.utils import timezone

from annotations.access import member_projects
from annotations.models import Item, Lease, Project, Skip, Submission
from annotations.services.counts import with_my_progress
from annotations.services.errors import Invalid

MAX_BATCH = 3
# Decides whether a request joins the random stream (Project.random_share); tests replace it.
random_draw = random.random
# Rounds of "fetch a few free candidates, try each" before the SQLite path gives up: each
# round re-reads the pool, so only heavy contention needs more than one.
CLAIM_ROUNDS = 20


@dataclass
class Progress:
    submitted_by_me: int
    remaining: int


@dataclass
class OpenQueue:
    project: Project
    role: str
    progress: Progress
    holds_leases: bool  # the caller holds unexpired leases in this project


def open_queue(user: AbstractBaseUser, project_id: int) -> OpenQueue:
    """What a next call needs before claiming, in one query; 404 for outsiders.

    Progress is read before the claim because claiming changes neither count: `remaining` is
    the items this doctor may still read, whoever holds them now (eligible_items)."""
    now = timezone.now()
    held = Lease.objects.filter(
        item__project=OuterRef("pk"), user_id=user.pk, closed_at__isnull=True, expires_at__gt=now
    )
    project = (
        with_my_progress(member_projects(user), user)
        .annotate(holds_leases=Exists(held))
        .filter(pk=project_id)
        .first()
    )
    if project is None:
        raise Http404("no such project")
    progress = Progress(
        submitted_by_me=project.n_my_submitted,  # type: ignore[attr-defined]
        remaining=project.n_remaining_for_me,  # type: ignore[attr-defined]
    )
    return OpenQueue(
        project,
        project.member_role,  # type: ignore[attr-defined]
        progress,
        project.holds_leases,  # type: ignore[attr-defined]
    )


def check_count(body: Any) -> int:
    count = body.get("count", 1) if isinstance(body, dict) else None
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BATCH:
        raise Invalid({"count": [f"1 to {MAX_BATCH}"]})
    return count


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


def next_leases(
    project: Project, user: AbstractBaseUser, count: int, *, holds_leases: bool = True
) -> list[Lease]:
    """Up to `count` leases: the caller's unexpired ones first (oldest first), then new ones.

    `holds_leases=False` (open_queue found none) skips looking for the caller's leases."""
    now = timezone.now()
    held = []
    if holds_leases:
        held = list(
            Lease.objects.filter(
                item__project=project, user_id=user.pk, closed_at__isnull=True, expires_at__gt=now
            ).order_by("created_at", "pk")[:count]
        )
    need = count - len(held)
    if need <= 0:
        return held
    expires = now + timedelta(seconds=project.lease_seconds)
    # The random stream (decision 0332): this request draws uniformly from the free pool and
    # marks what it leases, for the shadow random-sampling baseline.
    at_random = project.random_share > 0 and random_draw() < project.random_share
    candidates = eligible_items(project, user).filter(free_now(now))
    candidates = (
        candidates.order_by(Random()) if at_random else candidates.order_by("-priority", "pk")
    )
    if connection.vendor == "postgresql":
        fresh = _claim_with_row_locks(candidates, user, need, now, expires, at_random)
    else:
        fresh = _claim_with_conditional_update(
            project, candidates, user, need, now, expires, at_random
        )
    return held + fresh


# PostgreSQL: lock, mark, close and lease in one statement (docs/decisions/0202). Data-modifying
# CTEs share one snapshot and run in an unspecified order, so `granted` reads `closed` through
# an aggregate: every stale open lease is closed before a new one meets one_open_lease.
# `picked` is materialized so both UPDATEs see the same locked rows. created_at is the clock
# when the row is written, after the lock: `now` was read before the statement, possibly
# before the previous holder's submit (and its closed_at) committed.
_CLAIM_SQL = """
WITH picked (id) AS MATERIALIZED ({candidates} FOR UPDATE OF {item} SKIP LOCKED),
marked AS (
    UPDATE {item} SET lease_expires_at = %s, served_at_random = served_at_random OR %s FROM picked
    WHERE {item}.id = picked.id RETURNING {item}.id, {item}.priority
),
closed AS (
    UPDATE {lease} SET closed_at = %s, outcome = 'expired' FROM picked
    WHERE {lease}.item_id = picked.id AND {lease}.closed_at IS NULL RETURNING {lease}.id
),
closed_first AS (SELECT count(*) FROM closed),
granted AS (
    INSERT INTO {lease} (item_id, user_id, created_at, expires_at, closed_at, outcome)
    SELECT marked.id, %s, clock_timestamp(), %s, NULL, '' FROM marked CROSS JOIN closed_first
    RETURNING {columns}
)
SELECT {granted_columns} FROM granted JOIN marked ON marked.id = granted.item_id
ORDER BY marked.priority DESC, marked.id
"""
_LEASE_COLUMNS = ("id", "item_id", "user_id", "created_at", "expires_at", "closed_at", "outcome")


def _claim_with_row_locks(
    candidates: QuerySet[Item],
    user: AbstractBaseUser,
    need: int,
    now: datetime,
    expires: datetime,
    at_random: bool = False,
) -> list[Lease]:
    """One statement, so one round trip and no explicit transaction: SELECT ... FOR UPDATE SKIP
    LOCKED over the ORM's candidates (the eligibility rules stay in eligible_items), mark the
    items, close any stale open lease on them (lapsed, or written before the mirror existed),
    insert the leases. The statement is atomic and holds its row locks until it commits."""
    picked, params = candidates.values_list("pk")[:need].query.sql_with_params()
    quote = connection.ops.quote_name
    sql = _CLAIM_SQL.format(
        candidates=picked,
        item=quote(Item._meta.db_table),
        lease=quote(Lease._meta.db_table),
        columns=", ".join(quote(c) for c in _LEASE_COLUMNS),
        granted_columns=", ".join(f"granted.{quote(c)}" for c in _LEASE_COLUMNS),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, expires, at_random, now, user.pk, expires])
        rows = cursor.fetchall()
    return [Lease.from_db(connection.alias, list(_LEASE_COLUMNS), row) for row in rows]


def _claim_with_conditional_update(
    project: Project,
    candidates: QuerySet[Item],
    user: AbstractBaseUser,
    need: int,
    now: datetime,
    expires: datetime,
    at_random: bool = False,
) -> list[Lease]:
    leases: list[Lease] = []
    marks: dict[str, object] = {"lease_expires_at": expires}
    if at_random:
        marks["served_at_random"] = True
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
                    .update(**marks)
                )
                if claimed:
                    # The UPDATE does not tell whether the item had a lapsed lease: close any.
                    Lease.objects.filter(item_id=pk, closed_at__isnull=True).update(
                        closed_at=now, outcome="expired"
                    )
                    leases.append(
                        Lease.objects.create(item_id=pk, user_id=user.pk, expires_at=expires)
                    )
            if len(leases) == need:
                return leases
    return leases
