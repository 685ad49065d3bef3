"""Hooks other apps call when something happens that may need a new model.

`on_labels_submitted` is called by the workflow after each submit commits. It is cheap (two
counts) and never raises into the caller: a failure to schedule training must not lose a label.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def on_labels_submitted(project_id: int) -> None:
    """Request an automatic training run once `Project.retrain_every` new labels have arrived."""
    from learning.services.runs import maybe_request_auto_run

    try:
        maybe_request_auto_run(project_id)
    except Exception:  # the doctor's submit already committed: log and move on
        logger.exception("could not schedule automatic training for project %s", project_id)
