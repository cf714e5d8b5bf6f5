"""The proxy settings form: empty means "use the environment", and says what that is."""

from typing import Any, cast

from django import forms

from catalog.agents import AGENTS, PROXY_ELIGIBLE_AGENTS
from catalog.layers import env_or_builtin, fallback_model
from catalog.models import Delivery, ModelCatalogEntry, ProxySettings

_LIMIT_SETTINGS = {
    "rate_limit_rpm": "AI_PROXY_RATE_LIMIT_RPM",
    "max_parallel_requests": "AI_PROXY_MAX_PARALLEL_REQUESTS",
    "daily_input_tokens": "AI_PROXY_DAILY_INPUT_TOKENS",
    "daily_output_tokens": "AI_PROXY_DAILY_OUTPUT_TOKENS",
    "daily_cost_cap_usd": "AI_PROXY_DAILY_COST_CAP_USD",
}


def _unset(setting: str) -> str:
    value, layer = env_or_builtin(setting)
    shown = "none" if value is None else value
    return f"Not set: {shown} ({layer})"


class ProxySettingsForm(forms.ModelForm):
    class Meta:
        model = ProxySettings
        fields = [
            "enabled",
            "token_mode",
            *(ProxySettings.default_model_field(agent) for agent in PROXY_ELIGIBLE_AGENTS),
            *_LIMIT_SETTINGS,
            "allow_mcp_servers",
            "allow_container",
            *(ProxySettings.delivery_field(agent) for agent in PROXY_ELIGIBLE_AGENTS),
        ]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Read from the database, not the cached snapshot: validation needs the truth.
        self.enabled_models = list(ModelCatalogEntry.objects.filter(enabled=True))
        if "enabled" in self.fields:
            enabled_value, enabled_layer = env_or_builtin("AI_PROXY_ENABLED")
            self.fields["enabled"].widget = forms.Select(
                choices=[
                    ("unknown", f"Not set: {'on' if enabled_value else 'off'} ({enabled_layer})"),
                    ("true", "On"),
                    ("false", "Off (kill switch)"),
                ]
            )
        if "token_mode" in self.fields:
            field = cast(forms.ChoiceField, self.fields["token_mode"])
            field.choices = [("", _unset("AI_PROXY_TOKEN_MODE")), *ProxySettings.TokenMode.choices]
        for name, setting in _LIMIT_SETTINGS.items():
            if name in self.fields:
                self.fields[name].help_text = f"Empty: {_unset(setting)[len('Not set: ') :]}."
        for agent_type in PROXY_ELIGIBLE_AGENTS:
            self._model_choices(agent_type)
            self._delivery_choices(agent_type)

    def _delivery_choices(self, agent_type: str) -> None:
        name = ProxySettings.delivery_field(agent_type)
        if name not in self.fields:
            return
        field = cast(forms.ChoiceField, self.fields[name])
        field.label = f"Own API keys for {AGENTS[agent_type].label}"
        field.choices = [("", _unset("CREDENTIAL_DELIVERY")), *Delivery.choices]

    def _allowed(self, agent_type: str) -> list[ModelCatalogEntry]:
        spec = AGENTS[agent_type]
        return [m for m in self.enabled_models if spec.serves(m.provider)]

    def _model_choices(self, agent_type: str) -> None:
        name = ProxySettings.default_model_field(agent_type)
        if name not in self.fields:
            return
        spec = AGENTS[agent_type]
        model, layer = fallback_model(spec)
        choices = [("", f"Not set: {model} ({layer})")]
        choices += [(m.id, f"{m.label} ({m.id})") for m in self._allowed(agent_type)]
        stored = self.initial.get(name)
        if stored and stored not in {m.id for m in self._allowed(agent_type)}:
            choices.append((stored, f"{stored}: no longer available (ignored)"))
        field = self.fields[name]
        field.label = f"Default model for {spec.label}"
        field.widget = forms.Select(choices=choices)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for agent_type in PROXY_ELIGIBLE_AGENTS:
            name = ProxySettings.default_model_field(agent_type)
            value = data.get(name)
            # An unchanged stale value is already ignored and flagged; it must not block
            # an urgent change such as switching the proxy off.
            if not value or name not in self.changed_data:
                continue
            allowed = [m.id for m in self._allowed(agent_type)]
            if value not in allowed:
                self.add_error(
                    name,
                    f"{value} is not an enabled catalog model that {AGENTS[agent_type].label} "
                    f"can use. Choose one of: {', '.join(allowed) or 'none (enable one first)'}.",
                )
        return data
