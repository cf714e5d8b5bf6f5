"""Routes under /ai/. Anything else under /ai/ is a 404 in the dialect its path suggests."""

from django.urls import path, re_path

from ai_proxy import views

urlpatterns = [
    path("anthropic/v1/messages", views.anthropic_messages),
    path("anthropic/v1/messages/count_tokens", views.anthropic_count_tokens),
    path("v1/chat/completions", views.chat_completions),
    path("v1/responses", views.responses),
    path("v1/models", views.models),
    re_path(r"^anthropic/", views.anthropic_not_found),
    re_path(r"", views.openai_not_found),
]
