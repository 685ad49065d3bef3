"""Per-project counters for the project list, as subqueries (one SQL query for the whole page)."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from annotations.models import Item, Membership, Project, Skip, Submission

# Items left for a doctor are counted up to this many: an exact count read every eligible row
# of the project on each queue request (450 ms at 200,000 items, decision 0185); "1000" reads
# as "1000 or more".
REMAINING_CAP = 1000


class _BoundedCount(Subquery):
    """count(*) of a sliced subquery: at most its LIMIT rows are read."""

    template = "(SELECT count(*) FROM (%(subquery)s) AS bounded)"
    output_field = IntegerField()


def _count(qs: QuerySet) -> Coalesce:
    sub = qs.order_by().values("project").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))


def with_my_progress(
    projects: QuerySet[Project], user: AbstractBaseUser | AnonymousUser
) -> QuerySet[Project]:
    """`n_my_submitted` (reads the user made) and `n_remaining_for_me` (items the user may still
    read, leased by someone or not: the queue's eligibility rule, annotations.services.queue;
    at most REMAINING_CAP)."""
    user_id = cast(int, user.pk)
    mine = Submission.objects.filter(item=OuterRef("pk"), user_id=user_id)
    skipped = Skip.objects.filter(item=OuterRef("pk"), user_id=user_id)
    remaining = (
        Item.objects.filter(
            project=OuterRef("pk"), completed=False, reads_done__lt=OuterRef("readers_per_item")
        )
        .exclude(Exists(mine))
        .exclude(Exists(skipped))
    )
    # Submission.project, not a join to items: counted in the index submission_doctor_time
    # (an index-only scan of this doctor's reads in the project). Through the items it cost
    # 0.5 s per queue request for a doctor with 10,000 reads at a million items (decision 0192).
    my_submitted = Submission.objects.filter(project=OuterRef("pk"), user_id=user_id)
    return projects.annotate(
        n_my_submitted=Coalesce(
            Subquery(
                my_submitted.order_by().values("project").annotate(n=Count("*")).values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        ),
        n_remaining_for_me=_BoundedCount(remaining.values("pk")[:REMAINING_CAP]),
    )


def with_counts(
    projects: QuerySet[Project], user: AbstractBaseUser | AnonymousUser
) -> QuerySet[Project]:
    user_id = cast(int, user.pk)
    items = Item.objects.filter(project=OuterRef("pk"))
    role = Membership.objects.filter(project=OuterRef("pk"), user_id=user_id).values("role")[:1]
    return with_my_progress(projects, user).annotate(
        n_items=_count(items),
        n_completed=_count(items.filter(completed=True)),
        member_role=Subquery(role),
    )
