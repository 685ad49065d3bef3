"""A project's agreement report: readers against each other and against adjudicated truth.

Classification: Cohen's kappa per pair of readers over the items both read, Fleiss' kappa over
items read by exactly `readers_per_item` readers, and each reader's accuracy and kappa against
the reviewers' adjudicated answers. A multi-label answer is compared as a whole set.
Shapes (boxes, polygons, masks): mean Dice and IoU per pair of readers and per reader against
adjudication, averaged over items. Intervals: 95% percentile bootstrap over items, reported only
from 10 items up.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet

from annotations.agreement import (
    Answer,
    answer_overlap,
    bootstrap,
    cohen_kappa,
    fleiss_kappa,
)
from annotations.ground_truth import ItemAnswers, collect_answers
from annotations.models import (
    Annotation,
    AnnotationSource,
    Item,
    Project,
    Submission,
    TaskType,
)

Category = tuple[str, ...]


def _category(answer: Answer) -> Category:
    return tuple(sorted(answer.labels))


def agreement_report(project: Project, *, compared_only: bool = False) -> dict[str, Any]:
    """`compared_only`: only items read twice or more or reviewed, the ones that enter a
    comparison (the dashboard's agreement per doctor); items_with_reads then counts only those.
    """
    # Only items someone read or reviewed count: loading every item of a million-item project
    # to drop the unread ones cost the dashboard seconds (docs/scale.md). A UNION of the two
    # (small) sets, not an OR of EXISTS, which PostgreSQL answers by reading every item.
    # Submission.project: the project's reads without a join to its items (decision 0192).
    read: QuerySet[Any, Any] = Submission.objects.filter(project=project).values("item_id")
    if compared_only:
        read = (
            Submission.objects.filter(project=project)
            .values("item_id")
            .annotate(n=Count("pk"))
            .filter(n__gte=2)
        ).values("item_id")
    reviewed = Annotation.objects.filter(
        item__project=project, source=AnnotationSource.REVIEW, is_current=True, deleted=False
    ).values("item_id")
    answered = Item.objects.filter(project=project, pk__in=read.union(reviewed))
    items = [
        a for a in collect_answers(project, answered.values("pk")).values() if a.readers or a.review
    ]
    user_ids = {r.author_id for a in items for r in a.readers if r.author_id is not None}
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    report: dict[str, Any] = {
        "project": project.pk,
        "task_type": project.task_type,
        "items_with_reads": sum(1 for a in items if a.readers),
        "items_reviewed": sum(1 for a in items if a.review),
    }
    if project.task_type == TaskType.CLASSIFICATION:
        report["classification"] = _classification(project, items, names)
    else:
        report["shapes"] = _shapes(items, names)
    return report


def _reader_pairs(items: list[ItemAnswers]) -> dict[tuple[int, int], list[tuple[Answer, Answer]]]:
    pairs: dict[tuple[int, int], list[tuple[Answer, Answer]]] = defaultdict(list)
    for entry in items:
        readers = sorted(
            (r for r in entry.readers if r.author_id is not None),
            key=lambda r: r.author_id or 0,
        )
        for a, b in combinations(readers, 2):
            pairs[(a.author_id or 0, b.author_id or 0)].append((a, b))
    return pairs


def _classification(
    project: Project, items: list[ItemAnswers], names: dict[int, str]
) -> dict[str, Any]:
    def kappa_of(units: list[tuple[Category, Category]]) -> float:
        return cohen_kappa([u[0] for u in units], [u[1] for u in units])

    def accuracy_of(units: list[tuple[Category, Category]]) -> float:
        return float(np.mean([u[0] == u[1] for u in units])) if units else float("nan")

    pairs = []
    for (a, b), answers in sorted(_reader_pairs(items).items()):
        units = [(_category(x), _category(y)) for x, y in answers]
        pairs.append(
            {
                "reader_a": names.get(a, str(a)),
                "reader_b": names.get(b, str(b)),
                "cohen_kappa": bootstrap(kappa_of, units).as_dict(),
                "percent_agreement": bootstrap(accuracy_of, units).as_dict(),
            }
        )
    n = project.readers_per_item
    full = [[_category(r) for r in a.readers] for a in items if n >= 2 and len(a.readers) == n]
    fleiss = (
        bootstrap(fleiss_kappa, full).as_dict()
        if full
        else {"estimate": None, "ci95": None, "n": 0}
    )
    per_reader = []
    against: dict[int, list[tuple[Category, Category]]] = defaultdict(list)
    for entry in items:
        if entry.review is None:
            continue
        for reader in entry.readers:
            if reader.author_id is not None:
                against[reader.author_id].append((_category(reader), _category(entry.review)))
    for user_id, units in sorted(against.items()):
        per_reader.append(
            {
                "reader": names.get(user_id, str(user_id)),
                "accuracy": bootstrap(accuracy_of, units).as_dict(),
                "cohen_kappa": bootstrap(kappa_of, units).as_dict(),
            }
        )
    return {"pairs": pairs, "fleiss_kappa": fleiss, "readers_vs_adjudication": per_reader}


def _shapes(items: list[ItemAnswers], names: dict[int, str]) -> dict[str, Any]:
    def mean_of(index: int) -> Any:
        def statistic(units: list[tuple[float, float]]) -> float:
            return float(np.mean([u[index] for u in units])) if units else float("nan")

        return statistic

    def summary(units: list[tuple[float, float]]) -> dict[str, Any]:
        return {
            "dice": bootstrap(mean_of(0), units).as_dict(),
            "iou": bootstrap(mean_of(1), units).as_dict(),
        }

    dims = {a.item.pk: _dims(a) for a in items}
    pair_units: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    all_units: list[tuple[float, float]] = []
    for entry in items:
        rows, cols = dims[entry.item.pk]
        readers = sorted(
            (r for r in entry.readers if r.author_id is not None), key=lambda r: r.author_id or 0
        )
        for a, b in combinations(readers, 2):
            overlap = answer_overlap(a, b, rows, cols)
            if overlap is not None:
                pair_units[(a.author_id or 0, b.author_id or 0)].append(overlap)
                all_units.append(overlap)
    pairs = [
        {"reader_a": names.get(a, str(a)), "reader_b": names.get(b, str(b)), **summary(units)}
        for (a, b), units in sorted(pair_units.items())
    ]
    against: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for entry in items:
        if entry.review is None:
            continue
        rows, cols = dims[entry.item.pk]
        for reader in entry.readers:
            overlap = answer_overlap(reader, entry.review, rows, cols)
            if overlap is not None and reader.author_id is not None:
                against[reader.author_id].append(overlap)
    per_reader = [
        {"reader": names.get(u, str(u)), **summary(units)} for u, units in sorted(against.items())
    ]
    return {"all_pairs": summary(all_units), "pairs": pairs, "readers_vs_adjudication": per_reader}


def _dims(entry: ItemAnswers) -> tuple[int | None, int | None]:
    instance = entry.item.instance
    return (instance.rows, instance.columns) if instance is not None else (None, None)
