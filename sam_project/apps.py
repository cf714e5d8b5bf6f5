from django.apps import AppConfig


class SamProjectConfig(AppConfig):
    name = "sam_project"
    verbose_name = "SAM control plane"

    def ready(self) -> None:
        from sam_project import checks  # noqa: F401 - registers the system checks
