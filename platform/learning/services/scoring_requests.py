"""Ask for a rescore of a project's pool (after rollback, new items, or for the cold start)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from annotations.access import is_project_admin
from annotations.models import ColdStart, Project
from core import dispatch
from learning.services.registry import active_version
from learning.services.runs import RunError

# What a rescore request queued (the API's `scoring` answer).
RESCORE_OUTCOMES = ("model", "cold_start", "nothing")


def request_rescore(user: AbstractBaseUser | AnonymousUser, project: Project) -> str:
    """Returns what was queued: "model" (active version), "cold_start" or "nothing"."""
    if not is_project_admin(user, project):
        raise RunError("only the project's admins can rescore the pool", status=403)
    return do_request_rescore(project)


def do_request_rescore(project: Project) -> str:
    version = active_version(project.pk)
    if version is not None:
        dispatch.after_commit(dispatch.SCORE, version.pk)
        return "model"
    if project.cold_start == ColdStart.DIVERSITY:
        dispatch.after_commit(dispatch.COLD_START, project.pk)
        return "cold_start"
    return "nothing"  # random cold start: the order set when items were attached stands
