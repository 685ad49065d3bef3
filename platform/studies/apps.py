from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "studies"
    verbose_name = "Studies (DICOM)"

    def ready(self) -> None:
        # Every process (web, worker, shell, manage.py) must publish revocations, not only
        # those that happened to import the DICOMweb views (docs/decisions/0161).
        from studies.dicomweb import hotcache  # noqa: F401  (connects its signals on import)
