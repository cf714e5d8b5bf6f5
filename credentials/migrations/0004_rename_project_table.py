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
        ("credentials", "0003_move_in_project"),
        ("workspaces", "0003_move_out_project"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelTable(name="project", table=None),
        migrations.RunPython(
            partial(move_content_types, old_app="workspaces", new_app="credentials", models=["project"]),
            migrations.RunPython.noop,
        ),
    ]
