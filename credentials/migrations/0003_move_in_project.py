"""Projects move here from workspaces, since keys belong to users and projects (state only:
the table keeps its rows; it is renamed in 0004). The audit trail names a workspace by its
id, so it outlives the workspace and this app needs nothing of the workspaces app."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0002_scope_pages"),
        ("workspaces", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Project",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=100)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="projects", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "ordering": ["owner_id", "name"],
                        "constraints": [models.UniqueConstraint(fields=("owner", "name"), name="project_unique_name_per_owner")],
                        "db_table": "workspaces_project",
                    },
                ),
                migrations.AlterField(
                    model_name="credential",
                    name="project",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="credentials", to="credentials.project"),
                ),
            ],
            database_operations=[],
        ),
        # The column stays; only the foreign key constraint to the workspace table goes.
        migrations.AlterField(
            model_name="credentialevent",
            name="actor_workspace",
            field=models.ForeignKey(blank=True, null=True, db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="workspaces.workspace"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="credentialevent", name="actor_workspace"),
                migrations.AddField(
                    model_name="credentialevent",
                    name="actor_workspace_id",
                    field=models.UUIDField(blank=True, db_index=True, null=True, verbose_name="actor workspace"),
                ),
            ],
            database_operations=[],
        ),
    ]
