import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('action', models.CharField(choices=[('created', 'Created'), ('updated', 'Updated'), ('deleted', 'Deleted'), ('activated', 'Activated'), ('deactivated', 'Deactivated'), ('enabled', 'Enabled'), ('disabled', 'Disabled'), ('served', 'Served'), ('synced', 'Synced'), ('rotated', 'Rotated'), ('minted', 'Minted'), ('revoked', 'Revoked'), ('stopped', 'Stopped'), ('health-reset', 'Health reset')], max_length=16)),
                ('target_type', models.CharField(max_length=100)),
                ('target_id', models.CharField(blank=True, max_length=100)),
                ('target_label', models.CharField(blank=True, max_length=200)),
                ('actor_kind', models.CharField(choices=[('user', 'Person'), ('workspace', 'Workspace'), ('system', 'System (management command)')], max_length=16, verbose_name='kind of actor')),
                ('actor_workspace_id', models.UUIDField(blank=True, db_index=True, null=True, verbose_name='actor workspace')),
                ('actor_label', models.CharField(blank=True, max_length=150)),
                ('before', models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True)),
                ('after', models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True)),
                ('superusers_only', models.BooleanField(default=False)),
                ('actor_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='person')),
            ],
            options={
                'verbose_name': 'audit event',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['target_type', 'target_id', 'action', '-created_at'], name='audit_target_trail')],
            },
        ),
    ]
