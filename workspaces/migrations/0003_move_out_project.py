"""Projects belong to the credentials app now (state only; see credentials 0003)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0002_project_from_credentials"),
        ("ai_proxy", "0003_move_out_catalog_and_project"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Project")],
            database_operations=[],
        ),
    ]
