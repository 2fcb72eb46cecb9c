"""Whose uploaded files a user may see and use: one rule for the upload pages, the admin and the API.

A file recorded in file_metadata belongs to the user who uploaded it (`uploaded_by`, the username). Its owner
sees it, previews it, maps its columns and starts runs on it; so do superusers and holders of
`staging.access_all_uploads` (operators who process other people's files). Everybody else is told there is
no such file, as if it did not exist, so ids cannot be probed. Files recorded by a command or a schedule
(`uploaded_by` "command" or "") belong to nobody and are seen only with that permission.
"""

from __future__ import annotations

from django.db.models import QuerySet

from staging.models import FileMetadata

ALL_UPLOADS_PERMISSION = "staging.access_all_uploads"


def uploads_all_visible(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.has_perm(ALL_UPLOADS_PERMISSION)))


def uploads_visible(*, user, queryset: QuerySet[FileMetadata] | None = None) -> QuerySet[FileMetadata]:
    """The files `user` may see and use, out of `queryset` (all files by default)."""
    files = FileMetadata.objects.all() if queryset is None else queryset
    if uploads_all_visible(user):
        return files
    if not (user and user.is_authenticated):
        return files.none()
    return files.filter(uploaded_by=user.get_username())


def upload_visible_get(*, user, file_id: int) -> FileMetadata | None:
    """The file `file_id` if `user` may see and use it, else None (whether it exists or not)."""
    return uploads_visible(user=user).filter(pk=file_id).first()


def upload_path_visible(*, user, path: str) -> bool:
    """Whether the server path `path` names a file that `user` may see: a recorded, not deleted upload of
    theirs (any upload with the access-all permission). A path in the upload folder is how a file source
    names an upload, so it gets the files API's rule: no wildcard (it would also match uploads still to
    come from other people) and no file the folder holds that is not a visible upload."""
    import glob
    import os

    from sources.fileroots import real_path
    from staging.models import FileStatus

    if not isinstance(path, str) or glob.has_magic(os.path.expanduser(path)):
        return False
    wanted = real_path(path)
    candidates = uploads_visible(user=user).exclude(status=FileStatus.DELETED).filter(
        file_path__endswith=wanted.name).values_list("file_path", flat=True)
    return any(real_path(candidate) == wanted for candidate in candidates)


def upload_paths_hidden(*, user, data):
    """`data` (a run's execution_context, a staging table's source_config...) as `user` may read it: a string
    that is the server path of an upload `user` may not see becomes that upload's original file name, or is
    left out when no upload is recorded at that path, so a path (and the file it names) is never handed out
    where the file itself is not."""
    from sources.fileroots import real_path, upload_folder

    if uploads_all_visible(user):
        return data
    uploads = upload_folder()

    def hidden(value):
        if isinstance(value, dict):
            return {key: kept for key, kept in ((key, hidden(item)) for key, item in value.items())
                    if kept is not _OMIT}
        if isinstance(value, list):
            return [kept for kept in (hidden(item) for item in value) if kept is not _OMIT]
        if not isinstance(value, str) or not value.startswith(("/", "~", ".")):
            return value
        try:
            inside = real_path(value).is_relative_to(uploads)
        except (OSError, RuntimeError, ValueError):
            return value
        if not inside or upload_path_visible(user=user, path=value):
            return value
        record = FileMetadata.objects.filter(file_path=value).first()
        return record.original_filename if record is not None else _OMIT

    return hidden(data)


_OMIT = object()
