"""Reviews get a version per item (numbered in creation order) and the accepted reader."""

from django.conf import settings
from django.db import migrations, models
from django.db.models.deletion import SET_NULL


def number_existing_reviews(apps, schema_editor):  # type: ignore[no-untyped-def]
    Review = apps.get_model("annotations", "Review")
    seen: dict[int, int] = {}
    for review in Review.objects.order_by("item_id", "created_at", "pk").only("pk", "item_id"):
        seen[review.item_id] = seen.get(review.item_id, 0) + 1
        Review.objects.filter(pk=review.pk).update(version=seen[review.item_id])


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("annotations", "0007_box_threshold_and_box_edits"),
    ]

    operations = [
        migrations.AddField(
            model_name="review",
            name="version",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="review",
            name="accepted_reader",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(number_existing_reviews, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="review",
            constraint=models.UniqueConstraint(
                fields=("item", "version"), name="one_review_per_version"
            ),
        ),
    ]
