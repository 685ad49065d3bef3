from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "annotations.exports"
    label = "exports"
    verbose_name = "Dataset exports"
    default_auto_field = "django.db.models.BigAutoField"
