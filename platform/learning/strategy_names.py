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
    # Detection (ml_worker.strategies.detection): over the detector's boxes and scores.
    "det_budget_aware",
    "det_diversity",
    "det_flip_disagreement",
    "det_uncertainty",
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

# The strategies that apply to each task type with a learning loop (ml_worker.task_types lists the
# same per entry; tests/ml/test_task_strategy_names.py keeps the two equal). A project of a task
# type absent here has no loop yet: any registered name is accepted and none is used.
STRATEGIES_BY_TASK: dict[str, tuple[str, ...]] = {
    "classification": (
        "random",
        "least_confidence",
        "margin",
        "entropy",
        "bald",
        "diversity",
        "cold_start",
        "budget_aware",
    ),
    "segmentation": (
        "random",
        "seg_entropy",
        "seg_disagreement",
        "seg_diversity",
        "cold_start",
        "seg_budget_aware",
    ),
    "detection": (
        "random",
        "det_uncertainty",
        "det_flip_disagreement",
        "det_diversity",
        "cold_start",
        "det_budget_aware",
    ),
}
# What a project of that task type scores with when its stored strategy does not apply to it
# (the model default "budget_aware" on a segmentation project created before this table).
DEFAULT_STRATEGY_BY_TASK = {
    "classification": "budget_aware",
    "segmentation": "seg_budget_aware",
    "detection": "det_budget_aware",
}


def strategies_for(task_type: str) -> tuple[str, ...]:
    return STRATEGIES_BY_TASK.get(task_type, STRATEGY_NAMES)


def effective_strategy(task_type: str, strategy: str) -> str:
    """The strategy a scoring pass uses: the project's, else its task's default."""
    if strategy in strategies_for(task_type):
        return strategy
    return DEFAULT_STRATEGY_BY_TASK.get(task_type, strategy)
