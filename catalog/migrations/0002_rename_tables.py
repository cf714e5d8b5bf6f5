"""The moved tables take this app's names."""

from functools import partial

from django.db import migrations


def move_content_types(apps, schema_editor, *, old_app, new_app, models):
    """Keep the content types (and so the permissions granted on them, and the admin's
    history) of models that change apps."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in models:
        if not content_type.objects.filter(app_label=new_app, model=model).exists():
            content_type.objects.filter(app_label=old_app, model=model).update(app_label=new_app)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("ai_proxy", "0003_move_out_catalog_and_project"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelTable(name="modelcatalogentry", table=None),
        migrations.AlterModelTable(name="proxysettings", table=None),
        migrations.RunPython(
            partial(
                move_content_types,
                old_app="ai_proxy",
                new_app="catalog",
                models=["modelcatalogentry", "proxysettings"],
            ),
            migrations.RunPython.noop,
        ),
    ]
