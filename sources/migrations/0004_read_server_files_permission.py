from django.db import migrations


class Migration(migrations.Migration):
    """The permission to point a source at files on the server outside the upload folder (sources.fileroots)."""

    dependencies = [
        ("sources", "0003_encrypt_declared_secrets"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="datasource",
            options={
                "ordering": ["name"],
                "permissions": [("read_server_files", "Can read files on the server")],
                "verbose_name": "data source",
                "verbose_name_plural": "data sources",
            },
        ),
    ]
