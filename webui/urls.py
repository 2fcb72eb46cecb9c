from django.urls import path

from webui.views import home, newpipeline, quarantine, runs, schema_changes, upload

app_name = "webui"

urlpatterns = [
    path("", home.home, name="home"),
    path("upload/", upload.upload, name="upload"),
    path("upload/sessions/", upload.session_open, name="upload-session"),
    path("upload/sessions/<str:key>/", upload.session_chunk, name="upload-chunk"),
    path("upload/sessions/<str:key>/finish/", upload.session_finish, name="upload-finish"),
    path("upload/files/<int:file_id>/preview/", upload.file_preview_view, name="upload-preview"),
    path("upload/files/<int:file_id>/mapping/", upload.mapping_save_view, name="upload-mapping"),
    path("upload/files/<int:file_id>/run/", upload.run_start, name="upload-run"),
    path("upload/files/<int:file_id>/new-pipeline/", newpipeline.new_pipeline, name="upload-new-pipeline"),
    path("runs/<int:run_id>/", runs.run_detail, name="run-detail"),
    path("runs/<int:run_id>/progress/", upload.run_progress, name="run-progress"),
    path("runs/<int:run_id>/logs.txt", runs.run_logs, name="run-logs"),
    path("runs/<int:run_id>/load-again/", runs.run_load_again, name="run-load-again"),
    path("quarantine/", quarantine.quarantine_list, name="quarantine"),
    path("quarantine/<int:run_id>/", quarantine.quarantine_run, name="quarantine-run"),
    path("quarantine/<int:run_id>/save/", quarantine.quarantine_save, name="quarantine-save"),
    path("quarantine/<int:run_id>/replay/", quarantine.quarantine_replay_view, name="quarantine-replay"),
    path("schema-changes/", schema_changes.schema_changes, name="schema-changes"),
    path("schema-changes/<int:change_id>/decide/", schema_changes.schema_change_decide_view,
         name="schema-change-decide"),
]
