import io
from typing import Any

from rest_framework import exceptions, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class BoundedJSONParser(BaseParser):
    """JSON with a size cap taken from the view's `max_body_bytes`.

    The cap is measured on the bytes read, not on the Content-Length header, which a client
    may omit (chunked transfer) or misstate; no more than the cap and one byte is read.
    (Not a `JSONParser` subclass: DRF hands those the whole body, read into memory first.)
    """

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = parser_context["view"].max_body_bytes
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        if not body:
            return {}
        try:
            return JSONParser().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


class ChunkedBodyRequest(Request):
    """A DRF request that also reads bodies sent without Content-Length (chunked).

    DRF treats a missing Content-Length as an empty body; the ASGI server has already
    received the whole body, so it is read (and capped by the parser) like any other.
    """

    def _load_stream(self) -> None:
        super()._load_stream()  # type: ignore[misc]
        no_length = "CONTENT_LENGTH" not in self._request.META
        if self._stream is None and no_length and not self._request._read_started:
            self._stream = self._request
