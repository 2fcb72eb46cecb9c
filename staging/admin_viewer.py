"""The admin's detail pages that print a run's context or a staging table's source configuration show what the
viewer may read of it: the server path of an upload they may not see becomes its original file name
(staging.ownership.upload_paths_hidden, the API's rule). The admin's display methods receive only the object,
so the object is told who is looking when the admin fetches it for that request (one object per request: no
state shared between requests)."""

from __future__ import annotations

from typing import Any

from staging.ownership import upload_paths_hidden


class ViewerAwareAdmin:
    """Mixin for a ModelAdmin whose display methods call `for_viewer`."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj._admin_viewer = request.user
        return obj


def for_viewer(obj, data: Any) -> Any:
    """`data` as the viewer of `obj`'s page may read it; with no viewer recorded, as someone who may see no
    upload (fails closed)."""
    return upload_paths_hidden(user=getattr(obj, "_admin_viewer", None), data=data)
