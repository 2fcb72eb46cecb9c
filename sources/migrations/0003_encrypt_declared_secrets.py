"""Values that became secrets when each connector declared its secret keys (every API header and query
parameter not listed as public, S3's access_key_id...) are encrypted now, not on the next save. Values
encrypted before keep decrypting; an object encrypted whole (an API source's "auth") is stored again with
its secret values encrypted one by one, so its type and user name stay readable."""

from django.db import migrations


def encrypt_declared(apps, schema_editor):
    from sources.fields import sealed

    DataSource = apps.get_model("sources", "DataSource")
    rows = DataSource._base_manager.using(schema_editor.connection.alias)
    for source in rows.order_by("pk"):
        rows.filter(pk=source.pk).update(connection_config=sealed(source.connection_config, source.source_type))


class Migration(migrations.Migration):

    dependencies = [
        ('sources', '0002_encrypt_connection_secrets'),
    ]

    operations = [
        # Backwards: nothing to undo, the values decrypt as they are.
        migrations.RunPython(encrypt_declared, migrations.RunPython.noop),
    ]
