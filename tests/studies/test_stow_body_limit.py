"""A STOW-RS body is bounded by DICOM_MAX_UPLOAD_BYTES however it is framed (issue 14): a
chunked body (no Content-Length) is read in pieces and refused with 413 once past the limit,
without reading the rest, and nothing is stored."""

from __future__ import annotations

import io

import pytest

from studies.models import Instance
from tests.studies.dicomweb_support import token_client
from tests.studies.test_dicomweb_stow import CT, STOW_TYPE, body


class CountingStream(io.BytesIO):
    """The WSGI input of a de-chunked request; counts how much the server read."""

    consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data


def _chunked(client, data: bytes) -> tuple[object, CountingStream]:  # type: ignore[no-untyped-def]
    stream = CountingStream(data)
    response = client.generic(
        "POST",
        "/dicomweb/studies",
        b"",
        CONTENT_TYPE=STOW_TYPE,  # generic() sets the type only for a non-empty body
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
        **{"wsgi.input": stream, "wsgi.input_terminated": True},
    )
    return response, stream


@pytest.mark.django_db
def test_a_chunked_body_over_the_limit_is_a_413_and_stores_nothing(make_user, settings):
    settings.DICOM_MAX_UPLOAD_BYTES = 64 * 1024
    client = token_client(make_user("root", superuser=True))
    big = body(*([CT] * 50))  # about 2 MB, 50 parts
    response, stream = _chunked(client, big)
    assert response.status_code == 413
    assert "over the 65536 byte limit" in response.content.decode()
    assert stream.consumed <= settings.DICOM_MAX_UPLOAD_BYTES + 1 < len(big)
    assert Instance.objects.count() == 0


@pytest.mark.django_db
def test_a_chunked_body_within_the_limit_is_stored(make_user, settings):
    settings.DICOM_MAX_UPLOAD_BYTES = 1024 * 1024
    client = token_client(make_user("root", superuser=True))
    response, _ = _chunked(client, body(CT))
    assert response.status_code == 200
    assert Instance.objects.count() == 1


@pytest.mark.django_db
def test_a_declared_length_over_the_limit_is_a_413_before_reading(make_user, settings):
    settings.DICOM_MAX_UPLOAD_BYTES = 64 * 1024
    client = token_client(make_user("root", superuser=True))
    response = client.generic("POST", "/dicomweb/studies", body(CT, CT), content_type=STOW_TYPE)
    assert response.status_code == 413
    assert Instance.objects.count() == 0
