urlpatterns: list = []

# Browser upload of DICOM files and zip archives (owner: studies ingest, docs/studies.md).
from django.urls import path  # noqa: E402

from studies.upload_views import UploadView  # noqa: E402

urlpatterns += [path("uploads/", UploadView.as_view(), name="uploads")]

# The study browser's list (owner: DICOMweb, docs/dicomweb.md).
from studies.dicomweb.browser import StudyBrowserView  # noqa: E402

urlpatterns += [path("studies/", StudyBrowserView.as_view(), name="study-browser")]
