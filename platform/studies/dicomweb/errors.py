"""One exception type for every DICOMweb error response, with the HTTP status PS3.18 names."""

from __future__ import annotations

from django.http import HttpResponse


class DicomwebError(Exception):
    """Raised anywhere below a view; the view turns it into a plain-text HTTP response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> HttpResponse:
        response = HttpResponse(self.message + "\n", status=self.status, content_type="text/plain")
        if self.status == 401:
            # RFC 9110 §11.6.1: a 401 names the schemes that work here.
            response["WWW-Authenticate"] = 'Token realm="dicomweb", Session'
        return response


def not_found(what: str) -> DicomwebError:
    # Outsiders learn nothing: a study they may not see and one that does not exist look the same.
    return DicomwebError(404, f"{what} not found")


def bad_request(message: str) -> DicomwebError:
    return DicomwebError(400, message)


def not_acceptable(message: str) -> DicomwebError:
    return DicomwebError(406, message)


def unsupported_media_type(message: str) -> DicomwebError:
    return DicomwebError(415, message)
