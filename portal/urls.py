from django.urls import path

from portal import views

urlpatterns = [
    path("agents/", views.agents, name="agents"),
    path("agents/keys/", views.key_save, name="agent-key-save"),
    path("agents/keys/<int:key_id>/activate", views.key_activate, name="agent-key-activate"),
    path("agents/keys/<int:key_id>/deactivate", views.key_deactivate, name="agent-key-deactivate"),
    path("agents/keys/<int:key_id>/delete", views.key_delete, name="agent-key-delete"),
]
