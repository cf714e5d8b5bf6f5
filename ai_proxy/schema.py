"""The /ai/ routes in the OpenAPI schema (drf-spectacular postprocessing hook).

They are plain async views, which drf-spectacular does not discover, and they speak the
providers' own APIs: the schema names the routes, their authentication and their error
shapes, says exactly which models each route serves (the enabled catalog, read when the
schema is generated) and what a streamed answer's events are, and leaves the rest of the
request and answer bodies to the providers' documentation.
"""

import re
from typing import Any

from django.db import DatabaseError

from ai_proxy import chat_schema
from catalog import routes
from catalog.agents import AGENTS
from catalog.config import StoredConfig, default_model, stored_config
from catalog.providers import Provider
from catalog.routes import Route

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


def _served_models(config: StoredConfig, route: Route) -> list[str]:
    return sorted(m.id for m in config.catalog.values() if m.provider in route.providers)


def _model_schema(models: list[str]) -> dict[str, Any]:
    """An enabled catalog model this route serves, or a dated snapshot of one
    (`claude-haiku-4-5-20251001`), as the proxy accepts them."""
    if not models:
        return {"description": "No enabled catalog model is served here.", "not": {}}
    snapshot = "^(?:" + "|".join(re.escape(model) for model in models) + ")-[0-9]{8}$"
    return {
        "type": "string",
        "description": "An enabled catalog model this route serves, or a dated snapshot "
        "of one (the model id, a hyphen and eight digits).",
        "anyOf": [{"enum": models}, {"pattern": snapshot}],
    }


def _body_variant(
    models: list[str],
    default: str,
    extra: dict[str, Any] | None = None,
    *,
    required: list[str] | None = None,
) -> dict[str, Any]:
    variant: dict[str, Any] = {
        "type": "object",
        "properties": {
            "model": _model_schema(models),
            "stream": {"type": "boolean"},
            **(extra or {}),
        },
        "additionalProperties": True,
    }
    served = re.sub(r"-\d{8}$", "", default) in models or default in models
    required = ([] if served else ["model"]) + (required or [])
    if required:
        variant["required"] = required
    return variant


def _body(config: StoredConfig | None, route: Route) -> dict[str, Any]:
    description = (
        "The provider's request body. Without `model`, the default model of the agent that "
        "uses this route is filled in."
    )
    if config is None:  # no database to read the catalog from (the schema printed offline)
        return {
            "type": "object",
            "description": description,
            "properties": {"model": {"type": "string"}, "stream": {"type": "boolean"}},
            "additionalProperties": True,
        }
    default, _layer = default_model(AGENTS[route.default_agent], config)
    if route is not routes.CHAT_COMPLETIONS:
        return {"description": description, **_body_variant(_served_models(config, route), default)}
    # Claude models here are translated to the Messages API: the request must be one the
    # translation reads.
    claude = sorted(m.id for m in config.catalog.values() if m.provider == Provider.ANTHROPIC)
    others = [model for model in _served_models(config, route) if model not in claude]
    return {
        "description": description + " Claude models are translated to the Anthropic "
        "Messages API: their requests must be ones it can read.",
        "anyOf": [
            _body_variant(others, default),
            _body_variant(claude, default, chat_schema.PROPERTIES, required=["messages"]),
        ],
    }


def _json_data(description: str, **schema: Any) -> dict[str, Any]:
    return {
        "type": "string",
        "description": description,
        "contentMediaType": "application/json",
        "contentSchema": {"type": "object", **schema},
    }


# One server-sent event, as `event:` and `data:` lines: what each dialect's stream holds.
_TYPED_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "description": "The event type, e.g. `message_start`."},
        "data": _json_data(
            "The event, as JSON with the same `type`.",
            properties={"type": {"type": "string"}},
            required=["type"],
        ),
    },
    "required": ["event", "data"],
}
_CHAT_EVENT = {
    "type": "object",
    "properties": {
        "data": {
            "type": "string",
            "description": "A `chat.completion.chunk` (or an error) as JSON; the last event "
            "is `[DONE]`.",
            "anyOf": [{"enum": ["[DONE]"]}, _json_data("A chunk or an error.")],
        }
    },
    "required": ["data"],
}
_STREAM_EVENTS = {
    routes.ANTHROPIC_MESSAGES.name: _TYPED_EVENT,
    routes.CHAT_COMPLETIONS.name: _CHAT_EVENT,
    routes.RESPONSES.name: _TYPED_EVENT,
}

# The headers passed on upstream (anthropic-version, anthropic-beta, openai-beta, accept,
# user-agent) must be printable ASCII (`headers.forwarded_headers_check`).
_FORWARDED_HEADER = {
    "type": "string",
    "description": "Passed on upstream; printable ASCII only.",
    "pattern": "^[ -~]*$",
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


def _responses(error_ref: str, answer: dict[str, Any], event: Any) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": answer}}
    if event is not None:
        content["text/event-stream"] = {"schema": event}
    responses: dict[str, Any] = {
        "200": {
            "description": "The provider's answer, relayed as it arrives: JSON, or with "
            '`"stream": true` server-sent events.',
            "content": content,
        }
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
    route: Route,
    operation_id: str,
    summary: str,
    config: StoredConfig | None,
    *,
    answer: Any = None,
) -> dict[str, Any]:
    anthropic = route.dialect == "anthropic"
    error_ref = (
        "#/components/schemas/AnthropicError" if anthropic else "#/components/schemas/OpenAIError"
    )
    body = _body(config, route)
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["ai-proxy"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": _responses(
            error_ref, answer or {"type": "object"}, _STREAM_EVENTS.get(route.name)
        ),
        "security": [{"workspaceToken": []}, *([{"proxyApiKey": []}] if anthropic else [])],
    }
    if anthropic:
        operation["parameters"] = [
            {"name": "beta", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "anthropic-version", "in": "header", "schema": _FORWARDED_HEADER},
            {"name": "anthropic-beta", "in": "header", "schema": _FORWARDED_HEADER},
        ]
    return {"post": operation}


def _config() -> StoredConfig | None:
    try:
        return stored_config()
    except DatabaseError:
        return None


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
    config = _config()
    models = _post(routes.MODELS, "ai_models", "", config)["post"]
    models.pop("requestBody")
    models.update(
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
                routes.ANTHROPIC_MESSAGES,
                "ai_anthropic_messages",
                "Anthropic Messages, through the platform key",
                config,
            ),
            "/ai/anthropic/v1/messages/count_tokens": _post(
                routes.ANTHROPIC_COUNT_TOKENS,
                "ai_anthropic_count_tokens",
                "Anthropic token counting (not metered)",
                config,
                answer={"type": "object", "properties": {"input_tokens": {"type": "integer"}}},
            ),
            "/ai/v1/chat/completions": _post(
                routes.CHAT_COMPLETIONS,
                "ai_chat_completions",
                "OpenAI chat completions, through the platform key",
                config,
            ),
            "/ai/v1/responses": _post(
                routes.RESPONSES,
                "ai_responses",
                "OpenAI Responses (Codex), through the platform key",
                config,
            ),
            "/ai/v1/models": {"get": models},
        }
    )
    return result
