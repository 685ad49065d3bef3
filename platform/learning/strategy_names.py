"""The names of the active-learning strategies, for both sides of the queue (decision 0913).

The web validates a project's `strategy` and `cold_start` against them and shows them as choices
in the API schema; ml_worker.strategies registers exactly these (register() refuses any other
name). Pure Python: the worker imports it without Django, the web without torch or numpy.
"""

from __future__ import annotations

STRATEGY_NAMES = (
    "bald",
    "budget_aware",
    "cold_start",
    "diversity",
    "entropy",
    "least_confidence",
    "margin",
    "random",
    # Segmentation (ml_worker.strategies.segmentation): over pixel probability maps.
    "seg_budget_aware",
    "seg_disagreement",
    "seg_diversity",
    "seg_entropy",
)
