from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotations", "0008_review_versions")]

    operations = [
        migrations.AddField(
            model_name="project",
            name="model_settings",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
