from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "Labelling workflow"

    def ready(self) -> None:
        # Memberships and items decide who sees a study: a change must clear the DICOMweb
        # access caches (studies cannot import these models; decision 0911). A membership is
        # revoked in every process at once; items change on every submit, so other processes
        # follow those within the cache TTL (decision 0161).
        from annotations.models import Item, Membership
        from studies.dicomweb import hotcache

        hotcache.revoke_when_changed(Membership)
        hotcache.forget_when_changed(Item)
