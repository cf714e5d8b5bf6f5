import io
from typing import Any

from rest_framework.parsers import JSONParser

from sam_project.exceptions import PayloadTooLarge


class BoundedJSONParser(JSONParser):
    """JSON with a size cap taken from the view's `max_body_bytes`.

    The cap is measured on the bytes read, not on the Content-Length header, which a client
    may omit or misstate.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = parser_context["view"].max_body_bytes
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        return super().parse(io.BytesIO(body), media_type, parser_context)
