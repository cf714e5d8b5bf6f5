"""How one request travels: which upstream path and body, how its answer is metered, and,
for Claude models on chat completions, translated (SPEC §9 "Translation", §10)."""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ai_proxy.accounting import (
    ANTHROPIC,
    CHAT,
    RESPONSES,
    AnthropicStreamMeter,
    ChatStreamMeter,
    ResponsesStreamMeter,
    StreamMeter,
    TranslatedChatStream,
    include_usage_upstream,
)
from ai_proxy.errors import BadRequest, ModelNotAllowed
from ai_proxy.translate import TranslationError, chat_request_to_messages, messages_response_to_chat
from catalog import routes
from catalog.agents import AGENTS
from catalog.config import CatalogModel, StoredConfig, default_model
from catalog.providers import Provider
from catalog.routes import Route

_SNAPSHOT_SUFFIX = re.compile(r"-\d{8}$")


def _catalog_entry(catalog: dict[str, CatalogModel], requested: str) -> CatalogModel | None:
    """The enabled entry for a model id, or for a dated snapshot of it (`claude-haiku-4-5-
    20251001` is `claude-haiku-4-5`): agents ask for snapshots by default."""
    entry = catalog.get(requested)
    if entry is None:
        entry = catalog.get(_SNAPSHOT_SUFFIX.sub("", requested))
    return entry


def catalog_model(body: dict[str, Any], route: Route, config: StoredConfig) -> CatalogModel:
    """The enabled catalog entry the request is for; a request without a model gets the
    default of the agent that uses this route, written into the body."""
    requested = body.get("model")
    if "model" not in body:
        requested, _layer = default_model(AGENTS[route.default_agent], config)
        body["model"] = requested
    if not isinstance(requested, str) or not requested:
        raise BadRequest("'model' must be a non-empty string.")
    entry = _catalog_entry(config.catalog, requested)
    if entry is not None and route.serves(entry.provider):
        return entry
    allowed = sorted(m.id for m in config.catalog.values() if route.serves(m.provider))
    where = "on this route" if entry is not None else "here"
    raise ModelNotAllowed(
        f"The model '{requested[:100]}' is not available {where}. "
        f"Available models: {', '.join(allowed) or 'none'}."
    )


@dataclass(frozen=True)
class Plan:
    upstream_path: str
    body: dict[str, Any]
    usage_dialect: str | None  # how to read usage from the upstream answer; None: not metered
    new_stream_meter: Callable[[], StreamMeter] | None = None
    # Turns the upstream's JSON answer into the client's (translation); None: as is.
    convert_answer: Callable[[bytes], bytes] | None = None


def _translated_answer(raw: bytes) -> bytes:
    try:
        message = json.loads(raw)
    except ValueError:
        return raw
    return json.dumps(messages_response_to_chat(message)).encode()


def plan(route: Route, entry: CatalogModel, body: dict[str, Any]) -> Plan:
    """The plan for `body`, already checked against the catalog (`entry` is its model)."""
    if not route.metered:
        return Plan(route.upstream_path, body, usage_dialect=None)
    if route is routes.CHAT_COMPLETIONS and entry.provider == Provider.ANTHROPIC:
        return _translated(body, entry)
    if route.dialect == ANTHROPIC:
        return Plan(route.upstream_path, body, ANTHROPIC, AnthropicStreamMeter)
    if route is routes.RESPONSES:
        return Plan(route.upstream_path, body, RESPONSES, ResponsesStreamMeter)
    strip = False
    if body.get("stream") is True:
        # Usage of a chat stream comes only in a final chunk the client may not have asked
        # for: ask for it, and take it out again on the way back.
        strip = not include_usage_upstream(body)
    return Plan(route.upstream_path, body, CHAT, lambda: ChatStreamMeter(strip_usage_chunk=strip))


def _translated(body: dict[str, Any], entry: CatalogModel) -> Plan:
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    try:
        messages = chat_request_to_messages(body)
    except TranslationError as error:
        raise BadRequest(str(error)) from None
    return Plan(
        upstream_path=routes.ANTHROPIC_MESSAGES.upstream_path,
        body=messages,
        usage_dialect=ANTHROPIC,
        new_stream_meter=lambda: TranslatedChatStream(model=entry.id, include_usage=include_usage),
        convert_answer=_translated_answer,
    )
