"""QIDO-RS searches from indexes at a million instances (docs/scale.md, decision 0184).

series_modality_study: ModalitiesInStudy walks one modality's series in study order.

`upper(patient_name) text_pattern_ops` serves the `UPPER(patient_name) LIKE 'SMI%'` condition
qido._prefix adds to a wildcard match (and UPPER(...) = UPPER(...), the exact case-insensitive
match), whatever the database's collation. PostgreSQL only: an operator class is PostgreSQL
syntax, and SQLite (development, some tests) searches small tables. Not declared in Patient.Meta
for the same reason (Django's expression indexes cannot take an operator class portably).
"""

from django.db import migrations, models

INDEX = "patient_name_upper_prefix"


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON studies_patient "
            "(upper(patient_name::text) text_pattern_ops)"
        )


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("studies", "0004_upload_receipt")]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
        migrations.AddIndex(
            model_name="series",
            index=models.Index(fields=["modality", "study"], name="series_modality_study"),
        ),
    ]
