"""Personas for workflow tests: an admin, a reviewer, two annotators, an outsider, anonymous."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from annotations.models import Project
from tests.annotations.factories import add_member, make_project


@dataclass
class Team:
    project: Project
    admin: Any
    reviewer: Any
    annotator: Any
    second_annotator: Any
    outsider: Any

    def client(self, user: Any | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client


@pytest.fixture
def team(db: None, make_user: Any) -> Team:
    project = make_project(items=6)
    people = {name: make_user(name) for name in ("alice", "rita", "anna", "ben", "otto")}
    add_member(project, people["alice"], "admin")
    add_member(project, people["rita"], "reviewer")
    add_member(project, people["anna"], "annotator")
    add_member(project, people["ben"], "annotator")
    return Team(
        project=project,
        admin=people["alice"],
        reviewer=people["rita"],
        annotator=people["anna"],
        second_annotator=people["ben"],
        outsider=people["otto"],
    )
