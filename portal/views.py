"""The user's agents page: which agents are ready and why, the user's usage today against
their limits, and the user's own keys.

Every view here needs a signed-in user and touches only that user's rows (another user's key
id is a 404). Writes go through `credentials.services`; the page never shows a secret.
"""

from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from catalog.agents import AGENTS
from credentials.models import Credential, Project, Scope
from credentials.services import credential_delete, credential_save, credential_set_active
from portal.forms import UserKeyForm
from portal.readiness import agents_readiness
from portal.usage import usage_today


def user_keys(user: Any) -> Any:
    """The one place that decides which credentials a user may manage: their own."""
    return Credential.objects.for_target(
        scope=Scope.USER, owner_id=user.pk, project_id=None
    ).select_related("owner")


def _project(request: HttpRequest) -> Project | None:
    raw = request.GET.get("project") or request.POST.get("project") or ""
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    return get_object_or_404(Project, pk=int(raw), owner_id=request.user.pk)


def _back(project: Project | None, agent_type: str = "") -> HttpResponseRedirect:
    url = reverse("agents")
    if project is not None:
        url += "?" + urlencode({"project": project.pk})
    return HttpResponseRedirect(url + (f"#agent-{agent_type}" if agent_type else ""))


def _page(
    request: HttpRequest, project: Project | None, failed: UserKeyForm | None = None
) -> HttpResponse:
    keys = defaultdict(list)
    for key in user_keys(request.user).with_last_used():
        keys[key.agent_type].append(key)
    failed_agent = failed.data.get("agent_type") if failed is not None else None
    readiness = agents_readiness(user=request.user, project=project)
    cards = [
        {
            "readiness": item,
            "keys": keys[item.agent.agent_type],
            "form": failed if item.agent.agent_type == failed_agent else None,
        }
        for item in readiness
    ]
    context = {
        "cards": cards,
        "project": project,
        "projects": Project.objects.filter(owner_id=request.user.pk),
        "ready_count": sum(item.ready for item in readiness),
        "today": usage_today(user=request.user),
        # A submission no card can show (an unknown agent) reports at the top of the page.
        "stray_errors": failed.errors
        if failed is not None and failed_agent not in AGENTS
        else None,
    }
    return render(request, "portal/agents.html", context, status=400 if failed else 200)


@never_cache
@login_required
@require_safe
def agents(request: HttpRequest) -> HttpResponse:
    return _page(request, _project(request))


@never_cache
@login_required
@require_POST
def key_save(request: HttpRequest) -> HttpResponse:
    project = _project(request)
    form = UserKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, project, failed=form)
    data = form.cleaned_data
    credential, created = credential_save(
        scope=Scope.USER,
        owner=request.user,
        agent_type=data["agent_type"],
        kind=data["kind"],
        secret=data["secret"],
        label=data["label"],
        actor=request.user,
    )
    verb = "Added" if created else "Replaced"
    messages.success(
        request,
        f"{verb} your {AGENTS[credential.agent_type].label} {credential.get_kind_display()} "
        f"{credential.hint}. It is active.",
    )
    return _back(project, credential.agent_type)


def _switch(request: HttpRequest, key_id: int, *, active: bool) -> HttpResponse:
    credential = get_object_or_404(user_keys(request.user), pk=key_id)
    credential_set_active(credential=credential, active=active, actor=request.user)
    state = "on" if active else "off"
    messages.success(request, f"Your key {credential.hint} is {state}.")
    return _back(_project(request), credential.agent_type)


@never_cache
@login_required
@require_POST
def key_activate(request: HttpRequest, key_id: int) -> HttpResponse:
    return _switch(request, key_id, active=True)


@never_cache
@login_required
@require_POST
def key_deactivate(request: HttpRequest, key_id: int) -> HttpResponse:
    return _switch(request, key_id, active=False)


@never_cache
@login_required
@require_POST
def key_delete(request: HttpRequest, key_id: int) -> HttpResponse:
    credential = get_object_or_404(user_keys(request.user), pk=key_id)
    agent_type, hint = credential.agent_type, credential.hint
    credential_delete(credential=credential, actor=request.user)
    messages.success(request, f"Deleted your key {hint}.")
    return _back(_project(request), agent_type)
