"""The project's settings with the URLconf of `bench/floor_app.py`: the floor server of
`bench/proxy_overhead.py` (`DJANGO_SETTINGS_MODULE=floor_settings`, `bench/` on the path)."""

from sam_project.settings import *  # noqa: F403 - everything else as the proxy runs

ROOT_URLCONF = "floor_app"
