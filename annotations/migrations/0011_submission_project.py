"""Submission.project: the item's project on every read, so the dashboard aggregates a project's
reads from its own indexes instead of joining them to a million items (decision 0192)."""

import django.db.models.deletion
from django.db import migrations, models


def fill_projects(apps, schema_editor):  # type: ignore[no-untyped-def]
    # One statement, server side (a correlated subquery works on PostgreSQL and SQLite alike):
    # existing databases hold up to millions of reads, none of which need to pass through Python.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotations_submission SET project_id = (SELECT i.project_id FROM "
            "annotations_item i WHERE i.id = annotations_submission.item_id)"
        )
        if schema_editor.connection.vendor == "postgresql":
            # The UPDATE queued deferred foreign-key checks; PostgreSQL refuses to ALTER a table
            # with pending trigger events in the same transaction (the NOT NULL below).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0010_queue_and_dashboard_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="annotations.project",
            ),
        ),
        migrations.RunPython(fill_projects, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="submission",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="annotations.project",
            ),
        ),
        migrations.AddIndex(
            model_name="submission",
            index=models.Index(
                fields=["project", "user", "time_spent_ms"], name="submission_doctor_time"
            ),
        ),
        migrations.AddIndex(
            model_name="submission",
            index=models.Index(fields=["project", "created_at"], name="submission_project_day"),
        ),
    ]
