from django.urls import path

from workspaces import views

urlpatterns = [
    path("workspaces/<str:workspace_id>/agent-key", views.AgentKeyView.as_view()),
    path("workspaces/<str:workspace_id>/proxy-token", views.ProxyTokenView.as_view()),
    path(
        "workspaces/<str:workspace_id>/agent-credential-sync",
        views.AgentCredentialSyncView.as_view(),
    ),
]
