"""What the API's viewsets share."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.errors import Conflict


class ListFiltersOnlyMixin:
    """Filters and ordering apply to lists; a detail URL finds its row whatever the list filters say
    (a soft-deleted source is still at /sources/<id>/, so it can be restored)."""

    # Ids are 64-bit integers: a longer number is no id (404), not a database overflow.
    lookup_value_regex = "[0-9]{1,18}"

    def filter_queryset(self, queryset):
        if self.action == "list":
            return super().filter_queryset(queryset)
        return queryset


class SoftDeleteViewSet(ListFiltersOnlyMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                        mixins.UpdateModelMixin, mixins.DestroyModelMixin, mixins.ListModelMixin,
                        viewsets.GenericViewSet):
    """CRUD where DELETE marks the row deleted (audited by the model's signals) and POST .../restore/ brings
    it back. Restoring a row whose name a live row took meanwhile is refused (409), as in the admin."""

    unique_field = "name"
    action_permissions = {}

    def get_queryset(self):
        return self.queryset.model.all_objects.all()

    def perform_destroy(self, instance):
        if not instance.is_deleted:
            instance.soft_delete()

    def partial_update(self, request, *args, **kwargs):
        # A PATCH that names no field changes nothing and says so: it is also what an unreadable form body (a
        # multipart body without parts, which Django's parser reads as an empty form) comes down to.
        if not request.data and not request.FILES:
            raise serializers.ValidationError({"non_field_errors": [
                _("Send at least one field to change.")]})
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(request=None, summary="Restore a soft-deleted row")
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        instance = self.get_object()
        if instance.is_deleted:
            with transaction.atomic():
                value = getattr(instance, self.unique_field)
                if self.queryset.model.objects.filter(**{self.unique_field: value}).exists():
                    raise Conflict(_("Not restored: the name %(name)s is used by a live row. Rename one of them "
                                     "first.") % {"name": value})
                instance.restore()
        return Response(self.get_serializer(instance).data, status=status.HTTP_200_OK)
