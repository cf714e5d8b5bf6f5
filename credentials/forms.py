"""Forms that take a secret: write-only inputs, format-checked before anything is stored.

They validate only; the writes (and their audit events) happen in `credentials.services`.
"""

from typing import Any

from django import forms

from catalog.agents import AGENTS, KIND_CHOICES, UnknownAgent
from credentials.formats import CredentialFormatError, check_secret_format
from credentials.models import PRIMARY_LABEL, Credential, Scope


def secret_input() -> forms.CharField:
    """A password box that never renders a value back, not even after a failed submit."""
    return forms.CharField(
        label="Secret",
        required=False,
        widget=forms.PasswordInput(
            render_value=False,
            attrs={"autocomplete": "new-password", "spellcheck": "false", "class": "vTextField"},
        ),
    )


def format_problem(agent_type: str, kind: str, secret: str) -> str | None:
    """Why this secret cannot be stored, or None. The message never quotes the value."""
    try:
        check_secret_format(agent_type, kind, secret)
    except (CredentialFormatError, UnknownAgent) as error:
        return str(error)
    return None


def target_label(scope: str, owner: Any, project: Any) -> str:
    if scope == Scope.PROJECT:
        return f"project {project}"
    if scope == Scope.USER:
        return f"user {owner}"
    return "the platform"


class CredentialAdminForm(forms.ModelForm):
    """The admin's credential form. `scope` is set by the admin page that builds it."""

    scope: str = ""
    new_secret = secret_input()

    class Meta:
        model = Credential
        fields = ["owner", "project", "agent_type", "kind", "label", "weight", "is_active"]
        labels = {"agent_type": "Agent", "is_active": "Active"}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.instance.scope = self.scope
        for name in ("owner", "project"):
            if name in self.fields:
                self.fields[name].required = True
        secret = self.fields["new_secret"]
        if self.adding:
            secret.required = True
            secret.help_text = "Write-only: it is encrypted at once and never shown again."
        else:
            secret.help_text = (
                f"Currently {self.instance.hint}. Enter a new value to replace it; "
                "leave empty to keep it."
            )
        if "is_active" in self.fields and self.scope != Scope.PLATFORM:
            self.fields[
                "is_active"
            ].help_text = "Activating it turns off the other key of this agent for the same owner."
        if "weight" in self.fields:
            self.fields["weight"].required = False

    @property
    def adding(self) -> bool:
        return self.instance._state.adding

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        agent_type = data.get("agent_type", self.instance.agent_type)
        kind = data.get("kind", self.instance.kind)
        secret = data.get("new_secret") or ""
        if secret and agent_type and kind:
            problem = format_problem(agent_type, kind, secret)
            if problem:
                self.add_error("new_secret", problem)
        if "weight" in self.fields and data.get("weight") is None:
            data["weight"] = self.instance.weight or 1
        if self.scope == Scope.PLATFORM and agent_type:
            self._refuse_duplicate_label(agent_type)
        elif self.adding and agent_type and kind:
            self._refuse_duplicate(agent_type, kind, data.get("owner"), data.get("project"))
        return data

    def clean_weight(self) -> int | None:
        weight = self.cleaned_data.get("weight")
        if weight is not None and weight < 1:
            raise forms.ValidationError("A key's weight is at least 1.")
        return weight

    def _refuse_duplicate_label(self, agent_type: str) -> None:
        label = self.cleaned_data.get("label") or ""
        if _platform_label_taken(agent_type, label, other_than=self.instance.pk):
            raise forms.ValidationError(
                f"The platform already has a {AGENTS[agent_type].label} key labelled "
                f"{label or PRIMARY_LABEL!r}; open it to replace its secret, or choose another label."
            )

    def _refuse_duplicate(self, agent_type: str, kind: str, owner: Any, project: Any) -> None:
        if self.scope == Scope.USER and owner is None:
            return
        if self.scope == Scope.PROJECT and project is None:
            return
        exists = (
            Credential.objects.for_target(
                scope=self.scope,
                owner_id=getattr(owner, "pk", None),
                project_id=getattr(project, "pk", None),
            )
            .filter(agent_type=agent_type, kind=kind)
            .exists()
        )
        if exists:
            agent = AGENTS[agent_type].label
            raise forms.ValidationError(
                f"{target_label(self.scope, owner, project).capitalize()} already has a "
                f"{dict(KIND_CHOICES)[kind]} for {agent}; open it to replace its secret."
            )


def _platform_label_taken(agent_type: str, label: str, other_than: int | None) -> bool:
    taken = Credential.objects.filter(
        scope=Scope.PLATFORM, agent_type=agent_type, label=label or PRIMARY_LABEL
    )
    if other_than is not None:
        taken = taken.exclude(pk=other_than)
    return taken.exists()
