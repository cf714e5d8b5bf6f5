"""The API's JSON errors: `{"error": <stable code>, "message": <for people>}`, never HTML."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

# DRF's own codes, renamed to the API's vocabulary.
_CODES = {
    "not_authenticated": "unauthorized",
    "authentication_failed": "invalid_token",
    "permission_denied": "forbidden",
    "parse_error": "bad_request",
    "invalid": "bad_request",
    "required": "bad_request",
    "throttled": "rate_limited",
}


def _first_message(detail: Any) -> str:
    """The first human message of a (possibly nested) DRF error detail, with its field name."""
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        message = _first_message(value)
        return message if field in ("non_field_errors", "detail") else f"{field}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's handler500 answers, in JSON on /api/

    if isinstance(exc, exceptions.ValidationError):
        code = "bad_request"
    else:
        raw_code = exc.get_codes()
        code = raw_code if isinstance(raw_code, str) else "bad_request"
    code = _CODES.get(code, code)

    response = Response(
        {"error": code, "message": _first_message(exc.detail)}, status=exc.status_code
    )
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        if code in ("invalid_token", "insufficient_scope"):
            auth_header = f'{auth_header}, error="{code}"'
        response["WWW-Authenticate"] = auth_header
    elif code == "insufficient_scope":
        response["WWW-Authenticate"] = 'Bearer realm="sam", error="insufficient_scope"'
    wait = getattr(exc, "wait", None)
    if wait is not None:
        response["Retry-After"] = str(int(wait) + 1)
    return response
