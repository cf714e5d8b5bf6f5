"""The /ai/ routes in the OpenAPI schema (drf-spectacular postprocessing hook).

They are plain async views, which drf-spectacular does not discover, and they speak the
providers' own APIs: the schema names the routes, their authentication and their error
shapes, and leaves the request and answer bodies to the providers' documentation.
"""

from typing import Any

ANTHROPIC_ERROR = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["error"]},
        "error": {
            "type": "object",
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
            "required": ["type", "message"],
        },
    },
    "required": ["type", "error"],
}
OPENAI_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": "string", "nullable": True},
                "code": {"type": "string", "nullable": True},
            },
            "required": ["message", "type", "code"],
        }
    },
    "required": ["error"],
}
_BODY = {
    "type": "object",
    "description": "The provider's request body. `model` must be an enabled catalog model; "
    "without one, the default model of the agent that uses this route is filled in.",
    "properties": {"model": {"type": "string"}, "stream": {"type": "boolean"}},
    "additionalProperties": True,
}
_ERRORS = {
    "400": "Not a JSON object, a model that is not an enabled catalog model here, a header "
    "passed upstream that is not printable ASCII, or (Claude models on chat completions) a "
    "request the translation cannot read.",
    "401": "Missing, unknown, expired or revoked token, or the workspace is not running.",
    "403": "A callback token while the proxy accepts only proxy tokens (scoped mode).",
    "413": "The body is over AI_PROXY_MAX_BODY_BYTES.",
    "502": "The upstream provider could not be reached.",
    "503": "The proxy is turned off, or has no usable platform key for the provider.",
    "504": "The upstream provider did not answer within the timeouts.",
}


def _responses(error_ref: str, answer: dict[str, Any], streams: bool) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": answer}}
    if streams:
        content["text/event-stream"] = {"schema": {"type": "string"}}
    responses: dict[str, Any] = {
        "200": {"description": "The provider's answer, relayed as it arrives.", "content": content}
    }
    for status, description in _ERRORS.items():
        responses[status] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": error_ref}}},
        }
    responses["default"] = {
        "description": "Any other status of the upstream provider, with its error type.",
        "content": {"application/json": {"schema": {"$ref": error_ref}}},
    }
    return responses


def _post(
    operation_id: str, summary: str, dialect: str, *, streams: bool = True, answer: Any = None
) -> dict[str, Any]:
    anthropic = dialect == "anthropic"
    error_ref = (
        "#/components/schemas/AnthropicError" if anthropic else "#/components/schemas/OpenAIError"
    )
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["ai-proxy"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY}}},
        "responses": _responses(error_ref, answer or {"type": "object"}, streams),
        "security": [{"workspaceToken": []}, *([{"proxyApiKey": []}] if anthropic else [])],
    }
    if anthropic:
        operation["parameters"] = [
            {"name": "beta", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "anthropic-version", "in": "header", "schema": {"type": "string"}},
            {"name": "anthropic-beta", "in": "header", "schema": {"type": "string"}},
        ]
    return {"post": operation}


def add_proxy_paths(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    components = result.setdefault("components", {})
    components.setdefault("schemas", {}).update(
        {"AnthropicError": ANTHROPIC_ERROR, "OpenAIError": OPENAI_ERROR}
    )
    schemes = components.setdefault("securitySchemes", {})
    schemes.setdefault(
        "workspaceToken",
        {"type": "http", "scheme": "bearer", "description": "The workspace token."},
    )
    schemes["proxyApiKey"] = {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "The workspace token, as Anthropic clients send a key.",
    }
    model_list = {
        "type": "object",
        "properties": {
            "object": {"type": "string", "enum": ["list"]},
            "data": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "object": {"type": "string"},
                        "created": {"type": "integer"},
                        "owned_by": {"type": "string"},
                    },
                },
            },
        },
    }
    models = _post("ai_models", "", "openai", streams=False)["post"]
    models.pop("requestBody")
    models.update(
        operationId="ai_models",
        summary="The enabled catalog models the OpenAI routes serve",
        responses={
            "200": {
                "description": "The models.",
                "content": {"application/json": {"schema": model_list}},
            },
            "401": models["responses"]["401"],
            "503": models["responses"]["503"],
        },
    )
    result.setdefault("paths", {}).update(
        {
            "/ai/anthropic/v1/messages": _post(
                "ai_anthropic_messages", "Anthropic Messages, through the platform key", "anthropic"
            ),
            "/ai/anthropic/v1/messages/count_tokens": _post(
                "ai_anthropic_count_tokens",
                "Anthropic token counting (not metered)",
                "anthropic",
                streams=False,
                answer={"type": "object", "properties": {"input_tokens": {"type": "integer"}}},
            ),
            "/ai/v1/chat/completions": _post(
                "ai_chat_completions", "OpenAI chat completions, through the platform key", "openai"
            ),
            "/ai/v1/responses": _post(
                "ai_responses", "OpenAI Responses (Codex), through the platform key", "openai"
            ),
            "/ai/v1/models": {"get": models},
        }
    )
    return result
