from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotations", "0006_annotation_provenance")]

    operations = [
        migrations.AddField(
            model_name="project",
            name="model_settings",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
