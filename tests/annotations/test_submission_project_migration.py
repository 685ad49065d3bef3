"""Migration annotations 0011 gives every existing read its item's project (decision 0192): the
dashboard and the queue's counts select reads by Submission.project alone, so a read left
without it, or with another project's, would silently drop out of (or into) the figures."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("annotations", "0010_queue_and_dashboard_indexes")]
AFTER = [("annotations", "0011_submission_project")]


@pytest.mark.django_db(transaction=True)
def test_existing_reads_get_their_items_project() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    doctor = old.get_model("auth", "User").objects.create(username="reader")
    Project = old.get_model("annotations", "Project")
    Item = old.get_model("annotations", "Item")
    Submission = old.get_model("annotations", "Submission")
    expected = {}
    for name in ("first", "second"):
        project = Project.objects.create(name=name, task_type="classification")
        for _ in range(3):
            item = Item.objects.create(project=project)
            Submission.objects.create(item=item, user=doctor, time_spent_ms=1000)
            expected[item.pk] = project.pk

    executor = MigrationExecutor(connection)  # a fresh graph, as `migrate` builds one
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    reads = new.get_model("annotations", "Submission").objects.values_list("item_id", "project_id")
    assert dict(reads) == expected
