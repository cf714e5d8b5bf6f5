"""The catalog and the proxy settings now belong to the catalog app, and projects to the
credentials app: state only, no row moves."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ai_proxy", "0002_seed_catalog"),
        ("catalog", "0001_initial"),
        ("credentials", "0003_move_in_project"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ModelCatalogEntry"),
                migrations.DeleteModel(name="ProxySettings"),
                migrations.AlterField(
                    model_name="usagerecord",
                    name="project",
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="credentials.project"),
                ),
            ],
            database_operations=[],
        ),
    ]
