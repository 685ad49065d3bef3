from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "Labelling workflow"

    def ready(self) -> None:
        # Memberships and items decide who sees a study: a change to one must clear the
        # DICOMweb access caches at once (studies cannot import these models; decision 0911).
        from annotations.models import Item, Membership
        from studies.dicomweb import hotcache

        hotcache.forget_access_when_changed(Membership, Item)
