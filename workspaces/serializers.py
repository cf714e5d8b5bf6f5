from typing import Any

from rest_framework import serializers

from catalog.agents import AGENTS, CREDENTIAL_KINDS, UnknownAgent
from credentials.formats import CredentialFormatError, check_secret_format

_UNKNOWN_AGENT = str(UnknownAgent(None))
_NOT_A_STRING = "Not a valid string."


class StrictCharField(serializers.CharField):
    """A JSON string and nothing else: DRF's CharField takes the number 5 for "5"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, given as a JSON string (DRF's ChoiceField compares `str(data)`)."""

    default_error_messages = {"invalid": _NOT_A_STRING}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AgentTypeField(StrictChoiceField):
    def __init__(self, **kwargs: Any):
        kwargs.setdefault("error_messages", {"invalid_choice": _UNKNOWN_AGENT})
        super().__init__(choices=list(AGENTS), **kwargs)


class AgentKeyRequestSerializer(serializers.Serializer):
    agentType = AgentTypeField()


class ProxyTokenRequestSerializer(serializers.Serializer):
    agentType = AgentTypeField()


class ProxyTokenResponseSerializer(serializers.Serializer):
    """Only used to describe the response in the OpenAPI schema."""

    token = serializers.CharField(
        help_text="A proxy token (sam_px_…): valid only on the AI proxy (/ai/…), until "
        "`expiresAt` or until the workspace stops."
    )
    expiresAt = serializers.DateTimeField(help_text="When the token expires (ISO 8601, UTC).")


class InferenceConfigSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(
        choices=["anthropic-proxy", "openai-proxy", "openai-compatible"]
    )
    baseURL = serializers.URLField()
    model = serializers.CharField()
    apiKeySource = serializers.ChoiceField(choices=["callback-token", "proxy-token"])


class AgentKeyResponseSerializer(serializers.Serializer):
    """Only used to describe the response in the OpenAPI schema."""

    apiKey = serializers.CharField(
        help_text="The secret; `__platform_proxy__` when the agent is to use its callback "
        "token with the AI proxy; a proxy token (sam_px_…) in scoped token mode."
    )
    credentialKind = serializers.ChoiceField(choices=list(CREDENTIAL_KINDS))
    credentialSource = serializers.ChoiceField(choices=["project", "user", "platform"])
    inferenceConfig = InferenceConfigSerializer(required=False)


class CredentialSyncRequestSerializer(serializers.Serializer):
    agentType = AgentTypeField()
    credentialKind = StrictChoiceField(choices=list(CREDENTIAL_KINDS))
    # No length of its own in the schema: the body's cap (64 KiB, 413 above) bounds it first.
    credential = StrictCharField(trim_whitespace=False, allow_blank=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            check_secret_format(attrs["agentType"], attrs["credentialKind"], attrs["credential"])
        except CredentialFormatError as error:
            raise serializers.ValidationError({"credential": str(error)}) from None
        return attrs


class CredentialSyncResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    updated = serializers.BooleanField(required=False)
    reason = serializers.ChoiceField(choices=["credential_not_found"], required=False)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable machine-readable code.")
    message = serializers.CharField()
