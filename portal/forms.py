"""The form a user adds or replaces their own key with (write-only, format-checked)."""

from typing import Any

from django import forms

from catalog.agents import AGENTS, API_KEY, KIND_CHOICES
from credentials.forms import format_problem, secret_input


class UserKeyForm(forms.Form):
    """A user adds or replaces their own key for one agent."""

    agent_type = forms.ChoiceField(choices=[(a, s.label) for a, s in AGENTS.items()])
    kind = forms.ChoiceField(choices=KIND_CHOICES, initial=API_KEY)
    label = forms.CharField(max_length=100, required=False)
    secret = secret_input()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["secret"].required = True

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        agent_type, kind, secret = data.get("agent_type"), data.get("kind"), data.get("secret")
        if agent_type and kind and secret:
            problem = format_problem(agent_type, kind, secret)
            if problem:
                self.add_error("secret", problem)
        return data
