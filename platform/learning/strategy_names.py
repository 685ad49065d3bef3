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
    "det_expected_error",
    "det_flip_disagreement",
    "det_uncertainty",
    "det_uncertainty_mixed",
    "diversity",
    "entropy",
    "least_confidence",
    "margin",
    # Multi-label classification (ml_worker.strategies.multilabel): over independent labels.
    "ml_bald",
    "ml_entropy",
    "random",
    # Segmentation (ml_worker.strategies.segmentation): over pixel probability maps.
    "seg_budget_aware",
    "seg_disagreement",
    "seg_diversity",
    "seg_entropy",
    "seg_expected_dice",
    # TypiClust (ml_worker.strategies.typiclust): typical images of uncovered regions.
    "typiclust",
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
        "typiclust",
    ),
    "segmentation": (
        "random",
        "seg_entropy",
        "seg_disagreement",
        "seg_expected_dice",
        "seg_diversity",
        "cold_start",
        "seg_budget_aware",
    ),
    "detection": (
        "random",
        "det_uncertainty",
        "det_uncertainty_mixed",
        "det_expected_error",
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


# A multi-label classification project's outputs are independent per-label probabilities: the
# strategies that read a softmax vector do not apply to them (decision 0390).
MULTI_LABEL_STRATEGIES = ("random", "ml_entropy", "ml_bald", "diversity", "cold_start")
MULTI_LABEL_DEFAULT_STRATEGY = "ml_entropy"


def strategies_for(task_type: str, multi_label: bool = False) -> tuple[str, ...]:
    if multi_label and task_type == "classification":
        return MULTI_LABEL_STRATEGIES
    return STRATEGIES_BY_TASK.get(task_type, STRATEGY_NAMES)


def effective_strategy(task_type: str, strategy: str, multi_label: bool = False) -> str:
    """The strategy a scoring pass uses: the project's, else its task's default."""
    if strategy in strategies_for(task_type, multi_label):
        return strategy
    if multi_label and task_type == "classification":
        return MULTI_LABEL_DEFAULT_STRATEGY
    return DEFAULT_STRATEGY_BY_TASK.get(task_type, strategy)


# One line each, shown beside the choice on the project settings page (the doctor-facing words
# of ml_worker.strategies' docstrings). tests/annotations/test_project_settings.py checks every
# registered name has one.
STRATEGY_DESCRIPTIONS: dict[str, str] = {
    "bald": "Images the model's dropout samples disagree on (MC-dropout BALD) first.",
    "budget_aware": "Random until every class has labels enough, then uncertain and diverse "
    "images (decision 0331).",
    "cold_start": "Typical and mutually different images, from image features alone.",
    "det_budget_aware": "Random until the detector learns, then uncertain and diverse images "
    "(detection).",
    "det_diversity": "Uncertain images spread over the feature space (detection).",
    "det_expected_error": "Images whose proposed boxes the doctor would have to fix most, by the "
    "detector's own scores, first.",
    "det_flip_disagreement": "Images whose boxes move or vanish when the image is flipped first.",
    "det_uncertainty": "Images whose proposed boxes are least certain (or where nothing is "
    "confident) first.",
    "det_uncertainty_mixed": "Least certain images, with a share of random images in every "
    "batch (detection).",
    "diversity": "Uncertain images spread over the feature space, not near-duplicates.",
    "entropy": "Images whose predicted class probabilities are most spread out first.",
    "least_confidence": "Images whose top prediction the model is least sure of first.",
    "ml_bald": "Multi-label: images whose dropout samples disagree most, label by label (BALD "
    "averaged over labels).",
    "ml_entropy": "Multi-label: images whose labels are, on average, least certain (mean binary "
    "entropy).",
    "margin": "Images with the smallest gap between the two likeliest classes first.",
    "random": "Uniform random order: the baseline every other strategy must beat.",
    "seg_budget_aware": "Random until the model learns, then uncertain and diverse images "
    "(segmentation).",
    "seg_disagreement": "Images where the model's dropout samples draw different regions first.",
    "seg_diversity": "Uncertain images spread over the feature space (segmentation).",
    "seg_entropy": "Images with the most uncertain pixels in the region of interest first.",
    "seg_expected_dice": "Images whose suggested mask the model itself expects to be furthest "
    "from the truth (lowest expected Dice) first.",
    "typiclust": "The most typical image of each region no label covers yet, on self-supervised "
    "image features (TypiClust; for the first rounds).",
}
COLD_START_DESCRIPTIONS: dict[str, str] = {
    "random": "Before the first model: a reproducible random order, set when studies attach.",
    "diversity": "Before the first model: typical and mutually different images first, "
    "from image features.",
}
