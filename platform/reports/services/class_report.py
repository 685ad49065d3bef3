"""The per-class table of a model version, from its stored test metrics (ml_worker.evaluation and
ml_worker.multilabel write them): precision, recall, F1 and support per class (per label for a
multi-label model, with each label's AUC), the micro, macro and weighted averages, and the
confusion matrix. One shape for the dashboard, its version comparison and the study report."""

from __future__ import annotations

from typing import Any

AVERAGES = ("micro", "macro", "weighted")
METRICS = ("precision", "recall", "f1", "support")


def _row(name: str, values: dict[str, Any], auc: Any = None) -> dict[str, Any]:
    return {"name": name, **{m: values.get(m) for m in METRICS}, "auc": auc}


def class_report(test: dict[str, Any] | None) -> dict[str, Any] | None:
    """None when the version stored no per-class figures (a segmentation model, an empty test
    split)."""
    per_class = (test or {}).get("per_class")
    if not per_class:
        return None
    assert test is not None
    names = list(test.get("class_names") or per_class)
    per_label = test.get("per_label") or {}
    rows = [
        _row(name, per_class[name], (per_label.get(name) or {}).get("auc"))
        for name in names
        if name in per_class
    ]
    averages = []
    for kind in AVERAGES:
        values = test.get(f"{kind}_avg")
        if values is None and kind == "micro" and not test.get("multi_label"):
            # Versions stored before the micro average: with one label per item it equals
            # accuracy for precision, recall and F1.
            accuracy = test.get("accuracy")
            support = sum(int(r["support"] or 0) for r in rows)
            values = {"precision": accuracy, "recall": accuracy, "f1": accuracy, "support": support}
        if values is not None:
            averages.append(_row(kind, values, test.get("auc") if kind == "macro" else None))
    matrix = test.get("confusion_matrix")
    return {
        "multi_label": bool(test.get("multi_label")),
        "n": test.get("n", 0),
        "rows": rows,
        "averages": averages,
        "class_names": names,
        "confusion_matrix": matrix,
    }


def matrix_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The confusion matrix as named rows (true class, counts per predicted class), for tables."""
    matrix = report.get("confusion_matrix") or []
    return [{"name": n, "counts": c} for n, c in zip(report["class_names"], matrix, strict=False)]
