"""ASGI entry point: `uvicorn sam_project.asgi:application` (streams the AI proxy)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sam_project.settings")

application = get_asgi_application()

from sam_project.checks import refuse_to_start_on_errors  # noqa: E402 - needs the app registry

refuse_to_start_on_errors()
