"""Write keys are stored hashed (SHA-256) with a short prefix to recognise them; existing keys are hashed here and
keep working (senders change nothing)."""

import hashlib
import secrets

from django.db import migrations, models

import cdp.models.sources


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def hash_existing_keys(apps, schema_editor):
    Source = apps.get_model("cdp", "Source")
    for source in Source.objects.all():
        key = source.write_key or secrets.token_urlsafe(24)
        source.write_key_hash = _hash(key)
        source.write_key_prefix = key[:6]
        if source.previous_write_key:
            source.previous_key_hash = _hash(source.previous_write_key)
            source.previous_key_prefix = source.previous_write_key[:6]
        source.save(update_fields=["write_key_hash", "write_key_prefix", "previous_key_hash", "previous_key_prefix"])


class Migration(migrations.Migration):
    dependencies = [("cdp", "0012_company_profiles_removed")]

    operations = [
        migrations.AddField("source", "write_key_prefix",
                            models.CharField(blank=True, editable=False, max_length=12, default=""), preserve_default=False),
        migrations.AddField("source", "write_key_hash",
                            models.CharField(editable=False, max_length=64, null=True)),
        migrations.AddField("source", "previous_key_prefix",
                            models.CharField(blank=True, editable=False, max_length=12, default=""), preserve_default=False),
        migrations.AddField("source", "previous_key_hash",
                            models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True)),
        migrations.RunPython(hash_existing_keys, migrations.RunPython.noop),
        migrations.AlterField("source", "write_key_hash",
                              models.CharField(default=cdp.models.sources._unknown_key_hash, editable=False,
                                               max_length=64, unique=True)),
        migrations.RemoveField("source", "write_key"),
        migrations.RemoveField("source", "previous_write_key"),
    ]
