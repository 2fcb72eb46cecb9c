from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sources.encryption import undecryptable
from sources.fields import sealed
from sources.models import DataSource


class Command(BaseCommand):
    help = _("Re-encrypt every data source's secrets with the first key of ETL_SECRETS_KEY (after adding a new "
             "key in front of the old one).")

    def handle(self, *args, **options):
        sources = DataSource._base_manager.order_by("pk")  # deleted sources keep their secrets too
        rotated, stuck = 0, []
        for source in sources:
            # Reading decrypts with any key; writing encrypts with the first. update() keeps the audit log
            # free of a "change" that changes nothing a person can see.
            # Sealed by the source type's rules: values a connector declares secret are encrypted too.
            sources.filter(pk=source.pk).update(connection_config=sealed(source.connection_config,
                                                                           source.source_type))
            rotated += 1
            if undecryptable(source.connection_config):
                stuck.append(source.name)
        self.stdout.write(ngettext("Re-encrypted the secrets of %(count)d data source.",
                                   "Re-encrypted the secrets of %(count)d data sources.", rotated) % {"count": rotated})
        if stuck:
            raise CommandError(_("These sources hold secrets no key in ETL_SECRETS_KEY can decrypt; enter them "
                                 "again: %(names)s") % {"names": ", ".join(stuck)})
